//! Planning a push for a phone model: what it cannot do is refused before anything is sent,
//! with the reason. Joins [`Uri`] and the objects to [`Capabilities`].

use super::model::Capabilities;
use super::object::{ExecuteUrl, Input};
use super::uri::{DeviceCmd, Key, KeyRule, Uri};
use crate::error::Invalid;

impl TryFrom<&Uri> for ExecuteUrl {
    type Error = Invalid;
    /// An internal URI as an Execute item; refuses the families the spec does not allow inside
    /// a CiscoIPPhoneExecute (Notify, QueryStringParam, Resource).
    fn try_from(uri: &Uri) -> Result<ExecuteUrl, Invalid> {
        if !uri.allowed_in_execute() {
            return Err(Invalid::new(
                "ExecuteItem URL",
                uri,
                format!(
                    "{} URIs are not executable inside CiscoIPPhoneExecute",
                    uri.family()
                ),
            ));
        }
        ExecuteUrl::internal(&uri.to_string())
    }
}

impl Capabilities {
    /// Whether a phone with these capabilities can execute `uri`; `Err` says why not, naming
    /// the URI and the rule. The rules and their sources are on the fields of
    /// [`Capabilities`]; order within a sequence is [`check_order`]'s.
    pub fn check_uri(&self, uri: &Uri) -> Result<(), String> {
        let (ok, what) = match uri {
            Uri::RtpRx(_)
            | Uri::RtpMRx(_)
            | Uri::RtpRxStop
            | Uri::RtpTx(_)
            | Uri::RtpTxStop
            | Uri::RtpMRxStop
            | Uri::RtpMTx(_)
            | Uri::RtpMTxStop => (self.rtp_uris, "RTP streaming URIs"),
            Uri::Display(_) => (self.display_uri, "Display URIs"),
            Uri::Notify(_) => (self.notify, "Notify URIs"),
            Uri::SendDigits(_) => (self.send_digits, "SendDigits URIs"),
            Uri::App(_) => (self.app_uri, "App URIs"),
            Uri::QueryStringParam(_) => (self.query_string_param, "QueryStringParam URIs"),
            Uri::SettingsMenu(_) | Uri::Button(_) => (
                self.settings_menu,
                "SettingsMenu/Button URIs (8875/8875NR on CUCM only)",
            ),
            Uri::Device(DeviceCmd::GeneratePRT | DeviceCmd::PRTStatus) => (
                self.generate_prt,
                "Device:GeneratePRT/PRTStatus (8821 only)",
            ),
            Uri::Dial(d) => (
                self.dial_app_ui
                    || (d.use_app_ui() != Some(true) && d.audible_feedback().is_none()),
                "Dial's useAppUI=1 and audibleFeedback (8800 series only)",
            ),
            Uri::Key(k) => return self.check_key(*k),
            _ => (true, ""),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("this model does not support {what} ({uri})"))
        }
    }

    /// The model-exclusive keys ([`Key::model_rule`]).
    fn check_key(&self, key: Key) -> Result<(), String> {
        let (ok, rule) = match key.model_rule() {
            None => return Ok(()),
            Some(KeyRule::SoftKey(n)) => {
                if n <= u32::from(self.soft_keys) {
                    return Ok(());
                }
                return Err(format!(
                    "this model has {} soft keys; Key:{key} does not exist on it \
                     (Soft1-5 on the 8800 series, 1-4 on most phones, 1-2 on the 8821)",
                    self.soft_keys
                ));
            }
            Some(KeyRule::Wireless8821) => (
                self.wireless_keys,
                "Vibrate, Offhook, Onhook and PTT are keys of the 8821 only",
            ),
            Some(KeyRule::Settings8875) => (
                self.settings_menu,
                "Key_0..Key_9, Key_Asterisk, Key_Period and Key_NumberSign are settings keys \
                 of the 8875/8875NR (CUCM) only",
            ),
            Some(KeyRule::FixedFeature9800) => (
                self.fixed_feature_keys,
                "FixedFeature1-3 (Transfer, Conference, Hold) are keys of the Desk 9800 only",
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("this model does not support Key:{key}: {rule}"))
        }
    }

    /// Whether this model can submit `input` as it asks: `<URL method="post">` only where
    /// [`Capabilities::input_post`] says so (elsewhere the phone would submit with GET, which
    /// the server behind the URL may not expect).
    pub fn check_input(&self, input: &Input) -> Result<(), String> {
        if input.posts() && !self.input_post {
            return Err(
                "this model cannot submit a CiscoIPPhoneInput with <URL method=\"post\"> \
                 (HTTP POST only on the 7800, 8800 series and 7832): use GET"
                    .into(),
            );
        }
        Ok(())
    }

    /// Whether an XML object with root element `root` can be pushed to this model; the caller
    /// adapts where an equivalent exists (Status → Text).
    pub fn check_object(&self, root: &str, bytes: usize) -> Result<(), String> {
        if matches!(root, "CiscoIPPhoneStatus" | "CiscoIPPhoneStatusFile") && !self.status_object {
            return Err(format!(
                "this model has no {root} object (use CiscoIPPhoneText)"
            ));
        }
        if bytes > self.max_object_bytes {
            return Err(format!(
                "{root} of {bytes} bytes exceeds this model's {} byte limit",
                self.max_object_bytes
            ));
        }
        Ok(())
    }
}

/// Refuses a sequence of URIs (one push, or every step of a macro, in order) where a
/// `SettingsMenu:` comes before any `Key:Applications`: the 8875's settings screens are
/// reached from the Applications screen, so a `SettingsMenu:` without it lands nowhere.
/// Source: the spec's Notes, "ordering matters (Key:Applications must precede SettingsMenu
/// URIs)". Holds for every model, since it is about order, not support.
pub fn check_order<'a>(uris: impl IntoIterator<Item = &'a Uri>) -> Result<(), Invalid> {
    for uri in uris {
        match uri {
            Uri::Key(Key::Applications) => return Ok(()),
            Uri::SettingsMenu(_) => {
                return Err(Invalid::new(
                    "SettingsMenu URI",
                    uri,
                    "must come after Key:Applications in the same sequence \
                     (Key:Applications must precede SettingsMenu URIs)",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(model: &str) -> Capabilities {
        Capabilities::for_model_name(model)
    }

    #[test]
    fn uris_become_execute_items_except_the_forbidden_families() {
        let u: Uri = "RTPMRx:239.1.1.1:20480:80".parse().unwrap();
        assert_eq!(
            ExecuteUrl::try_from(&u).unwrap().as_str(),
            "RTPMRx:239.1.1.1:20480:80"
        );
        let n: Uri = "Notify:http:10.0.0.1:80:path".parse().unwrap();
        let e = ExecuteUrl::try_from(&n).unwrap_err();
        assert!(e.rule.contains("Notify"), "{e}");
    }

    #[test]
    fn models_refuse_what_they_cannot_do_with_the_reason() {
        let rx: Uri = "RTPMRx:239.1.1.1:20480".parse().unwrap();
        assert!(caps("CP-8845").check_uri(&rx).is_ok());
        let mpp = Capabilities::for_model_name("CP-8845-3PCC");
        let why = mpp.check_uri(&rx).unwrap_err();
        assert!(why.contains("RTP"), "{why}");
        let soft5: Uri = "Key:Soft5".parse().unwrap();
        assert!(caps("CP-8845").check_uri(&soft5).is_ok());
        assert!(caps("CP-7945").check_uri(&soft5).is_err());
        let prt: Uri = "Device:GeneratePRT".parse().unwrap();
        assert!(caps("CP-8821").check_uri(&prt).is_ok());
        assert!(caps("CP-8845").check_uri(&prt).is_err());
        let menu: Uri = "SettingsMenu:AlternateTFTP".parse().unwrap();
        assert!(caps("CP-8875").check_uri(&menu).is_ok());
        assert!(caps("CP-8845").check_uri(&menu).is_err());
    }

    fn uri(s: &str) -> Uri {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// `uris` pass on every model of `yes` and are refused on every model of `no`, the
    /// refusal containing `why`.
    fn only_on(uris: &[&str], yes: &[&str], no: &[&str], why: &str) {
        for s in uris {
            let u = uri(s);
            for m in yes {
                assert_eq!(caps(m).check_uri(&u), Ok(()), "{s} on {m}");
            }
            for m in no {
                let Err(e) = caps(m).check_uri(&u) else {
                    panic!("{s} accepted on {m}")
                };
                assert!(e.contains(why) && e.contains(s), "{s} on {m}: {e}");
            }
        }
    }

    #[test]
    fn the_8821_keys_are_refused_on_every_other_model() {
        only_on(
            &["Key:Vibrate", "Key:Offhook", "Key:Onhook", "Key:PTT"],
            &["CP-8821", "CP-8821-EX"],
            &[
                "CP-8851",
                "CP-9821",
                "CP-7841",
                "CP-8875",
                "CP-8831",
                "DP-9841",
                "CP-7970",
                "CP-6941",
                "CP-8845-3PCC",
            ],
            "keys of the 8821 only",
        );
    }

    #[test]
    fn the_settings_keys_are_the_8875s_only() {
        only_on(
            &[
                "Key:Key_0",
                "Key:Key_9",
                "Key:Key_Asterisk",
                "Key:Key_Period",
                "Key:Key_NumberSign",
            ],
            &["CP-8875", "CP-8875NR"],
            &["CP-8845", "CP-8821", "CP-8832", "DP-9871", "CP-8875-3PCC"],
            "settings keys of the 8875/8875NR",
        );
    }

    #[test]
    fn soft_keys_per_model() {
        only_on(
            &["Key:Soft5"],
            &[
                "CP-8851",
                "CP-8875",
                "CP-8831",
                "CP-8832",
                "CP-8845-3PCC",
                "CP-8832-3PCC",
            ],
            &[
                "CP-7945",
                "CP-7841",
                "CP-8821",
                "CP-9821",
                "DP-9861",
                "CP-7841-3PCC",
            ],
            "soft keys",
        );
        only_on(
            &["Key:Soft3", "Key:Soft4"],
            &["CP-7841", "CP-9821", "CP-8851"],
            &["CP-8821"],
            "has 2 soft keys",
        );
        only_on(
            &["Key:Soft1", "Key:Soft2"],
            &["CP-8821", "CP-7841"],
            &[],
            "",
        );
    }

    #[test]
    fn fixed_feature_keys_are_the_desk_9800s() {
        only_on(
            &[
                "Key:FixedFeature1",
                "Key:FixedFeature2",
                "Key:FixedFeature3",
            ],
            &["DP-9811", "DP-9841", "DP-9851", "DP-9861", "DP-9871"],
            &["CP-8845", "CP-7841", "CP-8821", "CP-9821", "CP-7970"],
            "Desk 9800 only",
        );
    }

    #[test]
    fn dial_app_ui_and_audible_feedback_are_the_8800_seriess() {
        only_on(
            &["Dial:123:1", "Dial:123:0::1", "Dial:123:0:Company/App:0"],
            &["CP-8845", "CP-8875", "CP-8831", "CP-8832"],
            &["CP-7970", "CP-7841", "CP-8821", "CP-8961", "DP-9861"],
            "8800 series only",
        );
        // useAppUI as its default 0, in front of an applicationId, is only the format.
        only_on(
            &["Dial:123", "Dial:123:0", "Dial:123:0:Company/App"],
            &["CP-7970", "CP-8961", "CP-8845"],
            &[],
            "",
        );
    }

    #[test]
    fn the_audio_path_field_follows_the_spec_on_every_model_with_rtp() {
        // The spec limits `s` to no model; a path without a volume has an empty volume field.
        only_on(
            &[
                "RTPRx:10.0.0.1:20480:50:1",
                "RTPRx:10.0.0.1:20480::1",
                "RTPMRx:239.1.1.1:20480::2",
            ],
            &[
                "CP-8821", "CP-9821", "CP-8845", "CP-7841", "CP-7970", "DP-9841",
            ],
            &["CP-8845-3PCC", "CP-7841-3PCC"],
            "RTP streaming URIs",
        );
    }

    #[test]
    fn input_post_only_where_the_model_submits_with_post() {
        let get = Input::new("http://srv/s").unwrap();
        let post = get.clone().post();
        for m in [
            "CP-7841", "CP-8845", "CP-7832", "CP-8832", "CP-8875", "CP-8831",
        ] {
            assert_eq!(caps(m).check_input(&post), Ok(()), "{m}");
        }
        for m in ["CP-7970", "CP-8821", "DP-9841", "CP-6941", "CP-9821"] {
            let e = caps(m).check_input(&post).unwrap_err();
            assert!(e.contains("method=\"post\""), "{m}: {e}");
            assert_eq!(caps(m).check_input(&get), Ok(()), "{m}");
        }
    }

    #[test]
    fn settings_menu_needs_key_applications_earlier_in_the_sequence() {
        let seq = |v: &[&str]| v.iter().map(|s| uri(s)).collect::<Vec<_>>();
        for ok in [
            &["Key:Applications", "SettingsMenu:Networkconnection"][..],
            &[
                "Key:Applications",
                "Key:NavUp",
                "SettingsMenu:A",
                "SettingsMenu:B",
            ],
            &["Key:Key_1", "Button:Apply"],
            &[],
        ] {
            assert!(check_order(&seq(ok)).is_ok(), "{ok:?}");
        }
        for bad in [
            &["SettingsMenu:Networkconnection"][..],
            &["SettingsMenu:Networkconnection", "Key:Applications"],
            &["Key:Services", "SettingsMenu:AlternateTFTP"],
        ] {
            let e = check_order(&seq(bad)).unwrap_err();
            assert_eq!(e.field, "SettingsMenu URI", "{bad:?}");
            assert!(e.rule.contains("Key:Applications"), "{e}");
        }
    }

    #[test]
    fn status_objects_are_refused_where_the_model_lacks_them() {
        assert!(
            caps("CP-8845")
                .check_object("CiscoIPPhoneStatus", 200)
                .is_ok()
        );
        let why = caps("CP-7841")
            .check_object("CiscoIPPhoneStatus", 200)
            .unwrap_err();
        assert!(why.contains("CiscoIPPhoneText"), "{why}");
        assert!(
            caps("CP-8845")
                .check_object("CiscoIPPhoneText", 50_000)
                .is_err()
        );
    }
}
