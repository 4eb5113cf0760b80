//! Digest authentication of dial-in callers from outside `[sip] allow` (the server side of
//! RFC 2617's MD5 digest with `qop=auth`), pure: no sockets and no clock. The shell passes
//! `now` (any monotonic origin it keeps: the agent uses the time since it started) and the
//! request; this answers what to do with it ([`Knock`]): challenge (401 with the
//! `WWW-Authenticate` value), challenge again as stale, let in as a `[[sip.caller]]`, or refuse
//! (403).
//!
//! Nonces carry their own issue time and a keyed BLAKE2b MAC of it, the realm and the caller's
//! address under a per-process random key: nothing is stored per caller, a nonce from another
//! address or another run is not ours, and one older than [`NONCE_LIFETIME`] is answered
//! `stale=true` (when its response was otherwise right, as RFC 2617 §3.2.1 says). The response
//! hash is rsipstack's `compute_digest` (the one the UAC answers challenges with); the
//! `Authorization` header is read by rsipstack's auth tokenizer, bounded to
//! [`MAX_AUTHORIZATION_BYTES`]. Passwords stay in [`Secret`]s: no error, log line or verdict
//! carries one. No answer is let in twice: each answer let in (its nonce, `cnonce` and `nc`; the
//! nonce alone without `qop`) is remembered for the nonce's life, at most [`REMEMBERED`], and
//! the same answer again is answered stale (a new nonce; every challenge's nonce is new, by a
//! counter under the MAC). Not here: `auth-int`, SHA-256.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use blake2::Blake2bMac;
use blake2::digest::consts::U16;
use blake2::digest::{FixedOutput, KeyInit, Update};
use rsipstack::dialog::authenticate::compute_digest;
use rsipstack::sip::Method;
use rsipstack::sip::headers::auth::Algorithm;
use rsipstack::sip::headers::typed::tokenizers::AuthTokenizer;

use crate::push::Secret;

/// How long a nonce is good for.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Longest `Authorization` value read (a real one is about 300 bytes).
pub const MAX_AUTHORIZATION_BYTES: usize = 2048;
/// The realm zonecast challenges in.
pub const REALM: &str = "zonecast";
/// Longest cnonce taken.
const MAX_CNONCE: usize = 128;
/// Most answers remembered; past it the oldest are forgotten, and every nonce issued as early as
/// they were is answered stale from then on.
pub const REMEMBERED: usize = 4096;

/// What a request from outside `allow` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Knock {
    /// 401 with this `WWW-Authenticate` value (no usable credentials, or a nonce not ours).
    Challenge(String),
    /// 401 with this `WWW-Authenticate` value, `stale=true`: the right answer to an expired
    /// nonce (the caller retries with the new one without asking anyone).
    Stale(String),
    /// Let in as this `[[sip.caller]]` user.
    Admitted(String),
    /// 403: why (never a password, never what the caller sent).
    Refused(&'static str),
}

/// The callers' credentials and the key nonces are made with.
pub struct Doorman {
    key: [u8; 32],
    callers: Vec<(String, Secret)>,
    replays: Mutex<Replays>,
    /// Challenges made: each nonce carries the count, so no two are the same.
    made: AtomicU32,
}

/// The answers let in, so that none is let in twice.
#[derive(Debug, Default)]
struct Replays {
    /// (the nonce's issue time, `nonce:cnonce:nc`, or the nonce alone without `qop`).
    seen: BTreeSet<(u64, String)>,
    /// Nonces issued at or before this time are no longer remembered: answered stale.
    floor: Option<u64>,
}

impl Replays {
    /// Whether `answer` (on a nonce issued at `issued`) is new at `now` (seconds); remembered
    /// if so.
    fn admit(&mut self, now: u64, issued: u64, answer: &str) -> bool {
        let oldest = now.saturating_sub(NONCE_LIFETIME.as_secs());
        while self.seen.first().is_some_and(|(t, _)| *t < oldest) {
            self.seen.pop_first();
        }
        if self.floor.is_some_and(|f| issued <= f) {
            return false;
        }
        if !self.seen.insert((issued, answer.to_owned())) {
            return false;
        }
        while self.seen.len() > REMEMBERED {
            if let Some((t, _)) = self.seen.pop_first() {
                self.floor = Some(self.floor.map_or(t, |f| f.max(t)));
            }
        }
        true
    }
}

impl std::fmt::Debug for Doorman {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<&str> = self.callers.iter().map(|(u, _)| u.as_str()).collect();
        f.debug_struct("Doorman").field("users", &users).finish()
    }
}

/// The parts of an `Authorization: Digest ...` value a verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAnswer {
    /// username.
    pub username: String,
    /// realm.
    pub realm: String,
    /// nonce.
    pub nonce: String,
    /// uri, raw.
    pub uri: String,
    /// response (hex).
    pub response: String,
    /// `qop=auth` with its `nc` (8 hex digits, raw) and cnonce; `None` without qop.
    pub qop: Option<(String, String)>,
}

impl DigestAnswer {
    /// Read an `Authorization` value; `None` when it is too long, not Digest, lacks a field,
    /// names an algorithm other than MD5 or a qop other than `auth`. Never panics.
    pub fn parse(value: &str) -> Option<DigestAnswer> {
        if value.len() > MAX_AUTHORIZATION_BYTES {
            return None;
        }
        let tok = AuthTokenizer::parse(value).ok()?;
        if !tok.scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let find = |name: &str| {
            tok.params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| (*v).to_owned())
        };
        if find("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("MD5")) {
            return None;
        }
        let qop = match find("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc = find("nc")?;
                let cnonce = find("cnonce")?;
                let hex8 = nc.len() == 8 && nc.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex8 || cnonce.is_empty() || cnonce.len() > MAX_CNONCE {
                    return None;
                }
                Some((nc, cnonce))
            }
            Some(_) => return None,
        };
        Some(DigestAnswer {
            username: find("username")?,
            realm: find("realm")?,
            nonce: find("nonce")?,
            uri: find("uri")?,
            response: find("response")?,
            qop,
        })
    }
}

impl Doorman {
    /// The `[[sip.caller]]` users with their passwords, and the nonce key (random per process).
    pub fn new(key: [u8; 32], callers: Vec<(String, Secret)>) -> Doorman {
        Doorman {
            key,
            callers,
            replays: Mutex::new(Replays::default()),
            made: AtomicU32::new(0),
        }
    }

    /// Whether anyone may get in by credentials (no callers: outsiders get 403 at once).
    pub fn has_callers(&self) -> bool {
        !self.callers.is_empty()
    }

    /// A fresh challenge's `WWW-Authenticate` value for a caller at `source`.
    pub fn challenge(&self, now: Duration, source: IpAddr, stale: bool) -> String {
        let nonce = self.nonce(now, source);
        let stale = if stale { ", stale=true" } else { "" };
        format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}")
    }

    /// The verdict on a `method` request to `request_uri` from `source` carrying
    /// `authorization` (its `Authorization` value, if any), at `now`.
    pub fn knock(
        &self,
        now: Duration,
        source: IpAddr,
        method: &Method,
        request_uri: &str,
        authorization: Option<&str>,
    ) -> Knock {
        let fresh = || Knock::Challenge(self.challenge(now, source, false));
        let Some(answer) = authorization.and_then(DigestAnswer::parse) else {
            return fresh();
        };
        let Some(issued) = self.issued(&answer.nonce, source) else {
            // Not ours (another run, another address, made up): a new challenge.
            return fresh();
        };
        if answer.realm != REALM {
            return Knock::Refused("a digest for another realm");
        }
        if !same_uri(&answer.uri, request_uri) {
            return Knock::Refused("a digest for another request URI");
        }
        let Some((user, secret)) = self.callers.iter().find(|(u, _)| *u == answer.username) else {
            return Knock::Refused("an unknown digest user");
        };
        if !same_text(&expected(&answer, secret, method), &answer.response) {
            return Knock::Refused("a wrong digest response");
        }
        let age = now.as_secs().checked_sub(issued);
        if age.is_none_or(|a| a > NONCE_LIFETIME.as_secs()) {
            return Knock::Stale(self.challenge(now, source, true));
        }
        let seen = match &answer.qop {
            Some((nc, cnonce)) => format!("{}:{cnonce}:{nc}", answer.nonce),
            None => answer.nonce.clone(),
        };
        let new = self
            .replays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(now.as_secs(), issued, &seen);
        if !new {
            // A replay (or a count gone back): a new nonce, as for an expired one.
            return Knock::Stale(self.challenge(now, source, true));
        }
        Knock::Admitted(user.clone())
    }

    /// A nonce for `source` issued at `now`: its time (16 hex digits), the challenge's count
    /// (8) and their MAC (32).
    fn nonce(&self, now: Duration, source: IpAddr) -> String {
        let stamp = now.as_secs();
        let count = self.made.fetch_add(1, Ordering::Relaxed);
        format!("{stamp:016x}{count:08x}{}", self.mac(stamp, count, source))
    }

    /// The issue time of a nonce we made for `source`, or `None`.
    fn issued(&self, nonce: &str, source: IpAddr) -> Option<u64> {
        if nonce.len() != 56 || !nonce.is_ascii() {
            return None;
        }
        let (stamp, rest) = nonce.split_at(16);
        let (count, mac) = rest.split_at(8);
        if !(stamp.bytes().chain(count.bytes())).all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let stamp = u64::from_str_radix(stamp, 16).ok()?;
        let count = u32::from_str_radix(count, 16).ok()?;
        same_text(&self.mac(stamp, count, source), mac).then_some(stamp)
    }

    /// The nonce's MAC: keyed BLAKE2b-128 of the issue time, the count, the realm and the
    /// address.
    fn mac(&self, stamp: u64, count: u32, source: IpAddr) -> String {
        let mut m = <Blake2bMac<U16> as KeyInit>::new_from_slice(&self.key)
            .expect("a 32-byte key fits BLAKE2b's 64");
        m.update(&stamp.to_be_bytes());
        m.update(&count.to_be_bytes());
        m.update(REALM.as_bytes());
        m.update(source.to_string().as_bytes());
        m.finalize_fixed()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The response a caller knowing `secret` sends. With `qop=auth`, RFC 2617's
/// `MD5(HA1:nonce:nc:cnonce:auth:HA2)` is rsipstack's qop-less `MD5(HA1:nonce':HA2)` with
/// `nonce' = nonce:nc:cnonce:auth`: that keeps the caller's `nc` as written (rsipstack reads
/// `nc` as one byte and prints it in decimal, which differs from the hex from `nc=0000000a`).
fn expected(answer: &DigestAnswer, secret: &Secret, method: &Method) -> String {
    let nonce = match &answer.qop {
        Some((nc, cnonce)) => format!("{}:{nc}:{cnonce}:auth", answer.nonce),
        None => answer.nonce.clone(),
    };
    compute_digest(
        &answer.username,
        secret.expose(),
        &answer.realm,
        &nonce,
        method,
        &answer.uri,
        Algorithm::Md5,
        None,
    )
}

/// The digest's `uri` names the request's URI: as written, equal once parsed, or the same
/// without its user part (sipp, and some trunks, hash `sip:host:port`).
fn same_uri(digest_uri: &str, request_uri: &str) -> bool {
    if digest_uri == request_uri {
        return true;
    }
    let parse = |s: &str| rsipstack::sip::Uri::try_from(s).ok();
    let (Some(d), Some(mut r)) = (parse(digest_uri), parse(request_uri)) else {
        return false;
    };
    if d == r {
        return true;
    }
    r.auth = None;
    d == r
}

/// Equal, compared in full (not stopping at the first difference), case-insensitively for hex.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

/// Parse an `Authorization` value and judge it for an INVITE from 192.0.2.1 at a fixed time,
/// against a caller `u` / `p`, with `NONCE` in it replaced by a nonce the judge issued (so the
/// verdict goes past the nonce to the user and the hash): the entry of the fuzz target. Never
/// panics.
pub fn judge_authorization(value: &str) -> Knock {
    let door = Doorman::new([7; 32], vec![("u".into(), Secret::new("p"))]);
    let source = IpAddr::from([192, 0, 2, 1]);
    let now = Duration::from_secs(1_000);
    let value = value.replace("NONCE", &door.nonce(now, source));
    door.knock(
        now,
        source,
        &Method::Invite,
        "sip:7001@192.0.2.9",
        Some(&value),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "sip:7001@10.0.0.5:5060";

    fn door() -> Doorman {
        Doorman::new([42; 32], vec![("pbx".into(), Secret::new("s3cret-pw"))])
    }

    fn source() -> IpAddr {
        "10.9.0.7".parse().unwrap()
    }

    /// The nonce of a challenge value.
    fn nonce_of(challenge: &str) -> String {
        let at = challenge.find("nonce=\"").unwrap() + 7;
        challenge[at..].split('"').next().unwrap().to_owned()
    }

    /// What a caller answers `challenge` with (through the UAC's own answerer).
    fn answer(challenge: &str, user: &str, password: &str) -> String {
        let c = super::super::uac::Challenge::parse(challenge, false).unwrap();
        let line = c.answer(user, password, "INVITE", URI);
        line.strip_prefix("Authorization: ").unwrap().to_owned()
    }

    fn knock(d: &Doorman, now: u64, auth: Option<&str>) -> Knock {
        d.knock(
            Duration::from_secs(now),
            source(),
            &Method::Invite,
            URI,
            auth,
        )
    }

    #[test]
    fn no_credentials_get_a_challenge_and_the_right_answer_gets_in() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 100, None) else {
            panic!("no challenge")
        };
        assert!(c.starts_with("Digest realm=\"zonecast\", nonce=\""), "{c}");
        assert!(
            c.contains("qop=\"auth\"") && c.contains("algorithm=MD5"),
            "{c}"
        );
        assert!(!c.contains("stale"), "{c}");
        let auth = answer(&c, "pbx", "s3cret-pw");
        assert!(auth.contains("qop=auth, nc=00000001"), "{auth}");
        assert_eq!(knock(&d, 160, Some(&auth)), Knock::Admitted("pbx".into()));
        // Not a Digest, or unreadable: challenged, not refused.
        for junk in [
            "Basic dTpw",
            "Digest",
            "Digest username=",
            "",
            "Digest a=\"b",
        ] {
            assert!(
                matches!(knock(&d, 100, Some(junk)), Knock::Challenge(_)),
                "{junk}"
            );
        }
    }

    #[test]
    fn wrong_users_passwords_realms_and_uris_are_refused_and_never_echoed() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 100, None) else {
            panic!()
        };
        let wrong_pw = answer(&c, "pbx", "guess");
        assert_eq!(
            knock(&d, 101, Some(&wrong_pw)),
            Knock::Refused("a wrong digest response")
        );
        let stranger = answer(&c, "eve", "s3cret-pw");
        assert_eq!(
            knock(&d, 101, Some(&stranger)),
            Knock::Refused("an unknown digest user")
        );
        let right = answer(&c, "pbx", "s3cret-pw");
        let other_realm = right.replace("realm=\"zonecast\"", "realm=\"elsewhere\"");
        assert!(matches!(
            knock(&d, 101, Some(&other_realm)),
            Knock::Refused(_)
        ));
        let other_uri = d.knock(
            Duration::from_secs(101),
            source(),
            &Method::Invite,
            "sip:7002@10.0.0.5:5060",
            Some(&right),
        );
        assert_eq!(
            other_uri,
            Knock::Refused("a digest for another request URI")
        );
        // The request URI without its user part is taken (sipp hashes `sip:host:port`).
        assert!(same_uri("sip:10.0.0.5:5060", URI));
        assert!(!same_uri("sip:10.0.0.6:5060", URI));
        assert!(!same_uri("sip:7001@10.0.0.5", URI));
        // The same answer for another method does not hash the same.
        let as_options = d.knock(
            Duration::from_secs(101),
            source(),
            &Method::Options,
            URI,
            Some(&right),
        );
        assert_eq!(as_options, Knock::Refused("a wrong digest response"));
        assert!(!format!("{d:?}").contains("s3cret"));
    }

    #[test]
    fn nonces_expire_with_virtual_time_and_get_stale_challenges() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 1_000, None) else {
            panic!()
        };
        let auth = answer(&c, "pbx", "s3cret-pw");
        let life = NONCE_LIFETIME.as_secs();
        assert_eq!(
            knock(&d, 1_000 + life, Some(&auth)),
            Knock::Admitted("pbx".into())
        );
        let Knock::Stale(again) = knock(&d, 1_001 + life, Some(&auth)) else {
            panic!("not stale")
        };
        assert!(again.ends_with(", stale=true"), "{again}");
        assert_ne!(nonce_of(&again), nonce_of(&c));
        // The new nonce works.
        let fresh = answer(&again, "pbx", "s3cret-pw");
        assert_eq!(
            knock(&d, 1_002 + life, Some(&fresh)),
            Knock::Admitted("pbx".into())
        );
        // An expired nonce with a wrong password is refused, not told it is stale.
        let wrong = answer(&c, "pbx", "nope");
        assert!(matches!(knock(&d, 5_000, Some(&wrong)), Knock::Refused(_)));
        // A nonce from the future (a clock gone back) is not accepted either.
        assert!(matches!(knock(&d, 999, Some(&auth)), Knock::Stale(_)));
    }

    #[test]
    fn nonces_are_bound_to_the_key_the_address_and_their_time() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 100, None) else {
            panic!()
        };
        let auth = answer(&c, "pbx", "s3cret-pw");
        // Another run (another key): not our nonce, a fresh challenge.
        let other = Doorman::new([1; 32], vec![("pbx".into(), Secret::new("s3cret-pw"))]);
        assert!(matches!(
            knock(&other, 101, Some(&auth)),
            Knock::Challenge(_)
        ));
        // Another address.
        let elsewhere = d.knock(
            Duration::from_secs(101),
            "10.9.0.8".parse().unwrap(),
            &Method::Invite,
            URI,
            Some(&auth),
        );
        assert!(matches!(elsewhere, Knock::Challenge(_)));
        // A nonce whose time is changed (to make it young again) is not ours.
        let nonce = nonce_of(&c);
        let moved = format!("{:016x}{}", 5_000u64, &nonce[16..]);
        assert!(matches!(
            knock(&d, 5_001, Some(&auth.replace(&nonce, &moved))),
            Knock::Challenge(_)
        ));
    }

    #[test]
    fn an_answer_is_let_in_once_and_its_replay_gets_a_new_nonce() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 100, None) else {
            panic!("no challenge")
        };
        let auth = answer(&c, "pbx", "s3cret-pw");
        assert_eq!(knock(&d, 101, Some(&auth)), Knock::Admitted("pbx".into()));
        // The same Authorization again (captured, or a second INVITE reusing it): stale.
        let Knock::Stale(again) = knock(&d, 102, Some(&auth)) else {
            panic!("a replay let in")
        };
        assert_ne!(nonce_of(&again), nonce_of(&c));
        let fresh = answer(&again, "pbx", "s3cret-pw");
        assert_eq!(knock(&d, 103, Some(&fresh)), Knock::Admitted("pbx".into()));
        // Two calls challenged in the same second from one address get two nonces, each let in.
        let (Knock::Challenge(c1), Knock::Challenge(c2)) =
            (knock(&d, 200, None), knock(&d, 200, None))
        else {
            panic!("no challenges")
        };
        assert_ne!(nonce_of(&c1), nonce_of(&c2));
        for c in [c1, c2] {
            let a = answer(&c, "pbx", "s3cret-pw");
            assert_eq!(knock(&d, 200, Some(&a)), Knock::Admitted("pbx".into()));
        }
    }

    #[test]
    fn the_answers_remembered_are_bounded_and_the_forgotten_are_stale() {
        let mut r = Replays::default();
        for i in 0..REMEMBERED as u64 + 10 {
            assert!(r.admit(1_000, 900 + i / 1_000, &format!("n{i}")));
        }
        assert!(r.seen.len() <= REMEMBERED);
        // The oldest were issued at 900: every answer on a nonce that old is now stale...
        assert!(!r.admit(1_000, 900, "never-seen"));
        // ...newer ones are judged one by one.
        assert!(r.admit(1_000, 905, "never-seen"));
        assert!(!r.admit(1_000, 905, "never-seen"));
        // Past a nonce's life its answers are dropped from memory (the nonce is stale anyway).
        assert!(r.admit(2_000, 1_999, "late"));
        assert!(
            r.seen
                .iter()
                .all(|(t, _)| *t >= 2_000 - NONCE_LIFETIME.as_secs())
        );
    }

    #[test]
    fn nc_is_hashed_as_written_and_answers_without_qop_are_taken() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 100, None) else {
            panic!()
        };
        let nonce = nonce_of(&c);
        let ha = |s: &str| {
            compute_digest(
                "pbx",
                "s3cret-pw",
                REALM,
                s,
                &Method::Invite,
                URI,
                Algorithm::Md5,
                None,
            )
        };
        // nc=0000000a (the tenth use): hashed with the hex as sent.
        let resp = ha(&format!("{nonce}:0000000a:xyz:auth"));
        let auth = format!(
            "Digest username=\"pbx\", realm=\"zonecast\", nonce=\"{nonce}\", uri=\"{URI}\", \
             response=\"{resp}\", qop=auth, nc=0000000a, cnonce=\"xyz\""
        );
        assert_eq!(knock(&d, 101, Some(&auth)), Knock::Admitted("pbx".into()));
        // RFC 2069 style, no qop.
        let resp = ha(&nonce);
        let auth = format!(
            "Digest username=\"pbx\", realm=\"zonecast\", nonce=\"{nonce}\", uri=\"{URI}\", \
             response=\"{resp}\""
        );
        assert_eq!(knock(&d, 101, Some(&auth)), Knock::Admitted("pbx".into()));
        // auth-int, SHA-256 and long values are not read (so challenged again).
        for bad in [
            auth.replace(
                "Digest ",
                "Digest qop=auth-int, nc=00000001, cnonce=\"x\", ",
            ),
            auth.replace("Digest ", "Digest algorithm=SHA-256, "),
            format!("{auth}, x=\"{}\"", "a".repeat(MAX_AUTHORIZATION_BYTES)),
        ] {
            assert!(
                matches!(knock(&d, 101, Some(&bad)), Knock::Challenge(_)),
                "{bad}"
            );
        }
    }

    /// Bytes cut and flipped never panic (the fuzz target goes further).
    #[test]
    fn mangled_authorizations_are_verdicts_not_panics() {
        let d = door();
        let Knock::Challenge(c) = knock(&d, 100, None) else {
            panic!()
        };
        let auth = answer(&c, "pbx", "s3cret-pw");
        for cut in 0..auth.len() {
            let _ = knock(&d, 100, auth.get(..cut));
            let _ = judge_authorization(auth.get(cut..).unwrap_or(""));
        }
        let mut seed = 0x2545_F491_u32;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let mut b = auth.clone().into_bytes();
            let i = seed as usize % b.len();
            b[i] = (seed >> 8) as u8 & 0x7F;
            if let Ok(s) = String::from_utf8(b) {
                assert_ne!(knock(&d, 100, Some(&s)), Knock::Admitted("eve".into()));
            }
        }
    }
}
