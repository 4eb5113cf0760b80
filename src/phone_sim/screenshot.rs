//! `/CGI/Screenshot`: a PNG of what the phone's screen shows.
//!
//! The screen is drawn as the phone's text would be: a light background, each line in the 8×8
//! `font8x8` bitmap font (doubled on displays 640 px wide or more), one line under the other from
//! the top, cut at the right edge, and as many lines as fit. A display that is switched off is
//! plain black. Colour models get 8-bit RGB, the others 8-bit greyscale.

use std::ops::Range;

use font8x8::{
    BASIC_FONTS, BLOCK_FONTS, BOX_FONTS, GREEK_FONTS, HIRAGANA_FONTS, LATIN_FONTS, MISC_FONTS,
    UnicodeFonts,
};

/// What is on the screen, top to bottom.
#[derive(Debug, Clone, Default)]
pub struct ScreenView {
    /// Display width, px.
    pub width: u16,
    /// Display height, px.
    pub height: u16,
    /// Colour display (else greyscale).
    pub color: bool,
    /// Lines of text: title, prompt, body, menu items, the status banner ...
    pub lines: Vec<String>,
    /// Display switched off (`Display:Off`): a black screen.
    pub off: bool,
}

/// The largest picture drawn, px per side; larger views are cut down to this.
pub const MAX_SIDE: u32 = 2000;

/// Background of a lit colour screen (RGB).
const BACKGROUND_RGB: [u8; 3] = [0xE6, 0xEE, 0xF5];
/// Text on a colour screen (RGB).
const TEXT_RGB: [u8; 3] = [0x10, 0x18, 0x20];
/// Background of a lit greyscale screen.
const BACKGROUND_GREY: u8 = 0xE0;
/// Text on a greyscale screen.
const TEXT_GREY: u8 = 0x10;

/// The picture's size for a view: each side between 1 and [`MAX_SIDE`].
pub fn image_size(view: &ScreenView) -> (u32, u32) {
    let side = |v: u16| u32::from(v).clamp(1, MAX_SIDE);
    (side(view.width), side(view.height))
}

/// How much the 8×8 font is enlarged on a display this wide: 2 from 640 px, else 1.
pub fn text_scale(width: u16) -> u32 {
    if width >= 640 { 2 } else { 1 }
}

/// Rows of the picture the line `index` is drawn in, on a display this wide (its glyph rows;
/// a line is drawn only if the whole range is inside the picture).
pub fn line_band(width: u16, index: usize) -> Range<u32> {
    let scale = text_scale(width);
    // 1 px (scaled) top margin, 8 px glyphs, 2 px between lines.
    let top = u32::try_from(index)
        .unwrap_or(u32::MAX)
        .saturating_mul(10 * scale)
        .saturating_add(scale);
    top..top.saturating_add(8 * scale)
}

/// The 8×8 bitmap of a character: row bytes, bit 0 the leftmost pixel. Characters the font does
/// not have are drawn as `?`.
fn glyph(c: char) -> [u8; 8] {
    let c = if c.is_control() { ' ' } else { c };
    BASIC_FONTS
        .get(c)
        .or_else(|| LATIN_FONTS.get(c))
        .or_else(|| GREEK_FONTS.get(c))
        .or_else(|| BOX_FONTS.get(c))
        .or_else(|| BLOCK_FONTS.get(c))
        .or_else(|| HIRAGANA_FONTS.get(c))
        .or_else(|| MISC_FONTS.get(c))
        .or_else(|| BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

/// Render the screen as a PNG (8-bit RGB or greyscale).
///
/// Never panics: a zero side is drawn as 1 px, sides over [`MAX_SIDE`] are cut to it, lines that
/// do not fit are left out and long lines are cut at the right edge.
pub fn screenshot_png(view: &ScreenView) -> Vec<u8> {
    let (w, h) = image_size(view);
    let channels: usize = if view.color { 3 } else { 1 };
    let (width, height) = (w as usize, h as usize);

    // Greyscale mask first: 0 background, 1 text.
    let mut ink = vec![false; width * height];
    if !view.off {
        let scale = text_scale(view.width);
        let left = 2 * scale;
        for (index, line) in view.lines.iter().enumerate() {
            let band = line_band(view.width, index);
            if band.end > h {
                break;
            }
            for (col, c) in line.chars().enumerate() {
                let x0 = u32::try_from(col)
                    .unwrap_or(u32::MAX)
                    .saturating_mul(8 * scale)
                    .saturating_add(left);
                if x0 >= w {
                    break;
                }
                for (gy, bits) in glyph(c).iter().enumerate() {
                    for gx in 0..8u32 {
                        if bits & (1 << gx) == 0 {
                            continue;
                        }
                        for dy in 0..scale {
                            let y = band.start + gy as u32 * scale + dy;
                            for dx in 0..scale {
                                let x = x0 + gx * scale + dx;
                                if x < w && y < h {
                                    ink[y as usize * width + x as usize] = true;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    let mut pixels = Vec::with_capacity(width * height * channels);
    for &on in &ink {
        let rgb = match (view.off, on) {
            (true, _) => [0, 0, 0],
            (false, true) => TEXT_RGB,
            (false, false) => BACKGROUND_RGB,
        };
        if view.color {
            pixels.extend_from_slice(&rgb);
        } else {
            pixels.push(match (view.off, on) {
                (true, _) => 0,
                (false, true) => TEXT_GREY,
                (false, false) => BACKGROUND_GREY,
            });
        }
    }

    encode(w, h, view.color, &pixels).unwrap_or_default()
}

fn encode(w: u32, h: u32, color: bool, pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(if color {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Decoded {
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        /// One luminance-ish value per pixel (the first channel).
        pixels: Vec<u8>,
    }

    impl Decoded {
        fn at(&self, x: u32, y: u32) -> u8 {
            self.pixels[(y * self.width + x) as usize]
        }

        /// Dark pixels in these rows.
        fn dark_in(&self, rows: Range<u32>) -> usize {
            rows.flat_map(|y| (0..self.width).map(move |x| (x, y)))
                .filter(|&(x, y)| self.at(x, y) < 0x80)
                .count()
        }
    }

    fn decode(png_bytes: &[u8]) -> Decoded {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        let channels = info.color_type.samples();
        Decoded {
            width: info.width,
            height: info.height,
            color: info.color_type,
            depth: info.bit_depth,
            pixels: buf.chunks(channels).map(|p| p[0]).collect(),
        }
    }

    fn view(width: u16, height: u16, color: bool, lines: &[&str]) -> ScreenView {
        ScreenView {
            width,
            height,
            color,
            lines: lines.iter().map(|l| l.to_string()).collect(),
            off: false,
        }
    }

    #[test]
    fn size_and_colour_type() {
        let png = decode(&screenshot_png(&view(320, 240, true, &["Paging"])));
        assert_eq!((png.width, png.height), (320, 240));
        assert_eq!(png.color, png::ColorType::Rgb);
        assert_eq!(png.depth, png::BitDepth::Eight);

        let png = decode(&screenshot_png(&view(298, 168, false, &["Paging"])));
        assert_eq!((png.width, png.height), (298, 168));
        assert_eq!(png.color, png::ColorType::Grayscale);
        assert_eq!(png.depth, png::BitDepth::Eight);
    }

    #[test]
    fn text_is_dark_in_its_band_only() {
        for color in [true, false] {
            let v = view(320, 240, color, &["ALL CALL", "", "Zone 3 paging"]);
            let png = decode(&screenshot_png(&v));
            assert!(png.dark_in(line_band(320, 0)) > 20);
            assert_eq!(png.dark_in(line_band(320, 1)), 0);
            assert!(png.dark_in(line_band(320, 2)) > 20);
            // Nothing below the last line, nothing in the gaps between lines.
            assert_eq!(png.dark_in(line_band(320, 3).start..240), 0);
            assert_eq!(
                png.dark_in(line_band(320, 0).end..line_band(320, 1).start),
                0
            );
            // The background is light.
            assert!(png.at(319, 239) > 0xC0);
        }
    }

    #[test]
    fn wide_displays_double_the_font() {
        assert_eq!(text_scale(639), 1);
        assert_eq!(text_scale(640), 2);
        // `|` is a full-height stroke in font8x8 (7 rows): 14 rows once doubled.
        let rows_with_ink = |width: u16| {
            let png = decode(&screenshot_png(&view(width, 200, false, &["|"])));
            (0..png.height)
                .filter(|&y| png.dark_in(y..y + 1) > 0)
                .count()
        };
        let (small, big) = (rows_with_ink(320), rows_with_ink(800));
        assert!(small >= 6, "{small}");
        assert_eq!(big, 2 * small);
        assert_eq!(line_band(800, 1), 22..38);
    }

    #[test]
    fn off_is_all_black() {
        for color in [true, false] {
            let v = ScreenView {
                off: true,
                ..view(320, 240, color, &["ALL CALL", "Paging"])
            };
            let png = decode(&screenshot_png(&v));
            assert_eq!((png.width, png.height), (320, 240));
            assert!(png.pixels.iter().all(|&p| p == 0));
        }
    }

    #[test]
    fn tiny_and_empty_views() {
        let png = decode(&screenshot_png(&view(1, 1, true, &["Hello", "World"])));
        assert_eq!((png.width, png.height), (1, 1));
        let png = decode(&screenshot_png(&view(1, 1, false, &[])));
        assert_eq!((png.width, png.height), (1, 1));
        let png = decode(&screenshot_png(&ScreenView::default()));
        assert_eq!((png.width, png.height), (1, 1));
        let png = decode(&screenshot_png(&view(9, 9, false, &["", "", ""])));
        assert_eq!(png.dark_in(0..9), 0);
        // A line only partly inside the picture is left out.
        let png = decode(&screenshot_png(&view(100, 5, false, &["HHHH"])));
        assert_eq!(png.dark_in(0..5), 0);
    }

    #[test]
    fn long_lines_are_clipped_and_extra_lines_left_out() {
        let long = "W".repeat(1000);
        let many: Vec<&str> = std::iter::repeat_n(long.as_str(), 500).collect();
        let png = decode(&screenshot_png(&view(37, 50, true, &many)));
        assert_eq!((png.width, png.height), (37, 50));
        // Ink reaches the right edge.
        assert!((0..50).any(|y| png.at(36, y) < 0x80));
    }

    #[test]
    fn sizes_are_capped() {
        let png = decode(&screenshot_png(&view(u16::MAX, 3000, false, &["x"])));
        assert_eq!((png.width, png.height), (MAX_SIDE, MAX_SIDE));
    }

    #[test]
    fn non_ascii_text_is_drawn() {
        for text in ["é", "☎", "\t"] {
            let png = decode(&screenshot_png(&view(64, 20, false, &[text])));
            let dark = png.dark_in(line_band(64, 0));
            if text == "\t" {
                assert_eq!(dark, 0);
            } else {
                assert!(dark > 0, "{text}");
            }
        }
    }
}
