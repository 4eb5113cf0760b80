//! One `zonecast serve` of a cluster test run from its config file, again after a kill: every
//! process's log kept in one, signals sent to it (`-STOP`, `-CONT`), and whether the running
//! process leads its site (its last lease event); the pair's heartbeat through a relay that can
//! be cut, and each phone reached through a link of its own.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::district_net::WanLink;

use super::cli_setup::PW_ENV;
use super::server::{TOKEN, TOKEN_ENV};
use zonecast::phone_sim::config::DEFAULT_PASSWORD;

/// One node: its config and every process run from it, their logs in one.
pub struct Node {
    config: std::path::PathBuf,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    /// Where the running process's log begins.
    since: usize,
}

impl Node {
    pub fn new(config: std::path::PathBuf) -> Node {
        let mut n = Node {
            config,
            child: None,
            log: Arc::new(Mutex::new(String::new())),
            since: 0,
        };
        n.start();
        n
    }

    pub fn start(&mut self) {
        self.since = self.log.lock().unwrap().len();
        let mut child = super::zonecast()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&self.config)
            .env(PW_ENV, DEFAULT_PASSWORD)
            .env(TOKEN_ENV, TOKEN)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zonecast serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut g = log.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        self.child = Some(child);
    }

    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill {sig} {pid}");
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the running process's last lease event says it leads.
    pub fn leads(&self) -> bool {
        let log = self.log()[self.since..].to_owned();
        let lead = log.rfind("cluster: leading the site");
        let lost = log.rfind("cluster: no longer leading");
        match (lead, lost) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_ref() {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
        self.kill();
    }
}

/// A UDP relay carrying the pair's heartbeat: one socket per direction, dropping everything
/// while cut.
pub struct LanRelay {
    pub cut: Arc<AtomicBool>,
    /// Where node a sends its beats (forwarded to b), and where b sends (forwarded to a).
    pub to_b: u16,
    pub to_a: u16,
}

impl LanRelay {
    pub fn start(a_listen: u16, b_listen: u16) -> LanRelay {
        let cut = Arc::new(AtomicBool::new(false));
        let forward = |to: u16| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("relay socket");
            let port = s.local_addr().unwrap().port();
            let cut = cut.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while let Ok((n, _)) = s.recv_from(&mut buf) {
                    if !cut.load(Ordering::SeqCst) {
                        let _ = s.send_to(&buf[..n], ("127.0.0.1", to));
                    }
                }
            });
            port
        };
        let to_b = forward(b_listen);
        let to_a = forward(a_listen);
        LanRelay { cut, to_b, to_a }
    }
}

/// `text` with each phone's `host = "127.0.0.1:PORT"` replaced by a link of its own to it.
pub fn through_links(text: &str) -> (String, Vec<WanLink>) {
    let mut links = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        match line
            .strip_prefix("host = \"")
            .and_then(|r| r.strip_suffix('"'))
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        {
            Some(addr) => {
                let link = WanLink::start(addr, Duration::ZERO);
                out.push_str(&format!("host = \"127.0.0.1:{}\"\n", link.port));
                links.push(link);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(!links.is_empty(), "no phone in the config");
    (out, links)
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port()
}

/// A pair's two configs from the one `setup` wrote for node `a`: `b`'s has `cluster_b` for
/// `cluster_a` and a data directory of its own, and each node reaches each phone through a link
/// of its own. Written to `zonecast.toml` and `zonecast-b.toml`; returns a's links and b's.
pub fn pair_configs(
    s: &super::cli_setup::Setup,
    cluster_a: &str,
    cluster_b: &str,
) -> (Vec<WanLink>, Vec<WanLink>) {
    let text = std::fs::read_to_string(s.path("zonecast.toml")).expect("config");
    let text_b = text
        .replace(cluster_a, cluster_b)
        .replace("data_dir = \"data\"", "data_dir = \"data-b\"");
    assert_ne!(text, text_b);
    let (text_a, phones_a) = through_links(&text);
    let (text_b, phones_b) = through_links(&text_b);
    std::fs::write(s.path("zonecast.toml"), text_a).expect("config a");
    std::fs::write(s.path("zonecast-b.toml"), text_b).expect("config b");
    (phones_a, phones_b)
}
