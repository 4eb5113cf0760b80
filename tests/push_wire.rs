//! The push client against a raw TCP server standing in for a phone: the exact bytes on the
//! wire (request line, headers, auth, body) and every way a phone can fail to answer.

mod common;

use std::time::{Duration, Instant};

use common::fake_phone::{Behaviour, fake_phone, find};

use zonecast::push::{Phone, PushClient, PushConfig, Secret, TransportError};

fn phone(host: &str) -> Phone {
    Phone {
        name: "desk-1".into(),
        host: host.into(),
        user: "pager".into(),
        password: Secret::new("s3cr3t-pw"),
        https: false,
    }
}

fn quick() -> PushConfig {
    PushConfig {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        retries: 2,
        backoff: Duration::from_millis(20),
        ..PushConfig::default()
    }
}

const XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><CiscoIPPhoneExecute><ExecuteItem Priority=\"0\" URL=\"RTPMRx:239.1.1.1:20480:80\"/></CiscoIPPhoneExecute>";

#[tokio::test]
async fn the_request_on_the_wire_is_what_phones_accept() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, "<CiscoIPPhoneResponse/>")).await;
    let client = PushClient::new(quick()).unwrap();
    let reply = client.post_execute(&phone(&addr), XML, None).await.unwrap();
    assert_eq!(reply.status, 200);
    let req = seen.lock().unwrap()[0].clone();
    let end = find(&req, b"\r\n\r\n").unwrap();
    let head = String::from_utf8(req[..end].to_vec()).unwrap();
    let body = &req[end + 4..];
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("POST /CGI/Execute HTTP/1.1"));
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let get = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(get("content-length"), Some(body.len().to_string().as_str()));
    assert_eq!(get("expect"), None, "no Expect: 100-continue");
    assert_eq!(get("transfer-encoding"), None, "no chunking");
    // Basic auth of pager:s3cr3t-pw.
    assert_eq!(get("authorization"), Some("Basic cGFnZXI6czNjcjN0LXB3"));
    // The body is one form field, XML, carrying the object exactly.
    let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    assert_eq!(fields, vec![("XML".to_string(), XML.to_string())]);
    assert!(body.starts_with(b"XML=%3C%3Fxml"));
}

#[tokio::test]
async fn http_status_and_body_come_back_as_they_are() {
    let (addr, _) = fake_phone(Behaviour::Reply(401, "")).await;
    let client = PushClient::new(quick()).unwrap();
    let r = client.post_execute(&phone(&addr), XML, None).await.unwrap();
    assert_eq!(r.status, 401);
    let (addr, _) = fake_phone(Behaviour::Reply(200, "<CiscoIPPhoneError Number=\"4\"/>")).await;
    let r = client
        .get(&phone(&addr), "/DeviceInformationX")
        .await
        .unwrap();
    assert_eq!(r.body, b"<CiscoIPPhoneError Number=\"4\"/>");
}

#[tokio::test]
async fn a_closed_port_is_unreachable_after_bounded_retries() {
    // Bind then drop: nothing listens there now.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let client = PushClient::new(quick()).unwrap();
    let t = Instant::now();
    let e = client
        .post_execute(&phone(&addr), XML, None)
        .await
        .unwrap_err();
    // Nothing listens: nothing reached the phone (so a page need not send it a stop).
    assert!(matches!(e, TransportError::NotConnected(_)), "{e:?}");
    // Two retries with 20 + 40 ms backoff, then give up: bounded.
    assert!(t.elapsed() >= Duration::from_millis(60) && t.elapsed() < Duration::from_secs(5));
    assert!(
        !format!("{e} {e:?}").contains("s3cr3t"),
        "no password in errors"
    );
}

#[tokio::test]
async fn a_phone_that_hangs_times_out_and_is_retried() {
    let (addr, seen) = fake_phone(Behaviour::Hang).await;
    let client = PushClient::new(quick()).unwrap();
    let e = client
        .post_execute(&phone(&addr), XML, None)
        .await
        .unwrap_err();
    assert_eq!(e, TransportError::Timeout);
    assert_eq!(seen.lock().unwrap().len(), 3, "first try plus two retries");
}

/// A stream's start must not run twice: after a timeout or a broken answer (the phone may have
/// executed it) there is no retry; only a connection never made is tried again.
#[tokio::test]
async fn a_start_is_not_retried_when_the_phone_may_have_run_it() {
    let client = PushClient::new(quick()).unwrap();
    for b in [Behaviour::Hang, Behaviour::Reset] {
        let (addr, seen) = fake_phone(b).await;
        let e = client
            .post_execute_once(&phone(&addr), XML, None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, TransportError::Timeout | TransportError::Unreachable(_)),
            "{e:?}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1, "no second start");
    }
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let t = Instant::now();
    let e = client
        .post_execute_once(&phone(&closed), XML, None)
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::NotConnected(_)), "{e:?}");
    assert!(
        t.elapsed() >= Duration::from_millis(60),
        "retried with backoff"
    );
}

#[tokio::test]
async fn a_reset_mid_response_and_a_huge_response_are_errors_not_hangs() {
    let client = PushClient::new(quick()).unwrap();
    let (addr, _) = fake_phone(Behaviour::Reset).await;
    let e = client
        .post_execute(&phone(&addr), XML, None)
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::Unreachable(_)), "{e:?}");
    let (addr, _) = fake_phone(Behaviour::Huge).await;
    let e = client
        .post_execute(&phone(&addr), XML, None)
        .await
        .unwrap_err();
    assert_eq!(e, TransportError::TooLarge);
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn https_without_tls_support_is_refused_before_sending() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, "")).await;
    let mut p = phone(&addr);
    p.https = true;
    let client = PushClient::new(quick()).unwrap();
    let e = client.post_execute(&p, XML, None).await.unwrap_err();
    assert!(matches!(e, TransportError::Unsupported(_)));
    assert!(seen.lock().unwrap().is_empty());
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn https_phones_get_the_same_request_encrypted() {
    let (addr, seen) = common::fake_phone::fake_tls_phone("<CiscoIPPhoneResponse/>").await;
    let mut p = phone(&addr);
    p.https = true;
    let client = PushClient::new(quick()).unwrap();
    let reply = client.post_execute(&p, XML, None).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"<CiscoIPPhoneResponse/>");
    // What the phone decrypted is the same request as over plain HTTP.
    let req = seen.lock().unwrap()[0].clone();
    let head = String::from_utf8_lossy(&req[..find(&req, b"\r\n\r\n").unwrap()]).to_string();
    assert!(head.starts_with("POST /CGI/Execute HTTP/1.1"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: basic cgfnzxi6cznjcjn0lxb3")
    );
    // And a plain-HTTP client to the same port does not get an answer it can read.
    let mut plain = phone(&addr);
    plain.https = false;
    assert!(client.post_execute(&plain, XML, None).await.is_err());
}

/// A document whose form-encoded body (`XML=` and the percent-encoded document) is `len` bytes.
fn document_of_body(len: usize) -> String {
    let doc = |n: usize| {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><CiscoIPPhoneText><Text>{}</Text></CiscoIPPhoneText>",
            "a".repeat(n)
        )
    };
    let fixed = zonecast::xsi::object::form_encoded_len(&doc(0));
    doc(len - fixed)
}

#[tokio::test]
async fn a_body_over_40_kb_once_form_encoded_is_refused_before_sending() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, "<CiscoIPPhoneResponse/>")).await;
    let client = PushClient::new(quick()).unwrap();
    // At the limit: sent, and the body on the wire is exactly 40960 bytes.
    let at_limit = document_of_body(40960);
    client
        .post_execute(&phone(&addr), &at_limit, None)
        .await
        .unwrap();
    let req = seen.lock().unwrap()[0].clone();
    let body = &req[find(&req, b"\r\n\r\n").unwrap() + 4..];
    assert_eq!(body.len(), 40960);
    // One byte more: refused, naming the object and the rule; nothing reaches the phone.
    let e = client
        .post_execute(&phone(&addr), &document_of_body(40961), None)
        .await
        .unwrap_err();
    let TransportError::Refused(invalid) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(invalid.field, "CiscoIPPhoneText POST body size");
    assert_eq!(invalid.value, "40961 bytes");
    assert!(invalid.rule.contains("percent-encoded") && invalid.rule.contains("40960"));
    assert!(!e.is_transient());
    assert!(e.to_string().starts_with("not sent: "), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_37_kb_menu_is_refused_by_the_client_as_a_phone_would_refuse_it() {
    use zonecast::xsi::object::{Menu, MenuItem, Target, XmlObject};
    let (addr, seen) = fake_phone(Behaviour::Reply(200, "<CiscoIPPhoneResponse/>")).await;
    // Markup-heavy names: every '<' is 4 bytes of XML and 8 once percent-encoded.
    let mut menu = Menu::new();
    for i in 0..100 {
        let name = format!("{i:02}{}", "<>".repeat(20));
        let url = format!("http://srv/zone?id={i}&x={}", "a".repeat(120));
        menu = menu.item(MenuItem::new(&name, &url).unwrap()).unwrap();
    }
    let xml = menu.to_xml();
    assert!((30_000..40_960).contains(&xml.len()), "{}", xml.len());
    let e = menu.to_xml_checked(Target::Phone).unwrap_err();
    assert_eq!(e.field, "CiscoIPPhoneMenu POST body size");
    let client = PushClient::new(quick()).unwrap();
    let e = client
        .post_execute(&phone(&addr), &xml, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, TransportError::Refused(i) if i.field == "CiscoIPPhoneMenu POST body size"),
        "{e:?}"
    );
    assert!(seen.lock().unwrap().is_empty());
    // Judged as an outcome: not sent, and saying why.
    let outcome = client.execute(&phone(&addr), &xml, None, true).await;
    assert!(!outcome.is_ok());
    assert!(
        format!("{outcome:?}").contains("POST body size"),
        "{outcome:?}"
    );
}
