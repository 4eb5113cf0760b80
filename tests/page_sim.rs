//! Pages against the phone emulator: real pushes over HTTP, real RTP over loopback, and every
//! phone checked afterwards for a stopped stream and a cleared banner.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::sim::{addressed, fault_on, page_roster, start, targets, tone_order};
use zonecast::page::journal::Journal;
use zonecast::page::{Delivery, PageSpec, Roster, plan};
use zonecast::push::{PushClient, PushConfig};
use zonecast::rtp::RtpPort;

fn group() -> Ipv4Addr {
    Ipv4Addr::new(
        239,
        255,
        rand::random::<u8>(),
        1 + rand::random::<u8>() % 250,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_phone_multicast_page_reaches_every_capable_phone_and_stops_them_all() {
    let mut cfg = addressed(190, "CP-8851");
    cfg.groups.push(zonecast::phone_sim::config::PhoneGroup {
        count: 10,
        model: "CP-8851-3PCC".into(),
        prefix: "mpp".into(),
        name: None,
        faults: Default::default(),
    });
    let fleet = start(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::new(dir.path().join("journal.jsonl"));
    let roster = Roster::multicast(
        "all",
        targets(&fleet),
        group(),
        RtpPort::new(common::free_even_port()).unwrap(),
        Ipv4Addr::LOCALHOST,
    )
    .with_zone_settings(Some(70), Some("Fire drill"));
    let report = page_roster(
        roster,
        journal.clone(),
        PushClient::new(PushConfig::default()).unwrap(),
        tone_order(1.5, 700.0),
    )
    .await;
    assert_eq!(report.totals.phones, 200);
    assert_eq!(report.totals.accepted, 190, "{}", report.prose());
    assert_eq!(report.totals.refused, 10);
    assert_eq!(report.totals.stopped, 190);
    assert_eq!(report.exit_code(), 3, "the MPP phones were not reached");
    assert!(
        report
            .phones
            .iter()
            .filter(|p| p.accepted)
            .all(|p| p.receiving == Some(true)),
        "{}",
        report.prose()
    );
    assert!(report.prose().contains("Multiplatform"));
    let fleet_report = fleet.report();
    for p in &fleet_report.phones {
        if p.model.ends_with("3PCC") {
            assert_eq!(p.counters.pushes, 0, "nothing sent to {}", p.name);
            continue;
        }
        let heard = p
            .heard
            .last()
            .unwrap_or_else(|| panic!("{} heard nothing", p.name));
        assert!(!heard.active, "{} still listening", p.name);
        assert!(
            heard.rx.summary.packets >= 40,
            "{}: {} packets",
            p.name,
            heard.rx.summary.packets
        );
        let f = heard.rx.summary.frequency_hz.unwrap_or_default();
        assert!((f - 700.0).abs() < 15.0, "{} heard {f} Hz", p.name);
        assert_eq!(p.status_banner, None, "{} banner not cleared", p.name);
        assert_eq!(p.counters.pushes, 3, "{}: start, banner, stop", p.name);
    }
    assert!(
        journal.pages().unwrap().is_empty(),
        "the journal is clean after a clean page"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_shows_in_the_report_and_uncertain_phones_still_get_their_stop() {
    use zonecast::phone_sim::faults::{Chance, Faults};
    let mut cfg = addressed(6, "CP-8851");
    let faults = [
        Faults::default(),
        Faults {
            refuse: Chance(1.0),
            ..Faults::default()
        },
        Faults {
            wrong_password: true,
            ..Faults::default()
        },
        Faults {
            garbage: Chance(1.0),
            ..Faults::default()
        },
        Faults {
            hang: Chance(1.0),
            ..Faults::default()
        },
        Faults::default(),
    ];
    for (i, f) in faults.into_iter().enumerate() {
        fault_on(&mut cfg, &format!("p{:03}", i + 1), f);
    }
    let fleet = start(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let roster = Roster::unicast(
        "all",
        targets(&fleet),
        Ipv4Addr::LOCALHOST,
        RtpPort::new(common::free_even_port()).unwrap(),
    );
    let client = PushClient::new(PushConfig {
        timeout: Duration::from_millis(800),
        retries: 0,
        ..PushConfig::default()
    })
    .unwrap();
    let mut order = tone_order(1.0, 500.0);
    order.verify = None;
    let report = page_roster(
        roster,
        Journal::new(dir.path().join("j.jsonl")),
        client,
        order,
    )
    .await;
    let kind = |name: &str| {
        report
            .phones
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .failure
            .as_ref()
            .map(|f| f.kind.as_str())
    };
    assert_eq!(kind("p001"), None);
    assert_eq!(kind("p002"), Some("rejected"));
    assert_eq!(kind("p003"), Some("auth_failed"));
    assert_eq!(kind("p004"), Some("bad_response"));
    assert_eq!(kind("p005"), Some("timeout"));
    assert_eq!(report.totals.accepted, 2);
    assert_eq!(report.exit_code(), 3);
    // The garbled phone executed the start before its answer broke: it must have been stopped.
    let garbled = fleet.phone_report("p004").unwrap();
    assert_eq!(garbled.counters.rx_started, 1);
    assert_eq!(
        garbled.counters.rx_stopped, 1,
        "the uncertain phone got its stop"
    );
    for name in ["p001", "p006"] {
        let r = fleet.phone_report(name).unwrap();
        let h = r.heard.last().unwrap();
        assert!(
            !h.active && h.rx.summary.packets > 20,
            "{name}: {:?}",
            h.rx.summary
        );
    }
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_stops_the_phones_of_a_page_whose_process_died() {
    use zonecast::page::journal::{JournalPhone, PageRecord};
    let fleet = start(addressed(5, "CP-8851")).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::new(dir.path().join("j.jsonl"));
    let g = group();
    let port = common::free_even_port();
    let delivery = Delivery::Multicast {
        group: g,
        port: RtpPort::new(port).unwrap(),
    };
    let plans = plan(
        &PageSpec {
            via: Default::default(),
            delivery,
            volume: None,
            banner: Some("Cut off".into()),
            wide: None,
        },
        targets(&fleet),
    );
    // A page whose process is gone: its phones were started, its journal says so.
    journal
        .begin(&PageRecord {
            page: "dead".into(),
            pid: 0x7FFF_FFF0,
            zone: "all".into(),
            priority: "normal".into(),
            rank: 0,
            started_ms: 0,
            phones: plans
                .iter()
                .map(|p| JournalPhone {
                    name: p.name.clone(),
                    stop_xml: p.stop_xml.clone(),
                    expect_reply: true,
                })
                .collect(),
            group: None,
            port: None,
        })
        .unwrap();
    let client = PushClient::new(PushConfig::default()).unwrap();
    for p in &plans {
        let t = p.target.as_ref().unwrap();
        assert!(client.execute(t, &p.start_xml, None, true).await.is_ok());
        assert!(
            client
                .execute(t, &p.banner.as_ref().unwrap().xml, None, true)
                .await
                .is_ok()
        );
    }
    assert_eq!(fleet.report().totals.receiving, 5);
    let by_name: std::collections::HashMap<String, zonecast::push::Phone> = plans
        .iter()
        .map(|p| (p.name.clone(), p.target.clone().unwrap()))
        .collect();
    let done = zonecast::page::recover::recover(
        &journal,
        &client,
        |n| {
            by_name
                .get(n)
                .cloned()
                .ok_or_else(|| format!("no phone {n}"))
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(done.len(), 5);
    assert!(done.iter().all(|r| r.stopped));
    let report = fleet.report();
    assert_eq!(report.totals.receiving, 0);
    assert!(report.phones.iter().all(|p| p.status_banner.is_none()));
    assert!(journal.pages().unwrap().is_empty());
    fleet.shutdown().await;
}

/// `--via media`: startMedia/stopMedia, and a user hanging up ends that phone's part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn via_media_a_user_hang_up_ends_that_phone_and_shows_in_the_report() {
    use zonecast::page::Via;
    use zonecast::page::callbacks::Callbacks;
    use zonecast::phone_sim::faults::Faults;
    let mut cfg = addressed(4, "CP-8851");
    fault_on(
        &mut cfg,
        "p002",
        Faults {
            hang_up_after: Some(Duration::from_millis(600)),
            ..Faults::default()
        },
    );
    let fleet = start(cfg).await;
    let callbacks = Callbacks::bind(Ipv4Addr::LOCALHOST).await.unwrap();
    let delivery = Delivery::Multicast {
        group: group(),
        port: RtpPort::new(common::free_even_port()).unwrap(),
    };
    let plans = plan(
        &PageSpec {
            delivery,
            volume: Some(40),
            banner: Some("Media".into()),
            via: Via::Media {
                on_stopped: callbacks.notify_uri("pgm").unwrap(),
            },
            wide: None,
        },
        targets(&fleet),
    );
    assert!(
        plans[0].start_xml.contains("<startMedia>"),
        "{}",
        plans[0].start_xml
    );
    let dir = tempfile::tempdir().unwrap();
    let Delivery::Multicast { group, port } = delivery else {
        unreachable!()
    };
    let roster = Roster::multicast("all", targets(&fleet), group, port, Ipv4Addr::LOCALHOST)
        .with_zone_settings(Some(40), Some("Media"));
    let mut order = tone_order(2.0, 650.0);
    order.via = Via::Media {
        on_stopped: callbacks.notify_uri("pgm").unwrap(),
    };
    order.callbacks = Some(callbacks);
    let report = page_roster(
        roster,
        Journal::new(dir.path().join("j.jsonl")),
        PushClient::new(PushConfig::default()).unwrap(),
        order,
    )
    .await;
    let state = |name: &str| report.phones.iter().find(|p| p.name == name).unwrap().state;
    assert_eq!(
        state("p002"),
        zonecast::page::PhoneState::StoppedByUser,
        "{}",
        report.prose()
    );
    for n in ["p001", "p003", "p004"] {
        assert_eq!(state(n), zonecast::page::PhoneState::Stopped, "{n}");
    }
    assert_eq!(report.totals.stopped_by_user, 1);
    assert_eq!(report.exit_code(), 0, "a user hanging up is not a failure");
    let fr = fleet.report();
    for p in &fr.phones {
        let h = p.heard.last().unwrap();
        assert!(!h.active, "{}", p.name);
        assert!(matches!(
            h.stream.origin,
            zonecast::phone_sim::core::StreamOrigin::StartMedia { .. }
        ));
        assert_eq!(h.stream.volume, Some(40));
        assert!(p.status_banner.is_none(), "{} banner left", p.name);
    }
    let p2 = fr.phones.iter().find(|p| p.name == "p002").unwrap();
    assert_eq!(p2.notifies_delivered, 1);
    let heard_p2 = p2.heard.last().unwrap().rx.summary.packets;
    let heard_p1 = fr.phones[0].heard.last().unwrap().rx.summary.packets;
    assert!(
        heard_p2 < heard_p1,
        "p002 hung up early: {heard_p2} vs {heard_p1}"
    );
    fleet.shutdown().await;
}

/// `--verify` on a multicast page: a phone that hears nothing is switched to unicast and then
/// hears the page; its stop covers both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_deaf_to_multicast_falls_back_to_unicast_and_hears_the_page() {
    use zonecast::phone_sim::faults::Faults;
    let mut cfg = addressed(3, "CP-8851");
    fault_on(
        &mut cfg,
        "p003",
        Faults {
            no_multicast: true,
            ..Faults::default()
        },
    );
    let fleet = start(cfg).await;
    let roster = Roster::multicast(
        "all",
        targets(&fleet),
        group(),
        RtpPort::new(common::free_even_port()).unwrap(),
        Ipv4Addr::LOCALHOST,
    )
    .with_spare_port(RtpPort::new(common::free_even_port()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let report = page_roster(
        roster,
        Journal::new(dir.path().join("j.jsonl")),
        PushClient::new(PushConfig::default()).unwrap(),
        tone_order(3.0, 550.0),
    )
    .await;
    let p3 = report.phones.iter().find(|p| p.name == "p003").unwrap();
    assert_eq!(p3.receiving, Some(false), "{}", report.prose());
    assert!(p3.fallback_unicast, "{}", report.prose());
    assert!(report.prose().contains("switched to unicast"));
    let fr = fleet.report();
    let phone = fr.phones.iter().find(|p| p.name == "p003").unwrap();
    assert_eq!(phone.heard.len(), 2, "multicast, then unicast");
    assert!(phone.heard[0].stream.multicast && !phone.heard[1].stream.multicast);
    let unicast = &phone.heard[1];
    assert!(!unicast.active, "stopped at the end");
    assert!(unicast.rx.summary.packets > 40, "{:?}", unicast.rx.summary);
    let f = unicast.rx.summary.frequency_hz.unwrap();
    assert!((f - 550.0).abs() < 15.0, "{f}");
    for p in fr.phones.iter().filter(|p| p.name != "p003") {
        assert_eq!(p.heard.len(), 1, "{} stayed on multicast", p.name);
        assert!(!p.heard[0].active);
    }
    fleet.shutdown().await;
}
