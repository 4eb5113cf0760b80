//! The measuring receiver: one UDP socket on `0.0.0.0:PORT` that every destination
//! `127.0.x.y:PORT` lands on, read with `recvmmsg` in a thread of the parent process.
//!
//! Each datagram's header destination address comes from `IP_PKTINFO` (which destination it was
//! sent to), its arrival time from `SO_TIMESTAMPNS` (kernel time, `CLOCK_REALTIME`), and kernel
//! drops on this socket from `SO_RXQ_OVFL`, so receiver overload shows up as such rather than
//! as sender loss.

use std::collections::BTreeMap;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

// Linux x86_64 / aarch64 values, spelled out so the example does not depend on which of them
// the libc crate exports for the target.
pub const SO_RCVBUFFORCE: libc::c_int = 33;
pub const SO_TIMESTAMPNS: libc::c_int = 35;
const SCM_TIMESTAMPNS: libc::c_int = SO_TIMESTAMPNS;
pub const SO_RXQ_OVFL: libc::c_int = 40;

/// Datagrams read per `recvmmsg` call.
const BATCH: usize = 256;
const BUF_LEN: usize = 2048;
const CTRL_LEN: usize = 256;

/// Sleep between drains in poll mode.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Receive buffer asked for (with `SO_RCVBUFFORCE` when permitted).
pub const RCVBUF: usize = 64 << 20;

/// One datagram that arrived for one destination.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// Kernel arrival time, `CLOCK_REALTIME` ns.
    pub t_ns: i64,
    /// RTP timestamp.
    pub ts: u32,
    /// RTP sequence number.
    pub seq: u16,
}

/// Everything the receiver saw during one run.
#[derive(Debug, Default)]
pub struct Capture {
    /// Arrivals per destination index, in arrival order.
    pub per_dest: Vec<Vec<Arrival>>,
    /// First SSRC seen per destination, and how many datagrams carried another one.
    pub ssrc: Vec<Option<u32>>,
    pub ssrc_changes: u64,
    /// Datagram sizes seen (bytes -> count).
    pub sizes: BTreeMap<usize, u64>,
    /// Datagrams for an address that is not one of the destinations, or not RTP.
    pub foreign: u64,
    pub not_rtp: u64,
    /// Datagrams without a kernel timestamp (timed in user space instead).
    pub no_kernel_ts: u64,
    /// Datagrams the kernel dropped on this socket (`SO_RXQ_OVFL`).
    pub rx_dropped: u64,
    /// The receive buffer the kernel granted (bytes, as `SO_RCVBUF` reports it).
    pub rcvbuf: usize,
}

/// A running receiver.
pub struct Receiver {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<Capture>>,
    pub port: u16,
}

/// The destination index of `127.0.(i/250).(i%250+1)`.
pub fn dest_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (i / 250) as u8, (i % 250 + 1) as u8)
}

/// Which destination `a` is (`dest_addr`'s inverse), if one of the first `n`.
pub fn dest_index(a: Ipv4Addr, n: usize) -> Option<usize> {
    let [x, y, hi, lo] = a.octets();
    if x != 127 || y != 0 || lo == 0 || lo > 250 {
        return None;
    }
    let i = hi as usize * 250 + lo as usize - 1;
    (i < n).then_some(i)
}

pub fn setsockopt_int(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: valid fd and a pointer to a c_int of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &v as *const libc::c_int as *const libc::c_void,
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Bind `0.0.0.0:port` (or the next free even port, up to 50 tries) and start reading for
/// `n` destinations. The socket is bound when this returns, so a sender started afterwards
/// loses nothing.
pub fn start(port: u16, n: usize, per_dest_capacity: usize, poll: bool) -> io::Result<Receiver> {
    let mut last_err = None;
    for p in (port..).step_by(2).take(50) {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        match socket.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, p)).into()) {
            Ok(()) => return start_on(socket, p, n, per_dest_capacity, poll),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no port")))
}

fn start_on(socket: Socket, port: u16, n: usize, cap: usize, poll: bool) -> io::Result<Receiver> {
    let fd = socket.as_raw_fd();
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; plain SO_RCVBUF is capped by net.core.rmem_max.
    if setsockopt_int(fd, libc::SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF as libc::c_int).is_err() {
        let _ = socket.set_recv_buffer_size(RCVBUF);
    }
    setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
    setsockopt_int(fd, libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)?;
    let _ = setsockopt_int(fd, libc::SOL_SOCKET, SO_RXQ_OVFL, 1);
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let rcvbuf = socket.recv_buffer_size().unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("fanout-recv".into())
        .spawn(move || {
            let mut cap_ = Capture {
                per_dest: (0..n).map(|_| Vec::with_capacity(cap)).collect(),
                ssrc: vec![None; n],
                rcvbuf,
                ..Capture::default()
            };
            read_loop(&socket, n, &thread_stop, poll, &mut cap_)?;
            Ok(cap_)
        })?;
    Ok(Receiver { stop, thread, port })
}

impl Receiver {
    /// Drain what is queued, stop, and hand back what was seen.
    pub fn finish(self) -> io::Result<Capture> {
        self.stop.store(true, Ordering::Release);
        self.thread
            .join()
            .map_err(|_| io::Error::other("receiver thread panicked"))?
    }
}

#[allow(clippy::unnecessary_cast)] // time_t is not i64 everywhere
pub fn realtime_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

fn read_loop(
    socket: &Socket,
    n: usize,
    stop: &AtomicBool,
    poll: bool,
    out: &mut Capture,
) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let mut batch = Batch::new();
    let flags = if poll {
        libc::MSG_DONTWAIT
    } else {
        libc::MSG_WAITFORONE
    };
    loop {
        let got = match batch.recv(fd, flags) {
            Ok(got) => got,
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    // Queue empty (poll) or nothing for 50 ms (block): done once asked to stop.
                    if stop.load(Ordering::Acquire) {
                        return Ok(());
                    }
                    if poll {
                        std::thread::sleep(POLL_INTERVAL);
                    }
                    continue;
                }
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            },
        };
        let fallback_now = realtime_ns();
        for i in 0..got {
            let (b, meta) = batch.datagram(i);
            if let Some(d) = meta.dropped {
                out.rx_dropped = out.rx_dropped.max(d as u64);
            }
            *out.sizes.entry(b.len()).or_default() += 1;
            let t_ns = meta.t_ns.unwrap_or_else(|| {
                out.no_kernel_ts += 1;
                fallback_now
            });
            let Some(idx) = meta.dst.and_then(|a| dest_index(a, n)) else {
                out.foreign += 1;
                continue;
            };
            if b.len() < 12 || b[0] >> 6 != 2 {
                out.not_rtp += 1;
                continue;
            }
            let seq = u16::from_be_bytes([b[2], b[3]]);
            let ts = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
            match out.ssrc[idx] {
                None => out.ssrc[idx] = Some(ssrc),
                Some(s) if s != ssrc => out.ssrc_changes += 1,
                _ => {}
            }
            out.per_dest[idx].push(Arrival { t_ns, ts, seq });
        }
    }
}

/// What a datagram's control messages said.
#[derive(Debug, Default, Clone, Copy)]
pub struct Meta {
    /// Kernel arrival time, `CLOCK_REALTIME` ns (`SO_TIMESTAMPNS`).
    pub t_ns: Option<i64>,
    /// The address it was sent to (`IP_PKTINFO`).
    pub dst: Option<Ipv4Addr>,
    /// Datagrams the kernel has dropped on the socket so far (`SO_RXQ_OVFL`).
    pub dropped: Option<u32>,
}

/// One `recvmmsg` batch: [`BATCH`] buffers and their control space, allocated once.
pub struct Batch {
    bufs: Vec<[u8; BUF_LEN]>,
    // u64 alignment for the cmsg headers.
    ctrl: Vec<[u64; CTRL_LEN / 8]>,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl Batch {
    pub fn new() -> Batch {
        let mut bufs = vec![[0u8; BUF_LEN]; BATCH];
        let iovs = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: BUF_LEN,
            })
            .collect();
        Batch {
            bufs,
            ctrl: vec![[0u64; CTRL_LEN / 8]; BATCH],
            iovs,
            // SAFETY: an all-zero mmsghdr is valid; its pointers are set before every call.
            msgs: (0..BATCH).map(|_| unsafe { mem::zeroed() }).collect(),
        }
    }

    /// One `recvmmsg(fd, …, flags)`: how many datagrams arrived (read them with `datagram`).
    pub fn recv(&mut self, fd: libc::c_int, flags: libc::c_int) -> io::Result<usize> {
        // The vectors' heap blocks never move, so the pointers stay valid however `self` moves.
        for (i, m) in self.msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = std::ptr::null_mut();
            m.msg_hdr.msg_namelen = 0;
            m.msg_hdr.msg_iov = &mut self.iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = self.ctrl[i].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = CTRL_LEN as _;
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        // SAFETY: msgs point into bufs, ctrl and iovs, all alive and of the sizes declared.
        let got = unsafe {
            libc::recvmmsg(
                fd,
                self.msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if got < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(got as usize)
        }
    }

    /// Datagram `i` of the last `recv` (cut to the buffer) and what its control messages said.
    pub fn datagram(&self, i: usize) -> (&[u8], Meta) {
        let m = &self.msgs[i];
        let mut meta = Meta::default();
        // SAFETY: the kernel filled msg_control/msg_controllen; the CMSG macros walk it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
            while !c.is_null() {
                let (lvl, ty) = ((*c).cmsg_level, (*c).cmsg_type);
                let data = libc::CMSG_DATA(c);
                if lvl == libc::SOL_SOCKET && ty == SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(data.cast());
                    meta.t_ns = Some(ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64);
                } else if lvl == libc::IPPROTO_IP && ty == libc::IP_PKTINFO {
                    let pi: libc::in_pktinfo = std::ptr::read_unaligned(data.cast());
                    meta.dst = Some(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr)));
                } else if lvl == libc::SOL_SOCKET && ty == SO_RXQ_OVFL {
                    meta.dropped = Some(std::ptr::read_unaligned(data.cast()));
                }
                c = libc::CMSG_NXTHDR(&m.msg_hdr, c);
            }
        }
        let len = (m.msg_len as usize).min(BUF_LEN);
        (&self.bufs[i][..len], meta)
    }
}
