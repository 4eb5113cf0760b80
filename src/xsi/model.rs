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
//! [`ModelFamily::from_model_name_and_firmware`] and [`Firmware::Multiplatform`]. An MPP 8800
//! ([`ModelFamily::Mpp88xx`]) stays in the 8800 series ([`ModelFamily::is_8800_series`]) for
//! the rules that name it.
//!
//! ## Sources
//!
//! The spec refers to per-model support tables it does not contain. Each rule cites where it
//! comes from on its [`Capabilities`] field (or on [`ModelFamily::is_8800_series`]): a line of
//! the spec, a Cisco document, or "not stated in the spec" and what was chosen.

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
    /// 6800/7800/7832 on Multiplatform (3PCC) firmware.
    Mpp,
    /// The 8800 series ([`ModelFamily::is_8800_series`]: 88x1/88x5, 8832, 8875) on
    /// Multiplatform firmware, e.g. `CP-8845-3PCC`, `CP-8832-3PCC`. Lacks what [`Mpp`] lacks;
    /// kept apart because the spec's "8800 Series" rules (five soft keys ...) name it too.
    ///
    /// [`Mpp`]: ModelFamily::Mpp
    Mpp88xx,
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
    /// firmware maps 6800/7800/7832 models to [`ModelFamily::Mpp`] and the 8800 series to
    /// [`ModelFamily::Mpp88xx`]; other models have no MPP variant and keep their family.
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
        if !(hinted || firmware == Firmware::Multiplatform) {
            return family;
        }
        family.on_multiplatform().unwrap_or(family)
    }

    /// This family on Multiplatform firmware, or `None` when the models have none.
    ///
    /// The spec's Notes: "The Multiplatform Phones (6800/7800/7832/8800)". Which 8800 models
    /// have such firmware is not stated in the spec; chosen: the 8800 series of
    /// [`Self::is_8800_series`] except the 8831 (Cisco ships no Multiplatform 8831), so
    /// `CP-8832-3PCC` and `CP-8875-3PCC` are [`ModelFamily::Mpp88xx`]. The 8821 and the
    /// 9800/9821 are not in the spec's list and keep their family.
    fn on_multiplatform(self) -> Option<ModelFamily> {
        use ModelFamily as F;
        match self {
            F::Phone78xx | F::Conference7832 | F::Mpp => Some(F::Mpp),
            F::Phone88xx | F::Conference8832 | F::Phone8875 | F::Mpp88xx => Some(F::Mpp88xx),
            _ => None,
        }
    }

    /// Whether this family runs Multiplatform (3PCC) firmware.
    pub fn multiplatform(self) -> bool {
        matches!(self, ModelFamily::Mpp | ModelFamily::Mpp88xx)
    }

    /// The spec's "8800 Series", as every rule that says "8800" uses it: the 8811, 8841, 8845,
    /// 8851(NR), 8861, 8865(NR) desk phones, the 8875/8875NR video phone, the 8831 and 8832
    /// conference phones, and the Multiplatform 88xx. Not the 8821: the spec names it apart
    /// ("1 to 5 (8800 Series); ... 1 to 2 (8821 Wireless)").
    ///
    /// Source: the spec does not list the members; Cisco's own support table does ("Cisco IP
    /// Phone Services Application Development Notes", Internal URI Features, Table 2 "URIs
    /// Supported by Cisco Unified IP Phone Services SDK for Cisco IP Phone 8800 Series and
    /// Cisco IP Conference Phones (On-Premise)", columns "8811, 8841, 8845, 8851, 8851NR,
    /// 8861, 8865, 8865NR, 8875, 8875NR", "8831", "8832"; https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/cuipph/all_models/xsi/9-1-1/CUIP_BK_P82B3B16_00_phones-services-application-development-notes/CUIP_BK_P82B3B16_00_phones-services-application-development-notes1_chapter_0101.html).
    /// The wireless 8821 has its own table there.
    pub fn is_8800_series(self) -> bool {
        use ModelFamily as F;
        matches!(
            self,
            F::Phone88xx | F::Phone8875 | F::Conference8831 | F::Conference8832 | F::Mpp88xx
        )
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

    /// What this family supports. Each field's rule and its source are on the field of
    /// [`Capabilities`].
    pub fn capabilities(self) -> Capabilities {
        use ModelFamily as F;
        let mpp = self.multiplatform();
        let series_8800 = self.is_8800_series();
        Capabilities {
            execute_response: !mpp,
            rtp_uris: !mpp,
            display_uri: !mpp,
            notify: !mpp,
            send_digits: !mpp,
            app_uri: !mpp,
            query_string_param: !mpp,
            // These models have no CiscoIPPhoneStatus: show a CiscoIPPhoneText instead. MPP
            // covers 7800/7832 (and its 8800 is treated the same way).
            status_object: !matches!(
                self,
                F::Phone78xx
                    | F::Conference7832
                    | F::Phone8821
                    | F::Conference8831
                    | F::Phone9800Entry
                    | F::Mpp
                    | F::Mpp88xx
            ),
            soft_keys: match self {
                F::Phone8821 => 2,
                _ if series_8800 => 5,
                _ => 4,
            },
            settings_menu: self == F::Phone8875,
            generate_prt: self == F::Phone8821,
            wireless_keys: self == F::Phone8821,
            fixed_feature_keys: matches!(self, F::Phone9800 | F::Phone9800Entry),
            dial_app_ui: series_8800,
            input_post: series_8800 || matches!(self, F::Phone78xx | F::Conference7832),
            g722: !mpp && !matches!(self, F::Legacy79xx | F::Phone69xx | F::Other),
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
///
/// The first seven fields are false on Multiplatform firmware only. Source: the spec's Notes,
/// "The Multiplatform Phones (6800/7800/7832/8800) do NOT support CiscoIPPhoneResponse,
/// CiscoIPPhoneError, Display, Notify, SendDigits, Application, QueryStringParam,
/// Unicast/Multicast RTP", and its Feedbacks, "6800/7800/8800 Multiplatform Phones do NOT
/// support CiscoIPPhoneResponse".
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
    /// CiscoIPPhoneStatus; when false show a CiscoIPPhoneText instead. False on the 7800,
    /// 7832, 8821, 8831, 9811/9841 and Multiplatform firmware. Not stated in the spec (it names
    /// per-model object tables it does not contain); chosen: these models get a Text, which
    /// every model shows, rather than risk "Unsupported XML Object" on the phone's screen.
    pub status_object: bool,
    /// Highest `Key:SoftN`: 5 on the 8800 series ([`ModelFamily::is_8800_series`]), 2 on the
    /// 8821, 4 on the rest. Source: the spec's `Key:Soft{n}`, "1 to 5 (8800 Series); 1 to 4
    /// (most phones); 1 to 2 (8821 Wireless)".
    pub soft_keys: u8,
    /// `SettingsMenu:` and `Button:` URIs and the settings keys `Key:Key_0`..`Key_9`,
    /// `Key_Asterisk`, `Key_Period`, `Key_NumberSign`: the 8875/8875NR on enterprise firmware
    /// only. Source: the spec's heading "Settings Menu URIs (Cisco Video Phone 8875 / 8875NR
    /// on CUCM only)", under which all of these are listed.
    pub settings_menu: bool,
    /// `Device:GeneratePRT` / `Device:PRTStatus` (8821 only). Source: the spec's
    /// "Device - GeneratePRT (8821 only)", "Device - PRTStatus (8821 only)".
    pub generate_prt: bool,
    /// `Key:Vibrate`, `Key:Offhook`, `Key:Onhook`, `Key:PTT` (8821 only, the 8821-EX
    /// included; not the 9821). Source: the spec's Notes, "The 8821 Wireless adds Vibrate,
    /// Offhook, Onhook, PTT keys exclusive to it."
    pub wireless_keys: bool,
    /// `Key:FixedFeature1`..`3` (Desk 9800: 9811, 9841, 9851, 9861, 9871; 1 Transfer,
    /// 2 Conference, 3 Hold). Source: the spec's `Key:FixedFeature{n}`, "On Desk 9800 with
    /// PhoneOS 3.1(1)+: FixedFeature1=Transfer, FixedFeature2=Conference,
    /// FixedFeature3=Hold", and its Known Gaps, which call this the PhoneOS 3.1(1) "new URI"
    /// for the 9800 Series. No other model is named for these keys; chosen: refused on every
    /// other model (they have `Key:Transfer`, `Key:Conference`, `Key:Hold` instead). The
    /// PhoneOS version is not checked: zonecast does not know it before pushing.
    pub fixed_feature_keys: bool,
    /// `Dial:`'s `useAppUI` set to 1 and any `audibleFeedback` field (8800 series only).
    /// Source: the spec's Dial params, "useAppUI ... (8800 Series only)" and "audibleFeedback
    /// ... (8800 Series only)". `useAppUI` written as its default 0 stays allowed everywhere:
    /// the field is positional and must be on the wire before an `applicationId`, which the
    /// spec allows on the 7900/8900/9900 too, and Cisco's notes for the 7900 (OL-20949-01,
    /// Release 7.1(3)) give the same format, `Dial:{dialSequence}[:{useAppUI}:{applicationId}
    /// [:audibleFeedback]]`.
    pub dial_app_ui: bool,
    /// CiscoIPPhoneInput with `<URL method="post">`: the 7800, the 8800 series, the 7832 (and
    /// the 8832, a member of the 8800 series). Source: the spec's object_input, "HTTP POST
    /// method supported only on 7800, 8800, 7832, 8832." Not stated for Multiplatform
    /// firmware; chosen: [`ModelFamily::Mpp88xx`] has it (it is "8800"), [`ModelFamily::Mpp`]
    /// does not (that family mixes in the 6800, which the list leaves out).
    pub input_post: bool,
    /// `startMedia` with `<codec>G.722</codec>` (wideband RTP, payload type 9). Not stated in
    /// the spec: it lists G.711, G.729 and G.722 as the `startMedia` codecs ("Only these codecs
    /// supported"; Notes: "G.711/G.722/G.729 for startMedia") and says per-model support
    /// "varies significantly" without the tables. Chosen (the project's reading of which
    /// families are wideband phones throughout): the 7800, 7832, 8800 series (88x1/88x5, 8821,
    /// 8831, 8832, 8875), 8900/9900, 9821 and 9800 take it; the 7900 and 6900 families do not,
    /// because they mix in narrowband-only models (CP-7940/7960/7905, CP-6901/6911) and the
    /// model name alone cannot tell them apart; an unrecognised model gets the common subset
    /// (G.711); Multiplatform firmware has no `startMedia` at all. A phone refuses what it cannot play as the RTP Streaming API's error table says
    /// for a media resource it lacks: 400, `UnavailableResource`.
    pub g722: bool,
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
    fn g722_on_wideband_families_only() {
        let g722 = |m: &str| Capabilities::for_model_name(m).g722;
        for m in [
            "CP-8845", "CP-8861", "CP-8821", "CP-7841", "CP-8832", "CP-9871", "CP-8875",
        ] {
            assert!(g722(m), "{m}");
        }
        for m in [
            "CP-7940",
            "CP-7965G",
            "CP-6941",
            "CP-8845-3PCC",
            "CP-6851",
            "Unknown",
        ] {
            assert!(!g722(m), "{m}");
        }
    }

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
        assert_eq!(F::from_model_name("CP-8845-3PCC"), F::Mpp88xx);
        assert_eq!(F::from_model_name("CP-7841 MPP"), F::Mpp);
        assert_eq!(F::from_model_name("CP-7832-3PCC"), F::Mpp);
        assert_eq!(F::from_model_name("CP-6851"), F::Mpp);
        let mpp = Firmware::Multiplatform;
        assert_eq!(F::from_model_name_and_firmware("CP-8845", mpp), F::Mpp88xx);
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
    fn the_8832_3pcc_is_multiplatform() {
        // The spec's Multiplatform list says "8800"; the 8832 is in the 8800 series.
        assert_eq!(F::from_model_name("CP-8832-3PCC"), F::Mpp88xx);
        assert_eq!(F::from_model_name("CP-8875-3PCC"), F::Mpp88xx);
        assert!(!Capabilities::for_model_name("CP-8832-3PCC").execute_response);
        assert!(!Capabilities::for_model_name("CP-8875-3PCC").settings_menu);
        // Chosen: no Multiplatform 8831; the 8821 is not in the spec's list.
        assert_eq!(F::from_model_name("CP-8831-3PCC"), F::Conference8831);
        assert_eq!(F::from_model_name("CP-8821-3PCC"), F::Phone8821);
    }

    #[test]
    fn the_8800_series_is_one_predicate_with_its_members() {
        for name in [
            "CP-8811",
            "CP-8841",
            "CP-8845",
            "CP-8851",
            "CP-8851NR",
            "CP-8861",
            "CP-8865",
            "CP-8865NR",
            "CP-8875",
            "CP-8875NR",
            "CP-8831",
            "CP-8832",
            "CP-8845-3PCC",
            "CP-8832-3PCC",
        ] {
            assert!(F::from_model_name(name).is_8800_series(), "{name}");
        }
        for name in [
            "CP-8821",
            "CP-8821-EX",
            "CP-9821",
            "CP-7841",
            "CP-7832",
            "CP-7841-3PCC",
            "CP-6851",
            "CP-8961",
            "DP-9861",
            "CP-7970",
        ] {
            assert!(!F::from_model_name(name).is_8800_series(), "{name}");
        }
    }

    #[test]
    fn mpp_lacks_response_display_notify_digits_app_query_and_rtp() {
        for c in [F::Mpp.capabilities(), F::Mpp88xx.capabilities()] {
            assert!(!c.execute_response);
            assert!(!c.display_uri);
            assert!(!c.notify);
            assert!(!c.send_digits);
            assert!(!c.app_uri);
            assert!(!c.query_string_param);
            assert!(!c.rtp_uris);
            assert!(!c.status_object);
        }
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
        // 5 on the whole 8800 series, the conference phones, the 8875 and MPP 88xx included.
        for name in [
            "CP-8851",
            "CP-8875",
            "CP-8831",
            "CP-8832",
            "CP-8845-3PCC",
            "CP-8832-3PCC",
        ] {
            assert_eq!(Capabilities::for_model_name(name).soft_keys, 5, "{name}");
        }
        assert_eq!(Capabilities::for_model_name("CP-8821").soft_keys, 2);
        assert_eq!(Capabilities::for_model_name("CP-8821-EX").soft_keys, 2);
        for name in ["CP-7970", "CP-7861", "CP-7841-3PCC", "CP-9821", "DP-9841"] {
            assert_eq!(Capabilities::for_model_name(name).soft_keys, 4, "{name}");
        }
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
            F::Mpp88xx,
            F::Other,
        ] {
            let c = family.capabilities();
            assert_eq!(c.settings_menu, family == F::Phone8875, "{family:?}");
            assert_eq!(c.generate_prt, family == F::Phone8821, "{family:?}");
            assert_eq!(c.wireless_keys, family == F::Phone8821, "{family:?}");
            assert_eq!(
                c.fixed_feature_keys,
                matches!(family, F::Phone9800 | F::Phone9800Entry),
                "{family:?}"
            );
            assert_eq!(c.dial_app_ui, family.is_8800_series(), "{family:?}");
            assert_eq!(c.max_object_bytes, 40 * 1024);
        }
    }

    #[test]
    fn input_post_on_7800_8800_7832_8832_only() {
        // "8800" is the 8800 series: the 8831, the 8875 and MPP 88xx with it.
        for name in [
            "CP-7811",
            "CP-8845",
            "CP-7832",
            "CP-8832",
            "CP-8831",
            "CP-8875",
            "CP-8845-3PCC",
        ] {
            assert!(Capabilities::for_model_name(name).input_post, "{name}");
        }
        for name in [
            "CP-7940", "CP-8821", "CP-9821", "DP-9841", "CP-6851", "CP-6941",
        ] {
            assert!(!Capabilities::for_model_name(name).input_post, "{name}");
        }
    }
}
