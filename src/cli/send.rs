//! `zonecast send`: stream a file, a tone or the microphone to destinations until the source
//! ends, the duration passes, or Ctrl-C. In G.711 (8 kHz) by default; `--codec g722` sends a file
//! resampled once from its own rate to 16 kHz, or a tone generated at 16 kHz, as G.722.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::common::{CliError, interrupted_flag, parse_seconds};
use crate::audio::loudness::LUFS_RANGE;
use crate::audio::{self, LoudnessTarget};
use crate::g711::Law;
use crate::rtp::pacer::{PacerOptions, PayloadSource};
use crate::rtp::{Destination, Pacer, SenderOptions, StreamCodec, StreamSpec};
use crate::source::Levelling;

/// Arguments of `zonecast send`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "tone", "mic", "say"])))]
pub struct SendArgs {
    /// Audio file: WAV (any rate/channels/bits), MP3, FLAC, Ogg Vorbis, or raw µ-law `.raw`.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// A sine tone of HZ hertz (20..=3900; up to 7900 with --codec g722), or `chime` for the
    /// two-tone chime.
    #[arg(long, value_name = "HZ|chime")]
    tone: Option<ToneArg>,
    /// Speak TEXT (espeak-ng, English at 150 words per minute; 1..=500 characters).
    #[arg(long, value_name = "TEXT")]
    say: Option<String>,
    /// Live microphone: the default input device, or the named one.
    #[arg(long, value_name = "DEVICE", num_args = 0..=1, default_missing_value = "")]
    mic: Option<String>,
    /// Destination ADDR:PORT (unicast phone or multicast group; even port 20480..=32768).
    #[arg(long = "to", value_name = "ADDR:PORT", required = true)]
    to: Vec<Destination>,
    /// Multicast TTL.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=255))]
    ttl: u32,
    /// Interface address multicast is sent from (IP_MULTICAST_IF).
    #[arg(long, value_name = "IP")]
    interface: Option<Ipv4Addr>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Repeat the file or chime until stopped.
    #[arg(long = "loop")]
    looped: bool,
    /// Send A-law (PCMA, payload type 8) instead of µ-law.
    #[arg(long)]
    alaw: bool,
    /// `g711` (8 kHz, the default) or `g722` (16 kHz wideband, payload type 9; a --file or a
    /// --tone, sent at its own level: loudness levelling is 8 kHz only).
    #[arg(long, value_enum, default_value_t = CodecArg::G711, conflicts_with_all = ["alaw", "mic", "say"])]
    codec: CodecArg,
    /// Print a JSON summary instead of prose.
    #[arg(long)]
    json: bool,
    /// Loudness a file or the chime is levelled to (and the microphone steered toward), LUFS
    /// integrated (-30..=-10). Tones play at their stated level.
    #[arg(long, value_name = "LUFS", default_value_t = crate::audio::loudness::DEFAULT_LUFS,
          allow_negative_numbers = true, value_parser = parse_lufs)]
    loudness: f64,
}

fn parse_lufs(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|l| LUFS_RANGE.contains(l))
        .ok_or_else(|| format!("{s:?}: a loudness in LUFS, -30..=-10"))
}

/// `--codec` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CodecArg {
    G711,
    G722,
}

/// `--tone` value.
#[derive(Debug, Clone, Copy)]
enum ToneArg {
    Hz(f32),
    Chime,
}

impl std::str::FromStr for ToneArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("chime") {
            return Ok(ToneArg::Chime);
        }
        let hz: f32 = s
            .parse()
            .map_err(|_| format!("{s:?}: expected a frequency in Hz or `chime`"))?;
        if !(20.0..=7900.0).contains(&hz) {
            return Err(format!(
                "{s:?}: tone frequency must be 20..=3900 Hz (8 kHz audio carries up to 4 kHz), \
                 or up to 7900 Hz with --codec g722"
            ));
        }
        Ok(ToneArg::Hz(hz))
    }
}

#[derive(serde::Serialize)]
struct Summary {
    destinations: usize,
    ssrc: u32,
    codec: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    law: Option<Law>,
    packets: u64,
    datagrams: u64,
    send_errors: u64,
    seconds: f64,
    worst_lateness_ms: f64,
    first_packet_ms: Option<f64>,
    stopped_by: &'static str,
}

pub(super) fn run(a: SendArgs) -> Result<i32, CliError> {
    let law = if a.alaw { Law::Alaw } else { Law::Ulaw };
    if let Some(iface) = a.interface
        && (iface.is_multicast() || iface.is_unspecified())
    {
        return Err(CliError::Invalid(format!(
            "interface {iface:?}: must be the unicast address of a local interface"
        )));
    }
    let g722 = a.codec == CodecArg::G722;
    if let (false, Some(ToneArg::Hz(hz))) = (g722, a.tone)
        && hz > 3900.0
    {
        return Err(CliError::Invalid(format!(
            "tone {hz} Hz: G.711 (8 kHz audio) carries up to 3900 Hz; use --codec g722 for up to 7900"
        )));
    }
    let level = Levelling::new(LoudnessTarget { lufs: a.loudness });
    let codec = if g722 {
        StreamCodec::G722
    } else {
        StreamCodec::G711(law)
    };
    let payload = payload(&a, codec, &level)?;
    let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer thread")?;
    let max_packets = a
        .duration
        .map(|d| (d.as_nanos() / crate::rtp::pacer::PERIOD.as_nanos()).max(1) as u64);
    let spec = StreamSpec {
        destinations: a.to.clone(),
        sender: SenderOptions {
            ttl: a.ttl,
            interface: a.interface,
            ..SenderOptions::default()
        },
        packetizer: codec.packetizer(),
        payload,
        max_packets,
    };
    let started = Instant::now();
    let stream = pacer.add(spec).context("opening the sending socket")?;
    let interrupted = interrupted_flag();
    let mut stopped_by = "source ended";
    while !stream.wait(Some(Duration::from_millis(50))) {
        if interrupted.load(Ordering::SeqCst) {
            stream.stop();
            stream.wait(Some(Duration::from_secs(1)));
            stopped_by = "interrupted";
            break;
        }
    }
    if max_packets.is_some_and(|m| stream.stats().packets >= m) {
        stopped_by = "duration";
    }
    let s = stream.stats();
    let summary = Summary {
        destinations: a.to.len(),
        ssrc: stream.ssrc(),
        codec: if g722 { "g722" } else { "g711" },
        law: (!g722).then_some(law),
        packets: s.packets,
        datagrams: s.datagrams,
        send_errors: s.send_errors,
        seconds: started.elapsed().as_secs_f64(),
        worst_lateness_ms: s.max_lateness_ns as f64 / 1e6,
        first_packet_ms: stream.time_to_first_packet().map(|d| d.as_secs_f64() * 1e3),
        stopped_by,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&super::page::with_loudness(
                serde_json::to_value(&summary),
                &level
            ))
            .context("writing JSON")?
        );
    } else {
        let dests: Vec<String> = a.to.iter().map(ToString::to_string).collect();
        println!(
            "sent {} packets ({} datagrams, {} errors) to {} in {:.2} s ({}); worst lateness {:.3} ms",
            summary.packets,
            summary.datagrams,
            summary.send_errors,
            dests.join(", "),
            summary.seconds,
            summary.stopped_by,
            summary.worst_lateness_ms,
        );
    }
    Ok(if s.packets > 0 { 0 } else { 1 })
}

/// The payload `a` names for a stream of `codec` (its audio made at the codec's rate: 16 kHz
/// for G.722, a file resampled once from its own rate): a file, the chime or speech levelled
/// by `level`, a tone as stated, the microphone (G.711 only) under automatic gain.
fn payload(
    a: &SendArgs,
    codec: StreamCodec,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, CliError> {
    let invalid = |e: crate::error::Invalid| CliError::Invalid(e.to_string());
    let rate = codec.sample_rate();
    let clip = |item: &str, samples: &[i16]| -> Box<dyn PayloadSource> {
        Box::new(codec.clip(&level.samples_as(item, samples, codec), a.looped))
    };
    if let Some(text) = &a.say {
        let voice = crate::source::Voice::default();
        let speech = crate::source::speech::shared()
            .speak_at(text, &voice, rate)
            .map_err(invalid)?;
        return Ok(clip(&format!("say:{}", text.trim()), &speech));
    }
    Ok(match (&a.file, a.tone, &a.mic) {
        (Some(path), _, _) => {
            let samples = crate::source::file_at(path, rate).map_err(invalid)?;
            clip(&format!("file:{}", path.display()), &samples)
        }
        (_, Some(ToneArg::Hz(hz)), _) => crate::source::tone_source(hz, codec),
        (_, Some(ToneArg::Chime), _) => clip("chime", &audio::Chime::render_at(rate)),
        (_, _, Some(device)) => {
            let StreamCodec::G711(law) = codec else {
                return Err(CliError::Invalid(
                    "--mic sends G.711 only (the microphone is captured at 8 kHz)".into(),
                ));
            };
            let name = (!device.is_empty()).then_some(device.as_str());
            let mic = audio::mic::Mic::open(name).map_err(|e| CliError::Invalid(e.to_string()))?;
            level.live(mic, law)
        }
        _ => {
            return Err(CliError::Invalid(
                "no source: give --file, --tone, --mic or --say".into(),
            ));
        }
    })
}
