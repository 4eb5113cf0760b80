//! Every object Cisco's XSD defines, built at its limits (most items, longest fields), is valid
//! against the XSD (checked by `xmllint`), and one more item or one more character is refused
//! by the builder, before anything could be sent. The limits are the builders'; the XSD is the
//! outside judge that they are not stricter than the phones' schema allows nor looser.

use zonecast::xsi::object::{
    Bitmap, Directory, DirectoryEntry, GraphicFileMenu, GraphicMenu, IconItem, IconMenu, Input,
    InputFlags, InputItem, Menu, MenuItem, SoftKeyItem, Status, Text, XmlObject,
};

mod common;

/// `n` characters of text (ASCII, so characters and bytes agree).
fn chars(n: usize) -> String {
    "x".repeat(n)
}

/// A URL of exactly `n` characters.
fn url(n: usize) -> String {
    let head = "http://h/";
    format!("{head}{}", "u".repeat(n - head.len()))
}

fn item_at_limits() -> MenuItem {
    MenuItem::new(&chars(64), &url(256)).unwrap()
}

fn softkey(position: u8) -> SoftKeyItem {
    SoftKeyItem::new(&chars(32), &url(256), position).unwrap()
}

fn bitmap() -> Bitmap {
    Bitmap::new(4, 1, 2, "00").unwrap()
}

/// The objects at their limits, by name.
fn at_limits() -> Vec<(&'static str, String)> {
    let mut menu = Menu::new()
        .title(&chars(32))
        .unwrap()
        .prompt(&chars(32))
        .unwrap();
    for _ in 0..100 {
        menu = menu.item(item_at_limits()).unwrap();
    }
    for p in 1..=8 {
        menu = menu.softkey(softkey(p)).unwrap();
    }
    let mut directory = Directory::new().title(&chars(32)).unwrap();
    for _ in 0..32 {
        let entry = DirectoryEntry::new(&chars(32), &"5".repeat(32)).unwrap();
        directory = directory.entry(entry).unwrap();
    }
    let mut input = Input::new(&url(256)).unwrap().title(&chars(32)).unwrap();
    for i in 0..5 {
        let flags = "A".parse::<InputFlags>().unwrap();
        let param = format!("{i}{}", chars(31));
        let field = InputItem::new(&chars(32), &param, flags)
            .unwrap()
            .default_value(&chars(32))
            .unwrap();
        input = input.item(field).unwrap();
    }
    let mut icons = IconMenu::new().title(&chars(32)).unwrap();
    for i in 0..32 {
        let item = MenuItem::new(&chars(64), &url(256))
            .unwrap()
            .icon_index(i % 10)
            .unwrap();
        icons = icons.item(item).unwrap();
    }
    for i in 0..10 {
        icons = icons.icon(IconItem::new(i, bitmap()).unwrap()).unwrap();
    }
    let mut graphic = GraphicMenu::new(-1, -1, bitmap()).unwrap();
    let mut graphic_file = GraphicFileMenu::new(&url(256), -1, -1).unwrap();
    for _ in 0..12 {
        graphic = graphic.item(item_at_limits()).unwrap();
        graphic_file = graphic_file.item(item_at_limits()).unwrap();
    }
    let text = Text::new()
        .title(&chars(32))
        .unwrap()
        .text(&chars(4000))
        .unwrap();
    let status = Status::new(-1, -1, bitmap())
        .unwrap()
        .text(&chars(32))
        .unwrap();
    vec![
        ("CiscoIPPhoneMenu", menu.to_xml()),
        ("CiscoIPPhoneDirectory", directory.to_xml()),
        ("CiscoIPPhoneInput", input.to_xml()),
        ("CiscoIPPhoneIconMenu", icons.to_xml()),
        ("CiscoIPPhoneGraphicMenu", graphic.to_xml()),
        ("CiscoIPPhoneGraphicFileMenu", graphic_file.to_xml()),
        ("CiscoIPPhoneText", text.to_xml()),
        ("CiscoIPPhoneStatus", status.to_xml()),
    ]
}

#[test]
fn every_xsd_object_at_its_limits_is_valid() {
    common::require("xmllint");
    let Some(xsd) = common::cisco_xsd() else {
        return;
    };
    let mut failures = Vec::new();
    for (name, xml) in at_limits() {
        assert!(xml.contains(&format!("<{name}")), "{name}");
        if let Err(e) = common::xmllint(xml.as_bytes(), Some(&xsd)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each builder refuses one past its limit, naming what is over.
#[test]
fn one_past_any_limit_is_refused_before_sending() {
    let refusals: Vec<(&str, Result<(), String>)> = vec![
        ("Menu 101st item", {
            let mut m = Menu::new();
            for _ in 0..100 {
                m = m.item(item_at_limits()).unwrap();
            }
            m.item(item_at_limits())
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        ("Menu 9th soft key", {
            let mut m = Menu::new();
            for p in 1..=8 {
                m = m.softkey(softkey(p)).unwrap();
            }
            m.softkey(softkey(1)).map(drop).map_err(|e| e.to_string())
        }),
        ("Menu title 33", err(Menu::new().title(&chars(33)))),
        ("Menu prompt 33", err(Menu::new().prompt(&chars(33)))),
        (
            "MenuItem name 65",
            err(MenuItem::new(&chars(65), &url(256))),
        ),
        ("MenuItem URL 257", err(MenuItem::new("a", &url(257)))),
        (
            "SoftKey name 33",
            err(SoftKeyItem::new(&chars(33), &url(20), 1)),
        ),
        ("Directory 33rd entry", {
            let mut d = Directory::new();
            for _ in 0..32 {
                d = d.entry(DirectoryEntry::new("a", "1").unwrap()).unwrap();
            }
            err(d.entry(DirectoryEntry::new("a", "1").unwrap()))
        }),
        (
            "DirectoryEntry name 33",
            err(DirectoryEntry::new(&chars(33), "1")),
        ),
        (
            "DirectoryEntry telephone 33",
            err(DirectoryEntry::new("a", &"5".repeat(33))),
        ),
        ("Input 6th item", {
            let mut i = Input::new(&url(20)).unwrap();
            for n in 0..5 {
                let f = InputItem::new("a", &format!("p{n}"), "A".parse().unwrap()).unwrap();
                i = i.item(f).unwrap();
            }
            err(i.item(InputItem::new("a", "p9", "A".parse().unwrap()).unwrap()))
        }),
        (
            "InputItem display name 33",
            err(InputItem::new(&chars(33), "p", "A".parse().unwrap())),
        ),
        (
            "InputItem param 33",
            err(InputItem::new("a", &chars(33), "A".parse().unwrap())),
        ),
        ("IconMenu 33rd item", {
            let mut m = IconMenu::new();
            for _ in 0..32 {
                m = m.item(item_at_limits()).unwrap();
            }
            err(m.item(item_at_limits()))
        }),
        ("IconMenu 11th icon", {
            let mut m = IconMenu::new();
            for i in 0..10 {
                m = m.icon(IconItem::new(i, bitmap()).unwrap()).unwrap();
            }
            err(IconItem::new(10, bitmap()).and_then(|icon| m.icon(icon)))
        }),
        ("GraphicMenu 13th item", {
            let mut m = GraphicMenu::new(-1, -1, bitmap()).unwrap();
            for _ in 0..12 {
                m = m.item(item_at_limits()).unwrap();
            }
            err(m.item(item_at_limits()))
        }),
        ("GraphicFileMenu 13th item", {
            let mut m = GraphicFileMenu::new(&url(20), -1, -1).unwrap();
            for _ in 0..12 {
                m = m.item(item_at_limits()).unwrap();
            }
            err(m.item(item_at_limits()))
        }),
        ("Text 4001", err(Text::new().text(&chars(4001)))),
        ("Text title 33", err(Text::new().title(&chars(33)))),
        (
            "Status text 33",
            err(Status::new(-1, -1, bitmap()).unwrap().text(&chars(33))),
        ),
    ];
    let mut accepted = Vec::new();
    for (what, r) in refusals {
        match r {
            Ok(()) => accepted.push(what),
            Err(e) => assert!(!e.is_empty(), "{what}: a refusal says why"),
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted one past the limit: {accepted:?}"
    );
}

fn err<T>(r: Result<T, zonecast::error::Invalid>) -> Result<(), String> {
    r.map(drop).map_err(|e| e.to_string())
}
