//! The `[engine]` table: the addresses the engine's media uses, its pools, push limits and
//! timeouts, the journal, page defaults and the loudness sounds are levelled to. Every key has a default (see [`Engine::default`]).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::pool::{GroupPool, PortPool};
use super::source::Source;
use super::value::{Int, Text, duration, int, ipv4, relative};
use crate::audio::LoudnessTarget;
use crate::audio::loudness::LUFS_RANGE;
use crate::error::Invalid;
use crate::push::PushConfig;

/// What plays before a page's own audio.
#[derive(Debug, Clone, PartialEq)]
pub enum PreTone {
    /// The built-in two-tone chime.
    Chime,
    /// A sine tone of this many Hz (20..=3900).
    Tone(f32),
    /// An audio file (resolved against the config file's directory).
    File(PathBuf),
}

impl PreTone {
    /// `chime`, a frequency such as `800`, or a file path.
    pub(super) fn parse(s: &str, base: &std::path::Path) -> Result<PreTone, Invalid> {
        let t = s.trim();
        if t.is_empty() {
            return Err(Invalid::new(
                "pre_tone",
                s,
                "must be \"chime\", a frequency in Hz (20..=3900) or an audio file path",
            ));
        }
        if t.eq_ignore_ascii_case("chime") {
            return Ok(PreTone::Chime);
        }
        if let Ok(hz) = t.parse::<f32>() {
            if !(20.0..=3900.0).contains(&hz) {
                return Err(Invalid::new(
                    "pre_tone",
                    s,
                    "a tone frequency must be 20..=3900 Hz (8 kHz audio carries up to 4 kHz)",
                ));
            }
            return Ok(PreTone::Tone(hz));
        }
        let p = PathBuf::from(t);
        Ok(PreTone::File(if p.is_absolute() {
            p
        } else {
            base.join(p)
        }))
    }
}

/// The `[engine]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Engine {
    /// The engine's address as phones see it: unicast pages are sent from it and `RTPTx`
    /// (listen, intercom) points phones at it. Default 127.0.0.1 (set it on a real network).
    pub media_address: Ipv4Addr,
    /// Interface for multicast sends (`IP_MULTICAST_IF`). Default: `media_address`.
    pub interface: Ipv4Addr,
    /// Even ports for streams. Default 20480-32768.
    pub port_pool: PortPool,
    /// Groups for multicast zones without a fixed group. Default 239.255.0.0/16.
    pub multicast_pool: GroupPool,
    /// TTL of multicast packets unless a zone says otherwise. Default 1 (this subnet only).
    pub multicast_ttl: u8,
    /// Pushes in flight at once. Default 200.
    pub push_concurrency: usize,
    /// Time for one whole push request. Default 5 s.
    pub push_timeout: Duration,
    /// Time to connect to a phone. Default 2 s.
    pub connect_timeout: Duration,
    /// Extra attempts after a transient push failure. Default 2.
    pub push_retries: u32,
    /// Wait before the first retry, doubled for each further one. Default 200 ms.
    pub push_backoff: Duration,
    /// Journal of active pages, for stopping phones after a crash. Default
    /// `zonecast-journal.json` next to the config file.
    pub journal: PathBuf,
    /// How long `--verify` waits for a phone to report packets before falling back. Default 2 s.
    pub verify_grace: Duration,
    /// Played before every page's audio, unless the page says otherwise. Default none.
    pub pre_tone: Option<PreTone>,
    /// Largest unicast zone unless the zone says otherwise; more phones need multicast.
    /// Default 50.
    pub max_unicast: usize,
    /// The integrated loudness every prepared sound (file, upload, bundled sound, speech) is
    /// levelled to, and live sources are steered toward: `loudness = -18` (LUFS, -30..=-10).
    /// Default -18.
    pub loudness: LoudnessTarget,
}

impl Engine {
    /// The push client's limits, from `push_*` and `connect_timeout`.
    pub fn push_config(&self) -> PushConfig {
        PushConfig {
            concurrency: self.push_concurrency,
            connect_timeout: self.connect_timeout,
            timeout: self.push_timeout,
            retries: self.push_retries,
            backoff: self.push_backoff,
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        let push = PushConfig::default();
        Engine {
            media_address: Ipv4Addr::LOCALHOST,
            interface: Ipv4Addr::LOCALHOST,
            port_pool: PortPool::default(),
            multicast_pool: GroupPool::default(),
            multicast_ttl: 1,
            push_concurrency: push.concurrency,
            push_timeout: push.timeout,
            connect_timeout: push.connect_timeout,
            push_retries: push.retries,
            push_backoff: push.backoff,
            journal: PathBuf::from("zonecast-journal.json"),
            verify_grace: Duration::from_secs(2),
            pre_tone: None,
            max_unicast: 50,
            loudness: LoudnessTarget::default(),
        }
    }
}

/// `[engine]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngine {
    media_address: Option<Text>,
    interface: Option<Text>,
    port_pool: Option<Text>,
    multicast_pool: Option<Text>,
    multicast_ttl: Option<Int>,
    push_concurrency: Option<Int>,
    push_timeout: Option<Text>,
    connect_timeout: Option<Text>,
    push_retries: Option<Int>,
    push_backoff: Option<Text>,
    journal: Option<Text>,
    verify_grace: Option<Text>,
    pre_tone: Option<Text>,
    max_unicast: Option<Int>,
    loudness: Option<Spanned<f64>>,
}

/// `[engine]`: defaults for every key the file leaves out.
pub(super) fn check(src: &Source, r: RawEngine, base: &Path) -> Result<Engine, Invalid> {
    let mut e = Engine::default();
    if let Some(v) = &r.media_address {
        let ip = ipv4(src, v, "[engine] media_address")?;
        if ip.is_multicast() || ip.is_unspecified() || ip.is_broadcast() {
            return Err(src.invalid(
                v.span(),
                "[engine] media_address",
                ip,
                "must be a unicast address of this machine that phones can reach",
            ));
        }
        e.media_address = ip;
    }
    e.interface = e.media_address;
    if let Some(v) = &r.interface {
        let ip = ipv4(src, v, "[engine] interface")?;
        if ip.is_multicast() || ip.is_broadcast() {
            return Err(src.invalid(
                v.span(),
                "[engine] interface",
                ip,
                "must be the unicast address of a local interface",
            ));
        }
        e.interface = ip;
    }
    if let Some(v) = &r.port_pool {
        e.port_pool = v
            .get_ref()
            .parse::<PortPool>()
            .map_err(|x| src.invalid(v.span(), "[engine] port_pool", v.get_ref(), x.rule))?;
    }
    if let Some(v) = &r.multicast_pool {
        e.multicast_pool = v
            .get_ref()
            .parse::<GroupPool>()
            .map_err(|x| src.invalid(v.span(), "[engine] multicast_pool", v.get_ref(), x.rule))?;
    }
    if let Some(v) = &r.multicast_ttl {
        e.multicast_ttl = int(src, v, "[engine] multicast_ttl", 0..=255)?;
    }
    if let Some(v) = &r.push_concurrency {
        e.push_concurrency = int(src, v, "[engine] push_concurrency", 1..=100_000)?;
    }
    if let Some(v) = &r.push_timeout {
        e.push_timeout = duration(src, v, "[engine] push_timeout", false)?;
    }
    if let Some(v) = &r.connect_timeout {
        e.connect_timeout = duration(src, v, "[engine] connect_timeout", false)?;
    }
    if let Some(v) = &r.push_retries {
        e.push_retries = int(src, v, "[engine] push_retries", 0..=10)?;
    }
    if let Some(v) = &r.push_backoff {
        e.push_backoff = duration(src, v, "[engine] push_backoff", true)?;
    }
    e.journal = relative(base, "zonecast-journal.json");
    if let Some(v) = &r.journal {
        if v.get_ref().trim().is_empty() {
            return Err(src.invalid(v.span(), "[engine] journal", "", "must be a file path"));
        }
        e.journal = relative(base, v.get_ref());
    }
    if let Some(v) = &r.verify_grace {
        e.verify_grace = duration(src, v, "[engine] verify_grace", false)?;
    }
    if let Some(v) = &r.pre_tone {
        e.pre_tone = Some(
            PreTone::parse(v.get_ref(), base)
                .map_err(|x| src.invalid(v.span(), "[engine] pre_tone", v.get_ref(), x.rule))?,
        );
    }
    if let Some(v) = &r.max_unicast {
        e.max_unicast = int(src, v, "[engine] max_unicast", 1..=100_000)?;
    }
    if let Some(v) = &r.loudness {
        let lufs = *v.get_ref();
        if !LUFS_RANGE.contains(&lufs) {
            return Err(src.invalid(
                v.span(),
                "[engine] loudness",
                lufs,
                "must be an integrated loudness in LUFS, -30..=-10 (the default is -18)",
            ));
        }
        e.loudness = LoudnessTarget { lufs };
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn pre_tone_is_chime_frequency_or_file() {
        let base = Path::new("/etc/zonecast");
        assert_eq!(PreTone::parse("chime", base), Ok(PreTone::Chime));
        assert_eq!(PreTone::parse("800", base), Ok(PreTone::Tone(800.0)));
        assert_eq!(
            PreTone::parse("tones/bell.wav", base),
            Ok(PreTone::File(PathBuf::from("/etc/zonecast/tones/bell.wav")))
        );
        assert!(PreTone::parse("5000", base).is_err());
        assert!(PreTone::parse("", base).is_err());
    }

    #[test]
    fn push_config_carries_every_push_setting() {
        let e = Engine {
            push_concurrency: 7,
            push_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_millis(500),
            push_retries: 4,
            push_backoff: Duration::from_millis(50),
            ..Engine::default()
        };
        let p = e.push_config();
        assert_eq!(p.concurrency, 7);
        assert_eq!(p.timeout, Duration::from_secs(3));
        assert_eq!(p.connect_timeout, Duration::from_millis(500));
        assert_eq!(p.retries, 4);
        assert_eq!(p.backoff, Duration::from_millis(50));
    }
}
