//! The mark of a request that came over the HTTPS listener: an axum request extension the
//! listener inserts, so what answers it (the session cookie's `Secure`) can tell without
//! knowing about TLS.

/// Present in a request's extensions when it arrived over HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Https;
