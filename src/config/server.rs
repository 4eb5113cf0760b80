//! The `[server]` table: what `zonecast serve` listens on, where its data lives, the API token's
//! source, and the Authentication URL's settings. Every key but the token has a default. The
//! table is read and checked here too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::source::Source;
use super::value::{Int, Text, duration, int, relative};
use crate::error::Invalid;
use crate::push::Secret;

/// Where the API's bearer token is read from (never the config itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable's name (`token_env`).
    Env(String),
    /// A file whose first line is the token (`token_file`; relative to the config file).
    File(PathBuf),
}

/// The `[server]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// Address and port of the HTTP API, the callbacks, the Authentication URL and `/metrics`.
    /// Default `127.0.0.1:8460` (loopback: put it behind a proxy or set it on purpose).
    pub listen: SocketAddr,
    /// The base URL phones use to reach this server (callbacks, Authentication URL), e.g.
    /// `http://10.0.0.5:8460`. Default: `http://MEDIA_ADDRESS:PORT` from `[engine]
    /// media_address` and the listen port. Plain `http://` only: the phones' Notify callbacks
    /// cannot be HTTPS (see [`crate::xsi::uri::NotifyBase`]), so an `https://` URL is refused.
    pub public_url: Option<String>,
    /// The API token's source; `None` means the file has no `[server]` table or no token key,
    /// and `zonecast serve` refuses to start.
    pub token: Option<TokenSource>,
    /// Directory of the SQLite journal and uploaded sounds. Default `zonecast-data` beside the
    /// config file.
    pub data_dir: PathBuf,
    /// Largest uploaded sound, in bytes. Default 16 MiB.
    pub upload_limit: usize,
    /// How long a minted one-time credential stays valid. Default 10 s.
    pub auth_ttl: Duration,
    /// Where credentials zonecast did not mint are checked (CUCM's authentication URL).
    pub upstream_auth_url: Option<String>,
    /// How long a console sign-in lasts at most (`session_minutes`). Default 12 h.
    pub session_lifetime: Duration,
    /// How long a console session may go unused (`session_idle_minutes`). Default 1 h.
    pub session_idle: Duration,
}

/// Default port of `zonecast serve`.
pub const DEFAULT_PORT: u16 = 8460;

impl Server {
    /// Defaults for a config file at `base` (its directory).
    pub fn defaults(base: &std::path::Path) -> Server {
        Server {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            public_url: None,
            token: None,
            data_dir: base.join("zonecast-data"),
            upload_limit: 16 << 20,
            auth_ttl: Duration::from_secs(10),
            upstream_auth_url: None,
            session_lifetime: Duration::from_secs(12 * 3600),
            session_idle: Duration::from_secs(3600),
        }
    }

    /// Read the token now. Errors name the key and the variable or file, never the token.
    pub fn token(&self) -> Result<Secret, Invalid> {
        match &self.token {
            None => Err(Invalid::new(
                "[server] token_env",
                "(none)",
                "the API needs a bearer token: set token_env = \"VAR\" or token_file = \"PATH\"",
            )),
            Some(TokenSource::Env(var)) => Secret::from_env(var)
                .map_err(|e| Invalid::new("[server] token_env", e.value, e.rule)),
            Some(TokenSource::File(p)) => Secret::from_file(p)
                .map_err(|e| Invalid::new("[server] token_file", e.value, e.rule)),
        }
    }
}

/// `16777216`, `512K`, `16M`, `1G` (binary multiples): a byte count.
pub(super) fn parse_size(s: &str) -> Result<usize, &'static str> {
    const RULE: &str = "must be a size in bytes, optionally with K, M or G (e.g. 16M)";
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1usize << 10),
        Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = digits.trim().parse().map_err(|_| RULE)?;
    n.checked_mul(mult).filter(|&n| n > 0).ok_or(RULE)
}

/// `[server]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    listen: Option<Text>,
    public_url: Option<Text>,
    token_env: Option<Text>,
    token_file: Option<Text>,
    /// Only so that an inline token gets its own message rather than "unknown field".
    token: Option<Spanned<toml::Value>>,
    data_dir: Option<Text>,
    upload_limit: Option<Text>,
    auth_ttl: Option<Text>,
    upstream_auth_url: Option<Text>,
    session_minutes: Option<Int>,
    session_idle_minutes: Option<Int>,
}

/// `[server]`: defaults for every key the file leaves out.
pub(super) fn check(src: &Source, raw: Option<RawServer>, base: &Path) -> Result<Server, Invalid> {
    let mut s = Server::defaults(base);
    let Some(r) = raw else { return Ok(s) };
    if let Some(t) = &r.token {
        return Err(src.invalid(
            t.span(),
            "[server] token",
            "***",
            "the API token is never written in the config: name an environment variable with \
             token_env = \"VAR\" or a file with token_file = \"PATH\"",
        ));
    }
    if let Some(v) = &r.listen {
        s.listen = v.get_ref().parse().map_err(|_| {
            src.invalid(
                v.span(),
                "[server] listen",
                v.get_ref(),
                "must be ADDRESS:PORT, e.g. 127.0.0.1:8460",
            )
        })?;
    }
    if let Some(v) = &r.public_url {
        let u = v.get_ref().trim_end_matches('/');
        // It is where phones make their Notify callbacks: plain HTTP, a host and port a
        // Notify URI can carry.
        crate::xsi::uri::NotifyBase::from_url("[server] public_url", u)
            .map_err(|e| src.invalid(v.span(), "[server] public_url", v.get_ref(), e.rule))?;
        s.public_url = Some(u.to_owned());
    }
    s.token = match (&r.token_env, &r.token_file) {
        (Some(v), None) => Some(TokenSource::Env(v.get_ref().clone())),
        (None, Some(f)) => Some(TokenSource::File(relative(base, f.get_ref()))),
        (Some(v), Some(_)) => {
            return Err(src.invalid(
                v.span(),
                "[server] token_env",
                v.get_ref(),
                "give exactly one of token_env and token_file, not both",
            ));
        }
        (None, None) => None,
    };
    if let Some(v) = &r.data_dir {
        s.data_dir = relative(base, v.get_ref());
    }
    if let Some(v) = &r.upload_limit {
        s.upload_limit = parse_size(v.get_ref())
            .map_err(|rule| src.invalid(v.span(), "[server] upload_limit", v.get_ref(), rule))?;
    }
    if let Some(v) = &r.auth_ttl {
        s.auth_ttl = duration(src, v, "[server] auth_ttl", false)?;
    }
    if let Some(v) = &r.upstream_auth_url {
        let u = v.get_ref();
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(src.invalid(
                v.span(),
                "[server] upstream_auth_url",
                u,
                "must be an http:// or https:// URL",
            ));
        }
        s.upstream_auth_url = Some(u.clone());
    }
    if let Some(v) = &r.session_minutes {
        let m: u64 = int(src, v, "[server] session_minutes", 1..=30 * 24 * 60)?;
        s.session_lifetime = Duration::from_secs(m * 60);
    }
    if let Some(v) = &r.session_idle_minutes {
        let m: u64 = int(src, v, "[server] session_idle_minutes", 1..=30 * 24 * 60)?;
        s.session_idle = Duration::from_secs(m * 60);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
    }
}
