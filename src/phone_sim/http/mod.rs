//! The axum shell around one phone's [`PhoneCore`]: its HTTP pages, its sockets (through
//! [`Hardware`](super::core::Hardware)), its callbacks and URL fetches, and the faults that
//! live in the transport (latency, hang, reset, garbage, huge, crash). The phone's rules are
//! the core's, not this shell's.
//!
//! This file holds the data: what the fleet shares (`FleetCtx`), one phone (`PhoneNode`), a
//! browsing step (`Nav`), its media state, and the public facts and report ([`PhoneInfo`],
//! [`FleetPhoneReport`], [`HeardStream`]). The behaviour is in one file per concept:
//! - `node`: a phone's life: construction, the lock order, its router, crash and stop, what
//!   the user does (hang up, call, minimize), its report, and running the core's effects
//!   (callbacks, pushed URLs).
//! - `hardware`: the sockets behind the core's [`Hardware`](super::core::Hardware): receive
//!   and transmit streams, the history of heard streams, a ring file's play length.
//! - `execute`: `POST /CGI/Execute`: the push, its transport faults, its reply.
//! - `fault_replies`: the broken replies of the `reset` and `huge` faults.
//! - `auth`: credentials checked by an Authentication URL.
//! - `services`: driving the pure [`super::browser`] one `Nav` at a time: fetches
//!   with redirects and cookies, the screen, `Refresh`.
//! - `device_pages`: the device pages (`DeviceInformationX`, `StreamingStatisticsX` ...) and
//!   `/CGI/Screenshot`.

mod auth;
mod device_pages;
mod execute;
mod fault_replies;
mod hardware;
mod node;
mod services;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::browser::{Browser, ServiceView};
use super::core::{ActiveStream, CallState, Counters, PhoneCore};
use super::faults::{Faults, Rng};
use super::media::{MicSignal, RxHandle, RxSnapshot, TxHandle, TxSnapshot};
use crate::push::Secret;

/// What every phone of a fleet shares.
#[derive(Debug)]
pub(crate) struct FleetCtx {
    /// Time zero of the fleet's clock.
    pub epoch: Instant,
    /// HTTP client for callbacks and fetches.
    pub client: reqwest::Client,
    /// HTTP client of the phones' services browser: follows no redirect by itself (the
    /// browser follows them, keeping the cookies of every hop).
    pub browse_client: reqwest::Client,
    /// Interface for multicast.
    pub interface: Ipv4Addr,
    /// Where WAVs of heard streams go.
    pub record_dir: Option<PathBuf>,
    /// The phones' TFTP path.
    pub tftp_dir: Option<PathBuf>,
    /// The phones' microphone.
    pub mic: MicSignal,
    /// Flips to true when the fleet stops.
    pub shutdown: watch::Receiver<bool>,
    /// Seed of the fleet.
    pub seed: u64,
    /// The phones' Authentication URL: when set, push credentials are checked there, not
    /// against the phone's own user and password (see [`PhoneNode::authenticate`]).
    pub auth_url: Option<String>,
    /// Receive streams in the light mode (first packet time and counts only).
    pub light_receive: bool,
}

impl FleetCtx {
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// Static facts about one phone.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneInfo {
    /// Name in the fleet.
    pub name: String,
    /// Model.
    pub model: String,
    /// Address and HTTP port.
    pub addr: SocketAddrV4,
    /// `http://ADDR:PORT`.
    pub url: String,
    /// Its device name: `SEP` and its MAC address (what it sends as `devicename` to an
    /// Authentication URL, and what CUCM calls it).
    pub device: String,
    /// User that may push.
    pub user: String,
    /// Its password (the fleet's, or another one for the `wrong_password` fault).
    #[serde(skip)]
    pub password: Secret,
    /// Faults set on this phone.
    pub faults: Faults,
}

/// One stream a phone heard (or is hearing).
#[derive(Debug, Clone, Serialize)]
pub struct HeardStream {
    /// How it was started, and where from.
    #[serde(flatten)]
    pub stream: ActiveStream,
    /// Still running.
    pub active: bool,
    /// Its counters.
    #[serde(flatten)]
    pub rx: RxSnapshot,
}

/// Everything the fleet report says about one phone.
#[derive(Debug, Clone, Serialize)]
pub struct FleetPhoneReport {
    /// Name.
    pub name: String,
    /// Model.
    pub model: String,
    /// URL.
    pub url: String,
    /// Stopped answering (the crash fault).
    pub crashed: bool,
    /// Push counters.
    pub counters: Counters,
    /// Callbacks delivered.
    pub notifies_delivered: u64,
    /// Callbacks that failed after the retries.
    pub notifies_failed: u64,
    /// Handset.
    pub call: CallState,
    /// Volume, percent.
    pub volume: u32,
    /// Screen lines now.
    pub screen: Vec<String>,
    /// The status banner now.
    pub status_banner: Option<String>,
    /// Display switched off.
    pub display_off: bool,
    /// Streams heard, oldest first (the current one last, `active`).
    pub heard: Vec<HeardStream>,
    /// The transmit stream now, or the last one.
    pub tx: Option<TxSnapshot>,
    /// Transmitting now.
    pub transmitting: bool,
    /// Recent key presses.
    pub keys: Vec<String>,
    /// The XML service on screen (what the services browser fetched), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceView>,
}

#[derive(Debug, Default)]
struct MediaState {
    rx: Option<RxHandle>,
    tx: Option<TxHandle>,
    last_tx: Option<TxSnapshot>,
    /// Finished streams: what the core knew and the final counters.
    heard: Vec<HeardStream>,
    pending_rx: Option<ActiveStream>,
    rx_count: u64,
}

/// One step of the services browser (carried out by `PhoneNode::navigate`, in `services`).
#[derive(Debug, Clone)]
pub(crate) enum Nav {
    /// The user opens a service URL (`#DEVICENAME#` expanded).
    Open(String),
    /// A URL pushed in a CiscoIPPhoneExecute.
    Pushed(String),
    /// The user selects item N (1-based).
    Select(usize),
    /// The user presses the soft key with this label.
    SoftKey(String),
    /// The user fills the Input's fields (by query parameter) and submits.
    Submit(Vec<(String, String)>),
    /// A `Refresh` is due.
    Refresh(String),
}

/// One emulated phone: its core, its sockets, its faults.
#[derive(Debug)]
pub(crate) struct PhoneNode {
    pub info: PhoneInfo,
    pub index: u64,
    core: Mutex<PhoneCore>,
    media: Mutex<MediaState>,
    rng: Mutex<Rng>,
    crashed: AtomicBool,
    crash_tx: watch::Sender<bool>,
    notifies_ok: AtomicU64,
    notifies_failed: AtomicU64,
    ctx: Arc<FleetCtx>,
    /// The services browser.
    browser: Mutex<Browser>,
    /// The pending `Refresh`: its number and task.
    refresh: Mutex<Option<(u64, AbortHandle)>>,
    refresh_seq: AtomicU64,
    /// The browser's client bound to this phone's address (made on the first fetch): a real
    /// phone's requests come from its own IP, which servers check.
    own_client: std::sync::OnceLock<reqwest::Client>,
}

struct Hw<'a> {
    node: &'a PhoneNode,
    media: &'a mut MediaState,
    now_ms: u64,
}

type Node = State<Arc<PhoneNode>>;

impl PhoneInfo {
    /// This phone as the push side addresses it (plain HTTP, its user and password).
    pub fn push_target(&self) -> crate::push::Phone {
        crate::push::Phone {
            name: self.name.clone(),
            host: self.addr.to_string(),
            user: self.user.clone(),
            password: self.password.clone(),
            https: false,
        }
    }
}
