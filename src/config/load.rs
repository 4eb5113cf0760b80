//! From TOML text to a checked [`Config`]: serde reads the shape (unknown keys refused, every
//! value kept with its place in the file), then each table's own module checks its values with
//! their place at hand, so a semantic error points at the line that holds the offending value.
//! This file only orders the checks: tables that others refer to come first, then the checks
//! that span tables.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::cluster::{self, RawCluster};
use super::cucm::{self, RawCucm};
use super::engine::{self, RawEngine};
use super::graph;
use super::phone_check::{self, RawPhone};
use super::priority::{self, RawPriorities};
use super::schedule::{self, RawBell, RawSchedule};
use super::server::{self, RawServer};
use super::services::{self, RawMessage, RawPermission};
use super::sip::{self, RawSip};
use super::sip_endpoint::{self, RawSipEndpoint};
use super::source::Source;
use super::speaker::{self, RawSpeaker};
use super::speech::{self, RawSpeech};
use super::value::Text;
use super::zone_check::{self, RawZone};
use super::{Config, Services};
use crate::error::Invalid;

/// The whole file as written: each table is checked by the module that owns it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    engine: RawEngine,
    #[serde(default)]
    priorities: Option<RawPriorities>,
    #[serde(default)]
    phone: Vec<RawPhone>,
    #[serde(default)]
    zone: BTreeMap<Text, RawZone>,
    schedule: Option<Spanned<RawSchedule>>,
    #[serde(default)]
    bell: Vec<RawBell>,
    server: Option<RawServer>,
    #[serde(default)]
    permission: Vec<RawPermission>,
    #[serde(default)]
    message: Vec<RawMessage>,
    #[serde(default)]
    speech: RawSpeech,
    sip: Option<Spanned<RawSip>>,
    cucm: Option<Spanned<RawCucm>>,
    cluster: Option<Spanned<RawCluster>>,
    #[serde(default)]
    speaker: Vec<RawSpeaker>,
    #[serde(default)]
    sip_endpoint: Vec<RawSipEndpoint>,
}

pub(super) fn load(text: &str, path: &Path) -> Result<Config, Invalid> {
    let src = Source { text, path };
    let raw: RawFile = toml::from_str(text).map_err(|e| src.parse_error(&e))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let engine = engine::check(&src, raw.engine, base)?;
    let priorities = priority::check(&src, raw.priorities)?;
    let (phones, phone_lines) = phone_check::check(&src, raw.phone, base)?;
    let (zones, spans) =
        zone_check::check(&src, raw.zone, &engine, &phone_lines, raw.cucm.is_some())?;
    graph::check_cycles(&src, &zones, &spans)?;
    let voice = speech::voice(&src, &raw.speech, &crate::source::Voice::default(), &|k| {
        format!("[speech] {k}")
    })?;
    // Before the bells and the SIP routes: either may page a district zone.
    let cluster = cluster::check(&src, raw.cluster, base)?;
    let district = cluster.as_ref().map_or(&[][..], |c| &c.district[..]);
    let schedule = schedule::check(
        &src,
        raw.schedule,
        raw.bell,
        &zones,
        district,
        &priorities,
        &voice,
    )?;
    let server = server::check(&src, raw.server, base)?;
    let sip = sip::check(
        &src,
        raw.sip,
        &schedule::with_district_zones(&zones, district),
        &priorities,
    )?;
    let cucm = cucm::check(&src, raw.cucm, base)?;
    let taken: std::collections::HashSet<&str> = phones
        .iter()
        .map(|p| p.name.as_str())
        .chain(zones.iter().map(|z| z.name.as_str()))
        .collect();
    let speakers = speaker::check(&src, raw.speaker, &zones, &taken)?;
    let mut taken = taken;
    taken.extend(speakers.iter().map(|s| s.name.as_str()));
    let sip_endpoints = sip_endpoint::check(&src, raw.sip_endpoint, &zones, &taken, base)?;
    let mut services = Services::default();
    services::check_messages(
        &src,
        raw.message,
        &zones,
        &priorities,
        &voice,
        &mut services,
    )?;
    let bells = schedule.as_ref().map_or(&[][..], |s| &s.bells[..]);
    services::check_permissions(&src, raw.permission, &phones, &zones, bells, &mut services)?;
    let config = Config {
        path: path.to_path_buf(),
        engine,
        priorities,
        phones,
        zones,
        schedule,
        server,
        services,
        speech: voice,
        sip,
        cucm,
        cluster,
        speakers,
        sip_endpoints,
    };
    graph::check_unicast_limits(&src, &config, &spans)?;
    Ok(config)
}
