//! The device pages a phone serves on GET: `DeviceInformation(X)`, `NetworkConfiguration(X)`,
//! `EthernetInformation(X)`, `PortInformation(X)?n`, `DeviceLog(X)?n`, `StreamingStatistics(X)`
//! (from the live media counters) and `/CGI/Screenshot` (with credentials). Rendering them is
//! [`crate::phone_sim::pages`]'s and [`crate::phone_sim::screenshot`]'s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Node, PhoneNode};
use crate::phone_sim::media::{RxHandle, TxHandle};
use crate::phone_sim::pages::{self, StreamInfo};
use crate::phone_sim::screenshot::screenshot_png;

impl PhoneNode {
    fn device_info(&self) -> (pages::DeviceInfo, pages::NetworkInfo) {
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        (core.device_info(), core.network_info())
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

pub(super) async fn device_information_x(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    xml(pages::device_information_x(&node.device_info().0))
}

pub(super) async fn device_information_html(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    html(pages::device_information_html(&node.device_info().0))
}

pub(super) async fn network_configuration_x(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    xml(pages::network_configuration_x(&node.device_info().1))
}

pub(super) async fn network_configuration_html(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    html(pages::network_configuration_html(&node.device_info().1))
}

pub(super) async fn ethernet_information_x(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    xml(pages::ethernet_information_x(&node.device_info().1))
}

pub(super) async fn ethernet_information_html(State(node): Node) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    html(pages::ethernet_information_html(&node.device_info().1))
}

fn page_number(q: Option<String>, default: u32) -> Option<u32> {
    match q.as_deref() {
        None | Some("") => Some(default),
        Some(s) => s.parse().ok(),
    }
}

pub(super) async fn port_information_x(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| pages::port_information_x(n, &node.device_info().1)) {
        Some(body) => xml(body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn port_information_html(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| pages::port_information_html(n, &node.device_info().1)) {
        Some(body) => html(body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn log_lines(node: &PhoneNode) -> Vec<String> {
    let core = node.core.lock().unwrap_or_else(|e| e.into_inner());
    core.state().log.iter().cloned().collect()
}

pub(super) async fn device_log_x(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    let lines = log_lines(&node);
    match page_number(q, 0).and_then(|n| pages::device_log_x(n, &lines)) {
        Some(body) => xml(body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn device_log_html(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    let lines = log_lines(&node);
    match page_number(q, 0).and_then(|n| pages::device_log_html(n, &lines)) {
        Some(body) => html(body),
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

pub(super) async fn streaming_statistics_x(State(node): Node, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| stream_info(&node, n)) {
        Some(info) => xml(pages::streaming_statistics_x(&info)),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn streaming_statistics_html(
    State(node): Node,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = gate(&node).await {
        return r;
    }
    match page_number(q, 1).and_then(|n| stream_info(&node, n)) {
        Some(info) => html(pages::streaming_statistics_html(&info)),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn screenshot(State(node): Node, headers: HeaderMap) -> Response {
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
