//! The discovered phone table: one [`CucmPhone`] per device name (model, address, directory
//! numbers, device pool, registration, web access), built by joining what AXL and RisPort70
//! said, and what changed between two tables ([`TableChanges`]: added, removed, moved address,
//! model changed). Unregistered phones and phones with web access off stay in the table, so a
//! page can report them with that reason instead of dropping them.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::axl::{AxlLine, AxlPhone};
use super::product::{is_multiplatform, model_for_product};
use super::ris::{RegState, RisDevice};

/// One discovered phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CucmPhone {
    /// Device name (`SEP0011223344AA`).
    pub name: String,
    /// Model as the engine names it (`CP-8851`, `CP-8845-3PCC`).
    pub model: String,
    /// AXL's product name.
    pub product: String,
    /// Its description.
    pub description: String,
    /// Device pool.
    pub device_pool: String,
    /// Location.
    pub location: String,
    /// Owner user id.
    pub owner: String,
    /// Directory numbers, primary line first.
    pub lines: Vec<String>,
    /// IPv4 address (for an unregistered phone, the last one RIS knew; may be stale).
    pub address: Option<Ipv4Addr>,
    /// Registration.
    pub state: RegState,
    /// Whether its web server (and so XSI push) is on; `None`: RIS did not say.
    pub web_access: Option<bool>,
    /// Multiplatform firmware (cannot take RTP pushes).
    pub multiplatform: bool,
}

impl CucmPhone {
    /// The phone as `listPhone` gave it, not yet seen by RIS.
    pub fn from_axl(p: &AxlPhone) -> CucmPhone {
        let model = model_for_product(if p.product.is_empty() {
            &p.model
        } else {
            &p.product
        });
        CucmPhone {
            multiplatform: is_multiplatform(&model),
            model,
            name: p.name.clone(),
            product: p.product.clone(),
            description: p.description.clone(),
            device_pool: p.device_pool.clone(),
            location: p.location.clone(),
            owner: p.owner.clone(),
            lines: Vec::new(),
            address: None,
            state: RegState::Unknown,
            web_access: None,
        }
    }

    /// Its primary directory number.
    pub fn directory_number(&self) -> Option<&str> {
        self.lines.first().map(String::as_str)
    }

    /// RIS's view written in.
    pub fn set_ris(&mut self, d: &RisDevice) {
        self.address = d.address;
        self.state = d.state;
        self.web_access = d.web_access;
    }
}

/// Write the lines of `lines` into `phones` (by device name), primary first.
pub fn join_lines(phones: &mut [CucmPhone], lines: &[AxlLine]) {
    let index: HashMap<&str, usize> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let mut by_phone: Vec<Vec<(u32, &str)>> = vec![Vec::new(); phones.len()];
    for l in lines {
        if let Some(&i) = index.get(l.device.as_str()) {
            by_phone[i].push((l.index, l.dn.as_str()));
        }
    }
    for (p, mut ls) in phones.iter_mut().zip(by_phone) {
        ls.sort_by_key(|&(i, _)| i);
        p.lines = ls.into_iter().map(|(_, dn)| dn.to_owned()).collect();
    }
}

/// What changed from one table to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableChanges {
    /// Names new in this table.
    pub added: Vec<String>,
    /// Names gone from it.
    pub removed: Vec<String>,
    /// Names whose address changed: (name, before, after).
    pub moved: Vec<(String, Option<Ipv4Addr>, Option<Ipv4Addr>)>,
    /// Names whose model changed: (name, before, after).
    pub model_changed: Vec<(String, String, String)>,
}

impl TableChanges {
    /// The changes from `before` to `after` (each sorted by name).
    pub fn between(before: &[CucmPhone], after: &[CucmPhone]) -> TableChanges {
        let old: HashMap<&str, &CucmPhone> = before.iter().map(|p| (p.name.as_str(), p)).collect();
        let new: HashMap<&str, &CucmPhone> = after.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut c = TableChanges::default();
        for p in after {
            match old.get(p.name.as_str()) {
                None => c.added.push(p.name.clone()),
                Some(o) => {
                    if o.address != p.address {
                        c.moved.push((p.name.clone(), o.address, p.address));
                    }
                    if o.model != p.model {
                        c.model_changed
                            .push((p.name.clone(), o.model.clone(), p.model.clone()));
                    }
                }
            }
        }
        c.removed = before
            .iter()
            .filter(|p| !new.contains_key(p.name.as_str()))
            .map(|p| p.name.clone())
            .collect();
        c.added.sort();
        c.removed.sort();
        c.moved.sort();
        c.model_changed.sort();
        c
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.moved.is_empty()
            && self.model_changed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(name: &str, product: &str) -> CucmPhone {
        CucmPhone::from_axl(&AxlPhone {
            name: name.into(),
            product: product.into(),
            ..Default::default()
        })
    }

    #[test]
    fn lines_join_primary_first() {
        let mut ps = vec![phone("A", "Cisco 8851"), phone("B", "Cisco 8845 3PCC")];
        let line = |d: &str, dn: &str, i| AxlLine {
            device: d.into(),
            dn: dn.into(),
            index: i,
        };
        join_lines(
            &mut ps,
            &[
                line("A", "1002", 2),
                line("A", "1001", 1),
                line("C", "9", 1),
            ],
        );
        assert_eq!(ps[0].lines, ["1001", "1002"]);
        assert_eq!(ps[0].directory_number(), Some("1001"));
        assert!(ps[1].lines.is_empty());
        assert!(ps[1].multiplatform && !ps[0].multiplatform);
        assert_eq!(ps[0].model, "CP-8851");
    }

    #[test]
    fn changes_are_added_removed_moved_and_model() {
        let mut a = vec![phone("A", "Cisco 8851"), phone("B", "Cisco 7841")];
        a[0].address = Some(Ipv4Addr::new(10, 0, 0, 1));
        let mut b = vec![phone("A", "Cisco 8865"), phone("C", "Cisco 7841")];
        b[0].address = Some(Ipv4Addr::new(10, 0, 0, 2));
        let c = TableChanges::between(&a, &b);
        assert_eq!(c.added, ["C"]);
        assert_eq!(c.removed, ["B"]);
        assert_eq!(c.moved.len(), 1);
        assert_eq!(c.model_changed[0].2, "CP-8865");
        assert!(TableChanges::between(&b, &b).is_empty());
    }
}
