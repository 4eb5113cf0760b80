//! The paging configuration loader (`Config::from_toml`): any text is either refused with an
//! error naming the problem or loads into a config whose zones all resolve.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_toml(text, "/nonexistent/zonecast-fuzz/zonecast.toml") {
        Ok(config) => {
            for zone in &config.zones {
                let _ = config.resolve_zone(&zone.name);
                let _ = config.sender_options(&zone.name);
            }
            let _ = config.reserved_ports();
            let _ = config.reserved_groups();
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
