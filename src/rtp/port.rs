//! RTP ports and destinations, with the phones' rules built in.
//!
//! Cisco phones accept RTP only on even UDP ports from 20480 to 32768 (the odd port above is
//! RTCP's). An [`RtpPort`] cannot hold anything else, so a bad port is refused where the user
//! typed it, with the value and the rule in the message.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use crate::error::Invalid;

/// An even UDP port in 20480..=32768.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RtpPort(u16);

impl RtpPort {
    /// Lowest port a phone accepts.
    pub const MIN: u16 = 20480;
    /// Highest port a phone accepts.
    pub const MAX: u16 = 32768;
    /// The rule, as printed in errors.
    pub const RULE: &'static str = "RTP ports must be even, 20480..=32768";

    /// Check and wrap a port number.
    pub fn new(port: u16) -> Result<RtpPort, Invalid> {
        if (Self::MIN..=Self::MAX).contains(&port) && port.is_multiple_of(2) {
            Ok(RtpPort(port))
        } else {
            Err(Invalid::new("port", port, Self::RULE))
        }
    }

    /// The port number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for RtpPort {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let n: u16 = s
            .trim()
            .parse()
            .map_err(|_| Invalid::new("port", s, Self::RULE))?;
        RtpPort::new(n)
    }
}

impl fmt::Display for RtpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a stream goes: an IPv4 address (unicast or multicast) and a UDP port. A phone's is
/// an [`RtpPort`] ([`Destination::new`]); an IP speaker's or a SIP peer's may be any port
/// ([`Destination::to_port`]): the XSI rule is the phones', not the sender's.
///
/// Phones speak IPv4 only for RTP streaming, so IPv6 is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Unicast host or multicast group.
    pub ip: Ipv4Addr,
    /// The UDP port (a phone's: even, in the phones' range).
    pub port: u16,
}

impl Destination {
    /// A phone's destination from its parts.
    pub const fn new(ip: Ipv4Addr, port: RtpPort) -> Self {
        Destination {
            ip,
            port: port.get(),
        }
    }

    /// A destination on any port but 0 (an IP speaker, a SIP peer).
    pub fn to_port(ip: Ipv4Addr, port: std::num::NonZeroU16) -> Self {
        Destination {
            ip,
            port: port.get(),
        }
    }

    /// Whether the address is a multicast group (224.0.0.0/4).
    pub fn is_multicast(&self) -> bool {
        self.ip.is_multicast()
    }

    /// As a socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), self.port)
    }
}

impl FromStr for Destination {
    type Err = Invalid;
    /// Parses `ADDR:PORT`, e.g. `239.1.1.1:20480` or `127.0.0.1:24000`.
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let (host, port) = s
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| Invalid::new("destination", s, "expected IPv4ADDR:PORT"))?;
        let ip: Ipv4Addr = host.parse().map_err(|_| {
            Invalid::new(
                "destination",
                s,
                format!("{host:?} is not an IPv4 address (phones stream over IPv4 only)"),
            )
        })?;
        let port = port
            .parse::<RtpPort>()
            .map_err(|e| Invalid::new("destination", s, e.to_string()))?;
        Ok(Destination::new(ip, port))
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_even_ports_in_range() {
        assert_eq!(RtpPort::new(20480).unwrap().get(), 20480);
        assert_eq!(RtpPort::new(32768).unwrap().get(), 32768);
        for bad in [0, 20478, 20481, 32767, 32770, 65535] {
            let e = RtpPort::new(bad).unwrap_err();
            assert_eq!(e.field, "port");
            assert_eq!(e.value, bad.to_string());
            assert!(e.to_string().contains("even, 20480..=32768"), "{e}");
        }
    }

    #[test]
    fn destination_parses_and_renders() {
        let d: Destination = "239.1.1.1:20480".parse().unwrap();
        assert!(d.is_multicast());
        assert_eq!(d.to_string(), "239.1.1.1:20480");
        assert_eq!(d.socket_addr().to_string(), "239.1.1.1:20480");
        let u: Destination = " 127.0.0.1:24000 ".parse().unwrap();
        assert!(!u.is_multicast());
    }

    #[test]
    fn destination_errors_name_value_and_rule() {
        let e = "127.0.0.1:20481".parse::<Destination>().unwrap_err();
        assert_eq!(e.value, "127.0.0.1:20481");
        assert!(e.rule.contains("even"), "{e}");
        let e = "127.0.0.1".parse::<Destination>().unwrap_err();
        assert!(e.rule.contains("ADDR:PORT"), "{e}");
        let e = "[::1]:20480".parse::<Destination>().unwrap_err();
        assert!(e.rule.contains("IPv4"), "{e}");
        let e = "host:abc".parse::<Destination>().unwrap_err();
        assert!(e.to_string().contains("host:abc"), "{e}");
    }
}
