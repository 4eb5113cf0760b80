//! Every Services screen, rendered with hostile text for a colour 8865 (UTF-8, icons), a
//! greyscale 7841 that accepts only ISO-8859-1, an 8821 and a phone that sent no headers, is
//! validated by `xmllint` against Cisco's `CiscoIpPhoneServices.xsd` (all of these objects
//! are in it), in the charset its declaration names.

use std::path::Path;

use zonecast::server::services::render::{
    MenuEntry, MenuPaging, Requester, Served, banner_input, choice, confirm, main_menu, message,
    page_status, page_status_push, zone_directory,
};
use zonecast::xsi::object::XmlObject;

mod common;

/// Free text at its most hostile: every escape, a CDATA terminator, non-Latin-1 text, controls
/// XML cannot carry, newlines, and more characters than any field takes.
fn hostile() -> String {
    format!(
        "& \" ' < > ]]> é Łódź 日本 😀 \u{0}\u{1b}[31m\r\n\ttab {}",
        "x".repeat(5000)
    )
}

/// A URL with the characters a URL should not carry raw.
const HU: &str = "http://h/?a=1&b=\"'<>é]]>&n=#DEVICENAME#";

fn requesters() -> Vec<(&'static str, Requester)> {
    let req = |headers: &'static [(&'static str, &'static str)]| {
        Requester::from_headers(move |name| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| (*v).to_owned())
        })
    };
    vec![
        (
            "8865 colour utf-8",
            req(&[
                ("x-CiscoIPPhoneModelName", "CP-8865"),
                ("x-CiscoIPPhoneDisplay", "800,480,24,C"),
                ("Accept-Charset", "utf-8,iso-8859-1;q=0.8"),
            ])
            .with_device("SEP00AABBCCDDEE"),
        ),
        (
            "7841 greyscale latin-1",
            req(&[
                ("x-CiscoIPPhoneModelName", "CP-7841"),
                ("x-CiscoIPPhoneDisplay", "396,162,1,G"),
                ("Accept-Charset", "iso-8859-1"),
            ]),
        ),
        ("8821", req(&[("x-CiscoIPPhoneModelName", "CP-8821")])),
        ("no headers", req(&[])),
    ]
}

/// Every screen for `r`, named, each with hostile text wherever it takes text.
fn screens(r: &Requester) -> Vec<(&'static str, Served)> {
    let h = hostile();
    let names: Vec<String> = (0..120).map(|i| format!("{i} {h}")).collect();
    let entries: Vec<MenuEntry<'_>> = names
        .iter()
        .map(|name| MenuEntry { name, url: HU })
        .collect();
    let more = |offset: usize| format!("{HU}&from={offset}");
    let paging = MenuPaging {
        offset: 0,
        more_url: &more,
    };
    let zones: Vec<(&str, &str)> = (0..40).map(|_| (h.as_str(), h.as_str())).collect();
    vec![
        ("main menu", main_menu(r, &h, &entries[..3], None, None)),
        (
            "main menu, active page, paged",
            main_menu(r, &h, &entries, Some((&h, HU)), Some(&paging)),
        ),
        ("main menu, cut", main_menu(r, &h, &entries, None, None)),
        ("main menu, empty", main_menu(r, &h, &[], None, None)),
        (
            "confirm",
            confirm(r, &h, &h, (&h, HU), (&h, "SoftKey:Exit")),
        ),
        ("choice", choice(r, &h, &h, &[(h.as_str(), HU); 9])),
        ("banner input", banner_input(r, &h, &h, HU, "text", &h)),
        ("zone directory", zone_directory(r, &h, &zones)),
        (
            "page status",
            page_status(r, &h, &h, Some(HU), Some((5, HU.to_owned()))),
        ),
        ("page status, no end", page_status(r, &h, &h, None, None)),
        ("message", message(r, &h, &h)),
        ("message, empty", message(r, "", "")),
    ]
}

fn require_xmllint() {
    common::require("xmllint");
}

/// Validate `body` (bytes in whatever encoding it declares) against the XSD `xsd`.
fn xmllint(body: &[u8], xsd: &Path) -> Result<(), String> {
    common::xmllint(body, Some(xsd))
}

#[test]
fn every_screen_validates_against_the_xsd() {
    require_xmllint();
    let Some(xsd) = common::cisco_xsd() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (who, r) in requesters() {
        for (screen, served) in screens(&r) {
            checked += 1;
            assert_eq!(served.status, 200, "{who}: {screen}");
            assert!(served.body.len() <= 40960, "{who}: {screen}");
            let text = String::from_utf8_lossy(&served.body);
            // Never an error screen: hostile text is fitted, not refused.
            assert!(
                !text.contains("<Title>Error</Title>"),
                "{who}: {screen}: {text}"
            );
            if let Err(e) = xmllint(&served.body, &xsd) {
                failures.push(format!("{who}: {screen}:\n{text}\n{e}"));
            }
        }
    }
    assert_eq!(checked, 48);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_charset_is_declared_and_honoured() {
    for (who, r) in requesters() {
        for (screen, served) in screens(&r) {
            let latin1 = who.contains("latin-1");
            let declared = if latin1 {
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
            } else {
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
            };
            assert!(
                served.body.starts_with(declared.as_bytes()),
                "{who}: {screen}"
            );
            let charset = if latin1 { "iso-8859-1" } else { "utf-8" };
            assert_eq!(served.content_type, format!("text/xml; charset={charset}"));
            if latin1 {
                // é is one byte; nothing outside Latin-1 survives, not even as a reference.
                // (Tab and newline are written as references by design.)
                let text: String = served.body.iter().map(|&b| char::from(b)).collect();
                let text = text.replace("&#9;", "").replace("&#10;", "");
                assert!(!text.contains("&#"), "{who}: {screen}: {text}");
                assert!(!text.contains('Ł'), "{who}: {screen}");
            } else {
                assert!(std::str::from_utf8(&served.body).is_ok(), "{who}: {screen}");
            }
        }
    }
}

#[test]
fn the_colour_phone_gets_icons_and_the_greyscale_one_does_not() {
    let rs = requesters();
    let menu = |r: &Requester| {
        String::from_utf8_lossy(&main_menu(r, "Zones", &[], None, None).body).into_owned()
    };
    assert!(menu(&rs[0].1).contains("<CiscoIPPhoneIconMenu>"));
    assert!(menu(&rs[1].1).contains("<CiscoIPPhoneMenu>"));
    assert!(menu(&rs[3].1).contains("<CiscoIPPhoneMenu>"));
}

#[test]
fn the_pushed_status_validates_where_the_model_has_one() {
    require_xmllint();
    let rs = requesters();
    for (_, r) in &rs[1..] {
        assert!(page_status_push(r, "Paging", None).is_none());
    }
    let status = page_status_push(&rs[0].1, &hostile(), Some(60)).unwrap();
    let xml = status.to_xml();
    let Some(xsd) = common::cisco_xsd() else {
        return;
    };
    assert!(xmllint(xml.as_bytes(), &xsd).is_ok(), "{xml}");
}

#[test]
fn hostile_text_reads_back_escaped() {
    let r = &requesters()[0].1;
    let s = message(r, "<&>", "a \"b\" 'c' ]]>");
    let text = String::from_utf8(s.body).unwrap();
    assert!(text.contains("<Title>&lt;&amp;&gt;</Title>"));
    assert!(text.contains("<Text>a &quot;b&quot; &apos;c&apos; ]]&gt;</Text>"));
    assert!(!text.contains("]]>"));
}
