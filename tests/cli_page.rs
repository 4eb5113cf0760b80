//! `zonecast page` and `zonecast recover` as a user runs them, against emulated phones: a config
//! written from the fleet, the real binary, real HTTP and RTP, and the phones checked afterwards.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::sim::addressed;
use zonecast::phone_sim::{Fleet, FleetReport};

const PW_ENV: &str = "ZC_CLI_PAGE_TEST_PW";

struct Setup {
    rt: tokio::runtime::Runtime,
    fleet: Option<Fleet>,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    /// A fleet of `n` phones and a config listing them, with zone `all` (multicast) and zone
    /// `first` (the first `first` phones).
    fn new(n: usize, first: usize, extra_models: &[&str]) -> Setup {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = addressed(n, "CP-8851");
        for (i, m) in extra_models.iter().enumerate() {
            cfg.groups.push(zonecast::phone_sim::config::PhoneGroup {
                count: 1,
                model: (*m).into(),
                prefix: "x".into(),
                name: Some(format!("extra{i}")),
                faults: Default::default(),
            });
        }
        let fleet = rt.block_on(Fleet::start(cfg)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = 20480 + 2 * (rand::random::<u16>() % 5000);
        let mut text = format!(
            "[engine]\nmedia_address = \"127.0.0.1\"\ninterface = \"127.0.0.1\"\n\
             port_pool = \"{port}-{}\"\nmulticast_pool = \"239.255.{}.0/24\"\n\
             journal = \"journal.jsonl\"\npush_timeout = \"3s\"\npush_retries = 1\nverify_grace = \"300ms\"\n\n\
             [priorities]\nlevels = [\"normal\", \"urgent\", \"emergency\"]\nloudest = [\"emergency\"]\n\n",
            port + 200,
            rand::random::<u8>()
        );
        let phones = fleet.phones();
        for p in &phones {
            let _ = write!(
                text,
                "[[phone]]\nname = \"{}\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{}\"\npassword_env = \"{PW_ENV}\"\n\n",
                p.name, p.addr, p.model, p.user
            );
        }
        let names = |ps: &[zonecast::phone_sim::PhoneInfo]| {
            ps.iter()
                .map(|p| format!("\"{}\"", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            text,
            "[zone.all]\nmembers = [{}]\nbanner = \"Announcement\"\n\n[zone.first]\nmembers = [{}]\n",
            names(&phones),
            names(&phones[..first])
        );
        let config = dir.path().join("zonecast.toml");
        std::fs::write(&config, text).unwrap();
        Setup {
            rt,
            fleet: Some(fleet),
            dir,
            config,
        }
    }

    fn fleet(&self) -> &Fleet {
        self.fleet.as_ref().unwrap()
    }

    fn report(&self) -> FleetReport {
        self.fleet().report()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::zonecast();
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .env(PW_ENV, zonecast::phone_sim::config::DEFAULT_PASSWORD);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn wait_until(&self, what: &str, f: impl Fn(&FleetReport) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !f(&self.report()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("journal.jsonl")
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn listening(r: &FleetReport) -> usize {
    r.phones
        .iter()
        .filter(|p| p.heard.last().is_some_and(|h| h.active))
        .count()
}

#[test]
fn a_page_reaches_the_zone_verifies_and_leaves_every_phone_idle() {
    let s = Setup::new(8, 2, &["CP-8851-3PCC", "DP-9841"]);
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "800",
        "--duration",
        "1.5",
        "--verify",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["totals"]["phones"], 10);
    assert_eq!(r["totals"]["accepted"], 9);
    assert_eq!(r["totals"]["refused"], 1);
    let phones = r["phones"].as_array().unwrap();
    let mpp = phones.iter().find(|p| p["name"] == "extra0").unwrap();
    assert_eq!(mpp["failure"]["kind"], "model");
    for p in phones.iter().filter(|p| p["accepted"] == true) {
        assert_eq!(p["receiving"], true, "{p}");
        assert_eq!(p["stopped"], true, "{p}");
        assert!(p["accept_ms"].as_f64().unwrap() < 3000.0);
    }
    let fr = s.report();
    assert_eq!(listening(&fr), 0, "every phone stopped");
    for p in &fr.phones {
        assert!(p.status_banner.is_none(), "{} banner left", p.name);
        if p.name == "extra1" {
            // A 9841 has no Status: it got a Text screen, closed at the end.
            assert!(
                !p.screen.iter().any(|l| l == "Announcement"),
                "{:?}",
                p.screen
            );
        }
        if p.name != "extra0" {
            let h = p.heard.last().unwrap();
            let f = h.rx.summary.frequency_hz.unwrap();
            assert!((f - 800.0).abs() < 15.0, "{} heard {f}", p.name);
        }
    }
    let journal = std::fs::read_to_string(s.journal()).unwrap_or_default();
    assert!(journal.is_empty(), "journal left: {journal}");
    assert!(!journal.contains(zonecast::phone_sim::config::DEFAULT_PASSWORD));
}

#[test]
fn dry_run_prints_the_xml_and_sends_nothing() {
    let s = Setup::new(2, 1, &[]);
    let out = s.run(&[
        "page",
        "--zone",
        "first",
        "--tone",
        "chime",
        "--text",
        "Lunch",
        "--dry-run",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("== p001 (CP-8851)"), "{text}");
    assert!(text.contains("RTPMRx:239.255."), "{text}");
    assert!(text.contains("<Text>Lunch</Text>"), "{text}");
    assert!(text.contains("RTPMRx:Stop") && text.contains("Init:AppStatus"));
    assert_eq!(s.report().totals.pushes, 0);
}

#[test]
fn bad_input_is_exit_2_naming_what_is_wrong() {
    let s = Setup::new(1, 1, &[]);
    for (args, needle) in [
        (vec!["page", "--zone", "nope", "--tone", "chime"], "zone"),
        (
            vec![
                "page",
                "--zone",
                "all",
                "--tone",
                "chime",
                "--priority",
                "panic",
            ],
            "priority",
        ),
        (
            vec![
                "page",
                "--zone",
                "all",
                "--tone",
                "chime",
                "--text",
                &"x".repeat(40),
            ],
            "banner",
        ),
        (vec!["page", "--zone", "all", "--tone", "800"], "duration"),
    ] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(s.report().totals.pushes, 0);
}

#[test]
fn sigkill_mid_page_then_recover_leaves_no_phone_listening() {
    let s = Setup::new(6, 2, &[]);
    let mut child = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("all 6 phones listening", |r| listening(r) == 6);
    child.kill().unwrap(); // SIGKILL: no stop was sent
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        listening(&s.report()),
        6,
        "the killed page left them playing"
    );
    assert!(!std::fs::read_to_string(s.journal()).unwrap().is_empty());
    let out = s.run(&["recover", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = json(&out);
    assert_eq!(done.as_array().unwrap().len(), 6);
    assert_eq!(listening(&s.report()), 0);
    assert!(s.report().phones.iter().all(|p| p.status_banner.is_none()));
    // Nothing left to do.
    let again = s.run(&["recover"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to recover"));
}

#[test]
fn a_higher_priority_page_takes_over_shared_phones_and_both_end_cleanly() {
    let s = Setup::new(5, 2, &[]);
    let low = s.spawn(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "500",
        "--duration",
        "4",
        "--json",
    ]);
    s.wait_until("the low page heard on all 5", |r| {
        r.phones.iter().all(|p| {
            p.heard.last().is_some_and(|h| {
                h.active
                    && h.rx
                        .summary
                        .frequency_hz
                        .is_some_and(|f| (f - 500.0).abs() < 15.0)
            })
        })
    });
    let high = s.run(&[
        "page",
        "--zone",
        "first",
        "--tone",
        "900",
        "--duration",
        "1",
        "--priority",
        "emergency",
        "--json",
    ]);
    assert_eq!(
        high.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&high.stderr)
    );
    let out = low.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let low_report = json(&out);
    let preempted: Vec<&str> = low_report["phones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "preempted")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(preempted, ["p001", "p002"]);
    let fr = s.report();
    assert_eq!(listening(&fr), 0);
    for p in &fr.phones {
        let freqs: Vec<i64> = p
            .heard
            .iter()
            .map(|h| h.rx.summary.frequency_hz.unwrap_or_default().round() as i64)
            .collect();
        if p.name == "p001" || p.name == "p002" {
            assert_eq!(p.heard.len(), 2, "{}: low then high", p.name);
            assert!((freqs[1] - 900).abs() < 15, "{}: {freqs:?}", p.name);
            assert_eq!(p.heard[1].stream.volume, Some(100), "emergency is loudest");
        } else {
            assert_eq!(p.heard.len(), 1, "{}", p.name);
        }
        assert!((freqs[0] - 500).abs() < 15, "{}: {freqs:?}", p.name);
    }
}
