//! From TOML text to a checked [`Config`]: serde reads the shape (unknown keys refused, every
//! value kept with its place in the file), then each value is checked here with its place at
//! hand, so a semantic error points at the line that holds the offending value.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::Config;
use super::engine::{self, RawEngine};
use super::graph;
use super::phone::PhoneEntry;
use super::phone_check::{self, RawPhone};
use super::priority::{self, Priorities, RawPriorities};
use super::server::{self, RawServer};
use super::services::{Message, Permission, Services};
use super::source::Source;
use super::value::{Text, check_name, duration};
use super::zone::Zone;
use super::zone_check::{self, RawZone};
use crate::error::Invalid;
use crate::schedule::{Bell, Calendar, DEFAULT_GRACE, ScheduleConfig, check_source, parse_cron};

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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPermission {
    phones: Spanned<Vec<Text>>,
    #[serde(default)]
    zones: Vec<Text>,
    #[serde(default)]
    messages: Vec<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    name: Text,
    title: Option<Text>,
    source: Text,
    zones: Spanned<Vec<Text>>,
    priority: Option<Text>,
    confirm: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    timezone: Text,
    #[serde(default)]
    holidays: Vec<Text>,
    #[serde(default)]
    terms: Vec<Spanned<Vec<Text>>>,
    grace: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBell {
    name: Text,
    cron: Text,
    zones: Spanned<Vec<Text>>,
    source: Text,
    priority: Option<Text>,
}

pub(super) fn load(text: &str, path: &Path) -> Result<Config, Invalid> {
    let src = Source { text, path };
    let raw: RawFile = toml::from_str(text).map_err(|e| src.parse_error(&e))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let engine = engine::check(&src, raw.engine, base)?;
    let priorities = priority::check(&src, raw.priorities)?;
    let (phones, phone_lines) = phone_check::check(&src, raw.phone, base)?;
    let (zones, spans) = zone_check::check(&src, raw.zone, &engine, &phone_lines)?;
    graph::check_cycles(&src, &zones, &spans)?;
    let schedule = schedule(&src, raw.schedule, raw.bell, &zones, &priorities)?;
    let server = server::check(&src, raw.server, base)?;
    let services = services(
        &src,
        raw.permission,
        raw.message,
        &phones,
        &zones,
        &priorities,
        schedule.as_ref().map_or(&[][..], |s| &s.bells[..]),
    )?;
    let config = Config {
        path: path.to_path_buf(),
        engine,
        priorities,
        phones,
        zones,
        schedule,
        server,
        services,
    };
    graph::check_unicast_limits(&src, &config, &spans)?;
    Ok(config)
}

fn date(src: &Source, v: &Text, what: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(v.get_ref().trim(), "%Y-%m-%d").map_err(|_| {
        src.invalid(
            v.span(),
            what,
            v.get_ref(),
            "must be a date written YYYY-MM-DD, e.g. 2026-12-24",
        )
    })
}

/// `[schedule]` and the `[[bell]]`s: `None` when the file has neither.
fn schedule(
    src: &Source,
    raw: Option<Spanned<RawSchedule>>,
    bells: Vec<RawBell>,
    zones: &[Zone],
    priorities: &Priorities,
) -> Result<Option<ScheduleConfig>, Invalid> {
    let Some(raw) = raw else {
        return match bells.first() {
            None => Ok(None),
            Some(b) => Err(src.invalid(
                b.name.span(),
                "[[bell]] name",
                b.name.get_ref(),
                "bells need a [schedule] table with their time zone, e.g. \
                 timezone = \"Europe/Berlin\"",
            )),
        };
    };
    let raw = raw.into_inner();
    let tz = &raw.timezone;
    let tz: chrono_tz::Tz = tz.get_ref().trim().parse().map_err(|_| {
        src.invalid(
            tz.span(),
            "[schedule] timezone",
            tz.get_ref(),
            "is not an IANA time zone; write Area/City, e.g. Europe/Berlin or America/New_York",
        )
    })?;
    let mut calendar = Calendar::new(tz);
    for h in &raw.holidays {
        calendar.holidays.push(date(src, h, "[schedule] holidays")?);
    }
    for t in &raw.terms {
        let [first, last] = t.get_ref().as_slice() else {
            return Err(src.invalid(
                t.span(),
                "[schedule] terms",
                src.text.get(t.span()).unwrap_or(""),
                "each term is [\"FIRST-DAY\", \"LAST-DAY\"], e.g. [\"2026-09-01\", \"2026-12-18\"]",
            ));
        };
        let (a, b) = (
            date(src, first, "[schedule] terms")?,
            date(src, last, "[schedule] terms")?,
        );
        if b < a {
            return Err(src.invalid(
                last.span(),
                "[schedule] terms",
                last.get_ref(),
                format!("ends before it starts ({a})"),
            ));
        }
        calendar.terms.push((a, b));
    }
    let grace = match &raw.grace {
        Some(v) => duration(src, v, "[schedule] grace", true)?,
        None => DEFAULT_GRACE,
    };
    let mut out: Vec<Bell> = Vec::with_capacity(bells.len());
    let mut names: HashMap<String, usize> = HashMap::new();
    for r in bells {
        check_name(src, &r.name, "[[bell]] name")?;
        let name = r.name.get_ref().clone();
        let what = |key: &str| format!("bell {name:?} {key}");
        if let Some(first) = names.get(&name) {
            return Err(src.invalid(
                r.name.span(),
                what("name"),
                &name,
                format!("is already the name of the bell on {}", src.line(*first)),
            ));
        }
        names.insert(name.clone(), r.name.span().start);
        parse_cron(r.cron.get_ref())
            .map_err(|e| src.invalid(r.cron.span(), what("cron"), r.cron.get_ref(), e.rule))?;
        let play = Play {
            kind: "a bell",
            to: &r.zones,
            source: &r.source,
            priority: r.priority.as_ref(),
        };
        check_play(src, &what, &play, zones, priorities)?;
        out.push(Bell {
            name,
            cron: r.cron.into_inner(),
            zones: r
                .zones
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            source: r.source.into_inner(),
            priority: r.priority.map(Spanned::into_inner),
        });
    }
    Ok(Some(ScheduleConfig {
        calendar,
        grace,
        bells: out,
    }))
}

fn not_a_zone(src: &Source, z: &Text, what: String, zones: &[Zone]) -> Invalid {
    let known: Vec<&str> = zones.iter().map(|k| k.name.as_str()).collect();
    src.invalid(
        z.span(),
        what,
        z.get_ref(),
        if known.is_empty() {
            "is not a zone (the config defines none)".to_owned()
        } else {
            format!("is not a zone; the config defines: {}", known.join(", "))
        },
    )
}

/// What a bell or a message (`kind`) plays, where and how loud: it has zones, they exist, its source is one a bell
/// can play, its priority is a level.
/// What a bell or a message plays, as the file says it.
struct Play<'a> {
    /// "a bell", "a message" (for errors).
    kind: &'a str,
    to: &'a Spanned<Vec<Text>>,
    source: &'a Text,
    priority: Option<&'a Text>,
}

fn check_play(
    src: &Source,
    what: &dyn Fn(&str) -> String,
    play: &Play<'_>,
    zones: &[Zone],
    priorities: &Priorities,
) -> Result<(), Invalid> {
    let Play {
        kind,
        to,
        source,
        priority,
    } = *play;
    if to.get_ref().is_empty() {
        return Err(src.invalid(
            to.span(),
            what("zones"),
            "[]",
            format!("{kind} needs at least one zone"),
        ));
    }
    for z in to.get_ref() {
        if !zones.iter().any(|k| &k.name == z.get_ref()) {
            return Err(not_a_zone(src, z, what("zones"), zones));
        }
    }
    check_source(source.get_ref())
        .map_err(|e| src.invalid(source.span(), what("source"), source.get_ref(), e.rule))?;
    if let Some(p) = priority
        && priorities.rank(p.get_ref()).is_none()
    {
        return Err(src.invalid(
            p.span(),
            what("priority"),
            p.get_ref(),
            format!("is not one of the levels: {}", priorities.levels.join(", ")),
        ));
    }
    Ok(())
}

/// `[[message]]`s and `[[permission]]`s, checked against the phones, zones and levels.
fn services(
    src: &Source,
    permissions: Vec<RawPermission>,
    messages: Vec<RawMessage>,
    phones: &[PhoneEntry],
    zones: &[Zone],
    priorities: &Priorities,
    bells: &[Bell],
) -> Result<Services, Invalid> {
    let is_zone = |n: &str| zones.iter().any(|z| z.name == n);
    let mut out = Services::default();
    for r in messages {
        check_name(src, &r.name, "[[message]] name")?;
        let name = r.name.get_ref().clone();
        let what = |key: &str| format!("message {name:?} {key}");
        if out.messages.iter().any(|m| m.name == name) {
            return Err(src.invalid(
                r.name.span(),
                what("name"),
                &name,
                "is already a message's name",
            ));
        }
        let play = Play {
            kind: "a message",
            to: &r.zones,
            source: &r.source,
            priority: r.priority.as_ref(),
        };
        check_play(src, &what, &play, zones, priorities)?;
        let title = match &r.title {
            Some(t) if t.get_ref().trim().is_empty() || t.get_ref().chars().count() > 64 => {
                return Err(src.invalid(
                    t.span(),
                    what("title"),
                    t.get_ref(),
                    "must be 1..=64 characters",
                ));
            }
            Some(t) => t.get_ref().clone(),
            None => name.clone(),
        };
        out.messages.push(Message {
            name,
            title,
            source: r.source.into_inner(),
            zones: r
                .zones
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            priority: r.priority.map(Spanned::into_inner),
            confirm: r.confirm.unwrap_or(false),
        });
    }
    for r in permissions {
        let what = |key: &str| format!("permission {key}");
        if r.phones.get_ref().is_empty() {
            return Err(src.invalid(
                r.phones.span(),
                what("phones"),
                "[]",
                "name at least one phone or zone",
            ));
        }
        for p in r.phones.get_ref() {
            let n = p.get_ref();
            if !is_zone(n) && !phones.iter().any(|ph| &ph.name == n) {
                return Err(src.invalid(
                    p.span(),
                    what("phones"),
                    n,
                    "is neither a phone nor a zone",
                ));
            }
        }
        for z in &r.zones {
            if !is_zone(z.get_ref()) {
                return Err(not_a_zone(src, z, what("zones"), zones));
            }
        }
        for m in &r.messages {
            if out.message(m.get_ref()).is_some() {
                continue;
            }
            // A bell may be rung from a phone too: it becomes a message of its own.
            match bells.iter().find(|b| &b.name == m.get_ref()) {
                Some(b) => out.messages.push(Message {
                    name: b.name.clone(),
                    title: format!("Bell: {}", b.name),
                    source: b.source.clone(),
                    zones: b.zones.clone(),
                    priority: b.priority.clone(),
                    confirm: false,
                }),
                None => {
                    return Err(src.invalid(
                        m.span(),
                        what("messages"),
                        m.get_ref(),
                        "is neither a [[message]] nor a [[bell]] name",
                    ));
                }
            }
        }
        out.permissions.push(Permission {
            phones: r
                .phones
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            zones: r.zones.into_iter().map(Spanned::into_inner).collect(),
            messages: r.messages.into_iter().map(Spanned::into_inner).collect(),
        });
    }
    Ok(out)
}
