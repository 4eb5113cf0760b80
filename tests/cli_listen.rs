//! `zonecast listen` and `zonecast intercom` as a user runs them, against emulated phones: a
//! config written from the fleet, the real binary, real HTTP and RTP, and the phones and the
//! files checked afterwards.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::cli_setup::{Setup, Spec, Zone, assert_exit, code, json, stderr};
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
