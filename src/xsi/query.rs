//! The device pages a phone serves over plain GET (`/DeviceInformationX`,
//! `/PortInformationX?n` ...) as one checked [`DeviceQuery`]: a page, and for the numbered ones
//! its number, in the range the XSI spec gives.
//!
//! The numbered pages take `?n`: `PortInformation` an Ethernet port 1..=3, `DeviceLog` a log
//! 0..=2, `StreamingStatistics` an RTP stream 1..=3. A number outside its range is refused
//! here, naming the page, the number and the range, before any request is made. Only the XML
//! forms (`...X`) are built: they are what [`super::response::parse_device_page`] reads.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::error::Invalid;

/// One device page to GET, with its number where it takes one. Built only through the
/// checking constructors (or parsing), so its number is always in the spec's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceQuery {
    /// Index into [`PLAIN`] (no number) or [`NUMBERED`] (with one).
    page: usize,
    number: Option<u8>,
}

/// The pages without a number, by name.
const PLAIN: [&str; 3] = [
    "DeviceInformationX",
    "NetworkConfigurationX",
    "EthernetInformationX",
];

/// The numbered pages: name, the spec's range, what the number counts.
const NUMBERED: [(&str, RangeInclusive<u8>, &str); 3] = [
    ("PortInformationX", 1..=3, "an Ethernet port"),
    ("StreamingStatisticsX", 1..=3, "an RTP stream"),
    ("DeviceLogX", 0..=2, "a log"),
];

impl DeviceQuery {
    /// `/DeviceInformationX`.
    pub const DEVICE_INFORMATION: DeviceQuery = DeviceQuery::plain(0);
    /// `/NetworkConfigurationX`.
    pub const NETWORK_CONFIGURATION: DeviceQuery = DeviceQuery::plain(1);
    /// `/EthernetInformationX`.
    pub const ETHERNET_INFORMATION: DeviceQuery = DeviceQuery::plain(2);
    /// `/StreamingStatisticsX?1`: the first RTP stream, the one a page plays on.
    pub const FIRST_STREAM: DeviceQuery = DeviceQuery {
        page: 1,
        number: Some(1),
    };

    const fn plain(page: usize) -> DeviceQuery {
        DeviceQuery { page, number: None }
    }

    /// `/PortInformationX?n`, n an Ethernet port 1..=3.
    pub fn port_information(n: u32) -> Result<DeviceQuery, Invalid> {
        numbered(0, n)
    }

    /// `/StreamingStatisticsX?n`, n an RTP stream 1..=3.
    pub fn streaming_statistics(n: u32) -> Result<DeviceQuery, Invalid> {
        numbered(1, n)
    }

    /// `/DeviceLogX?n`, n a log 0..=2.
    pub fn device_log(n: u32) -> Result<DeviceQuery, Invalid> {
        numbered(2, n)
    }

    /// The page's name (`PortInformationX` ...).
    pub fn name(self) -> &'static str {
        match self.number {
            Some(_) => NUMBERED[self.page].0,
            None => PLAIN[self.page],
        }
    }

    /// The page's number, for the numbered pages.
    pub fn number(self) -> Option<u8> {
        self.number
    }

    /// The path and query of the GET (`/PortInformationX?1`).
    pub fn path(self) -> String {
        match self.number {
            Some(n) => format!("/{}?{n}", self.name()),
            None => format!("/{}", self.name()),
        }
    }
}

/// Page `NUMBERED[i]` with number `n`, checked against its range.
fn numbered(i: usize, n: u32) -> Result<DeviceQuery, Invalid> {
    let (name, range, what) = &NUMBERED[i];
    u8::try_from(n)
        .ok()
        .filter(|n| range.contains(n))
        .map(|n| DeviceQuery {
            page: i,
            number: Some(n),
        })
        .ok_or_else(|| {
            Invalid::new(
                format!("{name} number"),
                n,
                format!(
                    "must be {}..={} ({what}, as the XSI spec numbers them)",
                    range.start(),
                    range.end()
                ),
            )
        })
}

impl fmt::Display for DeviceQuery {
    /// `NAME` or `NAME:N`, the form [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number() {
            Some(n) => write!(f, "{}:{n}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl FromStr for DeviceQuery {
    type Err = Invalid;
    /// `DeviceInformationX`, `NetworkConfigurationX`, `EthernetInformationX`, or
    /// `PortInformationX:N`, `StreamingStatisticsX:N`, `DeviceLogX:N` (N plain decimal).
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if let Some(i) = PLAIN.iter().position(|name| *name == s) {
            return Ok(DeviceQuery::plain(i));
        }
        let (name, n) = s.split_once(':').unwrap_or((s, ""));
        let Some(i) = NUMBERED.iter().position(|(p, _, _)| *p == name) else {
            let names = PLAIN;
            let numbered: Vec<String> = NUMBERED.iter().map(|(p, _, _)| format!("{p}:N")).collect();
            return Err(Invalid::new(
                "device page",
                s,
                format!(
                    "must be one of {}, {}",
                    names.join(", "),
                    numbered.join(", ")
                ),
            ));
        };
        let number = (!n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| {
                Invalid::new(
                    format!("{name} number"),
                    n,
                    format!("must be a number after the colon, e.g. {name}:1"),
                )
            })?;
        numbered(i, number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_every_page() {
        assert_eq!(
            DeviceQuery::DEVICE_INFORMATION.path(),
            "/DeviceInformationX"
        );
        assert_eq!(
            DeviceQuery::FIRST_STREAM,
            DeviceQuery::streaming_statistics(1).unwrap()
        );
        assert_eq!(
            DeviceQuery::port_information(3).unwrap().path(),
            "/PortInformationX?3"
        );
        assert_eq!(
            DeviceQuery::streaming_statistics(1).unwrap().path(),
            "/StreamingStatisticsX?1"
        );
        assert_eq!(DeviceQuery::device_log(0).unwrap().path(), "/DeviceLogX?0");
        for s in ["EthernetInformationX", "PortInformationX:1", "DeviceLogX:2"] {
            assert_eq!(s.parse::<DeviceQuery>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn numbers_outside_the_spec_ranges_are_refused_naming_page_number_and_range() {
        for (s, field, range) in [
            ("PortInformationX:0", "PortInformationX number", "1..=3"),
            ("PortInformationX:9", "PortInformationX number", "1..=3"),
            (
                "StreamingStatisticsX:4",
                "StreamingStatisticsX number",
                "1..=3",
            ),
            (
                "StreamingStatisticsX:0",
                "StreamingStatisticsX number",
                "1..=3",
            ),
            ("DeviceLogX:3", "DeviceLogX number", "0..=2"),
            ("DeviceLogX:4294967296", "DeviceLogX number", "a number"),
        ] {
            let e = s.parse::<DeviceQuery>().unwrap_err();
            assert_eq!(e.field, field, "{s}");
            assert_eq!(e.value, s.split_once(':').unwrap().1, "{s}");
            assert!(e.rule.contains(range), "{s}: {e}");
        }
        assert!(DeviceQuery::device_log(3).is_err());
        assert!(DeviceQuery::port_information(256).is_err());
        for bad in [
            "PortInformationX",
            "PortInformationX:",
            "PortInformationX:x",
            "Nope",
        ] {
            assert!(bad.parse::<DeviceQuery>().is_err(), "{bad}");
        }
    }
}
