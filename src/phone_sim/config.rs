//! What a fleet is made of: how many phones of which models, where they listen, their
//! credentials and their faults. Built in code ([`SimConfig::uniform`]) or read from TOML
//! ([`SimConfig::from_toml`]); see `config/sim.example.toml` for every key.
//!
//! Unknown keys are errors, and every error names the file, the line and the key.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::faults::Faults;
use super::profile::Profile;
use crate::error::Invalid;
use crate::push::Secret;

/// Password of emulated phones when the config names no source for one.
pub const DEFAULT_PASSWORD: &str = "zonecast-sim";
/// User of emulated phones when the config names none.
pub const DEFAULT_USER: &str = "admin";

/// Where the phones listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// Every phone on `host`, each on its own HTTP port from `base_port` up (0: any free port).
    Ports {
        /// First port (0: let the system pick each).
        base_port: u16,
    },
    /// Phone i on address `host + i` (e.g. 127.0.1.1, 127.0.1.2 ...), all on one HTTP port
    /// (0: the first port free on every address). Like a real network: each phone has its own
    /// address, so unicast RTP to port 20480 reaches each phone separately.
    Addresses {
        /// HTTP port (0: find one).
        port: u16,
    },
}

/// A group of identical phones.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneGroup {
    /// How many.
    pub count: usize,
    /// Model name (see [`super::profile::MODELS`]).
    pub model: String,
    /// Name prefix (`p` → p001, p002 ...), or the exact name when `count` is 1 and `name` given.
    pub prefix: String,
    /// Exact name (only with `count = 1`).
    pub name: Option<String>,
    /// Faults of every phone in the group.
    pub faults: Faults,
}

/// Faults for a seeded share (or count) of the whole fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Share of phones (0..=1).
    pub share: Option<f64>,
    /// Or an exact number of phones.
    pub count: Option<usize>,
    /// Or these phones by name.
    pub phones: Vec<String>,
    /// The faults.
    pub faults: Faults,
}

/// A fleet's configuration.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed for every random choice (fault selection, latencies, dropped packets, reply order).
    pub seed: u64,
    /// Address (ports mode) or first address (addresses mode); loopback.
    pub host: Ipv4Addr,
    /// Ports or addresses.
    pub addressing: Addressing,
    /// User every phone accepts.
    pub user: String,
    /// Password every phone accepts (except those with the `wrong_password` fault).
    pub password: Secret,
    /// Where the password came from, for the zones snippet (`env:VAR`, `file:PATH`, `default`).
    pub password_source: String,
    /// The phones.
    pub groups: Vec<PhoneGroup>,
    /// Faults for parts of the fleet.
    pub fault_rules: Vec<FaultRule>,
    /// Write a WAV of every stream each phone hears into this directory.
    pub record_dir: Option<PathBuf>,
    /// Interface address for multicast joins and sends.
    pub media_interface: Ipv4Addr,
    /// The phones' TFTP path: `Play:FILE` blocks for FILE's length (raw µ-law, 8000 bytes/s).
    pub tftp_dir: Option<PathBuf>,
    /// Frequency of the tone each phone's "microphone" sends (RTPTx), Hz; 0: silence.
    pub mic_tone_hz: f64,
    /// The phones' Authentication URL (`auth_url`). When set, a phone does not compare a push's
    /// basic-auth credentials with its own user and password: it POSTs `UserID`, `Password` and
    /// `devicename` (its `SEP` + MAC name) as a form to this URL and accepts the push only on an
    /// answer of exactly `AUTHORIZED`, as phones registered to CUCM do.
    pub auth_url: Option<String>,
    /// Light receiving (`receive = "light"`): each phone notes when the first packet of a stream
    /// arrived and counts what arrives, and neither decodes, analyses nor records it. For fleets
    /// of thousands on one machine, where decoding every packet of every phone would take more
    /// CPU than the engine being measured; the default `"full"` analyses every packet.
    pub light_receive: bool,
}

impl SimConfig {
    /// `n` phones of one model on 127.0.0.1, any free ports, default credentials, no faults.
    pub fn uniform(n: usize, model: &str) -> SimConfig {
        SimConfig {
            seed: 1,
            host: Ipv4Addr::LOCALHOST,
            addressing: Addressing::Ports { base_port: 0 },
            user: DEFAULT_USER.into(),
            password: Secret::new(DEFAULT_PASSWORD),
            password_source: "default".into(),
            groups: vec![PhoneGroup {
                count: n,
                model: model.into(),
                prefix: "p".into(),
                name: None,
                faults: Faults::default(),
            }],
            fault_rules: Vec::new(),
            record_dir: None,
            media_interface: Ipv4Addr::LOCALHOST,
            tftp_dir: None,
            mic_tone_hz: 1000.0,
            auth_url: None,
            light_receive: false,
        }
    }

    /// Total phones.
    pub fn phone_count(&self) -> usize {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// Read a TOML config. `path` is only used in error messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<SimConfig, Invalid> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Invalid::new(
                format!("{}:{line}:{col}", path.display()),
                text.get(e.span().unwrap_or(0..0)).unwrap_or("").trim(),
                e.message().to_owned(),
            )
        })?;
        raw.into_config(path)
    }

    /// Read a TOML config file.
    pub fn from_file(path: &Path) -> Result<SimConfig, Invalid> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Invalid::new("config", path.display(), format!("cannot read: {e}")))?;
        Self::from_toml(&text, path)
    }

    /// Check everything serde cannot: models exist, counts, names, fault ranges.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.phone_count() == 0 {
            return Err(Invalid::new(
                "phones",
                0,
                "a fleet needs at least one phone",
            ));
        }
        if self.phone_count() > 65_000 {
            return Err(Invalid::new(
                "phones",
                self.phone_count(),
                "at most 65000 phones",
            ));
        }
        if !self.host.is_loopback() || !self.media_interface.is_loopback() {
            return Err(Invalid::new(
                "host",
                self.host,
                "emulated phones listen on loopback (127.0.0.0/8) only",
            ));
        }
        for g in &self.groups {
            Profile::for_model(&g.model)?;
            g.faults.validate()?;
            if g.name.is_some() && g.count != 1 {
                return Err(Invalid::new(
                    "name",
                    g.name.as_deref().unwrap_or(""),
                    "a name needs count = 1 (use prefix for groups)",
                ));
            }
        }
        if let Some(url) = &self.auth_url
            && !valid_http_url(url)
        {
            return Err(Invalid::new(
                "auth_url",
                url,
                "must be an http:// or https:// URL (the phones' Authentication URL)",
            ));
        }
        for r in &self.fault_rules {
            r.faults.validate()?;
            if let Some(s) = r.share
                && !(0.0..=1.0).contains(&s)
            {
                return Err(Invalid::new("faults.share", s, "must be a share in 0..=1"));
            }
        }
        Ok(())
    }
}

/// `http://` or `https://`, a host, no whitespace.
fn valid_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.chars().any(|c| c.is_whitespace())
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    host: Option<Ipv4Addr>,
    #[serde(default)]
    addressing: Option<String>,
    #[serde(default)]
    base_port: Option<u16>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    record_dir: Option<PathBuf>,
    #[serde(default)]
    media_interface: Option<Ipv4Addr>,
    #[serde(default)]
    tftp_dir: Option<PathBuf>,
    #[serde(default)]
    mic_tone_hz: Option<f64>,
    #[serde(default)]
    auth_url: Option<String>,
    #[serde(default)]
    receive: Option<String>,
    #[serde(default)]
    phones: Vec<RawGroup>,
    #[serde(default)]
    faults: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default = "one")]
    count: usize,
    model: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    faults: Faults,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    share: Option<f64>,
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(flatten)]
    faults: Faults,
}

impl RawConfig {
    fn into_config(self, path: &Path) -> Result<SimConfig, Invalid> {
        let base = path.parent().unwrap_or(Path::new("."));
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let mut cfg = SimConfig::uniform(0, "CP-8851");
        cfg.groups.clear();
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        if let Some(h) = self.host {
            cfg.host = h;
        }
        let port = self.base_port.unwrap_or(0);
        cfg.addressing = match self.addressing.as_deref() {
            None | Some("ports") => Addressing::Ports { base_port: port },
            Some("addresses") => Addressing::Addresses { port },
            Some(other) => {
                return Err(Invalid::new(
                    "addressing",
                    other,
                    "must be \"ports\" or \"addresses\"",
                ));
            }
        };
        if let Some(u) = self.user {
            cfg.user = u;
        }
        match (self.password_env, self.password_file) {
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    "password_env",
                    "password_file",
                    "give one password source, not both",
                ));
            }
            (Some(var), None) => {
                cfg.password = Secret::from_env(&var)?;
                cfg.password_source = format!("env:{var}");
            }
            (None, Some(file)) => {
                let file = rel(file);
                cfg.password = Secret::from_file(&file)?;
                cfg.password_source = format!("file:{}", file.display());
            }
            (None, None) => {}
        }
        cfg.auth_url = self.auth_url;
        cfg.light_receive = match self.receive.as_deref() {
            None | Some("full") => false,
            Some("light") => true,
            Some(other) => {
                return Err(Invalid::new(
                    "receive",
                    other,
                    "must be \"full\" or \"light\"",
                ));
            }
        };
        cfg.record_dir = self.record_dir.map(rel);
        cfg.tftp_dir = self.tftp_dir.map(rel);
        if let Some(i) = self.media_interface {
            cfg.media_interface = i;
        }
        if let Some(hz) = self.mic_tone_hz {
            if !(0.0..=3900.0).contains(&hz) {
                return Err(Invalid::new(
                    "mic_tone_hz",
                    hz,
                    "must be 0 (silence) or a frequency up to 3900 Hz",
                ));
            }
            cfg.mic_tone_hz = hz;
        }
        for g in self.phones {
            cfg.groups.push(PhoneGroup {
                count: g.count,
                model: g.model,
                prefix: g.prefix.unwrap_or_else(|| "p".into()),
                name: g.name,
                faults: g.faults,
            });
        }
        for r in self.faults {
            let chosen = [r.share.is_some(), r.count.is_some(), !r.phones.is_empty()]
                .iter()
                .filter(|b| **b)
                .count();
            if chosen != 1 {
                return Err(Invalid::new(
                    "faults",
                    format!("{chosen} selectors"),
                    "each [[faults]] needs exactly one of share, count or phones",
                ));
            }
            cfg.fault_rules.push(FaultRule {
                share: r.share,
                count: r.count,
                phones: r.phones,
                faults: r.faults,
            });
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_full_config_reads() {
        let text = r#"
seed = 42
addressing = "addresses"
host = "127.0.9.1"
user = "pager"
mic_tone_hz = 600

[[phones]]
count = 45
model = "CP-8851"

[[phones]]
count = 3
model = "CP-8851-3PCC"
prefix = "mpp"

[[phones]]
name = "lobby"
model = "CP-8845"
faults = { wrong_password = true }

[[faults]]
share = 0.1
latency = "100..300ms"

[[faults]]
phones = ["lobby"]
hang_up_after = "2s"
"#;
        let c = SimConfig::from_toml(text, Path::new("sim.toml")).unwrap();
        assert_eq!(c.seed, 42);
        assert_eq!(c.phone_count(), 49);
        assert_eq!(c.addressing, Addressing::Addresses { port: 0 });
        assert_eq!(c.host, Ipv4Addr::new(127, 0, 9, 1));
        assert_eq!(c.groups[2].name.as_deref(), Some("lobby"));
        assert!(c.groups[2].faults.wrong_password);
        assert_eq!(
            c.fault_rules[1].faults.hang_up_after,
            Some(Duration::from_secs(2))
        );
        assert_eq!(c.mic_tone_hz, 600.0);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "seed = 1\n[[phones]]\ncount = 2\nmodle = \"CP-8851\"\n";
        let e = SimConfig::from_toml(text, Path::new("/etc/sim.toml")).unwrap_err();
        assert!(e.field.starts_with("/etc/sim.toml:4:"), "{e}");
        assert!(e.to_string().contains("modle"), "{e}");
        let e = SimConfig::from_toml("[[phones]]\nmodel = \"CP-1\"\n", Path::new("x.toml"))
            .unwrap_err();
        assert_eq!(e.field, "model");
        let e = SimConfig::from_toml(
            "host = \"10.0.0.1\"\n[[phones]]\nmodel = \"8851\"\n",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert_eq!(e.field, "host");
        let e = SimConfig::from_toml(
            "[[phones]]\nmodel = \"8851\"\n[[faults]]\nshare = 0.1\ncount = 2\nhang = true\n",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert_eq!(e.field, "faults");
    }

    #[test]
    fn receive_is_full_or_light() {
        let c = |t: &str| SimConfig::from_toml(t, Path::new("x.toml"));
        let phones = "[[phones]]\nmodel = \"8851\"\n";
        assert!(!c(phones).unwrap().light_receive);
        assert!(
            !c(&format!("receive = \"full\"\n{phones}"))
                .unwrap()
                .light_receive
        );
        assert!(
            c(&format!("receive = \"light\"\n{phones}"))
                .unwrap()
                .light_receive
        );
        let e = c(&format!("receive = \"lite\"\n{phones}")).unwrap_err();
        assert_eq!(e.field, "receive");
        assert!(e.to_string().contains("lite"), "{e}");
    }

    #[test]
    fn password_comes_from_env_and_is_never_printed() {
        // SAFETY: test-only variable with a unique name; no other thread reads it.
        unsafe { std::env::set_var("ZC_SIM_TEST_PW_1", "s3cret-value") };
        let c = SimConfig::from_toml(
            "password_env = \"ZC_SIM_TEST_PW_1\"\n[[phones]]\nmodel = \"8851\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.password.expose(), "s3cret-value");
        assert!(!format!("{c:?}").contains("s3cret-value"));
        assert_eq!(c.password_source, "env:ZC_SIM_TEST_PW_1");
    }
}

#[cfg(test)]
mod auth_url_tests {
    use super::*;

    #[test]
    fn auth_url_reads_and_must_be_http() {
        let c = SimConfig::from_toml(
            "auth_url = \"http://127.0.0.1:8080/authenticate\"\n[[phones]]\nmodel = \"8851\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(
            c.auth_url.as_deref(),
            Some("http://127.0.0.1:8080/authenticate")
        );
        assert_eq!(SimConfig::uniform(1, "CP-8851").auth_url, None);
        for bad in [
            "ftp://x/a",
            "http://",
            "127.0.0.1:8080/authenticate",
            "http://a b/",
        ] {
            let e = SimConfig::from_toml(
                &format!("auth_url = \"{bad}\"\n[[phones]]\nmodel = \"8851\"\n"),
                Path::new("x.toml"),
            )
            .unwrap_err();
            assert_eq!(e.field, "auth_url", "{bad}");
        }
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn the_example_config_reads_and_says_what_it_says() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/sim.example.toml"
        ));
        let c = SimConfig::from_file(path).unwrap();
        assert_eq!(c.phone_count(), 49);
        assert_eq!(c.seed, 42);
        assert_eq!(c.fault_rules.len(), 3);
        assert!(c.groups.iter().any(|g| g.model == "CP-8851-3PCC"));
    }
}
