//! Make the bundled ring sounds in `audio/`: render bell, alert and evacuation tone with
//! zonecast's tone generator as 8 kHz WAV, then convert them (and the existing `chime.wav`)
//! into Cisco ring files with the same conversion as `zonecast ringtone convert`, and write the
//! ring list that names them. Then draw the same three sounds at 16 kHz for G.722 pages into
//! `audio/wide/`, with the upper partials and harmonics (4–7 kHz) that 8 kHz cannot carry:
//! the bell's bright strike, the alert's odd harmonics, the whoop's fifth harmonic.
//!
//! ```sh
//! cargo run --example make_sounds -- audio
//! ```
//!
//! Deterministic: running it again writes the same bytes. `chime.wav` and `announcement.wav`
//! are read, never written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zonecast::audio::{Limited, Tone, render};
use zonecast::ringtone::{
    ConvertOptions, Format, Ring, RingList, check_bytes, convert_file, render_ring_list,
};

const RATE: u32 = 8000;

/// A function that draws one sound.
type Sound = fn() -> Vec<f64>;
/// The longest narrowband ring, in seconds (16080 samples).
const RING_SECS: f64 = 2.01;

/// `secs` of a `hz` sine at `dbfs` from the tone generator, as floats (−1..=1).
fn tone(hz: f32, dbfs: f32, secs: f64) -> Vec<f64> {
    let n = (secs * f64::from(RATE)).round() as usize;
    let mut s: Vec<f64> = render(
        Limited::new(Tone::new(hz, dbfs), Duration::from_secs_f64(secs)),
        Duration::from_secs_f64(secs),
    )
    .into_iter()
    .map(|v| f64::from(v) / 32768.0)
    .collect();
    s.resize(n, 0.0);
    s
}

/// Linear fade-in and fade-out of `ms` milliseconds, so segments start and end silent.
fn fade(s: &mut [f64], ms: f64) {
    fade_at(s, ms, f64::from(RATE));
}

/// [`fade`] for samples at `rate` Hz.
fn fade_at(s: &mut [f64], ms: f64, rate: f64) {
    let k = ((ms / 1000.0 * rate) as usize).min(s.len() / 2).max(1);
    let len = s.len();
    for i in 0..k {
        let g = i as f64 / k as f64;
        s[i] *= g;
        s[len - 1 - i] *= g;
    }
}

/// A struck bell: the partials of a tuned church bell (hum, prime, tierce, quint, nominal and
/// two upper partials over a 440 Hz prime), each a tone-generator sine decaying exponentially,
/// the higher ones faster. Struck twice, at 0 and 1 s.
fn bell() -> Vec<f64> {
    const PARTIALS: [(f32, f64, f64); 7] = [
        // (ratio to the prime, level, decay time constant in seconds)
        (0.5, 0.35, 0.90),
        (1.0, 0.55, 0.70),
        (1.2, 0.40, 0.50),
        (1.5, 0.25, 0.40),
        (2.0, 0.50, 0.35),
        (2.5, 0.20, 0.22),
        (3.0, 0.15, 0.15),
    ];
    let n = (RING_SECS * f64::from(RATE)) as usize;
    let mut out = vec![0.0; n];
    for strike in [0usize, RATE as usize] {
        for &(ratio, level, decay) in &PARTIALS {
            let len = n - strike;
            let s = tone(440.0 * ratio, 0.0, len as f64 / f64::from(RATE));
            for (i, v) in s.iter().enumerate().take(len) {
                let t = i as f64 / f64::from(RATE);
                let attack = (t / 0.002).min(1.0);
                out[strike + i] += v * level * attack * (-t / decay).exp();
            }
        }
    }
    // The partials add up past full scale: bring the loudest moment to 0.9.
    let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    out.iter_mut().for_each(|v| *v *= 0.9 / peak);
    out
}

/// An alert: two tones (960 Hz and 770 Hz) alternating every 250 ms, each segment faded over
/// 5 ms so the steps do not click.
fn alert() -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..8 {
        let hz = if i % 2 == 0 { 960.0 } else { 770.0 };
        let mut seg = tone(hz, -1.0, 0.25);
        fade(&mut seg, 5.0);
        out.extend(seg);
    }
    out
}

/// An evacuation tone: a "slow whoop", a sine gliding up from 500 Hz to 1200 Hz over 1.75 s,
/// then 0.25 s of silence before the ring loops. The tone generator plays one frequency per
/// tone, so the glide is drawn here by accumulating its phase sample by sample.
fn evacuation() -> Vec<f64> {
    let sweep = (1.75 * f64::from(RATE)) as usize;
    let mut phase = 0.0f64;
    let mut out: Vec<f64> = (0..sweep)
        .map(|i| {
            let hz = 500.0 + 700.0 * i as f64 / sweep as f64;
            let v = phase.sin() * 0.9;
            phase = (phase + std::f64::consts::TAU * hz / f64::from(RATE)) % std::f64::consts::TAU;
            v
        })
        .collect();
    fade(&mut out, 10.0);
    out.resize(2 * RATE as usize, 0.0);
    out
}

/// The wideband rate of `audio/wide/`.
const WIDE: f64 = 16_000.0;

/// `secs` of a sine of `hz` at amplitude `amp`, drawn at 16 kHz by accumulating its phase.
fn wide_sine(hz: f64, amp: f64, secs: f64) -> Vec<f64> {
    let n = (secs * WIDE).round() as usize;
    (0..n)
        .map(|i| amp * (std::f64::consts::TAU * hz * i as f64 / WIDE).sin())
        .collect()
}

/// The bell at 16 kHz: the narrowband bell's seven partials plus three upper partials of the
/// strike (4.2, 5.3 and 6.6 kHz) that die within a tenth of a second.
fn wide_bell() -> Vec<f64> {
    const PARTIALS: [(f64, f64, f64); 10] = [
        (0.5, 0.35, 0.90),
        (1.0, 0.55, 0.70),
        (1.2, 0.40, 0.50),
        (1.5, 0.25, 0.40),
        (2.0, 0.50, 0.35),
        (2.5, 0.20, 0.22),
        (3.0, 0.15, 0.15),
        (9.6, 0.30, 0.12),
        (12.1, 0.25, 0.09),
        (14.9, 0.20, 0.07),
    ];
    let n = (RING_SECS * WIDE) as usize;
    let mut out = vec![0.0; n];
    for strike in [0usize, WIDE as usize] {
        for &(ratio, level, decay) in &PARTIALS {
            let len = n - strike;
            let s = wide_sine(440.0 * ratio, 1.0, len as f64 / WIDE);
            for (i, v) in s.iter().enumerate().take(len) {
                let t = i as f64 / WIDE;
                let attack = (t / 0.002).min(1.0);
                out[strike + i] += v * level * attack * (-t / decay).exp();
            }
        }
    }
    let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    out.iter_mut().for_each(|v| *v *= 0.9 / peak);
    out
}

/// The alert at 16 kHz: its two tones with their odd harmonics above 4 kHz (960 Hz: the 5th
/// and 7th; 770 Hz: the 7th and 9th) at 1/n, as a square wave has them.
fn wide_alert() -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..8 {
        let (hz, harmonics): (f64, &[f64]) = if i % 2 == 0 {
            (960.0, &[5.0, 7.0])
        } else {
            (770.0, &[7.0, 9.0])
        };
        let mut seg = wide_sine(hz, 0.7, 0.25);
        for &k in harmonics {
            for (v, h) in seg.iter_mut().zip(wide_sine(hz * k, 0.7 / k, 0.25)) {
                *v += h;
            }
        }
        fade_at(&mut seg, 5.0, WIDE);
        out.extend(seg);
    }
    out
}

/// The whoop at 16 kHz: the glide from 500 to 1200 Hz with its fifth harmonic faded in as it
/// passes 4 kHz (the glide's last two thirds: 4 to 6 kHz).
fn wide_evacuation() -> Vec<f64> {
    let sweep = (1.75 * WIDE) as usize;
    let mut phase = 0.0f64;
    let mut out: Vec<f64> = (0..sweep)
        .map(|i| {
            let hz = 500.0 + 700.0 * i as f64 / sweep as f64;
            let fifth = ((5.0 * hz - 4000.0) / 500.0).clamp(0.0, 1.0) * 0.2;
            let v = phase.sin() * 0.7 + (5.0 * phase).sin() * fifth;
            phase = (phase + std::f64::consts::TAU * hz / WIDE) % std::f64::consts::TAU;
            v
        })
        .collect();
    fade_at(&mut out, 10.0, WIDE);
    out.resize(2 * WIDE as usize, 0.0);
    out
}

fn write_wav(path: &Path, samples: &[f64]) -> Result<(), Box<dyn std::error::Error>> {
    write_wav_at(path, samples, RATE)
}

fn write_wav_at(path: &Path, samples: &[f64], rate: u32) -> Result<(), Box<dyn std::error::Error>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &v in samples {
        w.write_sample((v.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    w.finalize()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "audio".into()));
    std::fs::create_dir_all(&dir)?;
    let made: [(&str, Sound); 3] = [("bell", bell), ("alert", alert), ("evacuation", evacuation)];
    for (name, make) in made {
        let path = dir.join(format!("{name}.wav"));
        write_wav(&path, &make())?;
        println!("wrote {}", path.display());
    }
    let opts = ConvertOptions {
        format: Format::Narrowband,
        ..ConvertOptions::default()
    };
    let mut rings = Vec::new();
    for (name, display) in [
        ("chime", "Chime"),
        ("bell", "Bell"),
        ("alert", "Alert"),
        ("evacuation", "Evacuation"),
    ] {
        let wav = dir.join(format!("{name}.wav"));
        let done = convert_file(&wav, &opts)?;
        let raw = dir.join(format!("{name}.raw"));
        std::fs::write(&raw, &done.bytes)?;
        let report = check_bytes(&done.bytes, Format::Narrowband);
        assert!(report.passes(), "{}: {:?}", raw.display(), report.problems);
        println!(
            "wrote {}: {} samples, {:.3} s{}",
            raw.display(),
            done.samples,
            report.seconds,
            if done.warnings.is_empty() {
                String::new()
            } else {
                format!(" ({})", done.warnings.join("; "))
            }
        );
        rings.push(Ring {
            display_name: display.into(),
            file_name: format!("{name}.raw"),
        });
    }
    let (xml, warnings) = render_ring_list(&RingList { rings });
    assert!(warnings.is_empty(), "{warnings:?}");
    let list = dir.join("RingList.xml");
    std::fs::write(&list, xml)?;
    println!("wrote {}", list.display());
    let wide_dir = dir.join("wide");
    std::fs::create_dir_all(&wide_dir)?;
    let wide: [(&str, Sound); 3] = [
        ("bell", wide_bell),
        ("alert", wide_alert),
        ("evacuation", wide_evacuation),
    ];
    for (name, make) in wide {
        let path = wide_dir.join(format!("{name}.wav"));
        write_wav_at(&path, &make(), WIDE as u32)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
