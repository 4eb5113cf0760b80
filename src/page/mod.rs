//! Paging: what happens between "page zone X with this sound" and every phone back to idle.
//!
//! Sans-IO core, thin shell:
//! - [`plan`](mod@plan): from the zone's phones (model, address, credentials) and the page's settings to
//!   the exact XML each phone gets at start and at end, or the reason it cannot take part.
//! - [`session`]: one page as a state machine. Inputs (push outcomes, "the source ended",
//!   "stop", "preempted", with the time) in; outputs (pushes, media start/stop, journal entries,
//!   report events) out. It guarantees that every phone whose start may have taken effect gets
//!   its stop, whatever happens in between.
//! - [`report`]: the delivery report (per phone and totals) and the exit code it implies.
//! - [`journal`]: the small file that outlives a killed process: pages in flight and their
//!   phones, so `zonecast recover` (and the next `page`) can stop what was cut off.

pub mod callbacks;
pub mod journal;
pub mod listen;
pub mod plan;
pub mod prepare;
pub mod recover;
pub mod report;
pub mod run;
pub mod session;
pub mod source;

pub use plan::{Banner, BannerKind, Delivery, PageSpec, PhonePlan, Target, Via, plan};
pub use report::{DeliveryReport, Failure, PhoneReport, PhoneState};
pub use session::{Input, Output, Session, Step};
