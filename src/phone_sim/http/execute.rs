//! `POST /CGI/Execute`: a push as the phone takes it. The transport faults drawn for it
//! (latency, hang, refuse, garbage, reset, huge), the Authentication URL's verdict, the core's
//! answer turned into an HTTP reply, and the fault timers of a stream the push started. The
//! broken bodies are `fault_replies`'s.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::fault_replies::{huge_response, reset_response};
use super::{Node, PhoneNode};
use crate::phone_sim::core::{PushInput, Reply};
use crate::phone_sim::faults::{PushFault, garbage_body};

pub(super) async fn execute(State(node): Node, headers: HeaderMap, body: Bytes) -> Response {
    // A phone finishes a push it has read even when the sender stops waiting (hyper drops a
    // handler whose client hung up): a slow phone executes a start its pager gave up on.
    tokio::spawn(execute_push(node, headers, body))
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn execute_push(node: Arc<PhoneNode>, headers: HeaderMap, body: Bytes) -> Response {
    if node.is_crashed() {
        node.stopped().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let (latency, fault) = {
        let mut rng = node.rng.lock().unwrap_or_else(|e| e.into_inner());
        node.info.faults.for_push(&mut rng)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fault == PushFault::Hang {
        // Accept, read, never answer (until the fleet stops).
        node.stopped().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let expect_continue =
        text(header::EXPECT).is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let chunked =
        text(header::TRANSFER_ENCODING).is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    // With an Authentication URL the URL decides (asked only for a push the phone would read);
    // its verdict reaches the core as the phone's own credentials or none at all.
    let own;
    let authorization = match &node.ctx.auth_url {
        Some(url) if !expect_continue && !chunked => {
            own = node
                .authenticate(url, text(header::AUTHORIZATION))
                .await
                .then(|| node.own_authorization());
            own.as_deref()
        }
        _ => text(header::AUTHORIZATION),
    };
    let input = PushInput {
        authorization,
        expect_continue,
        chunked,
        body: &body,
    };
    let (outcome, started, service_closed) = node.with_core(|core, hw, now| {
        let before = core.state().counters.rx_started + core.state().counters.tx_started;
        let closed_before = core.state().service_closed;
        core.refuse = fault == PushFault::Refuse;
        let o = core.handle_push(now, &input, hw);
        core.refuse = false;
        let service_closed = core.state().service_closed != closed_before;
        let after = core.state().counters.rx_started + core.state().counters.tx_started;
        let started = (after > before).then(|| {
            core.state()
                .rx
                .as_ref()
                .or(core.state().tx.as_ref())
                .map_or(now, |s| s.started_ms)
        });
        (o, started, service_closed)
    });
    if service_closed {
        // The push took the service off the screen (App:Close, Init:Services ...).
        node.cancel_refresh();
        node.browser_lock().close();
    }
    if let Some(started_ms) = started {
        node.arm_stream_faults(started_ms);
    }
    node.run_effects(outcome.effects);
    let reply = outcome.reply;
    if reply.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    }
    match fault {
        PushFault::Garbage => {
            let body = {
                let mut rng = node.rng.lock().unwrap_or_else(|e| e.into_inner());
                garbage_body(&mut rng)
            };
            ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
        }
        PushFault::Reset => reset_response(&reply),
        PushFault::Huge => huge_response(node.stopped()),
        _ => to_response(reply),
    }
}

fn to_response(reply: Reply) -> Response {
    let mut r = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body,
    )
        .into_response();
    if !reply.content_type.is_empty() {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(reply.content_type),
        );
    } else {
        r.headers_mut().remove(header::CONTENT_TYPE);
    }
    if reply.challenge {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"IP Phone\""),
        );
    }
    r
}

impl PhoneNode {
    /// Arm the fault timers for a stream that just started.
    fn arm_stream_faults(self: &Arc<Self>, started_ms: u64) {
        let faults = &self.info.faults;
        if let Some(after) = faults.hang_up_after {
            let node = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                // Only if the same stream is still running.
                let same = node
                    .core
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .state()
                    .rx
                    .as_ref()
                    .is_some_and(|rx| rx.started_ms == started_ms);
                if same {
                    node.hang_up();
                }
            });
        }
        if let Some(after) = faults.crash_after {
            let node = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                node.crash();
            });
        }
    }
}
