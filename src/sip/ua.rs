//! The SIP user agent's loop (the shell): rsipstack's endpoint listening on UDP and TCP at one
//! address and port (`[sip] listen`, `transports`), every new server transaction dispatched: a
//! new INVITE becomes a call ([`super::call`]), OPTIONS outside a dialog is answered 200,
//! requests inside a dialog go to it (BYE, ACK, re-INVITE, INFO), anything else is 405 or 481.
//! A new INVITE or OPTIONS from a source outside `allow` is 403, or, when `[[sip.caller]]`
//! credentials exist, judged by the digest [`Doorman`] ([`super::challenge`]): 401 with a
//! challenge, 403, or taken as allowed. CANCEL and retransmissions are the transaction layer's;
//! over TCP, responses go back on the caller's connection and our Via names the TCP listener
//! (rsipstack's rules). Sources outside `allow` may hold at most [`MAX_STREAMS`] TCP
//! connections between them; the trunks in `allow` always get through.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::Dialog;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::platform::CancellationToken;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{TcpListenerConnection, TransportLayer};
use tokio::sync::watch;

use super::admit::vouched;
use super::call::{Line, answer, final_reply, source_ip};
use super::challenge::{Doorman, Knock};
use super::desk::Desk;
use crate::audio::LoudnessTarget;
use crate::config::Sip;

/// How long calls get to send their BYEs once the agent is told to quit.
const QUIT_GRACE: Duration = Duration::from_secs(5);
/// How long the TCP listener gets to start accepting (rsipstack binds it when it starts).
const TCP_START: Duration = Duration::from_secs(3);
/// Longest a 401's transaction is kept to absorb retransmissions and the ACK.
const CHALLENGE_LINGER: Duration = Duration::from_secs(40);
/// Refused or challenged requests kept at once (as [`final_reply`] counts them).
const MAX_CHALLENGES_KEPT: usize = 512;
/// TCP connections open at once before sources outside `allow` are turned away (rsipstack
/// keeps two 64 KiB buffers per connection: a flood of connections stays under 40 MiB).
const MAX_STREAMS: usize = 256;

/// A bound user agent, ready to [`Agent::run`].
pub struct Agent {
    line: Arc<Line>,
    local: SocketAddr,
    tcp: Option<SocketAddr>,
    doorman: Doorman,
    started: tokio::time::Instant,
    incoming: TransactionReceiver,
    token: CancellationToken,
}

/// Why the agent did not start.
#[derive(Debug, thiserror::Error)]
#[error("SIP {on}: {reason}")]
pub struct AgentError {
    /// Where: `on udp:ADDR`, `on tcp:ADDR`, or the config key of a caller's password.
    on: String,
    reason: String,
}

impl Agent {
    /// Bind `[sip] listen` on its transports (UDP first; TCP on the port UDP got when `listen`
    /// asks for port 0) and read the `[[sip.caller]]` passwords. The answer's media address is
    /// `media_ip` (the engine's media address when the listener is `0.0.0.0`); callers are
    /// levelled toward `loudness`.
    pub async fn bind(
        sip: &Sip,
        media_ip: Ipv4Addr,
        loudness: LoudnessTarget,
        desk: Arc<dyn Desk>,
    ) -> Result<Agent, AgentError> {
        let doorman = doorman(sip)?;
        let token = CancellationToken::new();
        let transport = TransportLayer::new(token.child_token());
        let (udp, tcp) = listeners(&transport, sip, &token).await?;
        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("zonecast/", env!("CARGO_PKG_VERSION")))
            .with_transport_layer(transport)
            .with_cancel_token(token.child_token())
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| AgentError {
            on: format!("on udp:{}", sip.listen),
            reason: e.to_string(),
        })?;
        guard_streams(&endpoint.inner, sip);
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            let _ = inner.serve().await;
        });
        if let Some(at) = tcp {
            accepting(at).await?;
            tracing::info!("SIP listening on tcp:{at}");
        }
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
            local: udp.or(tcp).unwrap_or(SocketAddr::V4(sip.listen)),
            tcp,
            doorman,
            started: tokio::time::Instant::now(),
            incoming,
            token,
        })
    }

    /// The bound address: UDP's (its port when `listen` asked for 0), or TCP's when the agent
    /// listens on TCP only.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The TCP listener's address (the same port as UDP's), when it listens on TCP.
    pub fn local_tcp(&self) -> Option<SocketAddr> {
        self.tcp
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
        while self.line.calls.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
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
            (Method::Invite, false) => match self.door(&tx) {
                // Allowed, or no credentials to try: `admit` lets it in or answers 403.
                None => {
                    tokio::spawn(answer(line, tx));
                }
                Some(Knock::Admitted(user)) => {
                    tokio::spawn(vouched(user, answer(line, tx)));
                }
                Some(knock) => {
                    tokio::spawn(turn_away(line, tx, knock));
                }
            },
            (Method::Options, false) => match self.door(&tx) {
                None => {
                    let ok = source_ip(&tx.original).is_some_and(|ip| line.sip.allows(ip));
                    let status = if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::Forbidden
                    };
                    tokio::spawn(final_reply(line, tx, status));
                }
                Some(Knock::Admitted(_)) => {
                    tokio::spawn(final_reply(line, tx, StatusCode::OK));
                }
                Some(knock) => {
                    tokio::spawn(turn_away(line, tx, knock));
                }
            },
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

    /// The digest verdict on a new request from outside `allow`; `None` when its source is
    /// allowed or no `[[sip.caller]]` exists (then it is treated as before: 403 outside).
    fn door(&self, tx: &Transaction) -> Option<Knock> {
        let req = &tx.original;
        let source = source_ip(req);
        if !self.doorman.has_callers() || source.is_some_and(|ip| self.line.sip.allows(ip)) {
            return None;
        }
        // A source we cannot name (an IPv6 or a host name in the Via) is judged as unspecified.
        let at = IpAddr::V4(source.unwrap_or(Ipv4Addr::UNSPECIFIED));
        let authorization = req.header_value("Authorization");
        let knock = self.doorman.knock(
            self.started.elapsed(),
            at,
            &req.method,
            &req.uri.to_string(),
            authorization.as_deref(),
        );
        match &knock {
            Knock::Admitted(user) => {
                tracing::info!("sip: {} from {at} let in as caller {user:?}", req.method)
            }
            Knock::Refused(why) => {
                tracing::info!("sip: {} from {at} refused 403: {why}", req.method)
            }
            Knock::Challenge(_) | Knock::Stale(_) => {
                tracing::debug!("sip: {} from {at} challenged (401)", req.method)
            }
        }
        Some(knock)
    }
}

/// Answer a request the [`Doorman`] did not let in: 401 with its challenge, or 403; the
/// transaction is kept until its retransmissions and ACK are absorbed (bounded as
/// [`final_reply`] is).
async fn turn_away(line: Arc<Line>, mut tx: Transaction, knock: Knock) {
    let challenge = match knock {
        Knock::Challenge(c) | Knock::Stale(c) => c,
        Knock::Refused(_) | Knock::Admitted(_) => {
            return final_reply(line, tx, StatusCode::Forbidden).await;
        }
    };
    let headers = vec![Header::WwwAuthenticate(challenge.into())];
    if let Err(e) = tx.reply_with(StatusCode::Unauthorized, headers, None).await {
        tracing::debug!("sip: challenging: {e}");
        return;
    }
    if line.lingering.fetch_add(1, Ordering::SeqCst) < MAX_CHALLENGES_KEPT {
        let absorb = async { while tx.receive().await.is_some() {} };
        let _ = tokio::time::timeout(CHALLENGE_LINGER, absorb).await;
    }
    line.lingering.fetch_sub(1, Ordering::SeqCst);
}

/// The `[[sip.caller]]` credentials, their passwords read now (a missing one fails the start,
/// naming its key, never a value), with a fresh random nonce key.
fn doorman(sip: &Sip) -> Result<Doorman, AgentError> {
    let mut callers = Vec::with_capacity(sip.callers.len());
    for c in &sip.callers {
        let owner = format!("[[sip.caller]] {:?}", c.user);
        let secret = c.secret(&owner).map_err(|e| AgentError {
            on: "caller password".into(),
            reason: e.to_string(),
        })?;
        callers.extend(secret.map(|s| (c.user.clone(), s)));
    }
    Ok(Doorman::new(rand::random::<[u8; 32]>(), callers))
}

/// Add `[sip]`'s listeners to `transport`: UDP bound now (its address), TCP on the same
/// port (its address; rsipstack binds it when the endpoint starts and only logs a failure,
/// so the port is tried here first: a taken one fails the start with its reason).
async fn listeners(
    transport: &TransportLayer,
    sip: &Sip,
    token: &CancellationToken,
) -> Result<(Option<SocketAddr>, Option<SocketAddr>), AgentError> {
    let mut at = SocketAddr::V4(sip.listen);
    let failed = |kind: &str, at: SocketAddr, reason: String| AgentError {
        on: format!("on {kind}:{at}"),
        reason,
    };
    let mut udp_at = None;
    if sip.transports.udp {
        let udp = UdpConnection::create_connection(at, None, Some(token.child_token()))
            .await
            .map_err(|e| failed("udp", at, e.to_string()))?;
        at = udp
            .get_addr()
            .get_socketaddr()
            .map_err(|e| failed("udp", at, e.to_string()))?;
        transport.add_transport(udp.into());
        udp_at = Some(at);
    }
    let mut tcp_at = None;
    if sip.transports.tcp {
        let probe =
            std::net::TcpListener::bind(at).map_err(|e| failed("tcp", at, e.to_string()))?;
        at = probe
            .local_addr()
            .map_err(|e| failed("tcp", at, e.to_string()))?;
        drop(probe);
        let listener = TcpListenerConnection::new(at, None)
            .await
            .map_err(|e| failed("tcp", at, e.to_string()))?;
        transport.add_transport(listener.into());
        tcp_at = Some(at);
    }
    Ok((udp_at, tcp_at))
}

/// Bound the TCP connections: the trunks in `allow` always get through (datagrams and
/// connections), anyone else only while fewer than [`MAX_STREAMS`] connections are open.
/// rsipstack asks this for every datagram and every accepted connection.
fn guard_streams(endpoint: &Arc<rsipstack::transaction::endpoint::EndpointInner>, sip: &Sip) {
    let weak = Arc::downgrade(endpoint);
    let allow = sip.allow.clone();
    let pass = move |ip: IpAddr| {
        let trunk = matches!(ip, IpAddr::V4(v4) if allow.iter().any(|c| c.contains(v4)));
        let room = weak
            .upgrade()
            .is_some_and(|e| e.transport_layer.connections_count() < MAX_STREAMS);
        std::future::ready(trunk || room)
    };
    endpoint.transport_layer.set_whitelist(pass);
}

/// Wait until the TCP listener at `at` accepts (a connection opened and closed at once).
async fn accepting(at: SocketAddr) -> Result<(), AgentError> {
    let target = if at.ip().is_unspecified() {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), at.port())
    } else {
        at
    };
    let deadline = tokio::time::Instant::now() + TCP_START;
    loop {
        if tokio::net::TcpStream::connect(target).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AgentError {
                on: format!("on tcp:{at}"),
                reason: "the listener did not start (see the log above)".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
