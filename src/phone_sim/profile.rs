//! Model profiles: what an emulated phone of a given model supports and how it answers.
//!
//! Capabilities come from [`crate::xsi::model`], the same table the push side plans with; this
//! file adds what only a phone needs to know about itself: its display (for the
//! `x-CiscoIPPhoneDisplay` header and the screenshot), the way it refuses bad credentials, and its
//! identity strings for DeviceInformationX. Display sizes are the models' published resolutions.

use crate::error::Invalid;
use crate::xsi::model::{Capabilities, ModelFamily};

/// The models a fleet can be made of (names as `DeviceInformationX` reports them).
pub const MODELS: &[&str] = &[
    "CP-7841",
    "CP-7821",
    "CP-8845",
    "CP-8851",
    "CP-8865",
    "CP-8875",
    "CP-8821",
    "DP-9841",
    "DP-9871",
    "CP-7942G",
    "CP-7965G",
    "CP-6941",
    "CP-8851-3PCC",
    "CP-7841-3PCC",
];

/// A phone display as the `x-CiscoIPPhoneDisplay` header describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DisplayGeometry {
    /// Pixels across.
    pub width: u16,
    /// Pixels down.
    pub height: u16,
    /// Bits per pixel.
    pub depth: u8,
    /// Colour (`C`) or greyscale (`G`).
    pub color: bool,
}

impl DisplayGeometry {
    /// The header value, e.g. `800, 480, 24, C`.
    pub fn header_value(&self) -> String {
        format!(
            "{}, {}, {}, {}",
            self.width,
            self.height,
            self.depth,
            if self.color { 'C' } else { 'G' }
        )
    }
}

/// How a model answers a push with bad credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum AuthRefusal {
    /// `<CiscoIPPhoneError Number="4"/>` with HTTP 200 (most models).
    CiscoError4,
    /// A plain HTTP 401 (older 79xx firmware, Multiplatform phones).
    Http401,
}

/// One model's profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Profile {
    /// Model name as the phone reports it (`CP-8851`, `CP-8851-3PCC`).
    pub model: String,
    /// Family, from the shared capability table.
    #[serde(skip)]
    pub family: ModelFamily,
    /// What it supports.
    #[serde(skip)]
    pub caps: Capabilities,
    /// Its display.
    pub display: DisplayGeometry,
    /// How it refuses bad credentials.
    pub auth_refusal: AuthRefusal,
    /// Firmware load shown in DeviceInformationX (`appLoadID`).
    pub app_load_id: String,
    /// Firmware version (`versionID`).
    pub version_id: String,
    /// XSI SDK version (`x-CiscoIPPhoneSDKVersion`).
    pub sdk_version: String,
}

impl Profile {
    /// The profile of a model name (case-insensitive, `CP-`/`DP-` prefix optional). Unknown
    /// models are refused with the list of known ones.
    pub fn for_model(name: &str) -> Result<Profile, Invalid> {
        let upper = name.trim().to_ascii_uppercase();
        let canonical = MODELS
            .iter()
            .find(|m| {
                let bare = m.split_once('-').map_or(**m, |(_, rest)| rest);
                upper == **m || upper == bare
            })
            .ok_or_else(|| {
                Invalid::new(
                    "model",
                    name,
                    format!("must be one of {}", MODELS.join(" ")),
                )
            })?;
        let family = ModelFamily::from_model_name(canonical);
        let caps = family.capabilities();
        let digits: String = canonical
            .chars()
            .filter(char::is_ascii_digit)
            .take(4)
            .collect();
        let (width, height, depth, color) = match digits.as_str() {
            "7841" | "7821" => (396, 162, 4, false),
            "8845" | "8851" | "8865" => (800, 480, 24, true),
            "8875" => (1280, 800, 24, true),
            "8821" => (240, 320, 16, true),
            "9841" => (480, 272, 4, false),
            "9871" => (800, 480, 24, true),
            "7942" => (320, 222, 4, false),
            "7965" => (320, 222, 16, true),
            "6941" => (396, 81, 4, false),
            _ => (396, 162, 4, false),
        };
        let auth_refusal = if family == ModelFamily::Legacy79xx || family.multiplatform() {
            AuthRefusal::Http401
        } else {
            AuthRefusal::CiscoError4
        };
        let (app_load_id, version_id, sdk) = match family {
            ModelFamily::Legacy79xx => ("SCCP42.9-4-2SR3-1S", "9.4(2SR3.1)", "8.5.3"),
            ModelFamily::Mpp | ModelFamily::Mpp88xx => {
                ("sip88xx.12-0-1MPP-1", "12.0.1MPP", "12.0.1")
            }
            ModelFamily::Phone9800 | ModelFamily::Phone9800Entry => {
                ("PhoneOS-3.2.1.0001-12", "3.2(1)", "3.2.1")
            }
            _ => ("sip88xx.14-2-1-0001-2", "14.2(1)", "14.2.1"),
        };
        Ok(Profile {
            model: (*canonical).to_owned(),
            family,
            caps,
            display: DisplayGeometry {
                width,
                height,
                depth,
                color,
            },
            auth_refusal,
            app_load_id: app_load_id.to_owned(),
            version_id: version_id.to_owned(),
            sdk_version: sdk.to_owned(),
        })
    }

    /// Whether this phone answers pushes with CiscoIPPhoneResponse / CiscoIPPhoneError.
    pub fn answers_xml(&self) -> bool {
        self.caps.execute_response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_model_has_a_profile() {
        for m in MODELS {
            let p = Profile::for_model(m).unwrap();
            assert_eq!(p.model, *m);
            assert!(p.display.width > 0);
        }
    }

    #[test]
    fn short_names_and_case() {
        assert_eq!(Profile::for_model("8851").unwrap().model, "CP-8851");
        assert_eq!(
            Profile::for_model("cp-8851-3pcc").unwrap().model,
            "CP-8851-3PCC"
        );
        assert_eq!(Profile::for_model("9841").unwrap().model, "DP-9841");
        let e = Profile::for_model("CP-1234").unwrap_err();
        assert_eq!(e.field, "model");
        assert!(e.rule.contains("CP-8851"), "{e}");
    }

    #[test]
    fn mpp_has_no_xml_answers_and_refuses_auth_with_401() {
        let p = Profile::for_model("CP-8851-3PCC").unwrap();
        assert!(!p.answers_xml() && !p.caps.rtp_uris);
        assert_eq!(p.auth_refusal, AuthRefusal::Http401);
        let p = Profile::for_model("CP-7942G").unwrap();
        assert_eq!(p.auth_refusal, AuthRefusal::Http401);
        let p = Profile::for_model("CP-8845").unwrap();
        assert_eq!(p.auth_refusal, AuthRefusal::CiscoError4);
        assert_eq!(p.display.header_value(), "800, 480, 24, C");
    }
}
