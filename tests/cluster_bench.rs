//! The district page benchmark (issue 24; `cargo test --release --test cluster_bench -- --ignored
//! --nocapture`): 20 sites × 100 emulated phones, each site a leaf nats-server behind a WAN link
//! of 20 ms each way (40 ms round trip) to the hub and one `zonecast serve` of its own; the time
//! from `POST /api/pages` at one site until every one of the 2,000 phones has received RTP
//! (each phone's first packet stamped on CLOCK_MONOTONIC by the emulator, the same clock as the
//! start), compared with the same number of phones paged from one node in the same run; and the
//! bus messages and bytes per district page (the hub's `/varz` counters, and the bytes through
//! every site's WAN link). `ZC_BENCH_SITES` and `ZC_BENCH_PHONES` shrink it.

mod common;

use std::time::Duration;

use common::cli_setup::Setup;
use common::district_net::DistrictNet;
use common::server::*;
use serde_json::json;
use zonecast::rtp::pacer::mono_now_ns;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// For each phone of `s`, the first-packet stamp of its newest stream heard with packets.
fn first_packets(s: &Setup) -> Vec<Option<u64>> {
    s.report()
        .phones
        .iter()
        .map(|p| {
            p.heard
                .iter()
                .rev()
                .find(|h| h.rx.summary.packets > 0)
                .and_then(|h| h.rx.summary.first_packet_ns)
        })
        .collect()
}

/// Wait until every phone of `setups` heard a stream whose first packet came after `t0`, at
/// most `secs`: how many did, of how many, and the latest of those first packets in ms after
/// `t0`.
fn received(setups: &[&Setup], t0: u64, secs: u64) -> (usize, usize, f64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let stamps: Vec<Option<u64>> = setups.iter().flat_map(|s| first_packets(s)).collect();
        let fresh: Vec<u64> = stamps
            .iter()
            .flatten()
            .copied()
            .filter(|&t| t > t0)
            .collect();
        if fresh.len() == stamps.len() || std::time::Instant::now() >= deadline {
            let last = fresh.iter().max().copied().unwrap_or(t0);
            return (fresh.len(), stamps.len(), (last - t0) as f64 / 1e6);
        }
        // The stamps are the emulator's: reading them seldom costs the run less CPU.
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_idle(setups: &[&Setup]) {
    for s in setups {
        s.wait_until("every phone idle", |r| listening(r) == 0);
    }
}

/// Wait until `srv` runs no page (a page still sending its stops holds its zone).
fn wait_ended(srv: &Server) {
    wait_for(srv, "no page running", 60, || {
        let (_, v) = api(srv, "GET", "/api/pages", None);
        v["pages"]
            .as_array()
            .is_some_and(Vec::is_empty)
            .then_some(())
    });
}

#[test]
#[ignore = "a benchmark: 20 serve processes, 21 nats-servers and 4,000 emulated phones"]
fn district_page_to_20_sites_against_one_node() {
    let n_sites = env("ZC_BENCH_SITES", 20);
    let phones = env("ZC_BENCH_PHONES", 100);
    let reps = env("ZC_BENCH_REPS", 3);
    let names: Vec<String> = (1..=n_sites).map(|n| format!("s{n:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let net = DistrictNet::start(&refs, Duration::from_millis(20));
    let members: Vec<String> = names.iter().map(|s| format!("\"{s}:all\"")).collect();
    let sites: Vec<(Setup, Server)> = names
        .iter()
        .map(|name| {
            let tables = format!(
                "[cluster]\nurls = [\"{}\"]\nsite = \"{name}\"\nnode = \"a\"\n\n\
                 [cluster.district]\neveryone = [{}]\n\n",
                net.site(name).url(),
                members.join(", ")
            );
            let s = setup_light(phones, &tables);
            let srv = Server::start(&s);
            (s, srv)
        })
        .collect();
    let one = setup_light(phones * n_sites, "");
    let one_srv = Server::start(&one);
    let site_setups: Vec<&Setup> = sites.iter().map(|(s, _)| s).collect();
    let first = &sites[0].1;
    // First district pages until every site answers (interest crossing the hub, first pages).
    for attempt in 1.. {
        let body = json!({"zone": "everyone", "source": "tone:800:1"});
        let (status, v) = api(first, "POST", "/api/pages", Some(body));
        assert_eq!(status, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        let done = wait_for(first, "the warm-up page's end", 60, || {
            let (_, v) = api(first, "GET", &format!("/api/pages/{id}"), None);
            (v["active"] == false).then_some(v)
        });
        let totals = &done["district"]["totals"];
        println!("warm-up {attempt}: {totals}");
        wait_idle(&site_setups);
        sites.iter().for_each(|(_, srv)| wait_ended(srv));
        if totals["paged"] == n_sites {
            break;
        }
        assert!(attempt < 5, "sites still unanswered: {done}");
    }
    let mut district = Vec::new();
    let mut single = Vec::new();
    let mut per_page = Vec::new();
    for _ in 0..reps {
        let (m0, _, b0, _) = net.hub_counters();
        let link0: u64 = net
            .sites
            .iter()
            .map(|s| s.link.bytes().0 + s.link.bytes().1)
            .sum();
        let t0 = mono_now_ns();
        let body = json!({"zone": "everyone", "source": "tone:800:2"});
        let (status, v) = api(first, "POST", "/api/pages", Some(body));
        assert_eq!(status, 201, "{v}");
        let (got, of, ms) = received(&site_setups, t0, 20);
        district.push(ms);
        let id = v["id"].as_str().unwrap().to_owned();
        let done = wait_for(first, "the district page's end", 60, || {
            let (_, v) = api(first, "GET", &format!("/api/pages/{id}"), None);
            (v["active"] == false).then_some(v)
        });
        println!(
            "district: {got} of {of} phones received RTP, the last {ms:.0} ms after the POST; \
             report totals {}",
            done["district"]["totals"]
        );
        std::thread::sleep(Duration::from_millis(500));
        let (m1, _, b1, _) = net.hub_counters();
        let link1: u64 = net
            .sites
            .iter()
            .map(|s| s.link.bytes().0 + s.link.bytes().1)
            .sum();
        per_page.push((m1 - m0, b1 - b0, link1 - link0));
        wait_idle(&site_setups);
        sites.iter().for_each(|(_, srv)| wait_ended(srv));

        let t0 = mono_now_ns();
        let body = json!({"zone": "all", "source": "tone:800:2"});
        let (status, v) = api(&one_srv, "POST", "/api/pages", Some(body));
        assert_eq!(status, 201, "{v}");
        let (got, of, ms) = received(&[&one], t0, 20);
        println!("one node: {got} of {of} phones received RTP, the last {ms:.0} ms after the POST");
        single.push(ms);
        wait_idle(&[&one]);
        wait_ended(&one_srv);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "district page, {n_sites} sites x {phones} phones, 40 ms WAN round trip: all received in \
         {:.0} ms (median of {reps}: {district:.0?})",
        median(&mut district.clone())
    );
    println!(
        "one node, {} phones: all received in {:.0} ms (median of {reps}: {single:.0?})",
        phones * n_sites,
        median(&mut single.clone())
    );
    for (msgs, bytes, link) in &per_page {
        println!(
            "per district page: {msgs} messages and {bytes} bytes into the hub (/varz in_msgs, \
             in_bytes), {link} bytes through the WAN links (both ways, protocol included)"
        );
    }
}
