//! `zonecast ringtone convert`: one sound into one ring file. Owns the checks of the convert
//! options and the `--json` report; the conversion itself is [`crate::ringtone::convert_file`],
//! the words of the verdict are [`super::words`]'.

use std::path::Path;

use anyhow::Context as _;

use super::ConvertArgs;
use super::words::{describe_format, severity_word};
use crate::cli::CliError;
use crate::ringtone::{CheckReport, ConvertOptions, Format, convert_file};

/// A finite number in `range`, or the error naming the option.
fn in_range(name: &str, v: f64, ok: impl Fn(f64) -> bool, rule: &str) -> Result<f64, CliError> {
    if v.is_finite() && ok(v) {
        Ok(v)
    } else {
        Err(CliError::Invalid(format!("--{name} {v}: {rule}")))
    }
}

/// The options of a convert, checked.
fn convert_options(a: &ConvertArgs) -> Result<ConvertOptions, CliError> {
    let by_name = Format::from_path(&a.output);
    let format = match (by_name, a.wideband) {
        (Some(Format::Narrowband), true) => {
            return Err(CliError::Invalid(format!(
                "{}: --wideband writes a .rwb file, but the name ends in .raw (narrowband): \
                 drop --wideband or name it .rwb",
                a.output.display()
            )));
        }
        (Some(f), _) => f,
        (None, true) => Format::Wideband,
        (None, false) => Format::Narrowband,
    };
    if by_name.is_none() {
        eprintln!(
            "zonecast: warning: {} does not end in .{}: phones look ring files up by that extension",
            a.output.display(),
            format.extension()
        );
    }
    let defaults = ConvertOptions::default();
    Ok(ConvertOptions {
        format,
        start: a
            .start
            .map(|v| in_range("start", v, |v| v >= 0.0, "must be 0 or more seconds"))
            .transpose()?,
        length: a
            .length
            .map(|v| in_range("length", v, |v| v > 0.0, "must be more than 0 seconds"))
            .transpose()?,
        normalize_dbfs: a
            .normalize
            .map(|v| {
                in_range(
                    "normalize",
                    v,
                    |v| (-60.0..=0.0).contains(&v),
                    "the peak level must be -60..=0 dBFS",
                )
            })
            .transpose()?
            .unwrap_or(defaults.normalize_dbfs),
        fade_ms: a
            .fade
            .map(|v| {
                in_range(
                    "fade",
                    v,
                    |v| (0.0..=1000.0).contains(&v),
                    "must be 0..=1000 ms",
                )
            })
            .transpose()?
            .unwrap_or(defaults.fade_ms),
        loudness: a
            .loudness
            .map(|v| {
                in_range(
                    "loudness",
                    v,
                    |v| crate::audio::loudness::LUFS_RANGE.contains(&v),
                    "must be -30..=-10 LUFS",
                )
            })
            .transpose()?,
    })
}

/// What `convert --json` prints.
#[derive(serde::Serialize)]
struct ConvertReport<'a> {
    input: &'a Path,
    output: &'a Path,
    format: Format,
    samples: usize,
    seconds: f64,
    bytes: usize,
    warnings: &'a [String],
    check: &'a CheckReport,
}

pub(super) fn seconds_of(samples: usize, format: Format) -> f64 {
    samples as f64 / f64::from(format.rate())
}

pub(super) fn convert(a: ConvertArgs) -> Result<i32, CliError> {
    let opts = convert_options(&a)?;
    let done = convert_file(&a.input, &opts)?;
    std::fs::write(&a.output, &done.bytes)
        .with_context(|| format!("writing {}", a.output.display()))?;
    let seconds = seconds_of(done.samples, opts.format);
    if a.json {
        let report = ConvertReport {
            input: &a.input,
            output: &a.output,
            format: opts.format,
            samples: done.samples,
            seconds,
            bytes: done.bytes.len(),
            warnings: &done.warnings,
            check: &done.report,
        };
        println!(
            "{}",
            serde_json::to_string(&report).context("writing JSON")?
        );
    } else {
        println!(
            "{}: {} samples, {seconds:.3} s, {} ({} bytes)",
            a.output.display(),
            done.samples,
            describe_format(opts.format),
            done.bytes.len()
        );
        for w in &done.warnings {
            println!("  warning: {w}");
        }
        for p in &done.report.problems {
            println!("  {}: {}: {}", severity_word(p.severity), p.rule, p.detail);
        }
    }
    Ok(0)
}
