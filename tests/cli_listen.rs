//! `zonecast listen` and `zonecast intercom` as a user runs them, against emulated phones: a
//! config written from the fleet, the real binary, real HTTP and RTP, and the phones and the
//! files checked afterwards.

mod common;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::cli_setup::{PW_ENV, Setup, Spec, Zone, assert_exit, code, json, stderr};
use common::{read_wav, tone_frequency};

const MIC_HZ: f64 = 750.0;

/// A fleet of `n` CP-8851 phones (p001 ...) whose microphones send a 750 Hz tone, plus one
/// phone of each of `extra_models` (extra0 ...), and a config listing them all.
fn setup(n: usize, extra_models: &[&str]) -> Setup {
    Setup::new(&Spec {
        phones: n,
        extra_models,
        mic_tone_hz: Some(MIC_HZ),
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        ..Spec::default()
    })
}

/// The WAV holds `secs` ± 0.3 s of the emulated microphone's tone.
fn assert_mic_tone(path: &Path, secs: f64) {
    let (rate, samples) = read_wav(path);
    assert_eq!(rate, 8000);
    let len = samples.len() as f64 / f64::from(rate);
    assert!(
        (len - secs).abs() <= 0.3,
        "{}: {len:.3} s, wanted {secs} s",
        path.display()
    );
    let f = tone_frequency(&samples, rate);
    assert!((f - MIC_HZ).abs() < 10.0, "{}: {f:.1} Hz", path.display());
}

#[test]
fn listen_records_the_microphone_at_its_pitch_and_length_then_stops_it() {
    let s = setup(1, &[]);
    let out_file = s.path("desk.wav");
    let out = s.run(&[
        "listen",
        "--phone",
        "p001",
        "--out",
        out_file.to_str().unwrap(),
        "--duration",
        "1.5",
        "--json",
    ]);
    assert_exit(&out, 0);
    let r = json(&out);
    let p = &r["phones"][0];
    assert_eq!(p["accepted"], true, "{p}");
    assert_eq!(p["stopped"], true, "{p}");
    assert!(p["packets"].as_u64().unwrap() >= 60, "{p}");
    assert_eq!(p["lost"], 0, "{p}");
    assert_mic_tone(&out_file, 1.5);
    let phone = s.phone("p001");
    assert!(!phone.transmitting, "the phone still sends");
    assert_eq!(phone.counters.tx_started, 1);
    assert_eq!(phone.counters.tx_stopped, 1);
    assert!(s.journal().is_empty(), "journal left: {}", s.journal());
}

#[test]
fn listen_to_two_phones_writes_one_file_each_in_a_directory() {
    let s = setup(2, &[]);
    let dir = s.path("recordings");
    let out = s.run(&[
        "listen",
        "--phone",
        "p001",
        "--phone",
        "p002",
        "--out",
        dir.to_str().unwrap(),
        "--duration",
        "1.5",
    ]);
    assert_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 of 2 phones recorded"), "{text}");
    for name in ["p001", "p002"] {
        assert_mic_tone(&dir.join(format!("{name}.wav")), 1.5);
        assert!(!s.phone(name).transmitting, "{name} still sends");
    }
    assert_eq!(s.report().totals.transmitting, 0);
}

#[test]
fn a_multiplatform_phone_is_refused_before_anything_is_sent() {
    let s = setup(1, &["CP-8851-3PCC"]);
    // Alone: nothing can be done, invalid input.
    let out = s.run(&[
        "listen",
        "--phone",
        "extra0",
        "--out",
        s.path("x.wav").to_str().unwrap(),
        "--duration",
        "1",
    ]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("Multiplatform"), "{}", stderr(&out));
    // With a capable phone: that one is recorded, the MPP one reported refused, exit 3.
    let out = s.run(&[
        "listen",
        "--phone",
        "p001",
        "--phone",
        "extra0",
        "--out",
        s.path("both").to_str().unwrap(),
        "--duration",
        "1",
        "--json",
    ]);
    assert_exit(&out, 3);
    let r = json(&out);
    assert_eq!(r["totals"]["accepted"], 1);
    assert_eq!(r["totals"]["refused"], 1);
    let mpp = &r["phones"][1];
    assert!(
        mpp["refused"].as_str().unwrap().contains("Multiplatform"),
        "{mpp}"
    );
    assert_eq!(
        s.phone("extra0").counters.pushes,
        0,
        "the MPP phone got a push"
    );
    assert!(!s.path("both/extra0.wav").exists());
    assert_mic_tone(&s.path("both/p001.wav"), 1.0);
}

#[test]
fn bad_input_is_exit_2_and_sends_nothing() {
    let s = setup(1, &[]);
    let wav = s.path("x.wav");
    let wav = wav.to_str().unwrap();
    for (args, needle) in [
        (vec!["listen", "--phone", "nope", "--out", wav], "nope"),
        (
            vec!["listen", "--phone", "p001", "--phone", "p001", "--out", wav],
            "twice",
        ),
        (
            vec!["listen", "--phone", "p001", "--out", wav, "--format", "mp3"],
            "mp3",
        ),
        (
            vec![
                "intercom",
                "--phone",
                "p001",
                "--say",
                wav,
                "--speaker",
                "no-such-device",
            ],
            "output devices",
        ),
        (
            vec![
                "intercom",
                "--phone",
                "p001",
                "--say",
                "/no/such.wav",
                "--hear-out",
                wav,
            ],
            "such.wav",
        ),
    ] {
        let out = s.run(&args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(s.report().totals.pushes, 0);
}

#[test]
fn sigkill_mid_listen_then_recover_leaves_the_phone_silent() {
    let s = setup(1, &[]);
    let mut child = s.spawn(&[
        "listen",
        "--phone",
        "p001",
        "--out",
        s.path("cut.wav").to_str().unwrap(),
        "--duration",
        "60",
    ]);
    s.wait_until("the phone transmitting", |r| r.totals.transmitting == 1);
    // Past the recorder's first checkpoint (the WAV header is rewritten every second).
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL: no stop was sent
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        s.phone("p001").transmitting,
        "the killed listen left it sending"
    );
    assert!(s.journal().contains("RTPTx:Stop"), "{}", s.journal());
    let out = s.run(&["recover", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    assert!(!s.phone("p001").transmitting);
    // The killed recording is still a playable file of the tone.
    let (rate, samples) = read_wav(&s.path("cut.wav"));
    assert!(!samples.is_empty());
    assert!((tone_frequency(&samples, rate) - MIC_HZ).abs() < 10.0);
}

#[test]
fn intercom_says_a_file_to_the_phone_and_hears_its_microphone() {
    let s = setup(1, &[]);
    let say = s.path("say.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&say, spec).unwrap();
    for i in 0..12_000 {
        let t = f64::from(i) / 8000.0;
        let v = (2.0 * std::f64::consts::PI * 500.0 * t).sin() * 10_000.0;
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();
    let hear = s.path("heard.wav");
    let out = s.run(&[
        "intercom",
        "--phone",
        "p001",
        "--say",
        say.to_str().unwrap(),
        "--hear-out",
        hear.to_str().unwrap(),
        "--duration",
        "1.5",
        "--json",
    ]);
    assert_exit(&out, 0);
    let r = json(&out);
    assert_eq!(r["accepted"], true, "{r}");
    assert_eq!(r["stopped"], true, "{r}");
    assert_eq!(r["sent_packets"], 75, "{r}");
    let phone = s.phone("p001");
    assert!(!phone.transmitting, "the phone still sends");
    let heard = phone.heard.last().expect("the phone heard a stream");
    assert!(!heard.active, "the phone still listens");
    let sum = &heard.rx.summary;
    assert!(
        (70..=75).contains(&sum.packets),
        "the phone got {} packets",
        sum.packets
    );
    let f = sum.frequency_hz.unwrap();
    assert!((f - 500.0).abs() < 10.0, "the phone heard {f} Hz");
    assert_mic_tone(&hear, 1.5);
    assert!(s.journal().is_empty(), "journal left: {}", s.journal());
}

#[test]
fn sigterm_ends_a_listen_cleanly_with_the_phone_stopped() {
    let s = setup(1, &[]);
    let child = s.spawn(&[
        "listen",
        "--phone",
        "p001",
        "--out",
        s.path("term.wav").to_str().unwrap(),
        "--json",
    ]);
    s.wait_until("the phone transmitting", |r| r.totals.transmitting == 1);
    std::thread::sleep(Duration::from_millis(500));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    assert_eq!(json(&out)["phones"][0]["stopped"], true);
    assert!(!s.phone("p001").transmitting);
    assert!(s.journal().is_empty(), "journal left: {}", s.journal());
}

/// How a scripted phone answers one push.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Accept it.
    Ok,
    /// HTTP 401: the phone does not take the password.
    Unauthorized,
    /// Never answer.
    Never,
    /// Accept it once [`ScriptedPhone::release`] is called.
    Held,
}

/// A phone's web server that answers each push as its script says (the last answer repeats)
/// and keeps every request's XML: the push-level cases the emulator has no switch for.
struct ScriptedPhone {
    addr: String,
    requests: Arc<Mutex<Vec<String>>>,
    released: Arc<(Mutex<bool>, Condvar)>,
}

impl ScriptedPhone {
    fn start(script: &'static [Answer]) -> ScriptedPhone {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let released = Arc::new((Mutex::new(false), Condvar::new()));
        let (log, gate) = (requests.clone(), released.clone());
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(mut sock) = sock else { return };
                let (log, gate) = (log.clone(), gate.clone());
                std::thread::spawn(move || {
                    let xml = form_xml(&read_request(&mut sock));
                    let answer = {
                        let mut log = log.lock().unwrap();
                        log.push(xml);
                        script[(log.len() - 1).min(script.len() - 1)]
                    };
                    match answer {
                        Answer::Ok => reply(&mut sock, 200, ACCEPTED),
                        Answer::Unauthorized => reply(&mut sock, 401, ""),
                        Answer::Never => std::thread::sleep(Duration::from_secs(60)),
                        Answer::Held => {
                            let (open, cv) = &*gate;
                            let open = open.lock().unwrap();
                            drop(cv.wait_while(open, |open| !*open).unwrap());
                            reply(&mut sock, 200, ACCEPTED);
                        }
                    }
                });
            }
        });
        ScriptedPhone {
            addr,
            requests,
            released,
        }
    }

    /// The XML of every push received, in order.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Answer the held pushes.
    fn release(&self) {
        let (open, cv) = &*self.released;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }

    /// Wait up to 10 s for `n` requests.
    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.requests().len() < n {
            assert!(Instant::now() < deadline, "waited for {n} pushes");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

const ACCEPTED: &str = "<CiscoIPPhoneResponse><ResponseItem URL=\"RTPTx\" Data=\"Success\" \
                        Status=\"0\"/></CiscoIPPhoneResponse>";

fn reply(sock: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        sock,
        "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// One HTTP request: the head, then Content-Length bytes of body.
fn read_request(sock: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The `XML=` field of a form-encoded push, decoded.
fn form_xml(request: &str) -> String {
    let body = request.split("\r\n\r\n").nth(1).unwrap_or_default();
    let field = body.strip_prefix("XML=").unwrap_or(body);
    let bytes = field.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Add these scripted phones (CP-8851) to the setup's config, with this push timeout and no
/// retries.
fn add_phones(s: &Setup, phones: &[(&str, &ScriptedPhone)], push_timeout: &str) {
    let path = s.path("zonecast.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("push_timeout = \"3s\"") && text.contains("push_retries = 1"));
    let mut text = text
        .replace(
            "push_timeout = \"3s\"",
            &format!("push_timeout = \"{push_timeout}\""),
        )
        .replace("push_retries = 1", "push_retries = 0");
    for (name, phone) in phones {
        let _ = write!(
            text,
            "\n[[phone]]\nname = \"{name}\"\nhost = \"{}\"\nmodel = \"CP-8851\"\n\
             user = \"admin\"\npassword_env = \"{PW_ENV}\"\n",
            phone.addr
        );
    }
    std::fs::write(&path, text).unwrap();
}

#[test]
fn a_phone_that_never_answered_its_start_gets_its_stop_and_one_that_refused_does_not() {
    let s = setup(1, &[]);
    let locked = ScriptedPhone::start(&[Answer::Unauthorized]);
    let deaf = ScriptedPhone::start(&[Answer::Never]);
    add_phones(&s, &[("locked", &locked), ("deaf", &deaf)], "800ms");
    let out = s.run(&[
        "listen",
        "--phone",
        "p001",
        "--phone",
        "locked",
        "--phone",
        "deaf",
        "--out",
        s.path("three").to_str().unwrap(),
        "--duration",
        "1",
        "--json",
    ]);
    assert_exit(&out, 3);
    let r = json(&out);
    assert_eq!(r["totals"]["accepted"], 1, "{r}");
    assert_eq!(r["totals"]["failed"], 2, "{r}");
    assert_eq!(r["totals"]["unstopped"], 1, "{r}");
    let (p001, lock, dead) = (&r["phones"][0], &r["phones"][1], &r["phones"][2]);
    assert_eq!(p001["stopped"], true, "{p001}");
    assert!(!s.phone("p001").transmitting);
    // Refused outright: the start only, no stop.
    assert_eq!(lock["failure"], "authentication failed", "{lock}");
    assert!(lock["stopped"].is_null(), "{lock}");
    let pushes = locked.requests();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    // No answer: it may have started, so it gets its stop, which fails too and stays in the
    // journal for `zonecast recover`.
    assert_eq!(dead["failure"], "no answer in time", "{dead}");
    assert_eq!(dead["stopped"], false, "{dead}");
    assert_eq!(dead["stop_failure"], "no answer in time", "{dead}");
    let pushes = deaf.requests();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert!(pushes[0].contains("RTPTx:127.0.0.1:"), "{}", pushes[0]);
    assert!(pushes[1].contains("RTPTx:Stop"), "{}", pushes[1]);
    let journal = s.journal();
    assert!(
        journal.contains("\"unstopped\":[\"deaf\"]"),
        "journal: {journal}"
    );
    assert!(
        !journal.contains("\"unstopped\":[\"p001\"]")
            && !journal.contains("\"unstopped\":[\"locked\"]"),
        "journal: {journal}"
    );
    // Nothing was kept for the phones that never started.
    assert!(s.path("three/p001.wav").exists());
    assert!(!s.path("three/locked.wav").exists());
    assert!(!s.path("three/deaf.wav").exists());
}

#[test]
fn sigterm_while_a_start_is_unanswered_stops_the_phone_once_the_start_answers() {
    let s = setup(1, &[]);
    let held = ScriptedPhone::start(&[Answer::Held, Answer::Ok]);
    add_phones(&s, &[("held", &held)], "10s");
    let child = s.spawn(&[
        "listen",
        "--phone",
        "held",
        "--out",
        s.path("held.wav").to_str().unwrap(),
        "--json",
    ]);
    held.wait_for(1);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The stop must not overtake the start that is still in flight.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(held.requests().len(), 1, "a stop overtook the start");
    held.release();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let r = json(&out);
    let p = &r["phones"][0];
    assert_eq!(p["accepted"], true, "{p}");
    assert_eq!(p["stopped"], true, "{p}");
    let pushes = held.requests();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert!(pushes[1].contains("RTPTx:Stop"), "{}", pushes[1]);
    assert!(
        !stderr(&out).contains("zonecast: recording"),
        "it never ran: {}",
        stderr(&out)
    );
    assert!(s.journal().is_empty(), "journal left: {}", s.journal());
}
