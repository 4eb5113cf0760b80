//! The web console: the pages a browser shows at `/` to page, watch and stop pages, read the
//! history, the zones, the bells, the sounds, the recordings, the users and the server's health.
//!
//! It is a client of the JSON API and nothing else: the HTML is a server-rendered frame (maud)
//! holding no data, and `console.js` fills it with `fetch` calls to the documented routes of
//! `/openapi.json`, sending the session's `X-CSRF-Token` with every change. So the API's checks
//! (sign-in, roles, CSRF, bounds) are the console's checks, and the API tests cover it. The
//! server does not import this module; the CLI merges [`router`] into the server's router.
//!
//! - [`screens`]: each screen's markup (`/`, `/live/{id}`, `/history`, `/zones`, `/cucm` (linked
//!   only with `[cucm]`), `/bells`, `/sounds`, `/recordings`, `/users`, `/health`, `/signin`)
//!   inside one layout.
//! - [`assets`]: the hand-written `static/console.js` and `static/console.css`, compiled in,
//!   and the headers every console response carries (a strict Content-Security-Policy).

pub mod assets;
pub mod screens;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

/// What the console shows that no API route tells: where the configuration lives.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// The configuration file `zonecast serve` loaded (shown on the zones screen, which is
    /// read-only: the file stays the source of truth).
    pub config_path: Option<PathBuf>,
    /// The config has `[cucm]`: the navigation links the CUCM screen.
    pub cucm: bool,
    /// The config has `[cluster]`: the navigation links the district screen.
    pub cluster: bool,
}

/// The console's routes: its HTML screens and its two static files. Every route is a GET that
/// carries no data, so none needs a session; the data comes from the API, which does. No
/// fallback: the server's own (a JSON 404) answers everything else.
pub fn router(options: ConsoleOptions) -> Router {
    let options = Arc::new(options);
    let plain = |s: screens::Screen<'static>| {
        move |State(o): State<Arc<ConsoleOptions>>| {
            let s = s.clone();
            async move { render(&o, &s) }
        }
    };
    Router::new()
        .route("/", get(plain(screens::Screen::PageNow)))
        .route("/signin", get(plain(screens::Screen::SignIn)))
        .route("/live/{id}", get(live))
        .route("/history", get(plain(screens::Screen::History)))
        .route("/zones", get(zones))
        .route("/cucm", get(plain(screens::Screen::Cucm)))
        .route("/cluster", get(plain(screens::Screen::Cluster)))
        .route("/bells", get(plain(screens::Screen::Bells)))
        .route("/sounds", get(plain(screens::Screen::Sounds)))
        .route("/recordings", get(plain(screens::Screen::Recordings)))
        .route("/users", get(plain(screens::Screen::Users)))
        .route("/health", get(plain(screens::Screen::Health)))
        .route("/static/console.js", get(|| async { assets::script() }))
        .route("/static/console.css", get(|| async { assets::style() }))
        .with_state(options)
}

fn render(o: &ConsoleOptions, s: &screens::Screen) -> Response {
    assets::html(screens::render_in(
        s,
        screens::Layout {
            cucm: o.cucm,
            cluster: o.cluster,
        },
    ))
}

async fn live(State(o): State<Arc<ConsoleOptions>>, Path(id): Path<String>) -> Response {
    render(&o, &screens::Screen::Live { page: &id })
}

async fn zones(State(o): State<Arc<ConsoleOptions>>) -> Response {
    let path = o.config_path.as_ref().map(|p| p.display().to_string());
    render(
        &o,
        &screens::Screen::Zones {
            config_path: path.as_deref(),
        },
    )
}
