//! Phones from CUCM (issue 23) against the emulated CUCM over HTTPS on loopback:
//! - every AXL operation element the client sent, validated by xmllint against Cisco's AXL 14.0
//!   schema (`../shared/cucm/AXLSoap.xsd`);
//! - 5,000 phones discovered (registered, unregistered with stale addresses, never registered,
//!   web access off, Multiplatform), with smaller pages after the row budget refusal, one
//!   session cookie, and `NoChange` on the next run; an address change seen as a move;
//! - RIS's rate limit hit (the emulator's window shortened): discovery waits and completes;
//! - a wrong password: 401 in words, the password nowhere; a wrong pinned certificate refused;
//! - `zonecast cucm discover` as a process: the table and the cache, then CUCM down: the cached
//!   table, its age, exit 3; `--zones` lists a rule zone's members.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use zonecast::config::Config;
use zonecast::config::Cucm;
use zonecast::cucm::{
    CucmClient, CucmError, Discovered, DiscoverySettings, RegState, TableChanges,
};
use zonecast::phone_sim::cucm::{SimCucm, SimCucmConfig, SimCucmServer, fleet, fleet_name};

mod common;

const PASSWORD: &str = "s3cret-AXL-pw";

use common::cucm::hex;

async fn start(n: usize, cfg: SimCucmConfig) -> SimCucmServer {
    let cfg = SimCucmConfig {
        password: PASSWORD.into(),
        ..cfg
    };
    SimCucmServer::start(
        SimCucm::new(cfg, fleet(n)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap()
}

/// A config file in `dir` for the emulator `s`; `extra` lines go into `[cucm]`.
fn config_file(dir: &Path, s: &SimCucmServer, password: &str, extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("axl-password"), format!("{password}\n")).unwrap();
    let path = dir.join("zonecast.toml");
    let text = format!(
        "[server]\ndata_dir = \"{}\"\n\n[cucm]\nhost = \"127.0.0.1:{}\"\nuser = \"axl\"\n\
         password_file = \"axl-password\"\nfingerprint = \"{}\"\n{extra}",
        dir.join("data").display(),
        s.addr.port(),
        hex(&s.fingerprint)
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn client(dir: &Path, s: &SimCucmServer, extra: &str) -> (CucmClient, Config) {
    let c = Config::load(config_file(dir, s, PASSWORD, extra)).unwrap();
    (CucmClient::new(c.cucm.as_ref().unwrap()).unwrap(), c)
}

/// One discovery by `client` as `cucm` says (after the run `previous`, if any).
async fn discover(
    client: &CucmClient,
    cucm: &Cucm,
    previous: Option<&Discovered>,
) -> Result<Discovered, CucmError> {
    let previous = previous.map(|d| (&d.phones[..], &d.ris_states[..]));
    client
        .discover(
            DiscoverySettings::from_config(cucm),
            cucm.filter.clone(),
            previous,
            |_| {},
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_axl_request_sent_is_valid_against_ciscos_schema() {
    let Some(xsd) = zonecast::shared::shared_file("cucm/AXLSoap.xsd") else {
        return;
    };
    // A budget of 10 rows: the first pages are refused and asked again smaller.
    let s = start(
        30,
        SimCucmConfig {
            row_budget: 10,
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (client, config) = client(dir.path(), &s, "");
    let cucm = config.cucm.unwrap();
    let found = discover(&client, &cucm, None).await.unwrap();
    assert_eq!(found.phones.len(), 30);
    assert!(found.stats.smaller_pages >= 2, "{:?}", found.stats);
    let sent = s.cluster.lock().unwrap().axl_requests().to_vec();
    assert!(sent.iter().any(|r| r.contains("listPhone")));
    assert!(sent.iter().any(|r| r.contains("executeSQLQuery")));
    let mut failures = Vec::new();
    for r in &sent {
        if let Err(e) = common::xmllint(r.as_bytes(), Some(&xsd)) {
            failures.push(format!("{r}\n{e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // And the check can fail: a tag listPhone does not have.
    let bad = sent[0].replace("<model/>", "<colour/>");
    assert!(common::xmllint(bad.as_bytes(), Some(&xsd)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_phones_are_discovered_as_the_cluster_has_them() {
    let s = start(
        5000,
        SimCucmConfig {
            row_budget: 700,
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (client, config) = client(dir.path(), &s, "");
    let cucm = config.cucm.unwrap();
    let t0 = Instant::now();
    let found = discover(&client, &cucm, None).await.unwrap();
    let took = t0.elapsed();
    let expected = fleet(5000);
    assert_eq!(found.phones.len(), 5000);
    for (p, e) in found.phones.iter().zip(&expected) {
        assert_eq!(p.name, e.name);
        assert_eq!(p.lines, e.lines, "{}", p.name);
        assert_eq!(p.device_pool, e.device_pool);
        match e.state {
            RegState::Unknown => {
                assert_eq!(
                    (p.state, p.address, p.web_access),
                    (RegState::Unknown, None, None),
                    "{}",
                    p.name
                )
            }
            st => {
                assert_eq!(p.state, st, "{}", p.name);
                assert_eq!(
                    p.address,
                    Some(e.address),
                    "{} (stale addresses kept)",
                    p.name
                );
                assert_eq!(p.web_access, Some(e.web_access), "{}", p.name);
            }
        }
    }
    let by_name = |i: usize| {
        found
            .phones
            .iter()
            .find(|p| p.name == fleet_name(i))
            .unwrap()
    };
    assert_eq!(by_name(0).model, "CP-8851");
    assert_eq!(by_name(1).model, "CP-7841");
    assert_eq!(
        (by_name(5).model.as_str(), by_name(5).multiplatform),
        ("CP-8851-3PCC", true)
    );
    assert_eq!(by_name(10).state, RegState::Unregistered);
    assert_eq!(by_name(7).web_access, Some(false));
    assert_eq!(by_name(1).directory_number(), Some("10001"));
    assert!(found.stats.smaller_pages >= 1);
    let counters = s.cluster.lock().unwrap().counters().clone();
    assert_eq!(counters.sessions, 1, "the JSESSIONIDSSO cookie is reused");
    assert_eq!(counters.ris, 5, "5,000 names in batches of 1,000");
    assert!(took < Duration::from_secs(20), "{took:?}");

    // The next run passes StateInfo back: every batch NoChange, the same table.
    let again = discover(&client, &cucm, Some(&found)).await.unwrap();
    assert_eq!(again.stats.unchanged_batches, 5);
    assert_eq!(again.phones, found.phones);

    // A phone moves: the next run sees it at its new address.
    let moved = fleet_name(42);
    s.cluster
        .lock()
        .unwrap()
        .update(&moved, |d| d.address = Ipv4Addr::new(10, 9, 9, 9));
    let third = discover(&client, &cucm, Some(&again)).await.unwrap();
    let c = TableChanges::between(&again.phones, &third.phones);
    assert_eq!(c.moved.len(), 1, "{c:?}");
    assert_eq!(c.moved[0].0, moved);
    assert_eq!(c.moved[0].2, Some(Ipv4Addr::new(10, 9, 9, 9)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_hit_makes_discovery_wait_and_complete() {
    // The emulator allows 2 RIS requests per 2 s; our side is told 100 per 2 s, so the node's
    // own fault is what stops it.
    let s = start(
        3000,
        SimCucmConfig {
            ris_per_window: 2,
            ris_window: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (client, config) = client(
        dir.path(),
        &s,
        "ris_per_minute = 100\nris_window = \"2s\"\n",
    );
    let cucm = config.cucm.unwrap();
    let t0 = Instant::now();
    let found = discover(&client, &cucm, None).await.unwrap();
    let took = t0.elapsed();
    assert_eq!(found.phones.len(), 3000);
    assert!(
        found
            .phones
            .iter()
            .filter(|p| p.state == RegState::Registered)
            .count()
            > 2500
    );
    assert_eq!(found.stats.rate_faults, 1, "{:?}", found.stats);
    assert_eq!(s.cluster.lock().unwrap().counters().rate_faults, 1);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_certificate_is_refused_in_words() {
    let s = start(5, SimCucmConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(config_file(dir.path(), &s, "wrong-password", "")).unwrap();
    let cucm = c.cucm.unwrap();
    let e = discover(&CucmClient::new(&cucm).unwrap(), &cucm, None)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, CucmError::Unauthorized { .. }), "{e}");
    assert!(e.to_string().contains("401"), "{e}");
    assert!(!format!("{e} {e:?}").contains("wrong-password"));

    let other = start(1, SimCucmConfig::default()).await;
    let pinned_elsewhere = zonecast::config::CucmTrust::Pinned(other.fingerprint);
    let cucm = zonecast::config::Cucm {
        trust: pinned_elsewhere,
        ..cucm
    };
    let e = discover(&CucmClient::new(&cucm).unwrap(), &cucm, None)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("not the pinned"), "{e}");

    // A CA file holding the emulator's certificate is trusted.
    std::fs::write(dir.path().join("ca.pem"), &s.cert_pem).unwrap();
    let cucm = zonecast::config::Cucm {
        trust: zonecast::config::CucmTrust::CaFile(dir.path().join("ca.pem")),
        password: zonecast::config::PasswordSource::File(dir.path().join("pw")),
        ..cucm
    };
    std::fs::write(dir.path().join("pw"), PASSWORD).unwrap();
    let found = discover(&CucmClient::new(&cucm).unwrap(), &cucm, None)
        .await
        .unwrap();
    assert_eq!(found.phones.len(), 5);
}

#[test]
fn the_cli_prints_the_table_and_falls_back_to_the_cache_when_cucm_is_down() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(start(40, SimCucmConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let rule = "\n[zone.dp1]\nfrom_cucm = { device_pool = \"DP-1\" }\n";
    let cfg = config_file(dir.path(), &s, PASSWORD, rule);
    let run = |json: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_zonecast"));
        c.args(["cucm", "discover", "--config"]).arg(&cfg);
        if json {
            c.args(["--json", "--zones"]);
        }
        c.output().unwrap()
    };
    let out = run(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("name "), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&fleet_name(7)))
        .unwrap();
    assert!(line.contains("CP-7841") || line.contains("CP-"), "{line}");
    assert!(line.ends_with(" off"), "{line}");
    assert!(stdout.contains("first discovery"), "{stdout}");
    assert!(dir.path().join("data/cucm.sqlite").exists());

    let out = run(true);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "cucm");
    assert_eq!(v["phones"].as_array().unwrap().len(), 40);
    assert!(v["changes"]["added"].as_array().unwrap().is_empty());
    // The rule zone's members: the fleet's DP-1 phones (every 4th of 40).
    let dp1 = v["zones"]["dp1"].as_array().unwrap();
    assert_eq!(dp1.len(), 10, "{dp1:?}");
    assert!(dp1.contains(&serde_json::json!(fleet_name(1))), "{dp1:?}");
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!all.contains(PASSWORD));

    // CUCM goes down: the cached table, how old it is, exit 3.
    s.stop();
    drop(s);
    std::thread::sleep(Duration::from_millis(100));
    let out = run(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot reach it"), "{stderr}");
    assert!(
        stderr.contains("using the cached table of 40 phones from"),
        "{stderr}"
    );
    assert!(stderr.contains(" s old)"), "{stderr}");
    assert!(stdout.contains(&fleet_name(3)), "{stdout}");
    let out = run(true);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "cache");
    assert!(v["error"].as_str().unwrap().contains("cannot reach it"));
    assert!(v["age_s"].as_i64().unwrap() >= 0);
}
