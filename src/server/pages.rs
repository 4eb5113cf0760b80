//! The server's running pages: start one (source, plan against the journal, take phones over
//! from lower pages, write who/what/when, run), stop one, show their live per-phone state, route
//! the phones' callbacks to the page that caused them, and end them all on shutdown.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::metrics::Metrics;
use super::sources::{self, Trust};
use super::store::{PageStart, Store};
use super::talk::Relay;
use crate::config::{Config, EqualPolicy};
use crate::error::Invalid;
use crate::g711::Law;
use crate::page::callbacks::{self, Callbacks};
use crate::page::journal::Journal;
use crate::page::prepare::{PageRequest, PrepareError, prepare, take_over};
use crate::page::run::{PageJob, run};
use crate::page::{DeliveryReport, Via};
use crate::push::PushClient;
use crate::rtp::Pacer;
use crate::xsi::response::Callback;

/// What to page.
#[derive(Debug, Clone)]
pub struct StartPage {
    /// Zone name.
    pub zone: String,
    /// What plays (see [`sources::source`]).
    pub source: String,
    /// Who wrote the source: an API caller may not name files.
    pub trust: Trust,
    /// Banner (None: the zone's).
    pub banner: Option<String>,
    /// Priority level (None: the default).
    pub priority: Option<String>,
    /// End after this long (a tone or a looping source needs it).
    pub duration: Option<Duration>,
    /// startMedia/stopMedia instead of RTPRx URIs: a user hanging up ends that phone's part.
    pub via_media: bool,
    /// `api`, `bell:NAME` ...
    pub requested_by: String,
    /// Spoken from this phone's microphone (`source` is then only a description): the phone is
    /// told `RTPTx` to the engine, which relays it to the zone; it gets its stop at the end.
    pub talker: Option<String>,
}

/// Why a page did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad request: unknown zone, bad source ...
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Pages of equal or higher priority hold the zone's phones.
    #[error("{0}")]
    Busy(String),
    /// The journal or the media could not be used.
    #[error("{0}")]
    Failed(String),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl StartError {
    /// The HTTP status an API caller gets.
    pub fn status(&self) -> StatusCode {
        match self {
            StartError::Invalid(_) => StatusCode::BAD_REQUEST,
            StartError::Busy(_) => StatusCode::CONFLICT,
            StartError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            StartError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A running page as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivePage {
    /// Who/what/when.
    #[serde(flatten)]
    pub start: PageStart,
    /// Live state: per phone, and totals.
    pub report: DeliveryReport,
}

struct Running {
    start: PageStart,
    /// `Notify:http:HOST:PORT:zonecast/notify/KEY`.
    notify: String,
    stop: watch::Sender<Option<String>>,
    live: watch::Receiver<DeliveryReport>,
    done: tokio::task::JoinHandle<()>,
}

struct Inner {
    config: Arc<Config>,
    client: PushClient,
    pacer: Arc<Pacer>,
    store: Store,
    journal: Journal,
    metrics: Arc<Metrics>,
    uploads: PathBuf,
    /// `HOST:PORT` phones call back (from the public URL).
    notify_host_port: String,
    active: std::sync::Mutex<BTreeMap<String, Running>>,
    /// Callback key → the page's callback channel.
    routes: std::sync::Mutex<HashMap<String, mpsc::UnboundedSender<(String, Callback)>>>,
    /// One start at a time plans against the journal (pools, priorities).
    planning: tokio::sync::Mutex<()>,
    closing: std::sync::atomic::AtomicBool,
}

/// The running pages (cheap to clone).
#[derive(Clone)]
pub struct Pages {
    inner: Arc<Inner>,
}

/// What a [`Pages`] needs.
pub struct PagesSetup {
    /// The config.
    pub config: Arc<Config>,
    /// The push client (with the minted-credentials source).
    pub client: PushClient,
    /// The pacer every page's stream runs on.
    pub pacer: Arc<Pacer>,
    /// The SQLite journal.
    pub store: Store,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Directory of uploaded sounds.
    pub uploads: PathBuf,
    /// `HOST:PORT` of the server as phones reach it.
    pub notify_host_port: String,
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Pages {
    /// Ready to start pages.
    pub fn new(s: PagesSetup) -> Pages {
        let journal = s.store.journal();
        Pages {
            inner: Arc::new(Inner {
                config: s.config,
                client: s.client,
                pacer: s.pacer,
                store: s.store,
                journal,
                metrics: s.metrics,
                uploads: s.uploads,
                notify_host_port: s.notify_host_port,
                active: Default::default(),
                routes: Default::default(),
                planning: tokio::sync::Mutex::new(()),
                closing: Default::default(),
            }),
        }
    }

    /// The page journal (pages in flight).
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Start a page; returns its id once its phones are in the journal (the pushes go on).
    pub async fn start(&self, req: StartPage) -> Result<String, StartError> {
        let inner = &self.inner;
        if inner.closing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        let config = inner.config.clone();
        let talker = match &req.talker {
            None => None,
            Some(name) => Some(
                config
                    .phone(name)
                    .ok_or_else(|| Invalid::new("talker", name, "is not a phone in the config"))?
                    .clone(),
            ),
        };
        // A talker's page plays the talker (set up once the page's group and port are known).
        let mut payload: Option<Box<dyn crate::rtp::pacer::PayloadSource>> = match talker {
            None => Some(sources::source(
                &req.source,
                &inner.uploads,
                req.trust,
                Law::Ulaw,
            )?),
            Some(_) => None,
        };
        let pre = pre_tone(&config)?;
        // A callback key of its own, so a phone's notify names this page.
        let key = crate::page::prepare::new_page_id();
        let (cb_tx, cb_rx) = mpsc::unbounded_channel();
        // Every page listens: media events (a user hanging up) and application events of its
        // screens (`KEY~PHONE`).
        let callbacks = Callbacks::routed(inner.notify_host_port.clone(), cb_rx);
        let request = PageRequest {
            zone: req.zone.clone(),
            priority: req.priority.clone(),
            banner: req.banner.clone(),
            via: if req.via_media {
                Via::Media {
                    on_stopped: callbacks.notify_uri(&key),
                }
            } else {
                Via::Uri
            },
        };
        let notify_base = callbacks.notify_uri(&key);
        let planning = inner.planning.lock().await;
        let mut waited = Duration::ZERO;
        let (prepared, pages) = loop {
            let pages = inner
                .journal
                .pages()
                .map_err(|e| StartError::Failed(format!("journal: {e}")))?;
            match prepare(&config, &request, &pages) {
                Ok(p) => break (p, pages),
                Err(PrepareError::Invalid(i)) => return Err(i.into()),
                Err(busy @ PrepareError::Busy { .. }) => {
                    // Equal priority waits, as the config says, up to a minute.
                    if config.priorities.equal == EqualPolicy::Wait
                        && waited < Duration::from_secs(60)
                    {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        waited += Duration::from_millis(250);
                        continue;
                    }
                    return Err(StartError::Busy(busy.to_string()));
                }
            }
        };
        let mut prepared = prepared;
        let relay = match talker {
            None => None,
            Some(entry) => {
                let target = crate::page::Target {
                    name: entry.name.clone(),
                    model: entry.model.clone(),
                    ip: crate::page::prepare::phone_ip(&entry.host),
                    push: entry
                        .secret()
                        .map(|s| entry.push_target(s))
                        .map_err(|e| e.to_string()),
                };
                let mut in_use: std::collections::HashSet<u16> =
                    pages.iter().filter_map(|p| p.record.port).collect();
                in_use.extend(config.reserved_ports());
                let (relay, source) = Relay::start(
                    config.engine.media_address,
                    config.engine.port_pool.iter(),
                    &mut in_use,
                    Law::Ulaw,
                )
                .map_err(|e| {
                    StartError::Failed(format!("a port for the talker's microphone: {e}"))
                })?;
                let dest =
                    std::net::SocketAddrV4::new(config.engine.media_address, relay.port().get());
                payload = Some(Box::new(source));
                let banner = format!("Paging {}", prepared.zone);
                let banner: String = banner
                    .chars()
                    .take(crate::config::MAX_BANNER_CHARS)
                    .collect();
                let plan = crate::page::plan::talker_plan(target, dest, Some(&banner));
                if let Some(why) = &plan.refused {
                    return Err(StartError::Invalid(Invalid::new(
                        "talker",
                        &entry.name,
                        why.clone(),
                    )));
                }
                // The talker speaks; it does not also listen to itself.
                prepared.plans.retain(|p| p.name != entry.name);
                prepared.plans.push(plan);
                Some(relay)
            }
        };
        let mut payload = payload.expect("a source or a talker");
        if let Some(pre) = pre {
            payload = crate::page::source::sequence(vec![pre, payload]);
        }
        take_over(&prepared, &pages, &inner.journal, &inner.client)
            .await
            .map_err(|e| StartError::Failed(format!("journal: {e}")))?;
        let id = prepared.id.clone();
        let start = PageStart {
            page: id.clone(),
            zone: prepared.zone.clone(),
            priority: prepared.priority.0.clone(),
            source: req.source.clone(),
            banner: req.banner.clone(),
            requested_by: req.requested_by.clone(),
            started_ms: unix_ms(),
        };
        inner
            .store
            .page_started(&start)
            .map_err(|e| StartError::Failed(e.to_string()))?;
        let (stop_tx, stop_rx) = watch::channel(None);
        let empty = DeliveryReport {
            page: id.clone(),
            zone: prepared.zone.clone(),
            priority: prepared.priority.0.clone(),
            delivery: String::new(),
            ended_by: String::new(),
            last_accept_ms: None,
            duration_ms: 0.0,
            totals: Default::default(),
            phones: Vec::new(),
        };
        let (live_tx, mut live_rx) = watch::channel(empty);
        live_rx.mark_unchanged();
        let job = PageJob {
            id: id.clone(),
            zone: prepared.zone.clone(),
            priority: prepared.priority.clone(),
            delivery: prepared.delivery,
            plans: prepared.plans,
            source: payload,
            law: Law::Ulaw,
            sender: config.sender_options(&req.zone),
            duration: req.duration,
            gate: Duration::from_secs(1),
            journal: inner.journal.clone(),
            client: inner.client.clone(),
            verify: None,
            callbacks: Some(callbacks),
            fallback: None,
            live: Some(live_tx),
        };
        inner
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), cb_tx);
        inner.metrics.page_started();
        let me = self.clone();
        let page_id = id.clone();
        let done = tokio::spawn(async move {
            let inner = &me.inner;
            let result = run(job, &inner.pacer, stop_rx).await;
            let relayed = relay.map(|r| r.stats());
            let report = match result {
                Ok(mut r) => {
                    if let Some(stats) = relayed {
                        if r.ended_by == "source ended" {
                            r.ended_by = "the talker stopped sending".into();
                        }
                        tracing::info!(
                            "page {page_id}: relayed {} packets from the talker",
                            stats.packets
                        );
                    }
                    if let Err(e) = inner.store.page_finished(&r, unix_ms()) {
                        tracing::error!("page {page_id}: {e}");
                    }
                    tracing::info!(
                        "page {page_id} ended ({}): {} of {} phones reached",
                        r.ended_by,
                        r.totals.accepted,
                        r.totals.phones
                    );
                    Some(r)
                }
                Err(e) => {
                    tracing::error!("page {page_id} could not run: {e}");
                    None
                }
            };
            inner.metrics.page_ended(report.as_ref());
            inner
                .routes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            inner
                .active
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&page_id);
        });
        inner
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id.clone(),
                Running {
                    start,
                    notify: notify_base,
                    stop: stop_tx,
                    live: live_rx.clone(),
                    done,
                },
            );
        // The next start plans once this page's phones are in the journal (its first live
        // state is published right after), or it ended at once.
        let _ = tokio::time::timeout(Duration::from_secs(10), live_rx.changed()).await;
        drop(planning);
        tracing::info!(
            "page {id} started: zone {} by {}",
            req.zone,
            req.requested_by
        );
        Ok(id)
    }

    /// The Notify URI whose callbacks reach page `id` as phone `phone`'s (application events
    /// of a screen shown to it).
    pub fn notify_uri(&self, id: &str, phone: &str) -> Option<String> {
        let active = self.inner.active.lock().unwrap_or_else(|e| e.into_inner());
        active.get(id).map(|r| format!("{}~{phone}", r.notify))
    }

    /// Ask a page to end (its phones get their stops). `false` if no such page runs.
    pub fn stop(&self, id: &str, reason: &str) -> bool {
        let active = self.inner.active.lock().unwrap_or_else(|e| e.into_inner());
        match active.get(id) {
            Some(r) => {
                r.stop.send_replace(Some(reason.to_owned()));
                true
            }
            None => false,
        }
    }

    /// The running pages with their live state.
    pub fn active(&self) -> Vec<ActivePage> {
        let active = self.inner.active.lock().unwrap_or_else(|e| e.into_inner());
        active
            .values()
            .map(|r| ActivePage {
                start: r.start.clone(),
                report: r.live.borrow().clone(),
            })
            .collect()
    }

    /// One running page.
    pub fn get(&self, id: &str) -> Option<ActivePage> {
        let active = self.inner.active.lock().unwrap_or_else(|e| e.into_inner());
        active.get(id).map(|r| ActivePage {
            start: r.start.clone(),
            report: r.live.borrow().clone(),
        })
    }

    /// Wait until page `id` has ended (at most `timeout`). `true` if it ended.
    pub async fn wait(&self, id: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let running = self
                .inner
                .active
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(id);
            if !running {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A phone's callback for key `key` (the path of its Notify URI): handed to its page, or
    /// 404 when no running page expects it.
    pub fn callback(&self, key: &str, body: &[u8]) -> StatusCode {
        let routes = self.inner.routes.lock().unwrap_or_else(|e| e.into_inner());
        let base = key.split_once('~').map_or(key, |(k, _)| k);
        match routes.get(base) {
            Some(tx) => callbacks::accept(tx, key.to_owned(), body),
            None => {
                tracing::warn!("callback for unknown page {key:?} refused");
                StatusCode::NOT_FOUND
            }
        }
    }

    /// End every page (their stops are pushed) and wait for them, at most `timeout`. New
    /// starts are refused from now on.
    pub async fn shutdown(&self, reason: &str, timeout: Duration) {
        self.inner
            .closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let handles: Vec<_> = {
            let mut active = self.inner.active.lock().unwrap_or_else(|e| e.into_inner());
            for r in active.values() {
                r.stop.send_replace(Some(reason.to_owned()));
            }
            active
                .values_mut()
                .map(|r| std::mem::replace(&mut r.done, tokio::spawn(async {})))
                .collect()
        };
        let all = async {
            for h in handles {
                let _ = h.await;
            }
        };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::error!(
                "pages still ending after {timeout:?}: the journal keeps their phones for recovery"
            );
        }
    }
}

fn pre_tone(config: &Config) -> Result<Option<Box<dyn crate::rtp::pacer::PayloadSource>>, Invalid> {
    use crate::config::PreTone;
    use crate::page::source::{Segment, segment_source};
    let seg = match &config.engine.pre_tone {
        None => return Ok(None),
        Some(PreTone::Chime) => Segment::Chime,
        Some(PreTone::Tone(hz)) => Segment::Tone { hz: *hz, secs: 1.0 },
        Some(PreTone::File(p)) => Segment::File(p.clone()),
    };
    segment_source(&seg, Law::Ulaw).map(Some)
}
