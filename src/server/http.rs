//! The HTTP/1 accept loop of `zonecast serve`, and the timeouts that keep slow or stalled
//! clients (slowloris, a head sent and then no body) from holding connections: hyper's header
//! read timeout for a request's head and for an idle keep-alive connection, and a deadline on
//! reading each request's body. It does not route or authenticate: that is [`super::api`].
//!
//! `axum::serve` gives hyper no timer, so hyper's header read timeout never fires there; this
//! loop is `axum::serve` with one.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Longest a client may take to send a request's head, and longest a kept-alive connection may
/// sit idle before its next request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a client may take to send a request's body, counted from its head (a 16 MiB upload
/// at LAN speed takes a fraction of it).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve `app` on `listener` until `shutdown` resolves, then stop accepting, let requests in
/// flight finish, and return once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
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
            let mut router = router.clone();
            tower_service::Service::call(&mut router, req.map(Body::new))
        });
        let open = open_tx.subscribe();
        let draining = draining_tx.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
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
