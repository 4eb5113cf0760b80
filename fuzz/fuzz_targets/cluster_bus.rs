//! What another node (or anything on the bus or the LAN) sends a zonecast node of a cluster: a
//! district page's part request, its reply, its stop, its report events and its live frames
//! (NATS), a journal record read back from a stream, a node's status from the hub's bucket, and
//! a pair's LAN heartbeat (UDP). Every reader gets the same bytes: none may panic, hang or allocate without
//! bound, and a message over its bound is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::cluster::{
    BEAT_MAX_BYTES, Beat, JournalRecord, MAX_LIVE_FRAMES, NodeStatus, PartEvent, PartReply,
    PartRequest, PartStop, RECORD_LIMIT, live_frames,
};

const MAX_MESSAGE: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let request = PartRequest::parse(data);
    let reply = PartReply::parse(data);
    let stop = PartStop::parse(data);
    let event = PartEvent::parse(data);
    if data.len() > MAX_MESSAGE {
        assert!(request.is_err() && reply.is_err() && stop.is_err() && event.is_err());
    }
    let _ = format!("{request:?}{reply:?}{stop:?}{event:?}");
    match live_frames(data) {
        Ok(frames) => assert!(frames.map(<[u8]>::len).all(|n| n == 160)),
        Err(_) => {
            assert!(data.is_empty() || data.len() % 160 != 0 || data.len() > 160 * MAX_LIVE_FRAMES)
        }
    }
    let record = JournalRecord::decode(data);
    if data.len() > RECORD_LIMIT {
        assert!(record.is_err(), "a record over the bound must be refused");
    }
    let _ = format!("{record:?}");
    let beat = Beat::decode(data);
    if data.len() > BEAT_MAX_BYTES {
        assert!(beat.is_err(), "a heartbeat over the bound must be refused");
    }
    if let Ok(b) = beat {
        // What is read is what would be sent back.
        assert_eq!(Beat::decode(&b.encode()).ok(), Some(b));
    }
    let _ = serde_json::from_slice::<NodeStatus>(data).map(|s| format!("{s:?}"));
});
