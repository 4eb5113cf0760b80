//! The phones from CUCM over the API: `GET /api/cucm` (the discovered table, from when and
//! whether from the cache, the last refresh and its error, the next one) and
//! `POST /api/cucm/refresh` (admins: rediscover now and answer what changed, or why CUCM gave
//! nothing new; a refresh already running is joined, not doubled). Without `[cucm]` the table
//! is said to be not configured and a refresh is refused with 409. No password is in either:
//! the table holds none, and the errors of [`crate::cucm`] are written without them.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::cucm_table::{CucmTable, RefreshFailure, RefreshReport};
use super::refusal::{Answered, refuse};
use crate::cucm::{CucmPhone, TableChanges};

/// Names listed per kind of change in a refresh's answer (the counts cover all).
const MAX_LISTED: usize = 100;

/// The routes `GET /api/cucm` and `POST /api/cucm/refresh` over `table` (`None`: no `[cucm]`).
pub fn router<S: Clone + Send + Sync + 'static>(table: Option<Arc<CucmTable>>) -> Router<S> {
    Router::new()
        .route("/api/cucm", get(show))
        .route("/api/cucm/refresh", post(refresh))
        .with_state(table)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One discovered phone as the API shows it.
fn phone_json(p: &CucmPhone) -> Value {
    json!({
        "name": p.name,
        "model": p.model,
        "description": p.description,
        "address": p.address.map(|a| a.to_string()),
        "directory_numbers": p.lines,
        "device_pool": p.device_pool,
        "location": p.location,
        "registered": p.state == crate::cucm::RegState::Registered,
        "state": p.state.as_str(),
        "web_access": p.web_access,
        "multiplatform": p.multiplatform,
    })
}

/// What changed, each kind listed up to [`MAX_LISTED`] names, with the counts.
fn changes_json(c: &TableChanges) -> Value {
    let ip = |a: &Option<std::net::Ipv4Addr>| a.map(|a| a.to_string());
    json!({
        "added": c.added.iter().take(MAX_LISTED).collect::<Vec<_>>(),
        "removed": c.removed.iter().take(MAX_LISTED).collect::<Vec<_>>(),
        "moved": c.moved.iter().take(MAX_LISTED)
            .map(|(n, from, to)| json!({ "name": n, "from": ip(from), "to": ip(to) }))
            .collect::<Vec<_>>(),
        "model_changed": c.model_changed.iter().take(MAX_LISTED)
            .map(|(n, from, to)| json!({ "name": n, "from": from, "to": to }))
            .collect::<Vec<_>>(),
        "counts": {
            "added": c.added.len(),
            "removed": c.removed.len(),
            "moved": c.moved.len(),
            "model_changed": c.model_changed.len(),
        },
    })
}

/// A refresh's report.
fn report_json(r: &RefreshReport) -> Value {
    json!({
        "started_ms": r.started_ms,
        "finished_ms": r.finished_ms,
        "error": r.error,
        "phones": r.phones,
        "from_cache": r.from_cache,
        "discovered_ms": r.discovered_ms,
        "changes": r.changes.as_ref().map(changes_json),
        "requests": r.requests,
    })
}

async fn show(State(table): State<Option<Arc<CucmTable>>>) -> Answered {
    let Some(t) = table else {
        return Ok(axum::Json(json!({
            "configured": false,
            "host": null,
            "refresh_every_s": null,
            "refreshing": false,
            "discovered_ms": null,
            "age_ms": null,
            "from_cache": false,
            "origin": null,
            "last_refresh": null,
            "next_refresh_ms": null,
            "hand_listed": [],
            "phones": [],
        }))
        .into_response());
    };
    let f = t.facts();
    let now = now_ms();
    let site = f.site.as_deref();
    let body = json!({
        "configured": true,
        "host": t.host(),
        "refresh_every_s": t.every().as_secs(),
        "refreshing": f.refreshing,
        "discovered_ms": site.map(|s| s.origin.at_ms),
        "age_ms": site.map(|s| (now - s.origin.at_ms).max(0)),
        "from_cache": f.from_cache,
        "origin": site.map(|s| s.origin.describe(now)),
        "last_refresh": f.last.as_ref().map(report_json),
        "next_refresh_ms": f.next_ms,
        "hand_listed": site.map(|s| s.hand_listed()).unwrap_or_default(),
        "phones": site.map_or_else(Vec::new, |s| s.discovered().iter().map(phone_json).collect()),
    });
    Ok(axum::Json(body).into_response())
}

async fn refresh(State(table): State<Option<Arc<CucmTable>>>) -> Answered {
    let Some(t) = table else {
        return Err(refuse(
            StatusCode::CONFLICT,
            "this server has no [cucm] table: its phones are the config's alone, nothing to refresh",
        ));
    };
    let (report, failure, joined) = t.refresh_now().await;
    let mut body = report_json(&report);
    body["joined"] = json!(joined);
    let status = match failure {
        None => StatusCode::OK,
        Some(RefreshFailure::Cucm) => StatusCode::SERVICE_UNAVAILABLE,
        Some(RefreshFailure::Cache) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Ok((status, axum::Json(body)).into_response())
}
