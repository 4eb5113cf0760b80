//! Who may do what in the console and the API: roles, an account's zone grants, the policy
//! table (method and path → the role a request needs), password rules and Argon2id hashing, and
//! the random tokens a sign-in hands out. A pure core: no I/O, no clock (the session rules take
//! `now` as an argument); [`super::signin`] is the HTTP shell and [`super::accounts`] the store.
//!
//! Roles: `admin` may do everything; `operator` may read everything and start and stop pages of
//! the zones granted to it ([`Account::zones`]; `None` is every zone); `viewer` may only read.
//! A request authenticated by the API's bearer token acts as an admin ([`Actor::Token`]).
//! A route the table does not name needs `admin` to change anything and any role to read.
//! A district zone (`[cluster.district]`) is granted like any other, by its name: a grant of a
//! site's zone that is one of its parts does not let an operator page the district zone, nor
//! the other way round ([`grantable_zones`]).

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use blake2::{Blake2b256, Digest};
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::page::Origin;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Read, and start and stop pages of its granted zones.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// `admin`, `operator` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// A role by name, or why not.
    pub fn parse(s: &str) -> Result<Role, Invalid> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "viewer" => Ok(Role::Viewer),
            other => Err(Invalid::new(
                "role",
                other,
                "must be admin, operator or viewer",
            )),
        }
    }
}

/// A console user as the API shows it (never with the password or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Sign-in name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The zones an operator may page; `None`: every zone (and always for admins and viewers,
    /// whose role decides alone).
    pub zones: Option<Vec<String>>,
}

impl Account {
    /// May this account start or stop a page of `zone`?
    pub fn may_page(&self, zone: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Viewer => false,
            Role::Operator => self
                .zones
                .as_ref()
                .is_none_or(|z| z.iter().any(|g| g == zone)),
        }
    }
}

/// A signed-in user's request: the account and the session it came with.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub account: Account,
    /// The session's key as stored (the digest of its cookie, see [`token_digest`]).
    pub session: String,
    /// The session's CSRF token (what `X-CSRF-Token` must carry).
    pub csrf: String,
}

/// Who made a request, as the guard found it; handlers read it as a request extension.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The API's bearer token (a machine): acts as an admin.
    Token,
    /// A signed-in console user.
    User(SignedIn),
}

impl Actor {
    /// The name kept in the history and the audit log: the user's, or `api-token`.
    pub fn name(&self) -> &str {
        match self {
            Actor::Token => TOKEN_ACTOR,
            Actor::User(u) => &u.account.name,
        }
    }

    /// The role it acts with.
    pub fn role(&self) -> Role {
        match self {
            Actor::Token => Role::Admin,
            Actor::User(u) => u.account.role,
        }
    }

    /// May it start or stop a page of `zone`?
    pub fn may_page(&self, zone: &str) -> bool {
        match self {
            Actor::Token => true,
            Actor::User(u) => u.account.may_page(zone),
        }
    }

    /// The page's origin in the journal (`api` or `user:NAME`).
    pub fn origin(&self) -> Origin {
        match self {
            Actor::Token => Origin::Api { token: None },
            Actor::User(u) => Origin::User(u.account.name.clone()),
        }
    }
}

/// The actor name of a request made with the API's bearer token.
pub const TOKEN_ACTOR: &str = "api-token";

/// Who started a page, from its journaled `requested_by`: the user's name for `user:NAME`,
/// [`TOKEN_ACTOR`] for `api`, else as journaled (`bell:NAME`, `phone:NAME`, `cli` ...).
pub fn started_by(requested_by: &str) -> String {
    match requested_by {
        "api" => TOKEN_ACTOR.to_owned(),
        other => other.strip_prefix("user:").unwrap_or(other).to_owned(),
    }
}

/// What a request needs, from [`need`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nobody signed in: signing in.
    Public,
    /// Any signed-in user (every read, one's own session and password).
    SignedIn,
    /// An operator or admin; the handler checks the zone ([`Actor::may_page`]).
    Page,
    /// An admin.
    Admin,
}

/// The policy: (method, path pattern, need), first match wins. In a pattern `*` is one path
/// segment and a trailing `**` the rest of the path. A request no row names needs
/// [`Need::SignedIn`] to read (GET, HEAD) and [`Need::Admin`] for anything else.
pub const POLICY: &[(&str, &str, Need)] = &[
    ("POST", "/api/session", Need::Public),
    ("GET", "/api/session", Need::SignedIn),
    ("GET", "/api/cluster", Need::SignedIn),
    ("DELETE", "/api/session", Need::SignedIn),
    ("POST", "/api/session/password", Need::SignedIn),
    ("GET", "/api/users", Need::Admin),
    ("GET", "/api/users/**", Need::Admin),
    ("GET", "/api/audit", Need::Admin),
    ("POST", "/api/pages", Need::Page),
    ("DELETE", "/api/pages/*", Need::Page),
    // The browser microphone's WebSocket: a GET that starts speaking to a zone.
    ("GET", "/api/pages/*/mic", Need::Page),
    ("GET", "/**", Need::SignedIn),
    ("HEAD", "/**", Need::SignedIn),
];

fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (Some("**"), Some(_)) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// What `method` on `path` needs, by [`POLICY`].
pub fn need(method: &str, path: &str) -> Need {
    POLICY
        .iter()
        .find(|(m, p, _)| *m == method && matches(p, path))
        .map_or(Need::Admin, |(_, _, n)| *n)
}

/// Does `role` meet `need`?
pub fn allowed(role: Role, need: Need) -> bool {
    match need {
        Need::Public | Need::SignedIn => true,
        Need::Page => role >= Role::Operator,
        Need::Admin => role == Role::Admin,
    }
}

/// Longest user name.
pub const MAX_NAME: usize = 64;
/// Shortest password, in characters.
pub const MIN_PASSWORD: usize = 8;
/// Longest password, in bytes (hashing is costly; a megabyte of password is an attack).
pub const MAX_PASSWORD: usize = 1024;
/// Most zones granted to one operator.
pub const MAX_GRANTS: usize = 1000;

/// A user name: 1 to [`MAX_NAME`] ASCII letters, digits, `.`, `_` or `-`, starting with a
/// letter or digit (it appears in paths and the journal).
pub fn check_name(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "name",
            name,
            format!(
                "a user name is 1 to {MAX_NAME} ASCII letters, digits, '.', '_' or '-', \
                 starting with a letter or digit"
            ),
        ))
    }
}

/// A new password: at least [`MIN_PASSWORD`] characters, at most [`MAX_PASSWORD`] bytes, no
/// control characters. The error never repeats it.
pub fn check_password(password: &str) -> Result<(), Invalid> {
    let rule = if password.chars().count() < MIN_PASSWORD {
        format!("a password needs at least {MIN_PASSWORD} characters")
    } else if password.len() > MAX_PASSWORD {
        format!("a password has at most {MAX_PASSWORD} bytes")
    } else if password.chars().any(char::is_control) {
        "a password has no control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(Invalid::new("password", "***", rule))
}

/// The zones an operator may be granted: the config's, then its district zones (a name both
/// use once).
pub fn grantable_zones(config: &crate::config::Config) -> Vec<String> {
    let mut known: Vec<String> = config.zones.iter().map(|z| z.name.clone()).collect();
    let district = config.cluster.iter().flat_map(|c| &c.district);
    for d in district {
        if !known.contains(&d.name) {
            known.push(d.name.clone());
        }
    }
    known
}

/// An operator's zone grants, checked against the config's zones (`known`). Grants are for
/// operators only: other roles get `None`.
pub fn check_grants(
    role: Role,
    zones: Option<Vec<String>>,
    known: &[String],
) -> Result<Option<Vec<String>>, Invalid> {
    let Some(mut zones) = zones else {
        return Ok(None);
    };
    if role != Role::Operator {
        return Err(Invalid::new(
            "zones",
            zones.join(","),
            "zones are granted to operators only (admins page every zone, viewers none)",
        ));
    }
    if zones.len() > MAX_GRANTS {
        return Err(Invalid::new(
            "zones",
            zones.len(),
            format!("at most {MAX_GRANTS} zones"),
        ));
    }
    if let Some(z) = zones.iter().find(|z| !known.iter().any(|k| k == *z)) {
        return Err(Invalid::new("zones", z, "is not a zone in the config"));
    }
    zones.sort();
    zones.dedup();
    Ok(Some(zones))
}

/// Argon2id (the crate's defaults: 19 MiB, 2 passes, one lane) of `password` with a fresh
/// random salt, as a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Does `password` match the PHC string `hash`? A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh random token: 32 bytes (256 bits) as 64 lowercase hex digits.
pub fn new_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

/// The key a session is stored under: BLAKE2b-256 of its cookie, hex. A copy of the database
/// does not hold the cookies themselves.
pub fn token_digest(token: &str) -> String {
    hex(&Blake2b256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// From sign-in, whatever happens.
    pub lifetime: Duration,
    /// Without a request.
    pub idle: Duration,
}

/// Why a session no longer signs anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnded {
    /// Its lifetime is over.
    Expired,
    /// It was not used for longer than the idle limit.
    Idle,
}

impl SessionEnded {
    /// What the 401 says.
    pub fn reason(self) -> &'static str {
        match self {
            SessionEnded::Expired => "your session expired: sign in again",
            SessionEnded::Idle => "your session ended after a time without use: sign in again",
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SessionLimits {
    /// Unix ms when a session made at `created_ms` ends at the latest.
    pub fn expires_ms(&self, created_ms: i64) -> i64 {
        created_ms.saturating_add(ms(self.lifetime))
    }

    /// Is a session made at `created_ms` and last used at `last_ms` still good at `now_ms`?
    pub fn check(&self, created_ms: i64, last_ms: i64, now_ms: i64) -> Result<(), SessionEnded> {
        if now_ms >= self.expires_ms(created_ms) {
            Err(SessionEnded::Expired)
        } else if now_ms >= last_ms.saturating_add(ms(self.idle)) {
            Err(SessionEnded::Idle)
        } else {
            Ok(())
        }
    }

    /// Is `last_ms` old enough at `now_ms` to be written again (at most once a minute, so a
    /// busy console does not write the database on every request)?
    pub fn touch_due(&self, last_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(last_ms) >= 60_000.min(ms(self.idle) / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(zones: Option<&[&str]>) -> Account {
        Account {
            name: "olga".into(),
            role: Role::Operator,
            zones: zones.map(|z| z.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn the_policy_table_decides_by_method_and_path() {
        assert_eq!(need("POST", "/api/session"), Need::Public);
        assert_eq!(need("GET", "/api/session"), Need::SignedIn);
        assert_eq!(need("POST", "/api/session/password"), Need::SignedIn);
        assert_eq!(need("POST", "/api/pages"), Need::Page);
        assert_eq!(need("DELETE", "/api/pages/p-1"), Need::Page);
        assert_eq!(need("GET", "/api/pages/p-1/mic"), Need::Page);
        assert_eq!(need("GET", "/api/pages/p-1"), Need::SignedIn);
        assert_eq!(need("GET", "/api/users"), Need::Admin);
        assert_eq!(need("GET", "/api/users/olga"), Need::Admin);
        assert_eq!(need("GET", "/api/audit"), Need::Admin);
        assert_eq!(need("GET", "/api/history"), Need::SignedIn);
        // Unknown mutations: admin only.
        assert_eq!(need("PUT", "/api/sounds/x"), Need::Admin);
        assert_eq!(need("POST", "/api/bells/b/ring"), Need::Admin);
        assert_eq!(need("DELETE", "/api/pages"), Need::Admin);
        assert_eq!(need("POST", "/api/pages/x"), Need::Admin);
        assert_eq!(need("PATCH", "/api/pages/x"), Need::Admin);
        // `*` is one non-empty segment.
        assert_eq!(need("DELETE", "/api/pages/"), Need::Admin);
        assert_eq!(need("DELETE", "/api/pages/a/b"), Need::Admin);
    }

    #[test]
    fn roles_meet_needs_in_order() {
        assert!(allowed(Role::Viewer, Need::SignedIn));
        assert!(!allowed(Role::Viewer, Need::Page));
        assert!(allowed(Role::Operator, Need::Page));
        assert!(!allowed(Role::Operator, Need::Admin));
        assert!(allowed(Role::Admin, Need::Admin));
        assert!(allowed(Role::Admin, Need::Page));
    }

    #[test]
    fn an_operator_pages_only_its_zones() {
        assert!(op(Some(&["lobby"])).may_page("lobby"));
        assert!(!op(Some(&["lobby"])).may_page("gym"));
        assert!(!op(Some(&[])).may_page("gym"));
        assert!(op(None).may_page("gym"));
        let viewer = Account {
            role: Role::Viewer,
            ..op(None)
        };
        assert!(!viewer.may_page("lobby"));
        assert!(Actor::Token.may_page("anything"));
        assert_eq!(Actor::Token.name(), "api-token");
    }

    #[test]
    fn a_district_zone_is_granted_by_its_name_only() {
        let toml = "[[phone]]\nname = \"p1\"\nhost = \"10.0.0.1\"\nmodel = \"8865\"\n\
                    user = \"u\"\npassword_env = \"ZC_PW\"\n\n[zone.all]\nmembers = [\"p1\"]\n\n\
                    [cluster]\nurls = [\"nats://127.0.0.1:4222\"]\nsite = \"north\"\n\
                    node = \"a\"\n\n[cluster.district]\neveryone = [\"north:all\", \"south:all\"]\n";
        let config = crate::config::Config::from_toml(toml, "/etc/zonecast/zonecast.toml")
            .expect("the config");
        let known = grantable_zones(&config);
        assert_eq!(known, ["all", "everyone"]);
        let grants = Some(vec!["everyone".to_owned()]);
        assert!(check_grants(Role::Operator, grants, &known).is_ok());
        assert!(op(Some(&["everyone"])).may_page("everyone"));
        assert!(!op(Some(&["all"])).may_page("everyone"));
        assert!(!op(Some(&["everyone"])).may_page("all"));
    }

    #[test]
    fn names_passwords_and_grants_are_checked() {
        assert!(check_name("olga.k-2").is_ok());
        for bad in ["", "-x", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("12345678").is_ok());
        let short = check_password("1234567").unwrap_err().to_string();
        assert!(
            short.contains("at least 8") && !short.contains("1234567"),
            "{short}"
        );
        assert!(check_password(&"x".repeat(1025)).is_err());
        assert!(check_password("abcdefg\n").is_err());
        let known = vec!["lobby".to_owned(), "gym".to_owned()];
        let g = |z: &[&str]| Some(z.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            check_grants(Role::Operator, g(&["lobby", "gym", "lobby"]), &known),
            Ok(g(&["gym", "lobby"]))
        );
        assert!(check_grants(Role::Operator, g(&["pool"]), &known).is_err());
        assert!(check_grants(Role::Viewer, g(&["gym"]), &known).is_err());
        assert_eq!(check_grants(Role::Admin, None, &known), Ok(None));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        // A fresh salt each time.
        assert_ne!(h, hash_password("correct horse").unwrap());
    }

    #[test]
    fn tokens_are_256_bits_and_stored_as_digests() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        let d = token_digest(&t);
        assert_eq!(d.len(), 64);
        assert_ne!(d, t);
        assert_eq!(d, token_digest(&t));
    }

    #[test]
    fn sessions_end_at_their_lifetime_or_when_idle() {
        let l = SessionLimits {
            lifetime: Duration::from_secs(12 * 3600),
            idle: Duration::from_secs(3600),
        };
        let t0 = 1_000_000;
        let h = 3_600_000;
        assert_eq!(l.check(t0, t0, t0), Ok(()));
        assert_eq!(l.check(t0, t0, t0 + h - 1), Ok(()));
        assert_eq!(l.check(t0, t0, t0 + h), Err(SessionEnded::Idle));
        // Used every half hour: good until the lifetime.
        assert_eq!(l.check(t0, t0 + 11 * h, t0 + 11 * h + h / 2), Ok(()));
        assert_eq!(
            l.check(t0, t0 + 12 * h - 1, t0 + 12 * h),
            Err(SessionEnded::Expired)
        );
        assert!(!l.touch_due(t0, t0 + 59_999));
        assert!(l.touch_due(t0, t0 + 60_000));
    }

    #[test]
    fn history_names_who_started() {
        assert_eq!(started_by("api"), "api-token");
        assert_eq!(started_by("user:olga"), "olga");
        assert_eq!(started_by("bell:recess"), "bell:recess");
    }
}
