//! The look-ahead peak limiter of prepared sounds: whole-clip, offline, on true peaks.
//!
//! [`limit_true_peak`] scales a clip (floats, full scale 1.0) so that no *true* peak (the
//! waveform between samples, estimated by 4× oversampling as ITU-R BS.1770 annex 2 does) rises
//! above a ceiling. Each sample's required gain is `ceiling / true peak`; the gain applied is
//! the smallest requirement within [`LOOKAHEAD`] samples either side, averaged over the same
//! window, so it starts falling 5 ms before a peak and reaches the requirement exactly at it
//! (every window averaged at the peak contains the peak's own requirement), then recovers
//! with a [`RELEASE`] time constant. Nothing outside the loud moments changes.
//!
//! Pure and allocation-bound by the clip: used once, when a sound is prepared
//! ([`super::loudness::normalise`]), never per packet.

/// Look-ahead (and attack) of the limiter: 40 samples, 5 ms at 8 kHz.
pub const LOOKAHEAD: usize = 40;
/// Time constant of the gain's recovery after a peak: 50 ms (400 samples).
pub const RELEASE: f32 = 400.0;
/// Oversampling of the true-peak estimate (BS.1770-4 annex 2 asks for at least 4× below
/// 96 kHz).
const OVERSAMPLE: usize = 4;
/// Taps either side of the interpolated point (a Hann-windowed sinc of 16 taps per phase).
const HALF_TAPS: i64 = 8;

/// The interpolation filter: for each of the 3 in-between phases, 16 taps.
fn phases() -> [[f32; 2 * HALF_TAPS as usize]; OVERSAMPLE - 1] {
    let mut h = [[0.0; 2 * HALF_TAPS as usize]; OVERSAMPLE - 1];
    for (p, taps) in h.iter_mut().enumerate() {
        let frac = (p + 1) as f64 / OVERSAMPLE as f64;
        for (k, tap) in taps.iter_mut().enumerate() {
            // Tap k weighs sample n + k - (HALF_TAPS - 1) for the point n + frac.
            let t = frac - (k as i64 - (HALF_TAPS - 1)) as f64;
            let sinc = if t == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
            };
            let w = 0.5 + 0.5 * (std::f64::consts::PI * t / HALF_TAPS as f64).cos();
            *tap = (sinc * w) as f32;
        }
    }
    h
}

/// Each sample's true peak: the largest magnitude of the sample itself and of the waveform at
/// the three points between it and the next one.
pub fn true_peaks(x: &[f32]) -> Vec<f32> {
    let h = phases();
    let at = |i: i64| -> f32 {
        usize::try_from(i)
            .ok()
            .and_then(|i| x.get(i))
            .copied()
            .unwrap_or(0.0)
    };
    (0..x.len())
        .map(|n| {
            let mut peak = x[n].abs();
            for taps in &h {
                let mut y = 0.0;
                for (k, tap) in taps.iter().enumerate() {
                    y += tap * at(n as i64 + k as i64 - (HALF_TAPS - 1));
                }
                peak = peak.max(y.abs());
            }
            peak
        })
        .collect()
}

/// Scale `x` so that its true peaks stay at or below `ceiling` (linear, e.g. 0.84 for
/// -1.5 dBTP). Returns the deepest gain reduction applied, dB (0 when nothing was over).
pub fn limit_true_peak(x: &mut [f32], ceiling: f32) -> f32 {
    let need: Vec<f32> = true_peaks(x)
        .into_iter()
        .map(|p| if p > ceiling { ceiling / p } else { 1.0 })
        .collect();
    if need.iter().all(|&g| g >= 1.0) {
        return 0.0;
    }
    let n = x.len();
    let window = |i: usize| i.saturating_sub(LOOKAHEAD)..(i + LOOKAHEAD + 1).min(n);
    // The smallest requirement within the look-ahead either side...
    let held: Vec<f32> = (0..n)
        .map(|i| need[window(i)].iter().copied().fold(1.0, f32::min))
        .collect();
    // ...averaged over the same window (positions beyond either end count as the held gain at
    // that end, so a peak at the very start or end is met in full too)...
    let mut sum = vec![0.0f64; n + 1];
    for i in 0..n {
        sum[i + 1] = sum[i] + f64::from(held[i]);
    }
    let span = (2 * LOOKAHEAD + 1) as f64;
    let release = 1.0 - (-1.0 / RELEASE).exp();
    let mut g = 1.0f32;
    let mut deepest = 1.0f32;
    for (i, v) in x.iter_mut().enumerate() {
        let w = window(i);
        let before = (LOOKAHEAD - (i - w.start)) as f64;
        let after = span - w.len() as f64 - before;
        let edges = before * f64::from(held[0]) + after * f64::from(held[n - 1]);
        let avg = ((sum[w.end] - sum[w.start] + edges) / span) as f32;
        // ...and recovering no faster than the release allows.
        g = avg.min(g + (1.0 - g) * release);
        deepest = deepest.min(g);
        *v *= g;
    }
    -20.0 * deepest.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f32, amp: f32, n: usize, phase: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / 8000.0 + phase).sin())
            .collect()
    }

    #[test]
    fn true_peaks_see_between_samples() {
        // 2 kHz at 45°: every sample is at ±0.707 of the amplitude, the waveform reaches 1.0.
        let x = sine(2000.0, 1.0, 400, std::f32::consts::FRAC_PI_4);
        let sample_peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            (sample_peak - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3,
            "{sample_peak}"
        );
        let tp = true_peaks(&x)[100..300]
            .iter()
            .fold(0.0f32, |m, v| m.max(*v));
        assert!((tp - 1.0).abs() < 0.02, "true peak {tp}");
    }

    #[test]
    fn a_burst_is_held_under_the_ceiling_and_the_rest_is_untouched() {
        let mut x = sine(440.0, 0.3, 8000, 0.0);
        for (i, v) in x.iter_mut().enumerate().skip(4000).take(400) {
            *v = 1.4 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 8000.0).sin();
        }
        let before = x.clone();
        let reduced = limit_true_peak(&mut x, 0.8);
        assert!(
            (reduced - 20.0 * (1.4f32 / 0.8).log10()).abs() < 0.3,
            "{reduced}"
        );
        let tp = true_peaks(&x).into_iter().fold(0.0f32, f32::max);
        assert!(tp <= 0.8 * 1.01, "true peak {tp}");
        // Far from the burst (before the look-ahead, after the release) nothing changed.
        assert_eq!(x[..3900], before[..3900]);
        assert!((x[7000] - before[7000]).abs() < 0.01 * before[7000].abs().max(0.01));
    }

    #[test]
    fn nothing_over_is_nothing_changed() {
        let mut x = sine(1000.0, 0.5, 800, 0.3);
        let before = x.clone();
        assert_eq!(limit_true_peak(&mut x, 0.8), 0.0);
        assert_eq!(x, before);
    }
}
