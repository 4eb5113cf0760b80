//! The fault run of issue 24: a standby pair of `zonecast serve` processes (site `north`, `a`
//! preferred, `b` standby) on the same two emulated phones, one bell every 3 s, through at least
//! 100 occurrences while the faults of `docs/cluster.md`'s table are made one after another:
//! the leader killed (`SIGKILL`, then restarted), the leader paused 15 s (`SIGSTOP`/`SIGCONT`),
//! the leader cut from the store (its TCP link to nats-server broken), the LAN heartbeat cut
//! (a UDP relay between the two dropping everything), the store down (nats-server paused 15 s),
//! and the leader cut from its LAN (its links to the phones and the heartbeat cut; the store
//! kept). Each node reaches nats-server through a link of its own, each phone through a link of
//! its own, and its peer's heartbeat through the relay, so each fault hits what it names only.
//!
//! Counted at the phones: every occurrence is heard once. The nodes' logs say who rang what
//! (`bell tick due DUE: RungHere | RungElsewhere | RungWithoutStore | Missed`): no occurrence is
//! rung by both, none is missed but in the one window the table names (the leader killed while
//! ringing), and the phones heard as many pages as were rung. Every fault comes mid-page (the
//! hard case: the leader's phones tuned to its stream when it goes). `ZC_FAULTS_STORY=1` prints
//! both nodes' logs after a run that passed, too.

mod common;

use std::collections::BTreeMap;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::district_net::WanLink;
use common::nats::Nats;
use common::serve_node::{LanRelay, Node, free_udp_port, pair_configs};
use common::server::*;

/// Seconds between two occurrences of the bell.
const EVERY: i64 = 3;

/// `due -> [ends]` from the logs' `bell tick due DUE: END` lines (a restarted node's too).
fn ends(logs: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for log in logs {
        for (due, end) in log
            .lines()
            .filter_map(|l| l.split("bell tick due ").nth(1))
            .filter_map(|rest| rest.rsplit_once(": "))
        {
            let end = end.trim();
            if end.starts_with("Rung") || end == "Missed" {
                out.entry(due.to_owned()).or_default().push(end.to_owned());
            }
        }
    }
    out
}

/// Sleep until `secs` after the start.
fn at(start: Instant, secs: u64) {
    let t = start + Duration::from_secs(secs);
    if let Some(d) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

#[test]
fn a_standby_pair_rings_every_occurrence_once_through_every_single_fault() {
    let nats = Nats::start();
    let nats_addr = std::net::SocketAddr::from(([127, 0, 0, 1], nats.port));
    let (link_a, link_b) = (
        WanLink::start(nats_addr, Duration::ZERO),
        WanLink::start(nats_addr, Duration::ZERO),
    );
    let (hb_a, hb_b) = (free_udp_port(), free_udp_port());
    let lan = LanRelay::start(hb_a, hb_b);
    let bells = format!(
        "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"tick\"\n\
         cron = \"*/{EVERY} * * * * *\"\nzones = [\"first\"]\nsource = \"tone:1000:1\"\n\n"
    );
    let cluster = |node: &str, link: u16, listen: u16, peer: u16| {
        format!(
            "[cluster]\nurls = [\"nats://127.0.0.1:{link}\"]\nsite = \"north\"\nnode = \"{node}\"\n\
             pair = [\"a\", \"b\"]\nlease = \"1s\"\nclaim_wait = \"2s\"\n\
             heartbeat = {{ listen = \"127.0.0.1:{listen}\", peer = \"127.0.0.1:{peer}\" }}\n\n"
        )
    };
    let s = setup(
        2,
        &format!("{bells}{}", cluster("a", link_a.port, hb_a, lan.to_b)),
    );
    // Each node reaches each phone through a link of its own (pushes and the LAN probe).
    let (phones_a, phones_b) = pair_configs(
        &s,
        &cluster("a", link_a.port, hb_a, lan.to_b),
        &cluster("b", link_b.port, hb_b, lan.to_a),
    );
    // Every fault comes mid-page, the hard case: the bell rings within a tick (250 ms) of its
    // due second and plays 1 s, so half a second after a due second its page is on the phones.
    // The nodes start that far into a 3 s period, and each fault comes a whole number of periods
    // later.
    let period = EVERY * 1000;
    let into = chrono::Utc::now().timestamp_millis() % period;
    std::thread::sleep(Duration::from_millis(
        ((period + 500 - into) % period) as u64,
    ));
    let mut a = Node::new(s.path("zonecast.toml"));
    let mut b = Node::new(s.path("zonecast-b.toml"));
    let start = Instant::now();
    let first_due = chrono::Utc::now().timestamp() + 6;
    let leader = |a: &Node, b: &Node| -> &'static str {
        match (a.leads(), b.leads()) {
            (true, _) => "a",
            (false, true) => "b",
            _ => "",
        }
    };
    let mut kills = Vec::new();

    // The leader killed, and started again 15 s later.
    at(start, 15);
    let killed = leader(&a, &b);
    assert!(!killed.is_empty(), "nobody leads\n{}\n{}", a.log(), b.log());
    kills.push(chrono::Utc::now().timestamp());
    let victim = if killed == "a" { &mut a } else { &mut b };
    victim.kill();
    at(start, 30);
    victim.start();

    // The leader paused 15 s.
    at(start, 45);
    let paused = if leader(&a, &b) == "b" { &b } else { &a };
    paused.signal("-STOP");
    at(start, 60);
    paused.signal("-CONT");

    // The leader cut from the store 15 s (its link to nats-server broken, the LAN kept).
    at(start, 75);
    let cut = if leader(&a, &b) == "b" {
        &link_b
    } else {
        &link_a
    };
    cut.cut();
    at(start, 90);
    cut.restore();

    // The LAN heartbeat cut 15 s (the store kept).
    at(start, 105);
    lan.cut.store(true, Ordering::SeqCst);
    at(start, 120);
    lan.cut.store(false, Ordering::SeqCst);

    // The store down 15 s: nats-server paused.
    at(start, 135);
    nats.signal("-STOP");
    at(start, 150);
    nats.signal("-CONT");

    // The leader cut from its LAN 15 s: its phones and its peer (the store kept).
    at(start, 165);
    let lan_cut = if leader(&a, &b) == "b" {
        &phones_b
    } else {
        &phones_a
    };
    lan.cut.store(true, Ordering::SeqCst);
    lan_cut.iter().for_each(WanLink::cut);
    at(start, 180);
    lan_cut.iter().for_each(WanLink::restore);
    lan.cut.store(false, Ordering::SeqCst);

    // Quiet until at least 100 occurrences have come, then stop between two of them (1.5 s
    // after one: rung and heard, the next not due).
    let last_due = first_due + 100 * EVERY + 6;
    while chrono::Utc::now().timestamp() < last_due
        || chrono::Utc::now().timestamp_millis() % (EVERY * 1000) < 1500
        || chrono::Utc::now().timestamp_millis() % (EVERY * 1000) > 2000
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    a.kill();
    b.kill();
    let (log_a, log_b) = (a.log(), b.log());
    let ends = ends(&[&log_a, &log_b]);
    // (`heard` keeps the last 16 streams; the counter counts every start.)
    let heard = s.report().phones[0].counters.rx_started as usize;
    let story = format!("--- a\n{log_a}\n--- b\n{log_b}");
    if std::env::var_os("ZC_FAULTS_STORY").is_some() {
        eprintln!("{story}");
    }

    // No occurrence rung twice, by anyone, ever.
    let rang = |e: &[String]| {
        e.iter()
            .filter(|x| *x == "RungHere" || *x == "RungWithoutStore")
            .count()
    };
    for (due, e) in &ends {
        assert!(rang(e) <= 1, "{due} rung {} times: {e:?}\n{story}", rang(e));
    }
    let rung_all: usize = ends.values().map(|e| rang(e)).sum();
    // None missed in the window, but where the table allows it: the leader killed while
    // ringing (its log line lost with it, the phones may have heard it), one per kill.
    let mut in_window = 0;
    let mut unexplained = Vec::new();
    let mut killed_while_ringing = 0;
    for due in (first_due..=last_due).filter(|t| t % EVERY == 0) {
        in_window += 1;
        let key = chrono::DateTime::from_timestamp(due, 0)
            .expect("instant")
            .to_string();
        let e = ends.get(&key).cloned().unwrap_or_default();
        if rang(&e) == 1 {
            continue;
        }
        let near_kill = kills.iter().any(|k| (k - 4..=*k).contains(&due));
        if near_kill && killed_while_ringing < kills.len() {
            killed_while_ringing += 1;
        } else {
            unexplained.push((key, e));
        }
    }
    assert!(in_window >= 100, "only {in_window} occurrences in the run");
    assert!(unexplained.is_empty(), "missed: {unexplained:?}\n{story}");
    // Each occurrence heard once: the pages the phones heard are those rung, plus the one a
    // killed leader rang without living to log it.
    assert!(
        heard >= rung_all && heard <= rung_all + killed_while_ringing,
        "p001 heard {heard} pages for {rung_all} occurrences rung ({killed_while_ringing} \
         unlogged by a killed leader)\n{story}"
    );
    let storeless = ends
        .values()
        .flatten()
        .filter(|e| *e == "RungWithoutStore")
        .count();
    // The leader killed and the leader paused, each mid-page, left their phones tuned to a
    // stream that no longer came: the next ringer found the claim `ringing` and its holder
    // silent, and stopped them before it rang.
    let orphaned = story
        .matches("which is silent: stopping its phones")
        .count();
    eprintln!(
        "{in_window} occurrences in the run, {rung_all} rung once ({storeless} without the \
         store), {heard} heard at the phone; {orphaned} left ringing by a silent node"
    );
    assert!(
        orphaned >= 2,
        "the leader was killed and paused mid-page, yet {orphaned} claims were found left \
         ringing\n{story}"
    );
    assert!(
        storeless > 0,
        "the store was down 15 s and nothing rang without it\n{story}"
    );
}
