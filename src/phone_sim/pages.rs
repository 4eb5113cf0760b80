//! The phone's device pages: `DeviceInformationX`, `NetworkConfigurationX`,
//! `EthernetInformationX`, `PortInformationX`, `DeviceLogX`, `StreamingStatisticsX`, and the HTML
//! variants. Pure renderers from plain values. (Owned by the pages helper: fill in; keep the
//! signatures.)

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

/// `DeviceInformationX`.
pub fn device_information_x(info: &DeviceInfo) -> String {
    let _ = info;
    todo!()
}

/// `DeviceInformation` (HTML).
pub fn device_information_html(info: &DeviceInfo) -> String {
    let _ = info;
    todo!()
}

/// `NetworkConfigurationX`.
pub fn network_configuration_x(net: &NetworkInfo) -> String {
    let _ = net;
    todo!()
}

/// `NetworkConfiguration` (HTML).
pub fn network_configuration_html(net: &NetworkInfo) -> String {
    let _ = net;
    todo!()
}

/// `EthernetInformationX`.
pub fn ethernet_information_x(net: &NetworkInfo) -> String {
    let _ = net;
    todo!()
}

/// `PortInformationX?n` (n 1..=3; `None` for a port the model does not have).
pub fn port_information_x(n: u32, net: &NetworkInfo) -> Option<String> {
    let _ = (n, net);
    todo!()
}

/// `DeviceLogX?n` with these log lines (n 0..=2; `None` otherwise).
pub fn device_log_x(n: u32, lines: &[String]) -> Option<String> {
    let _ = (n, lines);
    todo!()
}

/// `StreamingStatisticsX?n`.
pub fn streaming_statistics_x(stream: &StreamInfo) -> String {
    let _ = stream;
    todo!()
}

/// `StreamingStatistics?n` (HTML).
pub fn streaming_statistics_html(stream: &StreamInfo) -> String {
    let _ = stream;
    todo!()
}
