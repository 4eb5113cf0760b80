//! The emulated CUCM's HTTPS shell: one TLS listener on loopback with a self-signed certificate
//! made at start (rcgen; its SHA-256 is [`SimCucmServer::fingerprint`], its PEM
//! [`SimCucmServer::cert_pem`] for a CA file), hyper's HTTP/1 per connection, every request
//! handed to the pure [`SimCucm`] with the time, its answer written back (after the configured
//! slowness). Built only with the `tls` feature: CUCM speaks only HTTPS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, Response, header};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::answer::{SimCucm, SimCucmRequest};

/// Largest request body read.
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// A running emulated CUCM.
pub struct SimCucmServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// SHA-256 of its certificate's DER.
    pub fingerprint: [u8; 32],
    /// Its certificate, PEM (a CA file that trusts it).
    pub cert_pem: String,
    /// The cluster; tests change phones and read counters through it.
    pub cluster: Arc<Mutex<SimCucm>>,
    task: JoinHandle<()>,
}

impl SimCucmServer {
    /// Serve `cluster` on `bind` (port 0: a free one).
    pub async fn start(cluster: SimCucm, bind: SocketAddr) -> std::io::Result<SimCucmServer> {
        let io = |e: String| std::io::Error::other(e);
        let made =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), bind.ip().to_string()])
                .map_err(|e| io(e.to_string()))?;
        let der = made.cert.der().to_vec();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| io(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(der.clone())], key)
            .map_err(|e| io(e.to_string()))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let cluster = Arc::new(Mutex::new(cluster));
        let task = tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(Arc::new(tls)),
            cluster.clone(),
        ));
        Ok(SimCucmServer {
            addr,
            fingerprint: crate::cucm::tls::cert_sha256(&der),
            cert_pem: made.cert.pem(),
            cluster,
            task,
        })
    }

    /// Stop listening (connections in progress end with it).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for SimCucmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, cluster: Arc<Mutex<SimCucm>>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, cluster) = (acceptor.clone(), cluster.clone());
        conns.spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let cluster = cluster.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(answer(cluster, req.map(Body::new)).await)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
        while conns.try_join_next().is_some() {}
    }
}

async fn answer(cluster: Arc<Mutex<SimCucm>>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let basic = header_str("authorization")
        .and_then(|v| v.strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| BASE64_STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())));
    let session = header_str("cookie").and_then(|c| {
        c.split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "JSESSIONIDSSO")
            .map(|(_, v)| v.to_owned())
    });
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => return reply(413, "request too large".into(), None),
    };
    let req = SimCucmRequest {
        path: parts.uri.path().to_owned(),
        method: parts.method.as_str().to_owned(),
        soap_action: header_str("soapaction"),
        basic,
        session,
        body,
    };
    let (r, slow) = {
        let mut c = cluster.lock().unwrap_or_else(|p| p.into_inner());
        (c.handle(Instant::now(), &req), c.config().slow)
    };
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    reply(r.status, r.body, r.set_session)
}

fn reply(status: u16, body: String, session: Option<String>) -> Response<Body> {
    let mut b = Response::builder().status(status);
    b = if status == 401 {
        b.header(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"Cisco Web Services\"",
        )
    } else {
        b.header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
    };
    if let Some(s) = session {
        b = b.header(
            header::SET_COOKIE,
            format!("JSESSIONIDSSO={s}; Path=/; Secure; HttpOnly"),
        );
    }
    b.body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
