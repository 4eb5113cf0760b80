//! The phones every page is planned from when `[cucm]` is set: the config's `[[phone]]`s and
//! the discovered table as one [`PhoneTable`] ([`SiteTable`]). A zone is its hand-listed members
//! (nested zones expanded) and, for it and each zone nested in it, the discovered phones its
//! `from_cucm` rule takes, resolved each time a zone is asked for (at every refresh and at page
//! time). A phone listed by hand with the same device name (`device = "SEP..."`, or its name) is
//! one phone and the hand-written entry wins ([`SiteTable::hand_listed`] says which).
//!
//! A discovered phone is pushed with `[cucm] push_user` (a password or `auth = "minted"`) at its
//! address on `[cucm] web_port`. One that cannot be paged stays in its zone with the reason
//! (unregistered, web access off, no address, no push user), so the page reports it.

use std::collections::{HashMap, HashSet};

use super::ris::RegState;
use super::table::CucmPhone;
use crate::config::{Config, PhoneEntry};
use crate::error::Invalid;
use crate::page::plan::ZoneMember;
use crate::page::{PhoneTable, Site, ZonePhones};

/// Where the discovered table came from, for the report of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOrigin {
    /// When it was discovered (ms since the Unix epoch).
    pub at_ms: i64,
    /// Read from the cache because a refresh failed (the failure, without any password).
    pub refresh_failed: Option<String>,
}

impl TableOrigin {
    /// One line for a page's report: from when, how old, and why the cache is used.
    pub fn describe(&self, now_ms: i64) -> String {
        let age = age_words(now_ms - self.at_ms);
        let at = chrono::DateTime::from_timestamp_millis(self.at_ms).map_or_else(
            || self.at_ms.to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        match &self.refresh_failed {
            None => format!("phones from CUCM as discovered at {at} ({age} old)"),
            Some(why) => format!(
                "CUCM could not be asked ({why}): using the cached table from {at} ({age} old)"
            ),
        }
    }
}

/// An age in words: seconds, minutes or hours.
pub fn age_words(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// The config's phones and the discovered ones, as one table.
#[derive(Debug, Clone)]
pub struct SiteTable {
    config: Config,
    phones: Vec<CucmPhone>,
    /// Device name → index of the `[[phone]]` that wins over the discovered one.
    hand: HashMap<String, usize>,
    /// Where the discovered table came from.
    pub origin: TableOrigin,
}

impl SiteTable {
    /// The table of `config` and the discovered `phones`.
    pub fn new(config: Config, phones: Vec<CucmPhone>, origin: TableOrigin) -> SiteTable {
        let found: HashSet<&str> = phones.iter().map(|p| p.name.as_str()).collect();
        let hand = config
            .phones
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let device = p.device.as_deref().unwrap_or(&p.name);
                found.contains(device).then(|| (device.to_owned(), i))
            })
            .collect();
        SiteTable {
            config,
            phones,
            hand,
            origin,
        }
    }

    /// The discovered phones.
    pub fn discovered(&self) -> &[CucmPhone] {
        &self.phones
    }

    /// Discovered phones also listed by hand, in words: the hand-written entry wins.
    pub fn hand_listed(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .phones
            .iter()
            .filter_map(|p| {
                let h = &self.config.phones[*self.hand.get(&p.name)?];
                let addr = p.address.map_or_else(|| "-".to_owned(), |a| a.to_string());
                Some(format!(
                    "{} is listed by hand as [[phone]] {:?}: its entry wins (host {}, model {}; \
                     CUCM says {addr}, {})",
                    p.name, h.name, h.host, h.model, p.model
                ))
            })
            .collect();
        out.sort();
        out
    }

    /// The discovered phones zone `name`'s rules take (its own and its nested zones'), by
    /// device name, each once, in table order; hand-listed ones are named as written by hand.
    pub fn rule_members(&self, name: &str) -> Result<Vec<String>, Invalid> {
        Ok(self
            .ruled(name)?
            .into_iter()
            .map(|p| match self.hand.get(&p.name) {
                Some(&i) => self.config.phones[i].name.clone(),
                None => p.name.clone(),
            })
            .collect())
    }

    /// The discovered phones zone `name`'s rules take, in table order.
    fn ruled(&self, name: &str) -> Result<Vec<&CucmPhone>, Invalid> {
        let zones = self.zones_under(name)?;
        let rules: Vec<_> = zones.iter().filter_map(|z| z.from_cucm.as_ref()).collect();
        Ok(self
            .phones
            .iter()
            .filter(|p| {
                rules
                    .iter()
                    .any(|r| r.matches(&p.device_pool, &p.description, &p.lines, &p.location))
            })
            .collect())
    }

    /// Zone `name` and every zone nested in it, each once.
    fn zones_under(&self, name: &str) -> Result<Vec<&crate::config::Zone>, Invalid> {
        // Resolving first refuses an unknown zone with the config's own words.
        self.config.resolve_zone(name)?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut todo = vec![name];
        while let Some(n) = todo.pop() {
            if let Some(z) = self.config.zone(n)
                && seen.insert(n)
            {
                out.push(z);
                todo.extend(z.members.iter().map(String::as_str));
            }
        }
        Ok(out)
    }

    /// A discovered phone as a member of a page.
    fn member(&self, p: &CucmPhone) -> ZoneMember {
        let entry = self.entry(p);
        let caps = crate::xsi::model::Capabilities::for_model_name(&p.model);
        ZoneMember {
            name: p.name.clone(),
            model: p.model.clone(),
            ip: p.address,
            g722: caps.g722,
            push: self.refusal(p).map_or_else(
                || {
                    entry
                        .secret()
                        .map(|s| entry.push_target(s))
                        .map_err(|e| e.to_string())
                },
                Err,
            ),
        }
    }

    /// Why a discovered phone cannot be pushed to, if it cannot.
    fn refusal(&self, p: &CucmPhone) -> Option<String> {
        let last = p
            .address
            .map_or_else(String::new, |a| format!(", last address {a}"));
        if p.state != RegState::Registered {
            return Some(format!(
                "not registered to CUCM ({}{last})",
                p.state.as_str()
            ));
        }
        if p.web_access == Some(false) {
            return Some("web access is off in CUCM (the phone takes no push)".into());
        }
        if p.address.is_none() {
            return Some("CUCM knows no IPv4 address for it".into());
        }
        if self
            .config
            .cucm
            .as_ref()
            .and_then(|c| c.push.as_ref())
            .is_none()
        {
            return Some("[cucm] has no push_user: discovered phones cannot be pushed to".into());
        }
        None
    }

    /// The `[[phone]]` a discovered phone is pushed as.
    fn entry(&self, p: &CucmPhone) -> PhoneEntry {
        let cucm = self.config.cucm.as_ref();
        let (user, password) = cucm
            .and_then(|c| c.push.clone())
            .unwrap_or_else(|| (String::new(), crate::config::PasswordSource::Minted));
        let port = cucm.map_or(80, |c| c.web_port);
        PhoneEntry {
            name: p.name.clone(),
            host: match p.address {
                Some(a) if port == 80 => a.to_string(),
                Some(a) => format!("{a}:{port}"),
                None => String::new(),
            },
            model: p.model.clone(),
            user,
            password,
            https: false,
            device: Some(p.name.clone()),
            g722: None,
        }
    }
}

impl PhoneTable for SiteTable {
    fn site(&self) -> Site {
        self.config.site()
    }

    fn zone(&self, name: &str) -> Result<ZonePhones, Invalid> {
        let mut zone = PhoneTable::zone(&self.config, name)?;
        let mut seen: HashSet<String> = zone.targets.iter().map(|t| t.name.clone()).collect();
        for p in self.ruled(name)? {
            // A phone listed by hand is paged as written by hand.
            let member = match self.hand.get(&p.name) {
                Some(&i) => PhoneTable::phone(&self.config, &self.config.phones[i].name)
                    .unwrap_or_else(|_| self.member(p)),
                None => self.member(p),
            };
            if seen.insert(member.name.clone()) {
                zone.targets.push(member);
            }
        }
        Ok(zone)
    }

    fn phone(&self, name: &str) -> Result<ZoneMember, String> {
        if let Some(&i) = self.hand.get(name) {
            return PhoneTable::phone(&self.config, &self.config.phones[i].name);
        }
        if let Ok(m) = PhoneTable::phone(&self.config, name) {
            return Ok(m);
        }
        self.phones
            .iter()
            .find(|p| p.name == name)
            .map(|p| self.member(p))
            .ok_or_else(|| format!("phone {name} is neither in the config nor in CUCM's table"))
    }

    /// The config's `[[speaker]]`s: CUCM knows no IP speaker.
    fn speakers(&self, name: &str) -> Vec<(String, std::net::SocketAddrV4)> {
        PhoneTable::speakers(&self.config, name)
    }

    /// The config's `[[sip_endpoint]]`s, likewise.
    fn sip_endpoints(&self, name: &str) -> Vec<String> {
        PhoneTable::sip_endpoints(&self.config, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cucm::axl::AxlPhone;

    fn phone(name: &str, pool: &str, desc: &str, state: RegState, web: bool) -> CucmPhone {
        let mut p = CucmPhone::from_axl(&AxlPhone {
            name: name.into(),
            product: "Cisco 8851".into(),
            description: desc.into(),
            device_pool: pool.into(),
            ..Default::default()
        });
        p.address = Some(std::net::Ipv4Addr::new(10, 0, 0, 9));
        p.state = state;
        p.web_access = Some(web);
        p.lines = vec!["1001".into()];
        p
    }

    fn table() -> SiteTable {
        let config = Config::from_toml(
            "[[phone]]\nname = \"desk\"\nhost = \"10.1.1.1\"\nmodel = \"CP-7841\"\nuser = \"u\"\n\
             password_env = \"ZC_SITE_TEST_PW\"\ndevice = \"SEP000000000001\"\n\n\
             [zone.hq]\nmode = \"unicast\"\nfrom_cucm = { device_pool = \"DP-HQ\" }\n\n\
             [zone.all]\nmode = \"unicast\"\nmembers = [\"hq\"]\n\
             from_cucm = { description = \"(?i)^kitchen\" }\n\n\
             [cucm]\nhost = \"10.0.0.10\"\nuser = \"axl\"\npassword_env = \"AXL_PW\"\n\
             accept_any_certificate = true\npush_user = \"zc\"\npush_auth = \"minted\"\n\
             web_port = 8080\n",
            "/etc/zonecast/zonecast.toml",
        )
        .unwrap();
        let phones = vec![
            phone("SEP000000000001", "DP-HQ", "", RegState::Registered, true),
            phone("SEP000000000002", "DP-HQ", "", RegState::Registered, true),
            phone("SEP000000000003", "DP-HQ", "", RegState::Unregistered, true),
            phone("SEP000000000004", "DP-HQ", "", RegState::Registered, false),
            phone(
                "SEP000000000005",
                "DP-BR",
                "Kitchen",
                RegState::Registered,
                true,
            ),
            phone(
                "SEP000000000006",
                "DP-BR",
                "Office",
                RegState::Registered,
                true,
            ),
        ];
        SiteTable::new(
            config,
            phones,
            TableOrigin {
                at_ms: 0,
                refresh_failed: None,
            },
        )
    }

    #[test]
    fn rule_zones_take_discovered_phones_and_the_hand_listed_entry_wins() {
        let t = table();
        assert_eq!(
            t.rule_members("hq").unwrap(),
            [
                "desk",
                "SEP000000000002",
                "SEP000000000003",
                "SEP000000000004"
            ]
        );
        // A zone nested in a rule zone brings its own rule's phones.
        let all = t.zone("all").unwrap();
        let names: Vec<&str> = all.targets.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(names.contains(&"SEP000000000005") && !names.contains(&"SEP000000000006"));
        assert_eq!(t.hand_listed().len(), 1);
        assert!(t.hand_listed()[0].contains("\"desk\""));
        let hq = t.zone("hq").unwrap();
        let desk = &hq.targets[0];
        assert_eq!(
            (desk.name.as_str(), desk.model.as_str()),
            ("desk", "CP-7841")
        );
        let ok = hq.targets[1].push.as_ref().unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.user.as_str()),
            ("10.0.0.9:8080", "zc")
        );
        let why = |i: usize| hq.targets[i].push.clone().unwrap_err();
        assert!(why(2).contains("not registered"), "{}", why(2));
        assert!(why(2).contains("last address 10.0.0.9"), "{}", why(2));
        assert!(why(3).contains("web access is off"), "{}", why(3));
        assert!(t.phone("SEP000000000006").is_ok());
        assert_eq!(t.phone("SEP000000000001").unwrap().name, "desk");
        assert!(t.zone("nowhere").is_err());
    }

    #[test]
    fn the_origin_says_from_when_and_why() {
        let o = TableOrigin {
            at_ms: 0,
            refresh_failed: Some("CUCM h: cannot reach it".into()),
        };
        let s = o.describe(300_000);
        assert!(
            s.contains("1970-01-01T00:00:00Z") && s.contains("(5 min old)"),
            "{s}"
        );
        assert!(s.contains("cannot reach it"), "{s}");
    }
}
