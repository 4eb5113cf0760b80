//! The browser's microphone: the WebSocket `GET /api/pages/{id}/mic?rate=R` that feeds a page
//! started with `"source": "mic"` ([`super::pages::BROWSER_MIC`]), or a district page started so
//! (its frames go to the district page's live stream, which every site's part plays: see
//! [`crate::cluster::LiveSender`]).
//!
//! Each binary message is mono 16-bit little-endian PCM at `R` Hz (8000..=48000), at most one
//! second of it. [`MicPipeline`] turns it into what the page sends: resampled to 8 kHz with the
//! engine's anti-aliasing [`StreamResampler`], levelled by the live gain and limiter
//! ([`LiveLevel`], issue 20), cut into 20 ms frames and G.711-encoded into the page's relay
//! queue ([`RelayFeed`], the desk-phone talker's: at most two frames wait). A text message, an
//! odd byte count or a message over the bound closes the socket with the reason.
//!
//! The page ends when the socket closes, or when it sends nothing for the talker's idle time
//! (the page's session owns that rule, reading the feed's last packet); when the page ends for
//! any reason the socket is closed with "the page ended". One socket per page. It is opened
//! under the same authentication as `DELETE /api/pages/{id}`, and a browser's cross-site
//! opening (an `Origin` other than the server it asked) is refused.
//!
//! The PCM path ends in G.711 here because the page's stream is G.711; a G.722 page would take
//! the same levelled frames at 16 kHz into its own encoder.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::district_pages::DistrictPages;
use super::pages::{MicLink, Pages};
use super::talk::RelayFeed;
use crate::audio::{FRAME_SAMPLES, Frame, LiveLevel, LoudnessTarget, StreamResampler};
use crate::cluster::LiveSender;
use crate::g711::Law;
use crate::rtp::packet::PAYLOAD_LEN;

/// Lowest sample rate a browser may send.
pub const MIN_RATE: u32 = 8_000;
/// Highest sample rate a browser may send.
pub const MAX_RATE: u32 = 48_000;

/// Why a message (or the socket's `rate`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MicInputError {
    /// `rate` outside [`MIN_RATE`]..=[`MAX_RATE`].
    #[error("rate {0}: must be {MIN_RATE}..={MAX_RATE} Hz")]
    Rate(u32),
    /// Not whole 16-bit samples.
    #[error("a message of {0} bytes: 16-bit PCM comes in whole samples (an even byte count)")]
    OddLength(usize),
    /// Over one second of audio.
    #[error("a message of {0} bytes: at most {1} (one second of audio at the socket's rate)")]
    TooLong(usize, usize),
    /// Text instead of PCM.
    #[error("text messages are refused: send binary 16-bit little-endian mono PCM")]
    Text,
}

/// One browser microphone's PCM path: messages in, G.711 payloads out. Allocates only in
/// [`MicPipeline::new`].
pub struct MicPipeline {
    resampler: StreamResampler,
    level: LiveLevel,
    law: Law,
    max_bytes: usize,
    frame: Frame,
    payload: [u8; PAYLOAD_LEN],
}

impl MicPipeline {
    /// A path from PCM at `rate` Hz to `law`, levelled toward `target`.
    pub fn new(rate: u32, target: LoudnessTarget, law: Law) -> Result<MicPipeline, MicInputError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(MicInputError::Rate(rate));
        }
        let mut resampler = StreamResampler::new(rate).map_err(|_| MicInputError::Rate(rate))?;
        prime(&mut resampler, rate);
        Ok(MicPipeline {
            resampler,
            level: LiveLevel::new(target),
            law,
            max_bytes: 2 * rate as usize,
            frame: [0; FRAME_SAMPLES],
            payload: [0; PAYLOAD_LEN],
        })
    }

    /// The largest message taken: one second of audio.
    pub fn max_message_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Take one message of 16-bit little-endian PCM; `emit` gets each 20 ms payload it
    /// completes (none, one or more: a frame may span messages). A refused message changes
    /// nothing.
    pub fn push(
        &mut self,
        message: &[u8],
        mut emit: impl FnMut(&[u8; PAYLOAD_LEN]),
    ) -> Result<(), MicInputError> {
        if !message.len().is_multiple_of(2) {
            return Err(MicInputError::OddLength(message.len()));
        }
        if message.len() > self.max_bytes {
            return Err(MicInputError::TooLong(message.len(), self.max_bytes));
        }
        let Self {
            resampler,
            level,
            law,
            frame,
            payload,
            ..
        } = self;
        for pair in message.chunks_exact(2) {
            let sample = f32::from(i16::from_le_bytes([pair[0], pair[1]])) / 32768.0;
            resampler.push(sample, &mut |out: &[i16]| {
                // The resampler emits whole frames; a short one is padded with silence.
                frame.fill(0);
                frame[..out.len()].copy_from_slice(out);
                level.process(frame);
                law.encode_into(&frame[..], payload);
                emit(payload);
            });
        }
        Ok(())
    }
}

/// Feed `resampler` silence up to the frame it emits first, and drop that frame: from then on
/// it emits a frame as soon as the last input sample of that frame arrives. Fresh, it waits
/// for one sample more than a frame's worth, so a browser's 20 ms messages each completed their
/// frame only with the next message's first sample: 20 ms of delay for nothing.
fn prime(resampler: &mut StreamResampler, rate: u32) {
    let mut emitted = false;
    for _ in 0..rate {
        resampler.push(0.0, &mut |_: &[i16]| emitted = true);
        if emitted {
            return;
        }
    }
}

/// What a socket's opener asked for.
pub struct MicRequest {
    /// The page.
    pub id: String,
    /// Who opened the socket (a user's name or `api-token`): who stopped the page when the
    /// microphone closes.
    pub by: String,
    /// `?rate=`.
    pub rate: Option<u32>,
    /// The live loudness target (`[engine] loudness`).
    pub target: LoudnessTarget,
}

/// Where a socket's frames go, and who ends its page: the relay queue of this site's page, or
/// the live stream of a district page (each site's part plays it).
enum MicSink {
    Here(RelayFeed, Pages),
    District(LiveSender, DistrictPages),
}

impl MicSink {
    fn push(&self, payload: &[u8; PAYLOAD_LEN]) {
        match self {
            MicSink::Here(feed, _) => feed.push(payload.iter().copied()),
            MicSink::District(sender, _) => sender.send(payload),
        }
    }

    /// End page `id` for `why`, the socket's opener `by` stopping it.
    fn stop(&self, id: &str, why: &str, by: &str) {
        match self {
            MicSink::Here(_, pages) => pages.stop_by(id, why, by),
            MicSink::District(_, district) => district.stop(id, why),
        };
    }

    /// What was lost on the way, for the log.
    fn losses(&self) -> String {
        match self {
            MicSink::Here(feed, _) => {
                let stats = feed.stats();
                format!(
                    "{} frames ({} bytes dropped to keep the delay bounded)",
                    stats.packets, stats.dropped_bytes
                )
            }
            MicSink::District(sender, _) => format!(
                "to the district ({} frames dropped: the bus was behind)",
                sender.dropped()
            ),
        }
    }
}

/// A socket's hold on its page: where its frames go, and the page's live state.
struct Mic {
    sink: MicSink,
    live: tokio::sync::watch::Receiver<crate::page::DeliveryReport>,
}

/// Open page `req.id`'s microphone socket (a district page's when `district` runs it), or say
/// why not (status and reason).
pub fn open(
    pages: &Pages,
    district: Option<&DistrictPages>,
    req: MicRequest,
    headers: &HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, (StatusCode, String)> {
    let rate = req.rate.ok_or((
        StatusCode::BAD_REQUEST,
        "missing ?rate=HZ: the sample rate of the PCM the socket sends (8000..=48000)".into(),
    ))?;
    let pipeline = MicPipeline::new(rate, req.target, Law::Ulaw)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    if !same_origin(headers) {
        return Err((
            StatusCode::FORBIDDEN,
            "the microphone socket may only be opened from this server's own pages (Origin)".into(),
        ));
    }
    let ws = ws.map_err(|e| (e.status(), e.body_text()))?;
    let refused = |e: super::pages::MicRefused| (e.status(), e.to_string());
    let link = match district.filter(|d| d.running_zone(&req.id).is_some()) {
        Some(d) => {
            let (sender, live) = d.open_mic(&req.id).map_err(refused)?;
            Mic {
                sink: MicSink::District(sender, d.clone()),
                live,
            }
        }
        None => {
            let MicLink { feed, live } = pages.open_mic(&req.id).map_err(refused)?;
            Mic {
                sink: MicSink::Here(feed, pages.clone()),
                live,
            }
        }
    };
    let max = pipeline.max_message_bytes();
    let (id, by) = (req.id, req.by);
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| relay(socket, pipeline, link, (id, by))))
}

/// A browser's `Origin`, when it sends one, names the host it asked (`Host`): a page of
/// another site cannot open the socket with this browser's session. Clients without an
/// `Origin` (not browsers) pass.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let authority = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, a)| a);
    match (authority, host) {
        (Some(a), Some(h)) => a.eq_ignore_ascii_case(h),
        _ => false,
    }
}

/// Feed the page from `socket` until either ends.
async fn relay(
    mut socket: WebSocket,
    mut pipeline: MicPipeline,
    link: Mic,
    (id, by): (String, String),
) {
    let Mic { sink, mut live } = link;
    tracing::info!("page {id}: the browser's microphone is connected");
    let why = loop {
        tokio::select! {
            msg = socket.recv() => match take(msg, &mut pipeline, &sink) {
                Ok(()) => {}
                Err(Ending::Closed(why)) => break why,
                Err(Ending::Refused(code, why)) => {
                    tracing::warn!("page {id}: the browser's microphone: {why}");
                    close(&mut socket, code, &why).await;
                    break format!("the browser's microphone sent what it may not: {why}");
                }
            },
            changed = live.changed() => if changed.is_err() {
                close(&mut socket, close_code::NORMAL, "the page ended").await;
                break String::new();
            },
        }
    };
    if !why.is_empty() {
        sink.stop(&id, &why, &by);
    }
    tracing::info!("page {id}: the browser's microphone sent {}", sink.losses());
}

/// How a socket's relay ends.
enum Ending {
    /// The socket closed or failed: the reason the page ends.
    Closed(String),
    /// A message refused: the close code and reason.
    Refused(u16, String),
}

/// One received message into the feed.
fn take(
    msg: Option<Result<Message, axum::Error>>,
    pipeline: &mut MicPipeline,
    sink: &MicSink,
) -> Result<(), Ending> {
    match msg {
        None | Some(Ok(Message::Close(_))) => {
            Err(Ending::Closed("the browser's microphone was closed".into()))
        }
        Some(Err(e)) => Err(Ending::Closed(format!(
            "the browser's microphone failed: {e}"
        ))),
        Some(Ok(Message::Binary(pcm))) => pipeline
            .push(&pcm, |payload| sink.push(payload))
            .map_err(|e| Ending::Refused(close_code::INVALID, e.to_string())),
        Some(Ok(Message::Text(_))) => Err(Ending::Refused(
            close_code::UNSUPPORTED,
            MicInputError::Text.to_string(),
        )),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..end].into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, samples: usize) -> Vec<u8> {
        (0..samples)
            .flat_map(|i| {
                let x = (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin();
                ((x * 8000.0) as i16).to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn a_48k_tone_comes_out_as_8k_frames_at_its_pitch() {
        let mut p = MicPipeline::new(48_000, LoudnessTarget::default(), Law::Ulaw).unwrap();
        let mut pcm = Vec::new();
        // Two seconds in 20 ms messages.
        let all = tone(48_000, 440.0, 96_000);
        for msg in all.chunks(1920) {
            p.push(msg, |payload| {
                pcm.extend(payload.iter().map(|&b| Law::Ulaw.decode(b)))
            })
            .unwrap();
        }
        // Two seconds at 8 kHz, give or take the resampler's delay.
        assert!((15_800..=16_000).contains(&pcm.len()), "{}", pcm.len());
        let tail = &pcm[8000..];
        let crossings = tail.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f64 / 2.0 / (tail.len() as f64 / 8000.0);
        assert!((hz - 440.0).abs() < 5.0, "{hz} Hz");
    }

    #[test]
    fn each_20_ms_message_completes_its_own_frame() {
        for rate in [48_000, 32_000, 16_000, 8_000] {
            let mut p = MicPipeline::new(rate, LoudnessTarget::default(), Law::Ulaw).unwrap();
            let msg = tone(rate, 440.0, rate as usize / 50);
            for n in 0..50 {
                let mut frames = 0;
                p.push(&msg, |_| frames += 1).unwrap();
                assert_eq!(frames, 1, "message {n} at {rate} Hz");
            }
        }
        // 44.1 kHz is 5.5125 input samples per output sample: a frame's input does not end on
        // a message's end, so now and then a message completes none or two; never more late.
        let mut p = MicPipeline::new(44_100, LoudnessTarget::default(), Law::Ulaw).unwrap();
        let msg = tone(44_100, 440.0, 882);
        let mut frames = 0;
        for n in 1..=50 {
            p.push(&msg, |_| frames += 1).unwrap();
            assert!(
                frames + 1 >= n && frames <= n,
                "{frames} frames after {n} messages"
            );
        }
    }

    #[test]
    fn frames_span_messages() {
        let mut p = MicPipeline::new(8_000, LoudnessTarget::default(), Law::Ulaw).unwrap();
        let mut n = 0;
        // 100 samples, then 100: one frame once 160 have come.
        p.push(&tone(8_000, 440.0, 100), |_| n += 1).unwrap();
        assert_eq!(n, 0);
        p.push(&tone(8_000, 440.0, 100), |_| n += 1).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn bad_rates_and_messages_are_refused() {
        for rate in [0, 7_999, 48_001, u32::MAX] {
            assert_eq!(
                MicPipeline::new(rate, LoudnessTarget::default(), Law::Ulaw).err(),
                Some(MicInputError::Rate(rate))
            );
        }
        let mut p = MicPipeline::new(16_000, LoudnessTarget::default(), Law::Ulaw).unwrap();
        assert_eq!(p.push(&[0; 3], |_| {}), Err(MicInputError::OddLength(3)));
        assert_eq!(
            p.push(&vec![0; 32_002], |_| {}),
            Err(MicInputError::TooLong(32_002, 32_000))
        );
        p.push(&vec![0; 32_000], |_| {}).unwrap();
    }

    #[test]
    fn origin_must_name_the_host_asked() {
        let h = |origin: Option<&str>, host: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, host.parse().unwrap());
            if let Some(o) = origin {
                m.insert(header::ORIGIN, o.parse().unwrap());
            }
            same_origin(&m)
        };
        assert!(h(None, "127.0.0.1:8460"));
        assert!(h(Some("https://127.0.0.1:8443"), "127.0.0.1:8443"));
        assert!(h(Some("http://Paging.example"), "paging.example"));
        assert!(!h(Some("https://evil.example"), "127.0.0.1:8443"));
        assert!(!h(Some("null"), "127.0.0.1:8443"));
    }
}
