//! Cron parsing, calendars, daylight saving and the due/missed state machine, in virtual time.

use chrono::{NaiveDate, TimeZone};

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn bell(name: &str, cron: &str) -> Bell {
    Bell {
        name: name.into(),
        cron: cron.into(),
        zones: vec!["all".into()],
        source: "chime".into(),
        priority: None,
        voice: Default::default(),
    }
}

fn at(firings: &[Firing]) -> Vec<DateTime<Utc>> {
    firings.iter().map(|f| f.at).collect()
}

fn berlin() -> Calendar {
    Calendar::new(chrono_tz::Europe::Berlin)
}

#[test]
fn cron_errors_are_named() {
    let e = parse_cron("0 8 * *").unwrap_err();
    assert_eq!(e.field, "cron");
    assert!(e.rule.contains("has 4 fields"), "{e}");
    let e = parse_cron("0 8 * * 1-5 2026").unwrap_err();
    assert!(
        e.rule.contains("has 6 fields") || e.rule.contains("cron"),
        "{e}"
    );
    let e = parse_cron("0 8 * * 1-5 2026 x").unwrap_err();
    assert!(e.rule.contains("has 7 fields"), "{e}");
    let e = parse_cron("61 8 * * *").unwrap_err();
    assert!(e.rule.contains("is not a cron expression"), "{e}");
    assert!(parse_cron("0 8 * * 1-5").is_ok());
    assert!(parse_cron("30 0 8 * * MON-FRI").is_ok());
    let e = Scheduler::new(vec![bell("morning", "0 25 * * *")], berlin()).unwrap_err();
    assert_eq!(e.field, "bell \"morning\" cron");
    assert_eq!(e.value, "0 25 * * *");
}

#[test]
fn weekday_bells_skip_weekends_and_holidays() {
    let mut cal = berlin();
    cal.holidays = vec![date("2026-12-24")];
    let s = Scheduler::new(vec![bell("morning", "0 8 * * 1-5")], cal).unwrap();
    // Friday 18 December, noon: next Monday 21 .. Wednesday 23, not Thursday 24, Friday 25.
    let f = s.next_firings(utc("2026-12-18T12:00:00Z"), 5);
    assert_eq!(
        at(&f),
        [
            "2026-12-21T07:00:00Z",
            "2026-12-22T07:00:00Z",
            "2026-12-23T07:00:00Z",
            "2026-12-25T07:00:00Z",
            "2026-12-28T07:00:00Z",
        ]
        .map(utc)
    );
    assert_eq!(f[0].bell, "morning");
    assert_eq!(f[0].local, "2026-12-21 Mon 08:00:00 CET");
}

#[test]
fn terms_limit_bells_to_term_days() {
    let mut cal = berlin();
    cal.terms = vec![
        (date("2026-09-01"), date("2026-09-04")),
        (date("2026-09-14"), date("2026-09-15")),
    ];
    cal.holidays = vec![date("2026-09-03")];
    let s = Scheduler::new(vec![bell("morning", "0 8 * * 1-5")], cal).unwrap();
    let f = s.next_firings(utc("2026-08-01T00:00:00Z"), 10);
    // After the last term nothing rings: 5 firings, not 10, and the search ends.
    assert_eq!(
        at(&f),
        [
            "2026-09-01T06:00:00Z",
            "2026-09-02T06:00:00Z",
            "2026-09-04T06:00:00Z",
            "2026-09-14T06:00:00Z",
            "2026-09-15T06:00:00Z",
        ]
        .map(utc)
    );
}

#[test]
fn spring_forward_rings_at_the_end_of_the_gap_once() {
    // Berlin, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
    let s = Scheduler::new(vec![bell("night", "30 2 * * *")], berlin()).unwrap();
    let f = s.next_firings(utc("2026-03-27T12:00:00Z"), 3);
    assert_eq!(
        at(&f),
        [
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:00:00Z", // 03:00 CEST, the first instant after the gap
            "2026-03-30T00:30:00Z", // 02:30 CEST
        ]
        .map(utc)
    );
    assert_eq!(f[1].local, "2026-03-29 Sun 03:00:00 CEST");

    // Every half hour: 02:00, 02:30 and 03:00 all land on 03:00 CEST, which rings once.
    let s = Scheduler::new(vec![bell("half", "*/30 * * * *")], berlin()).unwrap();
    let f = s.next_firings(utc("2026-03-29T00:40:00Z"), 3);
    assert_eq!(
        at(&f),
        [
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:30:00Z",
            "2026-03-29T02:00:00Z"
        ]
        .map(utc)
    );
}

#[test]
fn fall_back_rings_once_at_the_first_occurrence() {
    // New York, Sunday 1 November 2026: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    let cal = Calendar::new(chrono_tz::America::New_York);
    let s = Scheduler::new(vec![bell("night", "30 1 * * *")], cal.clone()).unwrap();
    let f = s.next_firings(utc("2026-10-31T12:00:00Z"), 2);
    assert_eq!(
        at(&f),
        [
            "2026-11-01T05:30:00Z", // 01:30 EDT, the first occurrence
            "2026-11-02T06:30:00Z", // 01:30 EST the next day
        ]
        .map(utc)
    );
    assert_eq!(f[0].local, "2026-11-01 Sun 01:30:00 EDT");
    // Asked between the two occurrences, the second is not offered.
    let f = s.next_firings(utc("2026-11-01T05:45:00Z"), 1);
    assert_eq!(at(&f), [utc("2026-11-02T06:30:00Z")]);

    // Running through the repeated hour minute by minute rings it exactly once.
    let mut s = s.with_grace(Duration::from_secs(60));
    s.resume_from(utc("2026-11-01T05:00:00Z"));
    let mut rung = Vec::new();
    let mut t = utc("2026-11-01T05:00:00Z");
    while t < utc("2026-11-01T08:00:00Z") {
        t += TimeDelta::seconds(20);
        rung.extend(s.due(t));
    }
    assert_eq!(
        rung,
        [Decision::Ring {
            bell: "night".into(),
            at: utc("2026-11-01T05:30:00Z")
        }]
    );
    // The hourly bell rings at 01:00 EDT, 02:00 EST: not twice at 01:00.
    let s = Scheduler::new(vec![bell("hourly", "0 * * * *")], cal).unwrap();
    let f = s.next_firings(utc("2026-11-01T04:30:00Z"), 3);
    assert_eq!(
        at(&f),
        [
            "2026-11-01T05:00:00Z",
            "2026-11-01T07:00:00Z",
            "2026-11-01T08:00:00Z"
        ]
        .map(utc)
    );
}

#[test]
fn due_rings_within_grace_and_reports_missed_beyond() {
    let tz = chrono_tz::Europe::Berlin;
    let local = |s: &str| {
        tz.from_local_datetime(&s.parse().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let mut s = Scheduler::new(
        vec![bell("morning", "0 8 * * *"), bell("second", "0 8 * * *")],
        berlin(),
    )
    .unwrap();
    // The first call only notes the time.
    assert_eq!(s.due(local("2026-06-01T07:59:30")), []);
    assert_eq!(s.last_run(), Some(local("2026-06-01T07:59:30")));
    let d = s.due(local("2026-06-01T08:00:40"));
    let due = local("2026-06-01T08:00:00");
    assert_eq!(
        d,
        [
            Decision::Ring {
                bell: "morning".into(),
                at: due
            },
            Decision::Ring {
                bell: "second".into(),
                at: due
            },
        ]
    );
    // Not again.
    assert_eq!(s.due(local("2026-06-01T08:01:00")), []);
    // A clock stepping back does not ring it twice.
    assert_eq!(s.due(local("2026-06-01T07:59:00")), []);
    assert_eq!(s.due(local("2026-06-01T08:02:00")), []);

    // Down over 08:00, back at 08:05: missed, 5 minutes late.
    let mut s = Scheduler::new(vec![bell("morning", "0 8 * * *")], berlin()).unwrap();
    s.resume_from(local("2026-06-02T07:50:00"));
    assert_eq!(
        s.due(local("2026-06-02T08:05:00")),
        [Decision::Missed {
            bell: "morning".into(),
            at: local("2026-06-02T08:00:00"),
            late_by: Duration::from_secs(300),
        }]
    );
    // Exactly at the grace still rings; a configured grace of 10 min rings at 08:05.
    s.resume_from(local("2026-06-03T07:50:00"));
    assert!(matches!(
        s.due(local("2026-06-03T08:01:00")).as_slice(),
        [Decision::Ring { .. }]
    ));
    let mut s = s.with_grace(Duration::from_secs(600));
    s.resume_from(local("2026-06-04T07:50:00"));
    assert!(matches!(
        s.due(local("2026-06-04T08:05:00")).as_slice(),
        [Decision::Ring { .. }]
    ));
}

#[test]
fn sources_are_segments_without_the_microphone() {
    assert!(check_source("chime").is_ok());
    assert!(check_source("chime,file:bell.wav,tone:880:1").is_ok());
    assert!(
        check_source("mic:10")
            .unwrap_err()
            .rule
            .contains("unattended")
    );
    assert!(check_source("tone:5:1").is_err());
    assert!(check_source("").is_err());
}

#[test]
fn a_date_that_never_comes_lists_nothing_and_ends() {
    let s = Scheduler::new(vec![bell("never", "0 0 30 2 *")], berlin()).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(s.next_firings(utc("2026-01-01T00:00:00Z"), 3), []);
    assert!(t.elapsed() < Duration::from_secs(5));
    let s = Scheduler::new(vec![bell("daily", "@daily")], berlin()).unwrap();
    let f = s.next_firings(utc("2026-01-01T12:00:00Z"), 1);
    assert_eq!(at(&f), [utc("2026-01-01T23:00:00Z")]);
}
