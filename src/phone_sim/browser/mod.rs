//! The phone's XML services browser, pure: what a phone sends when it fetches a service URL,
//! what it keeps (cookies, a small cache, the way back), how it reads the object it gets, and
//! what a key press on that object does. No I/O and no clock: the time comes in as arguments.
//! [`super::http`] carries out the requests this module prepares.
//!
//! The phone-side rules are the spec's: the `x-CiscoIPPhone*` capability headers, `#DEVICENAME#`
//! in service URLs, `Set-Cookie` (4 cookies per host, 255 bytes each, 8 hosts, ~30 minutes
//! idle), `Expires` (an object already expired is not cached) and `Refresh: N; url=U`.
//!
//! Each concept has its own file, and every public item is re-exported here
//! (`phone_sim::browser::X`):
//! - `limits`: the phone's limits (cookies, cache, way back, redirects, object size).
//! - `error`: [`BrowseError`], why a browsing step failed.
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
mod error;
mod limits;
mod request;
mod state;
mod url;
mod view;

pub use actions::{Action, select_action, softkey_action, submit_action, uri_action};
pub use cookies::{CookieJar, CookieStored};
pub use error::BrowseError;
pub use limits::{
    CACHE_MAX, COOKIE_HOSTS, COOKIE_IDLE_MS, COOKIE_MAX_BYTES, COOKIES_PER_HOST, DEFAULT_LANGUAGE,
    HISTORY_MAX, MAX_OBJECT_BYTES, MAX_REDIRECTS,
};
pub use request::{Request, RequestLog, accept_charset, request_headers, user_agent};
pub use state::{BackStep, Browser, HistoryStep};
pub use url::{
    expand_device_name, host_of, parse_expires, parse_refresh, percent_encode, resolve_url,
};
pub use view::{
    Answer, InputField, Refresh, ServiceItem, ServiceSoftKey, ServiceView, body_text, charset_of,
    parse_view, status_error,
};
