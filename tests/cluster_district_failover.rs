//! District pages through a pair's leader change (issue 24): what NATS answers a request in each
//! case an initiator meets (nobody subscribed, a subscriber that stays silent, a cut WAN link, a
//! paused leaf), and a district page asked just after a pair's leader was killed (`SIGKILL`):
//! the site's standby answers `standby`, the initiator asks again, the standby takes the lease
//! and pages: the site's section ends `ended` with its phones paged, not `unreachable`. With
//! both nodes of the pair down the site is still reported unreachable at the answer time.

mod common;

use std::time::{Duration, Instant};

use common::district_net::DistrictNet;
use common::serve_node::Node;
use common::server::*;
use serde_json::{Value, json};

const PHONES: usize = 2;

/// How a request from `from` to `subject` went, waiting at most `wait`: `Ok(elapsed)` for a
/// reply, else the client's error kind and how long it took.
async fn ask(from: &str, subject: &str, wait: Duration) -> Result<Duration, (String, Duration)> {
    let c = async_nats::connect(from).await.expect("connect");
    let request = async_nats::Request::new()
        .payload("ping".into())
        .timeout(Some(wait));
    let t = Instant::now();
    match c.send_request(subject.to_owned(), request).await {
        Ok(_) => Ok(t.elapsed()),
        Err(e) => Err((format!("{:?}", e.kind()), t.elapsed())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_nats_answers_a_request_nobody_silent_cut_and_paused() {
    let net =
        tokio::task::spawn_blocking(|| DistrictNet::start(&["north", "south"], Duration::ZERO))
            .await
            .unwrap();
    let north = net.site("north").url();
    let wait = Duration::from_secs(2);

    // Nobody subscribes anywhere: "no responders", at once.
    let r = ask(&north, "zc.south.page", wait).await;
    eprintln!("nobody subscribed: {r:?}");
    assert!(
        matches!(&r, Err((k, t)) if k == "NoResponders" && *t < Duration::from_millis(500)),
        "{r:?}"
    );

    // A subscriber that does not answer (a pair's standby before this change): a timeout.
    let south = async_nats::connect(net.site("south").url()).await.unwrap();
    let _silent = south.subscribe("zc.south.page").await.unwrap();
    south.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = ask(&north, "zc.south.page", wait).await;
        // Until south's interest has reached north through the hub, nobody answers at once.
        if !matches!(&r, Err((k, _)) if k == "NoResponders") || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("a silent subscriber: {r:?}");
    assert!(
        matches!(&r, Err((k, t)) if k == "TimedOut" && *t >= wait),
        "{r:?}"
    );

    // South's WAN cut (the proxy breaks the connection): the hub drops the leaf and its
    // interest, and north's request gets "no responders" at once.
    net.site("south").link.cut();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = ask(&north, "zc.south.page", wait).await;
    eprintln!("south's link cut: {r:?}");
    assert!(
        matches!(&r, Err((k, t)) if k == "NoResponders" && *t < Duration::from_millis(500)),
        "{r:?}"
    );
    net.site("south").link.restore();
    tokio::task::block_in_place(|| net.wait_linked(2, 20));

    // South's leaf paused (a WAN link that goes silent without breaking): the hub still
    // counts the leaf's interest: a timeout, like a silent subscriber.
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(ask(&north, "zc.south.page", Duration::from_millis(300)).await, Err((k, _)) if k == "NoResponders")
    {
        assert!(
            Instant::now() < deadline,
            "south's interest never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    net.site("south").leaf.signal("STOP");
    let r = ask(&north, "zc.south.page", wait).await;
    net.site("south").leaf.signal("CONT");
    eprintln!("south's leaf paused: {r:?}");
    assert!(
        matches!(&r, Err((k, t)) if k == "TimedOut" && *t >= wait),
        "{r:?}"
    );
}

/// Per phone of `s`, how many streams it heard with packets in them.
fn heard(s: &common::cli_setup::Setup) -> Vec<usize> {
    s.report()
        .phones
        .iter()
        .map(|p| p.heard.iter().filter(|h| h.rx.summary.packets > 0).count())
        .collect()
}

/// Section `site` of a district report.
fn section<'a>(report: &'a Value, site: &str) -> &'a Value {
    report["sites"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["site"] == site))
        .unwrap_or_else(|| panic!("no section for {site} in {report}"))
}

/// Start a district page at `srv`; its id.
fn start_page(srv: &Server, body: Value) -> String {
    let (status, v) = api(srv, "POST", "/api/pages", Some(body));
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().expect("the district page's id").to_owned()
}

/// Follow district page `id` at `srv` until `done` says so of its report; that report.
fn follow(srv: &Server, id: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    wait_for(srv, "the district page", secs, || {
        let (_, v) = api(srv, "GET", &format!("/api/pages/{id}"), None);
        done(&v["district"]).then(|| v["district"].clone())
    })
}

#[test]
fn a_district_page_asked_as_a_pairs_leader_dies_is_paged_by_its_standby() {
    let net = DistrictNet::start(&["p1", "p2"], Duration::from_millis(5));
    // p2: one node, and the initiator.
    let s2 = setup(PHONES, &net.cluster_toml("p2", "everyone"));
    let srv2 = Server::start(&s2);
    // p1: a pair on the same phones, the default lease time (4 s).
    let cluster = net
        .cluster_toml("p1", "everyone")
        .replace("node = \"a\"\n", "node = \"a\"\npair = [\"a\", \"b\"]\n");
    let s1 = setup(PHONES, &cluster);
    let text = std::fs::read_to_string(s1.path("zonecast.toml")).expect("config");
    let text_b = text
        .replace("node = \"a\"", "node = \"b\"")
        .replace("data_dir = \"data\"", "data_dir = \"data-b\"");
    std::fs::write(s1.path("zonecast-b.toml"), &text_b).expect("config b");
    let mut a = Node::new(s1.path("zonecast.toml"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !a.leads() {
        assert!(Instant::now() < deadline, "a never led p1:\n{}", a.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut b = Node::new(s1.path("zonecast-b.toml"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !b.log().contains("listening on http://") {
        assert!(Instant::now() < deadline, "b never started:\n{}", b.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!b.leads(), "b leads beside a:\n{}", b.log());

    // Both sites page (a for p1): the paths are up.
    let tone = json!({"zone": "everyone", "source": "tone:800:1"});
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let id = start_page(&srv2, tone.clone());
        let r = follow(&srv2, &id, 30, |r| r["done"] == true);
        if r["totals"]["paged"] == 2 {
            break;
        }
        // The first asks may come before p1's interest reached p2 through the hub.
        assert!(Instant::now() < deadline, "never paged both sites: {r}");
        std::thread::sleep(Duration::from_millis(500));
    }
    s1.wait_until("p1's phones heard the first page", |r| {
        r.phones
            .iter()
            .all(|p| p.heard.iter().any(|h| h.rx.summary.packets > 0))
    });
    let before = heard(&s1);

    // a killed; the district page asked at once: b answers `standby`, takes the lease and
    // pages; p1's section ends `ended`, not `unreachable`.
    a.kill();
    let t0 = Instant::now();
    let id = start_page(&srv2, tone.clone());
    let r = follow(&srv2, &id, 40, |r| r["done"] == true);
    let p1 = section(&r, "p1");
    assert_eq!(p1["status"], "ended", "{r}\n--- b\n{}", b.log());
    assert_eq!(p1["accepted"], PHONES, "{p1}");
    assert_eq!(section(&r, "p2")["status"], "ended", "{r}");
    assert!(b.leads(), "b does not lead p1:\n{}", b.log());
    let deadline = Instant::now() + Duration::from_secs(10);
    while heard(&s1) != before.iter().map(|n| n + 1).collect::<Vec<_>>() {
        assert!(
            Instant::now() < deadline,
            "p1's phones heard {:?}, before {before:?}",
            heard(&s1)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("paged through the leader change in {:?}", t0.elapsed());
    let (_, h) = api(&srv2, "GET", "/api/history", None);
    assert!(h["pages"].is_array(), "{h}");

    // Both nodes down: nobody answers, p1 is unreachable at the answer time (3 s), not later.
    b.kill();
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let id = start_page(&srv2, tone);
    let r = follow(&srv2, &id, 20, |r| section(r, "p1")["status"] != "asking");
    let took = t0.elapsed();
    let p1 = section(&r, "p1");
    assert_eq!(p1["status"], "unreachable", "{p1}");
    assert!(
        p1["reason"].as_str().is_some_and(|s| s.contains("listens")),
        "{p1}"
    );
    assert!(
        took < Duration::from_millis(4500),
        "unreachable after {took:?}"
    );
}
