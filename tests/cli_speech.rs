//! Text-to-speech end to end (issue 20): `zonecast page --say` and `POST /api/pages` with a
//! `say:` source against emulated phones, each phone hearing speech of the length espeak-ng
//! itself makes of the text (not silence) with the text as the banner; and a config whose bell
//! speaks refused at load, naming the Debian package, when espeak-ng cannot be found.

mod common;

use std::process::{Command, Stdio};

use common::cli_setup::{Setup, Spec, Zone, assert_exit, stderr};
use common::server::{Server, api, setup as server_setup};
use serde_json::json;
use zonecast::phone_sim::FleetReport;

const TEXT: &str = "Fire drill in building B";

/// Seconds of speech espeak-ng makes of `text` in zonecast's default voice (English, 150 words
/// per minute): the independent judge of how long the phones should hear it.
fn espeak_seconds(text: &str) -> f64 {
    espeak_seconds_at(text, 150)
}

/// [`espeak_seconds`] at `rate` words per minute.
fn espeak_seconds_at(text: &str, rate: u16) -> f64 {
    common::require("espeak-ng");
    let rate = rate.to_string();
    let out = Command::new("espeak-ng")
        .args(["--stdout", "-v", "en", "-s", &rate, "--", text])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success());
    // A 44-byte header, then 16-bit mono at 22,050 Hz (the header's length is a placeholder).
    (out.stdout.len() - 44) as f64 / (2.0 * 22_050.0)
}

fn setup(n: usize, tables: &str) -> Setup {
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    Setup::new(&Spec {
        phones: n,
        engine: &engine,
        tables,
        zones: &[Zone {
            name: "all",
            first: None,
            banner: Some("Announcement"),
        }],
        ..Spec::default()
    })
}

/// Every phone's last stream lasted about `secs` (the stream starts with silence until the
/// phones answer, so a little longer is allowed) and carried speech, not silence.
fn assert_heard_speech(r: &FleetReport, n: usize, secs: f64) {
    assert_eq!(r.phones.len(), n);
    for p in &r.phones {
        let h = p
            .heard
            .last()
            .unwrap_or_else(|| panic!("{} heard nothing", p.name));
        let s = &h.rx.summary;
        let heard = s.packets as f64 * 0.020;
        assert!(
            heard >= secs - 0.1 && heard <= secs + 0.5,
            "{}: heard {heard:.2} s, espeak-ng makes {secs:.2} s",
            p.name
        );
        assert_eq!(s.lost, 0, "{}", p.name);
        let level = s.level_dbfs.unwrap_or(-200.0);
        let peak = s.peak_dbfs.unwrap_or(-200.0);
        assert!(
            level > -40.0 && peak > -20.0,
            "{}: level {level:.1} dBFS, peak {peak:.1}",
            p.name
        );
        assert!(!h.active, "{} still listening", p.name);
    }
}

#[test]
fn page_say_plays_speech_of_the_expected_length_with_the_text_as_banner() {
    let secs = espeak_seconds(TEXT);
    assert!(secs > 1.0, "{secs}");
    let s = setup(3, "");
    let mut child = s.spawn(&["page", "--zone", "all", "--say", TEXT]);
    s.wait_until("the text shown as the banner", |r| {
        r.phones
            .iter()
            .all(|p| p.status_banner.as_deref() == Some(TEXT))
    });
    let status = child.wait().unwrap();
    let out = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
    assert!(status.success(), "{out}");
    assert!(out.contains("3 of 3 phones reached"), "{out}");
    let r = s.report();
    assert_heard_speech(&r, 3, secs);
    assert!(r.phones.iter().all(|p| p.status_banner.is_none()));
}

#[test]
fn the_banner_is_the_text_cut_to_32_characters_unless_one_is_given() {
    let s = setup(1, "");
    let long = "Fire drill in building B: leave by the east stairs, now";
    let out = s.run(&["page", "--zone", "all", "--say", long, "--dry-run"]);
    assert_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Fire drill in building B: leave…"), "{text}");
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--say",
        long,
        "--text",
        "Drill",
        "--dry-run",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Drill") && !text.contains("east"), "{text}");
    // A sequence ending in say: keeps its commas, and its text is the banner too.
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--sequence",
        "chime,say:Drill, now",
        "--dry-run",
    ]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Drill, now"));
    // Bounds: too long, control characters; refused with the rule, nothing pushed.
    for bad in ["x".repeat(501), "ring\u{7}".to_owned(), "  ".to_owned()] {
        let out = s.run(&["page", "--zone", "all", "--say", &bad]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("say"), "{}", stderr(&out));
    }
    assert_eq!(s.report().totals.pushes, 0);
}

#[test]
fn the_api_pages_a_say_source() {
    let secs = espeak_seconds(TEXT);
    let s = server_setup(2, "");
    let srv = Server::start(&s);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": format!("say:{TEXT}")})),
    );
    assert_eq!(st, 201, "{body}");
    s.wait_until("the text shown as the banner", |r| {
        r.phones
            .iter()
            .all(|p| p.status_banner.as_deref() == Some(TEXT))
    });
    s.wait_until("the page to end by itself", |r| {
        r.phones
            .iter()
            .all(|p| p.heard.last().is_some_and(|h| !h.active))
    });
    assert_heard_speech(&s.report(), 2, secs);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "say:bell\u{7}"})),
    );
    assert_eq!(st, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("U+0007"), "{body}");
}

#[test]
fn a_bell_that_speaks_without_espeak_ng_fails_at_load_naming_the_package() {
    let bell = "[schedule]\ntimezone = \"Europe/Berlin\"\n\n[[bell]]\nname = \"drill\"\n\
                cron = \"0 8 * * 1-5\"\nzones = [\"all\"]\nsource = \"chime,say:Fire drill\"\n\n";
    let s = setup(1, bell);
    let empty = tempfile::tempdir().unwrap();
    let out = s
        .cmd(&["page", "--zone", "all", "--tone", "chime", "--dry-run"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("espeak-ng is not installed (Debian package espeak-ng)")
            && err.contains("bell \"drill\" source"),
        "{err}"
    );
    // With espeak-ng on the PATH the same config loads.
    common::require("espeak-ng");
    let out = s.run(&["page", "--zone", "all", "--tone", "chime", "--dry-run"]);
    assert_exit(&out, 0);
}

#[test]
fn the_api_speaks_in_the_voice_a_message_asks_for() {
    let (slow, fast) = (espeak_seconds_at(TEXT, 150), espeak_seconds_at(TEXT, 300));
    assert!(slow - fast > 0.5, "{slow} vs {fast}");
    let s = server_setup(2, "");
    let srv = Server::start(&s);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": format!("say:{TEXT}"), "voice": {"rate": 300}})),
    );
    assert_eq!(st, 201, "{body}");
    s.wait_until("the page to end by itself", |r| {
        r.phones
            .iter()
            .all(|p| p.heard.last().is_some_and(|h| !h.active))
    });
    assert_heard_speech(&s.report(), 2, fast);
    for (voice, field) in [
        (json!({"rate": 20}), "voice.rate"),
        (json!({"language": "../etc"}), "voice.language"),
        (json!({"variant": "a b"}), "voice.variant"),
        (json!({"speed": 2}), "speed"),
    ] {
        let (st, body) = api(
            &srv,
            "POST",
            "/api/pages",
            Some(json!({"zone": "all", "source": "say:Hello", "voice": voice})),
        );
        assert_eq!(st, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
}
