//! The journal's NATS side (`docs/cluster.md`, "How things travel"): the node's connection for
//! its journal and status (the same credentials and TLS as the lease's, retried in the
//! background when the store is down at start), the site's stream `ZC_JOURNAL_<site>` (created
//! if absent), this site's place among the sources of the hub's `ZC_JOURNAL` (created if absent;
//! across domains through the `external` API prefix `$JS.<site>.API`), one record published with
//! its `Nats-Msg-Id`, and the district's latest records read back from the hub. It decides
//! nothing: what to send when is [`super::outbox`]'s.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_core::Stream;

use super::journal::{HUB_STREAM, JournalRecord, site_stream, site_subject};
use super::outbox::OutRecord;
use super::store::{ClusterError, connect_client};
use crate::config::Cluster;

/// How long the site's stream remembers a message id: a record sent again within this time
/// after its acknowledgement was lost is stored once. The outbox retries within seconds, but a
/// node killed before the acknowledgement may stay down for a long weekend before it sends the
/// record again; the ids of a week cost the server little (a site makes some thousands).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// The bound on one request to JetStream.
const ASK_LIMIT: Duration = Duration::from_secs(5);

/// Most records read back from the hub in one answer.
pub const SCAN_LIMIT: usize = 4000;

/// This node's link for its journal and status.
#[derive(Clone)]
pub struct JournalLink {
    site: String,
    node: String,
    client: async_nats::Client,
    site_js: jetstream::Context,
    hub_js: jetstream::Context,
    cross_domain: bool,
}

/// The district's latest records as read from the hub.
#[derive(Debug, Clone, Default)]
pub struct DistrictRecords {
    /// Readable records, oldest first, each message id once.
    pub records: Vec<JournalRecord>,
    /// Messages refused (too large, unreadable, unsafe names).
    pub refused: usize,
    /// Messages the hub's stream holds in all.
    pub held: u64,
}

fn js_err(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Bucket {
        bucket: what.to_owned(),
        reason: e.to_string(),
    }
}

impl JournalLink {
    /// Connect as `[cluster]` says. Unreadable credentials fail now; a store that does not
    /// answer does not (the client keeps trying, and the outbox waits for it).
    pub async fn connect(c: &Cluster) -> Result<JournalLink, ClusterError> {
        let client = connect_client(c, true).await?;
        let site_js = jetstream::new(client.clone());
        let hub_js = match &c.hub_domain {
            Some(d) => jetstream::with_domain(client.clone(), d),
            None => site_js.clone(),
        };
        Ok(JournalLink {
            site: c.site.clone(),
            node: c.node.clone(),
            client,
            site_js,
            hub_js,
            cross_domain: c.hub_domain.is_some(),
        })
    }

    /// This node's site.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether the connection to the site's server is up now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The hub's JetStream (the site's own when there is no separate hub).
    pub(crate) fn hub(&self) -> &jetstream::Context {
        &self.hub_js
    }

    /// Create the site's journal stream if it is absent.
    pub async fn ensure_site_stream(&self) -> Result<(), ClusterError> {
        let name = site_stream(&self.site);
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![site_subject(&self.site)],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        let made = tokio::time::timeout(ASK_LIMIT, self.site_js.get_or_create_stream(config));
        let made = match made.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(js_err(&name, e)),
            Err(_) => return Err(js_err(&name, "no answer")),
        };
        // A stream an older version made remembers ids for less: widen it.
        let mut config = made.cached_info().config.clone();
        if config.duplicate_window >= DUPLICATE_WINDOW {
            return Ok(());
        }
        config.duplicate_window = DUPLICATE_WINDOW;
        match tokio::time::timeout(ASK_LIMIT, self.site_js.update_stream(config)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(js_err(&name, e)),
            Err(_) => Err(js_err(&name, "no answer")),
        }
    }

    /// Make the hub's `ZC_JOURNAL` source this site's stream: create it if absent, or add this
    /// site to its sources. Two sites adding themselves at once may overwrite each other's
    /// update, so the sources are read back until this site is among them.
    pub async fn ensure_hub_source(&self) -> Result<(), ClusterError> {
        let mine = site_stream(&self.site);
        for _ in 0..5 {
            let found = tokio::time::timeout(ASK_LIMIT, self.hub_js.get_stream(HUB_STREAM)).await;
            let result = match found {
                Err(_) => return Err(js_err(HUB_STREAM, "the hub does not answer")),
                Ok(Ok(s)) => {
                    let mut config = s.cached_info().config.clone();
                    let sources = config.sources.get_or_insert_with(Vec::new);
                    if sources.iter().any(|x| x.name == mine) {
                        return Ok(());
                    }
                    sources.push(self.source());
                    self.hub_js.update_stream(config).await.map(drop)
                }
                Ok(Err(_)) => {
                    let config = stream::Config {
                        name: HUB_STREAM.to_owned(),
                        sources: Some(vec![self.source()]),
                        duplicate_window: DUPLICATE_WINDOW,
                        ..Default::default()
                    };
                    self.hub_js.create_stream(config).await.map(drop)
                }
            };
            if let Err(e) = result {
                tracing::debug!("cluster: {HUB_STREAM}: {e}; trying again");
            }
            tokio::time::sleep(Duration::from_millis(200 + rand::random::<u64>() % 300)).await;
        }
        Err(js_err(
            HUB_STREAM,
            "this site's source did not stay in its sources",
        ))
    }

    /// This site's stream as a source of the hub's.
    fn source(&self) -> stream::Source {
        stream::Source {
            name: site_stream(&self.site),
            external: self.cross_domain.then(|| stream::External {
                api_prefix: format!("$JS.{}.API", self.site),
                delivery_prefix: None,
            }),
            ..Default::default()
        }
    }

    /// Publish one record with its `Nats-Msg-Id` and wait for the stream's acknowledgement (a
    /// duplicate's counts: the stream has it). Bounded by [`ASK_LIMIT`].
    pub async fn publish(&self, r: &OutRecord) -> Result<(), String> {
        let mut headers = async_nats::HeaderMap::new();
        let id = format!("{}.{}.{}", self.site, self.node, r.id);
        headers.insert("Nats-Msg-Id", id.as_str());
        let subject = site_subject(&self.site);
        let sent = async {
            let ack = self
                .site_js
                .publish_with_headers(subject, headers, r.bytes.clone().into())
                .await
                .map_err(|e| e.to_string())?;
            ack.await.map(drop).map_err(|e| e.to_string())
        };
        tokio::time::timeout(ASK_LIMIT, sent)
            .await
            .unwrap_or_else(|_| Err("no acknowledgement in time".into()))
    }

    /// The hub's latest `scan` messages (at most [`SCAN_LIMIT`]), read through an ephemeral
    /// consumer that acknowledges nothing: readable records oldest first, each message id once.
    pub async fn district(&self, scan: usize) -> Result<DistrictRecords, ClusterError> {
        let scan = scan.clamp(1, SCAN_LIMIT);
        let read = tokio::time::timeout(ASK_LIMIT * 2, self.read_hub(scan)).await;
        read.unwrap_or_else(|_| Err(js_err(HUB_STREAM, "the hub does not answer")))
    }

    async fn read_hub(&self, scan: usize) -> Result<DistrictRecords, ClusterError> {
        let mut s = self
            .hub_js
            .get_stream(HUB_STREAM)
            .await
            .map_err(|e| js_err(HUB_STREAM, e))?;
        let state = s
            .info()
            .await
            .map_err(|e| js_err(HUB_STREAM, e))?
            .state
            .clone();
        let mut out = DistrictRecords {
            held: state.messages,
            ..Default::default()
        };
        if state.messages == 0 {
            return Ok(out);
        }
        let start = state
            .first_sequence
            .max(state.last_sequence.saturating_sub(scan as u64 - 1));
        let c = s
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|e| js_err(HUB_STREAM, e))?;
        let want = usize::try_from(state.last_sequence - start + 1).unwrap_or(scan);
        let mut messages = c
            .fetch()
            .max_messages(want)
            .messages()
            .await
            .map_err(|e| js_err(HUB_STREAM, e))?;
        let mut seen = HashSet::new();
        while let Some(m) = next(&mut messages).await {
            let Ok(m) = m else { break };
            match JournalRecord::decode(&m.payload) {
                Ok(r) if seen.insert(r.msg_id()) => out.records.push(r),
                Ok(_) => {}
                Err(e) => {
                    out.refused += 1;
                    tracing::debug!("cluster: {HUB_STREAM}: {e}");
                }
            }
        }
        Ok(out)
    }
}

/// The next item of a stream (`futures_core` has no combinators).
pub(crate) async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
}
