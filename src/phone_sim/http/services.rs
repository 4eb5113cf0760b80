//! The services browser driven over HTTP: one navigation step ([`Nav`]: open, select, soft
//! key, submit, pushed URL, `Refresh`) turned into requests sent from the phone's own address,
//! redirects followed with their cookies, the answer read and put on screen, the next
//! `Refresh` armed. What to request and how to read the answer is the pure
//! [`crate::phone_sim::browser`]'s.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::http::header;

use super::{Nav, PhoneNode};
use crate::phone_sim::browser::{
    Action, Answer, BackStep, BrowseError, Browser, HistoryStep, MAX_OBJECT_BYTES, MAX_REDIRECTS,
    Request, RequestLog, ServiceView, expand_device_name, resolve_url, select_action,
    softkey_action, submit_action,
};

impl PhoneNode {
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

    /// The services browser, locked.
    pub(super) fn browser_lock(&self) -> MutexGuard<'_, Browser> {
        self.browser.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the service's object off the screen and carry out what that sends (its
    /// `onAppClosed` notify ...).
    fn close_service_object(self: &Arc<Self>) {
        let effects = self
            .core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .close_object();
        self.run_effects(effects);
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

    pub(super) fn cancel_refresh(&self) {
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
                    (Action::Fetch(Request::get(url)), HistoryStep::Open)
                }
                Nav::Select(item) => (select_action(&current()?, *item)?, HistoryStep::Forward),
                Nav::SoftKey(name) => (softkey_action(&current()?, name)?, HistoryStep::Forward),
                Nav::Submit(values) => {
                    let values: Vec<(&str, &str)> = values
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    (submit_action(&current()?, &values)?, HistoryStep::Forward)
                }
                Nav::Refresh(url) => (
                    Action::Reload(Request::get(url.clone())),
                    HistoryStep::InPlace,
                ),
            }
        };
        if !matches!(nav, Nav::Refresh(_)) && !matches!(action, Action::Ignored(_)) {
            // A new navigation replaces a pending Refresh.
            self.cancel_refresh();
        }
        match action {
            Action::Fetch(req) => self.fetch(req, step).await.map(Some),
            Action::Reload(req) => self.fetch(req, HistoryStep::InPlace).await.map(Some),
            Action::Back => {
                let back = self.browser_lock().back(self.ctx.now_ms());
                match back {
                    BackStep::Cached(view, text) => {
                        self.show_on_screen(&view, &text);
                        self.schedule_refresh(&view);
                        Ok(Some(*view))
                    }
                    BackStep::Fetch(req) => self.fetch(req, HistoryStep::InPlace).await.map(Some),
                    BackStep::Closed => {
                        self.close_service_object();
                        Ok(None)
                    }
                }
            }
            Action::Exit => {
                self.browser_lock().close();
                self.close_service_object();
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
        step: HistoryStep,
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
}
