//! The emulated cluster's data: its phones as CUCM's database and RIS know them
//! ([`SimCucmDevice`]), its rules ([`SimCucmConfig`]: user and password, the AXL row budget, RIS's
//! batch size and rate), and a generator of large fleets for tests and benchmarks.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::cucm::RegState;

/// One phone of the emulated cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCucmDevice {
    /// Device name.
    pub name: String,
    /// AXL product (`Cisco 8851`).
    pub product: String,
    /// Description.
    pub description: String,
    /// Device pool.
    pub device_pool: String,
    /// Location.
    pub location: String,
    /// Owner user id.
    pub owner: String,
    /// Directory numbers, primary first.
    pub lines: Vec<String>,
    /// Its address (for an unregistered phone, the stale one RIS still shows).
    pub address: Ipv4Addr,
    /// What RIS says: [`RegState::Unknown`] is a phone RIS does not list at all.
    pub state: RegState,
    /// `Httpd`: its web server on.
    pub web_access: bool,
}

/// The emulated cluster's rules.
#[derive(Debug, Clone)]
pub struct SimCucmConfig {
    /// The application user.
    pub user: String,
    /// Its password.
    pub password: String,
    /// AXL schema version served.
    pub axl_version: String,
    /// Rows one AXL read may return before it is refused as over 8 MB.
    pub row_budget: usize,
    /// Names one RIS request may carry.
    pub ris_max_batch: usize,
    /// RIS requests per window.
    pub ris_per_window: u32,
    /// RIS's rate window.
    pub ris_window: Duration,
    /// Time added to every answer.
    pub slow: Duration,
    /// Answer the Nth RIS request (from 1) with the rate fault whatever the rate (a node's
    /// fault forced mid-way, for benchmarks).
    pub ris_fault_at: Option<u32>,
}

impl Default for SimCucmConfig {
    fn default() -> Self {
        SimCucmConfig {
            user: "axl".into(),
            password: "axl-secret".into(),
            axl_version: "14.0".into(),
            row_budget: 2000,
            ris_max_batch: crate::cucm::ris::MAX_BATCH,
            ris_per_window: 15,
            ris_window: Duration::from_secs(60),
            slow: Duration::ZERO,
            ris_fault_at: None,
        }
    }
}

impl SimCucmDevice {
    /// A running emulated phone as CUCM would list it: its device name, its model as an AXL
    /// product (`CP-8851` → `Cisco 8851`, `CP-8851-3PCC` → `Cisco 8851 3PCC`), its address,
    /// registered, web access on, in `device_pool` with directory number `dn`. CUCM reports no
    /// port: the fleet must give every phone its own address on one port (`[cucm] web_port`).
    pub fn from_phone(
        p: &crate::phone_sim::PhoneInfo,
        device_pool: &str,
        dn: &str,
    ) -> SimCucmDevice {
        let model = p.model.strip_prefix("CP-").unwrap_or(&p.model);
        let product = match model.strip_suffix("-3PCC") {
            Some(m) => format!("Cisco {m} 3PCC"),
            None => format!("Cisco {model}"),
        };
        SimCucmDevice {
            name: p.device.clone(),
            product,
            description: p.name.clone(),
            device_pool: device_pool.to_owned(),
            location: "Hub_None".into(),
            owner: String::new(),
            lines: vec![dn.to_owned()],
            address: *p.addr.ip(),
            state: RegState::Registered,
            web_access: true,
        }
    }
}

/// The products a generated fleet cycles through (one Multiplatform among them).
pub const FLEET_PRODUCTS: [&str; 6] = [
    "Cisco 8851",
    "Cisco 7841",
    "Cisco 8865",
    "Cisco 8845",
    "Cisco 7821",
    "Cisco 8851 3PCC",
];

/// `n` phones: `SEP` and a MAC from `n`'s index; products cycled from [`FLEET_PRODUCTS`];
/// device pools `DP-0`..`DP-3`; every 10th phone unregistered (stale address), every 25th
/// never registered, every 7th with web access off; addresses 10.(i/65536).(i/256).(i%256)+10.
pub fn fleet(n: usize) -> Vec<SimCucmDevice> {
    (0..n)
        .map(|i| {
            let ip = u32::from(Ipv4Addr::new(10, 0, 0, 10)) + u32::try_from(i).unwrap_or(0);
            SimCucmDevice {
                name: fleet_name(i),
                product: FLEET_PRODUCTS[i % FLEET_PRODUCTS.len()].into(),
                description: format!("{} desk {i}", ["Lobby", "Office", "Lab"][i % 3]),
                device_pool: format!("DP-{}", i % 4),
                location: "Hub_None".into(),
                owner: format!("user{i}"),
                lines: if i % 50 == 0 {
                    vec![]
                } else {
                    vec![format!("{}", 10_000 + i), format!("{}", 50_000 + i)]
                },
                address: Ipv4Addr::from(ip),
                state: if i % 25 == 0 {
                    RegState::Unknown
                } else if i % 10 == 0 {
                    RegState::Unregistered
                } else {
                    RegState::Registered
                },
                web_access: i % 7 != 0,
            }
        })
        .collect()
}

/// The device name of a generated fleet's phone `i`.
pub fn fleet_name(i: usize) -> String {
    format!("SEP{:012X}", 0x0011_2200_0000_u64 + i as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cucm::product::model_for_product;

    #[test]
    fn an_emulated_phone_is_listed_as_cucm_would() {
        let p = crate::phone_sim::PhoneInfo {
            name: "desk1".into(),
            model: "CP-8851-3PCC".into(),
            addr: "127.0.1.7:8080".parse().unwrap(),
            url: "http://127.0.1.7:8080".into(),
            device: "SEP001122334455".into(),
            user: "admin".into(),
            password: crate::push::Secret::new("x"),
            faults: Default::default(),
        };
        let d = SimCucmDevice::from_phone(&p, "DP-1", "1001");
        assert_eq!(d.product, "Cisco 8851 3PCC");
        assert_eq!(model_for_product(&d.product), "CP-8851-3PCC");
        assert_eq!(d.address, Ipv4Addr::new(127, 0, 1, 7));
        let fleet = fleet(60);
        assert_eq!(fleet[50].state, RegState::Unknown);
        assert_eq!(fleet[10].state, RegState::Unregistered);
        assert!(!fleet[7].web_access && fleet[0].lines.is_empty());
    }
}
