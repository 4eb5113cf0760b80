//! The phone emulator: Cisco IP phones that behave like the real ones, many to a process.
//!
//! Each emulated phone is a real HTTP server (axum) with the phone's pages and a real set of UDP
//! sockets for the RTP streams it is told to receive or send. A fleet of them shares one tokio
//! runtime. Tests, the demo and the benchmarks page these phones exactly as they would page desk
//! phones, over HTTP and UDP only.
//!
//! Sans-IO core, async shell, as everywhere in zonecast:
//! - [`core`]: one phone's behaviour as a pure state machine. A request (credentials, body, the
//!   current time) goes in; the HTTP reply and the effects (open an Rx socket, send a callback,
//!   fetch a URL ...) come out. Every rule of the spec's phone is here and tested without sockets.
//! - [`profile`]: model profiles (capabilities from [`crate::xsi::model`], display size, how the
//!   model refuses bad credentials).
//! - [`faults`]: faults on purpose (latency, refusal, hang, reset, garbage, wrong password,
//!   dropped RTP, crash, user hang-up), drawn from a seed so a run is repeatable.
//! - [`analysis`]: what a phone makes of the RTP it receives: packet checks, loss, jitter, level,
//!   dominant frequency. Pure.
//! - [`pages`]: the `...X` XML device pages and their HTML variants; [`screenshot`]: a PNG of the
//!   screen. Pure renderers.
//! - [`media`]: the UDP shell: receive tasks that feed [`analysis`], transmit tasks that send the
//!   phone's "microphone".
//! - [`http`]: the axum shell around [`core`]: one listener per phone.
//! - [`browser`]: the phone's XML services browser (cookies, `#DEVICENAME#`, the objects it
//!   reads, what its keys do). Pure; [`http`] sends its requests.
//! - [`fleet`]: start N phones from a [`config::SimConfig`], read their counters, stop them.
//! - [`cucm`]: an emulated Cisco Unified CM serving AXL and RisPort70 over HTTPS for a cluster
//!   of phones (issue 23).

pub mod analysis;
pub mod browser;
pub mod config;
pub mod core;
pub mod cucm;
pub mod faults;
pub mod fleet;
pub mod http;
pub mod media;
pub mod pages;
pub mod profile;
pub mod screenshot;

pub use browser::{BrowseError, RequestLog, ServiceView};
pub use config::SimConfig;
pub use fleet::{Fleet, FleetReport, PhoneInfo};
pub use profile::Profile;
