//! The page's rules with virtual time and no sockets: every push that comes out is checked.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use super::*;
use crate::page::plan::{Delivery, PageSpec, PhonePlan, ZoneMember, plan};
use crate::push::{Phone, Secret};
use crate::rtp::RtpPort;

fn plans(n: usize, models: impl Fn(usize) -> &'static str, banner: bool) -> Vec<PhonePlan> {
    let targets = (0..n)
        .map(|i| ZoneMember {
            name: format!("p{i:04}"),
            model: models(i).into(),
            ip: Some(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250) as u8 + 1)),
            g722: false,
            push: Ok(Phone {
                name: format!("p{i:04}"),
                host: "127.0.0.1".into(),
                user: "u".into(),
                password: Secret::new("p"),
                https: false,
            }),
        })
        .collect();
    plan(
        &PageSpec {
            via: Default::default(),
            delivery: Delivery::Multicast {
                group: Ipv4Addr::new(239, 255, 1, 1),
                port: RtpPort::new(20480).unwrap(),
            },
            volume: Some(70),
            banner: banner.then(|| "Page".to_string()),
            wide: None,
        },
        targets,
    )
}

/// The virtual clock's origin: every instant of these tests is `t0() + ms`.
fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn at(ms: f64) -> Instant {
    t0() + Duration::from_secs_f64(ms / 1000.0)
}

fn session(plans: Vec<PhonePlan>) -> Session {
    Session::new(plans, Timing::default())
}

/// Everything the session has to do now.
fn outputs(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn start(s: &mut Session, ms: f64) -> Vec<Output> {
    s.start(at(ms));
    outputs(s)
}

/// The inputs the older tests speak in, each fed through its `handle_*` method.
#[derive(Debug, Clone)]
enum Input {
    PushDone {
        phone: usize,
        step: PushStep,
        outcome: PushOutcome,
    },
    End {
        reason: String,
    },
    Preempted {
        phones: Vec<usize>,
    },
    StoppedByUser {
        phone: usize,
    },
}

fn handle(s: &mut Session, ms: f64, input: Input) -> Vec<Output> {
    let now = at(ms);
    match input {
        Input::PushDone {
            phone,
            step,
            outcome,
        } => s.handle_push_done(now, phone, step, &outcome),
        Input::End { reason } => s.handle_stop(now, &reason),
        Input::Preempted { phones } => s.handle_preempted(now, &phones),
        Input::StoppedByUser { phone } => {
            s.handle_media_stream(phone, format!("stream-{phone}"));
            s.handle_callback(
                now,
                None,
                crate::xsi::response::Callback::StreamStopped {
                    id: Some(format!("stream-{phone}")),
                },
            );
        }
    }
    outputs(s)
}

fn ok() -> PushOutcome {
    PushOutcome::Ok { items: Vec::new() }
}

fn pushes(out: &[Output], step: PushStep) -> Vec<usize> {
    out.iter()
        .filter_map(|o| match o {
            Output::Push { phone, step: s } if *s == step => Some(*phone),
            _ => None,
        })
        .collect()
}

/// Answer every push in `pending` with `answer(phone, step)`, feeding new pushes back in, until
/// nothing is pending; returns every output.
fn drain(
    s: &mut Session,
    mut pending: Vec<(usize, PushStep)>,
    now: &mut f64,
    answer: &dyn Fn(usize, PushStep) -> PushOutcome,
) -> Vec<Output> {
    let mut all = Vec::new();
    while let Some((phone, step)) = pending.pop() {
        *now += 1.0;
        let out = handle(
            s,
            *now,
            Input::PushDone {
                phone,
                step,
                outcome: answer(phone, step),
            },
        );
        for o in &out {
            if let Output::Push { phone, step } = o {
                pending.push((*phone, *step));
            }
        }
        all.extend(out);
    }
    all
}

fn pending_of(out: &[Output]) -> Vec<(usize, PushStep)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Push { phone, step } => Some((*phone, *step)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_1000_phone_page_through_every_failure_stops_exactly_the_phones_that_may_play() {
    // Phone i's start answer, by i % 8: ok, ok, auth, timeout, rejected, unreachable, bad
    // response, ok. Every 10th phone is Multiplatform (refused at planning). Stops fail on
    // every 50th phone.
    let mut s = session(plans(
        1000,
        |i| {
            if i % 10 == 9 {
                "CP-8851-3PCC"
            } else {
                "CP-8851"
            }
        },
        true,
    ));
    let start_answer = |i: usize| match i % 8 {
        0 | 1 | 7 => ok(),
        2 => PushOutcome::AuthFailed,
        3 => PushOutcome::Timeout,
        4 => PushOutcome::Rejected {
            status: 6,
            data: "Tx/Rx is already active".into(),
            url: String::new(),
        },
        5 => PushOutcome::Unreachable {
            reason: "connection reset".into(),
            connected: true,
        },
        _ => PushOutcome::BadResponse {
            reason: "garbage".into(),
        },
    };
    let answer = move |i: usize, step: PushStep| match step {
        PushStep::Start | PushStep::StartNarrow => start_answer(i),
        PushStep::Banner => ok(),
        PushStep::Stop if i.is_multiple_of(50) => PushOutcome::Timeout,
        PushStep::Stop => ok(),
    };
    let mut now = 0.0;
    let out = start(&mut s, now);
    assert!(
        matches!(out[0], Output::Journal(JournalOp::Begin { ref phones }) if phones.len() == 900)
    );
    assert_eq!(out[1], Output::StartMedia, "media before any push");
    let starts = pushes(&out, PushStep::Start);
    assert_eq!(starts.len(), 900);
    assert!(starts.iter().all(|i| i % 10 != 9));
    let mut all = drain(&mut s, pending_of(&out), &mut now, &answer);
    assert!(!s.is_finished(), "runs until told to end");
    let banners: HashSet<usize> = pushes(&all, PushStep::Banner).into_iter().collect();
    all.extend(handle(
        &mut s,
        now,
        Input::End {
            reason: "source ended".into(),
        },
    ));
    let stop_now = pending_of(&all[all.len() - pushes(&all, PushStep::Stop).len()..]);
    let tail = drain(&mut s, stop_now, &mut now, &answer);
    all.extend(tail);
    assert!(s.is_finished());

    let stops: Vec<usize> = pushes(&all, PushStep::Stop);
    let stop_set: HashSet<usize> = stops.iter().copied().collect();
    assert_eq!(stops.len(), stop_set.len(), "one stop per phone");
    for i in 0..1000 {
        let may_play = i % 10 != 9 && matches!(i % 8, 0 | 1 | 3 | 5 | 6 | 7);
        assert_eq!(stop_set.contains(&i), may_play, "phone {i}");
        let accepted = i % 10 != 9 && matches!(i % 8, 0 | 1 | 7);
        assert_eq!(
            banners.contains(&i),
            accepted,
            "banner only after an accepted start: {i}"
        );
    }
    // Media stops after the last push, then the journal's end, then Finished.
    let n = all.len();
    assert_eq!(all[n - 1], Output::Finished);
    let Output::Journal(JournalOp::End { unstopped }) = &all[n - 2] else {
        panic!("{:?}", &all[n - 2]);
    };
    assert_eq!(all[n - 3], Output::StopMedia);
    let want: Vec<String> = (0..1000)
        .filter(|i| i % 50 == 0 && stop_set.contains(i))
        .map(|i| format!("p{i:04}"))
        .collect();
    assert_eq!(unstopped, &want);

    let report = s.report("pg", "all", "normal", "multicast");
    assert_eq!(report.totals.phones, 1000);
    assert_eq!(report.totals.refused, 100);
    let accepted = (0..1000)
        .filter(|i| i % 10 != 9 && matches!(i % 8, 0 | 1 | 7))
        .count();
    assert_eq!(report.totals.accepted, accepted);
    assert_eq!(report.totals.stop_failed, want.len());
    assert_eq!(report.exit_code(), 3);
    let kinds: BTreeMap<String, usize> = report
        .phones
        .iter()
        .filter_map(|p| p.failure.as_ref())
        .fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f.kind.as_str().to_owned()).or_default() += 1;
            m
        });
    for k in [
        "model",
        "auth_failed",
        "timeout",
        "rejected",
        "unreachable",
        "bad_response",
    ] {
        assert!(kinds.contains_key(k), "{k} missing from {kinds:?}");
    }
    assert!(report.prose().contains("NOT REACHED (auth_failed)"));
}

#[test]
fn ending_while_starts_are_in_flight_stops_each_phone_after_its_start() {
    let mut s = session(plans(3, |_| "CP-8851", true));
    let mut now = 0.0;
    start(&mut s, now);
    let out = handle(
        &mut s,
        now,
        Input::End {
            reason: "Ctrl-C".into(),
        },
    );
    assert!(
        pushes(&out, PushStep::Stop).is_empty(),
        "no stop may overtake a start"
    );
    assert!(!s.is_finished());
    now += 5.0;
    let out = handle(
        &mut s,
        now,
        Input::PushDone {
            phone: 1,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, PushStep::Stop), vec![1]);
    assert!(
        pushes(&out, PushStep::Banner).is_empty(),
        "no banner once ending"
    );
    handle(
        &mut s,
        now,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: PushOutcome::AuthFailed,
        },
    );
    let out = handle(
        &mut s,
        now,
        Input::PushDone {
            phone: 2,
            step: PushStep::Start,
            outcome: PushOutcome::Timeout,
        },
    );
    assert_eq!(
        pushes(&out, PushStep::Stop),
        vec![2],
        "a timed-out start may have played"
    );
    handle(
        &mut s,
        now,
        Input::PushDone {
            phone: 1,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    let out = handle(
        &mut s,
        now,
        Input::PushDone {
            phone: 2,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    assert_eq!(out.last(), Some(&Output::Finished));
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.exit_code(), 3);
}

#[test]
fn a_stop_waits_for_the_banner_so_the_banner_cannot_outlive_the_page() {
    let mut s = session(plans(1, |_| "CP-8851", true));
    start(&mut s, 0.0);
    let out = handle(
        &mut s,
        1.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, PushStep::Banner), vec![0]);
    let out = handle(
        &mut s,
        2.0,
        Input::End {
            reason: "done".into(),
        },
    );
    assert!(pushes(&out, PushStep::Stop).is_empty());
    let out = handle(
        &mut s,
        3.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Banner,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, PushStep::Stop), vec![0]);
    let out = handle(
        &mut s,
        4.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    assert!(out.contains(&Output::Finished));
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.phones[0].accept, Some(Duration::from_millis(1)));
    assert_eq!(r.phones[0].banner.as_deref(), Some("ok"));
}

#[test]
fn a_banner_no_phone_can_show_is_dropped_and_the_audio_still_goes_out() {
    // The edges refuse such a banner; here it reaches the planner anyway (a model's limit the
    // edge did not know), and must cost the phones only the banner.
    let members = ["CP-8851", "DP-9841"]
        .iter()
        .enumerate()
        .map(|(i, model)| ZoneMember {
            name: format!("p{i}"),
            model: (*model).into(),
            ip: Some(Ipv4Addr::new(127, 0, 0, 2 + i as u8)),
            g722: false,
            push: Ok(Phone {
                name: format!("p{i}"),
                host: "127.0.0.1".into(),
                user: "u".into(),
                password: Secret::new("p"),
                https: false,
            }),
        })
        .collect();
    let plans = plan(
        &PageSpec {
            via: Default::default(),
            delivery: Delivery::Multicast {
                group: Ipv4Addr::new(239, 255, 1, 1),
                port: RtpPort::new(20480).unwrap(),
            },
            volume: None,
            banner: Some("a\u{0}b\u{7}c".into()),
            wide: None,
        },
        members,
    );
    assert!(
        plans
            .iter()
            .all(|p| p.refused.is_none() && p.banner.is_none())
    );
    assert!(
        !plans[0].stop_xml.contains("Init:AppStatus"),
        "no banner to clear"
    );
    let mut s = session(plans);
    let out = start(&mut s, 0.0);
    assert_eq!(pushes(&out, PushStep::Start), vec![0, 1]);
    for phone in 0..2 {
        let out = handle(
            &mut s,
            1.0,
            Input::PushDone {
                phone,
                step: PushStep::Start,
                outcome: ok(),
            },
        );
        assert!(pushes(&out, PushStep::Banner).is_empty());
    }
    let out = handle(
        &mut s,
        2.0,
        Input::End {
            reason: "done".into(),
        },
    );
    assert_eq!(pushes(&out, PushStep::Stop), vec![0, 1]);
    for phone in 0..2 {
        handle(
            &mut s,
            3.0,
            Input::PushDone {
                phone,
                step: PushStep::Stop,
                outcome: ok(),
            },
        );
    }
    let r = s.report("p", "z", "normal", "m");
    for p in &r.phones {
        assert!(p.accepted, "{}: the audio went out", p.name);
        let banner = p.banner.as_deref().unwrap_or_default();
        assert!(
            banner.starts_with("banner refused: ") && banner.contains("control character"),
            "{}: {banner}",
            p.name
        );
    }
    assert!(
        r.phones[0]
            .banner
            .as_deref()
            .unwrap()
            .contains("CiscoIPPhoneStatus")
    );
    assert!(
        r.phones[1]
            .banner
            .as_deref()
            .unwrap()
            .contains("CiscoIPPhoneText")
    );
}

#[test]
fn preempted_phones_are_left_to_the_higher_page() {
    let mut s = session(plans(3, |_| "CP-8851", false));
    start(&mut s, 0.0);
    for i in 0..3 {
        handle(
            &mut s,
            1.0,
            Input::PushDone {
                phone: i,
                step: PushStep::Start,
                outcome: ok(),
            },
        );
    }
    let out = handle(&mut s, 2.0, Input::Preempted { phones: vec![1] });
    assert_eq!(
        out,
        vec![Output::Journal(JournalOp::Released {
            phones: vec!["p0001".into()]
        })]
    );
    let out = handle(
        &mut s,
        3.0,
        Input::End {
            reason: "done".into(),
        },
    );
    let mut stops = pushes(&out, PushStep::Stop);
    stops.sort();
    assert_eq!(stops, vec![0, 2]);
    handle(
        &mut s,
        4.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    let out = handle(
        &mut s,
        4.0,
        Input::PushDone {
            phone: 2,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    assert!(out.contains(&Output::Finished));
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.totals.preempted, 1);
    assert_eq!(r.phones[1].state, PhoneState::Preempted);
}

#[test]
fn a_user_hang_up_is_reported_and_still_cleared() {
    let mut s = session(plans(2, |_| "CP-8851", false));
    start(&mut s, 0.0);
    for i in 0..2 {
        handle(
            &mut s,
            1.0,
            Input::PushDone {
                phone: i,
                step: PushStep::Start,
                outcome: ok(),
            },
        );
    }
    handle(&mut s, 2.0, Input::StoppedByUser { phone: 0 });
    assert_eq!(s.active_phones(), vec![1]);
    let out = handle(
        &mut s,
        3.0,
        Input::End {
            reason: "done".into(),
        },
    );
    assert_eq!(pushes(&out, PushStep::Stop).len(), 2);
    handle(
        &mut s,
        4.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    handle(
        &mut s,
        4.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.phones[0].state, PhoneState::StoppedByUser);
    assert!(r.prose().contains("stopped by user"));
}

#[test]
fn nothing_pushable_finishes_at_once_with_exit_1() {
    let mut s = session(plans(2, |_| "CP-8851-3PCC", false));
    let out = start(&mut s, 0.0);
    assert!(!out.contains(&Output::StartMedia));
    assert_eq!(out.last(), Some(&Output::Finished));
    assert_eq!(s.report("p", "z", "n", "m").exit_code(), 1);
}

/// Drive the session's timers: `handle_timeout` at every instant `poll_timeout` names until
/// `until`, returning every output (questions are not answered here).
fn run_timers(s: &mut Session, until: Instant) -> Vec<Output> {
    let mut all = Vec::new();
    while let Some(t) = s.poll_timeout().filter(|&t| t <= until) {
        s.handle_timeout(t);
        all.extend(outputs(s));
    }
    all
}

fn timed(n: usize, timing: Timing) -> Session {
    Session::new(plans(n, |_| "CP-8851", false), timing)
}

#[test]
fn the_gate_opens_when_every_start_answered_or_a_second_after_the_first_accept() {
    let mut s = timed(3, Timing::default());
    let out = start(&mut s, 0.0);
    assert!(!out.contains(&Output::OpenGate), "closed while starts fly");
    let out = handle(
        &mut s,
        10.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    assert!(!out.contains(&Output::OpenGate));
    assert_eq!(
        s.poll_timeout(),
        Some(at(250.0)),
        "the preemption check comes first"
    );
    // Nothing opens it before first accept + 1 s ...
    let early = run_timers(&mut s, at(1009.0));
    assert!(!early.contains(&Output::OpenGate), "{early:?}");
    // ... and then it opens although two phones are still starting.
    let out = run_timers(&mut s, at(1010.0));
    assert_eq!(out.iter().filter(|o| **o == Output::OpenGate).count(), 1);

    // All answered before the gate's time: open at once, once.
    let mut s = timed(2, Timing::default());
    start(&mut s, 0.0);
    handle(
        &mut s,
        5.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    let out = handle(
        &mut s,
        6.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Start,
            outcome: PushOutcome::AuthFailed,
        },
    );
    assert_eq!(out, vec![Output::OpenGate]);
    let later = run_timers(&mut s, at(5000.0));
    assert!(!later.contains(&Output::OpenGate));
}

#[test]
fn the_duration_ends_the_page_and_every_accepted_phone_gets_its_stop() {
    let mut s = timed(
        4,
        Timing {
            duration: Some(Duration::from_secs(30)),
            ..Timing::default()
        },
    );
    start(&mut s, 0.0);
    for i in 0..4 {
        let outcome = if i == 3 {
            PushOutcome::AuthFailed
        } else {
            ok()
        };
        handle(
            &mut s,
            1.0,
            Input::PushDone {
                phone: i,
                step: PushStep::Start,
                outcome,
            },
        );
    }
    let before = run_timers(&mut s, at(29_999.0));
    assert!(
        pushes(&before, PushStep::Stop).is_empty(),
        "not before its time"
    );
    assert!(!s.is_ending());
    let out = run_timers(&mut s, at(30_000.0));
    assert_eq!(
        pushes(&out, PushStep::Stop),
        vec![0, 1, 2],
        "not the phone that refused"
    );
    assert!(
        !out.contains(&Output::CheckPreemption),
        "no checks once ending"
    );
    for i in 0..3 {
        handle(
            &mut s,
            30_010.0,
            Input::PushDone {
                phone: i,
                step: PushStep::Stop,
                outcome: ok(),
            },
        );
    }
    assert!(s.is_finished());
    let r = s.report("pg", "z", "normal", "multicast");
    assert_eq!(r.ended_by, "duration");
    assert_eq!(r.duration, Duration::from_millis(30_010));
    assert_eq!(s.poll_timeout(), None, "no timer outlives the page");
}

#[test]
fn verify_then_silent_phones_fall_back_to_unicast_once() {
    let mut s = timed(
        5,
        Timing {
            verify: Some(Duration::from_secs(2)),
            fallback: true,
            ..Timing::default()
        },
    );
    start(&mut s, 0.0);
    for i in 0..4 {
        handle(
            &mut s,
            100.0 * (i + 1) as f64,
            Input::PushDone {
                phone: i,
                step: PushStep::Start,
                outcome: ok(),
            },
        );
    }
    // Phone 4's start hangs: verification waits for it even past first accept + 2 s.
    let out = run_timers(&mut s, at(5_000.0));
    assert!(
        !out.iter().any(|o| matches!(o, Output::Verify { .. })),
        "{out:?}"
    );
    handle(
        &mut s,
        5_100.0,
        Input::PushDone {
            phone: 4,
            step: PushStep::Start,
            outcome: PushOutcome::Timeout,
        },
    );
    let out = run_timers(&mut s, at(5_100.0));
    assert_eq!(
        out,
        vec![Output::Verify {
            phones: vec![0, 1, 2, 3]
        }]
    );
    s.handle_verified(at(5_200.0), 0, true);
    s.handle_verified(at(5_200.0), 2, true);
    s.handle_verified(at(5_300.0), 1, false);
    assert!(
        outputs(&mut s).is_empty(),
        "no fallback before every answer"
    );
    s.handle_verified(at(5_400.0), 3, false);
    assert_eq!(
        outputs(&mut s),
        vec![Output::FallBack { phones: vec![1, 3] }]
    );
    s.handle_verified(at(5_500.0), 3, false);
    assert!(
        outputs(&mut s).is_empty(),
        "a second answer changes nothing"
    );
    s.handle_fell_back(at(5_600.0), 1, true);
    s.handle_fell_back(at(5_600.0), 3, false);
    let later = run_timers(&mut s, at(60_000.0));
    assert!(
        !later.iter().any(|o| matches!(o, Output::Verify { .. })),
        "verified once"
    );
    let r = s.report("pg", "z", "normal", "multicast");
    assert!(r.phones[1].fallback_unicast && r.phones[1].receiving == Some(false));
    assert!(!r.phones[3].fallback_unicast && r.phones[3].receiving == Some(false));
    assert_eq!(r.phones[0].receiving, Some(true));
}

#[test]
fn without_a_fallback_port_silent_phones_are_only_reported() {
    let mut s = timed(
        2,
        Timing {
            verify: Some(Duration::from_millis(300)),
            ..Timing::default()
        },
    );
    start(&mut s, 0.0);
    handle(
        &mut s,
        1.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    handle(
        &mut s,
        1.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    let out = run_timers(&mut s, at(301.0));
    assert!(out.contains(&Output::Verify { phones: vec![0, 1] }));
    s.handle_verified(at(310.0), 0, false);
    s.handle_verified(at(310.0), 1, false);
    assert!(outputs(&mut s).is_empty());
}

#[test]
fn the_journal_check_finds_phones_a_higher_page_took_over_even_mid_start() {
    let mut s = timed(3, Timing::default());
    start(&mut s, 0.0);
    handle(
        &mut s,
        10.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    let out = run_timers(&mut s, at(250.0));
    assert_eq!(out, vec![Output::CheckPreemption]);
    // The higher page released p0000 (accepted) and p0001 (still starting) from this page.
    let remaining = std::collections::BTreeSet::from(["p0002".to_string()]);
    s.handle_journal(at(251.0), Some(&remaining));
    let out = outputs(&mut s);
    assert_eq!(
        out,
        vec![Output::Journal(JournalOp::Released {
            phones: vec!["p0000".into()]
        })],
        "only accepted phones are judged by the journal"
    );
    // A page of higher priority can also say so directly while p0001 is starting.
    let out = handle(&mut s, 260.0, Input::Preempted { phones: vec![1] });
    assert_eq!(
        out,
        vec![Output::Journal(JournalOp::Released {
            phones: vec!["p0001".into()]
        })]
    );
    handle(
        &mut s,
        270.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    handle(
        &mut s,
        270.0,
        Input::PushDone {
            phone: 2,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    let out = handle(
        &mut s,
        300.0,
        Input::End {
            reason: "stop".into(),
        },
    );
    assert_eq!(
        pushes(&out, PushStep::Stop),
        vec![2],
        "taken phones are the higher page's to stop"
    );
    let out = handle(
        &mut s,
        310.0,
        Input::PushDone {
            phone: 2,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    assert!(out.contains(&Output::Finished));
    let r = s.report("pg", "z", "normal", "multicast");
    assert_eq!(r.totals.preempted, 2);
    // An unreadable journal changes nothing.
    let mut s = timed(1, Timing::default());
    start(&mut s, 0.0);
    handle(
        &mut s,
        1.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    s.handle_journal(at(250.0), None);
    assert!(outputs(&mut s).is_empty());
    assert_eq!(s.active_phones(), vec![0]);
}

#[test]
fn a_stop_racing_the_starts_waits_for_each_answer_and_a_second_stop_changes_nothing() {
    let mut s = timed(3, Timing::default());
    start(&mut s, 0.0);
    let out = handle(
        &mut s,
        1.0,
        Input::End {
            reason: "stop command".into(),
        },
    );
    assert!(
        pushes(&out, PushStep::Stop).is_empty(),
        "never before the start answers"
    );
    assert!(
        handle(
            &mut s,
            2.0,
            Input::End {
                reason: "again".into()
            }
        )
        .is_empty()
    );
    let out = handle(
        &mut s,
        3.0,
        Input::PushDone {
            phone: 2,
            step: PushStep::Start,
            outcome: PushOutcome::Timeout,
        },
    );
    assert_eq!(
        pushes(&out, PushStep::Stop),
        vec![2],
        "a timed-out start may have played"
    );
    let out = handle(
        &mut s,
        4.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: PushOutcome::AuthFailed,
        },
    );
    assert!(
        pushes(&out, PushStep::Stop).is_empty(),
        "refused outright: nothing to stop"
    );
    let out = handle(
        &mut s,
        5.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, PushStep::Stop), vec![1]);
    assert!(pushes(&out, PushStep::Banner).is_empty());
    handle(
        &mut s,
        6.0,
        Input::PushDone {
            phone: 2,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    let out = handle(
        &mut s,
        7.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    assert_eq!(out.last(), Some(&Output::Finished));
    assert_eq!(s.report("pg", "z", "normal", "m").ended_by, "stop command");
}

#[test]
fn a_silent_talker_ends_the_page() {
    let limits = TalkerLimits {
        first_packet: Duration::from_secs(5),
        idle: Duration::from_millis(1500),
    };
    let timing = Timing {
        talker: Some(limits),
        ..Timing::default()
    };
    // Never a packet: the page ends 5 s after it began.
    let mut s = timed(1, timing);
    start(&mut s, 0.0);
    handle(
        &mut s,
        1.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    let out = run_timers(&mut s, at(4_999.0));
    assert!(!out.contains(&Output::ReadTalker));
    let out = run_timers(&mut s, at(5_000.0));
    assert!(out.contains(&Output::ReadTalker));
    s.handle_talker(at(5_000.0), None);
    assert_eq!(pushes(&outputs(&mut s), PushStep::Stop), vec![0]);
    assert_eq!(
        s.report("p", "z", "n", "m").ended_by,
        "the talker stopped sending"
    );

    // Speaking: each reading moves the limit on; 1.5 s of silence ends it.
    let mut s = timed(1, timing);
    start(&mut s, 0.0);
    handle(
        &mut s,
        1.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    run_timers(&mut s, at(5_000.0));
    s.handle_talker(at(5_000.0), Some(at(4_900.0)));
    assert!(!s.is_ending());
    assert!(
        run_timers(&mut s, at(6_399.0))
            .iter()
            .all(|o| *o != Output::ReadTalker)
    );
    assert!(run_timers(&mut s, at(6_400.0)).contains(&Output::ReadTalker));
    s.handle_talker(at(6_400.0), Some(at(6_300.0)));
    assert!(!s.is_ending(), "a packet came 100 ms ago");
    run_timers(&mut s, at(7_800.0));
    s.handle_talker(at(7_800.0), Some(at(6_300.0)));
    assert!(s.is_ending());
}

#[test]
fn the_live_report_is_published_only_when_it_changed_and_counts_starting_apart() {
    let mut s = timed(
        3,
        Timing {
            publish: Some(Duration::from_millis(200)),
            ..Timing::default()
        },
    );
    let out = start(&mut s, 0.0);
    assert_eq!(
        out.last(),
        Some(&Output::Publish),
        "the first state at once"
    );
    let r = s.report("pg", "z", "normal", "m");
    assert_eq!(
        (r.totals.starting, r.totals.failed, r.totals.accepted),
        (3, 0, 0)
    );
    handle(
        &mut s,
        50.0,
        Input::PushDone {
            phone: 0,
            step: PushStep::Start,
            outcome: ok(),
        },
    );
    handle(
        &mut s,
        60.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Start,
            outcome: PushOutcome::AuthFailed,
        },
    );
    let out = run_timers(&mut s, at(200.0));
    assert!(out.contains(&Output::Publish));
    let r = s.report("pg", "z", "normal", "m");
    assert_eq!(
        (r.totals.starting, r.totals.failed, r.totals.accepted),
        (1, 1, 1)
    );
    let out = run_timers(&mut s, at(240.0));
    assert!(!out.contains(&Output::Publish), "nothing changed");
    let out = run_timers(&mut s, at(400.0));
    assert!(!out.contains(&Output::Publish), "nothing changed");
}

/// A target that takes no push (a multicast speaker): in the page from its start, stopped
/// by the stream's end.
#[derive(Debug, Clone)]
struct Speaker(String);

impl PageTarget for Speaker {
    fn name(&self) -> &str {
        &self.0
    }
    fn model(&self) -> &str {
        "speaker"
    }
    fn refusal(&self) -> Option<&str> {
        None
    }
    fn has_banner(&self) -> bool {
        false
    }
    fn needs_push(&self) -> bool {
        false
    }
}

#[test]
fn a_target_kind_without_pushes_is_paged_by_the_same_core() {
    let mut s = Session::new(
        vec![Speaker("hall".into()), Speaker("yard".into())],
        Timing::default(),
    );
    s.start(at(0.0));
    let out: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
    assert!(out.contains(&Output::StartMedia) && out.contains(&Output::OpenGate));
    assert!(!out.iter().any(|o| matches!(o, Output::Push { .. })));
    // Not in the journal (nothing to stop after a crash), so not "taken over" by its absence.
    s.handle_journal(at(500.0), Some(&std::collections::BTreeSet::new()));
    assert_eq!(s.report("pg", "z", "normal", "m").totals.preempted, 0);
    s.handle_source_ended(at(3_000.0));
    let out: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(out.last(), Some(&Output::Finished));
    let r = s.report("pg", "z", "normal", "m");
    assert_eq!((r.totals.accepted, r.totals.stopped), (2, 2));
    assert_eq!(r.exit_code(), 0);
}

/// A bell page of a standby pair: both phones accepted, then the page ends.
fn handing_over() -> Session {
    let timing = Timing {
        hand_over: Some(Duration::from_secs(1)),
        ..Timing::default()
    };
    let mut s = timed(2, timing);
    start(&mut s, 0.0);
    for phone in 0..2 {
        handle(
            &mut s,
            10.0,
            Input::PushDone {
                phone,
                step: PushStep::Start,
                outcome: ok(),
            },
        );
    }
    let out = handle(
        &mut s,
        500.0,
        Input::End {
            reason: "source ended".into(),
        },
    );
    // No stop before the answer: another node may be paging these phones now.
    assert_eq!(out.iter().filter(|o| **o == Output::AskHandOver).count(), 1);
    assert!(pushes(&out, PushStep::Stop).is_empty(), "{out:?}");
    assert!(!s.is_finished());
    s
}

#[test]
fn the_phones_another_node_took_get_no_stop_from_the_page() {
    let mut s = handing_over();
    s.handle_hand_over(at(503.0), &[0]);
    let out = outputs(&mut s);
    assert!(
        out.contains(&Output::Journal(JournalOp::Released {
            phones: vec![s.targets()[0].name().to_owned()],
        })),
        "{out:?}"
    );
    assert_eq!(pushes(&out, PushStep::Stop), vec![1]);
    let out = handle(
        &mut s,
        520.0,
        Input::PushDone {
            phone: 1,
            step: PushStep::Stop,
            outcome: ok(),
        },
    );
    assert_eq!(out.last(), Some(&Output::Finished));
    let report = s.report("pg", "z", "normal", "m");
    assert_eq!(report.phones[0].state, PhoneState::Preempted);
    assert_eq!(report.phones[1].state, PhoneState::Stopped);
    // A late second answer changes nothing.
    s.handle_hand_over(at(600.0), &[1]);
    assert!(outputs(&mut s).is_empty());
}

#[test]
fn without_an_answer_in_time_every_phone_gets_its_stop() {
    let mut s = handing_over();
    let out = run_timers(&mut s, at(1_499.0));
    assert!(pushes(&out, PushStep::Stop).is_empty(), "{out:?}");
    let out = run_timers(&mut s, at(1_500.0));
    assert_eq!(pushes(&out, PushStep::Stop), vec![0, 1]);
    // The answer, too late, is not applied.
    s.handle_hand_over(at(1_600.0), &[0]);
    assert!(outputs(&mut s).is_empty());
}
