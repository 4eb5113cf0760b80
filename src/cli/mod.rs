//! The `zonecast` command line. One file per command; this file holds the argument types and
//! the one place where errors become exit codes: 0 ok, 1 failure, 2 invalid input, 3 a phone
//! answered with a failure.
//!
//! The commands, one file each:
//! - `send`, `record`: stream a sound as RTP; receive RTP into a file.
//! - `page` (and `recover`): page a zone from the config through the Pager;
//!   `district_page`: `page` of a `[cluster.district]` zone, its parts over the bus.
//! - `listen` (and `intercom`): a phone's microphone to us, and both ways with one phone.
//! - `push`, `display`, `macros`, `media`: push URIs, display objects, the spec's macros and
//!   the RTP Streaming API to phones.
//! - `info` (and `screenshot`): read a phone's device pages (`--html`: the HTML ones).
//! - `caps`: the getDeviceCaps query: what a phone says it is.
//! - `phone`: the phone arguments every XSI command shares (`--phone`, `--user` ...), the push
//!   client they build, and a phone's answer in words and as an exit code.
//! - `ringtone`: convert, check, list, batch and preview ring files.
//! - `schedule`: the next firings of the config's bells.
//! - `serve`: the paging server; it composes the server with the web layer.
//! - `sim`: a fleet of emulated phones.
//! - `cucm`: `cucm discover`: the phones of the `[cucm]` cluster, and what changed.
//! - `cluster`: `cluster status`: who leads this node's site over NATS (issue 24).
//! - `user`: the console's users (add, list, remove, password) in the server's database.
//! - `demo_page` (`zonecast demo`) and `demo` (`zonecast demo --media`): the whole job on this
//!   machine.
//! - `common`: what every command shares (the exit-code error, runtime, Ctrl-C, push client).

mod caps;
mod cluster;
mod common;
mod cucm;
mod demo;
mod demo_page;
mod display;
mod district_page;
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
mod user;

use clap::{Parser, Subcommand};

pub use common::CliError;

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
    /// Push up to three internal URIs (Key:Services, RTPRx:..., Init:AppStatus), or one HTTP URL
    /// and two URIs, to phones.
    Push(push::PushArgs),
    /// Show a display object on phones (text, status, menu, directory, input, images, graphic
    /// and icon menus ...), or clear the status line.
    Display(display::DisplayArgs),
    /// Start or stop an RTP stream with the RTP Streaming API (startMedia / stopMedia).
    Media(media::MediaArgs),
    /// Read a phone's device page (DeviceInformationX, StreamingStatisticsX:N ...).
    Info(info::InfoArgs),
    /// Save a screenshot of a phone's display.
    Screenshot(info::ScreenshotArgs),
    /// Ask a phone its model, screen and SDK version (the getDeviceCaps query).
    Caps(caps::CapsArgs),
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
    /// The web console's users: add (password from ZONECAST_USER_PASSWORD or standard input),
    /// list, remove, password.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Phones from Cisco Unified CM (AXL and RisPort70): discover them, with what changed.
    #[command(subcommand)]
    Cucm(cucm::CucmCommand),
    /// The site's standby pair over NATS JetStream: who leads.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
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
                // The SIP stack logs every datagram whole at info (a trunk's Authorization
                // header too): only its warnings.
                .unwrap_or_else(|_| {
                    format!("{level},symphonia_core=off,symphonia=off,rsipstack=warn").into()
                }),
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
        Command::Caps(a) => caps::run(a),
        Command::Page(a) => page::run_page(a),
        Command::Recover(a) => page::run_recover(a),
        Command::Listen(a) => listen::run_listen(a),
        Command::Intercom(a) => listen::run_intercom(a),
        Command::Sim(a) => sim::run(a),
        Command::Schedule(a) => schedule::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Ringtone(c) => ringtone::run(c),
        Command::Macro(c) => macros::run(c),
        Command::User(c) => user::run(c),
        Command::Cucm(c) => cucm::run(c),
        Command::Cluster(c) => cluster::run(c),
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
