//! What a browser sends the console's guard, as `server::csrf` and `server::users` read it: a
//! `Cookie` header, `Origin`, `Sec-Fetch-Site`, `Host`, the CSRF header and the request path
//! (the input split at NUL bytes). Nothing panics; a session cookie read back is a bounded hex
//! token found in the header; a request from another site is refused whatever else it says; the
//! policy table opens only signing in to all, and only one's own session to every role; a user
//! name it accepts is plain ASCII.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::server::csrf::{cross_site, csrf_ok, is_mutation, session_cookie};
use zonecast::server::users::{Need, check_name, need};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or("");
    let (cookie, origin, site, host, token, path) =
        (next(), next(), next(), next(), next(), next());
    if let Some(v) = session_cookie(cookie) {
        assert!(!v.is_empty() && v.len() <= 128, "{v:?}");
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit()), "{v:?}");
        assert!(cookie.contains(v));
    }
    let verdict = cross_site(Some(origin), Some(site), Some(host));
    if site.trim() == "cross-site" {
        assert!(verdict.is_some());
    }
    let _ = cross_site(None, None, Some(host));
    if csrf_ok(Some(token), path) {
        assert_eq!(token.trim(), path);
    }
    for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", site] {
        let n = need(method, path);
        // Only signing in is open to all, and only one's own session is a change any role
        // may make.
        if n == Need::Public {
            assert_eq!((method, path), ("POST", "/api/session"));
        }
        if is_mutation(method) && n == Need::SignedIn {
            assert!(path.starts_with("/api/session"), "{method} {path}");
        }
    }
    if check_name(path).is_ok() {
        assert!(path.is_ascii() && !path.contains('/'));
    }
});
