//! Discovery of N phones against the emulated CUCM over HTTPS on loopback, with its limits on
//! (row budget 2,000 rows, 1,000 names per RIS request, 15 RIS requests a minute), and the same
//! with a rate-limit fault forced on the 5th RIS request (one minute of waiting is Cisco's
//! rule). Prints wall time, requests, bytes each way, and the floor measured in the same run:
//! the same calls replayed through the same client with the answers not parsed (TLS, HTTP and
//! the emulator's own work), so what discovery adds is the difference.
//!
//! ```text
//! cargo run --release --example cucm_discovery -- 10000        # both runs (about 75 s)
//! cargo run --release --example cucm_discovery -- 10000 quick  # without the forced fault
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use zonecast::config::Config;
use zonecast::cucm::{CucmCall, CucmClient, Discovery, DiscoverySettings, DiscoveryStep};
use zonecast::phone_sim::cucm::{SimCucm, SimCucmConfig, SimCucmServer, fleet};

fn hex(b: &[u8; 32]) -> String {
    b.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

struct Run {
    wall: Duration,
    in_calls: Duration,
    requests: u32,
    bytes_in: u64,
    bytes_out: u64,
    calls: Vec<CucmCall>,
    phones: usize,
}

async fn run(n: usize, fault_at: Option<u32>, dir: &std::path::Path) -> (Run, Duration) {
    let cfg = SimCucmConfig {
        password: "bench-pw".into(),
        ris_fault_at: fault_at,
        ..SimCucmConfig::default()
    };
    let s = SimCucmServer::start(
        SimCucm::new(cfg, fleet(n)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    std::fs::write(dir.join("pw"), "bench-pw").unwrap();
    let text = format!(
        "[cucm]\nhost = \"127.0.0.1:{}\"\nuser = \"axl\"\npassword_file = \"pw\"\nfingerprint = \"{}\"\n",
        s.addr.port(),
        hex(&s.fingerprint)
    );
    let config = Config::from_toml(&text, dir.join("zonecast.toml")).unwrap();
    let cucm = config.cucm.unwrap();
    let client = CucmClient::new(&cucm).unwrap();
    let mut d = Discovery::new(
        DiscoverySettings::from_config(&cucm),
        cucm.filter.clone(),
        None,
    );
    let (t0, mut in_calls, mut calls) = (Instant::now(), Duration::ZERO, Vec::new());
    loop {
        match d.poll(Instant::now()) {
            DiscoveryStep::Done => break,
            DiscoveryStep::Wait(at) => {
                tokio::time::sleep(at.saturating_duration_since(Instant::now())).await
            }
            DiscoveryStep::Send(call) => {
                let t = Instant::now();
                let body = client.call(&call).await.unwrap();
                in_calls += t.elapsed();
                d.handle_answer(Instant::now(), &body).unwrap();
                calls.push(call);
            }
        }
    }
    let wall = t0.elapsed();
    let found = d.finish();
    let c = s.cluster.lock().unwrap().counters().clone();
    let r = Run {
        wall,
        in_calls,
        requests: c.axl + c.ris,
        bytes_in: c.bytes_in,
        bytes_out: c.bytes_out,
        phones: found.phones.len(),
        calls,
    };
    // The floor: the same calls again (the rate fault not forced, the emulator's rate window
    // spent, so a fresh emulator), answers read but not parsed.
    let floor_srv = SimCucmServer::start(
        SimCucm::new(
            SimCucmConfig {
                password: "bench-pw".into(),
                ris_per_window: 1000,
                ..SimCucmConfig::default()
            },
            fleet(n),
        ),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let text = text
        .replace(
            &s.addr.port().to_string(),
            &floor_srv.addr.port().to_string(),
        )
        .replace(&hex(&s.fingerprint), &hex(&floor_srv.fingerprint));
    let config = Config::from_toml(&text, dir.join("zonecast.toml")).unwrap();
    let floor_client = CucmClient::new(config.cucm.as_ref().unwrap()).unwrap();
    let t = Instant::now();
    for call in &r.calls {
        let _ = floor_client.call(call).await.unwrap();
    }
    (r, t.elapsed())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let quick = args.next().as_deref() == Some("quick");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cases = vec![("limits on", None)];
    if !quick {
        cases.push(("rate fault forced on the 5th RIS request", Some(5)));
    }
    println!(
        "| run | phones | wall | in HTTPS calls | floor (same calls, unparsed) | requests | bytes sent | bytes received |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, fault) in cases {
        let (r, floor) = rt.block_on(run(n, fault, dir.path()));
        println!(
            "| {name} | {} | {:.2} s | {:.2} s | {:.2} s | {} | {} | {} |",
            r.phones,
            r.wall.as_secs_f64(),
            r.in_calls.as_secs_f64(),
            floor.as_secs_f64(),
            r.requests,
            r.bytes_in,
            r.bytes_out
        );
    }
}
