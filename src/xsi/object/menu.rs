//! List objects: `CiscoIPPhoneMenu`, `CiscoIPPhoneDirectory`, `CiscoIPPhoneIconMenu` and
//! `CiscoIPPhoneIconFileMenu`.

use crate::error::Invalid;

use super::common::{Bitmap, Header, MenuItem, SoftKeyItem, SoftKeys, display_setters};
use super::document::XmlObject;
use super::xml::{self, Doc};

/// `CiscoIPPhoneMenu`: Title, Prompt, up to 100 [`MenuItem`]s, soft keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Menu {
    header: Header,
    items: Vec<MenuItem>,
    softkeys: SoftKeys,
}

impl Menu {
    const ROOT: &'static str = "CiscoIPPhoneMenu";

    /// An empty menu.
    pub fn new() -> Menu {
        Menu::default()
    }

    /// Add an item (≤ 100).
    pub fn item(mut self, item: MenuItem) -> Result<Menu, Invalid> {
        xml::room("CiscoIPPhoneMenu MenuItem count", self.items.len(), 100)?;
        self.items.push(item);
        Ok(self)
    }
}

display_setters!(Menu);

impl XmlObject for Menu {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        for i in &self.items {
            i.render(&mut doc);
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// One directory entry: a name and a number, each at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    name: String,
    telephone: String,
}

impl DirectoryEntry {
    /// An entry showing `name` that dials `telephone`.
    pub fn new(name: &str, telephone: &str) -> Result<DirectoryEntry, Invalid> {
        Ok(DirectoryEntry {
            name: xml::text("DirectoryEntry Name", name, 32)?,
            telephone: xml::text("DirectoryEntry Telephone", telephone, 32)?,
        })
    }
}

/// `CiscoIPPhoneDirectory`: Title, Prompt, up to 32 [`DirectoryEntry`]s, soft keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    header: Header,
    entries: Vec<DirectoryEntry>,
    softkeys: SoftKeys,
}

impl Directory {
    const ROOT: &'static str = "CiscoIPPhoneDirectory";

    /// An empty directory.
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Add an entry (≤ 32).
    pub fn entry(mut self, entry: DirectoryEntry) -> Result<Directory, Invalid> {
        xml::room(
            "CiscoIPPhoneDirectory DirectoryEntry count",
            self.entries.len(),
            32,
        )?;
        self.entries.push(entry);
        Ok(self)
    }
}

display_setters!(Directory);

impl XmlObject for Directory {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        for e in &self.entries {
            doc.open("DirectoryEntry")
                .text("Name", &e.name)
                .text("Telephone", &e.telephone)
                .close("DirectoryEntry");
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// An icon of a [`IconMenu`]: index 0..=9 and a bitmap of at most 16 × 10 pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconItem {
    index: u8,
    bitmap: Bitmap,
}

impl IconItem {
    /// Icon `index` drawn from `bitmap` (≤ 16 × 10 pixels, data ≤ 50 hex digits per the XSD).
    pub fn new(index: u8, bitmap: Bitmap) -> Result<IconItem, Invalid> {
        let index = xml::in_range("IconItem Index", index, 0, 9)?;
        bitmap.fits("IconItem", 16, 10, 50)?;
        Ok(IconItem { index, bitmap })
    }
}

/// The icon list both icon menus share: up to 10, each index used once.
fn push_icon<T>(
    root: &str,
    icons: &mut Vec<T>,
    icon: T,
    index: impl Fn(&T) -> u8,
) -> Result<(), Invalid> {
    xml::room(&format!("{root} IconItem count"), icons.len(), 10)?;
    if icons.iter().any(|i| index(i) == index(&icon)) {
        return Err(Invalid::new(
            format!("{root} IconItem Index"),
            index(&icon),
            "each icon needs its own index",
        ));
    }
    icons.push(icon);
    Ok(())
}

/// `CiscoIPPhoneIconMenu`: a menu whose items show small inline icons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IconMenu {
    header: Header,
    items: Vec<MenuItem>,
    icons: Vec<IconItem>,
    softkeys: SoftKeys,
}

impl IconMenu {
    const ROOT: &'static str = "CiscoIPPhoneIconMenu";

    /// An empty icon menu.
    pub fn new() -> IconMenu {
        IconMenu::default()
    }

    /// Add an item (≤ 32: the XSI notes' limit for icon menus, below the XSD's 100).
    pub fn item(mut self, item: MenuItem) -> Result<IconMenu, Invalid> {
        xml::room("CiscoIPPhoneIconMenu MenuItem count", self.items.len(), 32)?;
        self.items.push(item);
        Ok(self)
    }

    /// Add an icon (≤ 10, distinct indexes).
    pub fn icon(mut self, icon: IconItem) -> Result<IconMenu, Invalid> {
        push_icon(Self::ROOT, &mut self.icons, icon, |i| i.index)?;
        Ok(self)
    }
}

display_setters!(IconMenu);

impl XmlObject for IconMenu {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        for i in &self.items {
            i.render(&mut doc);
        }
        for i in &self.icons {
            doc.open("IconItem").num("Index", i.index);
            i.bitmap.render(&mut doc);
            doc.close("IconItem");
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// An icon of a [`IconFileMenu`]: index 0..=9 and the URL of a PNG (≤ 18 × 18 pixels) or a
/// built-in `Resource:Icon...` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconFileItem {
    index: u8,
    url: String,
}

impl IconFileItem {
    /// Icon `index` loaded from `url`. The 18 × 18 limit is on the file the URL serves, which
    /// cannot be checked here.
    pub fn new(index: u8, url: &str) -> Result<IconFileItem, Invalid> {
        Ok(IconFileItem {
            index: xml::in_range("IconItem Index", index, 0, 9)?,
            url: xml::url("IconItem URL", url)?,
        })
    }
}

/// `CiscoIPPhoneIconFileMenu`: an icon menu whose icons are PNG files or built-in resources.
///
/// Not in the XSD, and the XSI notes only name its parts (`IconIndex`, `Index`, `URL`): its
/// shape mirrors `CiscoIPPhoneIconMenu`, with each `IconItem` holding `Index` and `URL` instead
/// of a bitmap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IconFileMenu {
    header: Header,
    items: Vec<MenuItem>,
    icons: Vec<IconFileItem>,
    softkeys: SoftKeys,
}

impl IconFileMenu {
    const ROOT: &'static str = "CiscoIPPhoneIconFileMenu";

    /// An empty icon file menu.
    pub fn new() -> IconFileMenu {
        IconFileMenu::default()
    }

    /// Add an item (≤ 32, as for icon menus).
    pub fn item(mut self, item: MenuItem) -> Result<IconFileMenu, Invalid> {
        xml::room(
            "CiscoIPPhoneIconFileMenu MenuItem count",
            self.items.len(),
            32,
        )?;
        self.items.push(item);
        Ok(self)
    }

    /// Add an icon (≤ 10, distinct indexes).
    pub fn icon(mut self, icon: IconFileItem) -> Result<IconFileMenu, Invalid> {
        push_icon(Self::ROOT, &mut self.icons, icon, |i| i.index)?;
        Ok(self)
    }
}

display_setters!(IconFileMenu);

impl XmlObject for IconFileMenu {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        for i in &self.items {
            i.render(&mut doc);
        }
        for i in &self.icons {
            doc.open("IconItem")
                .num("Index", i.index)
                .text("URL", &i.url)
                .close("IconItem");
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::object::{DECLARATION, Target};

    fn item(i: usize) -> MenuItem {
        MenuItem::new(&format!("Item {i}"), &format!("http://srv/{i}")).unwrap()
    }

    #[test]
    fn menu_holds_100_items_not_101() {
        let mut m = Menu::new().title("Zones").unwrap();
        for i in 0..100 {
            m = m.item(item(i)).unwrap();
        }
        let e = m.clone().item(item(100)).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneMenu MenuItem count");
        assert_eq!(e.value, "101");
        assert!(m.to_xml_checked(Target::Phone).is_ok());
    }

    #[test]
    fn menu_renders_in_xsd_order() {
        let m = Menu::new()
            .softkey(SoftKeyItem::new("Exit", "SoftKey:Exit", 3).unwrap())
            .unwrap()
            .item(item(1))
            .unwrap()
            .prompt("Pick")
            .unwrap()
            .title("T")
            .unwrap();
        assert_eq!(
            m.to_xml(),
            format!(
                "{DECLARATION}<CiscoIPPhoneMenu><Title>T</Title><Prompt>Pick</Prompt>\
                 <MenuItem><Name>Item 1</Name><URL>http://srv/1</URL></MenuItem>\
                 <SoftKeyItem><Name>Exit</Name><URL>SoftKey:Exit</URL><Position>3</Position>\
                 </SoftKeyItem></CiscoIPPhoneMenu>"
            )
        );
    }

    #[test]
    fn phone_limit_is_40960_bytes() {
        // 100 items of 64 three-byte characters and a 256-character URL: about 49 KB.
        let url = format!("http://srv/{}", "u".repeat(245));
        let mut m = Menu::new();
        for _ in 0..100 {
            m = m
                .item(MenuItem::new(&"日".repeat(64), &url).unwrap())
                .unwrap();
        }
        let len = m.to_xml().len();
        assert!(len > 40960, "{len}");
        let e = m.to_xml_checked(Target::Phone).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneMenu POST body size");
        let body = super::super::form_encoded_len(&m.to_xml());
        assert_eq!(e.value, format!("{body} bytes"));
        assert!(e.rule.contains("40960"), "{e}");
        // A third of it fits (the body counts: each "日" is nine bytes percent-encoded).
        let mut half = Menu::new();
        for _ in 0..33 {
            half = half
                .item(MenuItem::new(&"日".repeat(64), &url).unwrap())
                .unwrap();
        }
        assert!(half.to_xml_checked(Target::Phone).is_ok());
        assert!(half.to_xml_checked(Target::Legacy).is_err());
    }

    #[test]
    fn title_is_at_most_32_characters() {
        assert!(Menu::new().title(&"t".repeat(32)).is_ok());
        let e = Menu::new().title(&"t".repeat(33)).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneMenu Title");
        let e = Directory::new().prompt(&"p".repeat(33)).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneDirectory Prompt");
    }

    #[test]
    fn directory_holds_32_entries_not_33() {
        let mut d = Directory::new();
        for i in 0..32 {
            d = d
                .entry(DirectoryEntry::new(&format!("N{i}"), "1000").unwrap())
                .unwrap();
        }
        let e = d
            .entry(DirectoryEntry::new("N", "1000").unwrap())
            .unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneDirectory DirectoryEntry count");
        assert!(DirectoryEntry::new("n", &"1".repeat(33)).is_err());
    }

    #[test]
    fn oversized_icons_refused() {
        let ok = Bitmap::new(16, 10, 1, &"0".repeat(40)).unwrap();
        assert!(IconItem::new(0, ok).is_ok());
        let wide = Bitmap::new(17, 8, 1, &"0".repeat(34)).unwrap();
        let e = IconItem::new(0, wide).unwrap_err();
        assert_eq!(e.field, "IconItem Width");
        let tall = Bitmap::new(8, 11, 1, &"0".repeat(22)).unwrap();
        assert_eq!(IconItem::new(0, tall).unwrap_err().field, "IconItem Height");
        // 16x10 at depth 2 is 80 hex digits, over the XSD's 50.
        let deep = Bitmap::new(16, 10, 2, &"0".repeat(80)).unwrap();
        assert_eq!(IconItem::new(0, deep).unwrap_err().field, "IconItem Data");
        assert!(IconItem::new(10, Bitmap::new(1, 1, 1, "00").unwrap()).is_err());
    }

    #[test]
    fn icon_indexes_are_distinct_and_at_most_10() {
        let icon = |i| IconItem::new(i, Bitmap::new(1, 1, 1, "00").unwrap()).unwrap();
        let mut m = IconMenu::new();
        for i in 0..10 {
            m = m.icon(icon(i)).unwrap();
        }
        assert_eq!(
            m.icon(icon(0)).unwrap_err().field,
            "CiscoIPPhoneIconMenu IconItem count"
        );
        let e = IconMenu::new()
            .icon(icon(1))
            .unwrap()
            .icon(icon(1))
            .unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneIconMenu IconItem Index");
        let f = IconFileMenu::new()
            .icon(IconFileItem::new(0, "Resource:Icon.Speaker").unwrap())
            .unwrap();
        assert!(
            f.to_xml()
                .contains("<IconItem><Index>0</Index><URL>Resource:Icon.Speaker</URL></IconItem>")
        );
    }

    #[test]
    fn icon_menus_hold_32_items() {
        let mut m = IconMenu::new();
        let mut f = IconFileMenu::new();
        for i in 0..32 {
            m = m.item(item(i)).unwrap();
            f = f.item(item(i)).unwrap();
        }
        assert!(m.item(item(32)).is_err());
        assert!(f.item(item(32)).is_err());
    }
}
