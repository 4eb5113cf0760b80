//! A district page as the initiating node sees it, sans-IO: a district zone split into one part
//! per `site:zone` member ([`split`]), each part asked of its site with a deadline, the sites'
//! report events merged into one [`DistrictReport`] with a section per part, and what counts as
//! done. [`DistrictPage`] decides; the shell (`district_bus`) carries out its ops and feeds it
//! the answers, the events and the time.
//!
//! Call order: [`DistrictPage::poll_op`] until `None` (ask a site, stop a site), feed what
//! happened (`handle_answer`, `handle_event`, `handle_timeout(now)`, `stop`), sleep until
//! [`DistrictPage::poll_timeout`]; [`DistrictPage::is_done`] ends it.
//!
//! A section goes `asking` → `accepted` → `ended`, or ends `refused` (the site said no: an
//! unknown zone, `busy: ...` for a zone held at equal priority), `unreachable` (no answer by
//! [`DistrictTerms::answer_within`]: a site behind a cut link, or whose nodes are down), or
//! `lost` (accepted, then nothing heard for [`DistrictTerms::silence_limit`]). A site that
//! answers "no one listens" is asked again every [`DistrictTerms::ask_again`] until the deadline;
//! a duplicate is harmless, the site pages a part once. A site marked unreachable is also sent a
//! stop, so that a request delivered late does not page a part the report called unreachable.
//!
//! Two interim answers move the deadline, because they prove the site is there:
//! - `standby` (a node of a pair that does not lead): its leader is changing hands (killed: the
//!   standby takes the lease within the lease time) or slow. The site is asked again every
//!   `ask_again` until the page's start + [`DistrictTerms::leader_change`] (lease + margin), so a
//!   leader killed just before the page costs a few seconds, not the site. A pair's standby
//!   listens on the site's subject, so without this answer a leader change looks exactly like a
//!   silent WAN link (a timeout, not "no one listens"): the site's own word is the only sound
//!   distinction. A site that says nothing (a cut link, both nodes down) still ends unreachable
//!   at `answer_within`.
//! - `starting` (the leader has not started the page yet, sent every second while it lasts: a
//!   zone held at equal priority that the site's policy waits for, speech being made): the
//!   deadline rolls to `answer_within` after the last one, up to the page's start +
//!   [`DistrictTerms::start_limit`]; the site's own wait ends in its final answer.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::district_wire::{PartEvent, PartReply, PhoneLine};
use crate::config::DistrictZone;
use crate::page::DeliveryReport;

/// The deadlines of a district page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistrictTerms {
    /// How long a site has to accept or refuse its part.
    pub answer_within: Duration,
    /// How soon a site that had no listener is asked again.
    pub ask_again: Duration,
    /// How long an accepted part may stay silent (sites send `running` every few seconds).
    pub silence_limit: Duration,
    /// From the page's start, how long a site whose standby answered is asked again: a pair's
    /// leader change (the lease time, 4 s by default, and a margin).
    pub leader_change: Duration,
    /// From the page's start, how long a site that keeps saying it is starting is waited for
    /// (a site's wait for a zone held at equal priority is a minute).
    pub start_limit: Duration,
    /// Send a stop to a part reported unreachable, so that a site answering late does not play
    /// a page no one follows. Not for a bell occurrence's page ([`bell_page_id`]): other nodes
    /// ringing the same occurrence may follow that part, and a stop from this node (its link
    /// back just then) would cut it for them.
    pub stop_unreachable: bool,
}

impl Default for DistrictTerms {
    fn default() -> Self {
        DistrictTerms {
            answer_within: Duration::from_secs(3),
            ask_again: Duration::from_millis(250),
            silence_limit: Duration::from_secs(8),
            leader_change: Duration::from_secs(6),
            start_limit: Duration::from_secs(75),
            stop_unreachable: true,
        }
    }
}

/// One site's part of a district page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// `<district page id>-<n>`.
    pub id: String,
    /// The site.
    pub site: String,
    /// The site's zone.
    pub zone: String,
}

/// A new district page's id, `dp-<ms hex>-<random>`: a subject token, unique across the district.
pub fn district_page_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("dp-{ms:x}-{:08x}", rand::random::<u32>())
}

/// The district page of one occurrence of a bell: `dp-b<due Unix seconds, hex>-<hash of the
/// bell's and the zone's names>`, the same at every node that rings it (a bell defined at
/// several sites: each site's desk pages a part of it once, as for a duplicate request).
pub fn bell_page_id(bell: &str, zone: &str, due_unix: i64) -> String {
    let mut named = Vec::with_capacity(bell.len() + zone.len() + 1);
    named.extend_from_slice(bell.as_bytes());
    named.push(0);
    named.extend_from_slice(zone.as_bytes());
    format!("dp-b{due_unix:x}-{:016x}", fnv1a(&named))
}

/// FNV-1a, 64 bits: a stable hash of names for ids (not a secret, not a check).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The parts of a page of `zone` with id `page`: one per member, in the config's order, each
/// `<page>-<site>-<hash of the site's zone>`: a part's id names its site and zone whatever the
/// order of the members in the config of the node that splits it.
pub fn split(page: &str, zone: &DistrictZone) -> Vec<Part> {
    zone.members
        .iter()
        .map(|(site, z)| Part {
            id: format!("{page}-{site}-{:08x}", fnv1a(z.as_bytes()) as u32),
            site: site.clone(),
            zone: z.clone(),
        })
        .collect()
}

/// Where a part is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SectionStatus {
    /// Asked, no answer yet.
    Asking,
    /// Paging at the site.
    Accepted {
        /// The site's page id (empty if its events came before its answer).
        page: String,
    },
    /// The site would not page it.
    Refused {
        /// Why.
        reason: String,
    },
    /// No answer in time.
    Unreachable {
        /// What the shell saw last (no listener, timed out).
        reason: String,
    },
    /// The site's page ended.
    Ended {
        /// Why (as the site says).
        ended_by: String,
    },
    /// Accepted, then silent too long.
    Lost,
}

impl SectionStatus {
    /// Nothing more will change it.
    pub fn is_final(&self) -> bool {
        !matches!(self, SectionStatus::Asking | SectionStatus::Accepted { .. })
    }
}

/// One part's section of the merged report.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSection {
    /// The site.
    pub site: String,
    /// The site's zone.
    pub zone: String,
    /// The part's id.
    pub part: String,
    /// Where it is.
    #[serde(flatten)]
    pub status: SectionStatus,
    /// While asking: what the site said so far (its standby answered, it is starting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Phones in the zone (from the site's `end`, else the lines seen).
    pub phones_total: usize,
    /// Phones that accepted.
    pub accepted: usize,
    /// Phones not reached.
    pub failed: usize,
    /// Per phone, by name.
    pub phones: Vec<PhoneLine>,
}

/// The merged report of a district page.
#[derive(Debug, Clone, Serialize)]
pub struct DistrictReport {
    /// The district page's id.
    pub id: String,
    /// The district zone.
    pub zone: String,
    /// Every section is final.
    pub done: bool,
    /// Sums over the sections.
    pub totals: DistrictTotals,
    /// One per part.
    pub sites: Vec<SiteSection>,
}

impl DistrictReport {
    /// The report as a local page's initiator follows one (a SIP call waiting for its phones):
    /// the sums over the sites, a site not answered yet or answered without phone lines
    /// counted as one phone starting, and once done why it ended: how many sites paged, or
    /// every site's reason when none did.
    pub fn as_delivery(&self) -> DeliveryReport {
        let mut r = DeliveryReport::empty(&self.id, &self.zone, "");
        let t = &self.totals;
        r.totals.phones = t.phones;
        r.totals.accepted = t.accepted;
        r.totals.failed = t.failed;
        r.totals.pushed = t.accepted + t.failed;
        r.totals.starting = self
            .sites
            .iter()
            .map(|s| match s.status {
                SectionStatus::Asking => 1,
                SectionStatus::Accepted { .. } if s.phones.is_empty() => 1,
                SectionStatus::Accepted { .. } => {
                    s.phones_total.saturating_sub(s.accepted + s.failed)
                }
                _ => 0,
            })
            .sum();
        if self.done {
            r.ended_by = if t.paged > 0 {
                format!(
                    "district page ended: {} of {} sites paged",
                    t.paged, t.sites
                )
            } else {
                let why: Vec<String> = self
                    .sites
                    .iter()
                    .map(|s| match &s.status {
                        SectionStatus::Refused { reason } => format!("{}: {reason}", s.site),
                        SectionStatus::Unreachable { reason } => {
                            format!("{}: unreachable ({reason})", s.site)
                        }
                        other => format!("{}: {other:?}", s.site),
                    })
                    .collect();
                format!("no site paged: {}", why.join("; "))
            };
        }
        r
    }
}

/// Sums of a district report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DistrictTotals {
    /// Parts.
    pub sites: usize,
    /// Parts accepted (running or ended).
    pub paged: usize,
    /// Parts unreachable or lost.
    pub unreachable: usize,
    /// Parts refused.
    pub refused: usize,
    /// Phones over all sections.
    pub phones: usize,
    /// Phones that accepted.
    pub accepted: usize,
    /// Phones not reached.
    pub failed: usize,
}

/// What the shell is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistrictOp {
    /// Send part `n`'s request; the time left until its answer is due (an asker that waits
    /// for one reply waits this long; one reading an inbox, as `district_bus`, needs not).
    Ask(usize, Duration),
    /// Send part `n`'s stop, with the reason.
    Stop(usize, String),
}

/// How asking a site went, as the shell saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartAnswer {
    /// The site answered.
    Replied(PartReply),
    /// No node listens on the site's subject now (its link is down, or no leader).
    NoListener,
    /// No answer within the wait (an asker that waits for one reply: asked again at once).
    TimedOut,
}

#[derive(Debug, Clone, Default)]
struct Timers {
    answer_by: Option<Instant>,
    ask_at: Option<Instant>,
    in_flight: bool,
    heard: Option<Instant>,
    lines: BTreeMap<String, PhoneLine>,
    /// What the last ask met, for an unreachable site's reason.
    last: Option<String>,
    end_counts: Option<(usize, usize, usize)>,
}

/// One district page: its parts, their sections and their timers.
#[derive(Debug)]
pub struct DistrictPage {
    terms: DistrictTerms,
    parts: Vec<Part>,
    report: DistrictReport,
    timers: Vec<Timers>,
    ops: VecDeque<DistrictOp>,
    stopping: bool,
    started: Instant,
}

impl DistrictPage {
    /// A page of `zone` split into `parts` (see [`split`]), every site asked now.
    pub fn new(id: &str, zone: &str, parts: Vec<Part>, terms: DistrictTerms, now: Instant) -> Self {
        let sites = parts
            .iter()
            .map(|p| SiteSection {
                site: p.site.clone(),
                zone: p.zone.clone(),
                part: p.id.clone(),
                status: SectionStatus::Asking,
                note: None,
                phones_total: 0,
                accepted: 0,
                failed: 0,
                phones: Vec::new(),
            })
            .collect();
        let timers = parts
            .iter()
            .map(|_| Timers {
                answer_by: Some(now + terms.answer_within),
                ask_at: Some(now),
                ..Timers::default()
            })
            .collect();
        let mut page = DistrictPage {
            terms,
            parts,
            report: DistrictReport {
                id: id.to_owned(),
                zone: zone.to_owned(),
                done: false,
                totals: DistrictTotals::default(),
                sites,
            },
            timers,
            ops: VecDeque::new(),
            stopping: false,
            started: now,
        };
        page.handle_timeout(now);
        page
    }

    /// The parts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The merged report as it stands.
    pub fn report(&self) -> &DistrictReport {
        &self.report
    }

    /// Every section is final.
    pub fn is_done(&self) -> bool {
        self.report.done
    }

    /// The next thing to send.
    pub fn poll_op(&mut self) -> Option<DistrictOp> {
        self.ops.pop_front()
    }

    /// When `handle_timeout` is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for (t, s) in self.timers.iter().zip(&self.report.sites) {
            let due = match &s.status {
                SectionStatus::Asking => [t.answer_by, t.ask_at.filter(|_| !t.in_flight)]
                    .into_iter()
                    .flatten()
                    .min(),
                SectionStatus::Accepted { .. } => t.heard.map(|h| h + self.terms.silence_limit),
                _ => None,
            };
            next = match (next, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next
    }

    /// Time passed: deadlines, and sites to ask (again).
    pub fn handle_timeout(&mut self, now: Instant) {
        for n in 0..self.parts.len() {
            let t = &mut self.timers[n];
            let mut gone = false;
            match self.report.sites[n].status {
                SectionStatus::Asking => {
                    let by = t.answer_by.unwrap_or(now);
                    if now >= by {
                        gone = true;
                    } else if !t.in_flight && t.ask_at.is_some_and(|a| now >= a) {
                        t.in_flight = true;
                        t.ask_at = None;
                        self.ops.push_back(DistrictOp::Ask(n, by - now));
                    }
                }
                SectionStatus::Accepted { .. }
                    if t.heard.is_some_and(|h| now >= h + self.terms.silence_limit) =>
                {
                    self.report.sites[n].status = SectionStatus::Lost;
                }
                _ => {}
            }
            if gone {
                let why = self.timers[n].last.take();
                self.unreachable(n, why.as_deref().unwrap_or("no answer in time"));
            }
        }
        self.settle();
    }

    /// How asking part `n` went (a final answer, an interim one, or none).
    pub fn handle_answer(&mut self, n: usize, answer: PartAnswer, now: Instant) {
        let Some(t) = self.timers.get_mut(n) else {
            return;
        };
        t.in_flight = false;
        let section = &mut self.report.sites[n];
        let asking = section.status == SectionStatus::Asking;
        match answer {
            PartAnswer::Replied(PartReply::Accepted { page }) => match &mut section.status {
                SectionStatus::Asking => {
                    section.status = SectionStatus::Accepted { page };
                    t.heard = Some(now);
                    if self.stopping {
                        let reason = "stopped".to_owned();
                        self.ops.push_back(DistrictOp::Stop(n, reason));
                    }
                }
                SectionStatus::Accepted { page: known } if known.is_empty() => *known = page,
                _ => {}
            },
            PartAnswer::Replied(PartReply::Refused { reason }) if asking => {
                section.status = SectionStatus::Refused { reason };
            }
            PartAnswer::Replied(PartReply::Standby { node }) if asking => {
                let secs = self.terms.leader_change.as_secs_f32();
                section.note = Some(format!(
                    "its standby (node {node}) answered: no node leads the site now; asked \
                     again for up to {secs} s"
                ));
                t.last = Some(format!(
                    "only its standby (node {node}) answered: no node led the site within \
                     {secs} s (a leader change that took longer, or its store is down)"
                ));
                let cap = self.started + self.terms.leader_change;
                t.answer_by = t.answer_by.max(Some(cap));
                t.ask_at = Some(now + self.terms.ask_again);
            }
            PartAnswer::Replied(PartReply::Starting { reason }) if asking => {
                // The site works on it: no new ask, and its silence is measured from now.
                t.in_flight = true;
                section.note = Some(format!("starting: {reason}"));
                t.last = Some(format!(
                    "it was starting its page ({reason}) and then said nothing for {} s",
                    self.terms.answer_within.as_secs_f32()
                ));
                let by =
                    (now + self.terms.answer_within).min(self.started + self.terms.start_limit);
                t.answer_by = t.answer_by.max(Some(by));
            }
            PartAnswer::Replied(_) => {}
            PartAnswer::NoListener | PartAnswer::TimedOut => {
                let no_listener = answer == PartAnswer::NoListener;
                t.last = Some(if no_listener {
                    "no node of the site listens (its link or its nodes are down)".to_owned()
                } else {
                    "no answer in time".to_owned()
                });
                if asking {
                    t.ask_at = Some(if no_listener {
                        now + self.terms.ask_again
                    } else {
                        now
                    });
                }
            }
        }
        self.handle_timeout(now);
    }

    /// An event of part `n`'s report.
    pub fn handle_event(&mut self, n: usize, event: PartEvent, now: Instant) {
        let Some(t) = self.timers.get_mut(n) else {
            return;
        };
        let section = &mut self.report.sites[n];
        // Events before the answer: the site pages it (the answer is on its way).
        if section.status == SectionStatus::Asking {
            section.status = SectionStatus::Accepted {
                page: String::new(),
            };
        }
        if !matches!(section.status, SectionStatus::Accepted { .. }) {
            return;
        }
        t.heard = Some(now);
        match event {
            PartEvent::Phones { phones } => {
                for l in phones {
                    t.lines.insert(l.name.clone(), l);
                }
            }
            PartEvent::Running => {}
            PartEvent::End {
                ended_by,
                phones,
                accepted,
                failed,
            } => {
                t.end_counts = Some((phones, accepted, failed));
                section.status = SectionStatus::Ended { ended_by };
            }
        }
        self.settle();
    }

    /// Stop the district page: a stop to every site that pages (or may, being asked); sites
    /// asked later than this are stopped as soon as they accept.
    pub fn stop(&mut self, reason: &str) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        for (n, s) in self.report.sites.iter().enumerate() {
            if !s.status.is_final() {
                self.ops.push_back(DistrictOp::Stop(n, reason.to_owned()));
            }
        }
    }

    fn unreachable(&mut self, n: usize, reason: &str) {
        self.report.sites[n].status = SectionStatus::Unreachable {
            reason: reason.to_owned(),
        };
        if self.terms.stop_unreachable {
            let why = "the district page reported this site unreachable".to_owned();
            self.ops.push_back(DistrictOp::Stop(n, why));
        }
    }

    /// Recount the sections and the totals, and whether it is done.
    fn settle(&mut self) {
        let mut totals = DistrictTotals {
            sites: self.parts.len(),
            ..DistrictTotals::default()
        };
        for (s, t) in self.report.sites.iter_mut().zip(&self.timers) {
            if s.status != SectionStatus::Asking {
                s.note = None;
            }
            s.phones = t.lines.values().cloned().collect();
            let seen_ok = s.phones.iter().filter(|l| l.accepted).count();
            let seen_failed = s
                .phones
                .iter()
                .filter(|l| !l.accepted && l.failure.is_some());
            (s.phones_total, s.accepted, s.failed) =
                t.end_counts
                    .unwrap_or((s.phones.len(), seen_ok, seen_failed.count()));
            match s.status {
                SectionStatus::Accepted { .. } | SectionStatus::Ended { .. } => totals.paged += 1,
                SectionStatus::Unreachable { .. } | SectionStatus::Lost => totals.unreachable += 1,
                SectionStatus::Refused { .. } => totals.refused += 1,
                SectionStatus::Asking => {}
            }
            totals.phones += s.phones_total;
            totals.accepted += s.accepted;
            totals.failed += s.failed;
        }
        self.report.totals = totals;
        self.report.done = self.report.sites.iter().all(|s| s.status.is_final());
    }
}
