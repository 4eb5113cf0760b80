//! Spec examples, every refusal, and the `parse(render(x)) == x` property.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;

mod arb;

fn port(n: u16) -> RtpPort {
    RtpPort::new(n).unwrap()
}

/// Parses `s`, checks it renders back to exactly `s`, returns the value.
fn round_trip(s: &str) -> Uri {
    let uri: Uri = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(uri.to_string(), s);
    uri
}

/// Checks `s` is refused and the error names `field`.
fn refused(s: &str, field: &str) {
    match s.parse::<Uri>() {
        Ok(u) => panic!("{s} accepted as {u:?}"),
        Err(e) => assert_eq!(e.field, field, "{s}: {e}"),
    }
}

#[test]
fn spec_examples_round_trip() {
    for s in [
        "Key:Feature1",
        "Key:Feature120",
        "Key:FixedFeature3",
        "Key:KeyPad0",
        "Key:KeyPad9",
        "Key:Line120",
        "Key:Session6",
        "Key:Soft5",
        "Key:Key_0",
        "Key:Key_9",
        "Key:Key_Asterisk",
        "Key:Key_Period",
        "Key:Key_NumberSign",
        "Key:Vibrate",
        "Key:Offhook",
        "Key:Onhook",
        "Key:PTT",
        "RTPRx:10.0.0.1:20480::1",
        "RTPMRx:239.1.1.1:20480::0",
        "SoftKey:<<",
        "Display:Off:60",
        "Display:Off:0",
        "Display:Off:1440",
        "Display:On:10",
        "Display:Default",
        "Device:Unlock",
        "Device:GeneratePRT",
        "Device:PRTStatus",
        "Dial:123",
        "Dial:1#*ABCD,9",
        "Dial:123:1",
        "Dial:123:0:Company/App",
        "Dial:123:0:Company/App:1",
        "Dial:123:0::0",
        "EditDial:1000",
        "SendDigits:123#:1::Company/App",
        "SendDigits:1,2:0::",
        "Play:Classic2.raw",
        "Play:Stop",
        "RTPRx:10.0.0.1:20480",
        "RTPRx:10.0.0.1:20480:80",
        "RTPRx:10.0.0.1:32768:100:2",
        "RTPRx:Stop",
        "RTPTx:10.0.0.1:20480",
        "RTPTx:Stop",
        "RTPMRx:239.1.1.1:20480:80",
        "RTPMRx:239.1.1.1:20480:0:1",
        "RTPMRx:Stop",
        "RTPMTx:239.1.1.1:20480",
        "RTPMTx:Stop",
        "App:RequestFocus:0:60:Company/App",
        "App:ReleaseFocus:1:10:Company/App",
        "App:Minimize:2:86400:Company/App",
        "App:Close:0:60:a",
        "Notify:http:myserver:8080:path/streamhandler?event=stopped::myStreamStoppedData",
        "Notify:http:10.0.0.5:1:p:dXNlcjpwYXNz:x:y",
        "Notify:http:h:65535:p::",
        "QueryStringParam:x=1&y=2",
        "SettingsMenu:Networkconnection",
        "SettingsMenu:About this device",
        "SettingsMenu:TFTP server1",
    ] {
        round_trip(s);
    }
}

#[test]
fn every_name_round_trips() {
    for k in Key::named() {
        assert_eq!(round_trip(&format!("Key:{k}")), Uri::Key(k));
    }
    assert_eq!(Key::named().count(), 35);
    for k in SoftKey::ALL {
        assert_eq!(round_trip(&format!("SoftKey:{k}")), Uri::SoftKey(*k));
    }
    for i in Init::ALL {
        assert_eq!(round_trip(&format!("Init:{i}")), Uri::Init(*i));
    }
    for b in Button::ALL {
        assert_eq!(round_trip(&format!("Button:{b}")), Uri::Button(*b));
    }
    for i in Icon::ALL {
        assert_eq!(round_trip(&format!("Resource:{i}")), Uri::Resource(*i));
    }
    assert_eq!(Icon::ALL.len(), 23);
    assert_eq!(round_trip("Init:AppStatus"), Uri::Init(Init::AppStatus));
    assert_eq!(
        round_trip("Resource:AnimatedIcon.Throbber"),
        Uri::Resource(Icon::AnimatedThrobber)
    );
}

#[test]
fn key_aliases_render_canonically() {
    for (alias, canonical) in [
        ("Key:KemPage", "Key:KEMPage"),
        ("Key:NavDown", "Key:NavDwn"),
        ("Key:VolDown", "Key:VolDwn"),
    ] {
        assert_eq!(alias.parse::<Uri>().unwrap().to_string(), canonical);
    }
}

#[test]
fn settings_macro_from_spec_parses() {
    // The spec's 8875 "set TFTP server1" macro, in order.
    let uris: Vec<Uri> = [
        "Key:Applications",
        "SettingsMenu:Networkconnection",
        "SettingsMenu:Networksettings",
        "SettingsMenu:AlternateTFTP",
        "SettingsMenu:TFTPserver1",
        "Key:Key_1",
        "Key:Key_Period",
        "Key:Key_0",
        "Button:Apply",
    ]
    .iter()
    .map(|s| round_trip(s))
    .collect();
    assert_eq!(uris[5], Uri::Key(Key::digit(1).unwrap()));
    assert_eq!(uris[6], Uri::Key(Key::Period));
}

#[test]
fn constructors_render_exactly() {
    let ip = Ipv4Addr::new(10, 0, 0, 1);
    let mc = Ipv4Addr::new(239, 1, 1, 1);
    let cases = [
        (Uri::display_off(60), "Display:Off:60"),
        (Uri::display_on(10), "Display:On:10"),
        (Key::feature(120).map(Uri::Key), "Key:Feature120"),
        (Uri::dial("123", None, None, None), "Dial:123"),
        (Uri::dial("123", None, None, Some(true)), "Dial:123:0::1"),
        (
            Uri::dial("123", None, Some("Company/App"), None),
            "Dial:123:0:Company/App",
        ),
        (
            Uri::dial("123", Some(false), Some("Company/App"), Some(true)),
            "Dial:123:0:Company/App:1",
        ),
        (Uri::dial("123", None, Some(""), None), "Dial:123"),
        (Uri::edit_dial("1000"), "EditDial:1000"),
        (
            Uri::send_digits("123", true, Some("Company/App")),
            "SendDigits:123:1::Company/App",
        ),
        (Uri::send_digits("9", false, None), "SendDigits:9:0::"),
        (Uri::play("Classic2.raw"), "Play:Classic2.raw"),
        (
            Uri::rtp_rx(ip, port(20480), None, None),
            "RTPRx:10.0.0.1:20480",
        ),
        (
            Uri::rtp_rx(ip, port(20480), Some(50), Some(AudioPath::Current)),
            "RTPRx:10.0.0.1:20480:50:2",
        ),
        (
            Uri::rtp_mrx(mc, port(20480), Some(80), None),
            "RTPMRx:239.1.1.1:20480:80",
        ),
        (
            Uri::rtp_rx(ip, port(20480), None, Some(AudioPath::Handset)),
            "RTPRx:10.0.0.1:20480::1",
        ),
        (Uri::rtp_tx(ip, port(32768)), "RTPTx:10.0.0.1:32768"),
        (Uri::rtp_mtx(mc, port(20482)), "RTPMTx:239.1.1.1:20482"),
        (
            Uri::app(
                AppAction::RequestFocus,
                AppPriority::Immediate,
                60,
                "Company/App",
            ),
            "App:RequestFocus:0:60:Company/App",
        ),
        (
            Uri::notify("myserver", 8080, "path", None, None),
            "Notify:http:myserver:8080:path::",
        ),
        (
            Uri::notify("myserver", 8080, "path", None, Some("d")),
            "Notify:http:myserver:8080:path::d",
        ),
        (Uri::query_string_param("a=1"), "QueryStringParam:a=1"),
        (Uri::settings_menu("Bluetooth"), "SettingsMenu:Bluetooth"),
    ];
    for (uri, s) in cases {
        let uri = uri.unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(uri.to_string(), s);
        assert_eq!(s.parse::<Uri>().unwrap(), uri);
    }
}

#[test]
fn accessors_return_what_was_checked() {
    let Uri::RtpRx(s) = round_trip("RTPRx:10.0.0.1:20480:80:1") else {
        panic!("not RTPRx")
    };
    assert_eq!(s.addr(), Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(s.port().get(), 20480);
    assert_eq!(
        (s.volume(), s.audio_path()),
        (Some(80), Some(AudioPath::Handset))
    );
    let Uri::Dial(d) = round_trip("Dial:5:1:X/Y:0") else {
        panic!("not Dial")
    };
    assert_eq!(d.sequence(), "5");
    assert_eq!(d.use_app_ui(), Some(true));
    assert_eq!(d.application_id(), Some("X/Y"));
    assert_eq!(d.audible_feedback(), Some(false));
    let Uri::Notify(n) = round_trip("Notify:http:h:80:p:Y3JlZA==:a:b") else {
        panic!("not Notify")
    };
    assert_eq!((n.host(), n.port(), n.path()), ("h", 80, "p"));
    assert_eq!((n.credentials(), n.data()), (Some("Y3JlZA=="), Some("a:b")));
}

#[test]
fn notify_short_form_from_cisco_parses() {
    let uri: Uri = "Notify:http:server:8080:path/streamhandler?event=stopped"
        .parse()
        .unwrap();
    assert_eq!(
        uri.to_string(),
        "Notify:http:server:8080:path/streamhandler?event=stopped::"
    );
    assert_eq!(
        "Notify:http:server:8080:path/streamhandler?event=stopped:"
            .parse::<Uri>()
            .unwrap(),
        uri
    );
}

#[test]
fn allowed_in_execute_excludes_notify_query_and_resource() {
    for s in [
        "Notify:http:h:80:p::",
        "QueryStringParam:a=1",
        "Resource:Icon.Locked",
    ] {
        assert!(!round_trip(s).allowed_in_execute(), "{s}");
    }
    for s in [
        "Key:NavUp",
        "RTPMRx:239.1.1.1:20480",
        "Init:AppStatus",
        "Display:Default",
    ] {
        assert!(round_trip(s).allowed_in_execute(), "{s}");
    }
}

#[test]
fn parse_refuses_bad_input_naming_the_field() {
    for (s, field) in [
        ("RTPRx:10.0.0.1:20481", "RTPRx port"),
        ("RTPRx:10.0.0.1:32770", "RTPRx port"),
        ("RTPRx:10.0.0.1:20478", "RTPRx port"),
        ("RTPRx:10.0.0.1:99999999999", "RTPRx port"),
        ("RTPMRx:239.1.1.1:20481", "RTPMRx port"),
        ("RTPTx:10.0.0.1:x", "RTPTx port"),
        ("RTPRx:10.0.0.1:20480:101", "RTPRx volume"),
        ("RTPRx:10.0.0.1:20480:", "RTPRx volume"),
        ("RTPRx:10.0.0.1:20480::", "RTPRx audio path"),
        ("RTPRx:10.0.0.1:20480:50:3", "RTPRx audio path"),
        ("RTPRx:10.0.0.1:20480:50:1:9", "RTPRx"),
        ("RTPRx:10.0.0.1", "RTPRx"),
        ("RTPRx:239.1.1.1:20480", "RTPRx address"),
        ("RTPRx:255.255.255.255:20480", "RTPRx address"),
        ("RTPTx:224.0.0.1:20480", "RTPTx address"),
        ("RTPMRx:10.0.0.1:20480", "RTPMRx address"),
        ("RTPMTx:192.168.1.1:20480", "RTPMTx address"),
        ("RTPMTx:239.1.1:20480", "RTPMTx address"),
        ("RTPMTx:239.1.1.1:20480:50", "RTPMTx"),
        ("Display:Off:1441", "Display:Off minutes"),
        ("Display:On:-1", "Display:On minutes"),
        ("Display:Off:060", "Display:Off minutes"),
        ("Display:Off:+5", "Display:Off minutes"),
        ("Display:Off", "Display"),
        ("Key:Feature121", "Key:Feature number"),
        ("Key:Feature0", "Key:Feature number"),
        ("Key:Feature", "Key:Feature number"),
        ("Key:FixedFeature4", "Key:FixedFeature number"),
        ("Key:KeyPad10", "Key:KeyPad number"),
        ("Key:Line121", "Key:Line number"),
        ("Key:Session7", "Key:Session number"),
        ("Key:Soft6", "Key:Soft number"),
        ("Key:Soft0", "Key:Soft number"),
        ("Key:Key_10", "Key:Key_ digit"),
        ("Key:navup", "Key name"),
        ("Key:vibrate", "Key name"),
        ("SoftKey:Backspace", "SoftKey name"),
        ("Init:Everything", "Init name"),
        ("Device:Reboot", "Device command"),
        ("Button:OK", "Button name"),
        ("Resource:Icon.Nope", "Resource icon"),
        ("App:RequestFocus:0:60:Company:App", "App"),
        ("App:RequestFocus:0:60:", "App application id"),
        ("App:RequestFocus:0:9:X", "App idle timer"),
        ("App:RequestFocus:0:86401:X", "App idle timer"),
        ("App:RequestFocus:3:60:X", "App priority"),
        ("App:Focus:0:60:X", "App action"),
        ("Dial:12a", "Dial sequence"),
        ("Dial:1-800-FLOWERS", "Dial sequence"),
        ("Dial:", "Dial sequence"),
        ("Dial:123:2", "Dial useAppUI"),
        ("Dial:123::X", "Dial useAppUI"),
        ("Dial:123:0:X:yes", "Dial audibleFeedback"),
        ("Dial:123:0:A;B", "Dial application id"),
        ("Dial:123:0:A:1:B", "Dial"),
        ("EditDial:abc", "EditDial sequence"),
        ("SendDigits:123:1:x:App", "SendDigits"),
        ("SendDigits:123:1", "SendDigits"),
        ("SendDigits:123:2::", "SendDigits audibleFeedback"),
        ("SendDigits:12e:1::", "SendDigits sequence"),
        ("Play:", "Play file name"),
        ("Play:a b.raw", "Play file name"),
        ("Play:a:b", "Play file name"),
        ("Notify:http:host:0:path", "Notify port"),
        ("Notify:http:host:65536:path", "Notify port"),
        ("Notify:http:host:80:pa;th", "Notify path"),
        ("Notify:http:host:80:", "Notify path"),
        ("Notify:https:host:80:path", "Notify protocol"),
        ("Notify:http:ho st:80:path", "Notify host"),
        ("Notify:http:host:80:path:not base64", "Notify credentials"),
        ("Notify:http:host:80:path::a;b", "Notify data"),
        ("Notify:http:host:80", "Notify"),
        ("QueryStringParam:", "QueryStringParam data"),
        ("QueryStringParam:a b", "QueryStringParam data"),
        ("SettingsMenu:", "SettingsMenu name"),
        ("SettingsMenu:a:b", "SettingsMenu name"),
        ("SettingsMenu:a\u{7}", "SettingsMenu name"),
        ("key:NavUp", "URI family"),
        ("RTPRX:Stop", "URI family"),
        ("NavUp", "URI"),
        ("", "URI"),
    ] {
        refused(s, field);
    }
}

#[test]
fn constructors_refuse_what_parse_refuses() {
    let ip = Ipv4Addr::new(10, 0, 0, 1);
    let mc = Ipv4Addr::new(239, 1, 1, 1);
    let long = "a".repeat(65);
    let cases = [
        (Uri::display_off(1441), "Display:Off minutes"),
        (Uri::display_on(1441), "Display:On minutes"),
        (Key::feature(121).map(Uri::Key), "Key:Feature number"),
        (Key::soft(6).map(Uri::Key), "Key:Soft number"),
        (Key::digit(10).map(Uri::Key), "Key:Key_ digit"),
        (
            Uri::rtp_rx(ip, port(20480), Some(101), None),
            "RTPRx volume",
        ),
        (Uri::rtp_rx(mc, port(20480), None, None), "RTPRx address"),
        (Uri::rtp_mrx(ip, port(20480), None, None), "RTPMRx address"),
        (Uri::rtp_tx(mc, port(20480)), "RTPTx address"),
        (Uri::rtp_mtx(ip, port(20480)), "RTPMTx address"),
        (
            Uri::app(AppAction::Close, AppPriority::IfIdle, 60, "Company:App"),
            "App application id",
        ),
        (
            Uri::app(AppAction::Close, AppPriority::IfIdle, 60, &long),
            "App application id",
        ),
        (
            Uri::app(AppAction::Close, AppPriority::IfIdle, 60, ""),
            "App application id",
        ),
        (
            Uri::send_digits("1", true, Some(&long)),
            "SendDigits application id",
        ),
        (
            Uri::send_digits("1", true, Some("a:b")),
            "SendDigits application id",
        ),
        (Uri::dial("12a", None, None, None), "Dial sequence"),
        (
            Uri::dial("1", None, Some("a:b"), None),
            "Dial application id",
        ),
        (Uri::play("Stop"), "Play file name"),
        (Uri::notify("h", 0, "p", None, None), "Notify port"),
        (Uri::notify("h", 80, "a;b", None, None), "Notify path"),
        (Uri::notify("h", 80, "a:b", None, None), "Notify path"),
        (Uri::notify("h:1", 80, "p", None, None), "Notify host"),
        (Uri::notify("h", 80, "p", None, Some("a;b")), "Notify data"),
    ];
    for (result, field) in cases {
        match result {
            Ok(u) => panic!("{field}: accepted {u}"),
            Err(e) => assert_eq!(e.field, field, "{e}"),
        }
    }
    assert_eq!(RtpPort::new(20481).unwrap_err().field, "port");
    let ok64 = "b".repeat(64);
    assert!(Uri::app(AppAction::Close, AppPriority::IfIdle, 60, &ok64).is_ok());
}

proptest! {
    #[test]
    fn parse_render_round_trip(uri in arb::uri()) {
        let text = uri.to_string();
        prop_assert_eq!(text.parse::<Uri>(), Ok(uri), "{}", text);
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = s.parse::<Uri>();
    }

    #[test]
    fn parse_never_panics_on_uri_like_text(
        s in "(Key|SoftKey|Display|Dial|SendDigits|Play|RTPRx|RTPMTx|App|Notify):[ -~]{0,40}"
    ) {
        // Whatever parses must render back to something that parses to the same value.
        if let Ok(uri) = s.parse::<Uri>() {
            prop_assert_eq!(uri.to_string().parse::<Uri>(), Ok(uri));
        }
    }
}
