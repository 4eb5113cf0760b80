//! The phone's XML services browser, pure: what a phone sends when it fetches a service URL,
//! what it keeps (cookies, a small cache, the way back), how it reads the object it gets, and
//! what a key press on that object does. No I/O and no clock: the time comes in as arguments.
//! [`super::http`] carries out the requests this module prepares.
//!
//! The phone-side rules are the spec's: the `x-CiscoIPPhone*` capability headers, `#DEVICENAME#`
//! in service URLs, `Set-Cookie` (4 cookies per host, 255 bytes each, 8 hosts, ~30 minutes
//! idle), `Expires` (an object already expired is not cached) and `Refresh: N; url=U`.
//!
//! This file holds the limits and [`BrowseError`]; each concept has its own file, and every
//! public item is re-exported here (`phone_sim::browser::X`):
//! - `cookies`: the cookie jar ([`CookieJar`]): per host, its limits and idle expiry.
//! - `url`: URLs and header values: `#DEVICENAME#`, resolving relative URLs, the cookie host,
//!   `Refresh` and `Expires`, percent-encoding.
//! - `request`: what the phone sends: [`Request`], its headers ([`request_headers`]) and the
//!   [`RequestLog`] tests read.
//! - `view`: reading an answer into the [`ServiceView`] the phone shows ([`parse_view`]), and
//!   the error lines it shows instead.
//! - `actions`: what a key press on a view does ([`Action`]: select, soft key, submit).
//! - `state`: one phone's [`Browser`]: the screen now, the way back and the cache.

mod actions;
mod cookies;
mod request;
mod state;
mod url;
mod view;

pub use actions::{Action, select_action, softkey_action, submit_action, uri_action};
pub use cookies::{CookieJar, CookieStored};
pub use request::{Request, RequestLog, accept_charset, request_headers, user_agent};
pub use state::{BackStep, Browser, HistoryStep};
pub use url::{
    expand_device_name, host_of, parse_expires, parse_refresh, percent_encode, resolve_url,
};
pub use view::{
    Answer, InputField, Refresh, ServiceItem, ServiceSoftKey, ServiceView, body_text, charset_of,
    parse_view, status_error,
};

/// Cookies a phone keeps per host.
pub const COOKIES_PER_HOST: usize = 4;
/// Largest `name=value` of a cookie a phone keeps, bytes.
pub const COOKIE_MAX_BYTES: usize = 255;
/// Hosts (sessions) a phone keeps cookies for.
pub const COOKIE_HOSTS: usize = 8;
/// A host's cookies are forgotten after this long unused.
pub const COOKIE_IDLE_MS: u64 = 30 * 60 * 1000;
/// Objects kept for the way back.
pub const CACHE_MAX: usize = 8;
/// Screens remembered for `SoftKey:Back`.
pub const HISTORY_MAX: usize = 16;
/// Redirects a phone follows before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// Largest object a phone reads, bytes (larger: "Data too large!").
pub const MAX_OBJECT_BYTES: usize = 512 * 1024;
/// The default `Accept-Language`.
pub const DEFAULT_LANGUAGE: &str = "en";

/// Why a browsing step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowseError {
    /// No phone of that name.
    #[error("no phone named {0}")]
    NoPhone(String),
    /// The phone crashed (fault) and does nothing.
    #[error("phone has crashed")]
    Crashed,
    /// No service is on the screen.
    #[error("no service on the screen")]
    NoService,
    /// The step closed the service (an item bound to `SoftKey:Exit` ...): nothing to show.
    #[error("the service closed")]
    Closed,
    /// Not an HTTP(S) URL, or one that cannot be resolved.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The object on screen has no such item (1-based).
    #[error("no item {item}: the {kind} has {count}")]
    NoItem {
        /// Item asked for.
        item: usize,
        /// Items there are.
        count: usize,
        /// The object.
        kind: String,
    },
    /// The object on screen has no such soft key.
    #[error("no soft key {name:?}; the keys are {keys:?}")]
    NoSoftKey {
        /// Label asked for.
        name: String,
        /// Labels there are.
        keys: Vec<String>,
    },
    /// Submit on something that is not an Input object, or with a field it does not have.
    #[error("cannot submit: {0}")]
    NotInput(String),
    /// The request failed before an answer (connection refused, timeout, too many redirects).
    #[error("HTTP request to {url} failed: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

impl BrowseError {
    /// The HTTP status a control endpoint answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            BrowseError::NoPhone(_) => 404,
            BrowseError::Crashed => 503,
            BrowseError::Http { .. } => 502,
            BrowseError::NoService | BrowseError::Closed => 409,
            _ => 400,
        }
    }
}
