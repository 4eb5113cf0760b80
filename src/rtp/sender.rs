//! The UDP side of sending: one socket per stream, copied to every destination.
//!
//! Unicast fan-out goes through `sendmmsg(2)`: one system call per lane of up to 64
//! destinations, with the message headers rebuilt in a buffer allocated when the stream is
//! created, so a running stream allocates nothing however many phones it reaches. Multicast
//! sockets get their TTL, outgoing interface (`IP_MULTICAST_IF`) and loopback flag set
//! explicitly: without an interface the default route decides where a group goes. Packets carry
//! DSCP EF (46) unless told otherwise, as voice should.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, Socket, Type};

use super::port::Destination;
use super::schedule::LANE_SIZE;

/// DSCP Expedited Forwarding, the class for voice (RFC 3246).
pub const DSCP_EF: u8 = 46;

/// How a stream's socket is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderOptions {
    /// Multicast TTL (hops). 1 keeps a group on the local subnet.
    pub ttl: u32,
    /// Interface address multicast leaves from (`IP_MULTICAST_IF`); `None` lets routing decide.
    pub interface: Option<Ipv4Addr>,
    /// Whether multicast sent is also looped back to this host's members.
    pub multicast_loop: bool,
    /// DSCP code point (0..=63) put in the TOS byte.
    pub dscp: u8,
    /// Local address to send from; `None` binds an ephemeral port on all interfaces.
    pub bind: Option<SocketAddrV4>,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions {
            ttl: 1,
            interface: None,
            multicast_loop: true,
            dscp: DSCP_EF,
            bind: None,
        }
    }
}

/// What one send call achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOutcome {
    /// Datagrams handed to the kernel.
    pub sent: u32,
    /// Datagrams refused (buffer full, unreachable ...).
    pub failed: u32,
}

/// A socket and the destinations one stream is copied to.
pub struct Sender {
    socket: Socket,
    addrs: Vec<libc::sockaddr_in>,
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside `msgs` are only written and read within `send`, which rebuilds
// them from `addrs` and the caller's packet each time; nothing points across calls or threads.
unsafe impl Send for Sender {}

impl Sender {
    /// Open and configure a socket for `destinations`.
    pub fn new(destinations: &[Destination], opts: &SenderOptions) -> io::Result<Sender> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_nonblocking(true)?;
        // Room for a full lane burst per destination without EAGAIN on a busy host.
        let _ = socket.set_send_buffer_size(4 << 20);
        socket.set_tos_v4(u32::from(opts.dscp.min(63)) << 2)?;
        dont_fragment(&socket)?;
        if destinations.iter().any(Destination::is_multicast) {
            socket.set_multicast_ttl_v4(opts.ttl)?;
            socket.set_multicast_loop_v4(opts.multicast_loop)?;
            if let Some(iface) = opts.interface {
                socket.set_multicast_if_v4(&iface)?;
            }
        }
        let bind = opts
            .bind
            .unwrap_or_else(|| SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        socket.bind(&SocketAddr::V4(bind).into())?;
        let addrs = destinations.iter().map(sockaddr).collect();
        let msgs = Vec::with_capacity(LANE_SIZE);
        Ok(Sender {
            socket,
            addrs,
            msgs,
        })
    }

    /// Number of destinations.
    pub fn destinations(&self) -> usize {
        self.addrs.len()
    }

    /// The local address packets leave from.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// Send `packet` to the destinations in `range` (clamped to those that exist).
    pub fn send(&mut self, packet: &[u8], range: Range<usize>) -> SendOutcome {
        let range = range.start.min(self.addrs.len())..range.end.min(self.addrs.len());
        let mut outcome = SendOutcome::default();
        let mut iov = libc::iovec {
            iov_base: packet.as_ptr() as *mut libc::c_void,
            iov_len: packet.len(),
        };
        let mut start = range.start;
        while start < range.end {
            let end = (start + LANE_SIZE).min(range.end);
            self.msgs.clear();
            for addr in &mut self.addrs[start..end] {
                // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
                let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
                hdr.msg_name = addr as *mut libc::sockaddr_in as *mut libc::c_void;
                hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                hdr.msg_iov = &mut iov;
                hdr.msg_iovlen = 1;
                self.msgs.push(libc::mmsghdr {
                    msg_hdr: hdr,
                    msg_len: 0,
                });
            }
            let mut done = 0;
            while done < self.msgs.len() {
                let batch = &mut self.msgs[done..];
                // SAFETY: `batch` is a valid slice of initialised mmsghdr whose pointers refer to
                // `self.addrs` and `iov`, both alive for the duration of the call.
                let n = unsafe {
                    libc::sendmmsg(
                        self.socket.as_raw_fd(),
                        batch.as_mut_ptr(),
                        batch.len() as libc::c_uint,
                        0,
                    )
                };
                if n < 0 {
                    if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    // The first message of the batch failed: count it, go on with the rest.
                    outcome.failed += 1;
                    done += 1;
                } else {
                    outcome.sent += n as u32;
                    done += n as usize;
                }
            }
            start = end;
        }
        outcome
    }
}

fn sockaddr(d: &Destination) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; zero is a valid starting value.
    let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = d.port.to_be();
    sa.sin_addr = libc::in_addr {
        s_addr: u32::from(d.ip).to_be(),
    };
    sa
}

/// Set DF on every datagram (`IP_PMTUDISC_DO`). A 172-byte packet never needs fragmenting, and
/// with DF set the kernel leaves the IP id at 0 instead of drawing one from its shared id table
/// for every datagram of an unconnected socket (`__ip_select_ident`: 7–8 % of the sender's
/// profile at 1,000 destinations).
fn dont_fragment(socket: &Socket) -> io::Result<()> {
    let value: libc::c_int = libc::IP_PMTUDISC_DO;
    // SAFETY: a valid socket fd and a c_int option of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPort;
    use std::net::UdpSocket;
    use std::time::Duration;

    fn free_even_port() -> (UdpSocket, RtpPort) {
        for _ in 0..200 {
            let p = 20480 + 2 * (rand::random::<u16>() % 6000);
            if let Ok(s) = UdpSocket::bind(("127.0.0.1", p)) {
                return (s, RtpPort::new(p).unwrap());
            }
        }
        panic!("no free even port");
    }

    #[test]
    fn unicast_fan_out_reaches_every_destination_with_dscp_ef() {
        let receivers: Vec<_> = (0..70).map(|_| free_even_port()).collect();
        let dests: Vec<_> = receivers
            .iter()
            .map(|(_, p)| Destination::new(Ipv4Addr::LOCALHOST, *p))
            .collect();
        let mut sender = Sender::new(&dests, &SenderOptions::default()).unwrap();
        let tos = sender.socket.tos_v4().unwrap();
        assert_eq!(tos >> 2, 46);
        let out = sender.send(b"hello", 0..1000);
        assert_eq!(
            out,
            SendOutcome {
                sent: 70,
                failed: 0
            }
        );
        for (sock, _) in &receivers {
            sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = sock.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(from.port(), sender.local_addr().unwrap().port());
        }
    }
}
