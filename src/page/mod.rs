//! Paging: what happens between "page zone X with this sound" and every phone back to idle.
//!
//! One way in: [`Pager::page`] takes a [`PageOrder`] from any entry point (CLI, API, phone
//! services, bells, the demo, benchmarks) and does recover → prepare → take over → run,
//! returning a [`PageHandle`] (live report, stop, final report). Nothing else starts a page run.
//!
//! Sans-IO core, thin shell:
//! - [`table`]: where a zone's phones come from ([`PhoneTable`]: the config, a fixed roster)
//!   and the site's rules of planning.
//! - [`prepare`](mod@prepare) (pure): a zone's phones, the rules and the journal's pages to a
//!   plan, or why not (unknown priority, a busy zone).
//! - [`plan`](mod@plan): from the zone's phones (model, address, credentials) and the page's settings to
//!   the exact XML each phone gets at start and at end, or the reason it cannot take part.
//! - [`session`]: one page as a state machine owning every rule and timer (gate, duration,
//!   verification and unicast fallback, preemption checks, the talker's silence). `handle_*`
//!   inputs with the time, `poll_output`/`poll_timeout` out. It guarantees that every phone whose
//!   start may have taken effect gets its stop, whatever happens in between.
//! - [`pager`]: the one way in; [`callbacks`]: the listener phones call back (a user hanging
//!   up); [`listen`]: listen and intercom ([`listen::ListenSession`]).
//! - [`run`](mod@run) and `shell`: the `select!` loop that feeds the session and carries out what it
//!   returns (journal, media stream, pushes).
//! - [`dial`]: SIP endpoints as targets: their dialogs as plain data, and the [`dial::SipDialer`]
//!   the SIP layer above hands down to make the calls.
//! - [`report`]: the delivery report (per phone and totals) and the exit code it implies.
//! - [`journal`]: the small file that outlives a killed process: pages in flight and their
//!   phones, so `zonecast recover` (and the next `page`) can stop what was cut off.

pub mod callbacks;
pub mod dial;
pub mod journal;
pub mod listen;
pub mod pager;
pub mod plan;
pub mod prepare;
pub mod recover;
pub mod report;
pub mod run;
pub mod session;
mod shell;
pub mod table;

pub use dial::{CallEnd, SipCall, SipDialer, SipDialog};
pub use pager::{
    HAND_OVER_WAIT, Origin, PageError, PageHandle, PageOrder, Pager, PagerSetup, Talker,
    TalkerRelay, WideSound,
};
pub use plan::{
    Banner, BannerKind, Delivery, NarrowRetry, PageSpec, PhonePlan, Via, ZoneMember, plan,
};
pub use report::{DeliveryReport, Failure, FailureKind, PhoneReport, PhoneState};
pub use run::{HandOverAnswer, HandOverCheck};
pub use session::{Output, PageTarget, PushStep, Session, TalkerLimits, Timer, Timing};
pub use table::{LiveTable, PhoneTable, Roster, Site, ZonePhones};
