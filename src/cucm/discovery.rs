//! One discovery as a sans-IO state machine: `listPhone` page by page, then the directory
//! numbers page by page, then RisPort70 in batches of names, within the rate limit. It does no
//! I/O and reads no clock: the shell asks [`Discovery::poll`] what to do at `now` (send a call,
//! wait until an instant, or done), carries the call out, and hands CUCM's answer back to
//! [`Discovery::handle_answer`]; [`Discovery::finish`] gives the table.
//!
//! Its rules: an AXL read CUCM refuses as too large ("Query request too large ... Suggestive
//! Row Fetch: less than M rows") is asked again from the same row in pages under M; a RIS rate
//! fault blocks RIS for a whole window and the same batch is asked again (a run of faults ends
//! the discovery); a batch whose names are those of the previous run passes back that run's
//! `StateInfo`, and a `NoChange` answer keeps the previous run's RIS facts for its phones.
//! Filters are applied to `listPhone`'s rows, so only the phones taken are asked about.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::axl::{
    self, AxlLine, TooLarge, lines_request, list_phone_request, parse_lines, parse_list_phone,
};
use super::product::model_for_product;
use super::rate::RisRate;
use super::ris::{self, MAX_BATCH, is_rate_fault, parse_select, select_request};
use super::soap::SoapError;
use super::table::{CucmPhone, join_lines};
use crate::config::{Cucm, CucmFilter};

/// A discovery's limits.
#[derive(Debug, Clone)]
pub struct DiscoverySettings {
    /// AXL version (`14.0`).
    pub axl_version: String,
    /// Rows per AXL page to start with.
    pub page_size: usize,
    /// Names per RIS request (at most [`MAX_BATCH`]).
    pub ris_batch: usize,
    /// RIS requests per window.
    pub ris_per_window: u32,
    /// RIS's rate window.
    pub ris_window: Duration,
    /// Most phones the cluster may list (a bound on memory and time).
    pub max_phones: usize,
    /// RIS rate faults in a row that end the discovery.
    pub max_rate_faults: u32,
}

impl DiscoverySettings {
    /// The settings `[cucm]` gives, with the defaults for the rest.
    pub fn from_config(c: &Cucm) -> DiscoverySettings {
        DiscoverySettings {
            axl_version: c.axl_version.clone(),
            ris_per_window: c.ris_per_window,
            ris_window: c.ris_window,
            ..DiscoverySettings::default()
        }
    }
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        DiscoverySettings {
            axl_version: "14.0".into(),
            page_size: 1000,
            ris_batch: MAX_BATCH,
            ris_per_window: 15,
            ris_window: Duration::from_secs(60),
            max_phones: 100_000,
            max_rate_faults: 5,
        }
    }
}

/// One request to CUCM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CucmCall {
    /// AXL `listPhone`, rows `skip..skip + first`.
    ListPhone {
        /// First row.
        skip: usize,
        /// Rows asked for.
        first: usize,
    },
    /// AXL `executeSQLQuery` of the directory numbers, rows `skip..skip + first`.
    Lines {
        /// First row.
        skip: usize,
        /// Rows asked for.
        first: usize,
    },
    /// RisPort70 `selectCmDeviceExt` for batch `batch`'s names.
    Select {
        /// Batch index.
        batch: usize,
        /// The names asked about.
        names: Vec<String>,
        /// The `StateInfo` passed back (empty: none).
        state_info: String,
    },
}

impl CucmCall {
    /// The SOAP request.
    pub fn body(&self, version: &str) -> String {
        match self {
            CucmCall::ListPhone { skip, first } => list_phone_request(version, *skip, *first),
            CucmCall::Lines { skip, first } => lines_request(version, *skip, *first),
            CucmCall::Select {
                names, state_info, ..
            } => select_request(names, state_info),
        }
    }

    /// Its SOAPAction header.
    pub fn soap_action(&self, version: &str) -> String {
        match self {
            CucmCall::ListPhone { .. } => axl::soap_action(version, "listPhone"),
            CucmCall::Lines { .. } => axl::soap_action(version, "executeSQLQuery"),
            CucmCall::Select { .. } => ris::RIS_SOAP_ACTION.to_owned(),
        }
    }

    /// Whether it goes to RisPort70 (else AXL).
    pub fn is_ris(&self) -> bool {
        matches!(self, CucmCall::Select { .. })
    }

    /// The operation's name, for messages.
    pub fn operation(&self) -> &'static str {
        match self {
            CucmCall::ListPhone { .. } => "listPhone",
            CucmCall::Lines { .. } => "executeSQLQuery",
            CucmCall::Select { .. } => "selectCmDeviceExt",
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryStep {
    /// Send this call and hand its answer to [`Discovery::handle_answer`].
    Send(CucmCall),
    /// Nothing may be sent before this instant (RIS's rate).
    Wait(Instant),
    /// Finished: take the table with [`Discovery::finish`].
    Done,
}

/// A RIS batch's `StateInfo`, with what identifies the batch (its names' first, last, count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RisBatchState {
    /// First name of the batch.
    pub first: String,
    /// Last name of the batch.
    pub last: String,
    /// Names in the batch.
    pub count: usize,
    /// The `StateInfo` its answer gave.
    pub state_info: String,
}

/// Counts of one discovery, for its report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiscoveryStats {
    /// Requests sent (AXL and RIS).
    pub requests: u32,
    /// Rows `listPhone` returned (before filters).
    pub listed: usize,
    /// Times CUCM refused an AXL page as too large.
    pub smaller_pages: u32,
    /// RIS rate faults met.
    pub rate_faults: u32,
    /// RIS batches answered `NoChange`.
    pub unchanged_batches: u32,
}

/// Why a discovery ended without a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// AXL refused or answered what cannot be read.
    #[error("AXL {op}: {source}")]
    Axl {
        /// The operation.
        op: &'static str,
        /// Its error (a fault carries Cisco's message).
        source: SoapError,
    },
    /// RisPort70 refused or answered what cannot be read.
    #[error("RisPort70 selectCmDeviceExt: {0}")]
    Ris(SoapError),
    /// The cluster lists more than the bound.
    #[error("CUCM lists more than {0} rows; raise the bound or filter by device pool")]
    TooMany(usize),
    /// RIS kept refusing for its rate.
    #[error("RisPort70 refused {0} requests in a row for its rate limit; lower ris_per_minute")]
    RateFaults(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Phones,
    Lines,
    Ris,
    Done,
}

/// One discovery (see the module doc).
#[derive(Debug)]
pub struct Discovery {
    settings: DiscoverySettings,
    filter: CucmFilter,
    phase: Phase,
    page: usize,
    skip: usize,
    phones: Vec<CucmPhone>,
    lines: Vec<AxlLine>,
    batches: Vec<Vec<String>>,
    next_batch: usize,
    rate: RisRate,
    faults_in_a_row: u32,
    in_flight: Option<CucmCall>,
    retry: Option<CucmCall>,
    previous: HashMap<String, CucmPhone>,
    previous_states: Vec<RisBatchState>,
    states: Vec<RisBatchState>,
    stats: DiscoveryStats,
}

/// What a finished discovery found.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The phones taken, in `listPhone` order.
    pub phones: Vec<CucmPhone>,
    /// Each RIS batch's `StateInfo`, for the next run.
    pub ris_states: Vec<RisBatchState>,
    /// Its counts.
    pub stats: DiscoveryStats,
}

impl Discovery {
    /// A discovery taking the phones `filter` keeps. `previous` (the last table and its RIS
    /// states) makes unchanged RIS batches cheap.
    pub fn new(
        settings: DiscoverySettings,
        filter: CucmFilter,
        previous: Option<(&[CucmPhone], &[RisBatchState])>,
    ) -> Discovery {
        let (prev, states) = previous.unwrap_or((&[], &[]));
        Discovery {
            rate: RisRate::new(settings.ris_per_window, settings.ris_window),
            page: settings.page_size.max(1),
            settings,
            filter,
            phase: Phase::Phones,
            skip: 0,
            phones: Vec::new(),
            lines: Vec::new(),
            batches: Vec::new(),
            next_batch: 0,
            faults_in_a_row: 0,
            in_flight: None,
            retry: None,
            previous: prev.iter().map(|p| (p.name.clone(), p.clone())).collect(),
            previous_states: states.to_vec(),
            states: Vec::new(),
            stats: DiscoveryStats::default(),
        }
    }

    /// What to do at `now`. While a call is in flight (sent, not yet answered) it waits for
    /// the answer: `Wait(now)`.
    pub fn poll(&mut self, now: Instant) -> DiscoveryStep {
        if self.in_flight.is_some() {
            return DiscoveryStep::Wait(now);
        }
        let call = match self.phase {
            Phase::Done => return DiscoveryStep::Done,
            Phase::Phones => CucmCall::ListPhone {
                skip: self.skip,
                first: self.page,
            },
            Phase::Lines => CucmCall::Lines {
                skip: self.skip,
                first: self.page,
            },
            Phase::Ris => {
                let at = self.rate.ready_at(now);
                if at > now {
                    return DiscoveryStep::Wait(at);
                }
                self.rate.sent(now);
                match self.retry.take() {
                    Some(c) => c,
                    None => self.batch_call(),
                }
            }
        };
        self.stats.requests += 1;
        self.in_flight = Some(call.clone());
        DiscoveryStep::Send(call)
    }

    fn batch_call(&mut self) -> CucmCall {
        let i = self.next_batch;
        self.next_batch += 1;
        let names = self.batches[i].clone();
        let state_info = self
            .previous_states
            .iter()
            .find(|s| same_batch(s, &names))
            .map(|s| s.state_info.clone())
            .unwrap_or_default();
        CucmCall::Select {
            batch: i,
            names,
            state_info,
        }
    }

    /// CUCM's answer (the HTTP body, fault or not) to the call in flight, received at `now`.
    pub fn handle_answer(&mut self, now: Instant, body: &str) -> Result<(), DiscoveryError> {
        let Some(call) = self.in_flight.take() else {
            return Ok(());
        };
        match call {
            CucmCall::ListPhone { first, .. } => match parse_list_phone(body) {
                Ok(rows) => {
                    self.stats.listed += rows.len();
                    if self.stats.listed > self.settings.max_phones {
                        return Err(DiscoveryError::TooMany(self.settings.max_phones));
                    }
                    self.take_phones(&rows);
                    self.next_page(rows.len(), first, Phase::Lines);
                    Ok(())
                }
                Err(e) => self.smaller_page(e, "listPhone"),
            },
            CucmCall::Lines { first, .. } => match parse_lines(body) {
                Ok(rows) => {
                    let n = rows.len();
                    self.lines.extend(rows);
                    if self.lines.len() > 10 * self.settings.max_phones {
                        return Err(DiscoveryError::TooMany(10 * self.settings.max_phones));
                    }
                    self.next_page(n, first, Phase::Ris);
                    Ok(())
                }
                Err(e) => self.smaller_page(e, "executeSQLQuery"),
            },
            call @ CucmCall::Select { .. } => self.ris_answer(now, call, body),
        }
    }

    fn take_phones(&mut self, rows: &[axl::AxlPhone]) {
        for r in rows {
            let model = model_for_product(if r.product.is_empty() {
                &r.model
            } else {
                &r.product
            });
            if self
                .filter
                .keeps(&r.name, &r.description, &r.device_pool, &model)
            {
                self.phones.push(CucmPhone::from_axl(r));
            }
        }
    }

    /// After a page of `got` rows of `first` asked: the next page, or the next phase.
    fn next_page(&mut self, got: usize, first: usize, then: Phase) {
        if got < first || got == 0 {
            self.skip = 0;
            self.page = self.settings.page_size.max(1);
            self.enter(then);
        } else {
            self.skip += got;
        }
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        if phase == Phase::Ris {
            join_lines(&mut self.phones, &self.lines);
            self.lines = Vec::new();
            let size = self.settings.ris_batch.clamp(1, MAX_BATCH);
            self.batches = self
                .phones
                .chunks(size)
                .map(|c| c.iter().map(|p| p.name.clone()).collect())
                .collect();
            if self.batches.is_empty() {
                self.phase = Phase::Done;
            }
        }
    }

    /// An AXL page refused: smaller pages if CUCM says the read was too large, else the end.
    fn smaller_page(&mut self, e: SoapError, op: &'static str) -> Result<(), DiscoveryError> {
        let Some(t) = e.fault().and_then(TooLarge::from_fault) else {
            return Err(DiscoveryError::Axl { op, source: e });
        };
        let under = usize::try_from(t.less_than.saturating_sub(1)).unwrap_or(usize::MAX);
        let smaller = under.min(self.page / 2).max(1);
        if self.page <= 1 {
            return Err(DiscoveryError::Axl { op, source: e });
        }
        self.page = smaller;
        self.stats.smaller_pages += 1;
        Ok(())
    }

    fn ris_answer(
        &mut self,
        now: Instant,
        call: CucmCall,
        body: &str,
    ) -> Result<(), DiscoveryError> {
        let CucmCall::Select { batch, names, .. } = &call else {
            return Ok(());
        };
        let answer = match parse_select(body) {
            Ok(a) => a,
            Err(e) if e.fault().is_some_and(is_rate_fault) => {
                self.stats.rate_faults += 1;
                self.faults_in_a_row += 1;
                if self.faults_in_a_row >= self.settings.max_rate_faults {
                    return Err(DiscoveryError::RateFaults(self.faults_in_a_row));
                }
                self.rate.refused(now);
                self.retry = Some(call);
                return Ok(());
            }
            Err(e) => return Err(DiscoveryError::Ris(e)),
        };
        self.faults_in_a_row = 0;
        let start = batch * self.settings.ris_batch.clamp(1, MAX_BATCH);
        let end = (start + names.len()).min(self.phones.len());
        let seen: HashMap<&str, &ris::RisDevice> = answer
            .devices
            .iter()
            .map(|d| (d.name.as_str(), d))
            .collect();
        for p in &mut self.phones[start..end] {
            if answer.no_change {
                if let Some(old) = self.previous.get(&p.name) {
                    p.address = old.address;
                    p.state = old.state;
                    p.web_access = old.web_access;
                }
            } else if let Some(d) = seen.get(p.name.as_str()) {
                p.set_ris(d);
            }
        }
        if answer.no_change {
            self.stats.unchanged_batches += 1;
        }
        if let (Some(first), Some(last)) = (names.first(), names.last()) {
            self.states.push(RisBatchState {
                first: first.clone(),
                last: last.clone(),
                count: names.len(),
                state_info: answer.state_info,
            });
        }
        if self.next_batch >= self.batches.len() && self.retry.is_none() {
            self.phase = Phase::Done;
        }
        Ok(())
    }

    /// Counts so far.
    pub fn stats(&self) -> &DiscoveryStats {
        &self.stats
    }

    /// The table (complete once [`Self::poll`] said `Done`).
    pub fn finish(self) -> Discovered {
        Discovered {
            phones: self.phones,
            ris_states: self.states,
            stats: self.stats,
        }
    }
}

fn same_batch(s: &RisBatchState, names: &[String]) -> bool {
    s.count == names.len() && names.first() == Some(&s.first) && names.last() == Some(&s.last)
}
