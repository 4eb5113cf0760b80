//! A standby pair of `zonecast serve` processes (site `north`, nodes `a` and `b`) against a real
//! nats-server on a free loopback port, with one bell every 4 s on two emulated phones: each
//! occurrence both nodes saw is rung by exactly one of them (its log says `RungHere`, the other's
//! `RungElsewhere`), and the phones heard one page per occurrence rung. A bell page whose stops
//! cannot reach its phones (its node cut from its LAN as it plays) leaves them to the peer,
//! which stops them before it rings the next occurrence.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cli_setup::PW_ENV;
use common::district_net::WanLink;
use common::nats::Nats;
use common::serve_node::{LanRelay, Node, free_udp_port, pair_configs};
use common::server::*;
use zonecast::phone_sim::config::DEFAULT_PASSWORD;

/// The second node: `zonecast serve` on the same phones with its own config file; its log.
struct Standby {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Standby {
    fn start(config: &std::path::Path) -> Standby {
        let mut child = common::zonecast()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env(PW_ENV, DEFAULT_PASSWORD)
            .env(TOKEN_ENV, TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zonecast serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        Standby { child, log }
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `due -> end` from a log's `bell tick due DUE: END` lines.
fn ends(log: &str) -> BTreeMap<String, String> {
    log.lines()
        .filter_map(|l| l.split("bell tick due ").nth(1))
        .filter_map(|rest| rest.rsplit_once(": "))
        .map(|(due, end)| (due.to_owned(), end.trim().to_owned()))
        .filter(|(_, end)| end.starts_with("Rung") || end == "Missed")
        .collect()
}

#[test]
fn a_standby_pair_of_servers_rings_each_bell_once() {
    let nats = Nats::start();
    let bells = "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"tick\"\n\
                 cron = \"*/4 * * * * *\"\nzones = [\"first\"]\nsource = \"tone:1000:1\"\n\n";
    let cluster = format!(
        "[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\nnode = \"a\"\n\
         pair = [\"a\", \"b\"]\nlease = \"2s\"\n\n",
        nats.port
    );
    let s = setup(2, &format!("{bells}{cluster}"));
    let a = Server::start(&s);
    let text = std::fs::read_to_string(s.path("zonecast.toml")).expect("config");
    let text_b = text
        .replace("node = \"a\"", "node = \"b\"")
        .replace("data_dir = \"data\"", "data_dir = \"data-b\"");
    assert_ne!(text, text_b);
    std::fs::write(s.path("zonecast-b.toml"), text_b).expect("config b");
    let b = Standby::start(&s.path("zonecast-b.toml"));
    // Five occurrences or so; stop between two (2.5 s after one: rung, the next not due).
    std::thread::sleep(Duration::from_secs(20));
    loop {
        let ms = chrono::Utc::now().timestamp_millis() % 4000;
        if (2500..3000).contains(&ms) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let heard = s.report().phones[0].heard.len();
    let (log_a, log_b) = (a.log(), b.log.lock().unwrap().clone());
    let (ends_a, ends_b) = (ends(&log_a), ends(&log_b));
    let mut both = 0;
    for (due, end_a) in &ends_a {
        let Some(end_b) = ends_b.get(due) else {
            continue;
        };
        both += 1;
        let mut pair = [end_a.as_str(), end_b.as_str()];
        pair.sort();
        assert_eq!(
            pair,
            ["RungElsewhere", "RungHere"],
            "{due}: a {end_a}, b {end_b}\n--- a\n{log_a}\n--- b\n{log_b}"
        );
    }
    assert!(
        both >= 3,
        "only {both} occurrences seen by both\n--- a\n{log_a}\n--- b\n{log_b}"
    );
    // Every occurrence either node rang was heard once (a rang alone until b joined).
    let rung: usize = [&ends_a, &ends_b]
        .iter()
        .map(|e| e.values().filter(|v| *v == "RungHere").count())
        .sum();
    assert_eq!(
        heard, rung,
        "p001 heard {heard} pages for {rung} occurrences rung"
    );
    eprintln!(
        "{both} occurrences seen by both nodes, each rung by one; {rung} rung, {heard} heard"
    );
}

/// A standby pair with its LAN heartbeat through a relay, each node reaching each phone through
/// a link of its own, ringing a 3 s bell every 6 s on two phones.
struct LongBellPair {
    nodes: [Node; 2],
    /// Each node's links to the phones (a's, b's).
    links: [Vec<WanLink>; 2],
    lan: LanRelay,
    s: common::cli_setup::Setup,
    _nats: Nats,
}

impl LongBellPair {
    fn start() -> LongBellPair {
        let nats = Nats::start();
        let (hb_a, hb_b) = (free_udp_port(), free_udp_port());
        let lan = LanRelay::start(hb_a, hb_b);
        let bells = "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"long\"\n\
                     cron = \"*/6 * * * * *\"\nzones = [\"first\"]\nsource = \"tone:1000:3\"\n\n";
        let cluster = |node: &str, listen: u16, peer: u16| {
            format!(
                "[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\n\
                 node = \"{node}\"\npair = [\"a\", \"b\"]\nlease = \"1s\"\nclaim_wait = \"2s\"\n\
                 heartbeat = {{ listen = \"127.0.0.1:{listen}\", peer = \"127.0.0.1:{peer}\" }}\n\n",
                nats.port
            )
        };
        let s = setup(2, &format!("{bells}{}", cluster("a", hb_a, lan.to_b)));
        let (links_a, links_b) = pair_configs(
            &s,
            &cluster("a", hb_a, lan.to_b),
            &cluster("b", hb_b, lan.to_a),
        );
        LongBellPair {
            nodes: [
                Node::new(s.path("zonecast.toml")),
                Node::new(s.path("zonecast-b.toml")),
            ],
            links: [links_a, links_b],
            lan,
            s,
            _nats: nats,
        }
    }

    fn story(&self) -> String {
        format!(
            "--- a\n{}\n--- b\n{}",
            self.nodes[0].log(),
            self.nodes[1].log()
        )
    }

    /// Wait up to `secs` for `f`, failing with both logs.
    fn until(&self, secs: u64, what: &str, f: impl Fn(&LongBellPair) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while !f(self) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.story()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for a bell page playing at both phones; the node leading that rang it.
    fn ringing(&self) -> usize {
        let rang = |n: &Node| n.leads() && n.log().contains("started: zone first by bell:long");
        self.until(30, "a bell page playing", |p| {
            (rang(&p.nodes[0]) || rang(&p.nodes[1])) && listening(&p.s.report()) == 2
        });
        if rang(&self.nodes[0]) { 0 } else { 1 }
    }

    /// Pages started at the first phone.
    fn started(&self) -> u64 {
        self.s.report().phones[0].counters.rx_started
    }

    /// The node ringing now falls silent a second into its page (`silence`: killed, paused);
    /// the other node finds its claim left `ringing`, stops the phones and rings the next
    /// occurrence. Returns (the silent node, the other, pages started once the other's plays).
    fn silenced_mid_page(&mut self, silence: impl FnOnce(&mut Node)) -> (usize, usize, u64) {
        let first = self.ringing();
        let other = 1 - first;
        std::thread::sleep(Duration::from_secs(1));
        let heard = self.started();
        silence(&mut self.nodes[first]);
        self.until(20, "the other node's page playing", |p| {
            p.nodes[other]
                .log()
                .contains("which is silent: stopping its phones")
                && p.started() > heard
                && listening(&p.s.report()) == 2
        });
        (first, other, self.started())
    }

    /// The other node's page, started as the `theirs`th, plays to its end, and no page after it.
    fn theirs_heard_whole(&self, theirs: u64) {
        self.until(20, "the other node's page ended", |p| {
            listening(&p.s.report()) == 0
        });
        assert_eq!(
            self.started(),
            theirs,
            "another page started\n{}",
            self.story()
        );
        self.heard_whole("the other node's 3 s page");
    }

    /// Every phone's last page was heard to its end (3 s: 150 packets, a few lost allowed).
    fn heard_whole(&self, what: &str) {
        for phone in &self.s.report().phones {
            let last = phone.heard.last().expect("a page heard");
            assert!(
                last.rx.summary.packets >= 140,
                "{}: {what} was cut at {} packets\n{}",
                phone.name,
                last.rx.summary.packets,
                self.story()
            );
        }
    }
}

/// The node leading a pair rings a 3 s bell page; as it plays, that node is cut from its LAN
/// (its links to the phones and the heartbeat; the store kept), so the page's stops cannot
/// reach the phones, which stay tuned to a stream that no longer comes. It lists them in the
/// store; the other node, ringing the next occurrence, stops them first, and the phones hear
/// its page (without the list they refuse it as "already active"). Back on its LAN, the first
/// node sees that the other took them and sends no stop of its own (one now could cut the
/// other's next page).
#[test]
fn a_bell_page_whose_stops_cannot_reach_its_phones_leaves_them_to_the_peer() {
    let p = LongBellPair::start();
    let first = p.ringing();
    let other = 1 - first;
    p.lan.cut.store(true, std::sync::atomic::Ordering::SeqCst);
    p.links[first].iter().for_each(WanLink::cut);
    let heard = p.started();
    p.until(10, "its page ended, its stops failed", |p| {
        p.nodes[first]
            .log()
            .contains("tuned; the next ring stops them")
    });
    assert_eq!(listening(&p.s.report()), 2, "stopped through a cut link");
    // The other node rings the next occurrence, stopping them first: heard.
    p.until(20, "the phones hearing the other node's page", |p| {
        p.started() > heard && p.nodes[other].log().contains("RungHere")
    });
    assert!(
        p.nodes[other]
            .log()
            .contains("stopping phones a bell page left tuned: [\"p001\", \"p002\"]"),
        "{}",
        p.story()
    );
    // The first, back on its LAN, sees the other took them: no stop of its own.
    p.links[first].iter().for_each(WanLink::restore);
    p.lan.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    p.until(40, "the first node seeing the other stopped them", |p| {
        p.nodes[first]
            .log()
            .matches("was stopped by the pair's other node")
            .count()
            == 2
    });
    assert!(
        !p.nodes[first].log().contains("phone p001 stopped (page"),
        "{}",
        p.story()
    );
}

/// The node leading a pair rings a 3 s bell page and is killed (`SIGKILL`) as it plays; the
/// other node, ringing the next occurrence, finds the claim left `ringing` by a silent node,
/// stops the phones and pages them. The killed node is started again while that page plays: its
/// journal lists the phones of its own page as never stopped, but the claim says the other node
/// took them, so it leaves them alone, and the other node's page is heard to its end (before,
/// the restart's recovery stopped the phones and cut it short). Then the other node is killed
/// mid-page and started again at once: the claim still its own, it stops the phones itself.
#[test]
fn a_leader_killed_mid_page_and_started_again_leaves_the_peers_page_playing() {
    let mut p = LongBellPair::start();
    let (first, other, theirs) = p.silenced_mid_page(Node::kill);
    p.nodes[first].start();
    p.until(20, "the killed node's journal settled", |p| {
        p.nodes[first]
            .log()
            .contains("left to the pair's other node")
    });
    p.theirs_heard_whole(theirs);
    assert!(
        !p.nodes[first].log().contains("recovered"),
        "the killed node stopped the phones at its start\n{}",
        p.story()
    );

    // Now the other node is killed as its next page plays and started again at once, before
    // anyone rings: its claim is still its own, so it stops the phones itself and closes it.
    p.until(20, "the other node's next page playing", |p| {
        p.started() > theirs && listening(&p.s.report()) == 2
    });
    std::thread::sleep(Duration::from_secs(1));
    let silent_before = p.nodes[first].log().matches("which is silent").count();
    p.nodes[other].kill();
    let restarted = p.started();
    p.nodes[other].start();
    p.until(20, "the phones stopped by the restarted node", |p| {
        p.nodes[other].log().contains("recovered 2 of 2 phones") && listening(&p.s.report()) == 0
    });
    // The first node rings the next occurrence; nothing was left for it to stop.
    p.until(20, "the next page heard", |p| p.started() > restarted);
    assert_eq!(
        p.nodes[first].log().matches("which is silent").count(),
        silent_before,
        "a claim the restarted node closed was taken for a silent node's\n{}",
        p.story()
    );
}

/// The node leading a pair rings a 3 s bell page and is paused (`SIGSTOP`) a second in; the
/// other node, ringing the next occurrence, finds the claim left `ringing` by a silent node,
/// stops the phones and pages them. The paused node wakes (`SIGCONT`) while that page plays:
/// its own page ends at once, and before its stops it asks the claim, which says the other node
/// took the phones, so it sends none, and the other node's page is heard to its end (before,
/// the woken page's stops cut it short).
#[test]
fn a_leader_paused_mid_page_leaves_the_peers_page_playing_when_it_wakes() {
    let mut p = LongBellPair::start();
    let (first, _, theirs) = p.silenced_mid_page(|n| n.signal("-STOP"));
    p.nodes[first].signal("-CONT");
    p.until(20, "the woken node's page ended", |p| {
        p.nodes[first]
            .log()
            .contains("taken over by the pair's other node")
    });
    p.theirs_heard_whole(theirs);
}
