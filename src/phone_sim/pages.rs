//! The phone's device pages: `DeviceInformationX`, `NetworkConfigurationX`,
//! `EthernetInformationX`, `PortInformationX`, `DeviceLogX`, `StreamingStatisticsX`, and the HTML
//! variant of each (`DeviceInformation`, `EthernetInformation`, `PortInformation?n`,
//! `DeviceLog?n` ...), as the spec's admin endpoints list them. Pure renderers from plain values.
//!
//! The XML pages are written the way real phones write them (see
//! `shared/reference/DeviceInformationX-samples.xml`): an `iso-8859-1` declaration, a root element
//! named after the page without the `X`, one child element per field, three-space indentation and
//! CRLF line ends. Values are escaped; anything outside ASCII is written as a numeric character
//! reference, so the bytes are valid whatever charset the declaration or the HTTP header claims.
//!
//! The HTML variants are a plain table of `<B>label</B>` / `<B>value</B>` cells under the page's
//! title, as the older phones serve them.

use std::time::{SystemTime, UNIX_EPOCH};

// Text is escaped for XML and HTML alike, as printable ASCII (`Escape::Ascii`).
use crate::xsi::xml::escape_ascii as escape;

/// Identity of a phone, as DeviceInformationX shows it.
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    /// 12 hex digits, upper case.
    pub mac: String,
    /// `SEP` + MAC.
    pub host_name: String,
    /// Directory number.
    pub phone_dn: String,
    /// Firmware load.
    pub app_load_id: String,
    /// Boot load.
    pub boot_load_id: String,
    /// Firmware version.
    pub version_id: String,
    /// Hardware revision.
    pub hardware_revision: String,
    /// Serial number.
    pub serial_number: String,
    /// Model (`CP-8851`).
    pub model_number: String,
    /// `Yes` / `No`.
    pub message_waiting: String,
}

/// Network settings, as NetworkConfigurationX shows them.
#[derive(Debug, Clone, Default)]
pub struct NetworkInfo {
    /// Phone address.
    pub ip: String,
    /// Subnet mask.
    pub subnet_mask: String,
    /// Default router.
    pub router: String,
    /// TFTP server.
    pub tftp: String,
    /// MAC address.
    pub mac: String,
    /// Host name.
    pub host_name: String,
    /// Domain.
    pub domain: String,
}

/// One stream's numbers, as StreamingStatisticsX shows them.
#[derive(Debug, Clone, Default)]
pub struct StreamInfo {
    /// `address/port` of the far end (empty when not known).
    pub remote_addr: String,
    /// `address/port` of the phone's end.
    pub local_addr: String,
    /// When it started, phone format (`10:14:09a`).
    pub start_time: String,
    /// `Active` or `Not Active`.
    pub status: String,
    /// The phone's host name.
    pub name: String,
    /// Packets sent.
    pub sender_packets: u64,
    /// Octets sent.
    pub sender_octets: u64,
    /// Codec sent (`G.711u`), empty when not sending.
    pub sender_codec: String,
    /// Packets received.
    pub rcvr_packets: u64,
    /// Octets received.
    pub rcvr_octets: u64,
    /// Packets lost.
    pub rcvr_lost_packets: u64,
    /// Average jitter, ms.
    pub avg_jitter: u32,
    /// Maximum jitter, ms.
    pub max_jitter: u32,
    /// Codec received (`G.711u`), empty when not receiving.
    pub rcvr_codec: String,
}

/// The XML declaration real phones send (CP-7940, CP-7905G samples).
pub const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>";

/// The time zone the emulated phones report: their clock is UTC. (Phones name zones the way
/// CUCM's date/time groups do, e.g. `W. Europe Standard/Daylight Time`.)
pub const TIMEZONE: &str = "Greenwich Standard Time";

const CRLF: &str = "\r\n";
const INDENT: &str = "   ";

/// One field of a page: its XML element name, its HTML label and its value.
struct Field {
    tag: &'static str,
    label: &'static str,
    value: String,
}

fn field(tag: &'static str, label: &'static str, value: impl ToString) -> Field {
    Field {
        tag,
        label,
        value: value.to_string(),
    }
}

/// An XML page: declaration, root, one child per field, CRLF line ends.
fn xml_page(root: &str, fields: &[Field]) -> String {
    let mut out = String::with_capacity(64 + fields.len() * 48);
    out.push_str(XML_DECLARATION);
    out.push_str(CRLF);
    out.push('<');
    out.push_str(root);
    out.push('>');
    out.push_str(CRLF);
    for f in fields {
        out.push_str(INDENT);
        out.push('<');
        out.push_str(f.tag);
        out.push('>');
        out.push_str(&escape(&f.value));
        out.push_str("</");
        out.push_str(f.tag);
        out.push('>');
        out.push_str(CRLF);
    }
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out.push_str(CRLF);
    out
}

/// An HTML page: the title, then a table of label / value rows.
fn html_page(title: &str, heading: &str, fields: &[Field]) -> String {
    let title = escape(title);
    let mut out = String::with_capacity(256 + fields.len() * 80);
    out.push_str("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">");
    out.push_str(CRLF);
    out.push_str(
        "<HTML><HEAD><META http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">",
    );
    out.push_str(CRLF);
    out.push_str(&format!("<TITLE>{title}</TITLE></HEAD>{CRLF}"));
    out.push_str(&format!("<BODY>{CRLF}<H1>{title}</H1>{CRLF}"));
    if !heading.is_empty() {
        out.push_str(&format!("<P><B>{}</B></P>{CRLF}", escape(heading)));
    }
    out.push_str(&format!("<TABLE BORDER=\"0\" CELLPADDING=\"2\">{CRLF}"));
    for f in fields {
        out.push_str(&format!(
            "<TR><TD><B>{}</B></TD><TD WIDTH=\"20\"></TD><TD><B>{}</B></TD></TR>{CRLF}",
            escape(f.label),
            escape(&f.value)
        ));
    }
    out.push_str(&format!("</TABLE>{CRLF}</BODY></HTML>{CRLF}"));
    out
}

/// Seconds since the Unix epoch now (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Howard Hinnant's algorithm, for non-negative day counts.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The phone's `time` (`HH:MM`) and `date` (`DD.MM.YY`), as the CP-6941 writes them.
fn phone_time_and_date(unix_secs: u64) -> (String, String) {
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    (
        format!("{:02}:{:02}", secs_of_day / 3600, secs_of_day % 3600 / 60),
        format!("{day:02}.{month:02}.{:02}", year % 100),
    )
}

/// The UDI as phones write it: `phone Cisco Unified IP Phone CP-6941, Global CP-6941 <serial>`.
fn udi(info: &DeviceInfo) -> String {
    format!(
        "phone Cisco Unified IP Phone {model}, Global {model} {serial}",
        model = info.model_number,
        serial = info.serial_number
    )
}

fn device_fields(info: &DeviceInfo, unix_secs: u64) -> Vec<Field> {
    let (time, date) = phone_time_and_date(unix_secs);
    vec![
        field("MACAddress", "MAC Address", &info.mac),
        field("HostName", "Host Name", &info.host_name),
        field("phoneDN", "Phone DN", &info.phone_dn),
        field("appLoadID", "App Load ID", &info.app_load_id),
        field("bootLoadID", "Boot Load ID", &info.boot_load_id),
        field("versionID", "Version", &info.version_id),
        field("addonModule1", "Expansion Module 1", ""),
        field("addonModule2", "Expansion Module 2", ""),
        field(
            "hardwareRevision",
            "Hardware Revision",
            &info.hardware_revision,
        ),
        field("serialNumber", "Serial Number", &info.serial_number),
        field("modelNumber", "Model Number", &info.model_number),
        field("MessageWaiting", "Message Waiting", &info.message_waiting),
        field("udi", "UDI", udi(info)),
        field("time", "Time", time),
        field("timezone", "Time Zone", TIMEZONE),
        field("date", "Date", date),
    ]
}

/// `DeviceInformationX`.
///
/// The fields are those of a real CP-6941 reply and in its order (which is the CP-7940's order
/// for the fields both have): MACAddress, HostName, phoneDN, appLoadID, bootLoadID, versionID,
/// addonModule1, addonModule2, hardwareRevision, serialNumber, modelNumber, MessageWaiting, udi,
/// time, timezone, date. `udi` is derived from the model and serial; `time` / `date` are the
/// current UTC time (see [`device_information_x_at`] for a fixed one).
pub fn device_information_x(info: &DeviceInfo) -> String {
    device_information_x_at(info, unix_now())
}

/// [`device_information_x`] with the phone's clock at `unix_secs` (seconds since 1970, UTC).
pub fn device_information_x_at(info: &DeviceInfo, unix_secs: u64) -> String {
    xml_page("DeviceInformation", &device_fields(info, unix_secs))
}

/// `DeviceInformation` (HTML).
pub fn device_information_html(info: &DeviceInfo) -> String {
    device_information_html_at(info, unix_now())
}

/// [`device_information_html`] with the phone's clock at `unix_secs` (seconds since 1970, UTC).
pub fn device_information_html_at(info: &DeviceInfo, unix_secs: u64) -> String {
    html_page(
        "Device Information",
        &info.host_name,
        &device_fields(info, unix_secs),
    )
}

fn network_fields(net: &NetworkInfo) -> Vec<Field> {
    // The emulated phones have fixed addresses: no DHCP, no VLAN, no CallManager registration.
    vec![
        field("DHCPServer", "DHCP Server", ""),
        field("BOOTPServer", "BOOTP Server", "No"),
        field("MACAddress", "MAC Address", &net.mac),
        field("HostName", "Host Name", &net.host_name),
        field("DomainName", "Domain Name", &net.domain),
        field("IPAddress", "IP Address", &net.ip),
        field("SubNetMask", "Subnet Mask", &net.subnet_mask),
        field("TFTPServer1", "TFTP Server 1", &net.tftp),
        field("DefaultRouter1", "Default Router 1", &net.router),
        field("DNSServer1", "DNS Server 1", ""),
        field("OperationalVLANId", "Operational VLAN Id", ""),
        field("AdminVLANId", "Admin. VLAN Id", ""),
        field("CallManager1", "CallManager 1", ""),
        field("InformationURL", "Information URL", ""),
        field("DirectoriesURL", "Directories URL", ""),
        field("MessagesURL", "Messages URL", ""),
        field("ServicesURL", "Services URL", ""),
        field("DHCP", "DHCP Enabled", "No"),
    ]
}

/// `NetworkConfigurationX`: DHCPServer, BOOTPServer, MACAddress, HostName, DomainName,
/// IPAddress, SubNetMask, TFTPServer1, DefaultRouter1, DNSServer1, OperationalVLANId,
/// AdminVLANId, CallManager1, InformationURL, DirectoriesURL, MessagesURL, ServicesURL, DHCP.
/// Settings the emulator does not have are empty; `DHCP` and `BOOTPServer` are `No`.
pub fn network_configuration_x(net: &NetworkInfo) -> String {
    xml_page("NetworkConfiguration", &network_fields(net))
}

/// `NetworkConfiguration` (HTML).
pub fn network_configuration_html(net: &NetworkInfo) -> String {
    html_page(
        "Network Configuration",
        &net.host_name,
        &network_fields(net),
    )
}

/// The element names of a real CP-7940 `EthernetInformationX`, in its order.
const ETHERNET_COUNTERS: [&str; 16] = [
    "TxExcessiveCollisions",
    "TxFrames",
    "TxBroadcasts",
    "TxMulticasts",
    "TxCollisions",
    "TxDeferredAbort",
    "RxOverruns",
    "RxLongCRC",
    "RxFrames",
    "RxCRCErrors",
    "RxBadPreamble",
    "RxRunt",
    "RxMulticasts",
    "RxBroadcasts",
    "RxShorts",
    "RxLongs",
];

/// `EthernetInformationX`: the CP-7940's counters (TxFrames, RxFrames, RxMulticasts ...), in its
/// order. The emulator does not count Ethernet frames, so every counter is 0.
pub fn ethernet_information_x(net: &NetworkInfo) -> String {
    let _ = net;
    xml_page("EthernetInformation", &ethernet_fields())
}

fn ethernet_fields() -> Vec<Field> {
    ETHERNET_COUNTERS
        .iter()
        .map(|&tag| field(tag, tag, 0))
        .collect()
}

/// `EthernetInformation` (HTML): the counters of [`ethernet_information_x`].
pub fn ethernet_information_html(net: &NetworkInfo) -> String {
    html_page("Ethernet Information", &net.host_name, &ethernet_fields())
}

/// `PortInformationX?n` (n 1..=3; `None` for a port the model does not have).
///
/// Port 1 is the network port (up, 100 Mb/s full duplex), port 2 the access (PC) port, with
/// nothing plugged in, and port 3 the phone's own port on its internal switch. Fields: Port,
/// LinkState, Speed, Duplex, MACAddress, then packet counters (all 0: the emulator does not
/// count frames).
pub fn port_information_x(n: u32, net: &NetworkInfo) -> Option<String> {
    Some(xml_page("PortInformation", &port_fields(n, net)?))
}

/// `PortInformation?n` (HTML): the fields of [`port_information_x`]; `None` for a port the
/// model does not have.
pub fn port_information_html(n: u32, net: &NetworkInfo) -> Option<String> {
    let fields = port_fields(n, net)?;
    Some(html_page("Port Information", &format!("Port {n}"), &fields))
}

fn port_fields(n: u32, net: &NetworkInfo) -> Option<Vec<Field>> {
    let (port, up) = match n {
        1 => ("Network", true),
        2 => ("Access", false),
        3 => ("Internal", true),
        _ => return None,
    };
    let (state, speed, duplex) = if up {
        ("Up", "100", "Full")
    } else {
        ("Down", "", "")
    };
    let mut fields = vec![
        field("Port", "Port", port),
        field("LinkState", "Link State", state),
        field("Speed", "Speed", speed),
        field("Duplex", "Duplex", duplex),
        field(
            "MACAddress",
            "MAC Address",
            if n == 2 { "" } else { net.mac.as_str() },
        ),
    ];
    for tag in [
        "rxTotalPkt",
        "rxCrcErr",
        "rxAlignErr",
        "rxMulticast",
        "rxBroadcast",
        "rxUnicast",
        "txTotalGoodPkt",
        "txBroadcast",
        "txMulticast",
        "txCollisions",
    ] {
        fields.push(field(tag, tag, 0));
    }
    Some(fields)
}

/// `DeviceLogX?n` with these log lines (n 0..=2; `None` otherwise): one `<Log>` element per
/// line, in order.
pub fn device_log_x(n: u32, lines: &[String]) -> Option<String> {
    if n > 2 {
        return None;
    }
    let fields: Vec<Field> = lines.iter().map(|l| field("Log", "Log", l)).collect();
    Some(xml_page("DeviceLog", &fields))
}

/// `DeviceLog?n` (HTML): the lines of [`device_log_x`], one row each; `None` for n over 2.
pub fn device_log_html(n: u32, lines: &[String]) -> Option<String> {
    if n > 2 {
        return None;
    }
    let fields: Vec<Field> = lines.iter().map(|l| field("Log", "Log", l)).collect();
    Some(html_page("Device Log", &format!("Log {n}"), &fields))
}

fn stream_fields(s: &StreamInfo) -> Vec<Field> {
    // RTCP is not emulated: no reports sent, no report time.
    vec![
        field("RemoteAddr", "Remote Address", &s.remote_addr),
        field("LocalAddr", "Local Address", &s.local_addr),
        field("StartTime", "Start Time", &s.start_time),
        field("StreamStatus", "Stream Status", &s.status),
        field("Name", "Host Name", &s.name),
        field("SenderPackets", "Sender Packets", s.sender_packets),
        field("SenderOctets", "Sender Octets", s.sender_octets),
        field("SenderCodec", "Sender Codec", &s.sender_codec),
        field("SenderReportsSent", "Sender Reports Sent", 0),
        field("SenderReportTimeSent", "Sender Report Time Sent", ""),
        field("RcvrLostPackets", "Rcvr Lost Packets", s.rcvr_lost_packets),
        field("AvgJitter", "Avg Jitter", s.avg_jitter),
        field("RcvrCodec", "Rcvr Codec", &s.rcvr_codec),
        field("RcvrReportsSent", "Rcvr Reports Sent", 0),
        field("RcvrReportTimeSent", "Rcvr Report Time Sent", ""),
        field("RcvrPackets", "Rcvr Packets", s.rcvr_packets),
        field("RcvrOctets", "Rcvr Octets", s.rcvr_octets),
        field("MaxJitter", "Max Jitter", s.max_jitter),
    ]
}

/// `StreamingStatisticsX?n`: RemoteAddr, LocalAddr, StartTime, StreamStatus, Name,
/// SenderPackets, SenderOctets, SenderCodec, SenderReportsSent, SenderReportTimeSent,
/// RcvrLostPackets, AvgJitter, RcvrCodec, RcvrReportsSent, RcvrReportTimeSent, RcvrPackets,
/// RcvrOctets, MaxJitter. The RTCP report fields are 0 / empty (RTCP is not emulated).
pub fn streaming_statistics_x(stream: &StreamInfo) -> String {
    xml_page("StreamingStatistics", &stream_fields(stream))
}

/// `StreamingStatistics?n` (HTML).
pub fn streaming_statistics_html(stream: &StreamInfo) -> String {
    html_page("Streaming Statistics", &stream.name, &stream_fields(stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::response::{DevicePageKind, parse_device_page};
    use std::io::Write;

    fn sample_device() -> DeviceInfo {
        DeviceInfo {
            mac: "0003E369A125".into(),
            host_name: "SEP0003E369A125".into(),
            phone_dn: "5920".into(),
            app_load_id: "P00308010200".into(),
            boot_load_id: "PC03A300".into(),
            version_id: "8.1(2.0)".into(),
            hardware_revision: "1.0".into(),
            serial_number: "INMXXXXXXX".into(),
            model_number: "CP-7940".into(),
            message_waiting: "No".into(),
        }
    }

    fn sample_net() -> NetworkInfo {
        NetworkInfo {
            ip: "10.1.1.9".into(),
            subnet_mask: "255.255.255.0".into(),
            router: "10.1.1.1".into(),
            tftp: "10.1.1.2".into(),
            mac: "001122334455".into(),
            host_name: "SEP001122334455".into(),
            domain: "example.net".into(),
        }
    }

    fn sample_stream() -> StreamInfo {
        StreamInfo {
            remote_addr: "10.1.1.5/20480".into(),
            local_addr: "10.1.1.9/20480".into(),
            start_time: "10:14:09a".into(),
            status: "Active".into(),
            name: "SEP001122334455".into(),
            sender_packets: 12,
            sender_octets: 1920,
            sender_codec: "G.711u".into(),
            rcvr_packets: 1500,
            rcvr_octets: 240_000,
            rcvr_lost_packets: 3,
            avg_jitter: 2,
            max_jitter: 14,
            rcvr_codec: "G.722".into(),
        }
    }

    /// Every X page the module renders, with the kind the parser must see.
    fn all_x_pages() -> Vec<(String, DevicePageKind)> {
        let net = sample_net();
        let mut pages = vec![
            (
                device_information_x(&sample_device()),
                DevicePageKind::DeviceInformation,
            ),
            (
                network_configuration_x(&net),
                DevicePageKind::NetworkConfiguration,
            ),
            (
                ethernet_information_x(&net),
                DevicePageKind::EthernetInformation,
            ),
            (
                streaming_statistics_x(&sample_stream()),
                DevicePageKind::StreamingStatistics,
            ),
            (
                streaming_statistics_x(&StreamInfo::default()),
                DevicePageKind::StreamingStatistics,
            ),
        ];
        for n in 1..=3 {
            pages.push((
                port_information_x(n, &net).unwrap(),
                DevicePageKind::PortInformation,
            ));
        }
        for n in 0..=2 {
            let lines = vec!["boot <ok> & \"ready\"".to_owned(), "Zürich".to_owned()];
            pages.push((device_log_x(n, &lines).unwrap(), DevicePageKind::DeviceLog));
        }
        pages.push((device_log_x(0, &[]).unwrap(), DevicePageKind::DeviceLog));
        pages
    }

    /// Element names of a document, in order, root excluded.
    fn element_names(doc: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = doc;
        while let Some(lt) = rest.find('<') {
            rest = &rest[lt + 1..];
            if rest.starts_with(['/', '?', '!']) {
                continue;
            }
            let end = rest
                .find(|c: char| c == '>' || c == '/' || c.is_whitespace())
                .unwrap_or(rest.len());
            names.push(rest[..end].to_owned());
        }
        names.into_iter().skip(1).collect()
    }

    /// The text of `../shared/reference/DeviceInformationX-samples.xml`; `None` (after a skip
    /// line) when it is absent.
    fn reference_text() -> Option<String> {
        crate::shared::shared_text("reference/DeviceInformationX-samples.xml")
    }

    /// The `DeviceInformation` documents of the reference text, in order.
    fn reference_samples(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("<DeviceInformation>") {
            let end = rest[start..].find("</DeviceInformation>").unwrap() + start;
            let end = end + "</DeviceInformation>".len();
            out.push(rest[start..end].to_owned());
            rest = &rest[end..];
        }
        out
    }

    #[test]
    fn xml_pages_have_declaration_root_and_crlf() {
        for (page, _) in all_x_pages() {
            assert!(
                page.starts_with(&format!("{XML_DECLARATION}\r\n<")),
                "{page}"
            );
            assert!(page.ends_with(">\r\n"), "{page}");
            assert!(!page.replace("\r\n", "").contains(['\n', '\r']), "{page}");
            assert!(page.is_ascii(), "{page}");
        }
    }

    #[test]
    fn device_information_x_round_trips() {
        let info = sample_device();
        // 2013-12-16 11:03:27 UTC, the CP-6941 sample's date and time.
        let page = device_information_x_at(&info, 1_387_191_807);
        let parsed = parse_device_page(page.as_bytes()).unwrap();
        assert_eq!(parsed.kind(), DevicePageKind::DeviceInformation);
        assert_eq!(parsed.root, "DeviceInformation");
        assert_eq!(parsed.mac_address(), Some("0003E369A125"));
        assert_eq!(parsed.host_name(), Some("SEP0003E369A125"));
        assert_eq!(parsed.phone_dn(), Some("5920"));
        assert_eq!(parsed.app_load_id(), Some("P00308010200"));
        assert_eq!(parsed.boot_load_id(), Some("PC03A300"));
        assert_eq!(parsed.version_id(), Some("8.1(2.0)"));
        assert_eq!(parsed.hardware_revision(), Some("1.0"));
        assert_eq!(parsed.serial_number(), Some("INMXXXXXXX"));
        assert_eq!(parsed.model_number(), Some("CP-7940"));
        assert_eq!(parsed.message_waiting(), Some("No"));
        assert_eq!(parsed.get("addonModule1"), Some(""));
        assert_eq!(parsed.get("addonModule2"), Some(""));
        assert_eq!(
            parsed.get("udi"),
            Some("phone Cisco Unified IP Phone CP-7940, Global CP-7940 INMXXXXXXX")
        );
        assert_eq!(parsed.get("time"), Some("11:03"));
        assert_eq!(parsed.get("date"), Some("16.12.13"));
        assert_eq!(parsed.get("timezone"), Some(TIMEZONE));
        // The clock-reading variant renders the same fields.
        let now = parse_device_page(device_information_x(&info).as_bytes()).unwrap();
        assert_eq!(now.fields.len(), parsed.fields.len());
        assert_eq!(now.get("date").unwrap().len(), "16.12.13".len());
    }

    #[test]
    fn phone_dates_from_unix_time() {
        assert_eq!(phone_time_and_date(0), ("00:00".into(), "01.01.70".into()));
        // 2000-02-29 23:59:59 UTC.
        assert_eq!(
            phone_time_and_date(951_868_799),
            ("23:59".into(), "29.02.00".into())
        );
        // 2024-03-01 00:00:00 UTC.
        assert_eq!(
            phone_time_and_date(1_709_251_200),
            ("00:00".into(), "01.03.24".into())
        );
    }

    #[test]
    fn device_information_x_element_order_matches_real_phones() {
        let Some(text) = reference_text() else {
            return;
        };
        let samples = reference_samples(&text);
        assert!(
            samples.len() >= 2,
            "expected the CP-7940 and CP-6941 samples"
        );
        let (cp7940, cp6941) = (element_names(&samples[0]), element_names(&samples[1]));
        assert!(samples[0].contains("CP-7940") && samples[1].contains("CP-6941"));
        let ours = element_names(&device_information_x(&sample_device()));

        // Exactly the CP-6941's fields in its order ...
        assert_eq!(ours, cp6941);
        // ... which is the CP-7940's order for every field the two share. (The CP-7940 also
        // sends DSPLoadID, Codec, Amps and C3PORevision, which DeviceInfo does not model, and no
        // udi / time / timezone / date.)
        let shared_7940: Vec<&String> = cp7940.iter().filter(|n| ours.contains(n)).collect();
        let shared_ours: Vec<&String> = ours.iter().filter(|n| cp7940.contains(n)).collect();
        assert_eq!(shared_ours, shared_7940);
        assert_eq!(shared_7940.len(), 12);
        assert_eq!(cp7940[..6], ours[..6]);

        // And the declaration the CP-7940 sends.
        assert!(text.contains(XML_DECLARATION));
    }

    #[test]
    fn values_are_escaped() {
        let info = DeviceInfo {
            phone_dn: "<5920> & 'co' \"x\"".into(),
            host_name: "SEP<&>".into(),
            message_waiting: " OUI".into(),
            model_number: "CP-7940 Zürich ☎".into(),
            serial_number: "A\u{1}B".into(),
            ..sample_device()
        };
        let page = device_information_x(&info);
        assert!(page.contains("<phoneDN>&lt;5920&gt; &amp; &#39;co&#39; &quot;x&quot;</phoneDN>"));
        assert!(page.contains("<HostName>SEP&lt;&amp;&gt;</HostName>"));
        assert!(page.contains("Z&#252;rich &#9742;"));
        assert!(page.is_ascii());
        let parsed = parse_device_page(page.as_bytes()).unwrap();
        assert_eq!(parsed.phone_dn(), Some("<5920> & 'co' \"x\""));
        assert_eq!(parsed.host_name(), Some("SEP<&>"));
        assert_eq!(parsed.model_number(), Some("CP-7940 Zürich ☎"));
        assert_eq!(parsed.serial_number(), Some("A\u{FFFD}B"));
        assert_eq!(parsed.message_waiting(), Some("OUI"));

        let html = device_information_html(&info);
        assert!(html.contains("&lt;5920&gt; &amp; &#39;co&#39; &quot;x&quot;"));
        assert!(!html.contains("SEP<&>"));
        let html = streaming_statistics_html(&StreamInfo {
            name: "<script>".into(),
            ..sample_stream()
        });
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    }

    #[test]
    fn network_configuration_x_round_trips() {
        let net = sample_net();
        let parsed = parse_device_page(network_configuration_x(&net).as_bytes()).unwrap();
        assert_eq!(parsed.kind(), DevicePageKind::NetworkConfiguration);
        assert_eq!(parsed.get("IPAddress"), Some("10.1.1.9"));
        assert_eq!(parsed.get("SubNetMask"), Some("255.255.255.0"));
        assert_eq!(parsed.get("DefaultRouter1"), Some("10.1.1.1"));
        assert_eq!(parsed.get("TFTPServer1"), Some("10.1.1.2"));
        assert_eq!(parsed.get("MACAddress"), Some("001122334455"));
        assert_eq!(parsed.get("HostName"), Some("SEP001122334455"));
        assert_eq!(parsed.get("DomainName"), Some("example.net"));
        assert_eq!(parsed.get("DHCP"), Some("No"));
        assert_eq!(parsed.get("DHCPServer"), Some(""));
        assert_eq!(parsed.get("OperationalVLANId"), Some(""));
        assert_eq!(parsed.get("CallManager1"), Some(""));
    }

    #[test]
    fn ethernet_and_port_information_x() {
        let net = sample_net();
        let eth = parse_device_page(ethernet_information_x(&net).as_bytes()).unwrap();
        assert_eq!(eth.kind(), DevicePageKind::EthernetInformation);
        let names: Vec<&str> = eth.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ETHERNET_COUNTERS);
        for name in ["TxFrames", "RxFrames", "RxMulticasts", "RxBroadcasts"] {
            assert_eq!(eth.number(name), Some(0), "{name}");
        }

        let expect = [
            (1, "Network", "Up", "100", "Full"),
            (2, "Access", "Down", "", ""),
            (3, "Internal", "Up", "100", "Full"),
        ];
        for (n, port, state, speed, duplex) in expect {
            let page = port_information_x(n, &net).unwrap();
            let parsed = parse_device_page(page.as_bytes()).unwrap();
            assert_eq!(parsed.kind(), DevicePageKind::PortInformation);
            assert_eq!(parsed.get("Port"), Some(port));
            assert_eq!(parsed.get("LinkState"), Some(state));
            assert_eq!(parsed.get("Speed"), Some(speed));
            assert_eq!(parsed.get("Duplex"), Some(duplex));
            assert_eq!(parsed.number("rxTotalPkt"), Some(0));
        }
        assert!(port_information_x(0, &net).is_none());
        assert!(port_information_x(4, &net).is_none());
    }

    #[test]
    fn device_log_x_lines() {
        let lines = vec![
            "10:14:09a Registered".to_owned(),
            "RTP <Rx> & started".to_owned(),
            String::new(),
        ];
        for n in 0..=2 {
            let page = device_log_x(n, &lines).unwrap();
            let parsed = parse_device_page(page.as_bytes()).unwrap();
            assert_eq!(parsed.kind(), DevicePageKind::DeviceLog);
            assert_eq!(
                parsed.get_all("Log").collect::<Vec<_>>(),
                ["10:14:09a Registered", "RTP <Rx> & started", ""]
            );
        }
        assert!(device_log_x(3, &lines).is_none());
        let empty = parse_device_page(device_log_x(1, &[]).unwrap().as_bytes()).unwrap();
        assert!(empty.fields.is_empty());
    }

    #[test]
    fn streaming_statistics_x_round_trips() {
        let s = sample_stream();
        let page = streaming_statistics_x(&s);
        assert_eq!(
            element_names(&page),
            [
                "RemoteAddr",
                "LocalAddr",
                "StartTime",
                "StreamStatus",
                "Name",
                "SenderPackets",
                "SenderOctets",
                "SenderCodec",
                "SenderReportsSent",
                "SenderReportTimeSent",
                "RcvrLostPackets",
                "AvgJitter",
                "RcvrCodec",
                "RcvrReportsSent",
                "RcvrReportTimeSent",
                "RcvrPackets",
                "RcvrOctets",
                "MaxJitter",
            ]
        );
        let parsed = parse_device_page(page.as_bytes()).unwrap();
        assert_eq!(parsed.kind(), DevicePageKind::StreamingStatistics);
        let st = parsed.streaming_stats();
        assert_eq!(st.remote_addr.as_deref(), Some(s.remote_addr.as_str()));
        assert_eq!(st.local_addr.as_deref(), Some(s.local_addr.as_str()));
        assert_eq!(st.start_time.as_deref(), Some(s.start_time.as_str()));
        assert_eq!(st.stream_status.as_deref(), Some(s.status.as_str()));
        assert_eq!(st.name.as_deref(), Some(s.name.as_str()));
        assert_eq!(st.sender_packets, Some(s.sender_packets));
        assert_eq!(st.sender_octets, Some(s.sender_octets));
        assert_eq!(st.sender_codec.as_deref(), Some(s.sender_codec.as_str()));
        assert_eq!(st.rcvr_packets, Some(s.rcvr_packets));
        assert_eq!(st.rcvr_octets, Some(s.rcvr_octets));
        assert_eq!(st.rcvr_lost_packets, Some(s.rcvr_lost_packets));
        assert_eq!(st.avg_jitter, Some(s.avg_jitter));
        assert_eq!(st.max_jitter, Some(s.max_jitter));
        assert_eq!(st.rcvr_codec.as_deref(), Some(s.rcvr_codec.as_str()));
        assert_eq!(parsed.number("SenderReportsSent"), Some(0));
        assert_eq!(parsed.get("RcvrReportTimeSent"), Some(""));

        // An idle stream: empty text reads as absent, counters as 0.
        let idle = StreamInfo {
            status: "Not Active".into(),
            ..StreamInfo::default()
        };
        let st = parse_device_page(streaming_statistics_x(&idle).as_bytes())
            .unwrap()
            .streaming_stats();
        assert_eq!(st.stream_status.as_deref(), Some("Not Active"));
        assert_eq!(
            (st.remote_addr, st.sender_codec, st.rcvr_codec),
            (None, None, None)
        );
        assert_eq!((st.rcvr_packets, st.max_jitter), (Some(0), Some(0)));

        // Extremes survive.
        let big = StreamInfo {
            rcvr_octets: u64::MAX,
            max_jitter: u32::MAX,
            ..sample_stream()
        };
        let st = parse_device_page(streaming_statistics_x(&big).as_bytes())
            .unwrap()
            .streaming_stats();
        assert_eq!(
            (st.rcvr_octets, st.max_jitter),
            (Some(u64::MAX), Some(u32::MAX))
        );
    }

    #[test]
    fn ethernet_port_and_log_pages_have_html_variants() {
        let net = sample_net();
        let html = ethernet_information_html(&net);
        assert!(
            html.contains("<TITLE>Ethernet Information</TITLE>"),
            "{html}"
        );
        assert!(html.contains("<B>RxFrames</B>") && html.contains("<B>TxFrames</B>"));
        let html = port_information_html(1, &net).unwrap();
        assert!(html.contains("<TITLE>Port Information</TITLE>"), "{html}");
        assert!(
            html.contains("<B>Network</B>") && html.contains("<B>Up</B>"),
            "{html}"
        );
        assert!(
            port_information_html(2, &net)
                .unwrap()
                .contains("<B>Access</B>")
        );
        assert_eq!(port_information_html(4, &net), None);
        assert_eq!(port_information_html(0, &net), None);
        let lines = vec!["1.000 push <refused>".to_owned()];
        let html = device_log_html(0, &lines).unwrap();
        assert!(html.contains("<TITLE>Device Log</TITLE>"), "{html}");
        assert!(html.contains("<B>1.000 push &lt;refused&gt;</B>"), "{html}");
        assert_eq!(device_log_html(3, &lines), None);
    }

    #[test]
    fn html_pages_list_the_values() {
        let info = sample_device();
        let html = device_information_html(&info);
        assert!(html.contains("<TITLE>Device Information</TITLE>"));
        for v in [
            "0003E369A125",
            "SEP0003E369A125",
            "5920",
            "P00308010200",
            "PC03A300",
            "8.1(2.0)",
            "INMXXXXXXX",
            "CP-7940",
        ] {
            assert!(html.contains(&format!("<B>{v}</B>")), "{v}");
        }
        assert!(html.contains("<B>MAC Address</B>") && html.contains("<B>Serial Number</B>"));

        let net = sample_net();
        let html = network_configuration_html(&net);
        assert!(html.contains("<TITLE>Network Configuration</TITLE>"));
        for v in [
            "10.1.1.9",
            "255.255.255.0",
            "10.1.1.1",
            "10.1.1.2",
            "example.net",
        ] {
            assert!(html.contains(&format!("<B>{v}</B>")), "{v}");
        }
        assert!(html.contains("<B>IP Address</B>"));

        let s = sample_stream();
        let html = streaming_statistics_html(&s);
        assert!(html.contains("<TITLE>Streaming Statistics</TITLE>"));
        for v in [
            "10.1.1.5/20480",
            "10.1.1.9/20480",
            "10:14:09a",
            "Active",
            "1500",
            "240000",
            "G.722",
            "G.711u",
            "14",
        ] {
            assert!(html.contains(&format!("<B>{v}</B>")), "{v}");
        }
        assert!(html.contains("<B>Rcvr Lost Packets</B>"));
        for page in [
            device_information_html(&info),
            network_configuration_html(&net),
            streaming_statistics_html(&s),
        ] {
            assert!(page.is_ascii());
            assert_eq!(page.matches("<TR>").count(), page.matches("</TR>").count());
        }
    }

    #[test]
    fn xmllint_accepts_every_x_page() {
        if std::process::Command::new("xmllint")
            .arg("--version")
            .output()
            .is_err()
        {
            println!("note: xmllint not found, skipping the well-formedness check");
            return;
        }
        for (page, _) in all_x_pages() {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(page.as_bytes()).unwrap();
            file.flush().unwrap();
            let out = std::process::Command::new("xmllint")
                .arg("--noout")
                .arg(file.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "xmllint refused:\n{page}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn parser_sees_the_right_kind_for_every_page() {
        for (page, kind) in all_x_pages() {
            let parsed = parse_device_page(page.as_bytes()).unwrap();
            assert_eq!(parsed.kind(), kind, "{page}");
        }
    }
}
