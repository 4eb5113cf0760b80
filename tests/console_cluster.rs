//! The console's district screen in a real browser (headless Chromium, `common::browser`)
//! against `zonecast serve` with `[cluster]` and a real nats-server (issue 24): the district link
//! in the navigation, this node in the nodes' table (leader, token, lag, last contact) as the
//! hub's `zc_nodes` has it, and a page made through the API in the district's history with its
//! site and node, for a viewer. A screenshot goes to `target/console-screenshots/cluster.png`.
//! And the Page-now screen paging a district zone: two sites on a hub, an admin at one picks
//! the district zone (listed apart, as the district's), pages it, both sites' phones hear it,
//! and the live view shows a section per site (`district-page.png`).
//!
//! Without /usr/bin/chromium or /usr/bin/chromedriver the test prints one line and passes
//! (`make test` installs both).

mod common;

use std::time::Duration;

use common::browser::{Browser, browser_installed};
use common::district_net::DistrictNet;
use common::nats::Nats;
use common::server::*;
use serde_json::{Value, json};

const VIEWER_PW: &str = "district-viewer-5150";
const ADMIN_PW: &str = "district-admin-8086";

#[test]
fn the_district_screen_shows_the_nodes_and_the_districts_history() {
    if !browser_installed("the_district_screen") {
        return;
    }
    let nats = Nats::start();
    // A bell at 03:00 makes the node run the site's lease (it leads: it is alone).
    let cluster = format!(
        "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"night\"\ncron = \"0 0 3 * * *\"\n\
         zones = [\"first\"]\nsource = \"chime\"\n\n[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\nnode = \"a\"\n\n",
        nats.port
    );
    let s = setup(2, &cluster);
    add_user(&s.path("zonecast.toml"), "vera", "viewer", VIEWER_PW);
    let srv = Server::start(&s);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:440:0.5"})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().expect("a page id").to_owned();
    // The finished page reaches the site's stream and the hub's history.
    wait_for(&srv, "the page in the district's history", 60, || {
        let (_, v) = api(&srv, "GET", "/api/history?scope=district", None);
        v["pages"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["page"] == id.as_str()))
            .then_some(())
    });

    let b = Browser::start(&srv.url, (1280, 900), &[]);
    b.sign_in("vera", VIEWER_PW);
    assert_eq!(
        b.js("return !!document.querySelector('a[data-nav=cluster]')"),
        Value::Bool(true),
        "the navigation links the district screen"
    );
    b.click("a[data-nav=cluster]");
    b.ready();
    let node = b.wait_js(
        "this node in the nodes' table",
        30,
        "const r = document.querySelector('#cluster-rows tr[data-node=\"north/a\"]'); \
         return r ? r.innerText : ''",
        |v| v.as_str().is_some_and(|t| t.contains("yes")),
    );
    let cells: Vec<&str> = node.as_str().unwrap().split('\t').collect();
    assert_eq!(cells[..3], ["north", "a", "yes"], "{node}");
    assert_eq!(cells[4], "0", "nothing left to publish: {node}");
    let page = b.wait_js(
        "the page in the district's history",
        30,
        &format!(
            "const r = document.querySelector('#district-rows tr[data-page=\"{id}\"]'); \
             return r ? r.innerText : ''"
        ),
        |v| v.as_str().is_some_and(|t| !t.is_empty()),
    );
    let text = page.as_str().unwrap();
    assert!(
        text.contains("north") && text.contains("page") && text.contains("all"),
        "{text}"
    );
    assert_eq!(
        b.js("return document.getElementById('cluster-error').textContent"),
        Value::String(String::new())
    );
    b.shot("cluster");
}

/// Per phone of `s`, how many streams it heard with packets in them.
fn heard(s: &common::cli_setup::Setup) -> Vec<usize> {
    s.report()
        .phones
        .iter()
        .map(|p| p.heard.iter().filter(|h| h.rx.summary.packets > 0).count())
        .collect()
}

#[test]
fn an_admin_pages_a_district_zone_from_page_now_and_sees_a_section_per_site() {
    if !browser_installed("district_page_now") {
        return;
    }
    const PHONES: usize = 2;
    let names = ["east", "west"];
    let net = DistrictNet::start(&names, Duration::from_millis(5));
    let sites: Vec<(common::cli_setup::Setup, Server)> = names
        .iter()
        .map(|name| {
            let s = setup(PHONES, &net.cluster_toml(name, "everyone"));
            if *name == "east" {
                add_user(&s.path("zonecast.toml"), "ada", "admin", ADMIN_PW);
            }
            let srv = Server::start(&s);
            (s, srv)
        })
        .collect();
    let srv = &sites[0].1;

    let b = Browser::start(&srv.url, (1280, 1000), &[]);
    b.sign_in("ada", ADMIN_PW);
    // The district zone is listed apart from the site's zones, marked as the district's.
    let listed = b.wait_js(
        "the district zone on Page now",
        15,
        "const c = document.querySelector('#district-zones .choice[data-zone=everyone]'); \
         return c ? c.innerText : ''",
        |v| v.as_str().is_some_and(|t| !t.is_empty()),
    );
    let listed = listed.as_str().unwrap();
    assert!(
        listed.contains("district") && listed.contains("east, west"),
        "{listed}"
    );
    assert_eq!(
        b.js("return document.querySelector('.choice[data-zone=all]').dataset.district || ''"),
        Value::String(String::new()),
        "a site zone is not marked as the district's"
    );
    b.click("#district-zones input[value=everyone]");
    b.js("document.getElementById('sound').value = 'bell'; return true");
    b.click("#page-start");

    // Both sites' phones hear it, once each.
    for (s, name) in sites.iter().map(|(s, _)| s).zip(names) {
        s.wait_until(&format!("{name}'s phones hearing the district page"), |r| {
            r.phones
                .iter()
                .all(|p| p.heard.iter().any(|h| h.rx.summary.packets > 0))
        });
    }
    // The live view: a section per site, each ended with its phones counted.
    let sections = b.wait_js(
        "a section per site, each ended",
        40,
        "return [...document.querySelectorAll('#live-groups section[data-site]')] \
         .map((s) => [s.dataset.site, s.dataset.status, s.innerText])",
        |v| {
            v.as_array()
                .is_some_and(|a| a.len() == 2 && a.iter().all(|s| s[1] == "ended"))
        },
    );
    for (sec, name) in sections.as_array().unwrap().iter().zip(names) {
        assert_eq!(sec[0], name, "{sections}");
        let text = sec[2].as_str().unwrap();
        assert!(text.contains(&format!("{name}:all")), "{text}");
        assert!(text.contains("2 of 2 phones reached"), "{text}");
    }
    let status = b.wait_js(
        "the page's end in the status line",
        20,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
    assert!(
        status.as_str().unwrap().contains("2 of 2 sites paged"),
        "{status}"
    );
    b.shot("district-page");
    for (s, name) in sites.iter().map(|(s, _)| s).zip(names) {
        assert_eq!(heard(s), vec![1; PHONES], "{name}'s phones");
    }

    // The Zones screen lists it too, with its members.
    b.click("a[data-nav=zones]");
    b.ready();
    let row = b.wait_js(
        "the district zone on the Zones screen",
        15,
        "const r = document.querySelector('#zones-rows tr[data-zone=everyone]'); \
         return r ? r.innerText : ''",
        |v| v.as_str().is_some_and(|t| !t.is_empty()),
    );
    let row = row.as_str().unwrap();
    assert!(
        row.contains("district") && row.contains("east:all, west:all"),
        "{row}"
    );

    // Operators: a district zone is granted by its name, and only that grant pages it.
    for (user, zones) in [("olga", json!(["everyone"])), ("otto", json!(["all"]))] {
        let body = json!({"name": user, "role": "operator", "zones": zones, "password": ADMIN_PW});
        let (status, v) = api(srv, "POST", "/api/users", Some(body));
        assert_eq!(status, 201, "{user}: {v}");
    }
    let tone = json!({"zone": "everyone", "source": "tone:700:0.5"});
    let otto = sign_in(srv, "otto", ADMIN_PW);
    let (status, v) = otto.call("POST", "/api/pages", Some(tone.clone()));
    assert_eq!(
        status, 403,
        "a grant of a site's zone pages no district zone: {v}"
    );
    let olga = sign_in(srv, "olga", ADMIN_PW);
    let (status, v) = olga.call("POST", "/api/pages", Some(tone));
    assert_eq!(status, 201, "{v}");
    assert!(
        v["id"].as_str().is_some_and(|id| id.starts_with("dp-")),
        "{v}"
    );
}
