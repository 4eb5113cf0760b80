//! The harness of the menu and queue dial-in tests (`tests/sip_menu.rs`): a `zonecast serve`
//! with a `[sip]` table of the test's routes and an emulated fleet on loopback, called by
//! Debian's sipp (`sip-tester`) with the scenarios in `tests/sip/` (keys pressed by
//! `tests/sip/send_keys.py`, RFC 4733 packets), and what the phones and the caller heard.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::cli_setup::Setup;
use super::server::{Server, api, setup, wait_for};

pub use super::sip_call::{TONE_HZ, free_sip_port, free_udp_port, have_sipp, scenario, sipp_log};

/// `name` from `tests/sip/` with its placeholders replaced (`("'KEYS'", "'2'")` ...) and
/// `SEND_KEYS` naming the key sender, written into `dir` as `out`.
pub fn scenario_with(dir: &Path, name: &str, out: &str, swaps: &[(&str, &str)]) -> PathBuf {
    let sender = scenario("send_keys.py");
    let mut xml = std::fs::read_to_string(scenario(name))
        .unwrap()
        .replace("SEND_KEYS", sender.to_str().unwrap());
    for (from, to) in swaps {
        xml = xml.replace(from, to);
    }
    let path = dir.join(out);
    std::fs::write(&path, xml).unwrap();
    path
}

/// A `zonecast serve` whose `[sip]` (callers from 127.0.0.1) has the `routes`, its phones
/// (zones `all` and `first`: the first two), and a folder for sipp with the tone in it.
pub struct MenuAgent {
    pub port: u16,
    pub s: Setup,
    pub srv: Server,
    pub dir: tempfile::TempDir,
}

/// The [`MenuAgent`] listening with `n` phones and `routes` (`[[sip.route]]` tables), or
/// `None` without sipp.
pub fn menu_agent(n: usize, routes: &str) -> Option<MenuAgent> {
    if !have_sipp() {
        return None;
    }
    let port = free_sip_port("127.0.0.1");
    let sip = format!(
        "[sip]\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\nno_rtp = \"5s\"\n\n{routes}\n"
    );
    let s = setup(n, &sip);
    let srv = Server::start(&s);
    wait_for(&srv, "the SIP agent to listen", 20, || {
        srv.log().contains("SIP listening on udp:").then_some(())
    });
    let dir = tempfile::tempdir().unwrap();
    let ulaw: Vec<u8> = (0..160_000)
        .map(|i| {
            let s = 12000.0 * (2.0 * std::f64::consts::PI * TONE_HZ * f64::from(i) / 8000.0).sin();
            zonecast::g711::Law::Ulaw.encode(s as i16)
        })
        .collect();
    std::fs::write(dir.path().join("tone.ulaw"), ulaw).unwrap();
    Some(MenuAgent { port, s, srv, dir })
}

impl MenuAgent {
    fn caller(&self) -> Caller {
        Caller {
            dir: self.dir.path().to_owned(),
            port: self.port,
        }
    }

    /// Run sipp once: `scenario` from 127.0.0.1 to the agent, dialling `number`.
    pub fn run_sipp(&self, scenario: &Path, number: &str) -> Output {
        self.caller().run(scenario, number)
    }

    /// Run sipp's `scenario` dialling `number` on a thread: (whether it succeeded, its log).
    pub fn call_in_background(
        &self,
        scenario: PathBuf,
        number: &str,
    ) -> std::thread::JoinHandle<(bool, String)> {
        let caller = self.caller();
        let number = number.to_owned();
        std::thread::spawn(move || {
            let out = caller.run(&scenario, &number);
            (out.status.success(), sipp_log(&caller.dir, &out))
        })
    }

    /// sipp's call `out` succeeded, or the test fails with its log and the server's.
    pub fn assert_called(&self, out: &Output) {
        assert!(
            out.status.success(),
            "{}\nserver: {}",
            sipp_log(self.dir.path(), out),
            self.srv.log()
        );
    }

    /// The calls `GET /api/calls` lists as ended (newest first), once `n` have and none is in
    /// progress.
    pub fn ended_calls(&self, n: usize) -> Vec<serde_json::Value> {
        let srv = &self.srv;
        wait_for(srv, "the calls in GET /api/calls", 30, || {
            let (st, body) = api(srv, "GET", "/api/calls", None);
            assert_eq!(st, 200, "{body}");
            let recent = body["recent"].as_array().cloned().unwrap_or_default();
            (recent.len() >= n && body["in_progress"].as_array().is_some_and(|a| a.is_empty()))
                .then_some(recent)
        })
    }
}

/// sipp run from a thread (the agent's port and folder only).
struct Caller {
    dir: PathBuf,
    port: u16,
}

impl Caller {
    fn run(&self, scenario: &Path, number: &str) -> Output {
        let remote = format!("127.0.0.1:{}", self.port);
        let local_port = free_udp_port("127.0.0.1", false).to_string();
        let media_port = free_udp_port("127.0.0.1", true).to_string();
        Command::new("sipp")
            .current_dir(&self.dir)
            .args([remote.as_str(), "-sf"])
            .arg(scenario)
            .args(["-s", number, "-i", "127.0.0.1", "-p", local_port.as_str()])
            .args(["-mi", "127.0.0.1", "-mp", media_port.as_str()])
            // (150 s: a 90 s session left to run out is the longest call here.)
            .args(["-m", "1", "-l", "1", "-timeout", "150s", "-timeout_error"])
            .args(["-nostdin", "-trace_err"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// Whether phone report `p` plays the caller's tone now.
pub fn hears_the_tone(p: &zonecast::phone_sim::http::FleetPhoneReport) -> bool {
    p.heard.last().is_some_and(|h| {
        h.active
            && h.rx.summary.packets > 50
            && h.rx
                .summary
                .frequency_hz
                .is_some_and(|f| (f - TONE_HZ).abs() < 15.0)
    })
}

/// What the caller was sent: µ-law frames in arrival order, read by a socket the caller's SDP
/// named, for `secs` seconds.
pub fn hear_as_caller(socket: std::net::UdpSocket, secs: u64) -> Vec<Vec<i16>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    let mut frames = Vec::new();
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < until {
        if let Ok(n) = socket.recv(&mut buf)
            && let Ok((h, payload)) = zonecast::rtp::RtpHeader::parse(&buf[..n])
            && h.payload_type == 0
        {
            let pcm = payload
                .iter()
                .map(|&b| zonecast::g711::Law::Ulaw.decode(b))
                .collect();
            frames.push(pcm);
        }
    }
    frames
}
