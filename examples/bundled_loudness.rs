//! Loudness of each bundled sound before and after levelling (BENCHMARKS.md, "Loudness of the
//! bundled sounds"):
//!
//! ```sh
//! cargo run --release --example bundled_loudness            # target -18 LUFS
//! cargo run --release --example bundled_loudness -- -23     # another target
//! ```
//!
//! Each bundled sound is prepared exactly as a page prepares it (`source::source_voiced_as`:
//! µ-law, A-law, and G.722 from the 16 kHz sounds of `audio/wide/`) and the notes the preparation leaves are printed: integrated loudness and true peak
//! as the sound is stored, the gain applied, the limiter's deepest reduction, and loudness and
//! true peak of what a phone decodes. It also times the levelling of each sound.

use std::time::Instant;

use zonecast::audio::LoudnessTarget;
use zonecast::g711::Law;
use zonecast::rtp::StreamCodec;
use zonecast::source::{BUNDLED, Levelling, Trust, Voice, source_voiced_as};

fn db(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn main() {
    let lufs: f64 = std::env::args()
        .nth(1)
        .map_or(-18.0, |a| a.parse().expect("a target in LUFS"));
    let uploads = std::env::temp_dir();
    println!(
        "| Sound | Codec | Before: LUFS | Before: dBTP | Gain dB | Limited dB | After: LUFS | After: dBTP (decoded) | Levelling ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let codecs = [
        StreamCodec::G711(Law::Ulaw),
        StreamCodec::G711(Law::Alaw),
        StreamCodec::G722,
    ];
    for codec in codecs {
        for name in BUNDLED {
            let level = Levelling::new(LoudnessTarget { lufs });
            let t = Instant::now();
            source_voiced_as(name, &uploads, Trust::Api, codec, &Voice::default(), &level)
                .expect("bundled sound");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            for n in level.notes() {
                let l = n.levelled;
                println!(
                    "| {} | {} | {} | {} | {:+.1} | {:.1} | {} | {} | {ms:.1} |",
                    n.item,
                    match codec {
                        StreamCodec::G711(Law::Ulaw) => "µ-law",
                        StreamCodec::G711(Law::Alaw) => "A-law",
                        StreamCodec::G722 => "G.722",
                    },
                    db(l.measured.lufs),
                    db(l.measured.true_peak_dbtp),
                    l.gain_db,
                    l.limited_db,
                    db(l.result.lufs),
                    db(l.result.true_peak_dbtp),
                );
            }
        }
    }
}
