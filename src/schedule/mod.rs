//! Scheduled bells: cron expressions (5 fields, or 6 with seconds first) read on the wall clock
//! of one IANA time zone, with school calendars (holidays, term dates), and the decision whether
//! a bell that came due is rung or logged as missed.
//!
//! Pure, like the rest of the core: nothing here reads a clock. [`Scheduler::next_firings`]
//! answers "what rings after this instant", [`Scheduler::due`] is the state machine a server
//! calls with the current time; both take the time as an argument, so every rule is tested with
//! virtual time.
//!
//! ## Daylight saving
//!
//! A cron expression names wall-clock times, so it is matched against local time, and then each
//! local time is placed on the UTC timeline:
//!
//! - **Spring forward** (a local time that does not exist, e.g. 02:30 in Europe/Berlin on the
//!   last Sunday of March): the bell rings at the first valid instant after the gap (03:00 local).
//!   Several times in one gap (`*/15 2 * * *`) ring once there, and a bell also due at that
//!   instant does not ring twice.
//! - **Fall back** (a local time that occurs twice, e.g. 02:30 on the last Sunday of October):
//!   the bell rings once, at the first occurrence (still on summer time).
//!
//! ## Calendars
//!
//! A firing whose local date is a holiday is skipped; when terms are given, only firings whose
//! local date is inside a term (both ends included) ring.
//!
//! Unit tests: `tests`.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::error::Invalid;
use crate::source::{BUNDLED, Segment, Voice, items};

/// The grace a bell gets when the server was not running at its time (`[schedule] grace`).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// Most firings one bell yields per query: a bell every second over a week-long outage must not
/// make [`Scheduler::due`] build millions of decisions (the earliest are reported, all missed,
/// and the rest of that window is dropped).
const MAX_PER_BELL: usize = 10_000;

/// One scheduled bell, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bell {
    /// Unique name (shown in listings and logs).
    pub name: String,
    /// Cron expression: 5 fields (minute hour day month weekday) or 6 (seconds first).
    pub cron: String,
    /// Zones it pages.
    pub zones: Vec<String>,
    /// What it plays: a segment such as `chime`, `tone:880:2`, `file:bell.wav`, or several
    /// comma-separated, as `zonecast page --sequence` takes them.
    pub source: String,
    /// Priority level (None: the config's default).
    pub priority: Option<String>,
    /// The voice a `say:` source speaks in (`[speech]`, or the bell's own keys).
    pub voice: Voice,
}

/// Where the bells' wall clock is and which days they ring on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// The time zone the cron expressions are read in.
    pub tz: Tz,
    /// Days no bell rings.
    pub holidays: Vec<NaiveDate>,
    /// Terms (first and last day, both included); if non-empty, bells ring only inside one.
    pub terms: Vec<(NaiveDate, NaiveDate)>,
}

impl Calendar {
    /// A calendar in `tz` with no holidays and no terms.
    pub fn new(tz: Tz) -> Self {
        Calendar {
            tz,
            holidays: Vec::new(),
            terms: Vec::new(),
        }
    }

    /// Whether bells ring on local date `d`.
    pub fn rings_on(&self, d: NaiveDate) -> bool {
        !self.holidays.contains(&d)
            && (self.terms.is_empty() || self.terms.iter().any(|(a, b)| (*a..=*b).contains(&d)))
    }

    /// The last day anything can ring (the end of the last term), if terms are given.
    fn last_day(&self) -> Option<NaiveDate> {
        self.terms.iter().map(|(_, b)| *b).max()
    }
}

/// The `[schedule]` table and the `[[bell]]`s of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Time zone, holidays and terms.
    pub calendar: Calendar,
    /// How late a bell may still ring (default [`DEFAULT_GRACE`]).
    pub grace: Duration,
    /// The bells, in file order.
    pub bells: Vec<Bell>,
}

/// A bell at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// The bell's name.
    pub bell: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The same instant on the calendar's wall clock, e.g. `2026-09-01 Tue 08:00:00 CEST`.
    pub local: String,
}

/// What [`Scheduler::due`] says about a bell that came due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ring it now.
    Ring {
        /// The bell's name.
        bell: String,
        /// When it was due.
        at: DateTime<Utc>,
    },
    /// Too late (more than the grace after its time): log it, do not ring.
    Missed {
        /// The bell's name.
        bell: String,
        /// When it was due.
        at: DateTime<Utc>,
        /// How late it would have been.
        late_by: Duration,
    },
}

/// Parse a cron expression the way bells take them: 5 fields, or 6 with seconds first; no year.
pub fn parse_cron(text: &str) -> Result<Cron, Invalid> {
    let fields = text.split_whitespace().count();
    let starts_alias = text.trim_start().starts_with('@');
    if !starts_alias && !(5..=6).contains(&fields) {
        return Err(Invalid::new(
            "cron",
            text,
            format!(
                "has {fields} fields; a cron expression has 5 (minute hour day month weekday) \
                 or 6 (seconds first)"
            ),
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| Invalid::new("cron", text, format!("is not a cron expression: {e}")))
}

/// Check a bell's source: segments as `zonecast page --sequence` takes them, except the
/// microphone (a bell rings with nobody at it).
pub fn check_source(text: &str) -> Result<(), Invalid> {
    if text.trim().is_empty() {
        return Err(Invalid::new(
            "source",
            text,
            "must be chime, bell, alert, evacuation, announcement, tone:HZ:SECS, file:PATH, silence:SECS \
             or say:TEXT (or several, comma-separated; say:TEXT last)",
        ));
    }
    for item in items(text) {
        if BUNDLED.contains(&item.trim()) {
            continue;
        }
        match Segment::from_str(item)? {
            Segment::Mic { .. } => {
                return Err(Invalid::new(
                    "source",
                    text,
                    "a bell plays unattended: use chime, tone:HZ:SECS, file:PATH or silence:SECS",
                ));
            }
            _ => continue,
        }
    }
    Ok(())
}

/// The bells, their calendar and the last time [`Scheduler::due`] ran.
#[derive(Debug, Clone)]
pub struct Scheduler {
    bells: Vec<(Bell, Cron)>,
    calendar: Calendar,
    grace: Duration,
    last_run: Option<DateTime<Utc>>,
}

impl Scheduler {
    /// A scheduler for `bells` (their cron expressions are parsed here) with the default grace.
    pub fn new(bells: Vec<Bell>, calendar: Calendar) -> Result<Self, Invalid> {
        let bells = bells
            .into_iter()
            .map(|b| {
                let cron = parse_cron(&b.cron).map_err(|e| {
                    Invalid::new(format!("bell {:?} cron", b.name), e.value, e.rule)
                })?;
                Ok((b, cron))
            })
            .collect::<Result<_, Invalid>>()?;
        Ok(Scheduler {
            bells,
            calendar,
            grace: DEFAULT_GRACE,
            last_run: None,
        })
    }

    /// A scheduler for a config's `[schedule]` and `[[bell]]`s.
    pub fn from_config(c: &ScheduleConfig) -> Result<Self, Invalid> {
        Ok(Self::new(c.bells.clone(), c.calendar.clone())?.with_grace(c.grace))
    }

    /// Set how late a bell may still ring.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Start [`Scheduler::due`] from `last_run` (e.g. the last time a previous process ran, from
    /// its journal), so bells due while it was down are reported.
    pub fn resume_from(&mut self, last_run: DateTime<Utc>) {
        self.last_run = Some(last_run);
    }

    /// The last time [`Scheduler::due`] ran (or was resumed from).
    pub fn last_run(&self) -> Option<DateTime<Utc>> {
        self.last_run
    }

    /// The bells.
    pub fn bells(&self) -> impl Iterator<Item = &Bell> {
        self.bells.iter().map(|(b, _)| b)
    }

    /// The bell called `name`.
    pub fn bell(&self, name: &str) -> Option<&Bell> {
        self.bells().find(|b| b.name == name)
    }

    /// The calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The next `n` firings strictly after `after`, all bells merged, earliest first (bells due
    /// at the same instant in file order).
    pub fn next_firings(&self, after: DateTime<Utc>, n: usize) -> Vec<Firing> {
        self.firings(after, None, n)
    }

    /// Every firing in `(after, until]`, at most `limit` per bell, earliest first.
    fn firings(
        &self,
        after: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Vec<Firing> {
        let mut all: Vec<(DateTime<Utc>, usize)> = Vec::new();
        for (i, (_, cron)) in self.bells.iter().enumerate() {
            all.extend(bell_instants(cron, &self.calendar, after, until, limit).map(|at| (at, i)));
        }
        all.sort();
        if until.is_none() {
            all.truncate(limit);
        }
        all.into_iter()
            .map(|(at, i)| Firing {
                bell: self.bells[i].0.name.clone(),
                at,
                local: self.local(at),
            })
            .collect()
    }

    /// `at` on the calendar's wall clock, e.g. `2026-09-01 Tue 08:00:00 CEST`.
    pub fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.calendar.tz)
            .format("%Y-%m-%d %a %H:%M:%S %Z")
            .to_string()
    }

    /// What came due since the last run, earliest first: each firing in `(last run, now]` is
    /// [`Decision::Ring`] if `now` is at most the grace after it, else [`Decision::Missed`].
    /// The first call (without [`Scheduler::resume_from`]) only records `now`. A clock that went
    /// backwards yields nothing and keeps the last run, so no bell rings twice.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Decision> {
        let Some(last) = self.last_run else {
            self.last_run = Some(now);
            return Vec::new();
        };
        if now <= last {
            return Vec::new();
        }
        self.last_run = Some(now);
        let grace = TimeDelta::from_std(self.grace).unwrap_or(TimeDelta::MAX);
        self.firings(last, Some(now), MAX_PER_BELL)
            .into_iter()
            .map(|f| {
                let late = now - f.at;
                if late > grace {
                    Decision::Missed {
                        bell: f.bell,
                        at: f.at,
                        late_by: late.to_std().unwrap_or_default(),
                    }
                } else {
                    Decision::Ring {
                        bell: f.bell,
                        at: f.at,
                    }
                }
            })
            .collect()
    }
}

/// Where local time `t` lands on the UTC timeline: itself; the first of two (fall back); or,
/// in a gap (spring forward), the first valid minute after it.
fn place(tz: &Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = t;
    // Gaps are at most a day (Samoa skipped 2011-12-30); transitions fall on whole minutes.
    for _ in 0..=(24 * 60) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(d) => return Some(d.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                probe = probe
                    .with_second(0)?
                    .checked_add_signed(TimeDelta::minutes(1))?;
            }
        }
    }
    None
}

/// One bell's instants strictly after `after` (and at most `until`), at most `limit`, skipping
/// days the calendar does not ring on.
fn bell_instants<'a>(
    cron: &'a Cron,
    cal: &'a Calendar,
    after: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    limit: usize,
) -> impl Iterator<Item = DateTime<Utc>> + 'a {
    let mut cursor = after.with_timezone(&cal.tz).naive_local();
    let mut floor = after;
    let last_day = cal.last_day();
    let until_local = until.map(|u| u.with_timezone(&cal.tz).naive_local());
    let mut steps = 0usize;
    std::iter::from_fn(move || {
        loop {
            steps += 1;
            if steps > 4 * MAX_PER_BELL {
                return None;
            }
            let next = cron.find_next_occurrence(&cursor, false).ok()?;
            if last_day.is_some_and(|d| next.date() > d) {
                return None;
            }
            // Local times after `until`'s local time (+ the widest gap) cannot land before it.
            if until_local.is_some_and(|u| next > u + TimeDelta::days(1)) {
                return None;
            }
            if !cal.rings_on(next.date()) {
                // Skip the rest of that day.
                cursor = next.date().and_hms_opt(23, 59, 59)?;
                continue;
            }
            cursor = next;
            let at = place(&cal.tz, next)?;
            if at <= floor {
                // The second of a repeated hour, or a second time inside a gap.
                continue;
            }
            if until.is_some_and(|u| at > u) {
                return None;
            }
            floor = at;
            return Some(at);
        }
    })
    .take(limit)
}

#[cfg(test)]
mod tests;
