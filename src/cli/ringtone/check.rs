//! `zonecast ringtone check`: ring files against the rules, one verdict per file, exit 3 when
//! any fails. Also owns how a file's format is chosen for checking. The rules themselves are
//! [`crate::ringtone::check_bytes`].

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use super::CheckArgs;
use super::words::{describe_format, severity_word};
use crate::cli::CliError;
use crate::ringtone::{CheckReport, Format, check_bytes};

/// The format a file is checked as.
pub(super) fn check_format(path: &Path, wideband: bool) -> Format {
    if wideband {
        Format::Wideband
    } else {
        Format::from_path(path).unwrap_or(Format::Narrowband)
    }
}

/// One file of `check --json`.
#[derive(serde::Serialize)]
struct CheckedFile<'a> {
    file: &'a Path,
    passes: bool,
    /// Why the file could not be read (then there is no report).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    report: Option<CheckReport>,
}

pub(super) fn check(a: CheckArgs) -> Result<i32, CliError> {
    let mut results = Vec::new();
    for file in &a.files {
        let format = check_format(file, a.wideband);
        let checked = match std::fs::read(file) {
            Ok(bytes) => {
                let report = check_bytes(&bytes, format);
                CheckedFile {
                    file,
                    passes: report.passes(),
                    error: None,
                    report: Some(report),
                }
            }
            Err(e) => CheckedFile {
                file,
                passes: false,
                error: Some(format!("cannot read: {e}")),
                report: None,
            },
        };
        results.push(checked);
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&results).context("writing JSON")?
        );
    } else {
        for r in &results {
            print!("{}", describe_check(r));
        }
    }
    let unreadable = results.iter().filter(|r| r.error.is_some()).count();
    let failed = results.iter().filter(|r| !r.passes).count();
    if unreadable == results.len() {
        return Err(CliError::Invalid(if results.len() == 1 {
            format!("{}: cannot be read", a.files[0].display())
        } else {
            "none of the files could be read".into()
        }));
    }
    if failed > 0 {
        return Err(CliError::Partial(format!(
            "{failed} of {} files fail the ring file rules{}",
            results.len(),
            if unreadable > 0 {
                format!(" ({unreadable} could not be read)")
            } else {
                String::new()
            }
        )));
    }
    Ok(0)
}

fn describe_check(r: &CheckedFile) -> String {
    let mut s = String::new();
    match (&r.error, &r.report) {
        (Some(e), _) => {
            let _ = writeln!(s, "{}: FAIL: {e}", r.file.display());
        }
        (None, Some(rep)) => {
            let _ = writeln!(
                s,
                "{}: {} ({} samples, {:.3} s, checked as {})",
                r.file.display(),
                if r.passes { "ok" } else { "FAIL" },
                rep.samples,
                rep.seconds,
                describe_format(rep.format),
            );
            for p in &rep.problems {
                let _ = writeln!(
                    s,
                    "  {:<7} {}: {}",
                    severity_word(p.severity),
                    p.rule,
                    p.detail
                );
            }
        }
        (None, None) => {}
    }
    s
}
