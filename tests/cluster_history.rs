//! The district's history (issue 24): a hub nats-server and a leaf per site, each leaf behind a
//! cuttable WAN link ([`common::district_net`]), one `zonecast serve` per site with `[cluster]`
//! on its leaf. Each site's finished pages reach the hub's `ZC_JOURNAL` and are listed, with
//! their site and node, by `GET /api/history?scope=district` at either node, exactly once; pages
//! made while a site's WAN is cut arrive after it is restored, and a page made while the site's
//! own store is paused (its node killed and restarted meanwhile) is sent from the node's SQLite
//! when the store answers again; none is doubled in the hub's stream. `zonecast cluster status`
//! lists both nodes with their lag and last contact.

mod common;

use std::time::Duration;

use common::district_net::DistrictNet;
use common::server::*;
use serde_json::{Value, json};

/// `[cluster]` of site `name` on its leaf, the hub's domain named.
fn cluster_table(net: &DistrictNet, name: &str) -> String {
    format!(
        "[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"{name}\"\nnode = \"a\"\n\
         hub_domain = \"hub\"\n\n",
        net.site(name).leaf.port
    )
}

/// Page zone `all` at `srv` and wait until the page ended there; its id.
fn page_here(srv: &Server) -> String {
    let body = json!({"zone": "all", "source": "tone:800:0.4"});
    let (status, v) = api(srv, "POST", "/api/pages", Some(body));
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().expect("page id").to_owned();
    wait_for(srv, "the page to end in the local history", 20, || {
        let (status, v) = api(srv, "GET", &format!("/api/history/{id}"), None);
        (status == 200 && v["ended_by"].is_string()).then_some(())
    });
    id
}

/// The district history at `srv` (status 200 asserted).
fn district(srv: &Server) -> Value {
    let (status, v) = api(srv, "GET", "/api/history?scope=district&limit=100", None);
    assert_eq!(status, 200, "{v}");
    v
}

/// How often page `id` is listed in a district history, and as which `(site, node)`.
fn listed(history: &Value, id: &str) -> Vec<(String, String)> {
    history["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .filter(|p| p["page"] == id)
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or("").to_owned();
            (s("site"), s("node"))
        })
        .collect()
}

/// Wait until the district history at `srv` lists every `(site, id)`.
fn wait_listed(srv: &Server, pages: &[(&str, &str)], secs: u64) -> Value {
    wait_for(srv, "the pages in the district history", secs, || {
        let h = district(srv);
        pages
            .iter()
            .all(|(_, id)| !listed(&h, id).is_empty())
            .then_some(h)
    })
}

/// Each page listed exactly once with its site and node `a`; the hub's stream holds one
/// message per record (no doubles), `records` in all.
fn assert_once(h: &Value, pages: &[(&str, &str)], records: u64) {
    for (site, id) in pages {
        assert_eq!(
            listed(h, id),
            vec![(site.to_string(), "a".to_string())],
            "{site}'s page {id} in {h}"
        );
    }
    assert_eq!(h["held"], records, "messages in the hub's ZC_JOURNAL: {h}");
    assert_eq!(h["refused"], 0, "{h}");
}

#[test]
fn every_sites_pages_reach_the_district_history_once_across_cuts() {
    let net = DistrictNet::start(&["north", "south"], Duration::from_millis(10));
    let north_setup = setup(2, &cluster_table(&net, "north"));
    let south_setup = setup(2, &cluster_table(&net, "south"));
    let north = Server::start(&north_setup);
    let mut south = Server::start(&south_setup);

    // Both sites page locally; either node's district history lists both pages once.
    let n1 = page_here(&north);
    let s1 = page_here(&south);
    let mut pages = vec![("north", n1.as_str()), ("south", s1.as_str())];
    let h = wait_listed(&north, &pages, 30);
    assert_once(&h, &pages, 2);
    let h = wait_listed(&south, &pages, 30);
    assert_once(&h, &pages, 2);
    assert!(
        h["pages"][0]["accepted"].as_u64() == Some(2),
        "a record carries the page's summary: {h}"
    );

    // South's WAN cut: south pages on; the hub does not have it, and south cannot read it.
    net.site("south").link.cut();
    let s2 = page_here(&south);
    std::thread::sleep(Duration::from_secs(2));
    assert!(listed(&district(&north), &s2).is_empty());
    let (status, v) = api(&south, "GET", "/api/history?scope=district", None);
    assert_eq!(status, 503, "south reads the hub through a cut link: {v}");
    // Restored: the record the hub missed arrives, once.
    net.site("south").link.restore();
    net.wait_linked(2, 30);
    pages.push(("south", s2.as_str()));
    let h = wait_listed(&north, &pages, 30);
    assert_once(&h, &pages, 3);

    // South's own store paused: the page waits in south's SQLite (lag 1 in its status); south's
    // server is killed meanwhile, and the next one sends it from there when the store answers.
    let leaf = &net.site("south").leaf;
    leaf.signal("STOP");
    let s3 = page_here(&south);
    wait_for(&south, "south's lag of 1", 30, || {
        let (status, v) = api(&south, "GET", "/api/cluster", None);
        assert_eq!(status, 200, "{v}");
        (v["here"]["lag"] == 1).then_some(())
    });
    drop(south);
    leaf.signal("CONT");
    south = Server::start(&south_setup);
    pages.push(("south", s3.as_str()));
    let h = wait_listed(&north, &pages, 40);
    assert_once(&h, &pages, 4);

    // The district's nodes: both, with their lag and last contact.
    let status = wait_for(&north, "both nodes' status with no lag", 20, || {
        let out = north_setup.run(&["cluster", "status", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        let nodes = v["nodes"].as_array()?.clone();
        let settled = nodes.len() == 2 && nodes.iter().all(|n| n["lag"] == 0);
        settled.then_some(v)
    });
    for (n, site) in status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["north", "south"])
    {
        assert_eq!(
            (n["site"].as_str(), n["node"].as_str()),
            (Some(site), Some("a"))
        );
        let ago = n["last_contact_ms_ago"].as_i64().expect("last contact");
        assert!((0..10_000).contains(&ago), "{site} last heard {ago} ms ago");
        assert_eq!(n["leader"], false, "no bells, no lease: {n}");
    }
    let out = north_setup.run(&["cluster", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("site south node a: follower; lag 0 records; last contact"),
        "{text}"
    );
    let (status, v) = api(&south, "GET", "/api/cluster", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["here"]["site"], "south", "{v}");
    drop(south);
}

/// A bell of a site with `[cluster]` rings through the site's claim: its local bell history and
/// its record at the hub carry the lease revision it was rung under (the fencing token), no
/// higher than the lease's revision now.
#[test]
fn a_bell_rung_through_the_claim_journals_its_fencing_token() {
    let net = DistrictNet::start(&["north"], Duration::from_millis(5));
    let bells = "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"tick\"\n\
                 cron = \"*/3 * * * * *\"\nzones = [\"first\"]\nsource = \"tone:1000:0.3\"\n\n";
    let s = setup(2, &format!("{bells}{}", cluster_table(&net, "north")));
    let north = Server::start(&s);
    let fired = wait_for(&north, "a bell fired with a token", 30, || {
        let (status, v) = api(&north, "GET", "/api/bells/history", None);
        assert_eq!(status, 200, "{v}");
        v["bells"]
            .as_array()?
            .iter()
            .find(|b| b["outcome"] == "fired" && b["token"].is_u64())
            .cloned()
    });
    let token = fired["token"].as_u64().unwrap();
    let at_hub = wait_for(&north, "the bell's record at the hub", 30, || {
        let h = district(&north);
        h["bells"]
            .as_array()?
            .iter()
            .find(|b| b["due_ms"] == fired["due_ms"] && b["bell"] == "tick")
            .cloned()
    });
    assert_eq!(at_hub["token"], token, "{at_hub}");
    assert_eq!(
        (at_hub["site"].as_str(), at_hub["node"].as_str()),
        (Some("north"), Some("a"))
    );
    let out = s.run(&["cluster", "status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("cluster status --json");
    let now = v["leader"]["token"].as_u64().expect("north leads");
    assert!(
        0 < token && token <= now,
        "token {token}, lease revision now {now}"
    );
    assert_eq!(v["leader"]["node"], "a", "{v}");
}
