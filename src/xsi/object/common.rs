//! Parts shared by several display objects: the Title/Prompt header, soft keys, menu items with
//! their touch areas, and packed bitmaps.

use crate::error::Invalid;

use super::xml::{self, Doc};

/// Title and Prompt, each at most 32 characters (XSD), both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Header {
    title: Option<String>,
    prompt: Option<String>,
}

impl Header {
    pub(crate) fn set_title(&mut self, root: &str, s: &str) -> Result<(), Invalid> {
        self.title = Some(xml::text(&format!("{root} Title"), s, 32)?);
        Ok(())
    }

    pub(crate) fn set_prompt(&mut self, root: &str, s: &str) -> Result<(), Invalid> {
        self.prompt = Some(xml::text(&format!("{root} Prompt"), s, 32)?);
        Ok(())
    }

    /// Title then Prompt, the order every XSD sequence starts with.
    pub(crate) fn render(&self, doc: &mut Doc) {
        doc.opt_text("Title", self.title.as_deref())
            .opt_text("Prompt", self.prompt.as_deref());
    }
}

/// A soft key: label, what it does, and which key (1..=8) it sits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftKeyItem {
    name: String,
    url: String,
    position: u8,
}

impl SoftKeyItem {
    /// A soft key labelled `name` (≤ 32 characters) running `url` (an HTTP URL or an internal
    /// URI such as `SoftKey:Exit`, ≤ 256 characters) at `position` 1..=8.
    pub fn new(name: &str, url: &str, position: u8) -> Result<SoftKeyItem, Invalid> {
        Ok(SoftKeyItem {
            name: xml::text("SoftKeyItem Name", name, 32)?,
            url: xml::url("SoftKeyItem URL", url)?,
            position: xml::in_range("SoftKeyItem Position", position, 1, 8)?,
        })
    }

    fn render(&self, doc: &mut Doc) {
        doc.open("SoftKeyItem")
            .text("Name", &self.name)
            .text("URL", &self.url)
            .num("Position", self.position)
            .close("SoftKeyItem");
    }
}

/// Up to 8 soft keys, each on its own position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SoftKeys(Vec<SoftKeyItem>);

impl SoftKeys {
    pub(crate) fn push(&mut self, root: &str, key: SoftKeyItem) -> Result<(), Invalid> {
        xml::room(&format!("{root} SoftKeyItem count"), self.0.len(), 8)?;
        // Two keys on one position: the phone shows one of them, so the other is a silent bug.
        if self.0.iter().any(|k| k.position == key.position) {
            return Err(Invalid::new(
                format!("{root} SoftKeyItem Position"),
                key.position,
                "each soft key needs its own position",
            ));
        }
        self.0.push(key);
        Ok(())
    }

    pub(crate) fn render(&self, doc: &mut Doc) {
        for k in &self.0 {
            k.render(doc);
        }
    }
}

/// `title`, `prompt` and `softkey` setters for a display object with `header` and `softkeys`.
macro_rules! display_setters {
    ($ty:ty) => {
        impl $ty {
            /// Set the Title (≤ 32 characters).
            pub fn title(mut self, title: &str) -> Result<Self, Invalid> {
                self.header.set_title(Self::ROOT, title)?;
                Ok(self)
            }

            /// Set the Prompt (≤ 32 characters).
            pub fn prompt(mut self, prompt: &str) -> Result<Self, Invalid> {
                self.header.set_prompt(Self::ROOT, prompt)?;
                Ok(self)
            }

            /// Add a soft key (≤ 8, positions distinct).
            pub fn softkey(mut self, key: SoftKeyItem) -> Result<Self, Invalid> {
                self.softkeys.push(Self::ROOT, key)?;
                Ok(self)
            }
        }
    };
}
pub(crate) use display_setters;

/// The rectangle of a graphic file menu a touch selects (`X1 Y1 X2 Y2`, corners inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouchArea {
    x1: i16,
    y1: i16,
    x2: i16,
    y2: i16,
}

impl TouchArea {
    /// A rectangle from its top-left (`x1`, `y1`) to its bottom-right (`x2`, `y2`) corner.
    ///
    /// The ranges are the XSD's as written (X1 and Y1 -1..=198, X2 and Y2 -1..=168, probably a
    /// slip for X ≤ 198 and Y ≤ 168); requiring x1 ≤ x2 and y1 ≤ y2 as well keeps every
    /// accepted area valid under either reading.
    pub fn new(x1: i16, y1: i16, x2: i16, y2: i16) -> Result<TouchArea, Invalid> {
        let x1 = xml::in_range("TouchArea X1", x1, -1, 198)?;
        let y1 = xml::in_range("TouchArea Y1", y1, -1, 198)?;
        let x2 = xml::in_range("TouchArea X2", x2, -1, 168)?;
        let y2 = xml::in_range("TouchArea Y2", y2, -1, 168)?;
        if x1 > x2 || y1 > y2 {
            return Err(Invalid::new(
                "TouchArea",
                format!("{x1},{y1},{x2},{y2}"),
                "X1 must be ≤ X2 and Y1 ≤ Y2",
            ));
        }
        Ok(TouchArea { x1, y1, x2, y2 })
    }
}

/// One entry of a menu: a name, where selecting it goes, and optionally an icon and touch area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    icon_index: Option<u8>,
    name: String,
    url: String,
    touch_area: Option<TouchArea>,
}

impl MenuItem {
    /// An item named `name` (≤ 64 characters) that opens `url` (≤ 256 characters).
    pub fn new(name: &str, url: &str) -> Result<MenuItem, Invalid> {
        Ok(MenuItem {
            icon_index: None,
            name: xml::text("MenuItem Name", name, 64)?,
            url: xml::url("MenuItem URL", url)?,
            touch_area: None,
        })
    }

    /// Show the icon with this index (0..=9) next to the item (icon menus).
    pub fn icon_index(mut self, index: u8) -> Result<MenuItem, Invalid> {
        self.icon_index = Some(xml::in_range("MenuItem IconIndex", index, 0, 9)?);
        Ok(self)
    }

    /// Select the item by touching this area (graphic file menus).
    pub fn touch_area(mut self, area: TouchArea) -> MenuItem {
        self.touch_area = Some(area);
        self
    }

    pub(crate) fn render(&self, doc: &mut Doc) {
        doc.open("MenuItem");
        if let Some(i) = self.icon_index {
            doc.num("IconIndex", i);
        }
        doc.text("Name", &self.name).text("URL", &self.url);
        if let Some(a) = self.touch_area {
            doc.start("TouchArea")
                .attr("X1", &a.x1.to_string())
                .attr("Y1", &a.y1.to_string())
                .attr("X2", &a.x2.to_string())
                .attr("Y2", &a.y2.to_string())
                .end_empty();
        }
        doc.close("MenuItem");
    }
}

/// A packed image: `width` × `height` pixels of `depth` bits (1 or 2), as hex digits.
///
/// Pixels are packed without row padding, so the data is exactly ⌈w·h·depth / 8⌉ bytes, two
/// hex digits each. Each object then checks its own maximum size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub(crate) width: u16,
    pub(crate) height: u16,
    pub(crate) depth: u8,
    pub(crate) data: String,
}

impl Bitmap {
    /// Check and wrap packed pixel data (hex digits, either case; stored upper case).
    pub fn new(width: u16, height: u16, depth: u8, data: &str) -> Result<Bitmap, Invalid> {
        let width = xml::in_range("Bitmap Width", width, 1, u16::MAX)?;
        let height = xml::in_range("Bitmap Height", height, 1, u16::MAX)?;
        let depth = xml::in_range("Bitmap Depth", depth, 1, 2)?;
        if !data.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Invalid::new(
                "Bitmap Data",
                data.escape_debug(),
                "must be hex digits",
            ));
        }
        let bits = usize::from(width) * usize::from(height) * usize::from(depth);
        let want = bits.div_ceil(8) * 2;
        if data.len() != want {
            return Err(Invalid::new(
                "Bitmap Data",
                format!("{} hex digits", data.len()),
                format!("{width}x{height} at depth {depth} needs exactly {want} hex digits"),
            ));
        }
        Ok(Bitmap {
            width,
            height,
            depth,
            data: data.to_ascii_uppercase(),
        })
    }

    /// Refuse this bitmap for `root` unless it is at most `max_w` × `max_h` pixels and its
    /// data at most `max_data` hex digits.
    pub(crate) fn fits(
        &self,
        root: &str,
        max_w: u16,
        max_h: u16,
        max_data: usize,
    ) -> Result<(), Invalid> {
        xml::in_range(&format!("{root} Width"), self.width, 1, max_w)?;
        xml::in_range(&format!("{root} Height"), self.height, 1, max_h)?;
        if self.data.len() > max_data {
            return Err(Invalid::new(
                format!("{root} Data"),
                format!("{} hex digits", self.data.len()),
                format!("at most {max_data} hex digits; use fewer pixels or depth 1"),
            ));
        }
        Ok(())
    }

    /// `Width`, `Height`, `Depth`, `Data`, in the XSD's order.
    pub(crate) fn render(&self, doc: &mut Doc) {
        doc.num("Width", self.width)
            .num("Height", self.height)
            .num("Depth", self.depth)
            .text("Data", &self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softkey_positions_are_1_to_8_and_distinct() {
        assert!(SoftKeyItem::new("Exit", "SoftKey:Exit", 0).is_err());
        assert!(SoftKeyItem::new("Exit", "SoftKey:Exit", 9).is_err());
        let mut keys = SoftKeys::default();
        for p in 1..=8 {
            keys.push("X", SoftKeyItem::new("k", "SoftKey:Exit", p).unwrap())
                .unwrap();
        }
        let e = keys
            .push("X", SoftKeyItem::new("k", "SoftKey:Exit", 1).unwrap())
            .unwrap_err();
        assert_eq!(e.field, "X SoftKeyItem count");
        let mut keys = SoftKeys::default();
        keys.push("X", SoftKeyItem::new("a", "SoftKey:Exit", 2).unwrap())
            .unwrap();
        let e = keys
            .push("X", SoftKeyItem::new("b", "SoftKey:Exit", 2).unwrap())
            .unwrap_err();
        assert_eq!(e.field, "X SoftKeyItem Position");
    }

    #[test]
    fn menu_item_name_is_at_most_64_characters() {
        assert!(MenuItem::new(&"n".repeat(64), "http://x/").is_ok());
        let e = MenuItem::new(&"n".repeat(65), "http://x/").unwrap_err();
        assert_eq!(e.field, "MenuItem Name");
        assert!(
            MenuItem::new("n", "http://x/")
                .unwrap()
                .icon_index(10)
                .is_err()
        );
    }

    #[test]
    fn touch_area_follows_the_xsd_and_is_ordered() {
        assert!(TouchArea::new(0, 0, 168, 168).is_ok());
        assert!(TouchArea::new(-2, 0, 10, 10).is_err());
        assert!(TouchArea::new(0, 0, 169, 10).is_err());
        assert!(TouchArea::new(10, 0, 5, 10).is_err());
    }

    #[test]
    fn bitmap_data_must_match_its_size() {
        let b = Bitmap::new(4, 2, 2, "ff00").unwrap();
        assert_eq!(b.data, "FF00");
        assert!(Bitmap::new(4, 2, 2, "ff0").is_err());
        assert!(Bitmap::new(4, 2, 2, "gg00").is_err());
        assert!(Bitmap::new(4, 2, 3, "ff00").is_err());
        assert!(Bitmap::new(0, 2, 1, "").is_err());
        // 3x3 at depth 1 is 9 bits: two whole bytes.
        assert!(Bitmap::new(3, 3, 1, "FF80").is_ok());
    }
}
