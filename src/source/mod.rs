//! What a page plays, below every room that pages: the segments of a sequence (`chime`,
//! `tone:HZ:SECS`, `file:PATH`, `silence:SECS`, `mic:SECS`, `say:TEXT`) and the sequence that plays them one
//! after the other, the bundled sounds (compiled in, so an installed server needs no `audio/`
//! directory), sounds uploaded through the API, and the spec a server page or a bell names them
//! by. Each becomes one stream of 20 ms G.711 payloads ([`crate::rtp::pacer::PayloadSource`]).
//!
//! It owns the grammar and the rules of what may be played (an API caller names no file on the
//! server's disk and nobody pages the server's microphone); `page`, `schedule`, `server` and
//! `cli` ask it. It uses only rooms below it: `audio` to decode and generate, `g711` to encode,
//! `rtp` for the payload source the pacer pulls.
//!
//! - [`level`]: levelling what is prepared to the loudness target ([`Levelling`]), and the
//!   notes of what was measured and applied.
//! - [`segment`]: one segment, parsed and checked; its payload source; a sequence of sources.
//! - [`sounds`]: the bundled sounds, uploads, and a spec of comma-separated items ([`source`]).
//! - [`speech`]: `say:TEXT` spoken by espeak-ng in a separate process, bounded and cached.
//! - [`upload`]: uploaded sounds: their names, what the uploader declared (headerless µ-law
//!   only when declared), and keeping them once they decode.

pub mod level;
pub mod segment;
pub mod sounds;
pub mod speech;
pub mod upload;

pub use level::{LevelNote, Levelling};
pub use segment::{
    Segment, chime_samples, file_at, items, said, segment_source, segment_source_as, sequence,
    tone_source,
};
pub use sounds::{BUNDLED, Trust, source, source_voiced, source_voiced_as};
pub use speech::{SpeechCache, Voice, VoiceChange};
pub use upload::{UploadFormat, UploadRefused, check_upload_name, sniff, store_upload, uploaded};
