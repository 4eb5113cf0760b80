//! The async shell around [`Discovery`]: one reqwest client trusting CUCM's certificate as
//! configured ([`super::tls`]), Basic auth on every request, the `JSESSIONIDSSO` session cookie
//! CUCM sets kept and sent back (so CUCM does not authenticate each request anew), SOAPAction
//! per call, answers read up to [`MAX_ANSWER_BYTES`]. The loop decides nothing: it asks the core
//! what to do, does it, and hands the answer back.
//!
//! The password is a [`Secret`]: read when the client is built, exposed only to build the
//! Authorization header, never in an error or a log line.

use std::sync::Mutex;
use std::time::Instant;

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderValue, SET_COOKIE};

use super::axl::AXL_PATH;
use super::discovery::{
    CucmCall, Discovered, Discovery, DiscoveryError, DiscoverySettings, DiscoveryStats,
    DiscoveryStep, RisBatchState,
};
use super::ris::RIS_PATH;
use super::soap::MAX_ANSWER_BYTES;
use super::table::CucmPhone;
use crate::config::{Cucm, CucmFilter, PasswordSource};
use crate::push::Secret;

/// The session cookies CUCM sets that are worth sending back.
const SESSION_COOKIES: [&str; 2] = ["JSESSIONIDSSO", "JSESSIONID"];

/// Why talking to CUCM failed.
#[derive(Debug, thiserror::Error)]
pub enum CucmError {
    /// The configuration cannot be used (password source, certificate file).
    #[error("{0}")]
    Setup(String),
    /// CUCM could not be reached or the connection broke.
    #[error("CUCM {host} {op}: cannot reach it: {reason}")]
    Unreachable {
        /// `host:port`.
        host: String,
        /// The operation.
        op: &'static str,
        /// Why (without the URL or credentials).
        reason: String,
    },
    /// 401: the user or password is wrong.
    #[error("CUCM {host} {op}: 401 Unauthorized: check [cucm] user and its password")]
    Unauthorized {
        /// `host:port`.
        host: String,
        /// The operation.
        op: &'static str,
    },
    /// Another HTTP status without a SOAP answer.
    #[error("CUCM {host} {op}: HTTP {status}")]
    Status {
        /// `host:port`.
        host: String,
        /// The operation.
        op: &'static str,
        /// The status code.
        status: u16,
    },
    /// The answer was over the bound.
    #[error("CUCM {host} {op}: the answer is over {MAX_ANSWER_BYTES} bytes")]
    TooLarge {
        /// `host:port`.
        host: String,
        /// The operation.
        op: &'static str,
    },
    /// The discovery's rules ended it (a fault, an unreadable answer, a bound).
    #[error("CUCM {host}: {source}")]
    Discovery {
        /// `host:port`.
        host: String,
        /// What the core said.
        source: Box<DiscoveryError>,
    },
}

/// A client of one CUCM publisher.
pub struct CucmClient {
    http: reqwest::Client,
    host: String,
    user: String,
    password: Secret,
    version: String,
    cookies: Mutex<Vec<(String, String)>>,
}

impl CucmClient {
    /// A client for `[cucm]`: its password read now, its TLS trust set up.
    pub fn new(c: &Cucm) -> Result<CucmClient, CucmError> {
        let password = match &c.password {
            PasswordSource::Env(v) => Secret::from_env(v),
            PasswordSource::File(p) => Secret::from_file(p),
            PasswordSource::Minted => {
                return Err(CucmError::Setup(
                    "[cucm] password: CUCM needs a password".into(),
                ));
            }
        }
        .map_err(|e| CucmError::Setup(format!("[cucm] {e}")))?;
        let http = super::tls::http_client(&c.trust, c.timeout).map_err(CucmError::Setup)?;
        Ok(CucmClient {
            http,
            host: format!("{}:{}", c.host, c.port),
            user: c.user.clone(),
            password,
            version: c.axl_version.clone(),
            cookies: Mutex::new(Vec::new()),
        })
    }

    /// `host:port` of the publisher.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Send `call` and return CUCM's SOAP answer (a fault included: CUCM sends those with
    /// status 500).
    pub async fn call(&self, call: &CucmCall) -> Result<String, CucmError> {
        let op = call.operation();
        let path = if call.is_ris() { RIS_PATH } else { AXL_PATH };
        let url = format!("https://{}{path}", self.host);
        let mut req = self
            .http
            .post(url)
            .basic_auth(&self.user, Some(self.password.expose()))
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", call.soap_action(&self.version))
            .body(call.body(&self.version));
        if let Some(c) = self.cookie_header() {
            req = req.header(COOKIE, c);
        }
        let unreachable = |e: reqwest::Error| CucmError::Unreachable {
            host: self.host.clone(),
            op,
            reason: describe(e),
        };
        let mut resp = req.send().await.map_err(unreachable)?;
        self.keep_cookies(resp.headers().get_all(SET_COOKIE).iter());
        let status = resp.status().as_u16();
        if status == 401 {
            return Err(CucmError::Unauthorized {
                host: self.host.clone(),
                op,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(CucmError::TooLarge {
                    host: self.host.clone(),
                    op,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        let soap = text.contains("Envelope");
        if status == 200 || (status == 500 && soap) {
            Ok(text)
        } else {
            Err(CucmError::Status {
                host: self.host.clone(),
                op,
                status,
            })
        }
    }

    fn cookie_header(&self) -> Option<HeaderValue> {
        let jar = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        if jar.is_empty() {
            return None;
        }
        let s: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        HeaderValue::from_str(&s.join("; ")).ok()
    }

    fn keep_cookies<'a>(&self, set: impl Iterator<Item = &'a HeaderValue>) {
        let mut jar = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        for v in set {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or("");
            let Some((k, val)) = pair.split_once('=') else {
                continue;
            };
            let (k, val) = (k.trim(), val.trim());
            if SESSION_COOKIES.contains(&k) && val.len() <= 256 {
                jar.retain(|(name, _)| name != k);
                jar.push((k.to_owned(), val.to_owned()));
            }
        }
    }

    /// Run a whole discovery: `progress` is told the counts after every answer.
    pub async fn discover(
        &self,
        settings: DiscoverySettings,
        filter: CucmFilter,
        previous: Option<(&[CucmPhone], &[RisBatchState])>,
        mut progress: impl FnMut(&DiscoveryStats),
    ) -> Result<Discovered, CucmError> {
        let mut d = Discovery::new(settings, filter, previous);
        // tokio's clock, so a test with paused time runs the waits instantly.
        let now = || -> Instant { tokio::time::Instant::now().into_std() };
        loop {
            match d.poll(now()) {
                DiscoveryStep::Done => return Ok(d.finish()),
                DiscoveryStep::Wait(at) => {
                    let wait = at.saturating_duration_since(now());
                    tokio::time::sleep(wait).await;
                }
                DiscoveryStep::Send(call) => {
                    let body = self.call(&call).await?;
                    d.handle_answer(now(), &body)
                        .map_err(|source| CucmError::Discovery {
                            host: self.host.clone(),
                            source: Box::new(source),
                        })?;
                    progress(d.stats());
                }
            }
        }
    }
}

/// A transport error in words, without the URL (which is the host, named anyway).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
