//! `zonecast serve` against hostile or broken clients, over real TCP on loopback: slow clients
//! (headers one byte a second, a head and then no body, a connection that says nothing) are
//! disconnected by the server's timeouts while everyone else is served; the API needs its token
//! before it reads a body; every POST and PUT route bounds its body; callbacks for pages the
//! server does not run are refused whatever they carry; the default address is loopback.

mod common;

use std::time::{Duration, Instant};

use common::server::{Server, TOKEN, api, call, call_raw, setup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zonecast::server::http::{BODY_TIMEOUT, HEADER_TIMEOUT};

/// How a slow client misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slow {
    /// Sends a request's head one byte a second, forever.
    Loris,
    /// Connects and sends nothing.
    Silent,
    /// Sends a complete, authorized head announcing a body, then never the body.
    NoBody,
}

/// Run one slow client against `addr`; returns how long after connecting the server closed the
/// connection, or None if it was still open after `give_up`.
async fn slow_client(addr: String, kind: Slow, give_up: Duration) -> Option<Duration> {
    let began = Instant::now();
    let stream = TcpStream::connect(&addr).await.expect("connects");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        match kind {
            Slow::Loris => {
                let head = format!(
                    "GET /api/zones HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nX-Slow: {}",
                    "a".repeat(120)
                );
                for b in head.bytes() {
                    if wr.write_all(&[b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Slow::Silent => std::future::pending::<()>().await,
            Slow::NoBody => {
                let head = format!(
                    "POST /api/pages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
                     Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"zone\":"
                );
                let _ = wr.write_all(head.as_bytes()).await;
                std::future::pending::<()>().await
            }
        }
        // Keep the write half open (dropping it would half-close the connection).
        std::future::pending::<()>().await
    });
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(give_up, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return began.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok();
    writer.abort();
    closed
}

#[test]
fn slow_clients_are_disconnected_while_others_are_served() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let addr = srv.url.trim_start_matches("http://").to_owned();
    let url = srv.url.clone();
    let header_bound = HEADER_TIMEOUT + Duration::from_secs(10);
    let body_bound = BODY_TIMEOUT + Duration::from_secs(10);
    let (closed, served_in) = s.block_on(async move {
        let mut clients = tokio::task::JoinSet::new();
        for i in 0..200 {
            let kind = match i % 4 {
                0 | 1 => Slow::Loris,
                2 => Slow::Silent,
                _ => Slow::NoBody,
            };
            let bound = if kind == Slow::NoBody {
                body_bound
            } else {
                header_bound
            };
            let addr = addr.clone();
            clients.spawn(async move { (kind, slow_client(addr, kind, bound).await) });
        }
        // While the 200 are connected and dribbling, a normal client is served promptly.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        let client = zonecast::push::client_builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let r = client
            .get(format!("{url}/api/zones"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("the API answers during the slow clients");
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(body["zones"][0]["name"], "all", "{body}");
        let served_in = t.elapsed();
        let mut closed = Vec::new();
        while let Some(done) = clients.join_next().await {
            closed.push(done.unwrap());
        }
        (closed, served_in)
    });
    assert!(served_in < Duration::from_secs(5), "{served_in:?}");
    assert_eq!(closed.len(), 200);
    for kind in [Slow::Loris, Slow::Silent, Slow::NoBody] {
        let times: Vec<Option<Duration>> = closed
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| *t)
            .collect();
        let open = times.iter().filter(|t| t.is_none()).count();
        assert_eq!(open, 0, "{kind:?}: {open} connections still open");
        let latest = times.iter().flatten().max().unwrap();
        // Not closed before the client had its allowance either (a timeout, not a refusal).
        let earliest = times.iter().flatten().min().unwrap();
        let allowance = if kind == Slow::NoBody {
            BODY_TIMEOUT
        } else {
            HEADER_TIMEOUT
        };
        assert!(
            *earliest + Duration::from_millis(500) >= allowance,
            "{kind:?} closed after {earliest:?}"
        );
        eprintln!("{kind:?}: closed between {earliest:?} and {latest:?}");
    }
    // The server is still fine afterwards.
    let (st, _) = api(&srv, "GET", "/api/zones", None);
    assert_eq!(st, 200);
}

#[test]
fn the_api_needs_its_token_bounds_bodies_and_refuses_unknown_callbacks() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let u = |path: &str| format!("{}{path}", srv.url);

    // Every API route, with no token and with a wrong one: 401, before any body is read (a
    // body over the limit is not a 413 for a stranger).
    let big = vec![b'x'; 200 * 1024];
    for (method, path) in [
        ("GET", "/api/pages"),
        ("POST", "/api/pages"),
        ("GET", "/api/pages/pg-1"),
        ("DELETE", "/api/pages/pg-1"),
        ("GET", "/api/history"),
        ("GET", "/api/history/pg-1"),
        ("GET", "/api/zones"),
        ("GET", "/api/phones"),
        ("GET", "/api/phones/p01"),
        ("GET", "/api/bells"),
        ("GET", "/api/bells/history"),
        ("GET", "/api/sounds"),
        ("PUT", "/api/sounds/lobby"),
    ] {
        for token in [None, Some("wrong"), Some("")] {
            let body = (method == "POST" || method == "PUT").then(|| big.clone());
            let (st, v) = call_raw(method, &u(path), token, body, "application/json");
            assert_eq!(st, 401, "{method} {path} with {token:?}: {v}");
            assert!(v["error"].is_string(), "{method} {path}: {v}");
        }
        // The token in the query string is not a token.
        let (st, _) = call(method, &u(&format!("{path}?token={TOKEN}")), None, None);
        assert_eq!(st, 401, "{method} {path}?token=");
    }
    assert_eq!(s.report().totals.pushes, 0, "nothing reached a phone");

    // Every POST and PUT route bounds its body: 413, whoever asks.
    let over = |limit: usize| vec![b' '; limit + 1];
    for (method, path, token, limit, ctype) in [
        (
            "POST",
            "/api/pages",
            Some(TOKEN),
            64 * 1024,
            "application/json",
        ),
        (
            "PUT",
            "/api/sounds/lobby",
            Some(TOKEN),
            64 * 1024,
            "application/octet-stream",
        ),
        (
            "POST",
            "/zonecast/notify/pg-unknown",
            None,
            64 * 1024,
            "application/x-www-form-urlencoded",
        ),
        (
            "POST",
            "/authenticate",
            None,
            2 * 1024 * 1024,
            "application/x-www-form-urlencoded",
        ),
    ] {
        let (st, v) = call_raw(method, &u(path), token, Some(over(limit)), ctype);
        assert_eq!(st, 413, "{method} {path}: {v}");
        // Just under the limit is read (and then judged on its content).
        let (st, v) = call_raw(method, &u(path), token, Some(vec![b' '; limit - 1]), ctype);
        assert_ne!(st, 413, "{method} {path} under the limit: {v}");
    }
    let (st, _) = api(&srv, "GET", "/api/sounds", None);
    assert_eq!(st, 200);

    // Callbacks for pages the server does not run: refused, whatever they carry.
    let notify = "DATA=<notifyMediaEvent type=\"stopped\" origin=\"user\"/>";
    for (key, body) in [
        ("pg-unknown", notify.as_bytes().to_vec()),
        ("pg-unknown", b"DATA=<<<not xml".to_vec()),
        ("pg-unknown", Vec::new()),
        ("pg-unknown", vec![0xFF; 1000]),
        ("pg-unknown~KEY~PHONE", notify.as_bytes().to_vec()),
        ("..%2F..%2Fapi%2Fzones", notify.as_bytes().to_vec()),
    ] {
        let (st, v) = call_raw(
            "POST",
            &u(&format!("/zonecast/notify/{key}")),
            None,
            Some(body),
            "application/x-www-form-urlencoded",
        );
        assert_eq!(st, 404, "callback to {key}: {v}");
    }
    let (st, _) = call("GET", &u("/zonecast/notify/pg-unknown"), None, None);
    assert_eq!(st, 405, "callbacks are POSTed");

    // The token never shows in what the server says or logs.
    let log = srv.log();
    assert!(!log.contains(TOKEN), "the token is in the log");

    // Without `listen` in [server] (the setup sets none), the server binds loopback only.
    let config = zonecast::config::Config::load(s.path("zonecast.toml")).unwrap();
    assert!(
        config.server.listen.ip().is_loopback(),
        "{}",
        config.server.listen
    );
}
