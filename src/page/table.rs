//! The phone table a page is planned from: a zone's phones as [`ZoneMember`]s (addresses already
//! resolved, credentials read), and the site's rules of planning ([`Site`]: priorities, pools,
//! addresses). [`PhoneTable`] is where the phones come from: the config today
//! (`impl PhoneTable for Config`), CUCM or another site later; a [`Roster`] is a fixed list
//! (benchmarks, tests, a remote site's share).
//!
//! Reading a table is the shell's side of planning (names are resolved, password files read);
//! [`prepare`](super::prepare::prepare) takes what it returns and stays pure.

use std::collections::HashSet;
use std::net::{Ipv4Addr, ToSocketAddrs};

use super::plan::ZoneMember;
use crate::audio::LoudnessTarget;
use crate::config::{Config, GroupPool, PortPool, PreTone, Priorities, ZoneCodec, ZoneMode};
use crate::error::Invalid;
use crate::rtp::SenderOptions;

/// A zone's phones and settings, ready to plan.
#[derive(Debug, Clone)]
pub struct ZonePhones {
    /// Zone name.
    pub name: String,
    /// Its phones, each once, in order.
    pub targets: Vec<ZoneMember>,
    /// Multicast (group and port fixed or from the pools) or unicast.
    pub mode: ZoneMode,
    /// Speaker volume for its pages (`None`: the phones' own).
    pub volume: Option<u8>,
    /// Banner when the page gives none.
    pub banner: Option<String>,
    /// How its stream is sent (multicast TTL and interface).
    pub sender: SenderOptions,
    /// The codec its pages offer (G.722 to the members that take it).
    pub codec: ZoneCodec,
}

/// The rules every page of a site is planned with.
#[derive(Debug, Clone)]
pub struct Site {
    /// Priority levels.
    pub priorities: Priorities,
    /// The engine's address as phones see it (unicast source, fallback copy).
    pub media_address: Ipv4Addr,
    /// Even ports for streams.
    pub port_pool: PortPool,
    /// Groups for multicast zones without a fixed group.
    pub multicast_pool: GroupPool,
    /// Ports fixed by zones (never taken from the pool).
    pub reserved_ports: HashSet<u16>,
    /// Groups fixed by zones (never taken from the pool).
    pub reserved_groups: HashSet<Ipv4Addr>,
    /// Played before every page's sound.
    pub pre_tone: Option<PreTone>,
    /// The loudness prepared sounds (the pre-tone too) are levelled to.
    pub loudness: LoudnessTarget,
}

impl Default for Site {
    /// The config's defaults: priorities `normal < urgent < emergency`, media on 127.0.0.1,
    /// the default pools, nothing reserved, no pre-tone.
    fn default() -> Self {
        Site {
            priorities: Priorities::default(),
            media_address: Ipv4Addr::LOCALHOST,
            port_pool: PortPool::default(),
            multicast_pool: GroupPool::default(),
            reserved_ports: HashSet::new(),
            reserved_groups: HashSet::new(),
            pre_tone: None,
            loudness: LoudnessTarget::default(),
        }
    }
}

/// Where a site's phones come from.
pub trait PhoneTable: Send + Sync {
    /// The site's planning rules.
    fn site(&self) -> Site;
    /// Zone `name`'s phones (an unknown zone is refused, naming those that exist).
    fn zone(&self, name: &str) -> Result<ZonePhones, Invalid>;
    /// One phone by name (to stop it after a crash, or to talk from it).
    fn phone(&self, name: &str) -> Result<ZoneMember, String>;
    /// The IP speakers a page to zone `name` also sends its stream to: (name, address).
    fn speakers(&self, name: &str) -> Vec<(String, std::net::SocketAddrV4)> {
        let _ = name;
        Vec::new()
    }
    /// The SIP endpoints a page to zone `name` calls, by name.
    fn sip_endpoints(&self, name: &str) -> Vec<String> {
        let _ = name;
        Vec::new()
    }
}

/// A table replaced while pages plan from it (the server's, refreshed from CUCM): each question
/// goes to the table in place at that moment.
pub struct LiveTable {
    current: std::sync::RwLock<std::sync::Arc<dyn PhoneTable>>,
}

impl LiveTable {
    /// Starting with `table`.
    pub fn new(table: std::sync::Arc<dyn PhoneTable>) -> LiveTable {
        LiveTable {
            current: std::sync::RwLock::new(table),
        }
    }

    /// Plan the next pages from `table`.
    pub fn replace(&self, table: std::sync::Arc<dyn PhoneTable>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = table;
    }

    fn now(&self) -> std::sync::Arc<dyn PhoneTable> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl PhoneTable for LiveTable {
    fn site(&self) -> Site {
        self.now().site()
    }
    fn zone(&self, name: &str) -> Result<ZonePhones, Invalid> {
        self.now().zone(name)
    }
    fn phone(&self, name: &str) -> Result<ZoneMember, String> {
        self.now().phone(name)
    }
    fn speakers(&self, name: &str) -> Vec<(String, std::net::SocketAddrV4)> {
        self.now().speakers(name)
    }
    fn sip_endpoints(&self, name: &str) -> Vec<String> {
        self.now().sip_endpoints(name)
    }
}

/// The phone's IPv4 address from its `host[:port]` (resolving a name).
pub(crate) fn phone_ip(host: &str) -> Option<Ipv4Addr> {
    let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if let Ok(ip) = bare.parse() {
        return Some(ip);
    }
    (bare, 80)
        .to_socket_addrs()
        .ok()?
        .find_map(|a| match a.ip() {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(_) => None,
        })
}

fn target_of(p: &crate::config::PhoneEntry) -> ZoneMember {
    ZoneMember {
        name: p.name.clone(),
        model: p.model.clone(),
        ip: phone_ip(&p.host),
        g722: p.takes_g722(),
        push: p
            .secret()
            .map(|s| p.push_target(s))
            .map_err(|e| e.to_string()),
    }
}

impl PhoneTable for Config {
    fn site(&self) -> Site {
        Site {
            priorities: self.priorities.clone(),
            media_address: self.engine.media_address,
            port_pool: self.engine.port_pool,
            multicast_pool: self.engine.multicast_pool,
            reserved_ports: self.reserved_ports(),
            reserved_groups: self.reserved_groups(),
            pre_tone: self.engine.pre_tone.clone(),
            loudness: self.engine.loudness,
        }
    }

    fn zone(&self, name: &str) -> Result<ZonePhones, Invalid> {
        let phones = self.resolve_zone(name)?;
        let zone =
            Config::zone(self, name).ok_or_else(|| Invalid::new("zone", name, "no such zone"))?;
        Ok(ZonePhones {
            name: zone.name.clone(),
            targets: phones.into_iter().map(target_of).collect(),
            mode: zone.mode,
            volume: zone.volume,
            banner: zone.banner.clone(),
            sender: self.sender_options(name),
            codec: zone.codec,
        })
    }

    fn phone(&self, name: &str) -> Result<ZoneMember, String> {
        Config::phone(self, name)
            .map(target_of)
            .ok_or_else(|| format!("phone {name} is no longer in the config"))
    }

    fn speakers(&self, name: &str) -> Vec<(String, std::net::SocketAddrV4)> {
        self.speakers_of(name)
            .into_iter()
            .map(|s| (s.name.clone(), s.address))
            .collect()
    }

    fn sip_endpoints(&self, name: &str) -> Vec<String> {
        self.sip_endpoints_of(name)
            .into_iter()
            .map(|e| e.name.clone())
            .collect()
    }
}

/// A fixed table of one zone: phones given as targets (a benchmark's fleet, a test's, a remote
/// site's share of a district page).
#[derive(Debug, Clone)]
pub struct Roster {
    /// The one zone.
    pub zone: ZonePhones,
    /// Its rules.
    pub site: Site,
}

impl Roster {
    /// One multicast zone `zone` of `targets` on a fixed group and port, sent from (and with
    /// TTL 1 on) the loopback interface `interface`.
    pub fn multicast(
        zone: &str,
        targets: Vec<ZoneMember>,
        group: Ipv4Addr,
        port: crate::rtp::RtpPort,
        interface: Ipv4Addr,
    ) -> Roster {
        Roster {
            zone: ZonePhones {
                name: zone.to_owned(),
                targets,
                mode: ZoneMode::Multicast {
                    group: Some(group),
                    port: Some(port),
                    ttl: 1,
                    interface,
                },
                volume: None,
                banner: None,
                sender: SenderOptions {
                    ttl: 1,
                    interface: Some(interface),
                    ..SenderOptions::default()
                },
                codec: ZoneCodec::G711,
            },
            site: Site {
                media_address: interface,
                ..Site::default()
            },
        }
    }

    /// One unicast zone `zone` of `targets`, sent from `source` starting at `port` (phones
    /// that share an address get the next even ports).
    pub fn unicast(
        zone: &str,
        targets: Vec<ZoneMember>,
        source: Ipv4Addr,
        port: crate::rtp::RtpPort,
    ) -> Roster {
        let mut r = Roster::multicast(zone, targets, Ipv4Addr::UNSPECIFIED, port, source);
        r.zone.mode = ZoneMode::Unicast;
        r.site.port_pool = PortPool::new(port, port).expect("one port is a pool");
        r
    }

    /// The pool's only port is `port`: a multicast page's unicast copy (`--verify`) takes it.
    pub fn with_spare_port(mut self, port: crate::rtp::RtpPort) -> Roster {
        self.site.port_pool = PortPool::new(port, port).expect("one port is a pool");
        self
    }

    /// The zone's volume and banner.
    pub fn with_zone_settings(mut self, volume: Option<u8>, banner: Option<&str>) -> Roster {
        self.zone.volume = volume;
        self.zone.banner = banner.map(str::to_owned);
        self
    }
}

impl PhoneTable for Roster {
    fn site(&self) -> Site {
        self.site.clone()
    }

    fn zone(&self, name: &str) -> Result<ZonePhones, Invalid> {
        if name == self.zone.name {
            Ok(self.zone.clone())
        } else {
            Err(Invalid::new(
                "zone",
                name,
                format!("no such zone; zones: {}", self.zone.name),
            ))
        }
    }

    fn phone(&self, name: &str) -> Result<ZoneMember, String> {
        self.zone
            .targets
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| format!("phone {name} is not in the roster"))
    }
}
