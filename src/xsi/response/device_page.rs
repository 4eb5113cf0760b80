//! The phone's XML status pages (`/DeviceInformationX`, `/NetworkConfigurationX`,
//! `/EthernetInformationX`, `/PortInformationX?n`, `/StreamingStatisticsX?n`, `/DeviceLogX?n`).
//!
//! Their fields differ by model and firmware, so a page is read generically into ordered
//! name/value pairs ([`DevicePage::get`]); the few fields zonecast acts on have typed accessors
//! on top. Values are kept as sent (trimmed): localised strings such as `OUI` for
//! MessageWaiting are the phone's business, not ours to translate.

use super::error::ParseError;
use super::xml::{self, Element};

/// Which page a document is, from its root element (`DeviceInformation` ...; a trailing `X` is
/// accepted too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePageKind {
    /// `/DeviceInformationX`.
    DeviceInformation,
    /// `/NetworkConfigurationX`.
    NetworkConfiguration,
    /// `/EthernetInformationX`.
    EthernetInformation,
    /// `/PortInformationX?n`.
    PortInformation,
    /// `/StreamingStatisticsX?n`.
    StreamingStatistics,
    /// `/DeviceLogX?n`.
    DeviceLog,
    /// Another page (firmware adds some); see [`DevicePage::root`].
    Other,
}

impl DevicePageKind {
    fn from_root(root: &str) -> Self {
        let name = root.strip_suffix('X').unwrap_or(root);
        match name.to_ascii_lowercase().as_str() {
            "deviceinformation" => DevicePageKind::DeviceInformation,
            "networkconfiguration" => DevicePageKind::NetworkConfiguration,
            "ethernetinformation" => DevicePageKind::EthernetInformation,
            "portinformation" => DevicePageKind::PortInformation,
            "streamingstatistics" => DevicePageKind::StreamingStatistics,
            "devicelog" => DevicePageKind::DeviceLog,
            _ => DevicePageKind::Other,
        }
    }
}

/// One device page: the root's name and every leaf element as `(name, trimmed text)`, in
/// document order. Nested leaves are flattened under their own names; repeated names (log
/// lines) are all kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePage {
    /// The root element as sent, e.g. `DeviceInformation`.
    pub root: String,
    /// Leaf fields in document order; empty elements have an empty value.
    pub fields: Vec<(String, String)>,
}

impl DevicePage {
    /// Which page this is.
    pub fn kind(&self) -> DevicePageKind {
        DevicePageKind::from_root(&self.root)
    }

    /// The first field with this name; exact first, then ignoring ASCII case, because models
    /// disagree on e.g. `phoneDN` / `PhoneDN`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| {
                self.fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated field, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A field that is present and not empty.
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A numeric field: its leading digits, so `12 ms` reads as 12; `None` when absent or not a
    /// number.
    pub fn number(&self, name: &str) -> Option<u64> {
        let v = self.get(name)?;
        let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
        v[..end].parse().ok()
    }

    /// DeviceInformation `MACAddress`, e.g. `0003E369A125`.
    pub fn mac_address(&self) -> Option<&str> {
        self.non_empty("MACAddress")
    }

    /// DeviceInformation `HostName`, e.g. `SEP0003E369A125`.
    pub fn host_name(&self) -> Option<&str> {
        self.non_empty("HostName")
    }

    /// DeviceInformation `phoneDN` (the primary line's number).
    pub fn phone_dn(&self) -> Option<&str> {
        self.non_empty("phoneDN")
    }

    /// DeviceInformation `appLoadID` (firmware image).
    pub fn app_load_id(&self) -> Option<&str> {
        self.non_empty("appLoadID")
    }

    /// DeviceInformation `modelNumber`, e.g. `CP-7940`.
    pub fn model_number(&self) -> Option<&str> {
        self.non_empty("modelNumber")
    }

    /// DeviceInformation `serialNumber`.
    pub fn serial_number(&self) -> Option<&str> {
        self.non_empty("serialNumber")
    }

    /// DeviceInformation `versionID` (firmware version).
    pub fn version_id(&self) -> Option<&str> {
        self.non_empty("versionID")
    }

    /// DeviceInformation `bootLoadID`.
    pub fn boot_load_id(&self) -> Option<&str> {
        self.non_empty("bootLoadID")
    }

    /// DeviceInformation `hardwareRevision`.
    pub fn hardware_revision(&self) -> Option<&str> {
        self.non_empty("hardwareRevision")
    }

    /// DeviceInformation `MessageWaiting`, as sent (often localised: `Yes`, `NO`, `OUI` ...).
    pub fn message_waiting(&self) -> Option<&str> {
        self.non_empty("MessageWaiting")
    }

    /// The StreamingStatistics fields zonecast checks a page against, typed.
    pub fn streaming_stats(&self) -> StreamingStats {
        let text = |name| self.non_empty(name).map(str::to_owned);
        let small = |name| self.number(name).and_then(|n| u32::try_from(n).ok());
        StreamingStats {
            remote_addr: text("RemoteAddr"),
            local_addr: text("LocalAddr"),
            start_time: text("StartTime"),
            stream_status: text("StreamStatus"),
            name: text("Name"),
            sender_packets: self.number("SenderPackets"),
            sender_octets: self.number("SenderOctets"),
            sender_codec: text("SenderCodec"),
            rcvr_packets: self.number("RcvrPackets"),
            rcvr_octets: self.number("RcvrOctets"),
            rcvr_lost_packets: self.number("RcvrLostPackets"),
            avg_jitter: small("AvgJitter"),
            max_jitter: small("MaxJitter"),
            rcvr_codec: text("RcvrCodec"),
        }
    }
}

/// `/StreamingStatisticsX?n`, typed. Every field is optional because models omit some.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamingStats {
    /// Far end, `address/port` as the phone writes it.
    pub remote_addr: Option<String>,
    /// Near end, `address/port`.
    pub local_addr: Option<String>,
    /// When the stream started, in the phone's own format.
    pub start_time: Option<String>,
    /// `Active`, `Not Active` ... as sent.
    pub stream_status: Option<String>,
    /// The phone's host name.
    pub name: Option<String>,
    /// RTP packets sent.
    pub sender_packets: Option<u64>,
    /// RTP payload octets sent.
    pub sender_octets: Option<u64>,
    /// Codec sent, e.g. `G.711u`.
    pub sender_codec: Option<String>,
    /// RTP packets received.
    pub rcvr_packets: Option<u64>,
    /// RTP payload octets received.
    pub rcvr_octets: Option<u64>,
    /// Packets lost in reception.
    pub rcvr_lost_packets: Option<u64>,
    /// Average jitter (ms).
    pub avg_jitter: Option<u32>,
    /// Maximum jitter (ms).
    pub max_jitter: Option<u32>,
    /// Codec received.
    pub rcvr_codec: Option<String>,
}

/// Parse one device page.
pub fn parse_device_page(body: &[u8]) -> Result<DevicePage, ParseError> {
    let root = xml::parse_bytes(body)?;
    // Execute replies are not pages; reading one as a page would hide an error.
    if root.name.starts_with("CiscoIPPhone") {
        return Err(ParseError::UnexpectedRoot {
            expected: "a device page (DeviceInformation, StreamingStatistics ...)",
            found: root.name.clone(),
        });
    }
    let mut fields = Vec::new();
    flatten(&root, &mut fields);
    Ok(DevicePage {
        root: root.name.clone(),
        fields,
    })
}

fn flatten(el: &Element, out: &mut Vec<(String, String)>) {
    for child in &el.children {
        if child.children.is_empty() {
            out.push((child.name.clone(), child.trimmed_text().to_owned()));
        } else {
            flatten(child, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_information_latin1_and_localised() {
        let doc = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\r\n<DeviceInformation>\r\n\
            <MACAddress>0003E369A125</MACAddress>\r\n<HostName>SEP0003E369A125</HostName>\r\n\
            <phoneDN>5920</phoneDN><appLoadID>P00308010200</appLoadID>\r\n\
            <versionID>8.1(2.0)</versionID><addonModule1></addonModule1><addonModule2/>\r\n\
            <serialNumber>INMXXXXXXX</serialNumber><modelNumber>CP-7940</modelNumber>\r\n\
            <MessageWaiting> OUI</MessageWaiting><timezone>Europe/Z\xFCrich</timezone>\r\n\
            </DeviceInformation>";
        let page = parse_device_page(doc).unwrap();
        assert_eq!(page.kind(), DevicePageKind::DeviceInformation);
        assert_eq!(page.mac_address(), Some("0003E369A125"));
        assert_eq!(page.host_name(), Some("SEP0003E369A125"));
        assert_eq!(page.phone_dn(), Some("5920"));
        assert_eq!(page.app_load_id(), Some("P00308010200"));
        assert_eq!(page.version_id(), Some("8.1(2.0)"));
        assert_eq!(page.serial_number(), Some("INMXXXXXXX"));
        assert_eq!(page.model_number(), Some("CP-7940"));
        assert_eq!(page.message_waiting(), Some("OUI"));
        assert_eq!(page.get("timezone"), Some("Europe/Zürich"));
        assert_eq!(page.get("addonModule1"), Some(""));
        assert_eq!(page.get("addonModule2"), Some(""));
        assert_eq!(page.get("PHONEDN"), Some("5920"));
        assert_eq!(page.boot_load_id(), None);
    }

    #[test]
    fn streaming_statistics() {
        let doc = "<StreamingStatistics>\n  <RemoteAddr>10.1.1.5/20480</RemoteAddr>\n\
            <LocalAddr>10.1.1.9/20480</LocalAddr><StartTime>10:02:11</StartTime>\
            <StreamStatus>Active</StreamStatus><Name>SEP001122334455</Name>\
            <SenderPackets>0</SenderPackets><SenderOctets>0</SenderOctets>\
            <SenderCodec></SenderCodec><RcvrPackets>1500</RcvrPackets>\
            <RcvrOctets>240000</RcvrOctets><RcvrLostPackets>3</RcvrLostPackets>\
            <AvgJitter>2</AvgJitter><MaxJitter>14 ms</MaxJitter><RcvrCodec>G.711u</RcvrCodec>\
            </StreamingStatistics>";
        let page = parse_device_page(doc.as_bytes()).unwrap();
        assert_eq!(page.kind(), DevicePageKind::StreamingStatistics);
        let s = page.streaming_stats();
        assert_eq!(s.remote_addr.as_deref(), Some("10.1.1.5/20480"));
        assert_eq!(s.local_addr.as_deref(), Some("10.1.1.9/20480"));
        assert_eq!(s.start_time.as_deref(), Some("10:02:11"));
        assert_eq!(s.stream_status.as_deref(), Some("Active"));
        assert_eq!(s.name.as_deref(), Some("SEP001122334455"));
        assert_eq!((s.sender_packets, s.sender_octets), (Some(0), Some(0)));
        assert_eq!(s.sender_codec, None);
        assert_eq!(s.rcvr_packets, Some(1500));
        assert_eq!(s.rcvr_octets, Some(240000));
        assert_eq!(s.rcvr_lost_packets, Some(3));
        assert_eq!((s.avg_jitter, s.max_jitter), (Some(2), Some(14)));
        assert_eq!(s.rcvr_codec.as_deref(), Some("G.711u"));
    }

    #[test]
    fn other_pages_and_repeated_fields() {
        for (root, kind) in [
            ("NetworkConfiguration", DevicePageKind::NetworkConfiguration),
            ("EthernetInformationX", DevicePageKind::EthernetInformation),
            ("PortInformation", DevicePageKind::PortInformation),
            ("DeviceLog", DevicePageKind::DeviceLog),
            ("Whatever", DevicePageKind::Other),
        ] {
            let doc = format!("<{root}><a><line>one</line><line>two</line></a></{root}>");
            let page = parse_device_page(doc.as_bytes()).unwrap();
            assert_eq!(page.kind(), kind);
            assert_eq!(page.get_all("line").collect::<Vec<_>>(), ["one", "two"]);
            assert_eq!(page.get("line"), Some("one"));
        }
    }

    #[test]
    fn numbers_are_tolerant() {
        let page = parse_device_page(
            b"<StreamingStatistics><RcvrPackets>-</RcvrPackets>\
            <AvgJitter>99999999999</AvgJitter></StreamingStatistics>",
        )
        .unwrap();
        let s = page.streaming_stats();
        assert_eq!(s.rcvr_packets, None);
        assert_eq!(s.avg_jitter, None);
        assert_eq!(s.remote_addr, None);
    }

    #[test]
    fn refuses_execute_replies() {
        assert!(matches!(
            parse_device_page(b"<CiscoIPPhoneError Number=\"4\"/>"),
            Err(ParseError::UnexpectedRoot { .. })
        ));
    }
}
