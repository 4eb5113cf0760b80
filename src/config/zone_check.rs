//! The `[zone.NAME]` tables as the file writes them, checked into [`Zone`]s one by one: names
//! that are no phone's, members that are phones or zones, the mode and its multicast keys,
//! volume, banner and unicast limit. Checks on zones as a whole (cycles, unicast sizes) are
//! `graph`'s, which reads the [`ZoneSpans`] built here.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::engine::Engine;
use super::graph::ZoneSpans;
use super::screen_text::banner_rule;
use super::source::Source;
use super::value::{Int, Text, check_name, int, ipv4};
use super::zone::{Zone, ZoneCodec, ZoneMode};
use super::zone_rule::{self, RawCucmRule};
use crate::error::Invalid;
use crate::rtp::RtpPort;

/// One `[zone.NAME]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZone {
    members: Option<Spanned<Vec<Text>>>,
    from_cucm: Option<Spanned<RawCucmRule>>,
    mode: Option<Text>,
    group: Option<Text>,
    port: Option<Int>,
    ttl: Option<Int>,
    interface: Option<Text>,
    volume: Option<Int>,
    banner: Option<Text>,
    max_unicast: Option<Int>,
    codec: Option<Text>,
}

/// The zones in file order, and where each one's values are. `phones` maps each phone's name
/// to its byte offset (phones and zones share one namespace).
pub(super) fn check(
    src: &Source,
    raw: BTreeMap<Text, RawZone>,
    engine: &Engine,
    phones: &HashMap<String, usize>,
    has_cucm: bool,
) -> Result<(Vec<Zone>, Vec<ZoneSpans>), Invalid> {
    let mut raw: Vec<(Text, RawZone)> = raw.into_iter().collect();
    raw.sort_by_key(|(name, _)| name.span().start);
    let zone_names: HashMap<&str, usize> = raw
        .iter()
        .map(|(n, _)| (n.get_ref().as_str(), n.span().start))
        .collect();
    let mut zones = Vec::with_capacity(raw.len());
    let mut spans = Vec::with_capacity(raw.len());
    for (name_s, r) in &raw {
        check_name(src, name_s, "zone name")?;
        let name = name_s.get_ref();
        let what = |key: &str| format!("zone {name:?} {key}");
        if let Some(p) = phones.get(name) {
            return Err(src.invalid(
                name_s.span(),
                "zone name",
                name,
                format!(
                    "is already the name of the phone on {}; phones and zones share one \
                     namespace so that members are never ambiguous",
                    src.line(*p)
                ),
            ));
        }
        let from_cucm = match &r.from_cucm {
            Some(rule) => Some(zone_rule::check(src, rule, &what, has_cucm)?),
            None => None,
        };
        let members = members(src, r, name_s, &what, phones, &zone_names)?;
        let mode = mode(src, r, engine, &what)?;
        let volume = match &r.volume {
            Some(v) => Some(int(src, v, &what("volume"), 0..=100)?),
            None => None,
        };
        let banner = banner(src, r, &what)?;
        let max_unicast = match &r.max_unicast {
            Some(v) => Some(int(src, v, &what("max_unicast"), 1..=100_000)?),
            None => None,
        };
        let codec = codec(src, r, &what)?;
        spans.push(ZoneSpans {
            name: name_s.span(),
            members: r
                .members
                .iter()
                .flat_map(|ms| ms.get_ref().iter().map(|m| m.span()))
                .collect(),
            mode: r.mode.as_ref().map(|m| m.span()),
        });
        zones.push(Zone {
            name: name.clone(),
            members,
            mode,
            volume,
            banner,
            max_unicast,
            codec,
            from_cucm,
        });
    }
    Ok((zones, spans))
}

/// `codec = "g711"` (the default) or `"g722"`.
fn codec(src: &Source, r: &RawZone, what: &dyn Fn(&str) -> String) -> Result<ZoneCodec, Invalid> {
    Ok(match r.codec.as_ref() {
        None => ZoneCodec::G711,
        Some(c) => match c.get_ref().as_str() {
            "g711" => ZoneCodec::G711,
            "g722" => ZoneCodec::G722,
            other => {
                return Err(src.invalid(
                    c.span(),
                    what("codec"),
                    other,
                    "must be \"g711\" or \"g722\" (wideband, through the RTP Streaming API, to \
                     the phones that take it; G.711 to the others)",
                ));
            }
        },
    })
}

/// At least one member, each a phone or a zone (none needed beside a `from_cucm` rule).
fn members(
    src: &Source,
    r: &RawZone,
    name: &Text,
    what: &dyn Fn(&str) -> String,
    phones: &HashMap<String, usize>,
    zone_names: &HashMap<&str, usize>,
) -> Result<Vec<String>, Invalid> {
    let listed = r
        .members
        .as_ref()
        .map_or(&[][..], |m| m.get_ref().as_slice());
    if listed.is_empty() && r.from_cucm.is_none() {
        return Err(src.invalid(
            r.members.as_ref().map_or(name.span(), |m| m.span()),
            what("members"),
            "[]",
            "a zone needs at least one member (a phone or a zone) or a from_cucm rule",
        ));
    }
    let mut members = Vec::with_capacity(listed.len());
    for m in listed {
        let n = m.get_ref();
        if !phones.contains_key(n) && !zone_names.contains_key(n.as_str()) {
            return Err(src.invalid(
                m.span(),
                what("members"),
                n,
                "is neither a phone nor a zone",
            ));
        }
        members.push(n.clone());
    }
    Ok(members)
}

/// `mode`: multicast (the default) with its keys, or unicast without them.
fn mode(
    src: &Source,
    r: &RawZone,
    engine: &Engine,
    what: &dyn Fn(&str) -> String,
) -> Result<ZoneMode, Invalid> {
    let mode_name = r
        .mode
        .as_ref()
        .map_or("multicast", |m| m.get_ref().as_str());
    Ok(match mode_name {
        "multicast" => multicast(src, r, engine, what)?,
        "unicast" => {
            let fixed = [
                ("group", r.group.as_ref().map(|v| v.span())),
                ("port", r.port.as_ref().map(|v| v.span())),
                ("ttl", r.ttl.as_ref().map(|v| v.span())),
                ("interface", r.interface.as_ref().map(|v| v.span())),
            ];
            if let Some((key, Some(span))) = fixed.into_iter().find(|(_, s)| s.is_some()) {
                return Err(src.invalid(
                    span.clone(),
                    what(key),
                    src.text.get(span).unwrap_or("").trim_matches('"'),
                    format!("{key} is only for mode = \"multicast\" zones"),
                ));
            }
            ZoneMode::Unicast
        }
        other => {
            let span = r.mode.as_ref().map_or(0..0, |m| m.span());
            return Err(src.invalid(
                span,
                what("mode"),
                other,
                "must be \"multicast\" or \"unicast\"",
            ));
        }
    })
}

/// A multicast zone's group, port, TTL and interface (the engine's where the zone sets none).
fn multicast(
    src: &Source,
    r: &RawZone,
    engine: &Engine,
    what: &dyn Fn(&str) -> String,
) -> Result<ZoneMode, Invalid> {
    let group = match &r.group {
        Some(v) => {
            let ip = ipv4(src, v, &what("group"))?;
            if !ip.is_multicast() {
                return Err(src.invalid(
                    v.span(),
                    what("group"),
                    ip,
                    "must be a multicast group, 224.0.0.0/4 (e.g. 239.255.10.1)",
                ));
            }
            Some(ip)
        }
        None => None,
    };
    let port = match &r.port {
        Some(v) => {
            let n = *v.get_ref();
            let p = u16::try_from(n)
                .ok()
                .and_then(|n| RtpPort::new(n).ok())
                .ok_or_else(|| src.invalid(v.span(), what("port"), n, RtpPort::RULE))?;
            Some(p)
        }
        None => None,
    };
    let ttl = match &r.ttl {
        Some(v) => int(src, v, &what("ttl"), 0..=255)?,
        None => engine.multicast_ttl,
    };
    let interface = match &r.interface {
        Some(v) => {
            let ip = ipv4(src, v, &what("interface"))?;
            if ip.is_multicast() || ip.is_broadcast() {
                return Err(src.invalid(
                    v.span(),
                    what("interface"),
                    ip,
                    "must be the unicast address of a local interface",
                ));
            }
            ip
        }
        None => engine.interface,
    };
    Ok(ZoneMode::Multicast {
        group,
        port,
        ttl,
        interface,
    })
}

/// The banner, if given, by the rule every edge applies ([`banner_rule`]).
fn banner(
    src: &Source,
    r: &RawZone,
    what: &dyn Fn(&str) -> String,
) -> Result<Option<String>, Invalid> {
    match &r.banner {
        Some(b) => match banner_rule(b.get_ref()) {
            Ok(()) => Ok(Some(b.get_ref().clone())),
            Err(rule) => Err(src.invalid(b.span(), what("banner"), b.get_ref(), rule)),
        },
        None => Ok(None),
    }
}
