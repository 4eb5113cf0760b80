//! Everything a phone (or something pretending to be one) sends back over XSI: replies to a
//! push (CiscoIPPhoneResponse / CiscoIPPhoneError), startMedia replies, the callbacks a phone
//! POSTs (notifyMediaEvent, notifyApplicationEvent, DATA=...), getDeviceCaps replies, the `...X`
//! device pages, and — the other way round, as the emulated phones read them — push bodies.
//! Every parser gets the same bytes: none may panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::xsi::request::{decode_push_body, parse_push_request};
use zonecast::xsi::response::{
    MAX_DOCUMENT_BYTES, ParseError, parse_callback, parse_device_caps, parse_device_page,
    parse_execute_reply, parse_media_reply,
};

fn bounded<T>(len: usize, r: &Result<T, ParseError>) {
    if len > MAX_DOCUMENT_BYTES {
        assert!(
            matches!(r, Err(ParseError::TooLarge { .. })),
            "a document over the limit must be refused"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let r = parse_execute_reply(data);
    bounded(data.len(), &r);
    let _ = format!("{r:?}");
    let r = parse_media_reply(data);
    bounded(data.len(), &r);
    let _ = format!("{r:?}");
    let r = parse_callback(data);
    bounded(data.len(), &r);
    let _ = format!("{r:?}");
    let r = parse_device_caps(data);
    bounded(data.len(), &r);
    let _ = format!("{r:?}");
    let r = parse_device_page(data);
    bounded(data.len(), &r);
    let _ = format!("{r:?}");
    if let Ok(xml) = decode_push_body(data) {
        let _ = format!("{:?}", parse_push_request(&xml));
    }
});
