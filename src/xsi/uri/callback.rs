//! The plain-HTTP address phones call back ([`NotifyBase`]): the host, port and path prefix
//! every `Notify:` URI zonecast hands out starts with, checked once where it is configured.
//!
//! The spec's Notify URI has one protocol, `http`: a phone cannot make its callback over
//! HTTPS. So a base is built from an `http://` URL only, and an `https://` one is refused
//! naming the setting it came from, rather than becoming `Notify:http:host:443:...` (plain
//! HTTP to a TLS port, which no phone callback ever reaches). The host and port are checked by
//! [`Notify::new`]'s rules, so every URI built from a base ([`NotifyBase::notify`]) is one.

use std::fmt;
use std::net::SocketAddr;

use super::app::Notify;
use crate::error::Invalid;

/// Where phones POST their callbacks: `http://HOST:PORT/PREFIX`. Build the Notify URIs from it
/// with [`NotifyBase::notify`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotifyBase {
    host: String,
    port: u16,
    /// The URL's path without its slashes (`""` for none), put before every callback's path.
    prefix: String,
}

/// Why only an `http://` URL makes a base.
const PLAIN_HTTP: &str = "phones make Notify callbacks over plain HTTP only (the spec's \
     Notify:http:HOST:PORT:PATH has no https): give an http:// URL the phones reach, e.g. \
     http://10.0.0.5:8460";

impl NotifyBase {
    /// The base of `url` as set by `field` (a config key): `http://HOST[:PORT][/PREFIX]`, port
    /// 80 when absent. Refused, naming `field` and `url`: another scheme (`https://` above
    /// all), user info, a query or fragment, or a host, port or path a Notify URI cannot carry.
    pub fn from_url(field: &str, url: &str) -> Result<NotifyBase, Invalid> {
        let refuse = |rule: String| Invalid::new(field, url, rule);
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| refuse(format!("must be an http:// URL: {PLAIN_HTTP}")))?;
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(refuse(PLAIN_HTTP.to_owned()));
        }
        if rest.contains(['?', '#', '@']) {
            return Err(refuse(
                "must be http://HOST[:PORT][/PATH], without user, query or fragment".to_owned(),
            ));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok().filter(|&p| p > 0)),
            None => (authority, Some(80)),
        };
        let port = port.ok_or_else(|| refuse("its port must be 1..=65535".to_owned()))?;
        let base = NotifyBase {
            host: host.to_owned(),
            port,
            prefix: path.trim_matches('/').to_owned(),
        };
        // The rules of the URIs it will build, said of the URL.
        base.notify("callback").map_err(|e| {
            refuse(format!(
                "cannot be a phone's Notify callback address: {} {:?} {}",
                e.field, e.value, e.rule
            ))
        })?;
        Ok(base)
    }

    /// The base of a listener phones reach at `addr` (an IPv4 address: a Notify host cannot be
    /// an IPv6 one).
    pub fn from_socket(addr: SocketAddr) -> Result<NotifyBase, Invalid> {
        match addr {
            SocketAddr::V4(a) => Ok(NotifyBase {
                host: a.ip().to_string(),
                port: a.port(),
                prefix: String::new(),
            })
            .and_then(|b| b.notify("callback").map(|_| b)),
            SocketAddr::V6(_) => Err(Invalid::new(
                "callback listener address",
                addr,
                "must be IPv4: a Notify URI's host is a host name or IPv4 address",
            )),
        }
    }

    /// The host phones call.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The port phones call.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `Notify:http:HOST:PORT:PREFIX/PATH` (no credentials, no data), checked.
    pub fn notify(&self, path: &str) -> Result<Notify, Invalid> {
        let path = path.trim_start_matches('/');
        let full = if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.prefix)
        };
        Notify::new(&self.host, self.port, &full, None, None)
    }
}

impl fmt::Display for NotifyBase {
    /// `http://HOST:PORT/PREFIX`, the URL the phones' callbacks go to.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}/{}", self.host, self.port, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::uri::Uri;

    const KEY: &str = "[server] public_url";

    #[test]
    fn http_urls_give_the_host_port_and_prefix() {
        let b = NotifyBase::from_url(KEY, "http://10.0.0.5:8460").unwrap();
        assert_eq!(
            Uri::Notify(b.notify("zonecast/notify/pg-1").unwrap()).to_string(),
            "Notify:http:10.0.0.5:8460:zonecast/notify/pg-1::"
        );
        let b = NotifyBase::from_url(KEY, "http://paging.example/x/").unwrap();
        assert_eq!((b.host(), b.port()), ("paging.example", 80));
        assert_eq!(
            b.notify("zonecast/notify/k~desk").unwrap().path(),
            "x/zonecast/notify/k~desk"
        );
        assert_eq!(b.to_string(), "http://paging.example:80/x");
    }

    #[test]
    fn https_is_refused_naming_the_key_not_turned_into_http_on_443() {
        for url in [
            "https://paging.example",
            "https://10.0.0.5:8460",
            "HTTPS://h",
        ] {
            let e = NotifyBase::from_url(KEY, url).unwrap_err();
            assert_eq!(e.field, KEY);
            assert_eq!(e.value, url);
            assert!(e.rule.contains("plain HTTP"), "{e}");
        }
    }

    #[test]
    fn what_a_notify_uri_cannot_carry_is_refused() {
        for url in [
            "ftp://h",
            "10.0.0.5:8460",
            "http://h:0",
            "http://h:65536",
            "http://h:x",
            "http://[::1]:8460",
            "http://user:pw@h",
            "http://h/a;b",
            "http://h/a:b",
            "http://h/?q=1",
            "http://",
        ] {
            let e = NotifyBase::from_url(KEY, url).unwrap_err();
            assert_eq!((e.field.as_str(), e.value.as_str()), (KEY, url), "{e}");
        }
        assert!(NotifyBase::from_socket("[::1]:80".parse().unwrap()).is_err());
        let b = NotifyBase::from_socket("127.0.0.1:9".parse().unwrap()).unwrap();
        assert_eq!(b.to_string(), "http://127.0.0.1:9/");
    }
}
