//! `zonecast serve`'s phones from CUCM over its API (issue 23), against the emulated CUCM of
//! `common::cucm` over HTTPS on loopback: `GET /api/cucm` shows the discovered table (no
//! password anywhere), `GET /api/zones` a rule zone's members; a phone's address changed in
//! CUCM is reported as moved by `POST /api/cucm/refresh` and then shown at its new address; a
//! refresh asked while one runs joins it; a viewer or operator may read but not refresh; CUCM
//! down: the refresh answers 503 with the reason and the old table stays in use. Without
//! `[cucm]`: not configured, and a refresh is refused with 409.

mod common;

use std::time::Duration;

use common::cucm::{AXL_PASSWORD, CucmSite, serve, setup_with};
use common::server::{Server, add_user, api, setup, sign_in, wait_for};
use serde_json::Value;
use zonecast::phone_sim::config::DEFAULT_PASSWORD;
use zonecast::phone_sim::cucm::SimCucmConfig;

const ADMIN_PW: &str = "cucm-admin-pw-4471";
const OPERATOR_PW: &str = "cucm-operator-pw-1187";

/// The discovered phone `name` in a `GET /api/cucm` answer.
fn phone<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["phones"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not in the table: {table}"))
}

/// Zone `name` in a `GET /api/zones` answer.
fn zone<'a>(zones: &'a Value, name: &str) -> &'a Value {
    zones["zones"]
        .as_array()
        .and_then(|a| a.iter().find(|z| z["name"] == name))
        .unwrap_or_else(|| panic!("no zone {name}: {zones}"))
}

fn no_password(what: &str, text: &str) {
    for pw in [AXL_PASSWORD, DEFAULT_PASSWORD, ADMIN_PW, OPERATOR_PW] {
        assert!(!text.contains(pw), "{what} shows a password: {text}");
    }
}

/// The table once the server's first discovery is in.
fn first_table(srv: &Server) -> Value {
    wait_for(srv, "the first discovery", 60, || {
        let (st, v) = api(srv, "GET", "/api/cucm", None);
        assert_eq!(st, 200, "{v}");
        (v["discovered_ms"].is_i64() && v["refreshing"] == false).then_some(v)
    })
}

#[test]
fn the_table_is_shown_refreshed_on_request_joined_and_kept_when_cucm_goes_down() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Every CUCM answer takes 300 ms, so a refresh (three requests) lasts long enough to be
    // joined by a second request sent at the same time, even on a loaded machine.
    let site: CucmSite = rt.block_on(setup_with(
        100,
        SimCucmConfig {
            slow: Duration::from_millis(300),
            ..SimCucmConfig::default()
        },
    ));
    let phones = &site.phones;
    add_user(&site.path, "ada", "admin", ADMIN_PW);
    add_user(&site.path, "olga", "operator", OPERATOR_PW);
    let srv = serve(&site.path);

    // The table as discovered: 108 phones, each with its address, numbers, pool and state.
    let t = first_table(&srv);
    assert_eq!(t["configured"], true);
    assert_eq!(t["phones"].as_array().unwrap().len(), 108, "{t}");
    assert_eq!(t["from_cache"], false, "{t}");
    assert!(t["last_refresh"]["error"].is_null(), "{t}");
    assert!(
        t["next_refresh_ms"].as_i64() > t["discovered_ms"].as_i64(),
        "{t}"
    );
    assert!(t["origin"].as_str().unwrap().contains("as discovered at"));
    let first = phone(&t, &phones[0].device);
    assert_eq!(first["address"], phones[0].addr.ip().to_string());
    assert_eq!(first["directory_numbers"], serde_json::json!(["2000"]));
    assert_eq!(first["device_pool"], "DP-LOBBY");
    assert_eq!(
        (&first["registered"], &first["web_access"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    assert_eq!(phone(&t, &phones[4].device)["registered"], false);
    assert_eq!(phone(&t, &phones[4].device)["state"], "unregistered");
    assert_eq!(phone(&t, &phones[5].device)["web_access"], false);
    assert!(
        t["hand_listed"][0].as_str().unwrap().contains("desk-4"),
        "{t}"
    );
    no_password("GET /api/cucm", &t.to_string());

    // Rule zones list their members from the table: the lobby's six (desk-4 as listed by
    // hand), the kitchen's two.
    let (st, zones) = api(&srv, "GET", "/api/zones", None);
    assert_eq!(st, 200);
    let lobby = zone(&zones, "lobby");
    assert_eq!(lobby["phones"].as_array().unwrap().len(), 6, "{lobby}");
    assert!(
        lobby["phones"]
            .as_array()
            .unwrap()
            .contains(&"desk-4".into())
    );
    assert_eq!(lobby["from_cucm"]["device_pool"], "DP-LOBBY");
    let kitchen = zone(&zones, "kitchen");
    assert_eq!(
        kitchen["phones"],
        serde_json::json!([phones[6].device, phones[7].device])
    );

    // An operator reads the table but may not refresh it; nobody signed in may do neither.
    let olga = sign_in(&srv, "olga", OPERATOR_PW);
    assert_eq!(olga.call("GET", "/api/cucm", None).0, 200);
    let (st, v) = olga.call("POST", "/api/cucm/refresh", None);
    assert_eq!(st, 403, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("needs an admin"),
        "{v}"
    );
    let (st, _) =
        common::server::call("POST", &format!("{}/api/cucm/refresh", srv.url), None, None);
    assert_eq!(st, 401);

    // A kitchen phone moves (DHCP): CUCM now has it at phone 9's address. An admin's refresh
    // from the console reports the move, and the table shows the new address.
    let moved = phones[6].device.clone();
    let (old_addr, new_addr) = (*phones[6].addr.ip(), *phones[8].addr.ip());
    assert!(
        site.cucm
            .cluster
            .lock()
            .unwrap()
            .update(&moved, |d| d.address = new_addr)
    );
    let ada = sign_in(&srv, "ada", ADMIN_PW);
    let (st, r) = ada.call("POST", "/api/cucm/refresh", None);
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["joined"], false);
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(r["phones"], 108);
    assert_eq!(r["from_cache"], false);
    assert_eq!(
        r["changes"]["moved"],
        serde_json::json!([{"name": moved, "from": old_addr.to_string(), "to": new_addr.to_string()}]),
        "{r}"
    );
    assert_eq!(
        r["changes"]["counts"],
        serde_json::json!({"added": 0, "removed": 0, "moved": 1, "model_changed": 0})
    );
    let (_, t2) = api(&srv, "GET", "/api/cucm", None);
    assert_eq!(phone(&t2, &moved)["address"], new_addr.to_string());
    assert!(t2["discovered_ms"].as_i64() > t["discovered_ms"].as_i64());

    // Two refreshes asked at once: one runs, the other joins it and answers its result.
    let both: Vec<Value> = std::thread::scope(|s| {
        let asks: Vec<_> = (0..2)
            .map(|_| s.spawn(|| api(&srv, "POST", "/api/cucm/refresh", None)))
            .collect();
        asks.into_iter()
            .map(|a| {
                let (st, v) = a.join().unwrap();
                assert_eq!(st, 200, "{v}");
                v
            })
            .collect()
    });
    let joined: Vec<bool> = both.iter().map(|v| v["joined"] == true).collect();
    assert!(
        joined.contains(&true) && joined.contains(&false),
        "{both:?}"
    );
    assert_eq!(both[0]["started_ms"], both[1]["started_ms"], "{both:?}");

    // CUCM goes down: the refresh answers 503 with the reason, and the table it had stays.
    site.cucm.stop();
    std::thread::sleep(Duration::from_millis(100));
    let (st, r) = api(&srv, "POST", "/api/cucm/refresh", None);
    assert_eq!(st, 503, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("cannot reach it"),
        "{r}"
    );
    assert_eq!(r["phones"], 108, "{r}");
    assert_eq!(r["from_cache"], true, "{r}");
    no_password("the refresh's answer", &r.to_string());
    let (_, t3) = api(&srv, "GET", "/api/cucm", None);
    assert_eq!(t3["last_refresh"]["error"], r["error"]);
    assert_eq!(t3["phones"].as_array().unwrap().len(), 108);
    assert_eq!(phone(&t3, &moved)["address"], new_addr.to_string());
    assert!(
        t3["origin"]
            .as_str()
            .unwrap()
            .contains("using the cached table"),
        "{t3}"
    );
    let (_, zones) = api(&srv, "GET", "/api/zones", None);
    assert_eq!(zone(&zones, "lobby")["phones"].as_array().unwrap().len(), 6);
    no_password("the server's log", &srv.log());
    drop(srv);
    rt.block_on(site.fleet.shutdown());
}

#[test]
fn without_cucm_the_table_is_not_configured_and_a_refresh_is_refused() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let (st, t) = api(&srv, "GET", "/api/cucm", None);
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["configured"], false);
    assert_eq!(t["phones"], serde_json::json!([]));
    let (st, r) = api(&srv, "POST", "/api/cucm/refresh", None);
    assert_eq!(st, 409, "{r}");
    assert!(r["error"].as_str().unwrap().contains("no [cucm]"), "{r}");
    let (_, zones) = api(&srv, "GET", "/api/zones", None);
    assert!(zone(&zones, "all")["from_cucm"].is_null(), "{zones}");
}
