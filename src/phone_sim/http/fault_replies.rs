//! The broken replies of the transport faults: `huge` (a well-formed reply that goes on for
//! [`HUGE_REPLY_BYTES`]) and `reset` (half the announced body, then the connection broken).
//! Which fault a push gets is [`crate::phone_sim::faults`]'s; serving it is `execute`'s.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::phone_sim::core::Reply;
use crate::phone_sim::faults::HUGE_REPLY_BYTES;

/// A well-formed start of a reply that goes on for [`HUGE_REPLY_BYTES`], chunked (no length
/// announced), in 64 KiB pieces produced as the client reads them; it ends early if the phone
/// crashes or the fleet stops, and hyper drops it when the client hangs up.
pub(super) fn huge_response(stopped: impl Future<Output = ()> + Send + 'static) -> Response {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    const ITEM: &[u8] = b"<ResponseItem URL=\"RTPRx:Stop\" Data=\"Success\" Status=\"0\"/>\n";
    struct Huge {
        head: Option<Bytes>,
        piece: Bytes,
        left: usize,
        stopped: Pin<Box<dyn Future<Output = ()> + Send>>,
    }
    impl futures_core::Stream for Huge {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.stopped.as_mut().poll(cx).is_ready() || self.left == 0 {
                return Poll::Ready(None);
            }
            if let Some(head) = self.head.take() {
                return Poll::Ready(Some(Ok(head)));
            }
            self.left -= 1;
            Poll::Ready(Some(Ok(self.piece.clone())))
        }
    }
    let piece = Bytes::from(ITEM.repeat(64 * 1024 / ITEM.len()));
    let body = Huge {
        head: Some(Bytes::from_static(
            b"<?xml version=\"1.0\"?>\n<CiscoIPPhoneResponse>\n",
        )),
        left: HUGE_REPLY_BYTES / piece.len(),
        piece,
        stopped: Box::pin(stopped),
    };
    let mut r = Response::new(Body::from_stream(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    r
}

/// Announce the whole body, send half of it, then break the connection.
pub(super) fn reset_response(reply: &Reply) -> Response {
    let full = if reply.body.is_empty() {
        "<CiscoIPPhoneResponse></CiscoIPPhoneResponse>".to_owned()
    } else {
        reply.body.clone()
    };
    let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
    let stream = futures_stream(half);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    r
}

/// A body stream: some bytes, a pause (so they reach the wire), then an error, on which hyper
/// aborts the connection.
fn futures_stream(
    first: Bytes,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    struct Broken {
        first: Option<Bytes>,
        // Armed once the first bytes are handed over, so they reach the wire however late
        // hyper gets to them.
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
        done: bool,
    }
    impl futures_core::Stream for Broken {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if let Some(b) = self.first.take() {
                self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                return Poll::Ready(Some(Ok(b)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let Some(pause) = self.pause.as_mut() else {
                return Poll::Ready(None);
            };
            match pause.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "emulated reset",
                    ))))
                }
            }
        }
    }
    Broken {
        first: Some(first),
        pause: None,
        done: false,
    }
}
