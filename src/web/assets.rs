//! The console's two static files, compiled into the binary, and the headers every console
//! response carries.
//!
//! The Content-Security-Policy allows scripts, styles, fetches, WebSockets and media from the
//! console's own origin only, and no inline script or style at all: text that reached a page
//! unescaped still could not run. The console escapes anyway (maud in the HTML, `textContent`
//! in the script); the policy is the second wall, not the first.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The console's script: hand-written, no framework, no build step.
pub const SCRIPT: &str = include_str!("static/console.js");

/// The console's style sheet.
pub const STYLE: &str = include_str!("static/console.css");

/// Same origin only; nothing inline; not framed (no clickjacking of the Stop button).
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A console response: `body` as `content_type`, with the policy and its companions.
fn with_headers(content_type: &'static str, body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The files change with the binary; a browser asks again rather than run a stale script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// An HTML screen.
pub fn html(body: String) -> Response {
    with_headers("text/html; charset=utf-8", body)
}

/// `GET /static/console.js`.
pub fn script() -> Response {
    with_headers("text/javascript; charset=utf-8", SCRIPT.to_owned())
}

/// `GET /static/console.css`.
pub fn style() -> Response {
    with_headers("text/css; charset=utf-8", STYLE.to_owned())
}
