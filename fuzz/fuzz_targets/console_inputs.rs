//! The outside inputs of the console's routes, as their handlers check them: the body of
//! `POST /api/recordings` (`server::recordings::parse_start`), a ring tone's name
//! (`server::ringtones::check_name`) and an `Accept` header of the event streams
//! (`server::events::accepts_events`). Any input is accepted within the documented bounds or
//! refused with a client error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::server::events::accepts_events;
use zonecast::server::recordings::{MAX_SECONDS, parse_start};
use zonecast::server::ringtones::check_name;

fuzz_target!(|data: &[u8]| {
    match parse_start(data) {
        Ok((_, d)) => assert!(d.as_secs_f64() >= 1.0 && d.as_secs_f64() <= MAX_SECONDS),
        Err(e) => assert!(e.status.is_client_error(), "{}: {}", e.status, e.why),
    }
    let text = String::from_utf8_lossy(data);
    match check_name(&text) {
        Ok(()) => assert!(!text.is_empty() && text.len() <= 21 && !text.contains(['/', '.', '\\'])),
        Err(e) => assert!(e.status.is_client_error()),
    }
    if accepts_events(&text) {
        assert!(text.to_ascii_lowercase().contains("text/event-stream"));
    }
});
