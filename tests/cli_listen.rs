//! `zonecast listen` and `zonecast intercom` as a user runs them, against emulated phones: a
//! config written from the fleet, the real binary, real HTTP and RTP, and the phones and the
//! files checked afterwards.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::sim::addressed;
use common::{read_wav, tone_frequency};
use zonecast::phone_sim::http::PhoneReport;
use zonecast::phone_sim::{Fleet, FleetReport};

const PW_ENV: &str = "ZC_CLI_LISTEN_TEST_PW";
const MIC_HZ: f64 = 750.0;

struct Setup {
    rt: tokio::runtime::Runtime,
    fleet: Option<Fleet>,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    /// A fleet of `n` CP-8851 phones (p001 ...) whose microphones send a 750 Hz tone, plus one
    /// phone of each of `extra_models` (extra0 ...), and a config listing them all.
    fn new(n: usize, extra_models: &[&str]) -> Setup {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = addressed(n, "CP-8851");
        cfg.mic_tone_hz = MIC_HZ;
        for (i, m) in extra_models.iter().enumerate() {
            cfg.groups.push(zonecast::phone_sim::config::PhoneGroup {
                count: 1,
                model: (*m).into(),
                prefix: "x".into(),
                name: Some(format!("extra{i}")),
                faults: Default::default(),
            });
        }
        let fleet = rt.block_on(Fleet::start(cfg)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = 20480 + 2 * (rand::random::<u16>() % 5000);
        let mut text = format!(
            "[engine]\nmedia_address = \"127.0.0.1\"\ninterface = \"127.0.0.1\"\n\
             port_pool = \"{port}-{}\"\njournal = \"journal.jsonl\"\npush_timeout = \"3s\"\n\
             push_retries = 1\n\n",
            port + 200,
        );
        let phones = fleet.phones();
        for p in &phones {
            let _ = write!(
                text,
                "[[phone]]\nname = \"{}\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{}\"\npassword_env = \"{PW_ENV}\"\n\n",
                p.name, p.addr, p.model, p.user
            );
        }
        let members: Vec<String> = phones.iter().map(|p| format!("\"{}\"", p.name)).collect();
        let _ = write!(text, "[zone.all]\nmembers = [{}]\n", members.join(", "));
        let config = dir.path().join("zonecast.toml");
        std::fs::write(&config, text).unwrap();
        Setup {
            rt,
            fleet: Some(fleet),
            dir,
            config,
        }
    }

    fn fleet(&self) -> &Fleet {
        self.fleet.as_ref().unwrap()
    }

    fn report(&self) -> FleetReport {
        self.fleet().report()
    }

    fn phone(&self, name: &str) -> PhoneReport {
        self.fleet().phone_report(name).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::zonecast();
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .env(PW_ENV, zonecast::phone_sim::config::DEFAULT_PASSWORD);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn wait_until(&self, what: &str, f: impl Fn(&FleetReport) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !f(&self.report()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.path("journal.jsonl")).unwrap_or_default()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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
    let s = Setup::new(1, &[]);
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
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
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
    let s = Setup::new(2, &[]);
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
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
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
    let s = Setup::new(1, &["CP-8851-3PCC"]);
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
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
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
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
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
    let s = Setup::new(1, &[]);
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
            vec!["intercom", "--phone", "p001", "--say", wav, "--speaker"],
            "not supported",
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
    let s = Setup::new(1, &[]);
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
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    assert!(!s.phone("p001").transmitting);
    // The killed recording is still a playable file of the tone.
    let (rate, samples) = read_wav(&s.path("cut.wav"));
    assert!(!samples.is_empty());
    assert!((tone_frequency(&samples, rate) - MIC_HZ).abs() < 10.0);
}

#[test]
fn intercom_says_a_file_to_the_phone_and_hears_its_microphone() {
    let s = Setup::new(1, &[]);
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
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
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
    let s = Setup::new(1, &[]);
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
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["phones"][0]["stopped"], true);
    assert!(!s.phone("p001").transmitting);
    assert!(s.journal().is_empty(), "journal left: {}", s.journal());
}
