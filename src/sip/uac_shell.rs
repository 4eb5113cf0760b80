//! The shell of calling SIP endpoints ([`Dialer`], the page core's
//! [`SipDialer`](crate::page::SipDialer)): one UDP socket per call, bound when the call's
//! dialog is made (so the Via and Contact the journal keeps are the ones sent), the INVITE
//! retransmitted (500 ms doubling, up to 4 s) until a provisional answer, cancelled when no final
//! answer comes within the endpoint's `answer_timeout` or the page ends first, a digest challenge
//! answered once; once answered, a task (`keep`) keeps the call's socket and carries out what
//! the call's pure core ([`Confirmed`]) says to the endpoint's requests in the dialog (its BYE,
//! re-INVITE, UPDATE, OPTIONS) and to the session timer, telling the page what the endpoint did
//! (`on_event`), until the page hangs up (BYE, retransmitted, up to 8 s).
//!
//! Plain UDP and the pure [`super::uac`] rather than rsipstack's client dialogs: the dialog's
//! ids (Call-ID, tags, the INVITE's branch and CSeq, the socket's address) must be chosen and
//! journaled before the INVITE goes out, and another process (`zonecast recover`) must be able
//! to send the BYE or CANCEL of a dialog it never opened. rsipstack's dialog layer owns those
//! ids itself; its parser still reads every message here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::uac::confirmed::{Confirmed, DialogDeed};
use super::uac::{self, Inbound, Invite, SessionExpires, Step};
use crate::config::SipEndpoint;
use crate::page::dial::{
    CallEnd, CallEvent, DialFuture, OnCallEvent, OnDialog, SipCall, SipDialer, SipDialog,
};

/// First retransmission interval (RFC 3261's T1).
const T1: Duration = Duration::from_millis(500);
/// Longest retransmission interval (T2).
const T2: Duration = Duration::from_secs(4);
/// How long a BYE or CANCEL waits for its final answer.
const NON_INVITE_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a cancelled INVITE waits for its final answer (487, or a 200 that crossed).
const CANCEL_WAIT: Duration = Duration::from_secs(4);

/// An answered call's socket, kept by the task answering the endpoint's requests.
struct Kept {
    stop: oneshot::Sender<()>,
    /// The socket and the dialog as it is now, for the BYE (`None`: the call is already over).
    task: tokio::task::JoinHandle<Option<(UdpSocket, SipDialog)>>,
}

/// Calls the configured SIP endpoints (cheap to share).
pub struct Dialer {
    endpoints: HashMap<String, SipEndpoint>,
    /// Sockets of dialogs made and not yet called, by Call-ID.
    bound: Mutex<HashMap<String, std::net::UdpSocket>>,
    /// Answered calls, by Call-ID.
    live: Arc<Mutex<HashMap<String, Kept>>>,
}

impl Dialer {
    /// A dialer for these endpoints (recovery needs none: a dialog says where it goes).
    pub fn new(endpoints: &[SipEndpoint]) -> Arc<Dialer> {
        Arc::new(Dialer {
            endpoints: endpoints
                .iter()
                .map(|e| (e.name.clone(), e.clone()))
                .collect(),
            bound: Mutex::new(HashMap::new()),
            live: Arc::new(Mutex::new(HashMap::new())),
        })
    }
}

/// A socket on the address that reaches `peer`, any port.
fn bind_towards(peer: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0")?;
    probe.connect(peer)?;
    let ip = probe.local_addr()?.ip();
    std::net::UdpSocket::bind((ip, 0))
}

/// `sip:user@host:port;params` → where to send (resolved), IPv4 only.
async fn addr_of_uri(uri: &str) -> Option<SocketAddr> {
    let bare = uri.trim().trim_start_matches('<');
    let bare = bare.split(['>', ';']).next()?;
    let (host, port) = crate::config::sip_uri_rule(bare).ok()?;
    tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .find(SocketAddr::is_ipv4)
}

/// Where a confirmed dialog's requests go: its first route, else its remote target, else the
/// address it was called at.
async fn next_hop(d: &SipDialog) -> Option<SocketAddr> {
    let via = match (d.route_set.first(), &d.remote_target) {
        (Some(r), _) => addr_of_uri(r.trim_start_matches('<')).await,
        (None, Some(t)) => addr_of_uri(t).await,
        (None, None) => None,
    };
    via.or_else(|| d.peer.parse().ok())
}

fn to_tokio(s: std::net::UdpSocket) -> std::io::Result<UdpSocket> {
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s)
}

impl SipDialer for Dialer {
    fn dialog(&self, name: &str) -> Result<SipDialog, String> {
        let e = self
            .endpoints
            .get(name)
            .ok_or_else(|| format!("SIP endpoint {name} is not in the config"))?;
        let peer = std::net::ToSocketAddrs::to_socket_addrs(&(e.host.as_str(), e.port))
            .map_err(|err| format!("{}: {err}", e.host))?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| format!("{} has no IPv4 address", e.host))?;
        let sock = bind_towards(peer).map_err(|err| format!("a socket towards {peer}: {err}"))?;
        let local = sock.local_addr().map_err(|err| err.to_string())?;
        let d = uac::new_dialog(&e.uri, peer, local);
        let mut bound = self.bound.lock().unwrap_or_else(|p| p.into_inner());
        // Dialogs planned and never called (a page refused after planning) are not kept.
        if bound.len() > 4096 {
            bound.clear();
        }
        bound.insert(d.call_id.clone(), sock);
        Ok(d)
    }

    fn call(
        &self,
        call: SipCall,
        on_dialog: OnDialog,
        on_event: OnCallEvent,
        ending: watch::Receiver<bool>,
    ) -> DialFuture<CallEnd> {
        let sock = self
            .bound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&call.dialog.call_id);
        let endpoint = self.endpoints.get(&call.endpoint).cloned();
        let live = self.live.clone();
        Box::pin(async move {
            let Some(endpoint) = endpoint else {
                return CallEnd::Unreachable("not in the config".into());
            };
            let sock = match sock.map(to_tokio) {
                Some(Ok(s)) => s,
                Some(Err(e)) => return CallEnd::Unreachable(e.to_string()),
                None => return CallEnd::Unreachable("its dialog was not made here".into()),
            };
            let mut c = Calling {
                sock,
                peer: call.dialog.peer.parse().ok(),
                invite: Invite::new(call.dialog.clone()),
                endpoint,
                on_dialog,
                ending,
                expires: None,
            };
            let end = c.run(&call).await;
            if let CallEnd::Answered { dialog, media, law } = &end {
                let (stop, stopped) = oneshot::channel();
                let id = dialog.call_id.clone();
                let now = std::time::Instant::now();
                let core = Confirmed::new(now, c.invite, (call.offer, *media, *law), c.expires);
                let hooks = (c.on_dialog, on_event);
                let task = tokio::spawn(keep(c.sock, core, stopped, hooks));
                live.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, Kept { stop, task });
            }
            end
        })
    }

    fn hang_up(&self, dialog: SipDialog) -> DialFuture<Result<(), String>> {
        let kept = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&dialog.call_id);
        Box::pin(async move {
            let (sock, dialog) = match kept {
                Some(k) => {
                    let _ = k.stop.send(());
                    match k.task.await {
                        Ok(None) => return Ok(()), // over already (the endpoint hung up)
                        Ok(Some((sock, now))) => (sock, now),
                        Err(e) => return Err(e.to_string()),
                    }
                }
                None => {
                    // Another process's dialog (recovery): its own address again when free,
                    // so answers to what it sent (a 487 to ACK) find us; else any port.
                    let peer: SocketAddr = dialog
                        .peer
                        .parse()
                        .map_err(|_| format!("bad peer {}", dialog.peer))?;
                    let again = dialog
                        .via
                        .parse::<SocketAddr>()
                        .ok()
                        .and_then(|v| std::net::UdpSocket::bind(v).ok());
                    let s = match again {
                        Some(s) => s,
                        None => bind_towards(peer).map_err(|e| e.to_string())?,
                    };
                    (to_tokio(s).map_err(|e| e.to_string())?, dialog)
                }
            };
            let via = sock
                .local_addr()
                .map_or_else(|_| dialog.via.clone(), |a| a.to_string());
            if dialog.remote_tag.is_some() {
                let to = next_hop(&dialog).await.ok_or("no address for the BYE")?;
                let branch = format!("z9hG4bK{}", uac::token());
                let status =
                    transact(&sock, to, &uac::bye(&dialog, &branch, &via), &branch).await?;
                match status {
                    200..=299 | 481 => Ok(()), // 481: the call was already gone
                    s => Err(format!("BYE answered {s}")),
                }
            } else {
                // Never answered as far as we know: cancel the INVITE, ACK its 487.
                let peer: SocketAddr = dialog
                    .peer
                    .parse()
                    .map_err(|_| format!("bad peer {}", dialog.peer))?;
                cancel_and_wait(&sock, peer, &mut Invite::new(dialog)).await;
                Ok(())
            }
        })
    }
}

/// One call until its final answer.
struct Calling {
    sock: UdpSocket,
    peer: Option<SocketAddr>,
    invite: Invite,
    endpoint: SipEndpoint,
    on_dialog: OnDialog,
    ending: watch::Receiver<bool>,
    /// The answer's `Session-Expires`.
    expires: Option<SessionExpires>,
}

impl Calling {
    async fn send(&self, text: &str) {
        if let Some(p) = self.peer
            && let Err(e) = self.sock.send_to(text.as_bytes(), p).await
        {
            tracing::debug!("SIP to {p}: {e}");
        }
    }

    async fn run(&mut self, call: &SipCall) -> CallEnd {
        let Some(peer) = self.peer else {
            return CallEnd::Unreachable(format!("bad address {}", call.dialog.peer));
        };
        let sdp = uac::offer_sdp(call.offer, call.law, rand::random::<u32>().into());
        let hint = self.endpoint.auto_answer;
        let deadline = Instant::now() + self.endpoint.answer_timeout;
        let mut auth: Option<String> = None;
        // The challenge answered last, and how many requests have used its nonce.
        let mut answered: Option<(uac::Challenge, u8)> = None;
        let mut heard = false;
        let mut buf = vec![0u8; uac::MAX_REPLY_BYTES + 1];
        loop {
            let request = uac::invite(
                &self.invite.dialog,
                &sdp,
                hint,
                auth.as_deref(),
                self.invite.session_secs,
            );
            self.send(&request).await;
            let mut rto = T1;
            let mut retx = Some(Instant::now() + rto);
            loop {
                let wake = retx.map_or(deadline, |r| r.min(deadline));
                tokio::select! {
                    got = self.sock.recv_from(&mut buf) => {
                        let Ok((n, _)) = got else { continue };
                        let reply = match uac::parse_inbound_uac(&buf[..n]) {
                            Ok(Inbound::SipReply(r)) => *r,
                            Ok(Inbound::Request { method, echo, .. }) => {
                                let status = if method == "OPTIONS" { 200 } else { 481 };
                                self.send(&uac::respond(&echo, status, "OK")).await;
                                continue;
                            }
                            Err(e) => {
                                tracing::debug!("SIP from {}: {e}", call.endpoint);
                                continue;
                            }
                        };
                        heard = true;
                        let creds = self.endpoint.auth.is_some();
                        match self.invite.on_reply(&reply, creds) {
                            Step::Wait => {}
                            Step::Proceeding => retx = None,
                            Step::Answered { ack, media, law } => {
                                self.expires = reply.session_expires;
                                // The journal learns the remote tag before the ACK goes.
                                (self.on_dialog)(&self.invite.dialog);
                                self.send(&ack).await;
                                if *self.ending.borrow() {
                                    self.bye_now().await;
                                    return CallEnd::Cancelled;
                                }
                                return CallEnd::Answered {
                                    media,
                                    law,
                                    dialog: Box::new(self.invite.dialog.clone()),
                                };
                            }
                            Step::AnsweredUnusable { ack, why } => {
                                (self.on_dialog)(&self.invite.dialog);
                                self.send(&ack).await;
                                self.bye_now().await;
                                return CallEnd::Refused { status: 488, reason: format!("unusable answer ({why})") };
                            }
                            Step::Challenged { ack, challenge } => {
                                self.send(&ack).await;
                                let secret = match self.endpoint.secret() {
                                    Ok(Some(s)) => s,
                                    Ok(None) => return CallEnd::Refused { status: reply.status, reason: "unauthorized".into() },
                                    Err(e) => return CallEnd::Refused { status: reply.status, reason: format!("unauthorized ({e})") },
                                };
                                let header = challenge.answer(&secret.0, secret.1.expose(), "INVITE", &self.invite.dialog.remote_uri);
                                answered = Some((challenge, 1));
                                self.invite.rechallenge();
                                // The journal has the new INVITE's branch before it goes.
                                (self.on_dialog)(&self.invite.dialog);
                                auth = Some(header);
                                break;
                            }
                            Step::TooBrief { ack, min_se } => {
                                self.send(&ack).await;
                                self.invite.lengthen(min_se);
                                // Answered before: the same nonce, its next count (a server
                                // refusing replays would take the same header again as one).
                                if let (Some((challenge, nc)), Ok(Some(secret))) = (answered.as_mut(), self.endpoint.secret()) {
                                    *nc = nc.saturating_add(1);
                                    auth = Some(challenge.answer_again(&secret.0, secret.1.expose(), "INVITE", &self.invite.dialog.remote_uri, *nc));
                                }
                                (self.on_dialog)(&self.invite.dialog);
                                break;
                            }
                            Step::Refused { ack, status } => {
                                self.send(&ack).await;
                                return CallEnd::Refused { status, reason: uac::refusal_words(status).into() };
                            }
                        }
                    }
                    () = tokio::time::sleep_until(wake) => {
                        if Instant::now() >= deadline {
                            cancel_and_wait(&self.sock, peer, &mut self.invite).await;
                            return if heard { CallEnd::NoAnswer } else {
                                CallEnd::Unreachable(format!("no answer at all from {peer}"))
                            };
                        }
                        self.send(&request).await;
                        rto = (rto * 2).min(T2);
                        retx = Some(Instant::now() + rto);
                    }
                    Ok(()) = self.ending.changed() => {
                        if *self.ending.borrow() {
                            cancel_and_wait(&self.sock, peer, &mut self.invite).await;
                            return CallEnd::Cancelled;
                        }
                    }
                }
            }
        }
    }

    /// BYE a call that was answered when nobody wants it any more.
    async fn bye_now(&self) {
        if let Some(to) = next_hop(&self.invite.dialog).await {
            let branch = format!("z9hG4bK{}", uac::token());
            let d = &self.invite.dialog;
            let _ = transact(&self.sock, to, &uac::bye(d, &branch, &d.via), &branch).await;
        }
    }
}

/// CANCEL the INVITE and wait for its final answer: ACK a 487; a 200 that crossed the
/// CANCEL is ACKed and hung up.
async fn cancel_and_wait(sock: &UdpSocket, peer: SocketAddr, invite: &mut Invite) {
    let cancel = uac::cancel(&invite.dialog);
    let _ = sock.send_to(cancel.as_bytes(), peer).await;
    let until = Instant::now() + CANCEL_WAIT;
    let mut rto = T1;
    let mut retx = Instant::now() + rto;
    let mut cancel_answered = false;
    let mut buf = vec![0u8; uac::MAX_REPLY_BYTES + 1];
    loop {
        tokio::select! {
            got = sock.recv_from(&mut buf) => {
                let Ok((n, _)) = got else { continue };
                let Ok(Inbound::SipReply(r)) = uac::parse_inbound_uac(&buf[..n]) else { continue };
                if r.cseq.1 == "CANCEL" && r.call_id == invite.dialog.call_id {
                    cancel_answered = true;
                    continue;
                }
                match invite.on_reply(&r, false) {
                    Step::Answered { ack, .. } | Step::AnsweredUnusable { ack, .. } => {
                        let _ = sock.send_to(ack.as_bytes(), peer).await;
                        if let Some(to) = next_hop(&invite.dialog).await {
                            let branch = format!("z9hG4bK{}", uac::token());
                            let d = &invite.dialog;
                            let _ = transact(sock, to, &uac::bye(d, &branch, &d.via), &branch).await;
                        }
                        return;
                    }
                    Step::Refused { ack, .. }
                    | Step::Challenged { ack, .. }
                    | Step::TooBrief { ack, .. } => {
                        let _ = sock.send_to(ack.as_bytes(), peer).await;
                        return;
                    }
                    Step::Wait | Step::Proceeding => {}
                }
            }
            () = tokio::time::sleep_until(retx.min(until)) => {
                if Instant::now() >= until {
                    return;
                }
                if !cancel_answered {
                    let _ = sock.send_to(cancel.as_bytes(), peer).await;
                }
                rto = (rto * 2).min(T2);
                retx = Instant::now() + rto;
            }
        }
    }
}

/// Send a non-INVITE request (BYE) and retransmit it until its final answer: the status.
async fn transact(
    sock: &UdpSocket,
    to: SocketAddr,
    text: &str,
    branch: &str,
) -> Result<u16, String> {
    let until = Instant::now() + NON_INVITE_TIMEOUT;
    let mut rto = T1;
    let mut buf = vec![0u8; uac::MAX_REPLY_BYTES + 1];
    sock.send_to(text.as_bytes(), to)
        .await
        .map_err(|e| e.to_string())?;
    let mut retx = Instant::now() + rto;
    loop {
        tokio::select! {
            got = sock.recv_from(&mut buf) => {
                let Ok((n, _)) = got else { continue };
                if let Ok(Inbound::SipReply(r)) = uac::parse_inbound_uac(&buf[..n])
                    && r.branch == branch
                    && r.status >= 200
                {
                    return Ok(r.status);
                }
            }
            () = tokio::time::sleep_until(retx.min(until)) => {
                if Instant::now() >= until {
                    return Err(format!("no answer from {to}"));
                }
                let _ = sock.send_to(text.as_bytes(), to).await;
                rto = (rto * 2).min(T2);
                retx = Instant::now() + rto;
            }
        }
    }
}

/// An answered call's socket until the page hangs up (then: the socket and the dialog as it
/// is now, for the BYE) or the call is over (`None`): datagrams and timeouts go to the call's
/// core, and its deeds are carried out in order.
async fn keep(
    sock: UdpSocket,
    mut core: Confirmed,
    mut stop: oneshot::Receiver<()>,
    (on_dialog, on_event): (OnDialog, OnCallEvent),
) -> Option<(UdpSocket, SipDialog)> {
    let mut buf = vec![0u8; uac::MAX_REPLY_BYTES + 1];
    // Where the endpoint's last request came from: our replies go there.
    let mut reply_to: Option<SocketAddr> = None;
    loop {
        let wake = core.poll_timeout().map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            Instant::from_std,
        );
        let deeds = tokio::select! {
            _ = &mut stop => return Some((sock, core.dialog().clone())),
            got = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                let Ok(msg) = uac::parse_inbound_uac(&buf[..n]) else { continue };
                if matches!(msg, Inbound::Request { .. }) {
                    reply_to = Some(from);
                }
                core.handle_inbound(std::time::Instant::now(), msg)
            }
            () = tokio::time::sleep_until(wake) => core.handle_timeout(std::time::Instant::now()),
        };
        for deed in deeds {
            match deed {
                DialogDeed::Reply(text) => {
                    if let Some(to) = reply_to {
                        let _ = sock.send_to(text.as_bytes(), to).await;
                    }
                }
                DialogDeed::Send(text) => {
                    if let Some(to) = next_hop(core.dialog()).await {
                        let _ = sock.send_to(text.as_bytes(), to).await;
                    }
                }
                DialogDeed::Journal(d) => on_dialog(&d),
                DialogDeed::Event(e) => on_event(e),
                DialogDeed::HangUp { bye, why } => {
                    let d = core.dialog();
                    if bye && let Some(to) = next_hop(d).await {
                        let branch = format!("z9hG4bK{}", uac::token());
                        let _ = transact(&sock, to, &uac::bye(d, &branch, &d.via), &branch).await;
                    }
                    on_event(CallEvent::Ended { why });
                }
            }
        }
        if core.is_over() {
            tracing::info!(
                "SIP endpoint {}: the call is over",
                core.dialog().remote_uri
            );
            return None;
        }
    }
}
