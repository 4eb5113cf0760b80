//! The `[cucm]` table: which Cisco Unified CM publisher zonecast reads its phones from (AXL and
//! RisPort70), with which user and password source, how CUCM's certificate is trusted, which
//! phones to take, the credentials and web port to push to them with, and how often to refresh.
//! Read and checked here; `crate::cucm` does the discovery. Passwords are never in the file:
//! `password_env` or `password_file`, read only when a discovery runs.
//!
//! ```toml
//! [cucm]
//! host = "cucm-pub.example.com"      # HOST or HOST:PORT (default port 8443)
//! user = "zonecast-axl"              # an application user with AXL and RIS access
//! password_env = "ZONECAST_AXL_PASSWORD"   # or password_file = "axl-password"
//! axl_version = "14.0"               # default 14.0
//! fingerprint = "AB:CD:..."          # CUCM's certificate SHA-256; or ca_file = "cucm-ca.pem";
//!                                    # or accept_any_certificate = true (logged loudly)
//! device_pools = ["DP-HQ"]           # filters; empty or absent: any
//! names = ["SEP*"]                   # device name patterns (* and ?)
//! descriptions = ["*Lobby*"]         # description patterns
//! models = ["CP-8851", "CP-7841"]    # models as the engine names them
//! push_user = "zonecast"             # who pushes to discovered phones
//! push_password_env = "ZONECAST_PUSH_PASSWORD"  # or push_password_file, or push_auth = "minted"
//! web_port = 80                      # the phones' web port (default 80)
//! refresh = "15m"                    # how often `zonecast serve` refreshes (default 15m)
//! ris_per_minute = 15                # RisPort70 requests per window (default 15)
//! ris_window = "60s"                 # the window (default 60 s; tests shorten it)
//! timeout = "30s"                    # one request's time limit (default 30 s)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::phone::PasswordSource;
use super::source::Source;
use super::value::{Int, Text, int, relative};
use crate::error::Invalid;

/// CUCM's HTTPS port.
pub const CUCM_PORT: u16 = 8443;

/// How CUCM's certificate is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CucmTrust {
    /// Verified against the CA certificates (PEM) in this file, names checked.
    CaFile(PathBuf),
    /// Exactly this certificate: its SHA-256 (of the DER).
    Pinned([u8; 32]),
    /// Any certificate (`accept_any_certificate = true`): warned about at every discovery.
    AcceptAny,
}

/// A `*`/`?` pattern over a device name or description (case-sensitive, whole text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern(String);

impl NamePattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` matches as a whole.
    pub fn matches(&self, text: &str) -> bool {
        let (p, t): (Vec<char>, Vec<char>) = (self.0.chars().collect(), text.chars().collect());
        // Greedy with one backtrack point: linear for the patterns people write.
        let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = ti;
                pi += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ti = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

/// Which phones of the cluster to take; an empty list takes any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CucmFilter {
    /// Device pools, exact names.
    pub device_pools: Vec<String>,
    /// Device name patterns.
    pub names: Vec<NamePattern>,
    /// Description patterns.
    pub descriptions: Vec<NamePattern>,
    /// Models as the engine names them (`CP-8851`).
    pub models: Vec<String>,
}

impl CucmFilter {
    /// Whether a phone with these attributes is taken.
    pub fn keeps(&self, name: &str, description: &str, device_pool: &str, model: &str) -> bool {
        (self.device_pools.is_empty() || self.device_pools.iter().any(|d| d == device_pool))
            && (self.names.is_empty() || self.names.iter().any(|p| p.matches(name)))
            && (self.descriptions.is_empty()
                || self.descriptions.iter().any(|p| p.matches(description)))
            && (self.models.is_empty() || self.models.iter().any(|m| m.eq_ignore_ascii_case(model)))
    }
}

/// The `[cucm]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cucm {
    /// The publisher's host name or IPv4 address.
    pub host: String,
    /// Its HTTPS port.
    pub port: u16,
    /// The AXL and RIS user.
    pub user: String,
    /// Where its password is (never [`PasswordSource::Minted`]).
    pub password: PasswordSource,
    /// AXL schema version (`14.0`).
    pub axl_version: String,
    /// How CUCM's certificate is trusted.
    pub trust: CucmTrust,
    /// Which phones to take.
    pub filter: CucmFilter,
    /// Who pushes to discovered phones, and where the password is (`None`: discovery only).
    pub push: Option<(String, PasswordSource)>,
    /// The phones' web port.
    pub web_port: u16,
    /// How often `zonecast serve` refreshes.
    pub refresh: Duration,
    /// RisPort70 requests per window.
    pub ris_per_window: u32,
    /// RisPort70's rate window.
    pub ris_window: Duration,
    /// One request's time limit.
    pub timeout: Duration,
}

/// `[cucm]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCucm {
    host: Text,
    user: Text,
    password_env: Option<Text>,
    password_file: Option<Text>,
    axl_version: Option<Text>,
    ca_file: Option<Text>,
    fingerprint: Option<Text>,
    accept_any_certificate: Option<Spanned<bool>>,
    #[serde(default)]
    device_pools: Vec<Text>,
    #[serde(default)]
    names: Vec<Text>,
    #[serde(default)]
    descriptions: Vec<Text>,
    #[serde(default)]
    models: Vec<Text>,
    push_user: Option<Text>,
    push_password_env: Option<Text>,
    push_password_file: Option<Text>,
    push_auth: Option<Text>,
    web_port: Option<Int>,
    refresh: Option<Text>,
    ris_per_minute: Option<Int>,
    ris_window: Option<Text>,
    timeout: Option<Text>,
}

/// Check `[cucm]`; `base` anchors relative paths.
pub(super) fn check(
    src: &Source,
    raw: Option<Spanned<RawCucm>>,
    base: &Path,
) -> Result<Option<Cucm>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let span = raw.span();
    let r = raw.into_inner();
    let (host, port) = host_port(r.host.get_ref())
        .map_err(|rule| src.invalid(r.host.span(), "[cucm] host", r.host.get_ref(), rule))?;
    let user = r.user.get_ref().trim().to_owned();
    if user.is_empty() || user.len() > 128 || user.contains(':') {
        return Err(src.invalid(
            r.user.span(),
            "[cucm] user",
            r.user.get_ref(),
            "must be an application user's id (1..=128 characters, no ':')",
        ));
    }
    let password = secret_source(
        src,
        "[cucm] password",
        r.password_env.as_ref(),
        r.password_file.as_ref(),
        None,
        base,
    )?
    .ok_or_else(|| {
        src.invalid(
            span.clone(),
            "[cucm]",
            "no password source",
            "give password_env = \"VAR\" or password_file = \"PATH\"",
        )
    })?;
    let axl_version = match &r.axl_version {
        None => "14.0".to_owned(),
        Some(v) => version(v.get_ref())
            .map_err(|rule| src.invalid(v.span(), "[cucm] axl_version", v.get_ref(), rule))?,
    };
    let trust = trust(src, &r, span, base)?;
    let filter = filter(src, &r)?;
    let push = push(src, &r, base)?;
    let web_port = match &r.web_port {
        Some(v) => int(src, v, "[cucm] web_port", 1..=65535)?,
        None => 80,
    };
    let refresh = long_duration(
        src,
        r.refresh.as_ref(),
        "[cucm] refresh",
        Duration::from_secs(900),
        60..=86_400,
    )?;
    let ris_per_window = match &r.ris_per_minute {
        Some(v) => int(src, v, "[cucm] ris_per_minute", 1..=1000)?,
        None => 15,
    };
    let ris_window = long_duration(
        src,
        r.ris_window.as_ref(),
        "[cucm] ris_window",
        Duration::from_secs(60),
        1..=600,
    )?;
    let timeout = long_duration(
        src,
        r.timeout.as_ref(),
        "[cucm] timeout",
        Duration::from_secs(30),
        1..=600,
    )?;
    Ok(Some(Cucm {
        host,
        port,
        user,
        password,
        axl_version,
        trust,
        filter,
        push,
        web_port,
        refresh,
        ris_per_window,
        ris_window,
        timeout,
    }))
}

/// `push_user` and its password source (`None`: discovery only).
fn push(
    src: &Source,
    r: &RawCucm,
    base: &Path,
) -> Result<Option<(String, PasswordSource)>, Invalid> {
    Ok(match &r.push_user {
        None => {
            if let Some(v) = r
                .push_password_env
                .as_ref()
                .or(r.push_password_file.as_ref())
                .or(r.push_auth.as_ref())
            {
                return Err(src.invalid(
                    v.span(),
                    "[cucm] push_user",
                    "(none)",
                    "a push password needs push_user",
                ));
            }
            None
        }
        Some(u) => {
            let pw = secret_source(
                src,
                "[cucm] push_password",
                r.push_password_env.as_ref(),
                r.push_password_file.as_ref(),
                r.push_auth.as_ref(),
                base,
            )?
            .ok_or_else(|| {
                src.invalid(
                    u.span(),
                    "[cucm] push_user",
                    u.get_ref(),
                    "give push_password_env, push_password_file or push_auth = \"minted\"",
                )
            })?;
            Some((u.get_ref().clone(), pw))
        }
    })
}

/// `HOST` or `HOST:PORT`: a DNS name or IPv4 address.
fn host_port(s: &str) -> Result<(String, u16), String> {
    let rule = "must be the publisher's host name or IPv4 address, optionally :PORT \
                (e.g. cucm-pub.example.com or 10.0.0.10:8443)";
    let s = s.trim();
    let (h, p) = match s.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok().filter(|&p| p > 0).ok_or(rule)?),
        None => (s, CUCM_PORT),
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
    if h.is_empty() || h.len() > 253 || !h.chars().all(ok) {
        return Err(rule.to_owned());
    }
    Ok((h.to_owned(), p))
}

/// `MAJOR.MINOR` as AXL names its schemas (`14.0`, `12.5`).
fn version(s: &str) -> Result<String, String> {
    let rule = "must be an AXL schema version such as 14.0 or 12.5";
    let (a, b) = s.trim().split_once('.').ok_or(rule)?;
    let num = |x: &str| !x.is_empty() && x.len() <= 2 && x.chars().all(|c| c.is_ascii_digit());
    if !num(a) || !num(b) {
        return Err(rule.to_owned());
    }
    Ok(format!("{a}.{b}"))
}

/// One of `*_env`, `*_file` (and `*auth = "minted"` where `minted` is given); `None` if none.
fn secret_source(
    src: &Source,
    what: &str,
    env: Option<&Text>,
    file: Option<&Text>,
    minted: Option<&Text>,
    base: &Path,
) -> Result<Option<PasswordSource>, Invalid> {
    let given = [env, file, minted].iter().filter(|v| v.is_some()).count();
    if given > 1 {
        let v = env
            .or(file)
            .or(minted)
            .map(|v| (v.span(), v.get_ref().clone()))
            .unwrap_or_default();
        return Err(src.invalid(
            v.0,
            what,
            v.1,
            "give exactly one password source, not several",
        ));
    }
    if let Some(v) = env {
        let n = v.get_ref();
        if n.is_empty() || n.contains(['=', '\0']) || n.chars().any(char::is_whitespace) {
            return Err(src.invalid(
                v.span(),
                format!("{what}_env"),
                n,
                "must be the name of an environment variable",
            ));
        }
        return Ok(Some(PasswordSource::Env(n.clone())));
    }
    if let Some(v) = file {
        if v.get_ref().trim().is_empty() {
            return Err(src.invalid(v.span(), format!("{what}_file"), "", "must be a file path"));
        }
        return Ok(Some(PasswordSource::File(relative(base, v.get_ref()))));
    }
    if let Some(v) = minted {
        if v.get_ref() != "minted" {
            return Err(src.invalid(
                v.span(),
                "[cucm] push_auth",
                v.get_ref(),
                "must be \"minted\"",
            ));
        }
        return Ok(Some(PasswordSource::Minted));
    }
    Ok(None)
}

/// Exactly one of `ca_file`, `fingerprint` and `accept_any_certificate = true`.
fn trust(
    src: &Source,
    r: &RawCucm,
    span: std::ops::Range<usize>,
    base: &Path,
) -> Result<CucmTrust, Invalid> {
    let any = r.accept_any_certificate.as_ref().filter(|b| *b.get_ref());
    let given = usize::from(r.ca_file.is_some())
        + usize::from(r.fingerprint.is_some())
        + usize::from(any.is_some());
    const RULE: &str = "give exactly one of ca_file = \"PATH\", fingerprint = \"AB:CD:...\" \
                        (CUCM's certificate SHA-256) and accept_any_certificate = true";
    if given != 1 {
        return Err(src.invalid(
            span,
            "[cucm] certificate",
            format!("{given} ways given"),
            RULE,
        ));
    }
    if let Some(f) = &r.ca_file {
        return Ok(CucmTrust::CaFile(relative(base, f.get_ref())));
    }
    if let Some(f) = &r.fingerprint {
        return parse_fingerprint(f.get_ref())
            .map(CucmTrust::Pinned)
            .map_err(|rule| src.invalid(f.span(), "[cucm] fingerprint", f.get_ref(), rule));
    }
    Ok(CucmTrust::AcceptAny)
}

/// A SHA-256 fingerprint: 32 bytes in hex, `:` between them or not.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], String> {
    let rule = "must be a SHA-256 fingerprint: 64 hex digits, optionally in pairs separated by ':'";
    let hex: String = s.trim().chars().filter(|&c| c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(rule.to_owned());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| rule.to_owned())?;
    }
    Ok(out)
}

fn filter(src: &Source, r: &RawCucm) -> Result<CucmFilter, Invalid> {
    let plain = |v: &Text, what: &str| -> Result<String, Invalid> {
        let s = v.get_ref();
        if s.is_empty() || s.len() > 128 || s.chars().any(char::is_control) {
            return Err(src.invalid(
                v.span(),
                what,
                s,
                "must be 1..=128 characters, no control characters",
            ));
        }
        Ok(s.clone())
    };
    let many = |vs: &[Text], what: &str| {
        vs.iter()
            .map(|v| plain(v, what))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(CucmFilter {
        device_pools: many(&r.device_pools, "[cucm] device_pools")?,
        names: many(&r.names, "[cucm] names")?
            .into_iter()
            .map(NamePattern)
            .collect(),
        descriptions: many(&r.descriptions, "[cucm] descriptions")?
            .into_iter()
            .map(NamePattern)
            .collect(),
        models: many(&r.models, "[cucm] models")?,
    })
}

/// `30s`, `15m`, `1h` within `secs` (in seconds); `default` when absent.
fn long_duration(
    src: &Source,
    v: Option<&Text>,
    what: &str,
    default: Duration,
    secs: std::ops::RangeInclusive<u64>,
) -> Result<Duration, Invalid> {
    let Some(v) = v else { return Ok(default) };
    let s = v.get_ref().trim();
    let rule = format!(
        "must be a duration such as 30s, 15m or 1h, from {} s to {} s",
        secs.start(),
        secs.end()
    );
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(src.invalid(v.span(), what, s, rule)),
    };
    match n.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(t) if secs.contains(&t) => Ok(Duration::from_secs(t)),
        _ => Err(src.invalid(v.span(), what, s, rule)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(tail: &str) -> Result<Config, Invalid> {
        Config::from_toml(tail, "/etc/zonecast/zonecast.toml")
    }

    const OK: &str = "[cucm]\nhost = \"10.0.0.10\"\nuser = \"axl\"\npassword_env = \"AXL_PW\"\n\
                      fingerprint = \"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\"\n";

    #[test]
    fn a_cucm_table_loads_with_defaults() {
        let c = load(OK).unwrap().cucm.unwrap();
        assert_eq!((c.host.as_str(), c.port), ("10.0.0.10", 8443));
        assert_eq!(c.axl_version, "14.0");
        assert_eq!(c.password, PasswordSource::Env("AXL_PW".into()));
        assert!(matches!(c.trust, CucmTrust::Pinned(f) if f[1] == 0x11));
        assert_eq!(
            (c.web_port, c.refresh, c.ris_per_window),
            (80, Duration::from_secs(900), 15)
        );
        assert!(c.push.is_none());
        assert!(load("").unwrap().cucm.is_none());
        let c = load(&format!(
            "{OK}device_pools = [\"DP-HQ\"]\nnames = [\"SEP*\"]\npush_user = \"zc\"\n\
             push_auth = \"minted\"\nweb_port = 8080\nrefresh = \"1h\"\nris_window = \"2s\"\n"
        ))
        .unwrap()
        .cucm
        .unwrap();
        assert_eq!(c.push, Some(("zc".into(), PasswordSource::Minted)));
        assert_eq!((c.web_port, c.refresh), (8080, Duration::from_secs(3600)));
        assert!(c.filter.keeps("SEP1", "", "DP-HQ", "CP-8851"));
        assert!(!c.filter.keeps("ATA1", "", "DP-HQ", "CP-8851"));
        assert!(!c.filter.keeps("SEP1", "", "DP-BR", "CP-8851"));
    }

    #[test]
    fn patterns_match_whole_text() {
        let p = NamePattern("*Lobby?".into());
        assert!(p.matches("Main Lobby1"));
        assert!(!p.matches("Main Lobby"));
        assert!(NamePattern("SEP*".into()).matches("SEP00"));
        assert!(!NamePattern("SEP*".into()).matches("xSEP00"));
        assert!(NamePattern("*".into()).matches(""));
    }

    #[test]
    fn bad_values_are_refused_at_their_line() {
        let base = "[cucm]\nhost = \"10.0.0.10\"\nuser = \"axl\"\npassword_env = \"AXL_PW\"\n";
        for (tail, says) in [
            (base.to_string(), "exactly one of ca_file"),
            (
                format!("{base}accept_any_certificate = true\nca_file = \"x\"\n"),
                "exactly one of ca_file",
            ),
            (format!("{base}fingerprint = \"AB:CD\"\n"), "64 hex digits"),
            (OK.replace("10.0.0.10", "cucm pub"), "host name"),
            (
                OK.replace("password_env = \"AXL_PW\"\n", ""),
                "no password source",
            ),
            (
                format!("{OK}password_file = \"pw\"\n"),
                "exactly one password source",
            ),
            (format!("{OK}axl_version = \"14\"\n"), "14.0"),
            (format!("{OK}refresh = \"10s\"\n"), "from 60 s"),
            (format!("{OK}web_port = 0\n"), "1..=65535"),
            (
                format!("{OK}push_password_env = \"X\"\n"),
                "needs push_user",
            ),
            (format!("{OK}push_user = \"zc\"\n"), "push_password_env"),
            (
                format!("{OK}push_user = \"zc\"\npush_auth = \"yes\"\n"),
                "\"minted\"",
            ),
            (format!("{OK}colour = 1\n"), "colour"),
        ] {
            let e = load(&tail).unwrap_err().to_string();
            assert!(e.contains(says), "{tail}: {e}");
            assert!(e.contains("zonecast.toml:"), "{e}");
        }
    }
}
