//! `zonecast serve` against the phone emulator over real HTTP and RTP: the API starts, shows
//! and stops pages; a bell a few seconds ahead rings; SIGKILL then restart leaves no phone
//! listening; SIGTERM ends pages with their stops; a user hanging up shows for that phone; the
//! journal holds it all; `/metrics` is Prometheus text.

mod common;

use std::time::Duration;

use common::server::*;
use serde_json::{Value, json};

/// A strict reading of the Prometheus text format: every sample belongs to a family declared
/// by `# TYPE`, values are numbers, histogram buckets are cumulative and end in `+Inf` equal
/// to `_count`. Returns the samples by their full name with labels.
fn parse_prometheus(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut types = std::collections::BTreeMap::new();
    let mut samples = std::collections::BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().expect("metric name");
            let value = parts.next().expect("text");
            assert!(kind == "HELP" || kind == "TYPE", "{line}");
            if kind == "TYPE" {
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&value),
                    "{line}"
                );
                types.insert(name.to_owned(), value.to_owned());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split(',') {
                let (k, v) = pair.split_once('=').expect("label=value");
                assert!(
                    !k.is_empty() && v.starts_with('"') && v.ends_with('"'),
                    "{line}"
                );
            }
        }
        let family = ["_bucket", "_sum", "_count", "_total"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        assert!(
            types.contains_key(family) || types.contains_key(name),
            "sample without # TYPE: {line}"
        );
        samples.insert(series.to_owned(), value);
    }
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{family}_bucket{{")))
            .map(|(_, v)| *v)
            .collect();
        let inf = samples[&format!("{family}_bucket{{le=\"+Inf\"}}")];
        assert_eq!(inf, samples[&format!("{family}_count")], "{family}");
        assert!(
            buckets.iter().all(|b| *b <= inf),
            "{family} buckets exceed +Inf"
        );
    }
    samples
}

#[test]
fn the_api_pages_a_zone_shows_it_live_stops_it_and_journals_it() {
    let s = setup(4, "");
    let srv = Server::start(&s);

    // No token, a wrong token: 401 with a JSON message, and nothing sent to any phone.
    let (st, body) = call("GET", &format!("{}/api/zones", srv.url), None, None);
    assert_eq!(st, 401);
    assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
    let (st, _) = call(
        "POST",
        &format!("{}/api/pages", srv.url),
        Some("wrong"),
        Some(json!({"zone": "all", "source": "chime"})),
    );
    assert_eq!(st, 401);
    assert_eq!(s.report().totals.pushes, 0);

    // Bad input: JSON errors naming what is wrong.
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "nope", "source": "chime"})),
    );
    assert_eq!(st, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("zone"), "{body}");
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "file:/etc/passwd"})),
    );
    assert_eq!(st, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("upload"), "{body}");
    // A banner the phones' XML cannot carry: refused before the page starts, not a 201 and a
    // page in which no phone can take part.
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "chime", "banner": "a\u{0}b\u{7}c"})),
    );
    assert_eq!(st, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("banner") && error.contains("U+0000"),
        "{body}"
    );
    assert_eq!(
        s.report().totals.pushes,
        0,
        "refused before anything was pushed"
    );
    let (st, body) = api(&srv, "GET", "/api/nothing-here", None);
    assert_eq!(st, 404);
    assert!(body["error"].is_string(), "{body}");
    let (st, body) = api(&srv, "PATCH", "/api/pages", None);
    assert_eq!(st, 405);
    assert!(body["error"].as_str().unwrap().contains("method"), "{body}");

    let (st, zones) = api(&srv, "GET", "/api/zones", None);
    assert_eq!(st, 200);
    assert_eq!(zones["zones"][0]["name"], "all");
    assert_eq!(zones["zones"][0]["phones"].as_array().unwrap().len(), 4);

    // Upload a sound (headerless µ-law, declared); an oversized one is refused as JSON.
    let (st, body) = call_raw(
        "PUT",
        &format!("{}/api/sounds/lobby", srv.url),
        Some(TOKEN),
        Some(vec![0xFF; 8000]),
        "audio/basic",
    );
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["seconds"], 1.0);
    let (st, body) = call_raw(
        "PUT",
        &format!("{}/api/sounds/huge", srv.url),
        Some(TOKEN),
        Some(vec![0xFF; 100 * 1024]),
        "application/octet-stream",
    );
    assert_eq!(st, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("upload_limit"),
        "{body}"
    );

    // Page: the upload, then a long tone; live state shows every phone accepted.
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "upload:lobby,tone:700:60", "banner": "Lobby"})),
    );
    assert_eq!(st, 201, "{started}");
    // The answer is the page's first live state: phones still starting are told apart from
    // phones that failed (none has).
    let totals = &started["page"]["report"]["totals"];
    assert_eq!(totals["phones"], 4, "{started}");
    assert_eq!(totals["failed"], 0, "{started}");
    assert_eq!(
        totals["starting"].as_u64().unwrap() + totals["accepted"].as_u64().unwrap(),
        4,
        "{started}"
    );
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 4 phones hearing packets", |r| {
        r.phones.iter().all(|p| {
            p.heard
                .last()
                .is_some_and(|h| h.active && h.rx.summary.packets >= 60)
        })
    });
    let live = wait_for(&srv, "live state: 4 accepted", 10, || {
        let (_, v) = api(&srv, "GET", "/api/pages", None);
        let page = v["pages"][0].clone();
        let states = phone_states(&page);
        (states.len() == 4 && states.iter().all(|(_, st)| st == "accepted")).then_some(page)
    });
    assert_eq!(live["page"], id.as_str());
    assert_eq!(live["requested_by"], "api");
    assert_eq!(live["report"]["totals"]["accepted"], 4);
    let (_, phones) = api(&srv, "GET", "/api/phones", None);
    let p1 = &phones["phones"][0];
    assert_eq!(p1["model"], "CP-8851");
    assert_eq!(p1["page"]["id"], id.as_str());
    assert_eq!(p1["page"]["state"], "accepted");
    assert!(
        s.report()
            .phones
            .iter()
            .all(|p| p.status_banner.as_deref() == Some("Lobby"))
    );

    // Stop it: every phone released, the journal has the page and each phone's outcome.
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    s.wait_until("no phone listening", |r| listening(r) == 0);
    let detail = wait_for(&srv, "the page in the journal", 10, || {
        let (st, v) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
        (st == 200 && v["active"] == false).then_some(v)
    });
    let page = &detail["page"];
    assert_eq!(page["ended_by"], "stopped by api", "{page}");
    assert_eq!(page["accepted"], 4);
    let outcomes = page["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes.iter().all(|o| o["state"] == "stopped"), "{page}");
    let (_, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(hist["pages"][0]["page"], id.as_str());
    assert_eq!(hist["pages"][0]["source"], "upload:lobby,tone:700:60");
    let (_, phones) = api(&srv, "GET", "/api/phones", None);
    assert_eq!(phones["phones"][0]["last_outcome"], "stopped");
    assert!(phones["phones"][0]["page"].is_null());
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 404, "an ended page cannot be stopped again");

    // Metrics: valid Prometheus text that counted this page.
    let (st, text) = call("GET", &format!("{}/metrics", srv.url), None, None);
    assert_eq!(st, 200);
    let m = parse_prometheus(text.as_str().unwrap());
    assert_eq!(m["zonecast_pages_total{outcome=\"all_reached\"}"], 1.0);
    assert_eq!(m["zonecast_pages_active"], 0.0);
    assert_eq!(m["zonecast_phones_reached_total"], 4.0);
    assert_eq!(m["zonecast_push_latency_seconds_count"], 4.0);
    assert!(m["zonecast_rtp_datagrams_sent_total"] > 50.0, "{m:?}");
    assert!(m["zonecast_pacer_lateness_seconds_count"] > 50.0);

    // The OpenAPI document is served and names the routes.
    let (st, doc) = call("GET", &format!("{}/openapi.json", srv.url), None, None);
    assert_eq!(st, 200);
    assert!(doc["paths"]["/api/pages"]["post"].is_object(), "{doc}");
    // Every documented route exists (a route the server lacks answers "no such route" or 405).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let concrete = path
                .replace("{id}", "pg-none")
                .replace("{name}", "p001")
                .replace("{key}", "k");
            let body = (method == "post" || method == "put").then(|| json!({}));
            let (st, v) = api(&srv, &method.to_uppercase(), &concrete, body);
            assert!(
                st != 405 && v["error"] != "no such route",
                "{method} {path}: {st} {v}"
            );
        }
    }
    assert!(
        !srv.log()
            .contains(zonecast::phone_sim::config::DEFAULT_PASSWORD)
    );
    assert!(!srv.log().contains(TOKEN));
}

#[test]
fn a_bell_a_few_seconds_ahead_rings_the_zone_and_is_journaled() {
    use chrono::Timelike;
    let at = chrono::Utc::now() + chrono::Duration::seconds(8);
    let cron = format!("{} {} {} * * *", at.second(), at.minute(), at.hour());
    let bells = format!(
        "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"soon\"\ncron = \"{cron}\"\n\
         zones = [\"first\"]\nsource = \"tone:1000:2\"\n\n"
    );
    let s = setup(3, &bells);
    let srv = Server::start(&s);
    let (_, next) = api(&srv, "GET", "/api/bells?n=1", None);
    assert_eq!(next["next"][0]["bell"], "soon", "{next}");
    assert_eq!(next["timezone"], "UTC");
    // The bell rings for the two phones of `first` and ends by itself.
    s.wait_until("the bell heard on p001 and p002", |r| {
        r.phones.iter().take(2).all(|p| {
            p.heard.last().is_some_and(|h| {
                h.rx.summary
                    .frequency_hz
                    .is_some_and(|f| (f - 1000.0).abs() < 15.0)
            })
        })
    });
    assert!(
        s.report().phones[2].heard.is_empty(),
        "p003 is not in the zone"
    );
    s.wait_until("the bell's page ended", |r| listening(r) == 0);
    let bell = wait_for(&srv, "the bell in the journal", 10, || {
        let (_, v) = api(&srv, "GET", "/api/bells/history", None);
        v["bells"].as_array().and_then(|b| b.first().cloned())
    });
    assert_eq!(bell["bell"], "soon");
    assert_eq!(bell["outcome"], "fired");
    assert_eq!(
        bell["due_ms"],
        at.with_nanosecond(0).unwrap().timestamp_millis()
    );
    let page_id = bell["pages"][0].as_str().unwrap().to_owned();
    let page = wait_for(&srv, "the bell's page ended in the journal", 10, || {
        let (st, v) = api(&srv, "GET", &format!("/api/history/{page_id}"), None);
        (st == 200 && v["ended_by"].is_string()).then_some(v)
    });
    assert_eq!(page["requested_by"], "bell:soon");
    assert_eq!(page["ended_by"], "source ended");
    assert_eq!(page["zone"], "first");
}

#[test]
fn sigkill_mid_page_then_restart_leaves_no_phone_listening() {
    let s = setup(5, "");
    let mut srv = Server::start(&s);
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:600:60"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 5 phones listening", |r| listening(r) == 5);
    srv.child.kill().unwrap(); // SIGKILL: no stop was sent
    srv.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        listening(&s.report()),
        5,
        "the killed server left them playing"
    );

    // The restarted server stops them before it listens.
    let srv = Server::start(&s);
    assert_eq!(listening(&s.report()), 0, "{}", srv.log());
    assert!(
        srv.log().contains("recovered 5 of 5 phones"),
        "{}",
        srv.log()
    );
    let (st, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(st, 200);
    assert_eq!(hist["pages"][0]["page"], id.as_str());
    // Nothing left for a third start to do.
    drop(srv);
    let srv = Server::start(&s);
    assert!(!srv.log().contains("recovered"), "{}", srv.log());
}

#[test]
fn sigterm_ends_running_pages_with_their_stops() {
    let s = setup(3, "");
    let mut srv = Server::start(&s);
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:500:60"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 3 phones listening", |r| listening(r) == 3);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(srv.child.id() as i32, libc::SIGTERM) };
    let status = srv.child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", srv.log());
    assert_eq!(
        listening(&s.report()),
        0,
        "every phone got its stop before exit"
    );
    assert!(srv.log().contains("stopping"), "{}", srv.log());
    // The journal says how it ended.
    let srv = Server::start(&s);
    let (_, page) = api(&srv, "GET", &format!("/api/history/{id}"), None);
    assert_eq!(page["ended_by"], "server stopping", "{page}");
    assert!(!srv.log().contains("recovered"), "{}", srv.log());
}

#[test]
fn a_phone_hanging_up_shows_as_stopped_by_user_for_that_phone() {
    let s = setup(3, "");
    let srv = Server::start(&s);
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:800:60", "via": "media"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 3 phones listening", |r| listening(r) == 3);
    assert!(s.hang_up("p002"));
    let page = wait_for(&srv, "p002 stopped by user", 15, || {
        let (_, v) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
        let states = phone_states(&v["page"]);
        states
            .iter()
            .any(|(n, st)| n == "p002" && st == "stopped_by_user")
            .then_some(v)
    });
    let states = phone_states(&page["page"]);
    assert!(
        states
            .iter()
            .filter(|(n, _)| n != "p002")
            .all(|(_, st)| st == "accepted"),
        "{states:?}"
    );
    // A callback for a page the server does not run is refused.
    let (st, _) = call_raw(
        "POST",
        &format!("{}/zonecast/notify/pg-unknown", srv.url),
        None,
        Some(b"DATA=<notifyMediaEvent type=\"stopped\" origin=\"user\"/>".to_vec()),
        "application/x-www-form-urlencoded",
    );
    assert_eq!(st, 404);
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    let detail = wait_for(&srv, "the page in the journal", 10, || {
        let (_, v) = api(&srv, "GET", &format!("/api/history/{id}"), None);
        v["ended_by"].is_string().then_some(v)
    });
    let p2 = detail["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["phone"] == "p002")
        .unwrap()
        .clone();
    assert_eq!(p2["state"], "stopped_by_user", "{detail}");
    assert_eq!(listening(&s.report()), 0);
}

#[test]
fn phones_accept_minted_credentials_that_the_authentication_url_honours_once() {
    // The server's port is chosen first: the emulated phones must know their Authentication URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let auth = format!("http://127.0.0.1:{port}/authenticate");
    // A stand-in phone that only records what it is sent (it never asks the URL itself).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (desk, seen) = rt.block_on(common::fake_phone::fake_phone(
        common::fake_phone::Behaviour::Reply(200, "<CiscoIPPhoneError Number=\"1\"/>"),
    ));
    let extra = format!(
        "[[phone]]\nname = \"desk\"\nhost = \"{desk}\"\nmodel = \"CP-8851\"\nuser = \"pager\"\n\
         auth = \"minted\"\n\n[zone.front]\nmembers = [\"desk\"]\nmode = \"unicast\"\n\n"
    );
    let s = setup_with(3, &extra, Some(auth.clone()));
    let srv = Server::start_on(&s, &format!("127.0.0.1:{port}"));

    // The emulated phones ask the server about each push's credentials and accept them.
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:900:30"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 3 phones listening", |r| listening(r) == 3);
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    s.wait_until("no phone listening", |r| listening(r) == 0);
    assert!(
        s.report()
            .phones
            .iter()
            .all(|p| p.counters.auth_failures == 0)
    );

    // A credential minted for the stand-in phone: good once, then refused.
    let (st, first) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "front", "source": "chime"})),
    );
    assert_eq!(st, 201);
    let first = first["id"].as_str().unwrap().to_owned();
    let header = wait_for(&srv, "a push to the stand-in phone", 10, || {
        let reqs = seen.lock().unwrap();
        reqs.first().and_then(|r| {
            let text = String::from_utf8_lossy(r).into_owned();
            text.lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: Basic ")
                        .or_else(|| l.strip_prefix("Authorization: Basic "))
                })
                .map(|t| t.trim().to_owned())
        })
    });
    let decoded = String::from_utf8(base64_decode(&header)).unwrap();
    let (user, _) = decoded.split_once(':').unwrap();
    assert!(user.starts_with("zc-"), "{user}");
    let ask = |user: &str, password: &str| {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("UserID", user)
            .append_pair("Password", password)
            .append_pair("devicename", "SEP001122334455")
            .finish();
        let (st, v) = call_raw(
            "POST",
            &auth,
            None,
            Some(body.into_bytes()),
            "application/x-www-form-urlencoded",
        );
        assert_eq!(st, 200);
        v.as_str().unwrap().to_owned()
    };
    assert_eq!(ask(user, "wrong-password"), "UN-AUTHORIZED");
    // The stand-in refused the page: it ends by itself (no phone reached).
    wait_for(&srv, "the stand-in's page to end", 15, || {
        let (_, v) = api(&srv, "GET", &format!("/api/pages/{first}"), None);
        (v["active"] == false).then_some(())
    });
    let (st, _) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "front", "source": "chime"})),
    );
    assert_eq!(st, 201);
    let header = wait_for(&srv, "a second push to the stand-in phone", 10, || {
        let reqs = seen.lock().unwrap();
        reqs.iter().rev().find_map(|r| {
            let text = String::from_utf8_lossy(r).into_owned();
            text.lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: Basic ")
                        .or_else(|| l.strip_prefix("Authorization: Basic "))
                })
                .map(|t| t.trim().to_owned())
                .filter(|t| *t != header)
        })
    });
    let decoded = String::from_utf8(base64_decode(&header)).unwrap();
    let (user, password) = decoded.split_once(':').unwrap();
    assert_eq!(ask(user, password), "AUTHORIZED");
    assert_eq!(
        ask(user, password),
        "UN-AUTHORIZED",
        "a minted credential is good once"
    );
    let (_, text) = call("GET", &format!("{}/metrics", srv.url), None, None);
    let m = parse_prometheus(text.as_str().unwrap());
    assert!(m["zonecast_credentials_minted_total"] >= 6.0, "{m:?}");
    assert!(
        !srv.log().contains(password),
        "a minted password was logged"
    );
    drop(rt);
}

fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn zonecast_recover_stops_what_a_killed_server_left_playing() {
    let s = setup(3, "");
    let mut srv = Server::start(&s);
    let (st, _) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:600:60"})),
    );
    assert_eq!(st, 201);
    s.wait_until("all 3 phones listening", |r| listening(r) == 3);
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    // The command reads the server's SQLite journal (the config is the same).
    let out = s.run(&["recover", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done.as_array().unwrap().len(), 3, "{done}");
    assert_eq!(listening(&s.report()), 0);
}

#[test]
fn a_restarted_server_stops_what_it_left_playing_and_lists_the_recoveries() {
    let s = setup(3, "");
    let mut srv = Server::start(&s);
    let (st, levels) = api(&srv, "GET", "/api/priorities", None);
    assert_eq!(st, 200, "{levels}");
    assert_eq!(levels["default"], "normal", "{levels}");
    assert!(levels["levels"].as_array().unwrap().len() >= 2, "{levels}");
    let (st, body) = api(&srv, "GET", "/api/recoveries", None);
    assert_eq!(st, 200, "{body}");
    assert!(body["recoveries"].as_array().unwrap().is_empty(), "{body}");
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:600:60"})),
    );
    assert_eq!(st, 201, "{started}");
    let page = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 3 phones listening", |r| listening(r) == 3);
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    let srv = Server::start(&s);
    s.wait_until("the restarted server to stop them", |r| listening(r) == 0);
    let (st, body) = api(&srv, "GET", "/api/recoveries", None);
    assert_eq!(st, 200, "{body}");
    let recs = body["recoveries"].as_array().unwrap();
    assert_eq!(recs.len(), 3, "{body}");
    assert!(
        recs.iter()
            .all(|r| r["page"] == page.as_str() && r["stopped"] == true),
        "{body}"
    );
    let (st, _) = api(&srv, "GET", "/api/recoveries?limit=0", None);
    assert_eq!(st, 400);
}

#[test]
fn a_bell_that_came_due_while_the_server_was_down_is_logged_as_missed_not_rung() {
    use chrono::Timelike;
    let at = chrono::Utc::now() + chrono::Duration::seconds(5);
    let cron = format!("{} {} {} * * *", at.second(), at.minute(), at.hour());
    let bells = format!(
        "[schedule]\ntimezone = \"UTC\"\ngrace = \"1s\"\n\n[[bell]]\nname = \"while-down\"\n\
         cron = \"{cron}\"\nzones = [\"all\"]\nsource = \"chime\"\n\n"
    );
    let s = setup(2, &bells);
    let mut srv = Server::start(&s);
    // Let the scheduler journal that it ran, then stop before the bell.
    std::thread::sleep(Duration::from_millis(800));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(srv.child.id() as i32, libc::SIGTERM) };
    assert!(srv.child.wait().unwrap().success());
    while chrono::Utc::now() < at + chrono::Duration::milliseconds(2500) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let srv = Server::start(&s);
    let bell = wait_for(&srv, "the missed bell in the journal", 10, || {
        let (_, v) = api(&srv, "GET", "/api/bells/history", None);
        v["bells"].as_array().and_then(|b| b.first().cloned())
    });
    assert_eq!(bell["bell"], "while-down");
    assert_eq!(bell["outcome"], "missed", "{bell}");
    assert!(bell["pages"].as_array().unwrap().is_empty());
    assert!(srv.log().contains("missed"), "{}", srv.log());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        s.report().phones.iter().all(|p| p.heard.is_empty()),
        "a missed bell is not rung late"
    );
    let (_, text) = call("GET", &format!("{}/metrics", srv.url), None, None);
    let m = parse_prometheus(text.as_str().unwrap());
    assert_eq!(m["zonecast_bells_missed_total"], 1.0);
}

#[test]
fn a_page_spoken_from_a_phone_is_relayed_to_multicast_and_unicast_zones_and_every_phone_is_released()
 {
    let s = setup(
        4,
        "[zone.pair]\nmembers = [\"p003\", \"p004\"]\nmode = \"unicast\"\n\n",
    );
    let srv = Server::start(&s);
    // p001 talks (its emulated microphone is a tone); the rest of `all` listen.
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "talker": "p001"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let mic_hz = zonecast::phone_sim::SimConfig::uniform(1, "CP-8851").mic_tone_hz;
    s.wait_until("p002..p004 hear the talker's microphone", |r| {
        r.phones[0].transmitting
            && r.phones[1..].iter().all(|p| {
                p.heard.last().is_some_and(|h| {
                    h.active
                        && h.rx.summary.packets > 50
                        && h.rx
                            .summary
                            .frequency_hz
                            .is_some_and(|f| (f - mic_hz).abs() < 15.0)
                })
            })
    });
    let r = s.report();
    assert!(
        r.phones[0].heard.is_empty(),
        "the talker does not hear itself"
    );
    assert_eq!(r.phones[0].status_banner.as_deref(), Some("Paging all"));
    let (_, page) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
    let states = phone_states(&page["page"]);
    assert_eq!(states.len(), 4, "{page}");
    assert!(states.iter().all(|(_, st)| st == "accepted"), "{states:?}");
    assert_eq!(page["page"]["source"], "mic:p001");

    // The talker keeps talking: the page goes on (the engine hears the group).
    std::thread::sleep(Duration::from_secs(3));
    let (_, still) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
    assert_eq!(still["active"], true, "{still}\n{}", srv.log());
    // The talker sends to the engine, which relays it to the zone's group.
    assert!(
        s.report().phones[0]
            .tx
            .as_ref()
            .is_some_and(|t| t.dest.is_some_and(|d| d.ip().is_loopback()))
    );
    let (_, text) = call("GET", &format!("{}/metrics", srv.url), None, None);
    assert!(
        !text
            .as_str()
            .unwrap()
            .contains("zonecast_rtp_datagrams_sent_total 0\n")
    );
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    s.wait_until("every phone released", |r| {
        listening(r) == 0 && !r.phones[0].transmitting
    });

    // A unicast zone: the engine relays the talker to each phone.
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "pair", "talker": "p001"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("p003 and p004 hear the relayed microphone", |r| {
        r.phones[0].transmitting
            && r.phones[0]
                .tx
                .as_ref()
                .is_some_and(|t| t.dest.is_some_and(|d| d.ip().is_loopback()))
            && r.phones[2..].iter().all(|p| {
                p.heard.last().is_some_and(|h| {
                    h.active
                        && h.rx.summary.packets > 50
                        && h.rx
                            .summary
                            .frequency_hz
                            .is_some_and(|f| (f - mic_hz).abs() < 15.0)
                })
            })
    });
    assert!(
        s.report().phones[1].heard.len() <= 1,
        "p002 is not in `pair`"
    );
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    s.wait_until("every phone released", |r| {
        listening(r) == 0 && !r.phones[0].transmitting
    });
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "talker": "nobody"})),
    );
    assert_eq!(st, 400);
    assert!(body["error"].as_str().unwrap().contains("talker"), "{body}");
}

#[test]
fn serve_refuses_a_public_url_whose_callbacks_would_be_https() {
    // Phones make their Notify callbacks over plain HTTP only: an https:// public URL used to
    // start and tell phones `Notify:http:HOST:443:...`, which no callback ever reached.
    let s = setup(2, "public_url = \"https://paging.example:8443\"\n");
    let out = s
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .env(TOKEN_ENV, TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("[server] public_url")
            && stderr.contains("https://paging.example:8443")
            && stderr.contains("plain HTTP"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[test]
fn a_hang_up_reaches_the_page_through_the_public_url() {
    // The callback address is built from `[server] public_url` (here the listen address by
    // another spelling: `localhost`), and a phone's stop comes back through it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = setup(2, &format!("public_url = \"http://localhost:{port}/\"\n"));
    let srv = Server::start_on(&s, &format!("127.0.0.1:{port}"));
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:800:60", "via": "media"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("both phones listening", |r| listening(r) == 2);
    assert!(s.hang_up("p002"));
    wait_for(&srv, "p002 stopped by user", 15, || {
        let (_, v) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
        phone_states(&v["page"])
            .iter()
            .any(|(n, st)| n == "p002" && st == "stopped_by_user")
            .then_some(v)
    });
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
}

/// A page's stop that cannot reach a phone (its link cut as the page is stopped) leaves the
/// phone tuned to a stream that no longer comes, refusing every later page as "already
/// active". The running server sends that stop again until the phone takes it: once the link
/// is back, the phone stops, the recovery is listed, and the next page reaches it.
#[test]
fn a_stop_that_could_not_reach_a_phone_is_sent_again_when_it_can() {
    let s = setup(2, "");
    let text = std::fs::read_to_string(s.path("zonecast.toml")).expect("config");
    // Each phone reached through a link of its own; the test cuts p001's.
    let (linked, links) = common::serve_node::through_links(&text);
    let link = &links[0];
    std::fs::write(s.path("zonecast.toml"), linked).expect("config");
    let srv = Server::start(&s);
    let page = |source: &str| {
        let (st, v) = api(
            &srv,
            "POST",
            "/api/pages",
            Some(json!({"zone": "all", "source": source})),
        );
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };
    let id = page("tone:600:60");
    s.wait_until("both phones listening", |r| listening(r) == 2);

    link.cut();
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    let ended = wait_for(&srv, "the page ended", 10, || {
        let (st, v) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
        (st == 200 && v["active"] == false).then_some(v)
    });
    let states: Vec<&str> = ended["page"]["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .filter_map(|o| o["state"].as_str())
        .collect();
    assert!(states.contains(&"stopped"), "{ended}");
    assert!(states.iter().any(|s| *s != "stopped"), "{ended}");
    // p001 plays on: its stop did not get through, and the cut lasts a few retries.
    std::thread::sleep(Duration::from_secs(4));
    let p001 = s.phone("p001");
    assert!(
        p001.heard.last().is_some_and(|h| h.active),
        "p001 stopped through a cut link"
    );
    assert!(!s.phone("p002").heard.last().is_some_and(|h| h.active));

    link.restore();
    // The retry waits at most 30 s after the last (1, 2, 4, 8 s so far).
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while s.phone("p001").heard.last().is_some_and(|h| h.active) {
        assert!(
            std::time::Instant::now() < deadline,
            "p001 never stopped\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // (Listed once every stop of that round has answered.)
    wait_for(&srv, "p001's recovery listed", 10, || {
        let (_, rec) = api(&srv, "GET", "/api/recoveries", None);
        rec["recoveries"]
            .as_array()
            .expect("recoveries")
            .iter()
            .any(|r| r["page"] == id.as_str() && r["phone"] == "p001" && r["stopped"] == true)
            .then_some(())
    });
    assert!(
        srv.log().contains("phone p001 stopped (page"),
        "{}",
        srv.log()
    );

    // The next page reaches both.
    let next = page("tone:700:60");
    s.wait_until("both phones listening again", |r| listening(r) == 2);
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{next}"), None);
    assert_eq!(st, 202);
    s.wait_until("no phone listening", |r| listening(r) == 0);
}
