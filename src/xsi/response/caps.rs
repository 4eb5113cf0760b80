//! `getDeviceCapsResponse`: the model, screen and SDK version a phone reports about itself.
//!
//! Cisco's only published example never closes `<browser>`; the lenient reader closes what is
//! left open, so every field written before the damage is still read.

use super::error::ParseError;
use super::xml::{self, Element};

/// What a phone says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCaps {
    /// `physical/modelNumber`, e.g. `CP-7970`; feed it to
    /// [`crate::xsi::model::ModelFamily::from_model_name`].
    pub model_number: String,
    /// `physical/display`, when present and readable: an unreadable display is `None` rather
    /// than a refused reply, because the model number alone is what zonecast needs.
    pub display: Option<DisplayCaps>,
    /// `services sdkVersion`, e.g. `5.0.3`.
    pub sdk_version: Option<String>,
    /// Names of the elements under `services` (`browser` ...), for logging what a phone offers.
    pub services: Vec<String>,
}

/// `<display width=".." height=".." bitDepth=".." isColor=".."/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayCaps {
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Bits per pixel.
    pub bit_depth: u32,
    /// Colour screen.
    pub is_color: bool,
}

/// Parse the reply to `<getDeviceCaps/>`.
pub fn parse_device_caps(body: &[u8]) -> Result<DeviceCaps, ParseError> {
    let root = xml::parse_bytes(body)?;
    if !root.is("getDeviceCapsResponse") {
        return Err(ParseError::UnexpectedRoot {
            expected: "getDeviceCapsResponse",
            found: root.name.clone(),
        });
    }
    let model_number = root
        .find("modelNumber")
        .map(Element::trimmed_text)
        .filter(|m| !m.is_empty())
        .ok_or(ParseError::Missing("modelNumber"))?
        .to_owned();
    let services = root.child("services");
    Ok(DeviceCaps {
        model_number,
        display: root.find("display").and_then(display),
        sdk_version: services
            .and_then(|s| s.attr("sdkVersion"))
            .map(|v| v.trim().to_owned()),
        services: services
            .map(|s| s.children.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default(),
    })
}

fn display(el: &Element) -> Option<DisplayCaps> {
    let number = |name: &str| el.attr(name)?.trim().parse().ok();
    let color = el.attr("isColor").unwrap_or("false").trim();
    Some(DisplayCaps {
        width: number("width")?,
        height: number("height")?,
        bit_depth: number("bitDepth")?,
        is_color: color.eq_ignore_ascii_case("true") || color == "1",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WELL_FORMED: &str = "<getDeviceCapsResponse>\n<physical>\n<modelNumber>CP-8865</modelNumber>\n\
        <display width=\"800\" height=\"480\" bitDepth=\"24\" isColor=\"true\"/>\n</physical>\n\
        <services sdkVersion=\"12.5.1\"><browser></browser></services>\n</getDeviceCapsResponse>";

    #[test]
    fn well_formed() {
        let caps = parse_device_caps(WELL_FORMED.as_bytes()).unwrap();
        assert_eq!(caps.model_number, "CP-8865");
        assert_eq!(
            caps.display,
            Some(DisplayCaps {
                width: 800,
                height: 480,
                bit_depth: 24,
                is_color: true
            })
        );
        assert_eq!(caps.sdk_version.as_deref(), Some("12.5.1"));
        assert_eq!(caps.services, ["browser"]);
    }

    #[test]
    fn unclosed_browser_as_in_ciscos_example() {
        let doc = "<getDeviceCapsResponse>\r\n<physical>\r\n<modelNumber>CP-7970</modelNumber>\r\n\
            <display width=\"298\" height=\"168\" bitDepth=\"12\" isColor=\"true\"/>\r\n</physical>\r\n\
            <services sdkVersion=\"5.0.3\">\r\n<browser>\r\n</services>\r\n</getDeviceCapsResponse>";
        let caps = parse_device_caps(doc.as_bytes()).unwrap();
        assert_eq!(caps.model_number, "CP-7970");
        assert_eq!(caps.display.unwrap().width, 298);
        assert_eq!(caps.sdk_version.as_deref(), Some("5.0.3"));
    }

    #[test]
    fn truncated_after_model() {
        let caps = parse_device_caps(
            b"<getDeviceCapsResponse><physical><modelNumber>CP-7961</modelNumber>",
        )
        .unwrap();
        assert_eq!(caps.model_number, "CP-7961");
        assert_eq!(caps.display, None);
        assert_eq!(caps.sdk_version, None);
    }

    #[test]
    fn grey_display() {
        let doc = "<getDeviceCapsResponse><modelNumber> CP-7941 </modelNumber>\
            <display width='298' height='144' bitDepth='2' isColor='false'/></getDeviceCapsResponse>";
        let caps = parse_device_caps(doc.as_bytes()).unwrap();
        assert_eq!(caps.model_number, "CP-7941");
        assert!(!caps.display.unwrap().is_color);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse_device_caps(b"<getDeviceCapsResponse/>"),
            Err(ParseError::Missing("modelNumber"))
        );
        assert!(matches!(
            parse_device_caps(b"<getDeviceCaps/>"),
            Err(ParseError::UnexpectedRoot { .. })
        ));
        let odd = b"<getDeviceCapsResponse><modelNumber>X</modelNumber>\
            <display width=\"wide\"/></getDeviceCapsResponse>";
        assert_eq!(parse_device_caps(odd).unwrap().display, None);
    }
}
