//! The phone's cookies: kept per host (not per port), at most [`COOKIES_PER_HOST`] of
//! [`COOKIE_MAX_BYTES`] for [`COOKIE_HOSTS`] hosts, forgotten after [`COOKIE_IDLE_MS`] unused.
//! Reading `Set-Cookie` and writing `Cookie`; which host a URL is, is `url`'s.

use super::limits::{COOKIE_HOSTS, COOKIE_IDLE_MS, COOKIE_MAX_BYTES, COOKIES_PER_HOST};

#[derive(Debug, Clone)]
struct HostCookies {
    host: String,
    /// Oldest first.
    cookies: Vec<(String, String)>,
    last_used_ms: u64,
}

/// What [`CookieJar::store`] did with one `Set-Cookie`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieStored {
    /// Kept (new).
    Stored,
    /// Kept, replacing a cookie of the same name.
    Replaced,
    /// Kept, and the host's oldest cookie (named) was dropped to make room.
    Evicted(String),
    /// Over [`COOKIE_MAX_BYTES`]: dropped.
    TooLarge,
    /// `Max-Age=0` (or negative): the cookie of that name was removed.
    Deleted,
    /// Not `name=value`: ignored.
    Invalid,
}

/// A phone's cookies, per host (not per port, as browsers do).
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    hosts: Vec<HostCookies>,
}

impl CookieJar {
    fn expire(&mut self, now_ms: u64) {
        self.hosts
            .retain(|h| now_ms.saturating_sub(h.last_used_ms) < COOKIE_IDLE_MS);
    }

    /// Keep one `Set-Cookie` header from `host`.
    pub fn store(&mut self, now_ms: u64, host: &str, set_cookie: &str) -> CookieStored {
        self.expire(now_ms);
        let mut parts = set_cookie.split(';');
        let pair = parts.next().unwrap_or("").trim();
        let Some((name, value)) = pair.split_once('=') else {
            return CookieStored::Invalid;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return CookieStored::Invalid;
        }
        let delete = parts.any(|a| {
            a.trim().split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("max-age")
                    && !v.trim().parse::<i64>().is_ok_and(|n| n > 0)
            })
        });
        let host = host.to_ascii_lowercase();
        let pos = self.hosts.iter().position(|h| h.host == host);
        if delete {
            if let Some(i) = pos {
                self.hosts[i].cookies.retain(|(n, _)| n != name);
            }
            return CookieStored::Deleted;
        }
        if name.len() + 1 + value.len() > COOKIE_MAX_BYTES {
            return CookieStored::TooLarge;
        }
        let i = match pos {
            Some(i) => i,
            None => {
                if self.hosts.len() == COOKIE_HOSTS
                    && let Some(lru) = self
                        .hosts
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, h)| h.last_used_ms)
                        .map(|(i, _)| i)
                {
                    self.hosts.remove(lru);
                }
                self.hosts.push(HostCookies {
                    host,
                    cookies: Vec::new(),
                    last_used_ms: now_ms,
                });
                self.hosts.len() - 1
            }
        };
        let h = &mut self.hosts[i];
        h.last_used_ms = now_ms;
        let kept = (name.to_owned(), value.to_owned());
        if let Some(j) = h.cookies.iter().position(|(n, _)| n == name) {
            h.cookies.remove(j);
            h.cookies.push(kept);
            return CookieStored::Replaced;
        }
        let evicted = (h.cookies.len() >= COOKIES_PER_HOST).then(|| h.cookies.remove(0).0);
        h.cookies.push(kept);
        evicted.map_or(CookieStored::Stored, CookieStored::Evicted)
    }

    /// The `Cookie` header for a request to `host`, if it has cookies.
    pub fn header(&mut self, now_ms: u64, host: &str) -> Option<String> {
        self.expire(now_ms);
        let host = host.to_ascii_lowercase();
        let h = self.hosts.iter_mut().find(|h| h.host == host)?;
        h.last_used_ms = now_ms;
        (!h.cookies.is_empty()).then(|| {
            h.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The cookies kept for `host`, oldest first.
    pub fn cookies(&self, host: &str) -> Vec<(String, String)> {
        let host = host.to_ascii_lowercase();
        self.hosts
            .iter()
            .find(|h| h.host == host)
            .map(|h| h.cookies.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_per_host_limits() {
        let mut j = CookieJar::default();
        for i in 1..=4 {
            assert_eq!(
                j.store(0, "h", &format!("c{i}=v{i}; Path=/")),
                CookieStored::Stored
            );
        }
        assert_eq!(j.store(1, "h", "c5=v5"), CookieStored::Evicted("c1".into()));
        let big = format!("big={}", "x".repeat(300));
        assert_eq!(j.store(2, "h", &big), CookieStored::TooLarge);
        assert_eq!(j.store(2, "h", "c3=new"), CookieStored::Replaced);
        assert_eq!(
            j.header(3, "H").as_deref(),
            Some("c2=v2; c4=v4; c5=v5; c3=new")
        );
        assert_eq!(j.header(3, "other"), None);
        assert_eq!(j.store(4, "h", "c2=; Max-Age=0"), CookieStored::Deleted);
        assert_eq!(j.cookies("h").len(), 3);
        // Idle half an hour: forgotten.
        assert_eq!(j.header(4 + COOKIE_IDLE_MS, "h"), None);
        // Exactly 255 bytes is kept.
        let edge = format!("e={}", "y".repeat(253));
        assert_eq!(j.store(0, "k", &edge), CookieStored::Stored);
    }
}
