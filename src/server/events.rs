//! Server-Sent Events of the running pages, for the console's live screen:
//! `GET /api/pages/{id}/events` follows one page and `GET /api/events` every page.
//!
//! Each change of a page's live state is an `event: page` whose data is the page's JSON in the
//! shape of `GET /api/pages/{id}` (`{"active": true, "page": ...}`); when the page ends, one
//! last `event: page` with its final live state (`"active": false`) and then `event: end` with
//! `{"id", "active": false, "page": ...}` (the journal's record of the page, as
//! `GET /api/pages/{id}` shows an ended page). Only a request with `Accept: text/event-stream`
//! gets a stream (others 406). A comment line every 15 s keeps proxies from
//! closing a quiet stream.
//!
//! Changes are coalesced: a client gets at most one event per page every [`MIN_GAP`], carrying
//! the latest state, however fast the page changes (a 1,000-phone page changes thousands of
//! times a second while it starts). Each page followed has one publisher that serializes its
//! state at most that often for all its clients (50 clients cost one serialization, not 50),
//! started by the first client and retired with the last. A slow client holds back only its
//! own stream, and gets the latest state when ready, never a backlog. At most
//! [`MAX_CLIENTS`] streams are open at once; beyond that the answer is 503. At shutdown, the
//! streams end once their pages have (so graceful shutdown is not held open by a browser).

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::pages::{ActivePage, Pages};
use super::refusal::{Answered, Refusal, failed, refuse};
use super::store::{PageStart, Store};
use crate::page::DeliveryReport;

/// Event streams open at once, all clients together.
pub const MAX_CLIENTS: usize = 200;

/// Least time between two events of one page to one client.
pub const MIN_GAP: Duration = Duration::from_millis(100);

/// How often a quiet stream gets a comment line.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long the end waits for the journal to hold the page's outcome.
const FINAL_WAIT: Duration = Duration::from_secs(5);

/// Events queued for one client before its producers wait for it.
const QUEUE: usize = 16;

/// One page's feed, shared by every client following it: the data of its latest `page` event
/// and, once it has ended, of its `end` event. Serialized once per change for all clients.
#[derive(Debug, Clone, Default)]
struct Feed {
    page: Option<Arc<str>>,
    end: Option<Arc<str>>,
}

/// What the event routes share (cheap to clone).
#[derive(Clone)]
pub struct PageEvents {
    pages: Pages,
    store: Store,
    clients: Arc<Semaphore>,
    /// The feeds of the pages someone follows, by page id.
    feeds: Arc<Mutex<HashMap<String, watch::Sender<Feed>>>>,
}

impl PageEvents {
    /// Streams of `pages`' changes; ended pages are read from `store`.
    pub fn new(pages: Pages, store: Store) -> PageEvents {
        PageEvents {
            pages,
            store,
            clients: Arc::new(Semaphore::new(MAX_CLIENTS)),
            feeds: Arc::default(),
        }
    }

    fn feeds(&self) -> MutexGuard<'_, HashMap<String, watch::Sender<Feed>>> {
        self.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Page `id`'s feed, its publisher started by the first client; `None` when it does not
    /// run.
    fn subscribe(&self, id: &str) -> Option<watch::Receiver<Feed>> {
        let mut feeds = self.feeds();
        if let Some(tx) = feeds.get(id) {
            return Some(tx.subscribe());
        }
        let (start, live) = self.pages.watch(id)?;
        let (tx, rx) = watch::channel(Feed::default());
        feeds.insert(id.to_owned(), tx.clone());
        tokio::spawn(publish(self.clone(), start, live, tx));
        Some(rx)
    }

    /// Forget page `id`'s feed if nobody follows it (`force`: in any case). `true` if forgotten.
    fn retire(&self, id: &str, tx: &watch::Sender<Feed>, force: bool) -> bool {
        let mut feeds = self.feeds();
        let ours = feeds.get(id).is_some_and(|t| t.same_channel(tx));
        // The map's sender is one receiver-less handle; only clients hold receivers.
        if ours && (force || tx.receiver_count() == 0) {
            feeds.remove(id);
            return true;
        }
        !ours
    }

    /// A place among the open streams, or the 503 saying there is none.
    fn admit(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.clients.clone().try_acquire_owned().map_err(|_| {
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{MAX_CLIENTS} event streams are open already: close one, or poll \
                     GET /api/pages instead"
                ),
            )
        })
    }
}

/// The routes `GET /api/pages/{id}/events` and `GET /api/events`.
pub fn router<S: Clone + Send + Sync + 'static>(events: PageEvents) -> Router<S> {
    Router::new()
        .route("/api/pages/{id}/events", get(one_page))
        .route("/api/events", get(all_pages))
        .with_state(events)
}

/// The events a client's producers queue, as the body streams them; holds the client's place
/// among the open streams until the body is dropped.
struct Outgoing {
    events: mpsc::Receiver<Event>,
    _place: OwnedSemaphorePermit,
}

impl futures_core::Stream for Outgoing {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx).map(|e| e.map(Ok))
    }
}

fn stream(events: mpsc::Receiver<Event>, place: OwnedSemaphorePermit) -> Response {
    let out = Outgoing {
        events,
        _place: place,
    };
    Sse::new(out)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

fn event(kind: &str, data: &Value) -> Event {
    Event::default().event(kind).data(data.to_string())
}

/// The data of a `page` event of a live state.
fn page_data(start: &PageStart, report: DeliveryReport, active: bool) -> Arc<str> {
    let page = ActivePage {
        start: start.clone(),
        report,
    };
    json!({ "active": active, "page": page }).to_string().into()
}

/// The data of the `end` event: the journal's record of the page (null if it has none).
fn end_data(store: &Store, id: &str) -> Arc<str> {
    let page = store.page(id).ok().flatten();
    json!({ "id": id, "active": false, "page": page })
        .to_string()
        .into()
}

/// Only a client that asks for an event stream gets one (a browser's `EventSource` sends
/// `Accept: text/event-stream`): anything else gets 406 at once rather than a response that
/// never ends.
fn wants_events(headers: &HeaderMap) -> Result<(), Refusal> {
    let accepts = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(accepts_events);
    if accepts {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::NOT_ACCEPTABLE,
            "this is a Server-Sent Events stream: send Accept: text/event-stream (as EventSource \
             does)",
        ))
    }
}

/// Whether an `Accept` header's value names `text/event-stream` (any case, with or without
/// parameters). Wildcards do not count: the stream never ends, so it must be asked for.
pub fn accepts_events(accept: &str) -> bool {
    accept.split(',').any(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
    })
}

async fn one_page(
    State(e): State<PageEvents>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answered {
    wants_events(&headers)?;
    let (tx, rx) = mpsc::channel(QUEUE);
    if let Some(feed) = e.subscribe(&id) {
        let place = e.admit()?;
        tokio::spawn(forward(feed, tx));
        return Ok(stream(rx, place));
    }
    // An ended page: its record, then the end.
    let Some(detail) = e.store.page(&id).map_err(failed)? else {
        return Err(refuse(StatusCode::NOT_FOUND, format!("no page {id:?}")));
    };
    let place = e.admit()?;
    let _ = tx.try_send(event("page", &json!({ "active": false, "page": detail })));
    let _ = tx.try_send(
        Event::default()
            .event("end")
            .data(&*end_data(&e.store, &id)),
    );
    Ok(stream(rx, place))
}

async fn all_pages(State(e): State<PageEvents>, headers: HeaderMap) -> Answered {
    wants_events(&headers)?;
    let place = e.admit()?;
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(follow_all(e.clone(), tx));
    Ok(stream(rx, place))
}

/// Publish page `start.page`'s changes to its feed, at most one every [`MIN_GAP`], until it
/// ends (then its final state, and `end` once the journal has its outcome) or nobody follows
/// it any more.
async fn publish(
    e: PageEvents,
    start: PageStart,
    mut live: watch::Receiver<DeliveryReport>,
    tx: watch::Sender<Feed>,
) {
    let id = start.page.clone();
    let mut roster = e.pages.roster();
    loop {
        let data = page_data(&start, live.borrow_and_update().clone(), true);
        tx.send_modify(|f| f.page = Some(data));
        tokio::time::sleep(MIN_GAP).await;
        match next_change(&e, &id, &mut live, &mut roster, &tx).await {
            Change::State => {}
            Change::End => break,
            Change::Unfollowed => return,
        }
    }
    let last = page_data(&start, live.borrow().clone(), false);
    tx.send_modify(|f| f.page = Some(last));
    // The journal has the outcome once the page has left the running list.
    let _ = tokio::time::timeout(FINAL_WAIT, async {
        while e.pages.watch(&id).is_some() && roster.changed().await.is_ok() {}
    })
    .await;
    let end = end_data(&e.store, &id);
    tx.send_modify(|f| f.end = Some(end));
    e.retire(&id, &tx, true);
}

/// What became of a followed page.
enum Change {
    /// A new live state.
    State,
    /// It ended.
    End,
    /// Nobody follows it any more (its feed is retired).
    Unfollowed,
}

/// Wait for page `id`'s next change.
async fn next_change(
    e: &PageEvents,
    id: &str,
    live: &mut watch::Receiver<DeliveryReport>,
    roster: &mut watch::Receiver<u64>,
    tx: &watch::Sender<Feed>,
) -> Change {
    loop {
        tokio::select! {
            r = live.changed() => return if r.is_err() { Change::End } else { Change::State },
            r = roster.changed() => {
                if r.is_err() || e.pages.watch(id).is_none() {
                    return Change::End;
                }
            }
            () = tx.closed() => {
                if e.retire(id, tx, false) {
                    return Change::Unfollowed;
                }
                // Someone subscribed meanwhile: wait for them to go too.
                tokio::time::sleep(MIN_GAP).await;
            }
        }
    }
}

/// Send one client a page's feed: each new `page` state, then `end`; until the end or the
/// client goes. A slow client gets the latest state when it is ready, never a backlog.
async fn forward(mut feed: watch::Receiver<Feed>, tx: mpsc::Sender<Event>) {
    let mut sent: Option<Arc<str>> = None;
    loop {
        let now = feed.borrow_and_update().clone();
        if let Some(page) = now.page
            && !sent.as_ref().is_some_and(|s| Arc::ptr_eq(s, &page))
        {
            if tx
                .send(Event::default().event("page").data(&*page))
                .await
                .is_err()
            {
                return;
            }
            sent = Some(page);
        }
        if let Some(end) = now.end {
            let _ = tx.send(Event::default().event("end").data(&*end)).await;
            return;
        }
        tokio::select! {
            r = feed.changed() => if r.is_err() { return },
            () = tx.closed() => return,
        }
    }
}

/// Follow every page, those running now and those that start, until the client goes or the
/// server shuts down (then once the last page's `end` is out).
async fn follow_all(e: PageEvents, tx: mpsc::Sender<Event>) {
    let mut roster = e.pages.roster();
    let mut followed: HashSet<String> = HashSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        roster.borrow_and_update();
        let ids = e.pages.ids();
        for id in &ids {
            if followed.insert(id.clone())
                && let Some(feed) = e.subscribe(id)
            {
                tasks.spawn(forward(feed, tx.clone()));
            }
        }
        followed.retain(|id| ids.contains(id));
        if e.pages.closing() && ids.is_empty() {
            break;
        }
        tokio::select! {
            r = roster.changed() => if r.is_err() { break },
            () = tx.closed() => return,
            Some(_) = tasks.join_next() => {}
        }
    }
    // Shutting down: the pages' last events, then the stream ends.
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_event_stream_is_accepted() {
        for yes in [
            "text/event-stream",
            "Text/Event-Stream",
            "text/html, text/event-stream;q=0.9",
            " text/event-stream ; charset=utf-8",
        ] {
            assert!(accepts_events(yes), "{yes}");
        }
        for no in [
            "*/*",
            "text/*",
            "",
            "application/json",
            "text/event-streamx",
        ] {
            assert!(!accepts_events(no), "{no}");
        }
    }
}
