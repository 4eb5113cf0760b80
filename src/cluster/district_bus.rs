//! The NATS shell of district pages; it decides nothing itself.
//!
//! - [`SiteDesk`]: a site's node answering `zc.<site>.page` (only while it leads its site: of a
//!   pair, the follower answers `standby` to an asker that reads interim answers, and the
//!   initiator's next ask finds the leader) and `zc.<site>.stop`. A request is checked, looked up in [`SeenParts`] (a duplicate is answered
//!   as before and never paged twice), paged through the node's [`LocalPager`] (the server's
//!   pages: the same Pager as a local page), answered (`starting` every [`STARTING_EVERY`] while
//!   its page has not started, to an asker that reads interim answers), and its report streamed
//!   on `zc.<site>.report.<part>`: the phone lines that changed, `running` every
//!   [`RUNNING_EVERY`], then `end`.
//! - [`run_district_page`]: the initiator's loop around [`DistrictPage`]: it subscribes to every
//!   part's report subject and a reply inbox of the part before asking, asks each site (a core
//!   publish with that inbox as the reply subject, the part id as `Nats-Msg-Id` and
//!   [`INTERIM_HEADER`]: every answer of every ask of a part, interim or final, and the
//!   server's "no responders" arrive there; the core's deadline bounds the wait), publishes
//!   stops, and feeds the core the answers, the events and the time, publishing the merged
//!   report after each.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap, Message, Subscriber};
use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::district::{DistrictOp, DistrictPage, DistrictReport, PartAnswer};
use super::district_wire::{
    Admit, Asker, INTERIM_HEADER, PartEvent, PartReply, PartRequest, PartStop, ReportDiff,
    SeenParts, page_subject, report_subject, stop_subject,
};
use super::store::ClusterError;
use crate::page::DeliveryReport;

/// How often a running part says it still runs.
pub const RUNNING_EVERY: Duration = Duration::from_secs(2);

/// How often a part whose page has not started yet says so (well within the initiator's
/// `answer_within`).
pub const STARTING_EVERY: Duration = Duration::from_secs(1);

/// How long subscribing waits for the server to confirm.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// How long a site's report events wait to gather phone changes into one message.
const GATHER: Duration = Duration::from_millis(50);

/// A part's page started at this site: its page id and its live report (the sender closes when
/// the page has ended, its last value the final report), or why it was not paged.
pub type PartStart =
    Pin<Box<dyn Future<Output = Result<(String, watch::Receiver<DeliveryReport>), String>> + Send>>;

/// How a site's node pages its own zone for a part (the server implements it with its pages).
pub trait LocalPager: Send + Sync + 'static {
    /// Start a page for `req` (origin: the asking site).
    fn start_part(&self, req: PartRequest) -> PartStart;
    /// Stop the site's page `page`; `false` if it no longer runs.
    fn stop_part(&self, page: &str, reason: &str) -> bool;
    /// Why a part's page is taking long to start (sent as `starting`).
    fn why_starting(&self, req: &PartRequest) -> String {
        format!("zone {} has not started yet", req.zone)
    }
}

/// Whether this node answers for its site now (its lease, or always for a single node).
pub type AnswersForSite = Arc<dyn Fn() -> bool + Send + Sync>;

/// The next message of a subscription.
pub(super) async fn next(sub: &mut Subscriber) -> Option<Message> {
    std::future::poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut *sub), cx)).await
}

/// A bus operation on `what` that failed (subscribing, mostly), as a cluster error.
pub(super) fn bus_error(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Connect {
        urls: what.to_owned(),
        reason: e.to_string(),
    }
}

/// A site's node answering district requests; dropping it stops answering.
pub struct SiteDesk {
    task: JoinHandle<()>,
}

impl Drop for SiteDesk {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SiteDesk {
    /// Subscribe to `site`'s page and stop subjects and answer them with `pager`, as `node`.
    pub async fn start(
        client: Client,
        site: &str,
        node: &str,
        leading: AnswersForSite,
        pager: Arc<dyn LocalPager>,
    ) -> Result<SiteDesk, ClusterError> {
        let subject = page_subject(site);
        let pages = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| bus_error(&subject, e))?;
        let subject = stop_subject(site);
        let stops = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| bus_error(&subject, e))?;
        // Not waited for: with the site's NATS server down the node starts all the same, pages
        // locally, and the client subscribes once it connects.
        let _ = tokio::time::timeout(FLUSH_WAIT, client.flush()).await;
        let desk = Desk {
            client,
            site: site.to_owned(),
            node: node.to_owned(),
            leading,
            pager,
            seen: Arc::new(Mutex::new(SeenParts::default())),
        };
        let task = tokio::spawn(desk.run(pages, stops));
        Ok(SiteDesk { task })
    }
}

#[derive(Clone)]
struct Desk {
    client: Client,
    site: String,
    node: String,
    leading: AnswersForSite,
    pager: Arc<dyn LocalPager>,
    seen: Arc<Mutex<SeenParts>>,
}

impl Desk {
    async fn run(self, mut pages: Subscriber, mut stops: Subscriber) {
        loop {
            tokio::select! {
                Some(m) = next(&mut pages) => self.request(m).await,
                Some(m) = next(&mut stops) => self.stop(m),
                else => return,
            }
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, SeenParts> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn reply(&self, to: Option<&async_nats::Subject>, r: &PartReply) {
        if let Some(to) = to {
            let body = serde_json::to_vec(r).unwrap_or_default();
            let _ = self.client.publish(to.clone(), body.into()).await;
        }
    }

    /// One request: refused if unreadable, answered again if seen, else paged in a task of its
    /// own (a page waiting for a busy zone must not hold up the next request).
    async fn request(&self, m: Message) {
        let interim = m
            .headers
            .as_ref()
            .is_some_and(|h| h.get(INTERIM_HEADER).is_some());
        if !(self.leading)() {
            // The site is here, its leader is not (or is another node): say so to an asker
            // that waits on (it asks again, and the leader answers).
            if interim {
                let node = self.node.clone();
                self.reply(m.reply.as_ref(), &PartReply::Standby { node })
                    .await;
            }
            return;
        }
        let req = match PartRequest::parse(&m.payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("district: request on {} refused: {e}", m.subject);
                let reason = e.to_string();
                self.reply(m.reply.as_ref(), &PartReply::Refused { reason })
                    .await;
                return;
            }
        };
        let asker = m.reply.as_ref().map(|r| Asker {
            reply: r.to_string(),
            interim,
        });
        let admit = self.seen().request(&req.part, asker);
        match admit {
            Admit::Again(r) => self.reply(m.reply.as_ref(), &r).await,
            // Kept among its askers: answered with the first.
            Admit::Quiet => {}
            Admit::Page => {
                let desk = self.clone();
                tokio::spawn(async move { desk.page(req).await });
            }
        }
    }

    /// Answer every asker of a part.
    async fn reply_all(&self, askers: &[Asker], r: &PartReply) {
        for a in askers {
            self.reply(Some(&async_nats::Subject::from(a.reply.as_str())), r)
                .await;
        }
    }

    async fn page(self, req: PartRequest) {
        let part = req.part.clone();
        tracing::info!(
            "district: part {part} from site {}: zone {} (district zone {})",
            req.from,
            req.zone,
            req.district_zone
        );
        let mut start = self.pager.start_part(req.clone());
        let started = loop {
            match tokio::time::timeout(STARTING_EVERY, &mut start).await {
                Ok(s) => break s,
                // Still starting: the askers that read interim answers hear why, and wait on.
                Err(_) => {
                    let askers: Vec<Asker> = self
                        .seen()
                        .askers(&part)
                        .into_iter()
                        .filter(|a| a.interim)
                        .collect();
                    if !askers.is_empty() {
                        let reason = self.pager.why_starting(&req);
                        self.reply_all(&askers, &PartReply::Starting { reason })
                            .await;
                    }
                }
            }
        };
        let reply = match &started {
            Ok((page, _)) => PartReply::Accepted { page: page.clone() },
            Err(reason) => PartReply::Refused {
                reason: reason.clone(),
            },
        };
        let (pending_stop, askers) = self.seen().answered(&part, reply.clone());
        self.reply_all(&askers, &reply).await;
        let Ok((page, live)) = started else { return };
        if let Some(reason) = pending_stop {
            self.pager.stop_part(&page, &reason);
        }
        self.stream(&part, live).await;
    }

    /// Publish the part's report: changed lines, `running` while quiet, `end` at its end.
    async fn stream(&self, part: &str, mut live: watch::Receiver<DeliveryReport>) {
        let subject = report_subject(&self.site, part);
        let mut diff = ReportDiff::default();
        let publish = |e: &PartEvent| {
            let body = Bytes::from(serde_json::to_vec(e).unwrap_or_default());
            let (client, subject) = (self.client.clone(), subject.clone());
            async move {
                let _ = client.publish(subject, body).await;
            }
        };
        loop {
            let report = live.borrow_and_update().clone();
            for e in diff.changes(&report) {
                publish(&e).await;
            }
            let changed = tokio::time::timeout(RUNNING_EVERY, live.changed()).await;
            match changed {
                Ok(Ok(())) => tokio::time::sleep(GATHER).await,
                Ok(Err(_)) => break,
                Err(_) => publish(&PartEvent::Running).await,
            }
        }
        let last = live.borrow().clone();
        for e in diff.changes(&last) {
            publish(&e).await;
        }
        publish(&PartEvent::end_of(&last)).await;
        let _ = self.client.flush().await;
    }

    fn stop(&self, m: Message) {
        let stop = match PartStop::parse(&m.payload) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("district: stop on {} refused: {e}", m.subject);
                return;
            }
        };
        let page = self.seen().stop(&stop.part, &stop.reason);
        if let Some(page) = page {
            tracing::info!("district: part {} stopped: {}", stop.part, stop.reason);
            self.pager.stop_part(&page, &stop.reason);
        }
    }
}

/// What a part's request carries beyond its site and zone (the same for every part).
#[derive(Debug, Clone)]
pub struct PartTemplate {
    /// The asking site.
    pub from: String,
    /// What plays.
    pub source: String,
    /// Banner.
    pub banner: Option<String>,
    /// Priority level.
    pub priority: Option<String>,
    /// End after this long.
    pub duration: Option<Duration>,
    /// A page spoken live: the asker's stream ([`PartRequest::live`]).
    pub live: Option<String>,
    /// The voice of its speech ([`PartRequest::voice`]).
    pub voice: Option<crate::source::VoiceChange>,
}

enum Input {
    PartAnswer(usize, PartAnswer),
    Event(usize, PartEvent),
}

/// Run a district page to its end: ask the sites, merge their reports into `out`, stop every
/// part when `stop` says why. Returns the final report.
pub async fn run_district_page(
    client: Client,
    mut page: DistrictPage,
    template: PartTemplate,
    mut stop: watch::Receiver<Option<String>>,
    out: watch::Sender<DistrictReport>,
) -> Result<DistrictReport, ClusterError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Input>();
    let mut forwarders = Vec::new();
    let mut inboxes = Vec::new();
    for n in 0..page.parts().len() {
        let inbox = client.new_inbox();
        let mut sub = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| bus_error(&inbox, e))?;
        inboxes.push(inbox);
        let tx = tx.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(m) = next(&mut sub).await {
                if tx.send(Input::PartAnswer(n, answer_of(&m))).is_err() {
                    return;
                }
            }
        }));
    }
    for (n, part) in page.parts().iter().enumerate() {
        let subject = report_subject(&part.site, &part.id);
        let mut sub = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| bus_error(&subject, e))?;
        let tx = tx.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(m) = next(&mut sub).await {
                match PartEvent::parse(&m.payload) {
                    Ok(e) => {
                        if tx.send(Input::Event(n, e)).is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!("district: event on {} refused: {e}", m.subject),
                }
            }
        }));
    }
    // Bounded: with this node's NATS server down the asks fail and the deadline ends the page.
    let _ = tokio::time::timeout(FLUSH_WAIT, client.flush()).await;
    let mut stop_open = true;
    loop {
        while let Some(op) = page.poll_op() {
            carry(&client, &page, &template, op, &inboxes, &tx).await;
        }
        out.send_replace(page.report().clone());
        if page.is_done() {
            break;
        }
        let wake = page
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            Some(input) = rx.recv() => match input {
                Input::PartAnswer(n, a) => page.handle_answer(n, a, Instant::now()),
                Input::Event(n, e) => page.handle_event(n, e, Instant::now()),
            },
            changed = stop.changed(), if stop_open => match changed {
                Ok(()) => {
                    let why = stop.borrow().clone().unwrap_or_else(|| "stopped".into());
                    page.stop(&why);
                }
                Err(_) => stop_open = false,
            },
            () = tokio::time::sleep_until(wake.into()) => page.handle_timeout(Instant::now()),
        }
    }
    for f in forwarders {
        f.abort();
    }
    Ok(page.report().clone())
}

/// What a message on a part's reply inbox says: the server's "no responders" (no node of the
/// site subscribes: its link or its nodes are down), or the site's answer.
fn answer_of(m: &Message) -> PartAnswer {
    if m.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
        return PartAnswer::NoListener;
    }
    match PartReply::parse(&m.payload) {
        Ok(r) => PartAnswer::Replied(r),
        Err(e) => PartAnswer::Replied(PartReply::Refused {
            reason: e.to_string(),
        }),
    }
}

/// Carry out one op: a request published with the part's inbox as its reply subject (its
/// answers come back there, see [`answer_of`]), or a stop published.
async fn carry(
    client: &Client,
    page: &DistrictPage,
    template: &PartTemplate,
    op: DistrictOp,
    inboxes: &[String],
    tx: &mpsc::UnboundedSender<Input>,
) {
    match op {
        DistrictOp::Ask(n, _) => {
            let part = &page.parts()[n];
            let req = PartRequest {
                part: part.id.clone(),
                from: template.from.clone(),
                district_zone: page.report().zone.clone(),
                zone: part.zone.clone(),
                source: template.source.clone(),
                banner: template.banner.clone(),
                priority: template.priority.clone(),
                duration_ms: template.duration.map(|d| d.as_millis().max(1) as u64),
                live: template.live.clone(),
                voice: template.voice.clone(),
            };
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", part.id.as_str());
            headers.insert(INTERIM_HEADER, "1");
            let body = Bytes::from(serde_json::to_vec(&req).unwrap_or_default());
            let inbox = inboxes[n].clone();
            let sent = client
                .publish_with_reply_and_headers(page_subject(&part.site), inbox, headers, body)
                .await;
            if let Err(e) = sent {
                // This node's own server is out of reach: as if no one listened (asked again).
                tracing::debug!("district: asking {}: {e}", part.site);
                let _ = tx.send(Input::PartAnswer(n, PartAnswer::NoListener));
            }
        }
        DistrictOp::Stop(n, reason) => {
            let part = &page.parts()[n];
            let stop = PartStop {
                part: part.id.clone(),
                reason,
            };
            let body = serde_json::to_vec(&stop).unwrap_or_default();
            let _ = client.publish(stop_subject(&part.site), body.into()).await;
        }
    }
}
