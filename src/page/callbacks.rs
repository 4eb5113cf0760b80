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
const PREFIX: &str = "zonecast/notify";

/// A running callback listener.
#[derive(Debug)]
pub struct Callbacks {
    addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<(String, Callback)>,
    task: JoinHandle<()>,
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
        Ok(Callbacks { addr, rx, task })
    }

    /// Where the listener is.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `Notify:` URI that makes a phone call back here for `page`.
    pub fn notify_uri(&self, page: &str) -> String {
        format!(
            "Notify:http:{}:{}:{PREFIX}/{page}",
            self.addr.ip(),
            self.addr.port()
        )
    }

    /// The next callback: (page id, what the phone said).
    pub async fn next(&mut self) -> Option<(String, Callback)> {
        self.rx.recv().await
    }
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn notify(
    State(tx): State<mpsc::UnboundedSender<(String, Callback)>>,
    Path(page): Path<String>,
    body: Bytes,
) -> StatusCode {
    match parse_callback(&body) {
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
