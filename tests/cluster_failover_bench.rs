//! Bell leader failover time (issue 24's benchmark, BENCHMARKS.md "Bell leader failover"): a
//! standby pair of `zonecast serve` processes with the default lease (4 s) and claim wait (5 s),
//! one bell every 10 s on two emulated phones; the leader is killed (`SIGKILL`) at a chosen
//! moment before an occurrence, and the survivor's log says when it took the lease and when it
//! started the page of that occurrence. Two moments: 8.5 s before the due instant (the survivor
//! leads by then and rings on time) and 0.5 s before (the worst case: the survivor is still a
//! follower at the due instant and claims the moment it comes to lead). Three kills each, the
//! killed node restarted between them.
//!
//! `cargo test --release --test cluster_failover_bench -- --ignored --nocapture`

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::nats::Nats;
use common::serve_node::Node;
use common::server::*;

const EVERY_MS: i64 = 10_000;

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port()
}

/// The instant of the first log line after `after` that contains `needle`.
fn logged(log: &str, needle: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    log.lines().filter(|l| l.contains(needle)).find_map(|l| {
        let plain: String = strip_ansi(l);
        let t = plain.split_whitespace().next()?;
        let t = DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc);
        (t > after).then_some(t)
    })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\u{1b}') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

/// Sleep until `ms` before the next due instant that is at least that far away; that instant.
fn before_next_due(ms: i64) -> DateTime<Utc> {
    let now = Utc::now().timestamp_millis();
    let mut due = (now / EVERY_MS + 1) * EVERY_MS;
    while due - ms - now < 200 {
        due += EVERY_MS;
    }
    std::thread::sleep(Duration::from_millis((due - ms - now) as u64));
    DateTime::from_timestamp_millis(due).expect("instant")
}

#[test]
#[ignore = "benchmark: cargo test --release --test cluster_failover_bench -- --ignored --nocapture"]
fn bell_leader_failover() {
    let nats = Nats::start();
    let (hb_a, hb_b) = (free_udp_port(), free_udp_port());
    let bells = "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"tick\"\n\
                 cron = \"*/10 * * * * *\"\nzones = [\"first\"]\nsource = \"tone:1000:0.5\"\n\n";
    let cluster = |node: &str, listen: u16, peer: u16| {
        format!(
            "[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\nnode = \"{node}\"\n\
             pair = [\"a\", \"b\"]\n\
             heartbeat = {{ listen = \"127.0.0.1:{listen}\", peer = \"127.0.0.1:{peer}\" }}\n\n",
            nats.port
        )
    };
    let s = setup(2, &format!("{bells}{}", cluster("a", hb_a, hb_b)));
    let text = std::fs::read_to_string(s.path("zonecast.toml")).expect("config");
    let text_b = text
        .replace(&cluster("a", hb_a, hb_b), &cluster("b", hb_b, hb_a))
        .replace("data_dir = \"data\"", "data_dir = \"data-b\"");
    std::fs::write(s.path("zonecast-b.toml"), text_b).expect("config b");
    let mut nodes = [
        Node::new(s.path("zonecast.toml")),
        Node::new(s.path("zonecast-b.toml")),
    ];
    std::thread::sleep(Duration::from_secs(12));
    let mut rows = Vec::new();
    for (before_ms, label) in [(8500, "8.5 s before"), (500, "0.5 s before")] {
        for _ in 0..3 {
            let leader = (0..2).find(|&i| nodes[i].leads()).expect("someone leads");
            let other = 1 - leader;
            let due = before_next_due(before_ms);
            let killed_at = Utc::now();
            nodes[leader].kill();
            let started = format!("bell tick due {}: Rung", due);
            let mut waited = 0;
            while !nodes[other].log().contains(&started) && waited < 300 {
                std::thread::sleep(Duration::from_millis(100));
                waited += 1;
            }
            let log = nodes[other].log();
            let leads = logged(&log, "cluster: leading the site", killed_at);
            let page = logged(&log, "started: zone first by bell:tick", killed_at);
            let ms = |t: Option<DateTime<Utc>>, from: DateTime<Utc>| {
                t.map_or(f64::NAN, |t| (t - from).num_milliseconds() as f64 / 1000.0)
            };
            rows.push((
                label,
                ms(leads, killed_at),
                ms(page, due),
                ms(page, killed_at),
            ));
            nodes[leader].start();
            std::thread::sleep(Duration::from_secs(12));
        }
    }
    println!(
        "| leader killed | survivor leads after the kill | occurrence rung after its due instant | after the kill |"
    );
    println!("|---|---|---|---|");
    for (label, leads, late, after_kill) in &rows {
        println!("| {label} its due instant | {leads:.1} s | {late:.1} s | {after_kill:.1} s |");
    }
    for (_, _, late, _) in &rows {
        assert!(
            late.is_finite(),
            "an occurrence was not rung by the survivor: {rows:?}"
        );
    }
}
