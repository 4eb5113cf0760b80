//! A caller's keys as RFC 4733 telephone-events, pure: the four-byte payload (event, end bit,
//! volume, duration) read from an RTP packet of the call's telephone-event payload type, and the
//! key it names. A key's packets repeat (every 50 ms while held, its end three times), all with
//! the RTP timestamp of the key's start, so one key is one timestamp and event ([`Keys`]; the
//! event too, so a sender that starts its timestamps over still has each new key taken). No crate for
//! telephone-event fits (the RTP crates parse the header only); this is small and fuzzed
//! (`fuzz/fuzz_targets/sip_inbound.rs`). A trunk that cannot send telephone-events sends each
//! key in a SIP INFO instead ([`info_key`]: `application/dtmf-relay`, `Signal=5`, or
//! `application/dtmf`, `5`).

use crate::rtp::packet::RtpHeader;

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The event code (0-9 the digits, 10 `*`, 11 `#`, 12-15 A-D).
    pub event: u8,
    /// The key was released (the last packets of the event).
    pub end: bool,
    /// Its volume, in -dBm0 (0..=63).
    pub volume: u8,
    /// Its duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Read a telephone-event payload (4 bytes; a longer one carries more events, RFC 4733
    /// §2.5.1.4, of which the first is taken).
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        let [event, flags, d0, d1] = *payload.get(..4)? else {
            return None;
        };
        Some(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The key it names, if a keypad key.
    pub fn key(self) -> Option<char> {
        match self.event {
            0..=9 => Some(char::from(b'0' + self.event)),
            10 => Some('*'),
            11 => Some('#'),
            12..=15 => Some(char::from(b'A' + self.event - 12)),
            _ => None,
        }
    }
}

/// A caller's keys from the RTP it sends: each key once, however often its packets repeat.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// The timestamp and event of the last key taken.
    last: Option<(u32, u8)>,
}

impl Keys {
    /// Take a datagram: the key it starts, if it is a telephone-event packet (payload type
    /// `payload_type`) of a key not taken yet.
    pub fn push(&mut self, payload_type: u8, datagram: &[u8]) -> Option<char> {
        let (h, payload) = RtpHeader::parse(datagram).ok()?;
        if h.payload_type != payload_type {
            return None;
        }
        let event = TelephoneEvent::parse(payload)?;
        let key = event.key()?;
        if self.last == Some((h.timestamp, event.event)) {
            return None;
        }
        self.last = Some((h.timestamp, event.event));
        Some(key)
    }
}

/// Longest INFO body read for a key (a real one is about 30 bytes).
const MAX_INFO_BODY: usize = 256;

/// The key a SIP INFO carries, from its Content-Type and body.
pub fn info_key(content_type: &str, body: &[u8]) -> Option<char> {
    let kind = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body.get(..body.len().min(MAX_INFO_BODY))?).ok()?;
    let signal = match kind.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })?,
        "application/dtmf" => text.trim(),
        _ => return None,
    };
    let mut chars = signal.chars();
    match (chars.next()?, chars.next()) {
        (c @ ('0'..='9' | '*' | '#'), None) => Some(c),
        (c @ ('A'..='D' | 'a'..='d'), None) => Some(c.to_ascii_uppercase()),
        // Some trunks send the event number (`Signal=11` for #).
        _ => signal.parse::<u8>().ok().and_then(|event| {
            TelephoneEvent {
                event,
                end: false,
                volume: 0,
                duration: 0,
            }
            .key()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&[1, 2, 3, 4]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn payloads_read_as_rfc_4733_says() {
        let e = TelephoneEvent::parse(&[11, 0x8A, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.key(), Some('#'));
        let keys: String = (0..=16)
            .filter_map(|ev| TelephoneEvent::parse(&[ev, 0, 0, 0])?.key())
            .collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
        assert!(TelephoneEvent::parse(&[5, 0, 0, 160, 9, 9, 9, 9]).is_some());
    }

    #[test]
    fn a_key_repeated_and_ended_three_times_counts_once() {
        let mut keys = Keys::default();
        let mut got = String::new();
        // '5' held: start, update, three ends, all at timestamp 1000; then '#' at 3000.
        for (seq, ts, payload) in [
            (1, 1000, [5, 10, 0, 160]),
            (2, 1000, [5, 10, 1, 64]),
            (3, 1000, [5, 0x8A, 1, 224]),
            (4, 1000, [5, 0x8A, 1, 224]),
            (5, 1000, [5, 0x8A, 1, 224]),
            (6, 3000, [11, 10, 0, 160]),
        ] {
            got.extend(keys.push(101, &packet(101, seq, ts, &payload)));
        }
        assert_eq!(got, "5#");
        // Another key at the same timestamp (a sender starting over) is a new key.
        assert_eq!(
            keys.push(101, &packet(101, 9, 3000, &[2, 10, 0, 160])),
            Some('2')
        );
        // Audio and garbage are not keys.
        assert_eq!(keys.push(101, &packet(0, 7, 5000, &[11, 0, 0, 0])), None);
        assert_eq!(keys.push(101, b"nope"), None);
        assert_eq!(keys.push(101, &packet(101, 8, 6000, &[200, 0, 0, 0])), None);
    }

    #[test]
    fn info_bodies_of_both_kinds_name_their_key() {
        let relay = "application/dtmf-relay";
        assert_eq!(info_key(relay, b"Signal=#\r\nDuration=160\r\n"), Some('#'));
        assert_eq!(
            info_key("Application/DTMF-Relay; x=1", b"signal= 5\n"),
            Some('5')
        );
        assert_eq!(info_key(relay, b"Signal=11\r\nDuration=160"), Some('#'));
        assert_eq!(info_key(relay, b"Signal=d"), Some('D'));
        assert_eq!(info_key("application/dtmf", b"*\r\n"), Some('*'));
        for (kind, body) in [
            (relay, &b"Duration=160"[..]),
            (relay, b"Signal=##"),
            (relay, b"Signal=99"),
            (relay, b"\xFF"),
            ("text/plain", b"Signal=#"),
            ("application/dtmf", b""),
        ] {
            assert_eq!(info_key(kind, body), None, "{kind} {body:?}");
        }
    }
}
