//! A 500-phone page where most of the fleet misbehaves, over real HTTP and UDP on loopback: each
//! fault of the emulator on about a tenth of the phones, plus a tenth whose address has nothing
//! listening. The page must finish within its timeouts, every healthy phone must hear it, the
//! report must name each failing phone with the right kind of failure, and afterwards no phone may
//! be left listening, not even the slow ones that process their start after the page gave up.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::sim::{addressed, eventually, start};
use zonecast::audio::Tone;
use zonecast::g711::Law;
use zonecast::page::callbacks::Callbacks;
use zonecast::page::journal::Journal;
use zonecast::page::{Origin, PageOrder, PhoneReport, PhoneState, Roster, Via, ZoneMember};
use zonecast::phone_sim::config::PhoneGroup;
use zonecast::phone_sim::faults::{Chance, Faults, Latency};
use zonecast::push::{MAX_REPLY_BYTES, Phone, PushClient, PushConfig, Secret};
use zonecast::rtp::RtpPort;
use zonecast::rtp::pacer::Encode;

/// Phones per fault; the healthy group is a little larger.
const EACH: usize = 45;
const HEALTHY: usize = 50;
/// The page's push timeout: the slow phones answer well after it.
const PUSH_TIMEOUT: Duration = Duration::from_secs(3);
const SLOW: Duration = Duration::from_secs(10);
const TONE_HZ: f32 = 750.0;

fn faulty(prefix: &str, count: usize, faults: Faults) -> PhoneGroup {
    PhoneGroup {
        count,
        model: "CP-8851".into(),
        prefix: prefix.into(),
        name: None,
        faults,
    }
}

fn reason(p: &PhoneReport) -> &str {
    p.failure.as_ref().map_or("", |f| f.reason.as_str())
}

/// The report's prose line about phone `name` (empty if it has none).
fn line_of<'a>(prose: &'a str, name: &str) -> &'a str {
    prose
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or("")
}

fn group_of(name: &str) -> &str {
    name.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// `count` loopback addresses where nothing listens: ports bound, noted and released together.
fn dead_addresses(count: usize) -> Vec<String> {
    let held: Vec<std::net::TcpListener> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_phone_page_with_every_fault_reaches_the_healthy_names_the_rest_and_stops_all() {
    let began = Instant::now();
    let mut cfg = addressed(0, "CP-8851");
    cfg.groups = vec![
        faulty("ok", HEALTHY, Faults::default()),
        faulty(
            "refuse",
            EACH,
            Faults {
                refuse: Chance(1.0),
                ..Faults::default()
            },
        ),
        faulty(
            "hang",
            EACH,
            Faults {
                hang: Chance(1.0),
                ..Faults::default()
            },
        ),
        faulty(
            "slow",
            EACH,
            Faults {
                latency: Some(Latency::Fixed(SLOW)),
                ..Faults::default()
            },
        ),
        faulty(
            "reset",
            EACH,
            Faults {
                reset: Chance(1.0),
                ..Faults::default()
            },
        ),
        faulty(
            "garbage",
            EACH,
            Faults {
                garbage: Chance(1.0),
                ..Faults::default()
            },
        ),
        faulty(
            "huge",
            EACH,
            Faults {
                huge: Chance(1.0),
                ..Faults::default()
            },
        ),
        faulty(
            "auth",
            EACH,
            Faults {
                wrong_password: true,
                ..Faults::default()
            },
        ),
        faulty(
            "crash",
            EACH,
            Faults {
                crash_after: Some(Duration::from_millis(800)),
                ..Faults::default()
            },
        ),
        faulty(
            "hangup",
            EACH,
            Faults {
                hang_up_after: Some(Duration::from_millis(800)),
                ..Faults::default()
            },
        ),
    ];
    let fleet = start(cfg).await;
    let started_fleet = began.elapsed();

    // The fleet's phones as a config lists them (all with the fleet's password), then the dead.
    let password = Secret::new(zonecast::phone_sim::config::DEFAULT_PASSWORD);
    let mut targets: Vec<ZoneMember> = common::sim::targets(&fleet);
    for (i, host) in dead_addresses(EACH).into_iter().enumerate() {
        targets.push(ZoneMember {
            name: format!("gone{:02}", i + 1),
            model: "CP-8851".into(),
            ip: Some(Ipv4Addr::LOCALHOST),
            g722: false,
            push: Ok(Phone {
                name: format!("gone{:02}", i + 1),
                host,
                user: zonecast::phone_sim::config::DEFAULT_USER.into(),
                password: password.clone(),
                https: false,
            }),
        });
    }
    assert_eq!(targets.len(), 500);

    let callbacks = Callbacks::bind(Ipv4Addr::LOCALHOST).await.unwrap();
    let group = Ipv4Addr::new(
        239,
        255,
        rand::random::<u8>(),
        1 + rand::random::<u8>() % 250,
    );
    let port = RtpPort::new(common::free_even_port()).unwrap();
    let roster = Roster::multicast("all", targets, group, port, Ipv4Addr::LOCALHOST)
        .with_zone_settings(Some(60), None);
    let dir = tempfile::tempdir().unwrap();
    let mut order = PageOrder::new(
        Origin::Instrument("test".into()),
        "all",
        Box::new(Encode::new(Tone::new(TONE_HZ, -10.0), Law::Ulaw)),
    );
    order.duration = Some(Duration::from_secs(3));
    order.via = Via::Media {
        on_stopped: callbacks.notify_uri("faults").unwrap(),
    };
    order.callbacks = Some(callbacks);
    let client = PushClient::new(PushConfig {
        timeout: PUSH_TIMEOUT,
        ..PushConfig::default()
    })
    .unwrap();
    let page_began = Instant::now();
    // Starts time out after 3 s, the audio lasts 3 s, stops to silent phones are tried three
    // times at 3 s each: about 16 s at worst. Twice that is a page that hangs on a phone.
    let report = tokio::time::timeout(
        Duration::from_secs(35),
        common::sim::page_roster(
            roster,
            Journal::new(dir.path().join("journal.jsonl")),
            client,
            order,
        ),
    )
    .await
    .expect("the page ends within its timeouts");
    let page_took = page_began.elapsed();
    let prose = report.prose();

    assert_eq!(report.totals.phones, 500);
    let by_group: BTreeMap<&str, Vec<&PhoneReport>> =
        report.phones.iter().fold(BTreeMap::new(), |mut m, p| {
            m.entry(group_of(&p.name)).or_insert_with(Vec::new).push(p);
            m
        });
    let kind = |p: &PhoneReport| p.failure.as_ref().map(|f| f.kind.as_str());

    for p in &by_group["ok"] {
        assert!(p.accepted && p.failure.is_none(), "{}: {prose}", p.name);
        assert_eq!(p.state, PhoneState::Stopped, "{}", p.name);
    }
    for p in &by_group["hangup"] {
        assert!(p.accepted, "{}: {prose}", p.name);
        assert_eq!(p.state, PhoneState::StoppedByUser, "{}: {prose}", p.name);
        assert!(
            line_of(&prose, &p.name).ends_with(", stopped by user"),
            "{}",
            p.name
        );
    }
    for p in &by_group["crash"] {
        // It took the page, then crashed (its listener gone): its stop cannot be confirmed.
        assert!(p.accepted, "{}: {prose}", p.name);
        assert_eq!(p.state, PhoneState::StopFailed, "{}: {prose}", p.name);
        let f = p.stop_failure.as_ref().expect("a stop failure");
        assert_eq!(f.kind.as_str(), "unreachable", "{}: {f:?}", p.name);
        assert!(f.reason.starts_with("cannot connect"), "{}: {f:?}", p.name);
        let said = line_of(&prose, &p.name);
        assert!(
            said.contains("accepted in") && said.contains("STOP FAILED: cannot connect"),
            "{said}"
        );
    }
    let expect = |group: &str, want: &str, check: &dyn Fn(&str) -> bool| {
        for p in &by_group[group] {
            assert!(!p.accepted, "{}: {prose}", p.name);
            assert_eq!(kind(p), Some(want), "{}: {prose}", p.name);
            assert!(check(reason(p)), "{}: {:?}", p.name, p.failure);
            let said = line_of(&prose, &p.name);
            assert!(
                said.contains(&format!("NOT REACHED ({want}): {}", reason(p))),
                "{}: {said:?}",
                p.name
            );
        }
    };
    expect("refuse", "rejected", &|_| true);
    expect("hang", "timeout", &|_| true);
    expect("slow", "timeout", &|_| true);
    expect("auth", "auth_failed", &|_| true);
    // Nothing listening: no connection was ever made.
    expect("gone", "unreachable", &|r| r.starts_with("cannot connect"));
    // Reached, then the connection broke mid-answer.
    expect("reset", "unreachable", &|r| {
        r.starts_with("connection broke")
    });
    expect("garbage", "bad_response", &|r| !r.contains("larger than"));
    let too_large = format!("reply larger than {MAX_REPLY_BYTES} bytes");
    expect("huge", "bad_response", &|r| r == too_large);
    assert_eq!(report.totals.accepted, HEALTHY + 2 * EACH, "{prose}");
    assert_eq!(report.totals.stopped_by_user, EACH);
    assert_eq!(report.exit_code(), 3);

    // Every healthy phone heard the whole page, in tune.
    let fr = fleet.report();
    for p in fr.phones.iter().filter(|p| group_of(&p.name) == "ok") {
        let heard = p
            .heard
            .last()
            .unwrap_or_else(|| panic!("{} heard nothing", p.name));
        let s = &heard.rx.summary;
        assert!(s.packets >= 100, "{}: {s:?}", p.name);
        let f = s.frequency_hz.unwrap_or_default();
        assert!((f - f64::from(TONE_HZ)).abs() < 15.0, "{}: {f} Hz", p.name);
    }

    // The slow phones may still execute their start (and then their stops) after the page gave
    // up on them: wait until each of their pushes has had its 10 s, then nobody may be listening.
    let settle = page_began + SLOW + PUSH_TIMEOUT;
    tokio::time::sleep_until(settle.max(Instant::now()).into()).await;
    eventually(20, "every phone to stop listening", async || {
        let fr = fleet.report();
        let listening: Vec<&str> = fr
            .phones
            .iter()
            .filter(|p| p.heard.last().is_some_and(|h| h.active) || p.transmitting)
            .map(|p| p.name.as_str())
            .collect();
        listening.is_empty().then_some(()).or_else(|| {
            eprintln!("still listening: {listening:?}");
            None
        })
    })
    .await;
    let fr = fleet.report();
    assert_eq!(fr.totals.receiving, 0);
    assert_eq!(fr.totals.crashed, EACH, "the crash phones crashed");
    // Whoever executed a start also executed a stop (none of the hung phones ever executed one).
    for p in &fr.phones {
        let g = group_of(&p.name);
        let started = p.counters.rx_started;
        match g {
            "refuse" | "auth" | "hang" => assert_eq!(started, 0, "{}", p.name),
            "slow" | "ok" | "reset" | "garbage" | "huge" | "crash" | "hangup" => {
                assert!(started <= 1, "{}: {started} starts", p.name)
            }
            other => panic!("unexpected group {other}"),
        }
    }
    let slow_started: u64 = fr
        .phones
        .iter()
        .filter(|p| group_of(&p.name) == "slow")
        .map(|p| p.counters.rx_started)
        .sum();
    // The late starts did happen (the emulator finishes a push its sender gave up on), so the
    // check above covered the stops that followed them.
    assert_eq!(
        slow_started, EACH as u64,
        "slow phones that executed their start"
    );
    eprintln!(
        "fleet of {} started in {started_fleet:?}; page took {page_took:?}; test {:?}",
        fr.phones.len(),
        began.elapsed()
    );
    fleet.shutdown().await;
}
