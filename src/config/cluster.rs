//! The `[cluster]` table: how this node joins its site and district over NATS JetStream (issue 24,
//! `docs/cluster.md`): the servers' URLs, the credentials' source (never the credentials: they are
//! read only when the node connects, and never logged), TLS, this node's site and name, the site's
//! pair, the lease and claim timings, and the district's zones (`site:zone` members). Read and
//! checked here; `crate::cluster` connects and runs the lease.
//!
//! ```toml
//! [cluster]
//! urls = ["nats://10.0.0.5:4222"]    # nats:// or tls:// HOST:PORT, one or more; no user in them
//! user = "site-north"                # with password_env or password_file; or nkey_file alone
//! password_env = "ZONECAST_NATS_PASSWORD"
//! # nkey_file = "north.nk"           # an NKey seed file (SU...)
//! # ca_file = "nats-ca.pem"          # trust for TLS; tls = true requires TLS
//! site = "north"                     # [a-z0-9-], 1..=32: names the site's subjects and buckets
//! node = "a"                         # this node, the same rule
//! pair = ["a", "b"]                  # the site's nodes, the first preferred when the store is down
//! lease = "4s"                       # the leader lease (the lease bucket's max_age), 1s..=60s
//! claim_wait = "5s"                  # when the other node claims a bell occurrence (> lease)
//! hub_domain = "hub"                 # the hub's JetStream domain, when the site's server is a
//!                                    # leaf whose own domain is the site's name; absent: one
//!                                    # JetStream holds the site's and the district's streams
//! # The pair's LAN heartbeat (UDP, once a second): this node's address and its peer's.
//! heartbeat = { listen = "10.0.0.21:7470", peer = "10.0.0.22:7470" }
//!
//! [cluster.district]                 # zones that span sites: each member is SITE:ZONE
//! all-schools = ["north:all", "south:all"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::phone::PasswordSource;
use super::source::Source;
use super::value::{Text, duration, relative};
use crate::error::Invalid;

/// How this node proves who it is to the NATS servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterAuth {
    /// No credentials (a server on loopback, the tests).
    None,
    /// A user and where its password is (`password_env` or `password_file`).
    Password(String, PasswordSource),
    /// An NKey seed file (`nkey_file`).
    NKey(PathBuf),
}

/// A zone of the district: the same-named zone on several sites, or any `site:zone` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistrictZone {
    /// The district zone's name.
    pub name: String,
    /// Its parts, `(site, zone)`, in file order.
    pub members: Vec<(String, String)>,
}

/// The pair's LAN heartbeat: where this node listens and where its peer does (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairHeartbeat {
    /// This node's heartbeat socket.
    pub listen: std::net::SocketAddr,
    /// The other node's.
    pub peer: std::net::SocketAddr,
}

/// The `[cluster]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The servers, `nats://HOST:PORT` or `tls://HOST:PORT`.
    pub urls: Vec<String>,
    /// The credentials' source.
    pub auth: ClusterAuth,
    /// TLS required (`tls = true` or a `tls://` URL).
    pub tls: bool,
    /// CA certificates (PEM) trusted for the servers' TLS.
    pub ca_file: Option<PathBuf>,
    /// This node's site.
    pub site: String,
    /// This node's name.
    pub node: String,
    /// The site's nodes, the preferred first (just this node when not given).
    pub pair: Vec<String>,
    /// The leader lease's time (the lease bucket's `max_age`).
    pub lease: Duration,
    /// How long after a bell's due instant the other node claims it.
    pub claim_wait: Duration,
    /// The district's zones.
    pub district: Vec<DistrictZone>,
    /// The hub's JetStream domain (the district's journal and the nodes' status), reached
    /// through the site's leaf server, whose own domain is the site's name; `None`: the site's
    /// JetStream is the hub's too.
    pub hub_domain: Option<String>,
    /// The pair's LAN heartbeat (a pair only; without it no bell rings while the store is down).
    pub heartbeat: Option<PairHeartbeat>,
}

/// `[cluster]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    urls: Vec<Text>,
    user: Option<Text>,
    password_env: Option<Text>,
    password_file: Option<Text>,
    nkey_file: Option<Text>,
    tls: Option<Spanned<bool>>,
    ca_file: Option<Text>,
    site: Text,
    node: Text,
    #[serde(default)]
    pair: Vec<Text>,
    lease: Option<Text>,
    claim_wait: Option<Text>,
    #[serde(default)]
    district: BTreeMap<Text, Vec<Text>>,
    hub_domain: Option<Text>,
    heartbeat: Option<Spanned<RawHeartbeat>>,
}

/// `heartbeat = { listen, peer }` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeartbeat {
    listen: Text,
    peer: Text,
}

/// Check `[cluster]`; `base` anchors relative paths.
pub(super) fn check(
    src: &Source,
    raw: Option<Spanned<RawCluster>>,
    base: &Path,
) -> Result<Option<Cluster>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let span = raw.span();
    let r = raw.into_inner();
    if r.urls.is_empty() {
        return Err(src.invalid(span, "[cluster] urls", "[]", "give at least one server URL"));
    }
    let mut tls = r.tls.as_ref().is_some_and(|t| *t.get_ref());
    let mut urls = Vec::new();
    for u in &r.urls {
        let (url, is_tls) = url(u.get_ref())
            .map_err(|rule| src.invalid(u.span(), "[cluster] urls", u.get_ref(), rule))?;
        tls |= is_tls;
        urls.push(url);
    }
    let auth = auth(src, &r, base)?;
    let site = safe_name(src, &r.site, "[cluster] site")?;
    let node = safe_name(src, &r.node, "[cluster] node")?;
    let pair = pair(src, &r.pair, &r.node, &node)?;
    let heartbeat = heartbeat(src, r.heartbeat, &pair)?;
    let lease = match &r.lease {
        Some(v) => ranged(src, v, "[cluster] lease", 1..=60)?,
        None => Duration::from_secs(4),
    };
    let claim_wait = match &r.claim_wait {
        Some(v) => {
            let w = ranged(src, v, "[cluster] claim_wait", 1..=600)?;
            if w <= lease {
                let rule = format!("must be longer than lease ({} ms)", lease.as_millis());
                return Err(src.invalid(v.span(), "[cluster] claim_wait", v.get_ref(), rule));
            }
            w
        }
        None => lease + Duration::from_secs(1),
    };
    Ok(Some(Cluster {
        urls,
        auth,
        tls,
        ca_file: r.ca_file.as_ref().map(|f| relative(base, f.get_ref())),
        site,
        node,
        pair,
        lease,
        claim_wait,
        district: district(src, &r.district)?,
        hub_domain: match &r.hub_domain {
            Some(v) => Some(safe_name(src, v, "[cluster] hub_domain")?),
            None => None,
        },
        heartbeat,
    }))
}

/// `nats://HOST:PORT` or `tls://HOST:PORT` (no user or password in it); whether it asks for TLS.
fn url(s: &str) -> Result<(String, bool), String> {
    let rule = "must be nats://HOST:PORT or tls://HOST:PORT, without credentials \
                (give them with user and password_env, password_file or nkey_file)";
    let s = s.trim();
    let (scheme, rest) = s.split_once("://").ok_or(rule)?;
    let tls = match scheme {
        "nats" => false,
        "tls" => true,
        _ => return Err(rule.to_owned()),
    };
    let (host, port) = rest.rsplit_once(':').ok_or(rule)?;
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    if host.is_empty() || host.len() > 253 || !host.chars().all(ok) || !port_ok {
        return Err(rule.to_owned());
    }
    Ok((s.to_owned(), tls))
}

/// `user` with exactly one of `password_env` / `password_file`, or `nkey_file` alone, or none.
fn auth(src: &Source, r: &RawCluster, base: &Path) -> Result<ClusterAuth, Invalid> {
    let pw = [&r.password_env, &r.password_file, &r.nkey_file];
    let given: Vec<&Text> = pw.iter().filter_map(|v| v.as_ref()).collect();
    if given.len() > 1 {
        let v = given[1];
        return Err(src.invalid(
            v.span(),
            "[cluster] credentials",
            "(several)",
            "give one of password_env, password_file or nkey_file",
        ));
    }
    let blank = |v: &Text, key: &str, rule: &str| -> Result<(), Invalid> {
        let t = v.get_ref();
        if t.trim().is_empty() || t.contains(['=', '\0']) {
            return Err(src.invalid(v.span(), format!("[cluster] {key}"), t, rule));
        }
        Ok(())
    };
    let source = if let Some(v) = &r.password_env {
        blank(
            v,
            "password_env",
            "must be the name of an environment variable",
        )?;
        Some(PasswordSource::Env(v.get_ref().clone()))
    } else if let Some(v) = &r.password_file {
        blank(v, "password_file", "must be a file path")?;
        Some(PasswordSource::File(relative(base, v.get_ref())))
    } else {
        None
    };
    match (&r.user, source, &r.nkey_file) {
        (Some(u), Some(s), _) => {
            let name = u.get_ref().trim();
            if name.is_empty() || name.contains([':', '@', '/']) {
                let rule = "must be a NATS user name (no ':', '@' or '/')";
                return Err(src.invalid(u.span(), "[cluster] user", u.get_ref(), rule));
            }
            Ok(ClusterAuth::Password(name.to_owned(), s))
        }
        (Some(u), None, _) => Err(src.invalid(
            u.span(),
            "[cluster] user",
            u.get_ref(),
            "a user needs password_env or password_file",
        )),
        (None, Some(_), _) => {
            let v = r.password_env.as_ref().or(r.password_file.as_ref());
            let span = v.map(|v| v.span()).unwrap_or_default();
            Err(src.invalid(span, "[cluster] user", "(none)", "a password needs user"))
        }
        (None, None, Some(f)) => {
            blank(f, "nkey_file", "must be a file path")?;
            Ok(ClusterAuth::NKey(relative(base, f.get_ref())))
        }
        (None, None, None) => Ok(ClusterAuth::None),
    }
}

/// Site and node names: they become parts of NATS subjects, bucket names and KV keys.
fn safe_name(src: &Source, v: &Text, what: &str) -> Result<String, Invalid> {
    let n = v.get_ref();
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if n.is_empty() || n.len() > 32 || !n.chars().all(ok) || n.starts_with('-') {
        let rule = "must be 1..=32 of a-z, 0-9 and '-' (not first): it names subjects and buckets";
        return Err(src.invalid(v.span(), what, n, rule));
    }
    Ok(n.clone())
}

/// `pair`: one or two distinct node names, this node among them; absent: this node alone.
fn pair(src: &Source, raw: &[Text], node_v: &Text, node: &str) -> Result<Vec<String>, Invalid> {
    if raw.is_empty() {
        return Ok(vec![node.to_owned()]);
    }
    let mut out = Vec::new();
    for v in raw {
        let n = safe_name(src, v, "[cluster] pair")?;
        if out.contains(&n) {
            return Err(src.invalid(v.span(), "[cluster] pair", &n, "is listed twice"));
        }
        out.push(n);
    }
    if out.len() > 2 {
        let v = &raw[2];
        let rule = "a site runs one or two nodes (primary and standby)";
        return Err(src.invalid(v.span(), "[cluster] pair", v.get_ref(), rule));
    }
    if !out.iter().any(|n| n == node) {
        let rule = "this node must be one of pair";
        return Err(src.invalid(node_v.span(), "[cluster] node", node, rule));
    }
    Ok(out)
}

/// `heartbeat`: two `IP:PORT` socket addresses (no names: the heartbeat must not wait on DNS),
/// for a pair only. A pair without it rings nothing while its store is down (see
/// `docs/cluster.md`).
fn heartbeat(
    src: &Source,
    raw: Option<Spanned<RawHeartbeat>>,
    pair: &[String],
) -> Result<Option<PairHeartbeat>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let span = raw.span();
    if pair.len() < 2 {
        let rule = "a node alone has no peer: list both nodes in pair";
        return Err(src.invalid(span, "[cluster] heartbeat", "(given)", rule));
    }
    let r = raw.into_inner();
    let addr = |v: &Text, key: &str| {
        v.get_ref()
            .trim()
            .parse::<std::net::SocketAddr>()
            .map_err(|_| {
                let what = format!("[cluster] heartbeat {key}");
                src.invalid(v.span(), what, v.get_ref(), "must be IP:PORT")
            })
    };
    let (listen, peer) = (addr(&r.listen, "listen")?, addr(&r.peer, "peer")?);
    if peer.port() == 0 || listen == peer {
        let rule = "must be the other node's own IP:PORT";
        return Err(src.invalid(
            r.peer.span(),
            "[cluster] heartbeat peer",
            r.peer.get_ref(),
            rule,
        ));
    }
    Ok(Some(PairHeartbeat { listen, peer }))
}

/// A duration in whole-second bounds (sub-second values allowed inside them).
fn ranged(
    src: &Source,
    v: &Text,
    what: &str,
    secs: std::ops::RangeInclusive<u64>,
) -> Result<Duration, Invalid> {
    let d = duration(src, v, what, false)?;
    let (lo, hi) = (
        Duration::from_secs(*secs.start()),
        Duration::from_secs(*secs.end()),
    );
    if d < lo || d > hi {
        let rule = format!("must be from {} s to {} s", secs.start(), secs.end());
        return Err(src.invalid(v.span(), what, v.get_ref(), rule));
    }
    Ok(d)
}

/// `[cluster.district]`: each zone a non-empty list of distinct `SITE:ZONE`.
fn district(src: &Source, raw: &BTreeMap<Text, Vec<Text>>) -> Result<Vec<DistrictZone>, Invalid> {
    let mut zones = Vec::new();
    for (name, members) in raw {
        let what = format!("[cluster.district] {}", name.get_ref());
        if members.is_empty() {
            return Err(src.invalid(name.span(), &what, "[]", "give at least one SITE:ZONE"));
        }
        let mut parts: Vec<(String, String)> = Vec::new();
        for m in members {
            let rule = "must be SITE:ZONE (a site name as [cluster] site, a zone of that site)";
            let (site, zone) = m
                .get_ref()
                .split_once(':')
                .filter(|(s, z)| {
                    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
                    !s.is_empty() && s.len() <= 32 && s.chars().all(ok) && !z.is_empty()
                })
                .filter(|(_, z)| !z.chars().any(|c| c.is_whitespace() || c.is_control()))
                .ok_or_else(|| src.invalid(m.span(), &what, m.get_ref(), rule))?;
            let part = (site.to_owned(), zone.to_owned());
            if parts.contains(&part) {
                return Err(src.invalid(m.span(), &what, m.get_ref(), "is listed twice"));
            }
            parts.push(part);
        }
        zones.push(DistrictZone {
            name: name.get_ref().clone(),
            members: parts,
        });
    }
    Ok(zones)
}

#[cfg(test)]
mod tests {
    use crate::config::{ClusterAuth, Config, PasswordSource};

    fn load(extra: &str) -> Result<Config, String> {
        Config::from_toml(&format!("[cluster]\n{extra}"), "/etc/zc/zonecast.toml")
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_table_is_read() {
        let c = load(
            "urls = [\"tls://nats1.example.com:4222\", \"nats://10.0.0.5:4222\"]\n\
             user = \"site-north\"\npassword_file = \"nats.pw\"\nsite = \"north\"\nnode = \"b\"\n\
             pair = [\"a\", \"b\"]\nlease = \"2s\"\n\
             [cluster.district]\nall = [\"north:all\", \"south:hall\"]\n",
        )
        .unwrap();
        let c = c.cluster.unwrap();
        assert!(c.tls);
        assert_eq!(
            c.auth,
            ClusterAuth::Password(
                "site-north".into(),
                PasswordSource::File("/etc/zc/nats.pw".into())
            )
        );
        assert_eq!(c.pair, ["a", "b"]);
        assert_eq!(c.lease.as_secs(), 2);
        assert_eq!(c.claim_wait.as_secs(), 3);
        assert_eq!(c.district[0].members[1], ("south".into(), "hall".into()));
        assert_eq!(c.heartbeat, None);
    }

    #[test]
    fn a_pair_reads_its_heartbeat_addresses_and_a_node_alone_has_none() {
        let base = "urls = [\"nats://127.0.0.1:4222\"]\nsite = \"north\"\nnode = \"a\"\n";
        let hb = "heartbeat = { listen = \"127.0.0.1:7470\", peer = \"127.0.0.1:7471\" }\n";
        let c = load(&format!("{base}pair = [\"a\", \"b\"]\n{hb}")).unwrap();
        let h = c.cluster.unwrap().heartbeat.unwrap();
        assert_eq!((h.listen.port(), h.peer.port()), (7470, 7471));
        let e = load(&format!("{base}{hb}")).unwrap_err();
        assert!(e.contains("no peer"), "{e}");
        let bad = "heartbeat = { listen = \"127.0.0.1:7470\", peer = \"b.local:7470\" }\n";
        let e = load(&format!("{base}pair = [\"a\", \"b\"]\n{bad}")).unwrap_err();
        assert!(e.contains("IP:PORT"), "{e}");
        let same = "heartbeat = { listen = \"127.0.0.1:7470\", peer = \"127.0.0.1:7470\" }\n";
        let e = load(&format!("{base}pair = [\"a\", \"b\"]\n{same}")).unwrap_err();
        assert!(e.contains("other node"), "{e}");
    }

    /// A site with one phone and zone `all`, `tables` (bells, routes), then `[cluster]` with the
    /// district zone `everyone` over north and south.
    fn site(tables: &str) -> Result<Config, String> {
        let text = format!(
            "[[phone]]\nname = \"p1\"\nhost = \"10.0.0.1\"\nmodel = \"8865\"\nuser = \"u\"\n\
             password_env = \"ZC_PW\"\n\n[zone.all]\nmembers = [\"p1\"]\n\n{tables}\
             [cluster]\nurls = [\"nats://127.0.0.1:4222\"]\nsite = \"north\"\nnode = \"a\"\n\n\
             [cluster.district]\neveryone = [\"north:all\", \"south:all\"]\n"
        );
        Config::from_toml(&text, "/etc/zc/zonecast.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn a_bell_may_ring_a_district_zone_with_a_source_every_site_can_play() {
        let bell = |zones: &str, source: &str| {
            format!(
                "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"b\"\n\
                 cron = \"0 0 8 * * *\"\nzones = [{zones}]\nsource = \"{source}\"\n\n"
            )
        };
        let c = site(&bell("\"everyone\", \"all\"", "bell,say:Good morning")).unwrap();
        assert_eq!(c.schedule.unwrap().bells[0].zones, ["everyone", "all"]);
        let e = site(&bell("\"everyone\"", "file:/srv/bell.wav")).unwrap_err();
        assert!(e.contains("district zone \"everyone\""), "{e}");
        assert!(e.contains("upload:NAME"), "{e}");
        // A file still plays to the site's own zones.
        assert!(site(&bell("\"all\"", "file:/srv/bell.wav")).is_ok());
        let e = site(&bell("\"nowhere\"", "bell")).unwrap_err();
        assert!(e.contains("all, everyone"), "{e}");
    }

    #[test]
    fn a_sip_route_or_menu_may_page_a_district_zone() {
        let route = |zone: &str, mode: &str| {
            format!(
                "[sip]\nlisten = \"127.0.0.1:5060\"\nallow = [\"10.1.0.0/24\"]\n\n\
                 [[sip.route]]\nnumber = \"100\"\nzone = \"{zone}\"\nmode = \"{mode}\"\n\n\
                 [[sip.route]]\nnumber = \"200\"\nmenu = {{ \"1\" = \"all\", \"2\" = \"{zone}\" }}\n\n"
            )
        };
        for mode in ["live", "delayed"] {
            let c = site(&route("everyone", mode)).unwrap();
            let sip = c.sip.unwrap();
            assert_eq!(sip.routes[0].zone, "everyone");
            assert_eq!(
                sip.routes[1].menu[1],
                ("2".to_owned(), "everyone".to_owned())
            );
        }
        let e = site(&route("nowhere", "live")).unwrap_err();
        assert!(e.contains("is not a zone in the config"), "{e}");
    }

    #[test]
    fn bad_values_are_refused_with_their_rule() {
        let base = "urls = [\"nats://127.0.0.1:4222\"]\nsite = \"north\"\nnode = \"a\"\n";
        let cases = [
            (
                "urls = [\"nats://u:p@h:4222\"]\nsite = \"n\"\nnode = \"a\"\n",
                "without credentials",
            ),
            (
                "urls = [\"nats://h:4222\"]\nsite = \"North\"\nnode = \"a\"\n",
                "[cluster] site",
            ),
            (
                &format!("{base}pair = [\"b\", \"c\"]\n"),
                "must be one of pair",
            ),
            (
                &format!("{base}pair = [\"a\", \"b\", \"c\"]\n"),
                "one or two",
            ),
            (&format!("{base}password_env = \"X\"\n"), "needs user"),
            (&format!("{base}user = \"u\"\n"), "needs password_env"),
            (
                &format!("{base}user = \"u\"\npassword_env = \"X\"\nnkey_file = \"k\"\n"),
                "give one of",
            ),
            (
                &format!("{base}lease = \"5s\"\nclaim_wait = \"5s\"\n"),
                "longer than lease",
            ),
            (&format!("{base}lease = \"90s\"\n"), "from 1 s to 60 s"),
            (
                &format!("{base}[cluster.district]\nall = [\"north\"]\n"),
                "SITE:ZONE",
            ),
        ];
        for (text, needle) in cases {
            let e = load(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        let c = load(&format!("{base}nkey_file = \"/k/site.nk\"\n")).unwrap();
        assert_eq!(
            c.cluster.unwrap().auth,
            ClusterAuth::NKey("/k/site.nk".into())
        );
    }
}
