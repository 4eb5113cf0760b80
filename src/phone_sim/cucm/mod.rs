//! The emulated Cisco Unified CM: AXL and RisPort70 for a cluster of emulated phones, as strict
//! as CUCM where the engine could go wrong (see `answer` for the rules it keeps).
//!
//! - `cluster`: the cluster's phones and rules ([`SimCucmDevice`], [`SimCucmConfig`]) and a
//!   generator of large fleets ([`fleet`]).
//! - `answer`: the pure core: a request and `now` in, the HTTP answer out ([`SimCucm`]).
//! - `server`: the HTTPS shell with a self-signed certificate ([`SimCucmServer`]; `tls` feature).

pub mod answer;
pub mod cluster;
#[cfg(feature = "tls")]
pub mod server;

pub use answer::{SimCucm, SimCucmCounters, SimCucmReply, SimCucmRequest};
pub use cluster::{SimCucmConfig, SimCucmDevice, fleet, fleet_name};
#[cfg(feature = "tls")]
pub use server::SimCucmServer;
