//! District pages at the server (issue 24, `docs/cluster.md`): with `[cluster]`, this node
//! answers its site's part of other nodes' district pages (a [`SiteDesk`] paging through the
//! server's own [`Pages`], so a remote part is a local page like any other, journaled with
//! origin `site:<from>`), and starts district pages itself when `POST /api/pages` names a zone
//! of `[cluster.district]`: split per site, asked over the bus, merged into one report that
//! `GET /api/pages/{id}` shows and `DELETE /api/pages/{id}` stops at every site.
//!
//! Its own site's part goes over the bus like the others (to its own leaf): one path for every
//! part (the same duplicate check, report and stop), and with a pair it reaches whichever node
//! leads, which need not be this one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use super::pages::{BROWSER_MIC, MicRefused, Pages, StartError, StartPage};
use crate::cluster::{
    AnswersForSite, DistrictPage, DistrictReport, DistrictTerms, LiveListener, LiveSender,
    LocalPager, PartRequest, PartStart, PartTemplate, SiteBells, SiteDesk, SiteStore, live_subject,
    run_district_page, split,
};
use crate::config::{Cluster, DistrictZone};
use crate::page::{Origin, PageError};
use crate::source::{Trust, Voice, VoiceChange};

/// Ended district pages kept for `GET /api/pages/{id}`.
const KEEP_ENDED: usize = 100;

/// The server's pages as a site's [`LocalPager`], and the bus a part spoken live comes on.
struct SitePages {
    pages: Pages,
    client: async_nats::Client,
    /// The site's `[speech]`, under a voice the asker names in part.
    speech: Voice,
}

impl LocalPager for SitePages {
    fn start_part(&self, req: PartRequest) -> PartStart {
        let pages = self.pages.clone();
        let client = self.client.clone();
        let voice = req.voice.as_ref().map(|v| v.apply(&self.speech));
        Box::pin(async move {
            // Subscribed before the page starts: its first frames are not lost on the way.
            let listener = match &req.live {
                Some(stream) => Some(
                    LiveListener::subscribe(&client, live_subject(&req.from, stream))
                        .await
                        .map_err(|e| e.to_string())?,
                ),
                None => None,
            };
            let start = StartPage {
                zone: req.zone,
                // A part spoken live plays its stream as a browser's microphone would.
                source: if listener.is_some() {
                    BROWSER_MIC.to_owned()
                } else {
                    req.source
                },
                trust: Trust::Api,
                banner: req.banner,
                priority: req.priority,
                duration: req.duration_ms.map(std::time::Duration::from_millis),
                via_media: false,
                origin: Origin::RemoteSite(req.from),
                talker: None,
                voice,
                hand_over: None,
            };
            let id = pages.start(start).await.map_err(|e| match e {
                // Said as such to the initiator: its report shows the site refused, busy.
                StartError::Page(PageError::Busy(why)) => format!("busy: {why}"),
                e => e.to_string(),
            })?;
            if let Some(listener) = listener {
                let link = pages.open_mic(&id).map_err(|e| {
                    pages.stop(&id, "the district page's sound could not be connected");
                    e.to_string()
                })?;
                let feed = link.feed;
                tokio::spawn(listener.relay(move |f| feed.push(f.iter().copied()), link.live));
            }
            match pages.watch(&id) {
                Some((_, live)) => Ok((id, live)),
                // Ended before it could be followed (a zone without phones): an empty report.
                None => {
                    let mut r = crate::page::DeliveryReport::empty(&id, "", "");
                    r.ended_by = "ended at once".into();
                    Ok((id, watch::channel(r).1))
                }
            }
        })
    }

    fn stop_part(&self, page: &str, reason: &str) -> bool {
        self.pages.stop(page, reason)
    }

    /// Taking long: the pages playing here (a zone held at equal priority waits, as this
    /// site's `[priorities] equal = "wait"` says), or the sound being made.
    fn why_starting(&self, req: &PartRequest) -> String {
        let playing: Vec<String> = self
            .pages
            .active()
            .iter()
            .take(5)
            .map(|p| {
                format!(
                    "{} (zone {}, {})",
                    p.start.page, p.start.zone, p.start.priority
                )
            })
            .collect();
        if playing.is_empty() {
            format!("zone {}: its sound is being made", req.zone)
        } else {
            format!(
                "zone {}: waiting for pages of equal priority to end: {}",
                req.zone,
                playing.join(", ")
            )
        }
    }
}

struct Running {
    stop: watch::Sender<Option<String>>,
    report: watch::Receiver<DistrictReport>,
    /// A page of the browser's microphone: its stream, and whether its socket has opened.
    mic: Option<(LiveSender, bool)>,
    /// Who asked for it (as the history says: `phone:NAME`, `bell:NAME`, a user).
    by: String,
}

struct Inner {
    client: async_nats::Client,
    site: String,
    zones: Vec<DistrictZone>,
    running: Mutex<HashMap<String, Running>>,
    ended: Mutex<VecDeque<DistrictReport>>,
    _desk: SiteDesk,
}

/// A page started by [`start_here_or_district`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartedPage {
    /// A page of this site's zone: its id.
    Here(String),
    /// A district page: its id, and how many sites it was asked of.
    District { id: String, sites: usize },
}

/// Start `req` as every initiator of a configured page does (a bell, a phone's message): a
/// district page when `district` has its zone (a district zone wins over a site zone of the
/// same name), with the id `occurrence` when given (a bell's, the same at every node that rings
/// it), else a page of this site. The error says why, without the zone.
pub async fn start_here_or_district(
    pages: &Pages,
    district: Option<&DistrictPages>,
    req: StartPage,
    occurrence: Option<String>,
) -> Result<StartedPage, String> {
    match district.and_then(|d| d.zone(&req.zone).map(|z| (d, z.members.len()))) {
        Some((d, sites)) => d
            .start_page_as(&req, occurrence)
            .map(|id| StartedPage::District { id, sites })
            .map_err(|e| e.to_string()),
        None => pages
            .start(req)
            .await
            .map(StartedPage::Here)
            .map_err(|e| e.to_string()),
    }
}

/// District pages at this node: the site's desk, and the district pages it started.
#[derive(Clone)]
pub struct DistrictPages {
    inner: Arc<Inner>,
}

/// Why a district page did not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DistrictRefused(pub String);

impl DistrictPages {
    /// Connect as `[cluster]` says and answer the site's subjects. Of a pair, only the node
    /// that leads answers: through the bells' lease when the server rings bells, else through a
    /// lease of its own; a single node always answers.
    pub async fn start(
        c: &Cluster,
        pages: Pages,
        bells: Option<Arc<SiteBells>>,
        speech: Voice,
    ) -> anyhow::Result<DistrictPages> {
        let client = crate::cluster::connect_client(c, true).await?;
        let answers: AnswersForSite = match (c.pair.len() > 1, bells) {
            (false, _) => Arc::new(|| true),
            (true, Some(b)) => Arc::new(move || b.token().is_some()),
            (true, None) => {
                // Kept by the closure: dropping the handle would stop the lease.
                let lease = SiteStore::connect(c).await?.start_lease();
                Arc::new(move || lease.token().is_some())
            }
        };
        let pager = Arc::new(SitePages {
            pages,
            client: client.clone(),
            speech,
        });
        let desk = SiteDesk::start(client.clone(), &c.site, &c.node, answers, pager).await?;
        Ok(DistrictPages {
            inner: Arc::new(Inner {
                client,
                site: c.site.clone(),
                zones: c.district.clone(),
                running: Mutex::default(),
                ended: Mutex::default(),
                _desk: desk,
            }),
        })
    }

    /// The district zone named `name`, if there is one.
    pub fn zone(&self, name: &str) -> Option<&DistrictZone> {
        self.inner.zones.iter().find(|z| z.name == name)
    }

    /// Start a district page of `req.zone` (a district zone); its id.
    pub fn start_page(&self, req: &StartPage) -> Result<String, DistrictRefused> {
        self.start_page_as(req, None)
    }

    /// [`DistrictPages::start_page`] with the id `id` (a bell occurrence's) when given, else a
    /// new one. An id this node runs already is refused (an occurrence rung twice here).
    pub fn start_page_as(
        &self,
        req: &StartPage,
        id: Option<String>,
    ) -> Result<String, DistrictRefused> {
        if req.talker.is_some() || req.source == BROWSER_MIC {
            return Err(DistrictRefused(
                "a district page plays a sound, a tone or speech, a SIP call or the browser's \
                 microphone (POST /api/pages with \"source\": \"mic\"): a talker pages only \
                 this site's zones"
                    .into(),
            ));
        }
        // An occurrence's page is shared with the other nodes that ring it.
        let terms = DistrictTerms {
            stop_unreachable: id.is_none(),
            ..DistrictTerms::default()
        };
        let id = id.unwrap_or_else(crate::cluster::district_page_id);
        if self.running().contains_key(&id) {
            return Err(DistrictRefused(format!(
                "district page {id} runs already at this node"
            )));
        }
        self.launch(&id, req, false, terms)?;
        Ok(id)
    }

    /// Start a district page of `req.zone` spoken live (a SIP call, a call's recording): its id,
    /// and where its 20 ms µ-law frames go (every site's part plays them as they come).
    pub fn start_live(&self, req: &StartPage) -> Result<(String, LiveSender), DistrictRefused> {
        let id = crate::cluster::district_page_id();
        let subject = live_subject(&self.inner.site, &id);
        let sender = LiveSender::start(self.inner.client.clone(), subject);
        self.launch(&id, req, true, DistrictTerms::default())?;
        Ok((id, sender))
    }

    /// Start a district page of `req.zone` spoken by the browser's microphone: its id. The
    /// socket `GET /api/pages/{id}/mic` takes its stream ([`DistrictPages::open_mic`]); a
    /// socket that never opens leaves each site's part to end as a silent microphone's does.
    pub fn start_mic(&self, req: &StartPage) -> Result<String, DistrictRefused> {
        if req.talker.is_some() {
            return Err(DistrictRefused(
                "a talker pages only this site's zones".into(),
            ));
        }
        let (id, sender) = self.start_live(req)?;
        if let Some(r) = self.running().get_mut(&id) {
            r.mic = Some((sender, false));
        }
        Ok(id)
    }

    /// The stream of district page `id`'s microphone, and its report as a page's (closed once
    /// it has ended): once per page.
    pub fn open_mic(
        &self,
        id: &str,
    ) -> Result<(LiveSender, watch::Receiver<crate::page::DeliveryReport>), MicRefused> {
        let sender = {
            let mut running = self.running();
            let r = running
                .get_mut(id)
                .ok_or_else(|| MicRefused::NoPage(id.to_owned()))?;
            match &mut r.mic {
                None => return Err(MicRefused::NotMic(id.to_owned())),
                Some((_, true)) => return Err(MicRefused::Taken(id.to_owned())),
                Some((sender, open)) => {
                    *open = true;
                    sender.clone()
                }
            }
        };
        let live = self
            .follow(id)
            .ok_or_else(|| MicRefused::NoPage(id.to_owned()))?;
        Ok((sender, live))
    }

    /// A running district page `id` as a local page's initiator follows one
    /// ([`DistrictReport::as_delivery`]); the receiver closes once the page has ended.
    pub fn follow(&self, id: &str) -> Option<watch::Receiver<crate::page::DeliveryReport>> {
        let mut district = self.running().get(id)?.report.clone();
        let (tx, rx) = watch::channel(district.borrow_and_update().as_delivery());
        tokio::spawn(async move {
            loop {
                let done = {
                    let r = district.borrow_and_update();
                    tx.send_replace(r.as_delivery());
                    r.done
                };
                if done || district.changed().await.is_err() {
                    return;
                }
            }
        });
        Some(rx)
    }

    /// Run district page `id` of `req.zone` on `terms`, its parts spoken live (from stream
    /// `id`) or not.
    fn launch(
        &self,
        id: &str,
        req: &StartPage,
        live: bool,
        terms: DistrictTerms,
    ) -> Result<(), DistrictRefused> {
        let zone = self
            .zone(&req.zone)
            .ok_or_else(|| DistrictRefused(format!("no district zone {:?}", req.zone)))?;
        let id = id.to_owned();
        let page = DistrictPage::new(&id, &zone.name, split(&id, zone), terms, Instant::now());
        let template = PartTemplate {
            from: self.inner.site.clone(),
            source: req.source.clone(),
            banner: req.banner.clone(),
            priority: req.priority.clone(),
            duration: req.duration,
            live: live.then(|| id.clone()),
            voice: req.voice.as_ref().map(VoiceChange::from),
        };
        let (stop, stop_rx) = watch::channel(None);
        let (out, report) = watch::channel(page.report().clone());
        self.running().insert(
            id.clone(),
            Running {
                stop,
                report,
                mic: None,
                by: req.origin.to_string(),
            },
        );
        let me = self.clone();
        let client = self.inner.client.clone();
        let page_id = id.clone();
        tokio::spawn(async move {
            let end = run_district_page(client, page, template, stop_rx, out).await;
            let report = match end {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("district page {page_id}: {e}");
                    let r = me
                        .running()
                        .get(&page_id)
                        .map(|r| r.report.borrow().clone());
                    let Some(r) = r else { return };
                    r
                }
            };
            tracing::info!(
                "district page {page_id} ended: {} of {} sites paged, {} unreachable; {} of {} \
                 phones reached",
                report.totals.paged,
                report.totals.sites,
                report.totals.unreachable,
                report.totals.accepted,
                report.totals.phones
            );
            me.running().remove(&page_id);
            let mut ended = me.inner.ended.lock().unwrap_or_else(|p| p.into_inner());
            ended.push_back(report);
            while ended.len() > KEEP_ENDED {
                ended.pop_front();
            }
        });
        tracing::info!("district page {id} started: zone {}", zone.name);
        Ok(())
    }

    /// A district page's report, and whether it still runs.
    pub fn get(&self, id: &str) -> Option<(bool, DistrictReport)> {
        if let Some(r) = self.running().get(id) {
            return Some((true, r.report.borrow().clone()));
        }
        let ended = self.inner.ended.lock().unwrap_or_else(|p| p.into_inner());
        ended
            .iter()
            .find(|r| r.id == id)
            .map(|r| (false, r.clone()))
    }

    /// The zone of district page `id`, if it runs.
    pub fn running_zone(&self, id: &str) -> Option<String> {
        self.running()
            .get(id)
            .map(|r| r.report.borrow().zone.clone())
    }

    /// Who asked for district page `id` (as the history names it), if it runs.
    pub fn requested_by(&self, id: &str) -> Option<String> {
        self.running().get(id).map(|r| r.by.clone())
    }

    /// Stop district page `id` at every site; `false` if it does not run.
    pub fn stop(&self, id: &str, reason: &str) -> bool {
        match self.running().get(id) {
            Some(r) => {
                r.stop.send_replace(Some(reason.to_owned()));
                true
            }
            None => false,
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}
