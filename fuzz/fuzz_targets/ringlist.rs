//! `CiscoIPPhoneRingList` files as found on TFTP servers: parse any bytes; a list that parses
//! renders within the phones' limits, and the rendering parses back to the rings it kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::ringtone::ringlist::{MAX_NAME, MAX_RINGS};
use zonecast::ringtone::{parse_ring_list, render_ring_list};

fuzz_target!(|data: &[u8]| {
    let Ok(list) = parse_ring_list(data) else {
        return;
    };
    let (xml, _warnings) = render_ring_list(&list);
    let again = parse_ring_list(xml.as_bytes())
        .unwrap_or_else(|e| panic!("our own rendering {xml:?} does not parse: {e}"));
    assert!(again.rings.len() <= MAX_RINGS.min(list.rings.len()));
    for r in &again.rings {
        assert!(r.display_name.chars().count() <= MAX_NAME, "{r:?}");
        assert!(r.file_name.chars().count() <= MAX_NAME, "{r:?}");
    }
    // After one round (which may fill an empty DisplayName with the file name, as parsing
    // does), rendering what we rendered changes nothing.
    let xml2 = render_ring_list(&again).0;
    let third = parse_ring_list(xml2.as_bytes()).expect("parses");
    assert_eq!(render_ring_list(&third).0, xml2);
});
