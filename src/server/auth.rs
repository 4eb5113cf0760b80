//! One-time credentials and the Authentication URL.
//!
//! A Cisco phone that receives a push (`POST /CGI/Execute` with basic auth) asks its
//! Authentication URL whether the user and password are valid: it sends `UserID`, `Password` and
//! `devicename`, and the answer must be exactly `AUTHORIZED` (no trailing newline); anything else
//! (`UN-AUTHORIZED`, `ERROR`) refuses the push. `zonecast serve` is that URL for phones configured
//! `auth = "minted"`: for every push attempt to such a phone it mints a fresh random user and
//! password, valid once and for a few seconds ([`Minter`], the sans-IO core: time is an argument).
//! The URL says `AUTHORIZED` to the first check and `UN-AUTHORIZED` to every later one (used,
//! expired, wrong password or wrong device). Credentials it did not mint (users without the
//! [`USER_PREFIX`]) are relayed to the upstream Authentication URL (normally CUCM's) when one is
//! configured, else refused.
//!
//! Passwords are never logged: log lines name the user and the device only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::push::{Credentials, Phone, Secret};

/// Every minted user starts with this, so a check can tell minted credentials (even expired or
/// used ones, long pruned) from others, which go upstream.
pub const USER_PREFIX: &str = "zc-";

/// Default lifetime of a minted credential: long enough for a push and the phone's question,
/// short enough that a captured one is worthless soon.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// Most credentials alive at once; beyond it the oldest are dropped (bounded memory even if
/// pushes fail before their phone ever asks).
pub const MAX_LIVE: usize = 100_000;

/// Time allowed to the upstream Authentication URL.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// Random bytes in a minted user (after the prefix) and password.
const USER_BYTES: usize = 8;
const PASSWORD_BYTES: usize = 16;

/// What the Authentication URL answers (the exact body, no trailing newline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `AUTHORIZED`
    Authorized,
    /// `UN-AUTHORIZED`
    Unauthorized,
    /// `ERROR`
    Error,
}

impl Verdict {
    /// The body: `AUTHORIZED`, `UN-AUTHORIZED` or `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Authorized => "AUTHORIZED",
            Verdict::Unauthorized => "UN-AUTHORIZED",
            Verdict::Error => "ERROR",
        }
    }

    /// An answer (an upstream's) read as one of the three words, surrounding whitespace
    /// ignored; anything else is `None`.
    pub fn parse(s: &str) -> Option<Verdict> {
        match s.trim() {
            "AUTHORIZED" => Some(Verdict::Authorized),
            "UN-AUTHORIZED" => Some(Verdict::Unauthorized),
            "ERROR" => Some(Verdict::Error),
            _ => None,
        }
    }
}

/// What the minter says about presented credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Minted here, alive, right password and device: accepted (and now used up).
    Authorized,
    /// A minted user (by its prefix), but used, expired, unknown, with the wrong password or
    /// from the wrong device.
    Refused,
    /// Not a user this minter makes: ask upstream.
    NotMinted,
}

#[derive(Debug)]
struct Entry {
    password: String,
    device: Option<String>,
    phone: String,
    expires: Instant,
}

/// The sans-IO core: mints one-time credentials and checks them. Reads no clock: every call
/// takes `now`. Expired entries are pruned on every call, and at most [`MAX_LIVE`] live at once.
#[derive(Debug)]
pub struct Minter {
    ttl: Duration,
    max_live: usize,
    live: HashMap<String, Entry>,
    /// Users in minting order (so in expiry order: one ttl for all).
    order: VecDeque<String>,
    minted: u64,
}

impl Minter {
    /// A minter whose credentials live `ttl`.
    pub fn new(ttl: Duration) -> Minter {
        Minter::with_limit(ttl, MAX_LIVE)
    }

    /// A minter with its own cap on live credentials (at least 1).
    pub fn with_limit(ttl: Duration, max_live: usize) -> Minter {
        Minter {
            ttl,
            max_live: max_live.max(1),
            live: HashMap::new(),
            order: VecDeque::new(),
            minted: 0,
        }
    }

    /// How long a credential lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Fresh credentials for one push to `phone` (its name, for logs), valid once until
    /// `now + ttl`, and only from `device` when given.
    pub fn mint(&mut self, phone: &str, device: Option<&str>, now: Instant) -> (String, Secret) {
        self.prune(now);
        while self.live.len() >= self.max_live {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.live.remove(&oldest);
                }
                None => break,
            }
        }
        let user = loop {
            let u = format!("{USER_PREFIX}{}", random_hex::<USER_BYTES>());
            if !self.live.contains_key(&u) {
                break u;
            }
        };
        let password = random_hex::<PASSWORD_BYTES>();
        self.live.insert(
            user.clone(),
            Entry {
                password: password.clone(),
                device: device.map(str::to_owned),
                phone: phone.to_owned(),
                expires: now + self.ttl,
            },
        );
        self.order.push_back(user.clone());
        self.minted += 1;
        (user, Secret::new(password))
    }

    /// Check credentials a phone presents. A minted user is used up by its first check,
    /// whatever the answer (a wrong password or device may be a guess or a leak).
    pub fn check(&mut self, user: &str, password: &str, devicename: &str, now: Instant) -> Check {
        self.prune(now);
        if !user.starts_with(USER_PREFIX) {
            return Check::NotMinted;
        }
        let Some(entry) = self.live.remove(user) else {
            return Check::Refused;
        };
        // `order` keeps the user until it expires; a later mint cannot reuse it meanwhile
        // (it is gone from `live`, and a 64-bit random collision is not a concern).
        if entry.expires <= now || !constant_time_eq(entry.password.as_bytes(), password.as_bytes())
        {
            return Check::Refused;
        }
        match &entry.device {
            Some(d) if !d.eq_ignore_ascii_case(devicename.trim()) => Check::Refused,
            _ => Check::Authorized,
        }
    }

    /// The phone a live credential was minted for (for logs).
    pub fn phone_of(&self, user: &str) -> Option<&str> {
        self.live.get(user).map(|e| e.phone.as_str())
    }

    /// Credentials alive (minted, not yet used, not yet pruned).
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// Credentials minted so far.
    pub fn minted(&self) -> u64 {
        self.minted
    }

    /// Drop every credential that expired by `now`.
    pub fn prune(&mut self, now: Instant) {
        while let Some(user) = self.order.front() {
            match self.live.get(user) {
                Some(e) if e.expires > now => break,
                Some(_) => {
                    self.live.remove(user);
                    self.order.pop_front();
                }
                // Used already; its slot in `order` only waits for its turn.
                None => {
                    self.order.pop_front();
                }
            }
        }
    }
}

/// `N` random bytes as lowercase hex, from the thread's CSPRNG.
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality whose time does not depend on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

struct Inner {
    minter: Mutex<Minter>,
    upstream: Option<String>,
    http: Option<reqwest::Client>,
}

impl Inner {
    fn minter(&self) -> MutexGuard<'_, Minter> {
        self.minter.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The shell: the minter behind a mutex, the upstream URL, and a client to ask it.
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("upstream", &self.inner.upstream)
            .field("minted", &self.minted())
            .finish()
    }
}

impl AuthService {
    /// `ttl`: how long a minted credential lives; `upstream`: where other credentials are checked.
    pub fn new(ttl: Duration, upstream: Option<String>) -> AuthService {
        let http = upstream.as_ref().and_then(|_| {
            crate::push::client_builder()
                .timeout(UPSTREAM_TIMEOUT)
                .connect_timeout(UPSTREAM_TIMEOUT)
                .build()
                .inspect_err(|e| tracing::error!("auth: no client for the upstream URL: {e}"))
                .ok()
        });
        AuthService {
            inner: Arc::new(Inner {
                minter: Mutex::new(Minter::new(ttl)),
                upstream,
                http,
            }),
        }
    }

    /// The routes: `GET|POST /authenticate` (UserID, Password, devicename as query or form).
    pub fn router(&self) -> axum::Router {
        Router::new()
            .route(
                "/authenticate",
                get(authenticate_get).post(authenticate_post),
            )
            .with_state(self.clone())
    }

    /// The push client's source of minted credentials.
    pub fn credentials(&self) -> Arc<dyn crate::push::Credentials> {
        Arc::new(Minting {
            inner: self.inner.clone(),
        })
    }

    /// Minted so far (for metrics).
    pub fn minted(&self) -> u64 {
        self.inner.minter().minted()
    }

    /// Credentials alive now (minted, neither used nor expired).
    pub fn live(&self) -> usize {
        let mut m = self.inner.minter();
        m.prune(Instant::now());
        m.live()
    }

    /// Answer one question of the Authentication URL: minted credentials here, others upstream.
    pub async fn authenticate(&self, user: &str, password: &str, devicename: &str) -> Verdict {
        let (check, phone) = {
            let mut m = self.inner.minter();
            let phone = m.phone_of(user).map(str::to_owned);
            (m.check(user, password, devicename, Instant::now()), phone)
        };
        let phone = phone.as_deref().unwrap_or("-");
        match check {
            Check::Authorized => {
                tracing::debug!(user, devicename, phone, "auth: minted credentials accepted");
                Verdict::Authorized
            }
            Check::Refused => {
                tracing::info!(
                    user,
                    devicename,
                    phone,
                    "auth: minted credentials refused (used, expired, wrong password or device)"
                );
                Verdict::Unauthorized
            }
            Check::NotMinted => self.upstream(user, password, devicename).await,
        }
    }

    async fn upstream(&self, user: &str, password: &str, devicename: &str) -> Verdict {
        let (Some(url), Some(http)) = (&self.inner.upstream, &self.inner.http) else {
            tracing::debug!(user, devicename, "auth: not minted here and no upstream");
            return Verdict::Unauthorized;
        };
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("UserID", user)
            .append_pair("Password", password)
            .append_pair("devicename", devicename)
            .finish();
        let answer = async {
            let r = http
                .post(url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map_err(|e| e.without_url().to_string())?;
            if !r.status().is_success() {
                return Err(format!("HTTP {}", r.status()));
            }
            let text = r.text().await.map_err(|e| e.without_url().to_string())?;
            Verdict::parse(&text).ok_or_else(|| "an answer that is none of the three words".into())
        }
        .await;
        match answer {
            Ok(v) => {
                tracing::debug!(
                    user,
                    devicename,
                    verdict = v.as_str(),
                    "auth: upstream answered"
                );
                v
            }
            Err(why) => {
                tracing::warn!(user, devicename, "auth: upstream Authentication URL: {why}");
                Verdict::Error
            }
        }
    }
}

/// [`Credentials`] for the push client: mints from the service's minter.
struct Minting {
    inner: Arc<Inner>,
}

impl Credentials for Minting {
    fn mint(&self, phone: &Phone) -> Option<(String, Secret)> {
        let device = phone.password.minted_device();
        let (user, secret) = self
            .inner
            .minter()
            .mint(&phone.name, device, Instant::now());
        tracing::debug!(user, phone = phone.name, device, "auth: minted credentials");
        Some((user, secret))
    }
}

/// The three fields, from a query string or a form body (names matched case-insensitively).
fn fields(encoded: &[u8]) -> Option<(String, String, String)> {
    let (mut user, mut password, mut device) = (None, None, None);
    for (k, v) in form_urlencoded::parse(encoded) {
        if k.eq_ignore_ascii_case("UserID") {
            user = Some(v.into_owned());
        } else if k.eq_ignore_ascii_case("Password") {
            password = Some(v.into_owned());
        } else if k.eq_ignore_ascii_case("devicename") {
            device = Some(v.into_owned());
        }
    }
    Some((user?, password?, device?))
}

async fn answer(service: &AuthService, encoded: &[u8]) -> Response {
    let verdict = match fields(encoded) {
        Some((user, password, device)) => service.authenticate(&user, &password, &device).await,
        None => {
            tracing::info!("auth: a question without UserID, Password and devicename");
            Verdict::Error
        }
    };
    ([(header::CONTENT_TYPE, "text/plain")], verdict.as_str()).into_response()
}

async fn authenticate_get(
    State(service): State<AuthService>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&service, query.unwrap_or_default().as_bytes()).await
}

async fn authenticate_post(State(service): State<AuthService>, body: Bytes) -> Response {
    answer(&service, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn a_minted_credential_is_good_once() {
        let t0 = Instant::now();
        let mut m = Minter::new(TTL);
        let (user, pw) = m.mint("lobby", None, t0);
        assert!(user.starts_with(USER_PREFIX));
        assert_eq!(user.len(), USER_PREFIX.len() + 2 * USER_BYTES);
        assert_eq!(pw.expose().len(), 2 * PASSWORD_BYTES);
        assert_eq!(m.live(), 1);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            m.check(&user, pw.expose(), "SEP0011223344AA", t1),
            Check::Authorized
        );
        assert_eq!(
            m.check(&user, pw.expose(), "SEP0011223344AA", t1),
            Check::Refused
        );
        assert_eq!(m.live(), 0);
        assert_eq!(m.minted(), 1);
    }

    #[test]
    fn every_mint_is_different() {
        let t0 = Instant::now();
        let mut m = Minter::new(TTL);
        let (u1, p1) = m.mint("a", None, t0);
        let (u2, p2) = m.mint("a", None, t0);
        assert_ne!(u1, u2);
        assert_ne!(p1.expose(), p2.expose());
        // Each only with its own password.
        assert_eq!(m.check(&u1, p2.expose(), "x", t0), Check::Refused);
        assert_eq!(m.check(&u2, p2.expose(), "x", t0), Check::Authorized);
    }

    #[test]
    fn expiry_is_ttl_after_minting() {
        let t0 = Instant::now();
        let mut m = Minter::new(TTL);
        let (u1, p1) = m.mint("a", None, t0);
        let (u2, p2) = m.mint("a", None, t0);
        assert_eq!(
            m.check(&u1, p1.expose(), "x", t0 + TTL - Duration::from_millis(1)),
            Check::Authorized
        );
        assert_eq!(m.check(&u2, p2.expose(), "x", t0 + TTL), Check::Refused);
    }

    #[test]
    fn a_wrong_password_or_device_refuses_and_uses_the_credential_up() {
        let t0 = Instant::now();
        let mut m = Minter::new(TTL);
        let (u, p) = m.mint("a", Some("SEP0011223344AA"), t0);
        assert_eq!(m.check(&u, "guess", "SEP0011223344AA", t0), Check::Refused);
        assert_eq!(
            m.check(&u, p.expose(), "SEP0011223344AA", t0),
            Check::Refused
        );
        let (u, p) = m.mint("a", Some("SEP0011223344AA"), t0);
        assert_eq!(
            m.check(&u, p.expose(), "SEP00112233FFFF", t0),
            Check::Refused
        );
        assert_eq!(
            m.check(&u, p.expose(), "SEP0011223344AA", t0),
            Check::Refused
        );
        // The device name is compared without regard to case.
        let (u, p) = m.mint("a", Some("SEP0011223344AA"), t0);
        assert_eq!(
            m.check(&u, p.expose(), "sep0011223344aa", t0),
            Check::Authorized
        );
        // Unbound: any device.
        let (u, p) = m.mint("a", None, t0);
        assert_eq!(m.check(&u, p.expose(), "anything", t0), Check::Authorized);
    }

    #[test]
    fn other_users_are_not_minted_and_prefixed_strangers_are_refused() {
        let t0 = Instant::now();
        let mut m = Minter::new(TTL);
        assert_eq!(m.check("cucm-user", "pw", "SEP1", t0), Check::NotMinted);
        assert_eq!(m.check("zc-0123", "pw", "SEP1", t0), Check::Refused);
        assert_eq!(m.check("", "", "", t0), Check::NotMinted);
    }

    #[test]
    fn expired_entries_are_pruned_and_memory_is_bounded() {
        let t0 = Instant::now();
        let mut m = Minter::new(TTL);
        for i in 0..1000 {
            m.mint("a", None, t0 + Duration::from_millis(i));
        }
        assert_eq!(m.live(), 1000);
        m.prune(t0 + TTL + Duration::from_millis(499));
        assert_eq!(m.live(), 500);
        // Minting later prunes by itself.
        m.mint("a", None, t0 + TTL * 3);
        assert_eq!(m.live(), 1);
        assert!(m.order.len() <= 1);
        // Used credentials leave their slot in the order at their expiry.
        let t = t0 + TTL * 10;
        let (u, p) = m.mint("a", None, t);
        assert_eq!(m.check(&u, p.expose(), "x", t), Check::Authorized);
        m.prune(t + TTL);
        assert!(m.order.is_empty());

        let mut capped = Minter::with_limit(TTL, 3);
        let first = capped.mint("a", None, t0);
        for _ in 0..5 {
            capped.mint("a", None, t0);
        }
        assert_eq!(capped.live(), 3);
        assert_eq!(
            capped.check(&first.0, first.1.expose(), "x", t0),
            Check::Refused
        );
        assert_eq!(capped.minted(), 6);
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn verdicts_are_the_three_words() {
        for v in [Verdict::Authorized, Verdict::Unauthorized, Verdict::Error] {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::parse("AUTHORIZED\r\n"), Some(Verdict::Authorized));
        assert_eq!(Verdict::parse("authorized"), None);
        assert_eq!(Verdict::parse("<html>AUTHORIZED</html>"), None);
    }

    #[test]
    fn fields_come_from_a_form_or_query() {
        assert_eq!(
            fields(b"UserID=zc-1&Password=a%2Bb&devicename=SEP1"),
            Some(("zc-1".into(), "a+b".into(), "SEP1".into()))
        );
        assert_eq!(fields(b"UserID=zc-1&Password=x"), None);
        assert_eq!(fields(b""), None);
    }

    #[tokio::test]
    async fn the_service_mints_through_the_credentials_source() {
        let service = AuthService::new(TTL, None);
        let phone = Phone {
            name: "lobby".into(),
            host: "127.0.0.1:9".into(),
            user: "ignored".into(),
            password: Secret::minted_for(Some("SEP0011223344AA")),
            https: false,
        };
        let (u, p) = service.credentials().mint(&phone).unwrap();
        assert_eq!(service.minted(), 1);
        assert_eq!(service.live(), 1);
        assert_eq!(
            service
                .authenticate(&u, p.expose(), "SEP0011223344BB")
                .await,
            Verdict::Unauthorized
        );
        let (u, p) = service.credentials().mint(&phone).unwrap();
        assert_eq!(
            service
                .authenticate(&u, p.expose(), "SEP0011223344AA")
                .await,
            Verdict::Authorized
        );
        assert_eq!(
            service
                .authenticate("cucm-user", "pw", "SEP0011223344AA")
                .await,
            Verdict::Unauthorized
        );
        assert_eq!(service.minted(), 2);
    }
}
