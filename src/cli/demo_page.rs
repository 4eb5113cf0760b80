//! `zonecast demo`: the whole job on this machine, with nothing to configure.
//!
//! Starts 49 emulated Cisco phones of mixed models on loopback (three on Multiplatform firmware,
//! which cannot play pages, and one whose password differs), adds one phone that does not answer
//! at all, writes a config for them, pages zone `all` with the bundled chime and a banner,
//! verifies which phones actually receive packets, records one phone's microphone for 3 s, prints
//! the delivery report and who heard what, and stops everything it started.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::common::CliError;
use crate::config::Config;
use crate::g711::Law;
use crate::page::report::DeliveryReport;
use crate::page::{Origin, PageOrder, Pager, PagerSetup};
use crate::phone_sim::config::{Addressing, FaultRule, PhoneGroup};
use crate::phone_sim::faults::Faults;
use crate::phone_sim::{Fleet, FleetReport, SimConfig};
use crate::push::{PushClient, Secret};
use crate::rtp::pacer::{EncodedClip, PacerOptions};
use crate::rtp::receiver::ReorderConfig;
use crate::rtp::{Listen, Listener, Pacer, RecordFormat, Recorder};
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject};
use crate::xsi::uri::Uri;

/// The bundled chime as a Cisco ring file (µ-law, 8 kHz), made by `zonecast ringtone convert`
/// (see audio/README.md); compiled in so the demo runs from any directory.
const CHIME_RAW: &[u8] = include_bytes!("../../audio/chime.raw");
/// The tone the emulated phones' microphones send.
const MIC_HZ: f64 = 440.0;
/// How long the microphone is recorded.
const MIC_SECONDS: f64 = 3.0;
/// Banner shown during the page.
const BANNER: &str = "zonecast demo";

/// The fleet: (count, model, prefix).
const MODELS: &[(usize, &str, &str)] = &[
    (20, "CP-8851", "desk"),
    (8, "CP-7841", "hall"),
    (5, "CP-8845", "office"),
    (4, "CP-8865", "exec"),
    (3, "DP-9841", "lab"),
    (2, "CP-8821", "wifi"),
    (3, "CP-7942G", "old"),
    (3, "CP-8851-3PCC", "mpp"),
];

#[derive(serde::Serialize)]
struct Heard {
    phone: String,
    model: String,
    packets: u64,
    lost: u64,
    frequency_hz: Option<f64>,
    banner_cleared: bool,
    still_listening: bool,
}

#[derive(serde::Serialize)]
struct MicRecording {
    phone: String,
    file: String,
    seconds: f64,
    packets: u64,
    frequency_hz: Option<f64>,
}

#[derive(serde::Serialize)]
struct Summary {
    report: DeliveryReport,
    heard: Vec<Heard>,
    microphone: Option<MicRecording>,
    config: String,
    seconds: f64,
    as_expected: bool,
}

fn chime_samples() -> anyhow::Result<Vec<i16>> {
    let report = crate::ringtone::check_bytes(CHIME_RAW, crate::ringtone::Format::Narrowband);
    anyhow::ensure!(
        report.passes(),
        "the bundled chime ring: {:?}",
        report.problems
    );
    let chime: Vec<i16> = CHIME_RAW.iter().map(|&b| Law::Ulaw.decode(b)).collect();
    // The chime three times, a second apart: long enough to verify every phone mid-page.
    let mut out = Vec::new();
    for _ in 0..3 {
        out.extend_from_slice(&chime);
        out.extend(std::iter::repeat_n(0i16, 8000));
    }
    Ok(out)
}

fn sim_config() -> SimConfig {
    let mut cfg = SimConfig::uniform(0, "CP-8851");
    cfg.groups.clear();
    for (count, model, prefix) in MODELS {
        cfg.groups.push(PhoneGroup {
            count: *count,
            model: (*model).into(),
            prefix: (*prefix).into(),
            name: None,
            faults: Faults::default(),
        });
    }
    cfg.groups.push(PhoneGroup {
        count: 1,
        model: "CP-8845".into(),
        prefix: "x".into(),
        name: Some("lobby".into()),
        faults: Faults::default(),
    });
    cfg.fault_rules.push(FaultRule {
        share: None,
        count: None,
        phones: vec!["lobby".into()],
        faults: Faults {
            wrong_password: true,
            ..Faults::default()
        },
    });
    // A random 127.x.y.1 block, so a demo never collides with a test or another demo.
    cfg.host = Ipv4Addr::new(
        127,
        100 + rand::random::<u8>() % 100,
        rand::random::<u8>(),
        1,
    );
    cfg.addressing = Addressing::Addresses { port: 0 };
    cfg.mic_tone_hz = MIC_HZ;
    cfg.record_dir = None;
    cfg
}

/// A loopback address and port where nothing answers: the "unreachable" phone.
fn dead_address() -> anyhow::Result<SocketAddrV4> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    let a = match l.local_addr()? {
        std::net::SocketAddr::V4(a) => a,
        std::net::SocketAddr::V6(_) => anyhow::bail!("IPv6 loopback"),
    };
    drop(l);
    Ok(a)
}

fn config_text(fleet: &Fleet, dead: SocketAddrV4, out_dir: &Path) -> String {
    let port = 20480 + 2 * (rand::random::<u16>() % 5000);
    let mut t = format!(
        "# Written by `zonecast demo` for its emulated phones (they are gone when it ends).\n\
         [engine]\nmedia_address = \"127.0.0.1\"\ninterface = \"127.0.0.1\"\n\
         port_pool = \"{port}-{}\"\nmulticast_pool = \"239.255.{}.0/24\"\nmulticast_ttl = 1\n\
         journal = \"{}\"\npush_timeout = \"3s\"\nconnect_timeout = \"1s\"\npush_retries = 1\n\
         verify_grace = \"500ms\"\n\n",
        port + 100,
        rand::random::<u8>(),
        out_dir.join("journal.jsonl").display()
    );
    let mut members = Vec::new();
    for p in fleet.phones() {
        let _ = write!(
            t,
            "[[phone]]\nname = \"{}\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{}\"\npassword_file = \"password\"\n\n",
            p.name, p.addr, p.model, p.user
        );
        members.push(format!("\"{}\"", p.name));
    }
    let _ = write!(
        t,
        "[[phone]]\nname = \"annex\"\nhost = \"{dead}\"\nmodel = \"CP-8851\"\nuser = \"admin\"\npassword_file = \"password\"\n\n"
    );
    members.push("\"annex\"".into());
    let _ = write!(
        t,
        "[zone.all]\nmembers = [{}]\nmode = \"multicast\"\nbanner = \"{BANNER}\"\nvolume = 60\n",
        members.join(", ")
    );
    t
}

/// Record `phone`'s microphone for [`MIC_SECONDS`]: listen first, push RTPTx, record, push
/// RTPTx:Stop.
async fn record_mic(
    config: &Config,
    client: &PushClient,
    phone: &str,
    out: PathBuf,
) -> anyhow::Result<MicRecording> {
    let entry = config.phone(phone).context("the phone to record")?;
    let target = entry.push_target(entry.secret()?);
    let port = config
        .engine
        .port_pool
        .iter()
        .skip(20)
        .find(|p| std::net::UdpSocket::bind((config.engine.media_address, p.get())).is_ok())
        .context("a free port for the recording")?;
    let listen = Listen {
        group: None,
        addr: config.engine.media_address,
        port,
    };
    let mut listener = Listener::bind(&listen, ReorderConfig::default())?;
    let execute = |uri: Uri| -> anyhow::Result<String> {
        Ok(Execute::new(ExecuteItem::new(ExecuteUrl::try_from(&uri)?)).to_xml())
    };
    let start = execute(Uri::rtp_tx(config.engine.media_address, port)?)?;
    let stop = execute(Uri::RtpTxStop)?;
    let out_path = out.clone();
    let recording = tokio::task::spawn_blocking(move || -> anyhow::Result<(f64, u64, Vec<i16>)> {
        let mut recorder = Recorder::create(&out_path, RecordFormat::Wav)?;
        let started = Instant::now();
        let mut recent: Vec<i16> = Vec::new();
        let mut sink_err = None;
        listener.run(
            |_, _| started.elapsed().as_secs_f64() >= MIC_SECONDS + 0.5,
            |event| {
                if let crate::rtp::ReceiverEvent::Audio { law, payload, .. } = &event {
                    recent.extend(payload.iter().map(|&b| law.decode(b)));
                    let len = recent.len();
                    if len > 16_000 {
                        recent.drain(..len - 8000);
                    }
                }
                if let Err(e) = recorder.record(&event) {
                    sink_err.get_or_insert(e);
                }
            },
        )?;
        if let Some(e) = sink_err {
            return Err(e.into());
        }
        let packets = listener.state.stats().iter().map(|s| s.received).sum();
        let seconds = recorder.duration().as_secs_f64();
        recorder.finish()?;
        Ok((seconds, packets, recent))
    });
    let started = client.execute(&target, &start, None, true).await;
    // Stop after the recording window whatever happened to the start (it may have played).
    tokio::time::sleep(Duration::from_secs_f64(MIC_SECONDS)).await;
    let _ = client.execute(&target, &stop, None, true).await;
    let (seconds, packets, recent) = recording.await??;
    anyhow::ensure!(started.is_ok(), "the phone refused RTPTx: {started:?}");
    Ok(MicRecording {
        phone: phone.into(),
        file: out.display().to_string(),
        seconds,
        packets,
        frequency_hz: zero_crossing_hz(&recent),
    })
}

/// Frequency of a tone from its zero crossings (good enough for a pure tone).
fn zero_crossing_hz(s: &[i16]) -> Option<f64> {
    if s.len() < 800 {
        return None;
    }
    let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    Some(crossings as f64 / 2.0 / (s.len() as f64 / 8000.0))
}

fn who_heard(fr: &FleetReport) -> Vec<Heard> {
    fr.phones
        .iter()
        .map(|p| {
            let h = p.heard.last();
            Heard {
                phone: p.name.clone(),
                model: p.model.clone(),
                packets: h.map_or(0, |h| h.rx.summary.packets),
                lost: h.map_or(0, |h| h.rx.summary.lost),
                frequency_hz: h.and_then(|h| h.rx.summary.frequency_hz),
                banner_cleared: p.status_banner.is_none() && !p.screen.iter().any(|l| l == BANNER),
                still_listening: h.is_some_and(|h| h.active),
            }
        })
        .collect()
}

pub(super) fn run_paging(out_dir: &Path, json: bool) -> Result<i32, CliError> {
    let t0 = Instant::now();
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let chime = chime_samples().context("reading the bundled chime")?;
    let interrupted = super::common::interrupted_flag();
    let rt = super::common::runtime()?;
    let summary = rt.block_on(async {
        let sim = sim_config();
        let password = sim.password.clone();
        let fleet = Fleet::start(sim)
            .await
            .context("starting the emulated phones")?;
        let result = page_the_fleet(&fleet, out_dir, password, chime, interrupted).await;
        // The emulated phones are gone with the demo: so is their password.
        let _ = std::fs::remove_file(out_dir.join("password"));
        let fr = fleet.report();
        fleet.shutdown().await;
        let (report, mic, config_path) = result?;
        let heard = who_heard(&fr);
        let as_expected = expected(&report, &heard, mic.as_ref());
        anyhow::Ok(Summary {
            report,
            heard,
            microphone: mic,
            config: config_path.display().to_string(),
            seconds: t0.elapsed().as_secs_f64(),
            as_expected,
        })
    })?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("writing JSON")?
        );
    } else {
        print!("{}", prose(&summary));
    }
    Ok(if summary.as_expected { 0 } else { 1 })
}

async fn page_the_fleet(
    fleet: &Fleet,
    out_dir: &Path,
    password: Secret,
    chime: Vec<i16>,
    interrupted: Arc<AtomicBool>,
) -> anyhow::Result<(DeliveryReport, Option<MicRecording>, PathBuf)> {
    let pw_path = out_dir.join("password");
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&pw_path)
            .context("writing the demo password file")?;
        f.write_all(password.expose().as_bytes())?;
    }
    let config_path = out_dir.join("demo-fleet.toml");
    std::fs::write(&config_path, config_text(fleet, dead_address()?, out_dir))?;
    let config = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let journal = super::common::journal_of(&config);
    let client = PushClient::new(config.engine.push_config())
        .map_err(|e| anyhow::anyhow!("push client: {e}"))?;
    let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer thread")?;
    let pager = Pager::new(PagerSetup {
        table: Arc::new(config.clone()),
        journal,
        client: client.clone(),
        pacer: Arc::new(pacer),
        recovered: false,
    });
    let mut order = PageOrder::new(
        Origin::Instrument("demo".into()),
        "all",
        Box::new(EncodedClip::new(&chime, Law::Ulaw, false)),
    );
    order.verify = Some(config.engine.verify_grace);
    let page = pager.page(order).await?;
    let watcher = super::common::stop_on_interrupt(interrupted, page.stopper());
    let report = page.finish().await;
    watcher.abort();
    let report = report?;
    let mic = record_mic(
        &config,
        &client,
        "desk001",
        out_dir.join("desk001-microphone.wav"),
    )
    .await
    .map_err(|e| eprintln!("zonecast: recording desk001's microphone failed: {e:#}"))
    .ok();
    Ok((report, mic, config_path))
}

/// The demo worked if every phone that can play heard the chime and was stopped, the phones
/// that cannot were refused for the right reasons, and the microphone was recorded.
fn expected(report: &DeliveryReport, heard: &[Heard], mic: Option<&MicRecording>) -> bool {
    let kind = |name: &str| {
        report
            .phones
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.failure.as_ref().map(|f| f.kind.as_str()))
    };
    let failures_ok = kind("lobby") == Some("auth_failed")
        && kind("annex") == Some("unreachable")
        && (1..=3).all(|i| kind(&format!("mpp{i:03}")) == Some("model"));
    let capable_ok = heard
        .iter()
        .filter(|h| !h.model.ends_with("3PCC") && h.phone != "lobby")
        .all(|h| h.packets > 0 && !h.still_listening && h.banner_cleared);
    let mic_ok = mic.is_some_and(|m| {
        m.seconds >= MIC_SECONDS - 0.5 && m.frequency_hz.is_some_and(|f| (f - MIC_HZ).abs() < 20.0)
    });
    failures_ok && capable_ok && mic_ok && report.totals.accepted == 45
}

fn prose(s: &Summary) -> String {
    let mut out = String::new();
    let r = &s.report;
    let _ = writeln!(
        out,
        "zonecast demo: {} emulated phones + 1 unreachable, zone `all`, the bundled chime ring (audio/chime.raw), banner {BANNER:?}\n",
        s.heard.len()
    );
    let _ = writeln!(out, "Delivery report");
    out.push_str(&r.prose());
    let _ = writeln!(out, "\nWho heard what (from the phones' own counters)");
    let mut models: Vec<&str> = s.heard.iter().map(|h| h.model.as_str()).collect();
    models.dedup();
    let mut seen = std::collections::BTreeMap::<&str, (usize, usize, u64, u64)>::new();
    for h in &s.heard {
        let e = seen.entry(h.model.as_str()).or_default();
        e.0 += 1;
        if h.packets > 0 {
            e.1 += 1;
        }
        e.2 += h.packets;
        e.3 += h.lost;
    }
    for (model, (n, heard, packets, lost)) in &seen {
        let _ = writeln!(
            out,
            "  {model:<14} {heard:>2} of {n:>2} heard the chime ({} packets each on average, {lost} lost)",
            if *heard > 0 {
                packets / *heard as u64
            } else {
                0
            }
        );
    }
    let listening = s.heard.iter().filter(|h| h.still_listening).count();
    let banners = s.heard.iter().filter(|h| !h.banner_cleared).count();
    let _ = writeln!(
        out,
        "  afterwards: {listening} phones still listening, {banners} banners left on screen"
    );
    match &s.microphone {
        Some(m) => {
            let _ = writeln!(
                out,
                "\nMicrophone of {}: {:.1} s recorded ({} packets, {} Hz) to {}",
                m.phone,
                m.seconds,
                m.packets,
                m.frequency_hz.map_or("?".into(), |f| format!("{f:.0}")),
                m.file
            );
        }
        None => {
            let _ = writeln!(out, "\nMicrophone: not recorded (see the error above)");
        }
    }
    let _ = writeln!(
        out,
        "\n{} in {:.1} s. The config it wrote: {}",
        if s.as_expected {
            "Everything as expected"
        } else {
            "NOT as expected (see above)"
        },
        s.seconds,
        s.config
    );
    out
}
