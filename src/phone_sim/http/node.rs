//! A phone's life: built from its info and core, the one lock order (core, then media), its
//! router, crash and stop, what its user does (hang up, call, minimize, end the call), its
//! report, and the core's effects carried out (callbacks delivered with retries, pushed URLs
//! opened in the services browser). The pushes themselves are `execute`'s; the pages are
//! `device_pages`'s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use tokio::sync::watch;

use super::device_pages::{
    device_information_html, device_information_x, device_log_html, device_log_x,
    ethernet_information_html, ethernet_information_x, network_configuration_html,
    network_configuration_x, port_information_html, port_information_x, screenshot,
    streaming_statistics_html, streaming_statistics_x,
};
use super::execute::execute;
use super::{FleetCtx, FleetPhoneReport, HeardStream, Hw, MediaState, Nav, PhoneInfo, PhoneNode};
use crate::phone_sim::browser::{BrowseError, Browser};
use crate::phone_sim::core::{Effect, Hardware, PhoneCore};
use crate::phone_sim::faults::Rng;
use crate::phone_sim::media::TxHandle;

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

    pub(super) fn lock(&self) -> (MutexGuard<'_, PhoneCore>, MutexGuard<'_, MediaState>) {
        // Always core first, then media: one order, no deadlock.
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        let media = self.media.lock().unwrap_or_else(|e| e.into_inner());
        (core, media)
    }

    /// Run `f` on the core with the real hardware.
    pub(super) fn with_core<R>(
        &self,
        f: impl FnOnce(&mut PhoneCore, &mut dyn Hardware, u64) -> R,
    ) -> R {
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
            .route("/EthernetInformation", get(ethernet_information_html))
            .route("/EthernetInformationX", get(ethernet_information_x))
            .route("/PortInformation", get(port_information_html))
            .route("/PortInformationX", get(port_information_x))
            .route("/DeviceLog", get(device_log_html))
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
    pub fn report(&self) -> FleetPhoneReport {
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
        FleetPhoneReport {
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

    pub(super) fn run_effects(self: &Arc<Self>, effects: Vec<Effect>) {
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
}
