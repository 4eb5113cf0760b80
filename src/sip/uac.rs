//! Calling a SIP endpoint (UAC), pure: the requests of one call as text (INVITE with our offer
//! and the auto-answer hints, ACK, BYE, CANCEL, the answer to a request the endpoint sends in
//! the dialog), the endpoint's responses read ([`parse_reply`], through rsipstack's parser),
//! and what each one means for the INVITE ([`Invite::on_reply`]: wait, answered, challenged,
//! asked for a longer session (422), refused). The INVITE asks for session timers
//! ([`SESSION_SECS`], `Min-SE` [`MIN_SE`]). Digest challenges are read here ([`Challenge::parse`]) and answered with
//! rsipstack's digest. No sockets and no clock: `uac_shell` sends, retransmits and times out.
//!
//! The dialog's ids are chosen before anything is sent ([`new_dialog`]), so the journal holds
//! them before the INVITE goes out and another process can end the call ([`bye`], [`cancel`]).
//!
//! Once answered, the call's life (the endpoint's requests in the dialog, session timers) is
//! [`confirmed`]'s.

use std::net::SocketAddrV4;

use crate::config::AutoAnswer;
use crate::g711::Law;
use crate::page::SipDialog;

use super::answer::{CallCodec, parse_offer};

pub mod confirmed;

/// What we say we are.
const AGENT: &str = "zonecast";
/// The methods we take in a call.
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE";
/// Largest response taken (a 200 with SDP is well under 2 KiB).
pub const MAX_REPLY_BYTES: usize = 16 * 1024;
/// The session interval our INVITE asks for (RFC 4028's recommended 30 minutes); the endpoint
/// may shorten it in its 200, or answer 422 with a longer `Min-SE`.
pub const SESSION_SECS: u32 = 1800;
/// The shortest session interval we accept (RFC 4028's floor).
pub const MIN_SE: u32 = 90;
/// The longest `Min-SE` a 422 may ask us to take (a day).
const LONGEST_MIN_SE: u32 = 86_400;

/// A random token for tags, branches and Call-IDs.
pub fn token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A fresh dialog to `uri` at `peer`, our requests sent from `local`.
pub fn new_dialog(uri: &str, peer: std::net::SocketAddr, local: std::net::SocketAddr) -> SipDialog {
    SipDialog {
        call_id: format!("{}@{}", token(), local.ip()),
        local_tag: token(),
        local_uri: format!("sip:{AGENT}@{}", local.ip()),
        remote_uri: uri.trim().to_owned(),
        peer: peer.to_string(),
        via: local.to_string(),
        branch: format!("z9hG4bK{}", token()),
        cseq: 1,
        remote_tag: None,
        remote_target: None,
        route_set: Vec::new(),
    }
}

/// The SDP offer of a page's stream: the page's law first, the other one second, both at
/// `local`, send only (the endpoint plays, it sends nothing back).
pub fn offer_sdp(local: SocketAddrV4, law: Law, version: u64) -> String {
    let pts = match law {
        Law::Ulaw => "0 8",
        Law::Alaw => "8 0",
    };
    let ip = local.ip();
    format!(
        "v=0\r\no=zonecast {version} {version} IN IP4 {ip}\r\ns=zonecast page\r\nc=IN IP4 {ip}\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP {pts}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=ptime:20\r\na=sendonly\r\n",
        port = local.port()
    )
}

/// A description of the page's stream at `local` in `law` alone, with `direction`
/// (`sendonly`, `recvonly`, `inactive`): our answer to an endpoint's re-offer, or our offer
/// again in a session refresh.
pub fn media_sdp(local: SocketAddrV4, law: Law, version: u64, direction: &str) -> String {
    let (pt, name) = match law {
        Law::Ulaw => (0, "PCMU"),
        Law::Alaw => (8, "PCMA"),
    };
    let ip = local.ip();
    format!(
        "v=0\r\no=zonecast {version} {version} IN IP4 {ip}\r\ns=zonecast page\r\nc=IN IP4 {ip}\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {name}/8000\r\na=ptime:20\r\n\
         a={direction}\r\n",
        port = local.port()
    )
}

fn from_to(d: &SipDialog, remote_tag: Option<&str>) -> String {
    let to_tag = remote_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "From: <{}>;tag={}\r\nTo: <{}>{to_tag}\r\nCall-ID: {}\r\n",
        d.local_uri, d.local_tag, d.remote_uri, d.call_id
    )
}

fn contact(via: &str) -> String {
    format!("Contact: <sip:{AGENT}@{via}>\r\n")
}

/// The INVITE of `d` (its branch and CSeq), offering `sdp`, with the auto-answer hints and,
/// after a challenge, its `Authorization` (or `Proxy-Authorization`) header line.
/// Our INVITE asks for session timers: `Session-Expires: session_secs` (refresher left to the
/// endpoint's answer) and `Min-SE: 90`.
pub fn invite(
    d: &SipDialog,
    sdp: &str,
    hint: AutoAnswer,
    auth: Option<&str>,
    session_secs: u32,
) -> String {
    let mut hints = String::new();
    if matches!(hint, AutoAnswer::CallInfo | AutoAnswer::Both) {
        hints.push_str(&format!("Call-Info: <{}>;answer-after=0\r\n", d.remote_uri));
    }
    if matches!(hint, AutoAnswer::AlertInfo | AutoAnswer::Both) {
        hints.push_str("Alert-Info: <http://127.0.0.1>;info=alert-autoanswer;delay=0\r\n");
    }
    format!(
        "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch};rport\r\nMax-Forwards: 70\r\n\
         {ft}CSeq: {cseq} INVITE\r\n{contact}{hints}{auth}Allow: {ALLOW}\r\nSupported: timer\r\n\
         Session-Expires: {session_secs}\r\nMin-SE: {MIN_SE}\r\n\
         User-Agent: {AGENT}\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
        uri = d.remote_uri,
        via = d.via,
        branch = d.branch,
        ft = from_to(d, None),
        cseq = d.cseq,
        contact = contact(&d.via),
        auth = auth.map(|a| format!("{a}\r\n")).unwrap_or_default(),
        len = sdp.len(),
    )
}

/// The ACK of a final answer other than 2xx: the INVITE's transaction (its branch), the
/// answer's To tag.
pub fn ack_failure(d: &SipDialog, to_tag: Option<&str>) -> String {
    format!(
        "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch};rport\r\nMax-Forwards: 70\r\n\
         {ft}CSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
        uri = d.remote_uri,
        via = d.via,
        branch = d.branch,
        ft = from_to(d, to_tag),
        cseq = d.cseq,
    )
}

/// An in-dialog request of a confirmed dialog: to its remote target, through its route set,
/// sent from `via` (the dialog's own socket, or recovery's).
fn in_dialog(d: &SipDialog, method: &str, cseq: u32, branch: &str, via: &str) -> String {
    in_dialog_with(d, (method, cseq), branch, via, "", "")
}

/// An in-dialog request with `extra` header lines and an SDP `body` (empty: none).
fn in_dialog_with(
    d: &SipDialog,
    (method, cseq): (&str, u32),
    branch: &str,
    via: &str,
    extra: &str,
    body: &str,
) -> String {
    let target = d.remote_target.as_deref().unwrap_or(&d.remote_uri);
    let routes: String = d
        .route_set
        .iter()
        .map(|r| format!("Route: {r}\r\n"))
        .collect();
    let typed = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n{routes}{ft}CSeq: {cseq} {method}\r\n{contact}{extra}User-Agent: {AGENT}\r\n\
         {typed}Content-Length: {len}\r\n\r\n{body}",
        ft = from_to(d, d.remote_tag.as_deref()),
        contact = if method == "ACK" {
            String::new()
        } else {
            contact(via)
        },
        len = body.len(),
    )
}

/// A session refresh (RFC 4028): a re-INVITE of the dialog with CSeq `d.cseq` and branch
/// `d.branch`, offering `sdp` again, asking `secs` with us refreshing.
pub fn refresh_invite(d: &SipDialog, sdp: &str, secs: u32) -> String {
    let extra =
        format!("Allow: {ALLOW}\r\nSupported: timer\r\nSession-Expires: {secs};refresher=uac\r\n");
    in_dialog_with(d, ("INVITE", d.cseq), &d.branch, &d.via, &extra, sdp)
}

/// The ACK of a re-INVITE's 2xx (its CSeq number `cseq`).
pub fn ack_reinvite(d: &SipDialog, cseq: u32, branch: &str) -> String {
    in_dialog(d, "ACK", cseq, branch, &d.via)
}

/// The ACK of a 2xx: a request of the dialog, with the INVITE's CSeq number.
pub fn ack_answer(d: &SipDialog, branch: &str) -> String {
    in_dialog(d, "ACK", d.cseq, branch, &d.via)
}

/// The BYE of a confirmed dialog (CSeq one past the INVITE's), sent from `via`.
pub fn bye(d: &SipDialog, branch: &str, via: &str) -> String {
    in_dialog(d, "BYE", d.cseq + 1, branch, via)
}

/// The CANCEL of the dialog's INVITE: its Request-URI, Via (sent-by and branch), Call-ID,
/// From, To (no tag) and CSeq number.
pub fn cancel(d: &SipDialog) -> String {
    format!(
        "CANCEL {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch};rport\r\nMax-Forwards: 70\r\n\
         {ft}CSeq: {cseq} CANCEL\r\nUser-Agent: {AGENT}\r\nContent-Length: 0\r\n\r\n",
        uri = d.remote_uri,
        via = d.via,
        branch = d.branch,
        ft = from_to(d, None),
        cseq = d.cseq,
    )
}

/// A digest challenge (`WWW-Authenticate` of a 401, `Proxy-Authenticate` of a 407).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// From a proxy (407): answered with `Proxy-Authorization`.
    pub proxy: bool,
    /// realm.
    pub realm: String,
    /// nonce.
    pub nonce: String,
    /// opaque, echoed.
    pub opaque: Option<String>,
    /// `qop` offers `auth`.
    pub qop_auth: bool,
    /// algorithm (MD5 when absent).
    pub algorithm: String,
}

impl Challenge {
    /// Read a challenge's value (`Digest realm="x", nonce="y", ...`); `None` when it is not
    /// a digest challenge with a realm and a nonce, or uses an algorithm we do not compute.
    pub fn parse(value: &str, proxy: bool) -> Option<Challenge> {
        let rest = value.trim();
        let (scheme, params) = rest.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") || params.len() > 4096 {
            return None;
        }
        let mut c = Challenge {
            proxy,
            realm: String::new(),
            nonce: String::new(),
            opaque: None,
            qop_auth: false,
            algorithm: "MD5".into(),
        };
        let (mut seen_realm, mut seen_nonce) = (false, false);
        for (k, v) in auth_params(params) {
            match k.to_ascii_lowercase().as_str() {
                "realm" => (c.realm, seen_realm) = (v, true),
                "nonce" => (c.nonce, seen_nonce) = (v, true),
                "opaque" => c.opaque = Some(v),
                "qop" => c.qop_auth = v.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")),
                "algorithm" => c.algorithm = v,
                _ => {}
            }
        }
        let known = ["MD5", "SHA-256"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&c.algorithm));
        (seen_realm && seen_nonce && known).then_some(c)
    }

    /// The header line answering it for `method` to `uri`, as `user` with `password`: the
    /// first use of its nonce.
    pub fn answer(&self, user: &str, password: &str, method: &str, uri: &str) -> String {
        self.answer_again(user, password, method, uri, 1)
    }

    /// [`Challenge::answer`] for the `nc`-th request under the same nonce (RFC 7616 §3.4: with
    /// `qop=auth` a server may refuse a nonce count it has seen, as ours does); a fresh
    /// `cnonce` each time.
    pub fn answer_again(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u8,
    ) -> String {
        use rsipstack::sip::headers::auth::{Algorithm, AuthQop};
        let algorithm = if self.algorithm.eq_ignore_ascii_case("SHA-256") {
            Algorithm::Sha256
        } else {
            Algorithm::Md5
        };
        let method = match method {
            "INVITE" => rsipstack::sip::Method::Invite,
            _ => rsipstack::sip::Method::Bye,
        };
        let cnonce = token();
        let qop = self.qop_auth.then(|| AuthQop::Auth {
            cnonce: cnonce.clone(),
            nc,
        });
        let response = rsipstack::dialog::authenticate::compute_digest(
            user,
            password,
            &self.realm,
            &self.nonce,
            &method,
            uri,
            algorithm,
            qop.as_ref(),
        );
        let mut h = format!(
            "{}: Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={}",
            if self.proxy {
                "Proxy-Authorization"
            } else {
                "Authorization"
            },
            self.realm,
            self.nonce,
            self.algorithm,
        );
        if let Some(o) = &self.opaque {
            h.push_str(&format!(", opaque=\"{o}\""));
        }
        if self.qop_auth {
            h.push_str(&format!(", qop=auth, nc={nc:08x}, cnonce=\"{cnonce}\""));
        }
        h
    }
}

/// `k=v` and `k="v, with commas"` pairs, comma separated.
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while out.len() < 32 {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_owned();
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => {
                        value.push(c);
                        escaped = false;
                    }
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value.trim().to_owned()));
    }
    out
}

/// A message the endpoint sent us, as far as a call needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A response.
    SipReply(Box<SipReply>),
    /// A request in the dialog (BYE, OPTIONS, a re-INVITE ...): its method, Call-ID, and the
    /// response headers copied from it (Via, From, To, Call-ID, CSeq).
    Request {
        /// Method.
        method: String,
        /// Call-ID.
        call_id: String,
        /// Via, From, To, Call-ID, CSeq lines, as received.
        echo: String,
        /// Its CSeq number (0 when unreadable).
        cseq: u32,
        /// Its SDP body (a re-INVITE's or UPDATE's offer), if any.
        sdp: Option<String>,
        /// Its `Session-Expires` (a refresh asking for session timers).
        session_expires: Option<SessionExpires>,
    },
}

/// A `Session-Expires` header (RFC 4028): the session's interval and who refreshes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    /// The interval in seconds.
    pub secs: u32,
    /// `refresher=uac` (`Some(true)`), `refresher=uas` (`Some(false)`), or not said.
    pub by_uac: Option<bool>,
}

impl SessionExpires {
    /// Read a header value (`1800;refresher=uac`); `None` when it is not one.
    pub fn parse(value: &str) -> Option<SessionExpires> {
        let mut parts = value.split(';');
        let secs = parts.next()?.trim().parse::<u32>().ok()?;
        let by_uac = parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("refresher") {
                return None;
            }
            match v.trim().to_ascii_lowercase().as_str() {
                "uac" => Some(true),
                "uas" => Some(false),
                _ => None,
            }
        });
        (secs > 0).then_some(SessionExpires { secs, by_uac })
    }
}

/// A response, as far as a call needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipReply {
    /// Status code.
    pub status: u16,
    /// Call-ID.
    pub call_id: String,
    /// CSeq number and method.
    pub cseq: (u32, String),
    /// The top Via's branch.
    pub branch: String,
    /// The To tag.
    pub to_tag: Option<String>,
    /// The first Contact's URI.
    pub contact: Option<String>,
    /// Record-Route values, in order.
    pub record_route: Vec<String>,
    /// A digest challenge it carries.
    pub challenge: Option<Challenge>,
    /// Its SDP body, if any.
    pub sdp: Option<String>,
    /// Its `Session-Expires` (the endpoint took session timers up).
    pub session_expires: Option<SessionExpires>,
    /// Its `Min-SE` (a 422: the shortest interval the endpoint takes).
    pub min_se: Option<u32>,
}

/// The value of parameter `name` in a header value (`;tag=...`).
fn param(value: &str, name: &str) -> Option<String> {
    // Parameters after the URI's closing '>' (or the whole value without one).
    let tail = value.rsplit_once('>').map_or(value, |(_, t)| t);
    tail.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// A name-addr's URI (`"x" <sip:a@b>;p` → `sip:a@b`; bare `sip:a@b;p` → `sip:a@b`).
fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].trim().to_owned(),
        _ => value.split(';').next().unwrap_or("").trim().to_owned(),
    }
}

/// Read a datagram the endpoint sent (rsipstack's parser; oversized and malformed ones are
/// errors, never panics).
pub fn parse_inbound_uac(datagram: &[u8]) -> Result<Inbound, String> {
    use rsipstack::sip::SipMessage;
    if datagram.len() > MAX_REPLY_BYTES {
        return Err(format!("{} bytes is too large", datagram.len()));
    }
    let text = std::str::from_utf8(datagram).map_err(|e| e.to_string())?;
    let msg = SipMessage::try_from(text).map_err(|e| e.to_string())?;
    let (headers, body) = match &msg {
        SipMessage::Request(r) => (&r.headers, &r.body),
        SipMessage::Response(r) => (&r.headers, &r.body),
    };
    let lines: Vec<(String, String)> = headers
        .iter()
        .filter_map(|h| {
            let line = h.to_string();
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    let first = |n: &str| lines.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let call_id = first("call-id").ok_or("no Call-ID")?;
    let session_expires = first("session-expires")
        .or_else(|| first("x"))
        .and_then(|v| SessionExpires::parse(&v));
    let sdp = (!body.is_empty())
        .then(|| String::from_utf8_lossy(body).into_owned())
        .filter(|b| b.len() <= super::MAX_SDP_BYTES);
    if let SipMessage::Request(r) = &msg {
        let echo: String = lines
            .iter()
            .filter(|(k, _)| ["via", "from", "to", "call-id", "cseq"].contains(&k.as_str()))
            .map(|(k, v)| format!("{}: {v}\r\n", header_name(k)))
            .collect();
        let cseq = first("cseq")
            .and_then(|c| c.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        return Ok(Inbound::Request {
            method: r.method.to_string(),
            call_id,
            echo,
            cseq,
            sdp,
            session_expires,
        });
    }
    let SipMessage::Response(r) = &msg else {
        unreachable!()
    };
    let cseq = first("cseq").ok_or("no CSeq")?;
    let (n, method) = cseq
        .trim()
        .split_once(char::is_whitespace)
        .ok_or("bad CSeq")?;
    let cseq = (
        n.trim().parse::<u32>().map_err(|_| "bad CSeq")?,
        method.trim().to_ascii_uppercase(),
    );
    let via = first("via").ok_or("no Via")?;
    let branch = param(&via, "branch").unwrap_or_default();
    let to_tag = first("to").and_then(|t| param(&t, "tag"));
    let contact = first("contact").map(|c| uri_of(c.split(',').next().unwrap_or("")));
    let record_route = lines
        .iter()
        .filter(|(k, _)| k == "record-route")
        .flat_map(|(_, v)| v.split(',').map(|r| r.trim().to_owned()))
        .filter(|r| !r.is_empty())
        .collect();
    let challenge = first("www-authenticate")
        .and_then(|v| Challenge::parse(&v, false))
        .or_else(|| first("proxy-authenticate").and_then(|v| Challenge::parse(&v, true)));
    Ok(Inbound::SipReply(Box::new(SipReply {
        status: r.status_code.code(),
        call_id,
        cseq,
        branch,
        to_tag,
        contact,
        record_route,
        challenge,
        sdp,
        session_expires,
        min_se: first("min-se").and_then(|v| v.split(';').next()?.trim().parse().ok()),
    })))
}

fn header_name(lower: &str) -> &'static str {
    match lower {
        "via" => "Via",
        "from" => "From",
        "to" => "To",
        "call-id" => "Call-ID",
        _ => "CSeq",
    }
}

/// Our response to a request the endpoint sent in the dialog.
pub fn respond(echo: &str, status: u16, reason: &str) -> String {
    format!("SIP/2.0 {status} {reason}\r\n{echo}User-Agent: {AGENT}\r\nContent-Length: 0\r\n\r\n")
}

/// Our 200 to a re-INVITE or UPDATE of dialog `d` that carried an offer: our Contact,
/// `extra` header lines (session timers) and our answer `sdp` (empty: none).
pub fn respond_ok(echo: &str, d: &SipDialog, extra: &str, sdp: &str) -> String {
    let typed = if sdp.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "SIP/2.0 200 OK\r\n{echo}{contact}Allow: {ALLOW}\r\nSupported: timer\r\n{extra}\
         User-Agent: {AGENT}\r\n{typed}Content-Length: {len}\r\n\r\n{sdp}",
        contact = contact(&d.via),
        len = sdp.len(),
    )
}

/// The words a refusal is reported with.
pub fn refusal_words(status: u16) -> &'static str {
    match status {
        486 | 600 => "busy",
        480 => "unavailable",
        404 | 604 => "not found",
        408 => "no answer",
        487 => "cancelled",
        488 | 606 => "no common codec",
        401 | 407 => "unauthorized",
        422 => "session interval too small",
        _ => "refused",
    }
}

/// What a response means for the INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not ours, a retransmission, or a provisional answer: go on waiting.
    Wait,
    /// A provisional answer: stop retransmitting the INVITE.
    Proceeding,
    /// 2xx: ACK (`ack` to send), then stream to `media` in `law`.
    Answered {
        /// The ACK.
        ack: String,
        /// The media address of its answer.
        media: SocketAddrV4,
        /// The law it chose.
        law: Law,
    },
    /// 2xx, but its SDP names no G.711 stream we offered: ACK it, then BYE.
    AnsweredUnusable {
        /// The ACK.
        ack: String,
        /// What was wrong.
        why: String,
    },
    /// 401/407 with a challenge we may answer: ACK it, then INVITE again.
    Challenged {
        /// The ACK.
        ack: String,
        /// The challenge.
        challenge: Challenge,
    },
    /// 422 with a `Min-SE` we may take: ACK it, then INVITE again asking for `min_se`.
    TooBrief {
        /// The ACK.
        ack: String,
        /// The interval to ask for now.
        min_se: u32,
    },
    /// A final refusal: ACK it; the call failed with `status`.
    Refused {
        /// The ACK.
        ack: String,
        /// The status.
        status: u16,
    },
}

/// One INVITE transaction and the dialog it makes.
#[derive(Debug, Clone)]
pub struct Invite {
    /// The dialog (updated by the answer).
    pub dialog: SipDialog,
    /// A provisional answer came.
    pub proceeding: bool,
    /// A final answer came.
    pub done: bool,
    /// Challenges answered so far.
    pub challenges: u32,
    /// The session interval the INVITE asks for ([`SESSION_SECS`], or an endpoint's `Min-SE`).
    pub session_secs: u32,
    /// A 422 was taken already (a second one is a refusal).
    pub lengthened: bool,
}

impl Invite {
    /// The INVITE of `dialog`.
    pub fn new(dialog: SipDialog) -> Invite {
        Invite {
            dialog,
            proceeding: false,
            done: false,
            challenges: 0,
            session_secs: SESSION_SECS,
            lengthened: false,
        }
    }

    /// A 422 asked for `min_se`: the next INVITE asks for it, with the next CSeq and a new
    /// branch.
    pub fn lengthen(&mut self, min_se: u32) {
        self.session_secs = min_se;
        self.lengthened = true;
        self.next_transaction();
    }

    /// The INVITE is sent again as a new transaction: the next CSeq, a new branch, no answer
    /// yet.
    fn next_transaction(&mut self) {
        self.dialog.cseq += 1;
        self.dialog.branch = format!("z9hG4bK{}", token());
        self.done = false;
        self.proceeding = false;
    }

    /// A challenge was answered: the next INVITE has the next CSeq and a new branch.
    pub fn rechallenge(&mut self) {
        self.challenges += 1;
        self.next_transaction();
    }

    /// A response came. `can_answer_challenge`: we have credentials and have not failed with
    /// them yet.
    pub fn on_reply(&mut self, r: &SipReply, can_answer_challenge: bool) -> Step {
        if r.call_id != self.dialog.call_id
            || r.cseq != (self.dialog.cseq, "INVITE".to_owned())
            || r.branch != self.dialog.branch
        {
            return Step::Wait;
        }
        match r.status {
            100..=199 => {
                let first = !self.proceeding;
                self.proceeding = true;
                if first && !self.done {
                    Step::Proceeding
                } else {
                    Step::Wait
                }
            }
            200..=299 => {
                // A retransmitted 200 is ACKed again (its ACK was lost).
                self.done = true;
                self.dialog.remote_tag = r.to_tag.clone();
                if let Some(c) = &r.contact {
                    self.dialog.remote_target = Some(c.clone());
                }
                self.dialog.route_set = r.record_route.iter().rev().cloned().collect();
                let ack = ack_answer(&self.dialog, &format!("z9hG4bK{}", token()));
                match media_of(r.sdp.as_deref()) {
                    Ok((media, law)) => Step::Answered { ack, media, law },
                    Err(why) => Step::AnsweredUnusable { ack, why },
                }
            }
            status => {
                let ack = ack_failure(&self.dialog, r.to_tag.as_deref());
                let again = self.done;
                self.done = true;
                match &r.challenge {
                    Some(c)
                        if matches!(status, 401 | 407)
                            && can_answer_challenge
                            && self.challenges == 0
                            && !again =>
                    {
                        Step::Challenged {
                            ack,
                            challenge: c.clone(),
                        }
                    }
                    _ => match r.min_se {
                        // Once: a second 422 (or one asking for less, or for more than a day)
                        // is a refusal.
                        Some(min_se)
                            if status == 422
                                && !again
                                && !self.lengthened
                                && min_se > self.session_secs
                                && min_se <= LONGEST_MIN_SE =>
                        {
                            Step::TooBrief { ack, min_se }
                        }
                        _ => Step::Refused { ack, status },
                    },
                }
            }
        }
    }
}

/// Where the answer wants the stream, and in which law: its first G.711 codec.
pub fn media_of(sdp: Option<&str>) -> Result<(SocketAddrV4, Law), String> {
    let sdp = sdp.ok_or("the answer has no SDP")?;
    let offer = parse_offer(sdp).map_err(|e| e.to_string())?;
    let law = offer
        .codecs
        .iter()
        .find_map(|(_, c)| match c {
            CallCodec::Pcmu => Some(Law::Ulaw),
            CallCodec::Pcma => Some(Law::Alaw),
            CallCodec::G722 => None,
        })
        .ok_or("the answer takes neither PCMU nor PCMA")?;
    if offer.media.ip().is_unspecified() {
        return Err("the answer's media address is 0.0.0.0 (on hold)".into());
    }
    Ok((offer.media, law))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog() -> SipDialog {
        new_dialog(
            "sip:horn@127.0.0.1:5090",
            "127.0.0.1:5090".parse().unwrap(),
            "127.0.0.1:40000".parse().unwrap(),
        )
    }

    fn reply(d: &SipDialog, status: u16, extra: &str, body: &str) -> SipReply {
        let text = format!(
            "SIP/2.0 {status} X\r\nVia: SIP/2.0/UDP {};branch={};rport=40000\r\n\
             From: <{}>;tag={}\r\nTo: <{}>;tag=horn1\r\nCall-ID: {}\r\nCSeq: {} INVITE\r\n\
             {extra}Content-Length: {}\r\n\r\n{body}",
            d.via,
            d.branch,
            d.local_uri,
            d.local_tag,
            d.remote_uri,
            d.call_id,
            d.cseq,
            body.len()
        );
        match parse_inbound_uac(text.as_bytes()).unwrap() {
            Inbound::SipReply(r) => *r,
            other => panic!("{other:?}"),
        }
    }

    const ANSWER: &str = "v=0\r\no=horn 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.9\r\n\
                          t=0 0\r\nm=audio 7078 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

    #[test]
    fn the_invite_carries_the_dialog_the_offer_and_the_hints() {
        let d = dialog();
        let sdp = offer_sdp("127.0.0.1:20480".parse().unwrap(), Law::Ulaw, 1);
        let inv = invite(&d, &sdp, AutoAnswer::Both, None, SESSION_SECS);
        assert!(inv.starts_with("INVITE sip:horn@127.0.0.1:5090 SIP/2.0\r\n"));
        assert!(inv.contains(&format!("branch={}", d.branch)));
        assert!(inv.contains(&format!("Call-ID: {}\r\n", d.call_id)));
        assert!(inv.contains("Call-Info: <sip:horn@127.0.0.1:5090>;answer-after=0\r\n"));
        assert!(inv.contains("Alert-Info: "));
        assert!(inv.contains("m=audio 20480 RTP/AVP 0 8\r\n") && inv.contains("a=sendonly"));
        assert!(inv.ends_with(&sdp));
        let n = inv.split("\r\n\r\n").nth(1).unwrap().len();
        assert!(inv.contains(&format!("Content-Length: {n}\r\n")));
        // What we send parses (rsipstack's parser) as the request it is.
        let msg = rsipstack::sip::SipMessage::try_from(inv.as_str()).unwrap();
        assert!(msg.is_request());
        let plain = invite(&d, &sdp, AutoAnswer::None, None, SESSION_SECS);
        assert!(!plain.contains("Call-Info") && !plain.contains("Alert-Info"));
    }

    #[test]
    fn provisional_then_answer_confirms_the_dialog_and_acks_it() {
        let d = dialog();
        let mut inv = Invite::new(d.clone());
        assert_eq!(
            inv.on_reply(&reply(&d, 100, "", ""), false),
            Step::Proceeding
        );
        assert_eq!(inv.on_reply(&reply(&d, 180, "", ""), false), Step::Wait);
        let ok = reply(
            &d,
            200,
            "Contact: <sip:horn@127.0.0.1:5091>\r\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>\r\n\
             Content-Type: application/sdp\r\n",
            ANSWER,
        );
        let Step::Answered { ack, media, law } = inv.on_reply(&ok, false) else {
            panic!()
        };
        assert_eq!(media, "127.0.0.9:7078".parse().unwrap());
        assert_eq!(law, Law::Alaw);
        assert_eq!(inv.dialog.remote_tag.as_deref(), Some("horn1"));
        assert_eq!(
            inv.dialog.remote_target.as_deref(),
            Some("sip:horn@127.0.0.1:5091")
        );
        assert_eq!(inv.dialog.route_set, ["<sip:p2;lr>", "<sip:p1;lr>"]);
        assert!(ack.starts_with("ACK sip:horn@127.0.0.1:5091 SIP/2.0\r\n"));
        assert!(ack.contains("CSeq: 1 ACK") && ack.contains(";tag=horn1"));
        assert!(ack.contains("Route: <sip:p2;lr>\r\nRoute: <sip:p1;lr>\r\n"));
        assert!(
            !ack.contains(&d.branch),
            "a 2xx ACK is a transaction of its own"
        );
        let b = bye(&inv.dialog, "z9hG4bKbye", "127.0.0.1:40002");
        assert!(b.contains("Via: SIP/2.0/UDP 127.0.0.1:40002;branch=z9hG4bKbye"));
        assert!(b.starts_with("BYE sip:horn@127.0.0.1:5091 SIP/2.0\r\n"));
        assert!(b.contains("CSeq: 2 BYE") && b.contains("To: <sip:horn@127.0.0.1:5090>;tag=horn1"));
        // A retransmitted 200 is ACKed again.
        assert!(matches!(inv.on_reply(&ok, false), Step::Answered { .. }));
    }

    #[test]
    fn refusals_are_acked_in_the_invites_transaction() {
        let d = dialog();
        let mut inv = Invite::new(d.clone());
        let Step::Refused { ack, status } = inv.on_reply(&reply(&d, 486, "", ""), false) else {
            panic!()
        };
        assert_eq!((status, refusal_words(status)), (486, "busy"));
        assert!(
            ack.contains(&d.branch) && ack.contains("CSeq: 1 ACK") && ack.contains("tag=horn1")
        );
        // Another call's answer, or another transaction's, is not ours.
        let mut other = d.clone();
        other.call_id = "else".into();
        assert_eq!(
            Invite::new(d.clone()).on_reply(&reply(&other, 200, "", ANSWER), false),
            Step::Wait
        );
    }

    #[test]
    fn the_invite_asks_for_session_timers_and_a_422_is_taken_once() {
        let d = dialog();
        let mut inv = Invite::new(d.clone());
        let first = invite(&inv.dialog, "", AutoAnswer::None, None, inv.session_secs);
        assert!(
            first.contains("Supported: timer\r\nSession-Expires: 1800\r\nMin-SE: 90\r\n"),
            "{first}"
        );
        // 422 asking for an hour: ACKed, then asked again with the hour, CSeq 2, a new branch.
        let r = reply(&d, 422, "Min-SE: 3600\r\n", "");
        let Step::TooBrief { ack, min_se } = inv.on_reply(&r, false) else {
            panic!("a 422 not taken")
        };
        assert_eq!(min_se, 3600);
        assert!(
            ack.contains("CSeq: 1 ACK") && ack.contains(&d.branch),
            "{ack}"
        );
        inv.lengthen(min_se);
        let again = invite(&inv.dialog, "", AutoAnswer::None, None, inv.session_secs);
        assert!(again.contains("Session-Expires: 3600\r\n") && again.contains("CSeq: 2 INVITE"));
        assert_ne!(inv.dialog.branch, d.branch);
        // A second 422 (to the new INVITE) is a refusal, said so.
        let r2 = reply(&inv.dialog, 422, "Min-SE: 7200\r\n", "");
        let Step::Refused { status, .. } = inv.on_reply(&r2, false) else {
            panic!("a second 422 taken")
        };
        assert_eq!(refusal_words(status), "session interval too small");
        // A 422 without Min-SE, asking for less, or for more than a day: refused at once.
        for extra in ["", "Min-SE: 60\r\n", "Min-SE: 100000\r\n"] {
            let mut inv = Invite::new(d.clone());
            assert!(
                matches!(
                    inv.on_reply(&reply(&d, 422, extra, ""), false),
                    Step::Refused { status: 422, .. }
                ),
                "{extra}"
            );
        }
    }

    #[test]
    fn a_challenge_is_answered_once_with_the_next_cseq_and_branch() {
        let d = dialog();
        let mut inv = Invite::new(d.clone());
        let r = reply(
            &d,
            401,
            "WWW-Authenticate: Digest realm=\"horns\", nonce=\"abc, def\", qop=\"auth,auth-int\", opaque=\"o1\"\r\n",
            "",
        );
        assert!(matches!(
            inv.on_reply(&r, false),
            Step::Refused { status: 401, .. }
        ));
        let mut inv = Invite::new(d.clone());
        let Step::Challenged { challenge, .. } = inv.on_reply(&r, true) else {
            panic!()
        };
        assert_eq!(challenge.realm, "horns");
        assert_eq!(challenge.nonce, "abc, def");
        assert!(challenge.qop_auth && !challenge.proxy);
        let h = challenge.answer("zc", "secret", "INVITE", &d.remote_uri);
        assert!(h.starts_with("Authorization: Digest username=\"zc\", realm=\"horns\""));
        assert!(h.contains("opaque=\"o1\"") && h.contains("qop=auth, nc=00000001"));
        assert!(!h.contains("secret"));
        // The INVITE sent again under the same nonce (after a 422) counts it on, with a new
        // cnonce, so its answer is not a replay of the first.
        let again = challenge.answer_again("zc", "secret", "INVITE", &d.remote_uri, 2);
        assert!(again.contains("qop=auth, nc=00000002"), "{again}");
        let response = |h: &str| h.split("response=\"").nth(1).map(|r| r[..32].to_owned());
        assert_ne!(response(&h), response(&again));
        inv.rechallenge();
        assert_eq!(inv.dialog.cseq, 2);
        assert_ne!(inv.dialog.branch, d.branch);
        // A second challenge is a refusal.
        let mut d2 = inv.dialog.clone();
        d2.cseq = 2;
        let r2 = reply(
            &d2,
            401,
            "WWW-Authenticate: Digest realm=\"horns\", nonce=\"n2\"\r\n",
            "",
        );
        assert!(matches!(
            inv.on_reply(&r2, true),
            Step::Refused { status: 401, .. }
        ));
    }

    #[test]
    fn digest_answers_name_the_challenge_and_carry_a_hash() {
        let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5", true).unwrap();
        let h = c.answer("u", "p", "INVITE", "sip:a@b");
        assert!(h.starts_with("Proxy-Authorization: Digest username=\"u\""));
        let resp = h
            .split("response=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(resp.len(), 32);
        assert!(resp.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            c.answer("u", "p", "INVITE", "sip:a@b"),
            h,
            "no qop: no cnonce, same answer"
        );
        for bad in [
            "Basic realm=\"r\"",
            "Digest nonce=\"n\"",
            "Digest realm=\"r\", nonce=\"n\", algorithm=AKAv1-MD5",
        ] {
            assert!(Challenge::parse(bad, false).is_none(), "{bad}");
        }
    }

    #[test]
    fn cancel_repeats_the_invites_transaction() {
        let d = dialog();
        let c = cancel(&d);
        assert!(c.starts_with("CANCEL sip:horn@127.0.0.1:5090 SIP/2.0\r\n"));
        assert!(c.contains(&format!("Via: SIP/2.0/UDP {};branch={}", d.via, d.branch)));
        assert!(c.contains("CSeq: 1 CANCEL") && !c.contains("To: <sip:horn@127.0.0.1:5090>;tag"));
    }

    #[test]
    fn a_bye_from_the_endpoint_is_answered_with_its_headers() {
        let req = "BYE sip:zonecast@127.0.0.1:40000 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKx\r\n\
                   From: <sip:horn@127.0.0.1:5090>;tag=horn1\r\nTo: <sip:zonecast@127.0.0.1>;tag=t\r\n\
                   Call-ID: c1\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
        let Inbound::Request {
            method,
            call_id,
            echo,
            ..
        } = parse_inbound_uac(req.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!((method.as_str(), call_id.as_str()), ("BYE", "c1"));
        let r = respond(&echo, 200, "OK");
        assert!(r.starts_with("SIP/2.0 200 OK\r\n") && r.contains("CSeq: 7 BYE"));
        assert!(r.contains("branch=z9hG4bKx"));
    }

    #[test]
    fn answers_without_g711_or_on_hold_are_unusable() {
        assert!(media_of(None).is_err());
        assert!(
            media_of(Some(
                &ANSWER
                    .replace("RTP/AVP 8", "RTP/AVP 9")
                    .replace("PCMA", "G722")
            ))
            .is_err()
        );
        assert!(media_of(Some(&ANSWER.replace("127.0.0.9", "0.0.0.0"))).is_err());
        assert_eq!(
            media_of(Some(ANSWER)).unwrap(),
            ("127.0.0.9:7078".parse().unwrap(), Law::Alaw)
        );
    }

    #[test]
    fn mangled_replies_and_challenges_never_panic() {
        let d = dialog();
        let good = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {};branch={}\r\nFrom: <a>;tag=1\r\nTo: <b>;tag=2\r\n\
             Call-ID: {}\r\nCSeq: 1 INVITE\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n\
             Content-Length: {}\r\n\r\n{ANSWER}",
            d.via,
            d.branch,
            d.call_id,
            ANSWER.len()
        );
        let bytes = good.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parse_inbound_uac(&bytes[..cut]);
            let _ = Challenge::parse(&good[..cut], false);
        }
        assert!(parse_inbound_uac(&vec![b'a'; MAX_REPLY_BYTES + 1]).is_err());
    }
}
