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
    /// The console's HTTPS listener beside `listen` (`https_listen` with `tls_cert` + `tls_key`
    /// or `tls_self_signed = true`); `None`: plain HTTP only. Phones keep using `listen`.
    pub https: Option<HttpsListen>,
}

/// `[server] https_listen` and its certificate: where the console is served over TLS
/// (browsers give the microphone only to secure pages).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsListen {
    /// Address and port of the HTTPS listener.
    pub listen: SocketAddr,
    /// Its certificate and key.
    pub identity: TlsIdentity,
}

/// Where the HTTPS listener's certificate comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsIdentity {
    /// PEM files (`tls_cert`, `tls_key`; relative to the config file), checked at load to hold
    /// a certificate and a private key.
    Files {
        /// The certificate chain, leaf first.
        cert: PathBuf,
        /// Its private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// `tls_self_signed = true`: made at first start under the data directory for the names
    /// of `public_url`, `localhost` and `127.0.0.1`, and reused at later starts.
    SelfSigned,
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
            https: None,
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
    https_listen: Option<Text>,
    tls_cert: Option<Text>,
    tls_key: Option<Text>,
    tls_self_signed: Option<Spanned<bool>>,
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
    s.https = check_https(src, &r, base)?;
    if let Some(h) = &s.https
        && h.listen == s.listen
        && h.listen.port() != 0
    {
        let v = r.https_listen.as_ref().map_or(0..0, |v| v.span());
        return Err(src.invalid(
            v,
            "[server] https_listen",
            h.listen,
            "must differ from listen (the phones' plain-HTTP listener)",
        ));
    }
    Ok(s)
}

/// `https_listen` with `tls_cert` + `tls_key` or `tls_self_signed`: every combination but
/// those two refused, and the files read now so a bad one stops the load, not the first
/// browser.
fn check_https(src: &Source, r: &RawServer, base: &Path) -> Result<Option<HttpsListen>, Invalid> {
    let self_signed = r.tls_self_signed.as_ref().filter(|v| *v.get_ref());
    let Some(v) = &r.https_listen else {
        let stray = [("tls_cert", &r.tls_cert), ("tls_key", &r.tls_key)]
            .into_iter()
            .find_map(|(k, t)| t.as_ref().map(|t| (k, t.span(), t.get_ref().as_str())))
            .or(self_signed.map(|b| ("tls_self_signed", b.span(), "true")));
        return match stray {
            Some((key, span, value)) => Err(src.invalid(
                span,
                format!("[server] {key}"),
                value,
                "is only read with https_listen = \"ADDR:PORT\" (the HTTPS listener it is for)",
            )),
            None => Ok(None),
        };
    };
    let listen: SocketAddr = v.get_ref().parse().map_err(|_| {
        src.invalid(
            v.span(),
            "[server] https_listen",
            v.get_ref(),
            "must be ADDRESS:PORT, e.g. 0.0.0.0:8443",
        )
    })?;
    if !cfg!(feature = "tls") {
        return Err(src.invalid(
            v.span(),
            "[server] https_listen",
            v.get_ref(),
            "this zonecast was built without the `tls` feature: no HTTPS listener",
        ));
    }
    let identity = match (&r.tls_cert, &r.tls_key, self_signed) {
        (Some(c), Some(k), None) => {
            let (cert, key) = (relative(base, c.get_ref()), relative(base, k.get_ref()));
            pem_check(&cert, &key).map_err(|(which, path, rule)| {
                let span = if which == "tls_cert" {
                    c.span()
                } else {
                    k.span()
                };
                src.invalid(span, format!("[server] {which}"), path.display(), rule)
            })?;
            TlsIdentity::Files { cert, key }
        }
        (None, None, Some(_)) => TlsIdentity::SelfSigned,
        (Some(_), Some(_), Some(b)) => {
            return Err(src.invalid(
                b.span(),
                "[server] tls_self_signed",
                "true",
                "give tls_cert + tls_key or tls_self_signed = true, not both",
            ));
        }
        (Some(c), None, _) => {
            return Err(src.invalid(
                c.span(),
                "[server] tls_cert",
                c.get_ref(),
                "needs tls_key, the certificate's private key (PEM)",
            ));
        }
        (None, Some(k), _) => {
            return Err(src.invalid(
                k.span(),
                "[server] tls_key",
                k.get_ref(),
                "needs tls_cert, the certificate it is the key of (PEM)",
            ));
        }
        (None, None, None) => {
            return Err(src.invalid(
                v.span(),
                "[server] https_listen",
                v.get_ref(),
                "needs a certificate: tls_cert = \"PATH\" and tls_key = \"PATH\" (PEM), or \
                 tls_self_signed = true",
            ));
        }
    };
    Ok(Some(HttpsListen { listen, identity }))
}

/// Which key, which file and what is wrong with it.
type PemFault<'a> = (&'static str, &'a Path, String);

/// `cert` holds at least one PEM certificate and `key` a PEM private key, both readable.
#[cfg(feature = "tls")]
fn pem_check<'a>(cert: &'a Path, key: &'a Path) -> Result<(), PemFault<'a>> {
    use rustls::pki_types::pem::{self, PemObject};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fault = |which, path, e: pem::Error| {
        let rule = match e {
            pem::Error::Io(e) => format!("cannot be read: {e}"),
            pem::Error::NoItemsFound => match which {
                "tls_cert" => "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
                _ => "holds no PEM private key (-----BEGIN PRIVATE KEY-----)".into(),
            },
            other => format!("is not valid PEM: {other}"),
        };
        (which, path, rule)
    };
    let mut certs = CertificateDer::pem_file_iter(cert).map_err(|e| fault("tls_cert", cert, e))?;
    match certs.next() {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(fault("tls_cert", cert, e)),
        None => return Err(fault("tls_cert", cert, pem::Error::NoItemsFound)),
    }
    PrivateKeyDer::from_pem_file(key).map_err(|e| fault("tls_key", key, e))?;
    Ok(())
}

/// Without TLS no HTTPS listener is configured (refused above); nothing to read.
#[cfg(not(feature = "tls"))]
fn pem_check<'a>(_: &'a Path, _: &'a Path) -> Result<(), PemFault<'a>> {
    Ok(())
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

    fn load(server: &str, dir: &Path) -> Result<Server, Invalid> {
        let text = format!("[server]\n{server}");
        crate::config::Config::from_toml(&text, dir.join("zonecast.toml")).map(|c| c.server)
    }

    #[test]
    fn https_needs_exactly_one_certificate_source() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let refused = |t: &str, field: &str, rule: &str| {
            let e = load(t, d).unwrap_err();
            assert!(e.field.ends_with(field), "{t}: {e}");
            assert!(e.rule.contains(rule), "{t}: {e}");
        };
        refused(
            "https_listen = \"127.0.0.1:8443\"\n",
            "https_listen",
            "needs a certificate",
        );
        refused(
            "https_listen = \"here\"\ntls_self_signed = true\n",
            "https_listen",
            "ADDRESS:PORT",
        );
        refused(
            "tls_cert = \"c.pem\"\n",
            "tls_cert",
            "only read with https_listen",
        );
        refused(
            "tls_self_signed = true\n",
            "tls_self_signed",
            "only read with https_listen",
        );
        refused(
            "https_listen = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"\n",
            "tls_cert",
            "needs tls_key",
        );
        refused(
            "https_listen = \"127.0.0.1:8443\"\ntls_key = \"k.pem\"\n",
            "tls_key",
            "needs tls_cert",
        );
        refused(
            "https_listen = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_self_signed = true\n",
            "tls_self_signed",
            "not both",
        );
        refused(
            "listen = \"127.0.0.1:8443\"\nhttps_listen = \"127.0.0.1:8443\"\ntls_self_signed = true\n",
            "https_listen",
            "must differ from listen",
        );
        // `false` asks for nothing.
        let s = load("tls_self_signed = false\n", d).unwrap();
        assert_eq!(s.https, None);
    }

    #[cfg(feature = "tls")]
    #[test]
    fn certificate_files_are_read_and_must_be_pem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(d.join("c.pem"), made.cert.pem()).unwrap();
        std::fs::write(d.join("k.pem"), made.signing_key.serialize_pem()).unwrap();
        std::fs::write(d.join("text.pem"), "not a certificate\n").unwrap();
        let files = |c: &str, k: &str| {
            load(
                &format!("https_listen = \"127.0.0.1:0\"\ntls_cert = \"{c}\"\ntls_key = \"{k}\"\n"),
                d,
            )
        };
        let s = files("c.pem", "k.pem").unwrap();
        let h = s.https.unwrap();
        assert_eq!(
            h.identity,
            TlsIdentity::Files {
                cert: d.join("c.pem"),
                key: d.join("k.pem")
            }
        );
        let e = files("missing.pem", "k.pem").unwrap_err();
        assert!(e.field.ends_with("[server] tls_cert"), "{e}");
        assert!(e.value.contains("missing.pem"), "{e}");
        assert!(e.rule.contains("cannot be read"), "{e}");
        let e = files("text.pem", "k.pem").unwrap_err();
        assert!(e.rule.contains("no PEM certificate"), "{e}");
        let e = files("c.pem", "text.pem").unwrap_err();
        assert!(e.field.ends_with("[server] tls_key"), "{e}");
        assert!(e.rule.contains("no PEM private key"), "{e}");
        // A certificate is not a key.
        let e = files("c.pem", "c.pem").unwrap_err();
        assert!(e.rule.contains("no PEM private key"), "{e}");
        let s = load(
            "https_listen = \"0.0.0.0:8443\"\ntls_self_signed = true\n",
            d,
        )
        .unwrap();
        assert_eq!(s.https.unwrap().identity, TlsIdentity::SelfSigned);
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_tls_there_is_no_https_listener() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(
            "https_listen = \"127.0.0.1:8443\"\ntls_self_signed = true\n",
            dir.path(),
        )
        .unwrap_err();
        assert!(e.rule.contains("without the `tls` feature"), "{e}");
    }
}
