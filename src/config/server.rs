//! The `[server]` table: what `zonecast serve` listens on, where its data lives, the API token's
//! source, and the Authentication URL's settings. Every key but the token has a default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// media_address` and the listen port.
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
