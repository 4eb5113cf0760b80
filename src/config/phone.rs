//! `[[phone]]` entries: where a phone is, what it is, and where its password lives. The password
//! itself is never in the config and is read only when [`PhoneEntry::secret`] is called.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::error::Invalid;
use crate::push::{Phone, Secret};
use crate::xsi::model::ModelFamily;

/// Where a phone's password is read from. Printing it shows the variable or file name only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable's name (`password_env`).
    Env(String),
    /// A file whose first line is the password (`password_file`; relative to the config file).
    File(PathBuf),
    /// No password: `zonecast serve` mints one-time credentials for every push and answers the
    /// phone's Authentication URL for them (`auth = "minted"`).
    Minted,
}

/// One `[[phone]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneEntry {
    /// Unique name (no whitespace), shared namespace with zones.
    pub name: String,
    /// `host` or `host:port`; an IPv4 address or a hostname.
    pub host: String,
    /// Model name as the phone reports it, e.g. `CP-8851`.
    pub model: String,
    /// User the phone is associated with (authenticates pushes).
    pub user: String,
    /// Where the password is.
    pub password: PasswordSource,
    /// Push over HTTPS instead of HTTP.
    pub https: bool,
    /// The phone's device name (`device = "SEP0011223344AA"`), the `devicename` it sends to its
    /// Authentication URL: minted credentials are bound to it. Checked at load (`SEP` and the
    /// MAC's 12 hex digits, or another Cisco device name).
    pub device: Option<String>,
    /// `g722 = true | false`: whether the phone takes G.722 through startMedia, overriding the
    /// model table's reading ([`crate::xsi::model::Capabilities::g722`]); `None`: the table's.
    pub g722: Option<bool>,
}

impl PhoneEntry {
    /// The model's family, for capabilities (unknown models are [`ModelFamily::Other`]).
    pub fn family(&self) -> ModelFamily {
        ModelFamily::from_model_name(&self.model)
    }

    /// Whether the phone takes G.722: its `g722` setting, else the model table's reading.
    pub fn takes_g722(&self) -> bool {
        self.g722
            .unwrap_or_else(|| crate::xsi::model::Capabilities::for_model_name(&self.model).g722)
    }

    /// Read the password now. Errors name the phone and the variable or file.
    pub fn secret(&self) -> Result<Secret, Invalid> {
        let r = match &self.password {
            PasswordSource::Env(var) => Secret::from_env(var),
            PasswordSource::File(path) => Secret::from_file(path),
            PasswordSource::Minted => return Ok(Secret::minted_for(self.device.as_deref())),
        };
        r.map_err(|e| {
            let key = match self.password {
                PasswordSource::Env(_) => "password_env",
                PasswordSource::File(_) => "password_file",
                PasswordSource::Minted => "auth",
            };
            Invalid::new(format!("phone {:?} {key}", self.name), e.value, e.rule)
        })
    }

    /// The phone as the push client takes it, with its password.
    pub fn push_target(&self, secret: Secret) -> Phone {
        Phone {
            name: self.name.clone(),
            host: self.host.clone(),
            user: self.user.clone(),
            password: secret,
            https: self.https,
        }
    }
}

/// Check a device name: `SEP` and the phone's MAC address (12 hex digits, e.g.
/// `SEP0011223344AA`), or another Cisco device name (`ATA...`, `CSF...`): letters, digits,
/// `-`, `_` and `.`, at most 50 characters. A name starting with `SEP` must be a phone's.
pub(super) fn check_device(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 50 {
        return Err("must be the phone's device name, 1 to 50 characters (e.g. SEP0011223344AA)");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("a device name has only letters, digits, '-', '_' and '.' \
                    (e.g. SEP0011223344AA)");
    }
    if s.len() >= 3 && s[..3].eq_ignore_ascii_case("SEP") {
        let mac = &s[3..];
        if mac.len() != 12 || !mac.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(
                "a phone's device name is SEP and its MAC address, 12 hex digits \
                        (e.g. SEP0011223344AA)",
            );
        }
    }
    Ok(())
}

/// Check `host` or `host:port`: an IPv4 address or a DNS name, an optional port 1..=65535.
pub(super) fn check_host(s: &str) -> Result<(), &'static str> {
    const RULE: &str = "must be an IPv4 address or a hostname, optionally with :PORT \
                        (e.g. 10.0.0.21 or 10.0.0.21:8080)";
    if s.contains('[') || s.matches(':').count() > 1 {
        return Err("IPv6 is not supported: phones are reached over IPv4");
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err("the port after ':' must be 1..=65535"),
        }
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    // All digits and dots but not an address (10.0.0.300): a typo, not a hostname.
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(RULE);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(RULE);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_ipv4_or_names_with_optional_port() {
        for ok in [
            "10.0.0.21",
            "10.0.0.21:8080",
            "phone-12.example.org",
            "lobby",
            "127.0.0.1:40001",
        ] {
            assert_eq!(check_host(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.300",
            "10.0.0.21:",
            "10.0.0.21:0",
            "10.0.0.21:70000",
            "[::1]:80",
            "fe80::1",
            "bad host",
            "-x.example",
            "http://10.0.0.1",
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_errors_name_the_phone_and_source() {
        let p = PhoneEntry {
            name: "lobby".into(),
            host: "10.0.0.21".into(),
            model: "CP-8851".into(),
            user: "zonecast".into(),
            password: PasswordSource::Env("ZONECAST_CONFIG_TEST_SURELY_UNSET".into()),
            https: false,
            device: None,
            g722: None,
        };
        let e = p.secret().unwrap_err();
        assert_eq!(e.field, "phone \"lobby\" password_env");
        assert_eq!(e.value, "ZONECAST_CONFIG_TEST_SURELY_UNSET");
        let p = PhoneEntry {
            password: PasswordSource::File("/nonexistent/zonecast/pw".into()),
            ..p
        };
        let e = p.secret().unwrap_err();
        assert_eq!(e.field, "phone \"lobby\" password_file");
        assert!(e.value.contains("/nonexistent/zonecast/pw"), "{e}");
    }

    #[test]
    fn minted_phones_have_the_minted_mark_bound_to_their_device() {
        let p = PhoneEntry {
            name: "lobby".into(),
            host: "10.0.0.21".into(),
            model: "CP-8851".into(),
            user: "zonecast".into(),
            password: PasswordSource::Minted,
            https: false,
            device: None,
            g722: None,
        };
        let s = p.secret().unwrap();
        assert!(s.is_minted());
        assert_eq!(s.minted_device(), None);
        let p = PhoneEntry {
            device: Some("SEP0011223344AA".into()),
            ..p
        };
        let target = p.push_target(p.secret().unwrap());
        assert!(target.password.is_minted());
        assert_eq!(target.password.minted_device(), Some("SEP0011223344AA"));
    }

    #[test]
    fn device_names_are_sep_and_a_mac_or_other_cisco_names() {
        for ok in [
            "SEP0011223344AA",
            "sep0011223344aa",
            "ATA001122334455",
            "CSFJSMITH",
            "BOT_x-1.2",
        ] {
            assert_eq!(check_device(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "SEP0011223344A",
            "SEP0011223344AAB",
            "SEP00112233GGAA",
            "SEP 0011223344AA",
            "lobby phone",
            "x/y",
            &"A".repeat(51),
        ] {
            assert!(check_device(bad).is_err(), "{bad}");
        }
    }
}
