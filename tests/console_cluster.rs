//! The console's district screen in a real browser (headless Chromium, `common::browser`)
//! against `zonecast serve` with `[cluster]` and a real nats-server (issue 24): the district link
//! in the navigation, this node in the nodes' table (leader, token, lag, last contact) as the
//! hub's `zc_nodes` has it, and a page made through the API in the district's history with its
//! site and node, for a viewer. A screenshot goes to `target/console-screenshots/cluster.png`.
//!
//! Without /usr/bin/chromium or /usr/bin/chromedriver the test prints one line and passes
//! (`make test` installs both).

mod common;

use common::browser::{Browser, browser_installed};
use common::nats::Nats;
use common::server::*;
use serde_json::{Value, json};

const VIEWER_PW: &str = "district-viewer-5150";

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
