//! The axum shell around one phone's [`PhoneCore`]: its HTTP pages, its sockets (through
//! [`Hardware`]), its callbacks and URL fetches, and the faults that live in the transport
//! (latency, hang, reset, garbage, huge, crash).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::browser::{
    Action, Answer, BackStep, BrowseError, Browser, MAX_OBJECT_BYTES, MAX_REDIRECTS, Request,
    RequestLog, ServiceView, Step, expand_device_name, resolve_url, select_action, softkey_action,
    submit_action,
};
use super::core::{
    ActiveStream, CallState, Counters, DEFAULT_PLAY_MS, Effect, Hardware, PhoneCore, PushInput,
    Reply, RxRequest, StreamOrigin, TxRequest, base64_decode, base64_encode,
};
use super::faults::{Faults, HUGE_REPLY_BYTES, PushFault, Rng, garbage_body};
use super::media::{MicSource, RxHandle, RxSnapshot, RxSpec, TxHandle, TxSnapshot, TxSpec};
use super::pages::{self, StreamInfo};
use super::screenshot::screenshot_png;
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
    pub mic: MicSource,
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
pub struct PhoneReport {
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

/// Streams kept in a phone's history.
const HEARD_MAX: usize = 16;

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

impl Hardware for Hw<'_> {
    fn open_rx(&mut self, req: &RxRequest) -> Result<(), String> {
        let ip = *self.node.info.addr.ip();
        let bind = if req.multicast {
            SocketAddrV4::new(req.addr, req.port)
        } else {
            SocketAddrV4::new(ip, req.port)
        };
        self.media.rx_count += 1;
        let wav = self.node.ctx.record_dir.as_ref().map(|d| {
            d.join(format!(
                "{}-{:03}.wav",
                self.node.info.name, self.media.rx_count
            ))
        });
        let spec = RxSpec {
            bind,
            group: req.multicast.then_some(req.addr),
            interface: self.node.ctx.interface,
            drop_share: if req.multicast && self.node.info.faults.no_multicast {
                1.0
            } else {
                self.node.info.faults.drop_rtp
            },
            seed: self.node.ctx.seed ^ self.node.index.rotate_left(17) ^ self.media.rx_count,
            wav,
            light: self.node.ctx.light_receive,
        };
        let handle =
            RxHandle::open(spec).map_err(|e| format!("Port {} unavailable: {e}", req.port))?;
        self.media.rx = Some(handle);
        self.media.pending_rx = Some(ActiveStream {
            origin: StreamOrigin::Uri,
            addr: req.addr,
            port: req.port,
            multicast: req.multicast,
            volume: None,
            whisper: false,
            started_ms: self.now_ms,
        });
        Ok(())
    }

    fn close_rx(&mut self) {
        // The core's view of the stream is read before it forgets it: see PhoneNode::archive.
        if let Some(h) = self.media.rx.take() {
            let snap = h.stop();
            let stream = self.media.pending_rx.take().unwrap_or(ActiveStream {
                origin: StreamOrigin::Uri,
                addr: Ipv4Addr::UNSPECIFIED,
                port: 0,
                multicast: false,
                volume: None,
                whisper: false,
                started_ms: 0,
            });
            if self.media.heard.len() == HEARD_MAX {
                self.media.heard.remove(0);
            }
            self.media.heard.push(HeardStream {
                stream,
                active: false,
                rx: snap,
            });
        }
    }

    fn open_tx(&mut self, req: &TxRequest) -> Result<(), String> {
        let spec = TxSpec {
            dest: SocketAddrV4::new(req.addr, req.port),
            source: *self.node.info.addr.ip(),
            interface: self.node.ctx.interface,
            mic: self.node.ctx.mic.clone(),
        };
        let handle = TxHandle::open(spec)
            .map_err(|e| format!("Cannot send to {}:{}: {e}", req.addr, req.port))?;
        self.media.tx = Some(handle);
        Ok(())
    }

    fn close_tx(&mut self) {
        if let Some(h) = self.media.tx.take() {
            self.media.last_tx = Some(h.stop());
        }
    }

    fn play_length_ms(&mut self, file: &str) -> Option<u64> {
        match &self.node.ctx.tftp_dir {
            // Raw 8 kHz µ-law: one byte per sample.
            Some(dir) => std::fs::metadata(dir.join(file)).ok().map(|m| m.len() / 8),
            None => Some(DEFAULT_PLAY_MS),
        }
    }
}

impl PhoneNode {
    pub fn new(info: PhoneInfo, index: u64, core: PhoneCore, ctx: Arc<FleetCtx>) -> PhoneNode {
        let (crash_tx, _) = watch::channel(false);
        PhoneNode {
            rng: Mutex::new(Rng::new(ctx.seed, index + 1)),
            info,
            index,
            core: Mutex::new(core),
            media: Mutex::new(MediaState::default()),
            crashed: AtomicBool::new(false),
            crash_tx,
            notifies_ok: AtomicU64::new(0),
            notifies_failed: AtomicU64::new(0),
            ctx,
            browser: Mutex::new(Browser::default()),
            refresh: Mutex::new(None),
            refresh_seq: AtomicU64::new(0),
            own_client: std::sync::OnceLock::new(),
        }
    }

    /// The services browser's HTTP client, sending from this phone's own address (the shared
    /// one if a bound client cannot be built).
    fn browse_client(&self) -> &reqwest::Client {
        self.own_client.get_or_init(|| {
            crate::push::client_builder()
                .timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .local_address(std::net::IpAddr::V4(*self.info.addr.ip()))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_else(|_| self.ctx.browse_client.clone())
        })
    }

    fn lock(&self) -> (MutexGuard<'_, PhoneCore>, MutexGuard<'_, MediaState>) {
        // Always core first, then media: one order, no deadlock.
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        let media = self.media.lock().unwrap_or_else(|e| e.into_inner());
        (core, media)
    }

    /// Run `f` on the core with the real hardware.
    fn with_core<R>(&self, f: impl FnOnce(&mut PhoneCore, &mut dyn Hardware, u64) -> R) -> R {
        let now = self.ctx.now_ms();
        let (mut core, mut media) = self.lock();
        let rx_before = core.state().rx.clone();
        let mut hw = Hw {
            node: self,
            media: &mut media,
            now_ms: now,
        };
        let r = f(&mut core, &mut hw, now);
        // Keep the core's richer view (origin, volume, whisper) of a stream that just started.
        if rx_before.is_none()
            && let Some(rx) = &core.state().rx
        {
            media.pending_rx = Some(rx.clone());
        }
        r
    }

    /// The router of this phone's pages.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/CGI/Execute", post(execute))
            .route("/CGI/Screenshot", get(screenshot))
            .route("/", get(device_information_html))
            .route("/DeviceInformation", get(device_information_html))
            .route("/DeviceInformationX", get(device_information_x))
            .route("/NetworkConfiguration", get(network_configuration_html))
            .route("/NetworkConfigurationX", get(network_configuration_x))
            .route("/EthernetInformationX", get(ethernet_information_x))
            .route("/PortInformationX", get(port_information_x))
            .route("/DeviceLogX", get(device_log_x))
            .route("/StreamingStatistics", get(streaming_statistics_html))
            .route("/StreamingStatisticsX", get(streaming_statistics_x))
            .with_state(self.clone())
    }

    /// A signal that resolves when the phone crashes or the fleet stops.
    pub fn stopped(self: &Arc<Self>) -> impl Future<Output = ()> + Send + 'static {
        let mut crash = self.crash_tx.subscribe();
        let mut shutdown = self.ctx.shutdown.clone();
        async move {
            tokio::select! {
                _ = crash.wait_for(|c| *c) => {}
                _ = shutdown.wait_for(|s| *s) => {}
            }
        }
    }

    /// Stop answering: HTTP listener closed (by the server task watching [`Self::stopped`]),
    /// streams stopped.
    pub fn crash(&self) {
        if self.crashed.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::info!(phone = %self.info.name, "emulated crash");
        self.crash_tx.send_replace(true);
        self.stop_media();
    }

    /// Stop every stream (fleet shutdown, crash).
    pub fn stop_media(&self) {
        let (_core, mut media) = self.lock();
        let now = self.ctx.now_ms();
        let mut hw = Hw {
            node: self,
            media: &mut media,
            now_ms: now,
        };
        hw.close_rx();
        hw.close_tx();
    }

    pub fn is_crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// The user hangs up (on hook): streams end, callbacks go out.
    pub fn hang_up(self: &Arc<Self>) {
        let effects = self.with_core(|core, hw, now| core.user_hang_up(now, hw));
        self.run_effects(effects);
    }

    /// The user dials a number: the receive stream ends; the application on screen loses the
    /// focus.
    pub fn call(self: &Arc<Self>, number: &str) {
        let effects = self.with_core(|core, hw, now| core.user_call(now, number, hw));
        self.run_effects(effects);
    }

    /// The user presses the Applications key: the service on screen goes to the background
    /// (its application is minimized and remembered), the browser forgets its screen.
    pub fn minimize(self: &Arc<Self>) {
        let effects = self.with_core(|core, _, now| core.user_minimize(now));
        self.cancel_refresh();
        self.browser_lock().close();
        self.run_effects(effects);
    }

    /// The user ends the call.
    pub fn end_call(self: &Arc<Self>) {
        let effects = self.with_core(|core, _, _| core.user_end_call());
        self.run_effects(effects);
    }

    /// The report of this phone.
    pub fn report(&self) -> PhoneReport {
        let now = self.ctx.now_ms();
        let service = self.service_view();
        let (core, media) = self.lock();
        let state = core.state();
        let mut heard = media.heard.clone();
        if let (Some(h), Some(stream)) = (&media.rx, state.rx.clone()) {
            heard.push(HeardStream {
                stream,
                active: true,
                rx: h.snapshot(),
            });
        }
        let view = core.screen_view(now);
        PhoneReport {
            name: self.info.name.clone(),
            model: self.info.model.clone(),
            url: self.info.url.clone(),
            crashed: self.is_crashed(),
            counters: state.counters,
            notifies_delivered: self.notifies_ok.load(Ordering::Relaxed),
            notifies_failed: self.notifies_failed.load(Ordering::Relaxed),
            call: state.call.clone(),
            volume: state.volume,
            screen: view.lines,
            status_banner: core.status_at(now).map(|s| s.text.clone()),
            display_off: view.off,
            heard,
            tx: media
                .tx
                .as_ref()
                .map(TxHandle::snapshot)
                .or_else(|| media.last_tx.clone()),
            transmitting: media.tx.is_some(),
            keys: state.keys.iter().cloned().collect(),
            service,
        }
    }

    fn run_effects(self: &Arc<Self>, effects: Vec<Effect>) {
        for e in effects {
            let node = self.clone();
            tokio::spawn(async move { node.run_effect(e).await });
        }
    }

    async fn run_effect(self: Arc<Self>, effect: Effect) {
        match effect {
            Effect::Notify {
                url,
                authorization,
                body,
            } => {
                // One attempt and, as the phones do, 3 retries.
                for attempt in 0..4 {
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
                    }
                    let mut req = self
                        .ctx
                        .client
                        .post(&url)
                        .header(header::ACCEPT, "*/*")
                        .header(
                            header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded; charset=\"UTF-8\"",
                        )
                        .body(body.clone());
                    if let Some(a) = &authorization {
                        req = req.header(header::AUTHORIZATION, a);
                    }
                    if let Ok(r) = req.send().await
                        && r.status().is_success()
                    {
                        self.notifies_ok.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                self.notifies_failed.fetch_add(1, Ordering::Relaxed);
            }
            Effect::Fetch { url } => {
                // A pushed URL opens like a service the user chose; its answer goes on screen.
                // (A failed request has already put its error line on screen.)
                if let Err(e) = self.navigate(Nav::Pushed(url.clone())).await
                    && !matches!(e, BrowseError::Http { .. })
                {
                    let now = self.ctx.now_ms();
                    let effects = self
                        .core
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .on_fetched(now, &url, Err(e.to_string()));
                    self.run_effects(effects);
                }
            }
        }
    }

    /// The services browser, locked.
    fn browser_lock(&self) -> MutexGuard<'_, Browser> {
        self.browser.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Accept-Language` this phone sends.
    pub fn set_language(&self, language: &str) {
        self.browser_lock().language = language.to_owned();
    }

    /// The service on screen.
    pub fn service_view(&self) -> Option<ServiceView> {
        self.browser_lock().view().cloned()
    }

    /// The last request of the services browser.
    pub fn last_service_request(&self) -> Option<RequestLog> {
        self.browser_lock().last_request().cloned()
    }

    /// The cookies the browser keeps for `host`, oldest first.
    pub fn cookies(&self, host: &str) -> Vec<(String, String)> {
        self.browser_lock().jar.cookies(host)
    }

    fn cancel_refresh(&self) {
        let pending = self
            .refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((_, task)) = pending {
            task.abort();
        }
    }

    /// One browsing step: the user opens a service, selects an item, presses a soft key or
    /// submits an Input; a pushed URL or a `Refresh` arrives. `Ok(None)`: the service closed.
    pub async fn navigate(self: &Arc<Self>, nav: Nav) -> Result<Option<ServiceView>, BrowseError> {
        if self.is_crashed() {
            return Err(BrowseError::Crashed);
        }
        let (action, step) = {
            let b = self.browser_lock();
            let current = || b.view().cloned().ok_or(BrowseError::NoService);
            match &nav {
                Nav::Open(url) | Nav::Pushed(url) => {
                    let url = resolve_url(None, &expand_device_name(url, &self.info.device))?;
                    (Action::Fetch(Request::get(url)), Step::Open)
                }
                Nav::Select(item) => (select_action(&current()?, *item)?, Step::Forward),
                Nav::SoftKey(name) => (softkey_action(&current()?, name)?, Step::Forward),
                Nav::Submit(values) => {
                    let values: Vec<(&str, &str)> = values
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    (submit_action(&current()?, &values)?, Step::Forward)
                }
                Nav::Refresh(url) => (Action::Reload(Request::get(url.clone())), Step::InPlace),
            }
        };
        if !matches!(nav, Nav::Refresh(_)) && !matches!(action, Action::Ignored(_)) {
            // A new navigation replaces a pending Refresh.
            self.cancel_refresh();
        }
        match action {
            Action::Fetch(req) => self.fetch(req, step).await.map(Some),
            Action::Reload(req) => self.fetch(req, Step::InPlace).await.map(Some),
            Action::Back => {
                let back = self.browser_lock().back(self.ctx.now_ms());
                match back {
                    BackStep::Cached(view, text) => {
                        self.show_on_screen(&view, &text);
                        self.schedule_refresh(&view);
                        Ok(Some(*view))
                    }
                    BackStep::Fetch(req) => self.fetch(req, Step::InPlace).await.map(Some),
                    BackStep::Closed => {
                        let effects = self
                            .core
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .close_object();
                        self.run_effects(effects);
                        Ok(None)
                    }
                }
            }
            Action::Exit => {
                self.browser_lock().close();
                let effects = self
                    .core
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .close_object();
                self.run_effects(effects);
                Ok(None)
            }
            Action::Ignored(note) => {
                tracing::debug!(phone = %self.info.name, %note, "key press ignored");
                let mut view = self.service_view().ok_or(BrowseError::NoService)?;
                view.note = Some(note);
                Ok(Some(view))
            }
        }
    }

    /// Send `req` as the phone does (its headers and cookies), follow redirects, read the
    /// object, put it on screen, arm its Refresh.
    async fn fetch(
        self: &Arc<Self>,
        mut req: Request,
        step: Step,
    ) -> Result<ServiceView, BrowseError> {
        let profile = self
            .core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .profile()
            .clone();
        for _hop in 0..=MAX_REDIRECTS {
            req.url = expand_device_name(&req.url, &self.info.device);
            let log = self
                .browser_lock()
                .prepare(self.ctx.now_ms(), &profile, &req);
            let client = self.browse_client();
            let mut rb = if req.method == "POST" {
                client.post(&req.url)
            } else {
                client.get(&req.url)
            };
            for (k, v) in &log.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if let Some(body) = &req.body {
                rb = rb.body(body.clone());
            }
            let mut r = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    self.screen_error(&req.url, "HTTP Error [10]: HTTP Connection Failed");
                    return Err(BrowseError::Http {
                        url: req.url,
                        reason: e.to_string(),
                    });
                }
            };
            let status = r.status().as_u16();
            let text = |name: header::HeaderName| {
                r.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let set_cookies: Vec<String> = r
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            if r.status().is_redirection()
                && let Some(location) = text(header::LOCATION)
            {
                self.browser_lock()
                    .store_cookies(self.ctx.now_ms(), &req.url, &set_cookies);
                let next = resolve_url(Some(&req.url), &location)?;
                req = if status == 307 || status == 308 {
                    Request { url: next, ..req }
                } else {
                    Request::get(next)
                };
                continue;
            }
            let mut answer = Answer {
                url: req.url.clone(),
                status,
                content_type: text(header::CONTENT_TYPE),
                refresh: text(header::REFRESH),
                expires: text(header::EXPIRES),
                set_cookies,
                body: Vec::new(),
            };
            loop {
                match r.chunk().await {
                    Ok(Some(c)) => {
                        answer.body.extend_from_slice(&c);
                        if answer.body.len() > MAX_OBJECT_BYTES {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.screen_error(&req.url, "HTTP Error [10]: HTTP Connection Failed");
                        return Err(BrowseError::Http {
                            url: req.url,
                            reason: e.to_string(),
                        });
                    }
                }
            }
            let (view, text) = self.browser_lock().on_answer(
                self.ctx.now_ms(),
                std::time::SystemTime::now(),
                &answer,
                step,
            );
            self.show_on_screen(&view, &text);
            self.schedule_refresh(&view);
            return Ok(view);
        }
        self.screen_error(&req.url, "HTTP Error [8]: Unknown HTTP Error");
        Err(BrowseError::Http {
            url: req.url,
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    fn screen_error(&self, url: &str, line: &str) {
        let now = self.ctx.now_ms();
        self.core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .on_fetch_error(now, url, line);
    }

    /// Put a view on the screen: its object, or its error line. The application events the
    /// new object causes (the one it replaces loses the focus, its own regains it) go out.
    fn show_on_screen(self: &Arc<Self>, view: &ServiceView, text: &str) {
        match &view.error {
            Some(e) => self.screen_error(&view.url, e),
            None => {
                let now = self.ctx.now_ms();
                let effects = self
                    .core
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .on_fetched(now, &view.url, Ok(text.as_bytes().to_vec()));
                self.run_effects(effects);
            }
        }
    }

    /// Arm the view's `Refresh` (one per phone; it replaces a pending one).
    fn schedule_refresh(self: &Arc<Self>, view: &ServiceView) {
        let Some(refresh) = view.refresh.clone().filter(|r| r.secs > 0) else {
            return;
        };
        let seq = self.refresh_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut slot = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        let node = self.clone();
        let mut shutdown = self.ctx.shutdown.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(refresh.secs)) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            {
                let mut slot = node.refresh.lock().unwrap_or_else(|e| e.into_inner());
                if slot.as_ref().map(|(s, _)| *s) != Some(seq) {
                    return;
                }
                *slot = None;
            }
            if let Err(e) = node.navigate(Nav::Refresh(refresh.url)).await {
                tracing::debug!(phone = %node.info.name, error = %e, "refresh failed");
            }
        });
        if let Some((_, old)) = slot.replace((seq, task.abort_handle())) {
            old.abort();
        }
    }

    /// Arm the fault timers for a stream that just started.
    fn arm_stream_faults(self: &Arc<Self>, started_ms: u64) {
        let faults = &self.info.faults;
        if let Some(after) = faults.hang_up_after {
            let node = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                // Only if the same stream is still running.
                let same = node
                    .core
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .state()
                    .rx
                    .as_ref()
                    .is_some_and(|rx| rx.started_ms == started_ms);
                if same {
                    node.hang_up();
                }
            });
        }
        if let Some(after) = faults.crash_after {
            let node = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                node.crash();
            });
        }
    }

    /// Ask the Authentication URL `url` about the credentials of a basic `Authorization`
    /// header, as phones registered to CUCM do: a form POST of `UserID`, `Password` and
    /// `devicename`; only an answer of exactly `AUTHORIZED` accepts. No header, an unreachable
    /// URL or any other answer refuses.
    pub(crate) async fn authenticate(&self, url: &str, authorization: Option<&str>) -> bool {
        let Some((user, password)) = basic_credentials(authorization) else {
            return false;
        };
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("UserID", &user)
            .append_pair("Password", &password)
            .append_pair("devicename", &self.info.device)
            .finish();
        let answer = async {
            let r = self
                .ctx
                .client
                .post(url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .timeout(AUTH_URL_TIMEOUT)
                .send()
                .await
                .ok()?;
            if !r.status().is_success() {
                return None;
            }
            r.bytes().await.ok()
        }
        .await;
        answer.is_some_and(|b| b.as_ref() == b"AUTHORIZED")
    }

    /// A basic `Authorization` header with this phone's own user and password: how an
    /// Authentication URL's yes reaches the core, which compares with those.
    fn own_authorization(&self) -> String {
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        let id = core.identity();
        let pair = format!("{}:{}", id.user, id.password.expose());
        format!("Basic {}", base64_encode(pair.as_bytes()))
    }

    fn device_info(&self) -> (pages::DeviceInfo, pages::NetworkInfo) {
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        (core.device_info(), core.network_info())
    }
}

type Node = State<Arc<PhoneNode>>;

/// One step of the services browser (see [`PhoneNode::navigate`]).
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

/// Time a phone gives its Authentication URL.
const AUTH_URL_TIMEOUT: Duration = Duration::from_secs(2);

/// User and password of a basic `Authorization` header.
fn basic_credentials(header: Option<&str>) -> Option<(String, String)> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(base64_decode(token.trim())?).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

async fn execute(State(node): Node, headers: HeaderMap, body: Bytes) -> Response {
    // A phone finishes a push it has read even when the sender stops waiting (hyper drops a
    // handler whose client hung up): a slow phone executes a start its pager gave up on.
    tokio::spawn(execute_push(node, headers, body))
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn execute_push(node: Arc<PhoneNode>, headers: HeaderMap, body: Bytes) -> Response {
    if node.is_crashed() {
        node.stopped().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let (latency, fault) = {
        let mut rng = node.rng.lock().unwrap_or_else(|e| e.into_inner());
        node.info.faults.for_push(&mut rng)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fault == PushFault::Hang {
        // Accept, read, never answer (until the fleet stops).
        node.stopped().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let expect_continue =
        text(header::EXPECT).is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let chunked =
        text(header::TRANSFER_ENCODING).is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    // With an Authentication URL the URL decides (asked only for a push the phone would read);
    // its verdict reaches the core as the phone's own credentials or none at all.
    let own;
    let authorization = match &node.ctx.auth_url {
        Some(url) if !expect_continue && !chunked => {
            own = node
                .authenticate(url, text(header::AUTHORIZATION))
                .await
                .then(|| node.own_authorization());
            own.as_deref()
        }
        _ => text(header::AUTHORIZATION),
    };
    let input = PushInput {
        authorization,
        expect_continue,
        chunked,
        body: &body,
    };
    let (outcome, started, service_closed) = node.with_core(|core, hw, now| {
        let before = core.state().counters.rx_started + core.state().counters.tx_started;
        let closed_before = core.state().service_closed;
        core.refuse = fault == PushFault::Refuse;
        let o = core.handle_push(now, &input, hw);
        core.refuse = false;
        let service_closed = core.state().service_closed != closed_before;
        let after = core.state().counters.rx_started + core.state().counters.tx_started;
        let started = (after > before).then(|| {
            core.state()
                .rx
                .as_ref()
                .or(core.state().tx.as_ref())
                .map_or(now, |s| s.started_ms)
        });
        (o, started, service_closed)
    });
    if service_closed {
        // The push took the service off the screen (App:Close, Init:Services ...).
        node.cancel_refresh();
        node.browser_lock().close();
    }
    if let Some(started_ms) = started {
        node.arm_stream_faults(started_ms);
    }
    node.run_effects(outcome.effects);
    let reply = outcome.reply;
    if reply.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    }
    match fault {
        PushFault::Garbage => {
            let body = {
                let mut rng = node.rng.lock().unwrap_or_else(|e| e.into_inner());
                garbage_body(&mut rng)
            };
            ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
        }
        PushFault::Reset => reset_response(&reply),
        PushFault::Huge => huge_response(node.stopped()),
        _ => to_response(reply),
    }
}

/// A well-formed start of a reply that goes on for [`HUGE_REPLY_BYTES`], chunked (no length
/// announced), in 64 KiB pieces produced as the client reads them; it ends early if the phone
/// crashes or the fleet stops, and hyper drops it when the client hangs up.
fn huge_response(stopped: impl Future<Output = ()> + Send + 'static) -> Response {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    const ITEM: &[u8] = b"<ResponseItem URL=\"RTPRx:Stop\" Data=\"Success\" Status=\"0\"/>\n";
    struct Huge {
        head: Option<Bytes>,
        piece: Bytes,
        left: usize,
        stopped: Pin<Box<dyn Future<Output = ()> + Send>>,
    }
    impl futures_core::Stream for Huge {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.stopped.as_mut().poll(cx).is_ready() || self.left == 0 {
                return Poll::Ready(None);
            }
            if let Some(head) = self.head.take() {
                return Poll::Ready(Some(Ok(head)));
            }
            self.left -= 1;
            Poll::Ready(Some(Ok(self.piece.clone())))
        }
    }
    let piece = Bytes::from(ITEM.repeat(64 * 1024 / ITEM.len()));
    let body = Huge {
        head: Some(Bytes::from_static(
            b"<?xml version=\"1.0\"?>\n<CiscoIPPhoneResponse>\n",
        )),
        left: HUGE_REPLY_BYTES / piece.len(),
        piece,
        stopped: Box::pin(stopped),
    };
    let mut r = Response::new(Body::from_stream(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    r
}

fn to_response(reply: Reply) -> Response {
    let mut r = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body,
    )
        .into_response();
    if !reply.content_type.is_empty() {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(reply.content_type),
        );
    } else {
        r.headers_mut().remove(header::CONTENT_TYPE);
    }
    if reply.challenge {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"IP Phone\""),
        );
    }
    r
}

/// Announce the whole body, send half of it, then break the connection.
fn reset_response(reply: &Reply) -> Response {
    let full = if reply.body.is_empty() {
        "<CiscoIPPhoneResponse></CiscoIPPhoneResponse>".to_owned()
    } else {
        reply.body.clone()
    };
    let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
    let stream = futures_stream(half);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    r
}

/// A body stream: some bytes, a pause (so they reach the wire), then an error, on which hyper
/// aborts the connection.
fn futures_stream(
    first: Bytes,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    struct Broken {
        first: Option<Bytes>,
        // Armed once the first bytes are handed over, so they reach the wire however late
        // hyper gets to them.
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
        done: bool,
    }
    impl futures_core::Stream for Broken {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if let Some(b) = self.first.take() {
                self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                return Poll::Ready(Some(Ok(b)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let Some(pause) = self.pause.as_mut() else {
                return Poll::Ready(None);
            };
            match pause.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "emulated reset",
                    ))))
                }
            }
        }
    }
    Broken {
        first: Some(first),
        pause: None,
        done: false,
    }
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/xml; charset=\"iso-8859-1\"")],
        body,
    )
        .into_response()
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn gate(node: &Arc<PhoneNode>) -> Option<Response> {
    if node.is_crashed() {
        node.stopped().await;
        return Some(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    None
}

async fn device_information_x(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    xml(pages::device_information_x(&node.device_info().0))
}

async fn device_information_html(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    html(pages::device_information_html(&node.device_info().0))
}

async fn network_configuration_x(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    xml(pages::network_configuration_x(&node.device_info().1))
}

async fn network_configuration_html(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    html(pages::network_configuration_html(&node.device_info().1))
}

async fn ethernet_information_x(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    xml(pages::ethernet_information_x(&node.device_info().1))
}

fn page_number(q: Option<String>, default: u32) -> Option<u32> {
    match q.as_deref() {
        None | Some("") => Some(default),
        Some(s) => s.parse().ok(),
    }
}

async fn port_information_x(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| pages::port_information_x(n, &node.device_info().1)) {
        Some(body) => xml(body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn device_log_x(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    let lines: Vec<String> = {
        let core = node.core.lock().unwrap_or_else(|e| e.into_inner());
        core.state().log.iter().cloned().collect()
    };
    match page_number(q, 0).and_then(|n| pages::device_log_x(n, &lines)) {
        Some(body) => xml(body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Stream 1 is the phone's media stream: what it receives (the current or last stream) and what
/// it sends; streams 2 and 3 exist and are not active; anything else is not a stream.
fn stream_info(node: &PhoneNode, n: u32) -> Option<StreamInfo> {
    if !(1..=3).contains(&n) {
        return None;
    }
    let (core, media) = node.lock();
    let host = format!("SEP{}", core.identity().mac);
    let mut info = StreamInfo {
        name: host,
        status: "Not Active".into(),
        ..StreamInfo::default()
    };
    if n != 1 {
        return Some(info);
    }
    let ip = node.info.addr.ip();
    let rx_now = media.rx.as_ref().map(RxHandle::snapshot);
    let rx = rx_now
        .clone()
        .or_else(|| media.heard.last().map(|h| h.rx.clone()));
    let rx_stream = core
        .state()
        .rx
        .clone()
        .or_else(|| media.heard.last().map(|h| h.stream.clone()));
    let tx = media
        .tx
        .as_ref()
        .map(TxHandle::snapshot)
        .or_else(|| media.last_tx.clone());
    let active = rx_now.is_some() || media.tx.is_some();
    info.status = if active { "Active" } else { "Not Active" }.into();
    if let (Some(rx), Some(s)) = (&rx, &rx_stream) {
        info.local_addr = format!("{}/{}", if s.multicast { s.addr } else { *ip }, s.port);
        info.remote_addr = rx
            .remote
            .map(|r| format!("{}/{}", r.ip(), r.port()))
            .unwrap_or_default();
        info.start_time = clock_time(node.ctx.epoch, s.started_ms);
        info.rcvr_packets = rx.summary.packets;
        info.rcvr_octets = rx.summary.octets;
        info.rcvr_lost_packets = rx.summary.lost;
        info.avg_jitter = rx.summary.avg_jitter_ms.round() as u32;
        info.max_jitter = rx.summary.max_jitter_ms.round() as u32;
        info.rcvr_codec = rx.summary.codec.clone().unwrap_or_default();
    }
    if let Some(tx) = &tx {
        if info.remote_addr.is_empty() {
            info.remote_addr = tx
                .dest
                .map(|d| format!("{}/{}", d.ip(), d.port()))
                .unwrap_or_default();
        }
        info.sender_packets = tx.packets;
        info.sender_octets = tx.octets;
        info.sender_codec = "G.711u".into();
    }
    Some(info)
}

/// A phone-style wall-clock time (`10:14:09a`) for an instant on the fleet's clock.
fn clock_time(epoch: Instant, at_ms: u64) -> String {
    let now_wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ago = epoch.elapsed().saturating_sub(Duration::from_millis(at_ms));
    let secs = now_wall.saturating_sub(ago).as_secs() % 86_400;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let (h12, ap) = match h {
        0 => (12, 'a'),
        1..=11 => (h, 'a'),
        12 => (12, 'p'),
        _ => (h - 12, 'p'),
    };
    format!("{h12}:{m:02}:{s:02}{ap}")
}

async fn streaming_statistics_x(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| stream_info(&node, n)) {
        Some(info) => xml(pages::streaming_statistics_x(&info)),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn streaming_statistics_html(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| stream_info(&node, n)) {
        Some(info) => html(pages::streaming_statistics_html(&info)),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn screenshot(State(node): Node, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let by_url = match &node.ctx.auth_url {
        Some(url) => Some(node.authenticate(url, auth).await),
        None => None,
    };
    let view = {
        let core = node.core.lock().unwrap_or_else(|e| e.into_inner());
        if !by_url.unwrap_or_else(|| core.authorized(auth)) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"IP Phone\"")],
            )
                .into_response();
        }
        core.screen_view(node.ctx.now_ms())
    };
    let png = screenshot_png(&view);
    ([(header::CONTENT_TYPE, "image/png")], png).into_response()
}

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
