//! Exhaustive checks of the tables against a second, independently written form of the formula:
//! exponent from the position of the leading one instead of a segment search.

use super::*;

/// µ-law per G.711 / Sun `g711.c`: 14-bit magnitude, bias 33, clip 8159, leading-one exponent.
fn ulaw_formula(x: i16) -> u8 {
    let v = (x as i32) >> 2;
    // The sign bit is set for negative samples before the final inversion.
    let (sign, mag) = if v < 0 { (0x80, -v) } else { (0x00, v) };
    let biased = mag.min(8159) + 33; // 33..=8192, so bit 5 is the lowest leading-one position
    let top = 31 - biased.leading_zeros() as i32; // 5..=13
    if top > 12 {
        // Only the clipped maximum (8192) lands past the last segment: full scale.
        return if sign == 0 { 0x80 } else { 0x00 };
    }
    let exp = top - 5;
    let mant = (biased >> (exp + 1)) & 0x0F;
    !((sign | (exp << 4) | mant) as u8)
}

fn ulaw_decode_formula(u: u8) -> i16 {
    let u = !u;
    let exp = ((u >> 4) & 7) as i32;
    let mant = (u & 0x0F) as i32;
    let mag = (((mant << 3) + 0x84) << exp) - 0x84;
    (if u & 0x80 != 0 { -mag } else { mag }) as i16
}

/// A-law per G.711 / Sun `g711.c`: 13-bit one's-complement magnitude, even bits inverted.
fn alaw_formula(x: i16) -> u8 {
    let v = (x as i32) >> 3;
    let (sign, mag) = if v >= 0 { (0x80, v) } else { (0x00, -v - 1) };
    let code = if mag >= 4096 {
        0x7F
    } else if mag < 32 {
        mag >> 1
    } else {
        let top = 31 - mag.leading_zeros() as i32; // 5..=11
        let seg = top - 4;
        (seg << 4) | ((mag >> seg) & 0x0F)
    };
    ((sign | code) ^ 0x55) as u8
}

fn alaw_decode_formula(a: u8) -> i16 {
    let a = a ^ 0x55;
    let seg = ((a >> 4) & 7) as i32;
    let mant = (a & 0x0F) as i32;
    let mag = if seg == 0 {
        (mant << 4) + 8
    } else {
        ((mant << 4) + 0x108) << (seg - 1)
    };
    (if a & 0x80 != 0 { mag } else { -mag }) as i16
}

#[test]
fn ulaw_encode_matches_formula_for_all_65536_inputs() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(encode_ulaw(x), ulaw_formula(x), "µ-law encode of {x}");
    }
}

#[test]
fn alaw_encode_matches_formula_for_all_65536_inputs() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(encode_alaw(x), alaw_formula(x), "A-law encode of {x}");
    }
}

#[test]
fn decode_matches_formula_for_all_256_codes() {
    for b in 0..=255u8 {
        assert_eq!(
            decode_ulaw(b),
            ulaw_decode_formula(b),
            "µ-law decode of {b:#04x}"
        );
        assert_eq!(
            decode_alaw(b),
            alaw_decode_formula(b),
            "A-law decode of {b:#04x}"
        );
    }
}

#[test]
fn known_points_of_the_standard() {
    // Silence and full scale, as every G.711 implementation has them.
    assert_eq!(encode_ulaw(0), 0xFF);
    assert_eq!(decode_ulaw(0xFF), 0);
    assert_eq!(decode_ulaw(0x7F), 0);
    assert_eq!(encode_ulaw(i16::MAX), 0x80);
    assert_eq!(encode_ulaw(i16::MIN), 0x00);
    assert_eq!(decode_ulaw(0x80), 32124);
    assert_eq!(decode_ulaw(0x00), -32124);
    assert_eq!(encode_alaw(0), 0xD5);
    assert_eq!(decode_alaw(0xD5), 8);
    assert_eq!(decode_alaw(0xAA), 32256);
    assert_eq!(decode_alaw(0x2A), -32256);
}

#[test]
fn decode_then_encode_is_identity_on_codes() {
    // Every code decodes to a value inside its own quantisation step, except µ-law's
    // negative zero (0x7F), which folds onto positive zero (0xFF).
    for b in 0..=255u8 {
        let u = encode_ulaw(decode_ulaw(b));
        assert!(
            u == b || (b == 0x7F && u == 0xFF),
            "µ-law {b:#04x} -> {u:#04x}"
        );
        assert_eq!(encode_alaw(decode_alaw(b)), b, "A-law {b:#04x}");
    }
}

#[test]
fn frame_helpers_match_per_sample_functions() {
    let pcm: Vec<i16> = (0..160).map(|i| (i * 409 - 32000) as i16).collect();
    for law in [Law::Ulaw, Law::Alaw] {
        let mut enc = [0u8; 160];
        law.encode_into(&pcm, &mut enc);
        let mut dec = [0i16; 160];
        law.decode_into(&enc, &mut dec);
        for i in 0..160 {
            assert_eq!(enc[i], law.encode(pcm[i]));
            assert_eq!(dec[i], law.decode(enc[i]));
        }
    }
    assert_eq!(Law::Ulaw.silence(), ULAW_SILENCE);
    assert_eq!(Law::Ulaw.decode(Law::Ulaw.silence()), 0);
    assert_eq!(Law::from_payload_type(8), Some(Law::Alaw));
    assert_eq!(Law::from_payload_type(18), None);
}
