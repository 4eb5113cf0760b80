//! Credentials checked by an Authentication URL, as phones registered to CUCM do: the basic
//! `Authorization` header read, the URL asked, its `AUTHORIZED` turned into the phone's own
//! credentials for the core. Checking against the phone's own user and password is the core's.

use std::time::Duration;

use axum::http::header;

use super::PhoneNode;
use crate::phone_sim::core::{base64_decode, base64_encode};

/// Time a phone gives its Authentication URL.
const AUTH_URL_TIMEOUT: Duration = Duration::from_secs(2);

/// User and password of a basic `Authorization` header.
fn basic_credentials(header: Option<&str>) -> Option<(String, String)> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(base64_decode(token.trim())?).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl PhoneNode {
    /// Ask the Authentication URL `url` about the credentials of a basic `Authorization`
    /// header, as phones registered to CUCM do: a form POST of `UserID`, `Password` and
    /// `devicename`; only an answer of exactly `AUTHORIZED` accepts. No header, an unreachable
    /// URL or any other answer refuses.
    pub(crate) async fn authenticate(&self, url: &str, authorization: Option<&str>) -> bool {
        let Some((user, password)) = basic_credentials(authorization) else {
            return false;
        };
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("UserID", &user)
            .append_pair("Password", &password)
            .append_pair("devicename", &self.info.device)
            .finish();
        let answer = async {
            let r = self
                .ctx
                .client
                .post(url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .timeout(AUTH_URL_TIMEOUT)
                .send()
                .await
                .ok()?;
            if !r.status().is_success() {
                return None;
            }
            r.bytes().await.ok()
        }
        .await;
        answer.is_some_and(|b| b.as_ref() == b"AUTHORIZED")
    }

    /// A basic `Authorization` header with this phone's own user and password: how an
    /// Authentication URL's yes reaches the core, which compares with those.
    pub(super) fn own_authorization(&self) -> String {
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        let id = core.identity();
        let pair = format!("{}:{}", id.user, id.password.expose());
        format!("Basic {}", base64_encode(pair.as_bytes()))
    }
}
