//! Levelling a page's sounds as they are prepared: every file, upload, bundled sound and speech
//! is gained to one loudness target ([`crate::audio::loudness::normalise`]) before it is
//! encoded, and what was measured and applied is noted for the page's report (`--json`).
//!
//! Tones and silence are exempt (test signals at their stated level); live sources (the
//! microphone) get [`crate::audio::AutoGain`] toward the same target instead.
//!
//! [`Levelling`] is what the rooms that page hand down: the target (from `[engine] loudness`,
//! a plain number here: this room does not read the config) and a shared list of notes, one per
//! levelled item, that the caller reads back once the source is built.

use std::sync::{Arc, Mutex};

use crate::audio::loudness::normalise;
use crate::audio::{AutoGain, Levelled, LoudnessTarget, Source};
use crate::g711::Law;
use crate::rtp::pacer::{Encode, EncodedClip, PayloadSource};

/// What was done to one item of a page's sound.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LevelNote {
    /// The item as named (`chime`, `bell`, `file:PATH`, `upload:NAME`, `say:TEXT`).
    pub item: String,
    /// Measured and applied.
    #[serde(flatten)]
    pub levelled: Levelled,
}

/// The target sounds are levelled to, and the notes of what was done. Clones share the notes.
#[derive(Debug, Clone, Default)]
pub struct Levelling {
    /// The loudness every prepared sound is gained to.
    pub target: LoudnessTarget,
    notes: Arc<Mutex<Vec<LevelNote>>>,
}

impl Levelling {
    /// Levelling to `target`, nothing noted yet.
    pub fn new(target: LoudnessTarget) -> Levelling {
        Levelling {
            target,
            notes: Arc::default(),
        }
    }

    /// `samples` (8 kHz mono) levelled, noted as `item`, and encoded with `law`, played once.
    pub fn clip(&self, item: &str, samples: &[i16], law: Law) -> Box<dyn PayloadSource> {
        Box::new(EncodedClip::new(
            &self.samples(item, samples, law),
            law,
            false,
        ))
    }

    /// `samples` (8 kHz mono) levelled for encoding with `law`, noted as `item`.
    pub fn samples(&self, item: &str, samples: &[i16], law: Law) -> Vec<i16> {
        let (levelled, what) = normalise(samples, self.target, law);
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LevelNote {
                item: item.to_owned(),
                levelled: what,
            });
        levelled
    }

    /// A live source under slow automatic gain toward the target, encoded with `law`.
    pub fn live<S: Source + Send + 'static>(&self, live: S, law: Law) -> Box<dyn PayloadSource> {
        Box::new(Encode::new(AutoGain::new(live, self.target), law))
    }

    /// What was levelled so far, in the order it was prepared.
    pub fn notes(&self) -> Vec<LevelNote> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
