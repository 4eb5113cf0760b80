//! What one HTTP exchange with a phone gave back, before anyone judged it: the reply, or why none
//! came. The client produces these; [`super::PushOutcome::from_exchange`] judges them.

/// Largest reply body read from a phone; more is a bad response, not a memory problem.
pub const MAX_REPLY_BYTES: usize = 256 * 1024;

/// What came back over HTTP, before anyone looked at the XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// The body, at most [`MAX_REPLY_BYTES`].
    pub body: Vec<u8>,
}

/// Why no HTTP answer came. Messages never contain credentials or the request URL's userinfo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Could not connect, or the connection broke.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// No connection could be made at all: nothing reached the phone.
    #[error("cannot connect: {0}")]
    NotConnected(String),
    /// No complete answer in time.
    #[error("timed out")]
    Timeout,
    /// The answer was larger than [`MAX_REPLY_BYTES`].
    #[error("reply larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    /// HTTPS was asked for but this build has no TLS (or the client could not be built).
    #[error("{0}")]
    Unsupported(String),
    /// Not sent: the object breaks a rule every phone enforces on what it receives (its
    /// form-encoded body is over the 40 KB POST limit), named with the object and the rule.
    #[error("not sent: {0}")]
    Refused(crate::error::Invalid),
}

impl TransportError {
    /// Whether trying again may help.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable(_)
                | TransportError::NotConnected(_)
                | TransportError::Timeout
        )
    }
}
