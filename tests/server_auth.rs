//! One-time credentials end to end, over real HTTP on 127.0.0.1: zonecast serve's
//! Authentication URL ([`AuthService::router`]), emulated phones that ask it (`auth_url`), and a
//! push client that mints credentials for every attempt.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use zonecast::phone_sim::{Fleet, SimConfig};
use zonecast::push::{Credentials, Phone, PushClient, PushConfig, PushOutcome, Secret};
use zonecast::server::auth::AuthService;

const XML: &str = "<CiscoIPPhoneExecute><ExecuteItem Priority=\"0\" URL=\"RTPRx:Stop\"/>\
                   </CiscoIPPhoneExecute>";

/// Serve `router` on a free port of 127.0.0.1.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A stand-in for CUCM's Authentication URL: `AUTHORIZED` (with the newline some servers add)
/// for user `cucm-user`, `UN-AUTHORIZED` for anyone else.
async fn upstream() -> SocketAddr {
    serve(Router::new().route(
        "/ccmcip/authenticate.jsp",
        post(|body: Bytes| async move {
            let user = form_urlencoded::parse(&body)
                .find(|(k, _)| k == "UserID")
                .map(|(_, v)| v.into_owned());
            if user.as_deref() == Some("cucm-user") {
                "AUTHORIZED\r\n"
            } else {
                "UN-AUTHORIZED"
            }
        }),
    ))
    .await
}

/// Hands out what the service mints, and remembers it.
struct Recording {
    inner: Arc<dyn Credentials>,
    seen: Mutex<Vec<(String, Secret)>>,
}

impl Credentials for Recording {
    fn mint(&self, phone: &Phone) -> Option<(String, Secret)> {
        let c = self.inner.mint(phone)?;
        self.seen.lock().unwrap().push(c.clone());
        Some(c)
    }
}

fn http() -> reqwest::Client {
    zonecast::push::client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// POST a form to `/authenticate`: the body, checked to be plain text.
async fn ask_form(addr: SocketAddr, fields: &[(&str, &str)]) -> String {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let r = http()
        .post(format!("http://{addr}/authenticate"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(r).await
}

/// GET `/authenticate` with the fields in the query.
async fn ask_query(addr: SocketAddr, fields: &[(&str, &str)]) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let r = http()
        .get(format!("http://{addr}/authenticate?{query}"))
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn answer(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain")
    );
    let body = r.text().await.unwrap();
    assert!(!body.ends_with('\n') && !body.ends_with('\r'), "{body:?}");
    body
}

fn quick() -> PushConfig {
    PushConfig {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        retries: 0,
        backoff: Duration::from_millis(20),
        ..PushConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_credentials_are_accepted_once_by_the_phones_authentication_url() {
    let up = upstream().await;
    let service = AuthService::new(
        Duration::from_secs(30),
        Some(format!("http://{up}/ccmcip/authenticate.jsp")),
    );
    let auth = serve(service.router()).await;

    let mut cfg = SimConfig::uniform(2, "CP-8851");
    cfg.auth_url = Some(format!("http://{auth}/authenticate"));
    let fleet = Fleet::start(cfg).await.unwrap();
    let info = fleet.phones()[0].clone();
    assert!(
        info.device.starts_with("SEP") && info.device.len() == 15,
        "{}",
        info.device
    );

    let recording = Arc::new(Recording {
        inner: service.credentials(),
        seen: Mutex::new(Vec::new()),
    });
    let client = PushClient::new(quick())
        .unwrap()
        .with_credentials(recording.clone());

    // The push: minted credentials bound to the phone's device name; the phone asks the URL,
    // which says AUTHORIZED.
    let target = Phone {
        password: Secret::minted_for(Some(&info.device)),
        user: "unused".into(),
        ..info.push_target()
    };
    let outcome = client.execute(&target, XML, None, true).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(service.minted(), 1);
    let (user, password) = recording.seen.lock().unwrap()[0].clone();
    assert!(user.starts_with("zc-"), "{user}");
    let report = fleet.phone_report(&info.name).unwrap();
    assert_eq!(report.counters.pushes, 1);
    assert_eq!(report.counters.auth_failures, 0);

    // A replay of the same credentials: UN-AUTHORIZED.
    let fields = [
        ("UserID", user.as_str()),
        ("Password", password.expose()),
        ("devicename", info.device.as_str()),
    ];
    assert_eq!(ask_form(auth, &fields).await, "UN-AUTHORIZED");
    assert_eq!(ask_query(auth, &fields).await, "UN-AUTHORIZED");

    // The phone itself refuses a replay of the header (CiscoIPPhoneError 4 on an 8851).
    let replay = Phone {
        user: user.clone(),
        password: password.clone(),
        ..info.push_target()
    };
    let plain = PushClient::new(quick()).unwrap();
    assert_eq!(
        plain.execute(&replay, XML, None, true).await,
        PushOutcome::AuthFailed
    );

    // Every attempt gets fresh credentials: a second push mints again and succeeds.
    assert!(client.execute(&target, XML, None, true).await.is_ok());
    assert_eq!(service.minted(), 2);

    // Bound to another device: the phone's question is refused.
    let elsewhere = Phone {
        password: Secret::minted_for(Some("SEP0011223344AA")),
        ..target.clone()
    };
    assert_eq!(
        client.execute(&elsewhere, XML, None, true).await,
        PushOutcome::AuthFailed
    );
    // ... and asked directly, with a wrong devicename, too.
    let (u, p) = service
        .credentials()
        .mint(&Phone {
            password: Secret::minted_for(Some(&info.device)),
            ..target.clone()
        })
        .unwrap();
    let wrong = [
        ("UserID", u.as_str()),
        ("Password", p.expose()),
        ("devicename", "SEP0011223344AA"),
    ];
    assert_eq!(ask_form(auth, &wrong).await, "UN-AUTHORIZED");

    // Missing fields: ERROR.
    assert_eq!(ask_form(auth, &[("UserID", "zc-1")]).await, "ERROR");
    assert_eq!(
        ask_query(auth, &[("UserID", "zc-1"), ("Password", "x")]).await,
        "ERROR"
    );
    assert_eq!(ask_form(auth, &[]).await, "ERROR");

    // Credentials zonecast did not mint go upstream; its answer is relayed, trimmed.
    let cucm = [
        ("UserID", "cucm-user"),
        ("Password", "anything"),
        ("devicename", info.device.as_str()),
    ];
    assert_eq!(ask_form(auth, &cucm).await, "AUTHORIZED");
    assert_eq!(ask_query(auth, &cucm).await, "AUTHORIZED");
    let stranger = [
        ("UserID", "someone"),
        ("Password", "x"),
        ("devicename", info.device.as_str()),
    ];
    assert_eq!(ask_form(auth, &stranger).await, "UN-AUTHORIZED");
    // ... and a phone pushed with them accepts (or refuses) on the upstream's word.
    let relayed = Phone {
        user: "cucm-user".into(),
        password: Secret::new("anything"),
        ..info.push_target()
    };
    assert!(plain.execute(&relayed, XML, None, true).await.is_ok());
    let refused = Phone {
        user: "someone".into(),
        ..relayed.clone()
    };
    assert_eq!(
        plain.execute(&refused, XML, None, true).await,
        PushOutcome::AuthFailed
    );

    // A minted phone and a client that cannot mint: nothing is sent.
    let before = fleet.phone_report(&info.name).unwrap().counters.pushes;
    match plain.execute(&target, XML, None, true).await {
        PushOutcome::Unsupported { reason } => {
            assert!(reason.contains("minted by zonecast serve"), "{reason}");
            assert!(reason.contains("cannot mint them"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fleet.phone_report(&info.name).unwrap().counters.pushes,
        before
    );

    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_and_strangers_without_upstream_are_refused() {
    let service = AuthService::new(Duration::from_millis(200), None);
    let auth = serve(service.router()).await;
    let phone = Phone {
        name: "lobby".into(),
        host: "127.0.0.1:9".into(),
        user: "unused".into(),
        password: Secret::minted(),
        https: false,
    };
    let (u, p) = service.credentials().mint(&phone).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fields = [
        ("UserID", u.as_str()),
        ("Password", p.expose()),
        ("devicename", "SEP0011223344AA"),
    ];
    assert_eq!(ask_form(auth, &fields).await, "UN-AUTHORIZED");
    assert_eq!(service.live(), 0);

    // Fresh, unbound: any devicename, once.
    let (u, p) = service.credentials().mint(&phone).unwrap();
    let fields = [
        ("UserID", u.as_str()),
        ("Password", p.expose()),
        ("devicename", "SEP0011223344AA"),
    ];
    assert_eq!(ask_query(auth, &fields).await, "AUTHORIZED");
    assert_eq!(ask_query(auth, &fields).await, "UN-AUTHORIZED");

    // Not minted, no upstream.
    let cucm = [
        ("UserID", "cucm-user"),
        ("Password", "x"),
        ("devicename", "SEP0011223344AA"),
    ];
    assert_eq!(ask_form(auth, &cucm).await, "UN-AUTHORIZED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_an_error() {
    // A port that was free a moment ago: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let service = AuthService::new(
        Duration::from_secs(5),
        Some(format!("http://{closed}/authenticate")),
    );
    let auth = serve(service.router()).await;
    let cucm = [
        ("UserID", "cucm-user"),
        ("Password", "x"),
        ("devicename", "SEP0011223344AA"),
    ];
    assert_eq!(ask_form(auth, &cucm).await, "ERROR");
}
