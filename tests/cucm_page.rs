//! Pages to phones discovered from CUCM (issue 23): 5,000 phones listed by the emulated CUCM,
//! nine of them running emulated phones (`SimCucmDevice::from_phone`) on their own loopback
//! addresses and one web port; zones by device pool and by description (`from_cucm`), one
//! of them also naming a phone listed by hand. Paging a zone through the one way in (`Pager`,
//! over `cucm::SiteTable`): every registered phone in it hears the page, the unregistered one
//! and the one with web access off are reported with that reason, the hand-listed phone is
//! paged as written by hand. A phone's address changes between refreshes: the next page reaches
//! it at the new address. CUCM down: the cached table pages, and says how old it is. And
//! `zonecast page` as a process: the rule zone paged, the refused phones in its JSON report.

use std::sync::Arc;
use std::time::Duration;

use zonecast::config::Config;
use zonecast::cucm::{SiteTable, fetch_table};
use zonecast::page::{DeliveryReport, PhoneTable};
use zonecast::phone_sim::config::DEFAULT_PASSWORD;
use zonecast::phone_sim::{Fleet, PhoneInfo};

mod common;

use common::cucm::{AXL_PASSWORD, CucmSite, setup};

/// Page `zone` for a second through the one way in, over `table`.
async fn page(table: SiteTable, zone: &str, journal: &std::path::Path) -> DeliveryReport {
    let client = zonecast::push::PushClient::new(zonecast::push::PushConfig {
        timeout: Duration::from_secs(3),
        retries: 0,
        ..zonecast::push::PushConfig::default()
    })
    .unwrap();
    let pacer = zonecast::rtp::Pacer::start(zonecast::rtp::pacer::PacerOptions::default())
        .expect("the pacer starts");
    let pager = zonecast::page::Pager::new(zonecast::page::PagerSetup {
        table: Arc::new(table),
        journal: zonecast::page::journal::Journal::new(journal.join("j.jsonl")),
        client,
        pacer: Arc::new(pacer),
        recovered: false,
    });
    let mut order = common::sim::tone_order(1.0, 700.0);
    order.zone = zone.into();
    order.verify = None;
    pager
        .page(order)
        .await
        .expect("the page starts")
        .finish()
        .await
        .expect("the page runs")
}

/// How many streams phone `i` of the fleet has heard with packets in them.
fn heard(fleet: &Fleet, p: &PhoneInfo) -> usize {
    fleet
        .phone_report(&p.name)
        .unwrap()
        .heard
        .iter()
        .filter(|h| h.rx.summary.packets > 20)
        .count()
}

/// Each of `phones` heard `times` pages (`what` says otherwise, if not).
fn each_heard(fleet: &Fleet, phones: &[PhoneInfo], times: usize, what: &str) {
    for p in phones {
        assert_eq!(heard(fleet, p), times, "{} {what}", p.name);
    }
}

fn failure<'a>(r: &'a DeliveryReport, name: &str) -> Option<&'a str> {
    let p = r.phones.iter().find(|p| p.name == name);
    let p = p.unwrap_or_else(|| panic!("{name} not in the report: {r:#?}"));
    p.failure.as_ref().map(|f| f.reason.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_phones_are_paged_by_rule_zones_and_moves_and_cucm_down_are_handled() {
    let CucmSite {
        fleet: phones_fleet,
        phones,
        cucm: s,
        dir,
        path,
    } = setup(4992).await;
    let config = Config::load(&path).unwrap();

    // Discover: 5,000 phones, cached.
    let got = fetch_table(&config, Duration::ZERO, |_| {}).await.unwrap();
    assert_eq!(got.table.phones.len(), 5000);
    assert!(got.origin.refresh_failed.is_none());
    let site = SiteTable::new(config.clone(), got.table.phones, got.origin);
    let hand = site.hand_listed();
    assert_eq!(hand.len(), 1, "{hand:?}");
    assert!(hand[0].contains("desk-4"), "{hand:?}");
    let lobby: Vec<String> = site.rule_members("lobby").unwrap();
    assert_eq!(lobby.len(), 6, "{lobby:?}");
    assert!(lobby.contains(&"desk-4".to_owned()), "{lobby:?}");
    assert_eq!(site.rule_members("kitchen").unwrap().len(), 2);

    // Page the lobby: the four registered phones hear it (desk-4 as listed by hand), the
    // unregistered one and the one with web access off are reported with that reason.
    let r = page(site.clone(), "lobby", dir.path()).await;
    assert_eq!(r.totals.accepted, 4, "{r:#?}");
    each_heard(&phones_fleet, &phones[..4], 1, "did not hear the page");
    each_heard(&phones_fleet, &phones[4..], 0, "heard a page not for it");
    assert!(failure(&r, "desk-4").is_none());
    let unregistered = failure(&r, &phones[4].device).unwrap();
    assert!(unregistered.contains("not registered"), "{unregistered}");
    let web_off = failure(&r, &phones[5].device).unwrap();
    assert!(web_off.contains("web access is off"), "{web_off}");

    // The first kitchen phone moves (DHCP): its address in CUCM is now that of phone 9. After
    // the next refresh, the kitchen's page reaches it there, not at the old address.
    let moved = phones[6].device.clone();
    let new_addr = *phones[8].addr.ip();
    assert!(
        s.cluster
            .lock()
            .unwrap()
            .update(&moved, |d| d.address = new_addr)
    );
    let got = fetch_table(&config, Duration::ZERO, |_| {}).await.unwrap();
    let changes = got.changes.clone().unwrap();
    assert_eq!(changes.moved.len(), 1, "{changes:?}");
    let site = SiteTable::new(config.clone(), got.table.phones, got.origin);
    let r = page(site, "kitchen", dir.path()).await;
    assert_eq!(r.totals.accepted, 2, "{r:#?}");
    assert_eq!(
        heard(&phones_fleet, &phones[6]),
        0,
        "the old address was paged"
    );
    assert_eq!(
        heard(&phones_fleet, &phones[8]),
        1,
        "the new address was not paged"
    );
    assert_eq!(heard(&phones_fleet, &phones[7]), 1);

    // CUCM goes down: the cached table pages, and says how old it is.
    s.stop();
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = fetch_table(&config, Duration::ZERO, |_| {}).await.unwrap();
    let why = got.origin.refresh_failed.clone().unwrap();
    assert!(why.contains("cannot reach it"), "{why}");
    assert!(!why.contains(AXL_PASSWORD) && !why.contains(DEFAULT_PASSWORD));
    let said = got
        .origin
        .describe(chrono::Utc::now().timestamp_millis() + 5_000);
    assert!(said.contains("using the cached table from"), "{said}");
    assert!(said.contains(" s old)"), "{said}");
    let site = SiteTable::new(config.clone(), got.table.phones, got.origin);
    assert_eq!(
        site.zone("lobby").unwrap().targets.len(),
        6,
        "the cached table still resolves the rule zone"
    );
    let r = page(site, "lobby", dir.path()).await;
    assert_eq!(r.totals.accepted, 4, "{r:#?}");
    each_heard(
        &phones_fleet,
        &phones[..4],
        2,
        "missed the cached-table page",
    );
    phones_fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zonecast_page_pages_a_rule_zone_of_discovered_phones() {
    let CucmSite {
        fleet: phones_fleet,
        phones,
        cucm: s,
        dir: _dir,
        path,
    } = setup(100).await;
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zonecast"))
            .args([
                "page",
                "--zone",
                "lobby",
                "--tone",
                "700",
                "--duration",
                "1",
                "--json",
            ])
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Two of the six are refused (unregistered, web access off): a partial page, exit 3.
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("phones from CUCM as discovered at"),
        "{stderr}"
    );
    assert!(stderr.contains("listed by hand"), "{stderr}");
    assert!(!format!("{stdout}{stderr}").contains(AXL_PASSWORD));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let reported = v["phones"].as_array().unwrap();
    assert_eq!(reported.len(), 6, "{stdout}");
    let reason = |name: &str| {
        reported
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["failure"]["reason"].as_str())
            .unwrap_or("")
            .to_owned()
    };
    assert!(reason(&phones[4].device).contains("not registered"));
    assert!(reason(&phones[5].device).contains("web access is off"));
    each_heard(&phones_fleet, &phones[..4], 1, "did not hear the page");
    s.stop();
    phones_fleet.shutdown().await;
}

/// `zonecast serve` with `[cucm]`: its pages plan from the discovered table (fetched at start),
/// so an API page to a rule zone reaches the registered phones CUCM lists in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zonecast_serve_pages_a_rule_zone_of_discovered_phones() {
    use common::server::{TOKEN, TOKEN_ENV};
    let CucmSite {
        fleet: phones_fleet,
        phones,
        cucm: s,
        dir: _dir,
        path,
    } = setup(100).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--config")
        .arg(&path)
        .env(TOKEN_ENV, TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    // Until the table is in, the rule zone has no member and its page ends at once ("no phone
    // can take part"); page again until the discovered phones are in it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = page_through_api(&client, port, TOKEN).await;
        if page["phones"].as_i64() != Some(0) {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rule zone stayed empty: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    // Six in the zone: four reached, the unregistered one and the one with web access off not.
    assert_eq!(
        (page["phones"].as_i64(), page["accepted"].as_i64()),
        (Some(6), Some(4)),
        "{page}"
    );
    each_heard(&phones_fleet, &phones[..4], 1, "did not hear the page");
    s.stop();
    phones_fleet.shutdown().await;
}

/// Page zone `lobby` through `zonecast serve`'s API on `port` and wait for its record to end.
async fn page_through_api(client: &reqwest::Client, port: u16, token: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let id = loop {
        let answer = client
            .post(format!("http://127.0.0.1:{port}/api/pages"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(serde_json::json!({"zone": "lobby", "source": "tone:700:1"}).to_string())
            .send()
            .await;
        if let Ok(r) = answer
            && r.status() == 201
        {
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            break v["id"].as_str().unwrap().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server took no page"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let history = format!("http://127.0.0.1:{port}/api/history/{id}");
    loop {
        let body = client
            .get(&history)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if v["ended_ms"].as_i64().is_some() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page did not end: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
