//! `zonecast serve`: the paging server. One tokio process that rings the bells of the config's
//! schedule, pages zones on request over an HTTP API, keeps every page, outcome, bell and
//! recovery in a SQLite journal, receives the phones' callbacks, answers the phones' (or
//! CUCM's) Authentication URL for credentials it minted, and exports Prometheus metrics.
//!
//! - [`store`]: the SQLite journal (versioned migrations): pages in flight (the page module's
//!   [`crate::page::journal::Journal`] backed by it) and the history the API shows.
//! - [`auth`]: one-time credentials minted per push, and the Authentication URL that accepts
//!   each once (pure core with time as an argument, axum handler as the shell).
//! - [`metrics`]: counters and histograms, rendered as Prometheus text.
//! - [`pages`]: the running pages: start (prepare, take over, run), stop, live state.
//! - [`scheduler`]: the bell loop around [`crate::schedule::Scheduler`].
//! - [`api`]: the HTTP API (bearer token, JSON errors) and `/openapi.json`.
//! - [`serve`]: wiring it all together, and graceful SIGTERM.

pub mod auth;
pub mod store;
