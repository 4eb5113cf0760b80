use super::*;
use crate::audio::test_util::{dominant_frequency, rms, to_f64, tone_amplitude};

const RATE: f64 = SAMPLE_RATE as f64;

fn peak(x: &[i16]) -> i32 {
    x.iter().map(|&v| i32::from(v).abs()).max().unwrap_or(0)
}

#[test]
fn tone_has_its_frequency_and_level() {
    let x = render(Tone::new(1000.0, -10.0), Duration::from_secs(1));
    assert_eq!(x.len(), 8000);
    let f = to_f64(&x);
    assert_eq!(dominant_frequency(&f, RATE), 1000.0);
    // -10 dBFS peak = 32767 * 0.3162 = 10362.
    assert!((peak(&x) - 10362).abs() <= 2, "peak {}", peak(&x));
    let a = tone_amplitude(&f, RATE, 1000.0);
    assert!((a - 10362.0).abs() < 50.0, "amplitude {a}");
}

#[test]
fn tone_frequency_by_zero_crossings() {
    let x = render(Tone::new(440.0, DEFAULT_TONE_DBFS), Duration::from_secs(1));
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    // Two crossings per cycle.
    assert!((crossings as i64 - 880).abs() <= 2, "{crossings} crossings");
}

#[test]
fn tone_is_continuous_across_frame_edges() {
    let x = render(Tone::new(1234.5, 0.0), Duration::from_millis(400));
    // The largest possible step between samples of a sine: A * 2 sin(pi f / fs).
    let max_step = 32767.0 * 2.0 * (std::f64::consts::PI * 1234.5 / RATE).sin() + 2.0;
    for (i, w) in x.windows(2).enumerate() {
        let step = (f64::from(w[1]) - f64::from(w[0])).abs();
        assert!(step <= max_step, "jump of {step} at sample {i}");
    }
    // And the phase runs on: frame 2 is not a copy of frame 1's start.
    assert_ne!(x[..FRAME_SAMPLES], x[FRAME_SAMPLES..2 * FRAME_SAMPLES]);
}

#[test]
fn tone_level_is_clamped_to_full_scale() {
    let x = render(Tone::new(500.0, 12.0), Duration::from_millis(100));
    assert_eq!(peak(&x), 32767);
}

#[test]
fn tone_try_new_refuses_frequencies_8khz_cannot_carry() {
    for bad in [0.0, -5.0, 4000.0, 9000.0, f32::NAN, f32::INFINITY] {
        let e = Tone::try_new(bad, -10.0).expect_err("should refuse");
        assert_eq!(e.field, "tone frequency");
    }
    assert!(Tone::try_new(1000.0, f32::NAN).is_err());
    assert_eq!(
        Tone::try_new(3999.0, -10.0).map(|t| t.frequency()),
        Ok(3999.0)
    );
}

#[test]
fn chime_ends_after_a_second_and_a_half() {
    let x = render(Chime::new(), Duration::from_secs(10));
    assert_eq!(x.len(), 12_000);
    assert_eq!(Chime::duration(), Duration::from_millis(1500));
    let mut c = Chime::new();
    let mut frame = [0; FRAME_SAMPLES];
    for _ in 0..75 {
        assert!(c.next_frame(&mut frame));
    }
    assert!(!c.next_frame(&mut frame));
    assert!(!c.next_frame(&mut frame), "stays ended");
}

#[test]
fn chime_is_loud_ding_then_dong_and_ends_quietly() {
    let x = render(Chime::new(), Duration::from_secs(2));
    let f = to_f64(&x);
    // Loud enough to hear: peak near -3 dBFS, no clipping.
    let p = peak(&x);
    assert!((18_000..=32_767).contains(&p), "peak {p}");
    assert!(rms(&f) > 2000.0, "rms {}", rms(&f));
    // Ding first, dong second.
    assert_eq!(dominant_frequency(&f[..3600], RATE), 780.0);
    assert_eq!(dominant_frequency(&f[4400..8000], RATE), 660.0);
    // No click at either end.
    assert!(x[0].abs() < 100, "first sample {}", x[0]);
    assert!(peak(&x[11_960..]) < 200, "tail {}", peak(&x[11_960..]));
    assert!(x[11_999].abs() < 10, "last sample {}", x[11_999]);
}

#[test]
fn chime_level_follows_request() {
    let loud = peak(&render(Chime::new(), Duration::from_secs(2)));
    let quiet = peak(&render(Chime::with_level(-23.0), Duration::from_secs(2)));
    let ratio = f64::from(loud) / f64::from(quiet);
    assert!((ratio - 10.0).abs() < 0.2, "ratio {ratio}");
}

#[test]
fn gain_scales_and_saturates() {
    let quiet = render(Tone::new(700.0, -20.0), Duration::from_millis(200));
    let louder = render(
        Gain::new(Tone::new(700.0, -20.0), 6.0206),
        Duration::from_millis(200),
    );
    for (a, b) in quiet.iter().zip(&louder) {
        assert!((i32::from(*a) * 2 - i32::from(*b)).abs() <= 1, "{a} -> {b}");
    }
    // +20 dB on a full-scale tone clips at the rails, never wraps to the other sign.
    let clipped = render(
        Gain::new(Tone::new(700.0, 0.0), 20.0),
        Duration::from_millis(200),
    );
    let orig = render(Tone::new(700.0, 0.0), Duration::from_millis(200));
    assert_eq!(clipped.iter().max(), Some(&i16::MAX));
    assert_eq!(clipped.iter().min(), Some(&i16::MIN));
    for (a, b) in orig.iter().zip(&clipped) {
        assert!(a.signum() == b.signum() || *a == 0 || *b == 0, "{a} -> {b}");
    }
    // Minus infinity is mute, not NaN noise.
    let muted = render(
        Gain::new(Tone::new(700.0, 0.0), f32::NEG_INFINITY),
        Duration::from_millis(100),
    );
    assert!(muted.iter().all(|&s| s == 0));
    assert_eq!(db_to_factor(0.0), 1.0);
}

#[test]
fn gain_passes_the_end_through() {
    let x = render(Gain::new(Chime::new(), -6.0), Duration::from_secs(5));
    assert_eq!(x.len(), 12_000);
}

#[test]
fn silence_forever_or_for_a_while() {
    let x = render(Silence::new(), Duration::from_secs(3));
    assert_eq!(x.len(), 24_000);
    assert!(x.iter().all(|&s| s == 0));
    // 30 ms rounds up to two frames.
    assert_eq!(
        render(
            Silence::for_duration(Duration::from_millis(30)),
            Duration::MAX
        )
        .len(),
        320
    );
    assert!(render(Silence::for_duration(Duration::ZERO), Duration::MAX).is_empty());
}

#[test]
fn limited_cuts_at_frame_rounded_duration() {
    assert_eq!(frames_in(Duration::ZERO), 0);
    assert_eq!(frames_in(Duration::from_millis(20)), 1);
    assert_eq!(frames_in(Duration::from_millis(21)), 2);
    assert_eq!(frames_in(Duration::MAX), u64::MAX, "saturates");
    let x = render(
        Limited::new(Tone::new(1000.0, -10.0), Duration::from_secs(1)),
        Duration::MAX,
    );
    assert_eq!(x.len(), 8000);
    let y = render(
        Limited::new(Chime::new(), Duration::from_secs(10)),
        Duration::MAX,
    );
    assert_eq!(y.len(), 12_000, "inner end comes first");
    let mut l = Limited::new(Silence::new(), Duration::from_millis(40));
    let mut frame = [1; FRAME_SAMPLES];
    assert!(l.next_frame(&mut frame) && l.next_frame(&mut frame));
    assert!(!l.next_frame(&mut frame));
}

#[test]
fn boxed_and_borrowed_sources_are_sources() {
    let boxed: Box<dyn Source> = Box::new(Tone::new(1000.0, -10.0));
    assert_eq!(render(boxed, Duration::from_millis(100)).len(), 800);
    let mut chime = Chime::new();
    assert_eq!(render(&mut chime, Duration::from_millis(100)).len(), 800);
    // The borrowed source kept its position.
    assert_eq!(
        render(&mut chime, Duration::from_secs(5)).len(),
        12_000 - 800
    );
}
