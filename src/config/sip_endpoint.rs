//! `[[sip_endpoint]]` tables: SIP speakers and SIP phones that answer by themselves. A page of
//! one of their zones calls them (an INVITE offering the page's G.711 stream, with an
//! auto-answer hint), sends the stream to the address their answer gives, and hangs up (BYE)
//! when the page ends. Their password is read only when a call is challenged, never logged.
//!
//! ```toml
//! [[sip_endpoint]]
//! name = "gym-sip-horn"
//! uri = "sip:horn@10.1.0.40:5060"     # sip:[user@]host[:port]
//! zones = ["gym", "all"]
//! auto_answer = "call-info"           # call-info (default) | alert-info | both | none
//! answer_timeout = "10s"              # no final answer by then: cancelled, "no answer"
//! user = "zonecast"                   # digest credentials, when the endpoint challenges
//! password_env = "ZONECAST_HORN_PASSWORD"   # or password_file
//! ```

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::phone::PasswordSource;
use super::source::Source;
use super::value::{Text, check_name, duration, relative};
use super::zone::Zone;
use crate::error::Invalid;

/// Most SIP endpoints a config may list.
pub const MAX_SIP_ENDPOINTS: usize = 1000;

/// How a call tells the endpoint to answer by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoAnswer {
    /// `Call-Info: <uri>;answer-after=0` (Cisco, Polycom, Yealink, most speakers).
    CallInfo,
    /// `Alert-Info: <http://127.0.0.1>;info=alert-autoanswer` (older Polycom, Grandstream).
    AlertInfo,
    /// Both headers.
    Both,
    /// Neither (the endpoint is set to answer every call).
    None,
}

/// Where a SIP endpoint's digest password is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipAuth {
    /// The digest user name.
    pub user: String,
    /// Its password's source (read when a challenge comes).
    pub password: PasswordSource,
}

/// A `[[sip_endpoint]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipEndpoint {
    /// Its name (unique among phones, zones, speakers and endpoints; the page report's key).
    pub name: String,
    /// `sip:[user@]host[:port]`, as written (trimmed).
    pub uri: String,
    /// The URI's host.
    pub host: String,
    /// The URI's port (5060 when it names none).
    pub port: u16,
    /// The zones whose pages call it (a zone holding one of these calls it too).
    pub zones: Vec<String>,
    /// The auto-answer hint.
    pub auto_answer: AutoAnswer,
    /// How long a call waits for a final answer.
    pub answer_timeout: Duration,
    /// Digest credentials, if any.
    pub auth: Option<SipAuth>,
}

impl SipAuth {
    /// Read its password now; errors name `owner` and the key (`password_env`,
    /// `password_file`), never the value. Shared by `[[sip_endpoint]]` and `[[sip.caller]]`.
    pub fn secret(&self, owner: &str) -> Result<Option<crate::push::Secret>, Invalid> {
        let (r, key) = match &self.password {
            PasswordSource::Env(v) => (crate::push::Secret::from_env(v), "password_env"),
            PasswordSource::File(p) => (crate::push::Secret::from_file(p), "password_file"),
            PasswordSource::Minted => return Ok(None),
        };
        r.map(Some)
            .map_err(|e| Invalid::new(format!("{owner} {key}"), e.value, e.rule))
    }
}

impl SipEndpoint {
    /// Read its password now (errors name the endpoint and the key, never the value).
    pub fn secret(&self) -> Result<Option<(String, crate::push::Secret)>, Invalid> {
        let Some(a) = &self.auth else {
            return Ok(None);
        };
        let owner = format!("sip_endpoint {:?}", self.name);
        Ok(a.secret(&owner)?.map(|s| (a.user.clone(), s)))
    }
}

/// `[[sip_endpoint]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSipEndpoint {
    name: Text,
    uri: Text,
    zones: Vec<Text>,
    auto_answer: Option<Text>,
    answer_timeout: Option<Text>,
    user: Option<Text>,
    password_env: Option<Text>,
    password_file: Option<Text>,
}

/// A SIP URI's host and port, or the rule it breaks: `sip:[user@]host[:port]`, no parameters.
pub fn sip_uri_rule(uri: &str) -> Result<(String, u16), String> {
    let rule = "must be sip:[user@]host[:port], e.g. sip:horn@10.1.0.40:5060 (no sips:, no \
                parameters)";
    let rest = uri.trim().strip_prefix("sip:").ok_or(rule)?;
    let hostport = match rest.rsplit_once('@') {
        Some((user, hp)) => {
            if user.is_empty()
                || !user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/%".contains(c))
            {
                return Err(rule.into());
            }
            hp
        }
        None => rest,
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| rule.to_owned())?),
        None => (hostport, 5060),
    };
    if port == 0
        || host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(rule.into());
    }
    Ok((host.to_owned(), port))
}

fn auto_answer_of(s: &str) -> Result<AutoAnswer, String> {
    match s.trim() {
        "call-info" => Ok(AutoAnswer::CallInfo),
        "alert-info" => Ok(AutoAnswer::AlertInfo),
        "both" => Ok(AutoAnswer::Both),
        "none" => Ok(AutoAnswer::None),
        _ => Err("must be call-info, alert-info, both or none".into()),
    }
}

/// Check the `[[sip_endpoint]]`s against the zones and the names already taken.
pub(super) fn check(
    src: &Source,
    raw: Vec<RawSipEndpoint>,
    zones: &[Zone],
    taken: &HashSet<&str>,
    base: &std::path::Path,
) -> Result<Vec<SipEndpoint>, Invalid> {
    if let Some(extra) = raw.get(MAX_SIP_ENDPOINTS) {
        return Err(src.invalid(
            extra.name.span(),
            "[[sip_endpoint]]",
            raw.len(),
            format!("at most {MAX_SIP_ENDPOINTS} SIP endpoints"),
        ));
    }
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for e in raw {
        check_name(src, &e.name, "[[sip_endpoint]] name")?;
        let name = e.name.get_ref().clone();
        if taken.contains(name.as_str()) || !names.insert(name.clone()) {
            return Err(src.invalid(
                e.name.span(),
                "[[sip_endpoint]] name",
                &name,
                "is already the name of a phone, a zone, a speaker or another SIP endpoint",
            ));
        }
        let what = |k: &str| format!("sip_endpoint {name:?} {k}");
        let (host, port) = sip_uri_rule(e.uri.get_ref())
            .map_err(|rule| src.invalid(e.uri.span(), what("uri"), e.uri.get_ref(), rule))?;
        if e.zones.is_empty() {
            return Err(src.invalid(
                e.name.span(),
                what("zones"),
                "[]",
                "name at least one zone whose pages call it",
            ));
        }
        let mut its = Vec::new();
        for z in &e.zones {
            if !zones.iter().any(|k| &k.name == z.get_ref()) {
                return Err(src.invalid(z.span(), what("zones"), z.get_ref(), "is not a zone"));
            }
            if !its.contains(z.get_ref()) {
                its.push(z.get_ref().clone());
            }
        }
        let auto_answer = match &e.auto_answer {
            None => AutoAnswer::CallInfo,
            Some(v) => auto_answer_of(v.get_ref())
                .map_err(|rule| src.invalid(v.span(), what("auto_answer"), v.get_ref(), rule))?,
        };
        let answer_timeout = match &e.answer_timeout {
            None => Duration::from_secs(10),
            Some(v) => duration(src, v, &what("answer_timeout"), false)?,
        };
        let auth = auth_of(
            src,
            base,
            &what,
            e.user.as_ref(),
            e.password_env.as_ref(),
            e.password_file.as_ref(),
        )?;
        out.push(SipEndpoint {
            name,
            uri: e.uri.get_ref().trim().to_owned(),
            host,
            port,
            zones: its,
            auto_answer,
            answer_timeout,
            auth,
        });
    }
    Ok(out)
}

/// `user` with exactly one of `password_env` / `password_file`, or none of the three: the
/// digest credentials of a `[[sip_endpoint]]` or a `[[sip.caller]]` (`what` names a key of the
/// table in errors). Only where the password is: [`SipAuth::secret`] reads it.
pub(super) fn auth_of(
    src: &Source,
    base: &std::path::Path,
    what: &dyn Fn(&str) -> String,
    user: Option<&Text>,
    password_env: Option<&Text>,
    password_file: Option<&Text>,
) -> Result<Option<SipAuth>, Invalid> {
    if let Some(u) = user
        && u.get_ref().trim().is_empty()
    {
        return Err(src.invalid(u.span(), what("user"), "", "must not be empty"));
    }
    Ok(match (user, password_env, password_file) {
        (None, None, None) => None,
        (Some(u), Some(v), None) => Some(SipAuth {
            user: u.get_ref().trim().to_owned(),
            password: PasswordSource::Env(v.get_ref().clone()),
        }),
        (Some(u), None, Some(f)) => Some(SipAuth {
            user: u.get_ref().trim().to_owned(),
            password: PasswordSource::File(relative(base, f.get_ref())),
        }),
        (Some(u), None, None) => {
            return Err(src.invalid(
                u.span(),
                what("user"),
                u.get_ref(),
                "a user needs password_env or password_file",
            ));
        }
        (Some(u), Some(_), Some(_)) => {
            return Err(src.invalid(
                u.span(),
                what("password_env"),
                "both",
                "give one of password_env or password_file, not both",
            ));
        }
        (None, Some(v), _) | (None, None, Some(v)) => {
            return Err(src.invalid(
                v.span(),
                what("user"),
                "(none)",
                "a password needs the user it belongs to",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_sip_user_host_port() {
        assert_eq!(
            sip_uri_rule("sip:horn@10.1.0.40:5070"),
            Ok(("10.1.0.40".into(), 5070))
        );
        assert_eq!(
            sip_uri_rule(" sip:speaker.example.org "),
            Ok(("speaker.example.org".into(), 5060))
        );
        for bad in [
            "horn@10.1.0.40",
            "sips:horn@10.1.0.40",
            "sip:@10.1.0.40",
            "sip:horn@",
            "sip:horn@10.1.0.40:0",
            "sip:horn@10.1.0.40:99999",
            "sip:horn@10.1.0.40;transport=tcp",
            "sip:horn@[::1]:5060",
            "sip:ho rn@10.1.0.40",
        ] {
            assert!(sip_uri_rule(bad).is_err(), "{bad}");
        }
    }

    const BASE: &str = "[[phone]]\nname = \"p1\"\nhost = \"10.1.1.1\"\nmodel = \"CP-8851\"\n\
                        user = \"u\"\npassword_env = \"X\"\n\n[zone.gym]\nmembers = [\"p1\"]\n\n\
                        [zone.all]\nmembers = [\"gym\"]\n\n";

    fn load(tables: &str) -> Result<crate::config::Config, Invalid> {
        crate::config::Config::from_toml(&format!("{BASE}{tables}"), "z.toml")
    }

    #[test]
    fn an_endpoint_is_read_with_its_defaults_and_reached_through_holding_zones() {
        let c = load(
            "[[sip_endpoint]]\nname = \"horn\"\nuri = \"sip:horn@10.1.0.40\"\nzones = [\"gym\"]\n",
        )
        .unwrap();
        let e = c.sip_endpoint("horn").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("10.1.0.40", 5060));
        assert_eq!(e.auto_answer, AutoAnswer::CallInfo);
        assert_eq!(e.answer_timeout, Duration::from_secs(10));
        assert!(e.auth.is_none() && e.secret().unwrap().is_none());
        let names = |z: &str| -> Vec<String> {
            c.sip_endpoints_of(z)
                .iter()
                .map(|e| e.name.clone())
                .collect()
        };
        assert_eq!(names("all"), ["horn"]);
        assert_eq!(names("gym"), ["horn"]);
    }

    #[test]
    fn bad_tables_are_refused_naming_the_key() {
        let cases = [
            (
                "name = \"p1\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]",
                "[[sip_endpoint]] name",
            ),
            (
                "name = \"h\"\nuri = \"tel:123\"\nzones = [\"gym\"]",
                "sip_endpoint \"h\" uri",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = []",
                "sip_endpoint \"h\" zones",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = [\"nope\"]",
                "sip_endpoint \"h\" zones",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]\nauto_answer = \"yes\"",
                "sip_endpoint \"h\" auto_answer",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]\nanswer_timeout = \"0s\"",
                "sip_endpoint \"h\" answer_timeout",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]\nuser = \"u\"",
                "sip_endpoint \"h\" user",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]\npassword_env = \"P\"",
                "sip_endpoint \"h\" user",
            ),
            (
                "name = \"h\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]\nuser = \"u\"\n\
                 password_env = \"P\"\npassword_file = \"f\"",
                "sip_endpoint \"h\" password_env",
            ),
        ];
        for (table, field) in cases {
            let e = load(&format!("[[sip_endpoint]]\n{table}\n")).unwrap_err();
            assert!(e.field.ends_with(field), "{table}: {e}");
        }
    }

    #[test]
    fn a_missing_password_names_the_key_not_a_value() {
        let c = load(
            "[[sip_endpoint]]\nname = \"h\"\nuri = \"sip:a@h\"\nzones = [\"gym\"]\n\
             user = \"u\"\npassword_env = \"ZC_SIP_ENDPOINT_TEST_SURELY_UNSET\"\n",
        )
        .unwrap();
        let e = c.sip_endpoints[0].secret().unwrap_err();
        assert_eq!(e.field, "sip_endpoint \"h\" password_env");
    }

    #[test]
    fn the_example_config_has_one() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/zonecast.example.toml");
        let c = crate::config::Config::load(path).unwrap();
        let e = c
            .sip_endpoint("lobby-sip-horn")
            .expect("the example's endpoint");
        assert_eq!(e.zones, ["floor1"]);
        assert_eq!(
            c.sip_endpoints_of("all")
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["lobby-sip-horn"]
        );
    }
}
