//! Loading whole files: the shipped examples, defaults, every kind of error with its place, zone
//! resolution, and passwords.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::rtp::RtpPort;
use crate::xsi::model::ModelFamily;

const PATH: &str = "/etc/zonecast/zonecast.toml";

fn load(text: &str) -> Result<Config, Invalid> {
    Config::from_toml(text, PATH)
}

fn err(text: &str) -> Invalid {
    match load(text) {
        Ok(c) => panic!("expected an error, loaded {c:#?}"),
        Err(e) => e,
    }
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

/// The error is at `PATH:line:` of `needle`, names `key`, and its message contains `says`.
fn assert_at(e: &Invalid, text: &str, needle: &str, key: &str, says: &str) {
    let prefix = format!("{PATH}:{}:", line_of(text, needle));
    assert!(e.field.starts_with(&prefix), "want {prefix}..., got {e}");
    assert!(e.field.contains(key), "want key {key:?} in {e}");
    assert!(e.to_string().contains(says), "want {says:?} in {e}");
}

fn phone(name: &str) -> String {
    format!(
        "[[phone]]\nname = \"{name}\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\nuser = \"u\"\n\
         password_env = \"ZC_PW\"\n\n"
    )
}

fn phones(names: &[&str]) -> String {
    names.iter().map(|n| phone(n)).collect()
}

fn names(v: &[&PhoneEntry]) -> Vec<String> {
    v.iter().map(|p| p.name.clone()).collect()
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

#[test]
fn the_example_config_loads_and_says_what_it_says() {
    let path = shipped("zonecast.example.toml");
    let c = Config::load(&path).unwrap();
    // The yard horn plays floor1's pages and, through it, all's; not the offices' alone.
    let horn = |z: &str| {
        c.speakers_of(z)
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(horn("floor1"), ["yard-horn"]);
    assert_eq!(horn("all"), ["yard-horn"]);
    assert!(horn("offices").is_empty());
    assert_eq!(c.speakers[0].address.to_string(), "239.10.0.5:50001");
    let sip = c.sip.as_ref().expect("[sip]");
    assert_eq!(sip.listen.to_string(), "192.0.2.10:5060");
    assert!(sip.allows(Ipv4Addr::new(192, 0, 2, 1)) && !sip.allows(Ipv4Addr::new(192, 0, 2, 2)));
    let delayed = sip.route("7002").expect("route 7002");
    assert_eq!(
        (delayed.zone.as_str(), delayed.mode.name()),
        ("floor1", "delayed")
    );
    assert!(sip.route("7001").is_some() && sip.route("7003").is_none());
    assert!(c.cucm.is_none() && c.cluster.is_none());
    let e = &c.engine;
    assert_eq!(e.media_address, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(e.interface, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(e.port_pool.to_string(), "20480-21478");
    assert_eq!(e.port_pool.len(), 500);
    assert_eq!(e.multicast_pool.to_string(), "239.255.10.0/24");
    assert_eq!(e.multicast_ttl, 1);
    assert_eq!(e.push_concurrency, 1000);
    assert_eq!(e.push_timeout, Duration::from_secs(5));
    assert_eq!(e.connect_timeout, Duration::from_secs(2));
    assert_eq!(e.push_retries, 2);
    assert_eq!(e.push_backoff, Duration::from_millis(200));
    assert_eq!(
        e.journal,
        path.parent().unwrap().join("zonecast-journal.json")
    );
    assert_eq!(e.verify_grace, Duration::from_secs(2));
    assert_eq!(e.pre_tone, Some(PreTone::Chime));
    assert_eq!(e.max_unicast, 50);
    assert_eq!(e.loudness.lufs, -18.0);
    assert_eq!(c.priorities, Priorities::default());

    let hall = c.phone("hall").unwrap();
    assert_eq!(hall.host, "10.0.0.22:8080");
    assert_eq!(hall.family(), ModelFamily::Phone78xx);
    assert_eq!(
        hall.password,
        PasswordSource::File(path.parent().unwrap().join("secrets/hall.pw"))
    );
    let lobby = c.phone("lobby").unwrap();
    assert_eq!(
        lobby.password,
        PasswordSource::Env("ZONECAST_PHONE_PW".into())
    );
    assert!(!lobby.https);
    assert!(c.phone("office-1").unwrap().https);
    assert_eq!(c.phones.len(), 5);
    let reception = c.phone("reception").unwrap();
    assert_eq!(reception.password, PasswordSource::Minted);
    assert_eq!(reception.device.as_deref(), Some("SEP00112233445A"));
    assert!(reception.secret().unwrap().is_minted());
    let sv = &c.server;
    assert_eq!(sv.listen, "127.0.0.1:8460".parse().unwrap());
    assert_eq!(sv.public_url.as_deref(), Some("http://192.0.2.10:8460"));
    assert_eq!(
        sv.token,
        Some(crate::config::TokenSource::Env("ZONECAST_API_TOKEN".into()))
    );
    assert_eq!(sv.data_dir, std::path::PathBuf::from("/var/lib/zonecast"));
    assert_eq!(sv.upload_limit, 16 << 20);
    assert_eq!(sv.auth_ttl, std::time::Duration::from_secs(10));
    assert_eq!(sv.upstream_auth_url, None);
    let services = &c.services;
    // Two messages and the bell the permission names.
    assert_eq!(services.messages.len(), 3);
    assert_eq!(
        services.message("first-period").unwrap().title,
        "Bell: first-period"
    );
    let evac = services.message("evacuate").unwrap();
    assert!(evac.confirm);
    assert_eq!(evac.priority.as_deref(), Some("emergency"));
    assert_eq!(services.message("lunch").unwrap().title, "Lunch bell");
    let zone_phones = |z: &str| -> Vec<String> {
        c.resolve_zone(z)
            .map(|v| v.into_iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default()
    };
    // office-1 is in `offices`, which the permission names.
    let (zones, msgs) = services.allowed("office-1", zone_phones);
    assert_eq!(zones, ["all", "floor1"]);
    assert_eq!(msgs.len(), 3);
    let (zones, msgs) = services.allowed("hall", zone_phones);
    assert!(zones.is_empty() && msgs.is_empty());

    let zone_names: Vec<&str> = c.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(zone_names, ["offices", "floor1", "all"], "file order");
    let offices = c.zone("offices").unwrap();
    assert_eq!(offices.mode, ZoneMode::Unicast);
    assert_eq!(offices.volume, Some(60));
    assert_eq!(offices.codec, crate::config::ZoneCodec::G722);
    assert_eq!(
        c.zone("floor1").unwrap().codec,
        crate::config::ZoneCodec::G711
    );
    let phone = |n: &str| c.phones.iter().find(|p| p.name == n).unwrap();
    assert_eq!(phone("office-1").g722, Some(true));
    assert!(phone("office-2").takes_g722(), "an 8865 by the model table");
    assert!(
        phone("hall").takes_g722(),
        "a 7841 (enterprise 7800 series)"
    );
    assert_eq!(offices.banner.as_deref(), Some("Office announcement"));
    assert_eq!(offices.unicast_limit(e), 10);
    let floor1 = c.zone("floor1").unwrap();
    assert_eq!(
        floor1.mode,
        ZoneMode::Multicast {
            group: Some(Ipv4Addr::new(239, 255, 20, 1)),
            port: Some(RtpPort::new(24000).unwrap()),
            ttl: 2,
            interface: Ipv4Addr::new(192, 0, 2, 10),
        }
    );
    assert_eq!(floor1.unicast_limit(e), 50);
    assert_eq!(
        names(&c.resolve_zone("all").unwrap()),
        ["lobby", "hall", "office-1", "office-2"]
    );
    assert_eq!(c.reserved_ports(), HashSet::from([24000]));
    assert_eq!(
        c.reserved_groups(),
        HashSet::from([Ipv4Addr::new(239, 255, 20, 1)])
    );
    let s = c.schedule.as_ref().expect("the example has bells");
    assert_eq!(s.calendar.tz, chrono_tz::Europe::Berlin);
    assert_eq!(s.grace, Duration::from_secs(60));
    let bells: Vec<&str> = s.bells.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(bells, ["first-period", "lunch"]);
    // The example shows no secret: no inline `password =` key at all.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("password "))
    );
}

#[test]
fn the_demo_config_loads_on_loopback_with_one_phone_and_one_zone() {
    let c = Config::load(shipped("demo.toml")).unwrap();
    assert_eq!(c.engine.media_address, Ipv4Addr::LOCALHOST);
    assert_eq!(c.engine.interface, Ipv4Addr::LOCALHOST);
    assert!(
        c.engine
            .multicast_pool
            .network()
            .octets()
            .starts_with(&[239, 255])
    );
    assert_eq!(c.phones.len(), 1);
    assert_eq!(c.zones.len(), 1);
    let p = &c.phones[0];
    assert!(p.host.starts_with("127.0.0.1:"));
    // The variable `zonecast sim` reads its phones' password from.
    assert_eq!(
        p.password,
        PasswordSource::Env("ZONECAST_SIM_PASSWORD".into())
    );
    let reached = c.resolve_zone(&c.zones[0].name).unwrap();
    assert_eq!(reached.len(), 1);
    assert_eq!(reached[0].name, p.name);
}

#[test]
fn phones_and_zones_alone_get_every_default() {
    let text = format!("{}[zone.z]\nmembers = [\"a\"]\n", phone("a"));
    let c = Config::from_toml(&text, "site/zonecast.toml").unwrap();
    let mut want = Engine {
        journal: PathBuf::from("site/zonecast-journal.json"),
        ..Engine::default()
    };
    assert_eq!(c.engine, want);
    want.journal = PathBuf::from("zonecast-journal.json");
    assert_eq!(want, Engine::default());
    assert_eq!(c.priorities, Priorities::default());
    assert_eq!(
        c.zones[0].mode,
        ZoneMode::Multicast {
            group: None,
            port: None,
            ttl: 1,
            interface: Ipv4Addr::LOCALHOST
        }
    );
    assert_eq!(c.zones[0].volume, None);
    assert_eq!(c.zones[0].banner, None);
    // The interface follows media_address unless set.
    let text2 = format!("[engine]\nmedia_address = \"192.0.2.7\"\n{text}");
    let c2 = load(&text2).unwrap();
    assert_eq!(c2.engine.interface, Ipv4Addr::new(192, 0, 2, 7));
    // An empty file is a valid, empty config.
    assert!(load("").unwrap().phones.is_empty());
}

/// Exactly the text `zonecast sim` prints (src/cli/sim.rs `zones_snippet`).
fn sim_snippet(n: usize, password_env: &str) -> String {
    let mut s = format!(
        "# zonecast sim: {n} emulated phones. They accept user \"admin\" with the password in \
         ${password_env}\n# (when it is unset: the emulator's built-in default).\n"
    );
    let models = ["CP-8851", "CP-7841", "CP-8851-3PCC", "CP-7942G"];
    let mut members = Vec::new();
    for i in 1..=n {
        let name = format!("p{i:03}");
        s.push_str(&format!(
            "[[phone]]\nname = {:?}\nhost = \"{}\"\nmodel = {:?}\nuser = {:?}\npassword_env = {:?}\n\n",
            name,
            std::net::SocketAddr::from(([127, 0, 0, 1], 40000 + i as u16)),
            models[i % models.len()],
            "admin",
            password_env
        ));
        members.push(format!("{name:?}"));
    }
    s.push_str(&format!("[zone.sim]\nmembers = [{}]\n", members.join(", ")));
    s
}

#[test]
fn the_sim_snippet_loads_alone_and_appended_to_an_engine_less_file() {
    let snippet = sim_snippet(120, "ZONECAST_SIM_PASSWORD");
    let head = "# my site\n[priorities]\nequal = \"wait\"\n\n";
    for text in [snippet.clone(), format!("{head}{snippet}")] {
        let c = load(&text).unwrap();
        assert_eq!(c.phones.len(), 120);
        let all = c.resolve_zone("sim").unwrap();
        assert_eq!(all.len(), 120);
        assert_eq!(all[0].name, "p001");
        assert_eq!(all[0].host, "127.0.0.1:40001");
        // 120 phones: above max_unicast, fine because zones default to multicast.
        assert!(c.zones[0].mode.is_multicast());
    }
    // Also after the demo config, which has an [engine] table.
    let demo = std::fs::read_to_string(shipped("demo.toml")).unwrap();
    let c = load(&format!("{demo}\n{snippet}")).unwrap();
    assert_eq!(c.phones.len(), 121);
    assert_eq!(c.zones.len(), 2);
}

#[test]
fn an_unknown_key_names_file_line_and_key() {
    let text = format!("{}[zone.z]\nmembers = [\"a\"]\nvolum = 3\n", phone("a"));
    let e = err(&text);
    assert_at(&e, &text, "volum", "[zone.z]", "unknown field");
    assert!(e.to_string().contains("volum"), "{e}");

    let text = "[engine]\nport_pol = \"20480-20490\"\n";
    assert_at(&err(text), text, "port_pol", "[engine]", "port_pol");
    let text = "[[phones]]\nname = \"a\"\n";
    assert_at(&err(text), text, "[[phones]]", "", "phones");
}

#[test]
fn a_type_error_names_the_table_and_key() {
    let text = "[engine]\nmulticast_ttl = \"one\"\n";
    let e = err(text);
    assert_at(
        &e,
        text,
        "multicast_ttl",
        "[engine] multicast_ttl",
        "expected i64",
    );
    assert_eq!(e.value, "one");
}

#[test]
fn odd_or_out_of_range_ports_are_refused_where_written() {
    let base = format!("{}[zone.z]\nmembers = [\"a\"]\n", phone("a"));
    for bad in ["20481", "1000", "40000", "-2"] {
        let text = format!("{base}port = {bad}\n");
        let e = err(&text);
        assert_at(
            &e,
            &text,
            "port =",
            "zone \"z\" port",
            "even, 20480..=32768",
        );
        assert_eq!(e.value, bad);
    }
    let text = format!("[engine]\nport_pool = \"20480-20491\"\n{base}");
    let e = err(&text);
    assert_at(&e, &text, "port_pool", "[engine] port_pool", "even");
}

#[test]
fn a_member_that_is_neither_phone_nor_zone_is_named() {
    let text = format!(
        "{}[zone.floor1]\nmembers = [\n  \"a\",\n  \"p099\",\n]\n",
        phone("a")
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "\"p099\"",
        "zone \"floor1\" members",
        "\"p099\": is neither a phone nor a zone",
    );
}

#[test]
fn a_cycle_of_zones_is_refused_with_its_path() {
    let text = format!(
        "{}[zone.a]\nmembers = [\"p\", \"b\"]\n[zone.b]\nmembers = [\"a\"]\n",
        phone("p")
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "members = [\"a\"]",
        "zone \"b\" members",
        "a → b → a",
    );
    let text = format!("{}[zone.a]\nmembers = [\"p\", \"a\"]\n", phone("p"));
    assert_at(
        &err(&text),
        &text,
        "members = [\"p\", \"a\"]",
        "zone \"a\"",
        "a → a",
    );
}

#[test]
fn an_inline_password_is_refused_and_not_echoed() {
    let text = "[[phone]]\nname = \"a\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\nuser = \"u\"\n\
                password = \"hunter2\"\n";
    let e = err(text);
    assert_at(&e, text, "hunter2", "phone \"a\" password", "password_env");
    assert!(e.rule.contains("password_file"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    // Even when it is of a wrong shape.
    let text = text.replace("\"hunter2\"", "{ value = \"hunter2\" }");
    assert!(!err(&text).to_string().contains("hunter2"));
}

#[test]
fn a_phone_needs_exactly_one_password_source() {
    let none = "[[phone]]\nname = \"a\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\nuser = \"u\"\n";
    let e = err(none);
    assert_at(&e, none, "name = \"a\"", "phone \"a\"", "exactly one");
    let both = format!("{none}password_env = \"X\"\npassword_file = \"pw\"\n");
    assert_at(
        &err(&both),
        &both,
        "password_env",
        "phone \"a\" password_env",
        "not both",
    );
}

#[test]
fn a_phone_may_have_minted_credentials_bound_to_its_device_name() {
    let base = "[[phone]]\nname = \"a\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\nuser = \"u\"\n";
    let text = format!("{base}auth = \"minted\"\ndevice = \"SEP0011223344AA\"\n");
    let c = load(&text).unwrap();
    let p = &c.phones[0];
    assert_eq!(p.password, PasswordSource::Minted);
    assert_eq!(p.device.as_deref(), Some("SEP0011223344AA"));
    let s = p.secret().unwrap();
    assert!(s.is_minted());
    assert_eq!(s.minted_device(), Some("SEP0011223344AA"));
    // Without a device: any devicename may use them.
    let c = load(&format!("{base}auth = \"minted\"\n")).unwrap();
    assert_eq!(c.phones[0].device, None);
    assert_eq!(c.phones[0].secret().unwrap(), crate::push::Secret::minted());
    // A device name on a phone with a password is kept (it describes the phone).
    let c = load(&format!(
        "{base}password_env = \"X\"\ndevice = \"SEP0011223344AA\"\n"
    ))
    .unwrap();
    assert_eq!(c.phones[0].device.as_deref(), Some("SEP0011223344AA"));
}

#[test]
fn auth_is_minted_or_nothing_and_excludes_the_password_keys() {
    let base = "[[phone]]\nname = \"a\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\nuser = \"u\"\n";
    let text = format!("{base}auth = \"cucm\"\n");
    assert_at(
        &err(&text),
        &text,
        "auth = ",
        "phone \"a\" auth",
        "must be \"minted\"",
    );
    let text = format!("{base}password_env = \"X\"\nauth = \"minted\"\n");
    assert_at(
        &err(&text),
        &text,
        "password_env",
        "phone \"a\" password_env",
        "exactly one",
    );
    let text = format!("{base}auth = \"minted\"\npassword_file = \"pw\"\n");
    assert_at(
        &err(&text),
        &text,
        "password_file",
        "phone \"a\" password_file",
        "exactly one",
    );
    let e = err(base);
    assert!(e.rule.contains("auth = \"minted\""), "{e}");
    let text = format!("{base}auth = \"minted\"\ndevice = \"SEP0011223344\"\n");
    assert_at(
        &err(&text),
        &text,
        "device",
        "phone \"a\" device",
        "12 hex digits",
    );
    let text = format!("{base}auth = \"minted\"\ndevice = \"lobby phone\"\n");
    assert_at(
        &err(&text),
        &text,
        "device",
        "phone \"a\" device",
        "letters, digits",
    );
    let text = format!("{base}auth = true\n");
    assert!(
        err(&text).field.starts_with(&format!("{PATH}:6:")),
        "{}",
        err(&text)
    );
}

#[test]
fn duplicate_names_are_refused_with_both_places() {
    let text = phones(&["a", "b", "a"]);
    let e = err(&text);
    let second = text.match_indices("name = \"a\"").nth(1).unwrap().0;
    let line = text[..second].lines().count() + 1;
    assert!(e.field.starts_with(&format!("{PATH}:{line}:")), "{e}");
    assert!(e.field.contains("phone \"a\" name"), "{e}");
    assert!(
        e.rule
            .contains(&format!("line {}", line_of(&text, "name = \"a\""))),
        "{e}"
    );

    let text = format!("{}[zone.a]\nmembers = [\"b\"]\n", phones(&["a", "b"]));
    let e = err(&text);
    assert_at(&e, &text, "[zone.a]", "zone name", "share one namespace");
    // Two [zone.x] tables: TOML itself refuses, still with the place.
    let text = format!(
        "{}[zone.x]\nmembers = [\"a\"]\n[zone.x]\nmembers = [\"a\"]\n",
        phone("a")
    );
    let e = err(&text);
    assert!(e.field.starts_with(&format!("{PATH}:")), "{e}");
}

#[test]
fn names_must_be_non_empty_without_spaces() {
    let text = phone("front desk");
    assert_at(&err(&text), &text, "front desk", "name", "without spaces");
    let text = phone("");
    assert_at(&err(&text), &text, "name = \"\"", "name", "non-empty");
    let text = format!("{}[zone.\"my zone\"]\nmembers = [\"a\"]\n", phone("a"));
    assert_at(&err(&text), &text, "my zone", "zone name", "without spaces");
}

#[test]
fn priority_errors_name_the_key() {
    let text = "[priorities]\nlevels = [\"low\", \"high\"]\ndefault = \"normal\"\n";
    let e = err(text);
    assert_at(&e, text, "default", "[priorities] default", "low, high");
    let text = "[priorities]\nlevels = [\"low\", \"low\"]\n";
    assert_at(&err(text), text, "levels", "[priorities] levels", "twice");
    let text = "[priorities]\nloudest = [\"fire\"]\n";
    assert_at(&err(text), text, "loudest", "[priorities] loudest", "fire");
    let text = "[priorities]\nequal = \"preempt\"\n";
    assert_at(&err(text), text, "equal", "[priorities] equal", "refuse");
    let text = "[priorities]\nlevels = []\n";
    assert_at(
        &err(text),
        text,
        "levels",
        "[priorities] levels",
        "at least one",
    );

    let c =
        load("[priorities]\nlevels = [\"low\", \"high\", \"fire\"]\nequal = \"wait\"\n").unwrap();
    let p = &c.priorities;
    assert_eq!(p.default, "low");
    assert!(
        p.loudest.is_empty(),
        "custom levels start with no loudest level"
    );
    assert_eq!(p.equal, EqualPolicy::Wait);
    assert_eq!(p.rank("fire"), Some(2));
}

#[test]
fn zone_value_errors_name_zone_and_key() {
    let base = format!("{}[zone.z]\nmembers = [\"a\"]\n", phone("a"));
    let cases = [
        (
            "banner = \"This banner is much longer than thirty-two\"",
            "banner",
            "1..=32",
        ),
        ("banner = \"\"", "banner", "1..=32"),
        ("volume = 101", "volume", "0..=100"),
        ("ttl = 256", "ttl", "0..=255"),
        ("group = \"10.0.0.1\"", "group", "224.0.0.0/4"),
        ("group = \"239.1.1\"", "group", "IPv4"),
        ("interface = \"239.1.1.1\"", "interface", "unicast"),
        ("mode = \"broadcast\"", "mode", "\"unicast\""),
        (
            "mode = \"unicast\"\ngroup = \"239.1.1.1\"",
            "group",
            "only for mode",
        ),
        ("max_unicast = 0", "max_unicast", "1..="),
        ("members = []", "members", "at least one"),
    ];
    for (line, key, says) in cases {
        let text = base.replace("members = [\"a\"]\n", "") + line + "\n";
        let text = if key == "members" {
            text
        } else {
            format!("{base}{line}\n")
        };
        let first = line.lines().last().unwrap_or(line);
        assert_at(
            &err(&text),
            &text,
            first,
            &format!("zone \"z\" {key}"),
            says,
        );
    }
}

#[test]
fn phone_value_errors_name_phone_and_key() {
    let p = phone("a");
    let cases = [
        (
            "host = \"10.0.0.1\"",
            "host = \"10.0.0.300\"",
            "host",
            "IPv4",
        ),
        ("host = \"10.0.0.1\"", "host = \"[::1]:80\"", "host", "IPv6"),
        ("model = \"CP-8851\"", "model = \"  \"", "model", "CP-8851"),
        ("user = \"u\"", "user = \"\"", "user", "empty"),
        (
            "password_env = \"ZC_PW\"",
            "password_env = \"A B\"",
            "password_env",
            "variable",
        ),
    ];
    for (from, to, key, says) in cases {
        let text = p.replace(from, to);
        assert_at(&err(&text), &text, to, &format!("phone \"a\" {key}"), says);
    }
    let text = format!("{p}https = \"yes\"\n");
    assert_at(&err(&text), &text, "https", "https", "bool");
}

#[test]
fn engine_value_errors_name_the_key() {
    let cases = [
        ("media_address = \"239.1.1.1\"", "media_address", "unicast"),
        ("media_address = \"localhost\"", "media_address", "IPv4"),
        (
            "multicast_pool = \"10.0.0.0/8\"",
            "multicast_pool",
            "224.0.0.0/4",
        ),
        ("push_timeout = \"5\"", "push_timeout", "200ms"),
        ("push_timeout = \"0s\"", "push_timeout", "more than 0"),
        ("push_concurrency = 0", "push_concurrency", "1..="),
        ("push_retries = 11", "push_retries", "0..=10"),
        ("pre_tone = \"9000\"", "pre_tone", "3900"),
        ("max_unicast = -1", "max_unicast", "1..="),
        ("loudness = -5", "loudness", "-30..=-10"),
        ("loudness = -30.5", "loudness", "LUFS"),
    ];
    for (line, key, says) in cases {
        let text = format!("[engine]\n{line}\n");
        assert_at(&err(&text), &text, line, &format!("[engine] {key}"), says);
    }
}

#[test]
fn engine_loudness_takes_whole_or_fractional_lufs() {
    for (line, lufs) in [("loudness = -23", -23.0), ("loudness = -16.5", -16.5)] {
        let c = load(&format!("[engine]\n{line}\n")).unwrap();
        assert_eq!(c.engine.loudness.lufs, lufs, "{line}");
    }
}

#[test]
fn a_unicast_zone_over_its_limit_is_refused() {
    let ps = phones(&["a", "b", "c"]);
    let text = format!(
        "[engine]\nmax_unicast = 2\n{ps}[zone.z]\nmembers = [\"a\", \"b\", \"c\"]\nmode = \"unicast\"\n"
    );
    let e = err(&text);
    assert_at(
        &e,
        &text,
        "mode = \"unicast\"",
        "zone \"z\" mode",
        "reaches 3 phones",
    );
    // The zone's own limit overrides the engine's.
    let ok = format!("{text}max_unicast = 3\n");
    assert!(load(&ok).is_ok());
    // Multicast zones have no such limit.
    assert!(load(&text.replace("\"unicast\"", "\"multicast\"")).is_ok());
}

#[test]
fn zones_resolve_in_first_seen_order_each_phone_once() {
    let text = format!(
        "{}\
         [zone.top]\nmembers = [\"d\", \"left\", \"a\", \"right\", \"e\"]\n\
         [zone.left]\nmembers = [\"a\", \"inner\", \"b\"]\n\
         [zone.right]\nmembers = [\"inner\", \"b\", \"c\"]\n\
         [zone.inner]\nmembers = [\"c\", \"a\"]\n",
        phones(&["a", "b", "c", "d", "e"])
    );
    let c = load(&text).unwrap();
    assert_eq!(
        names(&c.resolve_zone("top").unwrap()),
        ["d", "a", "c", "b", "e"]
    );
    assert_eq!(names(&c.resolve_zone("right").unwrap()), ["c", "a", "b"]);
    assert_eq!(names(&c.resolve_zone("inner").unwrap()), ["c", "a"]);
    let e = c.resolve_zone("nowhere").unwrap_err();
    assert_eq!(e.value, "nowhere");
    assert!(e.rule.contains("top, left, right, inner"), "{e}");
    // A cycle made after load (public fields) still ends.
    let mut c = c;
    c.zones[3].members.push("top".into());
    assert_eq!(c.resolve_zone("inner").unwrap().len(), 5);
}

#[test]
fn debug_shows_password_sources_not_passwords() {
    let var = "ZONECAST_CONFIG_TEST_DEBUG_PW";
    // SAFETY: test-only variable with a name no other test uses; nothing else reads it.
    unsafe { std::env::set_var(var, "s3cret-debug-value") };
    let text = phone("a").replace("ZC_PW", var);
    let c = load(&text).unwrap();
    let shown = format!("{c:?} {c:#?}");
    assert!(!shown.contains("s3cret-debug-value"), "{shown}");
    assert!(shown.contains(var));
    assert_eq!(
        format!("{:?}", c.phones[0].password),
        format!("Env({var:?})")
    );
    let pushed = c.phones[0].push_target(c.phones[0].secret().unwrap());
    assert!(!format!("{pushed:?}").contains("s3cret-debug-value"));
}

#[test]
fn password_env_and_file_are_read_when_asked() {
    let var = "ZONECAST_CONFIG_TEST_RESOLVE_PW";
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/b.pw"), "from-file\n").unwrap();
    let text = format!(
        "{}{}",
        phone("a").replace("ZC_PW", var),
        phone("b").replace(
            "password_env = \"ZC_PW\"",
            "password_file = \"secrets/b.pw\""
        )
    );
    let path = dir.path().join("zonecast.toml");
    std::fs::write(&path, &text).unwrap();
    // Loading needs no password: it is read only when used.
    let c = Config::load(&path).unwrap();
    let e = c.phones[0].secret().unwrap_err();
    assert!(e.to_string().contains(var), "{e}");
    // SAFETY: test-only variable with a name no other test uses; nothing else reads it.
    unsafe { std::env::set_var(var, "from-env") };
    let a = &c.phones[0];
    let target = a.push_target(a.secret().unwrap());
    assert_eq!(target.password.expose(), "from-env");
    assert_eq!(
        (target.name.as_str(), target.host.as_str()),
        ("a", "10.0.0.1")
    );
    assert_eq!(target.user, "u");
    assert!(!target.https);
    assert_eq!(c.phones[1].secret().unwrap().expose(), "from-file");
}

#[test]
fn a_missing_file_is_named() {
    let e = Config::load("/nonexistent/zonecast.toml").unwrap_err();
    assert_eq!(e.value, "/nonexistent/zonecast.toml");
    assert!(e.rule.contains("cannot read"), "{e}");
}

/// Two phones, zones `all` and `hall`, a `[schedule]` and one bell; `bell` replaces the bell's
/// keys and `sched` the schedule's.
fn with_bells(sched: &str, bell: &str) -> String {
    format!(
        "{}[zone.all]\nmembers = [\"p1\", \"p2\"]\n\n[zone.hall]\nmembers = [\"p1\"]\n\n\
         [schedule]\n{sched}\n\n[[bell]]\n{bell}\n",
        phones(&["p1", "p2"])
    )
}

const SCHED: &str = "timezone = \"Europe/Berlin\"\nholidays = [\"2026-12-24\"]\n\
                     terms = [[\"2026-09-01\", \"2026-12-18\"]]\ngrace = \"90s\"";
const BELL: &str = "name = \"morning\"\ncron = \"0 8 * * 1-5\"\nzones = [\"all\", \"hall\"]\n\
                    source = \"chime\"\npriority = \"urgent\"";

#[test]
fn bells_and_their_calendar_load() {
    let c = load(&with_bells(SCHED, BELL)).unwrap();
    let s = c.schedule.expect("a schedule");
    assert_eq!(s.calendar.tz, chrono_tz::Europe::Berlin);
    assert_eq!(s.calendar.holidays, ["2026-12-24".parse().unwrap()]);
    assert_eq!(
        s.calendar.terms,
        [("2026-09-01".parse().unwrap(), "2026-12-18".parse().unwrap())]
    );
    assert_eq!(s.grace, Duration::from_secs(90));
    assert_eq!(s.bells.len(), 1);
    let b = &s.bells[0];
    assert_eq!(
        (b.name.as_str(), b.cron.as_str(), b.source.as_str()),
        ("morning", "0 8 * * 1-5", "chime")
    );
    assert_eq!(b.zones, ["all", "hall"]);
    assert_eq!(b.priority.as_deref(), Some("urgent"));
    // Neither table: no schedule. Only the time zone: defaults.
    assert!(load(&phones(&["p1"])).unwrap().schedule.is_none());
    let s = load("[schedule]\ntimezone = \"UTC\"\n")
        .unwrap()
        .schedule
        .unwrap();
    assert_eq!(s.grace, crate::schedule::DEFAULT_GRACE);
    assert!(s.bells.is_empty() && s.calendar.terms.is_empty());
}

#[test]
fn schedule_errors_name_the_line_and_key() {
    let t = with_bells(SCHED, &BELL.replace("\"hall\"", "\"gym\""));
    assert_at(
        &err(&t),
        &t,
        "\"gym\"",
        "bell \"morning\" zones",
        "is not a zone",
    );
    let t = with_bells(&SCHED.replace("Europe/Berlin", "Europe/Springfield"), BELL);
    assert_at(&err(&t), &t, "Springfield", "[schedule] timezone", "IANA");
    let t = with_bells(SCHED, &BELL.replace("0 8 * * 1-5", "0 8 * * 1-9"));
    assert_at(&err(&t), &t, "cron =", "bell \"morning\" cron", "cron");
    let t = with_bells(SCHED, &BELL.replace("0 8 * * 1-5", "0 8 * *"));
    assert_at(&err(&t), &t, "cron =", "bell \"morning\" cron", "4 fields");
    let t = with_bells(&SCHED.replace("2026-12-24", "2026-12-32"), BELL);
    assert_at(
        &err(&t),
        &t,
        "holidays",
        "[schedule] holidays",
        "YYYY-MM-DD",
    );
    let t = with_bells(&SCHED.replace("\"2026-12-18\"", "\"2026-08-18\""), BELL);
    assert_at(&err(&t), &t, "terms", "[schedule] terms", "ends before");
    let t = with_bells(&SCHED.replace(", \"2026-12-18\"", ""), BELL);
    assert_at(&err(&t), &t, "terms", "[schedule] terms", "each term");
    let t = with_bells(SCHED, &BELL.replace("\"urgent\"", "\"loud\""));
    assert_at(
        &err(&t),
        &t,
        "\"loud\"",
        "bell \"morning\" priority",
        "levels",
    );
    let t = with_bells(SCHED, &BELL.replace("\"chime\"", "\"mic:10\""));
    assert_at(
        &err(&t),
        &t,
        "mic:10",
        "bell \"morning\" source",
        "unattended",
    );
    let t = with_bells(&SCHED.replace("90s", "soon"), BELL);
    assert_at(&err(&t), &t, "grace", "[schedule] grace", "duration");
    let t = with_bells(SCHED, &format!("{BELL}\nvolume = 3"));
    assert_at(&err(&t), &t, "volume", "bell", "unknown field");
    let t = format!("{}\n[[bell]]\n{BELL}\n", with_bells(SCHED, BELL));
    let e = err(&t);
    assert!(
        e.to_string().contains("already the name of the bell"),
        "{e}"
    );
    // Bells without a [schedule]: said so at the bell.
    let t = format!("{}[[bell]]\n{BELL}\n", phones(&["p1"]));
    assert_at(
        &err(&t),
        &t,
        "name = \"morning\"",
        "[[bell]] name",
        "[schedule]",
    );
}

#[test]
fn server_table_errors_name_the_key_and_never_echo_a_token() {
    let e = err("[server]\ntoken = \"s3cret-token\"\n");
    assert!(e.field.ends_with("[server] token"), "{e}");
    assert!(!e.to_string().contains("s3cret-token"), "{e}");
    assert!(e.to_string().contains(":2:"), "{e}");
    let e = err("[server]\nlisten = \"localhost\"\n");
    assert!(e.field.ends_with("[server] listen"), "{e}");
    let e = err("[server]\nupload_limit = \"lots\"\n");
    assert!(e.field.ends_with("[server] upload_limit"), "{e}");
    let e = err("[server]\ntoken_env = \"A\"\ntoken_file = \"b\"\n");
    assert!(e.rule.contains("not both"), "{e}");
    let e = err("[server]\npublic_url = \"10.0.0.5:8460\"\n");
    assert!(e.field.ends_with("[server] public_url"), "{e}");
    // The phones' Notify callbacks are plain HTTP: an https:// public URL cannot give them an
    // address (it used to become `Notify:http:HOST:443:...`).
    let e = err("[server]\npublic_url = \"https://paging.example\"\n");
    assert!(e.field.ends_with("[server] public_url"), "{e}");
    assert_eq!(e.value, "https://paging.example");
    assert!(e.rule.contains("plain HTTP"), "{e}");
    let e = err("[server]\npublic_url = \"http://[::1]:8460\"\n");
    assert!(e.field.ends_with("[server] public_url"), "{e}");
    let e = err("[server]\nlisten_on = \"x\"\n");
    assert!(e.to_string().contains("listen_on"), "{e}");
}

#[test]
fn without_a_server_table_the_defaults_hold_and_serve_needs_a_token() {
    let c = Config::from_toml("", "/etc/zonecast/zonecast.toml").unwrap();
    assert_eq!(c.server.listen.port(), crate::config::DEFAULT_PORT);
    assert!(c.server.listen.ip().is_loopback());
    assert_eq!(
        c.server.data_dir,
        std::path::PathBuf::from("/etc/zonecast/zonecast-data")
    );
    let e = c.server.token().unwrap_err();
    assert!(e.rule.contains("bearer token"), "{e}");
}

#[test]
fn services_tables_are_checked_against_phones_zones_and_levels() {
    let base = "[[phone]]\nname = \"a\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\nuser = \"u\"\n\
                password_env = \"X\"\n\n[zone.z]\nmembers = [\"a\"]\n\n";
    let e = err(&format!(
        "{base}[[permission]]\nphones = [\"nobody\"]\nzones = [\"z\"]\n"
    ));
    assert!(e.field.ends_with("permission phones"), "{e}");
    let e = err(&format!(
        "{base}[[permission]]\nphones = [\"a\"]\nzones = [\"nowhere\"]\n"
    ));
    assert!(e.field.ends_with("permission zones"), "{e}");
    let e = err(&format!(
        "{base}[[permission]]\nphones = [\"a\"]\nmessages = [\"m\"]\n"
    ));
    assert!(e.rule.contains("[[message]]"), "{e}");
    let e = err(&format!(
        "{base}[[message]]\nname = \"m\"\nsource = \"mic:5\"\nzones = [\"z\"]\n"
    ));
    assert!(e.field.ends_with("message \"m\" source"), "{e}");
    let e = err(&format!(
        "{base}[[message]]\nname = \"m\"\nsource = \"bell\"\nzones = [\"z\"]\npriority = \"panic\"\n"
    ));
    assert!(e.field.ends_with("message \"m\" priority"), "{e}");
    let ok = load(&format!(
        "{base}[[message]]\nname = \"m\"\nsource = \"bell\"\nzones = [\"z\"]\n\n\
         [[permission]]\nphones = [\"z\"]\nzones = [\"z\"]\nmessages = [\"m\"]\n"
    ))
    .unwrap();
    let (zones, msgs) = ok.services.allowed("a", |z| {
        ok.resolve_zone(z)
            .map(|v| v.into_iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default()
    });
    assert_eq!((zones, msgs.len()), (vec!["z".to_owned()], 1));
    // A bell may be rung from a phone: it becomes a message.
    let with_bell = load(&format!(
        "{base}[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"recess\"\ncron = \"0 10 * * *\"\n\
         zones = [\"z\"]\nsource = \"bell\"\n\n[[permission]]\nphones = [\"a\"]\nmessages = [\"recess\"]\n"
    ))
    .unwrap();
    let m = with_bell.services.message("recess").unwrap();
    assert_eq!(
        (m.title.as_str(), m.source.as_str()),
        ("Bell: recess", "bell")
    );
    assert_eq!(m.zones, ["z"]);
}
