//! What the recorder benchmark needs from the system: the fd limit, free ports of the pool, and
//! the kernel's view of the receiving sockets (`/proc/net/udp`: which ports are bound, and how
//! many datagrams each socket dropped because its receive buffer was full).

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, UdpSocket};

/// The RTP port pool of the engine (even ports).
pub const POOL_FIRST: u16 = 20480;
pub const POOL_LAST: u16 = 32768;

/// Raise the soft limit on open files to the hard limit (children inherit it). Returns the
/// new soft limit.
pub fn raise_nofile() -> u64 {
    // SAFETY: all-zero rlimit is valid; valid pointers.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
        }
    }
    rl.rlim_cur as u64
}

/// `n` even pool ports free on 127.0.0.1 right now, with the sockets that hold them (drop them
/// just before the peer binds, so nobody else takes them meanwhile).
pub fn free_ports(n: usize) -> io::Result<(Vec<u16>, Vec<UdpSocket>)> {
    let mut ports = Vec::with_capacity(n);
    let mut held = Vec::with_capacity(n);
    for p in (POOL_FIRST..=POOL_LAST).step_by(2) {
        if ports.len() == n {
            break;
        }
        if let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, p)) {
            ports.push(p);
            held.push(s);
        }
    }
    if ports.len() < n {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("only {} free even ports in the pool", ports.len()),
        ));
    }
    Ok((ports, held))
}

/// One UDP socket's counters in `/proc/net/udp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UdpSock {
    /// Bytes waiting in the receive queue (memory charged, not payload).
    pub rx_queue: u64,
    /// Datagrams dropped (receive buffer full).
    pub drops: u64,
}

/// UDP sockets bound to 127.0.0.1, by local port (summed when several share a port).
pub fn udp_loopback() -> HashMap<u16, UdpSock> {
    let mut out = HashMap::new();
    let Ok(table) = std::fs::read_to_string("/proc/net/udp") else {
        return out;
    };
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some((addr, port)) = f.get(1).and_then(|l| l.split_once(':')) else {
            continue;
        };
        if addr != "0100007F" {
            continue;
        }
        let Ok(port) = u16::from_str_radix(port, 16) else {
            continue;
        };
        let drops = f.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
        let rx_queue = f
            .get(4)
            .and_then(|q| q.split_once(':'))
            .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
            .unwrap_or(0);
        let e: &mut UdpSock = out.entry(port).or_default();
        e.drops += drops;
        e.rx_queue += rx_queue;
    }
    out
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}
