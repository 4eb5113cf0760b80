//! The HTTP/1 accept loop of `zonecast serve`, and the timeouts that keep slow or stalled
//! clients (slowloris, a head sent and then no body) from holding connections: hyper's header
//! read timeout for a request's head and for an idle keep-alive connection, and a deadline on
//! reading each request's body. It does not route or authenticate: that is [`super::api`].
//!
//! `axum::serve` gives hyper no timer, so hyper's header read timeout never fires there; this
//! loop is `axum::serve` with one. The same loop serves the console's HTTPS listener
//! ([`super::https`]) through a [`Handshake`]; requests that came over TLS carry [`Https`].

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::https_flag::Https;

/// Longest a client may take to send a request's head, and longest a kept-alive connection may
/// sit idle before its next request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a client may take to send a request's body, counted from its head (a 16 MiB upload
/// at LAN speed takes a fraction of it).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How an accepted TCP connection becomes the stream HTTP runs over: as it is, or after a TLS
/// handshake (which bounds its own time).
pub trait Handshake: Clone + Send + Sync + 'static {
    /// The stream served.
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    /// Whether requests on it came over TLS (they get the [`Https`] extension).
    const TLS: bool;
    /// The stream to serve; an error drops the connection.
    fn handshake(&self, tcp: TcpStream) -> impl Future<Output = std::io::Result<Self::Io>> + Send;
}

/// Plain HTTP: the TCP stream as it is.
#[derive(Debug, Clone, Copy)]
pub struct PlainTcp;

impl Handshake for PlainTcp {
    type Io = TcpStream;
    const TLS: bool = false;

    async fn handshake(&self, tcp: TcpStream) -> std::io::Result<TcpStream> {
        Ok(tcp)
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then stop accepting, let requests in
/// flight finish, and return once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_over(listener, app, shutdown, PlainTcp).await;
}

/// [`serve`], each connection first through `handshake`.
pub async fn serve_over<H: Handshake>(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handshake: H,
) {
    let app = app.layer(axum::middleware::map_request(body_deadline));
    // Connections hold a receiver each: the sender learns when all are gone. Dropping
    // `draining`'s receiver tells them to finish.
    let (open_tx, _) = watch::channel(());
    let (draining_tx, draining_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait, go on.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            if H::TLS {
                req.extensions_mut().insert(Https);
            }
            let mut router = router.clone();
            tower_service::Service::call(&mut router, req.map(Body::new))
        });
        let open = open_tx.subscribe();
        let draining = draining_tx.clone();
        let handshake = handshake.clone();
        tokio::spawn(async move {
            let io = match handshake.handshake(stream).await {
                Ok(io) => io,
                Err(e) => {
                    tracing::debug!("connection from {remote}: {e}");
                    return;
                }
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => log_end(remote, r),
                () = draining.closed() => {
                    conn.as_mut().graceful_shutdown();
                    log_end(remote, conn.await);
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(draining_rx);
    open_tx.closed().await;
}

fn log_end(remote: SocketAddr, r: Result<(), hyper::Error>) {
    if let Err(e) = r {
        tracing::debug!("connection from {remote} ended: {e}");
    }
}

/// A request whose body must arrive within [`BODY_TIMEOUT`] of its head; after that reading it
/// fails (the handler answers 400 and the connection closes).
async fn body_deadline(req: Request) -> Request {
    req.map(|body| {
        Body::from_stream(Deadline {
            inner: body.into_data_stream(),
            sleep: Box::pin(tokio::time::sleep(BODY_TIMEOUT)),
        })
    })
}

struct Deadline {
    inner: axum::body::BodyDataStream,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl futures_core::Stream for Deadline {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(format!(
                "the request body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }
}
