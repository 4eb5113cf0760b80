//! One phone's [`Browser`]: the screen now, the screens before it (the way back, at most
//! [`HISTORY_MAX`]), the cache of fresh objects (at most [`CACHE_MAX`], `Expires` honoured),
//! the cookie jar and the last request. It ties the other files together: headers for a
//! request, cookies of an answer, the answer read and shown. No I/O.

use std::time::SystemTime;

use super::cookies::CookieJar;
use super::limits::{CACHE_MAX, DEFAULT_LANGUAGE, HISTORY_MAX};
use super::request::{Request, RequestLog, request_headers};
use super::url::{host_of, parse_expires};
use super::view::{Answer, ServiceView, body_text, parse_view};
use crate::phone_sim::profile::Profile;

/// How a fetched screen relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryStep {
    /// A new service: the way back is forgotten.
    Open,
    /// The next screen: the current one goes on the way back.
    Forward,
    /// The same screen again (Refresh, Update, the way back).
    InPlace,
}

#[derive(Debug, Clone)]
struct Cached {
    url: String,
    view: ServiceView,
    text: String,
    /// Fresh until (fleet ms); `None`: no `Expires`, fresh while kept.
    fresh_until_ms: Option<u64>,
}

/// What going back found.
#[derive(Debug, Clone, PartialEq)]
pub enum BackStep {
    /// The previous screen, from the cache (fresh): the view and the object's text.
    Cached(Box<ServiceView>, String),
    /// The previous screen must be fetched again.
    Fetch(Request),
    /// No previous screen: the service closed.
    Closed,
}

/// One phone's browser.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Cookies.
    pub jar: CookieJar,
    /// `Accept-Language`.
    pub language: String,
    view: Option<ServiceView>,
    /// Screens before the current one, oldest first.
    history: Vec<String>,
    cache: Vec<Cached>,
    last_request: Option<RequestLog>,
    /// The model (of the last [`Browser::prepare`]) can POST an Input's answer.
    input_post: bool,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            jar: CookieJar::default(),
            language: DEFAULT_LANGUAGE.to_owned(),
            view: None,
            history: Vec::new(),
            cache: Vec::new(),
            last_request: None,
            input_post: true,
        }
    }
}

impl Browser {
    /// The screen now.
    pub fn view(&self) -> Option<&ServiceView> {
        self.view.as_ref()
    }

    /// The last request sent.
    pub fn last_request(&self) -> Option<&RequestLog> {
        self.last_request.as_ref()
    }

    /// The URLs of the screens before this one, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Headers (cookies included) for `req`; remembered as the last request.
    pub fn prepare(&mut self, now_ms: u64, profile: &Profile, req: &Request) -> RequestLog {
        self.input_post = profile.caps.input_post;
        let cookie = host_of(&req.url).and_then(|h| self.jar.header(now_ms, &h));
        let mut headers = request_headers(profile, &self.language, cookie);
        if req.body.is_some() {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let log = RequestLog {
            method: req.method.to_owned(),
            url: req.url.clone(),
            headers,
            body: req.body.clone(),
        };
        self.last_request = Some(log.clone());
        log
    }

    /// Keep the cookies of an answer from `url`.
    pub fn store_cookies(&mut self, now_ms: u64, url: &str, set_cookies: &[String]) {
        if let Some(host) = host_of(url) {
            for c in set_cookies {
                self.jar.store(now_ms, &host, c);
            }
        }
    }

    /// The final answer of a step: cookies kept, object read, cached (unless already expired),
    /// shown. Returns the view and the object's text (for the screen). An Input that asks for a
    /// POST (`<URL method="post">`) on a model that cannot send one (only the 7800, 8800, 7832
    /// and 8832 can) is refused: "XML Error \[5\]: Unsupported XML Object".
    pub fn on_answer(
        &mut self,
        now_ms: u64,
        now_wall: SystemTime,
        answer: &Answer,
        step: HistoryStep,
    ) -> (ServiceView, String) {
        self.store_cookies(now_ms, &answer.url, &answer.set_cookies);
        let mut view = parse_view(answer);
        if view.error.is_none() && view.input_method.as_deref() == Some("post") && !self.input_post
        {
            view.error = Some("XML Error [5]: Unsupported XML Object".into());
        }
        let text = body_text(&answer.body, view.charset.as_deref());
        let fresh_until_ms = answer.expires.as_deref().map(|e| {
            let left = parse_expires(e)
                .duration_since(now_wall)
                .map_or(0, |d| d.as_millis() as u64);
            now_ms.saturating_add(left)
        });
        self.cache.retain(|c| c.url != answer.url);
        if view.error.is_none() && fresh_until_ms.is_none_or(|t| t > now_ms) {
            if self.cache.len() == CACHE_MAX {
                self.cache.remove(0);
            }
            self.cache.push(Cached {
                url: answer.url.clone(),
                view: view.clone(),
                text: text.clone(),
                fresh_until_ms,
            });
        }
        match step {
            HistoryStep::Open => self.history.clear(),
            HistoryStep::Forward => {
                if let Some(v) = &self.view {
                    if self.history.len() == HISTORY_MAX {
                        self.history.remove(0);
                    }
                    self.history.push(v.url.clone());
                }
            }
            HistoryStep::InPlace => {}
        }
        self.view = Some(view.clone());
        (view, text)
    }

    /// A fresh cached object for `url`.
    pub fn cached(&self, now_ms: u64, url: &str) -> Option<(ServiceView, String)> {
        self.cache
            .iter()
            .find(|c| c.url == url && c.fresh_until_ms.is_none_or(|t| t > now_ms))
            .map(|c| {
                (
                    ServiceView {
                        from_cache: true,
                        ..c.view.clone()
                    },
                    c.text.clone(),
                )
            })
    }

    /// Back one screen.
    pub fn back(&mut self, now_ms: u64) -> BackStep {
        let Some(url) = self.history.pop() else {
            self.close();
            return BackStep::Closed;
        };
        match self.cached(now_ms, &url) {
            Some((view, text)) => {
                self.view = Some(view.clone());
                BackStep::Cached(Box::new(view), text)
            }
            None => BackStep::Fetch(Request::get(url)),
        }
    }

    /// Leave the service.
    pub fn close(&mut self) {
        self.view = None;
        self.history.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone_sim::browser::view::tests::answer;

    #[test]
    fn an_input_that_posts_is_refused_where_the_model_cannot_post() {
        let wall = SystemTime::UNIX_EPOCH;
        let input = "<CiscoIPPhoneInput><URL method=\"post\">http://h/in</URL><InputItem>\
                     <DisplayName>N</DisplayName><QueryStringParam>n</QueryStringParam>\
                     <InputFlags>A</InputFlags></InputItem></CiscoIPPhoneInput>";
        let req = Request::get("http://h/in".into());
        let shown = |model: &str, body: &str| {
            let mut b = Browser::default();
            b.prepare(0, &Profile::for_model(model).unwrap(), &req);
            b.on_answer(0, wall, &answer("http://h/in", body), HistoryStep::Open)
                .0
                .error
        };
        assert_eq!(shown("CP-8865", input), None);
        assert_eq!(shown("CP-7841", input), None);
        assert_eq!(
            shown("CP-7965G", input).as_deref(),
            Some("XML Error [5]: Unsupported XML Object")
        );
        // The same Input answered by GET is fine everywhere.
        assert_eq!(
            shown("CP-7965G", &input.replace(" method=\"post\"", "")),
            None
        );
    }

    #[test]
    fn back_uses_fresh_cache_and_skips_expired_objects() {
        let profile = Profile::for_model("CP-8865").unwrap();
        let mut b = Browser::default();
        let wall = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        let menu =
            "<CiscoIPPhoneMenu><MenuItem><Name>a</Name><URL>/a</URL></MenuItem></CiscoIPPhoneMenu>";
        b.on_answer(0, wall, &answer("http://h/m", menu), HistoryStep::Open);
        b.on_answer(
            10,
            wall,
            &answer("http://h/a", "<CiscoIPPhoneText/>"),
            HistoryStep::Forward,
        );
        assert_eq!(b.history(), ["http://h/m"]);
        match b.back(20) {
            BackStep::Cached(v, _) => assert!(v.from_cache && v.url == "http://h/m"),
            other => panic!("{other:?}"),
        }
        assert_eq!(b.back(30), BackStep::Closed);
        assert!(b.view().is_none());
        // Expired already: never served from the cache.
        let expired = Answer {
            expires: Some("Thu, 01 Jan 1970 00:00:00 GMT".into()),
            ..answer("http://h/m", menu)
        };
        b.on_answer(40, wall, &expired, HistoryStep::Open);
        b.on_answer(
            50,
            wall,
            &answer("http://h/a", "<CiscoIPPhoneText/>"),
            HistoryStep::Forward,
        );
        assert_eq!(
            b.back(60),
            BackStep::Fetch(Request::get("http://h/m".into()))
        );
        let log = b.prepare(70, &profile, &Request::get("http://h/x".into()));
        assert_eq!(log.header("accept-language"), Some("en"));
        assert_eq!(log.header("x-CiscoIPPhoneDisplay"), Some("800, 480, 24, C"));
        assert_eq!(log.header("Accept-Charset"), Some("utf-8"));
        let old = Profile::for_model("CP-7942G").unwrap();
        let log = b.prepare(70, &old, &Request::get("http://h/x".into()));
        assert_eq!(log.header("Accept-Charset"), Some("iso-8859-1"));
    }
}
