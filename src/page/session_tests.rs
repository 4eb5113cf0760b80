//! The page's rules with virtual time and no sockets: every push that comes out is checked.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use super::*;
use crate::page::plan::{Delivery, PageSpec, Target, plan};
use crate::push::{Phone, Secret};
use crate::rtp::RtpPort;

fn plans(n: usize, models: impl Fn(usize) -> &'static str, banner: bool) -> Vec<PhonePlan> {
    let targets = (0..n)
        .map(|i| Target {
            name: format!("p{i:04}"),
            model: models(i).into(),
            ip: Some(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250) as u8 + 1)),
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
        },
        targets,
    )
}

fn ok() -> PushOutcome {
    PushOutcome::Ok { items: Vec::new() }
}

fn pushes(out: &[Output], step: Step) -> Vec<usize> {
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
    mut pending: Vec<(usize, Step)>,
    now: &mut f64,
    answer: &dyn Fn(usize, Step) -> PushOutcome,
) -> Vec<Output> {
    let mut all = Vec::new();
    while let Some((phone, step)) = pending.pop() {
        *now += 1.0;
        let out = s.handle(
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

fn pending_of(out: &[Output]) -> Vec<(usize, Step)> {
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
    let mut s = Session::new(plans(
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
    let answer = move |i: usize, step: Step| match step {
        Step::Start => start_answer(i),
        Step::Banner => ok(),
        Step::Stop if i.is_multiple_of(50) => PushOutcome::Timeout,
        Step::Stop => ok(),
    };
    let mut now = 0.0;
    let out = s.start(now);
    assert!(
        matches!(out[0], Output::Journal(JournalOp::Begin { ref phones }) if phones.len() == 900)
    );
    assert_eq!(out[1], Output::StartMedia, "media before any push");
    let starts = pushes(&out, Step::Start);
    assert_eq!(starts.len(), 900);
    assert!(starts.iter().all(|i| i % 10 != 9));
    let mut all = drain(&mut s, pending_of(&out), &mut now, &answer);
    assert!(!s.is_finished(), "runs until told to end");
    let banners: HashSet<usize> = pushes(&all, Step::Banner).into_iter().collect();
    all.extend(s.handle(
        now,
        Input::End {
            reason: "source ended".into(),
        },
    ));
    let stop_now = pending_of(&all[all.len() - pushes(&all, Step::Stop).len()..]);
    let tail = drain(&mut s, stop_now, &mut now, &answer);
    all.extend(tail);
    assert!(s.is_finished());

    let stops: Vec<usize> = pushes(&all, Step::Stop);
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
            *m.entry(f.kind.clone()).or_default() += 1;
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
    let mut s = Session::new(plans(3, |_| "CP-8851", true));
    let mut now = 0.0;
    s.start(now);
    let out = s.handle(
        now,
        Input::End {
            reason: "Ctrl-C".into(),
        },
    );
    assert!(
        pushes(&out, Step::Stop).is_empty(),
        "no stop may overtake a start"
    );
    assert!(!s.is_finished());
    now += 5.0;
    let out = s.handle(
        now,
        Input::PushDone {
            phone: 1,
            step: Step::Start,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, Step::Stop), vec![1]);
    assert!(
        pushes(&out, Step::Banner).is_empty(),
        "no banner once ending"
    );
    s.handle(
        now,
        Input::PushDone {
            phone: 0,
            step: Step::Start,
            outcome: PushOutcome::AuthFailed,
        },
    );
    let out = s.handle(
        now,
        Input::PushDone {
            phone: 2,
            step: Step::Start,
            outcome: PushOutcome::Timeout,
        },
    );
    assert_eq!(
        pushes(&out, Step::Stop),
        vec![2],
        "a timed-out start may have played"
    );
    s.handle(
        now,
        Input::PushDone {
            phone: 1,
            step: Step::Stop,
            outcome: ok(),
        },
    );
    let out = s.handle(
        now,
        Input::PushDone {
            phone: 2,
            step: Step::Stop,
            outcome: ok(),
        },
    );
    assert_eq!(out.last(), Some(&Output::Finished));
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.exit_code(), 3);
}

#[test]
fn a_stop_waits_for_the_banner_so_the_banner_cannot_outlive_the_page() {
    let mut s = Session::new(plans(1, |_| "CP-8851", true));
    s.start(0.0);
    let out = s.handle(
        1.0,
        Input::PushDone {
            phone: 0,
            step: Step::Start,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, Step::Banner), vec![0]);
    let out = s.handle(
        2.0,
        Input::End {
            reason: "done".into(),
        },
    );
    assert!(pushes(&out, Step::Stop).is_empty());
    let out = s.handle(
        3.0,
        Input::PushDone {
            phone: 0,
            step: Step::Banner,
            outcome: ok(),
        },
    );
    assert_eq!(pushes(&out, Step::Stop), vec![0]);
    let out = s.handle(
        4.0,
        Input::PushDone {
            phone: 0,
            step: Step::Stop,
            outcome: ok(),
        },
    );
    assert!(out.contains(&Output::Finished));
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.phones[0].accept_ms, Some(1.0));
    assert_eq!(r.phones[0].banner.as_deref(), Some("ok"));
}

#[test]
fn preempted_phones_are_left_to_the_higher_page() {
    let mut s = Session::new(plans(3, |_| "CP-8851", false));
    s.start(0.0);
    for i in 0..3 {
        s.handle(
            1.0,
            Input::PushDone {
                phone: i,
                step: Step::Start,
                outcome: ok(),
            },
        );
    }
    let out = s.handle(2.0, Input::Preempted { phones: vec![1] });
    assert_eq!(
        out,
        vec![Output::Journal(JournalOp::Released {
            phones: vec!["p0001".into()]
        })]
    );
    let out = s.handle(
        3.0,
        Input::End {
            reason: "done".into(),
        },
    );
    let mut stops = pushes(&out, Step::Stop);
    stops.sort();
    assert_eq!(stops, vec![0, 2]);
    s.handle(
        4.0,
        Input::PushDone {
            phone: 0,
            step: Step::Stop,
            outcome: ok(),
        },
    );
    let out = s.handle(
        4.0,
        Input::PushDone {
            phone: 2,
            step: Step::Stop,
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
    let mut s = Session::new(plans(2, |_| "CP-8851", false));
    s.start(0.0);
    for i in 0..2 {
        s.handle(
            1.0,
            Input::PushDone {
                phone: i,
                step: Step::Start,
                outcome: ok(),
            },
        );
    }
    s.handle(2.0, Input::StoppedByUser { phone: 0 });
    assert_eq!(s.active_phones(), vec![1]);
    let out = s.handle(
        3.0,
        Input::End {
            reason: "done".into(),
        },
    );
    assert_eq!(pushes(&out, Step::Stop).len(), 2);
    s.handle(
        4.0,
        Input::PushDone {
            phone: 0,
            step: Step::Stop,
            outcome: ok(),
        },
    );
    s.handle(
        4.0,
        Input::PushDone {
            phone: 1,
            step: Step::Stop,
            outcome: ok(),
        },
    );
    let r = s.report("p", "z", "normal", "m");
    assert_eq!(r.phones[0].state, PhoneState::StoppedByUser);
    assert!(r.prose().contains("stopped by user"));
}

#[test]
fn nothing_pushable_finishes_at_once_with_exit_1() {
    let mut s = Session::new(plans(2, |_| "CP-8851-3PCC", false));
    let out = s.start(0.0);
    assert!(!out.contains(&Output::StartMedia));
    assert_eq!(out.last(), Some(&Output::Finished));
    assert_eq!(s.report("p", "z", "n", "m").exit_code(), 1);
}
