//! `zonecast serve` answers as its own OpenAPI document says, over real HTTP on loopback: the
//! regressions of what schemathesis (`make schemathesis`, tests/schemathesis/run.py) found, each
//! checked against the document the server serves at `/openapi.json`.
//!
//! - `POST /api/pages` with JSON of the wrong shape (a missing or unknown field, a wrong type)
//!   answered axum's 422, which the document does not list; it is 400 now, like every other
//!   check of the body. A body not sent as JSON answers 415, which the document now lists.
//! - `GET /api/pages/{id}` says its `page` is oneOf ActivePage and PageDetail, but neither
//!   schema required anything, so every answer matched both; the schemas now require what the
//!   server always sends, so a running page (with a report) matches only ActivePage and an
//!   ended one (with outcomes) only PageDetail.

mod common;

use common::server::{Server, TOKEN, api, call, call_raw, setup, wait_for};
use serde_json::{Value, json};

/// The document as the server serves it.
fn document(srv: &Server) -> Value {
    let (st, doc) = call("GET", &format!("{}/openapi.json", srv.url), None, None);
    assert_eq!(st, 200, "{doc}");
    doc
}

/// The statuses the document lists for `method` on `path`.
fn documented(doc: &Value, path: &str, method: &str) -> Vec<u16> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not in the document"))
        .keys()
        .map(|k| k.parse().expect("numeric status"))
        .collect()
}

/// The `required` keys of a schema, following `$ref` and `allOf`.
fn required(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return required(doc, &doc["components"]["schemas"][name]);
    }
    let mut out: Vec<String> = schema["required"]
        .as_array()
        .map(|a| a.iter().map(|k| k.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(required(doc, part));
    }
    out
}

/// Whether `value` has every key the schema requires.
fn has_required(doc: &Value, schema: &Value, value: &Value) -> bool {
    required(doc, schema).iter().all(|k| value.get(k).is_some())
}

#[test]
fn a_page_body_of_the_wrong_shape_is_400_and_one_not_sent_as_json_is_415_as_documented() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let doc = document(&srv);
    let listed = documented(&doc, "/api/pages", "post");
    for (body, why) in [
        (json!({"source": "chime"}), "missing zone"),
        (
            json!({"zone": "all", "source": "chime", "loud": true}),
            "unknown field",
        ),
        (json!({"zone": 5, "source": "chime"}), "zone not a string"),
        (
            json!({"zone": "all", "source": "chime", "duration": "5"}),
            "duration a string",
        ),
        (json!(["all", "chime"]), "not an object"),
    ] {
        let (st, answer) = api(&srv, "POST", "/api/pages", Some(body.clone()));
        assert_eq!(st, 400, "{why}: {body} answered {st} {answer}");
        assert!(answer["error"].is_string(), "{why}: {answer}");
        assert!(listed.contains(&st), "{st} is not documented: {listed:?}");
    }
    // No content type at all, and one that is not JSON: 415, documented, JSON error.
    for content_type in [None, Some("text/plain")] {
        let (st, answer) = call_raw(
            "POST",
            &format!("{}/api/pages", srv.url),
            Some(TOKEN),
            content_type.map(|_| br#"{"zone":"all","source":"chime"}"#.to_vec()),
            content_type.unwrap_or("application/json"),
        );
        assert_eq!(st, 415, "{content_type:?}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
        assert!(listed.contains(&415), "415 is not documented: {listed:?}");
    }
    // Not JSON at all stays 400.
    let (st, answer) = call_raw(
        "POST",
        &format!("{}/api/pages", srv.url),
        Some(TOKEN),
        Some(b"{zone".to_vec()),
        "application/json",
    );
    assert_eq!(st, 400, "{answer}");
    assert_eq!(s.report().totals.pushes, 0, "nothing was paged");
}

#[test]
fn a_page_running_and_ended_each_matches_exactly_one_of_the_documented_schemas() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let doc = document(&srv);
    let one_of = doc["paths"]["/api/pages/{id}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["properties"]["page"]["oneOf"]
        .as_array()
        .expect("page is oneOf")
        .clone();
    assert_eq!(one_of.len(), 2, "{one_of:?}");
    let (active, detail) = (&one_of[0], &one_of[1]);
    assert_eq!(active["$ref"], "#/components/schemas/ActivePage");
    assert_eq!(detail["$ref"], "#/components/schemas/PageDetail");

    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "silence:30"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let (st, running) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 200, "{running}");
    assert_eq!(running["active"], true, "{running}");
    let page = &running["page"];
    assert!(
        has_required(&doc, active, page),
        "not an ActivePage: {page}"
    );
    assert!(
        !has_required(&doc, detail, page),
        "a running page also matches PageDetail: {page}"
    );

    let (st, body) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202, "{body}");
    let ended = wait_for(&srv, "the page to end", 20, || {
        let (st, b) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
        (st == 200 && b["active"] == false).then_some(b)
    });
    let page = &ended["page"];
    assert!(has_required(&doc, detail, page), "not a PageDetail: {page}");
    assert!(
        !has_required(&doc, active, page),
        "an ended page also matches ActivePage: {page}"
    );
    // The journal's own route answers the same PageDetail.
    let (st, journal) = api(&srv, "GET", &format!("/api/history/{id}"), None);
    assert_eq!(st, 200, "{journal}");
    assert!(has_required(&doc, detail, &journal), "{journal}");
}
