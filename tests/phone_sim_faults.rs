//! Every fault of the phone emulator, seen from outside: through zonecast's own push client
//! (so each fault lands in the PushOutcome a paging report would show), raw HTTP, and RTP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fake_phone::read_request;
use common::sim::{addressed, element, eventually, execute, fault_on, get, push_xml, send, start};
use tokio::io::AsyncWriteExt;
use zonecast::phone_sim::config::FaultRule;
use zonecast::phone_sim::faults::{Chance, Faults, Latency};
use zonecast::phone_sim::{Fleet, SimConfig};
use zonecast::push::{PushClient, PushConfig, PushOutcome};
use zonecast::xsi::response::{Callback, MediaEventType, parse_callback};

fn client(timeout_ms: u64) -> PushClient {
    PushClient::new(PushConfig {
        timeout: Duration::from_millis(timeout_ms),
        connect_timeout: Duration::from_millis(500),
        retries: 0,
        ..PushConfig::default()
    })
    .unwrap()
}

/// A fleet of `n` CP-8851 whose phone `i` has `faults[i]` (the rest none).
async fn fleet_with(faults: Vec<Faults>, n: usize) -> Fleet {
    let mut cfg = addressed(n, "CP-8851");
    for (i, f) in faults.into_iter().enumerate() {
        fault_on(&mut cfg, &format!("p{:03}", i + 1), f);
    }
    start(cfg).await
}

async fn push(fleet: &Fleet, name: &str, uris: &[&str], timeout_ms: u64) -> PushOutcome {
    let p = fleet.phone(name).unwrap();
    client(timeout_ms)
        .execute(&p.push_target(), &execute(uris), None, true)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_refusal_hang_reset_garbage_and_wrong_password_reach_the_push_outcome() {
    let always = Chance(1.0);
    let fleet = fleet_with(
        vec![
            Faults::default(),
            Faults {
                latency: Some(Latency::Fixed(Duration::from_millis(400))),
                ..Faults::default()
            },
            Faults {
                refuse: always,
                ..Faults::default()
            },
            Faults {
                hang: always,
                ..Faults::default()
            },
            Faults {
                reset: always,
                ..Faults::default()
            },
            Faults {
                garbage: always,
                ..Faults::default()
            },
            Faults {
                wrong_password: true,
                ..Faults::default()
            },
        ],
        7,
    )
    .await;
    let t = Instant::now();
    assert!(push(&fleet, "p001", &["Key:VolUp"], 3000).await.is_ok());
    let fast = t.elapsed();
    let t = Instant::now();
    assert!(push(&fleet, "p002", &["Key:VolUp"], 3000).await.is_ok());
    let slow = t.elapsed();
    assert!(slow >= Duration::from_millis(390), "{slow:?}");
    assert!(fast < slow, "{fast:?} vs {slow:?}");

    match push(&fleet, "p003", &["RTPRx:127.0.0.1:20480"], 3000).await {
        PushOutcome::Rejected { status, url, .. } => {
            assert_eq!(status, 6);
            assert_eq!(url, "RTPRx:127.0.0.1:20480");
        }
        other => panic!("refuse: {other:?}"),
    }
    assert!(fleet.phone_report("p003").unwrap().heard.is_empty());

    let t = Instant::now();
    assert_eq!(
        push(&fleet, "p004", &["Key:VolUp"], 800).await,
        PushOutcome::Timeout
    );
    assert!(t.elapsed() >= Duration::from_millis(700));

    match push(&fleet, "p005", &["Key:VolUp"], 3000).await {
        PushOutcome::Unreachable { .. } | PushOutcome::BadResponse { .. } => {}
        other => panic!("reset: {other:?}"),
    }
    // Seen raw: the headers promise more body than ever arrives.
    let p5 = fleet.phone("p005").unwrap();
    let r = common::sim::http()
        .post(format!("{}/CGI/Execute", p5.url))
        .basic_auth(&p5.user, Some(p5.password.expose()))
        .body(zonecast::push::form_body(&execute(&["Key:VolUp"])))
        .send()
        .await
        .unwrap();
    assert!(r.bytes().await.is_err(), "the body breaks off");

    match push(&fleet, "p006", &["Key:VolUp"], 3000).await {
        PushOutcome::BadResponse { .. } => {}
        other => panic!("garbage: {other:?}"),
    }
    // Wrong password: the fleet's credentials are refused with Error 4.
    let mut p7 = fleet.phone("p001").unwrap().push_target();
    p7.host = fleet.phone("p007").unwrap().addr.to_string();
    let out = client(3000)
        .execute(&p7, &execute(&["Key:VolUp"]), None, true)
        .await;
    assert_eq!(out, PushOutcome::AuthFailed);
    assert_eq!(
        fleet.phone_report("p007").unwrap().counters.auth_failures,
        1
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_rtp_share_is_lost_before_the_phone_sees_it() {
    let fleet = fleet_with(
        vec![Faults {
            drop_rtp: 0.5,
            ..Faults::default()
        }],
        1,
    )
    .await;
    let p = fleet.phone("p001").unwrap();
    let port = common::free_even_port();
    push_xml(&p, &execute(&[&format!("RTPRx:127.0.0.1:{port}")])).await;
    send(vec![
        "--tone".into(),
        "500".into(),
        "--duration".into(),
        "1".into(),
        "--to".into(),
        format!("{}:{port}", p.addr.ip()),
    ])
    .await;
    let h = eventually(5, "all 50 packets accounted for", async || {
        let h = fleet.phone_report("p001")?.heard.last().cloned()?;
        (h.rx.summary.packets + h.rx.dropped_on_purpose == 50).then_some(h)
    })
    .await;
    assert!(
        (10..=40).contains(&h.rx.summary.packets),
        "about half heard: {}",
        h.rx.summary.packets
    );
    assert!(h.rx.summary.lost > 0);
    let (_, page) = get(&p, "/StreamingStatisticsX?1").await;
    assert!(
        element(&page, "RcvrLostPackets")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_stream_stops_answering_http_and_rtp() {
    let fleet = fleet_with(
        vec![Faults {
            crash_after: Some(Duration::from_millis(300)),
            ..Faults::default()
        }],
        2,
    )
    .await;
    let p = fleet.phone("p001").unwrap();
    let port = common::free_even_port();
    assert!(
        push(&fleet, "p001", &[&format!("RTPRx:127.0.0.1:{port}")], 3000)
            .await
            .is_ok()
    );
    eventually(5, "the crash", async || {
        fleet.phone_report("p001").unwrap().crashed.then_some(())
    })
    .await;
    match push(&fleet, "p001", &["Key:VolUp"], 1500).await {
        PushOutcome::Unreachable { .. } | PushOutcome::Timeout => {}
        other => panic!("a crashed phone answered: {other:?}"),
    }
    // Its RTP port is closed again, and its neighbour is unaffected.
    assert!(std::net::UdpSocket::bind((*p.addr.ip(), port)).is_ok());
    assert!(push(&fleet, "p002", &["Key:VolUp"], 3000).await.is_ok());
    assert_eq!(fleet.report().totals.crashed, 1);
    fleet.shutdown().await;
}

/// A callback receiver that answers 500 to the first `failures` requests, then 200.
async fn callback_server(failures: usize) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let buf = read_request(&mut sock).await;
            let n = {
                let mut l = log.lock().unwrap();
                l.push(buf);
                l.len()
            };
            let status = if n <= failures { 500 } else { 200 };
            let _ = sock
                .write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_hang_up_posts_notify_media_event_and_retries() {
    let fleet = fleet_with(
        vec![Faults {
            hang_up_after: Some(Duration::from_millis(300)),
            ..Faults::default()
        }],
        1,
    )
    .await;
    let p = fleet.phone("p001").unwrap();
    let (cb, seen) = callback_server(2).await;
    let (host, port) = cb.split_once(':').unwrap();
    let start = format!(
        "<startMedia><mediaStream onStopped=\"Notify:http:{host}:{port}:zonecast/stopped\" receiveVolume=\"50\">\
         <type>audio</type><codec>G.711</codec><mode>receive</mode><address>127.0.0.1</address></mediaStream></startMedia>"
    );
    let (status, body) = push_xml(&p, &start).await;
    assert_eq!(status, 200, "{body}");
    let id = body.split('"').nth(1).unwrap().to_owned();
    let requests = eventually(10, "the third delivery attempt", async || {
        let s = seen.lock().unwrap();
        (s.len() >= 3).then(|| s.clone())
    })
    .await;
    assert_eq!(requests.len(), 3, "stops retrying once delivered");
    let raw = String::from_utf8(requests[2].clone()).unwrap();
    assert!(
        raw.starts_with("POST /zonecast/stopped HTTP/1.1\r\n"),
        "{raw}"
    );
    let body_at = raw.find("\r\n\r\n").unwrap() + 4;
    let body = &raw[body_at..];
    assert!(
        body.starts_with("DATA=<notifyMediaEvent"),
        "sent raw, not percent-encoded: {body}"
    );
    assert_eq!(
        parse_callback(body.as_bytes()).unwrap(),
        Callback::MediaEvent {
            kind: MediaEventType::Stopped,
            origin: Some("user".into()),
            stream_id: Some(id),
        }
    );
    let report = eventually(5, "the delivery counted", async || {
        let r = fleet.phone_report("p001").unwrap();
        (r.notifies_delivered == 1).then_some(r)
    })
    .await;
    assert!(!report.heard.last().unwrap().active, "the stream ended");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_of_the_fleet_gets_the_fault_and_the_seed_repeats_the_choice() {
    async fn refusing(seed: u64) -> Vec<String> {
        let mut cfg: SimConfig = addressed(10, "CP-8851");
        cfg.seed = seed;
        cfg.fault_rules.push(FaultRule {
            share: Some(0.3),
            count: None,
            phones: Vec::new(),
            faults: Faults {
                refuse: Chance(1.0),
                ..Faults::default()
            },
        });
        let fleet = start(cfg).await;
        let phones = fleet.phones();
        let targets: Vec<_> = phones.iter().map(|p| p.push_target()).collect();
        let outcomes = client(3000)
            .fan_out(&targets, &execute(&["Key:VolUp"]), true)
            .await;
        let mut names = Vec::new();
        for (p, o) in phones.iter().zip(outcomes) {
            assert_eq!(
                matches!(o, PushOutcome::Rejected { .. }),
                p.faults.refuse.0 > 0.0,
                "{}",
                p.name
            );
            if !o.is_ok() {
                names.push(p.name.clone());
            }
        }
        fleet.shutdown().await;
        names
    }
    let a = refusing(11).await;
    assert_eq!(a.len(), 3);
    assert_eq!(refusing(11).await, a, "same seed, same phones");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_ends_the_page_and_on_hook_ends_a_uri_stream() {
    let fleet = fleet_with(Vec::new(), 2).await;
    let port = common::free_even_port();
    for name in ["p001", "p002"] {
        assert!(
            push(&fleet, name, &[&format!("RTPRx:127.0.0.1:{port}")], 3000)
                .await
                .is_ok()
        );
    }
    assert!(fleet.call("p001", "5000"));
    assert!(fleet.hang_up("p002"));
    for name in ["p001", "p002"] {
        let r = fleet.phone_report(name).unwrap();
        assert!(!r.heard.last().unwrap().active, "{name}");
    }
    // On a call, a page is whispered: accepted, volume ignored.
    let p1 = fleet.phone("p001").unwrap();
    let (_, body) = push_xml(&p1, &execute(&[&format!("RTPRx:127.0.0.1:{port}:90")])).await;
    assert!(body.contains("Status=\"0\""));
    let h = fleet
        .phone_report("p001")
        .unwrap()
        .heard
        .last()
        .cloned()
        .unwrap();
    assert!(h.stream.whisper && h.stream.volume.is_none());
    fleet.shutdown().await;
}
