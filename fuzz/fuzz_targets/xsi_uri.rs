//! The XSI URI parser (`Key:NavUp`, `RTPRx:10.0.0.1:20480:80`, `Notify:http:...`): any string
//! either fails to parse or parses to a value that renders to a string parsing back to the
//! same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::xsi::uri::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = s.parse::<Uri>() else {
        return;
    };
    let rendered = uri.to_string();
    let again: Uri = rendered
        .parse()
        .unwrap_or_else(|e| panic!("{s:?} parsed to {uri:?}, rendered {rendered:?}: {e}"));
    assert_eq!(again, uri, "{s:?} rendered as {rendered:?}");
    assert_eq!(again.to_string(), rendered, "rendering is not stable");
    let _ = uri.allowed_in_execute();
});
