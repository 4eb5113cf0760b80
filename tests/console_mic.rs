//! The browser's microphone and the console's HTTPS listener, end to end: a real `zonecast
//! serve` with emulated phones on loopback, a WebSocket client sending a 440 Hz tone at 48 kHz
//! in 20 ms messages as a browser would, the phones measuring what they hear. Over plain HTTP
//! and over the HTTPS listener with a self-signed certificate (trusted by its saved PEM, and
//! checked against the fingerprint the server printed). And what is refused: the config's bad
//! certificate settings, and sockets that may not be opened or messages that may not be sent.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use common::cli_setup::{assert_exit, stderr};
use common::server::{Server, TOKEN, TOKEN_ENV, api, listening, setup, wait_for};

const RATE: u32 = 48_000;
const TONE_HZ: f64 = 440.0;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// 20 ms of the tone at 48 kHz starting at sample `n`, as 16-bit little-endian PCM.
fn tone_message(n: u64) -> Vec<u8> {
    (0..RATE as u64 / 50)
        .flat_map(|i| {
            let t = (n + i) as f64 / f64::from(RATE);
            let x = (2.0 * std::f64::consts::PI * TONE_HZ * t).sin() * 10_000.0;
            (x as i16).to_le_bytes()
        })
        .collect()
}

/// The socket's request: `url` with the bearer token (and any extra headers).
fn request(
    url: &str,
    extra: &[(&'static str, &str)],
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = url.into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    for (k, v) in extra {
        h.insert(*k, v.parse().unwrap());
    }
    req
}

/// A microphone that talks until told to hang up, then says how the socket ended: the close
/// frame the server sent, if any.
struct Talking {
    hang_up: tokio::sync::oneshot::Sender<bool>,
    done: tokio::task::JoinHandle<Option<(CloseCode, String)>>,
}

/// Send the tone every 20 ms on `ws` until `hang_up` (true: close the socket; false: fall
/// silent and keep it open) or the server closes it.
fn talk<S>(rt: &tokio::runtime::Runtime, mut ws: WebSocketStream<S>) -> Talking
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (hang_up, mut told) = tokio::sync::oneshot::channel::<bool>();
    let done = rt.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut n = 0u64;
        let mut sending = true;
        loop {
            tokio::select! {
                _ = tick.tick(), if sending => {
                    if ws.send(Message::Binary(tone_message(n).into())).await.is_err() {
                        return None;
                    }
                    n += u64::from(RATE / 50);
                }
                close = &mut told, if sending => {
                    if close.unwrap_or(true) {
                        let _ = ws.close(None).await;
                        return None;
                    }
                    sending = false;
                }
                msg = ws.next() => match msg {
                    Some(Ok(Message::Close(f))) => {
                        return f.map(|f| (f.code, f.reason.to_string()));
                    }
                    Some(Ok(_)) => {}
                    _ => return None,
                },
            }
        }
    });
    Talking { hang_up, done }
}

/// Every phone of the zone hears the tone at 440 Hz.
fn all_hear_the_tone(s: &common::cli_setup::Setup, n: usize) {
    s.wait_until("every phone hears 440 Hz from the browser", |r| {
        r.phones.len() == n
            && r.phones.iter().all(|p| {
                p.heard.last().is_some_and(|h| {
                    h.active
                        && h.rx.summary.packets > 50
                        && h.rx
                            .summary
                            .frequency_hz
                            .is_some_and(|f| (f - TONE_HZ).abs() < 10.0)
                })
            })
    });
}

fn start_mic_page(srv: &Server) -> String {
    let (st, body) = api(
        srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "mic", "banner": "Front desk"})),
    );
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["page"]["source"], "mic", "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The page has ended; its record.
fn ended(srv: &Server, id: &str) -> Value {
    wait_for(srv, "the page to end", 15, || {
        let (_, p) = api(srv, "GET", &format!("/api/pages/{id}"), None);
        (p["active"] == false).then_some(p)
    })
}

#[test]
fn a_browser_microphone_pages_the_zone_and_closing_the_socket_ends_the_page() {
    let s = setup(3, "");
    let srv = Server::start(&s);
    let rt = runtime();
    let id = start_mic_page(&srv);
    let ws_url = format!(
        "{}/api/pages/{id}/mic?rate={RATE}",
        srv.url.replace("http://", "ws://")
    );
    let addr = srv.url.trim_start_matches("http://").to_owned();
    let (ws, resp) = rt
        .block_on(async {
            let tcp = TcpStream::connect(&addr).await.unwrap();
            tokio_tungstenite::client_async(request(&ws_url, &[]), tcp).await
        })
        .unwrap();
    assert_eq!(resp.status(), 101);
    let mic = talk(&rt, ws);
    all_hear_the_tone(&s, 3);

    // One socket per page.
    let second = rt.block_on(async {
        let tcp = TcpStream::connect(&addr).await.unwrap();
        tokio_tungstenite::client_async(request(&ws_url, &[]), tcp).await
    });
    match second {
        Err(WsError::Http(r)) => assert_eq!(r.status(), 409),
        other => panic!("a second socket was not refused: {:?}", other.map(|r| r.1)),
    }

    // Closing the socket ends the page, and every phone gets its stop.
    let _ = mic.hang_up.send(true);
    rt.block_on(mic.done).unwrap();
    let page = ended(&srv, &id);
    let by = page["page"]["ended_by"].as_str().unwrap_or_default();
    assert!(by.contains("microphone"), "{page}");
    // Whoever opened the socket ended the page (the API token here; a user in the console).
    assert_eq!(page["page"]["stopped_by"], "api-token", "{page}");
    s.wait_until("every phone stopped", |r| listening(r) == 0);
    let r = s.report();
    assert!(r.phones.iter().all(|p| !p.heard.is_empty()), "{r:?}");
}

#[test]
fn a_silent_browser_ends_its_page_and_the_server_closes_the_socket() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let rt = runtime();
    let id = start_mic_page(&srv);
    let ws_url = format!(
        "{}/api/pages/{id}/mic?rate={RATE}",
        srv.url.replace("http://", "ws://")
    );
    let addr = srv.url.trim_start_matches("http://").to_owned();
    let (ws, _) = rt
        .block_on(async {
            let tcp = TcpStream::connect(&addr).await.unwrap();
            tokio_tungstenite::client_async(request(&ws_url, &[]), tcp).await
        })
        .unwrap();
    let mic = talk(&rt, ws);
    all_hear_the_tone(&s, 2);
    // The socket stays open but nothing comes: the talker's idle time ends the page, and the
    // server says so on the socket.
    let _ = mic.hang_up.send(false);
    let close = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(15), mic.done).await })
        .expect("the server closed the socket")
        .unwrap();
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, CloseCode::Normal);
    assert_eq!(reason, "the page ended");
    let page = ended(&srv, &id);
    assert!(
        page["page"]["ended_by"]
            .as_str()
            .is_some_and(|b| b.contains("stopped sending")),
        "{page}"
    );
    s.wait_until("every phone stopped", |r| listening(r) == 0);
}

#[test]
fn sockets_and_messages_that_may_not_be_are_refused() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let rt = runtime();
    let base = srv.url.replace("http://", "ws://");
    let addr = srv.url.trim_start_matches("http://").to_owned();
    let open = |url: String, headers: Vec<(&'static str, &str)>, token: bool| {
        rt.block_on(async {
            let tcp = TcpStream::connect(&addr).await.unwrap();
            let mut req = request(&url, &headers);
            if !token {
                req.headers_mut().remove("authorization");
            }
            tokio_tungstenite::client_async(req, tcp).await
        })
    };
    let status = |r: Result<_, WsError>| match r {
        Err(WsError::Http(r)) => r.status().as_u16(),
        Ok(_) => 101,
        Err(e) => panic!("{e}"),
    };

    // A page that plays a sound takes no microphone; an unknown page is 404.
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:600:20"})),
    );
    assert_eq!(st, 201, "{body}");
    let tone_id = body["id"].as_str().unwrap().to_owned();
    let url = format!("{base}/api/pages/{tone_id}/mic?rate=48000");
    assert_eq!(status(open(url, vec![], true)), 409);
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{tone_id}"), None);
    assert_eq!(st, 202);
    ended(&srv, &tone_id);
    let url = format!("{base}/api/pages/pg-nope/mic?rate=48000");
    assert_eq!(status(open(url, vec![], true)), 404);

    let id = start_mic_page(&srv);
    let mic = |q: &str| format!("{base}/api/pages/{id}/mic{q}");
    // No token; a rate outside 8000..=48000 or none; another site's page in a browser.
    assert_eq!(status(open(mic("?rate=48000"), vec![], false)), 401);
    for q in ["?rate=96000", "?rate=7999", "", "?rate=lots"] {
        assert_eq!(status(open(mic(q), vec![], true)), 400, "{q}");
    }
    let cross = vec![("origin", "https://evil.example")];
    assert_eq!(status(open(mic("?rate=48000"), cross, true)), 403);
    // A plain GET (no WebSocket handshake) is refused too, as JSON.
    let (st, body) = api(
        &srv,
        "GET",
        &format!("/api/pages/{id}/mic?rate=48000"),
        None,
    );
    assert!((400..500).contains(&st), "{st} {body}");
    assert!(body["error"].is_string(), "{body}");

    // A text message closes the socket with the reason, and the page ends.
    let (mut ws, _) = open(mic("?rate=48000"), vec![("origin", &srv.url)], true).unwrap();
    let close = rt.block_on(async {
        ws.send(Message::Text("hello".into())).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => break f,
                Some(Ok(_)) => continue,
                other => panic!("no close frame: {other:?}"),
            }
        }
    });
    let f = close.expect("a close frame");
    assert_eq!(f.code, CloseCode::Unsupported);
    assert!(f.reason.contains("binary"), "{}", f.reason);
    let page = ended(&srv, &id);
    assert!(
        page["page"]["ended_by"]
            .as_str()
            .is_some_and(|b| b.contains("text messages are refused")),
        "{page}"
    );

    // An odd byte count, and a message over one second of audio at the socket's rate.
    for (rate, bytes) in [(48_000u32, 3usize), (8_000, 16_002)] {
        let id = start_mic_page(&srv);
        let url = format!("{base}/api/pages/{id}/mic?rate={rate}");
        let (mut ws, _) = open(url, vec![], true).unwrap();
        let end = rt.block_on(async {
            ws.send(Message::Binary(vec![0u8; bytes].into()))
                .await
                .unwrap();
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(f))) => break f.map(|f| f.code),
                    Some(Ok(_)) => continue,
                    _ => break None,
                }
            }
        });
        // The odd count is refused by the relay (1007); the oversized message already by the
        // WebSocket layer's bound (the socket ends, with 1009 or without a frame).
        if !bytes.is_multiple_of(2) {
            assert_eq!(end, Some(CloseCode::Invalid));
        } else {
            assert!(matches!(end, None | Some(CloseCode::Size)), "{end:?}");
        }
        ended(&srv, &id);
    }
    s.wait_until("every phone stopped", |r| listening(r) == 0);
}

/// Over the HTTPS listener (built with the `tls` feature).
#[cfg(feature = "tls")]
mod over_tls {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A TLS client trusting exactly `cert_pem` (the server's saved self-signed certificate).
    fn tls_client(cert_pem: &[u8]) -> tokio_rustls::TlsConnector {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(cert_pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// `https://ADDR` and the fingerprint `zonecast serve` printed.
    fn https_line(srv: &Server) -> (String, String) {
        wait_for(srv, "the HTTPS line", 10, || {
            let log = srv.log();
            let line = log.lines().find(|l| l.contains("console over HTTPS on"))?;
            let addr = line.split("https://").nth(1)?.split_whitespace().next()?;
            let fp = line.split("SHA-256 ").nth(1)?.trim_end_matches(')');
            Some((addr.to_owned(), fp.to_owned()))
        })
    }

    fn sha256_hex(der: &[u8]) -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, der);
        let hex: Vec<String> = d.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":")
    }

    #[test]
    fn over_https_with_a_self_signed_certificate_the_microphone_pages_the_zone() {
        let s = setup(
            2,
            "https_listen = \"127.0.0.1:0\"\ntls_self_signed = true\n",
        );
        let srv = Server::start(&s);
        let (addr, fingerprint) = https_line(&srv);
        let cert_path = s.path("data/tls/self-signed-cert.pem");
        let key_path = s.path("data/tls/self-signed-key.pem");
        let cert_pem = std::fs::read(&cert_path).unwrap();
        {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let der = CertificateDer::from_pem_slice(&cert_pem).unwrap();
            assert_eq!(sha256_hex(&der), fingerprint, "the printed fingerprint");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the key is private");
        }
        let rt = runtime();
        let connector = tls_client(&cert_pem);
        let tls = |connector: tokio_rustls::TlsConnector, addr: String| async move {
            let tcp = TcpStream::connect(&addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            connector.connect(name, tcp).await.unwrap()
        };

        // The same router over TLS: the health check answers.
        let health = rt.block_on(async {
            let mut t = tls(connector.clone(), addr.clone()).await;
            t.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            t.read_to_string(&mut out).await.unwrap_or_default();
            out
        });
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(health.ends_with("ok"), "{health}");

        // A browser page served over HTTPS opens the socket over it.
        let id = start_mic_page(&srv);
        let port = addr.rsplit(':').next().unwrap();
        let url = format!("wss://localhost:{port}/api/pages/{id}/mic?rate={RATE}");
        let origin = format!("https://localhost:{port}");
        let (ws, resp) = rt
            .block_on(async {
                let stream = tls(connector.clone(), addr.clone()).await;
                tokio_tungstenite::client_async(request(&url, &[("origin", &origin)]), stream).await
            })
            .unwrap();
        assert_eq!(resp.status(), 101);
        let mic = talk(&rt, ws);
        all_hear_the_tone(&s, 2);
        let _ = mic.hang_up.send(true);
        rt.block_on(mic.done).unwrap();
        ended(&srv, &id);
        s.wait_until("every phone stopped", |r| listening(r) == 0);

        // A client that does not finish its handshake is dropped; the server goes on.
        let idle = std::net::TcpStream::connect(&addr).unwrap();

        // The next start reuses the saved certificate.
        drop(srv);
        drop(idle);
        let srv = Server::start(&s);
        let (_, again) = https_line(&srv);
        assert_eq!(again, fingerprint, "the same certificate at the next start");
        assert_eq!(std::fs::read(&cert_path).unwrap(), cert_pem);
    }
}

/// `zonecast serve` with `server` in its `[server]` table exits 2 naming `rule`, before
/// listening.
fn refused_at_load(server: &str, rule: &str) {
    let s = setup(2, server);
    std::fs::write(s.path("notes.txt"), "just some text\n").unwrap();
    let out = s
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .env(TOKEN_ENV, TOKEN)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("[server] ") && err.contains(rule),
        "{server}: {err}"
    );
    assert!(!err.contains("listening on"), "{err}");
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_tls_serve_refuses_an_https_listener() {
    refused_at_load(
        "https_listen = \"127.0.0.1:0\"\ntls_self_signed = true\n",
        "without the `tls` feature",
    );
}

#[cfg(feature = "tls")]
#[test]
fn serve_refuses_bad_certificate_settings_at_load() {
    let cases: [(&str, &str); 4] = [
        (
            "https_listen = \"127.0.0.1:0\"\ntls_cert = \"cert.pem\"\n",
            "needs tls_key",
        ),
        (
            "https_listen = \"127.0.0.1:0\"\ntls_cert = \"missing.pem\"\ntls_key = \"missing-key.pem\"\n",
            "cannot be read",
        ),
        (
            "https_listen = \"127.0.0.1:0\"\ntls_cert = \"notes.txt\"\ntls_key = \"notes.txt\"\n",
            "holds no PEM certificate",
        ),
        ("https_listen = \"127.0.0.1:0\"\n", "needs a certificate"),
    ];
    for (server, rule) in cases {
        refused_at_load(server, rule);
    }
}

/// The browser's microphone paging a district zone: `POST /api/pages` with `"source": "mic"` at
/// site m1 starts a district page over m1 and m2 (m2 behind a 20 ms WAN each way); the socket
/// feeds its live stream, each site's phones hear the browser's 440 Hz, a second socket is
/// refused, and closing the socket stops every site's part.
#[test]
fn a_browser_microphone_pages_a_district_zone_at_every_site() {
    use common::district_net::DistrictNet;
    const PHONES: usize = 2;
    let names = ["m1", "m2"];
    let net = DistrictNet::start(&names, Duration::from_millis(20));
    let sites: Vec<(common::cli_setup::Setup, Server)> = names
        .iter()
        .map(|name| {
            let s = setup(PHONES, &net.cluster_toml(name, "everyone"));
            let srv = Server::start(&s);
            (s, srv)
        })
        .collect();
    let srv = &sites[0].1;
    let rt = runtime();
    let (st, body) = api(
        srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "everyone", "source": "mic"})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("dp-"), "{body}");
    let ws_url = format!(
        "{}/api/pages/{id}/mic?rate={RATE}",
        srv.url.replace("http://", "ws://")
    );
    let addr = srv.url.trim_start_matches("http://").to_owned();
    let connect = || {
        rt.block_on(async {
            let tcp = TcpStream::connect(&addr).await.unwrap();
            tokio_tungstenite::client_async(request(&ws_url, &[]), tcp).await
        })
    };
    let (ws, resp) = connect().unwrap();
    assert_eq!(resp.status(), 101);
    let mic = talk(&rt, ws);
    for (s, _) in &sites {
        all_hear_the_tone(s, PHONES);
    }
    match connect() {
        Err(WsError::Http(r)) => assert_eq!(r.status(), 409),
        other => panic!("a second socket was not refused: {:?}", other.map(|r| r.1)),
    }
    // Closing the socket stops the district page at every site.
    let _ = mic.hang_up.send(true);
    rt.block_on(mic.done).unwrap();
    let done = ended(srv, &id);
    for site in names {
        let sec = done["district"]["sites"]
            .as_array()
            .and_then(|x| x.iter().find(|x| x["site"] == site))
            .unwrap_or_else(|| panic!("no section for {site}: {done}"));
        assert_eq!(sec["status"], "ended", "{sec}");
        assert_eq!(sec["accepted"], PHONES, "{sec}");
        assert!(
            sec["ended_by"]
                .as_str()
                .is_some_and(|e| e.contains("microphone")),
            "{sec}"
        );
    }
    for (s, _) in &sites {
        s.wait_until("every phone stopped", |r| listening(r) == 0);
    }
}
