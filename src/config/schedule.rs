//! The `[schedule]` table and the `[[bell]]`s as the file writes them, checked into a
//! [`crate::schedule::ScheduleConfig`]: the time zone, holidays and terms of the calendar, the
//! grace period, and each bell's name, cron line and what it plays (its zones: the site's, or
//! a district zone of `[cluster.district]`).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::cluster::DistrictZone;
use super::play::{Play, check_play};
use super::priority::Priorities;
use super::source::Source;
use super::speech::{RawSpeech, check_speaks, voice};
use super::value::{Int, Text, check_name, duration};
use super::zone::Zone;
use crate::error::Invalid;
use crate::schedule::{Bell, Calendar, DEFAULT_GRACE, ScheduleConfig, parse_cron};

/// `[schedule]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    timezone: Text,
    #[serde(default)]
    holidays: Vec<Text>,
    #[serde(default)]
    terms: Vec<Spanned<Vec<Text>>>,
    grace: Option<Text>,
}

/// One `[[bell]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBell {
    name: Text,
    cron: Text,
    zones: Spanned<Vec<Text>>,
    source: Text,
    priority: Option<Text>,
    language: Option<Text>,
    voice: Option<Text>,
    rate: Option<Int>,
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
pub(super) fn check(
    src: &Source,
    raw: Option<Spanned<RawSchedule>>,
    bells: Vec<RawBell>,
    zones: &[Zone],
    district: &[DistrictZone],
    priorities: &Priorities,
    speech: &crate::source::Voice,
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
    let calendar = calendar(src, &raw)?;
    let grace = match &raw.grace {
        Some(v) => duration(src, v, "[schedule] grace", true)?,
        None => DEFAULT_GRACE,
    };
    let known = with_district_zones(zones, district);
    let bells = check_bells(src, bells, (&known, district), priorities, speech)?;
    Ok(Some(ScheduleConfig {
        calendar,
        grace,
        bells,
    }))
}

/// The time zone, holidays and terms of `[schedule]`.
fn calendar(src: &Source, raw: &RawSchedule) -> Result<Calendar, Invalid> {
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
    Ok(calendar)
}

/// The zones a bell or a SIP route may name: the site's, and the district's zones
/// (`[cluster.district]`), which the server pages as a district page (a part at every site; of
/// a pair, the node that wins the bell's claim starts it). A district zone stands in as a zone
/// with no members of this site: only its name matters to the checks (a name the site also
/// uses is the district's, as for `POST /api/pages`).
pub(super) fn with_district_zones(zones: &[Zone], district: &[DistrictZone]) -> Vec<Zone> {
    let mut known: Vec<Zone> = zones
        .iter()
        .filter(|z| !district.iter().any(|d| d.name == z.name))
        .cloned()
        .collect();
    known.extend(district.iter().map(|d| Zone {
        name: d.name.clone(),
        members: Vec::new(),
        mode: super::zone::ZoneMode::Unicast,
        volume: None,
        banner: None,
        max_unicast: None,
        codec: super::zone::ZoneCodec::default(),
        from_cucm: None,
    }));
    known
}

/// A bell that names a district zone plays at every site, each playing the source itself: a
/// file of this machine cannot travel (the sites take a source as an API caller's).
fn check_travels(
    src: &Source,
    r: &RawBell,
    district: &[DistrictZone],
    what: &dyn Fn(&str) -> String,
) -> Result<(), Invalid> {
    let named = r
        .zones
        .get_ref()
        .iter()
        .find(|z| district.iter().any(|d| &d.name == z.get_ref()));
    let Some(zone) = named else {
        return Ok(());
    };
    let file = crate::source::items(r.source.get_ref())
        .into_iter()
        .find(|i| matches!(i.parse(), Ok(crate::source::Segment::File(_))));
    match file {
        None => Ok(()),
        Some(item) => Err(src.invalid(
            r.source.span(),
            what("source"),
            item.trim(),
            format!(
                "a bell of the district zone {:?} plays at every site, and a file of this \
                 machine cannot: upload the sound at each site and play upload:NAME, or use a \
                 bundled sound, a tone or speech",
                zone.get_ref()
            ),
        )),
    }
}

/// The `[[bell]]`s: unique names, cron lines that parse, and what they play.
fn check_bells(
    src: &Source,
    bells: Vec<RawBell>,
    (zones, district): (&[Zone], &[DistrictZone]),
    priorities: &Priorities,
    speech: &crate::source::Voice,
) -> Result<Vec<Bell>, Invalid> {
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
        check_travels(src, &r, district, &what)?;
        let own = RawSpeech::of(r.language, r.voice, r.rate);
        let voice = voice(src, &own, speech, &what)?;
        check_speaks(src, &r.source, &voice, &what)?;
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
            voice,
        });
    }
    Ok(out)
}
