//! Helpers shared by the integration tests: free ports, the binary, reading recordings, and
//! measuring pitch and level. Everything here talks to real sockets, processes and files.
#![allow(dead_code)]

pub mod browser;
pub mod cli_setup;
pub mod cucm;
pub mod district_net;
pub mod fake_phone;
pub mod nats;
pub mod serve_node;
pub mod server;
pub mod sim;
pub mod sip_call;
pub mod sip_endpoint_harness;
pub mod sip_menu_harness;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `zonecast` binary built for this test run.
pub fn zonecast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zonecast"))
}

/// An even port in the phones' range that is free on 127.0.0.1 right now (UDP).
pub fn free_even_port() -> u16 {
    for _ in 0..1000 {
        let p = 20480 + 2 * (rand::random::<u16>() % 6144);
        if UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
    panic!("no free even UDP port on 127.0.0.1");
}

/// A bound UDP socket on a free even port.
pub fn bound_even_socket() -> (UdpSocket, u16) {
    for _ in 0..1000 {
        let p = 20480 + 2 * (rand::random::<u16>() % 6144);
        if let Ok(s) = UdpSocket::bind(("127.0.0.1", p)) {
            return (s, p);
        }
    }
    panic!("no free even UDP port on 127.0.0.1");
}

/// Start `zonecast record` with `args` and wait until it says it is listening.
pub fn spawn_record(args: &[&str]) -> Child {
    let mut child = zonecast()
        .arg("record")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn zonecast record");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("listening on") => break,
            Some(Ok(_)) => continue,
            other => panic!("zonecast record did not start listening: {other:?}"),
        }
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

/// A `zonecast record` writing into a temporary folder that lives as long as this value.
pub struct Recording {
    /// Keeps the folder alive.
    pub _dir: tempfile::TempDir,
    /// The output file.
    pub out: std::path::PathBuf,
    /// What was passed to `--listen`.
    pub listen: String,
    /// The port it listens on.
    pub port: u16,
    /// The running process.
    pub child: Child,
}

/// Start `zonecast record --listen [GROUP@]127.0.0.1:PORT --out DIR/FILE ARGS...` on a free even
/// port and wait until it listens.
pub fn start_recording(file: &str, group: Option<&str>, args: &[&str]) -> Recording {
    let port = free_even_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join(file);
    let listen = match group {
        Some(g) => format!("{g}@127.0.0.1:{port}"),
        None => format!("127.0.0.1:{port}"),
    };
    let out_arg = out.to_str().expect("utf-8 temp path").to_string();
    let mut all = vec!["--listen", &listen, "--out", &out_arg];
    all.extend_from_slice(args);
    let child = spawn_record(&all);
    Recording {
        _dir: dir,
        out,
        listen,
        port,
        child,
    }
}

/// Samples of a 16-bit mono WAV file, with its rate.
pub fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = r.spec().sample_rate;
    let s = r.samples::<i16>().map(|s| s.expect("sample")).collect();
    (rate, s)
}

/// Frequency of a steady tone from its zero crossings (independent of any FFT code).
pub fn tone_frequency(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / rate as f64)
}

/// RMS level in dBFS.
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    let ms = samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    10.0 * (ms / (32768.0f64 * 32768.0)).log10()
}

/// Cisco's schema of the phone objects, from the shared reference files; `None` (after a skip
/// line) when `../shared` is absent.
pub fn cisco_xsd() -> Option<PathBuf> {
    zonecast::shared::shared_file("reference/CiscoIpPhoneServices.xsd")
}

/// Run xmllint on `xml` (bytes in whatever encoding it declares), never fetching anything
/// (`--nonet`), and against the schema `xsd` (see [`cisco_xsd`]) when given; its stderr on
/// failure.
pub fn xmllint(xml: &[u8], xsd: Option<&Path>) -> Result<(), String> {
    require("xmllint");
    let mut file = tempfile::Builder::new().suffix(".xml").tempfile().unwrap();
    std::io::Write::write_all(&mut file, xml).unwrap();
    let mut cmd = Command::new("xmllint");
    cmd.args(["--noout", "--nonet"]);
    if let Some(xsd) = xsd {
        cmd.arg("--schema").arg(xsd);
    }
    let out = cmd.arg(file.path()).output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Whether a program is on PATH; tests that need a peer fail loudly when it is missing
/// (`make test` installs it).
pub fn require(program: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{program} is not installed: run `make test`, which installs it"
    );
}
