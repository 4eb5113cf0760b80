//! What a push came to, per phone: the one type every report, journal entry and exit code is
//! derived from. Never a string to grep.

use super::exchange::{HttpReply, TransportError};
use crate::xsi::response::{ExecuteReply, PhoneError, ResponseItem, parse_execute_reply};

/// The outcome of one push to one phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushOutcome {
    /// The phone executed every item (items as it reported them; empty for firmware that
    /// sends no CiscoIPPhoneResponse).
    Ok {
        /// One per executed URI, in the phone's order (match them by URL).
        #[serde(skip)]
        items: Vec<ResponseItem>,
    },
    /// HTTP 401, or `CiscoIPPhoneError Number="4"`.
    AuthFailed,
    /// No connection, or it broke.
    Unreachable {
        /// What the network said.
        reason: String,
        /// Whether a connection was made (the request may then have been executed before it
        /// broke); false when nothing reached the phone.
        #[serde(skip)]
        connected: bool,
    },
    /// No answer in time.
    Timeout,
    /// The phone answered and refused: an item with a non-zero status, or CiscoIPPhoneError 1-3.
    Rejected {
        /// Item status (1 parse error, 6 internal error) or CiscoIPPhoneError number.
        status: u32,
        /// The item's Data, or the error's meaning.
        data: String,
        /// The URI that failed (empty for a whole-object error).
        url: String,
    },
    /// Not sent: the phone (its model, or this build) cannot do it.
    Unsupported {
        /// Why.
        reason: String,
    },
    /// An answer that is not what a phone sends.
    BadResponse {
        /// What was wrong with it.
        reason: String,
    },
}

impl PushOutcome {
    /// Whether the phone did what it was asked.
    pub fn is_ok(&self) -> bool {
        matches!(self, PushOutcome::Ok { .. })
    }

    /// Whether a retry could help (the client already retried these before giving up).
    pub fn is_transient(&self) -> bool {
        matches!(self, PushOutcome::Unreachable { .. } | PushOutcome::Timeout)
    }

    /// Judge an HTTP exchange. `expect_reply` is false for firmware that answers a push with no
    /// CiscoIPPhoneResponse at all (Multiplatform phones).
    pub fn from_exchange(reply: Result<HttpReply, TransportError>, expect_reply: bool) -> Self {
        let reply = match reply {
            Ok(r) => r,
            Err(TransportError::Unreachable(reason)) => {
                return PushOutcome::Unreachable {
                    reason,
                    connected: true,
                };
            }
            Err(TransportError::NotConnected(reason)) => {
                return PushOutcome::Unreachable {
                    reason: format!("cannot connect: {reason}"),
                    connected: false,
                };
            }
            Err(TransportError::Timeout) => return PushOutcome::Timeout,
            Err(e @ TransportError::TooLarge) => {
                return PushOutcome::BadResponse {
                    reason: e.to_string(),
                };
            }
            Err(TransportError::Unsupported(reason)) => return PushOutcome::Unsupported { reason },
            Err(e @ TransportError::Refused(_)) => {
                return PushOutcome::Unsupported {
                    reason: e.to_string(),
                };
            }
        };
        if reply.status == 401 {
            return PushOutcome::AuthFailed;
        }
        if !(200..300).contains(&reply.status) {
            return PushOutcome::BadResponse {
                reason: format!("HTTP status {}", reply.status),
            };
        }
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return if expect_reply {
                PushOutcome::BadResponse {
                    reason: "empty reply where a CiscoIPPhoneResponse was expected".into(),
                }
            } else {
                PushOutcome::Ok { items: Vec::new() }
            };
        }
        match parse_execute_reply(&reply.body) {
            Ok(ExecuteReply::Error(PhoneError::Authentication)) => PushOutcome::AuthFailed,
            Ok(ExecuteReply::Error(e)) => PushOutcome::Rejected {
                status: e.number(),
                data: format!("CiscoIPPhoneError {}", describe(e)),
                url: String::new(),
            },
            // Every push is answered with at least one ResponseItem (a display object gets one
            // with an empty URL); none at all is a broken or truncated reply.
            Ok(ExecuteReply::Response(items)) if items.is_empty() => PushOutcome::BadResponse {
                reason: "CiscoIPPhoneResponse without any ResponseItem".into(),
            },
            Ok(ExecuteReply::Response(items)) => match items.iter().find(|i| !i.is_success()) {
                Some(bad) => PushOutcome::Rejected {
                    status: bad.status,
                    data: bad.data.clone(),
                    url: bad.url.clone(),
                },
                None => PushOutcome::Ok { items },
            },
            Err(e) => PushOutcome::BadResponse {
                reason: e.to_string(),
            },
        }
    }
}

fn describe(e: PhoneError) -> String {
    match e {
        PhoneError::Parse => "1: the phone could not parse the CiscoIPPhoneExecute object".into(),
        PhoneError::Framing => "2: the phone could not frame its CiscoIPPhoneResponse".into(),
        PhoneError::InternalFile => "3: internal file error on the phone".into(),
        PhoneError::Authentication => "4: authentication error".into(),
        PhoneError::Other(n) => format!("{n}: undocumented error number"),
    }
}
