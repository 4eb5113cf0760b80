//! RisPort70, CUCM's real-time information service, as discovery uses it:
//! `selectCmDeviceExt` by device name (it takes no `*` wildcard), at most [`MAX_BATCH`] names per
//! request, the previous `StateInfo` passed back so an unchanged cluster answers `NoChange`.
//! Per phone it reads the IPv4 address, the registration status and `Httpd` (whether the
//! phone's web server, and so XSI push, is on). Its rate limit fault is recognised by
//! [`is_rate_fault`].
//!
//! A phone may be listed by several nodes (registered on one, a stale unregistered record on
//! another): [`RisAnswer::devices`] keeps one per name, the registered one, else the newest.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::soap::{SoapError, SoapFault, Step, ends_with, envelope, walk};
use crate::xsi::xml::escape;

/// The RisPort70 path on a node.
pub const RIS_PATH: &str = "/realtimeservice2/services/RISService70";
/// The SOAPAction of `selectCmDeviceExt` (quotes included).
pub const RIS_SOAP_ACTION: &str =
    "\"http://schemas.cisco.com/ast/soap/action/#RisPort70#SelectCmDeviceExt\"";
/// The namespace of RisPort70's elements.
pub const RIS_NS: &str = "http://schemas.cisco.com/ast/soap";
/// Most names one request may select (2000 on some releases; 1000 on all).
pub const MAX_BATCH: usize = 1000;
/// The start of the fault a node sends over its rate (the typo is Cisco's).
pub const RATE_FAULT_START: &str = "Exceeded allowed rate for Reatime information";

/// The whole fault text of the rate limit, for `per_minute` requests a minute.
pub fn rate_fault_text(per_minute: u32) -> String {
    format!(
        "{RATE_FAULT_START}. Current allowed rate for realtime information is {per_minute} \
         requests per minute."
    )
}

/// Whether `fault` is RisPort70's rate limit.
pub fn is_rate_fault(fault: &SoapFault) -> bool {
    fault.message().contains(RATE_FAULT_START) || fault.string.contains(RATE_FAULT_START)
}

/// A phone's registration as RIS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegState {
    /// Registered to a node.
    Registered,
    /// Known to a node but not registered (its address may be stale).
    Unregistered,
    /// Its registration was rejected.
    Rejected,
    /// Partially registered (some lines).
    PartiallyRegistered,
    /// RIS knows nothing of it (never registered since the nodes started).
    Unknown,
}

impl RegState {
    fn parse(s: &str) -> RegState {
        match s {
            "Registered" => RegState::Registered,
            "UnRegistered" | "Unregistered" => RegState::Unregistered,
            "Rejected" => RegState::Rejected,
            "PartiallyRegistered" => RegState::PartiallyRegistered,
            _ => RegState::Unknown,
        }
    }

    /// The word used in tables and the cache.
    pub fn as_str(self) -> &'static str {
        match self {
            RegState::Registered => "registered",
            RegState::Unregistered => "unregistered",
            RegState::Rejected => "rejected",
            RegState::PartiallyRegistered => "partially registered",
            RegState::Unknown => "unknown",
        }
    }

    /// [`Self::as_str`] read back.
    pub fn from_word(s: &str) -> RegState {
        match s {
            "registered" => RegState::Registered,
            "unregistered" => RegState::Unregistered,
            "rejected" => RegState::Rejected,
            "partially registered" => RegState::PartiallyRegistered,
            _ => RegState::Unknown,
        }
    }
}

/// The `selectCmDeviceExt` operation element for `names`, passing back `state_info` (empty
/// the first time).
pub fn select_element(names: &[String], state_info: &str) -> String {
    let mut items = String::with_capacity(names.len() * 48);
    for n in names {
        items.push_str("<soap:item><soap:Item>");
        items.push_str(&escape(n));
        items.push_str("</soap:Item></soap:item>");
    }
    format!(
        "<soap:selectCmDeviceExt xmlns:soap=\"{RIS_NS}\"><soap:StateInfo>{}</soap:StateInfo>\
         <soap:CmSelectionCriteria><soap:MaxReturnedDevices>{}</soap:MaxReturnedDevices>\
         <soap:DeviceClass>Phone</soap:DeviceClass><soap:Model>255</soap:Model>\
         <soap:Status>Any</soap:Status><soap:NodeName></soap:NodeName>\
         <soap:SelectBy>Name</soap:SelectBy><soap:SelectItems>{items}</soap:SelectItems>\
         <soap:Protocol>Any</soap:Protocol><soap:DownloadStatus>Any</soap:DownloadStatus>\
         </soap:CmSelectionCriteria></soap:selectCmDeviceExt>",
        escape(state_info),
        names.len().max(1)
    )
}

/// The whole `selectCmDeviceExt` request.
pub fn select_request(names: &[String], state_info: &str) -> String {
    envelope(&select_element(names, state_info))
}

/// One phone in a RIS answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RisDevice {
    /// Device name.
    pub name: String,
    /// Its IPv4 address (for an unregistered phone, the last one it had).
    pub address: Option<Ipv4Addr>,
    /// Registration.
    pub state: RegState,
    /// Whether its web server is on (`Httpd`); `None` when not reported.
    pub web_access: Option<bool>,
    /// `TimeStamp` of the record (seconds since the epoch).
    pub timestamp: u64,
}

/// What one `selectCmDeviceExt` answer says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RisAnswer {
    /// One per name (see the module doc), in answer order.
    pub devices: Vec<RisDevice>,
    /// The `StateInfo` to pass back next time.
    pub state_info: String,
    /// Every node answered `NoChange`: nothing changed since the `StateInfo` passed.
    pub no_change: bool,
}

/// Parse a `selectCmDeviceExt` answer.
pub fn parse_select(xml: &str) -> Result<RisAnswer, SoapError> {
    let mut all: Vec<RisDevice> = Vec::new();
    let mut state_info = String::new();
    let mut counts = (0usize, 0usize);
    walk(xml, "selectCmDeviceExt", |step| {
        match step {
            Step::Open(p) if ends_with(p, &["CmDevices", "item"]) => {
                if all.len() >= 4 * MAX_BATCH {
                    return Err(format!("more than {} devices", 4 * MAX_BATCH));
                }
                all.push(RisDevice {
                    name: String::new(),
                    address: None,
                    state: RegState::Unknown,
                    web_access: None,
                    timestamp: 0,
                });
            }
            Step::Close(p, text) => device_field(p, text, &mut all, &mut state_info, &mut counts),
            _ => {}
        }
        Ok(())
    })?;
    let mut best: HashMap<String, usize> = HashMap::new();
    let mut devices: Vec<RisDevice> = Vec::new();
    for d in all.into_iter().filter(|d| !d.name.is_empty()) {
        match best.get(&d.name) {
            None => {
                best.insert(d.name.clone(), devices.len());
                devices.push(d);
            }
            Some(&i) => {
                let old = &devices[i];
                let better =
                    (d.state == RegState::Registered) != (old.state == RegState::Registered);
                if (better && d.state == RegState::Registered)
                    || (!better && d.timestamp > old.timestamp)
                {
                    devices[i] = d;
                }
            }
        }
    }
    Ok(RisAnswer {
        devices,
        state_info,
        no_change: counts.0 > 0 && counts.0 == counts.1,
    })
}

/// One closed element of a RIS answer, written into the device it belongs to.
fn device_field(
    p: &[String],
    text: &str,
    all: &mut [RisDevice],
    state_info: &mut String,
    counts: &mut (usize, usize),
) {
    let last = p.last().map(String::as_str).unwrap_or("");
    if last == "StateInfo" && p.len() >= 2 && p[p.len() - 2] == "selectCmDeviceReturn" {
        text.clone_into(state_info);
    } else if ends_with(p, &["CmNodes", "item", "NoChange"]) {
        counts.0 += 1;
        counts.1 += usize::from(text == "true");
    } else if let Some(d) = all.last_mut()
        && p.iter().any(|s| s == "CmDevices")
    {
        if ends_with(p, &["CmDevices", "item", "Name"]) {
            text.clone_into(&mut d.name);
        } else if ends_with(p, &["CmDevices", "item", "Status"]) {
            d.state = RegState::parse(text);
        } else if ends_with(p, &["CmDevices", "item", "Httpd"]) {
            d.web_access = match text {
                "Yes" => Some(true),
                "No" => Some(false),
                _ => None,
            };
        } else if ends_with(p, &["CmDevices", "item", "TimeStamp"]) {
            d.timestamp = text.parse().unwrap_or(0);
        } else if (ends_with(p, &["IPAddress", "item", "IP"])
            || ends_with(p, &["CmDevices", "item", "IpAddress"]))
            && d.address.is_none()
        {
            // RisPort70 lists addresses under IPAddress/item/IP; older answers had IpAddress.
            d.address = text.parse().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(devices: &str, no_change: bool) -> String {
        format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <soapenv:Body><ns1:selectCmDeviceResponse xmlns:ns1=\"{RIS_NS}\">\
             <ns1:selectCmDeviceReturn><ns1:SelectCmDeviceResult><ns1:TotalDevicesFound>2\
             </ns1:TotalDevicesFound><ns1:CmNodes><ns1:item><ns1:ReturnCode>Ok</ns1:ReturnCode>\
             <ns1:Name>cucm1</ns1:Name><ns1:NoChange>{no_change}</ns1:NoChange><ns1:CmDevices>\
             {devices}</ns1:CmDevices></ns1:item></ns1:CmNodes></ns1:SelectCmDeviceResult>\
             <ns1:StateInfo>&lt;StateInfo&gt;&lt;Node Name=\"cucm1\" StateId=\"7\"/&gt;\
             &lt;/StateInfo&gt;</ns1:StateInfo></ns1:selectCmDeviceReturn>\
             </ns1:selectCmDeviceResponse></soapenv:Body></soapenv:Envelope>"
        )
    }

    fn device(name: &str, ip: &str, status: &str, httpd: &str, ts: u64) -> String {
        format!(
            "<ns1:item><ns1:Name>{name}</ns1:Name><ns1:DirNumber>1001-{status}</ns1:DirNumber>\
             <ns1:Httpd>{httpd}</ns1:Httpd><ns1:Status>{status}</ns1:Status>\
             <ns1:TimeStamp>{ts}</ns1:TimeStamp><ns1:IPAddress><ns1:item><ns1:IP>{ip}</ns1:IP>\
             <ns1:IPAddrType>ipv4</ns1:IPAddrType></ns1:item></ns1:IPAddress></ns1:item>"
        )
    }

    #[test]
    fn devices_state_and_state_info_are_read() {
        let xml = answer(
            &(device("SEPA", "10.0.0.1", "UnRegistered", "Yes", 5)
                + &device("SEPA", "10.0.0.2", "Registered", "No", 3)
                + &device("SEPB", "10.0.0.3", "Registered", "Yes", 4)),
            false,
        );
        let a = parse_select(&xml).unwrap();
        assert_eq!(a.devices.len(), 2);
        assert_eq!(a.devices[0].address, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(a.devices[0].state, RegState::Registered);
        assert_eq!(a.devices[0].web_access, Some(false));
        assert_eq!(
            a.state_info,
            "<StateInfo><Node Name=\"cucm1\" StateId=\"7\"/></StateInfo>"
        );
        assert!(!a.no_change);
        assert!(parse_select(&answer("", true)).unwrap().no_change);
    }

    #[test]
    fn the_rate_fault_is_recognised() {
        let f = SoapFault {
            string: rate_fault_text(15),
            ..Default::default()
        };
        assert!(is_rate_fault(&f));
        assert!(f.string.ends_with("is 15 requests per minute."));
        assert!(!is_rate_fault(&SoapFault::default()));
    }

    #[test]
    fn names_are_escaped_in_requests() {
        let r = select_request(&["SEP<&>".into()], "<StateInfo/>");
        assert!(r.contains("<soap:Item>SEP&lt;&amp;&gt;</soap:Item>"));
        assert!(r.contains("<soap:StateInfo>&lt;StateInfo/&gt;</soap:StateInfo>"));
    }
}
