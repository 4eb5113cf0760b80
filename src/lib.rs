//! # zonecast
//!
//! A paging and intercom engine for Cisco Unified IP Phones: it streams G.711 audio over RTP to
//! zones of phones (unicast or multicast), drives the phones through their XML Services Interface,
//! and records what phones' microphones send.
//!
//! ## The model: a sans-IO core in an I/O shell
//!
//! The protocol rules live in plain code that takes its inputs, and the current time, as
//! arguments and returns what should happen: [`g711`] converts samples, [`rtp::Packetizer`] turns
//! 20 ms frames into RTP packets, [`rtp::Schedule`] says which stream is due at which absolute
//! instant, [`rtp::ReceiverState`] turns arriving packets (with their arrival times) into ordered
//! audio, gaps and statistics. None of these opens a socket or reads a clock, so every rule is
//! tested in microseconds with virtual time.
//!
//! The shell is thin: [`rtp::Pacer`] is the one OS thread that sleeps to absolute deadlines and
//! hands due packets to [`rtp::Sender`]'s sockets; [`rtp::Listener`] reads a socket and feeds the
//! receiver state; [`rtp::Recorder`] writes files; [`audio`] reads files and the microphone.
//!
//! ## Layout
//!
//! The rooms, lowest first; a module imports only from rooms below it (`tests/house.rs` and
//! `../shared/tools/layers.py` check it):
//!
//! - [`error`]: the validation error every module refuses bad input with, naming field, value
//!   and rule. [`g711`]: µ-law / A-law, table-driven, bit-exact with the reference.
//! - [`audio`]: sources of 8 kHz mono 20 ms frames: files (WAV, MP3, FLAC, Ogg Vorbis, raw),
//!   generated tones and chimes, the live microphone and speaker; anti-aliased resampling.
//! - [`rtp`]: ports, packets, the pacer's schedule and thread, the sender, the receiver and the
//!   recorder. [`xsi`]: the phones' XML Services Interface: URIs, XML objects, replies, the one
//!   XML toolkit, model capabilities and the push planner.
//! - [`source`]: what a page plays: segments and sequences, the bundled sounds, uploads.
//!   [`push`]: HTTP to phones: `/CGI/Execute` pushes, device pages, the fan-out; passwords as
//!   [`push::Secret`]. [`ringtone`]: Cisco ring files: the rules, a checker, conversion, ring
//!   lists.
//! - [`config`]: the paging configuration (TOML): phones, zones, engine addresses and pools,
//!   priorities, bells, services; checked at load so every error names the file, line and key.
//!   [`schedule`]: bells: cron expressions on an IANA zone's wall clock (daylight saving neither
//!   skips nor doubles), holidays and terms, and which due bells ring or count as missed.
//! - [`cucm`]: phones from Cisco Unified CM: AXL and RisPort70 requests and parsers, a
//!   discovery as a sans-IO state machine (pages, RIS batches, the rate limit), its HTTPS
//!   shell, and the table cached between runs.
//! - [`page`]: paging. [`page::Pager`] is the one way in (every entry point builds a
//!   [`page::PageOrder`]); [`page::Session`] is one page's rules and timers as a sans-IO core
//!   (`handle_*`, `handle_timeout(now)`, `poll_output`, `poll_timeout`), and `page::run` the one
//!   `select!` loop that carries it out; the journal that guarantees every stop; listen and
//!   intercom ([`page::listen::ListenSession`]).
//! - [`sip`]: zonecast as a SIP user agent: a trunk dials a number and the caller speaks live
//!   to its zone (rsipstack for the SIP, SDP offer/answer, the caller's RTP levelled into the
//!   page's talker queue); the server gives it the pages.
//! - [`cluster`]: a site's standby pair over NATS JetStream (`docs/cluster.md`): the leader
//!   lease and each bell occurrence's claim as sans-IO state machines, and their shell.
//! - [`phone_sim`]: emulated Cisco phones (a pure per-phone core, axum and UDP shells, seeded
//!   faults, fleets of thousands) for tests, demos and benchmarks; only the CLI and tests use it.
//! - [`server`]: `zonecast serve`: pages on request, bells, phone services, the SQLite journal,
//!   one-time credentials, metrics, the HTTP API.
//! - [`web`]: the browser console (server-rendered HTML and one script, a client of the API);
//!   the server does not import it, the CLI merges its routes in.
//! - [`cli`]: the `zonecast` command line (`send`, `record`, `page`, `recover`, `listen`,
//!   `intercom`, `serve`, `sim`, `demo`, `schedule`, `ringtone`; `push`, `display`, `media`,
//!   `info`, `screenshot`, `macro`): the one room that composes the others.
//! - `shared`: finds the reference material beside the checkout (`../shared`) for the tests.

pub mod audio;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod cucm;
pub mod error;
pub mod g711;
pub mod page;
pub mod phone_sim;
pub mod push;
pub mod ringtone;
pub mod rtp;
pub mod schedule;
pub mod server;
/// For tests: the reference material beside the repository (`../shared`).
#[doc(hidden)]
pub mod shared;
pub mod sip;
pub mod source;
pub mod web;
pub mod xsi;
