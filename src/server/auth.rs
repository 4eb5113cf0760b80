//! One-time credentials and the Authentication URL. CONTRACT STUB: implemented by a helper.

use std::sync::Arc;
use std::time::Duration;

/// What the Authentication URL answers (the exact body, no trailing newline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `AUTHORIZED`
    Authorized,
    /// `UN-AUTHORIZED`
    Unauthorized,
    /// `ERROR`
    Error,
}

/// The shell: the minter behind a mutex, the upstream URL, and a client to ask it.
#[derive(Clone)]
pub struct AuthService {
    _p: Arc<()>,
}

impl AuthService {
    /// `ttl`: how long a minted credential lives; `upstream`: where other credentials are checked.
    pub fn new(_ttl: Duration, _upstream: Option<String>) -> AuthService {
        todo!()
    }
    /// The routes: `GET|POST /authenticate` (UserID, Password, devicename as query or form).
    pub fn router(&self) -> axum::Router {
        todo!()
    }
    /// The push client's source of minted credentials.
    pub fn credentials(&self) -> Arc<dyn crate::push::Credentials> {
        todo!()
    }
    /// Minted so far (for metrics).
    pub fn minted(&self) -> u64 {
        todo!()
    }
}
