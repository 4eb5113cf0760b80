//! The callback listener of `--via media`: a small HTTP server the phones POST
//! `DATA=<notifyMediaEvent ...>` to when their user hangs up a stream (the `onStopped` Notify URI
//! of startMedia). Each callback is handed to the page it names by its path.
//!
//! The Notify URIs are built from a checked [`NotifyBase`] (plain HTTP, a host and port a
//! Notify URI can carry), never formatted by hand.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::Invalid;
use crate::xsi::response::{Callback, parse_callback};
use crate::xsi::uri::{Notify, NotifyBase};

/// Path prefix of the callbacks (`/zonecast/notify/PAGE`).
pub const PREFIX: &str = "zonecast/notify";

/// A running callback listener.
#[derive(Debug)]
pub struct Callbacks {
    /// Where the phones call.
    base: NotifyBase,
    addr: Option<SocketAddr>,
    rx: mpsc::UnboundedReceiver<(String, Callback)>,
    task: Option<JoinHandle<()>>,
}

impl Callbacks {
    /// Listen on `ip` (the address phones can reach), any free port.
    pub async fn bind(ip: Ipv4Addr) -> std::io::Result<Callbacks> {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let base = NotifyBase::from_socket(addr)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new()
            .route(&format!("/{PREFIX}/{{page}}"), post(notify))
            .with_state(tx);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Callbacks {
            base,
            addr: Some(addr),
            rx,
            task: Some(task),
        })
    }

    /// Callbacks that another server receives (at `base`, under [`PREFIX`]) and hands to this
    /// page through `rx` (see [`accept`]).
    pub fn routed(base: NotifyBase, rx: mpsc::UnboundedReceiver<(String, Callback)>) -> Callbacks {
        Callbacks {
            base,
            addr: None,
            rx,
            task: None,
        }
    }

    /// Where the own listener is (`None` for routed callbacks).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The `Notify:` URI that makes a phone call back here for `page` (refused when `page`
    /// cannot be in a Notify path: a colon, semicolon or whitespace).
    pub fn notify_uri(&self, page: &str) -> Result<Notify, Invalid> {
        self.base.notify(&format!("{PREFIX}/{page}"))
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
