//! The JSON body of `POST /api/pages` (through `server::api::parse_start_page`, the handler's
//! own checks), then the page's `source` as the server turns it into audio
//! (`source::source`, with an empty uploads directory): any body is refused with a
//! message or gives a request whose source is refused or plays.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::g711::Law;
use zonecast::rtp::packet::PAYLOAD_LEN;
use zonecast::server::api::parse_start_page;
use zonecast::source::{Trust, source};

fuzz_target!(|data: &[u8]| {
    let req = match parse_start_page(data) {
        Ok(req) => req,
        Err(e) => {
            assert!(e.0.is_client_error(), "{}: {}", e.0, e.1);
            return;
        }
    };
    assert_eq!(req.trust, Trust::Api);
    if let Some(d) = req.duration {
        assert!(d.as_secs_f64() > 0.0 && d.as_secs_f64() <= 86_400.0);
    }
    if req.talker.is_some() {
        // A talker's page plays the phone's microphone, which the server relays itself.
        return;
    }
    let uploads = std::path::Path::new("/nonexistent/zonecast-fuzz/uploads");
    let level = zonecast::source::Levelling::default();
    if let Ok(mut s) = source(&req.source, uploads, Trust::Api, Law::Ulaw, &level) {
        let mut out = [0u8; PAYLOAD_LEN];
        for _ in 0..3 {
            if !s.next_payload(&mut out) {
                break;
            }
        }
    }
});
