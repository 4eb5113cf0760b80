//! Where a call's page is started: the [`Desk`] the user agent is given. The server implements
//! it with its running pages (so a call's page goes through [`crate::page::Pager`] like every
//! other entry point, is kept in the history and ends with the server), and feeds the caller's
//! frames into the talker relay's queue the browser microphone uses. This module only names
//! the hand-off: the SIP side never reaches up into the server.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::watch;

use crate::page::DeliveryReport;
use crate::rtp::packet::PAYLOAD_LEN;

/// A live page a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPage {
    /// The zone the dialled number routes to.
    pub zone: String,
    /// Its priority level (`None`: the default).
    pub priority: Option<String>,
    /// Who called (the From URI, as the history's `requested_by`).
    pub caller: String,
}

/// Where a call's frames go: one 20 ms frame of the caller in µ-law per call.
pub type FrameSink = Box<dyn Fn(&[u8; PAYLOAD_LEN]) + Send + Sync>;

/// A started call page.
pub struct CallLink {
    /// The page's id.
    pub page: String,
    /// Where the caller's 20 ms µ-law frames go (the page's talker queue).
    pub feed: FrameSink,
    /// Ends the page with a reason (every phone gets its stop).
    pub stop: Box<dyn Fn(&str) + Send + Sync>,
    /// The page's live state; closed once the page has ended.
    pub live: watch::Receiver<DeliveryReport>,
}

/// Why a call's page did not start, as the caller's final answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskRefusal {
    /// The zone is held by a higher (or equal, refused) page: 486 Busy Here.
    #[error("busy: {0}")]
    Busy(String),
    /// The server is stopping, or the page could not be planned: 503.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The future [`Desk::start`] returns.
pub type Starting<'a> = Pin<Box<dyn Future<Output = Result<CallLink, DeskRefusal>> + Send + 'a>>;

/// Starts the live page of a call.
pub trait Desk: Send + Sync + 'static {
    /// Start `call`'s page; it waits on its talker's queue ([`CallLink::feed`]).
    fn start(&self, call: CallPage) -> Starting<'_>;
}
