//! Helpers for tests that drive the phone emulator over HTTP and UDP only.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use zonecast::phone_sim::config::Addressing;
use zonecast::phone_sim::{Fleet, PhoneInfo, SimConfig};

/// A fleet config whose phones each get their own loopback address, starting at a random
/// 127.X.Y.1 so tests running at once do not share addresses (and so not unicast RTP ports).
pub fn addressed(n: usize, model: &str) -> SimConfig {
    let mut cfg = SimConfig::uniform(n, model);
    cfg.host = Ipv4Addr::new(
        127,
        10 + rand::random::<u8>() % 240,
        rand::random::<u8>(),
        1,
    );
    cfg.addressing = Addressing::Addresses { port: 0 };
    cfg
}

/// The fleet's phones as a config would list them: every one with the fleet's password (a phone
/// with the `wrong_password` fault has another).
pub fn targets(fleet: &Fleet) -> Vec<zonecast::page::ZoneMember> {
    let password = zonecast::push::Secret::new(zonecast::phone_sim::config::DEFAULT_PASSWORD);
    fleet
        .phones()
        .iter()
        .map(|p| {
            let mut push = p.push_target();
            push.password = password.clone();
            zonecast::page::ZoneMember {
                name: p.name.clone(),
                model: p.model.clone(),
                ip: Some(*p.addr.ip()),
                g722: false,
                push: Ok(push),
            }
        })
        .collect()
}

/// Give the phone named `phone` these faults.
pub fn fault_on(cfg: &mut SimConfig, phone: &str, faults: zonecast::phone_sim::faults::Faults) {
    cfg.fault_rules
        .push(zonecast::phone_sim::config::FaultRule {
            share: None,
            count: None,
            phones: vec![phone.into()],
            faults,
        });
}

/// Start a fleet (panics with the reason if it cannot).
pub async fn start(cfg: SimConfig) -> Fleet {
    Fleet::start(cfg).await.expect("fleet starts")
}

/// An HTTP client that never retries and never uses a proxy.
pub fn http() -> reqwest::Client {
    zonecast::push::client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POST `body` (already form-encoded or raw) to the phone's /CGI/Execute with its credentials.
pub async fn post_raw(p: &PhoneInfo, body: String) -> reqwest::Response {
    http()
        .post(format!("{}/CGI/Execute", p.url))
        .basic_auth(&p.user, Some(p.password.expose()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("phone answers")
}

/// POST an XML object as the form field `XML`, percent-encoded by hand (not by zonecast's
/// push code), and return status and body.
pub async fn push_xml(p: &PhoneInfo, xml: &str) -> (u16, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("XML", xml)
        .finish();
    let r = post_raw(p, body).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// A CiscoIPPhoneExecute with these URIs, written out by hand.
pub fn execute(uris: &[&str]) -> String {
    let mut s = String::from("<CiscoIPPhoneExecute>\n");
    for u in uris {
        s.push_str(&format!(
            "  <ExecuteItem Priority=\"0\" URL=\"{}\"/>\n",
            u.replace('&', "&amp;").replace('"', "&quot;")
        ));
    }
    s + "</CiscoIPPhoneExecute>"
}

/// GET a page of the phone.
pub async fn get(p: &PhoneInfo, path: &str) -> (u16, String) {
    let r = http()
        .get(format!("{}{path}", p.url))
        .send()
        .await
        .expect("phone answers");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The text of the first `<name>` element in `xml`.
pub fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

/// Poll `f` every 50 ms until it returns Some, or panic after `secs` seconds.
pub async fn eventually<T>(secs: u64, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Run `zonecast send ARGS` to completion on a blocking thread; panics if it fails.
pub async fn send(args: Vec<String>) {
    let out = tokio::task::spawn_blocking(move || {
        super::zonecast()
            .arg("send")
            .args(&args)
            .output()
            .expect("run zonecast send")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "zonecast send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A page through the one way in (the [`zonecast::page::Pager`]) over a fixed roster, with
/// its own pacer; returns the final report.
pub async fn page_roster(
    roster: zonecast::page::Roster,
    journal: zonecast::page::journal::Journal,
    client: zonecast::push::PushClient,
    order: zonecast::page::PageOrder,
) -> zonecast::page::DeliveryReport {
    let pacer = zonecast::rtp::Pacer::start(zonecast::rtp::pacer::PacerOptions::default())
        .expect("the pacer starts");
    let pager = zonecast::page::Pager::new(zonecast::page::PagerSetup {
        table: std::sync::Arc::new(roster),
        journal,
        client,
        pacer: std::sync::Arc::new(pacer),
        recovered: false,
    });
    pager
        .page(order)
        .await
        .expect("the page starts")
        .finish()
        .await
        .expect("the page runs")
}

/// A page of a `hz` tone lasting `seconds` to zone `all`, checked with `--verify` after 300 ms.
pub fn tone_order(seconds: f64, hz: f32) -> zonecast::page::PageOrder {
    let mut o = zonecast::page::PageOrder::new(
        zonecast::page::Origin::Instrument("test".into()),
        "all",
        Box::new(zonecast::rtp::pacer::Encode::new(
            zonecast::audio::Tone::new(hz, -10.0),
            zonecast::g711::Law::Ulaw,
        )),
    );
    o.duration = Some(std::time::Duration::from_secs_f64(seconds));
    o.verify = Some(std::time::Duration::from_millis(300));
    o
}
