//! Pictures: `CiscoIPPhoneImage`, `CiscoIPPhoneImageFile`, `CiscoIPPhoneGraphicMenu`,
//! `CiscoIPPhoneGraphicFileMenu`, and the status-line objects `CiscoIPPhoneStatus` and
//! `CiscoIPPhoneStatusFile`.
//!
//! Each object has its own screen area in the XSD, so each checks its own location ranges
//! (-1 centres) and bitmap size.

use crate::error::Invalid;

use super::common::{Bitmap, Header, MenuItem, SoftKeyItem, SoftKeys, display_setters};
use super::document::XmlObject;
use super::window::WindowMode;
use super::xml::{self, Doc};

/// A checked `LocationX`/`LocationY` pair for `root` with maxima `max_x`, `max_y`.
fn location(root: &str, x: i16, y: i16, max_x: i16, max_y: i16) -> Result<(i16, i16), Invalid> {
    Ok((
        xml::in_range(&format!("{root} LocationX"), x, -1, max_x)?,
        xml::in_range(&format!("{root} LocationY"), y, -1, max_y)?,
    ))
}

fn render_location(doc: &mut Doc, (x, y): (i16, i16)) {
    doc.num("LocationX", x).num("LocationY", y);
}

/// Open `root`, with its `WindowMode` attribute when one was set.
fn open_with_mode(doc: &mut Doc, root: &str, mode: Option<WindowMode>) {
    match mode {
        None => doc.open(root),
        Some(m) => doc.start(root).attr("WindowMode", m.as_str()).end_open(),
    };
}

/// The Status objects' optional `Text` (≤ 32 characters) and `Timer` (0..=5939 seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StatusLine {
    text: Option<String>,
    timer: Option<u16>,
}

impl StatusLine {
    fn render(&self, doc: &mut Doc) {
        doc.opt_text("Text", self.text.as_deref());
        if let Some(t) = self.timer {
            doc.num("Timer", t);
        }
    }
}

/// `text` and `timer` setters for the two Status objects.
macro_rules! status_setters {
    ($ty:ty) => {
        impl $ty {
            /// Set the status text (≤ 32 characters).
            pub fn text(mut self, text: &str) -> Result<Self, Invalid> {
                self.line.text = Some(xml::text(&format!("{} Text", Self::ROOT), text, 32)?);
                Ok(self)
            }

            /// Show a timer starting at `seconds` (0..=5939).
            pub fn timer(mut self, seconds: u16) -> Result<Self, Invalid> {
                let field = format!("{} Timer", Self::ROOT);
                self.line.timer = Some(xml::in_range(&field, seconds, 0, 5939)?);
                Ok(self)
            }
        }
    };
}

/// `CiscoIPPhoneImage`: a packed bitmap of at most 133 × 65 pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    header: Header,
    location: (i16, i16),
    bitmap: Bitmap,
    softkeys: SoftKeys,
}

impl Image {
    const ROOT: &'static str = "CiscoIPPhoneImage";

    /// `bitmap` drawn at (`x` -1..=133, `y` -1..=65); data ≤ 2200 hex digits (XSD).
    pub fn new(x: i16, y: i16, bitmap: Bitmap) -> Result<Image, Invalid> {
        let location = location(Self::ROOT, x, y, 133, 65)?;
        bitmap.fits(Self::ROOT, 133, 65, 2200)?;
        Ok(Image {
            header: Header::default(),
            location,
            bitmap,
            softkeys: SoftKeys::default(),
        })
    }
}

display_setters!(Image);

impl XmlObject for Image {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        render_location(&mut doc, self.location);
        self.bitmap.render(&mut doc);
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// `CiscoIPPhoneImageFile`: a PNG (served as `image/png`) drawn at a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    header: Header,
    location: (i16, i16),
    url: String,
    softkeys: SoftKeys,
}

impl ImageFile {
    const ROOT: &'static str = "CiscoIPPhoneImageFile";

    /// The PNG at `url` drawn at (`x` -1..=198, `y` -1..=168).
    pub fn new(x: i16, y: i16, url: &str) -> Result<ImageFile, Invalid> {
        Ok(ImageFile {
            header: Header::default(),
            location: location(Self::ROOT, x, y, 198, 168)?,
            url: xml::url("CiscoIPPhoneImageFile URL", url)?,
            softkeys: SoftKeys::default(),
        })
    }
}

display_setters!(ImageFile);

impl XmlObject for ImageFile {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        render_location(&mut doc, self.location);
        doc.text("URL", &self.url);
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// `CiscoIPPhoneGraphicMenu`: a bitmap (≤ 133 × 65) with up to 12 items chosen by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphicMenu {
    header: Header,
    location: (i16, i16),
    bitmap: Bitmap,
    items: Vec<MenuItem>,
    softkeys: SoftKeys,
    window_mode: Option<WindowMode>,
}

impl GraphicMenu {
    const ROOT: &'static str = "CiscoIPPhoneGraphicMenu";

    /// `bitmap` drawn at (`x` -1..=133, `y` -1..=65); data ≤ 2200 hex digits (XSD).
    pub fn new(x: i16, y: i16, bitmap: Bitmap) -> Result<GraphicMenu, Invalid> {
        let location = location(Self::ROOT, x, y, 133, 65)?;
        bitmap.fits(Self::ROOT, 133, 65, 2200)?;
        Ok(GraphicMenu {
            header: Header::default(),
            location,
            bitmap,
            items: Vec::new(),
            softkeys: SoftKeys::default(),
            window_mode: None,
        })
    }

    /// The `WindowMode` root attribute (absent: the phone's `Normal`). Outside Cisco's XSD.
    pub fn window_mode(mut self, mode: WindowMode) -> GraphicMenu {
        self.window_mode = Some(mode);
        self
    }

    /// Add an item (≤ 12).
    pub fn item(mut self, item: MenuItem) -> Result<GraphicMenu, Invalid> {
        xml::room(
            "CiscoIPPhoneGraphicMenu MenuItem count",
            self.items.len(),
            12,
        )?;
        self.items.push(item);
        Ok(self)
    }
}

display_setters!(GraphicMenu);

impl XmlObject for GraphicMenu {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        open_with_mode(&mut doc, Self::ROOT, self.window_mode);
        self.header.render(&mut doc);
        render_location(&mut doc, self.location);
        self.bitmap.render(&mut doc);
        for i in &self.items {
            i.render(&mut doc);
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// `CiscoIPPhoneGraphicFileMenu`: a PNG with up to 12 items, chosen by touch area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphicFileMenu {
    header: Header,
    url: String,
    location: (i16, i16),
    items: Vec<MenuItem>,
    softkeys: SoftKeys,
    window_mode: Option<WindowMode>,
}

impl GraphicFileMenu {
    const ROOT: &'static str = "CiscoIPPhoneGraphicFileMenu";

    /// The PNG at `url` drawn at (`x` -1..=198, `y` -1..=168).
    pub fn new(url: &str, x: i16, y: i16) -> Result<GraphicFileMenu, Invalid> {
        Ok(GraphicFileMenu {
            header: Header::default(),
            url: xml::url("CiscoIPPhoneGraphicFileMenu URL", url)?,
            location: location(Self::ROOT, x, y, 198, 168)?,
            items: Vec::new(),
            softkeys: SoftKeys::default(),
            window_mode: None,
        })
    }

    /// The `WindowMode` root attribute (absent: the phone's `Normal`). Outside Cisco's XSD.
    pub fn window_mode(mut self, mode: WindowMode) -> GraphicFileMenu {
        self.window_mode = Some(mode);
        self
    }

    /// Add an item (≤ 12), usually with a [`super::TouchArea`].
    pub fn item(mut self, item: MenuItem) -> Result<GraphicFileMenu, Invalid> {
        xml::room(
            "CiscoIPPhoneGraphicFileMenu MenuItem count",
            self.items.len(),
            12,
        )?;
        self.items.push(item);
        Ok(self)
    }
}

display_setters!(GraphicFileMenu);

impl XmlObject for GraphicFileMenu {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        open_with_mode(&mut doc, Self::ROOT, self.window_mode);
        self.header.render(&mut doc);
        // Here the XSD puts URL before the location, unlike ImageFile.
        doc.text("URL", &self.url);
        render_location(&mut doc, self.location);
        for i in &self.items {
            i.render(&mut doc);
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// `CiscoIPPhoneStatus` (push only): a line of text, a timer and a bitmap ≤ 106 × 21 on the
/// status bar. Cleared with the `Init:AppStatus` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    line: StatusLine,
    location: (i16, i16),
    bitmap: Bitmap,
}

impl Status {
    const ROOT: &'static str = "CiscoIPPhoneStatus";

    /// `bitmap` (≤ 106 × 21) drawn at (`x` -1..=106, `y` -1..=21).
    pub fn new(x: i16, y: i16, bitmap: Bitmap) -> Result<Status, Invalid> {
        let location = location(Self::ROOT, x, y, 106, 21)?;
        bitmap.fits(Self::ROOT, 106, 21, 2200)?;
        Ok(Status {
            line: StatusLine::default(),
            location,
            bitmap,
        })
    }
}

status_setters!(Status);

impl XmlObject for Status {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.line.render(&mut doc);
        render_location(&mut doc, self.location);
        self.bitmap.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// `CiscoIPPhoneStatusFile` (push only): text, timer and a PNG on the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFile {
    line: StatusLine,
    location: (i16, i16),
    url: String,
}

impl StatusFile {
    const ROOT: &'static str = "CiscoIPPhoneStatusFile";

    /// The PNG at `url` drawn at (`x` -1..=106, `y` -1..=21).
    pub fn new(x: i16, y: i16, url: &str) -> Result<StatusFile, Invalid> {
        Ok(StatusFile {
            line: StatusLine::default(),
            location: location(Self::ROOT, x, y, 106, 21)?,
            url: xml::url("CiscoIPPhoneStatusFile URL", url)?,
        })
    }
}

status_setters!(StatusFile);

impl XmlObject for StatusFile {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.line.render(&mut doc);
        render_location(&mut doc, self.location);
        doc.text("URL", &self.url);
        doc.close(Self::ROOT).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::object::{DECLARATION, Target};

    fn dot() -> Bitmap {
        Bitmap::new(1, 1, 1, "80").unwrap()
    }

    #[test]
    fn status_text_is_at_most_32_characters() {
        let s = Status::new(-1, -1, dot()).unwrap();
        assert!(s.clone().text(&"s".repeat(32)).is_ok());
        let e = s.text(&"s".repeat(33)).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneStatus Text");
        let e = StatusFile::new(0, 0, "http://x/a.png")
            .unwrap()
            .text(&"s".repeat(33))
            .unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneStatusFile Text");
    }

    #[test]
    fn status_renders_in_xsd_order() {
        let s = Status::new(0, 0, dot())
            .unwrap()
            .timer(60)
            .unwrap()
            .text("Paging")
            .unwrap();
        assert_eq!(
            s.to_xml(),
            format!(
                "{DECLARATION}<CiscoIPPhoneStatus><Text>Paging</Text><Timer>60</Timer>\
                 <LocationX>0</LocationX><LocationY>0</LocationY><Width>1</Width>\
                 <Height>1</Height><Depth>1</Depth><Data>80</Data></CiscoIPPhoneStatus>"
            )
        );
        assert!(Status::new(0, 0, dot()).unwrap().timer(5940).is_err());
        assert!(s.to_xml_checked(Target::Legacy).is_ok());
    }

    #[test]
    fn locations_and_sizes_are_per_object() {
        assert!(Status::new(107, 0, dot()).is_err());
        assert!(Status::new(0, 22, dot()).is_err());
        assert!(Status::new(-2, 0, dot()).is_err());
        let wide = Bitmap::new(107, 1, 1, &"0".repeat(28)).unwrap();
        assert_eq!(
            Status::new(0, 0, wide.clone()).unwrap_err().field,
            "CiscoIPPhoneStatus Width"
        );
        assert!(Image::new(0, 0, wide).is_ok());
        assert!(Image::new(134, 0, dot()).is_err());
        assert!(ImageFile::new(198, 168, "http://x/a.png").is_ok());
        assert!(ImageFile::new(199, 0, "http://x/a.png").is_err());
        assert!(GraphicFileMenu::new("http://x/a.png", 0, 169).is_err());
        // A full 133x65 screen at depth 2 is 4324 hex digits, over the XSD's 2200.
        let full = Bitmap::new(133, 65, 2, &"0".repeat(4324)).unwrap();
        assert_eq!(
            Image::new(0, 0, full).unwrap_err().field,
            "CiscoIPPhoneImage Data"
        );
    }

    #[test]
    fn graphic_menus_hold_12_items() {
        let item = |i| MenuItem::new("n", &format!("http://x/{i}")).unwrap();
        let mut g = GraphicMenu::new(0, 0, dot()).unwrap();
        let mut f = GraphicFileMenu::new("http://x/m.png", 0, 0).unwrap();
        for i in 0..12 {
            g = g.item(item(i)).unwrap();
            f = f.item(item(i)).unwrap();
        }
        assert_eq!(
            g.item(item(12)).unwrap_err().field,
            "CiscoIPPhoneGraphicMenu MenuItem count"
        );
        assert!(f.item(item(12)).is_err());
    }

    #[test]
    fn graphic_menus_carry_a_window_mode_only_when_set() {
        let g = GraphicMenu::new(0, 0, dot()).unwrap();
        let f = GraphicFileMenu::new("http://x/m.png", 0, 0).unwrap();
        assert!(!g.to_xml().contains("WindowMode"));
        assert!(!f.to_xml().contains("WindowMode"));
        let g = g.window_mode(WindowMode::Wide).to_xml();
        assert!(
            g.contains("<CiscoIPPhoneGraphicMenu WindowMode=\"Wide\">"),
            "{g}"
        );
        let f = f.window_mode(WindowMode::Normal).to_xml();
        assert!(
            f.contains("<CiscoIPPhoneGraphicFileMenu WindowMode=\"Normal\">"),
            "{f}"
        );
    }

    #[test]
    fn touch_area_renders_as_attributes() {
        let area = crate::xsi::object::TouchArea::new(0, 0, 99, 49).unwrap();
        let f = GraphicFileMenu::new("http://x/m.png", 0, 0)
            .unwrap()
            .item(MenuItem::new("A", "http://x/a").unwrap().touch_area(area))
            .unwrap();
        assert!(
            f.to_xml()
                .contains(r#"<TouchArea X1="0" Y1="0" X2="99" Y2="49"/></MenuItem>"#)
        );
    }
}
