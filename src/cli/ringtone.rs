//! `zonecast ringtone ...`: turn any sound into a Cisco ring file (`convert`, `batch`), check
//! files against the rules (`check`), write the ring list that names them (`list`), and play one
//! on a phone (`preview`). The rules and the conversion live in [`crate::ringtone`]; this file
//! reads and writes the files, runs the batch's worker threads, and turns verdicts into words
//! and exit codes (0 ok, 2 invalid input, 3 a file breaks the rules or a phone refused).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::CliError;
use crate::config::Config;
use crate::push::{PushClient, PushConfig, PushOutcome};
use crate::ringtone::{
    CheckReport, ConvertOptions, Converted, Format, Ring, RingList, Severity, check_bytes,
    convert_file, render_ring_list,
};
use crate::xsi::model::Capabilities;
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, Target, XmlObject};
use crate::xsi::uri::Uri;

/// `zonecast ringtone` subcommands.
#[derive(Debug, Subcommand)]
pub enum RingtoneCommand {
    /// Convert any sound (WAV, MP3, FLAC, Ogg, raw µ-law) into a ring file that passes `check`:
    /// `.raw` (µ-law, 8 kHz) or `.rwb` (16-bit, 16 kHz, 7800/8800 wideband).
    Convert(ConvertArgs),
    /// Check ring files against the rules and report every rule each one breaks (exit 3 when
    /// any file fails).
    Check(CheckArgs),
    /// Print the ring list (CiscoIPPhoneRingList) of the legal ring files in a folder.
    List(ListArgs),
    /// Convert every sound in a folder (in parallel), write the ring list next to the results,
    /// and print a table of what was done.
    Batch(BatchArgs),
    /// Play a ring file on a phone (`Play:FILE`) and wait until it has played. The file must
    /// already be on the phones' TFTP path.
    Preview(PreviewArgs),
}

/// Arguments of `zonecast ringtone convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The sound to convert (WAV, MP3, FLAC, Ogg, raw µ-law).
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// The ring file to write; `.rwb` means wideband.
    #[arg(value_name = "OUT")]
    output: PathBuf,
    /// Write a wideband ring (`.rwb`: signed 16-bit little-endian, 16 kHz).
    #[arg(long)]
    wideband: bool,
    /// Skip this many seconds of the input.
    #[arg(long, value_name = "SECS")]
    start: Option<f64>,
    /// Keep at most this many seconds (then rounded to a legal length).
    #[arg(long, value_name = "SECS")]
    length: Option<f64>,
    /// Peak level after normalisation, in dBFS [default: -1].
    #[arg(long, value_name = "DBFS", allow_negative_numbers = true)]
    normalize: Option<f64>,
    /// Fade in and out over this many milliseconds [default: 5].
    #[arg(long, value_name = "MS")]
    fade: Option<f64>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `zonecast ringtone check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Ring files (`.rwb` files are checked as wideband, the others as narrowband).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Check every file as wideband (`.rwb` rules), whatever its extension.
    #[arg(long)]
    wideband: bool,
    /// Print a JSON array, one object per file.
    #[arg(long)]
    json: bool,
}

/// Arguments of `zonecast ringtone list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The folder of ring files (`.raw`, or `.rwb` with --wideband).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// List the wideband rings (`.rwb`), for Ringlist-wb.xml.
    #[arg(long)]
    wideband: bool,
    /// The list is DistinctiveRingList.xml (only the advice on stderr changes: the XML is the
    /// same CiscoIPPhoneRingList).
    #[arg(long)]
    distinctive: bool,
    /// Display names: a TOML file of `"FILE" = "Name"` lines [default: DIR/names.toml when it
    /// exists; otherwise names come from the file names].
    #[arg(long, value_name = "PATH")]
    names: Option<PathBuf>,
}

/// Arguments of `zonecast ringtone batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The folder of sounds (WAV, MP3, FLAC, Ogg, raw µ-law); sub-folders are not searched.
    #[arg(value_name = "INDIR")]
    input: PathBuf,
    /// Where the ring files and the ring list go (created when missing).
    #[arg(value_name = "OUTDIR")]
    output: PathBuf,
    /// Write wideband rings (`.rwb`) and Ringlist-wb.xml.
    #[arg(long)]
    wideband: bool,
    /// Files converted at once [default: the number of CPUs].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    /// Convert every file again, also those an earlier (perhaps interrupted) run of the same
    /// batch finished; by default a ring file that is newer than its sound and passes the rules
    /// is kept and the sound skipped.
    #[arg(long)]
    force: bool,
}

/// Arguments of `zonecast ringtone preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The configuration (for the phone's address and credentials).
    #[arg(long)]
    config: PathBuf,
    /// The phone to play it on (its name in the config).
    #[arg(long, value_name = "NAME")]
    phone: String,
    /// The ring file; only its name is sent (`Play:NAME`), the phone reads it from its TFTP
    /// path. When the file also exists here it is checked first and its length sets how long to
    /// wait.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Print the phone's answer as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(c: RingtoneCommand) -> Result<i32, CliError> {
    match c {
        RingtoneCommand::Convert(a) => convert(a),
        RingtoneCommand::Check(a) => check(a),
        RingtoneCommand::List(a) => list(a),
        RingtoneCommand::Batch(a) => batch(a),
        RingtoneCommand::Preview(a) => preview(a),
    }
}

// ---- convert -------------------------------------------------------------------------------

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

fn seconds_of(samples: usize, format: Format) -> f64 {
    samples as f64 / f64::from(format.rate())
}

fn describe_format(f: Format) -> &'static str {
    match f {
        Format::Narrowband => "narrowband µ-law 8 kHz",
        Format::Wideband => "wideband 16-bit 16 kHz",
    }
}

fn convert(a: ConvertArgs) -> Result<i32, CliError> {
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

// ---- check ---------------------------------------------------------------------------------

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// The format a file is checked as.
fn check_format(path: &Path, wideband: bool) -> Format {
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

fn check(a: CheckArgs) -> Result<i32, CliError> {
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

// ---- list ----------------------------------------------------------------------------------

/// A display name from a file name: the stem, `_` and `-` as spaces, each word capitalised
/// (`evacuation_tone.raw` → `Evacuation Tone`).
pub(crate) fn display_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = stem
        .split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    // A stem of separators only (`__`) keeps its own spelling rather than no name.
    if name.is_empty() { stem } else { name }
}

/// Display names from a TOML file of `"FILE" = "Name"`. A dotted bare key (`bell.raw = ...`)
/// reads as a table in TOML: it is joined back into the file name.
fn read_names(path: &Path) -> Result<BTreeMap<String, String>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Invalid(format!("names {}: cannot read: {e}", path.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| CliError::Invalid(format!("names {}: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    flatten_names(path, "", &table, &mut out)?;
    Ok(out)
}

fn flatten_names(
    path: &Path,
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), CliError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(name) => {
                out.insert(key, name.clone());
            }
            toml::Value::Table(t) => flatten_names(path, &key, t, out)?,
            other => {
                return Err(CliError::Invalid(format!(
                    "names {}: {key} = {other}: each line must be \"FILE\" = \"Display Name\"",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// The display name of `file` (its name in the folder): from `names` by file name or by stem,
/// else from the file name.
fn name_for(file: &str, names: &BTreeMap<String, String>) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    names
        .get(file)
        .or_else(|| names.get(&stem))
        .cloned()
        .unwrap_or_else(|| display_name(Path::new(file)))
}

/// The ring list's usual file name.
fn list_file_name(wideband: bool, distinctive: bool) -> &'static str {
    match (wideband, distinctive) {
        (false, false) => "RingList.xml",
        (false, true) => "DistinctiveRingList.xml",
        (true, false) => "Ringlist-wb.xml",
        (true, true) => "DistinctiveRinglist-wb.xml",
    }
}

/// The names from `--names`, or from `dir/names.toml` when that exists.
fn names_for_dir(
    explicit: Option<&Path>,
    dir: &Path,
) -> Result<BTreeMap<String, String>, CliError> {
    match explicit {
        Some(p) => read_names(p),
        None => {
            let default = dir.join("names.toml");
            if default.is_file() {
                read_names(&default)
            } else {
                Ok(BTreeMap::new())
            }
        }
    }
}

/// Files of `dir` (not sub-folders), sorted by name.
fn files_of(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::Invalid(format!("{}: cannot read the folder: {e}", dir.display()))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn file_name_of(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn list(a: ListArgs) -> Result<i32, CliError> {
    let format = if a.wideband {
        Format::Wideband
    } else {
        Format::Narrowband
    };
    let names = names_for_dir(a.names.as_deref(), &a.dir)?;
    let mut rings = Vec::new();
    let mut skipped = 0;
    for path in files_of(&a.dir)? {
        if Format::from_path(&path) != Some(format) {
            continue;
        }
        let file = file_name_of(&path);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("zonecast: skipped {file}: cannot read: {e}");
                skipped += 1;
                continue;
            }
        };
        let report = check_bytes(&bytes, format);
        if !report.passes() {
            let why: Vec<String> = report
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .map(|p| format!("{}: {}", p.rule, p.detail))
                .collect();
            eprintln!(
                "zonecast: skipped {file}: fails the rules ({})",
                why.join("; ")
            );
            skipped += 1;
            continue;
        }
        for p in &report.problems {
            eprintln!("zonecast: warning: {file}: {}: {}", p.rule, p.detail);
        }
        rings.push(Ring {
            display_name: name_for(&file, &names),
            file_name: file,
        });
    }
    for key in names.keys() {
        let listed = rings.iter().any(|r| {
            &r.file_name == key || Path::new(&r.file_name).file_stem() == Some(key.as_ref())
        });
        if !listed {
            eprintln!("zonecast: warning: names: {key:?} is not a listed ring file");
        }
    }
    let count = rings.len();
    let (xml, warnings) = render_ring_list(&RingList { rings });
    for w in &warnings {
        eprintln!("zonecast: warning: {w}");
    }
    print!("{xml}");
    if count == 0 {
        return Err(CliError::Partial(format!(
            "{}: no legal .{} ring file to list{}",
            a.dir.display(),
            format.extension(),
            if skipped > 0 {
                format!(" ({skipped} skipped)")
            } else {
                String::new()
            }
        )));
    }
    eprintln!(
        "zonecast: {count} rings listed{}; save it as {} on the TFTP server",
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        },
        list_file_name(a.wideband, a.distinctive)
    );
    Ok(0)
}

// ---- batch ---------------------------------------------------------------------------------

/// Extensions of the sounds a batch converts.
const AUDIO_EXTS: [&str; 11] = [
    "wav", "wave", "mp3", "flac", "ogg", "oga", "raw", "ulaw", "mu", "ul", "pcmu",
];

fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The ring file name for an input: its stem with anything but letters, digits, `_`, `-` and
/// `.` made `_`, cut so the whole name fits the ring list's 25 characters.
fn ring_file_name(input: &Path, format: Format) -> String {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = format.extension();
    let room = crate::ringtone::ringlist::MAX_NAME - ext.len() - 1;
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(room)
        .collect();
    if clean.is_empty() {
        clean.push_str("ring");
    }
    format!("{clean}.{ext}")
}

/// One file of a batch.
struct Job {
    input: PathBuf,
    output: String,
}

/// What became of a file of a batch that did not fail.
enum Done {
    /// Converted now.
    Converted(Converted),
    /// An earlier run of the batch left its ring file, which holds this many samples.
    Skipped { samples: usize },
}

/// What became of it.
type JobResult = Result<Done, String>;

/// The name a ring file is written under before it is renamed to `output`: hidden, and without
/// a ring extension, so that neither a rerun, `ringtone list` nor a phone's TFTP folder takes a
/// file cut short by a killed batch for a finished ring. A rename is atomic: the ring's own
/// name only ever holds a complete file.
fn partial_name(output: &str) -> String {
    format!(".{output}.partial")
}

/// Write `bytes` to `dir/name` through [`partial_name`] and a rename. The data is synced before
/// the rename so that even a power cut cannot leave the name on a file without its contents.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let partial = dir.join(partial_name(name));
    let written = std::fs::File::create(&partial).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&partial, dir.join(name))) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// The samples of the ring file an earlier run left for `input` at `out`, when it can be kept:
/// it exists (a rename made it, so it is whole), it is not older than the sound (a sound edited
/// since is converted again), and it passes the rules.
fn already_converted(input: &Path, out: &Path, format: Format) -> Option<usize> {
    let made = std::fs::metadata(out).ok()?.modified().ok()?;
    let source = std::fs::metadata(input).ok()?.modified().ok()?;
    if made < source {
        return None;
    }
    let report = check_bytes(&std::fs::read(out).ok()?, format);
    report.passes().then_some(report.samples)
}

/// Convert `jobs` on `threads` worker threads pulling from one queue; `tick` is called after
/// each file. Results come back in the order of `jobs`.
fn run_jobs(
    jobs: &[Job],
    out_dir: &Path,
    opts: &ConvertOptions,
    force: bool,
    threads: usize,
    tick: &(dyn Fn(&Job, &JobResult) + Sync),
) -> Vec<JobResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<JobResult>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = convert_one(job, out_dir, opts, force);
                    tick(job, &r);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not converted (a worker thread failed)".into())))
        .collect()
}

fn convert_one(job: &Job, out_dir: &Path, opts: &ConvertOptions, force: bool) -> JobResult {
    let out = out_dir.join(&job.output);
    if !force && let Some(samples) = already_converted(&job.input, &out, opts.format) {
        return Ok(Done::Skipped { samples });
    }
    // A panic in one file's conversion is that file's failure, not the batch's end.
    let converted = std::panic::catch_unwind(|| convert_file(&job.input, opts))
        .map_err(|_| "the conversion panicked (a bug: please report it)".to_string())?
        .map_err(|e| e.to_string())?;
    write_atomically(out_dir, &job.output, &converted.bytes)
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    Ok(Done::Converted(converted))
}

fn progress_bar(n: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {wide_msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn batch(a: BatchArgs) -> Result<i32, CliError> {
    let format = if a.wideband {
        Format::Wideband
    } else {
        Format::Narrowband
    };
    let inputs: Vec<PathBuf> = files_of(&a.input)?
        .into_iter()
        .filter(|p| is_audio(p))
        .collect();
    if inputs.is_empty() {
        return Err(CliError::Invalid(format!(
            "{}: no sound to convert (looked for .{})",
            a.input.display(),
            AUDIO_EXTS.join(", .")
        )));
    }
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    if let (Ok(i), Ok(o)) = (a.input.canonicalize(), a.output.canonicalize())
        && i == o
    {
        return Err(CliError::Invalid(format!(
            "{}: INDIR and OUTDIR are the same folder: the ring files would overwrite the inputs",
            a.input.display()
        )));
    }
    // Two inputs that give the same ring file name: the first wins, the others fail.
    let mut jobs = Vec::new();
    let mut clashes: Vec<(PathBuf, String)> = Vec::new();
    for input in inputs {
        let output = ring_file_name(&input, format);
        match jobs
            .iter()
            .find(|j: &&Job| j.output.eq_ignore_ascii_case(&output))
        {
            Some(first) => clashes.push((
                input,
                format!(
                    "would also be written as {output} (as {})",
                    file_name_of(&first.input)
                ),
            )),
            None => jobs.push(Job { input, output }),
        }
    }
    let threads = a.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let opts = ConvertOptions {
        format,
        ..ConvertOptions::default()
    };
    // What a killed run left half-written: never a ring (see `partial_name`), but litter.
    for job in &jobs {
        let _ = std::fs::remove_file(a.output.join(partial_name(&job.output)));
    }
    let bar = progress_bar(jobs.len());
    let t0 = Instant::now();
    let results = run_jobs(&jobs, &a.output, &opts, a.force, threads, &|job, _| {
        bar.set_message(file_name_of(&job.input));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let elapsed = t0.elapsed();

    let names = names_for_dir(None, &a.input)?;
    let mut rows = Vec::new();
    let mut rings = Vec::new();
    let mut skipped = 0;
    for (job, r) in jobs.iter().zip(&results) {
        let file = file_name_of(&job.input);
        match r {
            Ok(done) => {
                let display = names
                    .get(&file)
                    .or_else(|| names.get(&job.output))
                    .cloned()
                    .unwrap_or_else(|| display_name(&job.input));
                rings.push(Ring {
                    display_name: display,
                    file_name: job.output.clone(),
                });
                let (samples, result) = match done {
                    Done::Converted(c) if c.warnings.is_empty() => (c.samples, "ok".into()),
                    Done::Converted(c) => (c.samples, c.warnings.join("; ")),
                    Done::Skipped { samples } => {
                        skipped += 1;
                        (*samples, "skipped: converted by an earlier run".into())
                    }
                };
                rows.push(Row {
                    file,
                    output: job.output.clone(),
                    seconds: Some(seconds_of(samples, format)),
                    samples: Some(samples),
                    result,
                });
            }
            Err(e) => rows.push(Row {
                file,
                output: "-".into(),
                seconds: None,
                samples: None,
                result: format!("FAILED: {e}"),
            }),
        }
    }
    for (input, why) in &clashes {
        rows.push(Row {
            file: file_name_of(input),
            output: "-".into(),
            seconds: None,
            samples: None,
            result: format!("FAILED: {why}"),
        });
    }
    let done = rings.len();
    let converted = done - skipped;
    let total = rows.len();
    print!("{}", table(&rows));
    let list_name = list_file_name(a.wideband, false);
    let list_path = a.output.join(list_name);
    let (xml, warnings) = render_ring_list(&RingList { rings });
    for w in &warnings {
        eprintln!("zonecast: warning: {list_name}: {w}");
    }
    write_atomically(&a.output, list_name, xml.as_bytes())
        .with_context(|| format!("writing {}", list_path.display()))?;
    let skipped_note = if skipped > 0 {
        format!(" and skipped {skipped} an earlier run had converted (--force to redo them)")
    } else {
        String::new()
    };
    println!(
        "converted {converted} of {total} files{skipped_note} in {:.2} s ({} jobs); wrote {}",
        elapsed.as_secs_f64(),
        threads.min(jobs.len()).max(1),
        list_path.display()
    );
    if done < total {
        return Err(CliError::Partial(format!(
            "{} of {total} files could not be converted",
            total - done
        )));
    }
    Ok(0)
}

/// One line of the batch table.
struct Row {
    file: String,
    output: String,
    seconds: Option<f64>,
    samples: Option<usize>,
    result: String,
}

fn table(rows: &[Row]) -> String {
    let fw = rows
        .iter()
        .map(|r| r.file.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let ow = rows
        .iter()
        .map(|r| r.output.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<fw$}  {:<ow$}  {:>7}  {:>7}  RESULT",
        "FILE", "OUTPUT", "SECONDS", "SAMPLES"
    );
    for r in rows {
        let secs = r.seconds.map_or("-".into(), |v| format!("{v:.3}"));
        let samples = r.samples.map_or("-".into(), |v| v.to_string());
        let _ = writeln!(
            s,
            "{:<fw$}  {:<ow$}  {secs:>7}  {samples:>7}  {}",
            r.file, r.output, r.result
        );
    }
    s
}

// ---- preview -------------------------------------------------------------------------------

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

fn preview(a: PreviewArgs) -> Result<i32, CliError> {
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
    let rt = super::runtime()?;
    let t0 = Instant::now();
    let outcome = rt.block_on(client.execute(&target, &xml, Some(timeout), true));
    let seconds = t0.elapsed().as_secs_f64();
    let url = uri.to_string();
    let item = super::phone::item_status(&outcome, &url);
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
        _ => super::phone::fail_with(
            super::phone::outcome_code(&outcome),
            format!(
                "phone {}: {url}: {}",
                entry.name,
                super::phone::describe(&outcome)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_from_file_names() {
        assert_eq!(
            display_name(Path::new("evacuation_tone.raw")),
            "Evacuation Tone"
        );
        assert_eq!(display_name(Path::new("door-bell_2.raw")), "Door Bell 2");
        assert_eq!(display_name(Path::new("dir/ACME.raw")), "ACME");
        assert_eq!(display_name(Path::new("__.raw")), "__");
    }

    #[test]
    fn ring_file_names_fit_the_list() {
        let f = ring_file_name(
            Path::new("a very long name of a song (live).mp3"),
            Format::Narrowband,
        );
        assert_eq!(f, "a_very_long_name_of_a.raw");
        assert!(f.len() <= crate::ringtone::ringlist::MAX_NAME);
        assert_eq!(
            ring_file_name(Path::new("bell.wav"), Format::Wideband),
            "bell.rwb"
        );
        assert_eq!(
            ring_file_name(Path::new("été.wav"), Format::Narrowband),
            "_t_.raw"
        );
    }

    #[test]
    fn names_toml_accepts_quoted_and_dotted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("names.toml");
        std::fs::write(&p, "\"bell.raw\" = \"Big Bell\"\nalert.raw = \"Alert!\"\n").unwrap();
        let n = read_names(&p).unwrap();
        assert_eq!(name_for("bell.raw", &n), "Big Bell");
        assert_eq!(name_for("alert.raw", &n), "Alert!");
        assert_eq!(name_for("other_one.raw", &n), "Other One");
        std::fs::write(&p, "bell = 3\n").unwrap();
        assert!(read_names(&p).is_err());
    }

    #[test]
    fn list_file_names() {
        assert_eq!(list_file_name(false, false), "RingList.xml");
        assert_eq!(list_file_name(true, false), "Ringlist-wb.xml");
        assert_eq!(list_file_name(false, true), "DistinctiveRingList.xml");
    }

    #[test]
    fn a_ring_is_kept_only_when_whole_newer_than_its_sound_and_legal() {
        let dir = tempfile::tempdir().unwrap();
        let sound = dir.path().join("bell.wav");
        std::fs::write(&sound, b"the sound").unwrap();
        let legal = vec![0xFFu8; 240 * 10];
        write_atomically(dir.path(), "bell.raw", &legal).unwrap();
        let ring = dir.path().join("bell.raw");
        assert!(!dir.path().join(partial_name("bell.raw")).exists());
        assert_eq!(
            already_converted(&sound, &ring, Format::Narrowband),
            Some(2400)
        );
        // Breaks the rules (not a multiple of 240 samples): made again.
        std::fs::write(&ring, &legal[..1000]).unwrap();
        assert_eq!(already_converted(&sound, &ring, Format::Narrowband), None);
        // Older than its sound: made again.
        write_atomically(dir.path(), "bell.raw", &legal).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&ring)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(already_converted(&sound, &ring, Format::Narrowband), None);
        // Missing.
        assert_eq!(
            already_converted(&sound, &dir.path().join("none.raw"), Format::Narrowband),
            None
        );
    }
}
