//! A proptest strategy for every [`Uri`] variant, built through the public constructors so
//! it only yields values those constructors accept.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;

use super::super::*;

fn key() -> impl Strategy<Value = Key> {
    let named: Vec<Key> = Key::named().collect();
    prop_oneof![
        select(named),
        (1u32..=120).prop_map(|n| Key::feature(n).unwrap()),
        (1u32..=3).prop_map(|n| Key::fixed_feature(n).unwrap()),
        (0u32..=9).prop_map(|n| Key::keypad(n).unwrap()),
        (1u32..=120).prop_map(|n| Key::line(n).unwrap()),
        (1u32..=6).prop_map(|n| Key::session(n).unwrap()),
        (1u32..=5).prop_map(|n| Key::soft(n).unwrap()),
        (0u32..=9).prop_map(|n| Key::digit(n).unwrap()),
    ]
}

fn rtp_port() -> impl Strategy<Value = RtpPort> {
    (RtpPort::MIN / 2..=RtpPort::MAX / 2).prop_map(|n| RtpPort::new(n * 2).unwrap())
}

/// Below 224.0.0.0: never multicast, never broadcast.
fn unicast() -> impl Strategy<Value = Ipv4Addr> {
    (0u32..0xE000_0000).prop_map(Ipv4Addr::from)
}

fn multicast() -> impl Strategy<Value = Ipv4Addr> {
    (0xE000_0000u32..=0xEFFF_FFFF).prop_map(Ipv4Addr::from)
}

/// Volume and path, each optional (a path without a volume renders `::PATH`).
fn volume_path() -> impl Strategy<Value = (Option<u32>, Option<AudioPath>)> {
    (
        prop::option::of(0u32..=100),
        prop::option::of(select(AudioPath::ALL)),
    )
}

const DTMF: &str = "[0-9#*ABCD,]{1,24}";

/// Ids with the characters real ones have, plus `;` where the family allows it.
fn app_id(max: usize, semicolon: bool) -> impl Strategy<Value = String> {
    let class = if semicolon {
        "[A-Za-z0-9/;. _-]"
    } else {
        "[A-Za-z0-9/. _-]"
    };
    proptest::string::string_regex(&format!("{class}{{1,{max}}}")).unwrap()
}

pub(super) fn uri() -> impl Strategy<Value = Uri> {
    let b = prop::option::of(any::<bool>());
    Union::new(vec![
        key().prop_map(Uri::Key).boxed(),
        select(SoftKey::ALL).prop_map(Uri::SoftKey).boxed(),
        prop_oneof![
            (0u32..=1440).prop_map(|m| Uri::display_off(m).unwrap()),
            (0u32..=1440).prop_map(|m| Uri::display_on(m).unwrap()),
            Just(Uri::Display(Display::Default)),
        ]
        .boxed(),
        select(Init::ALL).prop_map(Uri::Init).boxed(),
        select(DeviceCmd::ALL).prop_map(Uri::Device).boxed(),
        (DTMF, b.clone(), prop::option::of(app_id(40, false)), b)
            .prop_map(|(s, ui, id, au)| Uri::dial(&s, ui, id.as_deref(), au).unwrap())
            .boxed(),
        DTMF.prop_map(|s| Uri::edit_dial(&s).unwrap()).boxed(),
        (DTMF, any::<bool>(), prop::option::of(app_id(64, true)))
            .prop_map(|(s, au, id)| Uri::send_digits(&s, au, id.as_deref()).unwrap())
            .boxed(),
        prop_oneof![
            "[A-Za-z0-9._/-]{1,30}"
                .prop_filter("Stop is Play:Stop", |f| f != "Stop")
                .prop_map(|f| Uri::play(&f).unwrap()),
            Just(Uri::Play(Play::Stop)),
        ]
        .boxed(),
        (unicast(), rtp_port(), volume_path())
            .prop_map(|(a, p, (v, s))| Uri::rtp_rx(a, p, v, s).unwrap())
            .boxed(),
        (multicast(), rtp_port(), volume_path())
            .prop_map(|(a, p, (v, s))| Uri::rtp_mrx(a, p, v, s).unwrap())
            .boxed(),
        (unicast(), rtp_port())
            .prop_map(|(a, p)| Uri::rtp_tx(a, p).unwrap())
            .boxed(),
        (multicast(), rtp_port())
            .prop_map(|(a, p)| Uri::rtp_mtx(a, p).unwrap())
            .boxed(),
        prop_oneof![
            Just(Uri::RtpRxStop),
            Just(Uri::RtpTxStop),
            Just(Uri::RtpMRxStop),
            Just(Uri::RtpMTxStop),
        ]
        .boxed(),
        (
            select(AppAction::ALL),
            select(AppPriority::ALL),
            10u32..=86400,
            app_id(64, true),
        )
            .prop_map(|(a, p, t, id)| Uri::app(a, p, t, &id).unwrap())
            .boxed(),
        (
            "[A-Za-z0-9._-]{1,30}",
            1u16..=65535,
            "[A-Za-z0-9/?=&._-]{1,30}",
            prop::option::of("[A-Za-z0-9+/=]{1,24}"),
            prop::option::of("[A-Za-z0-9:=<>\"/ _-]{1,30}"),
        )
            .prop_map(|(h, port, path, c, d)| {
                Uri::notify(&h, port, &path, c.as_deref(), d.as_deref()).unwrap()
            })
            .boxed(),
        "[A-Za-z0-9=&:%._-]{1,30}"
            .prop_map(|q| Uri::query_string_param(&q).unwrap())
            .boxed(),
        "[A-Za-z0-9 ._-]{1,30}"
            .prop_map(|m| Uri::settings_menu(&m).unwrap())
            .boxed(),
        select(Button::ALL).prop_map(Uri::Button).boxed(),
        select(Icon::ALL).prop_map(Uri::Resource).boxed(),
    ])
}
