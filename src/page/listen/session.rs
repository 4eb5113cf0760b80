//! One listen or intercom as a state machine: the rules of starting the phones' `RTPTx` (and an
//! intercom's `RTPRx`) and, above all, of stopping them.
//!
//! [`ListenSession`] does no I/O and reads no clock: time comes in as the `now` of the inputs it
//! matters to (a push's answer, a timeout), on the caller's [`Instant`]s. The shell (`cli::listen`) binds the receivers, writes the journal,
//! pushes, plays and records; the session decides what happens and in which order.
//!
//! # The guarantee
//!
//! - Nothing is pushed to a phone before its stop is in the journal: each phone's
//!   [`ListenOutput::JournalBegin`] comes out before its start, and every begin before any start, so a
//!   journal that cannot be written ([`ListenSession::handle_journal_failed`]) means no push at
//!   all.
//! - Every phone whose start may have taken effect gets its stop: one that accepted, and one whose
//!   start failed in a way that leaves doubt (no answer in time, a connection broken after it was
//!   made, a garbled answer: the phone may have acted on it). A phone that refused outright
//!   (authentication, an item status, unreachable before connecting) is not stopped.
//! - A stop never overtakes its start on the same phone: it is pushed only once the start has
//!   answered, and the session finishes only when no push is in flight. A stop asked for while
//!   starts are in flight stops each phone as soon as its start answers.
//! - A second stop request changes nothing.
//! - Each phone's journal record ends ([`JournalOp::End`]) once nothing more will be pushed to it,
//!   naming the phone when its stop failed so that `zonecast recover` retries it.
//!
//! # Methods, and the order to call them in
//!
//! In the manner of quinn-proto:
//!
//! - getters: [`state`](ListenSession::state), [`phone_state`](ListenSession::phone_state),
//!   [`ended_by`](ListenSession::ended_by), [`is_finished`](ListenSession::is_finished) and
//!   [`report`](ListenSession::report) (the report so far; final once finished);
//! - inputs (with the `now` they happened at where time matters):
//!   [`handle_bound`](ListenSession::handle_bound) (the receivers are bound: the ports),
//!   [`handle_journal_failed`](ListenSession::handle_journal_failed),
//!   [`handle_push_done`](ListenSession::handle_push_done),
//!   [`handle_stop`](ListenSession::handle_stop) (Ctrl-C, SIGTERM, a stop command),
//!   [`handle_source_ended`](ListenSession::handle_source_ended) (an intercom's `--say` file),
//!   [`handle_media_failed`](ListenSession::handle_media_failed) and
//!   [`handle_timeout`](ListenSession::handle_timeout). The duration is not an input: the
//!   session owns it as a [`ListenTimer`];
//! - [`poll_output`](ListenSession::poll_output): the next thing to do, in order (a journal
//!   write comes before the push it guarantees);
//! - [`poll_timeout`](ListenSession::poll_timeout): when to call `handle_timeout` next.
//!
//! The shell calls [`ListenSession::new`], binds the receivers and calls `handle_bound`, then
//! loops: drain `poll_output` and carry out each [`ListenOutput`] (when a [`ListenOutput::JournalBegin`]
//! cannot be written, call `handle_journal_failed` before polling again), stopping at
//! [`ListenOutput::Finished`]; then wait for the first of a push's answer, a signal, the source's end
//! or the instant `poll_timeout` gave, and feed it in.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use super::report::{ListenPhone, Received, failure_of, needs_stop};
use crate::page::journal::JournalOp;
use crate::push::PushOutcome;
use crate::rtp::RtpPort;

/// One phone of a listen, as the session is given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneSpec {
    /// Name in the config (the journal names it so).
    pub name: String,
    /// Model, for the report.
    pub model: String,
    /// Why it takes no part (its model, no password ...): nothing is sent to it.
    pub refused: Option<String>,
}

/// Which push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenPush {
    /// `RTPTx:ADDR:PORT` (an intercom's `RTPRx` with it).
    Start,
    /// `RTPTx:Stop` (an intercom's `RTPRx:Stop` with it).
    Stop,
}

/// Why a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C (SIGINT).
    CtrlC,
    /// SIGTERM.
    Sigterm,
    /// A stop command (an API call, a caller's own decision).
    User,
}

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The duration passed.
    Duration,
    /// A stop was asked for.
    Stopped(StopReason),
    /// Our side's source ended (an intercom's `--say` file) and no duration was given.
    SourceEnded,
    /// Every start answered and none was accepted.
    NoneAccepted,
    /// A phone's journal record could not be written: nothing more is started.
    JournalFailed {
        /// The phone whose record failed.
        phone: usize,
        /// What the journal said.
        error: String,
    },
    /// Our side's media failed (an intercom's sending socket).
    MediaFailed(String),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Duration => f.write_str("the duration passed"),
            Ended::Stopped(StopReason::CtrlC) => f.write_str("Ctrl-C"),
            Ended::Stopped(StopReason::Sigterm) => f.write_str("SIGTERM"),
            Ended::Stopped(StopReason::User) => f.write_str("stopped"),
            Ended::SourceEnded => f.write_str("the source ended"),
            Ended::NoneAccepted => f.write_str("no phone accepted"),
            Ended::JournalFailed { error, .. } => write!(f, "{error}"),
            Ended::MediaFailed(error) => write!(f, "{error}"),
        }
    }
}

/// A push came back.
#[derive(Debug, Clone)]
pub struct PushDone {
    /// Phone index (the order given to [`ListenSession::new`]).
    pub phone: usize,
    /// Which push.
    pub step: ListenPush,
    /// When it was sent (the accept time is from here to the answer).
    pub sent: Instant,
    /// What the phone answered.
    pub outcome: PushOutcome,
}

/// Something for the shell to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenOutput {
    /// Write phone `phone`'s journal record (`Journal::begin`, with its stop) durably. If that
    /// fails, call [`ListenSession::handle_journal_failed`] before polling again.
    JournalBegin {
        /// Phone index.
        phone: usize,
    },
    /// Record `op` for phone `phone`'s journal record (a failure is only a warning).
    Journal {
        /// Phone index.
        phone: usize,
        /// `Stopped` or `End`.
        op: JournalOp,
    },
    /// Push to a phone (the start's XML carries its port; the stop's is the same for all).
    Push {
        /// Phone index.
        phone: usize,
        /// Which push.
        step: ListenPush,
    },
    /// Every start has answered and some accepted: the listen runs (the shell says so; an
    /// intercom starts sending its side now).
    Running {
        /// Phones that accepted.
        accepted: usize,
        /// When the duration ends (`None`: at a stop, or the source's end).
        until: Option<Instant>,
    },
    /// Stop our media for a phone: its receiver (and an intercom's sending side). Comes before
    /// the phone's stop push.
    StopMedia {
        /// Phone index.
        phone: usize,
    },
    /// Nothing more will happen and no push is in flight: build the report.
    Finished,
}

/// The session's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenTimer {
    /// The listen's duration, from the moment every start has answered.
    Duration,
}

impl ListenTimer {
    const ALL: [ListenTimer; 1] = [ListenTimer::Duration];

    fn index(self) -> usize {
        match self {
            ListenTimer::Duration => 0,
        }
    }
}

/// Deadlines by timer.
#[derive(Debug, Clone, Default)]
struct Timers {
    deadlines: [Option<Instant>; ListenTimer::ALL.len()],
}

impl Timers {
    fn set(&mut self, timer: ListenTimer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    fn clear_all(&mut self) {
        self.deadlines = Default::default();
    }

    fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The timers due at `now`, cleared.
    fn expire(&mut self, now: Instant) -> Vec<ListenTimer> {
        ListenTimer::ALL
            .into_iter()
            .filter(|t| {
                let slot = &mut self.deadlines[t.index()];
                let due = slot.is_some_and(|at| at <= now);
                if due {
                    *slot = None;
                }
                due
            })
            .collect()
    }
}

/// Where one phone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenState {
    /// Takes no part; nothing is sent to it.
    Refused,
    /// Waiting for its receiver's port.
    Idle,
    /// Its start is on its way (journaled first), no answer yet.
    Starting,
    /// It accepted its start.
    Accepted,
    /// Its start failed; `doubtful`: it may have taken effect, so it gets a stop at the end.
    Failed {
        /// The phone may have acted on the start.
        doubtful: bool,
    },
    /// The session ended before its start was pushed.
    NotStarted,
    /// Its stop is on its way.
    Stopping,
    /// It accepted its stop.
    Stopped,
    /// Its stop failed (`zonecast recover` retries it).
    StopFailed,
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the receivers' ports.
    Binding,
    /// Starts in flight.
    Starting,
    /// Every start answered; recording until the duration, a stop or the source's end.
    Running,
    /// Stopping (stops, or starts to be answered, in flight).
    Ending,
    /// Over.
    Finished,
}

#[derive(Debug, Clone)]
struct Run {
    spec: PhoneSpec,
    state: ListenState,
    port: Option<RtpPort>,
    /// Our receiver (and sending side) for it runs.
    media: bool,
    accepted: bool,
    failure: Option<String>,
    accept: Option<Duration>,
    stop_failure: Option<String>,
}

/// One listen or intercom (see the [module doc](self)).
#[derive(Debug, Clone)]
pub struct ListenSession {
    phones: Vec<Run>,
    duration: Option<Duration>,
    bound: bool,
    running: bool,
    ending: Option<Ended>,
    timers: Timers,
    queue: VecDeque<ListenOutput>,
    finished: bool,
}

impl ListenSession {
    /// A listen of these phones, running `duration` once every start has answered (`None`:
    /// until a stop, or an intercom's source ends).
    pub fn new(phones: Vec<PhoneSpec>, duration: Option<Duration>) -> ListenSession {
        let phones = phones
            .into_iter()
            .map(|spec| Run {
                state: if spec.refused.is_some() {
                    ListenState::Refused
                } else {
                    ListenState::Idle
                },
                spec,
                port: None,
                media: false,
                accepted: false,
                failure: None,
                accept: None,
                stop_failure: None,
            })
            .collect();
        ListenSession {
            phones,
            duration,
            bound: false,
            running: false,
            ending: None,
            timers: Timers::default(),
            queue: VecDeque::new(),
            finished: false,
        }
    }

    // ---- getters ----

    /// Where the session is.
    pub fn state(&self) -> State {
        if self.finished {
            State::Finished
        } else if self.ending.is_some() {
            State::Ending
        } else if self.running {
            State::Running
        } else if self.bound {
            State::Starting
        } else {
            State::Binding
        }
    }

    /// Where phone `i` is (`None`: no such phone).
    pub fn phone_state(&self, i: usize) -> Option<ListenState> {
        self.phones.get(i).map(|r| r.state)
    }

    /// Why the session ended (`None` while it runs).
    pub fn ended_by(&self) -> Option<&Ended> {
        self.ending.as_ref()
    }

    /// Whether it is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The report so far (final once finished), per phone in the order given. What the
    /// receivers heard and the files are the shell's to fill in.
    pub fn report(&self) -> Vec<ListenPhone> {
        self.phones
            .iter()
            .map(|r| ListenPhone {
                name: r.spec.name.clone(),
                model: r.spec.model.clone(),
                refused: r.spec.refused.clone(),
                port: r.port.map(RtpPort::get),
                accepted: r.accepted,
                failure: r.failure.clone(),
                accept_ms: r.accept.map(|d| d.as_secs_f64() * 1e3),
                stopped: match r.state {
                    ListenState::Stopped => Some(true),
                    ListenState::StopFailed => Some(false),
                    _ => None,
                },
                stop_failure: r.stop_failure.clone(),
                received: Received::default(),
                file: None,
            })
            .collect()
    }

    // ---- inputs ----

    /// The receivers are bound: `(phone, port)` for each phone that takes part (the port its
    /// journal record holds). The first input; a phone that takes part and has no port here is
    /// refused. Journals every phone, then pushes every start.
    pub fn handle_bound(&mut self, ports: impl IntoIterator<Item = (usize, RtpPort)>) {
        if self.bound || self.finished {
            return;
        }
        self.bound = true;
        for (i, port) in ports {
            if let Some(r) = self.phones.get_mut(i)
                && r.state == ListenState::Idle
            {
                r.port = Some(port);
                r.media = true;
            }
        }
        for r in &mut self.phones {
            if r.state == ListenState::Idle && r.port.is_none() {
                r.state = ListenState::Refused;
                r.spec.refused = Some("no receiver port was bound for it".into());
            }
        }
        let startable: Vec<usize> = (0..self.phones.len())
            .filter(|&i| self.phones[i].state == ListenState::Idle)
            .collect();
        if self.ending.is_some() {
            // Stopped before anything was sent: nothing is journaled, nothing pushed.
            for &i in &startable {
                self.not_started(i, "not started: the listen was stopped first");
            }
        } else if startable.is_empty() {
            self.end(Ended::NoneAccepted);
        } else {
            for &i in &startable {
                self.queue
                    .push_back(ListenOutput::JournalBegin { phone: i });
            }
            for &i in &startable {
                self.phones[i].state = ListenState::Starting;
                self.queue.push_back(ListenOutput::Push {
                    phone: i,
                    step: ListenPush::Start,
                });
            }
        }
        self.finish_if_done();
    }

    /// Phone `phone`'s journal record could not be written. Starts not yet handed out are
    /// withdrawn (records already written end with nothing to stop); the session ends.
    pub fn handle_journal_failed(&mut self, phone: usize, error: String) {
        if self.finished || !self.bound {
            return;
        }
        let begins: HashSet<usize> = self.queued(|o| match o {
            ListenOutput::JournalBegin { phone } => Some(*phone),
            _ => None,
        });
        let starts: HashSet<usize> = self.queued(|o| match o {
            ListenOutput::Push {
                phone,
                step: ListenPush::Start,
            } => Some(*phone),
            _ => None,
        });
        self.queue.retain(|o| {
            !matches!(
                o,
                ListenOutput::JournalBegin { .. }
                    | ListenOutput::Push {
                        step: ListenPush::Start,
                        ..
                    }
            )
        });
        let mut withdrawn: Vec<usize> = starts.into_iter().collect();
        withdrawn.sort_unstable();
        for i in withdrawn {
            self.not_started(i, "not started: the journal could not be written");
            if i != phone && !begins.contains(&i) {
                // Its record was written: end it, there is nothing to stop.
                self.queue.push_back(ListenOutput::Journal {
                    phone: i,
                    op: JournalOp::End { unstopped: vec![] },
                });
            }
        }
        self.end(Ended::JournalFailed { phone, error });
        self.finish_if_done();
    }

    /// A push came back.
    pub fn handle_push_done(&mut self, now: Instant, done: PushDone) {
        if self.finished {
            return;
        }
        let i = done.phone;
        let Some(state) = self.phone_state(i) else {
            return;
        };
        match (done.step, state) {
            (ListenPush::Start, ListenState::Starting) => {
                self.start_done(now, i, done.sent, &done.outcome)
            }
            (ListenPush::Stop, ListenState::Stopping) => self.stop_done(i, &done.outcome),
            // An answer to a push this session did not make, or a second one: ignored.
            _ => return,
        }
        self.finish_if_done();
    }

    /// Stop: every phone that may be running gets its stop (one whose start is in flight as
    /// soon as it answers). A second request changes nothing.
    pub fn handle_stop(&mut self, reason: StopReason) {
        self.end(Ended::Stopped(reason));
        self.finish_if_done();
    }

    /// Our side's source ended (an intercom's `--say` file). Without a duration that ends the
    /// session; with one, the session runs its duration (the phone hears silence).
    pub fn handle_source_ended(&mut self) {
        if self.duration.is_none() {
            self.end(Ended::SourceEnded);
            self.finish_if_done();
        }
    }

    /// Our side's media failed (an intercom's sending socket): end, stopping the phones.
    pub fn handle_media_failed(&mut self, error: String) {
        self.end(Ended::MediaFailed(error));
        self.finish_if_done();
    }

    /// Time passed: act on the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.expire(now) {
            match timer {
                ListenTimer::Duration => self.end(Ended::Duration),
            }
        }
        self.finish_if_done();
    }

    // ---- outputs ----

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<ListenOutput> {
        self.queue.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due (`None`: no timer runs).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- rules ----

    fn queued(&self, pick: impl Fn(&ListenOutput) -> Option<usize>) -> HashSet<usize> {
        self.queue.iter().filter_map(pick).collect()
    }

    fn not_started(&mut self, i: usize, why: &str) {
        let r = &mut self.phones[i];
        r.state = ListenState::NotStarted;
        r.failure = Some(why.into());
    }

    fn start_done(&mut self, now: Instant, i: usize, sent: Instant, outcome: &PushOutcome) {
        let r = &mut self.phones[i];
        r.accept = Some(now.saturating_duration_since(sent));
        if outcome.is_ok() {
            r.accepted = true;
            r.state = ListenState::Accepted;
        } else {
            r.failure = failure_of(outcome);
            let doubtful = needs_stop(outcome);
            r.state = ListenState::Failed { doubtful };
            if !doubtful {
                // Refused outright: nothing runs on the phone, nothing to stop.
                self.stop_media(i);
                self.queue.push_back(ListenOutput::Journal {
                    phone: i,
                    op: JournalOp::End { unstopped: vec![] },
                });
            }
        }
        if self.ending.is_some() {
            self.stop_media(i);
            self.stop_if_ready(i);
        } else if !self.any(ListenState::Starting) {
            let accepted = self
                .phones
                .iter()
                .filter(|r| r.state == ListenState::Accepted)
                .count();
            if accepted == 0 {
                self.end(Ended::NoneAccepted);
            } else {
                self.running = true;
                let until = self.duration.and_then(|d| now.checked_add(d));
                if let Some(at) = until {
                    self.timers.set(ListenTimer::Duration, at);
                }
                self.queue
                    .push_back(ListenOutput::Running { accepted, until });
            }
        }
    }

    fn stop_done(&mut self, i: usize, outcome: &PushOutcome) {
        let r = &mut self.phones[i];
        let name = r.spec.name.clone();
        if outcome.is_ok() {
            r.state = ListenState::Stopped;
            self.queue.push_back(ListenOutput::Journal {
                phone: i,
                op: JournalOp::Stopped { phones: vec![name] },
            });
            self.queue.push_back(ListenOutput::Journal {
                phone: i,
                op: JournalOp::End { unstopped: vec![] },
            });
        } else {
            r.state = ListenState::StopFailed;
            r.stop_failure = failure_of(outcome);
            self.queue.push_back(ListenOutput::Journal {
                phone: i,
                op: JournalOp::End {
                    unstopped: vec![name],
                },
            });
        }
    }

    /// Begin the end (once): our media stops, then each phone that may be running gets its stop.
    fn end(&mut self, why: Ended) {
        if self.ending.is_some() || self.finished {
            return;
        }
        self.ending = Some(why);
        self.timers.clear_all();
        for i in 0..self.phones.len() {
            self.stop_media(i);
        }
        for i in 0..self.phones.len() {
            self.stop_if_ready(i);
        }
    }

    fn stop_media(&mut self, i: usize) {
        if std::mem::take(&mut self.phones[i].media) {
            self.queue.push_back(ListenOutput::StopMedia { phone: i });
        }
    }

    /// Push phone `i`'s stop if the session is ending and its start may have taken effect.
    fn stop_if_ready(&mut self, i: usize) {
        let r = &mut self.phones[i];
        if self.ending.is_some()
            && matches!(
                r.state,
                ListenState::Accepted | ListenState::Failed { doubtful: true }
            )
        {
            r.state = ListenState::Stopping;
            self.queue.push_back(ListenOutput::Push {
                phone: i,
                step: ListenPush::Stop,
            });
        }
    }

    fn any(&self, state: ListenState) -> bool {
        self.phones.iter().any(|r| r.state == state)
    }

    fn finish_if_done(&mut self) {
        if self.finished
            || !self.bound
            || self.ending.is_none()
            || self.any(ListenState::Starting)
            || self.any(ListenState::Stopping)
        {
            return;
        }
        for i in 0..self.phones.len() {
            self.stop_media(i);
        }
        self.queue.push_back(ListenOutput::Finished);
        self.finished = true;
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
