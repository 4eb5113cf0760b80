use super::*;

/// A requester from `(header, value)` pairs, looked up case-insensitively like axum's.
fn req(headers: &[(&str, &str)]) -> Requester {
    Requester::from_headers(|name| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| (*v).to_owned())
    })
}

fn phone_8865() -> Requester {
    req(&[
        ("x-CiscoIPPhoneModelName", "CP-8865"),
        ("x-CiscoIPPhoneDisplay", "800,480,24,C"),
        ("x-CiscoIPPhoneSDKVersion", "14.2.1"),
        ("Accept-Language", "en-US"),
        ("Accept-Charset", "utf-8,iso-8859-1;q=0.8"),
    ])
    .with_device("SEP00AABBCCDDEE")
}

fn phone_7841() -> Requester {
    req(&[
        ("x-CiscoIPPhoneModelName", "CP-7841"),
        ("x-CiscoIPPhoneDisplay", "396,162,1,G"),
        ("Accept-Charset", "iso-8859-1"),
    ])
}

fn body(s: &Served) -> String {
    String::from_utf8(s.body.clone()).unwrap()
}

/// The Latin-1 body as text (each byte one character).
fn latin1(s: &Served) -> String {
    s.body.iter().map(|&b| char::from(b)).collect()
}

fn entries(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("Zone {i}"), format!("http://srv/page?zone={i}")))
        .collect()
}

fn menu_entries(v: &[(String, String)]) -> Vec<MenuEntry<'_>> {
    v.iter()
        .map(|(name, url)| MenuEntry { name, url })
        .collect()
}

#[test]
fn headers_are_parsed_and_junk_ignored() {
    let r = phone_8865();
    assert_eq!(r.model.as_deref(), Some("CP-8865"));
    assert_eq!(
        r.display,
        Some(ScreenGeometry {
            width: 800,
            height: 480,
            depth: 24,
            color: true
        })
    );
    assert_eq!(r.sdk.as_deref(), Some("14.2.1"));
    assert_eq!(r.languages, ["en-US"]);
    assert_eq!(r.charset, Charset::Utf8);
    assert_eq!(r.device.as_deref(), Some("SEP00AABBCCDDEE"));

    assert_eq!(
        ScreenGeometry::parse(" 298, 168, 12, c "),
        Some(ScreenGeometry {
            width: 298,
            height: 168,
            depth: 12,
            color: true
        })
    );
    for junk in [
        "",
        "298,168",
        "298,168,12",
        "a,b,c,C",
        "298,168,12,X",
        "0,168,2,G",
        "298,168,0,G",
        "298,168,12,C,9",
        "99999,1,1,G",
    ] {
        assert_eq!(ScreenGeometry::parse(junk), None, "{junk:?}");
    }
    let junk = req(&[
        ("x-CiscoIPPhoneDisplay", "lots of junk"),
        ("x-CiscoIPPhoneModelName", "CP-8845\u{1b}[31m"),
        ("Accept-Language", "<script>, ;q=, de;q=zz"),
    ])
    .with_device("SEP#DEVICENAME#");
    assert_eq!(junk.display, None);
    assert_eq!(junk.model, None);
    assert_eq!(junk.device, None);
    assert_eq!(junk.languages, ["de"]);
    assert_eq!(Requester::from_headers(|_| None), Requester::default());
}

#[test]
fn accept_language_is_sorted_by_q() {
    let r = req(&[(
        "Accept-Language",
        "fr;q=0.5, en-US, de;q=0.8, *;q=0.1, nl;q=0",
    )]);
    assert_eq!(r.languages, ["en-US", "de", "fr"]);
}

#[test]
fn accept_charset_picks_latin1_only_when_utf8_is_ruled_out() {
    let c = |h: &str| Charset::from_accept_charset(Some(h));
    assert_eq!(Charset::from_accept_charset(None), Charset::Utf8);
    assert_eq!(c("utf-8,iso-8859-1;q=0.8"), Charset::Utf8);
    assert_eq!(c("ISO-8859-1;q=1, UTF-8;q=0.5"), Charset::Utf8);
    assert_eq!(c("iso-8859-1"), Charset::Latin1);
    assert_eq!(c("ISO-8859-1, utf-8;q=0"), Charset::Latin1);
    assert_eq!(c("iso-8859-1, *;q=0.5"), Charset::Utf8);
    assert_eq!(c("Shift_JIS"), Charset::Utf8);
}

#[test]
fn capabilities_come_from_the_model_table() {
    let (c, g) = (phone_8865(), phone_7841());
    assert!(c.supports_status() && !g.supports_status());
    assert!(c.can_show_images() && !g.can_show_images());
    assert_eq!((c.soft_keys(), g.soft_keys()), (5, 4));
    assert_eq!((c.max_menu_items(), g.max_menu_items()), (32, 100));
    // Greyscale displays get text menus, however many bits of grey they have.
    let grey = req(&[
        ("x-CiscoIPPhoneModelName", "CP-7841"),
        ("x-CiscoIPPhoneDisplay", "396,162,4,G"),
    ]);
    assert!(!grey.can_show_images());
    // Unknown and MPP models get the plain subset, whatever their display.
    let colour = ("x-CiscoIPPhoneDisplay", "800,480,24,C");
    for model in [None, Some("CP-8845-3PCC"), Some("ATA191")] {
        let mut h = vec![colour];
        if let Some(m) = model {
            h.push(("x-CiscoIPPhoneModelName", m));
        }
        let r = req(&h);
        assert!(!r.can_show_images() && !r.supports_status(), "{model:?}");
        assert_eq!(r.max_menu_items(), 100);
    }
    assert_eq!(c.max_object_bytes(), 40960);
    assert_eq!(c.max_directory_entries(), 32);
}

#[test]
fn urls_get_the_device_name_and_are_percent_encoded() {
    let r = phone_8865();
    assert_eq!(
        r.url("http://srv/menu?name=#DEVICENAME#&x=a b"),
        "http://srv/menu?name=SEP00AABBCCDDEE&x=a%20b"
    );
    assert_eq!(r.url("http://srv/é\"<>"), "http://srv/%C3%A9%22%3C%3E");
    assert_eq!(
        Requester::default().url("http://srv/?n=#DEVICENAME#"),
        "http://srv/?n="
    );
    assert_eq!(r.url("SoftKey:Exit"), "SoftKey:Exit");
}

#[test]
fn fit_clips_cleans_and_transliterates() {
    assert_eq!(fit(Charset::Utf8, "abcdef", 4, false), "abc…");
    assert_eq!(fit(Charset::Latin1, "abcdefgh", 6, false), "abc...");
    assert_eq!(fit(Charset::Utf8, "ab  cdef", 4, false), "ab…");
    assert_eq!(fit(Charset::Utf8, "日本語です", 5, false), "日本語です");
    assert_eq!(
        fit(Charset::Utf8, "a\nb\tc\u{0}d\u{1b}", 32, false),
        "a b c?d?"
    );
    assert_eq!(fit(Charset::Utf8, "a\r\nb\rc", 32, true), "a\nb\nc");
    assert_eq!(
        fit(
            Charset::Latin1,
            "Łódź – “café” … Œuvre € 日本 e\u{301}",
            64,
            false
        ),
        "Lódz - \"café\" ... OEuvre EUR ?? e"
    );
    for max in 0..=3 {
        assert!(fit(Charset::Latin1, "abcdefgh", max, false).chars().count() <= max);
        assert!(fit(Charset::Utf8, "abcdefgh", max, false).chars().count() <= max);
    }
}

#[test]
fn latin_extended_a_table_is_aligned() {
    let mut s = String::new();
    for (c, want) in [
        ('Ā', "A"),
        ('č', "c"),
        ('đ', "d"),
        ('ě', "e"),
        ('ğ', "g"),
        ('ı', "i"),
        ('ĳ', "ij"),
        ('ĸ', "k"),
        ('ł', "l"),
        ('ŉ', "n"),
        ('ő', "o"),
        ('Œ', "OE"),
        ('ř', "r"),
        ('š', "s"),
        ('ŧ', "t"),
        ('ű', "u"),
        ('ŵ', "w"),
        ('Ÿ', "Y"),
        ('ž', "z"),
        ('ſ', "s"),
    ] {
        s.clear();
        push_latin1(&mut s, c);
        assert_eq!(s, want, "{c}");
    }
}

#[test]
fn served_headers() {
    let mut s = message(&phone_8865(), "t", "x");
    assert_eq!(s.status, 200);
    s.refresh = Some((5, "http://srv/status".into()));
    let s = s
        .with_cookie(cookie("sid", "abc", "/services").unwrap())
        .unwrap();
    let h = s.headers();
    let get = |n: &str| {
        h.iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("Content-Type"), ["text/xml; charset=utf-8"]);
    assert_eq!(get("Expires"), [EXPIRES]);
    assert_eq!(get("Refresh"), ["5; url=http://srv/status"]);
    assert_eq!(get("Set-Cookie"), ["sid=abc; Path=/services; HttpOnly"]);
    let mut s = s;
    s.refresh = Some((0, String::new()));
    assert!(s.headers().contains(&("Refresh".into(), "0".into())));
    for _ in 1..MAX_COOKIES {
        s = s.with_cookie("a=b".into()).unwrap();
    }
    assert!(s.clone().with_cookie("a=b".into()).is_err());
}

#[test]
fn expires_is_after_1970_and_in_the_past() {
    assert!(EXPIRES.ends_with("1970 00:00:00 GMT"));
    assert!(!EXPIRES.starts_with("Thu, 01 Jan 1970"));
}

#[test]
fn cookies_are_checked() {
    assert_eq!(
        cookie("page", "42", "/").unwrap(),
        "page=42; Path=/; HttpOnly"
    );
    let v = "v".repeat(MAX_COOKIE_BYTES - 2);
    assert!(cookie("n", &v, "/").is_ok());
    let e = cookie("n", &format!("{v}v"), "/").unwrap_err();
    assert_eq!(e.field, "cookie");
    assert!(cookie("", "v", "/").is_err());
    assert!(cookie("a b", "v", "/").is_err());
    assert!(cookie("n", "v;Path=/x", "/").is_err());
    assert!(cookie("n", "é", "/").is_err());
    assert!(cookie("n", "v", "x").is_err());
    assert!(cookie("n", "v", "/a;b").is_err());
    assert!(cookie("n", "v", "/a\r\nSet-Cookie:x").is_err());
}

#[test]
fn main_menu_icons_on_colour_plain_on_monochrome() {
    let v = entries(3);
    let e = menu_entries(&v);
    let stop = Some(("17", "http://srv/stop?page=17"));
    let c = body(&main_menu(&phone_8865(), "Zones", &e, stop, None));
    assert!(c.contains("<CiscoIPPhoneIconMenu>"), "{c}");
    assert!(c.contains(
        "<IconItem><Index>0</Index><Width>10</Width><Height>10</Height><Depth>2</Depth>"
    ));
    assert!(c.contains(
        "<MenuItem><IconIndex>1</IconIndex><Name>Stop page 17</Name><URL>http://srv/stop?page=17</URL>"
    ));
    let g = main_menu(&phone_7841(), "Zones", &e, stop, None);
    let g = latin1(&g);
    assert!(
        g.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<CiscoIPPhoneMenu>"),
        "{g}"
    );
    assert!(!g.contains("IconItem") && !g.contains("IconIndex"));
    // Stop first, then the zones, then Select and Exit.
    let stop_at = g.find("Stop page 17").unwrap();
    assert!(stop_at < g.find("Zone 0").unwrap());
    assert!(g.contains("<Name>Select</Name><URL>SoftKey:Select</URL><Position>1</Position>"));
    assert!(g.contains("<Name>Exit</Name><URL>SoftKey:Exit</URL><Position>2</Position>"));
    assert!(!latin1(&main_menu(&phone_7841(), "Zones", &e, None, None)).contains("Stop page"));
}

#[test]
fn main_menu_cuts_or_pages_at_the_item_limit() {
    let v = entries(150);
    let e = menu_entries(&v);
    let r = phone_7841();
    // No paging: 100 items, Prompt says so.
    let cut = latin1(&main_menu(&r, "Zones", &e, None, None));
    assert_eq!(cut.matches("<MenuItem>").count(), 100);
    assert!(cut.contains("<Prompt>Showing 100 of 150</Prompt>"));
    // Paging: 98 zones + Stop + More, then the rest.
    let next = |offset: usize| format!("http://srv/menu?from={offset}");
    let paging = MenuPaging {
        offset: 0,
        more_url: &next,
    };
    let stop = Some(("1", "http://srv/stop"));
    let first = latin1(&main_menu(&r, "Zones", &e, stop, Some(&paging)));
    assert_eq!(first.matches("<MenuItem>").count(), 100);
    assert!(
        first.contains("<Name>More...</Name><URL>http://srv/menu?from=98</URL>"),
        "{first}"
    );
    assert!(first.contains("<Prompt>1-98 of 150</Prompt>"));
    let paging = MenuPaging {
        offset: 98,
        more_url: &next,
    };
    let second = latin1(&main_menu(&r, "Zones", &e, stop, Some(&paging)));
    assert_eq!(second.matches("<MenuItem>").count(), 53);
    assert!(second.contains("Zone 98") && second.contains("Zone 149"));
    assert!(!second.contains("More"));
    assert!(second.contains("<Prompt>99-150 of 150</Prompt>"));
    // Icon menus hold 32.
    let icons = body(&main_menu(&phone_8865(), "Zones", &e, None, None));
    assert_eq!(icons.matches("<MenuItem>").count(), 32);
}

#[test]
fn main_menu_stays_under_40_kb() {
    let long: Vec<(String, String)> = (0..100)
        .map(|i| {
            (
                "日".repeat(80),
                format!("http://srv/{i}/{}", "é".repeat(40)),
            )
        })
        .collect();
    let e = menu_entries(&long);
    let next = |offset: usize| format!("http://srv/menu?from={offset}");
    let paging = MenuPaging {
        offset: 0,
        more_url: &next,
    };
    let r = req(&[("x-CiscoIPPhoneModelName", "CP-8845")]);
    let s = main_menu(&r, "Zones", &e, None, Some(&paging));
    let b = body(&s);
    assert!(s.body.len() <= 40960, "{}", s.body.len());
    assert!(b.contains("<CiscoIPPhoneMenu>"));
    let shown = b.matches("<MenuItem>").count() - 1;
    assert!(shown >= 25, "{shown}");
    assert!(b.contains(&format!("http://srv/menu?from={shown}<")), "{b}");
    // Names are clipped to 64 characters.
    assert!(b.contains(&format!("<Name>{}…</Name>", "日".repeat(63))));
}

#[test]
fn hostile_text_is_escaped_and_bad_urls_become_an_error_screen() {
    let r = phone_8865();
    let e = [MenuEntry {
        name: "<b>&\"'",
        url: "http://srv/?a=1&b=<2>",
    }];
    let m = body(&main_menu(&r, "]]>", &e, None, None));
    assert!(m.contains("<Name>&lt;b&gt;&amp;&quot;&apos;</Name>"), "{m}");
    assert!(
        m.contains("<URL>http://srv/?a=1&amp;b=%3C2%3E</URL>"),
        "{m}"
    );
    assert!(m.contains("<Title>]]&gt;</Title>"));
    let long_url = format!("http://srv/{}", "a".repeat(300));
    let bad = body(&confirm(
        &r,
        "t",
        "x",
        ("Yes", &long_url),
        ("No", "SoftKey:Exit"),
    ));
    assert!(bad.contains("<Title>Error</Title>"), "{bad}");
    let bad_param = body(&banner_input(&r, "t", "p", "http://srv/b", "a&b", ""));
    assert!(bad_param.contains("<Title>Error</Title>"));
}

#[test]
fn confirm_has_yes_and_no() {
    let s = body(&confirm(
        &phone_8865(),
        "Page all?",
        "Really page every zone?",
        ("Yes", "http://srv/page?all=1&name=#DEVICENAME#"),
        ("No", "SoftKey:Exit"),
    ));
    assert!(s.contains(
        "<CiscoIPPhoneText><Title>Page all?</Title><Text>Really page every zone?</Text>"
    ));
    assert!(s.contains(
        "<Name>Yes</Name><URL>http://srv/page?all=1&amp;name=SEP00AABBCCDDEE</URL><Position>1</Position>"
    ));
    assert!(s.contains("<Name>No</Name><URL>SoftKey:Exit</URL><Position>2</Position>"));
}

#[test]
fn text_bodies_are_clipped_to_4000() {
    let s = body(&message(&phone_8865(), &"t".repeat(40), &"x".repeat(5000)));
    assert!(s.contains(&format!("<Title>{}…</Title>", "t".repeat(31))));
    assert!(s.contains(&format!("<Text>{}…</Text>", "x".repeat(3999))));
}

#[test]
fn banner_input_is_a_one_field_ascii_form() {
    let s = body(&banner_input(
        &phone_8865(),
        "Banner",
        "Message",
        "http://srv/banner?name=#DEVICENAME#",
        "text",
        "Fire drill at 10:00 – please proceed calmly",
    ));
    assert!(
        s.contains("<URL>http://srv/banner?name=SEP00AABBCCDDEE</URL>"),
        "{s}"
    );
    assert!(
        s.contains(
            "<InputItem><DisplayName>Message</DisplayName><QueryStringParam>text</QueryStringParam>\
         <InputFlags>A</InputFlags><DefaultValue>Fire drill at 10:00 – please pr…</DefaultValue>"
        ),
        "{s}"
    );
    assert!(s.contains("<Name>Cancel</Name><URL>SoftKey:Cancel</URL><Position>3</Position>"));
    assert!(!s.contains("method="));
    // The 8821 has two soft keys: no Cancel.
    let w = body(&banner_input(
        &req(&[("x-CiscoIPPhoneModelName", "CP-8821")]),
        "B",
        "M",
        "http://srv/b",
        "text",
        "",
    ));
    assert!(!w.contains("Cancel") && !w.contains("DefaultValue"));
    let l = latin1(&banner_input(
        &phone_7841(),
        "B",
        "M",
        "http://srv/b",
        "t",
        "Zürich → Łódź",
    ));
    assert!(
        l.contains("<DefaultValue>Zürich ? Lódz</DefaultValue>"),
        "{l}"
    );
}

#[test]
fn zone_directory_lists_32_zones() {
    let zones: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("Zone {i}"),
                format!("Floor {i} – east wing and the long corridor"),
            )
        })
        .collect();
    let z: Vec<(&str, &str)> = zones
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let s = body(&zone_directory(&phone_8865(), "Zones", &z));
    assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CiscoIPPhoneDirectory>"));
    assert_eq!(s.matches("<DirectoryEntry>").count(), 32);
    assert!(s.contains("<Prompt>Showing 32 of 40</Prompt>"));
    assert!(
        s.contains("<Name>Zone 0</Name><Telephone>Floor 0 – east wing and the lon…</Telephone>"),
        "{s}"
    );
    assert!(s.contains("<Name>Exit</Name><URL>SoftKey:Exit</URL><Position>1</Position>"));
}

#[test]
fn page_status_is_text_with_refresh_and_keys_per_model() {
    let refresh = Some((5, "http://srv/status?page=3&name=#DEVICENAME#".to_owned()));
    let c = page_status(
        &phone_8865(),
        "Paging",
        "Lobby, Gym",
        Some("http://srv/stop?page=3"),
        refresh.clone(),
    );
    let b = body(&c);
    assert!(b.contains("<CiscoIPPhoneText>"), "{b}");
    assert!(b.contains("<Name>End</Name><URL>http://srv/stop?page=3</URL><Position>1</Position>"));
    assert!(b.contains("<Name>Exit</Name><URL>SoftKey:Exit</URL><Position>2</Position>"));
    assert!(b.contains("<Name>Update</Name><URL>SoftKey:Update</URL><Position>3</Position>"));
    assert_eq!(
        c.refresh,
        Some((
            5,
            "http://srv/status?page=3&name=SEP00AABBCCDDEE".to_owned()
        ))
    );
    // The 8821 has two keys: End and Exit only.
    let w = body(&page_status(
        &req(&[("x-CiscoIPPhoneModelName", "CP-8821")]),
        "Paging",
        "x",
        Some("http://srv/stop"),
        None,
    ));
    assert!(!w.contains("Update"));
    // Without an end URL, Exit is first.
    let n = latin1(&page_status(
        &phone_7841(),
        "Paging",
        "x",
        None,
        Some((0, String::new())),
    ));
    assert!(n.contains("<Name>Exit</Name><URL>SoftKey:Exit</URL><Position>1</Position>"));
    assert!(!n.contains("End"));
}

#[test]
fn page_status_push_only_where_status_exists() {
    let s = page_status_push(
        &phone_8865(),
        "Paging: Lobby and everywhere else",
        Some(9999),
    )
    .unwrap()
    .to_xml();
    assert!(
        s.contains("<Text>Paging: Lobby and everywhere el…</Text><Timer>5939</Timer>"),
        "{s}"
    );
    assert!(page_status_push(&phone_7841(), "Paging", None).is_none());
    assert!(page_status_push(&Requester::default(), "Paging", None).is_none());
}

#[test]
fn latin1_bodies_are_latin1_bytes() {
    let s = message(&phone_7841(), "Café", "Grüße aus Łódź 日本");
    assert_eq!(s.content_type, "text/xml; charset=iso-8859-1");
    assert!(s.body.contains(&0xE9)); // é as one byte
    assert!(std::str::from_utf8(&s.body).is_err());
    let t = latin1(&s);
    assert!(t.contains("<Text>Grüße aus Lódz ??</Text>"), "{t}");
}

#[test]
fn icons_are_10x10_at_depth_2() {
    let i = icons().unwrap();
    assert_eq!(i.len(), 3);
    let rows = [
        "..........",
        "..........",
        "..........",
        "..........",
        "..........",
        "..........",
        "..........",
        "..........",
        "..........",
        "..........",
    ];
    let b = icon_bitmap(&rows).unwrap();
    assert_eq!(b, Bitmap::new(10, 10, 2, &"0".repeat(50)).unwrap());
    let mut one = rows;
    one[0] = "+#.#......";
    // + # . # → 2 3 0 3 → bits 11 00 11 10 = 0xCE.
    let b = icon_bitmap(&one).unwrap();
    assert_eq!(
        b,
        Bitmap::new(10, 10, 2, &format!("CE{}", "0".repeat(48))).unwrap()
    );
}

#[test]
fn a_paging_offset_past_the_end_shows_an_empty_menu() {
    let v = entries(3);
    let e = menu_entries(&v);
    let next = |offset: usize| format!("http://srv/menu?from={offset}");
    let paging = MenuPaging {
        offset: 99,
        more_url: &next,
    };
    let s = latin1(&main_menu(&phone_7841(), "Zones", &e, None, Some(&paging)));
    assert!(!s.contains("<MenuItem>") && !s.contains("<Prompt>"), "{s}");
}

#[test]
fn choice_shows_as_many_keys_as_the_phone_has() {
    let keys = [
        ("Start", "http://srv/start"),
        ("Banner", "http://srv/banner"),
        ("Cancel", "SoftKey:Exit"),
    ];
    let c = body(&choice(&phone_8865(), "Page", "Lobby?", &keys));
    assert!(c.contains("<Name>Banner</Name><URL>http://srv/banner</URL><Position>2</Position>"));
    assert!(c.contains("<Name>Cancel</Name><URL>SoftKey:Exit</URL><Position>3</Position>"));
    let w = body(&choice(
        &req(&[("x-CiscoIPPhoneModelName", "CP-8821")]),
        "Page",
        "Lobby?",
        &keys,
    ));
    assert_eq!(w.matches("<SoftKeyItem>").count(), 2);
    assert!(!w.contains("Cancel"));
}

#[test]
fn a_status_screen_can_carry_application_event_handlers() {
    let app = crate::xsi::object::AppEvents::new("zonecast-page")
        .and_then(|a| a.all("Notify:http:10.0.0.5:8460:zonecast/notify/pg-1~desk"))
        .unwrap();
    let r = phone_8865();
    let with = page_status_app(
        &r,
        "Paging",
        "Speak now",
        Some("http://s/end"),
        None,
        Some(app),
    );
    let body = String::from_utf8(with.body.clone()).unwrap();
    assert!(body.contains("appId=\"zonecast-page\""), "{body}");
    assert!(
        body.contains("onAppFocusLost=\"Notify:http:10.0.0.5:8460:zonecast/notify/pg-1~desk\""),
        "{body}"
    );
    // Without the handlers (which Cisco's XSD predates) the object is page_status's.
    let without = page_status(&r, "Paging", "Speak now", Some("http://s/end"), None);
    let plain = String::from_utf8(without.body).unwrap();
    let start = body.find(" appId").unwrap();
    let end = body[start..].find('>').unwrap() + start;
    assert_eq!(format!("{}{}", &body[..start], &body[end..]), plain);
}
