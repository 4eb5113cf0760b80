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

use crate::audio::loudness::normalise_at;
use crate::audio::{AutoGain, Levelled, LoudnessTarget, Source};
use crate::g711::Law;
use crate::rtp::StreamCodec;
use crate::rtp::pacer::{Encode, PayloadSource};

/// What was done to one item of a page's sound.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LevelNote {
    /// The item as named (`chime`, `bell`, `file:PATH`, `upload:NAME`, `say:TEXT`).
    pub item: String,
    /// The stream it was levelled for (`g711`, or `g722` for a wideband page's 16 kHz copy).
    pub codec: &'static str,
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
        self.clip_as(item, samples, law.into())
    }

    /// `samples` (mono at the codec's rate) levelled, noted as `item`, and encoded with
    /// `codec`, played once.
    pub fn clip_as(
        &self,
        item: &str,
        samples: &[i16],
        codec: StreamCodec,
    ) -> Box<dyn PayloadSource> {
        Box::new(codec.clip(&self.samples_as(item, samples, codec), false))
    }

    /// `samples` (8 kHz mono) levelled for encoding with `law`, noted as `item`.
    pub fn samples(&self, item: &str, samples: &[i16], law: Law) -> Vec<i16> {
        self.samples_as(item, samples, law.into())
    }

    /// `samples` (mono at the codec's rate) levelled for encoding with `codec`, noted as `item`.
    pub fn samples_as(&self, item: &str, samples: &[i16], codec: StreamCodec) -> Vec<i16> {
        let (levelled, what) = normalise_at(samples, codec.sample_rate(), self.target, &|s| {
            codec.through(s)
        });
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LevelNote {
                item: item.to_owned(),
                codec: codec.name(),
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
