//! The phone arguments every XSI command shares (`--phone`, `--user`, `--password-env` ...) and
//! the plumbing they all need: reading the password, checking against a model, building the
//! push client, and turning a [`PushOutcome`] into words and an exit code.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::common::{CliError, parse_seconds};
use crate::push::{Phone, PushClient, PushConfig, PushOutcome, Secret};
use crate::xsi::model::Capabilities;
use crate::xsi::response::ExecuteReply;
use crate::xsi::uri::Uri;

/// Default `--user`.
const DEFAULT_USER: &str = "zonecast";
/// Default `--password-env`.
const DEFAULT_PASSWORD_ENV: &str = "ZONECAST_PHONE_PASSWORD";
/// Default per-request timeout.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which phones to talk to and how to log in to them.
#[derive(Debug, Args)]
pub struct PhoneArgs {
    /// The phone's web server, HOST or HOST:PORT.
    #[arg(long = "phone", value_name = "HOST[:PORT]", required = true, value_parser = parse_host)]
    phones: Vec<String>,
    /// User the phone is associated with.
    #[arg(long, value_name = "USER", default_value = DEFAULT_USER)]
    user: String,
    /// Environment variable holding the password [default: ZONECAST_PHONE_PASSWORD].
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    password_env: Option<String>,
    /// File whose first line is the password.
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
    /// Phone model (e.g. CP-8845, CP-8845-3PCC): refuse what it cannot do before sending.
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    timeout: Option<Duration>,
    /// Print the XML that would be sent, send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Talk HTTPS to the phone (its self-signed certificate is accepted; the password is
    /// then never sent in clear text).
    #[arg(long)]
    https: bool,
}

impl PhoneArgs {
    /// Whether this is a dry run.
    pub(super) fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The phones as given, for dry-run headings and reports.
    pub(super) fn hosts(&self) -> &[String] {
        &self.phones
    }

    /// Refuse more than one `--phone` for commands that talk to one phone.
    pub(super) fn require_single(&self, command: &str) -> Result<(), CliError> {
        if self.phones.len() > 1 {
            return Err(CliError::Invalid(format!(
                "--phone given {} times: `{command}` talks to one phone",
                self.phones.len()
            )));
        }
        Ok(())
    }

    /// The model's capabilities, when `--model` was given.
    pub(super) fn caps(&self) -> Option<Capabilities> {
        self.model.as_deref().map(Capabilities::for_model_name)
    }

    /// Whether the phone answers a push with a CiscoIPPhoneResponse (false for Multiplatform).
    pub(super) fn expect_reply(&self) -> bool {
        self.caps().is_none_or(|c| c.execute_response)
    }

    /// Refuse `uri` when `--model` cannot execute it.
    pub(super) fn check_uri(&self, uri: &Uri) -> Result<(), CliError> {
        match (self.caps(), &self.model) {
            (Some(c), Some(m)) => c
                .check_uri(uri)
                .map_err(|why| CliError::Invalid(format!("model {m}: {why}"))),
            _ => Ok(()),
        }
    }

    /// Refuse an object with root element `root` and `bytes` bytes when `--model` cannot take it.
    pub(super) fn check_object(&self, root: &str, bytes: usize) -> Result<(), CliError> {
        match (self.caps(), &self.model) {
            (Some(c), Some(m)) => c
                .check_object(root, bytes)
                .map_err(|why| CliError::Invalid(format!("model {m}: {why}"))),
            _ => Ok(()),
        }
    }

    /// The per-request timeout: `--timeout`, or the default.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The phones with their credentials. Reads the password: not for dry runs.
    pub(super) fn phones(&self) -> Result<Vec<Phone>, CliError> {
        let password = match &self.password_file {
            Some(path) => Secret::from_file(path)?,
            None => Secret::from_env(self.password_env.as_deref().unwrap_or(DEFAULT_PASSWORD_ENV))?,
        };
        Ok(self
            .phones
            .iter()
            .map(|host| Phone {
                name: host.clone(),
                host: host.clone(),
                user: self.user.clone(),
                password: password.clone(),
                https: self.https,
            })
            .collect())
    }

    /// A push client whose requests time out after `timeout`.
    pub(super) fn client(&self, timeout: Duration) -> Result<PushClient, CliError> {
        PushClient::new(PushConfig {
            timeout,
            connect_timeout: timeout.min(PushConfig::default().connect_timeout),
            ..PushConfig::default()
        })
        .context("creating the HTTP client")
        .map_err(CliError::Failed)
    }

    /// Print `xml` once per target phone, headed by `# phone HOST`.
    pub(super) fn print_dry_run(&self, xml: &str) {
        for host in &self.phones {
            println!("# phone {host}");
            println!("{xml}");
        }
    }
}

/// A `--phone` value: a host name or address, optionally with a port; no scheme, path or user.
fn parse_host(host: &str) -> Result<String, String> {
    let bad = host.is_empty()
        || host
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#'));
    if bad {
        return Err(format!(
            "{host:?}: must be HOST or HOST:PORT (no scheme, path or user)"
        ));
    }
    Ok(host.to_string())
}

/// A current-thread tokio runtime for one command.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(CliError::Failed)
}

/// Exit code of one outcome: 0 ok, 3 the phone answered with a failure, 1 no usable answer.
pub(super) fn outcome_code(o: &PushOutcome) -> i32 {
    match o {
        PushOutcome::Ok { .. } => 0,
        PushOutcome::Rejected { .. }
        | PushOutcome::AuthFailed
        | PushOutcome::BadResponse { .. } => 3,
        PushOutcome::Unreachable { .. }
        | PushOutcome::Timeout
        | PushOutcome::Unsupported { .. } => 1,
    }
}

/// The worse of two exit codes: no answer (1) is worse than a failure answer (3), which is worse
/// than success (0).
pub(super) fn worse(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        0 => 0,
        3 => 1,
        1 => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// One line saying what the outcome was.
pub(super) fn describe(o: &PushOutcome) -> String {
    match o {
        PushOutcome::Ok { .. } => "ok".into(),
        PushOutcome::AuthFailed => "authentication failed (check --user and the password)".into(),
        PushOutcome::Unreachable { reason, .. } => format!("unreachable: {reason}"),
        PushOutcome::Timeout => "timed out".into(),
        PushOutcome::Rejected { status, data, url } if url.is_empty() => {
            format!("rejected: {data} (status {status})")
        }
        PushOutcome::Rejected { status, data, url } => {
            format!("rejected: {url}: status {status}: {data}")
        }
        PushOutcome::Unsupported { reason } => format!("not sent: {reason}"),
        PushOutcome::BadResponse { reason } => format!("bad response: {reason}"),
    }
}

/// The phone's report on `url`, when it sent one.
pub(super) fn item_status(o: &PushOutcome, url: &str) -> Option<(u32, String)> {
    match o {
        PushOutcome::Ok { items } => ExecuteReply::Response(items.clone())
            .item_for(url)
            .map(|i| (i.status, i.data.clone())),
        PushOutcome::Rejected {
            status,
            data,
            url: bad,
        } if bad.trim().eq_ignore_ascii_case(url.trim()) => Some((*status, data.clone())),
        _ => None,
    }
}

/// One item of a `--json` report.
#[derive(serde::Serialize)]
pub(super) struct ItemReport {
    url: String,
    status: Option<u32>,
    data: Option<String>,
}

/// One phone of a `--json` report: `{phone, outcome, ..., items}`.
#[derive(serde::Serialize)]
pub(super) struct PhoneReport<'a> {
    phone: &'a str,
    #[serde(flatten)]
    outcome: &'a PushOutcome,
    items: Vec<ItemReport>,
}

/// Report each phone's outcome of a push of `urls` (the URLs whose items to show; empty for a
/// display object) and return the worst exit code, as an error for codes 1 and 3.
pub(super) fn report(
    hosts: &[String],
    outcomes: &[PushOutcome],
    urls: &[String],
    json: bool,
) -> Result<i32, CliError> {
    let mut code = 0;
    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for (host, o) in hosts.iter().zip(outcomes) {
        code = worse(code, outcome_code(o));
        if !o.is_ok() {
            failures.push(format!("phone {host}: {}", describe(o)));
        }
        let items: Vec<ItemReport> = urls
            .iter()
            .map(|u| {
                let s = item_status(o, u);
                ItemReport {
                    url: u.clone(),
                    status: s.as_ref().map(|s| s.0),
                    data: s.map(|s| s.1),
                }
            })
            .collect();
        if json {
            reports.push(PhoneReport {
                phone: host,
                outcome: o,
                items,
            });
        } else {
            println!("phone {host}: {}", describe(o));
            for i in items {
                match (i.status, i.data) {
                    (Some(s), Some(d)) => println!("  {}: status {s}: {d}", i.url),
                    _ if o.is_ok() => println!("  {}: sent (this phone reports no items)", i.url),
                    _ => println!("  {}: no item reported", i.url),
                }
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&reports).context("writing JSON")?
        );
    }
    fail_with(code, failures.join("; "))
}

/// `Ok(0)` for 0, else the error that exits with `code` after printing `msg`.
pub(super) fn fail_with(code: i32, msg: String) -> Result<i32, CliError> {
    match code {
        0 => Ok(0),
        3 => Err(CliError::Partial(msg)),
        _ => Err(CliError::Failed(anyhow::anyhow!(msg))),
    }
}
