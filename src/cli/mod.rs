//! The `zonecast` command line. One file per command; this file holds the argument types and
//! the one place where errors become exit codes: 0 ok, 1 failure, 2 invalid input, 3 a phone
//! answered with a failure.

mod demo;
mod demo_page;
mod display;
mod info;
mod listen;
mod macros;
mod media;
mod page;
mod phone;
mod push;
mod record;
mod ringtone;
mod schedule;
mod send;
mod serve;
mod sim;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::page::journal::Journal;
use crate::page::recover::{Recovered, recover};
use crate::push::PushClient;

/// What a command run came to, mapped to the process's exit code in [`main`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input from the user: exit 2 with a one-line reason.
    #[error("{0}")]
    Invalid(String),
    /// The phone answered, with a failure (refused, authentication, a bad answer): exit 3.
    #[error("{0}")]
    Partial(String),
    /// Anything else that went wrong: exit 1.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<crate::error::Invalid> for CliError {
    fn from(e: crate::error::Invalid) -> Self {
        CliError::Invalid(e.to_string())
    }
}

/// Paging and intercom for Cisco IP phones: stream G.711 RTP to phones, record what they send.
#[derive(Debug, Parser)]
#[command(name = "zonecast", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stream audio as RTP (PCMU, or PCMA with --alaw) to unicast phones or a multicast group.
    Send(send::SendArgs),
    /// Receive an RTP stream (a phone's microphone) and record it to WAV or Opus.
    Record(record::RecordArgs),
    /// Page 50 emulated phones with the bundled chime and print who heard what (--media: the
    /// media path alone, to local receivers).
    Demo(demo::DemoArgs),
    /// Push up to three internal URIs (Key:Services, RTPRx:..., Init:AppStatus) to phones.
    Push(push::PushArgs),
    /// Show a text, status line or menu on phones, or clear the status line.
    Display(display::DisplayArgs),
    /// Start or stop an RTP stream with the RTP Streaming API (startMedia / stopMedia).
    Media(media::MediaArgs),
    /// Read a phone's device page (DeviceInformationX, StreamingStatisticsX:N ...).
    Info(info::InfoArgs),
    /// Save a screenshot of a phone's display.
    Screenshot(info::ScreenshotArgs),
    /// Page a zone from the config: stream a file, tone or the microphone to its phones, then
    /// stop every phone that took part; prints the delivery report.
    Page(page::PageArgs),
    /// Record phones' microphones: push RTPTx pointing here, record, push RTPTx:Stop.
    Listen(listen::ListenArgs),
    /// Two-way audio with one phone (RTPRx + RTPTx), local side through the sound card or files.
    Intercom(listen::IntercomArgs),
    /// Stop the phones of pages that were cut off (killed process, failed stops).
    Recover(page::RecoverArgs),
    /// Run a fleet of emulated Cisco phones (HTTP + RTP) for tests, demos and benchmarks.
    Sim(sim::SimArgs),
    /// List the next firings of the config's bells (`[schedule]`, `[[bell]]`).
    Schedule(schedule::ScheduleArgs),
    /// The paging server: bells on schedule, an HTTP API, a SQLite journal, phone callbacks,
    /// the Authentication URL and Prometheus metrics, until SIGTERM.
    Serve(serve::ServeArgs),
    /// Cisco ring files: convert any sound into one, check files, write ring lists, preview.
    #[command(subcommand)]
    Ringtone(ringtone::RingtoneCommand),
    /// Multi-step sequences: problem report (8821), TFTP server (8875).
    #[command(subcommand)]
    Macro(macros::MacroCommand),
}

/// Run the command line and return the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    // The server says what it does (pages, bells); commands speak for themselves.
    let level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZONECAST_LOG")
                // Decoders' own probing messages would repeat, less clearly, the error we print.
                .unwrap_or_else(|_| format!("{level},symphonia_core=off,symphonia=off").into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        Command::Send(a) => send::run(a),
        Command::Record(a) => record::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Push(a) => push::run(a),
        Command::Display(a) => display::run(a),
        Command::Media(a) => media::run(a),
        Command::Info(a) => info::run(a),
        Command::Screenshot(a) => info::screenshot(a),
        Command::Page(a) => page::run_page(a),
        Command::Recover(a) => page::run_recover(a),
        Command::Listen(a) => listen::run_listen(a),
        Command::Intercom(a) => listen::run_intercom(a),
        Command::Sim(a) => sim::run(a),
        Command::Schedule(a) => schedule::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Ringtone(c) => ringtone::run(c),
        Command::Macro(c) => macros::run(c),
    };
    match result {
        Ok(code) => code,
        Err(CliError::Invalid(msg)) => {
            eprintln!("zonecast: invalid input: {msg}");
            2
        }
        Err(CliError::Partial(msg)) => {
            eprintln!("zonecast: {msg}");
            3
        }
        Err(CliError::Failed(e)) => {
            eprintln!("zonecast: {e:#}");
            1
        }
    }
}

/// Parse a positive number of seconds.
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 7.0 * 86400.0) {
        return Err(format!("{s:?}: seconds must be > 0 and at most a week"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// Ctrl-C / SIGTERM as a flag the command loops poll.
fn interrupted_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Fails only if a handler is already set (a second command in one process): keep that one.
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

/// The runtime the commands push and time on: two worker threads.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?)
}

/// A push client with the config's `[engine]` push settings.
fn push_client(config: &Config) -> Result<PushClient, CliError> {
    PushClient::new(config.engine.push_config())
        .map_err(|e| CliError::Failed(anyhow::anyhow!("push client: {e}")))
}

/// The journal the config names: the server's SQLite journal once `zonecast serve` has run
/// with this config (so commands and the server see each other's pages, and `recover` stops
/// what a killed server left), else `[engine] journal`.
fn journal_of(config: &Config) -> Journal {
    let db = config.server.data_dir.join(crate::server::DB_FILE);
    if db.is_file() {
        match crate::server::store::Store::open(&db) {
            Ok(store) => return store.journal(),
            Err(e) => tracing::warn!("{e}; using {}", config.engine.journal.display()),
        }
    }
    Journal::new(config.engine.journal.clone())
}

/// Stop what earlier, killed pages (or listens) left running, as `journal` lists it, reaching
/// each phone with its credentials from `config`. Returns what was done, phone by phone.
async fn recover_journal(
    config: &Config,
    journal: &Journal,
    client: &PushClient,
) -> Result<Vec<Recovered>, CliError> {
    Ok(recover(journal, client, |name| {
        let p = config
            .phone(name)
            .ok_or_else(|| format!("phone {name} is no longer in the config"))?;
        let secret = p.secret().map_err(|e| e.to_string())?;
        Ok(p.push_target(secret))
    })
    .await
    .with_context(|| format!("journal {}", journal.path().display()))?)
}
