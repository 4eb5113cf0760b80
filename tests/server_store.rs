//! The server's SQLite journal on real files, opened twice as two processes would.

use std::path::Path;

use zonecast::page::journal::{JournalOp, JournalPhone, PageRecord};
use zonecast::page::report::Totals;
use zonecast::page::{DeliveryReport, PhoneReport, PhoneState};
use zonecast::server::store::{PageStart, Store};

/// The pid of a process that has exited: a page "killed" mid-run.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn record(page: &str, pid: u32, phones: &[&str]) -> PageRecord {
    PageRecord {
        page: page.into(),
        pid,
        zone: "hall".into(),
        priority: "normal".into(),
        rank: 1,
        started_ms: 1_000,
        phones: phones
            .iter()
            .map(|n| JournalPhone {
                name: (*n).into(),
                stop_xml: format!(
                    "<CiscoIPPhoneExecute><ExecuteItem URL=\"RTPRx:Stop\"/></CiscoIPPhoneExecute><!-- {n} -->"
                ),
                expect_reply: true,
            })
            .collect(),
        group: Some("239.255.10.1".parse().unwrap()),
        port: Some(20480),
    }
}

fn report(page: &str, phones: &[&str]) -> DeliveryReport {
    let mut r = DeliveryReport {
        page: page.into(),
        zone: "hall".into(),
        priority: "normal".into(),
        delivery: "multicast 239.255.10.1:20480".into(),
        ended_by: "recovered".into(),
        last_accept: None,
        duration: std::time::Duration::from_secs(1),
        totals: Totals::default(),
        phones: phones
            .iter()
            .map(|n| PhoneReport {
                name: (*n).into(),
                model: "8845".into(),
                state: PhoneState::Stopped,
                planned: true,
                pushed: true,
                accepted: true,
                failure: None,
                accept: Some(std::time::Duration::from_millis(40)),
                banner: None,
                stopped: true,
                stop_failure: None,
                receiving: None,
                fallback_unicast: false,
                codec: "g711",
                g722_refused: None,
                app_events: Vec::new(),
                ended: None,
            })
            .collect(),
    };
    r.compute_totals();
    r
}

fn open(path: &Path) -> Store {
    Store::open(path).unwrap()
}

#[test]
fn two_opens_see_each_others_pages_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("var/zonecast.db");
    let server = open(&path);
    let cli = open(&path);
    server
        .journal()
        .begin(&record("server-page", std::process::id(), &["p1"]))
        .unwrap();
    cli.journal()
        .begin(&record("cli-page", std::process::id(), &["p2", "p3"]))
        .unwrap();
    for s in [&server, &cli] {
        let pages = s.journal().pages().unwrap();
        let ids: Vec<&str> = pages.iter().map(|p| p.record.page.as_str()).collect();
        assert_eq!(ids, ["server-page", "cli-page"]);
        assert!(pages.iter().all(|p| p.alive && !p.needs_recovery()));
    }
    // One ends its page; the other sees it gone.
    cli.journal()
        .record("cli-page", &JournalOp::End { unstopped: vec![] })
        .unwrap();
    let pages = server.journal().pages().unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].record.page, "server-page");
    assert!(server.integrity_ok().unwrap());
}

#[test]
fn two_opens_write_at_once_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zonecast.db");
    drop(open(&path));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let s = open(&path);
                let j = s.journal();
                for i in 0..25 {
                    let id = format!("w{w}-{i}");
                    j.begin(&record(&id, std::process::id(), &["p1", "p2"]))
                        .unwrap();
                    j.record(
                        &id,
                        &JournalOp::Stopped {
                            phones: vec!["p1".into()],
                        },
                    )
                    .unwrap();
                    s.set_state(&format!("w{w}"), &i.to_string()).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let s = open(&path);
    let pages = s.journal().pages().unwrap();
    assert_eq!(pages.len(), 50);
    assert!(pages.iter().all(|p| p.remaining.len() == 1));
    assert_eq!(s.get_state("w0").unwrap().as_deref(), Some("24"));
    assert_eq!(s.get_state("w1").unwrap().as_deref(), Some("24"));
}

#[test]
fn a_killed_page_needs_recovery_until_its_phones_are_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zonecast.db");
    let id = "page-killed";
    {
        // The process that ran it.
        let s = open(&path);
        s.page_started(&PageStart {
            page: id.into(),
            zone: "hall".into(),
            priority: "normal".into(),
            source: "tone:800:5".into(),
            banner: None,
            requested_by: "api".into(),
            started_ms: 1_000,
        })
        .unwrap();
        s.journal()
            .begin(&record(id, dead_pid(), &["p1", "p2"]))
            .unwrap();
        s.journal()
            .record(
                id,
                &JournalOp::Stopped {
                    phones: vec!["p1".into()],
                },
            )
            .unwrap();
    } // killed: nothing more is written

    // The next process.
    let s = open(&path);
    let j = s.journal();
    let pages = j.pages().unwrap();
    assert_eq!(pages.len(), 1);
    let p = &pages[0];
    assert!(!p.alive && !p.ended && p.needs_recovery());
    let left = p.remaining_phones();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "p2");
    assert!(left[0].stop_xml.contains("RTPRx:Stop") && left[0].stop_xml.contains("p2"));
    assert!(left[0].expect_reply);

    // What `recover` does once the stop is pushed.
    j.record(
        id,
        &JournalOp::Stopped {
            phones: vec!["p2".into()],
        },
    )
    .unwrap();
    j.record(id, &JournalOp::End { unstopped: vec![] }).unwrap();
    assert!(j.pages().unwrap().is_empty());
    s.page_finished(&report(id, &["p1", "p2"]), 9_000).unwrap();

    let d = s.page(id).unwrap().expect("kept in the history");
    assert_eq!(d.summary.start.source, "tone:800:5");
    assert_eq!(d.summary.ended_ms, Some(9_000));
    assert_eq!(d.summary.ended_by.as_deref(), Some("recovered"));
    assert_eq!(d.summary.phones, 2);
    assert_eq!(d.outcomes.len(), 2);
    assert!(d.outcomes.iter().all(|o| o.state == "stopped"));
    assert_eq!(s.pages(10).unwrap()[0].start.page, id);
    // And a reopen agrees.
    drop(s);
    let s = open(&path);
    assert!(s.journal().pages().unwrap().is_empty());
    assert!(s.page(id).unwrap().is_some());
}
