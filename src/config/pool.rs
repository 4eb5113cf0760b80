//! The pools pages draw from: even RTP ports and multicast groups. A pool only knows its range;
//! which members are taken is the caller's (it passes them in as `in_use`), so the pools stay
//! plain values that a page's state machine can consult without sharing anything.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::Invalid;
use crate::rtp::RtpPort;

/// Every member of a pool is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pool} {range}: {wanted} wanted, only {free} free")]
pub struct PoolExhausted {
    /// `port_pool` or `multicast_pool`.
    pub pool: &'static str,
    /// The pool as configured, e.g. `20480-21478`.
    pub range: String,
    /// How many were asked for.
    pub wanted: usize,
    /// How many were free.
    pub free: usize,
}

/// An inclusive range of even RTP ports, e.g. `20480-21478`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPool {
    first: RtpPort,
    last: RtpPort,
}

impl PortPool {
    /// The rule for a pool, as printed in errors.
    pub const RULE: &'static str =
        "must be FIRST-LAST, both even and within 20480..=32768, FIRST <= LAST";

    /// A pool from its bounds (both included).
    pub fn new(first: RtpPort, last: RtpPort) -> Result<PortPool, Invalid> {
        if first > last {
            return Err(Invalid::new(
                "port_pool",
                format!("{first}-{last}"),
                Self::RULE,
            ));
        }
        Ok(PortPool { first, last })
    }

    /// Lowest port.
    pub fn first(&self) -> RtpPort {
        self.first
    }

    /// Highest port.
    pub fn last(&self) -> RtpPort {
        self.last
    }

    /// Number of ports (never 0).
    pub fn len(&self) -> usize {
        usize::from((self.last.get() - self.first.get()) / 2) + 1
    }

    /// Always false: a pool holds at least one port. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `port` is one of the pool's.
    pub fn contains(&self, port: RtpPort) -> bool {
        (self.first..=self.last).contains(&port)
    }

    /// The ports, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = RtpPort> + use<> {
        (self.first.get()..=self.last.get())
            .step_by(2)
            .filter_map(|p| RtpPort::new(p).ok())
    }

    /// `n` distinct ports not in `in_use`, lowest first; all or nothing.
    pub fn allocate(&self, n: usize, in_use: &HashSet<u16>) -> Result<Vec<RtpPort>, PoolExhausted> {
        let got: Vec<RtpPort> = self
            .iter()
            .filter(|p| !in_use.contains(&p.get()))
            .take(n)
            .collect();
        if got.len() < n {
            return Err(PoolExhausted {
                pool: "port_pool",
                range: self.to_string(),
                wanted: n,
                free: got.len(),
            });
        }
        Ok(got)
    }
}

impl Default for PortPool {
    /// Every port a phone accepts: 20480-32768.
    fn default() -> Self {
        PortPool {
            first: RtpPort::new(RtpPort::MIN).expect("the minimum is a valid port"),
            last: RtpPort::new(RtpPort::MAX).expect("the maximum is a valid port"),
        }
    }
}

impl FromStr for PortPool {
    type Err = Invalid;
    /// `FIRST-LAST` or a single `PORT`.
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("port_pool", s, Self::RULE);
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let first = a.trim().parse::<RtpPort>().map_err(|_| bad())?;
        let last = b.trim().parse::<RtpPort>().map_err(|_| bad())?;
        PortPool::new(first, last).map_err(|_| bad())
    }
}

impl fmt::Display for PortPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// A block of multicast groups, e.g. `239.255.10.0/24`.
///
/// Groups whose low 23 bits match those of 224.0.0.0/24 are never handed out: they map to the
/// same Ethernet addresses (01:00:5e:00:00:xx) as link-local control traffic, which switches
/// flood to every port regardless of IGMP snooping, so a page there would reach every phone's
/// network card on the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPool {
    network: Ipv4Addr,
    prefix: u8,
}

impl GroupPool {
    /// The rule for a pool, as printed in errors.
    pub const RULE: &'static str = "must be a multicast block ADDR/PREFIX within 224.0.0.0/4 \
         (e.g. 239.255.10.0/24) with no host bits set";

    /// A pool from its network address and prefix length (4..=32).
    pub fn new(network: Ipv4Addr, prefix: u8) -> Result<GroupPool, Invalid> {
        let value = format!("{network}/{prefix}");
        if !(4..=32).contains(&prefix) || !network.is_multicast() {
            return Err(Invalid::new("multicast_pool", value, Self::RULE));
        }
        let bits = u32::from(network);
        if bits & !Self::mask(prefix) != 0 {
            let base = Ipv4Addr::from(bits & Self::mask(prefix));
            return Err(Invalid::new(
                "multicast_pool",
                value,
                format!("{}; did you mean {base}/{prefix}?", Self::RULE),
            ));
        }
        let pool = GroupPool { network, prefix };
        if pool.iter().next().is_none() {
            return Err(Invalid::new(
                "multicast_pool",
                value,
                "every group in it shares its Ethernet address with 224.0.0.x control traffic \
                 (switches flood those); choose another block, e.g. 239.255.10.0/24",
            ));
        }
        Ok(pool)
    }

    fn mask(prefix: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `group` lies in the block (usable or not).
    pub fn contains(&self, group: Ipv4Addr) -> bool {
        u32::from(group) & Self::mask(self.prefix) == u32::from(self.network)
    }

    /// Whether a group maps to the flooded 01:00:5e:00:00:xx Ethernet addresses.
    fn floods(group: u32) -> bool {
        group & 0x007f_ff00 == 0
    }

    /// The groups handed out, lowest first (lazily: a /8 is 16 million).
    pub fn iter(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let start = u64::from(u32::from(self.network));
        let end = start + (1u64 << (32 - u32::from(self.prefix)));
        (start..end)
            .filter_map(|g| u32::try_from(g).ok())
            .filter(|g| !Self::floods(*g))
            .map(Ipv4Addr::from)
    }

    /// The lowest group not in `in_use`.
    pub fn allocate(&self, in_use: &HashSet<Ipv4Addr>) -> Result<Ipv4Addr, PoolExhausted> {
        // Only `in_use.len() + 1` candidates need looking at: one of them must be free.
        self.iter()
            .take(in_use.len().saturating_add(1))
            .find(|g| !in_use.contains(g))
            .ok_or_else(|| PoolExhausted {
                pool: "multicast_pool",
                range: self.to_string(),
                wanted: 1,
                free: 0,
            })
    }
}

impl Default for GroupPool {
    /// 239.255.0.0/16, the organization-local scope (RFC 2365).
    fn default() -> Self {
        GroupPool {
            network: Ipv4Addr::new(239, 255, 0, 0),
            prefix: 16,
        }
    }
}

impl FromStr for GroupPool {
    type Err = Invalid;
    /// `ADDR/PREFIX`, or a single `ADDR` (a pool of one).
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("multicast_pool", s, Self::RULE);
        let (a, p) = s.trim().split_once('/').unwrap_or((s.trim(), "32"));
        let network: Ipv4Addr = a.trim().parse().map_err(|_| bad())?;
        let prefix: u8 = p.trim().parse().map_err(|_| bad())?;
        GroupPool::new(network, prefix).map_err(|e| Invalid::new("multicast_pool", s, e.rule))
    }
}

impl fmt::Display for GroupPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(p: u16) -> RtpPort {
        RtpPort::new(p).unwrap()
    }

    #[test]
    fn port_pool_parses_and_refuses_odd_or_reversed_bounds() {
        let p: PortPool = "20480-20490".parse().unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(p.to_string(), "20480-20490");
        let single: PortPool = "24000".parse().unwrap();
        assert_eq!(single.iter().collect::<Vec<_>>(), vec![port(24000)]);
        for bad in [
            "20481-20490",
            "20480-20491",
            "20490-20480",
            "1000-2000",
            "x",
            "20480-",
        ] {
            let e = bad.parse::<PortPool>().unwrap_err();
            assert_eq!(e.value, bad);
            assert!(e.rule.contains("even"), "{e}");
        }
        assert_eq!(PortPool::default().len(), 6145);
    }

    #[test]
    fn port_pool_allocates_distinct_even_ports_skipping_those_in_use() {
        let p: PortPool = "20480-20490".parse().unwrap();
        let in_use = HashSet::from([20480, 20484]);
        let got = p.allocate(3, &in_use).unwrap();
        assert_eq!(got, vec![port(20482), port(20486), port(20488)]);
        let e = p.allocate(5, &in_use).unwrap_err();
        assert_eq!((e.wanted, e.free), (5, 4));
        assert!(e.to_string().contains("20480-20490"), "{e}");
        assert!(p.allocate(4, &in_use).is_ok());
        assert_eq!(p.allocate(0, &in_use).unwrap(), vec![]);
    }

    #[test]
    fn group_pool_hands_out_free_groups_and_reports_exhaustion() {
        let p: GroupPool = "239.255.10.0/30".parse().unwrap();
        let mut in_use = HashSet::new();
        let mut got = Vec::new();
        for _ in 0..4 {
            let g = p.allocate(&in_use).unwrap();
            assert!(p.contains(g) && g.is_multicast());
            in_use.insert(g);
            got.push(g);
        }
        assert_eq!(got[0], Ipv4Addr::new(239, 255, 10, 0));
        assert_eq!(got[3], Ipv4Addr::new(239, 255, 10, 3));
        let e = p.allocate(&in_use).unwrap_err();
        assert_eq!(e.pool, "multicast_pool");
        // Groups outside the pool in `in_use` do not hide free ones.
        let outside = HashSet::from([Ipv4Addr::new(239, 1, 1, 1), Ipv4Addr::new(239, 1, 1, 2)]);
        assert_eq!(p.allocate(&outside).unwrap(), got[0]);
    }

    #[test]
    fn group_pool_refuses_non_multicast_host_bits_and_flooded_blocks() {
        for bad in [
            "10.0.0.0/24",
            "239.255.10.1/24",
            "239.255.10.0/33",
            "239.255.10.0/x",
        ] {
            let e = bad.parse::<GroupPool>().unwrap_err();
            assert_eq!(e.value, bad);
            assert_eq!(e.field, "multicast_pool");
        }
        let e = "239.255.10.1/24".parse::<GroupPool>().unwrap_err();
        assert!(e.rule.contains("239.255.10.0/24"), "{e}");
        // 239.128.0.0/24 aliases 224.0.0.0/24 at the Ethernet layer: nothing usable.
        let e = "239.128.0.0/24".parse::<GroupPool>().unwrap_err();
        assert!(e.rule.contains("flood"), "{e}");
        // A /16 starting at such a block skips just those 256 groups.
        let p: GroupPool = "239.0.0.0/16".parse().unwrap();
        assert_eq!(p.iter().next(), Some(Ipv4Addr::new(239, 0, 1, 0)));
        assert_eq!(GroupPool::default().to_string(), "239.255.0.0/16");
    }
}
