//! Phone services: the XML screens a phone's Services button (or a line/speed-dial service)
//! fetches from `zonecast serve`, and what they start. Staff pick "Page: Lobby", speak into the
//! handset, and press End or hang up; or start a pre-recorded message (emergency ones ask first).
//!
//! - [`render`]: the sans-IO core: a screen for a requester (model, display, SDK, languages,
//!   charset from its headers) as an exact HTTP answer.
//! - This file: the axum shell. It identifies the phone (`name=#DEVICENAME#` or the cookie set
//!   by the menu, matched to a `[[phone]]` by its `device` or name; when the phone's `host` is an
//!   address, the request must come from it), checks `[[permission]]`s, and starts and ends
//!   pages through [`crate::server::pages::Pages`] — a talk page's source is the phone's own
//!   microphone, relayed by [`crate::server::talk`]. A bell of a district zone pressed on a
//!   phone starts the district page, as the bell would ([`super::district_pages`]).
//!
//! Every answer is HTTP 200 with a screen (phones show only "HTTP Error" otherwise), expires in
//! the past (not cached), and status screens carry a `Refresh` header so a phone watching a page
//! sees it end.

pub mod render;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use self::render::{MenuEntry, Requester, Served};
use super::district_pages::{StartedPage, start_here_or_district};
use super::pages::{Pages, StartPage};
use crate::config::{Config, PhoneEntry};
use crate::source::Trust;

/// Cookie naming the phone for the later steps of a flow.
const PHONE_COOKIE: &str = "zcphone";
/// Seconds between a status screen's refreshes.
const STATUS_REFRESH: u32 = 3;

/// What the service routes share.
#[derive(Clone)]
pub struct ServicesState {
    /// Running pages.
    pub pages: Pages,
    /// The config (phones, zones, permissions, messages).
    pub config: Arc<Config>,
    /// `http://HOST:PORT` as phones reach the server: every link on a screen is absolute.
    pub base: String,
    /// For `App:RequestFocus` pushes that keep the paging screen in front.
    pub client: crate::push::PushClient,
    /// With `[cluster]`: district pages, for a bell of a district zone pressed on a phone.
    pub district: Option<super::district_pages::DistrictPages>,
}

/// The application id of the paging screens (`App:` URIs, `notifyApplicationEvent`).
pub const APP_ID: &str = "zonecast-page";

/// The routes under `/services/`.
pub fn router(state: ServicesState) -> Router {
    Router::new()
        .route("/services/menu", get(menu))
        .route("/services/zones", get(zones))
        .route("/services/talk", get(talk_confirm))
        .route("/services/banner", get(talk_banner))
        .route("/services/talk/start", get(talk_start))
        .route("/services/message", get(message))
        .route("/services/status", get(status))
        .route("/services/end", get(end))
        .with_state(state)
}

/// The request as the handlers need it.
struct Ctx {
    req: Requester,
    phone: Result<PhoneEntry, String>,
}

fn served(s: Served) -> Response {
    let mut r = (
        StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK),
        s.body.clone(),
    )
        .into_response();
    let h = r.headers_mut();
    for (k, v) in s.headers() {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            if k == axum::http::header::SET_COOKIE {
                h.append(k, v);
            } else {
                h.insert(k, v);
            }
        }
    }
    r
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Who asks: the requester from its headers, and its `[[phone]]`.
fn ctx(
    s: &ServicesState,
    peer: SocketAddr,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Ctx {
    let mut req = Requester::from_headers(|n| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let name = q
        .get("name")
        .filter(|n| !n.is_empty() && !n.contains('#'))
        .cloned()
        .or_else(|| cookie_value(headers, PHONE_COOKIE));
    let phone = match &name {
        None => Err(
            "This phone did not say its name: the service URL needs ?name=#DEVICENAME#".to_owned(),
        ),
        Some(n) => {
            req = req.with_device(n);
            s.config
                .phones
                .iter()
                .find(|p| {
                    p.device
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(n))
                        || p.name == *n
                })
                .cloned()
                .ok_or_else(|| format!("{n} is not a phone zonecast knows."))
        }
    };
    // A phone configured by address must ask from that address (a name cannot be borrowed).
    let phone = phone.and_then(|p| {
        match p
            .host
            .split(':')
            .next()
            .and_then(|h| h.parse::<IpAddr>().ok())
        {
            Some(ip) if ip != peer.ip() => {
                tracing::warn!(
                    "services: {} asked from {} (configured {ip})",
                    p.name,
                    peer.ip()
                );
                Err(format!("{} must use its own address.", p.name))
            }
            _ => Ok(p),
        }
    });
    Ctx { req, phone }
}

fn url(s: &ServicesState, path: &str, params: &[(&str, &str)]) -> String {
    let mut u = format!("{}{path}", s.base);
    if !params.is_empty() {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        u.push('?');
        u.push_str(&q);
    }
    u
}

/// The zones and messages phone `p` may use.
fn allowed<'a>(
    s: &'a ServicesState,
    p: &PhoneEntry,
) -> (Vec<String>, Vec<&'a crate::config::Message>) {
    let config = &s.config;
    config.services.allowed(&p.name, |z| {
        config
            .resolve_zone(z)
            .map(|v| v.into_iter().map(|ph| ph.name.clone()).collect())
            .unwrap_or_default()
    })
}

/// The page this phone started and that still runs, if any.
fn own_page(s: &ServicesState, p: &PhoneEntry) -> Option<String> {
    let who = format!("phone:{}", p.name);
    s.pages
        .active()
        .into_iter()
        .find(|a| a.start.requested_by == who)
        .map(|a| a.start.page)
}

fn refuse(req: &Requester, why: &str) -> Response {
    served(render::message(req, "zonecast", why))
}

/// The phone asking: known, at its own address. Extracting it answers the refusal screen
/// otherwise, so every handler starts from a phone it may serve.
struct Caller {
    req: Requester,
    phone: PhoneEntry,
    q: HashMap<String, String>,
}

impl axum::extract::FromRequestParts<ServicesState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &ServicesState,
    ) -> Result<Caller, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let q: HashMap<String, String> = parts
            .uri
            .query()
            .map(|t| form_urlencoded::parse(t.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let c = ctx(s, peer, &parts.headers, &q);
        match c.phone {
            Ok(phone) => Ok(Caller {
                req: c.req,
                phone,
                q,
            }),
            Err(why) => Err(refuse(&c.req, &why)),
        }
    }
}

async fn menu(State(s): State<ServicesState>, c: Caller) -> Response {
    let (p, q) = (c.phone.clone(), &c.q);
    let (zones, messages) = allowed(&s, &p);
    let me = [("name", p.device.as_deref().unwrap_or(&p.name))];
    let mut items: Vec<(String, String)> = zones
        .iter()
        .map(|z| {
            (
                format!("Page: {z}"),
                url(&s, "/services/talk", &[me[0], ("zone", z)]),
            )
        })
        .collect();
    for m in &messages {
        items.push((
            m.title.clone(),
            url(&s, "/services/message", &[me[0], ("msg", &m.name)]),
        ));
    }
    if !zones.is_empty() {
        items.push(("Zones".into(), url(&s, "/services/zones", &me)));
    }
    if items.is_empty() {
        return refuse(&c.req, "No zones or messages are allowed for this phone.");
    }
    let entries: Vec<MenuEntry> = items
        .iter()
        .map(|(name, url)| MenuEntry { name, url })
        .collect();
    let active =
        own_page(&s, &p).map(|id| (id.clone(), url(&s, "/services/end", &[me[0], ("id", &id)])));
    let offset: usize = q.get("from").and_then(|v| v.parse().ok()).unwrap_or(0);
    let more = |from: usize| url(&s, "/services/menu", &[me[0], ("from", &from.to_string())]);
    let paging = render::MenuPaging {
        offset,
        more_url: &more,
    };
    let mut out = render::main_menu(
        &c.req,
        "Paging",
        &entries,
        active.as_ref().map(|(id, u)| (id.as_str(), u.as_str())),
        Some(&paging),
    );
    if let Ok(ck) = render::cookie(PHONE_COOKIE, me[0].1, "/services")
        && let Ok(o) = out.clone().with_cookie(ck)
    {
        out = o;
    }
    served(out)
}

async fn zones(State(s): State<ServicesState>, c: Caller) -> Response {
    let p = c.phone.clone();
    let (zones, _) = allowed(&s, &p);
    let described: Vec<(String, String)> = zones
        .iter()
        .map(|z| {
            let n = s.config.resolve_zone(z).map_or(0, |v| v.len());
            (z.clone(), format!("{n} phones"))
        })
        .collect();
    let list: Vec<(&str, &str)> = described
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    served(render::zone_directory(&c.req, "Zones", &list))
}

impl Caller {
    /// The `zone` asked for, if this phone may page it live; else why not.
    fn zone(&self, s: &ServicesState) -> Result<String, String> {
        let zone = self.q.get("zone").cloned().unwrap_or_default();
        if allowed(s, &self.phone).0.contains(&zone) {
            Ok(zone)
        } else {
            Err(format!("This phone may not page {zone}."))
        }
    }
}

async fn talk_confirm(State(s): State<ServicesState>, c: Caller) -> Response {
    let p = c.phone.clone();
    let zone = match c.zone(&s) {
        Ok(z) => z,
        Err(why) => return refuse(&c.req, &why),
    };
    let me = p.device.clone().unwrap_or(p.name.clone());
    let start = url(
        &s,
        "/services/talk/start",
        &[("name", &me), ("zone", &zone)],
    );
    let banner = url(&s, "/services/banner", &[("name", &me), ("zone", &zone)]);
    let back = url(&s, "/services/menu", &[("name", &me)]);
    // Start, a banner first (an Input screen), or back; a phone with two soft keys gets two.
    let out = render::choice(
        &c.req,
        &format!("Page: {zone}"),
        &format!(
            "Page {zone} with this phone's microphone? Press Start and speak; End or hanging up finishes."
        ),
        &[("Start", &start), ("Cancel", &back), ("Banner", &banner)],
    );
    served(out)
}

async fn talk_banner(State(s): State<ServicesState>, c: Caller) -> Response {
    let p = c.phone.clone();
    let zone = match c.zone(&s) {
        Ok(z) => z,
        Err(why) => return refuse(&c.req, &why),
    };
    let me = p.device.clone().unwrap_or(p.name.clone());
    let action = url(
        &s,
        "/services/talk/start",
        &[("name", &me), ("zone", &zone)],
    );
    served(render::banner_input(
        &c.req,
        &format!("Banner: {zone}"),
        "Banner text",
        &action,
        "text",
        &format!("Paging {zone}"),
    ))
}

fn status_screen(
    s: &ServicesState,
    c: &Caller,
    me: &str,
    id: &str,
    title: &str,
    text: &str,
) -> Response {
    let end = url(s, "/services/end", &[("name", me), ("id", id)]);
    let again = url(s, "/services/status", &[("name", me), ("id", id)]);
    // The screen tells the page when it loses or regains the focus, is minimized or closed.
    let encoded: String = form_urlencoded::byte_serialize(c.phone.name.as_bytes()).collect();
    let app = s.pages.notify_uri(id, &encoded).and_then(|uri| {
        crate::xsi::object::AppEvents::new(APP_ID)
            .and_then(|a| a.all(&uri.to_uri()))
            .ok()
    });
    served(render::page_status_app(
        &c.req,
        title,
        text,
        Some(&end),
        Some((STATUS_REFRESH, again)),
        app,
    ))
}

/// Ask the phone to keep the paging screen in front (`App:RequestFocus`, once the user is
/// idle), where its model takes `App:` URIs. Best effort: the page does not depend on it.
fn keep_in_front(s: &ServicesState, p: &PhoneEntry) {
    use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject as _};
    use crate::xsi::uri::{App, AppAction, AppPriority, Uri};
    let caps = crate::xsi::model::Capabilities::for_model_name(&p.model);
    if !caps.app_uri {
        return;
    }
    let Ok(secret) = p.secret() else { return };
    let target = p.push_target(secret);
    let Ok(app) = App::new(AppAction::RequestFocus, AppPriority::WhenIdle, 60, APP_ID) else {
        return;
    };
    let Ok(item) = ExecuteUrl::try_from(&Uri::App(app)) else {
        return;
    };
    let xml = Execute::new(ExecuteItem::new(item)).to_xml();
    let client = s.client.clone();
    let expect = caps.execute_response;
    tokio::spawn(async move {
        // After the phone has shown the status screen it asked for.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let o = client.execute(&target, &xml, None, expect).await;
        if !o.is_ok() {
            tracing::debug!("App:RequestFocus to {}: {o:?}", target.name);
        }
    });
}

async fn talk_start(State(s): State<ServicesState>, c: Caller) -> Response {
    let (p, q) = (c.phone.clone(), &c.q);
    let zone = match c.zone(&s) {
        Ok(z) => z,
        Err(why) => return refuse(&c.req, &why),
    };
    let me = p.device.clone().unwrap_or(p.name.clone());
    if let Some(id) = own_page(&s, &p) {
        return status_screen(&s, &c, &me, &id, "Paging", "This phone is already paging.");
    }
    let banner = q.get("text").filter(|t| !t.trim().is_empty()).cloned();
    let req = StartPage {
        zone: zone.clone(),
        source: format!("mic:{}", p.name),
        trust: Trust::Api,
        banner,
        priority: None,
        duration: None,
        via_media: false,
        origin: crate::page::Origin::Phone(p.name.clone()),
        talker: Some(p.name.clone()),
        voice: None,
        hand_over: None,
    };
    match s.pages.start(req).await {
        Ok(id) => {
            keep_in_front(&s, &p);
            status_screen(
                &s,
                &c,
                &me,
                &id,
                &format!("Paging {zone}"),
                "Speak now. Press End or hang up to finish.",
            )
        }
        Err(e) => refuse(&c.req, &format!("Could not page {zone}: {e}")),
    }
}

async fn message(State(s): State<ServicesState>, c: Caller) -> Response {
    let (p, q) = (c.phone.clone(), &c.q);
    let name = q.get("msg").cloned().unwrap_or_default();
    let (_, allowed_msgs) = allowed(&s, &p);
    let Some(m) = allowed_msgs.into_iter().find(|m| m.name == name).cloned() else {
        return refuse(&c.req, "This phone may not start that message.");
    };
    let me = p.device.clone().unwrap_or(p.name.clone());
    if m.confirm && q.get("confirm").map(String::as_str) != Some("yes") {
        let yes = url(
            &s,
            "/services/message",
            &[("name", &me), ("msg", &m.name), ("confirm", "yes")],
        );
        let back = url(&s, "/services/menu", &[("name", &me)]);
        return served(render::confirm(
            &c.req,
            &m.title,
            &format!(
                "Start \"{}\" to {}? This cannot be undone.",
                m.title,
                m.zones.join(", ")
            ),
            ("Start", &yes),
            ("Cancel", &back),
        ));
    }
    let mut ids = Vec::new();
    let mut asked = Vec::new();
    let mut errors = Vec::new();
    for zone in &m.zones {
        let req = StartPage {
            zone: zone.clone(),
            source: m.source.clone(),
            trust: Trust::Config,
            banner: Some(
                m.title
                    .chars()
                    .take(crate::config::MAX_BANNER_CHARS)
                    .collect(),
            ),
            priority: m.priority.clone(),
            duration: None,
            via_media: false,
            origin: crate::page::Origin::Phone(p.name.clone()),
            talker: None,
            voice: Some(m.voice.clone()),
            hand_over: None,
        };
        match start_here_or_district(&s.pages, s.district.as_ref(), req, None).await {
            Ok(StartedPage::Here(id)) => ids.push(id),
            Ok(StartedPage::District { id, sites }) => asked.push((zone, id, sites)),
            Err(e) => errors.push(format!("{zone}: {e}")),
        }
    }
    // A district page (each site pages its part) is followed on its own status screen: the
    // sites and phones reached, and End.
    if ids.is_empty()
        && let Some((zone, id, sites)) = asked.first()
    {
        let text = format!("Asked of {sites} sites of {zone}.");
        return status_screen(&s, &c, &me, id, &m.title, &text);
    }
    match ids.first() {
        Some(id) => status_screen(
            &s,
            &c,
            &me,
            id,
            &m.title,
            &format!("Playing to {}.", m.zones.join(", ")),
        ),
        None => refuse(&c.req, &format!("Could not start: {}", errors.join("; "))),
    }
}

async fn status(State(s): State<ServicesState>, c: Caller) -> Response {
    let (p, q) = (c.phone.clone(), &c.q);
    let me = p.device.clone().unwrap_or(p.name.clone());
    let id = q.get("id").cloned().unwrap_or_default();
    match s.pages.get(&id) {
        Some(a) => {
            let t = &a.report.totals;
            status_screen(
                &s,
                &c,
                &me,
                &id,
                &format!("Paging {}", a.start.zone),
                &format!("{} of {} phones listening.", t.accepted, t.phones),
            )
        }
        None => match s.district.as_ref().and_then(|d| d.get(&id)) {
            Some((active, r)) => {
                let t = &r.totals;
                let text = format!(
                    "{} of {} sites paged, {} unreachable; {} of {} phones reached.",
                    t.paged, t.sites, t.unreachable, t.accepted, t.phones
                );
                if active {
                    let title = format!("Paging {} (district)", r.zone);
                    status_screen(&s, &c, &me, &id, &title, &text)
                } else {
                    served(render::message(&c.req, "Page ended", &text))
                }
            }
            None => served(render::message(&c.req, "Page ended", "The page has ended.")),
        },
    }
}

async fn end(State(s): State<ServicesState>, c: Caller) -> Response {
    let (p, q) = (c.phone.clone(), &c.q);
    let id = q.get("id").cloned().unwrap_or_default();
    // A phone ends its own pages only (a district page at every site).
    let mine = format!("phone:{}", p.name);
    if let Some(d) = s.district.as_ref()
        && d.requested_by(&id).as_deref() == Some(mine.as_str())
    {
        d.stop(&id, &format!("ended by {}", p.name));
        return served(render::message(&c.req, "Page ended", "The page has ended."));
    }
    let own = s
        .pages
        .get(&id)
        .is_some_and(|a| a.start.requested_by == mine);
    if !own {
        return served(render::message(
            &c.req,
            "Page ended",
            "No page of this phone is running.",
        ));
    }
    s.pages.stop(&id, &format!("ended by {}", p.name));
    served(render::message(&c.req, "Page ended", "The page has ended."))
}
