//! From a zone's phones, the site's rules and a request ("page zone X at priority P with banner
//! B") to a plan: the group/port from the pools, the volume, each phone's XML, and the priority
//! check against pages already running (from the journal). Pure: the phones come resolved
//! ([`ZonePhones`]), the page id is given, and an equal-priority conflict is returned as
//! [`PrepareError::Busy`] for the caller to refuse or wait on.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::journal::{Journal, JournalOp, JournalPage};
use super::plan::{Delivery, PageSpec, PhonePlan, ZoneMember, plan};
use super::table::{Site, ZonePhones};
use crate::config::{ZoneCodec, ZoneMode};
use crate::error::Invalid;
use crate::push::PushClient;
use crate::rtp::RtpPort;

/// What was asked for.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Zone name.
    pub zone: String,
    /// Priority level name (None: the config's default).
    pub priority: Option<String>,
    /// Banner (None: the zone's).
    pub banner: Option<String>,
    /// URIs, or the RTP Streaming API with this callback (`Notify:...`).
    pub via: crate::page::plan::Via,
    /// The page's sound also comes at 16 kHz: a zone with `codec = "g722"` gets a G.722 stream.
    pub wideband: bool,
}

/// A page ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Page id.
    pub id: String,
    /// Zone.
    pub zone: String,
    /// Priority name and rank.
    pub priority: (String, usize),
    /// Delivery.
    pub delivery: Delivery,
    /// Per phone.
    pub plans: Vec<PhonePlan>,
    /// Lower pages whose phones this page takes over: (page id, phone names).
    pub preempts: Vec<(String, Vec<String>)>,
    /// For a multicast page: a port for the unicast copy that phones hearing nothing are
    /// switched to (`--verify`).
    pub fallback: Option<(Ipv4Addr, RtpPort)>,
    /// The G.722 stream's delivery, when the page carries one (see [`PageSpec::wide`]).
    pub wide: Option<Delivery>,
}

/// A new page id: time, process and a counter, unique across processes and restarts, and
/// within one process (a bell starts pages for several zones in the same millisecond).
pub fn new_page_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("pg-{ms:x}-{}-{n}", std::process::id())
}

/// Why a page cannot start at all.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Bad input (unknown zone or priority, banner too long ...).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Pages of equal priority hold phones of the zone (refuse, or wait and try again, as the
    /// config's [`EqualPolicy`](crate::config::EqualPolicy) says).
    #[error("zone {zone} is busy: {detail}")]
    Busy {
        /// Zone.
        zone: String,
        /// Which pages hold which phones.
        detail: String,
    },
}

/// Plan a page of `zone` under the `site`'s rules, as page `id`. `pages` are the journal's
/// pages (for priorities and pool use).
pub fn prepare(
    zone: &ZonePhones,
    site: &Site,
    req: &PageRequest,
    pages: &[JournalPage],
    id: String,
) -> Result<Prepared, PrepareError> {
    let prio = &site.priorities;
    let level = req.priority.clone().unwrap_or_else(|| prio.default.clone());
    let rank = prio.rank(&level).ok_or_else(|| {
        Invalid::new(
            "priority",
            &level,
            format!("must be one of {}", prio.levels.join(" ")),
        )
    })?;
    check_banner(req.banner.as_deref())?;
    // Pages still playing, and which of our phones they hold.
    let live: Vec<&JournalPage> = pages
        .iter()
        .filter(|p| p.alive && !p.remaining.is_empty())
        .collect();
    let holders = Holders::of(&live, &zone.targets, rank);
    // Equal priority: the caller refuses or waits, as the config says (see `config::EqualPolicy`).
    if !holders.equal.is_empty() {
        return Err(PrepareError::Busy {
            zone: req.zone.clone(),
            detail: holders.equal.join("; "),
        });
    }
    let media = MediaInUse::of(site, &live);
    let delivery = media.delivery(zone, site)?;
    let volume = if prio.is_loudest(&level) {
        Some(100)
    } else {
        zone.volume.map(u32::from)
    };
    let banner = req.banner.clone().or_else(|| zone.banner.clone());
    let targets = zone
        .targets
        .iter()
        .map(|ph| ZoneMember {
            push: if holders.busy_higher.contains(&ph.name) {
                Err("busy in a page of higher priority".into())
            } else {
                ph.push.clone()
            },
            ..ph.clone()
        })
        .collect();
    let wide =
        (req.wideband && zone.codec == ZoneCodec::G722 && zone.targets.iter().any(|t| t.g722))
            .then(|| media.wide(delivery, site))
            .transpose()?;
    let plans = plan(
        &PageSpec {
            via: req.via.clone(),
            delivery,
            volume,
            banner,
            wide,
        },
        targets,
    );
    Ok(Prepared {
        fallback: media.fallback(delivery, wide, site),
        wide,
        id,
        zone: zone.name.clone(),
        priority: (level, rank),
        delivery,
        plans,
        preempts: holders.preempts,
    })
}

/// Refuse a banner the phones could not show, by the rule every edge applies
/// ([`crate::config::banner_rule`]): before anything is journaled or pushed.
fn check_banner(banner: Option<&str>) -> Result<(), Invalid> {
    if let Some(b) = banner {
        crate::config::banner_rule(b).map_err(|rule| Invalid::new("banner", b, rule))?;
    }
    Ok(())
}

/// What the live pages hold of the zone's phones, judged by priority against the new page.
struct Holders {
    /// Lower pages to take phones from: (page, the shared phones).
    preempts: Vec<(String, Vec<String>)>,
    /// Phones held by a page of higher priority: not paged.
    busy_higher: HashSet<String>,
    /// Pages of equal priority holding phones, in words.
    equal: Vec<String>,
}

impl Holders {
    fn of(live: &[&JournalPage], phones: &[ZoneMember], rank: usize) -> Holders {
        let mut h = Holders {
            preempts: Vec::new(),
            busy_higher: HashSet::new(),
            equal: Vec::new(),
        };
        for p in live {
            let shared: Vec<String> = phones
                .iter()
                .filter(|ph| p.remaining.contains(&ph.name))
                .map(|ph| ph.name.clone())
                .collect();
            if shared.is_empty() {
                continue;
            }
            match p.record.rank.cmp(&rank) {
                std::cmp::Ordering::Less => h.preempts.push((p.record.page.clone(), shared)),
                std::cmp::Ordering::Greater => h.busy_higher.extend(shared),
                std::cmp::Ordering::Equal => h.equal.push(format!(
                    "page {} ({}) holds {}",
                    p.record.page,
                    p.record.priority,
                    shared.join(" ")
                )),
            }
        }
        h
    }
}

/// Multicast groups and ports that are taken: reserved by the site or used by a live page.
struct MediaInUse {
    groups: HashSet<Ipv4Addr>,
    ports: HashSet<u16>,
}

impl MediaInUse {
    fn of(site: &Site, live: &[&JournalPage]) -> MediaInUse {
        MediaInUse {
            groups: (site.reserved_groups.iter().copied())
                .chain(live.iter().filter_map(|p| p.record.group))
                .collect(),
            ports: (site.reserved_ports.iter().copied())
                .chain(live.iter().filter_map(|p| p.record.port))
                .collect(),
        }
    }

    /// A free port from the site's pool.
    fn port(&self, site: &Site) -> Result<RtpPort, Invalid> {
        site.port_pool
            .allocate(1, &self.ports)
            .map(|v| v[0])
            .map_err(|e| Invalid::new("port_pool", site.port_pool, e.to_string()))
    }

    /// How the page's audio travels: the zone's group and port, or free ones from the pools.
    fn delivery(&self, zone: &ZonePhones, site: &Site) -> Result<Delivery, Invalid> {
        Ok(match &zone.mode {
            ZoneMode::Multicast { group, port, .. } => Delivery::Multicast {
                group: match group {
                    Some(g) => *g,
                    None => site.multicast_pool.allocate(&self.groups).map_err(|e| {
                        Invalid::new("multicast_pool", site.multicast_pool, e.to_string())
                    })?,
                },
                port: match port {
                    Some(p) => *p,
                    None => self.port(site)?,
                },
            },
            ZoneMode::Unicast => Delivery::Unicast {
                source: site.media_address,
                port: self.port(site)?,
            },
        })
    }

    /// The G.722 stream of a page delivered by `delivery`: multicast to the same group on a
    /// second free port from the pool; unicast from the same base port (each phone gets a port
    /// of its own at its address either way).
    fn wide(&self, delivery: Delivery, site: &Site) -> Result<Delivery, Invalid> {
        Ok(match delivery {
            Delivery::Multicast { group, port } => {
                let mut used = self.ports.clone();
                used.insert(port.get());
                let port = site
                    .port_pool
                    .allocate(1, &used)
                    .map(|v| v[0])
                    .map_err(|e| {
                        Invalid::new(
                            "port_pool",
                            site.port_pool,
                            format!("no port left for the G.722 stream: {e}"),
                        )
                    })?;
                Delivery::Multicast { group, port }
            }
            unicast @ Delivery::Unicast { .. } => unicast,
        })
    }

    /// The unicast port a multicast page falls back to for phones that do not join the group
    /// (a free port, not the page's own nor its G.722 stream's); none for a unicast page.
    fn fallback(
        &self,
        delivery: Delivery,
        wide: Option<Delivery>,
        site: &Site,
    ) -> Option<(Ipv4Addr, RtpPort)> {
        match delivery {
            Delivery::Multicast { port, .. } => {
                let mut used = self.ports.clone();
                used.insert(port.get());
                if let Some(Delivery::Multicast { port, .. }) = wide {
                    used.insert(port.get());
                }
                site.port_pool
                    .allocate(1, &used)
                    .ok()
                    .map(|p| (site.media_address, p[0]))
            }
            Delivery::Unicast { .. } => None,
        }
    }
}

/// Take phones over from lower pages: push those pages' stops to the shared phones, then mark
/// them released in the journal (the lower page sees it and leaves them alone).
pub async fn take_over(
    prepared: &Prepared,
    pages: &[JournalPage],
    journal: &Journal,
    client: &PushClient,
) -> std::io::Result<()> {
    for (page_id, names) in &prepared.preempts {
        let Some(page) = pages.iter().find(|p| &p.record.page == page_id) else {
            continue;
        };
        let mut set = tokio::task::JoinSet::new();
        for name in names {
            let Some(jp) = page.record.phones.iter().find(|p| &p.name == name) else {
                continue;
            };
            let Some(target) = prepared
                .plans
                .iter()
                .find(|p| &p.name == name)
                .and_then(|p| p.target.clone())
            else {
                continue;
            };
            let client = client.clone();
            let xml = jp.stop_xml.clone();
            let expect = jp.expect_reply;
            set.spawn(async move { client.execute(&target, &xml, None, expect).await });
        }
        while set.join_next().await.is_some() {}
        journal.record(
            page_id,
            &JournalOp::Released {
                phones: names.clone(),
            },
        )?;
    }
    Ok(())
}
