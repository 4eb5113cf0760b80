use super::*;
use crate::page::journal::tests::{dead_pid, names, record, semantics};
use crate::page::report::Totals;
use crate::page::{Failure, PhoneReport};

fn db(dir: &Path) -> PathBuf {
    dir.join("state/zonecast.db")
}

fn start(id: &str, started_ms: i64) -> PageStart {
    PageStart {
        page: id.into(),
        zone: "all".into(),
        priority: "normal".into(),
        source: "chime".into(),
        banner: Some("Fire drill".into()),
        requested_by: "api".into(),
        started_ms,
    }
}

fn phone(name: &str, state: PhoneState, failure: Option<&str>, stop: Option<&str>) -> PhoneReport {
    let f = |r: &str| Failure {
        kind: crate::page::report::FailureKind::Timeout,
        reason: r.into(),
    };
    PhoneReport {
        name: name.into(),
        model: "8845".into(),
        state,
        planned: true,
        pushed: true,
        accepted: failure.is_none(),
        failure: failure.map(f),
        accept: None,
        banner: None,
        stopped: state == PhoneState::Stopped,
        stop_failure: stop.map(f),
        receiving: None,
        fallback_unicast: false,
        codec: "g711",
        g722_refused: None,
        app_events: Vec::new(),
        ended: None,
    }
}

fn report(id: &str, phones: Vec<PhoneReport>) -> DeliveryReport {
    let mut r = DeliveryReport {
        page: id.into(),
        zone: "all".into(),
        priority: "normal".into(),
        delivery: "multicast 239.255.10.1:20480".into(),
        ended_by: "source ended".into(),
        last_accept: None,
        duration: std::time::Duration::from_secs(5),
        totals: Totals::default(),
        phones,
    };
    r.compute_totals();
    r
}

fn pragma<T: rusqlite::types::FromSql>(s: &Store, name: &str) -> T {
    s.inner
        .run(|c| c.pragma_query_value(None, name, |r| r.get(0)))
        .unwrap()
}

#[test]
fn the_journal_semantics_hold_in_sqlite() {
    semantics(&|dir| Store::open(&db(dir)).unwrap().journal());
}

#[test]
fn open_sets_durability_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    assert!(db(dir.path()).exists());
    assert_eq!(s.schema_version().unwrap(), Store::latest_schema_version());
    assert_eq!(pragma::<String>(&s, "journal_mode"), "wal");
    assert_eq!(pragma::<i64>(&s, "synchronous"), 2); // FULL
    assert_eq!(pragma::<i64>(&s, "foreign_keys"), 1);
    assert_eq!(pragma::<i64>(&s, "busy_timeout"), 5_000);
    s.set_state("k", "v1").unwrap();
    // A second open (another process) while the first is open, then after it is gone.
    let t = Store::open(&db(dir.path())).unwrap();
    assert_eq!(t.get_state("k").unwrap().as_deref(), Some("v1"));
    drop((s, t));
    let s = Store::open(&db(dir.path())).unwrap();
    assert_eq!(s.schema_version().unwrap(), Store::latest_schema_version());
    assert_eq!(s.get_state("k").unwrap().as_deref(), Some("v1"));
    assert!(s.integrity_ok().unwrap());
    assert_eq!(s.path(), db(dir.path()));
    assert_eq!(s.journal().path(), db(dir.path()));
}

#[test]
fn a_version_1_database_upgrades_keeping_its_pages() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = open_at(&db(dir.path()), 1).unwrap();
    assert_eq!(v1.schema_version().unwrap(), 1);
    assert!(v1.get_state("k").is_err(), "no state table in v1");
    v1.journal()
        .begin(&record("old", dead_pid(), &["p1"]))
        .unwrap();
    drop(v1);
    let s = Store::open(&db(dir.path())).unwrap();
    assert_eq!(s.schema_version().unwrap(), Store::latest_schema_version());
    let pages = s.journal().pages().unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].needs_recovery());
    // Version 4: history from before the district journal counts as sent.
    let published: i64 = s
        .read_with(|c| {
            c.query_row("SELECT published FROM pages WHERE id = 'old'", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert_eq!(published, 1);
    s.set_state("k", "v").unwrap();
    s.bell(&BellEvent {
        bell: "lunch".into(),
        due_ms: 1,
        outcome: "fired".into(),
        pages: vec!["old".into()],
        detail: None,
        token: None,
    })
    .unwrap();
    assert!(s.integrity_ok().unwrap());
}

#[test]
fn a_newer_database_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(&db(dir.path())).unwrap());
    let c = Connection::open(db(dir.path())).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let e = Store::open(&db(dir.path())).unwrap_err().to_string();
    let known = format!("({})", Store::latest_schema_version());
    assert!(e.contains("99") && e.contains(&known), "{e}");
    assert!(e.contains("zonecast.db"), "{e}");
}

#[test]
fn an_unopenable_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    // Its "directory" is a file.
    let e = Store::open(&file.join("zonecast.db")).unwrap_err();
    assert!(matches!(e, StoreError::Io { .. }), "{e:?}");
    // Not a database.
    std::fs::write(&file, "this is not a database, just some text long enough").unwrap();
    let e = Store::open(&file).unwrap_err();
    assert!(matches!(e, StoreError::Sqlite { .. }), "{e:?}");
}

#[test]
fn a_page_runs_from_start_to_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    let j = s.journal();
    s.page_started(&start("a", 1_000)).unwrap();
    let mut r = record("a", std::process::id(), &["p1", "p2", "p3", "p4"]);
    r.rank = 2;
    r.started_ms = 1_000;
    r.group = Some(std::net::Ipv4Addr::new(239, 255, 10, 1));
    r.port = Some(20480);
    j.begin(&r).unwrap();
    let pages = j.pages().unwrap();
    assert_eq!(pages[0].record, r);
    assert!(pages[0].alive);
    // In flight, the history already shows it, unended.
    let h = s.pages(10).unwrap();
    assert_eq!(h[0].start.source, "chime");
    assert_eq!(h[0].start.banner.as_deref(), Some("Fire drill"));
    assert_eq!(h[0].ended_ms, None);
    j.record(
        "a",
        &JournalOp::Stopped {
            phones: vec!["p1".into(), "p2".into()],
        },
    )
    .unwrap();
    j.record(
        "a",
        &JournalOp::End {
            unstopped: vec!["p4".into()],
        },
    )
    .unwrap();
    let pages = j.pages().unwrap();
    assert!(pages[0].ended && pages[0].needs_recovery());
    assert_eq!(names(&pages[0]), ["p4"]);
    s.page_finished(
        &report(
            "a",
            vec![
                phone("p1", PhoneState::Stopped, None, None),
                phone("p2", PhoneState::StoppedByUser, None, None),
                phone("p3", PhoneState::Failed, Some("no answer in time"), None),
                phone("p4", PhoneState::StopFailed, None, Some("stop timed out")),
            ],
        ),
        6_000,
    )
    .unwrap();
    let d = s.page("a").unwrap().unwrap();
    assert_eq!(d.summary.start.requested_by, "api");
    assert_eq!(d.summary.start.started_ms, 1_000);
    assert_eq!(d.summary.ended_ms, Some(6_000));
    assert_eq!(d.summary.ended_by.as_deref(), Some("source ended"));
    assert_eq!(
        (d.summary.accepted, d.summary.failed, d.summary.phones),
        (3, 1, 4)
    );
    let got: Vec<(&str, &str, Option<&str>)> = d
        .outcomes
        .iter()
        .map(|o| (o.phone.as_str(), o.state.as_str(), o.failure.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("p1", "stopped", None),
            ("p2", "stopped_by_user", None),
            ("p3", "failed", Some("no answer in time")),
            ("p4", "stop_failed", Some("stop timed out")),
        ]
    );
    assert!(d.outcomes.iter().all(|o| o.at_ms == 6_000 && o.page == "a"));
    // Still in the journal until p4 is stopped; then only history.
    assert_eq!(j.pages().unwrap().len(), 1);
    j.record(
        "a",
        &JournalOp::Stopped {
            phones: vec!["p4".into()],
        },
    )
    .unwrap();
    assert!(j.pages().unwrap().is_empty());
    assert_eq!(s.page("a").unwrap().unwrap().outcomes.len(), 4);
    assert!(s.page("nope").unwrap().is_none());
}

#[test]
fn begin_before_page_started_and_finished_without_either() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    let j = s.journal();
    let pid = dead_pid();
    j.begin(&record("b", pid, &["p1"])).unwrap();
    s.page_started(&start("b", 7)).unwrap();
    let pages = j.pages().unwrap();
    assert_eq!(pages[0].record.pid, pid);
    assert!(pages[0].needs_recovery());
    assert_eq!(pages[0].remaining_phones()[0].stop_xml, "<stop p1/>");
    assert_eq!(s.page("b").unwrap().unwrap().summary.start.source, "chime");
    // A page the store never saw start (e.g. run by the CLI with a file journal).
    s.page_finished(
        &report("c", vec![phone("p1", PhoneState::Stopped, None, None)]),
        10_000,
    )
    .unwrap();
    let c = s.page("c").unwrap().unwrap();
    assert_eq!(c.summary.start.started_ms, 5_000);
    assert_eq!(c.outcomes.len(), 1);
    // Not begun: not in the journal.
    assert_eq!(j.pages().unwrap().len(), 1);
    // page_started alone is not in the journal either.
    s.page_started(&start("d", 8)).unwrap();
    assert_eq!(j.pages().unwrap().len(), 1);
}

#[test]
fn history_is_newest_first_and_phone_status_is_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    for (i, id) in ["p-1", "p-2", "p-3"].into_iter().enumerate() {
        let t = 1_000 * (i as i64 + 1);
        s.page_started(&start(id, t)).unwrap();
        let state = if i == 2 {
            PhoneState::Failed
        } else {
            PhoneState::Stopped
        };
        let fail = (i == 2).then_some("unreachable");
        s.page_finished(
            &report(
                id,
                vec![
                    phone("lobby", state, fail, None),
                    phone(&format!("only-{i}"), PhoneState::Stopped, None, None),
                ],
            ),
            t + 500,
        )
        .unwrap();
    }
    let ids: Vec<String> = s
        .pages(2)
        .unwrap()
        .into_iter()
        .map(|p| p.start.page)
        .collect();
    assert_eq!(ids, ["p-3", "p-2"]);
    assert_eq!(s.pages(100).unwrap().len(), 3);
    let st = s.phone_status().unwrap();
    let names: Vec<&str> = st.iter().map(|p| p.phone.as_str()).collect();
    assert_eq!(names, ["lobby", "only-0", "only-1", "only-2"]);
    assert_eq!(st[0].last_seen_ms, 3_500);
    assert_eq!(st[0].last_outcome, "failed");
    assert_eq!(st[0].failure.as_deref(), Some("unreachable"));
    assert_eq!(st[1].last_seen_ms, 1_500);
}

#[test]
fn bells_recoveries_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    for (due, outcome) in [(10, "fired"), (30, "missed"), (20, "fired")] {
        s.bell(&BellEvent {
            bell: format!("b{due}"),
            due_ms: due,
            outcome: outcome.into(),
            pages: if outcome == "fired" {
                vec![format!("page-{due}"), "x".into()]
            } else {
                vec![]
            },
            detail: (outcome == "missed").then(|| "server was down".into()),
            token: (outcome == "fired").then_some(due as u64),
        })
        .unwrap();
    }
    let b = s.bells(2).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].due_ms, b[0].outcome.as_str()), (30, "missed"));
    assert_eq!(b[0].detail.as_deref(), Some("server was down"));
    assert_eq!(b[1].pages, ["page-20", "x"]);
    assert_eq!(
        (b[0].token, b[1].token),
        (None, Some(20)),
        "the fencing token kept"
    );

    s.recovered(&[], 1).unwrap();
    s.recovered(
        &[
            Recovered {
                page: "a".into(),
                phone: "p1".into(),
                stopped: true,
                error: None,
            },
            Recovered {
                page: "a".into(),
                phone: "p2".into(),
                stopped: false,
                error: Some("Timeout".into()),
            },
        ],
        42,
    )
    .unwrap();
    let r = s.recoveries(10).unwrap();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|x| x.at_ms == 42));
    assert!(
        r.iter()
            .any(|x| x.phone == "p2" && !x.stopped && x.error.is_some())
    );

    assert_eq!(s.get_state("last_run").unwrap(), None);
    s.set_state("last_run", "1").unwrap();
    s.set_state("last_run", "2").unwrap();
    assert_eq!(s.get_state("last_run").unwrap().as_deref(), Some("2"));
}

#[test]
fn no_password_column_and_clones_share_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    let schema: Vec<String> = s
        .inner
        .run(|c| {
            c.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .unwrap();
    assert!(!schema.is_empty());
    assert!(
        schema
            .iter()
            .all(|t| !t.to_lowercase().contains("password"))
    );
    let t = s.clone();
    t.set_state("a", "b").unwrap();
    assert_eq!(s.get_state("a").unwrap().as_deref(), Some("b"));
    fn send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    send_sync::<Store>();
}

#[test]
fn threads_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db(dir.path())).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let j = s.journal();
                for i in 0..10 {
                    let id = format!("t{t}-{i}");
                    j.begin(&record(&id, std::process::id(), &["p1", "p2"]))
                        .unwrap();
                    j.record(&id, &JournalOp::End { unstopped: vec![] })
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(s.journal().pages().unwrap().is_empty());
    assert_eq!(s.pages(1000).unwrap().len(), 40);
    assert!(s.pages(1000).unwrap().iter().all(|p| p.ended_ms.is_some()));
}
