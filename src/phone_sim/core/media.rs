//! A phone's streams: opening and closing receive/transmit streams (RTP URIs and the RTP
//! Streaming API's startMedia/stopMedia), the user hanging up, calls.

use super::*;

impl PhoneCore {
    pub(super) fn open_rx(
        &mut self,
        now_ms: u64,
        origin: StreamOrigin,
        req: RxRequest,
        volume: Option<u32>,
        hw: &mut dyn Hardware,
    ) -> ItemResult {
        if self.state.rx.is_some() {
            return ItemResult::fail(6, "Tx/Rx is already active");
        }
        if let Err(why) = hw.open_rx(&req) {
            return ItemResult::fail(6, why);
        }
        let whisper = matches!(self.state.call, CallState::Connected { .. });
        self.state.counters.rx_started += 1;
        self.state.rx = Some(ActiveStream {
            origin,
            addr: req.addr,
            port: req.port,
            multicast: req.multicast,
            volume: if whisper { None } else { volume },
            whisper,
            started_ms: now_ms,
        });
        ItemResult::ok()
    }

    pub(super) fn open_tx(
        &mut self,
        now_ms: u64,
        origin: StreamOrigin,
        req: TxRequest,
        hw: &mut dyn Hardware,
    ) -> ItemResult {
        if self.state.tx.is_some() {
            return ItemResult::fail(6, "Tx/Rx is already active");
        }
        if let Err(why) = hw.open_tx(&req) {
            return ItemResult::fail(6, why);
        }
        self.state.counters.tx_started += 1;
        self.state.tx = Some(ActiveStream {
            origin,
            addr: req.addr,
            port: req.port,
            multicast: req.multicast,
            volume: None,
            whisper: false,
            started_ms: now_ms,
        });
        ItemResult::ok()
    }

    pub(super) fn close_rx(&mut self, hw: &mut dyn Hardware) -> Option<ActiveStream> {
        let s = self.state.rx.take()?;
        hw.close_rx();
        self.state.counters.rx_stopped += 1;
        Some(s)
    }

    pub(super) fn close_tx(&mut self, hw: &mut dyn Hardware) -> Option<ActiveStream> {
        let s = self.state.tx.take()?;
        hw.close_tx();
        self.state.counters.tx_stopped += 1;
        Some(s)
    }

    pub(super) fn run_pending_if_idle(&mut self, effects: &mut Vec<Effect>) {
        if self.is_idle() {
            for url in std::mem::take(&mut self.state.pending_when_idle) {
                self.state.counters.fetches += 1;
                effects.push(Effect::Fetch { url });
            }
        }
    }

    pub(super) fn start_media(
        &mut self,
        now_ms: u64,
        req: &StartMediaRequest,
        hw: &mut dyn Hardware,
    ) -> Reply {
        if !self.profile.caps.rtp_uris {
            return Reply::empty(404);
        }
        if self.refuse {
            return media_error(400, "UnavailableResource", "Request refused by the user");
        }
        // The URL the phone would call when the user stops the stream must be a Notify URI.
        if let Some(uri) = &req.on_stopped
            && !matches!(uri.trim().parse::<Uri>(), Ok(Uri::Notify(_)))
        {
            return media_error(
                400,
                "InvalidURL",
                &format!("onStopped {uri:?} is not a Notify URI"),
            );
        }
        // The emulated phones stream audio only: a video stream is a resource they lack.
        if req.kind == MediaType::Video {
            return media_error(400, "InvalidResource", "video streams are not supported");
        }
        // A codec the model cannot play is a media resource it lacks (the RTP Streaming API's
        // error table: 400, Unavailable Resource). Which models take G.722: `xsi::model`.
        if req.codec == crate::xsi::object::Codec::G722 && !self.profile.caps.g722 {
            return media_error(
                400,
                "UnavailableResource",
                "No Media Resource Available (G.722 is not supported on this model)",
            );
        }
        let wants_rx = matches!(req.mode, MediaMode::Receive | MediaMode::SendReceive);
        let wants_tx = matches!(req.mode, MediaMode::Send | MediaMode::SendReceive);
        if (wants_rx && self.state.rx.is_some()) || (wants_tx && self.state.tx.is_some()) {
            return media_error(400, "UnavailableResource", "No Media Resource Available");
        }
        if let Some(p) = req.port
            && RtpPort::new(p).is_err()
        {
            return media_error(
                400,
                "InvalidXML",
                &format!("port {p} is not an even port in 20480..=32768"),
            );
        }
        self.next_stream += 1;
        let id = format!(
            "{:06x}",
            (self.next_random() as u32 & 0xFF_FFFF) ^ self.next_stream as u32
        );
        let origin = StreamOrigin::StartMedia {
            id: id.clone(),
            on_stopped: req.on_stopped.clone(),
        };
        let multicast = req.address.is_multicast();
        // The phone picks a port when none was given: the first even one it can open.
        let candidates: Vec<u16> = match req.port {
            Some(p) => vec![p],
            None => (RtpPort::MIN..=RtpPort::MAX).step_by(2).collect(),
        };
        let volume = req.receive_volume;
        let mut last_err = String::from("no port");
        for port in candidates {
            if wants_rx {
                let r = self.open_rx(
                    now_ms,
                    origin.clone(),
                    RxRequest {
                        addr: req.address,
                        port,
                        multicast,
                        wideband: req.codec == crate::xsi::object::Codec::G722,
                    },
                    volume,
                    hw,
                );
                if r.status != 0 {
                    last_err = r.data;
                    continue;
                }
            }
            if wants_tx {
                let r = self.open_tx(
                    now_ms,
                    origin.clone(),
                    TxRequest {
                        addr: req.address,
                        port,
                        multicast,
                    },
                    hw,
                );
                if r.status != 0 {
                    if wants_rx {
                        self.close_rx(hw);
                        self.state.counters.rx_stopped -= 1;
                        self.state.counters.rx_started -= 1;
                    }
                    last_err = r.data;
                    continue;
                }
            }
            self.log(now_ms, format!("startMedia {id} {}:{port}", req.address));
            return Reply::xml(200, format!("<mediaStream id=\"{id}\"/>"));
        }
        media_error(
            400,
            "UnavailableResource",
            &format!("No Media Resource Available ({last_err})"),
        )
    }

    pub(super) fn stop_media(
        &mut self,
        now_ms: u64,
        id: Option<&str>,
        hw: &mut dyn Hardware,
    ) -> Reply {
        if !self.profile.caps.rtp_uris {
            return Reply::empty(404);
        }
        let matches = |s: &Option<ActiveStream>| match (s, id) {
            (Some(_), None) => true,
            (
                Some(ActiveStream {
                    origin: StreamOrigin::StartMedia { id: sid, .. },
                    ..
                }),
                Some(id),
            ) => sid == id,
            _ => false,
        };
        let (rx, tx) = (matches(&self.state.rx), matches(&self.state.tx));
        if let Some(id) = id
            && !rx
            && !tx
        {
            return media_error(
                400,
                "InvalidResourceID",
                &format!("Unknown Media Stream ID: {id}"),
            );
        }
        if rx {
            self.close_rx(hw);
        }
        if tx {
            self.close_tx(hw);
        }
        self.log(now_ms, format!("stopMedia {}", id.unwrap_or("(all)")));
        Reply::empty(200)
    }

    /// The user puts the audio path on hook: the streams end and, for a startMedia stream with
    /// an `onStopped` URI, the phone sends `notifyMediaEvent type="stopped" origin="user"`.
    pub fn user_hang_up(&mut self, now_ms: u64, hw: &mut dyn Hardware) -> Vec<Effect> {
        let rx = self.close_rx(hw);
        let tx = self.close_tx(hw);
        let mut effects = Vec::new();
        let mut notified = Vec::new();
        for s in [rx, tx].into_iter().flatten() {
            if let StreamOrigin::StartMedia {
                id,
                on_stopped: Some(uri),
            } = s.origin
                && !notified.contains(&id)
            {
                if let Some(e) = notify_effect(&uri, &id) {
                    self.state.counters.notifies += 1;
                    effects.push(e);
                }
                notified.push(id);
            }
        }
        self.log(now_ms, "user hung up".into());
        self.run_pending_if_idle(&mut effects);
        effects
    }

    /// The user places a call (dials `number`): the receive stream ends; the application on
    /// screen loses the focus (its `focusLost` comes back).
    pub fn user_call(&mut self, now_ms: u64, number: &str, hw: &mut dyn Hardware) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.start_call(now_ms, number.to_owned(), hw, &mut effects);
        effects
    }

    /// The user ends the call: the application on screen that lost the focus to it gets it
    /// back.
    pub fn user_end_call(&mut self) -> Vec<Effect> {
        let was_call = matches!(self.state.call, CallState::Connected { .. });
        self.state.call = CallState::Idle;
        let mut effects = Vec::new();
        if was_call {
            self.call_returns_focus(&mut effects);
        }
        self.run_pending_if_idle(&mut effects);
        effects
    }
}

/// `Notify:http:host:port:path[:credentials[:data]]` → the POST a phone makes for a stopped
/// stream. Only `http` exists; anything unparseable sends nothing (as a phone would).
pub(super) fn notify_effect(uri: &str, id: &str) -> Option<Effect> {
    super::focus::notify_post(
        uri,
        format!(
            "DATA=<notifyMediaEvent type=\"stopped\" origin=\"user\">\
             <mediaStream id=\"{}\"/></notifyMediaEvent>",
            escape(id)
        ),
    )
}

pub(super) fn media_error(status: u16, kind: &str, data: &str) -> Reply {
    Reply::xml(
        status,
        format!(
            "<errorResponse>\r\n<errorType>{kind}</errorType>\r\n<errorData>{}</errorData>\r\n</errorResponse>\r\n",
            escape(data)
        ),
    )
}
