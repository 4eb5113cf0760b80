//! A raw TCP server standing in for a phone's web server: records every request's exact bytes
//! and answers, or misbehaves, as told. Real sockets on loopback, a free port each.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the fake phone answers.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// Answer with this status and body.
    Reply(u16, &'static str),
    /// Read the request and never answer.
    Hang,
    /// Start an answer, then reset the connection.
    Reset,
    /// Answer with 4 MB of junk.
    Huge,
}

/// A fake phone on a free loopback port; returns its address and the requests it received.
pub async fn fake_phone(b: Behaviour) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let req = read_request(&mut sock).await;
                log.lock().unwrap().push(req);
                match b {
                    Behaviour::Reply(status, body) => {
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(body.as_bytes()).await;
                    }
                    Behaviour::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                    Behaviour::Reset => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<CiscoIP")
                            .await;
                        // Linger 0: close sends RST, as a phone that crashes mid-answer does.
                        let _ = socket2::SockRef::from(&sock).set_linger(Some(Duration::ZERO));
                        drop(sock);
                    }
                    Behaviour::Huge => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n")
                            .await;
                        let chunk = vec![b'x'; 64 * 1024];
                        for _ in 0..64 {
                            if sock.write_all(&chunk).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// Read one HTTP request: headers, then Content-Length bytes of body.
pub async fn read_request<S: tokio::io::AsyncRead + Unpin>(sock: &mut S) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
    }
}

pub fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// A phone's web server over HTTPS with a self-signed certificate (as real phones present):
/// answers every request with 200 and `body`, recording the decrypted requests.
#[cfg(feature = "tls")]
pub async fn fake_tls_phone(body: &'static str) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    use tokio_rustls::rustls;
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("self-signed certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        cert.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let req = read_request(&mut tls).await;
                log.lock().unwrap().push(req);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, seen)
}
