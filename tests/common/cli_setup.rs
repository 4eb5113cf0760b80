//! The harness of the command-line tests: a fleet of emulated phones, a config written from it
//! in a temporary folder, and the real `zonecast` binary run against both.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use zonecast::phone_sim::config::{DEFAULT_PASSWORD, PhoneGroup};
use zonecast::phone_sim::http::FleetPhoneReport;
use zonecast::phone_sim::{Fleet, FleetReport, PhoneInfo};

use super::sim::addressed;

/// The variable the config names for the phones' password; set on every command run.
pub const PW_ENV: &str = "ZC_CLI_TEST_PW";

/// What the fleet and its config hold.
#[derive(Default)]
pub struct Spec<'a> {
    /// How many CP-8851 phones (p001 ...).
    pub phones: usize,
    /// One more phone of each of these models (extra0 ...).
    pub extra_models: &'a [&'a str],
    /// The tone the phones' microphones send (None: the emulator's own).
    pub mic_tone_hz: Option<f64>,
    /// More `[engine]` lines, each ending in `\n`.
    pub engine: &'a str,
    /// More tables after `[engine]` (`[priorities]` ...), ending in a blank line.
    pub tables: &'a str,
    /// The zones.
    pub zones: &'a [Zone<'a>],
    /// The phones ask this Authentication URL instead of checking their own password, and the
    /// config lists them with `auth = "minted"` and their device names.
    pub auth_url: Option<String>,
    /// The phones write a WAV of every stream they hear here (`NAME-NNN.wav`).
    pub record_dir: Option<PathBuf>,
    /// Every phone answers pushes after this long (the emulator's `latency` fault: `200ms`).
    pub latency: Option<&'a str>,
    /// The phones only stamp and count what they receive (`receive = "light"`): for
    /// benchmarks of thousands of phones, whose decoding would take the engine's CPU.
    pub light_receive: bool,
}

/// A `[zone.NAME]` of the config.
pub struct Zone<'a> {
    pub name: &'a str,
    /// The first this many phones (None: all, the extra ones too).
    pub first: Option<usize>,
    pub banner: Option<&'a str>,
}

impl<'a> Zone<'a> {
    /// Zone `all` (every phone, its banner `banner`) and zone `first` (the first `n` phones).
    pub fn all_and_first(n: usize, banner: Option<&'a str>) -> [Zone<'a>; 2] {
        [
            Zone {
                name: "all",
                first: None,
                banner,
            },
            Zone {
                name: "first",
                first: Some(n),
                banner: None,
            },
        ]
    }
}

/// A running fleet and the config for it; the fleet is shut down on drop.
pub struct Setup {
    rt: tokio::runtime::Runtime,
    fleet: Option<Fleet>,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    /// Start the fleet `spec` describes and write `zonecast.toml` listing every phone, with the
    /// journal `journal.jsonl` next to it.
    pub fn new(spec: &Spec) -> Setup {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = addressed(spec.phones, "CP-8851");
        cfg.auth_url = spec.auth_url.clone();
        cfg.record_dir = spec.record_dir.clone();
        cfg.light_receive = spec.light_receive;
        if let Some(hz) = spec.mic_tone_hz {
            cfg.mic_tone_hz = hz;
        }
        if let Some(l) = spec.latency {
            for g in &mut cfg.groups {
                g.faults.latency = Some(l.parse().unwrap());
            }
        }
        for (i, m) in spec.extra_models.iter().enumerate() {
            cfg.groups.push(PhoneGroup {
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
             port_pool = \"{port}-{}\"\njournal = \"journal.jsonl\"\npush_timeout = \"3s\"\n\
             push_retries = 1\n{}\n{}",
            port + 200,
            spec.engine,
            spec.tables,
        );
        let phones = fleet.phones();
        for p in &phones {
            let credentials = if spec.auth_url.is_some() {
                format!("auth = \"minted\"\ndevice = \"{}\"", p.device)
            } else {
                format!("password_env = \"{PW_ENV}\"\ndevice = \"{}\"", p.device)
            };
            let _ = write!(
                text,
                "[[phone]]\nname = \"{}\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{}\"\n{credentials}\n\n",
                p.name, p.addr, p.model, p.user
            );
        }
        let names = |ps: &[PhoneInfo]| {
            ps.iter()
                .map(|p| format!("\"{}\"", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for z in spec.zones {
            let members = &phones[..z.first.unwrap_or(phones.len())];
            let _ = writeln!(text, "[zone.{}]\nmembers = [{}]", z.name, names(members));
            if let Some(b) = z.banner {
                let _ = writeln!(text, "banner = \"{b}\"");
            }
            text.push('\n');
        }
        let config = dir.path().join("zonecast.toml");
        std::fs::write(&config, text).unwrap();
        Setup {
            rt,
            fleet: Some(fleet),
            dir,
            config,
        }
    }

    pub fn fleet(&self) -> &Fleet {
        self.fleet.as_ref().unwrap()
    }

    /// The user of phone `name` hangs up (on-hook): inside the fleet's runtime, which carries
    /// the phone's callback.
    pub fn hang_up(&self, name: &str) -> bool {
        let _in_rt = self.rt.enter();
        self.fleet().hang_up(name)
    }

    /// Inside the fleet's runtime (for fleet calls that start tasks, e.g. `minimize`).
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.rt.enter()
    }

    /// Run `f` (a fleet call that does HTTP) on the fleet's runtime.
    pub fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    pub fn report(&self) -> FleetReport {
        self.fleet().report()
    }

    pub fn phone(&self, name: &str) -> FleetPhoneReport {
        self.fleet().phone_report(name).unwrap()
    }

    /// `name` in the temporary folder (next to the config).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `zonecast ARGS --config CONFIG`, with the phones' password in the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = super::zonecast();
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .env(PW_ENV, DEFAULT_PASSWORD);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Start the command with its stdout and stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Wait up to 15 s for the fleet's report to satisfy `f`.
    pub fn wait_until(&self, what: &str, f: impl Fn(&FleetReport) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !f(&self.report()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The journal's text (empty when there is no journal).
    pub fn journal(&self) -> String {
        std::fs::read_to_string(self.path("journal.jsonl")).unwrap_or_default()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

/// The command's stdout as JSON; else fail showing both outputs.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command exited with `code`; else fail showing its stderr.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr(out));
}
