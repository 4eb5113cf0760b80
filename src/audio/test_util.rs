//! Measuring helpers for the unit tests: tone levels by Goertzel, the dominant frequency, RMS.

/// Amplitude of the `freq` component of `x` (sampled at `rate`), Hann-windowed so that a strong
/// tone elsewhere leaks little: a sine of amplitude A at `freq` measures ≈ A.
pub fn tone_amplitude(x: &[f64], rate: f64, freq: f64) -> f64 {
    let n = x.len();
    if n < 2 {
        return 0.0;
    }
    let w = std::f64::consts::TAU * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut wsum = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let win = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos();
        wsum += win;
        let s = v * win + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / wsum
}

/// The strongest frequency in 10 Hz steps from 50 Hz to just under Nyquist.
pub fn dominant_frequency(x: &[f64], rate: f64) -> f64 {
    let mut best = (0.0, 0.0);
    let mut f = 50.0;
    while f < rate / 2.0 - 40.0 {
        let a = tone_amplitude(x, rate, f);
        if a > best.1 {
            best = (f, a);
        }
        f += 10.0;
    }
    best.0
}

/// Root mean square.
pub fn rms(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

/// i16 samples as f64.
pub fn to_f64(x: &[i16]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}
