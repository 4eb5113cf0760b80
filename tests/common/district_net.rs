//! A district's network on loopback for the multi-site tests: a hub nats-server (JetStream domain
//! `hub`, a leaf-node port) and one leaf nats-server per site (its own JetStream domain, named
//! after the site), each leaf reaching the hub through a [`WanLink`]: a small TCP proxy that
//! forwards both directions with a configurable one-way delay, and can be cut and restored (a
//! WAN cut: open connections are broken and new ones refused until `restore`). Every port is a
//! free one; every server has its monitoring port (`/varz`, `/leafz`).
//!
//! ```ignore
//! let net = DistrictNet::start(&["north", "south"], Duration::from_millis(20));
//! let url = net.site("north").url();   // a site's nodes connect to their leaf
//! net.site("south").link.cut();        // south's WAN is down: its leaf is alone
//! net.site("south").link.restore();
//! net.wait_linked(2, 20);              // both leaves are back on the hub
//! ```

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One nats-server started from a config file in its own temporary folder, killed on drop.
pub struct NatsNode {
    child: Child,
    /// Client port on 127.0.0.1.
    pub port: u16,
    /// Monitoring port (`http://127.0.0.1:PORT/varz`).
    pub monitor: u16,
    /// Its folder (config file, JetStream store).
    pub dir: tempfile::TempDir,
}

impl NatsNode {
    /// Write `conf(store_dir)` after the listen and monitoring lines, start nats-server on it,
    /// and wait until it listens.
    fn start(name: &str, conf: impl FnOnce(&Path) -> String) -> NatsNode {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (port, monitor) = (free_port(), free_port());
        let body = conf(&dir.path().join("js"));
        let text = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor}\n{body}"
        );
        let file = dir.path().join(format!("{name}.conf"));
        std::fs::write(&file, text).expect("nats-server config");
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is not installed: run `make test-deps` (Debian nats-server)");
        let node = NatsNode {
            child,
            port,
            monitor,
            dir,
        };
        wait_listening(port, name);
        wait_listening(monitor, name);
        node
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A monitoring endpoint's JSON (`varz`, `leafz`, `connz` ...).
    pub fn monitor(&self, endpoint: &str) -> serde_json::Value {
        http_json(self.monitor, endpoint)
    }

    /// Pause the server (`SIGSTOP`) or wake it (`SIGCONT`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} nats-server {}", self.child.id());
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// GET `http://127.0.0.1:port/endpoint` as JSON (HTTP/1.0 by hand: no client library needed).
fn http_json(port: u16, endpoint: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("monitoring port");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(s, "GET /{endpoint} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("monitoring answer");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("/{endpoint}: {e}: {body}"))
}

/// One site's part of the network: its leaf server and its WAN link to the hub.
pub struct SiteNet {
    /// The site's name (its JetStream domain too).
    pub site: String,
    /// The site's leaf server.
    pub leaf: NatsNode,
    /// Between the leaf and the hub's leaf port.
    pub link: WanLink,
}

impl SiteNet {
    /// The URL the site's nodes connect to (its leaf).
    pub fn url(&self) -> String {
        self.leaf.url()
    }
}

/// A hub and a leaf per site, each leaf behind its own [`WanLink`].
pub struct DistrictNet {
    /// The hub (JetStream domain `hub`).
    pub hub: NatsNode,
    /// The hub's leaf-node port.
    pub leaf_port: u16,
    /// The sites, in the order given.
    pub sites: Vec<SiteNet>,
}

impl DistrictNet {
    /// Start the hub and a leaf per site, every link delaying `one_way` each way, and wait
    /// until every leaf is connected to the hub.
    pub fn start(sites: &[&str], one_way: Duration) -> DistrictNet {
        let leaf_port = free_port();
        // The hub tells each leaf its leaf port (`leafnode_urls`; 2.9.10 does so even with
        // `no_advertise`), and a leaf whose link is cut would reconnect there directly, past
        // the proxy: it is told port 1 instead, which refuses.
        let hub = NatsNode::start("hub", |js| {
            format!(
                "jetstream {{ store_dir: {js:?}, domain: hub }}\n\
                 leafnodes {{ listen: 127.0.0.1:{leaf_port}, advertise: \"127.0.0.1:1\" }}\n"
            )
        });
        let hub_leaf: SocketAddr = ([127, 0, 0, 1], leaf_port).into();
        let sites = sites
            .iter()
            .map(|site| {
                let link = WanLink::start(hub_leaf, one_way);
                let leaf = NatsNode::start(&format!("leaf-{site}"), |js| {
                    format!(
                        "jetstream {{ store_dir: {js:?}, domain: {site} }}\n\
                         leafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{}\" }} ] }}\n",
                        link.port
                    )
                });
                SiteNet {
                    site: site.to_string(),
                    leaf,
                    link,
                }
            })
            .collect::<Vec<_>>();
        let net = DistrictNet {
            hub,
            leaf_port,
            sites,
        };
        net.wait_linked(net.sites.len(), 30);
        net
    }

    /// `[cluster]` of node `a` of site `site` on its leaf, with the district zone `zone` made of
    /// every site's zone `all` (the last table of a config: append nothing after it).
    pub fn cluster_toml(&self, site: &str, zone: &str) -> String {
        let members: Vec<String> = self
            .sites
            .iter()
            .map(|s| format!("\"{}:all\"", s.site))
            .collect();
        format!(
            "[cluster]\nurls = [\"{}\"]\nsite = \"{site}\"\nnode = \"a\"\n\n\
             [cluster.district]\n{zone} = [{}]\n\n",
            self.site(site).url(),
            members.join(", ")
        )
    }

    /// The site named `site`.
    pub fn site(&self, site: &str) -> &SiteNet {
        self.sites
            .iter()
            .find(|s| s.site == site)
            .unwrap_or_else(|| panic!("no site {site} in this district"))
    }

    /// How many leaves the hub has connected now.
    pub fn linked(&self) -> usize {
        self.hub.monitor("leafz")["leafnodes"].as_u64().unwrap_or(0) as usize
    }

    /// Wait until the hub has exactly `n` leaves connected (panics after `secs`).
    pub fn wait_linked(&self, n: usize, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let now = self.linked();
            if now == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the hub has {now} leaves connected, not {n}, after {secs} s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The hub's message and byte counters `(in_msgs, out_msgs, in_bytes, out_bytes)`.
    pub fn hub_counters(&self) -> (u64, u64, u64, u64) {
        let v = self.hub.monitor("varz");
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        (n("in_msgs"), n("out_msgs"), n("in_bytes"), n("out_bytes"))
    }
}

/// A WAN link: a TCP proxy on a free loopback port forwarding to `target`, both directions,
/// each delayed by its one-way delay (order kept; throughput not limited), with byte counters.
/// `cut()` breaks the open connections and refuses new ones until `restore()`. Dropping it
/// stops it.
pub struct WanLink {
    /// Where peers connect (the leaf's remote URL points here).
    pub port: u16,
    inner: Arc<LinkState>,
}

struct LinkState {
    target: SocketAddr,
    /// One-way delays in microseconds: towards the target, and back.
    delay_to: AtomicU64,
    delay_from: AtomicU64,
    cut: AtomicBool,
    stopped: AtomicBool,
    /// Bytes forwarded towards the target, and back.
    bytes_to: AtomicU64,
    bytes_from: AtomicU64,
    /// Both ends of every open connection, to break them on a cut.
    open: Mutex<Vec<TcpStream>>,
}

impl WanLink {
    /// Listen on a free port and forward to `target` with `one_way` each way.
    pub fn start(target: SocketAddr, one_way: Duration) -> WanLink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("bound").port();
        let us = one_way.as_micros() as u64;
        let inner = Arc::new(LinkState {
            target,
            delay_to: AtomicU64::new(us),
            delay_from: AtomicU64::new(us),
            cut: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            bytes_to: AtomicU64::new(0),
            bytes_from: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        });
        let state = inner.clone();
        std::thread::spawn(move || accept_loop(listener, state));
        WanLink { port, inner }
    }

    /// Set the one-way delay of each direction (towards the target, back).
    pub fn set_delay(&self, to: Duration, from: Duration) {
        let us = |d: Duration| d.as_micros() as u64;
        self.inner.delay_to.store(us(to), Ordering::SeqCst);
        self.inner.delay_from.store(us(from), Ordering::SeqCst);
    }

    /// Cut the link: break every open connection, refuse new ones.
    pub fn cut(&self) {
        self.inner.cut.store(true, Ordering::SeqCst);
        self.inner.break_all();
    }

    /// Let connections through again (the leaf reconnects on its own, within about a second).
    pub fn restore(&self) {
        self.inner.cut.store(false, Ordering::SeqCst);
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.inner.cut.load(Ordering::SeqCst)
    }

    /// Bytes forwarded so far `(towards the target, back)`.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.inner.bytes_to.load(Ordering::SeqCst),
            self.inner.bytes_from.load(Ordering::SeqCst),
        )
    }
}

impl Drop for WanLink {
    fn drop(&mut self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.break_all();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl LinkState {
    fn break_all(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, state: Arc<LinkState>) {
    for client in listener.incoming() {
        if state.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if state.cut.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&state.target, Duration::from_secs(2)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        {
            let mut open = state.open.lock().unwrap();
            open.extend(
                [client.try_clone(), server.try_clone()]
                    .into_iter()
                    .flatten(),
            );
        }
        pump(&client, &server, state.clone(), true);
        pump(&server, &client, state.clone(), false);
    }
}

/// Forward `from` to `to` (towards the target when `outward`): a reader thread stamps each
/// chunk with when it is due, a writer thread sends it then. Either end failing breaks both.
fn pump(from: &TcpStream, to: &TcpStream, state: Arc<LinkState>, outward: bool) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let reader_state = state.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = if outward {
                &reader_state.delay_to
            } else {
                &reader_state.delay_from
            };
            let due = Instant::now() + Duration::from_micros(delay.load(Ordering::SeqCst));
            if tx.send((due, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            if state.cut.load(Ordering::SeqCst) {
                break;
            }
            let wait = due.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
            let counter = if outward {
                &state.bytes_to
            } else {
                &state.bytes_from
            };
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}
