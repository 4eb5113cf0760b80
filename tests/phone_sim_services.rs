//! The emulated phones browse XML services like real ones: a small services server stands in
//! for the customer's, on 127.0.0.1, and the test drives phones through its menus with the
//! fleet's library calls and its control endpoint.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use zonecast::phone_sim::config::PhoneGroup;
use zonecast::phone_sim::faults::Faults;
use zonecast::phone_sim::{Fleet, Profile, SimConfig};

/// One request the services server saw.
#[derive(Debug, Clone)]
struct Hit {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: String,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Hit>>>);

impl Seen {
    fn hits(&self, path: &str) -> Vec<Hit> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
    fn last(&self, path: &str) -> Hit {
        self.hits(path)
            .pop()
            .unwrap_or_else(|| panic!("no request for {path}"))
    }
}

fn xml(extra: &[(header::HeaderName, String)], body: &str) -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body.to_owned(),
    )
        .into_response();
    for (k, v) in extra {
        r.headers_mut().append(k.clone(), v.parse().unwrap());
    }
    r
}

async fn services(
    State(seen): State<Seen>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    seen.0.lock().unwrap().push(Hit {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let cookie = |v: &str| (header::SET_COOKIE, v.to_owned());
    match uri.path() {
        "/svc/menu" => xml(
            &[cookie("session=s1; Path=/")],
            "<CiscoIPPhoneMenu><Title>Paging</Title><Prompt>Pick a zone</Prompt>\
             <MenuItem><Name>Lobby</Name><URL>http://127.0.0.1:1/never</URL></MenuItem>\
             <MenuItem><Name>Warehouse &amp; Dock</Name><URL>item2?zone=wh</URL></MenuItem>\
             </CiscoIPPhoneMenu>",
        ),
        "/svc/item2" => xml(
            &[
                cookie("c2=v2"),
                cookie("c3=v3"),
                cookie("c4=v4; Path=/"),
                cookie("c5=v5"),
                cookie(&format!("big={}", "x".repeat(300))),
            ],
            "<CiscoIPPhoneText><Title>Warehouse</Title><Text>Ready to page</Text>\
             <SoftKeyItem><Name>End</Name><URL>/end</URL><Position>1</Position></SoftKeyItem>\
             <SoftKeyItem><Name>Back</Name><URL>SoftKey:Back</URL><Position>2</Position></SoftKeyItem>\
             <SoftKeyItem><Name>Exit</Name><URL>SoftKey:Exit</URL><Position>3</Position></SoftKeyItem>\
             </CiscoIPPhoneText>",
        ),
        "/end" => xml(
            &[],
            "<CiscoIPPhoneInput><Title>Message</Title><Prompt>Enter text</Prompt>\
             <URL>/search?fixed=1</URL>\
             <InputItem><DisplayName>Text</DisplayName><QueryStringParam>q</QueryStringParam>\
             <DefaultValue></DefaultValue><InputFlags>A</InputFlags></InputItem>\
             <InputItem><DisplayName>Zone</DisplayName><QueryStringParam>zone</QueryStringParam>\
             <DefaultValue>3</DefaultValue><InputFlags>N</InputFlags></InputItem>\
             </CiscoIPPhoneInput>",
        ),
        "/postform" => xml(
            &[],
            "<CiscoIPPhoneInput><Title>Post</Title><URL method=\"post\">/postsink</URL>\
             <InputItem><DisplayName>Text</DisplayName><QueryStringParam>q</QueryStringParam>\
             <DefaultValue>d</DefaultValue><InputFlags>A</InputFlags></InputItem>\
             </CiscoIPPhoneInput>",
        ),
        "/search" => xml(
            &[(header::REFRESH, "1; url=/status2".to_owned())],
            "<CiscoIPPhoneText><Title>Sent</Title><Text>Paging now</Text></CiscoIPPhoneText>",
        ),
        "/refresh-cancelled" => xml(
            &[(header::REFRESH, "1; url=/never-refreshed".to_owned())],
            "<CiscoIPPhoneText><Text>soon</Text></CiscoIPPhoneText>",
        ),
        "/exp" => xml(
            &[(header::EXPIRES, "Thu, 01 Jan 1970 00:00:00 GMT".to_owned())],
            "<CiscoIPPhoneMenu><Title>Volatile</Title>\
             <MenuItem><Name>Go</Name><URL>/svc/item2</URL></MenuItem></CiscoIPPhoneMenu>",
        ),
        "/status2" | "/never-refreshed" | "/postsink" => xml(
            &[],
            "<CiscoIPPhoneText><Title>Status</Title><Text>All quiet</Text></CiscoIPPhoneText>",
        ),
        _ => (axum::http::StatusCode::NOT_FOUND, "no such page").into_response(),
    }
}

/// A services server on a free port; its base URL and what it saw.
async fn services_server() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new().fallback(services).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), seen)
}

fn group(name: &str, model: &str) -> PhoneGroup {
    PhoneGroup {
        count: 1,
        model: model.into(),
        prefix: "x".into(),
        name: Some(name.into()),
        faults: Faults::default(),
    }
}

async fn fleet() -> Fleet {
    let mut cfg = SimConfig::uniform(1, "CP-8865");
    cfg.groups = vec![
        group("color", "CP-8865"),
        group("grey", "CP-7841"),
        group("old", "CP-7942G"),
    ];
    Fleet::start(cfg).await.unwrap()
}

async fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_browses_menus_with_its_headers_cookies_softkeys_inputs_and_refresh() {
    let (base, seen) = services_server().await;
    let fleet = fleet().await;
    let color = fleet.phone("color").unwrap();
    let grey = fleet.phone("grey").unwrap();

    // 1. Open a menu: #DEVICENAME# expanded, every capability header sent.
    let view = fleet
        .open_service("color", &format!("{base}/svc/menu?name=#DEVICENAME#"))
        .await
        .unwrap();
    let hit = seen.last("/svc/menu");
    assert_eq!(hit.query.get("name"), Some(&color.device));
    assert!(color.device.starts_with("SEP") && color.device.len() == 15);
    let p8865 = Profile::for_model("CP-8865").unwrap();
    assert_eq!(hit.header("x-CiscoIPPhoneModelName"), Some("CP-8865"));
    assert_eq!(
        hit.header("x-CiscoIPPhoneDisplay"),
        Some(p8865.display.header_value().as_str())
    );
    assert_eq!(hit.header("x-CiscoIPPhoneDisplay"), Some("800, 480, 24, C"));
    assert_eq!(
        hit.header("x-CiscoIPPhoneSDKVersion"),
        Some(p8865.sdk_version.as_str())
    );
    assert_eq!(
        hit.header("accept"),
        Some(format!("x-CiscoIPPhone/*;version={}", p8865.sdk_version).as_str())
    );
    assert_eq!(hit.header("accept-language"), Some("en"));
    assert_eq!(hit.header("accept-charset"), Some("utf-8"));
    assert!(hit.header("user-agent").unwrap().contains("CP-8865"));
    assert_eq!(hit.header("cookie"), None);
    // The phone's own log of it agrees.
    let log = fleet.last_service_request("color").unwrap();
    assert_eq!(log.url, format!("{base}/svc/menu?name={}", color.device));
    assert_eq!(log.header("x-CiscoIPPhoneModelName"), Some("CP-8865"));

    assert_eq!(view.kind, "CiscoIPPhoneMenu");
    assert_eq!(view.status, 200);
    assert_eq!(view.title.as_deref(), Some("Paging"));
    assert_eq!(view.prompt.as_deref(), Some("Pick a zone"));
    assert_eq!(view.items.len(), 2);
    assert_eq!(view.items[1].name, "Warehouse & Dock");
    assert_eq!(
        view.items[1].url.as_deref(),
        Some(format!("{base}/svc/item2?zone=wh").as_str())
    );
    assert_eq!(view.charset.as_deref(), Some("utf-8"));
    // It is what the screen shows.
    let report = fleet.phone_report("color").unwrap();
    assert!(
        report.screen.iter().any(|l| l == "Paging"),
        "{:?}",
        report.screen
    );
    assert!(report.screen.iter().any(|l| l.contains("Warehouse & Dock")));
    assert_eq!(fleet.service_view("color").unwrap(), view);

    // A greyscale model says so.
    fleet
        .open_service("grey", &format!("{base}/svc/menu?name=#DEVICENAME#"))
        .await
        .unwrap();
    let grey_hit = seen.last("/svc/menu");
    assert_eq!(grey_hit.query.get("name"), Some(&grey.device));
    assert_eq!(grey_hit.header("x-CiscoIPPhoneModelName"), Some("CP-7841"));
    let grey_display = grey_hit.header("x-CiscoIPPhoneDisplay").unwrap();
    assert_eq!(
        grey_display,
        Profile::for_model("CP-7841")
            .unwrap()
            .display
            .header_value()
    );
    assert!(grey_display.ends_with('G'));
    assert_ne!(grey_display, hit.header("x-CiscoIPPhoneDisplay").unwrap());

    // 2. Select item 2: a relative URL, resolved; the session cookie goes back.
    let view = fleet.select("color", 2).await.unwrap();
    let hit = seen.last("/svc/item2");
    assert_eq!(hit.query.get("zone").map(String::as_str), Some("wh"));
    assert_eq!(hit.header("cookie"), Some("session=s1"));
    assert_eq!(view.kind, "CiscoIPPhoneText");
    assert_eq!(view.text.as_deref(), Some("Ready to page"));
    assert_eq!(
        view.softkeys
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>(),
        ["End", "Back", "Exit"]
    );
    // Four more cookies: the oldest (session) is evicted; the 300-byte one is dropped.
    let host = "127.0.0.1";
    let names: Vec<String> = fleet
        .service_cookies("color", host)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["c2", "c3", "c4", "c5"]);
    assert!(matches!(
        fleet.select("color", 9).await,
        Err(zonecast::phone_sim::BrowseError::NoItem { .. })
    ));

    // 3. The "End" soft key: its URL is fetched, with the cookies now kept.
    let view = fleet.softkey("color", "End").await.unwrap().unwrap();
    let hit = seen.last("/end");
    assert_eq!(hit.header("cookie"), Some("c2=v2; c3=v3; c4=v4; c5=v5"));
    assert_eq!(view.kind, "CiscoIPPhoneInput");
    assert_eq!(view.input_items.len(), 2);
    assert_eq!(view.input_items[1].default, "3");
    assert_eq!(
        view.input_url.as_deref(),
        Some(format!("{base}/search?fixed=1").as_str())
    );

    // 4. Submit: spaces, '&', '=' and non-ASCII arrive intact; the untouched field keeps its default.
    let message = "fire drill & exit = now é";
    let view = fleet.submit("color", &[("q", message)]).await.unwrap();
    let hit = seen.last("/search");
    assert_eq!(hit.query.get("q").map(String::as_str), Some(message));
    assert_eq!(hit.query.get("zone").map(String::as_str), Some("3"));
    assert_eq!(hit.query.get("fixed").map(String::as_str), Some("1"));
    assert_eq!(view.title.as_deref(), Some("Sent"));
    let refresh = view.refresh.clone().unwrap();
    assert_eq!(refresh.secs, 1);
    assert_eq!(refresh.url, format!("{base}/status2"));

    // 5. Refresh: 1; url=/status2 — the phone fetches it by itself.
    eventually(5, "the Refresh fetch of /status2", || {
        (!seen.hits("/status2").is_empty()).then_some(())
    })
    .await;
    let hit = seen.last("/status2");
    assert_eq!(hit.header("x-CiscoIPPhoneModelName"), Some("CP-8865"));
    eventually(3, "the refreshed screen", || {
        fleet
            .service_view("color")
            .filter(|v| v.url.ends_with("/status2"))
    })
    .await;
    // A new navigation cancels a pending Refresh.
    fleet
        .open_service("color", &format!("{base}/refresh-cancelled"))
        .await
        .unwrap();
    fleet
        .open_service("color", &format!("{base}/svc/menu"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert!(seen.hits("/never-refreshed").is_empty());

    // 6. Exit closes the service and clears the screen.
    fleet.select("color", 2).await.unwrap();
    assert_eq!(fleet.softkey("color", "Exit").await.unwrap(), None);
    assert!(fleet.service_view("color").is_none());
    let report = fleet.phone_report("color").unwrap();
    assert!(
        !report.screen.iter().any(|l| l == "Warehouse"),
        "{:?}",
        report.screen
    );

    // 7. Back: from the cache while fresh; an object that came already expired is fetched again.
    let menu_hits = seen.hits("/svc/menu").len();
    fleet
        .open_service("grey", &format!("{base}/svc/menu"))
        .await
        .unwrap();
    fleet.select("grey", 2).await.unwrap();
    let back = fleet.softkey("grey", "Back").await.unwrap().unwrap();
    assert!(back.from_cache);
    assert_eq!(back.title.as_deref(), Some("Paging"));
    assert_eq!(seen.hits("/svc/menu").len(), menu_hits + 1);
    fleet
        .open_service("grey", &format!("{base}/exp"))
        .await
        .unwrap();
    fleet.select("grey", 1).await.unwrap();
    let back = fleet.softkey("grey", "Back").await.unwrap().unwrap();
    assert!(!back.from_cache);
    assert_eq!(back.title.as_deref(), Some("Volatile"));
    assert_eq!(seen.hits("/exp").len(), 2);

    // 8. An Input with method="post": a form body, percent-encoded.
    fleet
        .open_service("grey", &format!("{base}/postform"))
        .await
        .unwrap();
    fleet.submit("grey", &[("q", "a b&c")]).await.unwrap();
    let hit = seen.last("/postsink");
    assert_eq!(hit.method, "POST");
    assert_eq!(hit.body, "q=a%20b%26c");
    assert_eq!(
        hit.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    // Language per phone; an old 79xx asks for Latin-1.
    assert!(fleet.set_accept_language(Some("old"), "de-DE"));
    fleet
        .open_service("old", &format!("{base}/svc/menu"))
        .await
        .unwrap();
    let hit = seen.last("/svc/menu");
    assert_eq!(hit.header("accept-language"), Some("de-DE"));
    assert_eq!(hit.header("accept-charset"), Some("iso-8859-1"));

    // A page that is not there: the phone's error line, no object.
    let view = fleet
        .open_service("old", &format!("{base}/nothing"))
        .await
        .unwrap();
    assert_eq!(view.status, 404);
    assert_eq!(view.error.as_deref(), Some("File Not Found"));
    let report = fleet.phone_report("old").unwrap();
    assert!(report.screen.iter().any(|l| l == "File Not Found"));

    // Hanging up still works next to browsing.
    assert!(fleet.hang_up("color"));
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_endpoint_drives_the_services_browser() {
    let (base, seen) = services_server().await;
    let mut fleet = fleet().await;
    let control = fleet
        .serve_control(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = async |path: &str, form: &[(&str, &str)]| -> (u16, serde_json::Value) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = client
            .post(format!("http://{control}/fleet/phones/{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    };

    let url = format!("{base}/svc/menu?name=#DEVICENAME#");
    let (status, view) = post("grey/service", &[("url", &url)]).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["kind"], "CiscoIPPhoneMenu");
    assert_eq!(view["items"][1]["name"], "Warehouse & Dock");
    let device = fleet.phone("grey").unwrap().device;
    assert_eq!(seen.last("/svc/menu").query.get("name"), Some(&device));

    let (status, view) = post("grey/select?item=2", &[]).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["title"], "Warehouse");

    let (status, view) = post("grey/softkey?name=End", &[]).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["kind"], "CiscoIPPhoneInput");
    assert_eq!(seen.hits("/end").len(), 1);

    let (status, view) = post("grey/submit", &[("q", "lunch & learn"), ("zone", "7")]).await;
    assert_eq!(status, 200, "{view}");
    let hit = seen.last("/search");
    assert_eq!(
        hit.query.get("q").map(String::as_str),
        Some("lunch & learn")
    );
    assert_eq!(hit.query.get("zone").map(String::as_str), Some("7"));
    assert_eq!(view["refresh"]["secs"], 1);

    // The phone's report carries the service.
    let report = client
        .get(format!("http://{control}/fleet/phones/grey"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report["service"]["kind"].is_string(), "{report}");

    // Errors: no such item, no such key, not an Input, no such phone.
    let (status, _) = post("grey/select?item=0", &[]).await;
    assert_eq!(status, 400);
    let (status, _) = post("grey/softkey?name=Nope", &[]).await;
    assert_eq!(status, 400);
    let (status, _) = post("grey/submit", &[("q", "x")]).await;
    assert_eq!(status, 400);
    let (status, _) = post("nobody/service", &[("url", &url)]).await;
    assert_eq!(status, 404);
    let (status, _) = post("grey/service", &[]).await;
    assert_eq!(status, 400);

    // Exit: null.
    post("grey/service", &[("url", &url)]).await;
    let (status, view) = post("grey/softkey?name=Exit", &[]).await;
    assert_eq!(status, 200);
    assert!(view.is_null(), "{view}");

    // The old routes still work.
    let r = client
        .post(format!("http://{control}/fleet/phones/grey/hangup"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    fleet.shutdown().await;
}
