//! Every field that comes from outside, fed hostile values: NUL and other control characters,
//! U+FFFE, lone surrogates in JSON escapes, 10 KB strings, right-to-left and emoji text, path
//! characters, negative, zero, huge and non-finite numbers. Each answer must be one of two:
//! refused at the edge (HTTP 4xx with a JSON error, exit 2) before anything is pushed, or
//! carried safely to the phones (the page runs, every phone takes it, a banner shows exactly as
//! sent). Never a 5xx, never a page that is accepted and then fails its phones.
//!
//! The fields are those the README and `openapi.json` list: `POST /api/pages` (zone, source,
//! banner, priority, duration, via, talker), the path and query parameters of the read routes,
//! the sound name of `PUT /api/sounds/{name}`, and the command line's `zonecast page` flags.

mod common;

use common::cli_setup::{PW_ENV, code, stderr};
use common::server::*;
use serde_json::{Value, json};
use zonecast::phone_sim::config::DEFAULT_PASSWORD;

/// Hostile text: what a careless or malicious client sends in a string field.
fn hostile_text() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "\u{0}",
        "a\u{0}b",
        "\u{7}bell",
        "\u{1b}[31mred",
        "tab\there",
        "line\nbreak",
        "\u{85}next line",
        "\u{FFFE}",
        "\u{FFFF}",
        "\u{202E}txet lanoitcerid",
        "שלום עולם",
        "📢🚨 Évacuation",
        "../../etc/passwd",
        "/etc/passwd",
        "a/b\\c",
        "%00%2e%2e",
        "<Text>&amp;]]>",
        "'\"",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("x".repeat(10 * 1024));
    v
}

/// Hostile numbers for a field the API reads as a number (JSON cannot carry NaN or infinities:
/// they arrive as strings or as overflowing literals).
fn hostile_numbers() -> Vec<&'static str> {
    vec![
        "-1",
        "0",
        "-0.0",
        "1e-300",
        "0.0000000001",
        "1e308",
        "1e999",
        "-1e999",
        "18446744073709551616",
        "\"NaN\"",
        "\"Infinity\"",
        "\"5\"",
        "null",
        "true",
        "[]",
    ]
}

/// A page that was accepted must reach every phone: wait until each phone answered its start
/// (and its banner, when `banner`), stop the page, and check that no phone failed. Returns the
/// phones' live report lines.
fn accepted_page_reaches_every_phone(
    srv: &Server,
    body: &Value,
    what: &str,
    banner: bool,
) -> Vec<Value> {
    let id = body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {body}"))
        .to_owned();
    let live = wait_for(srv, "the page's phones to answer", 20, || {
        let (_, v) = api(srv, "GET", &format!("/api/pages/{id}"), None);
        if v["active"] == false {
            return Some(Vec::new()); // over already (a short duration): judged below
        }
        let phones = v["page"]["report"]["phones"].as_array()?.clone();
        let answered = phones.iter().all(|p| {
            p["state"] != "starting"
                && (!banner || !p["banner"].is_null() || !p["failure"].is_null())
        });
        (!phones.is_empty() && answered).then_some(phones)
    });
    let (st, _) = api(srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert!(st == 202 || st == 404, "{what}: stop answered {st}");
    let done = wait_for(srv, "the page to end", 20, || {
        let (st, v) = api(srv, "GET", &format!("/api/pages/{id}"), None);
        (st == 200 && v["active"] == false).then_some(v)
    });
    let outcomes = done["page"]["outcomes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!outcomes.is_empty(), "{what}: {done}");
    for o in &outcomes {
        assert!(
            o["failure"].is_null() && o["state"] == "stopped",
            "{what}: accepted at the edge, then failed a phone: {o}"
        );
    }
    for p in &live {
        assert!(
            p["failure"].is_null() && p["accepted"] == true,
            "{what}: accepted at the edge, then failed a phone: {p}"
        );
    }
    live
}

fn refused(st: u16, body: &Value, what: &str) -> bool {
    assert!(st < 500, "{what}: a server error {st}: {body}");
    if (400..500).contains(&st) {
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: a refusal says why: {body}"
        );
        return true;
    }
    false
}

#[test]
fn every_page_field_is_refused_at_the_edge_or_reaches_every_phone() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let base = json!({"zone": "first", "source": "tone:440:30"});
    let mut carried = Vec::new();
    for field in ["zone", "source", "banner", "priority", "via", "talker"] {
        for value in hostile_text() {
            let mut body = base.clone();
            body[field] = json!(value);
            if field == "talker" {
                body.as_object_mut().unwrap().remove("source");
            }
            let what = format!("{field} = {:?}", truncate(&value));
            let pushes_before = s.report().totals.pushes;
            let (st, answer) = api(&srv, "POST", "/api/pages", Some(body));
            if refused(st, &answer, &what) {
                assert_eq!(
                    s.report().totals.pushes,
                    pushes_before,
                    "{what}: refused, yet something was pushed"
                );
                continue;
            }
            assert_eq!(st, 201, "{what}: {answer}");
            let phones = accepted_page_reaches_every_phone(&srv, &answer, &what, field == "banner");
            if field == "banner" {
                for p in &phones {
                    assert_eq!(p["banner"], "ok", "{what}: the banner was shown: {p}");
                }
            }
            carried.push(what);
        }
    }
    // The text phones can show is carried, not refused for being unusual.
    for expected in ["banner = \"שלום עולם\"", "banner = \"📢🚨 Évacuation\""] {
        assert!(
            carried.iter().any(|c| c == expected),
            "{expected} was refused; carried: {carried:?}"
        );
    }
    // The refusals name the field and the character.
    let (st, answer) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "first", "source": "chime", "banner": "a\u{0}b\u{7}c"})),
    );
    assert_eq!(st, 400, "{answer}");
    let e = answer["error"].as_str().unwrap();
    assert!(e.contains("banner") && e.contains("U+0000"), "{e}");
    assert_eq!(listening(&s.report()), 0, "every phone released");
}

#[test]
fn numbers_and_raw_json_are_refused_at_the_edge_or_carried() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    for n in hostile_numbers() {
        let raw = format!(r#"{{"zone":"first","source":"tone:440:30","duration":{n}}}"#);
        let what = format!("duration = {n}");
        let (st, answer) = call_raw(
            "POST",
            &format!("{}/api/pages", srv.url),
            Some(TOKEN),
            Some(raw.into_bytes()),
            "application/json",
        );
        if !refused(st, &answer, &what) {
            assert_eq!(st, 201, "{what}: {answer}");
            accepted_page_reaches_every_phone(&srv, &answer, &what, false);
        }
    }
    // Lone surrogates in JSON escapes, a reversed pair, and bodies that are not an object.
    let pushes_before = s.report().totals.pushes;
    for raw in [
        r#"{"zone":"first","source":"chime","banner":"\ud800"}"#,
        r#"{"zone":"first","source":"chime","banner":"\udc00\ud800"}"#,
        r#"{"zone":"\ud83d","source":"chime"}"#,
        r#"{"zone":"first","source":"chime","extra":1}"#,
        r#"["first"]"#,
        "",
        "\u{0}",
    ] {
        let (st, answer) = call_raw(
            "POST",
            &format!("{}/api/pages", srv.url),
            Some(TOKEN),
            Some(raw.as_bytes().to_vec()),
            "application/json",
        );
        assert!(refused(st, &answer, raw), "{raw}: accepted ({st}) {answer}");
    }
    assert_eq!(
        s.report().totals.pushes,
        pushes_before,
        "nothing refused was pushed"
    );
}

#[test]
fn path_and_query_parameters_never_cost_a_server_error() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let enc = |v: &str| -> String {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    for value in hostile_text() {
        let e = enc(&value);
        for path in [
            format!("/api/pages/{e}"),
            format!("/api/history/{e}"),
            format!("/api/phones/{e}"),
        ] {
            if e.is_empty() {
                continue;
            }
            let (st, answer) = api(&srv, "GET", &path, None);
            assert!(
                st == 404 || st == 400,
                "GET {}: {st} {answer}",
                truncate(&path)
            );
        }
        for path in [
            format!("/api/history?limit={e}"),
            format!("/api/bells?n={e}"),
            format!("/api/bells/history?limit={e}"),
        ] {
            let (st, answer) = api(&srv, "GET", &path, None);
            assert!(
                st == 200 || st == 400,
                "GET {}: {st} {answer}",
                truncate(&path)
            );
        }
        if !e.is_empty() {
            let (st, answer) = call_raw(
                "PUT",
                &format!("{}/api/sounds/{e}", srv.url),
                Some(TOKEN),
                Some(b"RIFF....WAVE".to_vec()),
                "audio/wav",
            );
            assert!(
                (400..500).contains(&st),
                "PUT /api/sounds/{}: {st} {answer}",
                truncate(&e)
            );
        }
    }
    // The phones' own routes: the Authentication URL and the callbacks take outside text too.
    for value in hostile_text() {
        let e = enc(&value);
        let url = format!(
            "{}/authenticate?UserID={e}&Password={e}&devicename={e}",
            srv.url
        );
        let (st, answer) = call("GET", &url, None, None);
        assert!(
            st < 500,
            "GET /authenticate with {:?}: {st} {answer}",
            truncate(&value)
        );
        let form = format!("UserID={e}&Password={e}&devicename={e}").into_bytes();
        let (st, answer) = call_raw(
            "POST",
            &format!("{}/authenticate", srv.url),
            None,
            Some(form),
            "application/x-www-form-urlencoded",
        );
        assert!(
            st < 500,
            "POST /authenticate with {:?}: {st} {answer}",
            truncate(&value)
        );
        let key = if e.is_empty() {
            "k".to_owned()
        } else {
            e.clone()
        };
        let (st, answer) = call_raw(
            "POST",
            &format!("{}/zonecast/notify/{key}", srv.url),
            None,
            Some(format!("DATA={e}").into_bytes()),
            "application/x-www-form-urlencoded",
        );
        assert!(
            st < 500,
            "POST /zonecast/notify with {:?}: {st} {answer}",
            truncate(&value)
        );
    }
    for n in ["-1", "0", "99999999999999999999999", "NaN", "1e3", "1.5"] {
        for path in [
            format!("/api/history?limit={n}"),
            format!("/api/bells?n={n}"),
        ] {
            let (st, answer) = api(&srv, "GET", &path, None);
            assert!(st == 200 || st == 400, "GET {path}: {st} {answer}");
        }
    }
    // Counts outside the documented range are refused, not silently cut to it.
    for (path, name) in [
        ("/api/history?limit=0", "limit"),
        ("/api/history?limit=1001", "limit"),
        ("/api/bells/history?limit=5000", "limit"),
        ("/api/bells?n=501", "n"),
    ] {
        let (st, answer) = api(&srv, "GET", path, None);
        assert_eq!(st, 400, "GET {path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(name),
            "{answer}"
        );
    }
    let (st, _) = api(&srv, "GET", "/api/history?limit=1000", None);
    assert_eq!(st, 200, "the largest documented count is accepted");
    let (st, _) = api(&srv, "GET", "/healthz", None);
    assert_eq!(st, 200, "the server is alive");
}

#[test]
fn the_command_line_refuses_hostile_flags_with_exit_2_and_pushes_nothing() {
    let s = setup(2, "");
    // An argument cannot carry NUL (the operating system ends the string there).
    for value in hostile_text().into_iter().filter(|v| !v.contains('\0')) {
        for (flag, carried_ok) in [("--text", true), ("--priority", false)] {
            let out = s.run(&[
                "page",
                "--zone",
                "all",
                "--tone",
                "440",
                "--duration",
                "1",
                flag,
                &value,
                "--dry-run",
            ]);
            let what = format!("{flag} {:?}", truncate(&value));
            match code(&out) {
                Some(2) => assert!(!stderr(&out).trim().is_empty(), "{what}: says why"),
                Some(0) if carried_ok => {
                    let xml = String::from_utf8_lossy(&out.stdout);
                    assert!(!xml.contains("not paged"), "{what}: {xml}");
                    assert!(
                        !xml.contains("banner refused"),
                        "{what}: accepted, then dropped: {xml}"
                    );
                }
                other => panic!("{what}: exit {other:?}: {}", stderr(&out)),
            }
        }
    }
    for n in hostile_numbers() {
        let n = n.trim_matches('"');
        let out = s.run(&[
            "page",
            "--zone",
            "all",
            "--tone",
            "440",
            "--duration",
            n,
            "--dry-run",
        ]);
        assert!(
            matches!(code(&out), Some(0) | Some(2)),
            "--duration {n}: exit {:?}: {}",
            code(&out),
            stderr(&out)
        );
    }
    assert_eq!(s.report().totals.pushes, 0);
    assert!(s.journal().is_empty(), "nothing journaled");
}

#[test]
fn config_text_is_refused_at_load_naming_the_key_or_carried() {
    let s = setup(2, "");
    let original = std::fs::read_to_string(s.path("zonecast.toml")).unwrap();
    assert!(original.contains("banner = \"Announcement\""), "{original}");
    let message = "[[message]]\nname = \"drill\"\nsource = \"chime\"\nzones = [\"all\"]\n";
    for value in hostile_text() {
        // serde_json's string escapes are TOML basic-string escapes too (\u0000 ...).
        let quoted = serde_json::to_string(&value).unwrap();
        for (key, text) in [
            (
                "banner",
                original.replace("banner = \"Announcement\"", &format!("banner = {quoted}")),
            ),
            ("title", format!("{original}\n{message}title = {quoted}\n")),
        ] {
            let path = s.path("hostile.toml");
            std::fs::write(&path, &text).unwrap();
            let out = common::zonecast()
                .args(["page", "--zone", "all", "--tone", "440", "--duration", "1"])
                .args(["--dry-run", "--config"])
                .arg(&path)
                .env(PW_ENV, DEFAULT_PASSWORD)
                .output()
                .unwrap();
            let what = format!("{key} = {}", truncate(&quoted));
            match code(&out) {
                Some(2) => {
                    let err = stderr(&out);
                    assert!(
                        err.contains("hostile.toml") && err.contains(key),
                        "{what}: the error names the file and key: {err}"
                    );
                }
                Some(0) => {
                    let xml = String::from_utf8_lossy(&out.stdout);
                    assert!(!xml.contains("not paged"), "{what}: {xml}");
                    assert!(!xml.contains("banner refused"), "{what}: {xml}");
                }
                other => panic!("{what}: exit {other:?}: {}", stderr(&out)),
            }
        }
    }
    assert_eq!(s.report().totals.pushes, 0);
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
