//! RTP packets for G.711 (RFC 3550 / RFC 3551): building them and reading their headers.
//!
//! A paging stream is 20 ms frames of 160 G.711 bytes behind a 12-byte header: 172 bytes on the
//! wire, version 2, no padding, no extension, no CSRCs. The [`Packetizer`] writes headers into a
//! caller-owned fixed buffer, so a running stream allocates nothing. Random SSRC, first sequence
//! number and first timestamp come from the caller ([`Packetizer::random`] draws them), keeping
//! this module free of hidden state.
//!
//! The header is hand-written rather than built with the `rtp` crate: it is twelve bytes, and the
//! crate's `Packet` owns heap buffers per packet. The tests parse our packets with the `rtp` crate
//! to keep us honest.

use crate::g711::Law;

/// Bytes in the fixed RTP header we send.
pub const HEADER_LEN: usize = 12;
/// G.711 bytes in one 20 ms frame.
pub const PAYLOAD_LEN: usize = 160;
/// Bytes of one packet on the wire (UDP payload).
pub const PACKET_LEN: usize = HEADER_LEN + PAYLOAD_LEN;
/// RTP timestamp units per packet (8 kHz × 20 ms).
pub const TIMESTAMP_STEP: u32 = 160;

/// Turns 20 ms G.711 payloads into consecutive RTP packets of one stream (one SSRC).
#[derive(Debug, Clone)]
pub struct Packetizer {
    law: Law,
    payload_type: u8,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    first: bool,
}

impl Packetizer {
    /// A packetizer whose first packet carries `sequence` and `timestamp`.
    pub fn new(law: Law, ssrc: u32, sequence: u16, timestamp: u32) -> Self {
        Packetizer {
            law,
            payload_type: law.payload_type(),
            ssrc,
            sequence,
            timestamp,
            first: true,
        }
    }

    /// A packetizer with random SSRC, initial sequence number and timestamp, as RFC 3550 asks.
    pub fn random(law: Law) -> Self {
        Packetizer::new(law, rand::random(), rand::random(), rand::random())
    }

    /// A G.722 packetizer (payload type 9; the timestamp still steps by 160 per packet, the
    /// 8 kHz RTP clock RFC 3551 fixes for G.722). Its [`Packetizer::law`] is meaningless.
    pub fn g722(ssrc: u32, sequence: u16, timestamp: u32) -> Self {
        Packetizer {
            payload_type: crate::rtp::g722::G722_PAYLOAD_TYPE,
            ..Packetizer::new(Law::Ulaw, ssrc, sequence, timestamp)
        }
    }

    /// [`Packetizer::g722`] with random SSRC, sequence number and timestamp.
    pub fn random_g722() -> Self {
        Packetizer::g722(rand::random(), rand::random(), rand::random())
    }

    /// The payload type every packet carries.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The law (and so the payload type) of the stream.
    pub fn law(&self) -> Law {
        self.law
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// The timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Write the next header into `packet[..12]` and advance. The payload is whatever the caller
    /// put in `packet[12..]` (see [`Packetizer::payload_mut`]).
    pub fn write_header(&mut self, packet: &mut [u8; PACKET_LEN]) {
        let marker = if self.first { 0x80 } else { 0 };
        packet[0] = 0x80; // V=2, P=0, X=0, CC=0
        packet[1] = marker | self.payload_type;
        packet[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        self.first = false;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(TIMESTAMP_STEP);
    }

    /// The payload part of a packet buffer.
    pub fn payload_mut(packet: &mut [u8; PACKET_LEN]) -> &mut [u8; PAYLOAD_LEN] {
        (&mut packet[HEADER_LEN..])
            .try_into()
            .expect("PACKET_LEN - HEADER_LEN == PAYLOAD_LEN")
    }

    /// Encode a frame of linear samples into `packet` and write the next header.
    pub fn packetize_pcm(&mut self, pcm: &crate::audio::Frame, packet: &mut [u8; PACKET_LEN]) {
        self.law.encode_into(pcm, Self::payload_mut(packet));
        self.write_header(packet);
    }

    /// Account for `frames` frames that were not sent (the pacer fell too far behind): the
    /// timestamp moves on so receivers see the true time gap, while the sequence stays
    /// contiguous (nothing was lost on the wire; RFC 3550 §5.1).
    pub fn skip_frames(&mut self, frames: u32) {
        self.timestamp = self
            .timestamp
            .wrapping_add(TIMESTAMP_STEP.wrapping_mul(frames));
    }
}

/// The fields of an RTP header a receiver needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit (set on the first packet of a talk spurt).
    pub marker: bool,
    /// Payload type (0 = PCMU, 8 = PCMA).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp (8 kHz units for G.711).
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer bytes than the header needs.
    #[error("packet of {0} bytes is shorter than its RTP header")]
    Short(usize),
    /// Version bits are not 2.
    #[error("RTP version {0}, expected 2")]
    Version(u8),
    /// Padding count larger than the packet.
    #[error("RTP padding of {0} bytes exceeds the packet")]
    Padding(u8),
}

impl RtpHeader {
    /// Parse `data`, returning the header and the payload (CSRCs, extension and padding skipped).
    pub fn parse(data: &[u8]) -> Result<(RtpHeader, &[u8]), PacketError> {
        if data.len() < HEADER_LEN {
            return Err(PacketError::Short(data.len()));
        }
        let version = data[0] >> 6;
        if version != 2 {
            return Err(PacketError::Version(version));
        }
        let padding = data[0] & 0x20 != 0;
        let extension = data[0] & 0x10 != 0;
        let csrc_count = (data[0] & 0x0F) as usize;
        let mut start = HEADER_LEN + 4 * csrc_count;
        if extension {
            let words = data
                .get(start + 2..start + 4)
                .ok_or(PacketError::Short(data.len()))?;
            start += 4 + 4 * u16::from_be_bytes([words[0], words[1]]) as usize;
        }
        let mut end = data.len();
        if padding {
            let pad = data[end - 1];
            if pad == 0 || pad as usize > end.saturating_sub(start) {
                return Err(PacketError::Padding(pad));
            }
            end -= pad as usize;
        }
        if start > end {
            return Err(PacketError::Short(data.len()));
        }
        let header = RtpHeader {
            marker: data[1] & 0x80 != 0,
            payload_type: data[1] & 0x7F,
            sequence: u16::from_be_bytes([data[2], data[3]]),
            timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        };
        Ok((header, &data[start..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webrtc_util::marshal::Unmarshal;

    #[test]
    fn packets_are_what_the_rtp_crate_reads() {
        let mut p = Packetizer::new(Law::Ulaw, 0xDEADBEEF, 65534, u32::MAX - 100);
        let mut buf = [0u8; PACKET_LEN];
        let mut seen = Vec::new();
        for i in 0..4u8 {
            Packetizer::payload_mut(&mut buf).fill(i);
            p.write_header(&mut buf);
            let mut bytes = &buf[..];
            let pkt = rtp::packet::Packet::unmarshal(&mut bytes).expect("rtp crate parses it");
            assert_eq!(pkt.header.version, 2);
            assert_eq!(pkt.header.payload_type, 0);
            assert_eq!(pkt.header.ssrc, 0xDEADBEEF);
            assert_eq!(pkt.header.marker, i == 0, "marker only on the first packet");
            assert!(!pkt.header.padding && !pkt.header.extension);
            assert_eq!(pkt.payload.len(), 160);
            assert!(pkt.payload.iter().all(|&b| b == i));
            seen.push((pkt.header.sequence_number, pkt.header.timestamp));
        }
        // Sequence and timestamp wrap around as RFC 3550 arithmetic says.
        assert_eq!(
            seen,
            vec![(65534, u32::MAX - 100), (65535, 59), (0, 219), (1, 379)]
        );
    }

    #[test]
    fn alaw_uses_payload_type_8_and_pcm_is_encoded() {
        let mut p = Packetizer::new(Law::Alaw, 1, 0, 0);
        let mut buf = [0u8; PACKET_LEN];
        p.packetize_pcm(&[0i16; 160], &mut buf);
        assert_eq!(buf[1], 0x80 | 8);
        assert!(buf[HEADER_LEN..].iter().all(|&b| b == 0xD5));
        let (h, payload) = RtpHeader::parse(&buf).unwrap();
        assert_eq!(h.payload_type, 8);
        assert!(h.marker);
        assert_eq!(payload.len(), 160);
    }

    #[test]
    fn g722_uses_payload_type_9_on_the_8_khz_clock() {
        let mut p = Packetizer::g722(7, 0, 1000);
        let mut buf = [0u8; PACKET_LEN];
        p.write_header(&mut buf);
        p.write_header(&mut buf);
        let (h, payload) = RtpHeader::parse(&buf).unwrap();
        assert_eq!((h.payload_type, h.timestamp, payload.len()), (9, 1160, 160));
        assert_eq!(p.payload_type(), 9);
    }

    #[test]
    fn random_packetizers_differ() {
        let a = Packetizer::random(Law::Ulaw);
        let b = Packetizer::random(Law::Ulaw);
        assert_ne!(
            (a.ssrc(), a.next_sequence(), a.next_timestamp()),
            (b.ssrc(), b.next_sequence(), b.next_timestamp())
        );
    }

    #[test]
    fn skip_moves_timestamp_not_sequence() {
        let mut p = Packetizer::new(Law::Ulaw, 1, 10, 1000);
        p.skip_frames(5);
        assert_eq!(p.next_sequence(), 10);
        assert_eq!(p.next_timestamp(), 1000 + 800);
    }

    #[test]
    fn parse_handles_csrc_extension_padding_and_garbage() {
        // V=2, P=1, X=1, CC=1; one CSRC; extension of 1 word; 4 payload bytes; 2 padding bytes.
        let mut d = vec![0xB1, 0x00, 0, 7, 0, 0, 0, 9, 0, 0, 0, 5];
        d.extend_from_slice(&[1, 2, 3, 4]); // CSRC
        d.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension header + 1 word
        d.extend_from_slice(&[0xAA, 0xBB, 0xCC, 0xDD, 0, 2]);
        let (h, payload) = RtpHeader::parse(&d).unwrap();
        assert_eq!((h.sequence, h.timestamp, h.ssrc), (7, 9, 5));
        assert_eq!(payload, &[0xAA, 0xBB, 0xCC, 0xDD]);
        assert_eq!(RtpHeader::parse(&d[..5]), Err(PacketError::Short(5)));
        let mut v1 = d.clone();
        v1[0] = 0x40;
        assert_eq!(RtpHeader::parse(&v1), Err(PacketError::Version(1)));
        let mut pad = d.clone();
        *pad.last_mut().unwrap() = 200;
        assert_eq!(RtpHeader::parse(&pad), Err(PacketError::Padding(200)));
        let ext_short = [0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE];
        assert!(RtpHeader::parse(&ext_short).is_err());
    }
}
