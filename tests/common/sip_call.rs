//! Calling zonecast's SIP agent with Debian's sipp (package `sip-tester`): finding sipp, free
//! ports for the agent and for sipp, the scenarios of `tests/sip/`, one sipp run over UDP or
//! TCP from a chosen loopback address, its log, the caller's 1 kHz tone as sipp's
//! `rtp_stream` input, and the zone's phones hearing it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::cli_setup::Setup;

/// The tone callers stream.
pub const TONE_HZ: f64 = 1000.0;

/// Whether sipp is installed (said in one line when it is not: the test then passes).
pub fn have_sipp() -> bool {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        println!("skipped: sipp is not installed (apt-get install sip-tester)");
    }
    found
}

/// A UDP port free on `ip` (even, under 65000, for sipp's RTP, when `even`).
pub fn free_udp_port(ip: &str, even: bool) -> u16 {
    loop {
        let s = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let p = s.local_addr().unwrap().port();
        if !even || (p.is_multiple_of(2) && p < 65000) {
            return p;
        }
    }
}

/// A port free on `ip` for both UDP and TCP (the agent listens on both).
pub fn free_sip_port(ip: &str) -> u16 {
    loop {
        let u = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let p = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind((ip, p)).is_ok() {
            return p;
        }
    }
}

/// `tests/sip/NAME`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sip")
        .join(name)
}

/// One sipp call.
pub struct SippCall<'a> {
    /// Where sipp runs (its logs and `tone.ulaw`).
    pub dir: &'a Path,
    pub scenario: &'a Path,
    /// The loopback address sipp sends from (`-i`, `-mi`).
    pub from: &'a str,
    /// The agent's port on 127.0.0.1.
    pub port: u16,
    pub number: &'a str,
    /// `u1` (UDP) or `t1` (TCP, one connection).
    pub transport: &'a str,
    /// More arguments (`-au`, `-ap`).
    pub extra: &'a [&'a str],
}

impl SippCall<'_> {
    /// Run it to its end.
    pub fn run(&self) -> Output {
        let remote = format!("127.0.0.1:{}", self.port);
        let local_port = free_udp_port(self.from, false).to_string();
        let media_port = free_udp_port(self.from, true).to_string();
        Command::new("sipp")
            .current_dir(self.dir)
            .args([remote.as_str(), "-sf"])
            .arg(self.scenario)
            .args(["-s", self.number, "-t", self.transport])
            .args(["-i", self.from, "-p", local_port.as_str()])
            .args(["-mi", self.from, "-mp", media_port.as_str()])
            .args(["-m", "1", "-l", "1", "-timeout", "40s", "-timeout_error"])
            .args(["-nostdin", "-trace_err"])
            .args(self.extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// sipp's exit, the tail of its output and its error log.
pub fn sipp_log(dir: &Path, out: &Output) -> String {
    let mut errors = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().contains("errors") {
            errors.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tail: Vec<&str> = stdout.lines().rev().take(30).collect();
    format!(
        "sipp exit {:?}\nstdout: {}\nstderr: {}\nerrors: {errors}",
        out.status.code(),
        tail.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Ten seconds of the caller's 1 kHz as raw µ-law at 8 kHz: `dir/tone.ulaw`, sipp's
/// `rtp_stream` input (PCMU).
pub fn write_tone(dir: &Path) {
    let ulaw: Vec<u8> = (0..80_000)
        .map(|i| {
            let t = f64::from(i) / 8000.0;
            let s = (12000.0 * (2.0 * std::f64::consts::PI * TONE_HZ * t).sin()) as i16;
            zonecast::g711::Law::Ulaw.encode(s)
        })
        .collect();
    std::fs::write(dir.join("tone.ulaw"), ulaw).unwrap();
}

/// Whether every one of the `n` phones plays the caller's tone.
pub fn hear_the_tone(r: &zonecast::phone_sim::FleetReport, n: usize) -> bool {
    r.phones.len() == n
        && r.phones.iter().all(|p| {
            p.heard.last().is_some_and(|h| {
                h.active
                    && h.rx.summary.packets > 50
                    && h.rx
                        .summary
                        .frequency_hz
                        .is_some_and(|f| (f - TONE_HZ).abs() < 15.0)
            })
        })
}

/// Wait until every one of the `n` phones plays the caller's tone.
pub fn all_hear_the_tone(s: &Setup, n: usize) {
    s.wait_until("every phone hears the caller's 1 kHz", |r| {
        hear_the_tone(r, n)
    });
}

/// Wait until every one of the `n` phones plays the tone of the caller `call` (a sipp run on
/// a thread: its success and log); when the call ends first, fail with its log and `server`'s.
pub fn hear_the_call(
    s: &Setup,
    n: usize,
    call: std::thread::JoinHandle<(bool, String)>,
    server: &dyn Fn() -> String,
) -> std::thread::JoinHandle<(bool, String)> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !hear_the_tone(&s.report(), n) {
        if call.is_finished() {
            let (ok, log) = call.join().unwrap();
            panic!(
                "the call ended (ok: {ok}) before the phones heard it: {log}\nserver: {}",
                server()
            );
        }
        assert!(
            std::time::Instant::now() < until,
            "phones never heard: {:?}\nserver: {}",
            s.report(),
            server()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    call
}

/// Each frame's sound as a letter: the tone of `(letter, Hz)` it is nearest (within 60 Hz),
/// '.' for silence, '?' for anything else.
pub fn tones_of(frames: &[Vec<i16>], tones: &[(char, f32)]) -> String {
    frames
        .iter()
        .map(|f| {
            if f.iter().all(|s| s.unsigned_abs() < 100) {
                return '.';
            }
            let crossings = f.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
            let hz = crossings as f64 / 2.0 / (f.len() as f64 / 8000.0);
            tones
                .iter()
                .find(|(_, t)| (hz - f64::from(*t)).abs() < 60.0)
                .map_or('?', |(c, _)| *c)
        })
        .collect()
}
