//! A PNG file as the phones' packed greyscale bitmap (`Width`, `Height`, `Depth`, `Data` of
//! CiscoIPPhoneImage, GraphicMenu, Status and icon items).
//!
//! The PNG is decoded (any colour type and bit depth; transparency is laid over white), each
//! pixel's luminance (Rec. 601) becomes a darkness level, 0 the lightest (the blank the phones
//! pad with) and 3 black at depth 2, 0 white and 1 black at depth 1. Pixels are packed without
//! row padding, the first pixel in the lowest bits of its byte (the Cisco notes' example: pixels
//! 1, 3, 2, 0 become the byte 2D), each byte two hex digits. Whether the result fits an object
//! (133 × 65 for an Image, 16 × 10 for an icon ...) is the object's own check.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::cli::common::CliError;
use crate::error::Invalid;
use crate::xsi::object::Bitmap;

/// Larger files are no picture a phone could show: refused before decoding.
const MAX_FILE_BYTES: u64 = 4 << 20;
/// Larger images are refused before their pixels are decoded (no phone shows ~1000 × 1000).
const MAX_PIXELS: u64 = 1 << 20;

/// The PNG at `path` as a bitmap of `depth` (1 or 2) bits per pixel; errors name `flag`.
pub(super) fn png_bitmap(flag: &str, path: &Path, depth: u8) -> Result<Bitmap, CliError> {
    let shown = path.display().to_string();
    let bad = |rule: String| CliError::from(Invalid::new(flag, &shown, rule));
    let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(bad(format!(
            "is over {} MiB: no phone shows so large a picture",
            MAX_FILE_BYTES >> 20
        )));
    }
    let (width, height, grey) =
        decode_grey(&bytes).map_err(|e| bad(format!("is not a readable PNG: {e}")))?;
    let (w, h) = match (u16::try_from(width), u16::try_from(height)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(bad(format!("{width}x{height} pixels is too large"))),
    };
    let data = pack(&grey, depth);
    Ok(Bitmap::new(w, h, depth, &data)?)
}

/// Width, height and one luminance byte per pixel (0 black, 255 white).
fn decode_grey(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let (width, height) = reader.info().size();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!("{width}x{height} pixels is too large"));
    }
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large to decode")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    let grey = buf.chunks_exact(channels).map(luminance).collect();
    Ok((width, height, grey))
}

/// One 8-bit pixel (grey, grey+alpha, RGB or RGBA) as luminance over a white background.
fn luminance(p: &[u8]) -> u8 {
    let (l, alpha) = match *p {
        [g] => (u32::from(g), 255),
        [g, a] => (u32::from(g), u32::from(a)),
        [r, g, b] => (rec601(r, g, b), 255),
        [r, g, b, a, ..] => (rec601(r, g, b), u32::from(a)),
        [] => (255, 255),
    };
    // Over white: a transparent pixel is blank, as the phone's background is.
    let over_white = (l * alpha + 255 * (255 - alpha) + 127) / 255;
    u8::try_from(over_white).unwrap_or(u8::MAX)
}

fn rec601(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000
}

/// Darkness of a luminance at `depth` bits: 0 the lightest.
fn level(luma: u8, depth: u8) -> u8 {
    let max = (1u16 << depth) - 1;
    let light = (u16::from(luma) * max + 127) / 255;
    u8::try_from(max - light).unwrap_or(0)
}

/// Pixels (luminance, row after row) packed at `depth` bits, first pixel lowest, as upper-case
/// hex digits.
fn pack(grey: &[u8], depth: u8) -> String {
    let per_byte = usize::from(8 / depth);
    let mut hex = String::with_capacity(grey.len().div_ceil(per_byte) * 2);
    for chunk in grey.chunks(per_byte) {
        let byte = chunk.iter().enumerate().fold(0u8, |b, (i, &luma)| {
            b | (level(luma, depth) << (usize::from(depth) * i))
        });
        hex.push_str(&format!("{byte:02X}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        let mut w = e.write_header().unwrap();
        w.write_image_data(pixels).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn the_cisco_notes_example_packs_to_2d() {
        // Darkness 1, 3, 2, 0 from left to right.
        let grey = [170, 0, 85, 255];
        assert_eq!(pack(&grey, 2), "2D");
    }

    #[test]
    fn depth_1_is_black_on_white_first_pixel_lowest() {
        let grey = [0, 255, 255, 255, 255, 255, 255, 255, 0];
        assert_eq!(pack(&grey, 1), "0101");
    }

    #[test]
    fn colour_and_transparency_become_grey_over_white() {
        let rgba = [
            0, 0, 0, 255, // black
            255, 0, 0, 255, // red: dark grey-ish
            0, 0, 0, 0, // transparent: blank
            255, 255, 255, 255, // white
        ];
        let bytes = png_of(4, 1, png::ColorType::Rgba, &rgba);
        let (w, h, grey) = decode_grey(&bytes).unwrap();
        assert_eq!((w, h), (4, 1));
        assert_eq!(grey[0], 0);
        assert_eq!(grey[2], 255);
        assert_eq!(grey[3], 255);
        assert_eq!(level(grey[1], 2), 2, "red (luma 76) is dark grey");
    }

    #[test]
    fn not_a_png_is_refused_with_the_reason() {
        assert!(decode_grey(b"GIF89a").is_err());
    }
}
