//! `zonecast schedule`: the next firings of the config's bells, for checking a calendar without
//! waiting for it.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use clap::Args;

use super::common::CliError;
use crate::config::Config;
use crate::schedule::{Calendar, Scheduler};

/// Arguments of `zonecast schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The configuration (its `[schedule]` and `[[bell]]`s).
    #[arg(long)]
    config: PathBuf,
    /// How many firings to list.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10000))]
    next: u16,
    /// List firings after this time instead of now: RFC 3339 (`2026-09-01T07:00:00Z`,
    /// `2026-09-01T08:00:00+02:00`), or a local date or date and time in the schedule's time zone
    /// (`2026-09-01`, `2026-09-01T08:00`).
    #[arg(long, value_name = "ISO8601")]
    from: Option<String>,
    /// Print the firings as JSON.
    #[arg(long)]
    json: bool,
}

/// `--from`: an instant, or a wall-clock time in the calendar's zone (the first, if it occurs
/// twice; the end of the gap, if it does not occur).
fn parse_from(text: &str, cal: &Calendar) -> Result<DateTime<Utc>, CliError> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    let bad = || {
        CliError::from(crate::error::Invalid::new(
            "--from",
            text,
            "must be RFC 3339 (2026-09-01T07:00:00Z) or a local date or time (2026-09-01, \
             2026-09-01T08:00)",
        ))
    };
    let naive = naive.ok_or_else(bad)?;
    // A moment before, so that a bell at exactly that local time is listed.
    let mut probe = naive;
    for _ in 0..=24 * 60 {
        if let Some(d) = cal.tz.from_local_datetime(&probe).earliest() {
            return Ok(d.with_timezone(&Utc) - chrono::TimeDelta::milliseconds(1));
        }
        probe += chrono::TimeDelta::minutes(1);
    }
    Err(bad())
}

pub fn run(a: ScheduleArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let Some(sched) = &config.schedule else {
        return Err(CliError::Invalid(format!(
            "{}: no [schedule] table: add one with timezone = \"Area/City\" and [[bell]]s",
            a.config.display()
        )));
    };
    let scheduler = Scheduler::from_config(sched)?;
    let from = match &a.from {
        Some(t) => parse_from(t, &sched.calendar)?,
        None => Utc::now(),
    };
    let firings = scheduler.next_firings(from, usize::from(a.next));
    if a.json {
        let list: Vec<serde_json::Value> = firings
            .iter()
            .filter_map(|f| {
                let b = scheduler.bell(&f.bell)?;
                Some(serde_json::json!({
                    "bell": f.bell,
                    "at": f.at.to_rfc3339(),
                    "local": f.local,
                    "zones": b.zones,
                    "source": b.source,
                    "priority": b.priority.as_deref().unwrap_or(&config.priorities.default),
                }))
            })
            .collect();
        let out = serde_json::json!({
            "timezone": sched.calendar.tz.name(),
            "from": from.to_rfc3339(),
            "firings": list,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(0);
    }
    if firings.is_empty() {
        println!(
            "no bell rings after {} ({} bells; holidays and terms may exclude every day)",
            scheduler.local(from),
            sched.bells.len()
        );
        return Ok(0);
    }
    let width = firings.iter().map(|f| f.bell.len()).max().unwrap_or(0);
    for f in &firings {
        let Some(b) = scheduler.bell(&f.bell) else {
            continue;
        };
        let priority = b.priority.as_deref().unwrap_or(&config.priorities.default);
        println!(
            "{}  {:width$}  zones {}  source {}  priority {}",
            f.local,
            f.bell,
            b.zones.join(","),
            b.source,
            priority
        );
    }
    Ok(0)
}
