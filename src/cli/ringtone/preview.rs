//! `zonecast ringtone preview`: play a ring file on a phone (`Play:FILE`) and wait until it
//! has played. Owns the model checks, the wait and the words for the phone's answer; pushing is
//! [`crate::push::PushClient`]'s. It does not upload the file: the phone reads it from its TFTP
//! path.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::PreviewArgs;
use super::check::check_format;
use super::words::severity_word;
use crate::cli::CliError;
use crate::config::Config;
use crate::push::{PushClient, PushConfig, PushOutcome};
use crate::ringtone::check_bytes;
use crate::xsi::model::Capabilities;
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, Target, XmlObject};
use crate::xsi::uri::Uri;

/// Time a phone takes to answer a `Play:` on top of the file's length and the push timeout.
const PLAY_ALLOWANCE: Duration = Duration::from_secs(30);

/// What `preview --json` prints.
#[derive(serde::Serialize)]
struct PreviewReport<'a> {
    phone: &'a str,
    uri: String,
    #[serde(flatten)]
    outcome: &'a PushOutcome,
    status: Option<u32>,
    data: Option<String>,
    seconds: f64,
}

pub(super) fn preview(a: PreviewArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let entry = config.phone(&a.phone).ok_or_else(|| {
        let names: Vec<&str> = config.phones.iter().map(|p| p.name.as_str()).collect();
        CliError::Invalid(format!(
            "phone {:?}: no such phone in {}; phones: {}",
            a.phone,
            config.path.display(),
            names.join(" ")
        ))
    })?;
    let caps = Capabilities::for_model_name(&entry.model);
    if !caps.execute_response {
        return Err(CliError::Invalid(format!(
            "phone {} ({}) runs Multiplatform firmware: it does not answer pushes, so there is \
             no Play: answer to wait for (preview needs an enterprise-firmware phone)",
            entry.name, entry.model
        )));
    }
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::Invalid(format!("{}: not a file name", a.file.display())))?;
    let uri = Uri::play(&name)?;
    caps.check_uri(&uri)
        .map_err(|why| CliError::Invalid(format!("model {}: {why}", entry.model)))?;
    // A copy here tells how long the phone will take, and whether it would play at all.
    let mut play_length = Duration::ZERO;
    if let Ok(bytes) = std::fs::read(&a.file) {
        let format = check_format(&a.file, false);
        let report = check_bytes(&bytes, format);
        play_length = Duration::from_secs_f64(report.seconds.clamp(0.0, 3600.0));
        for p in &report.problems {
            eprintln!(
                "zonecast: {}: {}: {}: {}",
                severity_word(p.severity),
                a.file.display(),
                p.rule,
                p.detail
            );
        }
    }
    eprintln!(
        "zonecast: note: the phone plays {name} from its TFTP path: the file must already be on \
         the phones' TFTP server (preview does not upload it)"
    );
    let xml = Execute::new(ExecuteItem::new(ExecuteUrl::try_from(&uri)?))
        .to_xml_checked(Target::Phone)?;
    let push = config.engine.push_config();
    // A retried `Play:` that timed out would play twice: one attempt.
    let client = PushClient::new(PushConfig { retries: 0, ..push })
        .map_err(|e| CliError::Failed(anyhow::anyhow!("push client: {e}")))?;
    let target = entry.push_target(entry.secret()?);
    let timeout = push.timeout + play_length + PLAY_ALLOWANCE;
    let rt = crate::cli::common::runtime()?;
    let t0 = Instant::now();
    let outcome = rt.block_on(client.execute(&target, &xml, Some(timeout), true));
    let seconds = t0.elapsed().as_secs_f64();
    let url = uri.to_string();
    let item = crate::cli::phone::item_status(&outcome, &url);
    if a.json {
        let report = PreviewReport {
            phone: &entry.name,
            uri: url.clone(),
            outcome: &outcome,
            status: item.as_ref().map(|i| i.0),
            data: item.as_ref().map(|i| i.1.clone()),
            seconds,
        };
        println!(
            "{}",
            serde_json::to_string(&report).context("writing JSON")?
        );
    }
    match (&outcome, &item) {
        (PushOutcome::Ok { .. }, _) => {
            if !a.json {
                println!(
                    "phone {}: played {url} (answered after {seconds:.2} s){}",
                    entry.name,
                    match &item {
                        Some((s, d)) => format!(": status {s}: {d}"),
                        None => String::new(),
                    }
                );
            }
            Ok(0)
        }
        (_, Some((6, data))) => Err(CliError::Partial(format!(
            "phone {}: {url}: status 6: {data}: put {name} on the phones' TFTP server first",
            entry.name
        ))),
        _ => crate::cli::phone::fail_with(
            crate::cli::phone::outcome_code(&outcome),
            format!(
                "phone {}: {url}: {}",
                entry.name,
                crate::cli::phone::describe(&outcome)
            ),
        ),
    }
}
