//! District pages across sites (issue 24): a hub nats-server and a leaf per site, each leaf
//! behind a delaying, cuttable WAN link ([`common::district_net`]).

mod common;

use std::time::{Duration, Instant};

use common::district_net::DistrictNet;
use common::server::*;
use serde_json::{Value, json};

/// A request/reply from one site's leaf to another's, through the hub: `Ok(round trip)` or the
/// client's error.
async fn ask(from: &str, subject: &str) -> Result<Duration, String> {
    let c = async_nats::connect(from).await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(2),
        c.request(subject.to_owned(), "ping".into()),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    assert_eq!(&reply.payload[..], b"pong");
    Ok(t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_crosses_leaf_hub_leaf_with_the_links_delay_and_not_while_cut() {
    let one_way = Duration::from_millis(20);
    let net = tokio::task::spawn_blocking(move || DistrictNet::start(&["north", "south"], one_way))
        .await
        .unwrap();
    // A responder at south's leaf.
    let south = async_nats::connect(net.site("south").url()).await.unwrap();
    let mut sub = south.subscribe("zc.south.ping").await.unwrap();
    let responder = south.clone();
    tokio::spawn(async move {
        use futures_util::StreamExt as _;
        while let Some(m) = sub.next().await {
            if let Some(r) = m.reply {
                let _ = responder.publish(r, "pong".into()).await;
            }
        }
    });
    south.flush().await.unwrap();
    // Asked from north's leaf: once south's interest has reached north through the hub.
    let north = net.site("north").url();
    let deadline = Instant::now() + Duration::from_secs(10);
    let rtt = loop {
        match ask(&north, "zc.south.ping").await {
            Ok(rtt) => break rtt,
            Err(e) => assert!(Instant::now() < deadline, "north never reached south: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Four link crossings: north -> hub -> south and back.
    assert!(
        rtt >= 4 * one_way,
        "round trip {rtt:?} under 4 x {one_way:?}"
    );
    let (to_hub, from_hub) = net.site("south").link.bytes();
    assert!(
        to_hub > 0 && from_hub > 0,
        "south's link counted {to_hub}/{from_hub} bytes"
    );
    // South's WAN cut: north's request finds no one (or times out); south still reaches itself.
    net.site("south").link.cut();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(&north, "zc.south.ping").await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "south still reached through a cut link"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And it stays cut: the leaf's reconnects (every second) find no way around the link.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        net.linked(),
        1,
        "south's leaf reached the hub past its cut link"
    );
    assert!(ask(&north, "zc.south.ping").await.is_err());
    ask(&net.site("south").url(), "zc.south.ping")
        .await
        .expect("south's own leaf answers during the cut");
    // Restored: the leaf reconnects and north reaches south again.
    net.site("south").link.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Err(e) = ask(&north, "zc.south.ping").await {
        assert!(
            Instant::now() < deadline,
            "south not reached after the restore: {e}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(net.linked(), 2);
}

/// One site of the district test: its emulated phones, its config and its `zonecast serve`.
struct Site {
    name: String,
    setup: common::cli_setup::Setup,
    server: Server,
}

/// Per phone of `s`, how many streams it heard with packets in them.
fn heard(s: &Site) -> Vec<usize> {
    s.setup
        .report()
        .phones
        .iter()
        .map(|p| p.heard.iter().filter(|h| h.rx.summary.packets > 0).count())
        .collect()
}

/// `[cluster]` of site `name` on its leaf, with the district zone `everyone` over `sites`.
fn cluster_tables(net: &DistrictNet, name: &str, sites: &[&str]) -> String {
    let members: Vec<String> = sites.iter().map(|s| format!("\"{s}:all\"")).collect();
    format!(
        "[cluster]\nurls = [\"{}\"]\nsite = \"{name}\"\nnode = \"a\"\n\n\
         [cluster.district]\neveryone = [{}]\n\n",
        net.site(name).url(),
        members.join(", ")
    )
}

/// Page `zone` at `srv`, then follow the district page until it is done; its last JSON.
fn district_page(srv: &Server, body: Value, secs: u64) -> (String, Value) {
    let (status, v) = api(srv, "POST", "/api/pages", Some(body));
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().expect("the district page's id").to_owned();
    assert!(v["district"]["sites"].is_array(), "{v}");
    let done = wait_for(srv, "the district page to end", secs, || {
        let (status, v) = api(srv, "GET", &format!("/api/pages/{id}"), None);
        assert_eq!(status, 200, "{v}");
        (v["active"] == false).then_some(v)
    });
    (id, done["district"].clone())
}

/// Each of `names` with `phones` emulated phones and its `zonecast serve` on its leaf.
fn start_sites(net: &DistrictNet, names: &[&str], phones: usize) -> Vec<Site> {
    start_sites_with(net, names, phones, &|_| String::new())
}

/// [`start_sites`], each site's config with `more(site)` after its cluster tables.
fn start_sites_with(
    net: &DistrictNet,
    names: &[&str],
    phones: usize,
    more: &dyn Fn(&str) -> String,
) -> Vec<Site> {
    names
        .iter()
        .map(|name| {
            let tables = format!("{}{}", cluster_tables(net, name, names), more(name));
            let setup = setup(phones, &tables);
            let server = Server::start(&setup);
            Site {
                name: name.to_string(),
                setup,
                server,
            }
        })
        .collect()
}

/// sipp, from a thread in `dir`, runs `scenario` (of `tests/sip`) from 127.0.0.1 to the agent
/// at 127.0.0.1:`port`, calling `number`: whether it passed, and its log.
fn sipp_in_background(
    dir: &std::path::Path,
    port: u16,
    scenario: &'static str,
    number: &'static str,
) -> std::thread::JoinHandle<(bool, String)> {
    use common::sip_call::{SippCall, sipp_log};
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        let scenario = common::sip_call::scenario(scenario);
        let out = SippCall {
            dir: &dir,
            scenario: &scenario,
            from: "127.0.0.1",
            port,
            number,
            transport: "u1",
            extra: &[],
        }
        .run();
        (out.status.success(), sipp_log(&dir, &out))
    })
}

/// The caller's 1 kHz heard at every phone of `sites`, sipp's `call` passed, and every phone
/// stopped after its BYE; then the calls ended at the first site (its `GET /api/calls`).
fn heard_everywhere_until_bye(
    sites: &[Site],
    call: std::thread::JoinHandle<(bool, String)>,
    story: &dyn Fn() -> String,
) -> Vec<Value> {
    use common::sip_call::hear_the_tone;
    for s in sites {
        let phones = s.setup.report().phones.len();
        s.setup
            .wait_until("every phone hears the caller's 1 kHz", |r| {
                hear_the_tone(r, phones)
            });
    }
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\n{}", story());
    for s in sites {
        s.setup
            .wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
    }
    let srv = &sites[0].server;
    wait_for(srv, "the call's end in the journal", 20, || {
        let (_, body) = api(srv, "GET", "/api/calls", None);
        let recent = body["recent"].as_array().cloned().unwrap_or_default();
        (!recent.is_empty()).then_some(recent)
    })
}

/// Section `site` of a district report.
fn section<'a>(report: &'a Value, site: &str) -> &'a Value {
    report["sites"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["site"] == site))
        .unwrap_or_else(|| panic!("no section for {site} in {report}"))
}

#[test]
fn a_district_page_reaches_every_site_reports_a_cut_one_unreachable_and_stops_everywhere() {
    const PHONES: usize = 3;
    let names = ["s1", "s2", "s3", "s4", "s5"];
    let net = DistrictNet::start(&names, Duration::from_millis(5));
    let sites = start_sites(&net, &names, PHONES);
    let first = &sites[0].server;
    let tone = json!({"zone": "everyone", "source": "tone:800:2"});

    // Every site pages its phones; the report has a section per site.
    let (_, report) = district_page(first, tone.clone(), 30);
    for s in &sites {
        let sec = section(&report, &s.name);
        assert_eq!(sec["status"], "ended", "{}: {sec}", s.name);
        assert_eq!(sec["accepted"], PHONES, "{}: {sec}", s.name);
        assert_eq!(
            sec["phones"].as_array().map(Vec::len),
            Some(PHONES),
            "{sec}"
        );
        assert_eq!(heard(s), vec![1; PHONES], "{}'s phones", s.name);
    }
    assert_eq!(
        report["totals"]["accepted"],
        PHONES * names.len(),
        "{report}"
    );
    assert_eq!(report["totals"]["unreachable"], 0, "{report}");

    // s3's WAN cut: s3 is reported unreachable, the others page; s3 still pages itself.
    net.site("s3").link.cut();
    std::thread::sleep(Duration::from_millis(500));
    let (_, report) = district_page(first, tone.clone(), 30);
    for s in &sites {
        let sec = section(&report, &s.name);
        if s.name == "s3" {
            assert_eq!(sec["status"], "unreachable", "{sec}");
            assert_eq!(
                heard(s),
                vec![1; PHONES],
                "s3's phones heard the district page"
            );
        } else {
            assert_eq!(sec["status"], "ended", "{}: {sec}", s.name);
            assert_eq!(heard(s), vec![2; PHONES], "{}'s phones", s.name);
        }
    }
    assert_eq!(report["totals"]["unreachable"], 1, "{report}");
    let s3 = &sites[2];
    let (status, v) = api(
        &s3.server,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:600:1"})),
    );
    assert_eq!(status, 201, "a local page at the cut site: {v}");
    s3.setup.wait_until("s3's local page heard", |r| {
        r.phones
            .iter()
            .all(|p| p.heard.iter().filter(|h| h.rx.summary.packets > 0).count() == 2)
    });
    let (_, v) = api(
        &s3.server,
        "GET",
        &format!("/api/pages/{}", v["id"].as_str().unwrap()),
        None,
    );
    assert!(v["page"].is_object(), "{v}");

    // Link back: a long district page stopped from the first site stops at every site.
    net.site("s3").link.restore();
    net.wait_linked(names.len(), 20);
    std::thread::sleep(Duration::from_secs(1));
    let long = json!({"zone": "everyone", "source": "tone:700:60"});
    let (status, v) = api(first, "POST", "/api/pages", Some(long));
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    for s in &sites {
        s.setup
            .wait_until("every phone listening", |r| listening(r) == PHONES);
    }
    let (status, v) = api(first, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(status, 202, "{v}");
    let done = wait_for(first, "the stopped district page to end", 30, || {
        let (_, v) = api(first, "GET", &format!("/api/pages/{id}"), None);
        (v["active"] == false).then_some(v)
    });
    for s in &sites {
        let sec = section(&done["district"], &s.name);
        assert_eq!(sec["status"], "ended", "{}: {sec}", s.name);
        assert!(
            sec["ended_by"]
                .as_str()
                .is_some_and(|e| e.contains("stopped")),
            "{}: {sec}",
            s.name
        );
        s.setup
            .wait_until("no phone listening", |r| listening(r) == 0);
    }
}

#[test]
fn zonecast_page_of_a_district_zone_pages_every_site_and_prints_a_section_per_site() {
    const PHONES: usize = 2;
    let names = ["n1", "n2"];
    let net = DistrictNet::start(&names, Duration::from_millis(5));
    let sites = start_sites(&net, &names, PHONES);
    // The command line at site n1, with n1's config: its parts go over the bus to each
    // site's serve (n1's own too).
    let out = sites[0].setup.run(&[
        "page",
        "--zone",
        "everyone",
        "--tone",
        "800",
        "--duration",
        "1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for s in &sites {
        assert!(
            text.contains(&format!("{}:all  paged, ended", s.name)),
            "{}: {text}",
            s.name
        );
        assert_eq!(heard(s), vec![1; PHONES], "{}'s phones", s.name);
    }
    assert!(
        text.contains(&format!(
            "2 of 2 sites paged, 0 unreachable; {0} of {0}",
            PHONES * 2
        )),
        "{text}"
    );
    // A file of this machine cannot play at the other sites: refused before anything is sent.
    let out = sites[0]
        .setup
        .run(&["page", "--zone", "everyone", "--file", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot page a district zone"));
    // With n2's link cut, n2 is reported unreachable and the exit code says so.
    net.site("n2").link.cut();
    std::thread::sleep(Duration::from_millis(500));
    let out = sites[0]
        .setup
        .run(&["page", "--zone", "everyone", "--tone", "chime"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("n2:all  UNREACHABLE"), "{text}");
}

#[test]
fn a_site_busy_at_equal_priority_refuses_its_part_as_busy_or_waits_as_its_policy_says() {
    const PHONES: usize = 2;
    let names = ["q1", "q2", "q3"];
    let net = DistrictNet::start(&names, Duration::from_millis(5));
    // q2 refuses a page of equal priority (the default); q3 waits for the zone.
    let sites: Vec<Site> = names
        .iter()
        .map(|name| {
            let policy = if *name == "q3" {
                "[priorities]\nequal = \"wait\"\n\n"
            } else {
                ""
            };
            let setup = setup(
                PHONES,
                &format!("{policy}{}", cluster_tables(&net, name, &names)),
            );
            let server = Server::start(&setup);
            Site {
                name: name.to_string(),
                setup,
                server,
            }
        })
        .collect();
    // A local page holds zone `all` at q2 (30 s) and at q3 (5 s), at the default priority.
    let mut local = Vec::new();
    for (s, secs) in [(&sites[1], 30), (&sites[2], 5)] {
        let body = json!({"zone": "all", "source": format!("tone:600:{secs}")});
        let (status, v) = api(&s.server, "POST", "/api/pages", Some(body));
        assert_eq!(status, 201, "{v}");
        local.push(v["id"].as_str().unwrap().to_owned());
        s.setup
            .wait_until("the local page heard", |r| listening(r) == PHONES);
    }
    let started = Instant::now();
    let (_, report) = district_page(
        &sites[0].server,
        json!({"zone": "everyone", "source": "tone:800:1"}),
        60,
    );
    // q1 pages; q2 says at once that it is busy, and why (not unreachable after a timeout).
    assert_eq!(section(&report, "q1")["status"], "ended", "{report}");
    let q2 = section(&report, "q2");
    assert_eq!(q2["status"], "refused", "{q2}");
    let why = q2["reason"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("busy: zone all is busy") && why.contains(&local[0]),
        "{q2}"
    );
    // q3 waits for its local page to end (saying so meanwhile), then pages its part.
    let q3 = section(&report, "q3");
    assert_eq!(q3["status"], "ended", "{report}");
    assert_eq!(q3["accepted"], PHONES, "{q3}");
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "q3's part did not wait"
    );
    assert_eq!(heard(&sites[2]), vec![2; PHONES], "q3's phones");
    assert_eq!(
        heard(&sites[1]),
        vec![1; PHONES],
        "q2's phones: the local page alone"
    );
    assert_eq!(report["totals"]["refused"], 1, "{report}");
    assert_eq!(report["totals"]["unreachable"], 0, "{report}");
}

/// A SIP call to site c1 dialling the district zone `everyone` (c1's and c2's phones, c2 behind
/// a WAN of 20 ms each way): the caller's 1 kHz is heard at both sites as it speaks, its BYE
/// stops every phone, and the call is journaled with the district page, whose report has both
/// sites. A delayed route's recording plays at both sites after its BYE.
#[test]
fn a_sip_call_to_a_district_zone_is_heard_at_every_site_live_and_recorded() {
    use common::sip_call::{free_sip_port, have_sipp, hear_the_tone};
    if !have_sipp() {
        return;
    }
    const PHONES: usize = 2;
    let names = ["c1", "c2"];
    let net = DistrictNet::start(&names, Duration::from_millis(20));
    let port = free_sip_port("127.0.0.1");
    let sip = format!(
        "[sip]\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\nno_rtp = \"3s\"\n\n\
         [[sip.route]]\nnumber = \"7001\"\nzone = \"everyone\"\n\n\
         [[sip.route]]\nnumber = \"7002\"\nzone = \"everyone\"\nmode = \"delayed\"\n\n"
    );
    let sites = start_sites_with(&net, &names, PHONES, &|name| {
        if name == "c1" {
            sip.clone()
        } else {
            String::new()
        }
    });
    let c1 = &sites[0].server;
    wait_for(c1, "the SIP agent to listen", 20, || {
        c1.log().contains("SIP listening on udp:").then_some(())
    });
    let dir = tempfile::tempdir().unwrap();
    common::sip_call::write_tone(dir.path());
    let call = |number: &'static str| sipp_in_background(dir.path(), port, "uac_tone.xml", number);
    let story = || format!("--- c1\n{}\n--- c2\n{}", c1.log(), sites[1].server.log());

    // Live: both sites hear the caller while it speaks.
    let calls = heard_everywhere_until_bye(&sites, call("7001"), &story);
    assert_eq!(calls[0]["outcome"], "the caller hung up", "{calls:?}");
    let page = calls[0]["page"]
        .as_str()
        .expect("the call's page")
        .to_owned();
    let done = wait_for(c1, "the district page to end", 20, || {
        let (_, v) = api(c1, "GET", &format!("/api/pages/{page}"), None);
        (v["active"] == false).then_some(v)
    });
    for s in &sites {
        let sec = section(&done["district"], &s.name);
        assert_eq!(sec["status"], "ended", "{}: {sec}", s.name);
        assert_eq!(sec["accepted"], PHONES, "{}: {sec}", s.name);
    }
    // c2 journals its part as c1's, spoken live.
    let (_, h) = api(&sites[1].server, "GET", "/api/history", None);
    assert!(h.to_string().contains("site:c1"), "{h}");

    // Delayed: nothing while the caller speaks; after its BYE, the recording at both sites.
    let delayed = call("7002");
    std::thread::sleep(Duration::from_secs(3));
    for s in &sites {
        assert_eq!(
            heard(s),
            vec![1; PHONES],
            "{} paged while recording",
            s.name
        );
    }
    let (ok, log) = delayed.join().unwrap();
    assert!(ok, "the delayed call failed: {log}\n{}", story());
    for s in &sites {
        s.setup.wait_until("every phone hears the recording", |r| {
            hear_the_tone(r, PHONES)
        });
    }
    for s in &sites {
        s.setup
            .wait_until("every phone stopped after the recording", |r| {
                listening(r) == 0
            });
    }
}

/// A SIP call on a `busy = "queue"` route to the district zone `everyone` while a local page
/// holds zone `all` at both sites for 5 s: answered and queued, its district page tried again
/// after 1, 2 and 4 s (each try asks every site, so not every second as a local zone's is),
/// and once the local pages have ended its page starts and both sites hear the caller.
#[test]
fn a_call_queued_for_a_busy_district_zone_pages_every_site_once_it_is_free() {
    use common::sip_call::{free_sip_port, have_sipp};
    if !have_sipp() {
        return;
    }
    const PHONES: usize = 2;
    let names = ["w1", "w2"];
    let net = DistrictNet::start(&names, Duration::from_millis(5));
    let port = free_sip_port("127.0.0.1");
    let sip = format!(
        "[sip]\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\nno_rtp = \"3s\"\n\n\
         [[sip.route]]\nnumber = \"7003\"\nzone = \"everyone\"\nbusy = \"queue\"\n\
         queue_wait = \"30s\"\n\n"
    );
    let sites = start_sites_with(&net, &names, PHONES, &|name| {
        if name == "w1" {
            sip.clone()
        } else {
            String::new()
        }
    });
    let w1 = &sites[0].server;
    wait_for(w1, "the SIP agent to listen", 20, || {
        w1.log().contains("SIP listening on udp:").then_some(())
    });
    let mut holders = Vec::new();
    for s in &sites {
        let body = json!({"zone": "all", "source": "tone:600:5"});
        let (status, v) = api(&s.server, "POST", "/api/pages", Some(body));
        assert_eq!(status, 201, "{v}");
        holders.push(v["id"].as_str().unwrap().to_owned());
        s.setup
            .wait_until("the local page heard", |r| listening(r) == PHONES);
    }
    let dir = tempfile::tempdir().unwrap();
    common::sip_call::write_tone(dir.path());
    let call = sipp_in_background(dir.path(), port, "uac_queue.xml", "7003");
    let story = || format!("--- w1\n{}\n--- w2\n{}", w1.log(), sites[1].server.log());
    let calls = heard_everywhere_until_bye(&sites, call, &story);
    let outcome = calls[0]["outcome"].as_str().unwrap_or_default();
    assert!(
        outcome.starts_with("the caller hung up (queued "),
        "{calls:?}"
    );
    // w2 was asked its part once per try: a few refused while the zone was held, and the one
    // that paged. Over the 5 s, tries 1, 2 and 4 s apart make 4, the last about 2 s after the
    // zone frees (every second: 6 or more).
    let w2_log = sites[1].server.log();
    let asked = w2_log
        .lines()
        .filter(|l| l.contains("district: part dp-") && l.contains("from site w1"))
        .count();
    assert!(
        (2..=4).contains(&asked),
        "w2 asked {asked} times\n{}",
        story()
    );
}

/// Speech of a district page is spoken at every site in the voice the asker gave: site v2's own
/// `[speech]` is the fastest rate, but the page asked at v1 with `"voice": {"rate": 90}` is
/// spoken slowly at v2 too (its phones hear it for as long as v1's do, several times what v2's
/// own voice takes, measured by a page of v2 alone).
#[test]
fn a_district_page_is_spoken_at_every_site_in_the_askers_voice() {
    if std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: espeak-ng is not installed (apt-get install espeak-ng)");
        return;
    }
    const PHONES: usize = 2;
    let names = ["v1", "v2"];
    let net = DistrictNet::start(&names, Duration::from_millis(5));
    let sites = start_sites_with(&net, &names, PHONES, &|name| {
        if name == "v2" {
            "[speech]\nrate = 450\n\n".to_owned()
        } else {
            String::new()
        }
    });
    let words = "say:one two three four five six seven eight nine ten eleven twelve";
    // Packets of the newest stream each site's phone heard.
    let packets = |s: &Site| {
        s.setup.report().phones[0]
            .heard
            .last()
            .map_or(0, |h| h.rx.summary.packets)
    };
    let body = json!({"zone": "everyone", "source": words, "voice": {"rate": 90}});
    let (_, report) = district_page(&sites[0].server, body, 60);
    for s in &sites {
        assert_eq!(section(&report, &s.name)["status"], "ended", "{report}");
        s.setup.wait_until("the phone idle", |r| listening(r) == 0);
    }
    let (slow_v1, slow_v2) = (packets(&sites[0]), packets(&sites[1]));
    // v2's own voice, paged at v2 alone.
    let (status, v) = api(
        &sites[1].server,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": words})),
    );
    assert_eq!(status, 201, "{v}");
    sites[1]
        .setup
        .wait_until("v2's own page heard and ended", |r| {
            r.phones[0].heard.len() == 2 && listening(r) == 0
        });
    let own_v2 = packets(&sites[1]);
    eprintln!("packets: v1 {slow_v1}, v2 {slow_v2}, v2's own voice {own_v2}");
    assert!(
        slow_v2 * 10 >= slow_v1 * 9 && slow_v2 * 9 <= slow_v1 * 10,
        "v2 heard {slow_v2} packets, v1 {slow_v1}: not the same voice"
    );
    assert!(
        slow_v2 > own_v2 * 3,
        "v2 spoke the district page in its own voice: {slow_v2} packets, its own {own_v2}"
    );
}
