//! Cisco ring files (`.raw` µ-law 8 kHz, `.rwb` s16le 16 kHz) read from bytes: the checker
//! behind `zonecast ringtone check`, the decoder, the container sniffing and the
//! wrong-format heuristic. Byte 0 chooses the format, the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::ringtone::Format;
use zonecast::ringtone::rules::{
    check_bytes, container_header, decode, looks_like_other_format, unpredictability,
};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let format = if sel & 1 == 0 {
        Format::Narrowband
    } else {
        Format::Wideband
    };
    let report = check_bytes(bytes, format);
    assert_eq!(report.samples, bytes.len() / format.bytes_per_sample());
    assert!(report.seconds.is_finite() && report.seconds >= 0.0);
    let _ = report.passes();
    let _ = format!("{report:?}");
    let samples = decode(bytes, format);
    assert_eq!(samples.len(), report.samples);
    let _ = container_header(bytes);
    let _ = looks_like_other_format(bytes, format);
    if let Some(u) = unpredictability(&samples) {
        assert!(u.is_finite() && u >= 0.0, "unpredictability {u}");
    }
});
