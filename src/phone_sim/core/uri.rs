//! The internal URIs a phone executes: keys, display, init, device, dial, app, and the
//! RTP URIs (which open and close streams through [`super::media`]).

use super::*;

impl PhoneCore {
    /// Execute one URI item: refused when it does not parse or the model lacks it, else each
    /// kind is carried out by its family's helper (RTP streams, screen, call, device).
    pub(super) fn uri_item(
        &mut self,
        now_ms: u64,
        raw: &str,
        hw: &mut dyn Hardware,
        effects: &mut Vec<Effect>,
    ) -> ItemResult {
        let Ok(uri) = raw.parse::<Uri>() else {
            return ItemResult::fail(1, "Invalid URI");
        };
        if self.profile.caps.check_uri(&uri).is_err() {
            return ItemResult::fail(6, "URI not found");
        }
        // Any key press wakes a dark display.
        if matches!(uri, Uri::Key(_) | Uri::SoftKey(_)) {
            self.state.display_off_until = None;
        }
        match uri {
            Uri::RtpRx(s) => self.rx_uri(now_ms, s.addr(), s.port(), false, s.volume(), hw),
            Uri::RtpMRx(s) => self.rx_uri(now_ms, s.addr(), s.port(), true, s.volume(), hw),
            Uri::RtpTx(t) => self.tx_uri(now_ms, t.addr(), t.port(), false, hw),
            Uri::RtpMTx(t) => self.tx_uri(now_ms, t.addr(), t.port(), true, hw),
            Uri::RtpRxStop | Uri::RtpMRxStop => self.rx_stop_uri(hw, effects),
            Uri::RtpTxStop | Uri::RtpMTxStop => self.tx_stop_uri(hw, effects),
            Uri::Play(play) => play_uri(play, hw),
            Uri::Display(d) => self.display_uri(now_ms, d),
            Uri::Init(init) => self.init_uri(init, effects),
            Uri::Key(k) => self.key(now_ms, k, hw, effects),
            Uri::SoftKey(k) => self.soft_key_uri(k, effects),
            Uri::SettingsMenu(m) => self.settings_menu_uri(m.as_str(), effects),
            Uri::Button(b) => {
                self.press(format!("Button:{}", b.name()));
                ItemResult::ok()
            }
            Uri::Dial(d) => {
                self.start_call(now_ms, d.sequence().to_owned(), hw, effects);
                self.state.call_app = d.application_id().map(str::to_owned);
                ItemResult::ok()
            }
            Uri::EditDial(s) => {
                self.state.dialer = Some(s.as_str().to_owned());
                ItemResult::ok()
            }
            Uri::SendDigits(sd) => self.send_digits_uri(sd.application_id()),
            Uri::Device(cmd) => self.device_uri(now_ms, cmd),
            Uri::App(app) => self.app(&app, effects),
            // Notify runs from event handlers only, never from an Execute object; a Resource
            // names an icon, it is nothing to execute; QueryStringParam belongs to an Input
            // object's items (it names a field of the URL), not to an Execute object.
            Uri::Notify(_) | Uri::Resource(_) | Uri::QueryStringParam(_) => {
                ItemResult::fail(6, "URI not found")
            }
        }
    }

    /// `RTPRx:` / `RTPMRx:` (`multicast`): open the receive stream from `addr:port`.
    fn rx_uri(
        &mut self,
        now_ms: u64,
        addr: Ipv4Addr,
        port: RtpPort,
        multicast: bool,
        volume: Option<u32>,
        hw: &mut dyn Hardware,
    ) -> ItemResult {
        let req = RxRequest {
            addr,
            port: port.get(),
            multicast,
            wideband: false,
        };
        self.open_rx(now_ms, StreamOrigin::Uri, req, volume, hw)
    }

    /// `RTPTx:` / `RTPMTx:` (`multicast`): open the send stream to `addr:port`.
    fn tx_uri(
        &mut self,
        now_ms: u64,
        addr: Ipv4Addr,
        port: RtpPort,
        multicast: bool,
        hw: &mut dyn Hardware,
    ) -> ItemResult {
        let req = TxRequest {
            addr,
            port: port.get(),
            multicast,
        };
        self.open_tx(now_ms, StreamOrigin::Uri, req, hw)
    }

    /// `RTPRx:Stop` / `RTPMRx:Stop`: close the receive stream, then run what waited for idle.
    fn rx_stop_uri(&mut self, hw: &mut dyn Hardware, effects: &mut Vec<Effect>) -> ItemResult {
        self.close_rx(hw);
        self.run_pending_if_idle(effects);
        ItemResult::ok()
    }

    /// `RTPTx:Stop` / `RTPMTx:Stop`: close the send stream, then run what waited for idle.
    fn tx_stop_uri(&mut self, hw: &mut dyn Hardware, effects: &mut Vec<Effect>) -> ItemResult {
        self.close_tx(hw);
        self.run_pending_if_idle(effects);
        ItemResult::ok()
    }

    /// `Display:`: turn the display off for N minutes (0: until turned on), on for N minutes
    /// (then back to what it was told before, e.g. off for the rest of an off period; 0: on
    /// until told otherwise), or back to its schedule.
    fn display_uri(&mut self, now_ms: u64, d: Display) -> ItemResult {
        let until = |m: u32| now_ms.saturating_add(u64::from(m) * 60_000);
        let s = &mut self.state;
        match d {
            Display::Off(m) => {
                s.display_off_until = Some(if m.get() == 0 {
                    u64::MAX
                } else {
                    until(m.get())
                });
                s.display_on_until = None;
            }
            Display::On(m) if m.get() == 0 => {
                s.display_off_until = None;
                s.display_on_until = None;
            }
            Display::On(m) => s.display_on_until = Some(until(m.get())),
            Display::Default => {
                s.display_off_until = None;
                s.display_on_until = None;
            }
        }
        ItemResult::ok()
    }

    /// `Init:`: reset the application status, the services (closing every XML application), or
    /// close the Messages or Directories application, and only that one: another screen (a
    /// pushed object, another built-in application) stays.
    fn init_uri(&mut self, init: Init, effects: &mut Vec<Effect>) -> ItemResult {
        match init {
            Init::AppStatus => self.state.status = None,
            Init::CallHistory => {}
            // The services application closes, and every XML application with it.
            Init::Services => self.close_all_apps(effects),
            Init::Messages => self.close_builtin(Key::Messages, effects),
            Init::Directories => self.close_builtin(Key::Directories, effects),
        }
        ItemResult::ok()
    }

    /// Close the built-in application `key` opened, if it is the one on screen.
    fn close_builtin(&mut self, key: Key, effects: &mut Vec<Effect>) {
        let name = key.to_string();
        let on_screen = self
            .state
            .object
            .as_ref()
            .is_some_and(|o| o.kind == "Application" && o.title.as_deref() == Some(&name));
        if on_screen {
            self.replace_screen(None, effects);
        }
    }

    /// `SoftKey:`: pressed; Exit, Back and Cancel close the screen and the dialer.
    fn soft_key_uri(&mut self, k: SoftKey, effects: &mut Vec<Effect>) -> ItemResult {
        self.press(format!("SoftKey:{}", k.name()));
        if matches!(k, SoftKey::Exit | SoftKey::Back | SoftKey::Cancel) {
            self.close_screen(effects);
            self.state.dialer = None;
        }
        ItemResult::ok()
    }

    /// `SettingsMenu:`: the settings screen `menu` takes the screen.
    fn settings_menu_uri(&mut self, menu: &str, effects: &mut Vec<Effect>) -> ItemResult {
        self.replace_screen(
            Some(ScreenObject::builtin("Settings", Some(menu.to_owned()))),
            effects,
        );
        ItemResult::ok()
    }

    /// `SendDigits:`: accepted only during a call ("No Active Call"), and when it names an
    /// application, only into the call that application placed ("No Active Call for
    /// Application").
    fn send_digits_uri(&self, app: Option<&str>) -> ItemResult {
        if !matches!(self.state.call, CallState::Connected { .. }) {
            return ItemResult::fail(6, "No Active Call");
        }
        match app {
            Some(a) if self.state.call_app.as_deref() != Some(a) => {
                ItemResult::fail(6, "No Active Call for Application")
            }
            _ => ItemResult::ok(),
        }
    }

    /// `Device:`: GeneratePRT starts a problem report, PRTStatus tells how it goes (and where
    /// it is, once generated); the other commands just succeed.
    fn device_uri(&mut self, now_ms: u64, cmd: DeviceCmd) -> ItemResult {
        match cmd {
            DeviceCmd::GeneratePRT => match self.state.prt {
                Prt::None => {
                    self.state.prt = Prt::Generating { since_ms: now_ms };
                    ItemResult::ok()
                }
                Prt::Generating { .. } => ItemResult::fail(6, "There is pending PRT"),
            },
            DeviceCmd::PRTStatus => match self.state.prt {
                Prt::None => ItemResult::fail(6, "There is no pending PRT invoked from XSI"),
                Prt::Generating { since_ms } if now_ms.saturating_sub(since_ms) < PRT_MS => {
                    ItemResult::fail(0, "Generating PRT")
                }
                Prt::Generating { since_ms } => {
                    self.state.prt = Prt::None;
                    ItemResult::fail(
                        0,
                        format!(
                            "Generated PRT at https://{}/FS/prt-{:08}-{:06}-{}.tar.gz",
                            self.id.ip,
                            20260101 + since_ms / 86_400_000 % 28,
                            since_ms / 1000 % 240_000,
                            self.id.mac
                        ),
                    )
                }
            },
            _ => ItemResult::ok(),
        }
    }

    pub(super) fn press(&mut self, key: String) {
        if self.state.keys.len() == HISTORY {
            self.state.keys.pop_front();
        }
        self.state.keys.push_back(key);
    }

    pub(super) fn key(
        &mut self,
        now_ms: u64,
        k: Key,
        hw: &mut dyn Hardware,
        effects: &mut Vec<Effect>,
    ) -> ItemResult {
        self.press(format!("Key:{k}"));
        match k {
            Key::VolUp => self.state.volume = (self.state.volume + 10).min(100),
            Key::VolDwn => self.state.volume = self.state.volume.saturating_sub(10),
            Key::Offhook | Key::NavOffhook | Key::Speaker | Key::Headset
                if self.state.call == CallState::Idle =>
            {
                self.state.call = CallState::OffHook;
            }
            Key::Onhook | Key::NavOnhook | Key::Release => {
                if self.state.call == CallState::Idle {
                    // On hook with a stream on the speaker: the user ends the stream.
                    effects.extend(self.user_hang_up(now_ms, hw));
                } else {
                    let was_call = matches!(self.state.call, CallState::Connected { .. });
                    self.state.call = CallState::Idle;
                    self.state.dialer = None;
                    if was_call {
                        self.call_returns_focus(effects);
                    }
                }
                self.run_pending_if_idle(effects);
            }
            Key::Applications => self.minimize_key(effects),
            Key::Services
            | Key::Directories
            | Key::Messages
            | Key::Settings
            | Key::Contacts
            | Key::AppMenu
            | Key::Info => {
                self.replace_screen(
                    Some(ScreenObject::builtin("Application", Some(k.to_string()))),
                    effects,
                );
            }
            Key::NavBack => self.close_screen(effects),
            _ => {}
        }
        ItemResult::ok()
    }

    /// The Applications key: the application on screen is minimized, the Applications screen
    /// shows (the services browser's object leaves the screen).
    pub(super) fn minimize_key(&mut self, effects: &mut Vec<Effect>) {
        self.minimize_screen_app(effects);
        if self.state.object.is_some() {
            self.state.service_closed += 1;
        }
        self.replace_screen(
            Some(ScreenObject::builtin(
                "Application",
                Some(Key::Applications.to_string()),
            )),
            effects,
        );
    }

    pub(super) fn start_call(
        &mut self,
        now_ms: u64,
        number: String,
        hw: &mut dyn Hardware,
        effects: &mut Vec<Effect>,
    ) {
        // A call starting ends the receive stream (SOURCES: "existing Rx streams end when a call
        // begins or resumes").
        if self.state.rx.is_some() {
            self.close_rx(hw);
            self.log(now_ms, "rx stream ended by a call".into());
        }
        self.state.call = CallState::Connected { number };
        self.state.call_app = None;
        self.state.dialer = None;
        self.call_takes_focus(effects);
    }
}

/// `Play:`: a file plays for its length (refused when the phone has no such file); `Play:Stop`
/// has nothing to stop.
fn play_uri(play: Play, hw: &mut dyn Hardware) -> ItemResult {
    match play {
        Play::Stop => ItemResult::ok(),
        Play::File(f) => match hw.play_length_ms(f.as_str()) {
            Some(ms) => ItemResult {
                delay_ms: ms,
                ..ItemResult::ok()
            },
            None => ItemResult::fail(6, "File Not Found"),
        },
    }
}
