//! Ringing a bell: a page per zone of the bell, journaled as a bell event; a zone of
//! `[cluster.district]` rings as a district page started here (a part at every site, each
//! site's leader paging its own zone: the sites get a district page's part, not a bell), its
//! id among the event's pages. The bell loop
//! ([`super::scheduler`]) rings what came due through [`ring`]; `POST /api/bells/{name}/ring`
//! rings a configured bell now through the same function, journaled as rung by hand
//! (`outcome: "rung"`, the detail naming who: the signed-in user, or `api-token`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::district_pages::{DistrictPages, StartedPage, start_here_or_district};
use super::metrics::Metrics;
use super::pages::{Pages, StartPage};
use super::refusal::{Answered, refuse};
use super::store::{BellEvent, Store};
use super::users::{Actor, TOKEN_ACTOR};
use crate::cluster::bell_page_id;
use crate::schedule::{Bell, Scheduler};
use crate::source::Trust;

/// Why a bell rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ringing {
    /// Its time came (journaled `fired`).
    Due,
    /// Someone rang it now (journaled `rung`, with who: a user's name or `api-token`).
    ByHand(String),
    /// Its time came and this node rang it through the site's claim (`[cluster]`) while leading
    /// the site with this lease revision, the fencing token journaled with it (`fired`).
    Fenced(u64),
}

/// What ringing needs: the pages to start, the journal, the counters.
#[derive(Clone)]
pub struct BellRinger {
    /// Running pages.
    pub pages: Pages,
    /// With `[cluster]`: district pages, for a bell of a district zone.
    pub district: Option<DistrictPages>,
    /// The journal of bell events.
    pub store: Store,
    /// Bells fired.
    pub metrics: Arc<Metrics>,
    /// Of a standby pair, for an occurrence rung through its claim: whether the other node took
    /// the bell's phones, asked as each of its pages ends.
    pub hand_over: Option<crate::page::HandOverCheck>,
}

/// Ring `bell` (due at `at`): one page per zone (a district page for a district zone, asked of
/// every site and not waited for), then its bell event in the journal (the pages it started,
/// each district page with its sites, and every zone that could not be paged, with why).
/// Returns that event.
pub async fn ring(r: &BellRinger, bell: &Bell, at: DateTime<Utc>, why: &Ringing) -> BellEvent {
    let mut started = Vec::new();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for zone in &bell.zones {
        let req = StartPage {
            zone: zone.clone(),
            source: bell.source.clone(),
            trust: Trust::Config,
            banner: None,
            priority: bell.priority.clone(),
            duration: None,
            via_media: false,
            origin: crate::page::Origin::Bell(bell.name.clone()),
            talker: None,
            voice: Some(bell.voice.clone()),
            hand_over: r.hand_over.clone(),
        };
        // An occurrence's district page is named by the occurrence: a node of another site
        // ringing the same bell asks for the same parts, and each site pages its part once.
        let occurrence = match why {
            Ringing::Due | Ringing::Fenced(_) => {
                Some(bell_page_id(&bell.name, zone, at.timestamp()))
            }
            Ringing::ByHand(_) => None,
        };
        match start_here_or_district(&r.pages, r.district.as_ref(), req, occurrence).await {
            Ok(StartedPage::Here(id)) => started.push(id),
            Ok(StartedPage::District { id, sites }) => {
                notes.push(format!("zone {zone}: district page {id} ({sites} sites)"));
                started.push(id);
            }
            Err(e) => {
                tracing::error!("bell {}: zone {zone}: {e}", bell.name);
                failures.push(format!("zone {zone}: {e}"));
            }
        }
    }
    r.metrics.bell(true);
    let outcome = match why {
        Ringing::Due | Ringing::Fenced(_) => "fired",
        Ringing::ByHand(who) => {
            notes.insert(0, format!("rung by hand by {who}"));
            "rung"
        }
    };
    notes.extend(failures);
    let detail = (!notes.is_empty()).then(|| notes.join("; "));
    let event = BellEvent {
        bell: bell.name.clone(),
        due_ms: at.timestamp_millis(),
        outcome: outcome.into(),
        pages: started,
        detail,
        token: match why {
            Ringing::Fenced(token) => Some(*token),
            _ => None,
        },
    };
    if let Err(e) = r.store.bell(&event) {
        tracing::warn!("journal: {e}");
    }
    event
}

/// The state of `POST /api/bells/{name}/ring`.
#[derive(Clone)]
struct BellsNow {
    ringer: BellRinger,
    scheduler: Option<Arc<Scheduler>>,
}

/// The route `POST /api/bells/{name}/ring` over the config's bells (`scheduler`).
pub fn router<S: Clone + Send + Sync + 'static>(
    ringer: BellRinger,
    scheduler: Option<Arc<Scheduler>>,
) -> Router<S> {
    Router::new()
        .route("/api/bells/{name}/ring", post(ring_now))
        .with_state(BellsNow { ringer, scheduler })
}

async fn ring_now(
    State(s): State<BellsNow>,
    Path(name): Path<String>,
    actor: Option<Extension<Actor>>,
) -> Answered {
    let Some(bell) = s
        .scheduler
        .as_ref()
        .and_then(|sch| sch.bell(&name))
        .cloned()
    else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no bell {name:?} in the config's schedule (see GET /api/bells)"),
        ));
    };
    let who = actor.map_or_else(
        || TOKEN_ACTOR.to_owned(),
        |Extension(a)| a.name().to_owned(),
    );
    tracing::info!("bell {name} rung by hand by {who}");
    let event = ring(&s.ringer, &bell, Utc::now(), &Ringing::ByHand(who)).await;
    if event.pages.is_empty() {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!(
                "bell {name:?} paged none of its zones: {}",
                event.detail.as_deref().unwrap_or("no zones")
            ),
        ));
    }
    Ok((StatusCode::CREATED, axum::Json(json!(event))).into_response())
}
