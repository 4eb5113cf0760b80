//! The callback listener of `--via media`: a small HTTP server the phones POST
//! `DATA=<notifyMediaEvent ...>` to when their user hangs up a stream (the `onStopped` Notify URI
//! of startMedia). Each callback is handed to the page it names by its path.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::xsi::response::{Callback, parse_callback};

/// Path prefix of the callbacks (`/zonecast/notify/PAGE`).
pub const PREFIX: &str = "zonecast/notify";

/// A running callback listener.
#[derive(Debug)]
pub struct Callbacks {
    /// `HOST:PORT` the phones call.
    host_port: String,
    addr: Option<SocketAddr>,
    rx: mpsc::UnboundedReceiver<(String, Callback)>,
    task: Option<JoinHandle<()>>,
}

impl Callbacks {
    /// Listen on `ip` (the address phones can reach), any free port.
    pub async fn bind(ip: Ipv4Addr) -> std::io::Result<Callbacks> {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new()
            .route(&format!("/{PREFIX}/{{page}}"), post(notify))
            .with_state(tx);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Callbacks {
            host_port: format!("{}:{}", addr.ip(), addr.port()),
            addr: Some(addr),
            rx,
            task: Some(task),
        })
    }

    /// Callbacks that another server receives (at `host_port`, under [`PREFIX`]) and hands to
    /// this page through `rx` (see [`accept`]).
    pub fn routed(host_port: String, rx: mpsc::UnboundedReceiver<(String, Callback)>) -> Callbacks {
        Callbacks {
            host_port,
            addr: None,
            rx,
            task: None,
        }
    }

    /// Where the own listener is (`None` for routed callbacks).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The `Notify:` URI that makes a phone call back here for `page`.
    pub fn notify_uri(&self, page: &str) -> String {
        format!("Notify:http:{}:{PREFIX}/{page}", self.host_port)
    }

    /// The next callback: (page id, what the phone said).
    pub async fn next(&mut self) -> Option<(String, Callback)> {
        self.rx.recv().await
    }
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

async fn notify(
    State(tx): State<mpsc::UnboundedSender<(String, Callback)>>,
    Path(page): Path<String>,
    body: Bytes,
) -> StatusCode {
    accept(&tx, page, &body)
}

/// Parse one callback body and hand it on: 200, or 400 for a body that is not a callback.
pub fn accept(
    tx: &mpsc::UnboundedSender<(String, Callback)>,
    page: String,
    body: &[u8],
) -> StatusCode {
    match parse_callback(body) {
        Ok(cb) => {
            let _ = tx.send((page, cb));
            StatusCode::OK
        }
        Err(e) => {
            tracing::warn!("unreadable callback for page {page}: {e}");
            StatusCode::BAD_REQUEST
        }
    }
}
