//! Which phone models support what: the model families of the XSI spec's notes and the
//! [`Capabilities`] zonecast checks before it pushes something a phone would refuse or ignore.
//!
//! This module owns the per-model rules only; it reads a model name
//! (`x-CiscoIPPhoneModelName` header, DeviceInformationX `modelNumber`, getDeviceCaps
//! `modelNumber`) and answers with a family and its capabilities. It does not talk to phones.
//!
//! ## Multiplatform (MPP) firmware
//!
//! A 7800 or 8800 runs either enterprise (CUCM) firmware or Multiplatform (3PCC) firmware, and
//! the model number is the same. MPP phones lack most of XSI (no CiscoIPPhoneResponse/Error, no
//! RTP URIs ...), so the difference matters. [`ModelFamily::from_model_name`] treats a name as
//! MPP when it carries a `3PCC` or `MPP` hint (e.g. `CP-8845-3PCC`) or is a 6800 (MPP only);
//! when the firmware is known another way (configuration, a SIP `User-Agent`), say so with
//! [`ModelFamily::from_model_name_and_firmware`] and [`Firmware::Multiplatform`].

/// A group of models that share XSI capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFamily {
    /// 7900 series (CP-7940, CP-7970, CP-7905G ...): the original XSI phones.
    Legacy79xx,
    /// 6900 series (CP-6941 ...), enterprise firmware.
    Phone69xx,
    /// 7800 series (CP-7811/7821/7841/7861), enterprise firmware.
    Phone78xx,
    /// Conference phone CP-7832.
    Conference7832,
    /// 8800 series desk phones (CP-8811/8841/8845/8851/8861/8865), enterprise firmware.
    Phone88xx,
    /// Wireless phone CP-8821 / 8821-EX.
    Phone8821,
    /// Conference phone CP-8831.
    Conference8831,
    /// Conference phone CP-8832.
    Conference8832,
    /// Wireless phone 9821.
    Wireless9821,
    /// Video phone 8875 / 8875NR (touch UI, SettingsMenu URIs).
    Phone8875,
    /// 8900 and 9900 series.
    Phone89xx99xx,
    /// Desk phones 9851/9861/9871 (PhoneOS).
    Phone9800,
    /// Desk phones 9811/9841 (PhoneOS, no CiscoIPPhoneStatus).
    Phone9800Entry,
    /// 6800/7800/7832/8800 on Multiplatform (3PCC) firmware.
    Mpp,
    /// Anything not recognised; gets the common XSI subset.
    Other,
}

/// Which firmware a phone runs, when known from outside its model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Firmware {
    /// CUCM (enterprise) firmware, or not known: decided by the model name alone.
    Enterprise,
    /// Multiplatform (3PCC) firmware.
    Multiplatform,
}

impl ModelFamily {
    /// The family of a model name such as `CP-8845`, `DP-9841`, `Cisco CP-7970G`, `8821-EX`
    /// or `CP-8845-3PCC`. Case and surrounding text are ignored; see the module docs for MPP.
    pub fn from_model_name(name: &str) -> Self {
        Self::from_model_name_and_firmware(name, Firmware::Enterprise)
    }

    /// As [`Self::from_model_name`], with the firmware known from elsewhere. Multiplatform
    /// firmware maps 6800/7800/7832/8800 models to [`ModelFamily::Mpp`]; other models have no
    /// MPP variant and keep their family.
    pub fn from_model_name_and_firmware(name: &str, firmware: Firmware) -> Self {
        let upper = name.to_ascii_uppercase();
        let hinted = upper.contains("3PCC") || upper.contains("MPP");
        let Some(number) = model_number(&upper) else {
            return if hinted {
                ModelFamily::Mpp
            } else {
                ModelFamily::Other
            };
        };
        let family = Self::from_number(number);
        let mpp_capable = matches!(
            family,
            ModelFamily::Phone78xx | ModelFamily::Conference7832 | ModelFamily::Phone88xx
        ) || (6800..6900).contains(&number);
        if mpp_capable && (hinted || firmware == Firmware::Multiplatform) {
            return ModelFamily::Mpp;
        }
        family
    }

    fn from_number(number: u32) -> Self {
        match number {
            // The 6800 series only ships with Multiplatform firmware.
            6800..=6899 => ModelFamily::Mpp,
            6900..=6999 => ModelFamily::Phone69xx,
            7832 => ModelFamily::Conference7832,
            7800..=7899 => ModelFamily::Phone78xx,
            7900..=7999 => ModelFamily::Legacy79xx,
            8821 => ModelFamily::Phone8821,
            8831 => ModelFamily::Conference8831,
            8832 => ModelFamily::Conference8832,
            8875 => ModelFamily::Phone8875,
            8800..=8899 => ModelFamily::Phone88xx,
            8900..=8999 | 9900..=9999 => ModelFamily::Phone89xx99xx,
            9821 => ModelFamily::Wireless9821,
            9811 | 9841 => ModelFamily::Phone9800Entry,
            9800..=9899 => ModelFamily::Phone9800,
            _ => ModelFamily::Other,
        }
    }

    /// What this family supports.
    pub fn capabilities(self) -> Capabilities {
        use ModelFamily as F;
        let mpp = self == F::Mpp;
        Capabilities {
            execute_response: !mpp,
            rtp_uris: !mpp,
            display_uri: !mpp,
            notify: !mpp,
            send_digits: !mpp,
            app_uri: !mpp,
            query_string_param: !mpp,
            // These models have no CiscoIPPhoneStatus: show a CiscoIPPhoneText instead. MPP
            // covers 7800/7832, so it is treated the same way.
            status_object: !matches!(
                self,
                F::Phone78xx
                    | F::Conference7832
                    | F::Phone8821
                    | F::Conference8831
                    | F::Phone9800Entry
                    | F::Mpp
            ),
            soft_keys: match self {
                F::Phone88xx => 5,
                F::Phone8821 => 2,
                _ => 4,
            },
            settings_menu: self == F::Phone8875,
            generate_prt: self == F::Phone8821,
            audio_path_field: matches!(self, F::Phone8821 | F::Wireless9821),
            input_post: matches!(
                self,
                F::Phone78xx | F::Phone88xx | F::Conference7832 | F::Conference8832
            ),
            max_object_bytes: MAX_POST_BYTES,
        }
    }
}

/// "Any HTTP POST object is limited to 40 Kbytes in size."
pub const MAX_POST_BYTES: usize = 40 * 1024;

/// "JTAPI-pushed objects are limited to a maximum size of 512 bytes."
pub const MAX_JTAPI_PUSH_BYTES: usize = 512;

/// The first run of 4 digits in an upper-cased model name: `CP-8845-3PCC` → 8845. A run of
/// another length (the `3` of `3PCC`, a serial number) is skipped.
fn model_number(upper: &str) -> Option<u32> {
    upper
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 4)
        .and_then(|run| run.parse().ok())
}

/// What a model family supports, as zonecast needs to know it before pushing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Replies to a push with CiscoIPPhoneResponse / CiscoIPPhoneError (MPP: neither).
    pub execute_response: bool,
    /// RTPRx/RTPTx/RTPMRx/RTPMTx URIs and startMedia.
    pub rtp_uris: bool,
    /// `Display:` URIs.
    pub display_uri: bool,
    /// `Notify:` URIs (from event handlers).
    pub notify: bool,
    /// `SendDigits:` URIs.
    pub send_digits: bool,
    /// `App:` URIs and application events.
    pub app_uri: bool,
    /// `QueryStringParam:` URIs.
    pub query_string_param: bool,
    /// CiscoIPPhoneStatus; when false show a CiscoIPPhoneText instead.
    pub status_object: bool,
    /// Highest `Key:SoftN` (8800: 5, 8821: 2, most: 4).
    pub soft_keys: u8,
    /// `SettingsMenu:` / `Button:` URIs (8875 only).
    pub settings_menu: bool,
    /// `Device:GeneratePRT` / `Device:PRTStatus` (8821 only).
    pub generate_prt: bool,
    /// The RTP URIs' audio-path field `s` (8821/9821).
    pub audio_path_field: bool,
    /// CiscoIPPhoneInput with `<URL method="post">` (7800, 8800, 7832, 8832).
    pub input_post: bool,
    /// Largest object a push may carry.
    pub max_object_bytes: usize,
}

impl Capabilities {
    /// Shorthand for `ModelFamily::from_model_name(name).capabilities()`.
    pub fn for_model_name(name: &str) -> Self {
        ModelFamily::from_model_name(name).capabilities()
    }
}

#[cfg(test)]
mod tests {
    use super::ModelFamily as F;
    use super::*;

    #[test]
    fn families_from_model_names() {
        for (name, family) in [
            ("CP-7940", F::Legacy79xx),
            ("CP-7970G", F::Legacy79xx),
            ("CP-7905G", F::Legacy79xx),
            ("CP-6941", F::Phone69xx),
            ("CP-7861", F::Phone78xx),
            ("CP-7832", F::Conference7832),
            ("CP-8845", F::Phone88xx),
            ("cp-8865", F::Phone88xx),
            ("CP-8821", F::Phone8821),
            ("CP-8821-EX", F::Phone8821),
            ("CP-8831", F::Conference8831),
            ("CP-8832", F::Conference8832),
            ("CP-9821", F::Wireless9821),
            ("CP-8875", F::Phone8875),
            ("CP-8875NR", F::Phone8875),
            ("CP-8961", F::Phone89xx99xx),
            ("CP-9971", F::Phone89xx99xx),
            ("DP-9841", F::Phone9800Entry),
            ("DP-9811", F::Phone9800Entry),
            ("DP-9861", F::Phone9800),
            ("DP-9871", F::Phone9800),
            ("CP-6851", F::Mpp),
            ("Cisco IP Phone CP-8845 ", F::Phone88xx),
            ("", F::Other),
            ("ATA191", F::Other),
            ("CP-1234", F::Other),
        ] {
            assert_eq!(F::from_model_name(name), family, "{name}");
        }
    }

    #[test]
    fn mpp_needs_a_hint_or_the_firmware() {
        assert_eq!(F::from_model_name("CP-8845-3PCC"), F::Mpp);
        assert_eq!(F::from_model_name("CP-7841 MPP"), F::Mpp);
        assert_eq!(F::from_model_name("CP-7832-3PCC"), F::Mpp);
        let mpp = Firmware::Multiplatform;
        assert_eq!(F::from_model_name_and_firmware("CP-8845", mpp), F::Mpp);
        assert_eq!(F::from_model_name_and_firmware("CP-7821", mpp), F::Mpp);
        // Models without an MPP variant keep their family.
        assert_eq!(
            F::from_model_name_and_firmware("CP-8821", mpp),
            F::Phone8821
        );
        assert_eq!(
            F::from_model_name_and_firmware("CP-7940", mpp),
            F::Legacy79xx
        );
    }

    #[test]
    fn mpp_lacks_response_display_notify_digits_app_query_and_rtp() {
        let c = F::Mpp.capabilities();
        assert!(!c.execute_response);
        assert!(!c.display_uri);
        assert!(!c.notify);
        assert!(!c.send_digits);
        assert!(!c.app_uri);
        assert!(!c.query_string_param);
        assert!(!c.rtp_uris);
        let e = F::Phone88xx.capabilities();
        assert!(e.execute_response && e.display_uri && e.notify && e.send_digits);
        assert!(e.app_uri && e.query_string_param && e.rtp_uris);
    }

    #[test]
    fn status_object_missing_on_some_models() {
        for name in [
            "CP-7841", "CP-7832", "CP-8821", "CP-8831", "DP-9811", "DP-9841",
        ] {
            assert!(!Capabilities::for_model_name(name).status_object, "{name}");
        }
        for name in ["CP-7970", "CP-8845", "CP-8832", "DP-9861", "CP-8875"] {
            assert!(Capabilities::for_model_name(name).status_object, "{name}");
        }
    }

    #[test]
    fn soft_key_counts() {
        assert_eq!(Capabilities::for_model_name("CP-8851").soft_keys, 5);
        assert_eq!(Capabilities::for_model_name("CP-8821").soft_keys, 2);
        assert_eq!(Capabilities::for_model_name("CP-7970").soft_keys, 4);
        assert_eq!(Capabilities::for_model_name("CP-7861").soft_keys, 4);
    }

    #[test]
    fn model_exclusive_features() {
        for family in [
            F::Legacy79xx,
            F::Phone69xx,
            F::Phone78xx,
            F::Conference7832,
            F::Phone88xx,
            F::Phone8821,
            F::Conference8831,
            F::Conference8832,
            F::Wireless9821,
            F::Phone8875,
            F::Phone89xx99xx,
            F::Phone9800,
            F::Phone9800Entry,
            F::Mpp,
            F::Other,
        ] {
            let c = family.capabilities();
            assert_eq!(c.settings_menu, family == F::Phone8875, "{family:?}");
            assert_eq!(c.generate_prt, family == F::Phone8821, "{family:?}");
            assert_eq!(
                c.audio_path_field,
                matches!(family, F::Phone8821 | F::Wireless9821),
                "{family:?}"
            );
            assert_eq!(c.max_object_bytes, 40 * 1024);
        }
    }

    #[test]
    fn input_post_on_7800_8800_7832_8832_only() {
        for name in ["CP-7811", "CP-8845", "CP-7832", "CP-8832"] {
            assert!(Capabilities::for_model_name(name).input_post, "{name}");
        }
        for name in [
            "CP-7940",
            "CP-8821",
            "CP-8831",
            "CP-8875",
            "DP-9841",
            "CP-8845-3PCC",
        ] {
            assert!(!Capabilities::for_model_name(name).input_post, "{name}");
        }
    }
}
