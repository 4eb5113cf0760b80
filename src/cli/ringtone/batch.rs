//! `zonecast ringtone batch`: every sound of a folder converted on worker threads, the ring
//! list written next to the results, a table of what was done. Owns the ring file names, the
//! atomic writes that let a rerun skip what a killed run finished, the worker pool and the
//! table. Display names and folder reading are [`super::list`]'s; one conversion is
//! [`crate::ringtone::convert_file`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;

use super::BatchArgs;
use super::convert::seconds_of;
use super::list::{display_name, file_name_of, files_of, list_file_name, names_for_dir};
use crate::cli::CliError;
use crate::ringtone::{
    ConvertOptions, Converted, Format, Ring, RingList, check_bytes, convert_file, render_ring_list,
};

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

pub(super) fn batch(a: BatchArgs) -> Result<i32, CliError> {
    let format = if a.wideband {
        Format::Wideband
    } else {
        Format::Narrowband
    };
    let (jobs, clashes) = plan(&a, format)?;
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
    let Tally {
        rows,
        rings,
        skipped,
    } = tally(&jobs, &results, &clashes, &names, format);
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

/// The sounds of INDIR as jobs, OUTDIR created. Two inputs that give the same ring file name:
/// the first wins, the others come back as clashes (input, why), which fail.
fn plan(a: &BatchArgs, format: Format) -> Result<(Vec<Job>, Vec<Clash>), CliError> {
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
    let mut jobs = Vec::new();
    let mut clashes: Vec<Clash> = Vec::new();
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
    Ok((jobs, clashes))
}

/// An input that would give the same ring file name as an earlier one, and why it fails.
type Clash = (PathBuf, String);

/// What a batch did, for the table and the ring list.
struct Tally {
    /// One row per input: the jobs in order, then the clashes.
    rows: Vec<Row>,
    /// The rings converted or kept, for the ring list.
    rings: Vec<Ring>,
    /// Rings an earlier run had converted.
    skipped: usize,
}

/// The rows and rings of the jobs' `results` (in the order of `jobs`) and of the `clashes`.
fn tally(
    jobs: &[Job],
    results: &[JobResult],
    clashes: &[Clash],
    names: &BTreeMap<String, String>,
    format: Format,
) -> Tally {
    let mut rows = Vec::new();
    let mut rings = Vec::new();
    let mut skipped = 0;
    for (job, r) in jobs.iter().zip(results) {
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
    for (input, why) in clashes {
        rows.push(Row {
            file: file_name_of(input),
            output: "-".into(),
            seconds: None,
            samples: None,
            result: format!("FAILED: {why}"),
        });
    }
    Tally {
        rows,
        rings,
        skipped,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
