//! Checks on zones as a whole, after each zone was read: zones containing zones must not loop,
//! and a unicast zone must not reach more phones than its limit.

use std::collections::HashMap;
use std::ops::Range;

use super::Config;
use super::source::Source;
use super::zone::{Zone, ZoneMode};
use crate::error::Invalid;

/// Where each zone's name and values are, for errors found after the zone is built.
pub(super) struct ZoneSpans {
    pub(super) name: Range<usize>,
    pub(super) members: Vec<Range<usize>>,
    pub(super) mode: Option<Range<usize>>,
}

/// Zones containing zones must not loop; the error shows the loop, e.g. `a → b → a`.
pub(super) fn check_cycles(
    src: &Source,
    zones: &[Zone],
    spans: &[ZoneSpans],
) -> Result<(), Invalid> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.name.as_str(), i))
        .collect();
    let mut state = vec![NEW; zones.len()];
    for start in 0..zones.len() {
        if state[start] != NEW {
            continue;
        }
        state[start] = OPEN;
        // (zone, index of its next member): an explicit stack, so deep nesting cannot overflow.
        let mut stack = vec![(start, 0usize)];
        while let Some(&(z, i)) = stack.last() {
            let Some(member) = zones[z].members.get(i) else {
                state[z] = DONE;
                stack.pop();
                continue;
            };
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            let Some(&m) = index.get(member.as_str()) else {
                continue;
            };
            match state[m] {
                NEW => {
                    state[m] = OPEN;
                    stack.push((m, 0));
                }
                OPEN => {
                    let from = stack.iter().position(|&(s, _)| s == m).unwrap_or(0);
                    let path: Vec<&str> = stack[from..]
                        .iter()
                        .map(|&(s, _)| zones[s].name.as_str())
                        .chain([zones[m].name.as_str()])
                        .collect();
                    return Err(src.invalid(
                        spans[z].members[i].clone(),
                        format!("zone {:?} members", zones[z].name),
                        member,
                        format!("makes a cycle of zones: {}", path.join(" → ")),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// A unicast zone may not reach more phones than its limit: past it, multicast is required.
pub(super) fn check_unicast_limits(
    src: &Source,
    config: &Config,
    spans: &[ZoneSpans],
) -> Result<(), Invalid> {
    for (zone, span) in config.zones.iter().zip(spans) {
        if zone.mode != ZoneMode::Unicast {
            continue;
        }
        let n = config.resolve_zone(&zone.name)?.len();
        let limit = zone.unicast_limit(&config.engine);
        if n > limit {
            return Err(src.invalid(
                span.mode.clone().unwrap_or(span.name.clone()),
                format!("zone {:?} mode", zone.name),
                "unicast",
                format!(
                    "the zone reaches {n} phones, more than max_unicast = {limit}: use \
                     mode = \"multicast\" or raise max_unicast"
                ),
            ));
        }
    }
    Ok(())
}
