//! Planning a push for a phone model: what it cannot do is refused before anything is sent,
//! with the reason. Joins [`Uri`] and the objects to [`Capabilities`].

use super::model::Capabilities;
use super::object::ExecuteUrl;
use super::uri::{DeviceCmd, Key, Uri};
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
    /// Whether a phone with these capabilities can execute `uri`; `Err` says why not.
    pub fn check_uri(&self, uri: &Uri) -> Result<(), String> {
        let (ok, what) = match uri {
            Uri::RtpRx(s) => (
                self.rtp_uris && (s.audio_path().is_none() || self.audio_path_field),
                if self.rtp_uris {
                    "the RTP audio path field"
                } else {
                    "RTP streaming URIs"
                },
            ),
            Uri::RtpMRx(s) => (
                self.rtp_uris && (s.audio_path().is_none() || self.audio_path_field),
                if self.rtp_uris {
                    "the RTP audio path field"
                } else {
                    "RTP streaming URIs"
                },
            ),
            Uri::RtpRxStop
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
            Uri::SettingsMenu(_) | Uri::Button(_) => {
                (self.settings_menu, "SettingsMenu/Button URIs")
            }
            Uri::Device(DeviceCmd::GeneratePRT | DeviceCmd::PRTStatus) => {
                (self.generate_prt, "Device:GeneratePRT/PRTStatus")
            }
            Uri::Key(Key::Soft(n)) if n.get() > u32::from(self.soft_keys) => {
                return Err(format!(
                    "this model has {} soft keys; {uri} does not exist on it",
                    self.soft_keys
                ));
            }
            _ => (true, ""),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("this model does not support {what} ({uri})"))
        }
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
        let with_path: Uri = "RTPRx:10.0.0.1:20480:50:1".parse().unwrap();
        assert!(caps("CP-8821").check_uri(&with_path).is_ok());
        assert!(
            caps("CP-8845")
                .check_uri(&with_path)
                .unwrap_err()
                .contains("audio path")
        );
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
