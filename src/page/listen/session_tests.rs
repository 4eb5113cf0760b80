//! The listen's rules with virtual time and no sockets: every output is checked as it comes out
//! (journal before push, no stop overtaking its start, nothing after the end), and the stop
//! guarantee once the session finishes.

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::page::listen::ListenReport;

fn port(i: usize) -> RtpPort {
    RtpPort::new(20480 + 2 * i as u16).unwrap()
}

fn spec(i: usize, refused: bool) -> PhoneSpec {
    PhoneSpec {
        name: format!("p{i:03}"),
        model: "CP-8851".into(),
        refused: refused.then(|| "model CP-8851-3PCC cannot send or receive RTP pushes".into()),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ok() -> PushOutcome {
    PushOutcome::Ok { items: vec![] }
}

fn auth() -> PushOutcome {
    PushOutcome::AuthFailed
}

fn timeout() -> PushOutcome {
    PushOutcome::Timeout
}

fn unreachable(connected: bool) -> PushOutcome {
    PushOutcome::Unreachable {
        reason: if connected { "reset" } else { "refused" }.into(),
        connected,
    }
}

fn bad() -> PushOutcome {
    PushOutcome::BadResponse {
        reason: "not XML".into(),
    }
}

fn rejected() -> PushOutcome {
    PushOutcome::Rejected {
        status: 6,
        data: "busy".into(),
        url: "RTPTx:10.0.0.5:20480".into(),
    }
}

fn begin(phone: usize) -> ListenOutput {
    ListenOutput::JournalBegin { phone }
}

fn start(phone: usize) -> ListenOutput {
    ListenOutput::Push {
        phone,
        step: ListenPush::Start,
    }
}

fn stop(phone: usize) -> ListenOutput {
    ListenOutput::Push {
        phone,
        step: ListenPush::Stop,
    }
}

fn media(phone: usize) -> ListenOutput {
    ListenOutput::StopMedia { phone }
}

fn end(phone: usize, unstopped: &[&str]) -> ListenOutput {
    ListenOutput::Journal {
        phone,
        op: JournalOp::End {
            unstopped: unstopped.iter().map(|s| s.to_string()).collect(),
        },
    }
}

fn stopped(phone: usize, name: &str) -> ListenOutput {
    ListenOutput::Journal {
        phone,
        op: JournalOp::Stopped {
            phones: vec![name.into()],
        },
    }
}

/// A session driven as the shell drives it, every output checked against the rules as it is
/// polled, and what happened kept for the final checks.
struct Harness {
    s: ListenSession,
    /// Every output, in order.
    log: Vec<ListenOutput>,
    begun: HashSet<usize>,
    /// Begins the "journal" refused (reported to the session at once).
    fail_begin: Option<usize>,
    ended: HashMap<usize, Vec<String>>,
    in_flight: BTreeMap<usize, (ListenPush, Instant)>,
    /// Start answers, by phone.
    started: HashMap<usize, PushOutcome>,
    stops: HashMap<usize, usize>,
    stop_ok: HashSet<usize>,
    media_stopped: HashSet<usize>,
    running: usize,
    finished: bool,
    now: Instant,
}

impl Harness {
    fn new(n: usize, refused: &[usize], duration: Option<Duration>, t0: Instant) -> Harness {
        let specs = (0..n).map(|i| spec(i, refused.contains(&i))).collect();
        Harness {
            s: ListenSession::new(specs, duration),
            log: Vec::new(),
            begun: HashSet::new(),
            fail_begin: None,
            ended: HashMap::new(),
            in_flight: BTreeMap::new(),
            started: HashMap::new(),
            stops: HashMap::new(),
            stop_ok: HashSet::new(),
            media_stopped: HashSet::new(),
            running: 0,
            finished: false,
            now: t0,
        }
    }

    fn name(&self, i: usize) -> String {
        format!("p{i:03}")
    }

    /// Bind every phone that is not refused.
    fn bind(&mut self, n: usize, refused: &[usize]) -> Vec<ListenOutput> {
        self.s.handle_bound(
            (0..n)
                .filter(|i| !refused.contains(i))
                .map(|i| (i, port(i))),
        );
        self.drain()
    }

    /// Poll every output, checking each against the rules (and carrying out the journal's
    /// refusal of a begin, as the shell does).
    fn drain(&mut self) -> Vec<ListenOutput> {
        let mut out = Vec::new();
        while let Some(o) = self.s.poll_output() {
            assert!(!self.finished, "{o:?} after Finished");
            match &o {
                ListenOutput::JournalBegin { phone } => {
                    assert!(self.begun.insert(*phone), "phone {phone} begun twice");
                    assert!(!self.started.contains_key(phone));
                    if self.fail_begin == Some(*phone) {
                        self.begun.remove(phone);
                        self.s
                            .handle_journal_failed(*phone, "journal: disk full".into());
                    }
                }
                ListenOutput::Journal { phone, op } => {
                    assert!(
                        self.begun.contains(phone),
                        "{op:?} for phone {phone} never begun"
                    );
                    assert!(
                        !self.ended.contains_key(phone),
                        "{op:?} for phone {phone} after its End"
                    );
                    match op {
                        JournalOp::End { unstopped } => {
                            assert!(
                                !self.in_flight.contains_key(phone),
                                "phone {phone} ended with a push in flight"
                            );
                            self.ended.insert(*phone, unstopped.clone());
                        }
                        JournalOp::Stopped { phones } => {
                            assert!(self.stop_ok.contains(phone), "Stopped before its stop");
                            assert_eq!(phones, &vec![self.name(*phone)]);
                        }
                        op => panic!("a listen journals no {op:?}"),
                    }
                }
                ListenOutput::Push {
                    phone,
                    step: ListenPush::Start,
                } => {
                    assert!(
                        self.begun.contains(phone),
                        "phone {phone}'s start before its stop is in the journal"
                    );
                    assert!(!self.ended.contains_key(phone));
                    assert!(!self.started.contains_key(phone), "a second start");
                    let prev = self.in_flight.insert(*phone, (ListenPush::Start, self.now));
                    assert!(prev.is_none(), "phone {phone}: two pushes in flight");
                }
                ListenOutput::Push {
                    phone,
                    step: ListenPush::Stop,
                } => {
                    assert!(
                        !self.in_flight.contains_key(phone),
                        "phone {phone}'s stop overtakes a push in flight"
                    );
                    let outcome = self
                        .started
                        .get(phone)
                        .unwrap_or_else(|| panic!("phone {phone} stopped, never started"));
                    assert!(needs_stop(outcome), "phone {phone} refused, stopped anyway");
                    assert!(
                        self.media_stopped.contains(phone),
                        "phone {phone}'s stop before its receiver stops"
                    );
                    *self.stops.entry(*phone).or_default() += 1;
                    assert_eq!(self.stops[phone], 1, "phone {phone} stopped twice");
                    self.in_flight.insert(*phone, (ListenPush::Stop, self.now));
                }
                ListenOutput::StopMedia { phone } => {
                    assert!(
                        self.media_stopped.insert(*phone),
                        "media {phone} stopped twice"
                    );
                }
                ListenOutput::Running { .. } => {
                    self.running += 1;
                    assert_eq!(self.running, 1, "Running twice");
                    assert!(self.in_flight.is_empty(), "Running with starts in flight");
                }
                ListenOutput::Finished => {
                    assert!(self.in_flight.is_empty(), "finished with pushes in flight");
                    self.finished = true;
                }
            }
            self.log.push(o.clone());
            out.push(o);
        }
        assert_eq!(self.s.is_finished(), self.finished);
        out
    }

    /// Phone `i`'s push in flight answers `outcome` at `at`.
    fn answer(&mut self, i: usize, outcome: PushOutcome, at: Instant) -> Vec<ListenOutput> {
        let (step, sent) = self
            .in_flight
            .remove(&i)
            .unwrap_or_else(|| panic!("phone {i}: nothing in flight"));
        self.now = self.now.max(at);
        match step {
            ListenPush::Start => {
                self.started.insert(i, outcome.clone());
            }
            ListenPush::Stop if outcome.is_ok() => {
                self.stop_ok.insert(i);
            }
            ListenPush::Stop => {}
        }
        self.s.handle_push_done(
            at,
            PushDone {
                phone: i,
                step,
                sent,
                outcome,
            },
        );
        self.drain()
    }

    fn stop(&mut self, reason: StopReason) -> Vec<ListenOutput> {
        self.s.handle_stop(reason);
        self.drain()
    }

    fn timeout(&mut self, at: Instant) -> Vec<ListenOutput> {
        self.now = self.now.max(at);
        self.s.handle_timeout(at);
        self.drain()
    }

    /// The guarantee, once finished: every phone whose start may have taken effect got exactly
    /// one stop, the others none; every record begun ended, naming the phone iff its stop failed;
    /// every receiver stopped.
    fn assert_guarantee(&self, bound: &[usize]) {
        assert!(self.finished, "not finished");
        assert_eq!(self.log.last(), Some(&ListenOutput::Finished));
        for (&i, outcome) in &self.started {
            let want = usize::from(needs_stop(outcome));
            assert_eq!(
                self.stops.get(&i).copied().unwrap_or(0),
                want,
                "phone {i} after {outcome:?}"
            );
        }
        for i in self.stops.keys() {
            assert!(self.started.contains_key(i));
        }
        for &i in &self.begun {
            let unstopped = self
                .ended
                .get(&i)
                .unwrap_or_else(|| panic!("phone {i}'s record never ended"));
            let failed = self.stops.contains_key(&i) && !self.stop_ok.contains(&i);
            assert_eq!(unstopped.is_empty(), !failed, "phone {i}: {unstopped:?}");
        }
        for i in bound {
            assert!(self.media_stopped.contains(i), "receiver {i} left running");
        }
        let report = self.s.report();
        for (i, p) in report.iter().enumerate() {
            assert_eq!(p.accepted, self.started.get(&i).is_some_and(|o| o.is_ok()));
            let want = self
                .stops
                .contains_key(&i)
                .then(|| self.stop_ok.contains(&i));
            assert_eq!(p.stopped, want, "phone {i}");
        }
    }
}

#[test]
fn many_phones_with_mixed_outcomes_run_the_duration_then_stop_every_doubtful_one() {
    let t0 = Instant::now();
    // 6 is refused by its model; the rest answer their starts as follows.
    let answers = [
        (1, auth(), 10),
        (0, ok(), 20),
        (2, timeout(), 3000),
        (3, unreachable(false), 30),
        (4, unreachable(true), 40),
        (5, bad(), 50),
        (8, rejected(), 60),
        (7, ok(), 3100),
    ];
    let mut h = Harness::new(9, &[6], Some(Duration::from_secs(5)), t0);
    assert_eq!(h.s.state(), State::Binding);
    assert_eq!(h.s.poll_output(), None);
    assert_eq!(h.s.poll_timeout(), None);

    let out = h.bind(9, &[6]);
    let pushed = [0, 1, 2, 3, 4, 5, 7, 8];
    let want: Vec<ListenOutput> = pushed
        .iter()
        .map(|&i| begin(i))
        .chain(pushed.iter().map(|&i| start(i)))
        .collect();
    assert_eq!(out, want, "every stop journaled before any start");
    assert_eq!(h.s.state(), State::Starting);
    assert_eq!(h.s.phone_state(6), Some(ListenState::Refused));

    let mut outs = Vec::new();
    for (i, outcome, at) in answers.clone() {
        outs.push(h.answer(i, outcome, t0 + ms(at)));
    }
    // Refused outright: the receiver stops and the record ends at once, nothing to stop.
    assert_eq!(outs[0], vec![media(1), end(1, &[])]);
    assert_eq!(outs[1], vec![]);
    assert_eq!(
        outs[2],
        vec![],
        "a timeout waits for the end, then gets its stop"
    );
    assert_eq!(outs[3], vec![media(3), end(3, &[])]);
    assert_eq!(outs[4], vec![]);
    assert_eq!(outs[5], vec![]);
    assert_eq!(outs[6], vec![media(8), end(8, &[])]);
    // The duration runs from the last answer.
    let until = t0 + ms(3100) + Duration::from_secs(5);
    assert_eq!(
        outs[7],
        vec![ListenOutput::Running {
            accepted: 2,
            until: Some(until)
        }]
    );
    assert_eq!(h.s.state(), State::Running);
    assert_eq!(h.s.poll_timeout(), Some(until));
    assert_eq!(
        h.s.phone_state(2),
        Some(ListenState::Failed { doubtful: true })
    );
    assert_eq!(
        h.s.phone_state(1),
        Some(ListenState::Failed { doubtful: false })
    );

    // Early: nothing.
    assert_eq!(h.timeout(until - ms(1)), vec![]);
    assert_eq!(h.s.state(), State::Running);
    // Due: every receiver still running stops, then every phone that may run gets its stop.
    let out = h.timeout(until);
    let doubtful_or_ok = [0, 2, 4, 5, 7];
    let want: Vec<ListenOutput> = doubtful_or_ok
        .iter()
        .map(|&i| media(i))
        .chain(doubtful_or_ok.iter().map(|&i| stop(i)))
        .collect();
    assert_eq!(out, want);
    assert_eq!(h.s.state(), State::Ending);
    assert_eq!(h.s.ended_by(), Some(&Ended::Duration));
    assert_eq!(h.s.poll_timeout(), None);

    for (k, &i) in doubtful_or_ok.iter().enumerate() {
        let out = h.answer(i, ok(), until + ms(10 * k as u64 + 10));
        let mut want = vec![stopped(i, &h.name(i)), end(i, &[])];
        if i == 7 {
            want.push(ListenOutput::Finished);
        }
        assert_eq!(out, want, "phone {i}");
    }
    h.assert_guarantee(&pushed);
    assert_eq!(h.s.state(), State::Finished);

    let report = h.s.report();
    assert_eq!(report[0].accept_ms, Some(20.0));
    assert_eq!(report[2].failure.as_deref(), Some("no answer in time"));
    assert_eq!(
        report[2].stopped,
        Some(true),
        "the doubtful phone was stopped"
    );
    assert_eq!(report[1].failure.as_deref(), Some("authentication failed"));
    assert_eq!(report[1].stopped, None);
    assert_eq!(report[6].port, None);
    assert!(report[6].refused.is_some());
    assert_eq!(report[7].port, Some(port(7).get()));
    let report = ListenReport::new(report);
    assert_eq!(report.totals.accepted, 2);
    assert_eq!(report.totals.refused, 1);
    assert_eq!(report.totals.failed, 6);
    assert_eq!(report.totals.unstopped, 0);
    assert_eq!(report.exit_code(), 3);
}

#[test]
fn the_journal_record_comes_before_each_push_and_the_stop_before_the_end() {
    let t0 = Instant::now();
    let mut h = Harness::new(3, &[], Some(Duration::from_secs(1)), t0);
    h.bind(3, &[]);
    for i in 0..3 {
        h.answer(i, ok(), t0 + ms(5));
    }
    h.timeout(t0 + ms(1005));
    for i in 0..3 {
        h.answer(i, ok(), t0 + ms(1010));
    }
    h.assert_guarantee(&[0, 1, 2]);
    // Per phone, the exact order of its journal ops and pushes.
    for i in 0..3 {
        let mine: Vec<&ListenOutput> = h
            .log
            .iter()
            .filter(|o| match o {
                ListenOutput::JournalBegin { phone }
                | ListenOutput::Journal { phone, .. }
                | ListenOutput::Push { phone, .. }
                | ListenOutput::StopMedia { phone } => *phone == i,
                _ => false,
            })
            .collect();
        let name = h.name(i);
        assert_eq!(
            mine,
            vec![
                &begin(i),
                &start(i),
                &media(i),
                &stop(i),
                &stopped(i, &name),
                &end(i, &[])
            ]
        );
    }
}

#[test]
fn a_stop_racing_the_starts_stops_each_phone_as_soon_as_its_start_answers() {
    let t0 = Instant::now();
    let mut h = Harness::new(4, &[], Some(Duration::from_secs(60)), t0);
    h.bind(4, &[]);
    // Ctrl-C with every start in flight: receivers stop, no stop overtakes a start.
    let out = h.stop(StopReason::CtrlC);
    assert_eq!(out, vec![media(0), media(1), media(2), media(3)]);
    assert_eq!(h.s.state(), State::Ending);
    assert_eq!(h.s.ended_by(), Some(&Ended::Stopped(StopReason::CtrlC)));
    assert_eq!(h.s.poll_timeout(), None, "no duration after a stop");
    assert_eq!(h.answer(2, ok(), t0 + ms(10)), vec![stop(2)]);
    assert_eq!(h.answer(0, auth(), t0 + ms(20)), vec![end(0, &[])]);
    assert_eq!(h.answer(3, timeout(), t0 + ms(30)), vec![stop(3)]);
    assert_eq!(
        h.answer(2, ok(), t0 + ms(40)),
        vec![stopped(2, "p002"), end(2, &[])]
    );
    assert_eq!(h.answer(1, ok(), t0 + ms(50)), vec![stop(1)]);
    assert_eq!(
        h.answer(3, ok(), t0 + ms(60)),
        vec![stopped(3, "p003"), end(3, &[])]
    );
    assert_eq!(
        h.answer(1, ok(), t0 + ms(70)),
        vec![stopped(1, "p001"), end(1, &[]), ListenOutput::Finished]
    );
    assert_eq!(h.running, 0, "it never ran");
    h.assert_guarantee(&[0, 1, 2, 3]);
}

#[test]
fn a_stop_while_running_stops_the_phones_and_a_second_one_changes_nothing() {
    let t0 = Instant::now();
    let mut h = Harness::new(2, &[], None, t0);
    h.bind(2, &[]);
    h.answer(0, ok(), t0 + ms(5));
    let out = h.answer(1, ok(), t0 + ms(6));
    assert_eq!(
        out,
        vec![ListenOutput::Running {
            accepted: 2,
            until: None
        }]
    );
    assert_eq!(h.s.poll_timeout(), None, "without a duration, no timer");
    assert_eq!(h.timeout(t0 + Duration::from_secs(3600)), vec![]);
    let out = h.stop(StopReason::Sigterm);
    assert_eq!(out, vec![media(0), media(1), stop(0), stop(1)]);
    for reason in [StopReason::Sigterm, StopReason::CtrlC, StopReason::User] {
        assert_eq!(h.stop(reason), vec![], "a second stop changes nothing");
    }
    h.s.handle_source_ended();
    h.s.handle_media_failed("x".into());
    assert_eq!(h.drain(), vec![]);
    assert_eq!(h.s.ended_by(), Some(&Ended::Stopped(StopReason::Sigterm)));
    h.answer(0, ok(), t0 + ms(900));
    h.answer(1, ok(), t0 + ms(901));
    h.assert_guarantee(&[0, 1]);
}

#[test]
fn a_failing_stop_ends_the_record_with_the_phone_unstopped() {
    let t0 = Instant::now();
    let mut h = Harness::new(2, &[], Some(ms(500)), t0);
    h.bind(2, &[]);
    h.answer(0, ok(), t0 + ms(5));
    h.answer(1, ok(), t0 + ms(5));
    h.timeout(t0 + ms(505));
    assert_eq!(
        h.answer(0, timeout(), t0 + ms(3505)),
        vec![end(0, &["p000"])]
    );
    assert_eq!(
        h.answer(1, ok(), t0 + ms(3506)),
        vec![stopped(1, "p001"), end(1, &[]), ListenOutput::Finished]
    );
    assert_eq!(h.s.phone_state(0), Some(ListenState::StopFailed));
    h.assert_guarantee(&[0, 1]);
    let report = h.s.report();
    assert_eq!(report[0].stopped, Some(false));
    assert_eq!(report[0].stop_failure.as_deref(), Some("no answer in time"));
    let report = ListenReport::new(report);
    assert_eq!(report.totals.unstopped, 1);
    assert_eq!(report.exit_code(), 3);
    assert!(report.prose().contains("zonecast recover"));
}

#[test]
fn when_no_start_is_accepted_it_ends_at_once_stopping_the_doubtful_ones() {
    let t0 = Instant::now();
    let mut h = Harness::new(3, &[], Some(Duration::from_secs(10)), t0);
    h.bind(3, &[]);
    h.answer(0, auth(), t0 + ms(5));
    h.answer(1, unreachable(true), t0 + ms(6));
    let out = h.answer(2, unreachable(false), t0 + ms(7));
    assert_eq!(out, vec![media(2), end(2, &[]), media(1), stop(1)]);
    assert_eq!(h.s.ended_by(), Some(&Ended::NoneAccepted));
    assert_eq!(h.s.poll_timeout(), None);
    h.answer(1, ok(), t0 + ms(20));
    h.assert_guarantee(&[0, 1, 2]);
    assert_eq!(h.running, 0);
    assert_eq!(ListenReport::new(h.s.report()).exit_code(), 1);
}

#[test]
fn a_journal_that_cannot_be_written_means_no_push_at_all() {
    let t0 = Instant::now();
    let mut h = Harness::new(3, &[], Some(Duration::from_secs(10)), t0);
    h.fail_begin = Some(1);
    let out = h.bind(3, &[]);
    // Phone 0's record was written before phone 1's failed: it ends, with nothing to stop.
    assert_eq!(
        out,
        vec![
            begin(0),
            begin(1),
            end(0, &[]),
            media(0),
            media(1),
            media(2),
            ListenOutput::Finished
        ]
    );
    assert!(h.started.is_empty() && h.in_flight.is_empty());
    assert!(matches!(
        h.s.ended_by(),
        Some(Ended::JournalFailed { phone: 1, error }) if error.contains("disk full")
    ));
    assert_eq!(h.s.phone_state(2), Some(ListenState::NotStarted));
    h.assert_guarantee(&[0, 1, 2]);
}

#[test]
fn a_stop_before_the_receivers_are_bound_sends_nothing() {
    let mut s = ListenSession::new(vec![spec(0, false), spec(1, true)], None);
    s.handle_stop(StopReason::CtrlC);
    assert_eq!(s.poll_output(), None, "nothing to stop yet");
    s.handle_bound([(0, port(0))]);
    let out: Vec<ListenOutput> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(out, vec![media(0), ListenOutput::Finished]);
    assert_eq!(s.phone_state(0), Some(ListenState::NotStarted));
    assert_eq!(s.phone_state(1), Some(ListenState::Refused));
}

#[test]
fn a_phone_given_no_port_is_refused_and_all_refused_finishes() {
    let mut s = ListenSession::new(vec![spec(0, false)], Some(ms(10)));
    s.handle_bound([]);
    let out: Vec<ListenOutput> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(out, vec![ListenOutput::Finished]);
    assert_eq!(s.phone_state(0), Some(ListenState::Refused));
    assert_eq!(s.ended_by(), Some(&Ended::NoneAccepted));
    assert!(s.report()[0].refused.is_some());
}

#[test]
fn the_source_ending_ends_an_intercom_only_without_a_duration() {
    let t0 = Instant::now();
    for duration in [None, Some(Duration::from_secs(2))] {
        let mut h = Harness::new(1, &[], duration, t0);
        h.bind(1, &[]);
        h.answer(0, ok(), t0 + ms(30));
        h.s.handle_source_ended();
        let out = h.drain();
        match duration {
            None => {
                assert_eq!(out, vec![media(0), stop(0)]);
                assert_eq!(h.s.ended_by(), Some(&Ended::SourceEnded));
            }
            Some(d) => {
                assert_eq!(out, vec![], "the duration runs on");
                assert_eq!(h.s.poll_timeout(), Some(t0 + ms(30) + d));
                h.timeout(t0 + ms(30) + d);
                assert_eq!(h.s.ended_by(), Some(&Ended::Duration));
            }
        }
        h.answer(0, ok(), t0 + ms(5000));
        h.assert_guarantee(&[0]);
    }
}

#[test]
fn our_media_failing_stops_the_phone() {
    let t0 = Instant::now();
    let mut h = Harness::new(1, &[], None, t0);
    h.bind(1, &[]);
    h.answer(0, ok(), t0 + ms(30));
    h.s.handle_media_failed("opening the sending socket: denied".into());
    assert_eq!(h.drain(), vec![media(0), stop(0)]);
    h.answer(0, ok(), t0 + ms(40));
    h.assert_guarantee(&[0]);
    assert!(matches!(h.s.ended_by(), Some(Ended::MediaFailed(e)) if e.contains("denied")));
}

#[test]
fn answers_to_pushes_never_made_are_ignored() {
    let t0 = Instant::now();
    let mut h = Harness::new(2, &[1], Some(ms(100)), t0);
    h.bind(2, &[1]);
    for (phone, step) in [
        (0, ListenPush::Stop),
        (1, ListenPush::Start),
        (7, ListenPush::Start),
    ] {
        h.s.handle_push_done(
            t0,
            PushDone {
                phone,
                step,
                sent: t0,
                outcome: ok(),
            },
        );
        assert_eq!(h.drain(), vec![], "{phone} {step:?}");
    }
    assert_eq!(h.s.phone_state(0), Some(ListenState::Starting));
    h.answer(0, ok(), t0 + ms(1));
    // A second answer to the same start changes nothing.
    h.s.handle_push_done(
        t0 + ms(2),
        PushDone {
            phone: 0,
            step: ListenPush::Start,
            sent: t0,
            outcome: auth(),
        },
    );
    assert_eq!(h.drain(), vec![]);
    assert_eq!(h.s.phone_state(0), Some(ListenState::Accepted));
    h.timeout(t0 + ms(101));
    h.answer(0, ok(), t0 + ms(102));
    h.assert_guarantee(&[0]);
}

#[test]
fn the_accept_time_runs_from_the_push_to_its_answer() {
    let t0 = Instant::now();
    let mut s = ListenSession::new(vec![spec(0, false)], None);
    s.handle_bound([(0, port(0))]);
    while s.poll_output().is_some() {}
    s.handle_push_done(
        t0 + ms(250),
        PushDone {
            phone: 0,
            step: ListenPush::Start,
            sent: t0 + ms(200),
            outcome: ok(),
        },
    );
    assert_eq!(s.report()[0].accept_ms, Some(50.0));
}

/// What the property test does next.
#[derive(Debug, Clone)]
enum Action {
    /// Answer the k-th push in flight (k modulo their number).
    Answer(usize),
    Stop(StopReason),
    /// Advance to the next deadline and fire it.
    Timeout,
    SourceEnded,
}

fn outcome_of(kind: u8) -> PushOutcome {
    match kind % 7 {
        0 => ok(),
        1 => auth(),
        2 => timeout(),
        3 => unreachable(false),
        4 => unreachable(true),
        5 => bad(),
        _ => rejected(),
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => any::<usize>().prop_map(Action::Answer),
        1 => prop_oneof![
            Just(StopReason::CtrlC),
            Just(StopReason::Sigterm),
            Just(StopReason::User)
        ]
        .prop_map(Action::Stop),
        1 => Just(Action::Timeout),
        1 => Just(Action::SourceEnded),
    ]
}

proptest! {
    /// Any phones, any answers in any order, stops, timeouts and journal failures at any
    /// moment: every output obeys the rules as it comes out, and once finished every phone that
    /// may be running got exactly one stop and every record ended.
    #[test]
    fn the_stop_guarantee_holds_whatever_happens(
        phones in proptest::collection::vec((any::<bool>(), any::<u8>(), any::<bool>()), 1..16),
        duration_ms in proptest::option::of(1u64..10_000),
        fail_begin in proptest::option::weighted(0.1, 0usize..16),
        actions in proptest::collection::vec(action(), 0..60),
    ) {
        let t0 = Instant::now();
        let n = phones.len();
        // One phone in five refused by its model.
        let refused: Vec<usize> = (0..n).filter(|&i| phones[i].0 && i % 5 == 0).collect();
        let bound: Vec<usize> = (0..n).filter(|i| !refused.contains(i)).collect();
        let mut h = Harness::new(n, &refused, duration_ms.map(Duration::from_millis), t0);
        h.fail_begin = fail_begin;
        h.bind(n, &refused);
        let mut now = t0;
        let answer = |h: &mut Harness, k: usize, now: &mut Instant| {
            let (&i, &(step, _)) = h.in_flight.iter().nth(k % h.in_flight.len()).unwrap();
            *now += ms(7);
            let o = match step {
                ListenPush::Start => outcome_of(phones[i].1),
                ListenPush::Stop if phones[i].2 => ok(),
                ListenPush::Stop => timeout(),
            };
            h.answer(i, o, *now);
        };
        for a in actions {
            if h.finished {
                break;
            }
            match a {
                Action::Answer(k) if !h.in_flight.is_empty() => answer(&mut h, k, &mut now),
                Action::Answer(_) => {}
                Action::Stop(reason) => {
                    let was = h.s.ended_by().cloned();
                    let out = h.stop(reason);
                    if was.is_some() {
                        prop_assert!(out.is_empty(), "a second stop did {:?}", out);
                        prop_assert_eq!(h.s.ended_by().cloned(), was);
                    }
                }
                Action::Timeout => {
                    if let Some(at) = h.s.poll_timeout() {
                        prop_assert!(at >= now);
                        now = at;
                        h.timeout(now);
                    }
                }
                Action::SourceEnded => {
                    h.s.handle_source_ended();
                    h.drain();
                }
            }
        }
        // Then the answers come in and the end comes: it must finish.
        for _ in 0..(4 * n + 4) {
            if h.finished {
                break;
            }
            if !h.in_flight.is_empty() {
                answer(&mut h, 0, &mut now);
            } else if let Some(at) = h.s.poll_timeout() {
                now = at;
                h.timeout(now);
            } else {
                h.stop(StopReason::User);
            }
        }
        h.assert_guarantee(&bound);
    }
}
