//! The other directions of audio: `listen` (a phone's microphone to us, `RTPTx`) and `intercom`
//! (both ways, `RTPRx` + `RTPTx`). What they share with paging lives here: which phones can take
//! part, the exact XML they are sent at start and at end, the ports they get from the pool, the
//! journal record that guarantees their stop, the receive-and-record (or play) loop, and the
//! report with its exit code.
//!
//! The rules of starting and stopping the phones are [`session`]'s: [`ListenSession`] is the
//! sans-IO core that listen and intercom share. It does not push, schedule or parse arguments:
//! the command line (`cli::listen`) is the shell that binds, journals, pushes and records as the
//! session says.

mod report;
pub mod session;

pub use report::{ListenPhone, ListenReport, ListenTotals, Received, failure_of, needs_stop};
pub use session::{
    Ended, ListenOutput, ListenPush, ListenSession, ListenState, ListenTimer, PhoneSpec, PushDone,
    State, StopReason,
};

use std::collections::HashSet;
use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::journal::{JournalPage, JournalPhone, PageRecord};
use crate::audio::speaker::Speaker;
use crate::config::Config;
use crate::rtp::receiver::{MAX_PAYLOAD, ReceiverEvent, ReorderConfig};
use crate::rtp::{Listen, Listener, Recorder, RtpPort};
use crate::xsi::model::Capabilities;
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject};
use crate::xsi::uri::Uri;

/// The journal's zone name for a listen.
pub const LISTEN_ZONE: &str = "listen";
/// The journal's zone name for an intercom.
pub const INTERCOM_ZONE: &str = "intercom";
/// The journal's priority name for listens and intercoms. Their rank is 0, the lowest: a page
/// of a higher level takes their phones over (pushing `RTPTx:Stop`), as it would a low page.
pub const LISTEN_PRIORITY: &str = "listen";

/// Why a phone of this model cannot take part (`None`: it can).
pub fn refusal(model: &str) -> Option<String> {
    (!Capabilities::for_model_name(model).rtp_uris).then(|| {
        format!("model {model} cannot send or receive RTP pushes (Multiplatform firmware)")
    })
}

/// A CiscoIPPhoneExecute of these URIs (1..=3, all allowed in an Execute).
fn execute_of(uris: &[Uri]) -> Result<String, crate::error::Invalid> {
    let items = uris
        .iter()
        .map(|u| ExecuteUrl::try_from(u).map(ExecuteItem::new))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Execute::from_items(items)?.to_xml())
}

/// `RTPTx:ADDR:PORT`: the phone sends its microphone to `addr:port`.
pub fn listen_start_xml(addr: Ipv4Addr, port: RtpPort) -> Result<String, crate::error::Invalid> {
    execute_of(&[Uri::rtp_tx(addr, port)?])
}

/// `RTPTx:Stop`.
pub fn listen_stop_xml() -> String {
    execute_of(&[Uri::RtpTxStop]).expect("RTPTx:Stop is a valid Execute")
}

/// `RTPRx:ADDR:RX_PORT` (the phone plays what we send to its `RX_PORT`) and `RTPTx:ADDR:TX_PORT`
/// (it sends its microphone to us) in one Execute.
pub fn intercom_start_xml(
    addr: Ipv4Addr,
    rx_port: RtpPort,
    tx_port: RtpPort,
) -> Result<String, crate::error::Invalid> {
    execute_of(&[
        Uri::rtp_rx(addr, rx_port, None, None)?,
        Uri::rtp_tx(addr, tx_port)?,
    ])
}

/// `RTPRx:Stop` and `RTPTx:Stop` in one Execute.
pub fn intercom_stop_xml() -> String {
    execute_of(&[Uri::RtpRxStop, Uri::RtpTxStop]).expect("the stops are a valid Execute")
}

/// Ports that must not be handed out: those fixed by zones and those of pages still running.
pub fn used_ports(config: &Config, pages: &[JournalPage]) -> HashSet<u16> {
    config
        .reserved_ports()
        .into_iter()
        .chain(
            pages
                .iter()
                .filter(|p| p.alive && !p.remaining.is_empty())
                .filter_map(|p| p.record.port),
        )
        .collect()
}

/// A new id for a listen or intercom record of one phone.
pub fn new_id(kind: &str, phone: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{kind}-{ms:x}-{}-{phone}", std::process::id())
}

/// The journal record of one phone's listen or intercom (one record per phone, so each port
/// in use is known to other pages). Write it before the start is pushed.
pub fn journal_record(
    id: &str,
    zone: &str,
    phone: &str,
    stop_xml: &str,
    expect_reply: bool,
    port: RtpPort,
) -> PageRecord {
    PageRecord {
        page: id.to_owned(),
        pid: std::process::id(),
        zone: zone.to_owned(),
        priority: LISTEN_PRIORITY.to_owned(),
        rank: 0,
        started_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        phones: vec![JournalPhone {
            name: phone.to_owned(),
            stop_xml: stop_xml.to_owned(),
            expect_reply,
        }],
        group: None,
        port: Some(port.get()),
    }
}

/// Bind a receiver on `addr` at the lowest pool port not in `in_use` that is free on this
/// host (a port another process holds is skipped). The port is added to `in_use`.
pub fn bind_from_pool(
    addr: Ipv4Addr,
    pool: impl IntoIterator<Item = RtpPort>,
    in_use: &mut HashSet<u16>,
) -> io::Result<(Listener, RtpPort)> {
    for port in pool {
        if in_use.contains(&port.get()) {
            continue;
        }
        let listen = Listen {
            group: None,
            addr,
            port,
        };
        match Listener::bind(&listen, ReorderConfig::default()) {
            Ok(l) => {
                in_use.insert(port.get());
                return Ok((l, port));
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("binding {listen}: {e}"))),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "every port of the port pool is in use",
    ))
}

/// Receive on `listener` and write what arrives to `recorder` until `stop` is set (or writing
/// fails), then finish the file. Blocking: run it on its own thread.
pub fn record_until(listener: Listener, recorder: Recorder, stop: Arc<AtomicBool>) -> Received {
    hear_until(listener, Some(recorder), None, stop)
}

/// Receive on `listener` until `stop` is set (or writing fails): what arrives is written to
/// `recorder` and played on `speaker`, each when given; then the file is finished. Blocking: run
/// it on its own thread.
///
/// The file keeps the stream's timeline (a gap becomes silence of its length); the speaker gets
/// only the audio, because the time a gap stands for has already passed by when the gap is
/// reported, and the speaker played silence for it then.
pub fn hear_until(
    mut listener: Listener,
    mut recorder: Option<Recorder>,
    speaker: Option<&Speaker>,
    stop: Arc<AtomicBool>,
) -> Received {
    let write_error = std::cell::RefCell::new(None);
    let run = listener.run(
        |_, _| write_error.borrow().is_some() || stop.load(Ordering::SeqCst),
        |event| {
            if let (Some(speaker), ReceiverEvent::Audio { law, payload, .. }) = (speaker, &event) {
                let mut pcm = [0i16; MAX_PAYLOAD];
                let pcm = &mut pcm[..payload.len().min(MAX_PAYLOAD)];
                law.decode_into(&payload[..pcm.len()], pcm);
                speaker.push(pcm);
            }
            let mut slot = write_error.borrow_mut();
            if slot.is_none()
                && let Some(recorder) = recorder.as_mut()
                && let Err(e) = recorder.record(&event)
            {
                *slot = Some(e);
            }
        },
    );
    if let Some(speaker) = speaker {
        speaker.flush();
    }
    let write_error = write_error.into_inner();
    let seconds = recorder
        .as_ref()
        .map_or(0.0, |r| r.duration().as_secs_f64());
    let finished = recorder.map_or(Ok(0), Recorder::finish);
    let stats = listener.state.stats();
    let error = match (run, write_error, finished) {
        (Err(e), _, _) => Some(format!("receiving: {e}")),
        (_, Some(e), _) | (_, None, Err(e)) => Some(e.to_string()),
        _ => None,
    };
    Received {
        packets: stats.iter().map(|s| s.received).sum(),
        lost: stats.iter().map(|s| s.lost).sum(),
        late: stats.iter().map(|s| s.late).sum(),
        jitter_ms: stats.iter().map(|s| s.jitter_ms).fold(0.0, f64::max),
        seconds_recorded: seconds,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::PushOutcome;

    fn port(p: u16) -> RtpPort {
        RtpPort::new(p).unwrap()
    }

    fn phone(name: &str, accepted: bool, stopped: Option<bool>) -> ListenPhone {
        ListenPhone {
            name: name.into(),
            model: "CP-8851".into(),
            refused: None,
            port: Some(20480),
            accepted,
            failure: (!accepted).then(|| "no answer in time".into()),
            accept_ms: None,
            stopped,
            stop_failure: None,
            received: Received::default(),
            file: None,
        }
    }

    #[test]
    fn the_xml_is_rtptx_and_its_stop() {
        let start = listen_start_xml(Ipv4Addr::new(10, 0, 0, 5), port(24000)).unwrap();
        assert!(start.contains("URL=\"RTPTx:10.0.0.5:24000\""), "{start}");
        assert!(listen_stop_xml().contains("URL=\"RTPTx:Stop\""));
        let both =
            intercom_start_xml(Ipv4Addr::new(10, 0, 0, 5), port(24000), port(24002)).unwrap();
        assert!(both.contains("RTPRx:10.0.0.5:24000") && both.contains("RTPTx:10.0.0.5:24002"));
        let stop = intercom_stop_xml();
        assert!(stop.contains("RTPRx:Stop") && stop.contains("RTPTx:Stop"));
    }

    #[test]
    fn multiplatform_phones_are_refused_with_the_reason() {
        assert!(refusal("CP-8851").is_none());
        let why = refusal("CP-8851-3PCC").unwrap();
        assert!(why.contains("Multiplatform"), "{why}");
    }

    #[test]
    fn uncertain_starts_get_a_stop_and_refused_ones_do_not() {
        assert!(needs_stop(&PushOutcome::Ok { items: vec![] }));
        assert!(needs_stop(&PushOutcome::Timeout));
        assert!(needs_stop(&PushOutcome::BadResponse { reason: "x".into() }));
        assert!(needs_stop(&PushOutcome::Unreachable {
            reason: "reset".into(),
            connected: true,
        }));
        assert!(!needs_stop(&PushOutcome::Unreachable {
            reason: "refused".into(),
            connected: false,
        }));
        assert!(!needs_stop(&PushOutcome::AuthFailed));
        assert!(!needs_stop(&PushOutcome::Rejected {
            status: 6,
            data: "busy".into(),
            url: "RTPTx:1.2.3.4:20480".into(),
        }));
    }

    #[test]
    fn exit_codes_follow_page() {
        let all = ListenReport::new(vec![phone("a", true, Some(true))]);
        assert_eq!(all.exit_code(), 0);
        let some = ListenReport::new(vec![phone("a", true, Some(true)), phone("b", false, None)]);
        assert_eq!(some.exit_code(), 3);
        let none = ListenReport::new(vec![phone("a", false, Some(true))]);
        assert_eq!(none.exit_code(), 1);
        let unstopped = ListenReport::new(vec![phone("a", true, Some(false))]);
        assert_eq!(unstopped.exit_code(), 3);
        assert!(unstopped.prose().contains("zonecast recover"));
    }

    #[test]
    fn a_port_in_use_is_skipped() {
        let taken = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let busy = taken.local_addr().unwrap().port();
        // Only meaningful when the OS gave an even port in range; else the pool is free anyway.
        let pool: Vec<RtpPort> = (20480..=32768)
            .step_by(2)
            .filter_map(|p| RtpPort::new(p).ok())
            .collect();
        let mut in_use = HashSet::from([20480]);
        let (l, p) = bind_from_pool(Ipv4Addr::LOCALHOST, pool, &mut in_use).unwrap();
        assert_ne!(p.get(), 20480);
        assert_ne!(p.get(), busy);
        assert_eq!(l.local_addr().unwrap().port(), p.get());
        assert!(in_use.contains(&p.get()));
    }
}
