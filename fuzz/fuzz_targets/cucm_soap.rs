//! What CUCM (or something pretending to be it) answers: AXL `listPhone` and `executeSQLQuery`
//! answers, RisPort70 `selectCmDeviceExt` answers, SOAP faults (and the "Query request too
//! large" and rate-limit texts read from them). Every parser gets the same text: none may
//! panic, hang or allocate without bound; an answer over the bound is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::cucm::axl::{TooLarge, parse_lines, parse_list_phone};
use zonecast::cucm::ris::{is_rate_fault, parse_select};
use zonecast::cucm::soap::{MAX_ANSWER_BYTES, SoapError};

fn check<T: std::fmt::Debug>(len: usize, r: &Result<T, SoapError>) {
    if len > MAX_ANSWER_BYTES {
        assert!(r.is_err(), "an answer over the bound must be refused");
    }
    if let Err(e) = r {
        let _ = e.to_string();
        if let Some(f) = e.fault() {
            let _ = TooLarge::from_fault(f);
            let _ = is_rate_fault(f);
        }
    }
    let _ = format!("{r:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(text.len(), &parse_list_phone(&text));
    check(text.len(), &parse_lines(&text));
    check(text.len(), &parse_select(&text));
});
