//! `[zone.NAME]` tables: which phones (directly or through other zones) a page reaches, and how
//! its audio gets there. Turning members into phones is [`super::Config::resolve_zone`].

use std::net::Ipv4Addr;

use super::engine::Engine;
use crate::rtp::RtpPort;

/// How a zone's audio reaches its phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneMode {
    /// One stream to a group every phone joins (`RTPMRx`).
    Multicast {
        /// Fixed group; `None`: one from the engine's `multicast_pool` per page.
        group: Option<Ipv4Addr>,
        /// Fixed port; `None`: one from the engine's `port_pool` per page.
        port: Option<RtpPort>,
        /// Packet TTL (the engine's `multicast_ttl` unless the zone sets one).
        ttl: u8,
        /// Interface to send from (the engine's `interface` unless the zone sets one).
        interface: Ipv4Addr,
    },
    /// A copy of the stream to each phone (`RTPRx`), ports from the engine's pool.
    Unicast,
}

impl ZoneMode {
    /// Whether the zone is multicast.
    pub fn is_multicast(&self) -> bool {
        matches!(self, ZoneMode::Multicast { .. })
    }
}

/// One `[zone.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Unique name (no whitespace), shared namespace with phones.
    pub name: String,
    /// Phone and zone names as written (checked at load: each exists, no cycles).
    pub members: Vec<String>,
    /// Multicast (the default) or unicast.
    pub mode: ZoneMode,
    /// Phone speaker volume for pages to this zone, 0..=100; `None`: leave the phones' own.
    pub volume: Option<u8>,
    /// Banner shown during a page when the page gives none; at most
    /// [`MAX_BANNER_CHARS`](super::MAX_BANNER_CHARS) characters (see [`super::banner_rule`]).
    pub banner: Option<String>,
    /// Largest number of phones served by unicast (the zone itself in unicast mode, or phones
    /// falling back from multicast); `None`: the engine's `max_unicast`.
    pub max_unicast: Option<usize>,
    /// The codec its pages offer (`codec = "g722"`: wideband to the phones that take it).
    pub codec: ZoneCodec,
    /// `from_cucm = { ... }`: the discovered phones it also takes, resolved by `crate::cucm`
    /// at every refresh and at page time.
    pub from_cucm: Option<super::zone_rule::ZoneRule>,
}

/// The codec a zone's pages offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneCodec {
    /// G.711 to every phone (RTP URIs or startMedia), the default.
    #[default]
    G711,
    /// G.722 through startMedia to the phones whose model (or `g722 = true`) takes it, G.711
    /// to the others, and G.711 again to a phone that refuses G.722.
    G722,
}

impl Zone {
    /// The unicast limit that applies to this zone.
    pub fn unicast_limit(&self, engine: &Engine) -> usize {
        self.max_unicast.unwrap_or(engine.max_unicast)
    }
}
