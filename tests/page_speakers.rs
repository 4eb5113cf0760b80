//! IP speakers (`[[speaker]]`) as page targets: a page to their zone sends them its G.711
//! stream at their own address and port (a multicast group on an odd port outside the phones'
//! range, a unicast address), with no push; the report lists them as sent; a speaker of
//! another zone hears nothing.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use common::cli_setup::{Setup, Spec, Zone, assert_exit, json};

/// What one speaker's socket received: packets and their µ-law audio.
struct Heard {
    packets: usize,
    payload_types: Vec<u8>,
    samples: Vec<i16>,
}

impl Heard {
    /// The tone's pitch from zero crossings of the loud part (the gate's silence left out).
    fn pitch(&self) -> f64 {
        let loud: Vec<i16> = self
            .samples
            .iter()
            .copied()
            .skip_while(|s| s.unsigned_abs() < 2000)
            .collect();
        let loud = &loud[..loud.len().saturating_sub(800)];
        let crossings = loud.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f64 / 2.0 / (loud.len() as f64 / 8000.0)
    }
}

/// Receive on `sock` until nothing has come for a second (or 20 s).
fn listen(sock: UdpSocket) -> std::thread::JoinHandle<Heard> {
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut heard = Heard {
            packets: 0,
            payload_types: Vec::new(),
            samples: Vec::new(),
        };
        let mut buf = [0u8; 2048];
        let start = Instant::now();
        let mut last = Instant::now();
        while start.elapsed() < Duration::from_secs(20)
            && (heard.packets == 0 || last.elapsed() < Duration::from_secs(1))
        {
            if let Ok(n) = sock.recv(&mut buf) {
                if n < 12 {
                    continue;
                }
                last = Instant::now();
                heard.packets += 1;
                let pt = buf[1] & 0x7f;
                if !heard.payload_types.contains(&pt) {
                    heard.payload_types.push(pt);
                }
                heard
                    .samples
                    .extend(buf[12..n].iter().map(|&b| zonecast::g711::decode_ulaw(b)));
            } else if heard.packets == 0 && start.elapsed() > Duration::from_secs(12) {
                break;
            }
        }
        heard
    })
}

/// A group of 239.255.0.0/16 and an odd port above the phones' range, bound and joined on
/// loopback.
fn group_socket() -> (UdpSocket, SocketAddrV4) {
    loop {
        let group = Ipv4Addr::new(
            239,
            255,
            rand::random::<u8>(),
            1 + rand::random::<u8>() % 250,
        );
        let port = 40001 + 2 * (rand::random::<u16>() % 10000);
        let Ok(sock) = UdpSocket::bind((group, port)) else {
            continue;
        };
        sock.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .unwrap();
        return (sock, SocketAddrV4::new(group, port));
    }
}

/// A unicast socket on loopback at a free (any) port.
fn unicast_socket() -> (UdpSocket, SocketAddrV4) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let std::net::SocketAddr::V4(a) = sock.local_addr().unwrap() else {
        unreachable!()
    };
    (sock, a)
}

#[test]
fn a_page_sends_its_stream_to_the_zones_speakers_and_reports_them_sent() {
    let (yard_sock, yard) = group_socket();
    let (desk_sock, desk) = unicast_socket();
    let (other_sock, other) = unicast_socket();
    let tables = format!(
        "[[speaker]]\nname = \"yard-horn\"\naddress = \"{yard}\"\nzones = [\"first\"]\n\n\
         [[speaker]]\nname = \"desk-horn\"\naddress = \"{desk}\"\nzones = [\"all\"]\n\n\
         [[speaker]]\nname = \"gym-horn\"\naddress = \"{other}\"\nzones = [\"gym\"]\n\n\
         [zone.gym]\nmembers = [\"p002\"]\n\n"
    );
    let s = Setup::new(&Spec {
        phones: 2,
        tables: &tables,
        zones: &Zone::all_and_first(1, None),
        ..Spec::default()
    });
    let heard: Vec<_> = [yard_sock, desk_sock, other_sock]
        .into_iter()
        .map(listen)
        .collect();
    // `all` is a multicast zone; "first" is in it only through its phone, so a page to `all`
    // reaches desk-horn (its zone) and not yard-horn, which another page reaches.
    let out = s.run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "700",
        "--duration",
        "2",
        "--json",
    ]);
    assert_exit(&out, 0);
    let r = json(&out);
    let phones = r["phones"].as_array().unwrap();
    let horn = phones.iter().find(|p| p["name"] == "desk-horn").unwrap();
    assert_eq!(horn["model"], "IP speaker", "{horn}");
    assert_eq!(
        (horn["pushed"].as_bool(), horn["accepted"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(
        !phones
            .iter()
            .any(|p| p["name"] == "yard-horn" || p["name"] == "gym-horn")
    );
    assert_eq!(r["totals"]["accepted"], 3, "{r}");
    let text = s.run(&[
        "page",
        "--zone",
        "first",
        "--tone",
        "1100",
        "--duration",
        "2",
    ]);
    assert_exit(&text, 0);
    let prose = String::from_utf8_lossy(&text.stdout);
    assert!(
        prose.contains("yard-horn") && prose.contains("sent (no answer exists)"),
        "{prose}"
    );

    let [yard_heard, desk_heard, other_heard]: [Heard; 3] = heard
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .ok()
        .unwrap();
    for (name, h, hz) in [
        ("desk-horn", &desk_heard, 700.0),
        ("yard-horn", &yard_heard, 1100.0),
    ] {
        assert!(h.packets >= 90, "{name}: {} packets", h.packets);
        assert_eq!(h.payload_types, [0], "{name}: PCMU only");
        let pitch = h.pitch();
        assert!(
            (pitch - hz).abs() < 25.0,
            "{name} heard {pitch:.0} Hz, not {hz}"
        );
    }
    assert_eq!(
        other_heard.packets, 0,
        "a speaker of another zone heard the page"
    );
}

#[test]
fn speakers_are_checked_at_load_with_the_line() {
    let s = Setup::new(&Spec {
        phones: 1,
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        ..Spec::default()
    });
    let base = std::fs::read_to_string(s.path("zonecast.toml")).unwrap();
    for (table, says) in [
        (
            "address = \"239.1.2.3\"\nzones = [\"all\"]",
            "must be IPV4:PORT",
        ),
        (
            "address = \"224.0.0.5:5000\"\nzones = [\"all\"]",
            "reserved for routing",
        ),
        (
            "address = \"239.1.2.3:5001\"\nzones = [\"nowhere\"]",
            "is not a zone",
        ),
        (
            "address = \"239.1.2.3:5001\"\nzones = []",
            "at least one zone",
        ),
    ] {
        let text = format!("{base}\n[[speaker]]\nname = \"horn\"\n{table}\n");
        std::fs::write(s.path("zonecast.toml"), &text).unwrap();
        let out = s.run(&["page", "--zone", "all", "--tone", "700", "--dry-run"]);
        let err = common::cli_setup::stderr(&out);
        assert!(
            !out.status.success() && err.contains(says),
            "{table}: {err}"
        );
        assert!(err.contains("zonecast.toml:"), "the file and line: {err}");
    }
    let text = format!(
        "{base}\n[[speaker]]\nname = \"p001\"\naddress = \"239.1.2.3:5001\"\nzones = [\"all\"]\n"
    );
    std::fs::write(s.path("zonecast.toml"), &text).unwrap();
    let err =
        common::cli_setup::stderr(&s.run(&["page", "--zone", "all", "--tone", "700", "--dry-run"]));
    assert!(err.contains("already the name"), "{err}");
}
