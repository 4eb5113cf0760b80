//! How long preparing a 10 s `say:` source takes (issue 20): cold (espeak-ng runs, its WAV is
//! resampled to 8 kHz) and cached (the same text and voice again), each then levelled and
//! encoded to G.711 as a page plays it.
//!
//! `cargo run --release --example speech_prepare [RUNS]` (needs espeak-ng: `make test` installs it)

use std::time::{Duration, Instant};

use zonecast::g711::Law;
use zonecast::source::speech::{PROGRAM, SpeechCache};
use zonecast::source::{Levelling, Voice};

/// About 10 s at the default 150 words per minute.
const TEXT: &str = "Attention please. A fire drill will start in building B in five minutes. \
                    Leave by the nearest exit, do not use the lifts, and gather at the car park.";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let voice = Voice::default();
    let level = Levelling::default();
    // (whole preparation, the speech alone, samples)
    let prepare = |cache: &SpeechCache| {
        let t = Instant::now();
        let speech = cache.speak(TEXT, &voice).expect("espeak-ng speaks");
        let spoken = t.elapsed();
        let _source = level.clip("say:bench", &speech, Law::Ulaw);
        (t.elapsed(), spoken, speech.len())
    };
    let (mut cold, mut cold_speech, mut cached, mut cached_speech) =
        (vec![], vec![], vec![], vec![]);
    let mut secs = 0.0;
    for _ in 0..runs {
        let cache = SpeechCache::new(PROGRAM);
        let (d, s, n) = prepare(&cache);
        cold.push(d);
        cold_speech.push(s);
        secs = n as f64 / 8000.0;
        let (d, s, _) = prepare(&cache);
        cached.push(d);
        cached_speech.push(s);
        assert_eq!(cache.spawns(), 1);
    }
    println!(
        "speech of {secs:.1} s ({} characters), {runs} runs, medians (max):",
        TEXT.chars().count()
    );
    for (what, all, speech) in [
        ("cold", cold, cold_speech),
        ("cached", cached, cached_speech),
    ] {
        println!(
            "  {what:<6} source prepared {:7.2} ms ({:7.2}); of which speech {:7.3} ms ({:7.3})",
            ms(median(all.clone())),
            ms(*all.iter().max().unwrap()),
            ms(median(speech.clone())),
            ms(*speech.iter().max().unwrap()),
        );
    }
}
