//! A UDP socket that receives one RTP port (unicast) or one group (multicast) and feeds a
//! [`ReceiverState`]. The thin shell around the receiver's pure logic.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::pacer::mono_now_ns;
use super::port::RtpPort;
use super::receiver::{ReceiverEvent, ReceiverState, ReorderConfig};
use crate::error::Invalid;

/// What to listen on: `[GROUP@]IP:PORT`. With a group, `IP` is the interface that joins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Multicast group to join, if any.
    pub group: Option<Ipv4Addr>,
    /// Unicast address to bind, or the interface address that joins the group.
    pub addr: Ipv4Addr,
    /// Port.
    pub port: RtpPort,
}

impl FromStr for Listen {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let (group, rest) = match s.split_once('@') {
            Some((g, rest)) => {
                let g: Ipv4Addr = g.parse().map_err(|_| {
                    Invalid::new("listen", s, format!("{g:?} is not an IPv4 multicast group"))
                })?;
                if !g.is_multicast() {
                    return Err(Invalid::new(
                        "listen",
                        s,
                        format!("{g} is not a multicast group (224.0.0.0/4)"),
                    ));
                }
                (Some(g), rest)
            }
            None => (None, s),
        };
        let (ip, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| Invalid::new("listen", s, "expected [GROUP@]IP:PORT"))?;
        let addr: Ipv4Addr = ip
            .parse()
            .map_err(|_| Invalid::new("listen", s, format!("{ip:?} is not an IPv4 address")))?;
        if group.is_none() && addr.is_multicast() {
            return Err(Invalid::new(
                "listen",
                s,
                "to receive a group write GROUP@INTERFACE_IP:PORT, e.g. 239.1.1.1@127.0.0.1:20480",
            ));
        }
        let port = port
            .parse::<RtpPort>()
            .map_err(|e| Invalid::new("listen", s, e.to_string()))?;
        Ok(Listen { group, addr, port })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(g) = self.group {
            write!(f, "{g}@")?;
        }
        write!(f, "{}:{}", self.addr, self.port)
    }
}

/// A bound (and, for a group, joined) socket with its receiver state.
pub struct Listener {
    socket: UdpSocket,
    /// The receiver's state: statistics are read from here.
    pub state: ReceiverState,
}

/// How often the receive loop wakes with nothing arriving, to give up on missing packets and
/// check whether to stop.
const POLL: Duration = Duration::from_millis(20);

impl Listener {
    /// Bind `listen`; for a group, bind the group address and join it on the interface.
    pub fn bind(listen: &Listen, reorder: ReorderConfig) -> io::Result<Listener> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        // Bursts of many streams must not overflow the default ~200 KB buffer.
        let _ = socket.set_recv_buffer_size(4 << 20);
        let bind_ip = match listen.group {
            Some(group) => {
                socket.set_reuse_address(true)?;
                group
            }
            None => listen.addr,
        };
        socket.bind(&SocketAddr::V4(SocketAddrV4::new(bind_ip, listen.port.get())).into())?;
        if let Some(group) = listen.group {
            socket.join_multicast_v4(&group, &listen.addr)?;
        }
        socket.set_read_timeout(Some(POLL))?;
        Ok(Listener {
            socket: socket.into(),
            state: ReceiverState::new(reorder),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receive until `stop(received_anything, ns_since_last_packet)` returns true, feeding every
    /// event to `sink`; then play out what is buffered.
    pub fn run(
        &mut self,
        mut stop: impl FnMut(bool, u64) -> bool,
        mut sink: impl FnMut(ReceiverEvent),
    ) -> io::Result<()> {
        let mut buf = [0u8; 2048];
        let mut last_packet: Option<u64> = None;
        let start = mono_now_ns();
        loop {
            let now = mono_now_ns();
            let idle = now - last_packet.unwrap_or(start);
            if stop(last_packet.is_some(), idle) {
                break;
            }
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    let t = mono_now_ns();
                    last_packet = Some(t);
                    self.state.on_packet(t, &buf[..n], &mut sink);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    self.state.on_timeout(mono_now_ns(), &mut sink);
                }
                Err(e) => return Err(e),
            }
        }
        self.state.flush(&mut sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_specs_parse_with_rules_named() {
        let l: Listen = "239.1.1.1@127.0.0.1:20480".parse().unwrap();
        assert_eq!(l.group, Some(Ipv4Addr::new(239, 1, 1, 1)));
        assert_eq!(l.to_string(), "239.1.1.1@127.0.0.1:20480");
        let u: Listen = "127.0.0.1:24000".parse().unwrap();
        assert_eq!(u.group, None);
        let e = "127.0.0.1:24001".parse::<Listen>().unwrap_err();
        assert!(e.to_string().contains("even"), "{e}");
        let e = "10.0.0.1@127.0.0.1:20480".parse::<Listen>().unwrap_err();
        assert!(e.rule.contains("not a multicast group"), "{e}");
        let e = "239.1.1.1:20480".parse::<Listen>().unwrap_err();
        assert!(e.rule.contains("GROUP@"), "{e}");
    }
}
