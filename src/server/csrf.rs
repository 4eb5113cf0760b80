//! The browser-facing rules of a session cookie: its name and attributes (`HttpOnly`,
//! `SameSite=Strict`, `Path=/`, `Secure` under HTTPS), reading it back from a `Cookie` header,
//! and refusing what a browser sends on another site's behalf: a state-changing request (or a
//! WebSocket upgrade) whose `Origin` is not this host or whose `Sec-Fetch-Site` is not
//! `same-origin`/`none`, and a cookie-authenticated change without the session's
//! `X-CSRF-Token`. Pure functions of header values.

/// The session cookie's name.
pub const COOKIE: &str = "zonecast_session";

/// The header a cookie-authenticated change must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Longest `Cookie` header read, and longest `Origin`.
const MAX_HEADER: usize = 8 * 1024;

/// Does this method change state (and so need the CSRF token and a same-origin request)?
pub fn is_mutation(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The session cookie's value in a `Cookie` header, if it holds one.
pub fn session_cookie(header: &str) -> Option<&str> {
    if header.len() > MAX_HEADER {
        return None;
    }
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` of a new session lasting `max_age_s`.
pub fn set_cookie(value: &str, max_age_s: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}")
}

/// The `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

/// Why a request looks like it came from another site, or `None`. `host` is the request's
/// `Host`; `origin` and `fetch_site` its `Origin` and `Sec-Fetch-Site` when present (old
/// browsers and non-browser clients send neither).
pub fn cross_site(
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host: Option<&str>,
) -> Option<&'static str> {
    if let Some(site) = fetch_site
        && !matches!(site.trim(), "same-origin" | "none")
    {
        return Some(
            "refused: a request from another site (Sec-Fetch-Site) may not change anything here",
        );
    }
    let origin = origin?.trim();
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .filter(|a| origin.len() <= MAX_HEADER && !a.contains('/'));
    match (authority, host) {
        (Some(a), Some(h)) if a.eq_ignore_ascii_case(h.trim()) => None,
        _ => Some("refused: a request from another origin (Origin) may not change anything here"),
    }
}

/// Is `given` (the `X-CSRF-Token` header) the session's token? Compared without leaking where
/// the first difference is.
pub fn csrf_ok(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|g| {
        let (a, b) = (g.trim().as_bytes(), expected.as_bytes());
        !b.is_empty()
            && a.len() == b.len()
            && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_read_back_among_others() {
        let v = "ab".repeat(32);
        let h = format!("theme=dark; {COOKIE}={v}; other=1");
        assert_eq!(session_cookie(&h), Some(v.as_str()));
        assert_eq!(session_cookie("theme=dark"), None);
        assert_eq!(session_cookie(&format!("{COOKIE}=")), None);
        assert_eq!(session_cookie(&format!("{COOKIE}=<script>")), None);
        assert_eq!(session_cookie(&format!("x{COOKIE}={v}")), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_under_https() {
        let c = set_cookie("abc", 3600, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
        assert!(!c.contains("Secure"));
        assert!(set_cookie("abc", 3600, true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let host = Some("10.0.0.5:8460");
        assert_eq!(cross_site(None, None, host), None);
        assert_eq!(
            cross_site(Some("http://10.0.0.5:8460"), Some("same-origin"), host),
            None
        );
        assert_eq!(cross_site(Some("https://10.0.0.5:8460"), None, host), None);
        assert_eq!(cross_site(None, Some("none"), host), None);
        assert!(cross_site(Some("http://evil.example"), None, host).is_some());
        assert!(cross_site(Some("null"), None, host).is_some());
        assert!(cross_site(None, Some("cross-site"), host).is_some());
        assert!(cross_site(None, Some("same-site"), host).is_some());
        assert!(cross_site(Some("http://10.0.0.5:8460"), None, None).is_some());
        assert!(cross_site(Some("http://10.0.0.5:8460/x"), None, host).is_some());
    }

    #[test]
    fn the_csrf_token_must_match_exactly() {
        assert!(csrf_ok(Some("abc123"), "abc123"));
        assert!(!csrf_ok(Some("abc124"), "abc123"));
        assert!(!csrf_ok(Some("abc12"), "abc123"));
        assert!(!csrf_ok(None, "abc123"));
        assert!(!csrf_ok(Some(""), ""));
        assert!(is_mutation("POST") && is_mutation("DELETE") && is_mutation("PUT"));
        assert!(!is_mutation("GET"));
    }
}
