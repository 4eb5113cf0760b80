//! The `[sip]` table and its `[[sip.route]]` and `[[sip.caller]]` entries: where zonecast's SIP
//! user agent listens (UDP and TCP on one port), which trunks may call it, which callers from
//! elsewhere may call with digest credentials, how many calls it takes and how long a silent
//! caller is kept, and which dialled number pages which zone. Read and checked here;
//! `crate::sip` runs the agent. Callers' passwords are only located here (an environment
//! variable or a file, as `[[sip_endpoint]]`'s); the agent reads them when it starts.
//!
//! ```toml
//! [sip]
//! listen = "10.0.0.5:5060"     # ADDR or ADDR:PORT; default port 5060 (UDP and TCP)
//! transports = ["udp", "tcp"]  # default both, on the same port
//! allow = ["10.1.0.0/24"]      # source addresses of the trunks allowed to call
//! max_calls = 20               # calls at once (default 20)
//! no_rtp = "10s"               # a caller silent this long is hung up (default 10 s)
//!
//! [[sip.caller]]               # anyone else: 401, then let in with these digest credentials
//! user = "lobby-pbx"
//! password_env = "ZONECAST_SIP_LOBBY_PASSWORD"   # or password_file
//!
//! [[sip.route]]
//! number = "7001"              # the Request-URI's user part
//! zone = "lobby"
//! priority = "urgent"          # default: the default level
//! mode = "live"                # or "delayed": record the caller, then play it
//! pin = "2468"                 # optional: the caller keys it (and #) before anything is paged
//! busy = "queue"               # or "refuse" (default: 486 when a higher page holds the zone)
//! queue_wait = "30s"           # with busy = "queue": longest wait for the zone (1 s..=5 min)
//!
//! [[sip.route]]
//! number = "7010"
//! menu = { "1" = "lobby", "2" = "gym", "9" = "all-call" }   # instead of zone: keyed by the caller
//! ```
//!
//! A route names exactly one of `zone` (the zone it pages) and `menu` (1 to 4 digits keyed by
//! the caller → a zone; at most [`MAX_MENU_CHOICES`]); every zone must exist (a zone of this
//! site, or of `[cluster.district]`: the call then pages every site of it), and a menu route
//! reaches only its menu's zones. With a `pin`, the PIN is asked first.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use serde::Deserialize;

use super::priority::Priorities;
use super::sip_endpoint::{SipAuth, auth_of};
use super::source::Source;
use super::value::{Int, Text, duration, int};
use super::zone::Zone;
use crate::error::Invalid;

/// Default SIP port.
pub const SIP_PORT: u16 = 5060;
/// Longest dialled number a route may name (E.164 is 15 digits; room for prefixes).
pub const MAX_NUMBER_CHARS: usize = 32;
/// Most choices a route's `menu` may offer.
pub const MAX_MENU_CHOICES: usize = 50;
/// A menu key's most digits.
pub const MAX_MENU_DIGITS: usize = 4;
/// A queued call's default and longest wait for its zone (`queue_wait`).
const QUEUE_WAIT: (Duration, Duration) = (Duration::from_secs(30), Duration::from_secs(300));

/// The `[sip]` table, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Sip {
    /// Where the user agent listens (UDP and TCP, as `transports` says, on the same port).
    pub listen: SocketAddrV4,
    /// The transports it listens on.
    pub transports: SipTransports,
    /// Source networks of the trunks allowed to call; anything else gets 403, or a digest
    /// challenge when `callers` has entries.
    pub allow: Vec<Cidr>,
    /// `[[sip.caller]]`: the digest credentials that let in a caller from outside `allow`.
    pub callers: Vec<SipAuth>,
    /// Calls at once; one more gets 486.
    pub max_calls: usize,
    /// A caller that sends no RTP this long (after the answer) is hung up.
    pub no_rtp: Duration,
    /// Dialled number → zone, in file order; numbers are unique.
    pub routes: Vec<SipRoute>,
}

impl Sip {
    /// Whether `ip` may call.
    pub fn allows(&self, ip: Ipv4Addr) -> bool {
        self.allow.iter().any(|c| c.contains(ip))
    }

    /// The route of dialled number `number`.
    pub fn route(&self, number: &str) -> Option<&SipRoute> {
        self.routes.iter().find(|r| r.number == number)
    }
}

/// `[sip] transports`: UDP, TCP or both (the default), on `listen`'s port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipTransports {
    /// Datagrams.
    pub udp: bool,
    /// A TCP listener (RFC 3261 §18: what CUCM trunks often use).
    pub tcp: bool,
}

impl Default for SipTransports {
    fn default() -> Self {
        SipTransports {
            udp: true,
            tcp: true,
        }
    }
}

/// Most `[[sip.caller]]` entries.
pub const MAX_SIP_CALLERS: usize = 1000;

/// An IPv4 network (`10.1.0.0/24`; a bare address is a /32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: Ipv4Addr,
    bits: u8,
}

impl Cidr {
    /// `ADDR` or `ADDR/BITS`; the error is the rule it breaks. Host bits must be zero, so a
    /// typo like `10.1.0.5/24` is not silently widened.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let rule = "must be an IPv4 address or network such as 10.1.0.7 or 10.1.0.0/24";
        let (addr, bits) = match s.trim().split_once('/') {
            Some((a, b)) => (a, b.parse::<u8>().map_err(|_| rule.to_owned())?),
            None => (s.trim(), 32),
        };
        let net: Ipv4Addr = addr.parse().map_err(|_| rule.to_owned())?;
        if bits > 32 {
            return Err(rule.to_owned());
        }
        let c = Cidr { net, bits };
        if u32::from(net) & !c.mask() != 0 {
            return Err(format!(
                "has host bits set: the network is {}/{bits}",
                Ipv4Addr::from(u32::from(net) & c.mask())
            ));
        }
        Ok(c)
    }

    fn mask(self) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0)
    }

    /// Whether `ip` is in this network.
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.net)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

/// A `[[sip.route]]`: a dialled number that pages a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipRoute {
    /// The Request-URI's user part that selects it (`7001`, `+4930123`, `*55`).
    pub number: String,
    /// The zone it pages; empty for a menu route, whose caller chooses one of [`SipRoute::menu`].
    pub zone: String,
    /// The page's priority level (`None`: the default level).
    pub priority: Option<String>,
    /// Live, or recorded and then played.
    pub mode: RouteMode,
    /// The digits a caller must key first, if any.
    pub pin: Option<RoutePin>,
    /// A menu route's choices: (the digits keyed, the zone they page), sorted by digits; empty
    /// for a route of one zone.
    pub menu: Vec<(String, String)>,
    /// `busy = "queue"`: how long a call waits for its zone held by a higher page (answered,
    /// hearing the queue tone); `None` (`busy = "refuse"`): 486 at once.
    pub queue_wait: Option<Duration>,
}

/// A route's PIN: 4..=12 digits. It never prints itself (logs, `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct RoutePin(String);

impl RoutePin {
    /// Check `digits` (the rule it breaks, else the PIN).
    pub fn parse(digits: &str) -> Result<RoutePin, String> {
        if !(4..=12).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 4..=12 digits 0-9".to_owned());
        }
        Ok(RoutePin(digits.to_owned()))
    }

    /// Its number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a PIN has at least four digits (for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `entered` is the PIN (compared in full, not stopping at the first wrong digit).
    pub fn matches(&self, entered: &str) -> bool {
        entered.len() == self.0.len()
            && entered
                .bytes()
                .zip(self.0.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for RoutePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoutePin(***)")
    }
}

/// How a route's caller reaches the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteMode {
    /// The caller's audio is relayed to the zone as it speaks.
    #[default]
    Live,
    /// The caller is recorded (beep, speak, hang up or press `#`), then the recording plays to
    /// the zone: no howl from a caller standing near a speaker.
    Delayed,
}

impl RouteMode {
    /// Its name in the config (`live`, `delayed`).
    pub fn name(self) -> &'static str {
        match self {
            RouteMode::Live => "live",
            RouteMode::Delayed => "delayed",
        }
    }
}

/// `[sip]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSip {
    listen: Option<Text>,
    transports: Option<Vec<Text>>,
    #[serde(default)]
    allow: Vec<Text>,
    #[serde(default)]
    caller: Vec<RawCaller>,
    max_calls: Option<Int>,
    no_rtp: Option<Text>,
    #[serde(default)]
    route: Vec<RawRoute>,
}

/// `[[sip.caller]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaller {
    user: Text,
    password_env: Option<Text>,
    password_file: Option<Text>,
}

/// `[[sip.route]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    number: Text,
    zone: Option<Text>,
    menu: Option<toml::Spanned<std::collections::BTreeMap<String, Text>>>,
    priority: Option<Text>,
    mode: Option<Text>,
    pin: Option<Text>,
    busy: Option<Text>,
    queue_wait: Option<Text>,
}

/// Check `[sip]` against the zones and levels already loaded.
pub(super) fn check(
    src: &Source,
    raw: Option<toml::Spanned<RawSip>>,
    zones: &[Zone],
    priorities: &Priorities,
) -> Result<Option<Sip>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let span = raw.span();
    let raw = raw.into_inner();
    let listen = match &raw.listen {
        None => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SIP_PORT),
        Some(v) => listen(v.get_ref())
            .map_err(|rule| src.invalid(v.span(), "[sip] listen", v.get_ref(), rule))?,
    };
    if raw.allow.is_empty() && raw.caller.is_empty() {
        return Err(src.invalid(
            span,
            "[sip] allow",
            "(none)",
            "list the trunks allowed to call, e.g. allow = [\"10.1.0.0/24\"], or [[sip.caller]] \
             credentials (no caller could page)",
        ));
    }
    let transports = match &raw.transports {
        None => SipTransports::default(),
        Some(list) => transports(src, span.clone(), list)?,
    };
    let callers = check_callers(src, raw.caller)?;
    let allow = raw
        .allow
        .iter()
        .map(|v| {
            Cidr::parse(v.get_ref())
                .map_err(|rule| src.invalid(v.span(), "[sip] allow", v.get_ref(), rule))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max_calls = match &raw.max_calls {
        Some(v) => int(src, v, "[sip] max_calls", 1..=200)?,
        None => 20,
    };
    let no_rtp = match &raw.no_rtp {
        Some(v) => duration(src, v, "[sip] no_rtp", false)?,
        None => Duration::from_secs(10),
    };
    let routes = check_routes(src, raw.route, zones, priorities)?;
    Ok(Some(Sip {
        listen,
        transports,
        allow,
        callers,
        max_calls,
        no_rtp,
        routes,
    }))
}

/// `transports = ["udp", "tcp"]`: one or both, each once.
fn transports(
    src: &Source,
    span: std::ops::Range<usize>,
    list: &[Text],
) -> Result<SipTransports, Invalid> {
    let mut t = SipTransports {
        udp: false,
        tcp: false,
    };
    for v in list {
        let slot = match v.get_ref().to_ascii_lowercase().as_str() {
            "udp" => &mut t.udp,
            "tcp" => &mut t.tcp,
            _ => {
                let rule = "must be \"udp\" or \"tcp\" (TLS trunks are not supported)";
                return Err(src.invalid(v.span(), "[sip] transports", v.get_ref(), rule));
            }
        };
        if std::mem::replace(slot, true) {
            return Err(src.invalid(v.span(), "[sip] transports", v.get_ref(), "is listed twice"));
        }
    }
    if !t.udp && !t.tcp {
        let rule = "must name \"udp\", \"tcp\" or both";
        return Err(src.invalid(span, "[sip] transports", "[]", rule));
    }
    Ok(t)
}

/// `[[sip.caller]]`: unique user names that fit in a header, each with where its password is.
fn check_callers(src: &Source, raw: Vec<RawCaller>) -> Result<Vec<SipAuth>, Invalid> {
    if raw.len() > MAX_SIP_CALLERS {
        let rule = format!("at most {MAX_SIP_CALLERS} callers");
        return Err(src.invalid(0..0, "[[sip.caller]]", raw.len(), rule));
    }
    let base = src.path.parent().unwrap_or(std::path::Path::new(""));
    let mut out: Vec<SipAuth> = Vec::with_capacity(raw.len());
    for c in raw {
        let user = c.user.get_ref().trim();
        let what = |k: &str| format!("[[sip.caller]] {user:?} {k}");
        let fits = |ch: char| !ch.is_control() && !matches!(ch, '"' | '\\');
        if user.chars().count() > 64 || !user.chars().all(fits) {
            let rule =
                "must be 1..=64 characters without quotes, backslashes or control characters";
            return Err(src.invalid(c.user.span(), what("user"), user, rule));
        }
        if out.iter().any(|a| a.user == user) {
            let rule = "is listed twice: each user has one password";
            return Err(src.invalid(c.user.span(), what("user"), user, rule));
        }
        let auth = auth_of(
            src,
            base,
            &what,
            Some(&c.user),
            c.password_env.as_ref(),
            c.password_file.as_ref(),
        )?;
        // `auth_of` refuses a user without a password, so there always is one here.
        out.extend(auth);
    }
    Ok(out)
}

/// `ADDR` or `ADDR:PORT` (IPv4).
fn listen(s: &str) -> Result<SocketAddrV4, String> {
    let rule = "must be ADDR or ADDR:PORT with an IPv4 address, e.g. 10.0.0.5:5060";
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    s.parse::<Ipv4Addr>()
        .map(|ip| SocketAddrV4::new(ip, SIP_PORT))
        .map_err(|_| rule.to_owned())
}

/// A dialled number: 1..=32 of `0-9 * # +` and letters (some trunks route by name).
fn number_rule(n: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '*' | '#' | '+' | '-' | '.' | '_');
    if n.is_empty() || n.chars().count() > MAX_NUMBER_CHARS || !n.chars().all(ok) {
        return Err(format!(
            "must be 1..={MAX_NUMBER_CHARS} characters of 0-9, letters and * # + - . _"
        ));
    }
    Ok(())
}

fn check_routes(
    src: &Source,
    raw: Vec<RawRoute>,
    zones: &[Zone],
    priorities: &Priorities,
) -> Result<Vec<SipRoute>, Invalid> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let n = r.number.get_ref();
        number_rule(n)
            .map_err(|rule| src.invalid(r.number.span(), "[[sip.route]] number", n, rule))?;
        if !seen.insert(n.clone()) {
            return Err(src.invalid(
                r.number.span(),
                "[[sip.route]] number",
                n,
                "is routed twice: each number pages one zone",
            ));
        }
        let what = |k: &str| format!("[[sip.route]] {n:?} {k}");
        let (zone, menu) = route_target(src, &r, zones)?;
        if let Some(p) = &r.priority
            && priorities.rank(p.get_ref()).is_none()
        {
            let rule = format!("is not a priority level ({})", priorities.levels.join(", "));
            return Err(src.invalid(p.span(), what("priority"), p.get_ref(), rule));
        }
        let mode = match r.mode.as_ref().map(|m| (m, m.get_ref().as_str())) {
            None | Some((_, "live")) => RouteMode::Live,
            Some((_, "delayed")) => RouteMode::Delayed,
            Some((m, other)) => {
                let rule = "must be \"live\" or \"delayed\"";
                return Err(src.invalid(m.span(), what("mode"), other, rule));
            }
        };
        let pin = match &r.pin {
            None => None,
            Some(p) => Some(
                RoutePin::parse(p.get_ref())
                    .map_err(|rule| src.invalid(p.span(), what("pin"), "(hidden)", rule))?,
            ),
        };
        let queue_wait = queue_wait(src, &r)?;
        out.push(SipRoute {
            number: n.clone(),
            zone,
            priority: r.priority.map(|p| p.into_inner()),
            mode,
            pin,
            menu,
            queue_wait,
        });
    }
    Ok(out)
}

/// A route's zone, or its menu (exactly one of them), every zone checked to exist.
#[allow(clippy::type_complexity)]
fn route_target(
    src: &Source,
    r: &RawRoute,
    zones: &[Zone],
) -> Result<(String, Vec<(String, String)>), Invalid> {
    let n = r.number.get_ref();
    let what = |k: &str| format!("[[sip.route]] {n:?} {k}");
    let known = |v: &Text, key: &str| {
        if zones.iter().any(|zone| &zone.name == v.get_ref()) {
            Ok(v.get_ref().clone())
        } else {
            Err(src.invalid(
                v.span(),
                what(key),
                v.get_ref(),
                "is not a zone in the config",
            ))
        }
    };
    match (&r.zone, &r.menu) {
        (Some(z), None) => Ok((known(z, "zone")?, Vec::new())),
        (None, Some(m)) => {
            let rule = format!(
                "must map 1..={MAX_MENU_CHOICES} keys of 1..={MAX_MENU_DIGITS} digits 0-9 to zones, \
                 e.g. menu = {{ \"1\" = \"lobby\", \"2\" = \"gym\" }}"
            );
            let choices = m.get_ref();
            if choices.is_empty() || choices.len() > MAX_MENU_CHOICES {
                let shown = format!("({} choices)", choices.len());
                return Err(src.invalid(m.span(), what("menu"), &shown, rule));
            }
            let mut menu = Vec::with_capacity(choices.len());
            for (key, zone) in choices {
                let digits = (1..=MAX_MENU_DIGITS).contains(&key.len())
                    && key.bytes().all(|b| b.is_ascii_digit());
                if !digits {
                    return Err(src.invalid(m.span(), what("menu"), key, rule));
                }
                menu.push((key.clone(), known(zone, &format!("menu {key:?}"))?));
            }
            Ok((String::new(), menu))
        }
        (Some(z), Some(_)) => Err(src.invalid(
            z.span(),
            what("zone"),
            z.get_ref(),
            "a route names either zone or menu, not both",
        )),
        (None, None) => Err(src.invalid(
            r.number.span(),
            what("zone"),
            "(none)",
            "name the zone it pages, or a menu of zones the caller keys (menu = { \"1\" = \"lobby\" })",
        )),
    }
}

/// `busy` and `queue_wait`: how long a call waits for its busy zone (`None`: refused, 486).
fn queue_wait(src: &Source, r: &RawRoute) -> Result<Option<Duration>, Invalid> {
    let n = r.number.get_ref();
    let what = |k: &str| format!("[[sip.route]] {n:?} {k}");
    let queue = match r.busy.as_ref().map(|b| (b, b.get_ref().as_str())) {
        None | Some((_, "refuse")) => false,
        Some((_, "queue")) => true,
        Some((b, other)) => {
            let rule = "must be \"refuse\" (486 Busy Here) or \"queue\" (wait for the zone)";
            return Err(src.invalid(b.span(), what("busy"), other, rule));
        }
    };
    match (&r.queue_wait, queue) {
        (None, true) => Ok(Some(QUEUE_WAIT.0)),
        (None, false) => Ok(None),
        (Some(w), false) => Err(src.invalid(
            w.span(),
            what("queue_wait"),
            w.get_ref(),
            "needs busy = \"queue\" (a refused call does not wait)",
        )),
        (Some(w), true) => {
            let d = duration(src, w, &what("queue_wait"), false)?;
            if d < Duration::from_secs(1) || d > QUEUE_WAIT.1 {
                let rule = format!("must be 1s..={}s", QUEUE_WAIT.1.as_secs());
                return Err(src.invalid(w.span(), what("queue_wait"), w.get_ref(), rule));
            }
            Ok(Some(d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const HEAD: &str = "[[phone]]\nname = \"p1\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\n\
                        user = \"u\"\npassword_env = \"ZC_PW\"\n\n[zone.all]\nmembers = [\"p1\"]\n\n";

    fn load(tail: &str) -> Result<Config, Invalid> {
        Config::from_toml(&format!("{HEAD}{tail}"), "/etc/zonecast/zonecast.toml")
    }

    #[test]
    fn a_sip_table_with_defaults_and_routes_loads() {
        let c = load(
            "[sip]\nallow = [\"10.1.0.0/24\", \"10.2.0.9\"]\n\n[[sip.route]]\nnumber = \"7001\"\n\
             zone = \"all\"\npriority = \"urgent\"\nmode = \"live\"\n",
        )
        .unwrap();
        let s = c.sip.unwrap();
        assert_eq!(s.listen, "0.0.0.0:5060".parse().unwrap());
        assert_eq!((s.max_calls, s.no_rtp), (20, Duration::from_secs(10)));
        assert!(s.allows("10.1.0.77".parse().unwrap()));
        assert!(s.allows("10.2.0.9".parse().unwrap()));
        assert!(!s.allows("10.2.0.8".parse().unwrap()));
        let r = s.route("7001").unwrap();
        assert_eq!(
            (r.zone.as_str(), r.priority.as_deref()),
            ("all", Some("urgent"))
        );
        assert_eq!(r.mode, RouteMode::Live);
        assert!(s.route("7002").is_none());
        let c = load(
            "[sip]\nallow = [\"10.1.0.0/24\"]\n\n[[sip.route]]\nnumber = \"7002\"\n\
             zone = \"all\"\nmode = \"delayed\"\n",
        )
        .unwrap();
        assert_eq!(c.sip.unwrap().routes[0].mode, RouteMode::Delayed);
        let c = load(
            "[sip]\nallow = [\"10.1.0.0/24\"]\n\n[[sip.route]]\nnumber = \"7003\"\n\
             zone = \"all\"\npin = \"2468\"\n",
        )
        .unwrap();
        let pin = c.sip.unwrap().routes[0].pin.clone().unwrap();
        assert!(pin.matches("2468") && !pin.matches("2469") && !pin.matches("24680"));
        assert_eq!(format!("{pin:?}"), "RoutePin(***)");
        let e = load(
            "[sip]\nallow = [\"10.1.0.0/24\"]\n\n[[sip.route]]\nnumber = \"7003\"\n\
             zone = \"all\"\npin = \"12a4\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("4..=12 digits") && !e.contains("12a4"), "{e}");
        assert!(load("").unwrap().sip.is_none());
    }

    #[test]
    fn a_menu_route_and_a_queue_load_and_their_mistakes_name_the_key() {
        let zone_b = "[zone.b]\nmembers = [\"p1\"]\n\n[sip]\nallow = [\"10.0.0.0/8\"]\n";
        let c = load(&format!(
            "{zone_b}[[sip.route]]\nnumber = \"7010\"\nmenu = {{ \"1\" = \"all\", 2 = \"b\", \
             \"21\" = \"all\" }}\npin = \"2468\"\nbusy = \"queue\"\n\n[[sip.route]]\n\
             number = \"7011\"\nzone = \"b\"\nbusy = \"queue\"\nqueue_wait = \"2m\"\n"
        ));
        let e = c.unwrap_err().to_string();
        assert!(e.contains("queue_wait") && e.contains("duration"), "{e}");
        let c = load(&format!(
            "{zone_b}[[sip.route]]\nnumber = \"7010\"\nmenu = {{ \"1\" = \"all\", 2 = \"b\", \
             \"21\" = \"all\" }}\npin = \"2468\"\nbusy = \"queue\"\n\n[[sip.route]]\n\
             number = \"7011\"\nzone = \"b\"\nbusy = \"queue\"\nqueue_wait = \"90s\"\n"
        ))
        .unwrap();
        let s = c.sip.unwrap();
        let m = s.route("7010").unwrap();
        assert_eq!(m.zone, "");
        let keys: Vec<(&str, &str)> = m.menu.iter().map(|(k, z)| (&k[..], &z[..])).collect();
        assert_eq!(keys, [("1", "all"), ("2", "b"), ("21", "all")]);
        assert_eq!(m.queue_wait, Some(Duration::from_secs(30)));
        assert!(m.pin.is_some());
        let z = s.route("7011").unwrap();
        assert_eq!(
            (z.menu.len(), z.queue_wait),
            (0, Some(Duration::from_secs(90)))
        );
        for (route, says) in [
            (
                "zone = \"all\"\nmenu = { 1 = \"all\" }",
                "either zone or menu",
            ),
            ("priority = \"urgent\"", "name the zone it pages"),
            ("menu = {}", "1..=4 digits"),
            ("menu = { 12345 = \"all\" }", "1..=4 digits"),
            ("menu = { \"1*\" = \"all\" }", "1..=4 digits"),
            ("menu = { 1 = \"nope\" }", "menu \"1\""),
            ("zone = \"all\"\nbusy = \"wait\"", "\"refuse\""),
            ("zone = \"all\"\nqueue_wait = \"5s\"", "needs busy"),
            (
                "zone = \"all\"\nbusy = \"queue\"\nqueue_wait = \"301s\"",
                "1s..=300s",
            ),
        ] {
            let e = load(&format!("{zone_b}[[sip.route]]\nnumber = \"9\"\n{route}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(says) && e.contains("[[sip.route]] \"9\""),
                "{route}: {e}"
            );
        }
    }

    #[test]
    fn cidrs_contain_what_they_say() {
        let c = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(c.contains(Ipv4Addr::new(203, 0, 113, 9)));
        let c = Cidr::parse("127.0.0.1").unwrap();
        assert!(c.contains(Ipv4Addr::LOCALHOST));
        assert!(!c.contains(Ipv4Addr::new(127, 0, 0, 2)));
        for bad in [
            "10.1.0.5/24",
            "10.1.0.0/33",
            "10.1.0/24",
            "",
            "::1",
            "10.0.0.0/x",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn transports_and_digest_callers_load_and_are_checked() {
        let route = "[[sip.route]]\nnumber = \"1\"\nzone = \"all\"\n";
        let c = load(&format!("[sip]\nallow = [\"10.0.0.0/8\"]\n{route}")).unwrap();
        let s = c.sip.unwrap();
        assert_eq!(s.transports, SipTransports::default());
        assert!(s.transports.udp && s.transports.tcp && s.callers.is_empty());
        // Callers alone (no allow) are enough; a password file is relative to the config.
        let c = load(&format!(
            "[sip]\ntransports = [\"TCP\"]\n\n[[sip.caller]]\nuser = \"pbx\"\n\
             password_file = \"pbx.pw\"\n\n[[sip.caller]]\nuser = \"annex\"\n\
             password_env = \"ZC_ANNEX\"\n\n{route}"
        ))
        .unwrap();
        let s = c.sip.unwrap();
        assert_eq!((s.transports.udp, s.transports.tcp), (false, true));
        assert!(s.allow.is_empty());
        assert_eq!(s.callers[0].user, "pbx");
        assert_eq!(
            s.callers[0].password,
            crate::config::PasswordSource::File("/etc/zonecast/pbx.pw".into())
        );
        let e = s.callers[1].secret("[[sip.caller]] \"annex\"").unwrap_err();
        assert_eq!(e.field, "[[sip.caller]] \"annex\" password_env");
        for (tail, says) in [
            ("transports = []\n", "\"udp\", \"tcp\" or both"),
            ("transports = [\"tls\"]\n", "not supported"),
            ("transports = [\"udp\", \"udp\"]\n", "listed twice"),
            ("[[sip.caller]]\nuser = \"a\"\n", "needs password_env"),
            (
                "[[sip.caller]]\nuser = \"a\\\"b\"\npassword_env = \"X\"\n",
                "without quotes",
            ),
            (
                "[[sip.caller]]\nuser = \"a\"\npassword_env = \"X\"\n\
                 [[sip.caller]]\nuser = \"a\"\npassword_env = \"Y\"\n",
                "listed twice",
            ),
            (
                "[[sip.caller]]\nuser = \"a\"\npassword = \"x\"\n",
                "password",
            ),
        ] {
            let e = load(&format!("[sip]\nallow = [\"10.0.0.0/8\"]\n{tail}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{tail}: {e}");
        }
    }

    #[test]
    fn bad_values_are_refused_at_their_line() {
        for (tail, says) in [
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\nlisten = \"nowhere\"\n",
                "zonecast.toml:13:10",
            ),
            ("[sip]\nlisten = \"127.0.0.1:5070\"\n", "allow"),
            ("[sip]\nallow = [\"10.1.0.5/24\"]\n", "host bits"),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\nmax_calls = 0\n",
                "1..=200",
            ),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\nno_rtp = \"0s\"\n",
                "more than 0",
            ),
            ("[sip]\nallow = [\"10.0.0.0/8\"]\nport = 5\n", "port"),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\n[[sip.route]]\nnumber = \"70 01\"\nzone = \"all\"\n",
                "0-9",
            ),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\n[[sip.route]]\nnumber = \"1\"\nzone = \"nope\"\n",
                "not a zone",
            ),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\n[[sip.route]]\nnumber = \"1\"\nzone = \"all\"\n\
                 priority = \"loud\"\n",
                "priority level",
            ),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\n[[sip.route]]\nnumber = \"1\"\nzone = \"all\"\n\
                 mode = \"later\"\n",
                "\"live\" or \"delayed\"",
            ),
            (
                "[sip]\nallow = [\"10.0.0.0/8\"]\n[[sip.route]]\nnumber = \"1\"\nzone = \"all\"\n\
                 [[sip.route]]\nnumber = \"1\"\nzone = \"all\"\n",
                "routed twice",
            ),
        ] {
            let e = load(tail).unwrap_err().to_string();
            assert!(e.contains(says), "{tail}: {e}");
            assert!(e.contains("zonecast.toml:"), "{e}");
        }
    }
}
