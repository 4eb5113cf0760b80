//! `zonecast page` and `zonecast recover` as a user runs them, against emulated phones: a config
//! written from the fleet, the real binary, real HTTP and RTP, and the phones checked afterwards.

mod common;

use std::time::Duration;

use common::cli_setup::{Setup, Spec, Zone, assert_exit, json, stderr};
use zonecast::phone_sim::FleetReport;

/// A fleet of `n` CP-8851 phones plus one of each of `extra_models`, and a config listing them,
/// with zone `all` (multicast) and zone `first` (the first `first` phones).
fn setup(n: usize, first: usize, extra_models: &[&str]) -> Setup {
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\nverify_grace = \"300ms\"\n",
        rand::random::<u8>()
    );
    Setup::new(&Spec {
        phones: n,
        extra_models,
        engine: &engine,
        tables: "[priorities]\nlevels = [\"normal\", \"urgent\", \"emergency\"]\n\
                 loudest = [\"emergency\"]\n\n",
        zones: &Zone::all_and_first(first, Some("Announcement")),
        ..Spec::default()
    })
}

/// `page --zone ZONE --tone TONE` and then `more`.
fn page<'a>(zone: &'a str, tone: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["page", "--zone", zone, "--tone", tone];
    args.extend_from_slice(more);
    args
}

fn listening(r: &FleetReport) -> usize {
    r.phones
        .iter()
        .filter(|p| p.heard.last().is_some_and(|h| h.active))
        .count()
}

#[test]
fn a_page_reaches_the_zone_verifies_and_leaves_every_phone_idle() {
    let s = setup(8, 2, &["CP-8851-3PCC", "DP-9841"]);
    let out = s.run(&page(
        "all",
        "800",
        &["--duration", "1.5", "--verify", "--json"],
    ));
    assert_exit(&out, 3);
    let r = json(&out);
    assert_eq!(r["totals"]["phones"], 10);
    assert_eq!(r["totals"]["accepted"], 9);
    assert_eq!(r["totals"]["refused"], 1);
    let phones = r["phones"].as_array().unwrap();
    let mpp = phones.iter().find(|p| p["name"] == "extra0").unwrap();
    assert_eq!(mpp["failure"]["kind"], "model");
    for p in phones.iter().filter(|p| p["accepted"] == true) {
        assert_eq!(p["receiving"], true, "{p}");
        assert_eq!(p["stopped"], true, "{p}");
        assert!(p["accept_ms"].as_f64().unwrap() < 3000.0);
    }
    let fr = s.report();
    assert_eq!(listening(&fr), 0, "every phone stopped");
    for p in &fr.phones {
        assert!(p.status_banner.is_none(), "{} banner left", p.name);
        if p.name == "extra1" {
            // A 9841 has no Status: it got a Text screen, closed at the end.
            assert!(
                !p.screen.iter().any(|l| l == "Announcement"),
                "{:?}",
                p.screen
            );
        }
        if p.name != "extra0" {
            let h = p.heard.last().unwrap();
            let f = h.rx.summary.frequency_hz.unwrap();
            assert!((f - 800.0).abs() < 15.0, "{} heard {f}", p.name);
        }
    }
    let journal = s.journal();
    assert!(journal.is_empty(), "journal left: {journal}");
    assert!(!journal.contains(zonecast::phone_sim::config::DEFAULT_PASSWORD));
}

#[test]
fn dry_run_prints_the_xml_and_sends_nothing() {
    let s = setup(2, 1, &[]);
    let out = s.run(&page("first", "chime", &["--text", "Lunch", "--dry-run"]));
    assert_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("== p001 (CP-8851)"), "{text}");
    assert!(text.contains("RTPMRx:239.255."), "{text}");
    assert!(text.contains("<Text>Lunch</Text>"), "{text}");
    assert!(text.contains("RTPMRx:Stop") && text.contains("Init:AppStatus"));
    assert_eq!(s.report().totals.pushes, 0);
}

#[test]
fn bad_input_is_exit_2_naming_what_is_wrong() {
    let s = setup(1, 1, &[]);
    for (args, needle) in [
        (page("nope", "chime", &[]), "zone"),
        (page("all", "chime", &["--priority", "panic"]), "priority"),
        (page("all", "chime", &["--text", &"x".repeat(40)]), "banner"),
        (page("all", "800", &[]), "duration"),
        // A banner the phones' XML cannot carry is refused before anything is journaled or
        // pushed, named by its character, with or without --dry-run.
        (page("all", "chime", &["--text", "a\u{7}b"]), "U+0007"),
        (
            page("all", "chime", &["--text", "a\u{7}b", "--dry-run"]),
            "U+0007",
        ),
        (page("all", "chime", &["--text", "\u{FFFE}"]), "U+FFFE"),
        (page("all", "chime", &["--text", " "]), "banner"),
    ] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(s.report().totals.pushes, 0);
    assert!(s.journal().is_empty(), "nothing journaled: {}", s.journal());
}

#[test]
fn sigkill_mid_page_then_recover_leaves_no_phone_listening() {
    let s = setup(6, 2, &[]);
    let mut child = s.spawn(&page("all", "600", &["--duration", "60"]));
    s.wait_until("all 6 phones listening", |r| listening(r) == 6);
    child.kill().unwrap(); // SIGKILL: no stop was sent
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        listening(&s.report()),
        6,
        "the killed page left them playing"
    );
    assert!(!s.journal().is_empty());
    let out = s.run(&["recover", "--json"]);
    assert_exit(&out, 0);
    let done = json(&out);
    assert_eq!(done.as_array().unwrap().len(), 6);
    assert_eq!(listening(&s.report()), 0);
    assert!(s.report().phones.iter().all(|p| p.status_banner.is_none()));
    // Nothing left to do.
    let again = s.run(&["recover"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to recover"));
}

#[test]
fn a_higher_priority_page_takes_over_shared_phones_and_both_end_cleanly() {
    let s = setup(5, 2, &[]);
    let low = s.spawn(&page("all", "500", &["--duration", "4", "--json"]));
    s.wait_until("the low page heard on all 5", |r| {
        r.phones.iter().all(|p| {
            p.heard.last().is_some_and(|h| {
                h.active
                    && h.rx
                        .summary
                        .frequency_hz
                        .is_some_and(|f| (f - 500.0).abs() < 15.0)
            })
        })
    });
    let high = s.run(&page(
        "first",
        "900",
        &["--duration", "1", "--priority", "emergency", "--json"],
    ));
    assert_exit(&high, 0);
    let out = low.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let low_report = json(&out);
    let preempted: Vec<&str> = low_report["phones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "preempted")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(preempted, ["p001", "p002"]);
    let fr = s.report();
    assert_eq!(listening(&fr), 0);
    for p in &fr.phones {
        let freqs: Vec<i64> = p
            .heard
            .iter()
            .map(|h| h.rx.summary.frequency_hz.unwrap_or_default().round() as i64)
            .collect();
        if p.name == "p001" || p.name == "p002" {
            assert_eq!(p.heard.len(), 2, "{}: low then high", p.name);
            assert!((freqs[1] - 900).abs() < 15, "{}: {freqs:?}", p.name);
            assert_eq!(p.heard[1].stream.volume, Some(100), "emergency is loudest");
        } else {
            assert_eq!(p.heard.len(), 1, "{}", p.name);
        }
        assert!((freqs[0] - 500).abs() < 15, "{}: {freqs:?}", p.name);
    }
}

#[test]
fn a_sequence_plays_its_parts_in_order() {
    let s = setup(2, 1, &[]);
    let out = s.run(&[
        "page",
        "--zone",
        "first",
        "--sequence",
        "tone:600:0.6,silence:0.2,tone:1200:0.6",
        "--json",
    ]);
    assert_exit(&out, 0);
    let fr = s.report();
    let p = fr.phones.iter().find(|p| p.name == "p001").unwrap();
    let h = p.heard.last().unwrap();
    assert!(
        h.rx.summary.packets >= 70,
        "{} packets",
        h.rx.summary.packets
    );
    let f = h.rx.summary.frequency_hz.unwrap();
    assert!(
        (f - 1200.0).abs() < 15.0,
        "the last part is heard last: {f}"
    );
    let bad = s.run(&["page", "--zone", "first", "--sequence", "chime,beep"]);
    assert_exit(&bad, 2);
    assert!(stderr(&bad).contains("sequence"), "{}", stderr(&bad));
}

#[test]
fn equal_priority_is_refused_or_waited_for_as_configured() {
    for (policy, waits) in [("refuse", false), ("wait", true)] {
        let engine = format!(
            "multicast_pool = \"239.255.{}.0/24\"\n",
            rand::random::<u8>()
        );
        let tables =
            format!("[priorities]\nlevels = [\"normal\", \"urgent\"]\nequal = \"{policy}\"\n\n");
        let s = Setup::new(&Spec {
            phones: 2,
            engine: &engine,
            tables: &tables,
            zones: &[Zone {
                name: "all",
                first: None,
                banner: None,
            }],
            ..Spec::default()
        });
        let first = s.spawn(&[
            "page",
            "--zone",
            "all",
            "--tone",
            "500",
            "--duration",
            "2",
            "--json",
        ]);
        s.wait_until("the first page on both phones", |r| {
            r.phones
                .iter()
                .all(|p| p.heard.last().is_some_and(|h| h.active))
        });
        let second = s.run(&[
            "page",
            "--zone",
            "all",
            "--tone",
            "900",
            "--duration",
            "0.5",
            "--json",
        ]);
        let first = first.wait_with_output().unwrap();
        assert_exit(&first, 0);
        let first_report = json(&first);
        assert!(
            first_report["phones"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["state"] == "stopped"),
            "{policy}: the first page kept its phones: {first_report}"
        );
        if waits {
            assert_exit(&second, 0);
            assert!(stderr(&second).contains("waiting"), "{}", stderr(&second));
            for p in &s.report().phones {
                assert_eq!(
                    p.heard.len(),
                    2,
                    "{policy}: {} heard both, one after the other",
                    p.name
                );
                let f = p.heard[1].rx.summary.frequency_hz.unwrap();
                assert!((f - 900.0).abs() < 15.0, "{f}");
            }
        } else {
            assert_exit(&second, 2);
            assert!(stderr(&second).contains("busy"), "{}", stderr(&second));
            assert!(s.report().phones.iter().all(|p| p.heard.len() == 1));
        }
    }
}
