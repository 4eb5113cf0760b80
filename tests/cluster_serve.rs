//! A standby pair of `zonecast serve` processes (site `north`, nodes `a` and `b`) against a real
//! nats-server on a free loopback port, with one bell every 4 s on two emulated phones: each
//! occurrence both nodes saw is rung by exactly one of them (its log says `RungHere`, the other's
//! `RungElsewhere`), and the phones heard one page per occurrence rung.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cli_setup::PW_ENV;
use common::nats::Nats;
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
