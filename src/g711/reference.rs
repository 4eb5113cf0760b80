//! The G.711 algorithm as Sun Microsystems wrote it in `g711.c` (released to the public domain),
//! transcribed as `const fn`s. Only used to fill the lookup tables at compile time.

const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const BIAS: i32 = 0x84;
const CLIP: i32 = 8159;

const fn search(val: i32, table: &[i32; 8]) -> i32 {
    let mut i = 0;
    while i < 8 {
        if val <= table[i] {
            return i as i32;
        }
        i += 1;
    }
    8
}

/// `linear2alaw` from g711.c: 16-bit linear in, A-law out.
pub(super) const fn linear2alaw(pcm: i16) -> u8 {
    let mut pcm_val = (pcm as i32) >> 3;
    let mask;
    if pcm_val >= 0 {
        mask = 0xD5;
    } else {
        mask = 0x55;
        pcm_val = -pcm_val - 1;
    }
    let seg = search(pcm_val, &SEG_AEND);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut aval = seg << 4;
    if seg < 2 {
        aval |= (pcm_val >> 1) & 0x0F;
    } else {
        aval |= (pcm_val >> seg) & 0x0F;
    }
    (aval ^ mask) as u8
}

/// `alaw2linear` from g711.c.
pub(super) const fn alaw2linear(a: u8) -> i16 {
    let a_val = (a ^ 0x55) as i32;
    let mut t = (a_val & 0x0F) << 4;
    let seg = (a_val & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a_val & 0x80 != 0 { t } else { -t }) as i16
}

/// `linear2ulaw` from g711.c (14-bit variant: input shifted right by 2, 8159 clip, bias 0x84 >> 2).
pub(super) const fn linear2ulaw(pcm: i16) -> u8 {
    let mut pcm_val = (pcm as i32) >> 2;
    let mask;
    if pcm_val < 0 {
        pcm_val = -pcm_val;
        mask = 0x7F;
    } else {
        mask = 0xFF;
    }
    if pcm_val > CLIP {
        pcm_val = CLIP;
    }
    pcm_val += BIAS >> 2;
    let seg = search(pcm_val, &SEG_UEND);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let uval = (seg << 4) | ((pcm_val >> (seg + 1)) & 0xF);
    (uval ^ mask) as u8
}

/// `ulaw2linear` from g711.c.
pub(super) const fn ulaw2linear(u: u8) -> i16 {
    let u_val = !u as i32 & 0xFF;
    let mut t = ((u_val & 0x0F) << 3) + BIAS;
    t <<= (u_val & 0x70) >> 4;
    (if u_val & 0x80 != 0 {
        BIAS - t
    } else {
        t - BIAS
    }) as i16
}
