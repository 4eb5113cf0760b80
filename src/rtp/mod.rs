//! RTP for G.711 and G.722 paging: the wire format, the clock, the sockets, and the receiving end.
//!
//! Sans-IO parts (no sockets, no clock; time comes in as an argument):
//! - [`port`]: [`RtpPort`] (even, 20480..=32768) and [`Destination`] (`ADDR:PORT`).
//! - [`packet`]: [`Packetizer`] builds 172-byte PCMU/PCMA/G.722 packets; [`RtpHeader`] parses them.
//! - [`g722`]: [`G722Encoder`] / [`G722Decoder`], one stream's G.722 codec state (payload type
//!   9, 16 kHz audio on the 8 kHz RTP clock).
//! - [`codec`]: [`StreamCodec`], what differs between a G.711 and a G.722 stream (audio rate,
//!   header, silence, the sound after the codec).
//! - [`g722_encode`]: [`G722Encode`], a 16 kHz sample source encoded to G.722 packet by packet.
//! - [`schedule`]: [`Schedule`] decides which stream sends at which absolute instant, spreading
//!   streams across the 20 ms period.
//! - [`receiver`]: [`ReceiverState`] reorders arriving packets per SSRC and counts loss,
//!   duplicates, late packets, SSRC changes and RFC 3550 jitter.
//!
//! Shell parts:
//! - [`pacer`]: the one OS thread that sleeps to the schedule's deadlines and sends.
//! - [`sender`]: UDP sockets (unicast fan-out with `sendmmsg`, multicast with TTL and interface).
//! - [`listener`]: a socket (unicast or joined group) feeding a [`ReceiverState`].
//! - [`recorder`]: WAV / Opus files of received audio.
//!
//! Not here: what a phone is told to do (that is the control plane) or where audio comes from
//! ([`crate::audio`]).

pub mod codec;
pub mod g722;
pub mod g722_encode;
pub mod listener;
pub mod pacer;
pub mod packet;
pub mod port;
pub mod receiver;
pub mod recorder;
pub mod schedule;
pub mod sender;

pub use codec::StreamCodec;
pub use g722::{G722Decoder, G722Encoder};
pub use g722_encode::G722Encode;
pub use listener::{Listen, Listener};
pub use pacer::{
    Encode, EncodedClip, Pacer, PacerCore, PacerOptions, PacerStats, PayloadSource, SendStats,
    Stream, StreamHandle, StreamSpec,
};
pub use packet::{HEADER_LEN, PACKET_LEN, Packetizer, RtpHeader};
pub use port::{Destination, RtpPort};
pub use receiver::{ReceiveStats, ReceiverEvent, ReceiverState};
pub use recorder::{RecordError, RecordFormat, Recorder};
pub use schedule::Schedule;
pub use sender::{Sender, SenderOptions};
