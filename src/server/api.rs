//! The HTTP API (JSON, bearer token) and the routes phones use (callbacks, the Authentication
//! URL), plus `/metrics`, `/healthz` and `/openapi.json`. Every error is JSON:
//! `{"error": "what went wrong"}` with the fitting status.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::metrics::Metrics;
use super::pages::{Pages, StartPage};
use super::store::Store;
use super::users::Actor;
use crate::config::Config;
use crate::push::Secret;
use crate::rtp::Pacer;
use crate::schedule::Scheduler;
use crate::source::{self, Trust};

/// The OpenAPI document, checked in beside this file's routes (a test keeps them in step).
pub const OPENAPI: &str = include_str!("openapi.json");

/// Largest JSON request body (a page request is a few hundred bytes).
const JSON_LIMIT: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Running pages.
    pub pages: Pages,
    /// The SQLite journal.
    pub store: Store,
    /// The config.
    pub config: Arc<Config>,
    /// The API's bearer token.
    pub token: Arc<Secret>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The pacer (its counters for `/metrics`).
    pub pacer: Arc<Pacer>,
    /// The bells (for next firings), if the config has any.
    pub scheduler: Option<Arc<Scheduler>>,
    /// Uploaded sounds.
    pub uploads: PathBuf,
    /// Largest upload.
    pub upload_limit: usize,
    /// Minted credentials so far, for `/metrics`.
    pub minted: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Console users and sessions: the guard in front of every API route.
    pub signin: super::signin::Signin,
    /// With `[cluster]`: district pages (a zone of `[cluster.district]`, paged at every site).
    pub district: Option<super::district_pages::DistrictPages>,
    /// With `[cucm]`, the discovered phones and their refreshes (rule zones' members).
    pub cucm: Option<Arc<super::cucm_table::CucmTable>>,
    /// With `[cluster]`: this node's journal link (the district's history, the nodes' status).
    pub journal: Option<Arc<super::district_history::DistrictJournal>>,
}

/// A JSON error.
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.0, axum::Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"zonecast\""),
            );
        }
        r
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(status: StatusCode, v: Value) -> ApiResult {
    Ok((status, axum::Json(v)).into_response())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// The whole application: API (token), phone routes, metrics. `phone_routes` are merged
/// unauthenticated (the Authentication URL).
pub fn router(state: AppState, phone_routes: Router) -> Router {
    let api = Router::new()
        .route("/api/pages", post(start_page).get(list_pages))
        .route("/api/pages/{id}", get(get_page).delete(stop_page))
        .route("/api/pages/{id}/mic", get(mic_socket))
        .route("/api/history", get(history))
        .route("/api/history/{id}", get(history_page))
        .route("/api/zones", get(zones))
        .route("/api/phones", get(phones))
        .route("/api/phones/{name}", get(phone))
        .route("/api/bells", get(bells_next))
        .route("/api/bells/history", get(bells_history))
        .route("/api/priorities", get(priorities))
        .route("/api/recoveries", get(recoveries))
        .route("/api/sounds", get(sounds))
        .route(
            "/api/sounds/{name}",
            put(upload).layer(DefaultBodyLimit::max(state.upload_limit)),
        )
        .merge(super::events::router(super::events::PageEvents::new(
            state.pages.clone(),
            state.store.clone(),
        )))
        .merge(super::bells::router(
            super::bells::BellRinger {
                pages: state.pages.clone(),
                district: state.district.clone(),
                store: state.store.clone(),
                metrics: state.metrics.clone(),
                hand_over: None,
            },
            state.scheduler.clone(),
        ))
        .merge(super::sounds::router(super::sounds::SoundShelf {
            config: state.config.clone(),
            uploads: state.uploads.clone(),
        }))
        .merge(super::recordings::router(
            super::recordings::Recordings::new(
                state.config.clone(),
                state.pages.clone(),
                state.store.journal(),
            ),
        ))
        .merge(super::calls::router(
            state.config.server.data_dir.join(super::calls::CALLS_DIR),
        ))
        .merge(super::ringtones::router(super::ringtones::RingtoneShelf {
            dir: state.config.server.data_dir.join("ringtones"),
            upload_limit: state.upload_limit,
        }))
        .merge(super::health::router(super::health::HealthSources {
            config: state.config.clone(),
            pages: state.pages.clone(),
            store: state.store.clone(),
            pacer: state.pacer.clone(),
        }))
        .merge(super::signin::router(state.signin.clone()))
        .merge(super::cucm_api::router(state.cucm.clone()))
        .merge(super::district_history::router(state.journal.clone()))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            state.signin.clone(),
            super::signin::guard,
        ));
    Router::new()
        .merge(api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route(
            &format!("/{}/{{key}}", crate::page::callbacks::PREFIX),
            post(callback).layer(DefaultBodyLimit::max(JSON_LIMIT)),
        )
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError(
                StatusCode::METHOD_NOT_ALLOWED,
                "this route does not take that method (see /openapi.json)".into(),
            )
        })
        .with_state(state)
        .merge(phone_routes)
}

/// `POST /api/pages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageBody {
    zone: String,
    /// Required unless `talker` is given.
    source: Option<String>,
    /// Speak from this phone's microphone (the phone is told RTPTx; the engine relays).
    talker: Option<String>,
    banner: Option<String>,
    priority: Option<String>,
    /// Seconds.
    duration: Option<f64>,
    /// `uri` (default) or `media`.
    via: Option<String>,
    /// The voice a `say:` item speaks in, over the configured `[speech]` voice.
    voice: Option<crate::source::VoiceChange>,
}

async fn start_page(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<axum::Json<PageBody>, JsonRejection>,
) -> ApiResult {
    let axum::Json(b) = body.map_err(json_rejection)?;
    let voice = b.voice.clone();
    let mut req = page_request(b)?;
    req.voice = voice.map(|v| v.apply(&s.config.speech));
    if !actor.may_page(&req.zone) {
        return Err(not_granted(&actor, &req.zone));
    }
    req.origin = actor.origin();
    if let Some(d) = s.district.as_ref().filter(|d| d.zone(&req.zone).is_some()) {
        let id = if req.source == super::pages::BROWSER_MIC {
            d.start_mic(&req)
        } else {
            d.start_page(&req)
        }
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
        let report = d.get(&id).map(|(_, r)| r);
        return ok(StatusCode::CREATED, json!({ "id": id, "district": report }));
    }
    let id = s
        .pages
        .start(req)
        .await
        .map_err(|e| ApiError(e.status(), e.to_string()))?;
    let page = s
        .pages
        .get(&id)
        .map(|p| serde_json::to_value(p).unwrap_or(Value::Null));
    ok(StatusCode::CREATED, json!({ "id": id, "page": page }))
}

/// A JSON body axum could not take, as the API answers it: JSON of the wrong shape (a missing
/// or unknown field, a wrong type) is 400 like every other check of the body and like
/// [`parse_start_page`]; axum's own 422 for it was not in the OpenAPI document. A body not sent
/// as `application/json` stays 415, one over the limit 413, one that is not JSON 400.
fn json_rejection(e: JsonRejection) -> ApiError {
    let status = match e {
        JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
        ref other => other.status(),
    };
    ApiError(status, e.body_text())
}

/// The body of `POST /api/pages` as the handler reads it (JSON, then the same checks), without
/// HTTP or a running server: for the fuzzer (`fuzz/fuzz_targets/api_body.rs`) and tests.
pub fn parse_start_page(body: &[u8]) -> Result<StartPage, ApiError> {
    let b: PageBody = serde_json::from_slice(body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    page_request(b)
}

/// A checked page request from its JSON body.
fn page_request(b: PageBody) -> Result<StartPage, ApiError> {
    let duration = match b.duration {
        None => None,
        // The last check: a positive duration under a nanosecond would become zero.
        Some(d)
            if d.is_finite()
                && d > 0.0
                && d <= 86_400.0
                && !Duration::from_secs_f64(d).is_zero() =>
        {
            Some(Duration::from_secs_f64(d))
        }
        Some(d) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("duration {d}: must be seconds, more than 0 and at most 86400"),
            ));
        }
    };
    let via_media = match b.via.as_deref() {
        None | Some("uri") => false,
        Some("media") => true,
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("via {other:?}: must be \"uri\" or \"media\""),
            ));
        }
    };
    if let Some(v) = &b.voice {
        v.check()
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    }
    let source = match (&b.talker, b.source) {
        (Some(t), None) => format!("mic:{t}"),
        (None, Some(s)) => s,
        (Some(_), Some(_)) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "give source or talker, not both (a talker's page plays its microphone)".into(),
            ));
        }
        (None, None) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "missing field `source` (or `talker`: the phone whose microphone pages)".into(),
            ));
        }
    };
    Ok(StartPage {
        zone: b.zone,
        source,
        trust: Trust::Api,
        banner: b.banner,
        priority: b.priority,
        duration,
        via_media,
        origin: crate::page::Origin::Api { token: None },
        talker: b.talker,
        voice: None,
        hand_over: None,
    })
}

async fn list_pages(State(s): State<AppState>) -> ApiResult {
    ok(StatusCode::OK, json!({ "pages": s.pages.active() }))
}

async fn get_page(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    if let Some((active, r)) = s.district.as_ref().and_then(|d| d.get(&id)) {
        return ok(StatusCode::OK, json!({ "active": active, "district": r }));
    }
    if let Some(p) = s.pages.get(&id) {
        return ok(StatusCode::OK, json!({ "active": true, "page": p }));
    }
    match s.store.page(&id).map_err(internal)? {
        Some(d) => ok(StatusCode::OK, json!({ "active": false, "page": d })),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no page {id:?}"))),
    }
}

/// 403 for a user who may not page `zone`.
fn not_granted(actor: &Actor, zone: &str) -> ApiError {
    ApiError(
        StatusCode::FORBIDDEN,
        format!(
            "{} may not page or stop zone {zone:?} (not among the zones granted to them)",
            actor.name()
        ),
    )
}

async fn stop_page(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult {
    if let Some(d) = &s.district
        && let Some(zone) = d.running_zone(&id)
    {
        if !actor.may_page(&zone) {
            return Err(not_granted(&actor, &zone));
        }
        d.stop(&id, &format!("stopped by {}", actor.name()));
        return ok(StatusCode::ACCEPTED, json!({ "id": id, "stopping": true }));
    }
    if let Some(p) = s.pages.get(&id)
        && !actor.may_page(&p.start.zone)
    {
        return Err(not_granted(&actor, &p.start.zone));
    }
    let reason = match &actor {
        Actor::Token => "stopped by api".to_owned(),
        Actor::User(_) => format!("stopped by user {}", actor.name()),
    };
    if s.pages.stop_by(&id, &reason, actor.name()) {
        ok(StatusCode::ACCEPTED, json!({ "id": id, "stopping": true }))
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no running page {id:?} (it may have ended: see /api/history/{id})"),
        ))
    }
}

/// `GET /api/pages/{id}/mic?rate=R`: the browser microphone's WebSocket (see [`super::mic`]),
/// opened by whoever may stop the page.
async fn mic_socket(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    q: Result<Query<MicRate>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ws: Result<
        axum::extract::ws::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
) -> ApiResult {
    let q = query(q)?;
    if let Some(p) = s.pages.get(&id)
        && !actor.may_page(&p.start.zone)
    {
        return Err(not_granted(&actor, &p.start.zone));
    }
    if let Some(zone) = s.district.as_ref().and_then(|d| d.running_zone(&id))
        && !actor.may_page(&zone)
    {
        return Err(not_granted(&actor, &zone));
    }
    let req = super::mic::MicRequest {
        id,
        by: actor.name().to_owned(),
        rate: q.rate,
        target: s.config.engine.loudness,
    };
    super::mic::open(&s.pages, s.district.as_ref(), req, &headers, ws)
        .map_err(|(status, why)| ApiError(status, why))
}

/// `?rate=` of the microphone's socket.
#[derive(Debug, Deserialize)]
struct MicRate {
    rate: Option<u32>,
}

/// A query string, or a JSON 400 saying what is wrong with it.
fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))
}

/// A count from the query string: `default` when absent, refused with a 400 naming the
/// parameter outside 1..=`max` (the range `openapi.json` documents), never silently cut.
fn count(name: &str, given: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match given.unwrap_or(default) {
        n @ 1.. if n <= max => Ok(n),
        n => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("{name} {n}: must be 1..={max}"),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct Limit {
    limit: Option<usize>,
}

/// `GET /api/history`: `scope` is `local` (this server's journal, the default) or `district`.
#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
    scope: Option<String>,
}

async fn history(
    State(s): State<AppState>,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let limit = count("limit", q.limit, 50, 1000)?;
    match q.scope.as_deref() {
        None | Some("local") => {}
        Some("district") => {
            let answer = super::district_history::answer_history(s.journal.as_deref(), limit);
            return Ok(answer.await.unwrap_or_else(IntoResponse::into_response));
        }
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!(
                    "scope {:?}: must be local or district",
                    other.chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    ok(
        StatusCode::OK,
        json!({ "pages": s.store.pages(limit).map_err(internal)? }),
    )
}

async fn history_page(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    match s.store.page(&id).map_err(internal)? {
        Some(d) => ok(StatusCode::OK, serde_json::to_value(d).map_err(internal)?),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no page {id:?} in the journal"),
        )),
    }
}

async fn zones(State(s): State<AppState>) -> ApiResult {
    // A rule zone's members are resolved against the table in use now.
    let site = s.cucm.as_ref().and_then(|c| c.facts().site);
    let mut out = Vec::new();
    for z in &s.config.zones {
        let mut phones: Vec<String> = s
            .config
            .resolve_zone(&z.name)
            .map(|v| v.into_iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default();
        if let Some(site) = &site {
            for name in site.rule_members(&z.name).unwrap_or_default() {
                if !phones.contains(&name) {
                    phones.push(name);
                }
            }
        }
        let mode = match &z.mode {
            crate::config::ZoneMode::Multicast { .. } => "multicast",
            crate::config::ZoneMode::Unicast => "unicast",
        };
        let rule = z.from_cucm.as_ref().map(|r| {
            json!({
                "device_pool": r.device_pool,
                "description": r.description.as_ref().map(|d| d.as_str()),
                "directory_number": r.directory_number.as_ref().map(|d| d.as_str()),
                "location": r.location,
            })
        });
        out.push(json!({
            "name": z.name,
            "members": z.members,
            "phones": phones,
            "mode": mode,
            "banner": z.banner,
            "codec": z.codec,
            "from_cucm": rule,
        }));
    }
    ok(
        StatusCode::OK,
        json!({ "zones": out, "district_zones": district_zones(&s.config) }),
    )
}

/// The district zones of `[cluster.district]` (none without it), as `GET /api/zones` lists
/// them beside the site's: paged through `POST /api/pages` like a site's zone, a part per
/// `SITE:ZONE` member.
fn district_zones(config: &Config) -> Vec<Value> {
    let zones = config.cluster.iter().flat_map(|c| &c.district);
    zones
        .map(|d| {
            let mut sites: Vec<&str> = Vec::new();
            for (site, _) in &d.members {
                if !sites.contains(&site.as_str()) {
                    sites.push(site);
                }
            }
            let members: Vec<String> = d.members.iter().map(|(s, z)| format!("{s}:{z}")).collect();
            json!({ "name": d.name, "district": true, "sites": sites, "members": members })
        })
        .collect()
}

fn phone_json(
    s: &AppState,
    p: &crate::config::PhoneEntry,
    status: &[super::store::PhoneStatus],
    busy: &[(String, String, String)],
) -> Value {
    let st = status.iter().find(|x| x.phone == p.name);
    let page = busy.iter().find(|(n, _, _)| *n == p.name);
    json!({
        "name": p.name,
        "host": p.host,
        "model": p.model,
        "last_seen_ms": st.map(|x| x.last_seen_ms),
        "last_outcome": st.map(|x| x.last_outcome.clone()),
        "last_failure": st.and_then(|x| x.failure.clone()),
        "page": page.map(|(_, id, state)| json!({ "id": id, "state": state })),
        "zones": s.config.zones.iter()
            .filter(|z| s.config.resolve_zone(&z.name).is_ok_and(|v| v.iter().any(|q| q.name == p.name)))
            .map(|z| z.name.clone()).collect::<Vec<_>>(),
    })
}

/// (phone, page id, state) for every phone in a running page.
fn busy_phones(s: &AppState) -> Vec<(String, String, String)> {
    s.pages
        .active()
        .into_iter()
        .flat_map(|p| {
            let id = p.start.page.clone();
            p.report.phones.into_iter().map(move |ph| {
                let state = serde_json::to_value(ph.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                (ph.name, id.clone(), state)
            })
        })
        .collect()
}

async fn phones(State(s): State<AppState>) -> ApiResult {
    let status = s.store.phone_status().map_err(internal)?;
    let busy = busy_phones(&s);
    let list: Vec<Value> = s
        .config
        .phones
        .iter()
        .map(|p| phone_json(&s, p, &status, &busy))
        .collect();
    ok(StatusCode::OK, json!({ "phones": list }))
}

async fn phone(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult {
    let Some(p) = s.config.phone(&name) else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no phone {name:?} in the config"),
        ));
    };
    let status = s.store.phone_status().map_err(internal)?;
    ok(StatusCode::OK, phone_json(&s, p, &status, &busy_phones(&s)))
}

#[derive(Debug, Deserialize)]
struct Next10 {
    n: Option<usize>,
}

async fn bells_next(
    State(s): State<AppState>,
    q: Result<Query<Next10>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let n = count("n", q.n, 10, 500)?;
    let Some(sch) = &s.scheduler else {
        return ok(
            StatusCode::OK,
            json!({ "timezone": Value::Null, "next": [] }),
        );
    };
    let next: Vec<Value> = sch
        .next_firings(chrono::Utc::now(), n)
        .into_iter()
        .map(|f| {
            let b = sch.bell(&f.bell);
            json!({
                "bell": f.bell,
                "at": f.at.to_rfc3339(),
                "local": f.local,
                "zones": b.map(|b| b.zones.clone()),
                "source": b.map(|b| b.source.clone()),
                "priority": b.and_then(|b| b.priority.clone()),
            })
        })
        .collect();
    ok(
        StatusCode::OK,
        json!({ "timezone": sch.calendar().tz.name(), "next": next }),
    )
}

async fn bells_history(
    State(s): State<AppState>,
    q: Result<Query<Limit>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let limit = count("limit", q.limit, 50, 1000)?;
    ok(
        StatusCode::OK,
        json!({ "bells": s.store.bells(limit).map_err(internal)? }),
    )
}

/// The priority levels a page may name, lowest first, the default, and those that play at the
/// phones' loudest volume.
async fn priorities(State(s): State<AppState>) -> ApiResult {
    let p = &s.config.priorities;
    ok(
        StatusCode::OK,
        json!({ "levels": p.levels, "default": p.default, "loudest": p.loudest }),
    )
}

/// What recoveries did (phones a killed page left listening, stopped at a start), newest first.
async fn recoveries(
    State(s): State<AppState>,
    q: Result<Query<Limit>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let limit = count("limit", q.limit, 50, 1000)?;
    ok(
        StatusCode::OK,
        json!({ "recoveries": s.store.recoveries(limit).map_err(internal)? }),
    )
}

async fn sounds(State(s): State<AppState>) -> ApiResult {
    let mut uploaded: Vec<String> = std::fs::read_dir(&s.uploads)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let (stem, _) = name.rsplit_once('.')?;
                    (!name.starts_with('.') && source::check_upload_name(stem).is_ok())
                        .then(|| stem.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    uploaded.sort();
    ok(
        StatusCode::OK,
        json!({ "bundled": source::BUNDLED, "uploaded": uploaded }),
    )
}

/// `?format=` of `PUT /api/sounds/NAME`: `ulaw` declares headerless µ-law.
#[derive(Debug, Deserialize)]
struct UploadQuery {
    format: Option<String>,
}

async fn upload(
    State(s): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body.map_err(|e| {
        let status = e.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "the upload is larger than [server] upload_limit ({} bytes)",
                s.upload_limit
            )
        } else {
            e.body_text()
        };
        ApiError(status, msg)
    })?;
    // Headerless µ-law only when declared; anything else must be a container that decodes.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = source::UploadFormat::declared(content_type, query(q)?.format.as_deref())
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    let dir = s.uploads.clone();
    let stored = tokio::task::spawn_blocking(move || {
        source::store_upload(&dir, &name, &body, format).map(|(_, secs)| (name, secs))
    })
    .await
    .map_err(internal)?;
    let (name, secs) = stored.map_err(|e| match e {
        source::UploadRefused::UnsupportedType(e) => {
            ApiError(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string())
        }
        source::UploadRefused::Invalid(e) => ApiError(StatusCode::BAD_REQUEST, e.to_string()),
    })?;
    ok(
        StatusCode::CREATED,
        json!({ "name": name, "seconds": secs, "source": format!("upload:{name}") }),
    )
}

async fn metrics(State(s): State<AppState>) -> Response {
    s.metrics.set_minted((s.minted)());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(&s.pacer.stats()),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn callback(
    State(s): State<AppState>,
    Path(key): Path<String>,
    _h: HeaderMap,
    body: Bytes,
) -> StatusCode {
    s.pages.callback(&key, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_that_rounds_to_zero_is_refused() {
        // Found by fuzz/fuzz_targets/api_body.rs: 1e-10 s passed the "more than 0" check and
        // became a zero Duration.
        let body = br#"{"zone":"a","source":"chime","duration":0.0000000001}"#;
        match parse_start_page(body) {
            Ok(p) => panic!("accepted as {p:?}"),
            Err(ApiError(status, msg)) => {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert!(msg.contains("more than 0"), "{msg}");
            }
        }
        let ok = parse_start_page(br#"{"zone":"a","source":"chime","duration":0.5}"#);
        assert_eq!(
            ok.ok().and_then(|p| p.duration),
            Some(Duration::from_millis(500))
        );
    }
}
