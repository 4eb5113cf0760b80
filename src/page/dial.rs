//! SIP endpoints (`[[sip_endpoint]]`) as page targets, as the page core sees them: a target
//! started by a call and stopped by a hang-up, whose dialog is plain data ([`SipDialog`]) kept
//! in the journal before the INVITE goes out. The calls themselves are made by a [`SipDialer`]
//! handed down from above (the SIP user agent, `crate::sip`): the page core does not speak SIP.
//!
//! How a page uses it: the pager asks [`SipDialer::dialog`] for each endpoint of the zone (the
//! ids a call will use), plans it ([`super::plan::sip_plan`]), the journal gets the dialog with
//! the other phones' stops; the session's start is [`SipDialer::call`] (which reports every
//! change of the dialog through `on_dialog` before acting on it, and cancels an unanswered
//! INVITE once `ending` turns true); once answered, the page's G.711 stream is copied to the
//! media address of the answer; the session's stop is [`SipDialer::hang_up`] (BYE); recovery
//! hangs up what a killed process left (BYE, or CANCEL for a dialog never answered).
//!
//! While an answered call lasts, what the endpoint does by itself comes back through
//! `on_event` ([`CallEvent`]): its media moved or was put on hold (a re-INVITE or UPDATE: the
//! shell moves or pauses that endpoint's stream), or the call ended by its doing (its BYE, a
//! session refresh that failed): the session hears it
//! ([`Session::handle_target_ended`](super::session::Session::handle_target_ended)), stops
//! that endpoint alone and marks it stopped in the journal, so nothing sends it a BYE.

use std::future::Future;
use std::net::SocketAddrV4;
use std::pin::Pin;

use tokio::sync::watch;

pub use super::journal::SipDialog;
use crate::g711::Law;

/// The model a SIP endpoint is reported as.
pub const SIP_MODEL: &str = "SIP endpoint";

/// What a plan carries for a SIP endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipTarget {
    /// The dialog its call will use (journaled before the INVITE).
    pub dialog: SipDialog,
    /// Where our media is said to be in the offer (we only send).
    pub offer: SocketAddrV4,
}

/// One call to make.
#[derive(Debug, Clone)]
pub struct SipCall {
    /// The endpoint's name.
    pub endpoint: String,
    /// The dialog (ids already journaled).
    pub dialog: SipDialog,
    /// The page's G.711 law (offered first; the other one second).
    pub law: Law,
    /// Our media address for the offer.
    pub offer: SocketAddrV4,
}

/// How a call ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEnd {
    /// 200 OK, ACKed: the stream goes to `media`; `dialog` is confirmed.
    Answered {
        /// The media address of the answer.
        media: SocketAddrV4,
        /// The G.711 law it answered with (the stream is sent in it).
        law: Law,
        /// The dialog with its remote tag, target and route set.
        dialog: Box<SipDialog>,
    },
    /// A final status other than 2xx (486 busy, 403, 404, 488 ...).
    Refused {
        /// The status.
        status: u16,
        /// Its words ("busy", "refused", ...).
        reason: String,
    },
    /// No final answer within the endpoint's answer time: cancelled.
    NoAnswer,
    /// Nothing came back at all, or the endpoint cannot be reached.
    Unreachable(String),
    /// The page ended before an answer: cancelled.
    Cancelled,
}

impl CallEnd {
    /// Its words in the report ("answered", "busy 486", "no answer", "refused 403" ...).
    pub fn words(&self) -> String {
        match self {
            CallEnd::Answered { .. } => "answered".into(),
            CallEnd::Refused { status, reason } => format!("{reason} {status}"),
            CallEnd::NoAnswer => "no answer".into(),
            CallEnd::Unreachable(why) => format!("unreachable: {why}"),
            CallEnd::Cancelled => "cancelled (the page ended first)".into(),
        }
    }
}

/// What an answered call's endpoint did by itself, while the call lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// Its media changed (a re-INVITE or UPDATE): the stream goes to `media` in `law`, or
    /// nowhere while `media` is `None` (on hold: it offered `sendonly` or `inactive`).
    Media {
        /// Where the stream goes now (`None`: nowhere, the call is kept).
        media: Option<SocketAddrV4>,
        /// The G.711 law it goes in.
        law: Law,
    },
    /// The call is over by the endpoint's doing: its BYE (answered), or a session refresh that
    /// failed (our BYE sent). Nothing is left to hang up.
    Ended {
        /// Why, in the report's words ("hung up", "session refresh failed: 408" ...).
        why: String,
    },
}

/// Told of what an answered call's endpoint does by itself ([`CallEvent`]).
pub type OnCallEvent = Box<dyn Fn(CallEvent) + Send + Sync>;

/// A boxed future the dialer returns.
pub type DialFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Told of every change of a call's dialog, before the request that depends on it is sent
/// (the journal's write).
pub type OnDialog = Box<dyn Fn(&SipDialog) + Send + Sync>;

/// Makes the calls of SIP endpoints (the SIP user agent implements it).
pub trait SipDialer: Send + Sync {
    /// A fresh dialog for a call to endpoint `name` (Call-ID, tag, branch chosen now), or why
    /// it cannot be called (unknown, unresolvable).
    fn dialog(&self, name: &str) -> Result<SipDialog, String>;
    /// Call: INVITE (answering a digest challenge when it has credentials), up to a final
    /// answer; ACK it. `ending` turning true before the answer cancels the call. Once
    /// answered, what the endpoint does by itself goes to `on_event` until the hang-up.
    fn call(
        &self,
        call: SipCall,
        on_dialog: OnDialog,
        on_event: OnCallEvent,
        ending: watch::Receiver<bool>,
    ) -> DialFuture<CallEnd>;
    /// End a dialog: BYE when answered (`remote_tag` set), else CANCEL of its INVITE.
    fn hang_up(&self, dialog: SipDialog) -> DialFuture<Result<(), String>>;
}
