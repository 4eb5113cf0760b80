//! `zonecast ringtone ...`: turn any sound into a Cisco ring file (`convert`, `batch`), check
//! files against the rules (`check`), write the ring list that names them (`list`), and play one
//! on a phone (`preview`). The rules and the conversion live in [`crate::ringtone`]; these files
//! read and write the files, run the batch's worker threads, and turn verdicts into words and
//! exit codes (0 ok, 2 invalid input, 3 a file breaks the rules or a phone refused).
//!
//! This file owns the clap arguments of every subcommand and the dispatch; each subcommand's
//! work is in its own file:
//! - [`convert`]: one sound into one ring file (option checks, the JSON report).
//! - [`check`]: ring files against the rules.
//! - [`words`]: the words a verdict is printed with (a format, a severity).
//! - [`list`]: the ring list of a folder, display names (`names.toml`, from file names).
//! - [`batch`]: a folder of sounds on worker threads: ring file names, atomic writes, skipping
//!   what an earlier run finished, the table of results.
//! - [`preview`]: `Play:FILE` on a phone, waiting for its answer.

mod batch;
mod check;
mod convert;
mod list;
mod preview;
mod words;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::CliError;

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
    /// Level the ring to this integrated loudness instead (LUFS, -30..=-10; -18 is what pages
    /// are levelled to by default), with a true-peak limiter.
    #[arg(
        long,
        value_name = "LUFS",
        allow_negative_numbers = true,
        conflicts_with = "normalize"
    )]
    loudness: Option<f64>,
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
        RingtoneCommand::Convert(a) => convert::convert(a),
        RingtoneCommand::Check(a) => check::check(a),
        RingtoneCommand::List(a) => list::list(a),
        RingtoneCommand::Batch(a) => batch::batch(a),
        RingtoneCommand::Preview(a) => preview::preview(a),
    }
}
