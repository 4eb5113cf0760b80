//! G.711 companding: µ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8).
//!
//! Owns the sample ⇄ byte conversion and nothing else: no framing, no RTP. The encoders are
//! bit-exact with the ITU-T G.711 reference as written in Sun's classic `g711.c`
//! (`linear2ulaw` with its 0x84 bias and 32635 clip, `linear2alaw` on the 13-bit magnitude).
//! Both directions are table-driven: decoding is one 256-entry lookup, encoding one lookup in a
//! 16384-entry table indexed by the top 14 bits of the sample (G.711 never looks at the low two
//! bits, so that table is exact for all 65,536 inputs). Tables are built at compile time.
//!
//! Silence is `0xFF` in µ-law and `0xD5` in A-law.
//!
//! Unit tests: `tests`.

mod reference;

#[cfg(test)]
mod tests;

/// µ-law byte for digital silence (what phones play as quiet, and what gaps are filled with).
pub const ULAW_SILENCE: u8 = 0xFF;
/// A-law byte for digital silence.
pub const ALAW_SILENCE: u8 = 0xD5;

/// Which G.711 law a stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Law {
    /// µ-law, PCMU, RTP payload type 0 (North America, Japan; what Cisco phones page with).
    #[default]
    Ulaw,
    /// A-law, PCMA, RTP payload type 8.
    Alaw,
}

impl Law {
    /// The static RTP payload type of this law (RFC 3551).
    pub const fn payload_type(self) -> u8 {
        match self {
            Law::Ulaw => 0,
            Law::Alaw => 8,
        }
    }

    /// The law carried by a static RTP payload type, if it is a G.711 one.
    pub const fn from_payload_type(pt: u8) -> Option<Law> {
        match pt {
            0 => Some(Law::Ulaw),
            8 => Some(Law::Alaw),
            _ => None,
        }
    }

    /// The byte that decodes to silence.
    pub const fn silence(self) -> u8 {
        match self {
            Law::Ulaw => ULAW_SILENCE,
            Law::Alaw => ALAW_SILENCE,
        }
    }

    /// Encode one linear 16-bit sample.
    #[inline]
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Ulaw => encode_ulaw(sample),
            Law::Alaw => encode_alaw(sample),
        }
    }

    /// Decode one byte to a linear 16-bit sample.
    #[inline]
    pub fn decode(self, byte: u8) -> i16 {
        match self {
            Law::Ulaw => decode_ulaw(byte),
            Law::Alaw => decode_alaw(byte),
        }
    }

    /// Encode `pcm` into `out` (same length). Allocates nothing.
    ///
    /// # Panics
    /// When the two slices differ in length: that is a programming error, never outside input.
    #[inline]
    pub fn encode_into(self, pcm: &[i16], out: &mut [u8]) {
        assert_eq!(
            pcm.len(),
            out.len(),
            "G.711 encode: input and output lengths differ"
        );
        let table = match self {
            Law::Ulaw => &ULAW_ENCODE,
            Law::Alaw => &ALAW_ENCODE,
        };
        for (o, &s) in out.iter_mut().zip(pcm) {
            *o = table[index14(s)];
        }
    }

    /// Decode `bytes` into `out` (same length). Allocates nothing.
    ///
    /// # Panics
    /// When the two slices differ in length.
    #[inline]
    pub fn decode_into(self, bytes: &[u8], out: &mut [i16]) {
        assert_eq!(
            bytes.len(),
            out.len(),
            "G.711 decode: input and output lengths differ"
        );
        let table = match self {
            Law::Ulaw => &ULAW_DECODE,
            Law::Alaw => &ALAW_DECODE,
        };
        for (o, &b) in out.iter_mut().zip(bytes) {
            *o = table[b as usize];
        }
    }
}

/// Encode one sample to µ-law.
#[inline]
pub fn encode_ulaw(sample: i16) -> u8 {
    ULAW_ENCODE[index14(sample)]
}

/// Decode one µ-law byte.
#[inline]
pub fn decode_ulaw(byte: u8) -> i16 {
    ULAW_DECODE[byte as usize]
}

/// Encode one sample to A-law.
#[inline]
pub fn encode_alaw(sample: i16) -> u8 {
    ALAW_ENCODE[index14(sample)]
}

/// Decode one A-law byte.
#[inline]
pub fn decode_alaw(byte: u8) -> i16 {
    ALAW_DECODE[byte as usize]
}

/// Index of a sample in the 14-bit encode tables: the sample's top 14 bits, offset to unsigned.
#[inline(always)]
const fn index14(sample: i16) -> usize {
    ((sample >> 2) as i32 + 8192) as usize
}

const fn build_encode(alaw: bool) -> [u8; 16384] {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        let sample = ((i as i32 - 8192) << 2) as i16;
        t[i] = if alaw {
            reference::linear2alaw(sample)
        } else {
            reference::linear2ulaw(sample)
        };
        i += 1;
    }
    t
}

const fn build_decode(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            reference::alaw2linear(i as u8)
        } else {
            reference::ulaw2linear(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_ENCODE: [u8; 16384] = build_encode(false);
static ALAW_ENCODE: [u8; 16384] = build_encode(true);
static ULAW_DECODE: [i16; 256] = build_decode(false);
static ALAW_DECODE: [i16; 256] = build_decode(true);
