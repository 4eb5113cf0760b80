//! A bell of a district zone (issue 24): defined at one site (`b1`, a standby pair), rung by the
//! pair's node that wins the bell's claim as a district page, a part at every site (`b1` and
//! `b2`, each on its own leaf behind a WAN link of the hub). Counted at the emulated phones:
//! every phone of both sites hears the occurrence once; the other node of the pair does not
//! ring it, `b2` gets a district page's part (a page asked by `site:b1`), not a bell; the bell's
//! history entry names the district page, whose report has a section per site.

mod common;

use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use common::cli_setup::Setup;
use common::district_net::DistrictNet;
use common::serve_node::Node;
use common::server::*;

const PHONES: usize = 2;

/// Per phone of `s`, how many streams it heard with packets in them.
fn heard(s: &Setup) -> Vec<usize> {
    s.report()
        .phones
        .iter()
        .map(|p| p.heard.iter().filter(|h| h.rx.summary.packets > 0).count())
        .collect()
}

/// The bell `assembly` of the district zone `everyone`, due once, `secs` from now.
fn assembly_bell(secs: i64) -> String {
    let due = Utc::now() + chrono::Duration::seconds(secs);
    format!(
        "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"assembly\"\n\
         cron = \"{} {} {} * * *\"\nzones = [\"everyone\"]\nsource = \"tone:900:1\"\n\n",
        due.second(),
        due.minute(),
        due.hour()
    )
}

/// Wait until every phone of both sites has heard a page (`story` says what the nodes logged).
fn wait_all_heard(s1: &Setup, s2: &Setup, secs: u64, story: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while heard(s1).contains(&0) || heard(s2).contains(&0) {
        assert!(
            Instant::now() < deadline,
            "not every phone heard the bell: {:?}, {:?}\n{}",
            heard(s1),
            heard(s2),
            story()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_bell_of_a_district_zone_rings_every_sites_phones_once() {
    let net = DistrictNet::start(&["b1", "b2"], Duration::from_millis(5));
    // b2: no bell, only its part of district pages.
    let s2 = setup(PHONES, &net.cluster_toml("b2", "everyone"));
    let srv2 = Server::start(&s2);
    // b1: a pair with the bell, due 35 s from now (time to start, lead and link).
    let bell = assembly_bell(35);
    let cluster = net.cluster_toml("b1", "everyone").replace(
        "node = \"a\"\n",
        "node = \"a\"\npair = [\"a\", \"b\"]\nlease = \"2s\"\n",
    );
    let s1 = setup(PHONES, &format!("{bell}{cluster}"));
    let a = Server::start(&s1);
    wait_for(&a, "node a leading b1", 20, || {
        a.log().contains("cluster: leading the site").then_some(())
    });
    let text = std::fs::read_to_string(s1.path("zonecast.toml")).expect("config");
    let text_b = text
        .replace("node = \"a\"", "node = \"b\"")
        .replace("data_dir = \"data\"", "data_dir = \"data-b\"");
    std::fs::write(s1.path("zonecast-b.toml"), &text_b).expect("config b");
    let b = Node::new(s1.path("zonecast-b.toml"));

    // Every phone of both sites hears the occurrence.
    wait_all_heard(&s1, &s2, 75, &|| {
        format!("--- a\n{}\n--- b\n{}", a.log(), b.log())
    });
    // Once: the other node of the pair finds the claim taken (it claims at due + claim wait).
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(heard(&s1), vec![1; PHONES], "b1's phones\n{}", b.log());
    assert_eq!(heard(&s2), vec![1; PHONES], "b2's phones");
    assert!(
        !b.log().contains("district page dp-"),
        "node b started a district page too:\n{}",
        b.log()
    );

    // The bell's history entry at the node that rang it names the district page.
    let (_, v) = api(&a, "GET", "/api/bells/history", None);
    let event = v["bells"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["bell"] == "assembly"))
        .unwrap_or_else(|| panic!("no bell event: {v}"))
        .clone();
    assert_eq!(event["outcome"], "fired", "{event}");
    let id = event["pages"][0].as_str().expect("a page id").to_owned();
    assert!(id.starts_with("dp-"), "{event}");
    assert!(
        event["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("district page {id} (2 sites)"))),
        "{event}"
    );
    let report = wait_for(&a, "the district page to end", 30, || {
        let (_, v) = api(&a, "GET", &format!("/api/pages/{id}"), None);
        (v["active"] == false).then_some(v)
    });
    for site in ["b1", "b2"] {
        let sec = report["district"]["sites"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["site"] == site))
            .unwrap_or_else(|| panic!("no section for {site}: {report}"));
        assert_eq!(sec["status"], "ended", "{sec}");
        assert_eq!(sec["accepted"], PHONES, "{sec}");
    }
    // b2 paged a part asked by b1, and rang no bell.
    let (_, h) = api(&srv2, "GET", "/api/history", None);
    let pages = h["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 1, "{h}");
    assert_eq!(pages[0]["requested_by"], "site:b1", "{h}");
    let (_, bells) = api(&srv2, "GET", "/api/bells/history", None);
    assert_eq!(bells["bells"].as_array().map(Vec::len), Some(0), "{bells}");
}

/// The same bell of a district zone defined at both sites (`d1`, `d2`, one node each): both
/// nodes ring the occurrence and name its district page alike, so each site pages its part once
/// (the second request is a duplicate, answered as the first): every phone hears the occurrence
/// once, and both nodes' bell history and reports name the same district page.
#[test]
fn a_district_bell_defined_at_every_site_rings_each_sites_phones_once() {
    let net = DistrictNet::start(&["d1", "d2"], Duration::from_millis(5));
    let bell = assembly_bell(20);
    let s1 = setup(
        PHONES,
        &format!("{bell}{}", net.cluster_toml("d1", "everyone")),
    );
    let s2 = setup(
        PHONES,
        &format!("{bell}{}", net.cluster_toml("d2", "everyone")),
    );
    let (srv1, srv2) = (Server::start(&s1), Server::start(&s2));
    let story = || format!("--- d1\n{}\n--- d2\n{}", srv1.log(), srv2.log());
    wait_all_heard(&s1, &s2, 60, &story);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(heard(&s1), vec![1; PHONES], "d1's phones\n{}", story());
    assert_eq!(heard(&s2), vec![1; PHONES], "d2's phones\n{}", story());
    // Both rang it, with one id.
    let ids: Vec<String> = [&srv1, &srv2]
        .iter()
        .map(|srv| {
            let (_, v) = api(srv, "GET", "/api/bells/history", None);
            let event = v["bells"]
                .as_array()
                .and_then(|e| e.iter().find(|e| e["bell"] == "assembly"))
                .unwrap_or_else(|| panic!("no bell event: {v}\n{}", story()))
                .clone();
            assert_eq!(event["outcome"], "fired", "{event}");
            event["pages"][0].as_str().expect("a page id").to_owned()
        })
        .collect();
    assert_eq!(ids[0], ids[1], "{}", story());
    assert!(ids[0].starts_with("dp-b"), "{ids:?}");
    // Each site paged one part, and each node's report has both sites' parts ended.
    for (srv, s) in [(&srv1, "d1"), (&srv2, "d2")] {
        let (_, h) = api(srv, "GET", "/api/history", None);
        let pages = h["pages"].as_array().expect("pages");
        assert_eq!(pages.len(), 1, "{s}: {h}");
        let report = wait_for(srv, "the district page to end", 30, || {
            let (_, v) = api(srv, "GET", &format!("/api/pages/{}", ids[0]), None);
            (v["active"] == false).then_some(v)
        });
        for site in ["d1", "d2"] {
            let sec = report["district"]["sites"]
                .as_array()
                .and_then(|x| x.iter().find(|x| x["site"] == site))
                .unwrap_or_else(|| panic!("{s}: no section for {site}: {report}"));
            assert_eq!(sec["status"], "ended", "{s}: {sec}\n{}", story());
            assert_eq!(sec["accepted"], PHONES, "{s}: {sec}");
        }
    }
}
