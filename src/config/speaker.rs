//! `[[speaker]]` tables: IP speakers (Algo, Axis, CyberData ...) that play whatever G.711
//! µ-law RTP arrives at a fixed address and port of their own, a multicast group or their
//! unicast address. They take no push and give no answer: a page of one of their zones sends
//! them its stream and reports them as sent. Their port is theirs (often odd, often outside
//! the phones' 20480..=32768), so it is a general address, not the XSI `RtpPort` rule.
//!
//! ```toml
//! [[speaker]]
//! name = "yard-horn"
//! address = "239.10.0.5:50002"   # GROUP:PORT, or the speaker's own IPv4:PORT
//! zones = ["outside", "all"]     # pages to these zones (or zones that hold them) reach it
//! ```

use std::collections::HashSet;
use std::net::SocketAddrV4;

use serde::Deserialize;

use super::source::Source;
use super::value::{Text, check_name};
use super::zone::Zone;
use crate::error::Invalid;

/// Most speakers a config may list.
pub const MAX_SPEAKERS: usize = 1000;

/// A `[[speaker]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpeaker {
    /// Its name (unique among phones, zones and speakers; the page report's key).
    pub name: String,
    /// Where its stream is sent: a multicast group or a unicast address, and a port.
    pub address: SocketAddrV4,
    /// The zones whose pages reach it (a zone that holds one of these reaches it too).
    pub zones: Vec<String>,
}

/// `[[speaker]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpeaker {
    name: Text,
    address: Text,
    zones: Vec<Text>,
}

/// A speaker's address, or the rule it breaks.
pub fn speaker_address_rule(a: &str) -> Result<SocketAddrV4, String> {
    let rule = "must be IPV4:PORT, a multicast group or the speaker's own address, e.g. \
                239.10.0.5:50002";
    let addr: SocketAddrV4 = a.trim().parse().map_err(|_| rule.to_owned())?;
    let ip = *addr.ip();
    if addr.port() == 0 {
        return Err("the port must be 1..=65535".into());
    }
    if ip.is_unspecified() || ip.is_broadcast() {
        return Err(format!("{ip} is not an address a stream can be sent to"));
    }
    if ip.is_multicast() && ip.octets()[0] == 224 && ip.octets()[1] == 0 && ip.octets()[2] == 0 {
        return Err(format!(
            "{ip} is in 224.0.0.0/24, reserved for routing protocols: use a group such as 239.x.y.z"
        ));
    }
    Ok(addr)
}

/// Check the `[[speaker]]`s against the zones and the names already taken (phones, zones).
pub(super) fn check(
    src: &Source,
    raw: Vec<RawSpeaker>,
    zones: &[Zone],
    taken: &HashSet<&str>,
) -> Result<Vec<StreamSpeaker>, Invalid> {
    if let Some(extra) = raw.get(MAX_SPEAKERS) {
        return Err(src.invalid(
            extra.name.span(),
            "[[speaker]]",
            raw.len(),
            format!("at most {MAX_SPEAKERS} speakers"),
        ));
    }
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        check_name(src, &s.name, "[[speaker]] name")?;
        let name = s.name.get_ref().clone();
        if taken.contains(name.as_str()) || !names.insert(name.clone()) {
            return Err(src.invalid(
                s.name.span(),
                "[[speaker]] name",
                &name,
                "is already the name of a phone, a zone or another speaker",
            ));
        }
        let address = speaker_address_rule(s.address.get_ref()).map_err(|rule| {
            src.invalid(
                s.address.span(),
                format!("speaker {name:?} address"),
                s.address.get_ref(),
                rule,
            )
        })?;
        if s.zones.is_empty() {
            return Err(src.invalid(
                s.name.span(),
                format!("speaker {name:?} zones"),
                "[]",
                "name at least one zone whose pages it plays",
            ));
        }
        let mut its = Vec::new();
        for z in &s.zones {
            if !zones.iter().any(|k| &k.name == z.get_ref()) {
                return Err(src.invalid(
                    z.span(),
                    format!("speaker {name:?} zones"),
                    z.get_ref(),
                    "is not a zone",
                ));
            }
            if !its.contains(z.get_ref()) {
                its.push(z.get_ref().clone());
            }
        }
        out.push(StreamSpeaker {
            name,
            address,
            zones: its,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_groups_or_hosts_with_any_port() {
        assert_eq!(
            speaker_address_rule("239.10.0.5:50001"),
            Ok("239.10.0.5:50001".parse().unwrap())
        );
        assert!(speaker_address_rule("127.0.0.1:5").is_ok());
        for bad in [
            "239.10.0.5",
            "239.10.0.5:0",
            "0.0.0.0:5000",
            "255.255.255.255:5000",
            "224.0.0.9:5000",
            "[::1]:5000",
            "horn:5000",
        ] {
            assert!(speaker_address_rule(bad).is_err(), "{bad}");
        }
    }
}
