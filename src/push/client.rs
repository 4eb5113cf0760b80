//! The HTTP client: one `reqwest::Client` for the process, a semaphore bounding pushes in flight,
//! per-call timeouts, bounded retries of transient failures only.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::sync::Semaphore;

use super::exchange::{HttpReply, MAX_REPLY_BYTES, TransportError};
use super::outcome::PushOutcome;
use super::secret::Secret;
use crate::xsi::object::{Target, root_name};
use crate::xsi::query::DeviceQuery;

/// A source of credentials made for one push (zonecast serve's one-time credentials, checked by
/// its Authentication URL). The push client asks it for phones whose password is
/// [`Secret::minted`]; each attempt gets fresh credentials.
pub trait Credentials: Send + Sync {
    /// User and password for one push to `phone`, or `None` when this source cannot mint.
    fn mint(&self, phone: &Phone) -> Option<(String, Secret)>;
}

/// One phone as the push client sees it.
#[derive(Debug, Clone)]
pub struct Phone {
    /// Name for reports.
    pub name: String,
    /// `host` or `host:port`.
    pub host: String,
    /// User with the phone associated (CUCM application or end user).
    pub user: String,
    /// Its password.
    pub password: Secret,
    /// Talk HTTPS instead of HTTP.
    pub https: bool,
}

impl Phone {
    fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.host)
    }
}

/// Limits and timeouts of the push client.
#[derive(Debug, Clone, Copy)]
pub struct PushConfig {
    /// Pushes in flight at once across all phones.
    pub concurrency: usize,
    /// Time to establish the TCP connection.
    pub connect_timeout: Duration,
    /// Time for one whole request (connect, send, answer).
    pub timeout: Duration,
    /// Extra attempts after a transient failure (refused, reset, timed out).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            // A wave of pushes takes one phone answer time (50-500 ms); 1,000 in flight reach
            // 1,000 phones in one wave (BENCHMARKS.md, page reach) at one socket each.
            concurrency: 1000,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            retries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

/// The process's client for phones.
#[derive(Clone)]
pub struct PushClient {
    http: reqwest::Client,
    limit: Arc<Semaphore>,
    config: PushConfig,
    /// Where phones marked [`Secret::minted`] get their one-time credentials.
    credentials: Option<Arc<dyn Credentials>>,
}

/// Why a push to a phone with minted credentials was not sent by a client without a source.
const NO_MINTER: &str = "credentials for this phone are minted by zonecast serve \
                         (auth = \"minted\"); this command cannot mint them";

impl PushClient {
    /// A client with these limits.
    pub fn new(config: PushConfig) -> Result<PushClient, TransportError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // Phones are on the local network; a proxy from the environment would be wrong.
            .no_proxy()
            // No idle connections kept: a page's next push to a phone comes seconds or minutes
            // later, and 10,000 pooled sockets would hold 10,000 descriptors for nothing.
            .pool_max_idle_per_host(0)
            .pool_idle_timeout(Duration::from_secs(10));
        let http = with_tls(builder)
            .build()
            .map_err(|e| TransportError::Unsupported(e.to_string()))?;
        Ok(PushClient {
            http,
            limit: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            credentials: None,
        })
    }

    /// This client, minting credentials from `source` for phones whose password is
    /// [`Secret::minted`]: fresh ones for every attempt, retries included.
    pub fn with_credentials(self, source: Arc<dyn Credentials>) -> PushClient {
        PushClient {
            credentials: Some(source),
            ..self
        }
    }

    /// User and password for one attempt: the phone's own, or fresh minted ones. Without a
    /// source (or when it cannot mint) the push is not sent: [`TransportError::Unsupported`].
    fn credentials_for(&self, phone: &Phone) -> Result<(String, Secret), TransportError> {
        if !phone.password.is_minted() {
            return Ok((phone.user.clone(), phone.password.clone()));
        }
        let Some(source) = &self.credentials else {
            return Err(TransportError::Unsupported(format!(
                "phone {}: {NO_MINTER}",
                phone.name
            )));
        };
        source.mint(phone).ok_or_else(|| {
            TransportError::Unsupported(format!(
                "phone {}: no one-time credentials could be minted for it",
                phone.name
            ))
        })
    }

    /// The limits in force.
    pub fn config(&self) -> PushConfig {
        self.config
    }

    /// POST `xml` to the phone's `/CGI/Execute`, retrying transient failures. `timeout`
    /// overrides the configured one (a `Play:` push waits for the whole file).
    pub async fn post_execute(
        &self,
        phone: &Phone,
        xml: &str,
        timeout: Option<Duration>,
    ) -> Result<HttpReply, TransportError> {
        self.post(phone, xml, timeout, true).await
    }

    /// As [`Self::post_execute`], for a push that must not run twice (a stream's start: a
    /// second one is refused with "Tx/Rx is already active"): retried only when no connection
    /// was made, never after a timeout or a broken answer, which the phone may have executed.
    pub async fn post_execute_once(
        &self,
        phone: &Phone,
        xml: &str,
        timeout: Option<Duration>,
    ) -> Result<HttpReply, TransportError> {
        self.post(phone, xml, timeout, false).await
    }

    async fn post(
        &self,
        phone: &Phone,
        xml: &str,
        timeout: Option<Duration>,
        retry_uncertain: bool,
    ) -> Result<HttpReply, TransportError> {
        let body = checked_form_body(xml).map_err(TransportError::Refused)?;
        self.with_retries(retry_uncertain, || async {
            let (user, password) = self.credentials_for(phone)?;
            let req = self
                .http
                .post(phone.url("/CGI/Execute"))
                .basic_auth(&user, Some(password.expose()))
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                // A `String` body has a known length: reqwest sends Content-Length, never
                // chunked, and never `Expect: 100-continue`.
                .body(body.clone())
                .timeout(timeout.unwrap_or(self.config.timeout));
            let mut reply = self.send(phone, req).await?;
            redact_credentials(&mut reply.body, &user, &password);
            Ok(reply)
        })
        .await
    }

    /// Push `xml` to one phone and judge the answer (see [`PushOutcome::from_exchange`]).
    pub async fn execute(
        &self,
        phone: &Phone,
        xml: &str,
        timeout: Option<Duration>,
        expect_reply: bool,
    ) -> PushOutcome {
        PushOutcome::from_exchange(self.post_execute(phone, xml, timeout).await, expect_reply)
    }

    /// [`Self::execute`] with [`Self::post_execute_once`]'s retry rule.
    pub async fn execute_once(
        &self,
        phone: &Phone,
        xml: &str,
        timeout: Option<Duration>,
        expect_reply: bool,
    ) -> PushOutcome {
        PushOutcome::from_exchange(
            self.post_execute_once(phone, xml, timeout).await,
            expect_reply,
        )
    }

    /// Push the same object to every phone, at most [`PushConfig::concurrency`] at a time.
    /// Outcomes come back in the order of `phones`.
    pub async fn fan_out(
        &self,
        phones: &[Phone],
        xml: &str,
        expect_reply: bool,
    ) -> Vec<PushOutcome> {
        let xml: Arc<str> = Arc::from(xml);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, phone) in phones.iter().cloned().enumerate() {
            let (client, xml) = (self.clone(), xml.clone());
            tasks.spawn(async move { (i, client.execute(&phone, &xml, None, expect_reply).await) });
        }
        let mut out: Vec<Option<PushOutcome>> = vec![None; phones.len()];
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, outcome)) = done {
                out[i] = Some(outcome);
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or(PushOutcome::BadResponse {
                    reason: "the push task panicked".into(),
                })
            })
            .collect()
    }

    /// GET a device page (`/DeviceInformationX`, `/StreamingStatisticsX?1`, `/CGI/Screenshot`).
    pub async fn get(
        &self,
        phone: &Phone,
        path_and_query: &str,
    ) -> Result<HttpReply, TransportError> {
        self.with_retries(true, || async {
            let (user, password) = self.credentials_for(phone)?;
            let req = self
                .http
                .get(phone.url(path_and_query))
                .basic_auth(&user, Some(password.expose()))
                .timeout(self.config.timeout);
            self.send(phone, req).await
        })
        .await
    }

    /// GET a device page, its number already checked (see [`DeviceQuery`]).
    pub async fn device_page(
        &self,
        phone: &Phone,
        page: DeviceQuery,
    ) -> Result<HttpReply, TransportError> {
        self.get(phone, &page.path()).await
    }

    async fn with_retries<F, Fut>(
        &self,
        retry_uncertain: bool,
        mut attempt: F,
    ) -> Result<HttpReply, TransportError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<HttpReply, TransportError>>,
    {
        let mut wait = self.config.backoff;
        let mut tries = 0;
        loop {
            let result = {
                // Closed only if dropped, which this client never does.
                let _permit = self.limit.acquire().await.ok();
                attempt().await
            };
            match result {
                Err(e)
                    if e.is_transient()
                        && (retry_uncertain || matches!(e, TransportError::NotConnected(_)))
                        && tries < self.config.retries =>
                {
                    tries += 1;
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                other => return other,
            }
        }
    }

    async fn send(
        &self,
        phone: &Phone,
        req: reqwest::RequestBuilder,
    ) -> Result<HttpReply, TransportError> {
        if phone.https && !cfg!(feature = "tls") {
            return Err(TransportError::Unsupported(format!(
                "phone {}: HTTPS is not available in this build (built without the `tls` feature)",
                phone.name
            )));
        }
        // A connection that breaks once made reached the phone, which may have executed the
        // push: say so, or the report reads like a phone that was never reached.
        let broken = |when: &'static str| {
            move |e| match transport(e) {
                TransportError::Unreachable(r) => {
                    TransportError::Unreachable(format!("connection broke {when}: {r}"))
                }
                other => other,
            }
        };
        let mut resp = req.send().await.map_err(broken("before the answer"))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(broken("mid-answer"))? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(TransportError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpReply { status, body })
    }
}

/// What replaces credentials a phone echoed back.
const REDACTED: &[u8] = b"[redacted]";

/// Remove from a phone's answer the credentials this attempt sent: the Basic token, `user:password`
/// and (when at least 4 characters, so short ones cannot mangle the XML) the password itself. A
/// phone (or something in front of it) that echoes the request in its `Data` or an error page
/// would otherwise put them into the outcome, and from there into reports, `--json` and the
/// journal.
fn redact_credentials(body: &mut Vec<u8>, user: &str, password: &Secret) {
    let pw = password.expose();
    let pair = format!("{user}:{pw}");
    let token = BASE64_STANDARD.encode(pair.as_bytes());
    let mut needles: Vec<&[u8]> = vec![token.as_bytes(), pair.as_bytes()];
    if pw.len() >= 4 {
        needles.push(pw.as_bytes());
    }
    for needle in needles {
        replace_all(body, needle, REDACTED);
    }
}

fn replace_all(hay: &mut Vec<u8>, needle: &[u8], with: &[u8]) {
    if needle.is_empty() || hay.len() < needle.len() {
        return;
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    let mut changed = false;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
            changed = true;
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    if changed {
        *hay = out;
    }
}

/// HTTPS for phones: rustls with the ring provider. Phones present self-signed certificates
/// (their MIC or a locally significant certificate), which no public CA vouches for, so the
/// certificate is not verified; the point of HTTPS here is that the basic-auth password does
/// not cross the network in clear text.
#[cfg(feature = "tls")]
fn with_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    // Err only when a provider is already installed for the process, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder
        .tls_backend_rustls()
        .tls_danger_accept_invalid_certs(true)
}

#[cfg(not(feature = "tls"))]
fn with_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
}

/// A reqwest builder set up the way every zonecast HTTP client needs: no proxy from the
/// environment (phones and callbacks are local) and, with the `tls` feature, rustls with the ring
/// provider installed. Building a client without it panics when `tls` is on.
pub fn client_builder() -> reqwest::ClientBuilder {
    with_tls(reqwest::Client::builder().no_proxy())
}

/// [`form_body`], refused before anything is sent when the body is over the phones' 40 KB POST
/// limit. The limit is on the form-encoded body, not the XML (see
/// [`crate::xsi::object::Target`]'s module for the reason and its source): a 37 KB Menu whose
/// markup triples when percent-encoded is refused here, as a phone (and the emulator) would
/// refuse it.
pub fn checked_form_body(xml: &str) -> Result<String, crate::error::Invalid> {
    Target::Phone.check(root_name(xml), xml)?;
    Ok(form_body(xml))
}

/// `XML=` and the object, percent-encoded (form encoding: spaces as `+`).
pub fn form_body(xml: &str) -> String {
    let mut body = String::with_capacity(4 + xml.len() * 3 / 2);
    body.push_str("XML=");
    body.extend(form_urlencoded::byte_serialize(xml.as_bytes()));
    body
}

fn transport(e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        return TransportError::Timeout;
    }
    // Describe the cause without the URL (it names the phone, which the caller reports anyway).
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    if e.is_connect() {
        TransportError::NotConnected(reason)
    } else {
        TransportError::Unreachable(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_credentials_are_redacted_from_the_answer() {
        let pw = Secret::new("s3cret-pw");
        let token = BASE64_STANDARD.encode(b"admin:s3cret-pw");
        let mut body = format!(
            "<CiscoIPPhoneResponse><ResponseItem Status=\"1\" Data=\"Authorization: Basic {token} \
             admin:s3cret-pw s3cret-pw\" URL=\"x\"/></CiscoIPPhoneResponse>"
        )
        .into_bytes();
        redact_credentials(&mut body, "admin", &pw);
        let text = String::from_utf8(body).unwrap();
        assert!(!text.contains("s3cret") && !text.contains(&token), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 3, "{text}");
        // A short password is left alone in the text (it could be any word), not in the token.
        let mut body = b"<x Data=\"pw YWRtaW46cHc=\"/>".to_vec();
        redact_credentials(&mut body, "admin", &Secret::new("pw"));
        assert_eq!(body, b"<x Data=\"pw [redacted]\"/>");
    }

    #[test]
    fn body_is_the_form_field_xml_percent_encoded() {
        let b = form_body(
            "<CiscoIPPhoneExecute><ExecuteItem URL=\"RTPRx:Stop\"/></CiscoIPPhoneExecute>",
        );
        assert!(b.starts_with("XML=%3CCiscoIPPhoneExecute%3E"));
        let decoded: Vec<(String, String)> =
            form_urlencoded::parse(b.as_bytes()).into_owned().collect();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].0, "XML");
        assert!(decoded[0].1.contains("URL=\"RTPRx:Stop\""));
    }

    struct Counting(std::sync::atomic::AtomicU32);

    impl Credentials for Counting {
        fn mint(&self, phone: &Phone) -> Option<(String, Secret)> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (phone.name != "cannot").then(|| (format!("zc-{n}"), Secret::new(format!("pw-{n}"))))
        }
    }

    fn phone(name: &str, password: Secret) -> Phone {
        Phone {
            name: name.into(),
            host: "127.0.0.1:9".into(),
            user: "pager".into(),
            password,
            https: false,
        }
    }

    #[test]
    fn minted_phones_get_fresh_credentials_per_attempt_and_others_their_own() {
        let plain = PushClient::new(PushConfig::default()).unwrap();
        let p = phone("desk", Secret::new("s3cret"));
        let (u, pw) = plain.credentials_for(&p).unwrap();
        assert_eq!((u.as_str(), pw.expose()), ("pager", "s3cret"));

        let m = phone("desk", Secret::minted());
        let e = plain.credentials_for(&m).unwrap_err();
        assert!(
            matches!(&e, TransportError::Unsupported(r) if r.contains("minted by zonecast serve"))
        );
        assert!(!e.is_transient(), "not retried");
        assert!(matches!(
            PushOutcome::from_exchange(Err(e), true),
            PushOutcome::Unsupported { .. }
        ));

        let minting = plain.with_credentials(Arc::new(Counting(Default::default())));
        let (u1, p1) = minting.credentials_for(&m).unwrap();
        let (u2, p2) = minting.credentials_for(&m).unwrap();
        assert_eq!((u1.as_str(), p1.expose()), ("zc-0", "pw-0"));
        assert_eq!((u2.as_str(), p2.expose()), ("zc-1", "pw-1"));
        // A phone with a password is never handed to the source.
        let (u, _) = minting.credentials_for(&p).unwrap();
        assert_eq!(u, "pager");
        let e = minting
            .credentials_for(&phone("cannot", Secret::minted()))
            .unwrap_err();
        assert!(matches!(e, TransportError::Unsupported(_)));
    }

    #[tokio::test]
    async fn a_minted_phone_without_a_source_is_not_sent_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let client = PushClient::new(PushConfig::default()).unwrap();
        let p = Phone {
            host,
            ..phone("desk", Secret::minted())
        };
        let outcome = client
            .execute(&p, "<CiscoIPPhoneExecute/>", None, true)
            .await;
        match &outcome {
            PushOutcome::Unsupported { reason } => {
                assert!(reason.contains("this command cannot mint them"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let accepted = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await;
        assert!(accepted.is_err(), "nothing connected");
    }
}
