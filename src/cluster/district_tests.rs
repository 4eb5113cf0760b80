//! Unit tests of the district page's core and its wire (virtual time: instants made up, no
//! sockets).

use std::time::{Duration, Instant};

use super::district::{
    DistrictOp, DistrictPage, DistrictTerms, PartAnswer, SectionStatus, bell_page_id, split,
};
use super::district_wire::{
    Admit, Asker, PartEvent, PartReply, PartRequest, PartStop, PhoneLine, ReportDiff, SeenParts,
};
use crate::config::DistrictZone;

fn zone() -> DistrictZone {
    DistrictZone {
        name: "all-schools".into(),
        members: vec![
            ("north".into(), "all".into()),
            ("south".into(), "hall".into()),
            ("east".into(), "all".into()),
        ],
    }
}

fn page(now: Instant) -> DistrictPage {
    let parts = split("dp-1", &zone());
    DistrictPage::new("dp-1", "all-schools", parts, DistrictTerms::default(), now)
}

fn ops(p: &mut DistrictPage) -> Vec<DistrictOp> {
    std::iter::from_fn(|| p.poll_op()).collect()
}

fn line(name: &str, accepted: bool) -> PhoneLine {
    PhoneLine {
        name: name.into(),
        model: "CP-8851".into(),
        state: if accepted { "accepted" } else { "failed" }.into(),
        accepted,
        failure: (!accepted).then(|| "unreachable: refused".into()),
        accept_ms: accepted.then_some(20),
    }
}

fn accepted(page: &str) -> PartAnswer {
    PartAnswer::Replied(PartReply::Accepted { page: page.into() })
}

fn end(phones: usize, accepted: usize) -> PartEvent {
    PartEvent::End {
        ended_by: "source ended".into(),
        phones,
        accepted,
        failed: phones - accepted,
    }
}

/// Section `n` of `p` says its site is unreachable.
fn assert_unreachable(p: &DistrictPage, n: usize) {
    let status = &p.report().sites[n].status;
    assert!(
        matches!(status, SectionStatus::Unreachable { .. }),
        "{status:?}"
    );
}

#[test]
fn a_district_zone_splits_into_one_part_per_member_with_subject_safe_ids() {
    let parts = split("dp-1a", &zone());
    let sites: Vec<(&str, &str)> = parts
        .iter()
        .map(|p| (p.site.as_str(), p.zone.as_str()))
        .collect();
    assert_eq!(
        sites,
        [("north", "all"), ("south", "hall"), ("east", "all")]
    );
    let ids: Vec<&str> = parts.iter().map(|p| p.id.as_str()).collect();
    assert!(ids[0].starts_with("dp-1a-north-"), "{ids:?}");
    assert!(ids[1].starts_with("dp-1a-south-"), "{ids:?}");
    // The zone's part at a site has the same id at every site: "all" hashes alike.
    assert_eq!(ids[0].rsplit('-').next(), ids[2].rsplit('-').next());
    assert_ne!(ids[0].rsplit('-').next(), ids[1].rsplit('-').next());
    for id in ids {
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{id}"
        );
    }
    // Another node's config may list the members in another order: the same ids.
    let mut turned = zone();
    turned.members.reverse();
    let mut again = split("dp-1a", &turned);
    again.reverse();
    assert_eq!(again, parts);
}

#[test]
fn a_bell_occurrence_names_its_district_page_alike_at_every_node() {
    let id = bell_page_id("morning", "all-schools", 1_767_254_400);
    assert_eq!(id, bell_page_id("morning", "all-schools", 1_767_254_400));
    assert!(id.starts_with(&format!("dp-b{:x}-", 1_767_254_400)), "{id}");
    assert_ne!(id, bell_page_id("morning", "all-schools", 1_767_254_460));
    assert_ne!(id, bell_page_id("evening", "all-schools", 1_767_254_400));
    assert_ne!(id, bell_page_id("morning", "all", 1_767_254_400));
    // A part of it stays within the request's 96 characters, with the longest site name.
    let zone = DistrictZone {
        name: "z".into(),
        members: vec![("s".repeat(32), "a zone with a long name".into())],
    };
    let part = &split(&id, &zone)[0];
    assert!(part.id.len() <= 96, "{}", part.id.len());
}

#[test]
fn every_site_is_asked_at_once_with_the_answer_deadline() {
    let t0 = Instant::now();
    let mut p = page(t0);
    let wait = DistrictTerms::default().answer_within;
    assert_eq!(
        ops(&mut p),
        vec![
            DistrictOp::Ask(0, wait),
            DistrictOp::Ask(1, wait),
            DistrictOp::Ask(2, wait)
        ]
    );
    assert!(!p.is_done());
    assert_eq!(p.poll_timeout(), Some(t0 + wait));
}

#[test]
fn reports_merge_into_sections_and_the_page_is_done_when_every_site_ended() {
    let t0 = Instant::now();
    let mut p = page(t0);
    ops(&mut p);
    let t1 = t0 + Duration::from_millis(100);
    for n in 0..3 {
        p.handle_answer(n, accepted(&format!("pg-{n}")), t1);
    }
    p.handle_event(
        0,
        PartEvent::Phones {
            phones: vec![line("a1", true), line("a2", false)],
        },
        t1,
    );
    p.handle_event(
        1,
        PartEvent::Phones {
            phones: vec![line("b1", true)],
        },
        t1,
    );
    // A later line for the same phone replaces the earlier.
    p.handle_event(
        0,
        PartEvent::Phones {
            phones: vec![line("a2", true)],
        },
        t1,
    );
    let r = p.report();
    assert_eq!(r.sites[0].phones.len(), 2);
    assert_eq!(r.sites[0].accepted, 2);
    assert_eq!(r.totals.accepted, 3);
    assert_eq!(r.totals.paged, 3);
    assert!(!p.is_done());
    p.handle_event(0, end(2, 2), t1);
    p.handle_event(1, end(1, 1), t1);
    assert!(!p.is_done(), "east has not ended");
    p.handle_event(2, end(5, 4), t1);
    assert!(p.is_done());
    let r = p.report();
    assert_eq!(
        (r.totals.phones, r.totals.accepted, r.totals.failed),
        (8, 7, 1)
    );
    assert_eq!(
        r.sites[2].status,
        SectionStatus::Ended {
            ended_by: "source ended".into()
        }
    );
    assert_eq!(p.poll_timeout(), None);
    assert!(ops(&mut p).is_empty());
}

#[test]
fn a_site_that_does_not_answer_in_time_is_unreachable_and_sent_a_stop() {
    let t0 = Instant::now();
    let mut p = page(t0);
    ops(&mut p);
    let t1 = t0 + Duration::from_millis(50);
    p.handle_answer(0, accepted("pg-0"), t1);
    p.handle_answer(
        1,
        PartAnswer::Replied(PartReply::Refused {
            reason: "no zone hall".into(),
        }),
        t1,
    );
    // East: no answer at all; the deadline passes.
    let deadline = p.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + DistrictTerms::default().answer_within);
    p.handle_timeout(deadline);
    let r = p.report();
    assert!(matches!(
        r.sites[2].status,
        SectionStatus::Unreachable { .. }
    ));
    assert_eq!(
        r.sites[1].status,
        SectionStatus::Refused {
            reason: "no zone hall".into()
        }
    );
    assert_eq!(
        (r.totals.unreachable, r.totals.refused, r.totals.paged),
        (1, 1, 1)
    );
    assert!(matches!(ops(&mut p)[..], [DistrictOp::Stop(2, _)]));
    // Not done: north still pages; its end finishes it.
    assert!(!p.is_done());
    p.handle_event(0, end(1, 1), deadline);
    assert!(p.is_done());
    // Late events of an unreachable site change nothing.
    p.handle_event(2, end(3, 3), deadline);
    assert_unreachable(&p, 2);
}

#[test]
fn a_bell_occurrences_page_sends_no_stop_to_a_site_it_could_not_reach() {
    // Other nodes ringing the same occurrence may follow that part: not this node's to stop.
    let t0 = Instant::now();
    let terms = DistrictTerms {
        stop_unreachable: false,
        ..DistrictTerms::default()
    };
    let mut p = DistrictPage::new("dp-b1", "all-schools", split("dp-b1", &zone()), terms, t0);
    ops(&mut p);
    p.handle_answer(0, accepted("pg-0"), t0);
    p.handle_answer(1, accepted("pg-1"), t0);
    let deadline = p.poll_timeout().unwrap();
    p.handle_timeout(deadline);
    assert_unreachable(&p, 2);
    assert!(ops(&mut p).is_empty(), "no stop for east");
    // A stop asked by its user still goes to every part not final.
    p.stop("ended by p001");
    let stops = ops(&mut p);
    assert!(
        matches!(stops[..], [DistrictOp::Stop(0, _), DistrictOp::Stop(1, _)]),
        "{stops:?}"
    );
}

#[test]
fn a_site_with_no_listener_is_asked_again_until_the_deadline_and_named_so() {
    let t0 = Instant::now();
    let mut p = page(t0);
    ops(&mut p);
    let again = DistrictTerms::default().ask_again;
    let mut now = t0;
    let mut asks = 0;
    loop {
        p.handle_answer(2, PartAnswer::NoListener, now);
        let Some(next) = p.poll_timeout() else { break };
        now = next;
        p.handle_timeout(now);
        let o = ops(&mut p);
        if o.iter().any(|o| matches!(o, DistrictOp::Stop(2, _))) {
            break;
        }
        assert!(matches!(o[..], [DistrictOp::Ask(2, _)]), "{o:?}");
        asks += 1;
        assert!(asks < 100);
    }
    let expected = (DistrictTerms::default().answer_within.as_millis() / again.as_millis()) as i32;
    assert!(
        (expected - 2..=expected).contains(&asks),
        "asked again {asks} times"
    );
    match &p.report().sites[2].status {
        SectionStatus::Unreachable { reason } => assert!(reason.contains("listens"), "{reason}"),
        s => panic!("{s:?}"),
    }
}

#[test]
fn events_before_the_answer_count_as_accepted_and_a_silent_site_is_lost() {
    let t0 = Instant::now();
    let mut p = page(t0);
    ops(&mut p);
    for n in [1, 2] {
        let no = PartReply::Refused {
            reason: "no".into(),
        };
        p.handle_answer(n, PartAnswer::Replied(no), t0);
    }
    p.handle_event(0, PartEvent::Running, t0);
    assert_eq!(
        p.report().sites[0].status,
        SectionStatus::Accepted {
            page: String::new()
        }
    );
    p.handle_answer(0, accepted("pg-9"), t0);
    assert_eq!(
        p.report().sites[0].status,
        SectionStatus::Accepted {
            page: "pg-9".into()
        }
    );
    let limit = DistrictTerms::default().silence_limit;
    p.handle_event(0, PartEvent::Running, t0 + limit / 2);
    p.handle_timeout(t0 + limit);
    assert!(matches!(
        p.report().sites[0].status,
        SectionStatus::Accepted { .. }
    ));
    p.handle_timeout(t0 + limit / 2 + limit);
    assert_eq!(p.report().sites[0].status, SectionStatus::Lost);
    assert_eq!(p.report().totals.unreachable, 1);
    assert!(p.is_done());
}

#[test]
fn stopping_stops_every_site_still_paging_and_one_accepting_later() {
    let t0 = Instant::now();
    let mut p = page(t0);
    ops(&mut p);
    p.handle_answer(0, accepted("pg-0"), t0);
    p.handle_answer(
        1,
        PartAnswer::Replied(PartReply::Refused {
            reason: "busy".into(),
        }),
        t0,
    );
    p.stop("stopped by api");
    assert_eq!(
        ops(&mut p),
        vec![
            DistrictOp::Stop(0, "stopped by api".into()),
            DistrictOp::Stop(2, "stopped by api".into())
        ]
    );
    p.stop("again");
    assert!(ops(&mut p).is_empty(), "a second stop sends nothing");
    p.handle_answer(2, accepted("pg-2"), t0);
    assert!(matches!(ops(&mut p)[..], [DistrictOp::Stop(2, _)]));
}

fn asker(reply: &str) -> Option<Asker> {
    Some(Asker {
        reply: reply.into(),
        interim: true,
    })
}

#[test]
fn a_site_pages_a_part_once_whatever_the_duplicates_and_stops() {
    let mut seen = SeenParts::default();
    assert_eq!(seen.request("dp-1-0", asker("in.a")), Admit::Page);
    assert_eq!(
        seen.request("dp-1-0", asker("in.a")),
        Admit::Quiet,
        "still starting"
    );
    let ok = PartReply::Accepted {
        page: "pg-7".into(),
    };
    let (stop, askers) = seen.answered("dp-1-0", ok.clone());
    assert_eq!(stop, None);
    assert_eq!(askers.len(), 1, "the same asker again counts once");
    assert_eq!(seen.request("dp-1-0", asker("in.a")), Admit::Again(ok));
    assert_eq!(seen.stop("dp-1-0", "api"), Some("pg-7".into()));
    // A stop before the request: the request is refused when it comes.
    assert_eq!(seen.stop("dp-2-0", "api"), None);
    assert!(matches!(
        seen.request("dp-2-0", None),
        Admit::Again(PartReply::Refused { .. })
    ));
    // A stop while starting is carried out once started.
    assert_eq!(seen.request("dp-3-0", None), Admit::Page);
    assert_eq!(seen.stop("dp-3-0", "api"), None);
    let ok3 = PartReply::Accepted {
        page: "pg-8".into(),
    };
    assert_eq!(seen.answered("dp-3-0", ok3).0, Some("api".into()));
    // Bounded memory: the oldest are forgotten.
    for n in 0..SeenParts::KEEP {
        seen.request(&format!("x-{n}"), None);
    }
    assert_eq!(seen.request("dp-1-0", None), Admit::Page);
}

#[test]
fn another_node_asking_for_a_part_while_it_starts_gets_the_same_answer() {
    let mut seen = SeenParts::default();
    assert_eq!(seen.request("dp-b1-n-0", asker("in.north")), Admit::Page);
    // A node of another site rings the same bell occurrence: same part, its own inbox.
    assert_eq!(seen.request("dp-b1-n-0", asker("in.south")), Admit::Quiet);
    let old = Asker {
        reply: "in.old".into(),
        interim: false,
    };
    assert_eq!(seen.request("dp-b1-n-0", Some(old.clone())), Admit::Quiet);
    let while_starting = seen.askers("dp-b1-n-0");
    assert_eq!(while_starting.len(), 3);
    let ok = PartReply::Accepted {
        page: "pg-1".into(),
    };
    let (_, askers) = seen.answered("dp-b1-n-0", ok);
    let replies: Vec<&str> = askers.iter().map(|a| a.reply.as_str()).collect();
    assert_eq!(replies, ["in.north", "in.south", "in.old"]);
    assert!(
        askers.contains(&old),
        "an asker of final answers only is kept as such"
    );
    assert!(
        seen.askers("dp-b1-n-0").is_empty(),
        "answered: no one waits"
    );
    // Bounded: at most ASKERS wait on one part.
    assert_eq!(seen.request("dp-b2-n-0", None), Admit::Page);
    for n in 0..20 {
        seen.request("dp-b2-n-0", asker(&format!("in.{n}")));
    }
    assert_eq!(seen.askers("dp-b2-n-0").len(), SeenParts::ASKERS);
}

#[test]
fn requests_from_the_bus_are_bounded_and_checked() {
    let good = PartRequest {
        part: "dp-1-0".into(),
        from: "north".into(),
        district_zone: "all-schools".into(),
        zone: "all".into(),
        source: "tone:1000:1".into(),
        banner: None,
        priority: None,
        duration_ms: Some(2000),
        live: None,
        voice: None,
    };
    let bytes = serde_json::to_vec(&good).unwrap();
    let spoken = PartRequest {
        live: Some("dp-1".into()),
        voice: Some(crate::source::VoiceChange {
            language: Some("fr".into()),
            variant: None,
            rate: Some(140),
        }),
        ..good.clone()
    };
    let bytes_live = serde_json::to_vec(&spoken).unwrap();
    assert_eq!(PartRequest::parse(&bytes_live).unwrap(), spoken);
    assert_eq!(PartRequest::parse(&bytes).unwrap(), good);
    let bad = [
        PartRequest {
            part: "dp.1.*".into(),
            ..good.clone()
        },
        PartRequest {
            zone: String::new(),
            ..good.clone()
        },
        PartRequest {
            source: "a\u{0}b".into(),
            ..good.clone()
        },
        PartRequest {
            duration_ms: Some(0),
            ..good.clone()
        },
        PartRequest {
            from: "North Site".into(),
            ..good.clone()
        },
        PartRequest {
            live: Some("zc.>".into()),
            ..good.clone()
        },
        PartRequest {
            voice: Some(crate::source::VoiceChange {
                language: Some("../../etc".into()),
                ..Default::default()
            }),
            ..good.clone()
        },
    ];
    for b in bad {
        let e = PartRequest::parse(&serde_json::to_vec(&b).unwrap()).unwrap_err();
        assert!(e.to_string().contains("district request"), "{e}");
    }
    let huge = vec![b' '; 70_000];
    assert!(
        PartRequest::parse(&huge)
            .unwrap_err()
            .to_string()
            .contains("64 KiB")
    );
    assert!(PartRequest::parse(b"{\"part\":\"x\",\"extra\":1}").is_err());
    assert!(PartStop::parse(b"{\"part\":\"dp-1-0\",\"reason\":\"api\"}").is_ok());
    assert!(PartStop::parse(b"{\"part\":\"dp 1\",\"reason\":\"api\"}").is_err());
    let many = PartEvent::Phones {
        phones: vec![line("x", true); 201],
    };
    assert!(PartEvent::parse(&serde_json::to_vec(&many).unwrap()).is_err());
}

#[test]
fn a_report_is_sent_as_the_lines_that_changed() {
    use crate::page::{DeliveryReport, PhoneReport, PhoneState};
    let phone = |name: &str, state: PhoneState| PhoneReport {
        name: name.into(),
        model: "CP-8851".into(),
        state,
        planned: true,
        pushed: true,
        accepted: state == PhoneState::Accepted,
        failure: None,
        accept: None,
        banner: None,
        stopped: false,
        stop_failure: None,
        receiving: None,
        fallback_unicast: false,
        codec: "g711",
        g722_refused: None,
        app_events: Vec::new(),
        ended: None,
    };
    let mut r = DeliveryReport::empty("pg-1", "all", "normal");
    r.phones = (0..250)
        .map(|n| phone(&format!("p{n}"), PhoneState::Starting))
        .collect();
    let mut diff = ReportDiff::default();
    let first = diff.changes(&r);
    assert_eq!(first.len(), 2, "250 lines in events of at most 200");
    assert!(diff.changes(&r).is_empty(), "nothing changed");
    r.phones[7].state = PhoneState::Accepted;
    r.phones[7].accepted = true;
    match &diff.changes(&r)[..] {
        [PartEvent::Phones { phones }] => {
            assert_eq!(phones.len(), 1);
            assert_eq!(
                (phones[0].name.as_str(), phones[0].state.as_str()),
                ("p7", "accepted")
            );
        }
        other => panic!("{other:?}"),
    }
}

fn standby() -> PartAnswer {
    PartAnswer::Replied(PartReply::Standby { node: "b".into() })
}

/// Answer every ask of part `n` with `answer` until `until`; the asks made.
fn answer_asks(
    p: &mut DistrictPage,
    n: usize,
    answer: &PartAnswer,
    from: Instant,
    until: Instant,
) -> usize {
    let mut now = from;
    let mut asks = 0;
    p.handle_answer(n, answer.clone(), now);
    while let Some(next) = p.poll_timeout() {
        if next > until {
            break;
        }
        now = next;
        p.handle_timeout(now);
        for o in ops(p) {
            if let DistrictOp::Ask(m, _) = o {
                assert_eq!(m, n);
                asks += 1;
                p.handle_answer(n, answer.clone(), now);
            }
        }
        if p.report().sites[n].status != SectionStatus::Asking {
            break;
        }
    }
    asks
}

/// A page asked at `t0` whose first two sites accepted at once: the third is still asked.
fn third_site_asked(t0: Instant) -> DistrictPage {
    let mut p = page(t0);
    ops(&mut p);
    for n in [0, 1] {
        p.handle_answer(n, accepted("pg"), t0);
    }
    p
}

#[test]
fn a_site_whose_standby_answers_is_asked_again_through_a_leader_change_and_pages() {
    let t0 = Instant::now();
    let terms = DistrictTerms::default();
    let mut p = third_site_asked(t0);
    // Site 2's leader was killed just before: its standby answers until it leads (4 s).
    let took = t0 + Duration::from_secs(4);
    let asks = answer_asks(&mut p, 2, &standby(), t0, took);
    assert!(asks >= 10, "asked again {asks} times");
    assert_eq!(p.report().sites[2].status, SectionStatus::Asking);
    assert!(
        p.report().sites[2]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("standby (node b)")),
        "{:?}",
        p.report().sites[2]
    );
    assert!(terms.answer_within < Duration::from_secs(4));
    // The new leader answers the next ask.
    p.handle_answer(2, accepted("pg-b"), took + Duration::from_millis(100));
    assert_eq!(
        p.report().sites[2].status,
        SectionStatus::Accepted {
            page: "pg-b".into()
        }
    );
    assert_eq!(p.report().sites[2].note, None);
    assert_eq!(p.report().totals.unreachable, 0);
}

#[test]
fn a_site_whose_standby_alone_answers_is_unreachable_after_the_leader_change_time() {
    let t0 = Instant::now();
    let terms = DistrictTerms::default();
    let mut p = page(t0);
    ops(&mut p);
    answer_asks(&mut p, 2, &standby(), t0, t0 + Duration::from_secs(60));
    match &p.report().sites[2].status {
        SectionStatus::Unreachable { reason } => {
            assert!(reason.contains("only its standby (node b)"), "{reason}")
        }
        s => panic!("{s:?}"),
    }
    // At the leader-change time, not before.
    let mut q = page(t0);
    ops(&mut q);
    let before = t0 + terms.leader_change - Duration::from_millis(1);
    answer_asks(&mut q, 2, &standby(), t0, before);
    assert_eq!(q.report().sites[2].status, SectionStatus::Asking);
    q.handle_timeout(t0 + terms.leader_change);
    assert_unreachable(&q, 2);
}

#[test]
fn a_silent_site_is_still_unreachable_at_the_answer_time_whatever_others_say() {
    let t0 = Instant::now();
    let terms = DistrictTerms::default();
    let mut p = page(t0);
    ops(&mut p);
    // Site 0's standby answers; sites 1 and 2 say nothing (a cut link, both nodes down).
    answer_asks(
        &mut p,
        0,
        &standby(),
        t0,
        t0 + terms.answer_within - Duration::from_millis(1),
    );
    p.handle_timeout(t0 + terms.answer_within);
    let r = p.report();
    assert_eq!(r.sites[0].status, SectionStatus::Asking);
    for n in [1, 2] {
        assert!(
            matches!(&r.sites[n].status, SectionStatus::Unreachable { reason } if reason == "no answer in time"),
            "{:?}",
            r.sites[n]
        );
    }
}

#[test]
fn a_site_starting_its_page_is_waited_for_while_it_says_so_and_its_busy_refusal_shown() {
    let t0 = Instant::now();
    let terms = DistrictTerms::default();
    let mut p = third_site_asked(t0);
    let starting = PartAnswer::Replied(PartReply::Starting {
        reason: "zone all: waiting for pages of equal priority to end: pg-1".into(),
    });
    // Every second for 20 s: no new ask, still asking, the note says why.
    for s in 1..=20 {
        let now = t0 + Duration::from_secs(s);
        p.handle_timeout(now);
        p.handle_answer(2, starting.clone(), now);
        assert!(ops(&mut p).is_empty(), "asked again at {s} s");
        assert_eq!(p.report().sites[2].status, SectionStatus::Asking);
    }
    assert!(
        p.report().sites[2]
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("starting: zone all")),
        "{:?}",
        p.report().sites[2]
    );
    // The site's own wait ends: refused, busy, as it says.
    let busy = "busy: zone all is busy: pg-1 (normal) holds a1".to_owned();
    let now = t0 + Duration::from_secs(21);
    p.handle_answer(
        2,
        PartAnswer::Replied(PartReply::Refused {
            reason: busy.clone(),
        }),
        now,
    );
    assert_eq!(
        p.report().sites[2].status,
        SectionStatus::Refused { reason: busy }
    );
    assert_eq!(p.report().totals.refused, 1);
    // A site that says it is starting and then falls silent: unreachable `answer_within` later.
    let mut q = page(t0);
    ops(&mut q);
    q.handle_answer(2, starting, t0 + Duration::from_secs(2));
    q.handle_timeout(t0 + Duration::from_secs(2) + terms.answer_within - Duration::from_millis(1));
    assert_eq!(q.report().sites[2].status, SectionStatus::Asking);
    q.handle_timeout(t0 + Duration::from_secs(2) + terms.answer_within);
    match &q.report().sites[2].status {
        SectionStatus::Unreachable { reason } => assert!(reason.contains("starting"), "{reason}"),
        s => panic!("{s:?}"),
    }
}

#[test]
fn interim_answers_read_from_the_bus_and_are_never_remembered_as_final() {
    for (json, interim) in [
        (r#"{"answer":"standby","node":"b"}"#, true),
        (r#"{"answer":"starting","reason":"speech"}"#, true),
        (r#"{"answer":"accepted","page":"pg-1"}"#, false),
        (r#"{"answer":"refused","reason":"busy: x"}"#, false),
    ] {
        let r = PartReply::parse(json.as_bytes()).unwrap();
        assert_eq!(r.is_interim(), interim, "{json}");
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }
}

#[test]
fn a_call_following_a_district_page_sees_phones_starting_until_every_site_answered() {
    let t0 = Instant::now();
    let mut p = page(t0);
    let _ = ops(&mut p);
    // Three sites asked: three "phones" starting, nothing pushed.
    let r = p.report().as_delivery();
    assert_eq!((r.totals.pushed, r.totals.starting), (0, 3));
    // North accepted with one phone of two reached, south accepted without lines yet.
    p.handle_answer(0, accepted("p-n"), t0);
    p.handle_event(
        0,
        PartEvent::Phones {
            phones: vec![line("n1", true)],
        },
        t0,
    );
    p.handle_event(0, end(2, 1), t0);
    p.handle_answer(1, accepted("p-s"), t0);
    let r = p.report().as_delivery();
    assert_eq!(
        (r.totals.accepted, r.totals.failed, r.totals.pushed),
        (1, 1, 2)
    );
    assert_eq!(r.totals.starting, 2, "south and east not ready");
    assert!(r.ended_by.is_empty());
    // East refuses, south ends: done, and why.
    p.handle_answer(
        2,
        PartAnswer::Replied(PartReply::Refused {
            reason: "busy: zone all".into(),
        }),
        t0,
    );
    p.handle_event(1, end(0, 0), t0);
    assert!(p.is_done());
    let r = p.report().as_delivery();
    assert_eq!(r.totals.starting, 0);
    assert_eq!(r.ended_by, "district page ended: 2 of 3 sites paged");
}

#[test]
fn a_district_page_no_site_took_says_each_sites_reason() {
    let t0 = Instant::now();
    let mut p = page(t0);
    let _ = ops(&mut p);
    for n in 0..3 {
        let reason = format!("busy: zone {n}");
        p.handle_answer(n, PartAnswer::Replied(PartReply::Refused { reason }), t0);
    }
    assert!(p.is_done());
    let why = p.report().as_delivery().ended_by;
    assert!(
        why.starts_with("no site paged: north: busy: zone 0; south"),
        "{why}"
    );
}
