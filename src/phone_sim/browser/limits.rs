//! The browser's limits, as a phone has them: cookies per host and their size, hosts kept, idle
//! expiry, the cache and the way back, redirects followed, the largest object read, the default
//! language.

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
