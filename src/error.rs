//! The one shape of "this input is not allowed": which field, which value, which rule.
//!
//! Every type that carries a protocol rule (an [`crate::rtp::RtpPort`], a destination, later a
//! URI or an XML object) refuses bad input at construction with an [`Invalid`], so the message a
//! user sees always names all three, e.g. `port 20481: RTP ports must be even, 20480..=32768`.

use std::fmt;

/// Input refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid {
    /// What was being set (`port`, `destination`, `duration` ...).
    pub field: String,
    /// The value as the user gave it.
    pub value: String,
    /// The rule it breaks, in words a user can act on.
    pub rule: String,
}

impl Invalid {
    /// Build the error from its three parts.
    pub fn new(
        field: impl Into<String>,
        value: impl fmt::Display,
        rule: impl Into<String>,
    ) -> Self {
        Invalid {
            field: field.into(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.field, self.value, self.rule)
    }
}
