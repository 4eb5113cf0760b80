//! The emulated CUCM's rules as a pure core: a request (path, SOAPAction, credentials, cookie,
//! body, `now`) in, the HTTP answer out, as Cisco documents them: Basic auth or the session
//! cookie, else 401; `/axl/` with its slash; the SOAPAction checked against the operation and
//! version; `listPhone` with `skip`/`first`; only zonecast's fixed directory-number SQL
//! answered (it does not interpret SQL); a read over the row budget refused with Cisco's "Query
//! request too large" text; RIS batches of at most the configured names; RIS's rate with its
//! exact fault text; `StateInfo` and `NoChange`; unregistered phones with stale addresses, and
//! phones RIS does not list.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::cluster::{SimCucmConfig, SimCucmDevice};
use crate::cucm::RegState;
use crate::cucm::axl::{AXL_PATH, LINES_SQL, TooLarge, soap_action};
use crate::cucm::ris::{RIS_NS, RIS_PATH, RIS_SOAP_ACTION, rate_fault_text};
use crate::cucm::soap::{Step, envelope, walk};
use crate::xsi::xml::escape_markup as esc;

/// One request to the emulated CUCM.
#[derive(Debug, Clone, Default)]
pub struct SimCucmRequest {
    /// The request's path.
    pub path: String,
    /// Its method.
    pub method: String,
    /// `SOAPAction`, as sent.
    pub soap_action: Option<String>,
    /// Basic credentials, decoded.
    pub basic: Option<(String, String)>,
    /// `JSESSIONIDSSO` cookie, if sent.
    pub session: Option<String>,
    /// The body.
    pub body: String,
}

/// The emulated CUCM's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCucmReply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// A new `JSESSIONIDSSO` to set.
    pub set_session: Option<String>,
}

/// Counts for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimCucmCounters {
    /// AXL requests answered (any status).
    pub axl: u32,
    /// RIS requests answered (any status).
    pub ris: u32,
    /// Sessions opened (cookies issued).
    pub sessions: u32,
    /// 401s sent.
    pub unauthorized: u32,
    /// "Query request too large" refusals.
    pub too_large: u32,
    /// Rate faults.
    pub rate_faults: u32,
    /// RIS answers with `NoChange`.
    pub no_change: u32,
    /// Request body bytes received.
    pub bytes_in: u64,
    /// Answer body bytes sent.
    pub bytes_out: u64,
}

/// The emulated cluster (see the module doc).
#[derive(Debug)]
pub struct SimCucm {
    cfg: SimCucmConfig,
    devices: Vec<SimCucmDevice>,
    version: u64,
    sessions: HashSet<String>,
    ris_sent: VecDeque<Instant>,
    counters: SimCucmCounters,
    axl_log: Vec<String>,
}

/// AXL operation elements kept for tests (the first ones).
const MAX_LOGGED: usize = 1000;

impl SimCucm {
    /// A cluster of `devices` (sorted by name, as CUCM lists them) under `cfg`.
    pub fn new(cfg: SimCucmConfig, mut devices: Vec<SimCucmDevice>) -> SimCucm {
        devices.sort_by(|a, b| a.name.cmp(&b.name));
        SimCucm {
            cfg,
            devices,
            version: 1,
            sessions: HashSet::new(),
            ris_sent: VecDeque::new(),
            counters: SimCucmCounters::default(),
            axl_log: Vec::new(),
        }
    }

    /// Its counters.
    pub fn counters(&self) -> &SimCucmCounters {
        &self.counters
    }

    /// The operation elements of the AXL requests received (the first [`MAX_LOGGED`]), as
    /// sent: what a test validates against Cisco's schema.
    pub fn axl_requests(&self) -> &[String] {
        &self.axl_log
    }

    /// Its rules.
    pub fn config(&self) -> &SimCucmConfig {
        &self.cfg
    }

    /// Change phone `name` (address, registration ...); RIS's state moves on.
    pub fn update(&mut self, name: &str, f: impl FnOnce(&mut SimCucmDevice)) -> bool {
        let Some(d) = self.devices.iter_mut().find(|d| d.name == name) else {
            return false;
        };
        f(d);
        self.version += 1;
        true
    }

    /// Answer `req` at `now`.
    pub fn handle(&mut self, now: Instant, req: &SimCucmRequest) -> SimCucmReply {
        let reply = self.answer(now, req);
        self.counters.bytes_in += req.body.len() as u64;
        self.counters.bytes_out += reply.body.len() as u64;
        reply
    }

    fn answer(&mut self, now: Instant, req: &SimCucmRequest) -> SimCucmReply {
        let ris = req.path == RIS_PATH;
        if !ris && req.path != AXL_PATH {
            return plain(404, "Not Found");
        }
        if ris {
            self.counters.ris += 1;
        } else {
            self.counters.axl += 1;
        }
        if req.method != "POST" {
            return plain(405, "Method Not Allowed");
        }
        let by_cookie = req
            .session
            .as_ref()
            .is_some_and(|s| self.sessions.contains(s));
        let by_basic = req
            .basic
            .as_ref()
            .is_some_and(|(u, p)| *u == self.cfg.user && *p == self.cfg.password);
        if !(by_cookie || by_basic) {
            self.counters.unauthorized += 1;
            return plain(401, "Unauthorized");
        }
        let set_session = (!by_cookie).then(|| {
            self.counters.sessions += 1;
            let s = format!(
                "{:032X}",
                0x5eed_u128 * 7919 + u128::from(self.counters.sessions)
            );
            self.sessions.insert(s.clone());
            s
        });
        let mut reply = if ris {
            self.ris(now, req)
        } else {
            self.axl(req)
        };
        reply.set_session = set_session;
        reply
    }

    fn axl(&mut self, req: &SimCucmRequest) -> SimCucmReply {
        if self.axl_log.len() < MAX_LOGGED
            && let Some(op) = operation_element(&req.body)
        {
            self.axl_log.push(op.to_owned());
        }
        let Some((op, fields)) = read_request(&req.body) else {
            return fault("soapenv:Client", "Unable to parse the request", None);
        };
        let version = axl_version(&req.body).unwrap_or_default();
        let expect = soap_action(&version, &op);
        let sent = req.soap_action.as_deref().unwrap_or("");
        if sent.trim_matches('"') != expect.trim_matches('"') || version != self.cfg.axl_version {
            return fault(
                "soapenv:Client",
                &format!(
                    "The SOAPAction {sent:?} does not match the request {expect}, or the version is not served ({})",
                    self.cfg.axl_version
                ),
                None,
            );
        }
        let num = |k: &str| fields.get(k).and_then(|v| v.parse::<usize>().ok());
        match op.as_str() {
            "listPhone" => {
                let skip = num("skip").unwrap_or(0);
                let first = num("first").unwrap_or(usize::MAX);
                if let Some(r) = self.over_budget(self.devices.len(), first, &op) {
                    return r;
                }
                let rows: String = self
                    .devices
                    .iter()
                    .skip(skip)
                    .take(first)
                    .map(phone_row)
                    .collect();
                ok(&format!(
                    "<ns:listPhoneResponse xmlns:ns=\"http://www.cisco.com/AXL/API/{version}\"><return>{rows}</return></ns:listPhoneResponse>"
                ))
            }
            "executeSQLQuery" => self.sql(fields.get("sql").map_or("", String::as_str), &version),
            other => fault(
                "soapenv:Client",
                &format!("The emulated CUCM does not serve {other}"),
                Some((-1, other)),
            ),
        }
    }

    fn over_budget(&mut self, total: usize, first: usize, op: &str) -> Option<SimCucmReply> {
        if first.min(total) <= self.cfg.row_budget {
            return None;
        }
        self.counters.too_large += 1;
        let msg = TooLarge::message(total as u64, self.cfg.row_budget as u64 + 1);
        Some(fault("soapenv:Server", &msg, Some((-1, op))))
    }

    fn sql(&mut self, sql: &str, version: &str) -> SimCucmReply {
        let parsed = sql
            .trim()
            .strip_prefix("SELECT SKIP ")
            .and_then(|r| r.split_once(" FIRST "))
            .and_then(|(skip, r)| {
                let (first, rest) = r.split_once(' ')?;
                Some((
                    skip.parse::<usize>().ok()?,
                    first.parse::<usize>().ok()?,
                    rest,
                ))
            });
        let Some((skip, first, LINES_SQL)) = parsed else {
            return fault(
                "soapenv:Server",
                "The emulated CUCM answers only zonecast's directory-number query",
                Some((-1, "executeSQLQuery")),
            );
        };
        let total: usize = self.devices.iter().map(|d| d.lines.len()).sum();
        if let Some(r) = self.over_budget(total, first, "executeSQLQuery") {
            return r;
        }
        let lines: Vec<(&str, usize, &str)> = self
            .devices
            .iter()
            .flat_map(|d| {
                d.lines
                    .iter()
                    .enumerate()
                    .map(move |(i, dn)| (d.name.as_str(), i + 1, dn.as_str()))
            })
            .collect();
        let rows: String = lines
            .iter()
            .skip(skip)
            .take(first)
            .map(|(d, i, dn)| {
                format!(
                    "<row><device>{}</device><dn>{}</dn><line>{i}</line></row>",
                    esc(d),
                    esc(dn)
                )
            })
            .collect();
        ok(&format!(
            "<ns:executeSQLQueryResponse xmlns:ns=\"http://www.cisco.com/AXL/API/{version}\"><return>{rows}</return></ns:executeSQLQueryResponse>"
        ))
    }

    fn ris(&mut self, now: Instant, req: &SimCucmRequest) -> SimCucmReply {
        if req.soap_action.as_deref().map(|s| s.trim_matches('"'))
            != Some(RIS_SOAP_ACTION.trim_matches('"'))
        {
            return fault("soapenv:Client", "No such operation (SOAPAction)", None);
        }
        let window = self.cfg.ris_window;
        while self
            .ris_sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            self.ris_sent.pop_front();
        }
        let forced = self.cfg.ris_fault_at == Some(self.counters.ris);
        if forced || self.ris_sent.len() >= self.cfg.ris_per_window as usize {
            self.counters.rate_faults += 1;
            return fault(
                "soapenv:Server",
                &rate_fault_text(self.cfg.ris_per_window),
                None,
            );
        }
        self.ris_sent.push_back(now);
        let Some(sel) = read_select(&req.body) else {
            return fault("soapenv:Client", "Unable to parse the request", None);
        };
        if sel.names.len() > self.cfg.ris_max_batch {
            return fault(
                "soapenv:Server",
                &format!(
                    "SelectItems exceeds the maximum of {} items",
                    self.cfg.ris_max_batch
                ),
                None,
            );
        }
        let state = format!(
            "<StateInfo><Node Name=\"cucm-sim\" StateId=\"{}\"/></StateInfo>",
            self.version
        );
        let no_change = sel.state_info == state;
        let mut items = String::new();
        if no_change {
            self.counters.no_change += 1;
        } else {
            let wanted: HashSet<&str> = sel.names.iter().map(String::as_str).collect();
            for d in self
                .devices
                .iter()
                .filter(|d| wanted.contains(d.name.as_str()) && d.state != RegState::Unknown)
            {
                items.push_str(&ris_item(d));
            }
        }
        ok(&format!(
            "<ns1:selectCmDeviceResponse xmlns:ns1=\"{RIS_NS}\"><ns1:selectCmDeviceReturn><ns1:SelectCmDeviceResult>\
             <ns1:TotalDevicesFound>{}</ns1:TotalDevicesFound><ns1:CmNodes><ns1:item><ns1:ReturnCode>Ok</ns1:ReturnCode>\
             <ns1:Name>cucm-sim</ns1:Name><ns1:NoChange>{no_change}</ns1:NoChange><ns1:CmDevices>{items}</ns1:CmDevices>\
             </ns1:item></ns1:CmNodes></ns1:SelectCmDeviceResult><ns1:StateInfo>{}</ns1:StateInfo>\
             </ns1:selectCmDeviceReturn></ns1:selectCmDeviceResponse>",
            sel.names.len(),
            esc(&state)
        ))
    }
}

fn phone_row(d: &SimCucmDevice) -> String {
    format!(
        "<phone uuid=\"{{{:08X}-0000-0000-0000-000000000000}}\"><name>{}</name><description>{}</description>\
         <product>{}</product><model>{}</model><devicePoolName>{}</devicePoolName>\
         <locationName>{}</locationName><ownerUserName>{}</ownerUserName></phone>",
        d.name.len(),
        esc(&d.name),
        esc(&d.description),
        esc(&d.product),
        esc(&d.product),
        esc(&d.device_pool),
        esc(&d.location),
        esc(&d.owner)
    )
}

fn ris_item(d: &SimCucmDevice) -> String {
    let status = match d.state {
        RegState::Registered => "Registered",
        RegState::Rejected => "Rejected",
        RegState::PartiallyRegistered => "PartiallyRegistered",
        _ => "UnRegistered",
    };
    format!(
        "<ns1:item><ns1:Name>{}</ns1:Name><ns1:DirNumber>{}-{status}</ns1:DirNumber><ns1:DeviceClass>Phone</ns1:DeviceClass>\
         <ns1:Httpd>{}</ns1:Httpd><ns1:Status>{status}</ns1:Status><ns1:StatusReason>0</ns1:StatusReason>\
         <ns1:Description>{}</ns1:Description><ns1:TimeStamp>1700000000</ns1:TimeStamp>\
         <ns1:IPAddress><ns1:item><ns1:IP>{}</ns1:IP><ns1:IPAddrType>ipv4</ns1:IPAddrType>\
         <ns1:Attribute>Unknown</ns1:Attribute></ns1:item></ns1:IPAddress></ns1:item>",
        esc(&d.name),
        esc(d.lines.first().map_or("", String::as_str)),
        if d.web_access { "Yes" } else { "No" },
        esc(&d.description),
        d.address
    )
}

/// The operation element's local name and its leaf fields (local name → text).
fn read_request(body: &str) -> Option<(String, HashMap<String, String>)> {
    let mut op = None;
    let mut fields = HashMap::new();
    walk(body, "request", |step| {
        match step {
            Step::Open(p) if p.len() == 3 && p[1] == "Body" => op = Some(p[2].clone()),
            Step::Close(p, text) if p.len() >= 4 => {
                fields.insert(p[p.len() - 1].clone(), text.to_owned());
            }
            _ => {}
        }
        Ok(())
    })
    .ok()?;
    Some((op?, fields))
}

/// The text of the request's operation element: what lies between the envelope's `Body` tags.
fn operation_element(body: &str) -> Option<&str> {
    let open = body.find(":Body>").or_else(|| body.find("<Body>"))?;
    let start = open + body[open..].find('>')? + 1;
    let end = body.rfind("</")?;
    let end = body[..end].rfind("</").filter(|&e| e >= start)?;
    let inner = &body[start..end];
    // The envelope's close: </soapenv:Body></soapenv:Envelope>; `end` is </soapenv:Body>.
    Some(inner.trim())
}

/// The AXL version of the request's namespace.
fn axl_version(body: &str) -> Option<String> {
    const NS: &str = "http://www.cisco.com/AXL/API/";
    let rest = &body[body.find(NS)? + NS.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

struct Select {
    names: Vec<String>,
    state_info: String,
}

fn read_select(body: &str) -> Option<Select> {
    let mut s = Select {
        names: Vec::new(),
        state_info: String::new(),
    };
    let mut op_ok = false;
    walk(body, "selectCmDeviceExt", |step| {
        match step {
            Step::Open(p) if p.len() == 3 => op_ok = p[2] == "selectCmDeviceExt",
            Step::Close(p, text) if p.last().is_some_and(|n| n == "Item") => {
                s.names.push(text.to_owned())
            }
            Step::Close(p, text) if p.len() == 4 && p[3] == "StateInfo" => {
                text.clone_into(&mut s.state_info)
            }
            _ => {}
        }
        Ok(())
    })
    .ok()?;
    op_ok.then_some(s)
}

fn ok(body: &str) -> SimCucmReply {
    SimCucmReply {
        status: 200,
        body: envelope(body),
        set_session: None,
    }
}

fn plain(status: u16, body: &str) -> SimCucmReply {
    SimCucmReply {
        status,
        body: body.to_owned(),
        set_session: None,
    }
}

/// A SOAP fault (HTTP 500), with AXL's `axlError` detail when `axl` is given.
fn fault(code: &str, msg: &str, axl: Option<(i64, &str)>) -> SimCucmReply {
    let detail = axl.map_or(String::new(), |(c, req)| {
        format!("<detail><axlError><axlcode>{c}</axlcode><axlmessage>{}</axlmessage><request>{}</request></axlError></detail>", esc(msg), esc(req))
    });
    SimCucmReply {
        status: 500,
        body: envelope(&format!(
            "<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring>{detail}</soapenv:Fault>",
            esc(msg)
        )),
        set_session: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cucm::axl::{list_phone_request, parse_list_phone};
    use crate::cucm::ris::select_request;
    use crate::phone_sim::cucm::cluster::fleet;

    fn sim(cfg: SimCucmConfig) -> SimCucm {
        SimCucm::new(cfg, fleet(30))
    }

    fn axl(body: String, action: &str) -> SimCucmRequest {
        SimCucmRequest {
            path: "/axl/".into(),
            method: "POST".into(),
            soap_action: Some(action.into()),
            basic: Some(("axl".into(), "axl-secret".into())),
            session: None,
            body,
        }
    }

    #[test]
    fn credentials_path_and_soap_action_are_checked() {
        let mut s = sim(SimCucmConfig::default());
        let now = Instant::now();
        let ok = axl(
            list_phone_request("14.0", 0, 5),
            "\"CUCM:DB ver=14.0 listPhone\"",
        );
        let r = s.handle(now, &ok);
        assert_eq!(r.status, 200);
        assert_eq!(parse_list_phone(&r.body).unwrap().len(), 5);
        let session = r.set_session.unwrap();
        // The cookie alone is enough, and opens no new session.
        let by_cookie = SimCucmRequest {
            basic: None,
            session: Some(session),
            ..ok.clone()
        };
        let r = s.handle(now, &by_cookie);
        assert_eq!((r.status, r.set_session), (200, None));
        let wrong = SimCucmRequest {
            basic: Some(("axl".into(), "nope".into())),
            ..ok.clone()
        };
        assert_eq!(s.handle(now, &wrong).status, 401);
        let no_slash = SimCucmRequest {
            path: "/axl".into(),
            ..ok.clone()
        };
        assert_eq!(s.handle(now, &no_slash).status, 404);
        let get = SimCucmRequest {
            method: "GET".into(),
            ..ok.clone()
        };
        assert_eq!(s.handle(now, &get).status, 405);
        let action = axl(
            list_phone_request("14.0", 0, 5),
            "\"CUCM:DB ver=14.0 getPhone\"",
        );
        let r = s.handle(now, &action);
        assert_eq!(r.status, 500);
        assert!(r.body.contains("does not match"), "{}", r.body);
        let version = axl(
            list_phone_request("12.5", 0, 5),
            "\"CUCM:DB ver=12.5 listPhone\"",
        );
        assert_eq!(s.handle(now, &version).status, 500);
        // Each request with Basic auth and no cookie opens a session.
        assert_eq!(s.counters().sessions, 3);
        assert_eq!(s.axl_requests().len(), 4);
        assert!(s.axl_requests()[0].starts_with("<ns:listPhone "));
    }

    #[test]
    fn the_row_budget_and_the_rate_are_refused_with_ciscos_text() {
        let mut s = sim(SimCucmConfig {
            row_budget: 10,
            ris_per_window: 2,
            ris_window: Duration::from_secs(60),
            ..SimCucmConfig::default()
        });
        let now = Instant::now();
        let r = s.handle(
            now,
            &axl(
                list_phone_request("14.0", 0, 11),
                "CUCM:DB ver=14.0 listPhone",
            ),
        );
        assert_eq!(r.status, 500);
        assert!(r.body.contains(
            "Query request too large. Total rows matched: 30 rows. Suggestive Row Fetch: less \
             than 11 rows"
        ));
        let ris = SimCucmRequest {
            path: RIS_PATH.into(),
            soap_action: Some(RIS_SOAP_ACTION.into()),
            body: select_request(&[crate::phone_sim::cucm::fleet_name(1)], ""),
            ..axl(String::new(), "")
        };
        assert_eq!(s.handle(now, &ris).status, 200);
        assert_eq!(s.handle(now, &ris).status, 200);
        let r = s.handle(now, &ris);
        assert_eq!(r.status, 500);
        assert!(r.body.contains(
            "Exceeded allowed rate for Reatime information. Current allowed rate for realtime \
             information is 2 requests per minute."
        ));
        assert_eq!(s.handle(now + Duration::from_secs(60), &ris).status, 200);
        let too_many = SimCucmRequest {
            body: select_request(&vec!["SEP000000000000".to_owned(); 1001], ""),
            ..ris.clone()
        };
        let r = s.handle(now + Duration::from_secs(60), &too_many);
        assert!(r.body.contains("maximum of 1000"), "{}", r.body);
    }

    #[test]
    fn only_the_fixed_sql_is_answered() {
        let mut s = sim(SimCucmConfig::default());
        let body = envelope(
            "<ns:executeSQLQuery xmlns:ns=\"http://www.cisco.com/AXL/API/14.0\"><sql>select * \
             from device</sql></ns:executeSQLQuery>",
        );
        let r = s.handle(
            Instant::now(),
            &axl(body, "CUCM:DB ver=14.0 executeSQLQuery"),
        );
        assert_eq!(r.status, 500);
        assert!(r.body.contains("answers only zonecast"), "{}", r.body);
    }
}
