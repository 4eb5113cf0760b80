//! The emulated CUCM of the CUCM tests (issue 23), set up once for all of them: nine emulated
//! phones on their own loopback addresses and one web port, and the emulated CUCM listing
//! `generated` phones of its own fleet and eight of the running ones (six in device pool
//! `DP-LOBBY`, one of them unregistered and one with web access off; two in `DP-KITCHEN`
//! described "Kitchen phone N"); a config with zones by device pool (`lobby`) and by description
//! (`kitchen`), the fourth phone also listed by hand (`desk-4`), and `[server]` with its
//! `data_dir` and the test token of [`super::server`]. [`serve`] starts `zonecast serve` on it.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};

use zonecast::cucm::RegState;
use zonecast::phone_sim::config::{Addressing, DEFAULT_PASSWORD};
use zonecast::phone_sim::cucm::{SimCucm, SimCucmConfig, SimCucmDevice, SimCucmServer, fleet};
use zonecast::phone_sim::{Fleet, PhoneInfo};

use super::server::{Server, TOKEN, TOKEN_ENV};

/// The AXL user's password (the tests check that it never appears).
pub const AXL_PASSWORD: &str = "page-test-AXL-pw";

/// A SHA-256 fingerprint as `AB:CD:...`.
pub fn hex(b: &[u8; 32]) -> String {
    b.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The emulated cluster: the generated fleet, then the running phones as CUCM lists them.
pub fn devices(phones: &[PhoneInfo], generated: usize) -> Vec<SimCucmDevice> {
    let mut out = fleet(generated);
    for (i, p) in phones.iter().enumerate().take(8) {
        let mut d = match i {
            0..=5 => SimCucmDevice::from_phone(p, "DP-LOBBY", &format!("{}", 2000 + i)),
            _ => SimCucmDevice::from_phone(p, "DP-KITCHEN", &format!("{}", 3000 + i)),
        };
        match i {
            4 => d.state = RegState::Unregistered,
            5 => d.web_access = false,
            6 | 7 => d.description = format!("Kitchen phone {i}"),
            _ => {}
        }
        out.push(d);
    }
    out
}

/// The config for the phones and the emulated CUCM `s`, its password files written into `dir`.
pub fn config_text(dir: &std::path::Path, s: &SimCucmServer, phones: &[PhoneInfo]) -> String {
    std::fs::write(dir.join("axl-pw"), AXL_PASSWORD).unwrap();
    std::fs::write(dir.join("push-pw"), DEFAULT_PASSWORD).unwrap();
    // The pool's 200 ports must end within the phones' range (20480..=32768).
    let port = super::free_even_port().min(32_568);
    let hand = &phones[3];
    format!(
        "[engine]\nmedia_address = \"127.0.0.1\"\ninterface = \"127.0.0.1\"\n\
         port_pool = \"{port}-{}\"\njournal = \"journal.jsonl\"\npush_timeout = \"3s\"\n\
         push_retries = 1\n\n\
         [server]\ndata_dir = \"{}\"\ntoken_env = \"{TOKEN_ENV}\"\n\n\
         [[phone]]\nname = \"desk-4\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{}\"\n\
         password_file = \"push-pw\"\ndevice = \"{}\"\n\n\
         [zone.lobby]\nmode = \"unicast\"\nfrom_cucm = {{ device_pool = \"DP-LOBBY\" }}\n\n\
         [zone.kitchen]\nmode = \"unicast\"\nfrom_cucm = {{ description = \"(?i)kitchen\" }}\n\n\
         [cucm]\nhost = \"127.0.0.1:{}\"\nuser = \"axl\"\npassword_file = \"axl-pw\"\n\
         fingerprint = \"{}\"\npush_user = \"{}\"\npush_password_file = \"push-pw\"\n\
         web_port = {}\nris_window = \"1s\"\nris_per_minute = 100\n",
        port + 200,
        dir.join("data").display(),
        hand.addr,
        hand.model,
        hand.user,
        hand.device,
        s.addr.port(),
        hex(&s.fingerprint),
        phones[0].user,
        phones[0].addr.port(),
    )
}

/// The phones, the emulated CUCM and the config file written for both.
pub struct CucmSite {
    /// The nine emulated phones.
    pub fleet: Fleet,
    /// Their details, in order.
    pub phones: Vec<PhoneInfo>,
    /// The emulated CUCM.
    pub cucm: SimCucmServer,
    /// The folder holding the config, its password files and `data/`.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub path: std::path::PathBuf,
}

/// Nine emulated phones on their own addresses and one web port, the emulated CUCM listing
/// `generated` phones and eight of them, and a config file for both.
pub async fn setup(generated: usize) -> CucmSite {
    setup_with(generated, SimCucmConfig::default()).await
}

/// [`setup`] with the emulated CUCM's settings (its password is always [`AXL_PASSWORD`] and
/// its RIS limit 100 a window).
pub async fn setup_with(generated: usize, cucm: SimCucmConfig) -> CucmSite {
    let mut cfg = super::sim::addressed(9, "CP-8851");
    cfg.addressing = Addressing::Addresses {
        port: super::free_even_port(),
    };
    let fleet_ = super::sim::start(cfg).await;
    let phones = fleet_.phones();
    let s = SimCucmServer::start(
        SimCucm::new(
            SimCucmConfig {
                password: AXL_PASSWORD.into(),
                ris_per_window: 100,
                ..cucm
            },
            devices(&phones, generated),
        ),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zonecast.toml");
    std::fs::write(&path, config_text(dir.path(), &s, &phones)).unwrap();
    CucmSite {
        fleet: fleet_,
        phones,
        cucm: s,
        dir,
        path,
    }
}

/// `zonecast serve` on the config at `path` (any free port), with the test token.
pub fn serve(path: &std::path::Path) -> Server {
    let mut cmd = super::zonecast();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--config")
        .arg(path)
        .env(TOKEN_ENV, TOKEN);
    Server::spawn(cmd)
}
