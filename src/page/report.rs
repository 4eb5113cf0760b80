//! The delivery report: per phone what was planned, pushed, accepted and stopped, why anything
//! failed, how long each phone took; the totals; and the exit code they imply (0 every phone
//! reached, 3 some failed, 1 none reached).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::push::PushOutcome;

/// Where a phone is in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    /// Not taking part (model, address, credentials).
    Refused,
    /// Start push in flight.
    Starting,
    /// Accepted the stream.
    Accepted,
    /// Its start failed.
    Failed,
    /// Stop push in flight.
    Stopping,
    /// Stopped after having been started.
    Stopped,
    /// Its stop failed: the journal keeps it for `zonecast recover`.
    StopFailed,
    /// Taken over by a page of higher priority (that page stops it).
    Preempted,
    /// Its user hung up.
    StoppedByUser,
}

/// What kind of failure kept a phone out of a page (for counting; JSON: snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Planned out: its model, address or credentials.
    Model,
    /// The phone refused the credentials.
    AuthFailed,
    /// No connection, or it broke.
    Unreachable,
    /// No answer in time.
    Timeout,
    /// The phone answered with an error status.
    Rejected,
    /// Not sent: the push cannot be made to this phone.
    Unsupported,
    /// An answer that could not be read.
    BadResponse,
}

impl FailureKind {
    /// Its name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Model => "model",
            FailureKind::AuthFailed => "auth_failed",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Timeout => "timeout",
            FailureKind::Rejected => "rejected",
            FailureKind::Unsupported => "unsupported",
            FailureKind::BadResponse => "bad_response",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a phone was not reached, as a kind (for counting) and a reason (for reading).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// What kind.
    pub kind: FailureKind,
    /// What happened, in words.
    pub reason: String,
}

impl Failure {
    /// The failure a push outcome describes (None for success).
    pub fn from_outcome(o: &PushOutcome) -> Option<Failure> {
        let (kind, reason) = match o {
            PushOutcome::Ok { .. } => return None,
            PushOutcome::AuthFailed => (
                FailureKind::AuthFailed,
                "the phone refused the credentials".into(),
            ),
            PushOutcome::Unreachable { reason, .. } => (FailureKind::Unreachable, reason.clone()),
            PushOutcome::Timeout => (FailureKind::Timeout, "no answer in time".into()),
            PushOutcome::Rejected { status, data, url } => (
                FailureKind::Rejected,
                if url.is_empty() {
                    format!("status {status}: {data}")
                } else {
                    format!("{url}: status {status}: {data}")
                },
            ),
            PushOutcome::Unsupported { reason } => (FailureKind::Unsupported, reason.clone()),
            PushOutcome::BadResponse { reason } => (FailureKind::BadResponse, reason.clone()),
        };
        Some(Failure { kind, reason })
    }
}

/// One phone's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneReport {
    /// Name.
    pub name: String,
    /// Model.
    pub model: String,
    /// Final state.
    pub state: PhoneState,
    /// Planned to take part.
    pub planned: bool,
    /// A start was pushed.
    pub pushed: bool,
    /// The phone accepted the start.
    pub accepted: bool,
    /// Why it was not reached.
    pub failure: Option<Failure>,
    /// From page start to the phone's acceptance (`accept_ms` in JSON).
    #[serde(rename = "accept_ms", serialize_with = "ms::opt")]
    pub accept: Option<Duration>,
    /// The banner's outcome (`ok`, or the failure).
    pub banner: Option<String>,
    /// A stop was confirmed.
    pub stopped: bool,
    /// Why the stop failed.
    pub stop_failure: Option<Failure>,
    /// With `--verify`: whether packets were seen arriving at the phone.
    pub receiving: Option<bool>,
    /// Switched from multicast to unicast because nothing arrived.
    pub fallback_unicast: bool,
    /// The codec of the stream it was started on: `g711`, or `g722` (a wideband page).
    pub codec: &'static str,
    /// It refused G.722 (the phone's answer) and was started again on G.711.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub g722_refused: Option<String>,
    /// Application events of its paging screen (`focusLost`, `focusGained`, `minimized`,
    /// `closed`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub app_events: Vec<String>,
    /// Why it ended its part by itself: a SIP endpoint's `hung up`, or `session refresh
    /// failed: 408` (its session timer ran out and our BYE ended the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

/// Totals of a report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    /// Phones in the zone.
    pub phones: usize,
    /// Not taking part.
    pub refused: usize,
    /// Start pushed.
    pub pushed: usize,
    /// Start pushed and not answered yet.
    pub starting: usize,
    /// Accepted.
    pub accepted: usize,
    /// Not reached: refused, or their start failed (phones still starting are not counted).
    pub failed: usize,
    /// Stops confirmed.
    pub stopped: usize,
    /// Stops that failed.
    pub stop_failed: usize,
    /// Taken over by a higher page.
    pub preempted: usize,
    /// Ended by their users.
    pub stopped_by_user: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    /// Page id.
    pub page: String,
    /// Zone paged.
    pub zone: String,
    /// Priority level.
    pub priority: String,
    /// Delivery, e.g. `multicast 239.255.10.1:20480`.
    pub delivery: String,
    /// Why the page ended.
    pub ended_by: String,
    /// From page start to the last phone's acceptance (`last_accept_ms` in JSON).
    #[serde(rename = "last_accept_ms", serialize_with = "ms::opt")]
    pub last_accept: Option<Duration>,
    /// From page start to the end of the last stop (`duration_ms` in JSON; 0 while running).
    #[serde(rename = "duration_ms", serialize_with = "ms::one")]
    pub duration: Duration,
    /// Totals.
    pub totals: Totals,
    /// Per phone.
    pub phones: Vec<PhoneReport>,
}

impl DeliveryReport {
    /// The report of a page that has not started yet.
    pub fn empty(page: &str, zone: &str, priority: &str) -> DeliveryReport {
        DeliveryReport {
            page: page.into(),
            zone: zone.into(),
            priority: priority.into(),
            delivery: String::new(),
            ended_by: String::new(),
            last_accept: None,
            duration: Duration::ZERO,
            totals: Totals::default(),
            phones: Vec::new(),
        }
    }

    /// Fill in the totals from the phones.
    pub fn compute_totals(&mut self) {
        let mut t = Totals {
            phones: self.phones.len(),
            ..Totals::default()
        };
        for p in &self.phones {
            t.refused += usize::from(p.state == PhoneState::Refused);
            t.pushed += usize::from(p.pushed);
            t.starting += usize::from(p.state == PhoneState::Starting);
            t.accepted += usize::from(p.accepted);
            t.failed += usize::from(!p.accepted && p.failure.is_some());
            t.stopped += usize::from(p.stopped);
            t.stop_failed += usize::from(p.state == PhoneState::StopFailed);
            t.preempted += usize::from(p.state == PhoneState::Preempted);
            t.stopped_by_user += usize::from(p.state == PhoneState::StoppedByUser);
        }
        self.last_accept = self.phones.iter().filter_map(|p| p.accept).max();
        self.totals = t;
    }

    /// 0 every phone reached (and stopped), 3 some not, 1 none reached.
    pub fn exit_code(&self) -> i32 {
        let t = &self.totals;
        if t.accepted == 0 {
            1
        } else if t.accepted < t.phones || t.stop_failed > 0 {
            3
        } else {
            0
        }
    }

    /// The report in prose: one line per phone that needs attention, then the totals.
    pub fn prose(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "page {} to zone {} ({}, priority {}), ended by {}",
            self.page, self.zone, self.delivery, self.priority, self.ended_by
        );
        // Many phones: one line per phone that needs attention, the rest counted.
        let compact = self.phones.len() > 20;
        let mut fine = 0usize;
        for p in &self.phones {
            let nominal = p.accepted
                && p.failure.is_none()
                && p.receiving != Some(false)
                && matches!(p.state, PhoneState::Stopped | PhoneState::Accepted)
                && p.banner.as_deref().is_none_or(|b| b == "ok")
                && p.g722_refused.is_none();
            if compact && nominal {
                fine += 1;
                continue;
            }
            let mut line = format!("  {:<14} {:<14} ", p.name, p.model);
            match (&p.failure, p.accepted) {
                (Some(f), _) => {
                    let _ = write!(line, "NOT REACHED ({}): {}", f.kind, f.reason);
                }
                // A target without a push (an IP speaker): its stream went out, no answer exists.
                (None, true) if !p.pushed => line.push_str("sent (no answer exists)"),
                // A SIP endpoint: its call was answered.
                (None, true) if p.model == super::dial::SIP_MODEL => {
                    let _ = write!(
                        line,
                        "answered in {:.0} ms",
                        ms::of(p.accept.unwrap_or_default())
                    );
                }
                (None, true) => {
                    let _ = write!(
                        line,
                        "accepted in {:.0} ms",
                        ms::of(p.accept.unwrap_or_default())
                    );
                }
                (None, false) => line.push_str("not reached"),
            }
            if let Some(r) = p.receiving {
                line.push_str(if r { ", receiving" } else { ", NO PACKETS" });
            }
            if p.fallback_unicast {
                line.push_str(", switched to unicast");
            }
            match (&p.g722_refused, p.codec) {
                (Some(why), _) => {
                    let _ = write!(line, ", G.711 (refused G.722: {why})");
                }
                (None, "g722") => line.push_str(", G.722"),
                _ => {}
            }
            line.push_str(&state_note(p));
            if let Some(b) = &p.banner
                && b != "ok"
            {
                let _ = write!(line, ", banner: {b}");
            }
            let _ = writeln!(s, "{line}");
        }
        if fine > 0 {
            let mut accepts: Vec<Duration> = self.phones.iter().filter_map(|p| p.accept).collect();
            accepts.sort();
            let median = ms::of(accepts.get(accepts.len() / 2).copied().unwrap_or_default());
            let _ = writeln!(
                s,
                "  ... and {fine} more phones accepted{} and were stopped (median {median:.0} ms to accept)",
                if self.phones.iter().any(|p| p.receiving.is_some()) {
                    ", received packets"
                } else {
                    ""
                }
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "{} of {} phones reached ({} not taking part, {} failed{}), {} stopped{}{}; last accepted after {}",
            t.accepted,
            t.phones,
            t.refused,
            t.failed - t.refused,
            if t.starting > 0 {
                format!(", {} still starting", t.starting)
            } else {
                String::new()
            },
            t.stopped,
            if t.stop_failed > 0 {
                format!(", {} STOPS FAILED", t.stop_failed)
            } else {
                String::new()
            },
            if t.preempted > 0 {
                format!(", {} taken over", t.preempted)
            } else {
                String::new()
            },
            self.last_accept
                .map_or("-".into(), |d| format!("{:.0} ms", ms::of(d))),
        );
        s
    }
}

/// Durations as milliseconds (fractional) at the JSON edge: the report's only unit change.
pub(crate) mod ms {
    use std::time::Duration;

    /// `d` in milliseconds.
    pub fn of(d: Duration) -> f64 {
        d.as_secs_f64() * 1e3
    }

    pub(super) fn one<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(of(*d))
    }

    pub(super) fn opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&of(*d)),
            None => s.serialize_none(),
        }
    }
}

/// What a phone's final state adds to its line of the prose ("" for most states).
fn state_note(p: &PhoneReport) -> String {
    match p.state {
        PhoneState::Preempted => ", taken over by a higher page".into(),
        // A SIP endpoint that sent its own BYE, or whose session refresh failed.
        PhoneState::StoppedByUser if p.model == super::dial::SIP_MODEL => {
            match p.ended.as_deref() {
                Some(why) if why != "hung up" => format!(", ended: {why}"),
                _ => ", hung up by the endpoint".into(),
            }
        }
        PhoneState::StoppedByUser => ", stopped by user".into(),
        PhoneState::StopFailed => {
            let why = p.stop_failure.as_ref().map_or("", |f| f.reason.as_str());
            format!(", STOP FAILED: {why} (zonecast recover retries it)")
        }
        _ => String::new(),
    }
}
