//! One page as a state machine: the rules of starting and, above all, stopping.
//!
//! The shell calls [`Session::start`] once, then [`Session::handle`] with each [`Input`] as it
//! happens, and carries out the [`Output`]s in order. No I/O, no clock: time comes in as `now_ms`
//! on any monotonic clock.
//!
//! The guarantee: every phone whose start may have taken effect gets a stop push before the page
//! finishes. "May have": accepted, or failed in a way that leaves doubt (a timeout, a broken
//! connection, a garbled answer: the phone may have executed the start before the answer was
//! lost). Phones that refused outright (authentication, an item status) are not stopped. A phone
//! taken over by a page of higher priority is left to that page. The page is finished only when
//! no push is in flight, so a stop can never overtake a start or a banner on the same phone.

use super::journal::JournalOp;
use super::plan::PhonePlan;
use super::report::{DeliveryReport, Failure, PhoneReport, PhoneState};
use crate::push::PushOutcome;

/// Which push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The stream's start (RTPMRx / RTPRx).
    Start,
    /// The banner object.
    Banner,
    /// The stop (stream Stop URI and banner clearing).
    Stop,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Input {
    /// A push came back.
    PushDone {
        /// Phone index (plan order).
        phone: usize,
        /// Which push.
        step: Step,
        /// Its outcome.
        outcome: PushOutcome,
    },
    /// End the page (source ended, duration, signal, stop command).
    End {
        /// Why, for the report.
        reason: String,
    },
    /// These phones were taken over by a page of higher priority.
    Preempted {
        /// Phone indexes.
        phones: Vec<usize>,
    },
    /// The phone's user hung up (a notifyMediaEvent arrived).
    StoppedByUser {
        /// Phone index.
        phone: usize,
    },
    /// The phone, silent on multicast, was switched to a unicast copy of the stream.
    FellBack {
        /// Phone index.
        phone: usize,
        /// Whether it accepted the unicast stream.
        accepted: bool,
    },
    /// `--verify`: whether packets arrive at the phone.
    Verified {
        /// Phone index.
        phone: usize,
        /// Packets seen.
        receiving: bool,
    },
    /// The phone's paging screen lost or regained the focus, was minimized or closed
    /// (`notifyApplicationEvent`): shown in the report; the page goes on.
    AppEvent {
        /// Phone index.
        phone: usize,
        /// `focusLost`, `focusGained`, `minimized` or `closed`.
        event: String,
    },
}

/// Something to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write to the journal (before doing what follows).
    Journal(JournalOp),
    /// Start the media stream.
    StartMedia,
    /// Push to a phone (the XML is in its plan).
    Push {
        /// Phone index.
        phone: usize,
        /// Which push.
        step: Step,
    },
    /// Stop the media stream.
    StopMedia,
    /// The page is over: build the report.
    Finished,
}

#[derive(Debug, Clone, Default)]
struct Run {
    state: Option<PhoneState>,
    pushed: bool,
    accepted: bool,
    /// The start failed in a way that may still have started the stream.
    uncertain: bool,
    failure: Option<Failure>,
    accept_ms: Option<f64>,
    banner_in_flight: bool,
    banner: Option<String>,
    stopped: bool,
    stop_failure: Option<Failure>,
    by_user: bool,
    app_events: Vec<String>,
    preempted: bool,
    receiving: Option<bool>,
    fallback: bool,
}

/// One page.
#[derive(Debug, Clone)]
pub struct Session {
    plans: Vec<PhonePlan>,
    runs: Vec<Run>,
    t0_ms: f64,
    end_ms: f64,
    ending: Option<String>,
    media_running: bool,
    finished: bool,
}

impl Session {
    /// A page over these planned phones.
    pub fn new(plans: Vec<PhonePlan>) -> Session {
        let runs = plans
            .iter()
            .map(|p| Run {
                state: p.refused.is_some().then_some(PhoneState::Refused),
                failure: p.refused.as_ref().map(|r| Failure {
                    kind: "model".into(),
                    reason: r.clone(),
                }),
                ..Run::default()
            })
            .collect();
        Session {
            plans,
            runs,
            t0_ms: 0.0,
            end_ms: 0.0,
            ending: None,
            media_running: false,
            finished: false,
        }
    }

    /// The plans, by phone index.
    pub fn plans(&self) -> &[PhonePlan] {
        &self.plans
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

    /// Begin: journal the phones, start the media, push every start.
    pub fn start(&mut self, now_ms: f64) -> Vec<Output> {
        self.t0_ms = now_ms;
        let pushable: Vec<usize> = (0..self.plans.len())
            .filter(|&i| self.plans[i].refused.is_none())
            .collect();
        let mut out = vec![Output::Journal(JournalOp::Begin {
            phones: pushable
                .iter()
                .map(|&i| self.plans[i].name.clone())
                .collect(),
        })];
        if pushable.is_empty() {
            self.ending = Some("no phone can take part".into());
            self.finish(now_ms, &mut out);
            return out;
        }
        out.push(Output::StartMedia);
        self.media_running = true;
        for i in pushable {
            self.runs[i].state = Some(PhoneState::Starting);
            self.runs[i].pushed = true;
            out.push(Output::Push {
                phone: i,
                step: Step::Start,
            });
        }
        out
    }

    /// Take one input.
    pub fn handle(&mut self, now_ms: f64, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        match input {
            Input::PushDone {
                phone,
                step,
                outcome,
            } => self.push_done(now_ms, phone, step, &outcome, &mut out),
            Input::End { reason } => {
                if self.ending.is_none() {
                    self.ending = Some(reason);
                    for i in 0..self.runs.len() {
                        self.stop_if_ready(i, &mut out);
                    }
                }
            }
            Input::Preempted { phones } => {
                let mut names = Vec::new();
                for i in phones {
                    let Some(r) = self.runs.get_mut(i) else {
                        continue;
                    };
                    if matches!(
                        r.state,
                        Some(PhoneState::Starting | PhoneState::Accepted | PhoneState::Failed)
                    ) {
                        r.preempted = true;
                        if r.state != Some(PhoneState::Starting) {
                            r.state = Some(PhoneState::Preempted);
                        }
                        names.push(self.plans[i].name.clone());
                    }
                }
                if !names.is_empty() {
                    out.push(Output::Journal(JournalOp::Released { phones: names }));
                }
            }
            Input::StoppedByUser { phone } => {
                if let Some(r) = self.runs.get_mut(phone) {
                    r.by_user = true;
                }
            }
            Input::AppEvent { phone, event } => {
                // Bounded: a phone flapping its focus cannot grow the report without end.
                if let Some(r) = self.runs.get_mut(phone)
                    && r.app_events.len() < 32
                {
                    r.app_events.push(event);
                }
            }
            Input::FellBack { phone, accepted } => {
                if let Some(r) = self.runs.get_mut(phone) {
                    r.fallback = accepted;
                    if !accepted {
                        r.receiving = Some(false);
                    }
                }
            }
            Input::Verified { phone, receiving } => {
                if let Some(r) = self.runs.get_mut(phone) {
                    r.receiving = Some(receiving);
                }
            }
        }
        self.finish_if_done(now_ms, &mut out);
        out
    }

    fn push_done(
        &mut self,
        now_ms: f64,
        i: usize,
        step: Step,
        outcome: &PushOutcome,
        out: &mut Vec<Output>,
    ) {
        let Some(r) = self.runs.get_mut(i) else {
            return;
        };
        let failure = Failure::from_outcome(outcome);
        match step {
            Step::Start => {
                match failure {
                    None => {
                        r.accepted = true;
                        r.accept_ms = Some(now_ms - self.t0_ms);
                        r.state = Some(if r.preempted {
                            PhoneState::Preempted
                        } else {
                            PhoneState::Accepted
                        });
                        if self.plans[i].banner.is_some() && self.ending.is_none() && !r.preempted {
                            r.banner_in_flight = true;
                            out.push(Output::Push {
                                phone: i,
                                step: Step::Banner,
                            });
                        }
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
                self.stop_if_ready(i, out);
            }
            Step::Banner => {
                r.banner_in_flight = false;
                r.banner =
                    Some(failure.map_or("ok".into(), |f| format!("{}: {}", f.kind, f.reason)));
                self.stop_if_ready(i, out);
            }
            Step::Stop => {
                match failure {
                    None => {
                        r.stopped = true;
                        r.state = Some(if r.by_user {
                            PhoneState::StoppedByUser
                        } else if r.accepted {
                            PhoneState::Stopped
                        } else {
                            PhoneState::Failed
                        });
                    }
                    Some(f) => {
                        r.stop_failure = Some(f);
                        r.state = Some(PhoneState::StopFailed);
                    }
                }
                if r.stopped {
                    out.push(Output::Journal(JournalOp::Stopped {
                        phones: vec![self.plans[i].name.clone()],
                    }));
                }
            }
        }
    }

    /// Push phone `i`'s stop if the page is ending and nothing is in flight for it.
    fn stop_if_ready(&mut self, i: usize, out: &mut Vec<Output>) {
        if self.ending.is_none() {
            return;
        }
        let r = &mut self.runs[i];
        if r.preempted || r.banner_in_flight {
            return;
        }
        let needs = match r.state {
            Some(PhoneState::Accepted) => true,
            Some(PhoneState::Failed) => r.uncertain && !r.stopped,
            _ => false,
        };
        if needs {
            r.state = Some(PhoneState::Stopping);
            out.push(Output::Push {
                phone: i,
                step: Step::Stop,
            });
        }
    }

    fn finish_if_done(&mut self, now_ms: f64, out: &mut Vec<Output>) {
        if self.finished || self.ending.is_none() {
            return;
        }
        let busy = self.runs.iter().any(|r| {
            r.banner_in_flight
                || matches!(r.state, Some(PhoneState::Starting | PhoneState::Stopping))
        });
        if !busy {
            self.finish(now_ms, out);
        }
    }

    fn finish(&mut self, now_ms: f64, out: &mut Vec<Output>) {
        if self.media_running {
            out.push(Output::StopMedia);
            self.media_running = false;
        }
        let unstopped: Vec<String> = (0..self.runs.len())
            .filter(|&i| self.runs[i].state == Some(PhoneState::StopFailed))
            .map(|i| self.plans[i].name.clone())
            .collect();
        out.push(Output::Journal(JournalOp::End { unstopped }));
        out.push(Output::Finished);
        self.end_ms = now_ms;
        self.finished = true;
    }

    /// The delivery report so far (final once finished).
    pub fn report(&self, page: &str, zone: &str, priority: &str, delivery: &str) -> DeliveryReport {
        let phones = self
            .plans
            .iter()
            .zip(&self.runs)
            .map(|(p, r)| PhoneReport {
                name: p.name.clone(),
                model: p.model.clone(),
                // A user who hung up shows at once, not only after the page's stop.
                state: match r.state {
                    Some(PhoneState::Accepted) if r.by_user => PhoneState::StoppedByUser,
                    s => s.unwrap_or(PhoneState::Starting),
                },
                planned: p.refused.is_none(),
                pushed: r.pushed,
                accepted: r.accepted,
                failure: r.failure.clone(),
                accept_ms: r.accept_ms,
                banner: r.banner.clone(),
                stopped: r.stopped,
                stop_failure: r.stop_failure.clone(),
                receiving: r.receiving,
                fallback_unicast: r.fallback,
                app_events: r.app_events.clone(),
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
            last_accept_ms: None,
            duration_ms: if self.finished {
                self.end_ms - self.t0_ms
            } else {
                0.0
            },
            totals: Default::default(),
            phones,
        };
        report.compute_totals();
        report
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
