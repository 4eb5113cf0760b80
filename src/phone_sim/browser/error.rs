//! Why a browsing step failed ([`BrowseError`]) and the HTTP status a control endpoint answers it
//! with.

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
