//! What the phone sends: a [`Request`] (method, URL, form body), the headers a model sends
//! with it (`User-Agent`, the `x-CiscoIPPhone*` capabilities, `Accept-*`, `Cookie`), and the
//! [`RequestLog`] of one sent request. Choosing the request is `actions`'s; sending it is
//! [`crate::phone_sim::http`]'s.

use serde::Serialize;

use crate::phone_sim::profile::Profile;

/// One request as the phone sent it (for tests: what a services server saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestLog {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL, `#DEVICENAME#` expanded.
    pub url: String,
    /// Every header the phone set, in order.
    pub headers: Vec<(String, String)>,
    /// The body of a POST.
    pub body: Option<String>,
}

impl RequestLog {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request the phone is to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Form body of a POST.
    pub body: Option<String>,
}

impl Request {
    /// A GET.
    pub fn get(url: String) -> Request {
        Request {
            method: "GET",
            url,
            body: None,
        }
    }
}

/// The charset a model asks for: UTF-8, but ISO-8859-1 on the old 79xx firmware.
pub fn accept_charset(profile: &Profile) -> &'static str {
    if profile.family == crate::xsi::model::ModelFamily::Legacy79xx {
        "iso-8859-1"
    } else {
        "utf-8"
    }
}

/// The `User-Agent` of a model's browser.
pub fn user_agent(profile: &Profile) -> String {
    if profile.family == crate::xsi::model::ModelFamily::Legacy79xx {
        "Allegro-Software-WebClient/4.34".to_owned()
    } else {
        format!("Cisco-{}/{}", profile.model, profile.version_id)
    }
}

/// The headers a phone of `profile` sends with a service request, in order.
pub fn request_headers(
    profile: &Profile,
    language: &str,
    cookie: Option<String>,
) -> Vec<(String, String)> {
    let mut h = vec![
        ("User-Agent".to_owned(), user_agent(profile)),
        ("x-CiscoIPPhoneModelName".to_owned(), profile.model.clone()),
        (
            "x-CiscoIPPhoneDisplay".to_owned(),
            profile.display.header_value(),
        ),
        (
            "x-CiscoIPPhoneSDKVersion".to_owned(),
            profile.sdk_version.clone(),
        ),
        (
            "Accept".to_owned(),
            format!("x-CiscoIPPhone/*;version={}", profile.sdk_version),
        ),
        ("Accept-Language".to_owned(), language.to_owned()),
        (
            "Accept-Charset".to_owned(),
            accept_charset(profile).to_owned(),
        ),
    ];
    if let Some(c) = cookie {
        h.push(("Cookie".to_owned(), c));
    }
    h
}
