//! The cluster's shell against a real nats-server (Debian's, `make test-deps`) started here with
//! JetStream on a free loopback port: two nodes of one site share the leader lease, the leader
//! killed (its task and connection dropped, no release) is replaced within the lease time, and a
//! bell occurrence is rung once by the pair, taken over when its claimer stalls before ringing.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::nats::Nats;
use zonecast::cluster::{
    ClaimEnd, ClaimOp, ClaimRecord, ClaimReply, ClaimStep, LeaseHandle, Occurrence, SiteStore,
};
use zonecast::config::Config;

impl Nats {
    /// A node of site `north` with a 2 s lease (claim wait 3 s).
    async fn node(&self, node: &str) -> SiteStore {
        site_node(self.port, node).await
    }
}

/// A node of site `north` with a 2 s lease (claim wait 3 s), on the server at `port`.
async fn site_node(port: u16, node: &str) -> SiteStore {
    let text = format!(
        "[cluster]\nurls = [\"nats://127.0.0.1:{port}\"]\nsite = \"north\"\nnode = \"{node}\"\n\
         pair = [\"a\", \"b\"]\nlease = \"2s\"\n"
    );
    let config = Config::from_toml(&text, "cluster-test.toml").expect("config");
    SiteStore::connect(config.cluster.as_ref().expect("[cluster]"))
        .await
        .expect("connect")
}

const LEASE: Duration = Duration::from_secs(2);

/// Wait until `lease` leads, at most `limit`; its token.
async fn leads(lease: &LeaseHandle, limit: Duration) -> Option<u64> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(t) = lease.token() {
            return Some(t);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_leads_within_the_lease_time_after_the_leader_is_killed() {
    let nats = Nats::start();
    let a = nats.node("a").await;
    let lease_a = a.start_lease();
    let token_a = leads(&lease_a, LEASE * 2).await.expect("a leads");
    let b = nats.node("b").await;
    let lease_b = b.start_lease();
    // Three lease times side by side: a keeps it, never both.
    let until = Instant::now() + LEASE * 3;
    while Instant::now() < until {
        assert!(lease_a.token().is_some(), "a lost a lease it renews");
        assert!(lease_b.token().is_none(), "b leads beside a");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Kill a: its loop and connection stop without releasing the key.
    let killed = Instant::now();
    drop(lease_a);
    drop(a);
    let token_b = leads(&lease_b, LEASE * 3).await.expect("b takes over");
    let took = killed.elapsed();
    // The key expires LEASE after a's last renewal (at most LEASE/4 before the kill); b retries
    // every LEASE/8.
    assert!(
        took <= LEASE + LEASE / 4 + Duration::from_millis(500),
        "took {took:?}"
    );
    assert!(
        token_b > token_a,
        "fencing tokens rise: {token_a} then {token_b}"
    );
    eprintln!("failover in {took:?} (lease {LEASE:?}); tokens {token_a} -> {token_b}");
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_occurrence_is_rung_once_by_the_pair() {
    let nats = Nats::start();
    let (a, b) = (nats.node("a").await, nats.node("b").await);
    let lease_a = Arc::new(a.start_lease());
    leads(&lease_a, LEASE * 2).await.expect("a leads");
    let lease_b = Arc::new(b.start_lease());
    let rings = Arc::new(AtomicUsize::new(0));
    let base = unix_now();
    let mut tasks = Vec::new();
    for n in 0..20u64 {
        let occ = Occurrence {
            bell: format!("period {n}"),
            due_unix: base + n,
        };
        for (store, lease, instance) in [(&a, &lease_a, 1), (&b, &lease_b, 2)] {
            let (store, lease, occ, rings) =
                (store.clone(), lease.clone(), occ.clone(), rings.clone());
            tasks.push(tokio::spawn(async move {
                let due = Instant::now();
                let window = (due, due + Duration::from_secs(30));
                store
                    .ring_once(&lease, instance, &occ, window, || async {
                        rings.fetch_add(1, Ordering::SeqCst);
                    })
                    .await
            }));
        }
    }
    let mut ends = Vec::new();
    for t in tasks {
        ends.push(t.await.expect("claim task"));
    }
    assert_eq!(rings.load(Ordering::SeqCst), 20, "{ends:?}");
    for pair in ends.chunks(2) {
        assert_eq!(
            pair,
            [ClaimEnd::RungHere, ClaimEnd::RungElsewhere],
            "{ends:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_left_before_ringing_is_taken_over_once() {
    let nats = Nats::start();
    let (a, b) = (nats.node("a").await, nats.node("b").await);
    let lease_a = a.start_lease();
    leads(&lease_a, LEASE * 2).await.expect("a leads");
    let lease_b = b.start_lease();
    let occ = Occurrence {
        bell: "fire drill".into(),
        due_unix: unix_now(),
    };
    // a claims the occurrence, then stalls: it never moves it to `ringing`.
    let claimed = ClaimRecord {
        step: ClaimStep::Claimed,
        node: "a".into(),
        instance: 1,
        token: lease_a.token().unwrap_or(0),
    };
    let reply = a.claim_op(&occ, &ClaimOp::Create(claimed)).await;
    assert!(matches!(reply, ClaimReply::Written(_)), "{reply:?}");
    let rings = AtomicUsize::new(0);
    let due = Instant::now();
    let end = b
        .ring_once(
            &lease_b,
            2,
            &occ,
            (due, due + Duration::from_secs(30)),
            || async {
                rings.fetch_add(1, Ordering::SeqCst);
            },
        )
        .await;
    assert_eq!(end, ClaimEnd::RungHere);
    assert_eq!(rings.load(Ordering::SeqCst), 1);
    // b waited its claim wait to start, then watched the claim unchanged for another.
    let waited = due.elapsed();
    assert!(
        waited >= Duration::from_secs(6),
        "took over after {waited:?}"
    );
    // a's own `ringing` now loses: its CAS on the revision it created is refused.
    match a.claim_op(&occ, &ClaimOp::Read).await {
        ClaimReply::Found(Some((_, r))) => {
            assert_eq!((r.step, r.node.as_str()), (ClaimStep::Done, "b"))
        }
        other => panic!("{other:?}"),
    }
    drop(lease_a);
}

/// `CLOCK_MONOTONIC` in ms: one clock for every process on the machine, so the node processes'
/// lease ends can be compared with each other.
fn mono_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// Not a test on its own: the body of a node process that the test below starts from this same
/// binary (`ZC_CLUSTER_NODE`, `ZC_CLUSTER_PORT`). It prints `lead TOKEN UNTIL_MS AT_MS` at every
/// token change and `follow AT_MS` when it stops leading (times on [`mono_ms`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by node_processes_paused_and_killed_hand_over_the_lease as a child"]
async fn node_process() {
    let (Ok(node), Ok(port)) = (
        std::env::var("ZC_CLUSTER_NODE"),
        std::env::var("ZC_CLUSTER_PORT"),
    ) else {
        return;
    };
    let port: u16 = port.parse().expect("ZC_CLUSTER_PORT");
    let store = site_node(port, &node).await;
    let lease = store.start_lease();
    let mut shown = None;
    loop {
        let token = lease.token();
        if token != shown {
            let left = |u: Instant| u.saturating_duration_since(Instant::now()).as_millis() as u64;
            match (token, lease.until().map(|u| mono_ms() + left(u))) {
                (Some(t), Some(until)) => println!("lead {t} {until} {}", mono_ms()),
                _ => println!("follow {}", mono_ms()),
            }
            shown = token;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One node process started from this test binary; its lines arrive on a channel.
struct NodeProcess {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl NodeProcess {
    fn start(node: &str, port: u16) -> NodeProcess {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "node_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--quiet",
            ])
            .env("ZC_CLUSTER_NODE", node)
            .env("ZC_CLUSTER_PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node process");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        NodeProcess { child, lines }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: a signal to our own child, by its pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
    }

    /// The next `lead`/`follow` line within `limit`, split in words.
    fn next(&self, limit: Duration) -> Option<Vec<u64>> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            let mut words = line.split_whitespace();
            let tag = match words.next() {
                Some("lead") => 1,
                Some("follow") => 0,
                _ => continue,
            };
            let mut v = vec![tag];
            v.extend(words.filter_map(|w| w.parse::<u64>().ok()));
            return Some(v);
        }
    }

    /// Lines until it leads (`[token, until, at]`), within `limit`; the last lease end it
    /// announced is kept in `until`.
    fn until_lead(&self, limit: Duration) -> Option<[u64; 3]> {
        let deadline = Instant::now() + limit;
        while let Some(v) = self.next(deadline.saturating_duration_since(Instant::now())) {
            if v[0] == 1 {
                return Some([v[1], v[2], v[3]]);
            }
        }
        None
    }

    /// Drain what it printed: the latest lease end it announced (0 if none).
    fn last_until(&self, seen: u64) -> u64 {
        let mut last = seen;
        while let Ok(line) = self.lines.try_recv() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.first() == Some(&"lead") {
                last = w.get(2).and_then(|u| u.parse().ok()).unwrap_or(last);
            }
        }
        last
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two node processes: the leader paused with SIGSTOP for longer than the lease, then killed
/// with SIGKILL. Each time the other leads within the lease time, only after the announced end of
/// the old leader's lease (one monotonic clock), with a higher token; the paused one wakes as a
/// follower.
#[test]
fn node_processes_paused_and_killed_hand_over_the_lease() {
    let nats = Nats::start();
    let a = NodeProcess::start("a", nats.port);
    let [token_a, mut until_a, _] = a.until_lead(Duration::from_secs(15)).expect("a leads");
    let b = NodeProcess::start("b", nats.port);
    assert_eq!(
        b.next(Duration::from_secs(15)),
        None,
        "b printed a change while a leads"
    );
    until_a = a.last_until(until_a);
    // Pause a past its lease.
    a.signal(libc::SIGSTOP);
    let paused = Instant::now();
    let [token_b, until_b, at_b] = b
        .until_lead(LEASE * 3)
        .expect("b takes over from the paused a");
    let took = paused.elapsed();
    until_a = a.last_until(until_a);
    assert!(
        at_b > until_a,
        "b led at {at_b} before a's lease ended at {until_a}"
    );
    assert!(took <= LEASE + Duration::from_millis(750), "took {took:?}");
    assert!(token_b > token_a);
    std::thread::sleep(LEASE * 2);
    a.signal(libc::SIGCONT);
    // On waking a sees its lease over by its own clock, and never leads beside b.
    let woke = a.next(Duration::from_secs(2)).expect("a reports on waking");
    assert_eq!(woke[0], 0, "a woke leading: {woke:?}");
    assert_eq!(a.next(LEASE * 2), None, "a took the lease back from b");
    // Kill b.
    let until_b = b.last_until(until_b);
    b.signal(libc::SIGKILL);
    let killed = Instant::now();
    let [token_a2, _, at_a2] = a
        .until_lead(LEASE * 3)
        .expect("a takes over from the killed b");
    let took2 = killed.elapsed();
    assert!(
        at_a2 > until_b,
        "a led at {at_a2} before b's lease ended at {until_b}"
    );
    assert!(
        took2 <= LEASE + Duration::from_millis(750),
        "took {took2:?}"
    );
    assert!(token_a2 > token_b);
    eprintln!("paused: b led after {took:?}; killed: a led after {took2:?}");
}

/// `zonecast cluster status` names the leader, its token and the pair (exit 0), and says there
/// is none once the leader is gone and its lease expired (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_status_names_the_leader() {
    let nats = Nats::start();
    let a = nats.node("a").await;
    let lease_a = a.start_lease();
    let token = leads(&lease_a, LEASE * 2).await.expect("a leads");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("zonecast.toml");
    let text = format!(
        "[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\nnode = \"b\"\n\
         pair = [\"a\", \"b\"]\nlease = \"2s\"\n",
        nats.port
    );
    std::fs::write(&config, text).expect("config");
    let status = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zonecast"));
        c.args(["cluster", "status", "--config"]).arg(&config);
        if json {
            c.arg("--json");
        }
        c.output().expect("zonecast cluster status")
    };
    let out = tokio::task::block_in_place(|| status(true));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["leader"]["node"], "a", "{v}");
    assert!(v["leader"]["token"].as_u64() >= Some(token), "{v}");
    assert_eq!(v["pair"], serde_json::json!(["a", "b"]));
    drop(lease_a);
    drop(a);
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    let out = tokio::task::block_in_place(|| status(false));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("site north: no leader"), "{text}");
}

/// The site's journal stream remembers message ids for a week (a record sent again after a node
/// was down for a weekend is stored once), and a stream an older version made with one hour is
/// widened when the node starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_stream_remembers_ids_for_a_week_and_an_older_one_is_widened() {
    use async_nats::jetstream::{self, stream};
    let nats = Nats::start();
    let url = format!("nats://127.0.0.1:{}", nats.port);
    let js = jetstream::new(async_nats::connect(&url).await.expect("connect"));
    let hour = Duration::from_secs(3600);
    js.create_stream(stream::Config {
        name: "ZC_JOURNAL_north".into(),
        subjects: vec!["zc.north.journal".into()],
        duplicate_window: hour,
        ..Default::default()
    })
    .await
    .expect("an older version's stream");
    let text = format!(
        "[cluster]\nurls = [\"{url}\"]\nsite = \"north\"\nnode = \"a\"\npair = [\"a\", \"b\"]\n"
    );
    let config = Config::from_toml(&text, "cluster-test.toml").expect("config");
    let link = zonecast::cluster::JournalLink::connect(config.cluster.as_ref().unwrap())
        .await
        .expect("journal link");
    link.ensure_site_stream().await.expect("the site's stream");
    let mut s = js.get_stream("ZC_JOURNAL_north").await.expect("the stream");
    let window = s.info().await.expect("info").config.duplicate_window;
    assert_eq!(window, zonecast::cluster::DUPLICATE_WINDOW);
    assert!(window >= Duration::from_secs(7 * 24 * 3600), "{window:?}");
}
