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
//! - [`pages`]: the running pages: start (through [`crate::page::Pager`]), stop, live state,
//!   callbacks routed to their page.
//! - [`services`]: phone services: the XML screens a phone's Services button shows, and the
//!   pages a user starts from them.
//! - [`talk`]: the relay of a page spoken live (a phone's microphone, the browser's).
//! - [`mic`]: the browser microphone's WebSocket feeding that relay.
//! - [`calls`]: SIP calls' pages ([`crate::sip::Desk`]): a caller's audio into that relay.
//! - [`scheduler`]: the bell loop around [`crate::schedule::Scheduler`].
//! - [`bells`]: ringing a bell (the bell loop's path), and `POST /api/bells/{name}/ring`.
//! - [`events`]: Server-Sent Events of the running pages' live state, coalesced per client.
//! - [`sounds`]: listening to a prepared sound as WAV, and deleting uploaded sounds.
//! - [`listen`]: the server's shell of a listen session (a phone's microphone to a WAV file).
//! - [`recordings`]: recordings started from the API, listed, downloaded and deleted.
//! - [`ringtones`]: any sound converted into legal ring files, and the ring lists naming them.
//! - [`health`]: `GET /api/health` (pacer lateness, pages, failing phones, journal and disk).
//! - [`refusal`]: the JSON refusal those console routes answer with.
//! - [`users`]: who may do what: roles, zone grants, the policy table, Argon2id passwords,
//!   session rules (pure); [`throttle`]: failed sign-ins per account and address (pure);
//!   [`csrf`]: the session cookie and the cross-site and CSRF checks (pure).
//! - [`district_pages`]: with `[cluster]`, this site's part of district pages (answered on the
//!   bus through [`pages`]) and the district pages this node starts (issue 24).
//! - [`district_calls`]: a SIP call (or its recording) to a district zone, paged as a district
//!   page spoken live.
//! - [`district_history`]: with `[cluster]`, this node's journal published to its site's stream
//!   and its status to the hub; `GET /api/history?scope=district` and `GET /api/cluster`;
//!   [`history_outbox`]: the SQLite history as that journal's durable outbox (issue 24).
//! - [`stop_retry`]: the stops that failed (a phone's link down at a page's end), tried again
//!   on a backoff until the phone takes them.
//! - [`orphans`]: with `[cluster]`, the phones of bells a silent peer left ringing, stopped
//!   before this node rings (issue 24); [`bell_recovery`]: of a pair, the bell pages a killed
//!   process left playing, stopped at the start only if their claim is still this node's.
//! - [`cucm_table`]: with `[cucm]`, the phones pages plan from, refreshed from CUCM on its
//!   interval and when asked; [`cucm_api`]: `GET /api/cucm` and `POST /api/cucm/refresh`.
//! - [`accounts`]: users, sessions and the audit log in the SQLite database.
//! - [`signin`]: `/api/session`, `/api/users`, `/api/audit`, and the guard in front of every
//!   API route (bearer token or session cookie, policy, CSRF).
//! - [`https_flag`]: the request extension that marks a request arrived over HTTPS.
//! - [`api`]: the HTTP API (bearer token, JSON errors) and `/openapi.json`.
//! - [`http`]: the HTTP/1 accept loop, with the timeouts that keep slow clients from holding
//!   connections (10 s for a request's head, 30 s for its body).
//! - [`https`]: the console's HTTPS listener beside it (certificate files or a self-signed one).
//! - [`serve`]: wiring it all together, and graceful SIGTERM.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod bell_recovery;
pub mod bells;
pub mod calls;
pub mod csrf;
pub mod cucm_api;
pub mod cucm_table;
pub mod district_calls;
pub mod district_history;
pub mod district_pages;
pub mod events;
pub mod health;
pub mod history_outbox;
pub mod http;
pub mod https;
pub mod https_flag;
pub mod listen;
pub mod metrics;
pub mod mic;
pub mod orphans;
pub mod pages;
pub mod recordings;
pub mod refusal;
pub mod ringtones;
pub mod scheduler;
pub mod services;
pub mod signin;
pub mod sounds;
pub mod stop_retry;
pub mod store;
pub mod talk;
pub mod throttle;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::config::Config;
use crate::push::PushClient;
use crate::rtp::Pacer;
use crate::rtp::pacer::PacerOptions;

/// The journal's file in the data directory.
pub const DB_FILE: &str = "zonecast.db";

/// How long shutdown waits for pages to push their stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The URL phones reach the server at (`[server] public_url`, or `http://MEDIA_ADDRESS:PORT`)
/// and the plain-HTTP address of their Notify callbacks built from it (the config check already
/// refused a public URL that cannot give one).
fn public_address(
    config: &Config,
    port: u16,
) -> anyhow::Result<(String, crate::xsi::uri::NotifyBase)> {
    let (public, key) = match &config.server.public_url {
        Some(u) => (u.clone(), "[server] public_url"),
        None => (
            format!("http://{}:{port}", config.engine.media_address),
            "[engine] media_address",
        ),
    };
    let base =
        crate::xsi::uri::NotifyBase::from_url(key, &public).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((public, base))
}

/// Where `zonecast serve` listens, told to `ready` once bound.
#[derive(Debug, Clone, Copy)]
pub struct Listening<'a> {
    /// The plain-HTTP listener (API, phones' callbacks, console).
    pub http: SocketAddr,
    /// The URL phones reach it at.
    pub public: &'a str,
    /// The HTTPS listener and its certificate's SHA-256 fingerprint (`AB:CD:...`), if any.
    pub https: Option<(SocketAddr, &'a str)>,
}

impl<'a> Listening<'a> {
    fn new(http: SocketAddr, public: &'a str, tls: Option<&'a https::HttpsBound>) -> Self {
        let https = tls.map(|t| (t.addr, t.fingerprint.as_str()));
        Listening {
            http,
            public,
            https,
        }
    }
}

/// Run the server until `shutdown` resolves (SIGTERM, Ctrl-C): bind, recover what a killed
/// server left playing, ring bells, serve the API. On shutdown every running page ends with its
/// stops before this returns. `ready` gets the bound addresses once the server listens.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(&Listening<'_>),
) -> anyhow::Result<()> {
    serve_with(config, axum::Router::new(), shutdown, ready).await
}

/// [`serve`], with `extra` routes merged beside the API's (the CLI adds the web console this
/// way, so the server never imports it). `extra` must not set a fallback: the API's JSON 404
/// answers every path neither names. It is long because it wires every part in the one order
/// that is safe (journal, recovery, listener, pacer, pages, bells, routes); each step is a call.
pub async fn serve_with(
    config: Config,
    extra: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(&Listening<'_>),
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let server = &config.server;
    let token = Arc::new(server.token().map_err(|e| anyhow::anyhow!("{e}"))?);
    std::fs::create_dir_all(&server.data_dir)
        .with_context(|| format!("data directory {}", server.data_dir.display()))?;
    let store = store::Store::open(&server.data_dir.join(DB_FILE))?;
    let auth = auth::AuthService::new(server.auth_ttl, server.upstream_auth_url.clone());
    let client = PushClient::new(config.engine.push_config())
        .map_err(|e| anyhow::anyhow!("push client: {e}"))?
        .with_credentials(auth.credentials());

    // Pages a killed server left playing are stopped before anything else happens.
    let journal = store.journal();
    let resolve = |name: &str| config.stop_target(name);
    // SIP endpoints a killed server left in a call are hung up (BYE, or CANCEL).
    let sip = crate::sip::Dialer::new(&config.sip_endpoints);
    // Of a pair, bell pages it left playing wait for the claim (the peer may have taken them).
    let left_bells = if bell_recovery::waits_for_pair(&config) {
        bell_recovery::left_by_bells(&store, &journal.pages()?)
    } else {
        Vec::new()
    };
    let waiting = |page: &crate::page::journal::JournalPage, _: &str| {
        !left_bells
            .iter()
            .any(|l| l.pages.contains(&page.record.page))
    };
    let recovered =
        crate::page::recover::recover_where(&journal, &client, resolve, Some(&*sip), waiting)
            .await
            .with_context(|| format!("recovering from {}", journal.path().display()))?;
    note_recovered(&store, &recovered)?;

    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("listening on {}", server.listen))?;
    let addr = listener.local_addr()?;
    let (public, notify_base) = public_address(&config, addr.port())?;
    let pacer = Arc::new(Pacer::start(PacerOptions::default()).context("starting the pacer")?);
    let metrics = Arc::new(metrics::Metrics::default());
    let uploads = server.data_dir.join("sounds");
    let (quit_tx, quit_rx) = watch::channel(false);
    let table = cucm_table::phone_table(&config, quit_rx.clone());
    let pages = pages::Pages::new(pages::PagesSetup {
        config: config.clone(),
        client: client.clone(),
        pacer: pacer.clone(),
        store: store.clone(),
        metrics: metrics.clone(),
        uploads: uploads.clone(),
        notify_base,
        table: table.table,
    });
    let scheduler = match &config.schedule {
        Some(s) => {
            Some(crate::schedule::Scheduler::from_config(s).map_err(|e| anyhow::anyhow!("{e}"))?)
        }
        None => None,
    };
    let bells = scheduler.as_ref().map_or(0, |s| s.bells().count());
    let site_bells = match (&config.cluster, &scheduler) {
        (Some(c), Some(_)) => Some(Arc::new(
            crate::cluster::SiteBells::start(
                c,
                probe_targets(&config),
                Some(orphans::orphan_stop(config.clone(), client.clone())),
                &left_bells
                    .iter()
                    .map(|l| l.occurrence.clone())
                    .collect::<Vec<_>>(),
            )
            .await
            .context("joining the cluster")?,
        )),
        _ => None,
    };
    if let Some(site) = site_bells.as_ref().filter(|_| !left_bells.is_empty()) {
        let stopper = bell_recovery::Stopper {
            journal: &journal,
            client: &client,
            config: &config,
            sip: &*sip,
        };
        let recovered = bell_recovery::settle(site, left_bells, &stopper).await;
        note_recovered(&store, &recovered)?;
    }
    // Before the bells: a bell of a district zone starts a district page.
    let district = match &config.cluster {
        Some(c) => Some(
            district_pages::DistrictPages::start(
                c,
                pages.clone(),
                site_bells.clone(),
                config.speech.clone(),
            )
            .await
            .context("district pages")?,
        ),
        None => None,
    };
    let bell_task = scheduler.clone().map(|s| {
        tokio::spawn(scheduler::run(
            s,
            pages.clone(),
            store.clone(),
            metrics.clone(),
            quit_rx.clone(),
            site_bells.clone(),
            district.clone(),
        ))
    });
    // With [cluster]: the history published to the site's stream, the node's status to the hub.
    let site_journal =
        district_history::DistrictJournal::from_config(&config, &store, site_bells.clone()).await?;
    let auth_for_metrics = auth.clone();
    let state = api::AppState {
        pages: pages.clone(),
        store: store.clone(),
        config: config.clone(),
        token: token.clone(),
        metrics,
        pacer: pacer.clone(),
        scheduler: scheduler.map(Arc::new),
        uploads,
        upload_limit: server.upload_limit,
        minted: Arc::new(move || auth_for_metrics.minted()),
        cucm: table.cucm,
        district: district.clone(),
        journal: site_journal,
        signin: signin::Signin::new(signin::SigninSetup {
            store: store.clone(),
            token: token.clone(),
            limits: users::SessionLimits {
                lifetime: server.session_lifetime,
                idle: server.session_idle,
            },
            zones: users::grantable_zones(&config),
        }),
    };
    let services = services::router(services::ServicesState {
        pages: pages.clone(),
        config: config.clone(),
        base: public.clone(),
        client: client.clone(),
        district: district.clone(),
    });
    let app = api::router(state, auth.router().merge(services)).merge(extra);
    let tls = https::bind_configured(server, &public).await?;
    ready(&Listening::new(addr, &public, tls.as_ref()));
    tracing::info!(
        "listening on http://{addr} (phones reach it as {public}); {} phones, {} zones, {bells} bells; journal {}",
        config.phones.len(),
        config.zones.len(),
        journal.path().display()
    );
    let sip_task = start_sip(&config, &pages, district.clone(), quit_rx.clone()).await?;
    let retry_task = tokio::spawn(stop_retry::run(
        stop_retry::StopRetrySetup {
            config: config.clone(),
            client: client.clone(),
            sip: sip.clone(),
            store: store.clone(),
            pair: site_bells.clone(),
        },
        quit_rx.clone(),
    ));
    let closing = pages.clone();
    https::serve_beside(listener, tls, app, async move {
        shutdown.await;
        tracing::info!("stopping: ending running pages");
        let _ = quit_tx.send(true);
        closing.shutdown("server stopping", SHUTDOWN_GRACE).await;
    })
    .await;
    if let Some(t) = bell_task {
        let _ = t.await;
    }
    if let Some(t) = sip_task {
        let _ = t.await;
    }
    let _ = retry_task.await;
    tracing::info!("stopped");
    Ok(())
}

/// The SIP user agent of `[sip]`, if the config has one: bound now (a taken port fails the
/// start), run until `quit`.
async fn start_sip(
    config: &Config,
    pages: &pages::Pages,
    district: Option<district_pages::DistrictPages>,
    quit: watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(sip) = &config.sip else {
        return Ok(None);
    };
    let desk = calls::CallDesk::new(pages.clone(), district);
    let agent = crate::sip::Agent::bind(
        sip,
        config.engine.media_address,
        config.engine.loudness,
        desk,
    )
    .await?;
    // (The agent itself logs its TCP listener.)
    let kind = if sip.transports.udp { "udp" } else { "tcp" };
    tracing::info!(
        "SIP listening on {kind}:{} ({} numbers)",
        agent.local(),
        sip.routes.len()
    );
    Ok(Some(tokio::spawn(agent.run(quit))))
}

/// SIGTERM or Ctrl-C.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Log and keep in the recoveries table what a recovery at the start did.
fn note_recovered(
    store: &store::Store,
    recovered: &[crate::page::recover::Recovered],
) -> anyhow::Result<()> {
    if recovered.is_empty() {
        return Ok(());
    }
    let ok = recovered.iter().filter(|r| r.stopped).count();
    tracing::warn!(
        "recovered {ok} of {} phones left playing by pages a stopped server did not end",
        recovered.len()
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    store.recovered(recovered, now)?;
    Ok(())
}

/// The web addresses of the config's first phones, which a node of a standby pair probes to know
/// it sees its LAN (names that do not resolve are left out).
fn probe_targets(config: &Config) -> Vec<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    config
        .phones
        .iter()
        .filter_map(|p| {
            let port = if p.https { 443 } else { 80 };
            let with_port = if p.host.contains(':') {
                p.host.clone()
            } else {
                format!("{}:{port}", p.host)
            };
            with_port.to_socket_addrs().ok()?.next()
        })
        .take(crate::cluster::PROBE_PHONES)
        .collect()
}
