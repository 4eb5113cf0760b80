//! A fleet of emulated phones in one process: start them from a [`SimConfig`], read their
//! addresses, credentials and counters, serve the `/fleet` report, stop them.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use zonecast::phone_sim::{Fleet, SimConfig};
//! let fleet = Fleet::start(SimConfig::uniform(10, "CP-8851")).await?;
//! for p in fleet.phones() {
//!     println!("{} {} {}", p.name, p.url, p.model);
//! }
//! let report = fleet.report();
//! fleet.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::browser::{BrowseError, RequestLog, ServiceView};
use super::config::{Addressing, SimConfig};
use super::core::{Identity, PhoneCore};
use super::faults::{Faults, Rng, choose};
use super::http::{FleetCtx, Nav, PhoneNode};
use super::media::MicSignal;
use super::profile::Profile;
use crate::error::Invalid;
use crate::push::Secret;

pub use super::http::{FleetPhoneReport, HeardStream, PhoneInfo};

/// Why a fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The configuration is wrong.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A listener could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddrV4,
        /// Why.
        source: io::Error,
    },
}

/// The whole fleet's report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// FleetTotals.
    pub totals: FleetTotals,
    /// Every phone.
    pub phones: Vec<FleetPhoneReport>,
}

/// Fleet-wide totals.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FleetTotals {
    /// Phones.
    pub phones: usize,
    /// Phones receiving a stream now.
    pub receiving: usize,
    /// Phones transmitting now.
    pub transmitting: usize,
    /// Phones that crashed on purpose.
    pub crashed: usize,
    /// Pushes received.
    pub pushes: u64,
    /// Pushes refused for bad credentials.
    pub auth_failures: u64,
    /// Streams heard (started), all phones.
    pub streams_heard: u64,
}

/// A running fleet. Dropping it without [`Fleet::shutdown`] leaves the tasks to the runtime's end.
pub struct Fleet {
    nodes: Vec<Arc<PhoneNode>>,
    by_name: HashMap<String, usize>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    control: Option<SocketAddr>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("phones", &self.nodes.len())
            .field("control", &self.control)
            .finish()
    }
}

/// Raise the open-files limit to the hard limit: a fleet needs one socket per phone and more.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The address of phone `i` in addresses mode: `first + i`, skipping `.0` and `.255`.
fn nth_address(first: Ipv4Addr, i: usize) -> Option<Ipv4Addr> {
    let mut a = u32::from(first);
    let mut left = i;
    loop {
        let last = a & 0xFF;
        if last != 0 && last != 255 {
            if left == 0 {
                let ip = Ipv4Addr::from(a);
                return ip.is_loopback().then_some(ip);
            }
            left -= 1;
        }
        a = a.checked_add(1)?;
    }
}

fn bind_std(addr: SocketAddrV4) -> io::Result<std::net::TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(addr).into())?;
    s.listen(1024)?;
    Ok(s.into())
}

/// Bind one listener per phone.
fn bind_all(cfg: &SimConfig, n: usize) -> Result<Vec<std::net::TcpListener>, FleetError> {
    match cfg.addressing {
        Addressing::Ports { base_port } => (0..n)
            .map(|i| {
                let port = if base_port == 0 {
                    0
                } else {
                    u16::try_from(usize::from(base_port) + i).map_err(|_| {
                        Invalid::new(
                            "base-port",
                            base_port,
                            format!("{n} phones do not fit below port 65535"),
                        )
                    })?
                };
                let addr = SocketAddrV4::new(cfg.host, port);
                bind_std(addr).map_err(|source| FleetError::Listen { addr, source })
            })
            .collect(),
        Addressing::Addresses { port } => {
            let addrs: Vec<Ipv4Addr> = (0..n)
                .map(|i| {
                    nth_address(cfg.host, i).ok_or_else(|| {
                        Invalid::new(
                            "phones",
                            n,
                            format!("{n} addresses from {} leave 127.0.0.0/8", cfg.host),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            // One port on every address: the given one, or the first that is free everywhere.
            let mut last_err = None;
            for _attempt in 0..20 {
                let first = SocketAddrV4::new(addrs[0], port);
                let l0 = match bind_std(first) {
                    Ok(l) => l,
                    Err(source) => {
                        return Err(FleetError::Listen {
                            addr: first,
                            source,
                        });
                    }
                };
                let chosen = l0.local_addr().map(|a| a.port()).unwrap_or(port);
                let mut all = vec![l0];
                let mut failed = false;
                for ip in &addrs[1..] {
                    let addr = SocketAddrV4::new(*ip, chosen);
                    match bind_std(addr) {
                        Ok(l) => all.push(l),
                        Err(source) => {
                            last_err = Some(FleetError::Listen { addr, source });
                            failed = true;
                            break;
                        }
                    }
                }
                if !failed {
                    return Ok(all);
                }
                if port != 0 {
                    break;
                }
            }
            Err(last_err.expect("a failed attempt recorded its error"))
        }
    }
}

/// Names of the phones of each group: `prefix` + a number as wide as the group needs.
fn names(cfg: &SimConfig) -> Vec<(String, usize)> {
    let mut out = Vec::with_capacity(cfg.phone_count());
    for (gi, g) in cfg.groups.iter().enumerate() {
        if let Some(n) = &g.name {
            out.push((n.clone(), gi));
            continue;
        }
        let width = g.count.to_string().len().max(3);
        for i in 1..=g.count {
            out.push((format!("{}{:0width$}", g.prefix, i), gi));
        }
    }
    out
}

/// Refuse a configuration that names two phones alike.
fn check_unique_names(named: &[(String, usize)]) -> Result<(), FleetError> {
    let mut seen = HashMap::new();
    for (name, _) in named {
        if seen.insert(name.as_str(), ()).is_some() {
            return Err(Invalid::new("name", name, "phone names must be unique").into());
        }
    }
    Ok(())
}

/// Per-phone faults: the group's, then each rule's share/count/names on top.
fn phone_faults(cfg: &SimConfig, named: &[(String, usize)]) -> Result<Vec<Faults>, FleetError> {
    let n = named.len();
    let mut faults: Vec<Faults> = named
        .iter()
        .map(|(_, g)| cfg.groups[*g].faults.clone())
        .collect();
    let mut rng = Rng::new(cfg.seed, u64::MAX);
    for rule in &cfg.fault_rules {
        let chosen = if rule.phones.is_empty() {
            choose(n, rule.share, rule.count, &mut rng)
        } else {
            rule.phones
                .iter()
                .map(|p| {
                    named
                        .iter()
                        .position(|(name, _)| name == p)
                        .ok_or_else(|| Invalid::new("faults.phones", p, "no phone has this name"))
                })
                .collect::<Result<_, _>>()?
        };
        for i in chosen {
            faults[i].merge(&rule.faults);
        }
    }
    Ok(faults)
}

/// What every phone of the fleet shares: the HTTP clients (pushing and browsing), the
/// microphone's signal, the directories, the shutdown signal. Creates the recording directory.
fn fleet_ctx(
    cfg: &SimConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<Arc<FleetCtx>, FleetError> {
    let client = crate::push::client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Invalid::new("http client", e, "could not be built"))?;
    let mic = if cfg.mic_tone_hz > 0.0 {
        MicSignal::Tone {
            hz: cfg.mic_tone_hz,
            dbfs: -12.0,
        }
    } else {
        MicSignal::Silence
    };
    if let Some(d) = &cfg.record_dir {
        std::fs::create_dir_all(d)
            .map_err(|e| Invalid::new("record-dir", d.display(), format!("cannot create: {e}")))?;
    }
    let browse_client = crate::push::client_builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Invalid::new("http client", e, "could not be built"))?;
    Ok(Arc::new(FleetCtx {
        epoch: Instant::now(),
        client,
        browse_client,
        interface: cfg.media_interface,
        record_dir: cfg.record_dir.clone(),
        tftp_dir: cfg.tftp_dir.clone(),
        mic,
        shutdown,
        seed: cfg.seed,
        auth_url: cfg.auth_url.clone(),
        light_receive: cfg.light_receive,
    }))
}

/// Phone `i`, named `name`, of group `gi`: its node (what it is and its core), serving HTTP on
/// `std_listener` from a task of its own until it stops.
fn start_phone(
    cfg: &SimConfig,
    (i, name, gi): (usize, String, usize),
    faults: &Faults,
    std_listener: std::net::TcpListener,
    ctx: &Arc<FleetCtx>,
) -> Result<(Arc<PhoneNode>, JoinHandle<()>), FleetError> {
    let group = &cfg.groups[gi];
    let profile = Profile::for_model(&group.model)?;
    let local = match std_listener.local_addr() {
        Ok(SocketAddr::V4(a)) => a,
        _ => SocketAddrV4::new(cfg.host, 0),
    };
    let password = if faults.wrong_password {
        Secret::new(format!("{}-other-{i}", cfg.password.expose()))
    } else {
        cfg.password.clone()
    };
    let mac = format!("0C1E5A{:06X}", i + 1);
    let info = PhoneInfo {
        name: name.clone(),
        model: profile.model.clone(),
        addr: local,
        url: format!("http://{local}"),
        device: format!("SEP{mac}"),
        user: cfg.user.clone(),
        password: password.clone(),
        faults: faults.clone(),
    };
    let identity = Identity {
        name,
        ip: *local.ip(),
        http_port: local.port(),
        mac,
        dn: format!("{}", 10_000 + i + 1),
        user: cfg.user.clone(),
        password,
    };
    let core = PhoneCore::new(identity, profile, cfg.seed ^ (i as u64 + 1));
    let node = Arc::new(PhoneNode::new(info, i as u64, core, ctx.clone()));
    let listener = TcpListener::from_std(std_listener).map_err(|source| FleetError::Listen {
        addr: local,
        source,
    })?;
    let router = node.router();
    let stopped = node.stopped();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await;
    });
    Ok((node, server))
}

impl Fleet {
    /// Start every phone of `cfg` on the current tokio runtime.
    pub async fn start(cfg: SimConfig) -> Result<Fleet, FleetError> {
        cfg.validate()?;
        raise_fd_limit();
        let named = names(&cfg);
        let n = named.len();
        check_unique_names(&named)?;
        let faults = phone_faults(&cfg, &named)?;
        let listeners = bind_all(&cfg, n)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ctx = fleet_ctx(&cfg, shutdown_rx)?;
        let mut nodes = Vec::with_capacity(n);
        let mut servers = Vec::with_capacity(n);
        let mut by_name = HashMap::with_capacity(n);
        for (i, ((name, gi), std_listener)) in named.into_iter().zip(listeners).enumerate() {
            let phone = (i, name.clone(), gi);
            let (node, server) = start_phone(&cfg, phone, &faults[i], std_listener, &ctx)?;
            servers.push(server);
            by_name.insert(name, i);
            nodes.push(node);
        }
        Ok(Fleet {
            nodes,
            by_name,
            shutdown,
            servers,
            control: None,
        })
    }

    /// Every phone: name, model, address, URL, credentials, faults.
    pub fn phones(&self) -> Vec<PhoneInfo> {
        self.nodes.iter().map(|n| n.info.clone()).collect()
    }

    /// One phone by name.
    pub fn phone(&self, name: &str) -> Option<PhoneInfo> {
        self.node(name).map(|n| n.info.clone())
    }

    fn node(&self, name: &str) -> Option<&Arc<PhoneNode>> {
        self.by_name.get(name).map(|&i| &self.nodes[i])
    }

    /// Number of phones.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the fleet has no phones (never true for a started fleet).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// One phone's report.
    pub fn phone_report(&self, name: &str) -> Option<FleetPhoneReport> {
        self.node(name).map(|n| n.report())
    }

    /// Every phone's state and counters.
    pub fn report(&self) -> FleetReport {
        report_of(&self.nodes)
    }

    /// The user of phone `name` hangs up (on hook). False when there is no such phone.
    pub fn hang_up(&self, name: &str) -> bool {
        self.node(name).map(|n| n.hang_up()).is_some()
    }

    /// The user of phone `name` places a call.
    pub fn call(&self, name: &str, number: &str) -> bool {
        self.node(name).map(|n| n.call(number)).is_some()
    }

    /// The user of phone `name` ends the call.
    pub fn end_call(&self, name: &str) -> bool {
        self.node(name).map(|n| n.end_call()).is_some()
    }

    /// The user of `phone` presses the Applications key: the service on screen goes to the
    /// background and, when its object named an application (`appId`) with an
    /// `onAppMinimized` handler, the phone sends `notifyApplicationEvent type="minimized"`;
    /// the application is remembered (showing it again sends `focusGained`). False when there
    /// is no such phone or it has crashed.
    pub fn minimize(&self, phone: &str) -> bool {
        match self.node(phone) {
            Some(n) if !n.is_crashed() => {
                n.minimize();
                true
            }
            _ => false,
        }
    }

    /// Crash phone `name` now (it stops answering).
    pub fn crash(&self, name: &str) -> bool {
        self.node(name).map(|n| n.crash()).is_some()
    }

    fn browsing(&self, phone: &str) -> Result<&Arc<PhoneNode>, BrowseError> {
        self.node(phone)
            .ok_or_else(|| BrowseError::NoPhone(phone.to_owned()))
    }

    /// The user of `phone` opens the service at `url` (`#DEVICENAME#` becomes the phone's
    /// device name): the phone GETs it with its headers and cookies and shows the object.
    pub async fn open_service(&self, phone: &str, url: &str) -> Result<ServiceView, BrowseError> {
        let node = self.browsing(phone)?;
        node.navigate(Nav::Open(url.to_owned()))
            .await?
            .ok_or(BrowseError::Closed)
    }

    /// The user selects menu item `item` (1-based, as numbered on the phone) and the phone
    /// follows its URL. [`BrowseError::Closed`] when the item left the service
    /// (`SoftKey:Exit`).
    pub async fn select(&self, phone: &str, item: usize) -> Result<ServiceView, BrowseError> {
        let node = self.browsing(phone)?;
        node.navigate(Nav::Select(item))
            .await?
            .ok_or(BrowseError::Closed)
    }

    /// The user presses the soft key labelled `name`: an HTTP URL is fetched, `SoftKey:Back`
    /// goes back (from the cache while fresh), `SoftKey:Exit` closes the service (`None`);
    /// other internal URIs change nothing (the view's `note` says so).
    pub async fn softkey(
        &self,
        phone: &str,
        name: &str,
    ) -> Result<Option<ServiceView>, BrowseError> {
        let node = self.browsing(phone)?;
        node.navigate(Nav::SoftKey(name.to_owned())).await
    }

    /// The user fills the Input object on screen (`values` by `QueryStringParam`; fields not
    /// named keep their default) and submits: `URL?param=value&...` (percent-encoded), or a
    /// form POST when the Input's URL says `method="post"`.
    pub async fn submit(
        &self,
        phone: &str,
        values: &[(&str, &str)],
    ) -> Result<ServiceView, BrowseError> {
        let node = self.browsing(phone)?;
        let values = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        node.navigate(Nav::Submit(values))
            .await?
            .ok_or(BrowseError::Closed)
    }

    /// The service on the screen of `phone`.
    pub fn service_view(&self, phone: &str) -> Option<ServiceView> {
        self.node(phone).and_then(|n| n.service_view())
    }

    /// The last request the services browser of `phone` sent: URL and headers.
    pub fn last_service_request(&self, phone: &str) -> Option<RequestLog> {
        self.node(phone).and_then(|n| n.last_service_request())
    }

    /// The cookies `phone` keeps for `host`, oldest first.
    pub fn service_cookies(&self, phone: &str, host: &str) -> Vec<(String, String)> {
        self.node(phone)
            .map(|n| n.cookies(host))
            .unwrap_or_default()
    }

    /// The `Accept-Language` of `phone` (`None`: every phone of the fleet); the default is
    /// `en`. False when there is no such phone.
    pub fn set_accept_language(&self, phone: Option<&str>, language: &str) -> bool {
        match phone {
            Some(p) => self.node(p).map(|n| n.set_language(language)).is_some(),
            None => {
                for n in &self.nodes {
                    n.set_language(language);
                }
                true
            }
        }
    }

    /// Serve `GET /fleet` (the report as JSON), `GET /fleet/phones/NAME`,
    /// `POST /fleet/phones/NAME/{hangup,call,endcall,crash}`, and the services browser:
    /// `POST /fleet/phones/NAME/service` (`url=`), `.../select?item=N`, `.../softkey?name=LABEL`,
    /// `.../submit` (the Input's fields), each answering the [`ServiceView`] as JSON (`null`
    /// when the service closed), on `addr`. Parameters come from the query or a form body.
    /// Returns the bound address.
    pub async fn serve_control(&mut self, addr: SocketAddr) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let state = ControlState {
            nodes: Arc::new(self.nodes.clone()),
            by_name: Arc::new(self.by_name.clone()),
        };
        let app = Router::new()
            .route("/fleet", get(control_report))
            .route("/fleet/phones/{name}", get(control_phone))
            .route("/fleet/phones/{name}/{action}", post(control_action))
            .with_state(state);
        let mut stop = self.shutdown.subscribe();
        self.servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        }));
        self.control = Some(local);
        Ok(local)
    }

    /// The control endpoint's address, once served.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control
    }

    /// Stop every phone: listeners closed, streams stopped (WAVs finished), tasks ended.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for n in &self.nodes {
            n.stop_media();
        }
        for s in self.servers {
            // Graceful shutdown waits for connections; a phone stuck answering is not worth more.
            let abort = s.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), s)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

fn report_of(nodes: &[Arc<PhoneNode>]) -> FleetReport {
    let phones: Vec<FleetPhoneReport> = nodes.iter().map(|n| n.report()).collect();
    let mut totals = FleetTotals {
        phones: phones.len(),
        ..FleetTotals::default()
    };
    for p in &phones {
        totals.receiving += usize::from(p.heard.last().is_some_and(|h| h.active));
        totals.transmitting += usize::from(p.transmitting);
        totals.crashed += usize::from(p.crashed);
        totals.pushes += p.counters.pushes;
        totals.auth_failures += p.counters.auth_failures;
        totals.streams_heard += p.counters.rx_started;
    }
    FleetReport { totals, phones }
}

#[derive(Clone)]
struct ControlState {
    nodes: Arc<Vec<Arc<PhoneNode>>>,
    by_name: Arc<HashMap<String, usize>>,
}

async fn control_report(State(s): State<ControlState>) -> Response {
    // A report of thousands of phones is CPU work: keep it off the workers that answer pushes.
    match tokio::task::spawn_blocking(move || report_of(&s.nodes)).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn control_phone(State(s): State<ControlState>, Path(name): Path<String>) -> Response {
    match s.by_name.get(&name) {
        Some(&i) => Json(s.nodes[i].report()).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no phone named {name}\n")).into_response(),
    }
}

/// The services browser over HTTP: `service`, `select`, `softkey`, `submit`.
async fn control_browse(
    node: &Arc<PhoneNode>,
    action: &str,
    fields: Vec<(String, String)>,
) -> Response {
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let missing =
        |what: &str| (StatusCode::BAD_REQUEST, format!("{action} needs {what}\n")).into_response();
    let nav = match action {
        "service" => match field("url") {
            Some(u) => Nav::Open(u),
            None => return missing("url=URL"),
        },
        "select" => match field("item").and_then(|i| i.trim().parse().ok()) {
            Some(i) => Nav::Select(i),
            None => return missing("item=N (1-based)"),
        },
        "softkey" => match field("name") {
            Some(n) => Nav::SoftKey(n),
            None => return missing("name=LABEL"),
        },
        _ => Nav::Submit(fields),
    };
    match node.navigate(nav).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => (
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{e}\n"),
        )
            .into_response(),
    }
}

async fn control_action(
    State(s): State<ControlState>,
    Path((name, action)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(&i) = s.by_name.get(&name) else {
        return (StatusCode::NOT_FOUND, format!("no phone named {name}\n")).into_response();
    };
    let node = &s.nodes[i];
    if matches!(action.as_str(), "service" | "select" | "softkey" | "submit") {
        let fields: Vec<(String, String)> =
            form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
                .chain(form_urlencoded::parse(&body))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        return control_browse(node, &action, fields).await;
    }
    match action.as_str() {
        "hangup" => node.hang_up(),
        "call" => node.call("5000"),
        "endcall" => node.end_call(),
        "crash" => node.crash(),
        "minimize" => node.minimize(),
        other => {
            return (
                StatusCode::NOT_FOUND,
                format!(
                    "unknown action {other}: one of hangup call endcall crash minimize service \
                     select softkey submit\n"
                ),
            )
                .into_response();
        }
    }
    Json(node.report()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_network_and_broadcast_octets() {
        let first = Ipv4Addr::new(127, 0, 1, 254);
        assert_eq!(nth_address(first, 0), Some(Ipv4Addr::new(127, 0, 1, 254)));
        assert_eq!(nth_address(first, 1), Some(Ipv4Addr::new(127, 0, 2, 1)));
        assert_eq!(nth_address(Ipv4Addr::new(127, 255, 255, 254), 1), None);
    }

    #[test]
    fn names_are_padded_per_group() {
        let mut cfg = SimConfig::uniform(12, "CP-8851");
        cfg.groups.push(super::super::config::PhoneGroup {
            count: 1,
            model: "CP-8845".into(),
            prefix: "x".into(),
            name: Some("lobby".into()),
            faults: Faults::default(),
        });
        let n = names(&cfg);
        assert_eq!(n[0].0, "p001");
        assert_eq!(n[11].0, "p012");
        assert_eq!(n[12].0, "lobby");
    }
}
