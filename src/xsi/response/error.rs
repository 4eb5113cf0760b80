//! Why a phone's reply could not be read ([`ParseError`]), and the bounds every parser here
//! applies before doing any work ([`MAX_DOCUMENT_BYTES`], [`MAX_DEPTH`]).

/// Largest document any parser here accepts (256 KB). Phones never send more than a few KB; the
/// bound keeps a misbehaving peer from making us allocate without limit.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Deepest element nesting accepted. Real replies nest three levels; the bound keeps a hostile
/// document from building a tree whose drop would overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Why a phone's reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document of {len} bytes is over the {max} byte limit")]
    TooLarge {
        /// Size of the refused input.
        len: usize,
        /// The limit it broke.
        max: usize,
    },
    /// Elements nested deeper than [`MAX_DEPTH`].
    #[error("elements nested deeper than {0} levels")]
    TooDeep(usize),
    /// No element at all (empty body, only text or comments).
    #[error("no XML element found")]
    NoElement,
    /// The XML is broken before its first element could be read.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// A well-formed document of another kind than the parser reads.
    #[error("unexpected root element <{found}>, expected {expected}")]
    UnexpectedRoot {
        /// What the parser reads, e.g. `CiscoIPPhoneResponse or CiscoIPPhoneError`.
        expected: &'static str,
        /// The root element actually found.
        found: String,
    },
    /// A required element or attribute is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A field is present but its value cannot be read.
    #[error("{field} {value:?}: {rule}")]
    BadValue {
        /// The element or attribute.
        field: &'static str,
        /// The value as received.
        value: String,
        /// What it should have been.
        rule: &'static str,
    },
}
