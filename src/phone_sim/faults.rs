//! Faults on purpose: the ways real phones misbehave, for one phone or a share of the fleet.
//!
//! Every decision is drawn from a seeded generator ([`Rng`]), so a test run is repeatable: the
//! same seed picks the same phones, the same latencies and the same dropped packets.
//!
//! - `latency`: how long a phone takes to answer a push (a distribution, default none);
//! - `refuse`: the phone answers and refuses (every item Status 6, startMedia UnavailableResource);
//! - `hang`: the phone accepts the connection and never answers;
//! - `reset`: the phone starts its answer and breaks the connection mid-body;
//! - `garbage`: the phone answers with broken XML;
//! - `huge`: the phone answers with a body of [`HUGE_REPLY_BYTES`] (well-formed items, no end in
//!   sight for a client that does not bound what it reads);
//! - `wrong_password`: the phone's password is not the fleet's, so pushes fail authentication;
//! - `drop_rtp`: a share of received RTP packets is lost before the phone sees it;
//! - `no_multicast`: multicast never reaches the phone (unicast does);
//! - `crash_after`: the phone stops answering (HTTP and RTP) this long after its first stream;
//! - `hang_up_after`: the user hangs up each received stream after this long.
//!
//! `refuse`, `hang`, `reset`, `garbage` and `huge` take a probability per push (`true` = always).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Invalid;

/// A small seeded generator (splitmix64): repeatable, fast, no allocation.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`, mixed with `stream` so phones of one fleet differ.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p >= 1.0 || (p > 0.0 && self.unit() < p)
    }
}

/// A response-latency distribution, written `200ms`, `100..300ms`, `normal:200ms:50ms` or
/// `exp:200ms` (units `ms` or `s`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "String")]
pub enum Latency {
    /// Always this long.
    Fixed(Duration),
    /// Uniform between two bounds.
    Uniform(Duration, Duration),
    /// Normal with mean and standard deviation, never below zero.
    Normal(Duration, Duration),
    /// Exponential with this mean.
    Exponential(Duration),
}

impl Latency {
    /// Draw one latency.
    pub fn sample(&self, rng: &mut Rng) -> Duration {
        let secs = match *self {
            Latency::Fixed(d) => d.as_secs_f64(),
            Latency::Uniform(a, b) => {
                a.as_secs_f64() + (b.as_secs_f64() - a.as_secs_f64()) * rng.unit()
            }
            Latency::Normal(m, sd) => {
                // Box-Muller.
                let u1 = rng.unit().max(1e-12);
                let u2 = rng.unit();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                m.as_secs_f64() + sd.as_secs_f64() * z
            }
            Latency::Exponential(m) => -m.as_secs_f64() * (1.0 - rng.unit()).max(1e-12).ln(),
        };
        Duration::from_secs_f64(secs.clamp(0.0, 600.0))
    }
}

fn parse_duration(field: &str, s: &str) -> Result<Duration, Invalid> {
    crate::error::parse_duration_like(field, s, "200ms or 1.5s")
}

impl FromStr for Latency {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        let f = "latency";
        if let Some(rest) = s.strip_prefix("normal:") {
            let (m, sd) = rest
                .split_once(':')
                .ok_or_else(|| Invalid::new(f, s, "normal:MEAN:STDDEV, e.g. normal:200ms:50ms"))?;
            return Ok(Latency::Normal(
                parse_duration(f, m)?,
                parse_duration(f, sd)?,
            ));
        }
        if let Some(m) = s.strip_prefix("exp:") {
            return Ok(Latency::Exponential(parse_duration(f, m)?));
        }
        if let Some((a, b)) = s.split_once("..") {
            // `100..300ms`: the unit of the upper bound applies to a bare lower bound.
            let unit = if b.trim().ends_with("ms") { "ms" } else { "s" };
            let a = if a.trim().ends_with('s') {
                a.to_owned()
            } else {
                format!("{a}{unit}")
            };
            let (lo, hi) = (parse_duration(f, &a)?, parse_duration(f, b)?);
            if lo > hi {
                return Err(Invalid::new(
                    f,
                    s,
                    "the lower bound must not exceed the upper",
                ));
            }
            return Ok(Latency::Uniform(lo, hi));
        }
        Ok(Latency::Fixed(parse_duration(f, s)?))
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        match *self {
            Latency::Fixed(d) => write!(f, "{}ms", ms(d)),
            Latency::Uniform(a, b) => write!(f, "{}..{}ms", ms(a), ms(b)),
            Latency::Normal(m, sd) => write!(f, "normal:{}ms:{}ms", ms(m), ms(sd)),
            Latency::Exponential(m) => write!(f, "exp:{}ms", ms(m)),
        }
    }
}

impl From<Latency> for String {
    fn from(l: Latency) -> String {
        l.to_string()
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A probability written as `true`/`false` or a number in 0..=1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Chance(pub f64);

impl<'de> Deserialize<'de> for Chance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Num(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(b) => Ok(Chance(if b { 1.0 } else { 0.0 })),
            Raw::Num(p) if (0.0..=1.0).contains(&p) => Ok(Chance(p)),
            Raw::Num(p) => Err(serde::de::Error::custom(format!(
                "{p} is not a probability: must be true, false or a number in 0..=1"
            ))),
        }
    }
}

fn duration_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| parse_duration("duration", &s).map_err(serde::de::Error::custom))
        .transpose()
}

/// The faults of one phone. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Response latency.
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Refuse pushes (per push).
    #[serde(default)]
    pub refuse: Chance,
    /// Never answer (per push).
    #[serde(default)]
    pub hang: Chance,
    /// Break the connection mid-answer (per push).
    #[serde(default)]
    pub reset: Chance,
    /// Answer with broken XML (per push).
    #[serde(default)]
    pub garbage: Chance,
    /// Answer with a body of [`HUGE_REPLY_BYTES`] (per push).
    #[serde(default)]
    pub huge: Chance,
    /// The phone's password differs from the fleet's.
    #[serde(default)]
    pub wrong_password: bool,
    /// Share of received RTP packets lost (0..=1).
    #[serde(default)]
    pub drop_rtp: f64,
    /// Multicast never reaches the phone (a network that does not route it): RTPMRx is
    /// accepted, and nothing arrives. Unicast still works.
    #[serde(default)]
    pub no_multicast: bool,
    /// Stop answering this long after the first stream starts (`2s`).
    #[serde(default, deserialize_with = "duration_opt", serialize_with = "ser_dur")]
    pub crash_after: Option<Duration>,
    /// The user hangs up each received stream after this long (`5s`).
    #[serde(default, deserialize_with = "duration_opt", serialize_with = "ser_dur")]
    pub hang_up_after: Option<Duration>,
}

fn ser_dur<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
        None => s.serialize_none(),
    }
}

/// What to do with one push, decided before it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushFault {
    /// Handle it normally.
    None,
    /// Refuse every item.
    Refuse,
    /// Never answer.
    Hang,
    /// Break the connection mid-answer.
    Reset,
    /// Answer with broken XML.
    Garbage,
    /// Answer with a body of [`HUGE_REPLY_BYTES`].
    Huge,
}

/// Size of the `huge` fault's answer: far beyond what any client should read from a phone
/// (`push::MAX_REPLY_BYTES` is 256 KiB), yet finite, so a client that does read it all ends.
pub const HUGE_REPLY_BYTES: usize = 64 * 1024 * 1024;

impl Faults {
    /// Whether any fault is set.
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }

    /// Layer `other` over `self`: whatever `other` sets wins.
    pub fn merge(&mut self, other: &Faults) {
        let d = Faults::default();
        if other.latency.is_some() {
            self.latency = other.latency;
        }
        for (mine, theirs, unset) in [
            (&mut self.refuse, other.refuse, d.refuse),
            (&mut self.hang, other.hang, d.hang),
            (&mut self.reset, other.reset, d.reset),
            (&mut self.garbage, other.garbage, d.garbage),
            (&mut self.huge, other.huge, d.huge),
        ] {
            if theirs != unset {
                *mine = theirs;
            }
        }
        self.wrong_password |= other.wrong_password;
        self.no_multicast |= other.no_multicast;
        if other.drop_rtp > 0.0 {
            self.drop_rtp = other.drop_rtp;
        }
        if other.crash_after.is_some() {
            self.crash_after = other.crash_after;
        }
        if other.hang_up_after.is_some() {
            self.hang_up_after = other.hang_up_after;
        }
    }

    /// Check ranges that serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(0.0..=1.0).contains(&self.drop_rtp) {
            return Err(Invalid::new(
                "drop_rtp",
                self.drop_rtp,
                "must be a share in 0..=1",
            ));
        }
        Ok(())
    }

    /// Draw the latency and the fault for one push.
    pub fn for_push(&self, rng: &mut Rng) -> (Duration, PushFault) {
        let latency = self.latency.map_or(Duration::ZERO, |l| l.sample(rng));
        let fault = if rng.chance(self.hang.0) {
            PushFault::Hang
        } else if rng.chance(self.reset.0) {
            PushFault::Reset
        } else if rng.chance(self.garbage.0) {
            PushFault::Garbage
        } else if rng.chance(self.huge.0) {
            PushFault::Huge
        } else if rng.chance(self.refuse.0) {
            PushFault::Refuse
        } else {
            PushFault::None
        };
        (latency, fault)
    }
}

/// A reply body that is not XML a phone would send: a truncated response followed by bytes.
pub fn garbage_body(rng: &mut Rng) -> Vec<u8> {
    let mut body = b"<CiscoIPPhoneResponse><ResponseItem URL=\"".to_vec();
    for _ in 0..(8 + rng.next_u64() % 24) {
        body.push((rng.next_u64() % 256) as u8);
    }
    body.extend_from_slice(b"<<</ResponseItem");
    body
}

/// Which of `n` phones get a fault meant for `share` of them (or exactly `count`): a seeded
/// choice without repetition, in index order.
pub fn choose(n: usize, share: Option<f64>, count: Option<usize>, rng: &mut Rng) -> Vec<usize> {
    let k = count
        .unwrap_or_else(|| (share.unwrap_or(0.0).clamp(0.0, 1.0) * n as f64).round() as usize)
        .min(n);
    // Partial Fisher-Yates over the indices.
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut chosen = idx[..k].to_vec();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_forms_parse_and_sample_in_range() {
        let mut rng = Rng::new(1, 0);
        let l: Latency = "200ms".parse().unwrap();
        assert_eq!(l.sample(&mut rng), Duration::from_millis(200));
        let l: Latency = "100..300ms".parse().unwrap();
        for _ in 0..1000 {
            let d = l.sample(&mut rng);
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(300));
        }
        let l: Latency = "exp:200ms".parse().unwrap();
        let mean: f64 = (0..20_000)
            .map(|_| l.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 20_000.0;
        assert!((mean - 0.2).abs() < 0.01, "{mean}");
        let l: Latency = "normal:200ms:20ms".parse().unwrap();
        let mean: f64 = (0..20_000)
            .map(|_| l.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 20_000.0;
        assert!((mean - 0.2).abs() < 0.002, "{mean}");
        assert_eq!(
            "1.5s".parse::<Latency>().unwrap(),
            Latency::Fixed(Duration::from_millis(1500))
        );
        let e = "fast".parse::<Latency>().unwrap_err();
        assert_eq!(e.field, "latency");
        assert!("300..100ms".parse::<Latency>().is_err());
    }

    #[test]
    fn seeded_choices_repeat_and_differ_by_seed() {
        let a = choose(100, Some(0.1), None, &mut Rng::new(7, 1));
        let b = choose(100, Some(0.1), None, &mut Rng::new(7, 1));
        let c = choose(100, Some(0.1), None, &mut Rng::new(8, 1));
        assert_eq!(a.len(), 10);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            choose(5, None, Some(9), &mut Rng::new(1, 1)),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn faults_from_toml_and_probabilities() {
        let f: Faults = toml::from_str(
            "latency = \"50ms\"\nhang = true\nrefuse = 0.5\ndrop_rtp = 0.1\ncrash_after = \"2s\"",
        )
        .unwrap();
        assert_eq!(f.hang, Chance(1.0));
        assert_eq!(f.refuse, Chance(0.5));
        assert_eq!(f.crash_after, Some(Duration::from_secs(2)));
        let mut rng = Rng::new(3, 3);
        assert_eq!(
            f.for_push(&mut rng),
            (Duration::from_millis(50), PushFault::Hang)
        );
        assert!(toml::from_str::<Faults>("hang = 2.0").is_err());
        let h: Faults = toml::from_str("huge = true").unwrap();
        assert_eq!(h.for_push(&mut rng).1, PushFault::Huge);
        let mut merged = Faults::default();
        merged.merge(&h);
        assert_eq!(merged.huge, Chance(1.0));
        assert!(toml::from_str::<Faults>("explode = true").is_err());
        let mut refusals = 0;
        let g = Faults {
            refuse: Chance(0.5),
            ..Faults::default()
        };
        for _ in 0..1000 {
            if g.for_push(&mut rng).1 == PushFault::Refuse {
                refusals += 1;
            }
        }
        assert!((400..600).contains(&refusals), "{refusals}");
    }

    #[test]
    fn garbage_is_not_a_readable_reply() {
        let body = garbage_body(&mut Rng::new(1, 2));
        assert!(
            crate::xsi::response::parse_execute_reply(&body).map_or(true, |r| r.items().is_empty())
        );
    }
}
