use super::*;
use crate::audio::test_util::{dominant_frequency, rms, tone_amplitude};

fn sine(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<f32> {
    let n = (secs * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

fn middle(x: &[f32], skip: usize) -> Vec<f64> {
    x[skip..x.len() - skip]
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

#[test]
fn length_is_rounded_ratio() {
    for (len, from, to) in [
        (44_100, 44_100, 8000),
        (44_101, 44_100, 8000),
        (1000, 22_050, 8000),
        (12_345, 48_000, 8000),
        (7, 48_000, 8000),
        (3, 44_100, 8000),
        (800, 8000, 48_000),
        (999, 16_000, 8000),
    ] {
        let input = vec![0.1f32; len];
        let out = resample(&input, from, to).expect("resample");
        let want = (len as f64 * f64::from(to) / f64::from(from)).round() as usize;
        assert_eq!(out.len(), want, "{len} samples {from} -> {to}");
        assert_eq!(resampled_len(len, from, to), want);
    }
    assert!(resample(&[], 44_100, 8000).expect("empty").is_empty());
    assert_eq!(
        resample(&[0.5, -0.5], 8000, 8000).expect("same"),
        vec![0.5, -0.5]
    );
}

#[test]
fn zero_rates_are_refused() {
    let e = resample(&[0.0; 10], 0, 8000).expect_err("0 Hz");
    assert!(e.to_string().contains("input sample rate"), "{e}");
    assert!(resample(&[0.0; 10], 8000, 0).is_err());
    assert!(StreamResampler::new(0).is_err());
}

#[test]
fn output_is_time_aligned_with_input() {
    // A 200 Hz sine at 48 kHz must come out as the same sine at 8 kHz, same phase: the filter
    // delay has been trimmed, not left as a shift.
    let x = sine(200.0, 48_000, 1.0, 0.5);
    let y = resample(&x, 48_000, 8000).expect("resample");
    let ideal = sine(200.0, 8000, 1.0, 0.5);
    assert_eq!(y.len(), ideal.len());
    let worst = y[400..7600]
        .iter()
        .zip(&ideal[400..7600])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 2e-3, "worst error {worst}");
    // Upsampling too.
    let up = resample(&ideal, 8000, 48_000).expect("up");
    let worst = up[2400..45_600]
        .iter()
        .zip(&x[2400..45_600])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 2e-3, "worst error upsampling {worst}");
}

#[test]
fn six_khz_does_not_alias_into_the_band() {
    let tone = resample(&sine(1000.0, 44_100, 1.0, 0.5), 44_100, 8000).expect("1k");
    let whistle = resample(&sine(6000.0, 44_100, 1.0, 0.5), 44_100, 8000).expect("6k");
    let (tone, whistle) = (middle(&tone, 800), middle(&whistle, 800));
    let reference = tone_amplitude(&tone, 8000.0, 1000.0);
    assert!(
        (db(reference) - db(0.5)).abs() < 0.2,
        "1 kHz level {}",
        db(reference)
    );
    let alias = tone_amplitude(&whistle, 8000.0, 2000.0);
    let residue = rms(&whistle) * std::f64::consts::SQRT_2;
    assert!(
        db(reference) - db(alias) >= 60.0,
        "alias at {} dB",
        db(alias) - db(reference)
    );
    assert!(
        db(reference) - db(residue) >= 60.0,
        "residue at {} dB",
        db(residue) - db(reference)
    );
}

#[test]
fn one_khz_survives_common_rates() {
    for rate in [48_000, 44_100, 22_050, 16_000, 11_025] {
        let y = resample(&sine(1000.0, rate, 0.5, 0.5), rate, 8000).expect("resample");
        assert_eq!(y.len(), 4000, "{rate}");
        let m = middle(&y, 400);
        assert_eq!(dominant_frequency(&m, 8000.0), 1000.0, "{rate}");
        let level = db(tone_amplitude(&m, 8000.0, 1000.0)) - db(0.5);
        assert!(level.abs() < 0.2, "{rate}: {level} dB");
    }
}

#[test]
fn telephone_band_is_kept() {
    // 3.3 kHz (inside the 300-3400 Hz telephone band) passes within 1 dB.
    let y = resample(&sine(3300.0, 48_000, 0.5, 0.5), 48_000, 8000).expect("resample");
    let level = db(tone_amplitude(&middle(&y, 400), 8000.0, 3300.0)) - db(0.5);
    assert!(level.abs() < 1.0, "3.3 kHz at {level} dB");
}

fn run_stream(rate: u32, x: &[f32], chunk: usize) -> (Vec<i16>, usize) {
    let mut r = StreamResampler::new(rate).expect("stream resampler");
    let mut out = Vec::new();
    let mut calls = 0;
    for part in x.chunks(chunk) {
        r.process(part, &mut |f: &[i16]| {
            assert_eq!(f.len(), FRAME_SAMPLES);
            out.extend_from_slice(f);
            calls += 1;
        });
    }
    (out, calls)
}

#[test]
fn stream_resampler_emits_whole_frames_at_8khz() {
    let x = sine(1000.0, 48_000, 1.0, 0.5);
    let (out, frames) = run_stream(48_000, &x, 441);
    // One second in: 50 frames, less the filter's fill-up (one frame at most).
    assert!((49..=50).contains(&frames), "{frames} frames");
    let m: Vec<f64> = out[800..].iter().map(|&v| f64::from(v)).collect();
    assert_eq!(dominant_frequency(&m, 8000.0), 1000.0);
    let level = db(tone_amplitude(&m, 8000.0, 1000.0)) - db(0.5 * 32768.0);
    assert!(level.abs() < 0.3, "level {level} dB");
}

#[test]
fn stream_resampler_filters_too() {
    let (tone, _) = run_stream(44_100, &sine(1000.0, 44_100, 1.0, 0.5), 512);
    let (whistle, _) = run_stream(44_100, &sine(6000.0, 44_100, 1.0, 0.5), 512);
    let f = |x: &[i16]| x[800..].iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
    let reference = tone_amplitude(&f(&tone), 8000.0, 1000.0);
    let alias = tone_amplitude(&f(&whistle), 8000.0, 2000.0);
    assert!(
        db(reference) - db(alias) >= 60.0,
        "alias at {} dB",
        db(alias) - db(reference)
    );
}

#[test]
fn stream_at_8khz_is_exact_framing() {
    let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 1024.0).collect();
    let (out, frames) = run_stream(8000, &x, 33);
    assert_eq!(frames, 6);
    for (i, &s) in out.iter().enumerate() {
        assert_eq!(s, f32_to_i16(x[i]));
    }
    assert_eq!(f32_to_i16(2.0), i16::MAX);
    assert_eq!(f32_to_i16(-2.0), i16::MIN);
    assert_eq!(f32_to_i16(f32::NAN), 0);
}
