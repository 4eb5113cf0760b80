//! Emulated phones send application events: an object whose root names its application
//! (`appId`) and Notify handlers (`onAppFocusLost` ...) gets `notifyApplicationEvent` POSTs
//! when it loses or regains the focus, is minimized or closed. A small services server on
//! 127.0.0.1 serves the objects and records the callbacks; everything goes over real HTTP.

mod common;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::sim::{addressed, eventually, execute, push_xml, start};

/// What the server serves and what it received: (path, body) of every callback.
#[derive(Clone)]
struct Srv {
    port: u16,
    notified: Arc<Mutex<Vec<(String, String)>>>,
}

impl Srv {
    fn notified(&self) -> Vec<(String, String)> {
        self.notified.lock().unwrap().clone()
    }
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// Service A: application "pager", a handler per event (each to its own path).
async fn service_a(State(s): State<Srv>) -> Response {
    let h = |event: &str| format!("Notify:http:127.0.0.1:{}:notify/{event}", s.port);
    xml(format!(
        "<CiscoIPPhoneText appId=\"pager\" onAppFocusLost=\"{}\" onAppFocusGained=\"{}\" \
         onAppMinimized=\"{}\" onAppClosed=\"{}\">\
         <Title>Pager</Title><Text>Paging console</Text>\
         <SoftKeyItem><Name>Next</Name><URL>/b</URL><Position>1</Position></SoftKeyItem>\
         <SoftKeyItem><Name>Exit</Name><URL>SoftKey:Exit</URL><Position>3</Position></SoftKeyItem>\
         </CiscoIPPhoneText>",
        h("lost"),
        h("gained"),
        h("minimized"),
        h("closed"),
    ))
}

/// Service B: no application.
async fn service_b() -> Response {
    xml(
        "<CiscoIPPhoneText><Title>Other</Title><Text>Not the pager</Text>\
         <SoftKeyItem><Name>Back</Name><URL>SoftKey:Back</URL><Position>1</Position></SoftKeyItem>\
         </CiscoIPPhoneText>"
            .to_owned(),
    )
}

async fn notify(State(s): State<Srv>, Path(event): Path<String>, body: Bytes) -> &'static str {
    s.notified
        .lock()
        .unwrap()
        .push((event, String::from_utf8_lossy(&body).into_owned()));
    "OK"
}

async fn server() -> (String, Srv) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let srv = Srv {
        port: addr.port(),
        notified: Arc::default(),
    };
    let app = Router::new()
        .route("/a", get(service_a))
        .route("/b", get(service_b))
        .route("/notify/{event}", post(notify))
        .with_state(srv.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), srv)
}

fn event(path: &str, kind: &str) -> (String, String) {
    (
        path.to_owned(),
        format!("DATA=<notifyApplicationEvent appId=\"pager\" type=\"{kind}\"/>"),
    )
}

/// Wait until the server has `n` callbacks, then return them all.
async fn callbacks(srv: &Srv, n: usize, what: &str) -> Vec<(String, String)> {
    eventually(20, what, async || {
        let got = srv.notified();
        (got.len() >= n).then_some(got)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn focus_minimize_and_close_send_notify_application_events() {
    let (base, srv) = server().await;
    let fleet = start(addressed(1, "CP-8865")).await;
    let phone = fleet.phones()[0].clone();
    let name = phone.name.as_str();
    let mut expected = Vec::new();

    // Open A: the phone notes its application and handlers; nothing is sent yet.
    let view = fleet
        .open_service(name, &format!("{base}/a"))
        .await
        .unwrap();
    assert_eq!(view.app_id.as_deref(), Some("pager"));
    let attrs: Vec<&str> = view.app_events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        attrs,
        [
            "onAppFocusLost",
            "onAppFocusGained",
            "onAppMinimized",
            "onAppClosed"
        ]
    );
    assert!(view.app_events[3].1.ends_with(":notify/closed"));

    // Navigate to B (no appId): pager loses the focus.
    let b = fleet.softkey(name, "Next").await.unwrap().unwrap();
    assert_eq!(b.app_id, None);
    assert!(b.app_events.is_empty());
    expected.push(event("lost", "focusLost"));
    assert_eq!(callbacks(&srv, 1, "focusLost").await, expected);

    // Back to A: it gains the focus again.
    let a = fleet.softkey(name, "Back").await.unwrap().unwrap();
    assert_eq!(a.app_id.as_deref(), Some("pager"));
    expected.push(event("gained", "focusGained"));
    assert_eq!(callbacks(&srv, 2, "focusGained").await, expected);

    // The Applications key: minimized; the service leaves the screen.
    assert!(fleet.minimize(name));
    assert!(!fleet.minimize("no-such-phone"));
    assert!(fleet.service_view(name).is_none());
    expected.push(event("minimized", "minimized"));
    assert_eq!(callbacks(&srv, 3, "minimized").await, expected);

    // Open A again: back to the front (focusGained); Exit closes it.
    fleet
        .open_service(name, &format!("{base}/a"))
        .await
        .unwrap();
    expected.push(event("gained", "focusGained"));
    assert_eq!(
        callbacks(&srv, 4, "focusGained after minimize").await,
        expected
    );
    assert_eq!(fleet.softkey(name, "Exit").await.unwrap(), None);
    expected.push(event("closed", "closed"));
    assert_eq!(callbacks(&srv, 5, "closed by Exit").await, expected);

    // Open A once more (a new start: no event), then App:Close pushed while it is on screen.
    fleet
        .open_service(name, &format!("{base}/a"))
        .await
        .unwrap();
    let (status, reply) = push_xml(&phone, &execute(&["App:Close:0:60:pager"])).await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("Status=\"0\""), "{reply}");
    expected.push(event("closed", "closed"));
    assert_eq!(callbacks(&srv, 6, "closed by App:Close").await, expected);
    assert!(fleet.service_view(name).is_none());

    // Every callback was delivered, once.
    let report = eventually(20, "notifies counted", async || {
        let r = fleet.phone_report(name).unwrap();
        (r.notifies_delivered >= 6).then_some(r)
    })
    .await;
    assert_eq!(report.notifies_delivered, 6);
    assert_eq!(report.notifies_failed, 0);
    assert_eq!(report.counters.notifies, 6);
    assert_eq!(srv.notified(), expected);
    fleet.shutdown().await;
}
