//! The emulated phones are as strict as real ones, on the wire: they refuse what a phone
//! refuses, with the status and text a phone gives (the 40 KB body limit, objects over their
//! limits, ExecuteItem URLs over 256 characters, `App:` and `SendDigits:` failures, startMedia's
//! InvalidURL and InvalidResource, a Status fetched by GET, an Input POST on a model without
//! it), send a Notify URI's `data` as `DATA=...`, and serve the HTML device pages beside the
//! X pages. A small server on 127.0.0.1 serves objects and records callbacks.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::sim::{addressed, eventually, execute, get as get_page, post_raw, push_xml, start};
use zonecast::phone_sim::config::PhoneGroup;
use zonecast::push::{Phone, PushClient, PushConfig, TransportError};
use zonecast::xsi::response::{MediaErrorType, MediaReply, parse_execute_reply, parse_media_reply};

/// The callbacks a server received: (path, body).
type Notified = Arc<Mutex<Vec<(String, String)>>>;

async fn object(Path(name): Path<String>) -> Response {
    let body = match name.as_str() {
        "status" => "<CiscoIPPhoneStatus><Text>Bell</Text><Timer>0</Timer></CiscoIPPhoneStatus>",
        "input" => {
            "<CiscoIPPhoneInput><Title>Banner</Title><URL method=\"post\">/answer</URL>\
             <InputItem><DisplayName>Text</DisplayName><QueryStringParam>t</QueryStringParam>\
             <InputFlags>A</InputFlags></InputItem></CiscoIPPhoneInput>"
        }
        _ => "<CiscoIPPhoneText><Title>Hello</Title><Text>t</Text></CiscoIPPhoneText>",
    };
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

async fn notify(State(n): State<Notified>, Path(path): Path<String>, body: Bytes) -> &'static str {
    n.lock()
        .unwrap()
        .push((path, String::from_utf8_lossy(&body).into_owned()));
    ""
}

/// A services server: `/obj/{name}` serves objects, `/cb/{path}` records callbacks.
async fn server() -> (u16, Notified) {
    let notified = Notified::default();
    let app = Router::new()
        .route("/obj/{name}", get(object))
        .route("/cb/{path}", post(notify))
        .with_state(notified.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, notified)
}

fn is_error_1(body: &str) -> bool {
    body.trim() == "<CiscoIPPhoneError Number=\"1\"/>"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_40_kb_limit_is_on_the_form_encoded_body() {
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = &fleet.phones()[0];
    let text = "<CiscoIPPhoneText><Text>x</Text></CiscoIPPhoneText>";
    let base = zonecast::push::form_body(text).len();
    // Spaces after the root are allowed and travel as one byte ('+') each.
    let body = |len: usize| zonecast::push::form_body(&format!("{text}{}", " ".repeat(len - base)));
    let at_limit = body(40960);
    assert_eq!(at_limit.len(), 40960);
    let r = post_raw(p, at_limit).await.text().await.unwrap();
    assert!(r.contains("Status=\"0\""), "{r}");
    let r = post_raw(p, body(40961)).await.text().await.unwrap();
    assert!(is_error_1(&r), "{r}");
    // The push client counts the same bytes: what it sends at the limit, the phone takes; one
    // byte more, it does not send.
    let client = PushClient::new(PushConfig::default()).unwrap();
    let phone = Phone {
        name: p.name.clone(),
        host: p.addr.to_string(),
        user: p.user.clone(),
        password: p.password.clone(),
        https: false,
    };
    let doc = |len: usize| format!("{text}{}", " ".repeat(len - base));
    let reply = client
        .post_execute(&phone, &doc(40960), None)
        .await
        .unwrap();
    let reply = String::from_utf8(reply.body).unwrap();
    assert!(reply.contains("Status=\"0\""), "{reply}");
    let e = client
        .post_execute(&phone, &doc(40961), None)
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::Refused(_)), "{e:?}");
    assert_eq!(fleet.phone_report(&p.name).unwrap().counters.pushes, 3);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_over_their_limits_and_long_urls_are_refused_whole() {
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = &fleet.phones()[0];
    let item = "<MenuItem><Name>Zone</Name><URL>Key:Services</URL></MenuItem>";
    let menu = |n: usize| format!("<CiscoIPPhoneMenu>{}</CiscoIPPhoneMenu>", item.repeat(n));
    assert!(push_xml(p, &menu(100)).await.1.contains("Status=\"0\""));
    assert!(is_error_1(&push_xml(p, &menu(101)).await.1));
    let url = |n: usize| format!("http://127.0.0.1:9/{}", "u".repeat(n - 19));
    let (_, ok) = push_xml(p, &execute(&[&url(256)])).await;
    assert!(ok.contains("Status=\"0\""), "{ok}");
    assert!(is_error_1(&push_xml(p, &execute(&[&url(257)])).await.1));
    let title = format!(
        "<CiscoIPPhoneText><Title>{}</Title></CiscoIPPhoneText>",
        "t".repeat(33)
    );
    assert!(is_error_1(&push_xml(p, &title).await.1));
    let screen = fleet.phone_report(&p.name).unwrap().screen;
    assert!(
        screen.contains(&"XML Error [4]: Parse Error".to_owned()),
        "{screen:?}"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_send_digits_and_start_media_failures_say_what_a_phone_says() {
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = &fleet.phones()[0];
    let item = |body: &str, url: &str| {
        let reply = parse_execute_reply(body.as_bytes()).unwrap();
        let i = reply.item_for(url).unwrap().clone();
        (i.status, i.data)
    };
    let (_, r) = push_xml(p, &execute(&["App:Close:0:60:nobody"])).await;
    assert_eq!(
        item(&r, "App:Close:0:60:nobody"),
        (6, "Unknown Application ID".into())
    );
    let (_, r) = push_xml(p, &execute(&["SendDigits:1:1::Acme/Pager"])).await;
    assert_eq!(
        item(&r, "SendDigits:1:1::Acme/Pager"),
        (6, "No Active Call".into())
    );
    push_xml(p, &execute(&["Dial:5000:0:Acme/Pager:1"])).await;
    let (_, r) = push_xml(p, &execute(&["SendDigits:1:1::Acme/Other"])).await;
    assert_eq!(
        item(&r, "SendDigits:1:1::Acme/Other"),
        (6, "No Active Call for Application".into())
    );
    fleet.end_call(&p.name);
    let start_media = |on_stopped: &str, kind: &str| {
        format!(
            "<startMedia><mediaStream onStopped=\"{on_stopped}\"><type>{kind}</type>\
             <codec>G.711</codec><mode>receive</mode><address>127.0.0.1</address>\
             </mediaStream></startMedia>"
        )
    };
    for (on_stopped, kind, want) in [
        (
            "http://127.0.0.1/stopped",
            "audio",
            MediaErrorType::InvalidUrl,
        ),
        (
            "Notify:http:127.0.0.1:9:cb",
            "video",
            MediaErrorType::InvalidResource,
        ),
    ] {
        let (status, r) = push_xml(p, &start_media(on_stopped, kind)).await;
        let Ok(MediaReply::Error(e)) = parse_media_reply(r.as_bytes()) else {
            panic!("{r}");
        };
        assert_eq!((status, e.kind), (400, want), "{r}");
    }
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_data_goes_out_as_data() {
    let (port, notified) = server().await;
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = &fleet.phones()[0];
    let start_media = format!(
        "<startMedia><mediaStream onStopped=\"Notify:http:127.0.0.1:{port}:cb/stopped::myStreamStoppedData\">\
         <type>audio</type><codec>G.711</codec><mode>receive</mode><address>127.0.0.1</address>\
         </mediaStream></startMedia>"
    );
    let (status, r) = push_xml(p, &start_media).await;
    assert_eq!(status, 200, "{r}");
    assert!(fleet.hang_up(&p.name));
    let got = eventually(5, "the stopped callback", async || {
        let n = notified.lock().unwrap().clone();
        (!n.is_empty()).then_some(n)
    })
    .await;
    assert_eq!(
        got,
        [("stopped".to_owned(), "DATA=myStreamStoppedData".to_owned())]
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_is_never_fetched_and_an_input_posts_only_where_the_model_can() {
    let (port, _) = server().await;
    let mut cfg = addressed(1, "CP-8865");
    cfg.groups.push(PhoneGroup {
        count: 1,
        model: "CP-7965G".into(),
        prefix: "old".into(),
        name: None,
        faults: Default::default(),
    });
    let fleet = start(cfg).await;
    let (new, old) = (&fleet.phones()[0], &fleet.phones()[1]);
    let url = |name: &str| format!("http://127.0.0.1:{port}/obj/{name}");
    let unsupported = Some("XML Error [5]: Unsupported XML Object".to_owned());
    // Pushed as an HTTP URL or opened as a service: the Status is refused, no banner.
    let (_, r) = push_xml(new, &execute(&[&url("status")])).await;
    assert!(r.contains("Status=\"0\""), "{r}");
    eventually(5, "the error line", async || {
        let s = fleet.phone_report(&new.name).unwrap().screen;
        s.contains(&"XML Error [5]: Unsupported XML Object".to_owned())
            .then_some(())
    })
    .await;
    assert_eq!(fleet.phone_report(&new.name).unwrap().status_banner, None);
    let v = fleet.open_service(&new.name, &url("status")).await.unwrap();
    assert_eq!(v.error, unsupported);
    // The Input with method="post": fine on the 8865, refused on the 7965.
    let v = fleet.open_service(&new.name, &url("input")).await.unwrap();
    assert_eq!(v.error, None);
    let v = fleet.open_service(&old.name, &url("input")).await.unwrap();
    assert_eq!(v.error, unsupported);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_device_pages_beside_the_x_pages() {
    let fleet = start(addressed(1, "CP-7841")).await;
    let p = &fleet.phones()[0];
    push_xml(p, &execute(&["Key:VolUp"])).await;
    let (status, html) = get_page(p, "/EthernetInformation").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<TITLE>Ethernet Information</TITLE>"),
        "{html}"
    );
    let (status, html) = get_page(p, "/PortInformation?2").await;
    assert_eq!(status, 200);
    assert!(html.contains("<B>Access</B>"), "{html}");
    assert_eq!(get_page(p, "/PortInformation?9").await.0, 404);
    let (status, html) = get_page(p, "/DeviceLog?0").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<TITLE>Device Log</TITLE>") && html.contains("Key:VolUp"),
        "{html}"
    );
    assert_eq!(get_page(p, "/DeviceLog?3").await.0, 404);
    // The X pages are still there.
    assert_eq!(get_page(p, "/EthernetInformationX").await.0, 200);
    assert_eq!(get_page(p, "/PortInformationX?2").await.0, 200);
    fleet.shutdown().await;
}
