//! `zonecast record`: receive one RTP port or group and write what arrives to a file. G.711 to an
//! 8 kHz file by default; `--codec g722` also accepts payload type 9 and writes a 16 kHz WAV.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::common::{CliError, interrupted_flag, parse_seconds};
use crate::rtp::receiver::ReorderConfig;
use crate::rtp::{Listen, Listener, RecordFormat, Recorder};

/// Arguments of `zonecast record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to listen: IP:PORT for unicast, GROUP@INTERFACE_IP:PORT for multicast.
    #[arg(long, value_name = "[GROUP@]IP:PORT")]
    listen: Listen,
    /// Output file.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Stop when nothing has arrived for this many seconds after the first packet.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    idle: Option<Duration>,
    /// File format (default: from the file's extension, else WAV).
    #[arg(long, value_name = "wav|opus")]
    format: Option<RecordFormat>,
    /// `g711` (8 kHz file, the default) or `g722`: also decode G.722 (payload type 9) into a
    /// 16 kHz WAV (G.711 packets in it are repeated to 16 kHz).
    #[arg(long, value_name = "g711|g722", default_value = "g711", value_parser = ["g711", "g722"])]
    codec: String,
    /// Print a JSON summary instead of prose.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Summary {
    listen: String,
    out: String,
    format: String,
    seconds_recorded: f64,
    packets: u64,
    lost: u64,
    late: u64,
    duplicates: u64,
    malformed: u64,
    unsupported: u64,
    ssrc_changes: u64,
    jitter_ms: f64,
}

pub(super) fn run(a: RecordArgs) -> Result<i32, CliError> {
    let format = a
        .format
        .or_else(|| RecordFormat::from_path(&a.out))
        .unwrap_or(RecordFormat::Wav);
    let g722 = a.codec == "g722";
    if g722 && format != RecordFormat::Wav {
        return Err(CliError::Invalid(format!(
            "--codec g722 records 16 kHz WAV only, not {format}"
        )));
    }
    let mut listener = Listener::bind(&a.listen, ReorderConfig::default())
        .with_context(|| format!("listening on {}", a.listen))?;
    let mut recorder = if g722 {
        listener.state.accept_g722();
        Recorder::create_g722(&a.out)
    } else {
        Recorder::create(&a.out, format)
    }
    .map_err(anyhow::Error::from)?;
    // Said on stderr so scripts (and tests) know when it is safe to start sending.
    eprintln!(
        "zonecast: listening on {} -> {} ({format})",
        a.listen,
        a.out.display()
    );
    let interrupted = interrupted_flag();
    let started = crate::rtp::pacer::mono_now_ns();
    let limit = a.duration.map(|d| d.as_nanos() as u64);
    let idle = a.idle.map(|d| d.as_nanos() as u64);
    let write_error = std::cell::RefCell::new(None);
    listener
        .run(
            |received, idle_ns| {
                write_error.borrow().is_some()
                    || interrupted.load(Ordering::SeqCst)
                    || limit.is_some_and(|l| crate::rtp::pacer::mono_now_ns() - started >= l)
                    || (received && idle.is_some_and(|i| idle_ns >= i))
            },
            |event| {
                if write_error.borrow().is_some() {
                    return;
                }
                if let Err(e) = recorder.record(&event) {
                    *write_error.borrow_mut() = Some(e);
                }
            },
        )
        .with_context(|| format!("receiving on {}", a.listen))?;
    if let Some(e) = write_error.into_inner() {
        return Err(CliError::Failed(e.into()));
    }
    let seconds = recorder.duration().as_secs_f64();
    recorder.finish().map_err(anyhow::Error::from)?;
    let stats = listener.state.stats();
    let c = listener.state.counters();
    let summary = Summary {
        listen: a.listen.to_string(),
        out: a.out.display().to_string(),
        format: format.to_string(),
        seconds_recorded: seconds,
        packets: stats.iter().map(|s| s.received).sum(),
        lost: stats.iter().map(|s| s.lost).sum(),
        late: stats.iter().map(|s| s.late).sum(),
        duplicates: stats.iter().map(|s| s.duplicates).sum(),
        malformed: c.malformed,
        unsupported: c.unsupported,
        ssrc_changes: c.ssrc_changes,
        jitter_ms: stats.iter().map(|s| s.jitter_ms).fold(0.0, f64::max),
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&summary).context("writing JSON")?
        );
    } else {
        println!(
            "recorded {:.2} s to {} ({}): {} packets, {} lost, {} late, {} duplicates, jitter {:.2} ms",
            summary.seconds_recorded,
            summary.out,
            summary.format,
            summary.packets,
            summary.lost,
            summary.late,
            summary.duplicates,
            summary.jitter_ms,
        );
    }
    Ok(if summary.packets > 0 { 0 } else { 1 })
}
