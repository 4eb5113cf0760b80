//! The SIP user agent's loop (the shell): rsipstack's endpoint on one UDP socket, every new
//! server transaction dispatched: a new INVITE becomes a call ([`super::call`]), OPTIONS
//! outside a dialog is answered 200 (403 to sources not allowed), requests inside a dialog go
//! to it (BYE, ACK, re-INVITE, INFO), anything else is 405 or 481. CANCEL and retransmissions
//! are the transaction layer's.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::Dialog;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::platform::CancellationToken;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use tokio::sync::watch;

use super::call::{Line, answer, final_reply, source_ip};
use super::desk::Desk;
use crate::audio::LoudnessTarget;
use crate::config::Sip;

/// How long calls get to send their BYEs once the agent is told to quit.
const QUIT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A bound user agent, ready to [`Agent::run`].
pub struct Agent {
    line: Arc<Line>,
    local: SocketAddr,
    incoming: TransactionReceiver,
    token: CancellationToken,
}

/// Why the agent did not start.
#[derive(Debug, thiserror::Error)]
#[error("SIP on udp:{listen}: {reason}")]
pub struct AgentError {
    listen: SocketAddr,
    reason: String,
}

impl Agent {
    /// Bind `[sip] listen` (UDP). The answer's media address is `media_ip` (the engine's
    /// media address when the listener is `0.0.0.0`); callers are levelled toward `loudness`.
    pub async fn bind(
        sip: &Sip,
        media_ip: std::net::Ipv4Addr,
        loudness: LoudnessTarget,
        desk: Arc<dyn Desk>,
    ) -> Result<Agent, AgentError> {
        let listen = SocketAddr::V4(sip.listen);
        let err = |e: rsipstack::Error| AgentError {
            listen,
            reason: e.to_string(),
        };
        let token = CancellationToken::new();
        let transport = TransportLayer::new(token.child_token());
        let udp = UdpConnection::create_connection(listen, None, Some(token.child_token()))
            .await
            .map_err(err)?;
        let local = udp.get_addr().get_socketaddr().map_err(err)?;
        transport.add_transport(udp.into());
        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("zonecast/", env!("CARGO_PKG_VERSION")))
            .with_transport_layer(transport)
            .with_cancel_token(token.child_token())
            .build();
        let incoming = endpoint.incoming_transactions().map_err(err)?;
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            let _ = inner.serve().await;
        });
        let ip = if sip.listen.ip().is_unspecified() {
            media_ip
        } else {
            *sip.listen.ip()
        };
        let line = Arc::new(Line {
            sip: sip.clone(),
            desk,
            media_ip: ip,
            loudness,
            layer: Arc::new(DialogLayer::new(endpoint.inner.clone())),
            calls: Default::default(),
            lingering: Default::default(),
        });
        Ok(Agent {
            line,
            local,
            incoming,
            token,
        })
    }

    /// The bound address (its port when `listen` asked for 0).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Take requests until `quit` turns true (calls in progress end with their pages).
    pub async fn run(mut self, mut quit: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                changed = quit.changed() => if changed.is_err() || *quit.borrow() {
                    break;
                },
                tx = self.incoming.recv() => match tx {
                    Some(tx) => self.dispatch(tx),
                    None => break,
                },
            }
        }
        // Calls end with their pages (the server ends them all on its way out); their BYEs
        // need the transport, so it closes once they are gone or after a grace.
        let deadline = tokio::time::Instant::now() + QUIT_GRACE;
        while self.line.calls.load(std::sync::atomic::Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.token.cancel();
    }

    fn dispatch(&self, mut tx: Transaction) {
        let line = self.line.clone();
        let in_dialog = tx
            .original
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        match (&tx.original.method, in_dialog) {
            (Method::Invite, false) => {
                tokio::spawn(answer(line, tx));
            }
            (Method::Options, false) => {
                let ok = source_ip(&tx.original).is_some_and(|ip| line.sip.allows(ip));
                let status = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::Forbidden
                };
                tokio::spawn(final_reply(line, tx, status));
            }
            (_, false) => {
                tokio::spawn(final_reply(line, tx, StatusCode::MethodNotAllowed));
            }
            (_, true) => match line.layer.match_dialog(&tx) {
                Some(Dialog::Invite(mut d)) => {
                    tokio::spawn(async move {
                        let _ = d.handle(&mut tx).await;
                    });
                }
                _ => {
                    tokio::spawn(final_reply(
                        line,
                        tx,
                        StatusCode::CallTransactionDoesNotExist,
                    ));
                }
            },
        }
    }
}
