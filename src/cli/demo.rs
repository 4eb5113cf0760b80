//! `zonecast demo --media`: the media path alone, end to end on this machine. (Plain
//! `zonecast demo` pages emulated phones: see `demo_page`.)
//!
//! Starts local receivers (two unicast "phones" and one multicast group member, all on
//! loopback), streams the bundled announcement to them through the real pacer and sockets, and
//! prints what each one heard: packets, loss, jitter, length, and whether the audio is identical
//! to what was sent. Each receiver's audio is also written to a WAV file you can play.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;

use super::common::CliError;
use crate::g711::Law;
use crate::rtp::pacer::{EncodedClip, PacerOptions};
use crate::rtp::receiver::{ReceiveStats, ReorderConfig};
use crate::rtp::{
    Destination, Listen, Listener, Pacer, Packetizer, RecordFormat, Recorder, RtpPort,
    SenderOptions, StreamSpec,
};

/// The bundled announcement, compiled in so the demo runs from any directory.
const ANNOUNCEMENT_WAV: &[u8] = include_bytes!("../../audio/announcement.wav");
/// Multicast group of the demo (organisation-local scope, joined on loopback only).
const DEMO_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 42, 1);

/// Arguments of `zonecast demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the recordings and the config the demo writes.
    #[arg(long, value_name = "DIR", default_value = "target/demo")]
    pub(super) out_dir: PathBuf,
    /// Print a JSON summary instead of prose.
    #[arg(long)]
    pub(super) json: bool,
    /// Only the media path: stream the announcement to local receivers and check each heard
    /// it bit for bit (no phones, no XSI).
    #[arg(long)]
    pub(super) media: bool,
}

#[derive(serde::Serialize)]
struct Heard {
    receiver: String,
    recording: String,
    packets: u64,
    lost: u64,
    late: u64,
    jitter_ms: f64,
    seconds: f64,
    identical_to_sent: bool,
}

pub(super) fn run(a: DemoArgs) -> Result<i32, CliError> {
    if !a.media {
        return super::demo_page::run_paging(&a.out_dir, a.json);
    }
    let sent = announcement().context("reading the bundled announcement")?;
    std::fs::create_dir_all(&a.out_dir)
        .with_context(|| format!("creating {}", a.out_dir.display()))?;
    // What a receiver must hear if nothing is lost: the G.711 round trip of the source.
    let expected: Vec<i16> = sent
        .iter()
        .map(|&s| Law::Ulaw.decode(Law::Ulaw.encode(s)))
        .collect();

    let mut listens = vec![free_listen(None)?, free_listen(None)?];
    let group_port = free_listen(Some(DEMO_GROUP))?;
    listens.push(group_port);
    let mut workers = Vec::new();
    for (i, (listen, listener)) in listens.into_iter().enumerate() {
        let path = a.out_dir.join(format!("receiver-{}.wav", i + 1));
        let port = listen.port;
        workers.push(Worker {
            port,
            handle: std::thread::spawn(move || receive(listen, listener, path)),
        });
    }
    let destinations = vec![
        Destination::new(Ipv4Addr::LOCALHOST, workers_port(&workers, 0)?),
        Destination::new(Ipv4Addr::LOCALHOST, workers_port(&workers, 1)?),
        Destination::new(DEMO_GROUP, workers_port(&workers, 2)?),
    ];
    let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer")?;
    let stream = pacer
        .add(StreamSpec {
            destinations: destinations.clone(),
            sender: SenderOptions {
                ttl: 1,
                interface: Some(Ipv4Addr::LOCALHOST),
                ..SenderOptions::default()
            },
            packetizer: Packetizer::random(Law::Ulaw),
            payload: Box::new(EncodedClip::new(&sent, Law::Ulaw, false)),
            max_packets: None,
        })
        .context("opening the sending socket")?;
    if !a.json {
        println!(
            "zonecast demo: streaming the bundled announcement ({:.1} s, PCMU, 20 ms packets) to {}",
            sent.len() as f64 / 8000.0,
            destinations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    stream.wait(None);
    let sent_stats = stream.stats();
    let mut heard = Vec::new();
    for (i, w) in workers.into_iter().enumerate() {
        let (listen, path, stats, samples) = w
            .handle
            .join()
            .map_err(|_| anyhow!("receiver {} panicked", i + 1))??;
        let n = expected.len().min(samples.len());
        heard.push(Heard {
            receiver: listen.to_string(),
            recording: path.display().to_string(),
            packets: stats.received,
            lost: stats.lost,
            late: stats.late,
            jitter_ms: stats.jitter_ms,
            seconds: samples.len() as f64 / 8000.0,
            identical_to_sent: samples.len() >= expected.len() && samples[..n] == expected[..n],
        });
    }
    let all_ok = heard.iter().all(|h| h.identical_to_sent && h.lost == 0);
    if a.json {
        let out = serde_json::json!({ "packets_sent": sent_stats.packets, "worst_lateness_ms":
            sent_stats.max_lateness_ns as f64 / 1e6, "receivers": heard });
        println!("{out}");
    } else {
        println!(
            "sent {} packets to {} destinations; worst pacer lateness {:.3} ms",
            sent_stats.packets,
            destinations.len(),
            sent_stats.max_lateness_ns as f64 / 1e6
        );
        for h in &heard {
            println!(
                "  {:<28} heard {:.2} s in {} packets, lost {}, late {}, jitter {:.3} ms, {} -> {}",
                h.receiver,
                h.seconds,
                h.packets,
                h.lost,
                h.late,
                h.jitter_ms,
                if h.identical_to_sent {
                    "audio identical to what was sent"
                } else {
                    "AUDIO DIFFERS"
                },
                h.recording
            );
        }
        println!(
            "{}",
            if all_ok {
                "every receiver heard the whole announcement"
            } else {
                "some receivers missed audio"
            }
        );
    }
    Ok(if all_ok { 0 } else { 1 })
}

/// What one receiver heard: where it listened, its recording, its statistics, its audio.
type Received = (Listen, PathBuf, ReceiveStats, Vec<i16>);

struct Worker {
    port: RtpPort,
    handle: std::thread::JoinHandle<anyhow::Result<Received>>,
}

fn workers_port(w: &[Worker], i: usize) -> anyhow::Result<RtpPort> {
    w.get(i)
        .map(|w| w.port)
        .ok_or_else(|| anyhow!("receiver {i} missing"))
}

fn announcement() -> anyhow::Result<Vec<i16>> {
    let mut r = hound::WavReader::new(std::io::Cursor::new(ANNOUNCEMENT_WAV))?;
    let spec = r.spec();
    anyhow::ensure!(
        spec.sample_rate == 8000 && spec.channels == 1 && spec.bits_per_sample == 16,
        "the bundled announcement must be 8 kHz mono 16-bit"
    );
    Ok(r.samples::<i16>().collect::<Result<_, _>>()?)
}

/// Bind a listener on a free even port (a group member if `group` is given).
fn free_listen(group: Option<Ipv4Addr>) -> anyhow::Result<(Listen, Listener)> {
    for _ in 0..500 {
        let port = RtpPort::new(RtpPort::MIN + 2 * (rand::random::<u16>() % 6144))?;
        let listen = Listen {
            group,
            addr: Ipv4Addr::LOCALHOST,
            port,
        };
        if let Ok(l) = Listener::bind(&listen, ReorderConfig::default()) {
            return Ok((listen, l));
        }
    }
    Err(anyhow!("no free even port in 20480..=32768 on 127.0.0.1"))
}

fn receive(listen: Listen, mut listener: Listener, path: PathBuf) -> anyhow::Result<Received> {
    let mut rec = Recorder::create(&path, RecordFormat::Wav)?;
    let err = std::cell::RefCell::new(None);
    let start = std::time::Instant::now();
    listener.run(
        |received, idle_ns| {
            err.borrow().is_some()
                || (received && idle_ns > 500_000_000)
                || start.elapsed() > Duration::from_secs(60)
        },
        |ev| {
            if let Err(e) = rec.record(&ev) {
                err.borrow_mut().get_or_insert(e);
            }
        },
    )?;
    if let Some(e) = err.into_inner() {
        return Err(e.into());
    }
    rec.finish()?;
    // Judge the file on disk, not a copy kept in memory: that is what a listener would play.
    let mut wav = hound::WavReader::open(&path)?;
    let samples = wav.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
    let stats = listener
        .state
        .stats()
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((listen, path, stats, samples))
}
