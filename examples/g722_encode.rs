//! What G.722 costs to encode per stream-second (issue 20), against G.711 and against ffmpeg's
//! G.722 encoder, measured in the same run.
//!
//! Ours: [`zonecast::rtp::G722Encoder::encode_frame`] over a 16 kHz signal in 20 ms frames, as the
//! pacer encodes a tone (a file is encoded the same way, once); G.711 µ-law over the same signal
//! at 8 kHz, as the pacer encodes any 8 kHz source. ffmpeg: `ffmpeg -benchmark` encoding a 16 kHz
//! WAV of the same signal to raw G.722, long minus short run (its user CPU), so its start-up is
//! not counted.
//!
//! `cargo run --release --example g722_encode [SECONDS]` (needs ffmpeg for the peer line)

use std::process::Command;
use std::time::{Duration, Instant};

use zonecast::g711::Law;
use zonecast::rtp::G722Encoder;
use zonecast::rtp::g722::{G722_FRAME_BYTES, G722_FRAME_SAMPLES};

/// A speech-like test signal at `rate`: three tones and a little noise, about -12 dBFS.
fn signal(rate: u32, seconds: u32) -> Vec<i16> {
    let mut noise = 0x1234_5678u32;
    (0..rate * seconds)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let tones = [(300.0, 0.10), (1200.0, 0.06), (3100.0, 0.03)]
                .iter()
                .map(|(hz, a)| a * (std::f64::consts::TAU * hz * t).sin())
                .sum::<f64>();
            let n = (f64::from(noise) / f64::from(u32::MAX) - 0.5) * 0.02;
            ((tones + n) * 32767.0) as i16
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Nanoseconds of CPU per second of audio.
fn per_second(d: Duration, seconds: u32) -> f64 {
    d.as_nanos() as f64 / f64::from(seconds)
}

/// ffmpeg's user CPU (s) encoding `wav` to G.722, from its `-benchmark` line.
fn ffmpeg_utime(wav: &std::path::Path) -> Option<f64> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-benchmark", "-i"])
        .arg(wav)
        .args(["-c:a", "g722", "-f", "g722", "-y", "/dev/null"])
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("bench: utime="))?;
    let v = line.split("utime=").nth(1)?.split('s').next()?;
    v.parse().ok()
}

fn write_wav(path: &std::path::Path, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write wav");
    }
    w.finalize().expect("finish wav");
}

fn main() {
    let seconds: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let runs = 15;
    let wide = signal(16_000, seconds);
    let narrow = signal(8_000, seconds);

    let mut g722 = Vec::new();
    let mut g711 = Vec::new();
    let mut out = [0u8; G722_FRAME_BYTES];
    let mut sink = 0u64;
    for _ in 0..runs {
        let mut enc = G722Encoder::new();
        let t = Instant::now();
        for frame in wide.chunks_exact(G722_FRAME_SAMPLES) {
            enc.encode_frame(frame.try_into().expect("320"), &mut out);
            sink = sink.wrapping_add(u64::from(out[7]));
        }
        g722.push(t.elapsed());
        let mut out711 = [0u8; 160];
        let t = Instant::now();
        for frame in narrow.chunks_exact(160) {
            Law::Ulaw.encode_into(std::hint::black_box(frame), &mut out711);
            sink = sink.wrapping_add(u64::from(out711[7]));
        }
        g711.push(t.elapsed());
    }
    std::hint::black_box(sink);
    let g722 = per_second(median(g722), seconds);
    let g711 = per_second(median(g711), seconds);
    println!("{seconds} s of audio, median of {runs} runs; CPU per stream-second:");
    println!(
        "  zonecast G.722 (audio-codec 0.4.13): {:>9.1} us",
        g722 / 1e3
    );
    println!(
        "  zonecast G.711 u-law:                {:>9.1} us  (G.722 costs {:.0}x)",
        g711 / 1e3,
        g722 / g711
    );

    let dir = std::env::temp_dir().join(format!("g722_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (short, long) = (dir.join("short.wav"), dir.join("long.wav"));
    write_wav(&short, &wide[..16_000]);
    write_wav(&long, &wide);
    let ff = (0..5)
        .map(|_| Some((ffmpeg_utime(&short)?, ffmpeg_utime(&long)?)))
        .collect::<Option<Vec<_>>>();
    let _ = std::fs::remove_dir_all(&dir);
    match ff {
        Some(mut v) if seconds > 1 => {
            v.sort_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)));
            let (s, l) = v[v.len() / 2];
            let per = (l - s) / f64::from(seconds - 1) * 1e9;
            println!(
                "  ffmpeg g722 encoder (user CPU, {seconds} s run minus 1 s run, median of 5): \
                 {:>7.1} us  ({:.2}x ours); start-up alone {:.0} ms",
                per / 1e3,
                per / g722,
                s * 1e3
            );
        }
        _ => println!("  ffmpeg: not run (not installed, or SECONDS < 2)"),
    }
}
