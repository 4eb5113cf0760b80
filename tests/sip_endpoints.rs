//! SIP endpoints (`[[sip_endpoint]]`) as page targets (issue 22), end to end: the real
//! `zonecast page` against emulated phones and Debian's sipp (package `sip-tester`) playing an
//! auto-answering SIP speaker with the UAS scenarios in `tests/sip/uas_endpoint*.xml`.
//!
//! - A page of the zone calls it (INVITE with `Call-Info: answer-after=0`, offering PCMU and
//!   PCMA), its answer's media address (a socket of this test) receives the page's stream at the
//!   page's pitch, and the page's end sends the BYE sipp expects (sipp exits 0).
//! - SIGKILL mid-page: the journal holds the answered dialog; `zonecast recover` sends its
//!   BYE (sipp exits 0) and stops the emulated phones of the same zone; a killed server does
//!   the same when it restarts; killed while the INVITE rings, recover CANCELs it.
//! - A page that ends before the answer CANCELs the INVITE (487 ACKed).
//! - An endpoint that answers 486: reported "busy 486", the phones still paged.
//! - A challenge (401): answered with the configured digest credentials, then answered.
//!
//! Without sipp each test prints one line and passes.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli_setup::{Setup, Spec, Zone, assert_exit, json, stderr};
use common::server::listening;

fn have_sipp() -> bool {
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

/// A free UDP port on loopback.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Scenario `name` with its RTP sink port filled in, written into `dir`.
fn scenario(dir: &Path, name: &str, sink: u16, extra: &[(&str, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sip")
            .join(name),
    )
    .unwrap();
    let mut text = text.replace("RTP_SINK_PORT", &sink.to_string());
    for (k, v) in extra {
        text = text.replace(k, v);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// sipp as a UAS on 127.0.0.1:`port`, one call, in `dir`.
fn sipp_uas(dir: &Path, scenario: &Path, port: u16) -> Child {
    sipp_uas_calls(dir, scenario, port, 1)
}

/// sipp as a UAS on 127.0.0.1:`port`, ending after `calls` calls, in `dir`.
fn sipp_uas_calls(dir: &Path, scenario: &Path, port: u16, calls: u32) -> Child {
    let child = Command::new("sipp")
        .current_dir(dir)
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
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
    // sipp binds its port before it reads; give it that moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Wait for sipp (up to `secs`): its exit code and what it said.
fn sipp_done(dir: &Path, mut child: Child, secs: u64) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), log_of(dir, &out))
}

fn log_of(dir: &Path, out: &Output) -> String {
    let mut errors = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
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

/// What the endpoint's media socket received.
struct Heard {
    packets: usize,
    payload_types: Vec<u8>,
    samples: Vec<i16>,
}

impl Heard {
    /// The tone's pitch from zero crossings of the loud part (the gate's silence left out).
    fn pitch(&self) -> f64 {
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
}

/// Receive µ-law RTP on `sock` for up to `secs` s, until nothing has come for a second.
fn listen(sock: UdpSocket, secs: u64) -> std::thread::JoinHandle<Heard> {
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut heard = Heard {
            packets: 0,
            payload_types: Vec::new(),
            samples: Vec::new(),
        };
        let mut buf = [0u8; 2048];
        let start = Instant::now();
        let mut last = Instant::now();
        while start.elapsed() < Duration::from_secs(secs)
            && (heard.packets == 0 || last.elapsed() < Duration::from_secs(1))
        {
            if let Ok(n) = sock.recv(&mut buf) {
                if n < 12 {
                    continue;
                }
                last = Instant::now();
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

/// Two emulated phones in zone `all`, and `tables` (the `[[sip_endpoint]]`).
fn setup(tables: &str) -> Setup {
    Setup::new(&Spec {
        phones: 2,
        tables,
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        ..Spec::default()
    })
}

fn endpoint(port: u16, extra: &str) -> String {
    format!(
        "[[sip_endpoint]]\nname = \"horn\"\nuri = \"sip:horn@127.0.0.1:{port}\"\n\
         zones = [\"all\"]\nanswer_timeout = \"5s\"\n{extra}\n"
    )
}

/// Page zone `all` for a second (a 700 Hz tone, `--json`) with sipp answering as `scenario_file`
/// on a free port: the setup, the page's output, and sipp's exit code and log.
fn page_against(scenario_file: &str) -> (Setup, Output, Option<i32>, String) {
    let port = free_port();
    let s = setup(&endpoint(port, ""));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), scenario_file, 0, &[]);
    let sipp = sipp_uas(dir.path(), &sc, port);
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "700",
        "--duration",
        "1",
        "--json",
    ]);
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    (s, out, code, log)
}

fn horn(report: &serde_json::Value) -> serde_json::Value {
    report["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "horn")
        .cloned()
        .unwrap_or_else(|| panic!("no horn in {report}"))
}

#[test]
fn a_page_calls_the_sip_speaker_streams_to_its_answer_and_hangs_up_at_the_end() {
    if !have_sipp() {
        return;
    }
    let port = free_port();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let s = setup(&endpoint(port, ""));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "uas_endpoint.xml", sink_port, &[]);
    let sipp = sipp_uas(dir.path(), &sc, port);
    let heard = listen(sink, 20);
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "700",
        "--duration",
        "2",
        "--json",
    ]);
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    assert_exit(&out, 0);
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(h["model"], "SIP endpoint", "{h}");
    assert_eq!(
        (h["accepted"].as_bool(), h["state"].as_str()),
        (Some(true), Some("stopped")),
        "{h}"
    );
    assert_eq!(r["totals"]["accepted"], 3, "{r}");
    assert_eq!(code, Some(0), "sipp did not get its BYE: {log}");
    let heard = heard.join().unwrap();
    assert!(heard.packets >= 90, "{} packets", heard.packets);
    assert_eq!(heard.payload_types, [0], "PCMU, as answered");
    let pitch = heard.pitch();
    assert!((pitch - 700.0).abs() < 25.0, "heard {pitch:.0} Hz, not 700");
    // Nothing is left in the journal: the call was hung up.
    assert!(s.journal().trim().is_empty(), "{}", s.journal());
}

#[test]
fn after_sigkill_recover_hangs_up_the_sip_speaker_and_stops_the_phones() {
    if !have_sipp() {
        return;
    }
    let port = free_port();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let s = setup(&endpoint(port, ""));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "uas_endpoint.xml", sink_port, &[]);
    let sipp = sipp_uas(dir.path(), &sc, port);
    sink.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut page = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("both phones listening", |r| listening(r) == 2);
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut packets = 0;
    while packets < 10 && Instant::now() < deadline {
        if sink.recv(&mut buf).is_ok() {
            packets += 1;
        }
    }
    assert!(packets >= 10, "the speaker's stream never came");
    // The journal holds the answered dialog before the SIGKILL.
    let journal = s.journal();
    assert!(
        journal.contains("sip-dialog:") && journal.contains("SIPpTag01"),
        "the journal lacks the answered dialog: {journal}"
    );
    page.kill().unwrap();
    page.wait().unwrap();
    assert_eq!(listening(&s.report()), 2, "nothing stopped the phones");

    let rec = s.run(&["recover"]);
    assert_eq!(
        rec.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&rec.stdout),
        stderr(&rec)
    );
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    assert_eq!(
        code,
        Some(0),
        "sipp did not get its BYE from recover: {log}"
    );
    assert_eq!(listening(&s.report()), 0, "a phone is still listening");
    let text = String::from_utf8_lossy(&rec.stdout);
    assert!(text.contains("horn"), "{text}\n{}", stderr(&rec));
    assert!(
        s.run(&["recover"])
            .stdout
            .starts_with(b"nothing to recover"),
        "a second recover found work"
    );
    // The stream stopped with the process.
    sink.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    while sink.recv(&mut buf).is_ok() {}
}

#[test]
fn a_busy_endpoint_is_reported_and_the_phones_are_still_paged() {
    if !have_sipp() {
        return;
    }
    let (s, out, code, log) = page_against("uas_endpoint_busy.xml");
    assert_eq!(code, Some(0), "sipp did not get the ACK of its 486: {log}");
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(h["accepted"].as_bool(), Some(false), "{h}");
    let reason = h["failure"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("busy 486"), "{h}");
    assert_eq!(r["totals"]["accepted"], 2, "the phones are paged: {r}");
    // In prose, the endpoint's line says why (the second call finds sipp gone: unreachable).
    let prose = s.run(&["page", "--zone", "all", "--tone", "700", "--duration", "1"]);
    let text = String::from_utf8_lossy(&prose.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("horn") && l.contains("SIP endpoint") && l.contains("NOT REACHED")),
        "{text}"
    );
}

#[test]
fn a_digest_challenge_is_answered_with_the_configured_credentials() {
    if !have_sipp() {
        return;
    }
    let port = free_port();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let password = "horn-secret-4711";
    let pw_file = dir.path().join("horn.pw");
    std::fs::write(&pw_file, format!("{password}\n")).unwrap();
    let s = setup(&endpoint(
        port,
        &format!(
            "user = \"zonecast\"\npassword_file = \"{}\"\n",
            pw_file.display()
        ),
    ));
    let sc = scenario(
        dir.path(),
        "uas_endpoint_auth.xml",
        sink_port,
        &[("PASSWORD", password)],
    );
    let sipp = sipp_uas(dir.path(), &sc, port);
    let heard = listen(sink, 20);
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
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    assert_eq!(code, Some(0), "{log}");
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(
        h["accepted"].as_bool(),
        Some(true),
        "the credentials were refused: {h}"
    );
    let heard = heard.join().unwrap();
    assert!(heard.packets >= 90, "{} packets", heard.packets);
    assert!((heard.pitch() - 900.0).abs() < 25.0);
    // The password is nowhere in what zonecast wrote.
    for text in [
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
        s.journal(),
    ] {
        assert!(!text.contains(password));
    }
}

#[test]
fn a_page_that_ends_before_the_answer_cancels_the_call() {
    if !have_sipp() {
        return;
    }
    let (s, out, code, log) = page_against("uas_endpoint_ringing.xml");
    assert_eq!(
        code,
        Some(0),
        "sipp did not get the CANCEL and the ACK of its 487: {log}"
    );
    let h = horn(&json(&out));
    assert_eq!(h["accepted"].as_bool(), Some(false), "{h}");
    let reason = h["failure"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("cancelled"), "{h}");
    assert_eq!(listening(&s.report()), 0);
}

#[test]
fn after_sigkill_before_the_answer_recover_cancels_the_invite() {
    if !have_sipp() {
        return;
    }
    let port = free_port();
    let s = setup(&format!(
        "[[sip_endpoint]]\nname = \"horn\"\nuri = \"sip:horn@127.0.0.1:{port}\"\n\
         zones = [\"all\"]\nanswer_timeout = \"60s\"\n\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "uas_endpoint_ringing.xml", 0, &[]);
    let sipp = sipp_uas(dir.path(), &sc, port);
    let mut page = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("both phones listening", |r| listening(r) == 2);
    // The dialog was journaled before the INVITE, unanswered (no remote tag).
    let journal = s.journal();
    assert!(
        journal.contains("sip-dialog:") && journal.contains("\\\"remote_tag\\\":null"),
        "{journal}"
    );
    // Let the INVITE ring (its 180 in), then kill.
    std::thread::sleep(Duration::from_millis(500));
    page.kill().unwrap();
    page.wait().unwrap();
    let rec = s.run(&["recover"]);
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    assert_eq!(
        code,
        Some(0),
        "sipp did not get the CANCEL and the ACK of its 487: {log}\n{}",
        String::from_utf8_lossy(&rec.stdout)
    );
    assert_exit(&rec, 0);
    assert_eq!(listening(&s.report()), 0, "a phone is still listening");
}

#[test]
fn a_server_killed_mid_page_hangs_up_the_sip_speaker_when_it_restarts() {
    if !have_sipp() {
        return;
    }
    use common::server::{Server, api};
    let port = free_port();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let s = common::server::setup(2, &endpoint(port, ""));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "uas_endpoint.xml", sink_port, &[]);
    let sipp = sipp_uas(dir.path(), &sc, port);
    let mut srv = Server::start(&s);
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(serde_json::json!({"zone": "all", "source": "tone:600:60"})),
    );
    assert_eq!(st, 201, "{started}");
    s.wait_until("both phones listening", |r| listening(r) == 2);
    sink.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        sink.recv(&mut buf).is_ok(),
        "the speaker's stream never came"
    );
    srv.child.kill().unwrap(); // SIGKILL: no BYE was sent
    srv.child.wait().unwrap();
    assert_eq!(
        listening(&s.report()),
        2,
        "the killed server left them playing"
    );

    // The restarted server hangs up the speaker and stops the phones before it listens.
    let srv = Server::start(&s);
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    assert_eq!(
        code,
        Some(0),
        "no BYE from the restarted server: {log}\n{}",
        srv.log()
    );
    assert_eq!(listening(&s.report()), 0, "{}", srv.log());
    assert!(srv.log().contains("recovered 3 of 3"), "{}", srv.log());
}

#[test]
fn a_higher_page_takes_the_sip_speaker_over_hanging_up_the_lower_pages_call() {
    if !have_sipp() {
        return;
    }
    let port = free_port();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let s = setup(&endpoint(port, ""));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "uas_endpoint.xml", sink_port, &[]);
    // Two calls: the low page's (hung up by the high page) and the high page's.
    let sipp = sipp_uas_calls(dir.path(), &sc, port, 2);
    let mut low = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("both phones listening", |r| listening(r) == 2);
    sink.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        sink.recv(&mut buf).is_ok(),
        "the low page's stream never came"
    );
    let high = s.run(&[
        "page",
        "--zone",
        "all",
        "--priority",
        "emergency",
        "--tone",
        "900",
        "--duration",
        "2",
        "--json",
    ]);
    assert_exit(&high, 0);
    let h = horn(&json(&high));
    assert_eq!(h["accepted"].as_bool(), Some(true), "{h}");
    let (code, log) = sipp_done(dir.path(), sipp, 20);
    assert_eq!(code, Some(0), "both calls must end with a BYE: {log}");
    // The low page still runs, but sends the speaker nothing any more.
    std::thread::sleep(Duration::from_millis(300));
    sink.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while sink.recv(&mut buf).is_ok() {}
    sink.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    assert!(
        sink.recv(&mut buf).is_err(),
        "the low page still streams to the speaker it lost"
    );
    low.kill().unwrap();
    low.wait().unwrap();
    let rec = s.run(&["recover"]);
    assert_exit(&rec, 0);
    let text = String::from_utf8_lossy(&rec.stdout);
    assert!(
        !text.contains("horn"),
        "the released speaker was hung up again: {text}"
    );
}
