//! One page as a state machine: every rule and every timer of starting and, above all, stopping.
//!
//! No I/O and no clock: time comes in as the `now: Instant` of each call, so a test drives a
//! 1,000-phone page through every failure in microseconds with virtual time (`t0 + Duration`).
//! The shell ([`run`](super::run)) feeds the session and carries out what it returns.
//!
//! ## Methods, and the order to call them in
//!
//! - getters: [`Session::report`], [`Session::is_finished`], [`Session::is_ending`],
//!   [`Session::active_phones`], [`Session::media_id`], [`Session::targets`];
//! - inputs, `handle_*`: [`start`](Session::start) once, then as things happen
//!   [`handle_push_done`](Session::handle_push_done), [`handle_media_stream`](Session::handle_media_stream),
//!   [`handle_callback`](Session::handle_callback), [`handle_source_ended`](Session::handle_source_ended),
//!   [`handle_media_failed`](Session::handle_media_failed), [`handle_stop`](Session::handle_stop),
//!   [`handle_journal`](Session::handle_journal), [`handle_verified`](Session::handle_verified),
//!   [`handle_fell_back`](Session::handle_fell_back), [`handle_talker`](Session::handle_talker),
//!   [`handle_target_ended`](Session::handle_target_ended), and [`handle_timeout`](Session::handle_timeout) when the time [`poll_timeout`](Session::poll_timeout)
//!   named has come;
//! - outputs: [`poll_output`](Session::poll_output) until it returns `None`, carrying out each
//!   [`Output`] in order (a journal write comes before the push it guarantees), then
//!   [`poll_timeout`](Session::poll_timeout) for the instant to wake at if nothing arrives.
//!
//! After every input the shell drains `poll_output`, then asks `poll_timeout`. Some outputs are
//! questions ([`Output::CheckPreemption`], [`Output::Verify`], [`Output::ReadTalker`]) whose
//! answers come back as inputs.
//!
//! ## The guarantee
//!
//! Every target whose start may have taken effect gets a stop before the page finishes. "May
//! have": accepted, or failed in a way that leaves doubt (a timeout, a broken connection, a
//! garbled answer: the phone may have executed the start before the answer was lost). Targets that
//! refused outright (authentication, an item status) are not stopped. A target taken over by a
//! page of higher priority is left to that page. The page finishes only when no push is in
//! flight, so a stop can never overtake a start or a banner on the same target.
//!
//! ## The timers
//!
//! [`Timer`]: the gate (the source plays once every start has answered, or this long after the
//! first acceptance; until then the stream carries silence so late phones miss nothing), the
//! page's duration, the `--verify` grace (then silent phones of a multicast page may fall back to
//! a unicast copy), the preemption check (another page of higher priority may have taken phones
//! over), the live report, and the talker's silence limit (a page spoken from a phone ends when
//! its talker stops sending).
//!
//! The session is generic over its targets ([`PageTarget`]): an XSI phone's
//! [`PhonePlan`](super::plan::PhonePlan) today; a kind that takes no push (a multicast speaker)
//! joins the page as accepted from the start.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::journal::JournalOp;
use super::report::{DeliveryReport, Failure, FailureKind, PhoneReport, PhoneState};
use crate::push::PushOutcome;
use crate::xsi::response::{AppEventType, Callback};

/// What the session needs to know of one target of the page.
pub trait PageTarget {
    /// Its name (unique in the page; the journal's key).
    fn name(&self) -> &str;
    /// Its model (for the report).
    fn model(&self) -> &str;
    /// Why it takes no part (`None`: it does).
    fn refusal(&self) -> Option<&str>;
    /// Whether a banner is pushed to it after its start.
    fn has_banner(&self) -> bool;
    /// Why the page's banner was dropped for it while it is still paged (`None`: it was not).
    fn banner_refusal(&self) -> Option<&str> {
        None
    }
    /// Whether it is started and stopped by a push. A target that takes none (a multicast
    /// speaker that only listens to the group) is part of the page from its start.
    fn needs_push(&self) -> bool {
        true
    }
    /// Whether it can be switched to a unicast copy when nothing arrives by multicast.
    fn can_fall_back(&self) -> bool {
        false
    }
    /// Whether it can be asked if packets arrive (`--verify`): an XSI phone, not an IP speaker
    /// or a SIP endpoint.
    fn can_verify(&self) -> bool {
        true
    }
    /// Whether it is started on the page's G.722 stream.
    fn wideband(&self) -> bool {
        false
    }
    /// Whether a refused G.722 start is retried with G.711 ([`PushStep::StartNarrow`]).
    fn can_narrow(&self) -> bool {
        false
    }
}

/// Which push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStep {
    /// The stream's start (RTPMRx / RTPRx / startMedia).
    Start,
    /// The banner object.
    Banner,
    /// The stop (stream Stop URI or stopMedia, and banner clearing).
    Stop,
    /// The start again, on the page's G.711 stream, after the phone refused G.722.
    StartNarrow,
}

/// The timers of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The gate opens (the source starts playing).
    Gate,
    /// The page's duration ends.
    Duration,
    /// The `--verify` grace is over: ask the phones whether packets arrive.
    Verify,
    /// Time to look whether a page of higher priority took phones over.
    Preemption,
    /// Time to publish the live report (when it changed).
    Publish,
    /// The talker may have fallen silent.
    Talker,
    /// No answer came to [`Output::AskHandOver`]: the stops go out.
    HandOver,
}

const TIMERS: [Timer; 7] = [
    Timer::Gate,
    Timer::Duration,
    Timer::Verify,
    Timer::Preemption,
    Timer::Publish,
    Timer::Talker,
    Timer::HandOver,
];

/// How long a page's talker may stay silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalkerLimits {
    /// Longest wait for the first packet, from the page's start.
    pub first_packet: Duration,
    /// Longest silence once packets came.
    pub idle: Duration,
}

/// A page's timing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Longest the source waits, after the first phone accepted, for the others.
    pub gate: Duration,
    /// End after this long (from the start).
    pub duration: Option<Duration>,
    /// `--verify`: ask the accepted phones whether packets arrive this long after the first
    /// acceptance (and once no start is in flight).
    pub verify: Option<Duration>,
    /// Phones silent at verification are switched to a unicast copy (a multicast page with a
    /// port for the copy).
    pub fallback: bool,
    /// How often to look for phones taken over by a higher page.
    pub preemption_check: Duration,
    /// How often the live report is published while it changes (`None`: nobody watches).
    pub publish: Option<Duration>,
    /// The page is spoken by a talker whose silence ends it.
    pub talker: Option<TalkerLimits>,
    /// Before its stops, ask whether another node took the page's phones (a bell page of a
    /// standby pair, whose peer may have found this process silent, stopped the phones and
    /// paged them), waiting this long for the answer.
    pub hand_over: Option<Duration>,
}

impl Default for Timing {
    /// A 1 s gate, no duration, no verification, checks for preemption every 250 ms.
    fn default() -> Self {
        Timing {
            gate: Duration::from_secs(1),
            duration: None,
            verify: None,
            fallback: false,
            preemption_check: Duration::from_millis(250),
            publish: None,
            talker: None,
            hand_over: None,
        }
    }
}

/// Something for the shell to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write to the journal (before doing what follows).
    Journal(JournalOp),
    /// Start the media stream (its source held back by the gate).
    StartMedia,
    /// Let the source play.
    OpenGate,
    /// Push to a target (what to push is in its plan).
    Push {
        /// Target index.
        phone: usize,
        /// Which push.
        step: PushStep,
    },
    /// Ask these phones whether packets arrive; answer with [`Session::handle_verified`], one
    /// call per phone.
    Verify {
        /// Target indexes.
        phones: Vec<usize>,
    },
    /// Send a unicast copy of the stream to these phones and switch each to it; answer with
    /// [`Session::handle_fell_back`], one call per phone.
    FallBack {
        /// Target indexes.
        phones: Vec<usize>,
    },
    /// Read which of this page's phones the journal still gives it; answer with
    /// [`Session::handle_journal`].
    CheckPreemption,
    /// Read when the talker's last packet came; answer with [`Session::handle_talker`].
    ReadTalker,
    /// The page is ending: ask whether another node took its phones; answer with
    /// [`Session::handle_hand_over`] (the stops wait for it, at most [`Timing::hand_over`]).
    AskHandOver,
    /// The live report changed: publish [`Session::report`].
    Publish,
    /// A phone that refused G.722 is started again on G.711 (the push follows): a unicast
    /// page sends it a G.711 copy.
    Narrow {
        /// Target index.
        phone: usize,
    },
    /// A target left the page by itself (a SIP endpoint that hung up): stop sending to it
    /// alone; it needs no stop (the journal already says so).
    Leave {
        /// Target index.
        phone: usize,
    },
    /// Stop the media stream (and any unicast copy).
    StopMedia,
    /// The page is over: [`Session::report`] is final.
    Finished,
}

/// One phone's run through the page. Where it is now is one enum, [`PhoneState`] (`None`
/// before its first push); the booleans are facts of its history that the report keeps
/// (it was pushed, it once accepted, it was stopped), not a second copy of the state.
#[derive(Debug, Clone, Default)]
struct Run {
    /// Where the phone is now; `None` until its first push.
    state: Option<PhoneState>,
    /// Its start was pushed.
    pushed: bool,
    /// Its start was accepted at some point.
    accepted: bool,
    /// The start failed in a way that may still have started the stream.
    uncertain: bool,
    /// Why its start failed.
    failure: Option<Failure>,
    /// Time from the page's start to its acceptance.
    accept: Option<Duration>,
    /// Its banner push is out and unanswered (its stop waits for it).
    banner_in_flight: bool,
    /// Why its banner was not shown.
    banner: Option<String>,
    /// Its stop was accepted (or not needed).
    stopped: bool,
    /// Why its stop failed.
    stop_failure: Option<Failure>,
    /// The user ended the page on this phone (hung up).
    by_user: bool,
    /// It ended its part by itself before its start's answer was in (applied on acceptance),
    /// with why.
    left_early: Option<String>,
    /// Why it ended its part by itself ("hung up", "session refresh failed: 408").
    left_why: Option<String>,
    /// Application events its screens sent.
    app_events: Vec<String>,
    /// A page of higher priority took it.
    preempted: bool,
    /// Verification's answer: is audio arriving?
    receiving: Option<bool>,
    /// It was moved to the unicast fallback.
    fallback: bool,
    /// The stream id startMedia answered with.
    media_id: Option<String>,
    /// It refused G.722 (its answer) and was started again on G.711.
    g722_refused: Option<String>,
}

impl Run {
    /// Whether another page (or node) may take it over: it is or may be playing this page, and
    /// was not taken already.
    fn may_be_taken(&self) -> bool {
        !self.preempted
            && matches!(
                self.state,
                Some(PhoneState::Starting | PhoneState::Accepted | PhoneState::Failed)
            )
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct InFlight {
    starts: usize,
    banners: usize,
    stops: usize,
}

/// One page.
#[derive(Debug, Clone)]
pub struct Session<T: PageTarget = super::plan::PhonePlan> {
    targets: Vec<T>,
    runs: Vec<Run>,
    timing: Timing,
    t0: Option<Instant>,
    ended_at: Option<Instant>,
    ending: Option<String>,
    media_running: bool,
    finished: bool,
    gate_open: bool,
    first_accept: Option<Instant>,
    /// Phones asked by [`Output::Verify`] that have not answered yet.
    verifying: BTreeSet<usize>,
    verified: bool,
    /// [`Output::AskHandOver`] is out and unanswered: the stops wait.
    asking_hand_over: bool,
    deadlines: [Option<Instant>; TIMERS.len()],
    /// Pushes in flight, by kind: kept as the states move so that an answer costs O(1),
    /// not a walk over 10,000 phones.
    in_flight: InFlight,
    changed: bool,
    out: std::collections::VecDeque<Output>,
}

/// Most application events kept per phone: a phone flapping its focus cannot grow the report
/// without end.
const MAX_APP_EVENTS: usize = 32;

impl<T: PageTarget> Session<T> {
    /// A page over these targets with these timing rules.
    pub fn new(targets: Vec<T>, timing: Timing) -> Session<T> {
        let runs = targets
            .iter()
            .map(|t| Run {
                state: t.refusal().is_some().then_some(PhoneState::Refused),
                failure: t.refusal().map(|r| Failure {
                    kind: FailureKind::Model,
                    reason: r.to_owned(),
                }),
                banner: t
                    .banner_refusal()
                    .map(|why| format!("banner refused: {why}")),
                ..Run::default()
            })
            .collect();
        Session {
            targets,
            runs,
            timing,
            t0: None,
            ended_at: None,
            ending: None,
            media_running: false,
            finished: false,
            gate_open: false,
            first_accept: None,
            verifying: BTreeSet::new(),
            verified: false,
            asking_hand_over: false,
            deadlines: [None; TIMERS.len()],
            in_flight: InFlight::default(),
            changed: false,
            out: Default::default(),
        }
    }

    /// The targets, by index.
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// Whether the page is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the page is ending.
    pub fn is_ending(&self) -> bool {
        self.ending.is_some()
    }

    /// Phones that accepted and are still in the page (not stopped, preempted or hung up).
    pub fn active_phones(&self) -> Vec<usize> {
        (0..self.runs.len())
            .filter(|&i| self.runs[i].state == Some(PhoneState::Accepted) && !self.runs[i].by_user)
            .collect()
    }

    /// The stream id phone `i` answered its startMedia with.
    pub fn media_id(&self, i: usize) -> Option<&str> {
        self.runs.get(i).and_then(|r| r.media_id.as_deref())
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Session::handle_timeout`] if nothing else happens first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        self.deadlines.iter().flatten().min().copied()
    }

    fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.deadlines[timer as usize] = at;
    }

    fn due(&self, timer: Timer, now: Instant) -> bool {
        self.deadlines[timer as usize].is_some_and(|d| d <= now)
    }

    /// Begin: journal the targets, start the media, push every start.
    pub fn start(&mut self, now: Instant) {
        self.t0 = Some(now);
        let pushable: Vec<usize> = (0..self.targets.len())
            .filter(|&i| self.targets[i].refusal().is_none())
            .collect();
        self.out.push_back(Output::Journal(JournalOp::Begin {
            phones: pushable
                .iter()
                .map(|&i| self.targets[i].name().to_owned())
                .collect(),
        }));
        if pushable.is_empty() {
            self.ending = Some("no phone can take part".into());
            self.finish(now);
            return;
        }
        self.out.push_back(Output::StartMedia);
        self.media_running = true;
        self.set(Timer::Duration, self.timing.duration.map(|d| now + d));
        self.set(Timer::Preemption, Some(now + self.timing.preemption_check));
        self.set(Timer::Publish, self.timing.publish.map(|p| now + p));
        self.set(
            Timer::Talker,
            self.timing.talker.map(|t| now + t.first_packet),
        );
        for i in pushable {
            let r = &mut self.runs[i];
            if self.targets[i].needs_push() {
                r.state = Some(PhoneState::Starting);
                r.pushed = true;
                self.in_flight.starts += 1;
                self.out.push_back(Output::Push {
                    phone: i,
                    step: PushStep::Start,
                });
            } else {
                r.state = Some(PhoneState::Accepted);
                r.accepted = true;
                r.accept = Some(Duration::ZERO);
                self.first_accept.get_or_insert(now);
            }
        }
        self.after_start_answer(now);
        // The first state goes out at once; later ones when they changed.
        self.changed = false;
        self.out.push_back(Output::Publish);
    }

    /// A push came back. `phone` and `step` are those of the [`Output::Push`].
    pub fn handle_push_done(
        &mut self,
        now: Instant,
        phone: usize,
        step: PushStep,
        outcome: &PushOutcome,
    ) {
        if self.finished || phone >= self.runs.len() {
            return;
        }
        self.changed = true;
        match step {
            PushStep::Start | PushStep::StartNarrow => self.start_done(now, phone, outcome),
            PushStep::Banner => {
                let r = &mut self.runs[phone];
                if !r.banner_in_flight {
                    return; // an answer to a banner that was not asked: ignore
                }
                r.banner_in_flight = false;
                self.in_flight.banners -= 1;
                r.banner = Some(
                    Failure::from_outcome(outcome)
                        .map_or("ok".into(), |f| format!("{}: {}", f.kind, f.reason)),
                );
                self.stop_if_ready(phone);
            }
            PushStep::Stop => self.stop_done(phone, outcome),
        }
        self.finish_if_done(now);
    }

    /// The stream id a phone's startMedia answer carried (kept for its stopMedia and to know
    /// which phone a media event is about). Call before [`Session::handle_push_done`].
    pub fn handle_media_stream(&mut self, phone: usize, id: String) {
        if let Some(r) = self.runs.get_mut(phone) {
            r.media_id = Some(id);
        }
    }

    fn start_done(&mut self, now: Instant, i: usize, outcome: &PushOutcome) {
        let t0 = self.t0.unwrap_or(now);
        let ending = self.ending.is_some();
        let has_banner = self.targets[i].has_banner();
        let r = &mut self.runs[i];
        if r.state != Some(PhoneState::Starting) {
            return; // an answer to a start that was not asked: ignore
        }
        self.in_flight.starts -= 1;
        match Failure::from_outcome(outcome) {
            None => {
                r.accepted = true;
                r.accept = Some(now.saturating_duration_since(t0));
                r.state = Some(if r.preempted {
                    PhoneState::Preempted
                } else {
                    PhoneState::Accepted
                });
                if has_banner && !ending && !r.preempted {
                    r.banner_in_flight = true;
                    self.in_flight.banners += 1;
                    self.out.push_back(Output::Push {
                        phone: i,
                        step: PushStep::Banner,
                    });
                }
                if self.first_accept.is_none() {
                    self.first_accept = Some(now);
                    self.set(Timer::Gate, Some(now + self.timing.gate));
                }
            }
            // The phone answered that it will not play G.722: start it on G.711 instead.
            Some(f)
                if matches!(outcome, PushOutcome::Rejected { .. })
                    && self.targets[i].can_narrow()
                    && r.g722_refused.is_none()
                    && !ending =>
            {
                r.g722_refused = Some(f.reason);
                self.in_flight.starts += 1;
                self.out.push_back(Output::Narrow { phone: i });
                self.out.push_back(Output::Push {
                    phone: i,
                    step: PushStep::StartNarrow,
                });
                return;
            }
            Some(f) => {
                // Doubt only when the request may have reached the phone.
                r.uncertain = matches!(
                    outcome,
                    PushOutcome::Timeout
                        | PushOutcome::Unreachable {
                            connected: true,
                            ..
                        }
                        | PushOutcome::BadResponse { .. }
                );
                r.failure = Some(f);
                r.state = Some(if r.preempted {
                    PhoneState::Preempted
                } else {
                    PhoneState::Failed
                });
            }
        }
        self.stop_if_ready(i);
        self.after_start_answer(now);
        if self.runs[i].state == Some(PhoneState::Accepted)
            && let Some(why) = self.runs[i].left_early.take()
        {
            self.handle_target_ended(now, i, &why);
        }
    }

    /// Once every start has answered: open the gate, and arm the verification.
    fn after_start_answer(&mut self, now: Instant) {
        if self.starting() > 0 {
            return;
        }
        self.open_gate();
        if let (Some(grace), Some(first), false) =
            (self.timing.verify, self.first_accept, self.verified)
        {
            self.set(Timer::Verify, Some((first + grace).max(now)));
        }
    }

    fn open_gate(&mut self) {
        if !self.gate_open {
            self.gate_open = true;
            self.set(Timer::Gate, None);
            self.out.push_back(Output::OpenGate);
        }
    }

    fn starting(&self) -> usize {
        self.in_flight.starts
    }

    fn stop_done(&mut self, i: usize, outcome: &PushOutcome) {
        let name = self.targets[i].name().to_owned();
        let r = &mut self.runs[i];
        if r.state != Some(PhoneState::Stopping) {
            return; // an answer to a stop that was not asked: ignore
        }
        self.in_flight.stops -= 1;
        match Failure::from_outcome(outcome) {
            None => {
                r.stopped = true;
                r.state = Some(if r.by_user {
                    PhoneState::StoppedByUser
                } else if r.accepted {
                    PhoneState::Stopped
                } else {
                    PhoneState::Failed
                });
                self.out
                    .push_back(Output::Journal(JournalOp::Stopped { phones: vec![name] }));
            }
            Some(f) => {
                r.stop_failure = Some(f);
                r.state = Some(PhoneState::StopFailed);
            }
        }
    }

    /// A phone's callback: `phone` is the phone its Notify URI names (the server's per-phone
    /// screens), if any. A media event or stream stop names the stream: its user hung up.
    pub fn handle_callback(&mut self, now: Instant, phone: Option<&str>, callback: Callback) {
        if self.finished {
            return;
        }
        let named = phone.and_then(|n| self.targets.iter().position(|t| t.name() == n));
        let stream = match callback {
            Callback::MediaEvent { stream_id, .. } => stream_id,
            Callback::StreamStopped { id } => id,
            Callback::ApplicationEvent { kind, .. } => {
                if let Some(r) = named.and_then(|i| self.runs.get_mut(i))
                    && r.app_events.len() < MAX_APP_EVENTS
                {
                    r.app_events.push(match kind {
                        AppEventType::FocusLost => "focusLost".to_owned(),
                        AppEventType::FocusGained => "focusGained".to_owned(),
                        AppEventType::Minimized => "minimized".to_owned(),
                        AppEventType::Closed => "closed".to_owned(),
                        AppEventType::Other(o) => o,
                    });
                    self.changed = true;
                }
                None
            }
            _ => None,
        };
        if let Some(id) = stream
            && let Some(r) = self
                .runs
                .iter_mut()
                .find(|r| r.media_id.as_deref() == Some(id.as_str()))
        {
            r.by_user = true;
            self.changed = true;
        }
        self.finish_if_done(now);
    }

    /// Target `phone` ended its part by itself (a SIP endpoint's BYE, or its session refresh
    /// failing): it is reported stopped by its user, marked stopped in the journal (recovery
    /// leaves it alone), and the shell stops sending to it ([`Output::Leave`]); the rest of
    /// the page goes on. Ignored unless it is in the page (accepted, not being stopped).
    pub fn handle_target_ended(&mut self, now: Instant, phone: usize, why: &str) {
        if self.finished {
            return;
        }
        let Some(r) = self.runs.get_mut(phone) else {
            return;
        };
        if r.state == Some(PhoneState::Starting) {
            // Its answer and its end crossed: the end applies once the answer is in.
            r.left_early = Some(why.to_owned());
            return;
        }
        if r.state != Some(PhoneState::Accepted) || r.preempted || r.banner_in_flight {
            return;
        }
        r.by_user = true;
        r.stopped = true;
        r.state = Some(PhoneState::StoppedByUser);
        r.left_why = Some(why.to_owned());
        self.changed = true;
        let name = self.targets[phone].name().to_owned();
        self.out
            .push_back(Output::Journal(JournalOp::Stopped { phones: vec![name] }));
        self.out.push_back(Output::Leave { phone });
        self.finish_if_done(now);
    }

    /// The source has nothing more to play.
    pub fn handle_source_ended(&mut self, now: Instant) {
        self.end(now, "source ended");
    }

    /// The media stream could not be opened: the page ends (phones started get their stops).
    pub fn handle_media_failed(&mut self, now: Instant) {
        self.media_running = false;
        self.end(now, "the media stream could not open");
    }

    /// End the page early (Ctrl-C, SIGTERM, a stop command, a caller hanging up).
    pub fn handle_stop(&mut self, now: Instant, reason: &str) {
        self.end(now, reason);
    }

    /// The answer to [`Output::CheckPreemption`]: the phones the journal still gives this page
    /// (`None`: the journal could not be read, or lists no such page). Active phones missing
    /// from it were taken over by a page of higher priority and are left to that page.
    pub fn handle_journal(&mut self, now: Instant, remaining: Option<&BTreeSet<String>>) {
        let Some(remaining) = remaining else { return };
        if self.ending.is_some() || self.finished {
            return;
        }
        // Targets without a push are not in the journal: nothing takes them over.
        let taken: Vec<usize> = self
            .active_phones()
            .into_iter()
            .filter(|&i| self.targets[i].needs_push())
            .filter(|&i| !remaining.contains(self.targets[i].name()))
            .collect();
        self.preempt(now, &taken);
    }

    /// These phones were taken over by a page of higher priority.
    pub fn handle_preempted(&mut self, now: Instant, phones: &[usize]) {
        self.preempt(now, phones);
    }

    fn preempt(&mut self, now: Instant, phones: &[usize]) {
        if self.finished {
            return;
        }
        let mut names = Vec::new();
        for &i in phones {
            let Some(r) = self.runs.get_mut(i) else {
                continue;
            };
            if r.may_be_taken() {
                r.preempted = true;
                if r.state != Some(PhoneState::Starting) {
                    r.state = Some(PhoneState::Preempted);
                }
                names.push(self.targets[i].name().to_owned());
            }
        }
        if !names.is_empty() {
            self.changed = true;
            self.out
                .push_back(Output::Journal(JournalOp::Released { phones: names }));
        }
        self.finish_if_done(now);
    }

    /// The answer to [`Output::Verify`] for one phone: whether packets arrive.
    pub fn handle_verified(&mut self, now: Instant, phone: usize, receiving: bool) {
        if !self.verifying.remove(&phone) {
            return;
        }
        if let Some(r) = self.runs.get_mut(phone) {
            r.receiving = Some(receiving);
            self.changed = true;
        }
        if self.verifying.is_empty() && self.timing.fallback && self.ending.is_none() {
            let silent: Vec<usize> = (0..self.runs.len())
                .filter(|&i| {
                    self.runs[i].receiving == Some(false)
                        && self.runs[i].state == Some(PhoneState::Accepted)
                        && self.targets[i].can_fall_back()
                })
                .collect();
            if !silent.is_empty() {
                self.out.push_back(Output::FallBack { phones: silent });
            }
        }
        self.finish_if_done(now);
    }

    /// The answer to [`Output::FallBack`] for one phone: whether it took the unicast copy.
    pub fn handle_fell_back(&mut self, _now: Instant, phone: usize, accepted: bool) {
        if let Some(r) = self.runs.get_mut(phone) {
            r.fallback = accepted;
            if !accepted {
                r.receiving = Some(false);
            }
            self.changed = true;
        }
    }

    /// The answer to [`Output::ReadTalker`]: when the talker's last packet came (`None`: none
    /// yet). The page ends when the talker has been silent too long.
    pub fn handle_talker(&mut self, now: Instant, last_packet: Option<Instant>) {
        let (Some(limits), Some(t0)) = (self.timing.talker, self.t0) else {
            return;
        };
        if self.ending.is_some() || self.finished {
            return;
        }
        let silent_until = match last_packet {
            None => t0 + limits.first_packet,
            Some(last) => last + limits.idle,
        };
        if now >= silent_until {
            self.end(now, "the talker stopped sending");
        } else {
            self.set(Timer::Talker, Some(silent_until));
        }
    }

    /// Time has come for the timers [`Session::poll_timeout`] named (any earlier call is
    /// harmless: nothing is due).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        if self.due(Timer::Gate, now) {
            self.open_gate();
        }
        if self.due(Timer::Duration, now) {
            self.set(Timer::Duration, None);
            self.end(now, "duration");
        }
        if self.due(Timer::Verify, now) {
            self.set(Timer::Verify, None);
            if self.ending.is_none() && self.starting() == 0 && !self.verified {
                self.verified = true;
                let phones: Vec<usize> = self
                    .active_phones()
                    .into_iter()
                    .filter(|&i| self.targets[i].can_verify())
                    .collect();
                self.verifying = phones.iter().copied().collect();
                if !phones.is_empty() {
                    self.out.push_back(Output::Verify { phones });
                }
            }
        }
        if self.due(Timer::Preemption, now) {
            if self.ending.is_none() {
                self.set(Timer::Preemption, Some(now + self.timing.preemption_check));
                self.out.push_back(Output::CheckPreemption);
            } else {
                self.set(Timer::Preemption, None);
            }
        }
        if self.due(Timer::HandOver, now) {
            // No answer: nothing is known to be taken; every phone gets its stop.
            self.handle_hand_over(now, &[]);
        }
        if self.due(Timer::Talker, now) {
            self.set(Timer::Talker, None);
            if self.ending.is_none() {
                self.out.push_back(Output::ReadTalker);
            }
        }
        if self.due(Timer::Publish, now) {
            self.set(Timer::Publish, self.timing.publish.map(|p| now + p));
            if std::mem::take(&mut self.changed) {
                self.out.push_back(Output::Publish);
            }
        }
    }

    fn end(&mut self, now: Instant, reason: &str) {
        if self.finished || self.ending.is_some() {
            return;
        }
        self.ending = Some(reason.to_owned());
        self.changed = true;
        for timer in [
            Timer::Duration,
            Timer::Verify,
            Timer::Talker,
            Timer::Preemption,
        ] {
            self.set(timer, None);
        }
        self.verifying.clear();
        if let Some(wait) = self.timing.hand_over
            && self.runs.iter().any(Run::may_be_taken)
        {
            self.asking_hand_over = true;
            self.set(Timer::HandOver, Some(now + wait));
            self.out.push_back(Output::AskHandOver);
            return;
        }
        for i in 0..self.runs.len() {
            self.stop_if_ready(i);
        }
        self.finish_if_done(now);
    }

    /// The answer to [`Output::AskHandOver`]: the phones another node took (left to it, as
    /// to a page of higher priority: no stop from here). The others get their stops.
    pub fn handle_hand_over(&mut self, now: Instant, taken: &[usize]) {
        if !self.asking_hand_over {
            return;
        }
        self.set(Timer::HandOver, None);
        // Still asking: the preemption neither stops nor finishes the page.
        self.preempt(now, taken);
        self.asking_hand_over = false;
        for i in 0..self.runs.len() {
            self.stop_if_ready(i);
        }
        self.finish_if_done(now);
    }

    /// Push phone `i`'s stop if the page is ending and nothing is in flight for it.
    fn stop_if_ready(&mut self, i: usize) {
        if self.ending.is_none() || self.asking_hand_over {
            return;
        }
        let pushes = self.targets[i].needs_push();
        let r = &mut self.runs[i];
        if r.preempted || r.banner_in_flight {
            return;
        }
        let needs = match r.state {
            Some(PhoneState::Accepted) => true,
            Some(PhoneState::Failed) => r.uncertain && !r.stopped,
            _ => false,
        };
        if !needs {
            return;
        }
        if pushes {
            r.state = Some(PhoneState::Stopping);
            self.in_flight.stops += 1;
            self.out.push_back(Output::Push {
                phone: i,
                step: PushStep::Stop,
            });
        } else {
            // Nothing to tell it: the end of the stream is its stop.
            r.state = Some(PhoneState::Stopped);
            r.stopped = true;
        }
    }

    fn finish_if_done(&mut self, now: Instant) {
        if self.finished || self.ending.is_none() || self.asking_hand_over {
            return;
        }
        let f = self.in_flight;
        if f.starts + f.banners + f.stops == 0 {
            self.finish(now);
        }
    }

    fn finish(&mut self, now: Instant) {
        if self.media_running {
            self.out.push_back(Output::StopMedia);
            self.media_running = false;
        }
        let unstopped: Vec<String> = (0..self.runs.len())
            .filter(|&i| self.runs[i].state == Some(PhoneState::StopFailed))
            .map(|i| self.targets[i].name().to_owned())
            .collect();
        self.out
            .push_back(Output::Journal(JournalOp::End { unstopped }));
        self.out.push_back(Output::Finished);
        self.ended_at = Some(now);
        self.finished = true;
        self.deadlines = [None; TIMERS.len()];
    }

    /// The delivery report so far (final once finished).
    pub fn report(&self, page: &str, zone: &str, priority: &str, delivery: &str) -> DeliveryReport {
        let phones = self
            .targets
            .iter()
            .zip(&self.runs)
            .map(|(t, r)| PhoneReport {
                name: t.name().to_owned(),
                model: t.model().to_owned(),
                // A user who hung up shows at once, not only after the page's stop.
                state: match r.state {
                    Some(PhoneState::Accepted) if r.by_user => PhoneState::StoppedByUser,
                    s => s.unwrap_or(PhoneState::Starting),
                },
                planned: t.refusal().is_none(),
                pushed: r.pushed,
                accepted: r.accepted,
                failure: r.failure.clone(),
                accept: r.accept,
                banner: r.banner.clone(),
                stopped: r.stopped,
                stop_failure: r.stop_failure.clone(),
                receiving: r.receiving,
                fallback_unicast: r.fallback,
                codec: if t.wideband() && r.g722_refused.is_none() {
                    "g722"
                } else {
                    "g711"
                },
                g722_refused: r.g722_refused.clone(),
                app_events: r.app_events.clone(),
                ended: r.left_why.clone(),
            })
            .collect();
        let mut report = DeliveryReport {
            page: page.into(),
            zone: zone.into(),
            priority: priority.into(),
            delivery: delivery.into(),
            ended_by: self
                .ending
                .clone()
                .unwrap_or_else(|| "still running".into()),
            last_accept: None,
            duration: match (self.t0, self.ended_at) {
                (Some(t0), Some(end)) => end.saturating_duration_since(t0),
                _ => Duration::ZERO,
            },
            totals: Default::default(),
            phones,
        };
        report.compute_totals();
        report
    }
}

impl PageTarget for super::plan::PhonePlan {
    fn name(&self) -> &str {
        &self.name
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn refusal(&self) -> Option<&str> {
        self.refused.as_deref()
    }
    fn has_banner(&self) -> bool {
        self.banner.is_some()
    }
    fn banner_refusal(&self) -> Option<&str> {
        self.banner_refused.as_deref()
    }
    fn can_fall_back(&self) -> bool {
        self.ip.is_some()
    }
    fn wideband(&self) -> bool {
        self.wideband
    }
    fn can_narrow(&self) -> bool {
        self.narrow.is_some()
    }
    fn needs_push(&self) -> bool {
        self.speaker_dest.is_none()
    }
    fn can_verify(&self) -> bool {
        self.target.is_some()
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

/// A target that ends its part by itself (a SIP endpoint's BYE), with virtual time.
#[cfg(test)]
mod target_ended_tests {
    use super::*;
    use crate::page::plan::{sip_plan, speaker_plan};

    fn sip(name: &str) -> super::super::plan::PhonePlan {
        let dialog = super::super::dial::SipDialog {
            call_id: format!("{name}@x"),
            ..Default::default()
        };
        sip_plan(name, Ok(dialog), "127.0.0.1:40000".parse().unwrap())
    }

    fn drain(s: &mut Session) -> Vec<Output> {
        std::iter::from_fn(|| s.poll_output()).collect()
    }

    const OK: PushOutcome = PushOutcome::Ok { items: Vec::new() };

    #[test]
    fn an_endpoint_that_hangs_up_leaves_alone_and_gets_no_stop() {
        let t0 = Instant::now();
        let speaker = speaker_plan("yard", "239.1.1.1:5000".parse().unwrap());
        let mut s = Session::new(vec![sip("a"), sip("b"), speaker], Timing::default());
        s.start(t0);
        drain(&mut s);
        for p in [0, 1] {
            s.handle_push_done(t0, p, PushStep::Start, &OK);
        }
        drain(&mut s);
        s.handle_target_ended(t0 + Duration::from_secs(1), 0, "hung up");
        assert_eq!(
            drain(&mut s),
            [
                Output::Journal(JournalOp::Stopped {
                    phones: vec!["a".into()]
                }),
                Output::Leave { phone: 0 },
            ]
        );
        assert!(!s.is_ending(), "the rest of the page goes on");
        assert_eq!(s.active_phones(), [1, 2]);
        // Twice is once.
        s.handle_target_ended(t0 + Duration::from_secs(1), 0, "hung up");
        assert!(drain(&mut s).is_empty());
        // The page's end stops the others only.
        s.handle_stop(t0 + Duration::from_secs(2), "stopped");
        let out = drain(&mut s);
        assert!(out.contains(&Output::Push {
            phone: 1,
            step: PushStep::Stop
        }));
        assert!(
            !out.iter()
                .any(|o| matches!(o, Output::Push { phone: 0, .. }))
        );
        s.handle_push_done(t0 + Duration::from_secs(2), 1, PushStep::Stop, &OK);
        assert!(s.is_finished());
        let r = s.report("pg", "z", "normal", "multicast");
        assert_eq!(r.phones[0].state, PhoneState::StoppedByUser);
        assert!(r.phones[0].accepted && r.phones[0].stopped);
        assert_eq!(r.phones[1].state, PhoneState::Stopped);
        assert_eq!((r.totals.stopped_by_user, r.exit_code()), (1, 0));
        let prose = r.prose();
        assert!(
            prose
                .lines()
                .any(|l| l.contains("a ") && l.contains("hung up by the endpoint")),
            "{prose}"
        );
    }

    /// Endpoints `a` and `b` called (their starts out, unanswered).
    fn two_endpoints_called(t0: Instant) -> Session {
        let mut s = Session::new(vec![sip("a"), sip("b")], Timing::default());
        s.start(t0);
        drain(&mut s);
        s
    }

    #[test]
    fn an_end_that_crosses_the_answer_applies_once_it_is_in() {
        let t0 = Instant::now();
        let mut s = two_endpoints_called(t0);
        s.handle_target_ended(t0, 0, "hung up");
        assert!(drain(&mut s).is_empty());
        s.handle_push_done(t0, 0, PushStep::Start, &OK);
        let out = drain(&mut s);
        assert!(out.contains(&Output::Leave { phone: 0 }), "{out:?}");
        let r = s.report("pg", "z", "n", "d");
        assert_eq!(r.phones[0].state, PhoneState::StoppedByUser);
        assert_eq!(r.phones[0].ended.as_deref(), Some("hung up"));
    }

    #[test]
    fn a_failed_session_refresh_is_reported_as_such_not_as_a_hang_up() {
        let t0 = Instant::now();
        let mut s = two_endpoints_called(t0);
        for p in [0, 1] {
            s.handle_push_done(t0, p, PushStep::Start, &OK);
        }
        drain(&mut s);
        s.handle_target_ended(t0, 0, "session refresh failed: 408");
        s.handle_target_ended(t0, 1, "hung up");
        let r = s.report("pg", "z", "normal", "unicast");
        assert_eq!(
            r.phones[0].ended.as_deref(),
            Some("session refresh failed: 408")
        );
        let prose = r.prose();
        let line = |name: &str| {
            prose
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            line("a").contains("ended: session refresh failed: 408"),
            "{prose}"
        );
        assert!(!line("a").contains("hung up"), "{prose}");
        assert!(line("b").contains("hung up by the endpoint"), "{prose}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["phones"][0]["ended"], "session refresh failed: 408");
    }
}
