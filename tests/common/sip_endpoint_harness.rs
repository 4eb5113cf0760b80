//! One harness for the tests of SIP endpoints as page targets (`tests/sip_endpoints.rs`): an
//! outside SIP speaker on loopback (Debian's sipp, package `sip-tester`, playing a UAS scenario
//! of `tests/sip/uas_endpoint*.xml`; or baresip) on a free port, the socket its answer names
//! as its media address (where the page's stream must arrive), the zone `all` of two emulated
//! phones with the speaker's `[[sip_endpoint]]` table, and what the socket heard.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::cli_setup::{Setup, Spec, Zone};

/// Whether `program` runs (else one line says how to get it, and the test passes).
pub fn have(program: &str, package: &str) -> bool {
    let found = Command::new(program)
        .arg(if program == "sipp" { "-v" } else { "-h" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        println!("skipped: {program} is not installed (apt-get install {package})");
    }
    found
}

impl Drop for Speaker {
    fn drop(&mut self) {
        for child in [self.sipp.as_mut(), self.baresip.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether sipp is installed.
pub fn have_sipp() -> bool {
    have("sipp", "sip-tester")
}

/// A free UDP port on loopback.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One test's SIP speaker: its SIP port, its media socket, a temporary directory for its
/// scenario and logs, and (once [`Speaker::answer`] ran) sipp playing it.
pub struct Speaker {
    /// Where it takes SIP.
    pub port: u16,
    /// The media address its answer names (taken by [`Speaker::listen`]).
    pub sink: Option<UdpSocket>,
    /// The media socket's port.
    pub sink_port: u16,
    /// Its scenario, logs and other files.
    pub dir: tempfile::TempDir,
    sipp: Option<Child>,
    baresip: Option<Child>,
}

impl Default for Speaker {
    fn default() -> Self {
        Speaker::new()
    }
}

impl Speaker {
    /// A speaker on free ports, nothing running yet.
    pub fn new() -> Speaker {
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sink_port = sink.local_addr().unwrap().port();
        Speaker {
            port: free_port(),
            sink: Some(sink),
            sink_port,
            dir: tempfile::tempdir().unwrap(),
            sipp: None,
            baresip: None,
        }
    }

    /// Its `[[sip_endpoint]]` table: `horn`, zone `all`, answered within 5 s unless `extra`
    /// says otherwise, and `extra`'s lines.
    pub fn table(&self, extra: &str) -> String {
        let timeout = if extra.contains("answer_timeout") {
            String::new()
        } else {
            "answer_timeout = \"5s\"\n".to_owned()
        };
        format!(
            "[[sip_endpoint]]\nname = \"horn\"\nuri = \"sip:horn@127.0.0.1:{}\"\n\
             zones = [\"all\"]\n{timeout}{extra}\n",
            self.port
        )
    }

    /// Two emulated phones in zone `all`, and this speaker (its table with `extra`).
    pub fn setup(&self, extra: &str) -> Setup {
        Setup::new(&Spec {
            phones: 2,
            tables: &self.table(extra),
            zones: &[Zone {
                name: "all",
                first: None,
                banner: None,
            }],
            ..Spec::default()
        })
    }

    /// sipp answers as scenario `name` (its `RTP_SINK_PORT` our media socket's, and the
    /// `replace` pairs), ending after `calls` calls.
    pub fn answer(&mut self, name: &str, replace: &[(&str, &str)], calls: u32) {
        let sc = self.scenario(name, replace);
        let child = Command::new("sipp")
            .current_dir(self.dir.path())
            .arg("-sf")
            .arg(&sc)
            .args(["-i", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-m", &calls.to_string()])
            .args([
                "-timeout",
                "60s",
                "-timeout_error",
                "-nostdin",
                "-trace_err",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.sipp = Some(child);
        self.wait_bound();
    }

    /// baresip answers instead of sipp: a config of its own in our dir (`-f`), listening on
    /// 127.0.0.1 at our port (UDP, and TCP too, so the port is taken again where both are
    /// free), answering by itself (`answermode=auto`), its sound device a bridge of its player
    /// to its source (`aubridge`: no sound card needed, paced, no busy loop); its verbose log
    /// in `baresip.log` (which says when RTP came in and when the call ended).
    pub fn baresip(&mut self) {
        self.port = loop {
            let p = free_port();
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
                break p;
            }
        };
        let dir = self.dir.path();
        let rtp = free_port().clamp(1024, 65000);
        let config = format!(
            "poll_method\tepoll\nsip_listen\t127.0.0.1:{port}\nnet_interface\t127.0.0.1\n\
             audio_player\taubridge,horn\naudio_source\taubridge,horn\naudio_alert\taubridge,horn\n\
             module_path\t/usr/lib/baresip/modules\nmodule\tg711.so\nmodule\taubridge.so\n\
             module_app\taccount.so\n\
             module_app\tmenu.so\nrtp_ports\t{rtp}-{end}\n",
            port = self.port,
            end = rtp + 40,
        );
        std::fs::write(dir.join("config"), config).unwrap();
        let account = format!(
            "<sip:horn@127.0.0.1:{}>;regint=0;answermode=auto\n",
            self.port
        );
        std::fs::write(dir.join("accounts"), account).unwrap();
        let log = std::fs::File::create(dir.join("baresip.log")).unwrap();
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .args(["-4", "-v"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.baresip = Some(child);
        self.wait_bound();
    }

    /// What baresip logged so far.
    pub fn baresip_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }

    /// Wait up to `secs` for baresip to log `what`, then stop it either way (SIGTERM, so
    /// that it closes its WAV files; SIGKILL after 3 s): whether it did.
    pub fn baresip_until(&mut self, what: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.baresip_log().contains(what) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let seen = self.baresip_log().contains(what);
        if let Some(mut child) = self.baresip.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        seen
    }

    /// Wait (up to 5 s) until something holds the speaker's SIP port.
    pub fn wait_bound(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while UdpSocket::bind(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Scenario `name` with its RTP sink port and the `replace` pairs filled in, in our dir.
    fn scenario(&self, name: &str, replace: &[(&str, &str)]) -> PathBuf {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sip")
            .join(name);
        let mut text = std::fs::read_to_string(path)
            .unwrap()
            .replace("RTP_SINK_PORT", &self.sink_port.to_string());
        for (k, v) in replace {
            text = text.replace(k, v);
        }
        let out = self.dir.path().join(name);
        std::fs::write(&out, text).unwrap();
        out
    }

    /// Wait for sipp (up to `secs`, then killed): its exit code and what it said.
    pub fn done(&mut self, secs: u64) -> (Option<i32>, String) {
        let mut child = self.sipp.take().expect("sipp was started");
        let deadline = Instant::now() + Duration::from_secs(secs);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        (out.status.code(), self.log_of(&out))
    }

    fn log_of(&self, out: &Output) -> String {
        let mut errors = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if entry.file_name().to_string_lossy().contains("errors") {
                errors.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        format!(
            "sipp exit {:?}\nstdout: {}\nstderr: {}\nerrors: {errors}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n"),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The media socket, still ours.
    pub fn sink(&self) -> &UdpSocket {
        self.sink
            .as_ref()
            .expect("the media socket was taken by listen")
    }

    /// Receive what comes to the media socket for up to `secs` s (see [`listen`]).
    pub fn listen(&mut self, secs: u64) -> std::thread::JoinHandle<Heard> {
        listen(self.sink.take().expect("listened once"), secs)
    }

    /// Wait up to 10 s for `n` packets at the media socket.
    pub fn await_packets(&self, n: usize) -> bool {
        let sink = self.sink();
        sink.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut packets = 0;
        while packets < n && Instant::now() < deadline {
            if sink.recv(&mut buf).is_ok() {
                packets += 1;
            }
        }
        packets >= n
    }

    /// Whether nothing comes to the media socket for `quiet` (after what is queued now, and
    /// what `settle` still brings, is drained).
    pub fn stays_quiet(&self, settle: Duration, quiet: Duration) -> bool {
        let sink = self.sink();
        let mut buf = [0u8; 2048];
        std::thread::sleep(settle);
        sink.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        while sink.recv(&mut buf).is_ok() {}
        sink.set_read_timeout(Some(quiet)).unwrap();
        sink.recv(&mut buf).is_err()
    }
}

/// What a media socket received.
pub struct Heard {
    /// RTP packets.
    pub packets: usize,
    /// Their payload types, each once, in order.
    pub payload_types: Vec<u8>,
    /// The µ-law payloads decoded.
    pub samples: Vec<i16>,
    /// When each packet came.
    pub arrivals: Vec<Instant>,
}

impl Heard {
    /// The tone's pitch from zero crossings of the loud part (the gate's silence left out).
    pub fn pitch(&self) -> f64 {
        let loud: Vec<i16> = self
            .samples
            .iter()
            .copied()
            .skip_while(|s| s.unsigned_abs() < 2000)
            .collect();
        let loud = &loud[..loud.len().saturating_sub(800)];
        let crossings = loud.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f64 / 2.0 / (loud.len() as f64 / 8000.0)
    }

    /// The longest time between two packets.
    pub fn longest_gap(&self) -> Duration {
        self.arrivals
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default()
    }
}

/// Receive µ-law RTP on `sock` for up to `secs` s, until nothing has come for 2 s once
/// packets came.
pub fn listen(sock: UdpSocket, secs: u64) -> std::thread::JoinHandle<Heard> {
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut heard = Heard {
            packets: 0,
            payload_types: Vec::new(),
            samples: Vec::new(),
            arrivals: Vec::new(),
        };
        let mut buf = [0u8; 2048];
        let start = Instant::now();
        let mut last = Instant::now();
        while start.elapsed() < Duration::from_secs(secs)
            && (heard.packets == 0 || last.elapsed() < Duration::from_secs(2))
        {
            if let Ok(n) = sock.recv(&mut buf) {
                if n < 12 {
                    continue;
                }
                last = Instant::now();
                heard.arrivals.push(last);
                heard.packets += 1;
                let pt = buf[1] & 0x7f;
                if !heard.payload_types.contains(&pt) {
                    heard.payload_types.push(pt);
                }
                heard
                    .samples
                    .extend(buf[12..n].iter().map(|&b| zonecast::g711::decode_ulaw(b)));
            }
        }
        heard
    })
}

/// `page --zone all --tone 700 --duration SECS --json`: the arguments of the tests' page.
pub fn tone_page(secs: &str) -> [&str; 8] {
    [
        "page",
        "--zone",
        "all",
        "--tone",
        "700",
        "--duration",
        secs,
        "--json",
    ]
}

/// [`tone_page`] run at `s`.
pub fn page_tone(s: &Setup, secs: &str) -> Output {
    s.run(&tone_page(secs))
}

/// Page zone `all` for a second (a 700 Hz tone, `--json`) with sipp answering as `scenario`:
/// the setup, the page's output, and sipp's exit code and log.
pub fn page_against(scenario: &str) -> (Setup, Output, Option<i32>, String) {
    let mut sp = Speaker::new();
    let s = sp.setup("");
    sp.answer(scenario, &[], 1);
    let out = page_tone(&s, "1");
    let (code, log) = sp.done(20);
    (s, out, code, log)
}

/// Page zone `all` for `secs` s (a 700 Hz tone, `--json`) with sipp answering as `scenario`
/// and the speaker's media socket listened to: the page's output (its exit checked), sipp's
/// exit code and log, and what the speaker heard.
pub fn page_heard(scenario: &str, secs: &str) -> (Output, Option<i32>, String, Heard) {
    let mut sp = Speaker::new();
    let s = sp.setup("");
    sp.answer(scenario, &[], 1);
    let heard = sp.listen(20);
    let out = page_tone(&s, secs);
    let (code, log) = sp.done(20);
    super::cli_setup::assert_exit(&out, 0);
    (out, code, log, heard.join().unwrap())
}

/// Page zone `all` for 2 s (a 900 Hz tone, `--json`) with sipp answering as `scenario`, which
/// checks the credentials `user = "zonecast"` and `password` (zonecast reads it from a file):
/// the setup, the page's output, sipp's exit code and log, and what the speaker heard.
pub fn page_with_password(
    scenario: &str,
    password: &str,
) -> (Setup, Output, Option<i32>, String, Heard) {
    let mut sp = Speaker::new();
    let pw_file = sp.dir.path().join("horn.pw");
    std::fs::write(&pw_file, format!("{password}\n")).unwrap();
    let s = sp.setup(&format!(
        "user = \"zonecast\"\npassword_file = \"{}\"\n",
        pw_file.display()
    ));
    sp.answer(scenario, &[("PASSWORD", password)], 1);
    let heard = sp.listen(20);
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "900",
        "--duration",
        "2",
        "--json",
    ]);
    let (code, log) = sp.done(20);
    (s, out, code, log, heard.join().unwrap())
}

/// The speaker's line (`horn`) in a page's JSON report.
pub fn horn(report: &serde_json::Value) -> serde_json::Value {
    report["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "horn")
        .cloned()
        .unwrap_or_else(|| panic!("no horn in {report}"))
}
