//! What a listen comes to: the judgement of each push answer ([`needs_stop`], [`failure_of`]),
//! what a receiver heard ([`Received`]), and the report per phone with its totals. The session
//! core and the shell both fill it in; it uses neither.

use std::path::PathBuf;

use serde::Serialize;

use crate::push::PushOutcome;

/// Whether a start push may have taken effect, so the phone must get its stop: it accepted, or
/// the request may have reached it and the answer never came, broke off or made no sense (the
/// phone may have acted on it anyway). The same doubt as a page's (`page::session`).
pub fn needs_stop(outcome: &PushOutcome) -> bool {
    matches!(
        outcome,
        PushOutcome::Ok { .. }
            | PushOutcome::Timeout
            | PushOutcome::Unreachable {
                connected: true,
                ..
            }
            | PushOutcome::BadResponse { .. }
    )
}

/// A short name for what went wrong with a push (`None` when it was accepted).
pub fn failure_of(outcome: &PushOutcome) -> Option<String> {
    Some(match outcome {
        PushOutcome::Ok { .. } => return None,
        PushOutcome::AuthFailed => "authentication failed".into(),
        PushOutcome::Unreachable { reason, .. } => format!("unreachable: {reason}"),
        PushOutcome::Timeout => "no answer in time".into(),
        PushOutcome::Rejected { status, data, url } => {
            format!("refused {url} (status {status}: {data})")
        }
        PushOutcome::Unsupported { reason } => format!("not sent: {reason}"),
        PushOutcome::BadResponse { reason } => format!("bad answer: {reason}"),
    })
}

/// What a receiver heard and wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Received {
    /// Packets received.
    pub packets: u64,
    /// Packets lost (sequence gaps).
    pub lost: u64,
    /// Packets too late to play.
    pub late: u64,
    /// RFC 3550 interarrival jitter, ms (the worst source).
    pub jitter_ms: f64,
    /// Seconds written to the file (silence for losses included).
    pub seconds_recorded: f64,
    /// Why receiving or writing failed, if it did.
    pub error: Option<String>,
}

/// One phone of a listen, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct ListenPhone {
    /// Name in the config.
    pub name: String,
    /// Model.
    pub model: String,
    /// Why it took no part (its model, no password ...); nothing was sent to it.
    pub refused: Option<String>,
    /// Port it was told to send to.
    pub port: Option<u16>,
    /// It accepted `RTPTx`.
    pub accepted: bool,
    /// Why the start failed.
    pub failure: Option<String>,
    /// Time from the push to its answer, ms.
    pub accept_ms: Option<f64>,
    /// It got its `RTPTx:Stop` (None: it needed none).
    pub stopped: Option<bool>,
    /// Why the stop failed (run `zonecast recover`).
    pub stop_failure: Option<String>,
    /// What arrived.
    #[serde(flatten)]
    pub received: Received,
    /// The recording (None when nothing was kept).
    pub file: Option<PathBuf>,
}

impl ListenPhone {
    /// Whether its file is kept: a phone that never accepted and sent nothing leaves none.
    pub fn keeps_file(&self) -> bool {
        self.accepted || self.received.packets > 0
    }
}

/// Totals of a listen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListenTotals {
    /// Phones asked for.
    pub phones: usize,
    /// Refused before sending.
    pub refused: usize,
    /// Accepted `RTPTx`.
    pub accepted: usize,
    /// Failed to start.
    pub failed: usize,
    /// Stops that failed.
    pub unstopped: usize,
    /// Packets received, all phones.
    pub packets: u64,
}

/// The report of a listen: per phone and totals.
#[derive(Debug, Clone, Serialize)]
pub struct ListenReport {
    /// Totals.
    pub totals: ListenTotals,
    /// Per phone, in the order asked.
    pub phones: Vec<ListenPhone>,
}

impl ListenReport {
    /// The report of these phones, with its totals.
    pub fn new(phones: Vec<ListenPhone>) -> ListenReport {
        let totals = ListenTotals {
            phones: phones.len(),
            refused: phones.iter().filter(|p| p.refused.is_some()).count(),
            accepted: phones.iter().filter(|p| p.accepted).count(),
            failed: phones
                .iter()
                .filter(|p| p.refused.is_none() && !p.accepted)
                .count(),
            unstopped: phones.iter().filter(|p| p.stopped == Some(false)).count(),
            packets: phones.iter().map(|p| p.received.packets).sum(),
        };
        ListenReport { totals, phones }
    }

    /// 0 every phone was recorded and stopped, 1 none accepted, 3 some did not (refused,
    /// failed, a stop failed, a file could not be written).
    pub fn exit_code(&self) -> i32 {
        let t = &self.totals;
        let file_errors = self.phones.iter().any(|p| p.received.error.is_some());
        if t.accepted == 0 {
            1
        } else if t.accepted == t.phones && t.unstopped == 0 && !file_errors {
            0
        } else {
            3
        }
    }

    /// The report as lines of prose.
    pub fn prose(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for p in &self.phones {
            let _ = write!(out, "  {:<14} ", p.name);
            if let Some(why) = &p.refused {
                let _ = writeln!(out, "refused: {why}");
                continue;
            }
            if !p.accepted {
                let _ = write!(
                    out,
                    "did not start: {}",
                    p.failure.as_deref().unwrap_or("unknown")
                );
            } else {
                let r = &p.received;
                let _ = write!(
                    out,
                    "recorded {:.2} s in {} packets, lost {}, late {}, jitter {:.2} ms",
                    r.seconds_recorded, r.packets, r.lost, r.late, r.jitter_ms
                );
                if let Some(f) = &p.file {
                    let _ = write!(out, " -> {}", f.display());
                }
            }
            if let Some(e) = &p.received.error {
                let _ = write!(out, "; file error: {e}");
            }
            if p.stopped == Some(false) {
                let _ = write!(
                    out,
                    "; STOP FAILED ({}): run `zonecast recover`",
                    p.stop_failure.as_deref().unwrap_or("unknown")
                );
            }
            out.push('\n');
        }
        let t = &self.totals;
        let _ = writeln!(
            out,
            "{} of {} phones recorded ({} refused, {} failed to start, {} not stopped)",
            t.accepted, t.phones, t.refused, t.failed, t.unstopped
        );
        out
    }
}
