//! Every push outcome, each produced by a phone (a fake one on loopback) that misbehaves that
//! way, and a fan-out where a tenth of the phones fail in each way.

mod common;

use std::time::Duration;

use common::fake_phone::{Behaviour, fake_phone};
use zonecast::push::{Phone, PushClient, PushConfig, PushOutcome, Secret};

const OK: &str = r#"<?xml version="1.0" encoding="utf-8"?><CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL="Init:AppStatus"/><ResponseItem Status="0" Data="Success" URL="RTPMRx:239.1.1.1:20480"/></CiscoIPPhoneResponse>"#;
const NOT_FOUND: &str = r#"<CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL="Init:AppStatus"/><ResponseItem Status="6" Data="URI not found" URL="RTPMRx:239.1.1.1:20480"/></CiscoIPPhoneResponse>"#;
const XML: &str = r#"<CiscoIPPhoneExecute><ExecuteItem Priority="0" URL="RTPMRx:239.1.1.1:20480"/><ExecuteItem Priority="0" URL="Init:AppStatus"/></CiscoIPPhoneExecute>"#;

fn phone(host: String) -> Phone {
    Phone {
        name: host.clone(),
        host,
        user: "pager".into(),
        password: Secret::new("pw-not-to-leak"),
        https: false,
    }
}

fn client() -> PushClient {
    PushClient::new(PushConfig {
        timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_millis(400),
        retries: 1,
        backoff: Duration::from_millis(10),
        concurrency: 64,
    })
    .unwrap()
}

async fn outcome(b: Behaviour, expect_reply: bool) -> PushOutcome {
    let (addr, _) = fake_phone(b).await;
    client()
        .execute(&phone(addr), XML, None, expect_reply)
        .await
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[tokio::test]
async fn each_misbehaviour_gives_its_outcome() {
    match outcome(Behaviour::Reply(200, OK), true).await {
        PushOutcome::Ok { items } => {
            assert_eq!(items.len(), 2);
            // Matched by URL, not position: the phone answered in another order.
            assert!(
                items
                    .iter()
                    .any(|i| i.url == "RTPMRx:239.1.1.1:20480" && i.status == 0)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outcome(Behaviour::Reply(401, ""), true).await,
        PushOutcome::AuthFailed
    );
    assert_eq!(
        outcome(
            Behaviour::Reply(200, r#"<CiscoIPPhoneError Number="4"/>"#),
            true
        )
        .await,
        PushOutcome::AuthFailed
    );
    assert_eq!(
        outcome(Behaviour::Reply(200, NOT_FOUND), true).await,
        PushOutcome::Rejected {
            status: 6,
            data: "URI not found".into(),
            url: "RTPMRx:239.1.1.1:20480".into()
        }
    );
    match outcome(
        Behaviour::Reply(200, r#"<CiscoIPPhoneError Number="1"/>"#),
        true,
    )
    .await
    {
        PushOutcome::Rejected { status: 1, url, .. } => assert!(url.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(outcome(Behaviour::Hang, true).await, PushOutcome::Timeout);
    for b in [
        Behaviour::Reply(200, "<html>not xml"),
        Behaviour::Reply(500, ""),
        Behaviour::Huge,
        // A truncated reply reads as a response with no items: not a success.
        Behaviour::Reply(200, "<CiscoIPPhoneResponse><ResponseItem URL=\"\x01"),
        Behaviour::Reply(200, "<CiscoIPPhoneResponse></CiscoIPPhoneResponse>"),
    ] {
        let o = outcome(b, true).await;
        assert!(matches!(o, PushOutcome::BadResponse { .. }), "{o:?}");
    }
    // Multiplatform firmware answers nothing: fine when that is expected, suspicious otherwise.
    assert!(outcome(Behaviour::Reply(200, ""), false).await.is_ok());
    assert!(!outcome(Behaviour::Reply(200, ""), true).await.is_ok());
    let o = client()
        .execute(&phone(closed_port()), XML, None, true)
        .await;
    assert!(matches!(o, PushOutcome::Unreachable { .. }), "{o:?}");
    // Without TLS in the build, an HTTPS phone is refused before anything is sent.
    let mut tls = phone(closed_port());
    tls.https = true;
    let o = client().execute(&tls, XML, None, true).await;
    if cfg!(feature = "tls") {
        assert!(matches!(o, PushOutcome::Unreachable { .. }), "{o:?}");
    } else {
        assert!(matches!(o, PushOutcome::Unsupported { .. }), "{o:?}");
    }
}

#[tokio::test]
async fn a_fan_out_reports_every_phone_in_order_and_never_leaks_the_password() {
    let behaviours = [
        Behaviour::Reply(200, OK),
        Behaviour::Reply(401, ""),
        Behaviour::Reply(200, NOT_FOUND),
        Behaviour::Hang,
        Behaviour::Reply(200, "garbage"),
    ];
    let mut servers = Vec::new();
    for b in behaviours {
        servers.push(fake_phone(b).await.0);
    }
    let dead = closed_port();
    // 120 phones: 100 spread over the five behaviours, 20 unreachable.
    let phones: Vec<Phone> = (0..120)
        .map(|i| {
            phone(if i >= 100 {
                dead.clone()
            } else {
                servers[i % 5].clone()
            })
        })
        .collect();
    let t = std::time::Instant::now();
    let out = client().fan_out(&phones, XML, true).await;
    assert_eq!(out.len(), 120);
    for (i, o) in out.iter().enumerate() {
        let ok = match (i >= 100, i % 5) {
            (true, _) => matches!(o, PushOutcome::Unreachable { .. }),
            (false, 0) => o.is_ok(),
            (false, 1) => *o == PushOutcome::AuthFailed,
            (false, 2) => matches!(o, PushOutcome::Rejected { status: 6, .. }),
            (false, 3) => *o == PushOutcome::Timeout,
            _ => matches!(o, PushOutcome::BadResponse { .. }),
        };
        assert!(ok, "phone {i}: {o:?}");
    }
    // Hanging phones are timed out in parallel, not one after another (20 × 2 × 0.4 s = 16 s).
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "took {:?}",
        t.elapsed()
    );
    let json = serde_json::to_string(&out).unwrap();
    let debug = format!("{out:?} {phones:?}");
    assert!(!json.contains("pw-not-to-leak") && !debug.contains("pw-not-to-leak"));
}
