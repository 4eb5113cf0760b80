//! What a district page says on the bus (`docs/cluster.md`, "How things travel"): the subjects,
//! the request a site gets for its part ([`PartRequest`]) and its answer ([`PartReply`]), the
//! events of its report ([`PartEvent`], one [`PhoneLine`] per phone outcome), and the stop. Also
//! the two pieces of memory a site keeps for them, both pure: which parts it has seen
//! ([`SeenParts`]: a duplicate request is answered as before, never paged twice) and which phone
//! lines it has already sent ([`ReportDiff`]). Messages from the bus are outside input: bounded
//! ([`MAX_MESSAGE`]) and checked, refused with a reason.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::page::DeliveryReport;

/// The largest message read from the bus (a request is a few hundred bytes; a batch of phone
/// lines is cut to fit).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Phone lines per `phones` event (about 150 bytes each: well under [`MAX_MESSAGE`]).
pub const LINES_PER_EVENT: usize = 200;

/// The subject a site's node answers page requests on.
pub fn page_subject(site: &str) -> String {
    format!("zc.{site}.page")
}

/// The subject a site's node takes stops on.
pub fn stop_subject(site: &str) -> String {
    format!("zc.{site}.stop")
}

/// The header an asker sets when it reads every answer on its reply subject (one inbox for all
/// its asks of a part): only such an asker is sent the interim answers ([`PartReply::Standby`],
/// [`PartReply::Starting`]). An asker that waits for one reply (an older version) gets only the
/// final one, as before.
pub const INTERIM_HEADER: &str = "Zc-Interim";

/// The subject a site streams one part's report on.
pub fn report_subject(site: &str, part: &str) -> String {
    format!("zc.{site}.report.{part}")
}

/// One site's part of a district page: page `zone` of that site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRequest {
    /// The part's id (`<district page id>-<n>`): a subject token, and what duplicates share.
    pub part: String,
    /// The site that asked.
    pub from: String,
    /// The district zone paged.
    pub district_zone: String,
    /// The site's own zone.
    pub zone: String,
    /// What plays (an API source: a tone, speech, an uploaded sound; never a file path).
    pub source: String,
    /// Banner (none: the zone's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Priority level (none: the site's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// End after this long, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A page spoken live (a SIP call, a recording played as it is sent): the id of the
    /// asker's stream, whose µ-law frames come on [`super::live_subject`]`(from, live)`; the
    /// site plays them as they come and `source` is then only what its history shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
    /// The voice speech is spoken in (a bell's own, or the asker's `[speech]`): every site
    /// speaks a district announcement alike; none: each site's own `[speech]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<crate::source::VoiceChange>,
}

/// A token of a subject or an id: `[A-Za-z0-9-]`, 1..=`max`.
fn token_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Text without control characters, 1..=`max` bytes.
fn text_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

impl PartRequest {
    /// Read a request from the bus: at most [`MAX_MESSAGE`] bytes of JSON, every field checked.
    pub fn parse(bytes: &[u8]) -> Result<PartRequest, Invalid> {
        if bytes.len() > MAX_MESSAGE {
            let n = bytes.len().to_string();
            return Err(Invalid::new("district request", n, "is over 64 KiB"));
        }
        let r: PartRequest = serde_json::from_slice(bytes)
            .map_err(|e| Invalid::new("district request", "(JSON)", e.to_string()))?;
        r.check()?;
        Ok(r)
    }

    /// Every field within its rule.
    pub fn check(&self) -> Result<(), Invalid> {
        let bad = |field: &str, v: &str, rule: &str| {
            let shown: String = v.chars().take(80).collect();
            Err(Invalid::new(
                format!("district request {field}"),
                shown,
                rule,
            ))
        };
        if !token_ok(&self.part, 96) {
            return bad(
                "part",
                &self.part,
                "must be 1..=96 of A-Z, a-z, 0-9 and '-'",
            );
        }
        if !token_ok(&self.from, 32) {
            return bad("from", &self.from, "must be a site name");
        }
        for (field, v) in [("district_zone", &self.district_zone), ("zone", &self.zone)] {
            if !text_ok(v, 128) {
                return bad(
                    field,
                    v,
                    "must be a zone name (1..=128 bytes, no control characters)",
                );
            }
        }
        if !text_ok(&self.source, 4096) {
            return bad(
                "source",
                &self.source,
                "must be 1..=4096 bytes, no control characters",
            );
        }
        if let Some(b) = &self.banner
            && b.len() > 1024
        {
            return bad("banner", b, "must be at most 1024 bytes");
        }
        if let Some(p) = &self.priority
            && !text_ok(p, 64)
        {
            return bad("priority", p, "must be a priority level's name");
        }
        if let Some(ms) = self.duration_ms
            && !(1..=86_400_000).contains(&ms)
        {
            return bad("duration_ms", &ms.to_string(), "must be 1..=86400000");
        }
        if let Some(live) = &self.live
            && !token_ok(live, 96)
        {
            return bad("live", live, "must be 1..=96 of A-Z, a-z, 0-9 and '-'");
        }
        if let Some(voice) = &self.voice {
            voice
                .check()
                .map_err(|e| Invalid::new("district request voice", "(voice)", e.to_string()))?;
        }
        Ok(())
    }
}

/// A site's answer to a part: final (`accepted`, `refused`) or interim (`standby`, `starting`:
/// the site is there and the asker should wait for the final one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum PartReply {
    /// Paging: the site's own page id.
    Accepted {
        /// The page's id at that site.
        page: String,
    },
    /// Not paged, and why (an unknown zone, a busy zone, stopped before it started ...).
    Refused {
        /// Why.
        reason: String,
    },
    /// Interim: a node of the site that does not lead it now (of a pair, the standby): the
    /// site is reachable, and its leader answers (or, changing hands, will within the lease).
    Standby {
        /// The node that answered.
        node: String,
    },
    /// Interim: the leader is starting the part's page and has not finished yet (a zone held at
    /// equal priority that the site's `[priorities] equal = "wait"` waits for, speech being
    /// made); sent again while it lasts.
    Starting {
        /// What it waits for.
        reason: String,
    },
}

impl PartReply {
    /// An interim answer: more is coming.
    pub fn is_interim(&self) -> bool {
        matches!(self, PartReply::Standby { .. } | PartReply::Starting { .. })
    }

    /// Read an answer from the bus (bounded).
    pub fn parse(bytes: &[u8]) -> Result<PartReply, Invalid> {
        if bytes.len() > MAX_MESSAGE {
            return Err(Invalid::new(
                "district answer",
                "(too long)",
                "is over 64 KiB",
            ));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| Invalid::new("district answer", "(JSON)", e.to_string()))
    }
}

/// A stop for one part (published on [`stop_subject`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartStop {
    /// The part to stop.
    pub part: String,
    /// Why (shown in the site's history as how the page ended).
    pub reason: String,
}

impl PartStop {
    /// Read a stop from the bus (bounded, checked).
    pub fn parse(bytes: &[u8]) -> Result<PartStop, Invalid> {
        if bytes.len() > 4096 {
            return Err(Invalid::new("district stop", "(too long)", "is over 4 KiB"));
        }
        let s: PartStop = serde_json::from_slice(bytes)
            .map_err(|e| Invalid::new("district stop", "(JSON)", e.to_string()))?;
        if !token_ok(&s.part, 96) || !text_ok(&s.reason, 256) {
            return Err(Invalid::new(
                "district stop",
                "(fields)",
                "part or reason out of rule",
            ));
        }
        Ok(s)
    }
}

/// One phone's outcome as a site reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneLine {
    /// The phone's name.
    pub name: String,
    /// Its model.
    pub model: String,
    /// Its state (`accepted`, `failed`, `stopped` ... as in a delivery report).
    pub state: String,
    /// It accepted the stream.
    pub accepted: bool,
    /// Why it was not reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// From the site's page start to its acceptance, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_ms: Option<u64>,
}

/// An event of a part's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PartEvent {
    /// Phones whose outcome changed since the last event.
    Phones {
        /// Their lines.
        phones: Vec<PhoneLine>,
    },
    /// Still running (sent every few seconds while nothing else is).
    Running,
    /// The site's page ended.
    End {
        /// Why it ended.
        ended_by: String,
        /// Phones in the zone.
        phones: usize,
        /// Phones that accepted.
        accepted: usize,
        /// Phones not reached.
        failed: usize,
    },
}

impl PartEvent {
    /// Read an event from the bus (bounded; phone lines past [`LINES_PER_EVENT`] refused).
    pub fn parse(bytes: &[u8]) -> Result<PartEvent, Invalid> {
        if bytes.len() > MAX_MESSAGE {
            return Err(Invalid::new(
                "district event",
                "(too long)",
                "is over 64 KiB",
            ));
        }
        let e: PartEvent = serde_json::from_slice(bytes)
            .map_err(|e| Invalid::new("district event", "(JSON)", e.to_string()))?;
        if let PartEvent::Phones { phones } = &e
            && phones.len() > LINES_PER_EVENT
        {
            let n = phones.len().to_string();
            return Err(Invalid::new("district event", n, "too many phone lines"));
        }
        Ok(e)
    }

    /// The `end` event of a final report.
    pub fn end_of(report: &DeliveryReport) -> PartEvent {
        let t = &report.totals;
        PartEvent::End {
            ended_by: report.ended_by.clone(),
            phones: t.phones,
            accepted: t.accepted,
            failed: t.failed,
        }
    }
}

/// The lines of a report, one per phone.
pub fn phone_lines(report: &DeliveryReport) -> Vec<PhoneLine> {
    report
        .phones
        .iter()
        .map(|p| PhoneLine {
            name: p.name.clone(),
            model: p.model.clone(),
            state: serde_json::to_value(p.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            accepted: p.accepted,
            failure: p
                .failure
                .as_ref()
                .map(|f| format!("{}: {}", f.kind, f.reason)),
            accept_ms: p.accept.map(|d| d.as_millis() as u64),
        })
        .collect()
}

/// What a site has sent of one part's report: each new state of the report gives only the
/// lines that changed, cut into events of at most [`LINES_PER_EVENT`].
#[derive(Debug, Default)]
pub struct ReportDiff {
    sent: HashMap<String, PhoneLine>,
}

impl ReportDiff {
    /// The `phones` events for what changed in `report` since the last call.
    pub fn changes(&mut self, report: &DeliveryReport) -> Vec<PartEvent> {
        let changed: Vec<PhoneLine> = phone_lines(report)
            .into_iter()
            .filter(|l| self.sent.get(&l.name) != Some(l))
            .collect();
        for l in &changed {
            self.sent.insert(l.name.clone(), l.clone());
        }
        changed
            .chunks(LINES_PER_EVENT)
            .map(|c| PartEvent::Phones { phones: c.to_vec() })
            .collect()
    }
}

/// What a site remembers of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartMemo {
    /// Its page is being started: every asker so far gets the answer once it is known.
    Starting {
        /// A stop arrived meanwhile: stop it once started.
        stop: Option<String>,
        /// Who asked (the first asker, and another node asking for the same part: a bell
        /// defined at several sites names its occurrence's district page alike at each).
        askers: Vec<Asker>,
    },
    /// Answered: the same answer for a duplicate.
    Answered(PartReply),
    /// A stop came before any request: a request arriving later is refused.
    StoppedBefore,
}

/// Who asked for a part: where its answers go, and whether it reads interim ones
/// ([`INTERIM_HEADER`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// The request's reply subject.
    pub reply: String,
    /// It reads interim answers.
    pub interim: bool,
}

/// What to do with a request for a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// First time: page it.
    Page,
    /// Seen: answer this again, page nothing.
    Again(PartReply),
    /// Seen and still starting: the asker is kept and gets the answer when it is known.
    Quiet,
}

/// The parts a site has seen, the last [`SeenParts::KEEP`] of them (a duplicate comes within
/// seconds; a day of district pages is far fewer).
#[derive(Debug, Default)]
pub struct SeenParts {
    order: VecDeque<String>,
    memo: HashMap<String, PartMemo>,
}

impl SeenParts {
    /// Parts remembered.
    pub const KEEP: usize = 4096;

    /// Askers kept per part while it starts (the same asker asking again counts once).
    pub const ASKERS: usize = 8;

    /// A request for `part` arrived from `asker` (none: it wants no answer).
    pub fn request(&mut self, part: &str, asker: Option<Asker>) -> Admit {
        match self.memo.get_mut(part) {
            Some(PartMemo::Answered(r)) => Admit::Again(r.clone()),
            Some(PartMemo::Starting { askers, .. }) => {
                if let Some(a) = asker
                    && askers.len() < Self::ASKERS
                    && !askers.iter().any(|k| k.reply == a.reply)
                {
                    askers.push(a);
                }
                Admit::Quiet
            }
            Some(PartMemo::StoppedBefore) => Admit::Again(PartReply::Refused {
                reason: "stopped before it started".into(),
            }),
            None => {
                let askers = asker.into_iter().collect();
                self.remember(part, PartMemo::Starting { stop: None, askers });
                Admit::Page
            }
        }
    }

    /// Who has asked for `part` while it starts (for the interim answers).
    pub fn askers(&self, part: &str) -> Vec<Asker> {
        match self.memo.get(part) {
            Some(PartMemo::Starting { askers, .. }) => askers.clone(),
            _ => Vec::new(),
        }
    }

    /// `part`'s page started (or was refused): a stop to carry out at once if one came while
    /// it was starting, and every asker to send `reply` to.
    pub fn answered(&mut self, part: &str, reply: PartReply) -> (Option<String>, Vec<Asker>) {
        let waiting = match self.memo.get_mut(part) {
            Some(PartMemo::Starting { stop, askers }) => (stop.take(), std::mem::take(askers)),
            _ => (None, Vec::new()),
        };
        self.remember(part, PartMemo::Answered(reply));
        waiting
    }

    /// A stop for `part` arrived: the site's page id to stop now, if it runs.
    pub fn stop(&mut self, part: &str, reason: &str) -> Option<String> {
        match self.memo.get_mut(part) {
            Some(PartMemo::Answered(PartReply::Accepted { page })) => Some(page.clone()),
            Some(PartMemo::Answered(_)) | Some(PartMemo::StoppedBefore) => None,
            Some(PartMemo::Starting { stop, .. }) => {
                *stop = Some(reason.to_owned());
                None
            }
            None => {
                self.remember(part, PartMemo::StoppedBefore);
                None
            }
        }
    }

    fn remember(&mut self, part: &str, memo: PartMemo) {
        if self.memo.insert(part.to_owned(), memo).is_none() {
            self.order.push_back(part.to_owned());
            while self.order.len() > Self::KEEP {
                if let Some(old) = self.order.pop_front() {
                    self.memo.remove(&old);
                }
            }
        }
    }
}
