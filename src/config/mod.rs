//! The paging configuration: phones, zones, the engine's addresses, pools and limits, and the
//! priority levels, read from one TOML file (`config/zonecast.example.toml` explains every key).
//!
//! This module owns reading and checking that file and answering questions about it (which
//! phones a zone reaches, what a priority ranks, which port or group is free). It does not send
//! anything, open sockets or read passwords at load time: a phone's password is resolved only when
//! [`PhoneEntry::secret`] is called, so `zonecast page --dry-run` works on a machine without them.
//!
//! Everything that can be checked is checked at load time, so a loaded [`Config`] is coherent:
//! names are unique (phones and zones share one namespace), every zone member is a phone or a
//! zone, zones form no cycle, ports are even and in the phones' range, groups are multicast,
//! unicast zones are within their size limit. Unknown keys are errors, and every error names the
//! file, the line and column, the key and what is wrong, e.g.
//! `zonecast.toml:14:23: zone "floor1" members "p099": is neither a phone nor a zone`.
//!
//! Zone members are plain names: each is the name of a `[[phone]]` or of another `[zone.NAME]`.
//! Because a name may not be used for both a phone and a zone, a member is never ambiguous.
//!
//! Submodules, one per table and concern: `load` (TOML text to a checked [`Config`]: the order of
//! the checks), `engine`, `phone`, `zone`, `priority`, `server`, `services` (their tables, and
//! the checks of `[engine]`, `[priorities]`, `[server]`, `[[permission]]` and `[[message]]`),
//! `phone_check` and `zone_check` (the checks of `[[phone]]` and `[zone.NAME]`), `schedule` (the
//! checks of `[schedule]` and `[[bell]]`), `play` (what a bell or message plays, checked against
//! zones and levels), `speech` (`[speech]`, a bell's or message's own voice, and that espeak-ng
//! runs when one speaks), `value` (single values every table checks alike: names, addresses,
//! numbers, durations, paths), `pool` (ports and groups pages draw from), `graph` (checks on
//! zones as a whole), `sip` (`[sip]` and its `[[sip.route]]`s: the SIP user agent's listener,
//! trunks allowed to call, limits, dialled numbers), `source` (`file:line:col` of a problem),
//! `screen_text` (the rules for a banner and a message title, which every edge that takes one
//! applies), `cucm` (`[cucm]`: the CUCM publisher phones are discovered from, its certificate,
//! filters, push credentials and refresh), `cluster` (`[cluster]`: NATS servers, credentials'
//! source, site, node, pair, lease timings, district zones), `zone_rule` (a zone's `from_cucm`
//! rule over the discovered phones), `speaker` (`[[speaker]]`: IP speakers that only take the
//! stream), `sip_endpoint` (`[[sip_endpoint]]`: SIP speakers and auto-answering phones a page
//! calls).

mod cluster;
mod cucm;
mod engine;
mod graph;
mod load;
mod phone;
mod phone_check;
mod play;
mod pool;
mod priority;
mod schedule;
mod screen_text;
mod server;
mod services;
mod sip;
mod sip_endpoint;
mod source;
mod speaker;
mod speech;
mod value;
mod zone;
mod zone_check;
mod zone_rule;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub use cluster::{Cluster, ClusterAuth, DistrictZone};
pub use cucm::{CUCM_PORT, Cucm, CucmFilter, CucmTrust, NamePattern, parse_fingerprint};
pub use engine::{Engine, PreTone};
pub use phone::{PasswordSource, PhoneEntry};
pub use pool::{GroupPool, PoolExhausted, PortPool};
pub use priority::{EqualPolicy, Priorities};
pub use screen_text::{MAX_BANNER_CHARS, MAX_TITLE_CHARS, banner_rule, title_rule};
pub use server::{DEFAULT_PORT, HttpsListen, Server, TlsIdentity, TokenSource};
pub use services::{Message, Permission, Services};
pub use sip::{Cidr, MAX_NUMBER_CHARS, RouteMode, RoutePin, SIP_PORT, Sip, SipRoute};
pub use sip_endpoint::{AutoAnswer, MAX_SIP_ENDPOINTS, SipAuth, SipEndpoint, sip_uri_rule};
pub use speaker::{MAX_SPEAKERS, StreamSpeaker, speaker_address_rule};
pub use zone::{Zone, ZoneCodec, ZoneMode};
pub use zone_rule::{DescriptionRegex, DnPattern, ZoneRule};

use crate::error::Invalid;

/// A loaded, checked paging configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (relative paths inside it are relative to its directory).
    pub path: PathBuf,
    /// Addresses, pools, push limits and timeouts.
    pub engine: Engine,
    /// Named priority levels and what equal priorities do.
    pub priorities: Priorities,
    /// The phones, in file order.
    pub phones: Vec<PhoneEntry>,
    /// The zones, in file order.
    pub zones: Vec<Zone>,
    /// Bells and their calendar (`[schedule]`, `[[bell]]`), if the file has any.
    pub schedule: Option<crate::schedule::ScheduleConfig>,
    /// `zonecast serve`'s settings (`[server]`; defaults when the file has none).
    pub server: Server,
    /// Phone services: who may page what from their phone, and the messages they can start.
    pub services: Services,
    /// The voice `say:TEXT` speaks in (`[speech]`; bells and messages may set their own).
    pub speech: crate::source::Voice,
    /// The SIP user agent's settings and dialled numbers (`[sip]`; none: no SIP).
    pub sip: Option<Sip>,
    /// Where phones are discovered from (`[cucm]`; none: only `[[phone]]`).
    pub cucm: Option<Cucm>,
    /// This node's site and district over NATS (`[cluster]`; none: a lone server).
    pub cluster: Option<Cluster>,
    /// IP speakers that pages send their stream to (`[[speaker]]`: no push, no answer).
    pub speakers: Vec<StreamSpeaker>,
    /// SIP speakers and auto-answering phones that pages call (`[[sip_endpoint]]`).
    pub sip_endpoints: Vec<SipEndpoint>,
}

impl Config {
    /// Read and check a config file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Invalid> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Invalid::new("config", path.display(), format!("cannot read: {e}")))?;
        Self::from_toml(&text, path)
    }

    /// Read and check a config from its text. `path` names the file in errors and anchors
    /// relative paths (journal, password files, pre-tone file); it is not read.
    pub fn from_toml(text: &str, path: impl AsRef<Path>) -> Result<Config, Invalid> {
        load::load(text, path.as_ref())
    }

    /// The phone called `name`.
    pub fn phone(&self, name: &str) -> Option<&PhoneEntry> {
        self.phones.iter().find(|p| p.name == name)
    }

    /// Where a stop after the fact goes to phone `name` (`recover`, a stop retried by the
    /// server): its push target with its secret, or why there is none.
    pub fn stop_target(&self, name: &str) -> Result<crate::push::Phone, String> {
        let p = self
            .phone(name)
            .ok_or_else(|| format!("phone {name} is no longer in the config"))?;
        let secret = p.secret().map_err(|e| e.to_string())?;
        Ok(p.push_target(secret))
    }

    /// The zone called `name`.
    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.name == name)
    }

    /// The speakers a page to zone `name` reaches: those of the zone itself and of the zones
    /// it holds, in file order.
    pub fn speakers_of(&self, name: &str) -> Vec<&StreamSpeaker> {
        let within = self.zones_within(name);
        self.speakers
            .iter()
            .filter(|s| s.zones.iter().any(|z| within.contains(z.as_str())))
            .collect()
    }

    /// The SIP endpoints a page to zone `name` calls (as [`Config::speakers_of`]).
    pub fn sip_endpoints_of(&self, name: &str) -> Vec<&SipEndpoint> {
        let within = self.zones_within(name);
        self.sip_endpoints
            .iter()
            .filter(|s| s.zones.iter().any(|z| within.contains(z.as_str())))
            .collect()
    }

    /// The SIP endpoint called `name`.
    pub fn sip_endpoint(&self, name: &str) -> Option<&SipEndpoint> {
        self.sip_endpoints.iter().find(|e| e.name == name)
    }

    /// Zone `name` and every zone it holds.
    fn zones_within<'a>(&'a self, name: &'a str) -> HashSet<&'a str> {
        let mut within = HashSet::from([name]);
        let mut todo = vec![name];
        while let Some(z) = todo.pop() {
            for m in self.zone(z).map_or(&[][..], |z| &z.members[..]) {
                if self.zone(m).is_some() && within.insert(m.as_str()) {
                    todo.push(m);
                }
            }
        }
        within
    }

    /// The phones zone `name` reaches: members in order, nested zones expanded where they are
    /// listed, each phone once (where it is first seen). Unknown members and cycles were refused
    /// at load time, so this fails only for a zone that does not exist (the error lists those
    /// that do).
    pub fn resolve_zone(&self, name: &str) -> Result<Vec<&PhoneEntry>, Invalid> {
        let phones: HashMap<&str, &PhoneEntry> =
            self.phones.iter().map(|p| (p.name.as_str(), p)).collect();
        let zones: HashMap<&str, &Zone> = self.zones.iter().map(|z| (z.name.as_str(), z)).collect();
        let Some(root) = zones.get(name) else {
            let known: Vec<&str> = self.zones.iter().map(|z| z.name.as_str()).collect();
            let rule = if known.is_empty() {
                "no such zone (the config defines none)".to_owned()
            } else {
                format!("no such zone; the config defines: {}", known.join(", "))
            };
            return Err(Invalid::new("zone", name, rule));
        };
        let mut out = Vec::new();
        let mut seen_phones = HashSet::new();
        // Each zone is expanded once: this keeps diamonds linear and, should someone build a
        // cycle by editing the public fields after load, still ends.
        let mut expanded = HashSet::from([root.name.as_str()]);
        // Depth-first with an explicit stack of member iterators, so order is "as listed".
        let mut stack = vec![root.members.iter()];
        while let Some(top) = stack.last_mut() {
            let Some(member) = top.next() else {
                stack.pop();
                continue;
            };
            if let Some(p) = phones.get(member.as_str()) {
                if seen_phones.insert(p.name.as_str()) {
                    out.push(*p);
                }
            } else if let Some(z) = zones.get(member.as_str())
                && expanded.insert(z.name.as_str())
            {
                stack.push(z.members.iter());
            }
        }
        Ok(out)
    }

    /// How a page of zone `zone` sends: the zone's multicast TTL and interface, or the engine's
    /// for a unicast or unknown zone.
    pub fn sender_options(&self, zone: &str) -> crate::rtp::SenderOptions {
        let (ttl, interface) = match self.zone(zone).map(|z| &z.mode) {
            Some(ZoneMode::Multicast { ttl, interface, .. }) => (*ttl, *interface),
            _ => (self.engine.multicast_ttl, self.engine.interface),
        };
        crate::rtp::SenderOptions {
            ttl: u32::from(ttl),
            interface: Some(interface),
            ..crate::rtp::SenderOptions::default()
        }
    }

    /// Ports fixed by multicast zones (`port = ...`): a page allocating from the pool should
    /// start its `in_use` set with these so it never takes a zone's own port.
    pub fn reserved_ports(&self) -> HashSet<u16> {
        self.zones
            .iter()
            .filter_map(|z| match z.mode {
                ZoneMode::Multicast {
                    port: Some(port), ..
                } => Some(port.get()),
                _ => None,
            })
            .collect()
    }

    /// Groups fixed by multicast zones (`group = ...`), for the same reason as
    /// [`Config::reserved_ports`].
    pub fn reserved_groups(&self) -> HashSet<Ipv4Addr> {
        self.zones
            .iter()
            .filter_map(|z| match z.mode {
                ZoneMode::Multicast {
                    group: Some(group), ..
                } => Some(group),
                _ => None,
            })
            .collect()
    }
}
