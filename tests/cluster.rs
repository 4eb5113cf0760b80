//! The cluster's shell against a real nats-server (Debian's, `make test-deps`) started here with
//! JetStream on a free loopback port: two nodes of one site share the leader lease, the leader
//! killed (its task and connection dropped, no release) is replaced within the lease time, and a
//! bell occurrence is rung once by the pair, taken over when its claimer stalls before ringing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zonecast::cluster::{
    ClaimEnd, ClaimOp, ClaimRecord, ClaimReply, ClaimStep, LeaseHandle, Occurrence, SiteStore,
};
use zonecast::config::Config;

/// A nats-server with JetStream in a temporary directory, killed on drop.
struct Nats {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nats {
    fn start() -> Nats {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "nats-server is not installed: run `make test-deps` (Debian package nats-server)",
            );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nats {
            child,
            port,
            _dir: dir,
        }
    }

    /// A node of site `north` with a 2 s lease (claim wait 3 s).
    async fn node(&self, node: &str) -> SiteStore {
        let text = format!(
            "[cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\nnode = \"{node}\"\n\
             pair = [\"a\", \"b\"]\nlease = \"2s\"\n",
            self.port
        );
        let config = Config::from_toml(&text, "cluster-test.toml").expect("config");
        SiteStore::connect(config.cluster.as_ref().expect("[cluster]"))
            .await
            .expect("connect")
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
