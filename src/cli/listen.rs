//! `zonecast listen` and `zonecast intercom`: the phone's microphone to us (`RTPTx`), and both
//! ways with one phone (`RTPRx` + `RTPTx`). Like a page, every phone whose start may have taken
//! effect gets its stop: at the end, on Ctrl-C/SIGTERM, and after a SIGKILL through the journal
//! and `zonecast recover`.
//!
//! The rules are [`ListenSession`]'s (`page::listen::session`, shared by both commands); this is
//! its shell. It binds the receivers first (so nothing a phone sends is lost and the port is
//! really ours), then [`drive`]s the session: it carries out each [`ListenOutput`] in order (journal,
//! push, start or stop our media) and feeds in what happens (a push's answer, a signal, our
//! source's end, the timeout the session asked for). It decides nothing itself.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use tokio::sync::Notify;

use super::common::{CliError, journal_of, parse_seconds, push_client, recover_journal, runtime};
use crate::audio::speaker::{Speaker, SpeakerInfo, SpeakerStats};
use crate::audio::{Clip, SAMPLE_RATE};
use crate::config::{Config, PhoneEntry};
use crate::g711::Law;
use crate::page::journal::{Journal, JournalOp};
use crate::page::listen::{
    Ended, INTERCOM_ZONE, LISTEN_ZONE, ListenOutput, ListenPhone, ListenPush, ListenReport,
    ListenSession, PhoneSpec, PushDone, Received, StopReason, bind_from_pool, hear_until,
    intercom_start_xml, intercom_stop_xml, journal_record, listen_start_xml, listen_stop_xml,
    new_id, record_until, refusal, used_ports,
};
use crate::page::table::phone_ip;
use crate::push::{Phone, PushClient};
use crate::rtp::pacer::{Encode, EncodedClip, PacerOptions, PayloadSource, StreamHandle};
use crate::rtp::{
    Destination, Listener, Pacer, Packetizer, RecordFormat, Recorder, RtpPort, SenderOptions,
    StreamSpec,
};

/// Arguments of `zonecast listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The configuration (phones, the engine's media address and port pool, the journal).
    #[arg(long)]
    config: PathBuf,
    /// Phone to record (repeat for several at once).
    #[arg(long = "phone", value_name = "NAME", required = true)]
    phones: Vec<String>,
    /// With one phone, the file (or a directory to write NAME.wav/.opus in); with several, a
    /// directory (created if missing) that gets one NAME.wav/.opus per phone.
    #[arg(long, value_name = "FILE|DIR")]
    out: PathBuf,
    /// Stop after this many seconds (default: at Ctrl-C).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// File format (default: from the file's extension, else WAV).
    #[arg(long, value_name = "wav|opus")]
    format: Option<RecordFormat>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `zonecast intercom`.
#[derive(Debug, Args)]
pub struct IntercomArgs {
    /// The configuration (phones, the engine's media address and port pool, the journal).
    #[arg(long)]
    config: PathBuf,
    /// The phone to talk with.
    #[arg(long, value_name = "NAME")]
    phone: String,
    /// Our side from the microphone (the default device, or the named one); the default when
    /// --say is not given.
    #[arg(long, value_name = "DEVICE", num_args = 0..=1, default_missing_value = "",
          conflicts_with = "say")]
    mic: Option<String>,
    /// Play the phone's side on the speaker (the default output device, or the named one);
    /// may be given with --hear-out.
    #[arg(long, value_name = "DEVICE", num_args = 0..=1, default_missing_value = "")]
    speaker: Option<String>,
    /// Our side from an audio file (WAV, MP3, FLAC, Ogg) instead of the microphone.
    #[arg(long, value_name = "FILE")]
    say: Option<PathBuf>,
    /// Write the phone's side to this file (WAV, or Opus for `.opus`); may be given with
    /// --speaker.
    #[arg(long, value_name = "FILE")]
    hear_out: Option<PathBuf>,
    /// End after this many seconds (default: when the --say file ends, or at Ctrl-C).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn phone_entry<'a>(config: &'a Config, name: &str) -> Result<&'a PhoneEntry, CliError> {
    config.phone(name).ok_or_else(|| {
        let names: Vec<&str> = config.phones.iter().map(|p| p.name.as_str()).collect();
        CliError::Invalid(format!(
            "phone {name:?}: no such phone in {}; phones: {}",
            config.path.display(),
            names.join(" ")
        ))
    })
}

/// Ctrl-C and SIGTERM, caught from the moment they are made (inside the runtime) until the
/// process ends.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn catch() -> Result<Signals, CliError> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("catching Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("catching SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    fn catch() -> Result<Signals, CliError> {
        Ok(Signals {})
    }

    /// The next signal.
    #[cfg(unix)]
    async fn next(&mut self) -> StopReason {
        tokio::select! {
            Some(()) = self.interrupt.recv() => StopReason::CtrlC,
            Some(()) = self.terminate.recv() => StopReason::Sigterm,
            else => std::future::pending().await,
        }
    }

    /// The next signal.
    #[cfg(not(unix))]
    async fn next(&mut self) -> StopReason {
        match tokio::signal::ctrl_c().await {
            Ok(()) => StopReason::CtrlC,
            Err(_) => std::future::pending().await,
        }
    }

    /// A signal that has already come, if one has.
    async fn pending(&mut self) -> Option<StopReason> {
        tokio::select! {
            biased;
            reason = self.next() => Some(reason),
            () = std::future::ready(()) => None,
        }
    }
}

/// Stop what earlier, killed pages (or listens) left running, as `page` does first, then the
/// ports that are not free to take: reserved by the config or held by a running page.
async fn ports_in_use(
    config: &Config,
    journal: &Journal,
    client: &PushClient,
) -> Result<HashSet<u16>, CliError> {
    let done = recover_journal(config, journal, client).await?;
    if !done.is_empty() {
        let ok = done.iter().filter(|r| r.stopped).count();
        eprintln!(
            "zonecast: recovered {ok} phones left running by an earlier page ({} could not be stopped)",
            done.len() - ok
        );
    }
    let pages = journal
        .pages()
        .with_context(|| format!("journal {}", journal.path().display()))?;
    Ok(used_ports(config, &pages))
}

/// Write `op` for a phone's record; a failure is only a warning (the phone's stop was pushed
/// or will be retried by `recover`, which at worst pushes a harmless extra stop).
fn journal_op(journal: &Journal, id: &str, op: &JournalOp) {
    if let Err(e) = journal.record(id, op) {
        eprintln!("zonecast: journal {}: {e}", journal.path().display());
    }
}

/// One phone as the shell journals and pushes it, when the session says so.
struct PhoneIo {
    /// Its journal record.
    id: String,
    target: Phone,
    expect_reply: bool,
    /// The port its journal record holds (so other pages take another).
    port: RtpPort,
    start_xml: String,
}

/// What listen and intercom share in carrying out the session's outputs.
struct Shell<'a> {
    journal: &'a Journal,
    client: &'a PushClient,
    zone: &'static str,
    stop_xml: String,
    /// By session phone index; `None` for a phone that takes no part.
    phones: Vec<Option<PhoneIo>>,
}

impl Shell<'_> {
    fn phone(&self, i: usize) -> &PhoneIo {
        self.phones[i]
            .as_ref()
            .expect("the session journals and pushes only phones given a port")
    }

    /// The `(phone, port)` of every phone that takes part, for [`ListenSession::handle_bound`].
    fn ports(&self) -> Vec<(usize, RtpPort)> {
        self.phones
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.port)))
            .collect()
    }
}

/// What listen and intercom do differently: our media.
trait Side {
    /// [`ListenOutput::Running`]: every start answered and some accepted. An error ends the session
    /// (the phones are stopped).
    fn running(&mut self, accepted: usize, until: Option<Instant>) -> Result<(), String>;
    /// [`ListenOutput::StopMedia`]: stop our receiver (and sending side) for phone `phone`.
    fn stop_media(&mut self, phone: usize);
}

/// Until `at` (`None`: never).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Run the session to its end: carry out its outputs in order, then wait for the first of a
/// push's answer, a signal, our source's end and the session's next timeout, and feed it in.
async fn drive(
    session: &mut ListenSession,
    shell: &Shell<'_>,
    side: &mut impl Side,
    signals: &mut Signals,
    source_ended: &Notify,
) -> Result<(), CliError> {
    let mut pushes = tokio::task::JoinSet::new();
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                ListenOutput::JournalBegin { phone } => {
                    let p = shell.phone(phone);
                    let record = journal_record(
                        &p.id,
                        shell.zone,
                        &p.target.name,
                        &shell.stop_xml,
                        p.expect_reply,
                        p.port,
                    );
                    if let Err(e) = shell.journal.begin(&record) {
                        let path = shell.journal.path().display();
                        session.handle_journal_failed(phone, format!("journal {path}: {e}"));
                    }
                }
                ListenOutput::Journal { phone, op } => {
                    journal_op(shell.journal, &shell.phone(phone).id, &op)
                }
                ListenOutput::Push { phone, step } => {
                    let p = shell.phone(phone);
                    let xml = match step {
                        ListenPush::Start => p.start_xml.clone(),
                        ListenPush::Stop => shell.stop_xml.clone(),
                    };
                    let client = shell.client.clone();
                    let target = p.target.clone();
                    let expect = p.expect_reply;
                    pushes.spawn(async move {
                        let sent = Instant::now();
                        let outcome = client.execute(&target, &xml, None, expect).await;
                        PushDone {
                            phone,
                            step,
                            sent,
                            outcome,
                        }
                    });
                }
                ListenOutput::Running { accepted, until } => {
                    if let Err(e) = side.running(accepted, until) {
                        session.handle_media_failed(e);
                    }
                }
                ListenOutput::StopMedia { phone } => side.stop_media(phone),
                ListenOutput::Finished => return Ok(()),
            }
        }
        let timeout = session.poll_timeout();
        tokio::select! {
            Some(joined) = pushes.join_next() => {
                let done = joined.context("a push task failed")?;
                session.handle_push_done(Instant::now(), done);
            }
            reason = signals.next() => session.handle_stop(reason),
            () = source_ended.notified() => session.handle_source_ended(),
            () = sleep_until(timeout) => session.handle_timeout(Instant::now()),
        }
    }
}

/// The session's end as the command's error, when it ended by one (nothing was started, or our
/// media failed; either way every phone that may be running was stopped first).
fn failure_of_end(session: &ListenSession) -> Result<(), CliError> {
    match session.ended_by() {
        Some(Ended::JournalFailed { error, .. } | Ended::MediaFailed(error)) => {
            Err(CliError::Failed(anyhow::anyhow!("{error}")))
        }
        _ => Ok(()),
    }
}

/// The file each phone is recorded to.
fn out_files(out: &Path, names: &[String], format: RecordFormat) -> Result<Vec<PathBuf>, CliError> {
    if names.len() == 1 && !out.is_dir() {
        return Ok(vec![out.to_path_buf()]);
    }
    if out.exists() && !out.is_dir() {
        return Err(CliError::Invalid(format!(
            "out {}: with several phones --out must be a directory (one file per phone)",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    Ok(names
        .iter()
        .map(|n| out.join(format!("{n}.{}", format.name())))
        .collect())
}

/// One phone's receiver, recording on its own thread.
struct Receiver {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Received>,
}

/// A listen's media: one recording receiver per phone.
struct Recording {
    receivers: Vec<Option<Receiver>>,
    duration: Option<Duration>,
}

impl Side for Recording {
    fn running(&mut self, accepted: usize, _until: Option<Instant>) -> Result<(), String> {
        eprintln!(
            "zonecast: recording {accepted} phone{} ({})",
            if accepted == 1 { "" } else { "s" },
            match self.duration {
                Some(d) => format!("{:.1} s", d.as_secs_f64()),
                None => "Ctrl-C to stop".into(),
            }
        );
        Ok(())
    }

    fn stop_media(&mut self, phone: usize) {
        if let Some(Some(r)) = self.receivers.get(phone) {
            r.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// The named phones' entries, in order; a phone named twice is refused (each is recorded once).
fn listen_entries(config: &Config, names: &[String]) -> Result<Vec<PhoneEntry>, CliError> {
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for name in names {
        let p = phone_entry(config, name)?;
        if !seen.insert(name.as_str()) {
            return Err(CliError::Invalid(format!(
                "phone {name:?}: given twice (each phone is recorded once)"
            )));
        }
        entries.push(p.clone());
    }
    Ok(entries)
}

/// The recording's format: --format, else (one phone recorded to a file) the file's extension,
/// else WAV.
fn listen_format(a: &ListenArgs) -> RecordFormat {
    a.format
        .or_else(|| {
            (a.phones.len() == 1 && !a.out.is_dir())
                .then(|| RecordFormat::from_path(&a.out))
                .flatten()
        })
        .unwrap_or(RecordFormat::Wav)
}

/// Each phone's session spec and push target. Refused before anything is sent: models without
/// RTP URIs, missing passwords; when no phone is left the command fails.
fn listen_targets(
    entries: &[PhoneEntry],
) -> Result<(Vec<PhoneSpec>, Vec<Option<Phone>>), CliError> {
    let mut specs = Vec::new();
    let mut targets: Vec<Option<Phone>> = Vec::new();
    for p in entries {
        let target = match refusal(&p.model) {
            Some(why) => Err(why),
            None => p
                .secret()
                .map(|s| p.push_target(s))
                .map_err(|e| e.to_string()),
        };
        let (target, refused) = match target {
            Ok(t) => (Some(t), None),
            Err(why) => (None, Some(why)),
        };
        specs.push(PhoneSpec {
            name: p.name.clone(),
            model: p.model.clone(),
            refused,
        });
        targets.push(target);
    }
    if targets.iter().all(Option::is_none) {
        let why: Vec<String> = specs
            .iter()
            .map(|s| format!("{}: {}", s.name, s.refused.as_deref().unwrap_or_default()))
            .collect();
        return Err(CliError::Invalid(format!(
            "no phone can be listened to ({})",
            why.join("; ")
        )));
    }
    Ok((specs, targets))
}

/// Whether a phone of this model answers an Execute push.
fn expects_reply(model: &str) -> bool {
    crate::xsi::model::Capabilities::for_model_name(model).execute_response
}

/// Bind one phone's receiver on a free port of the pool and start it recording to `file` on its
/// own thread: the receiver, and the phone as the shell journals and pushes it.
fn start_receiver(
    config: &Config,
    target: &Phone,
    model: &str,
    file: &Path,
    format: RecordFormat,
    in_use: &mut HashSet<u16>,
) -> Result<(Receiver, PhoneIo), CliError> {
    let media = config.engine.media_address;
    let (listener, port) = bind_from_pool(media, config.engine.port_pool.iter(), in_use)
        .with_context(|| format!("a port for {}", target.name))?;
    let start_xml = listen_start_xml(media, port)?;
    let recorder = Recorder::create(file, format).map_err(anyhow::Error::from)?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("listen-{}", target.name))
        .spawn(move || record_until(listener, recorder, s))
        .context("starting a receiver thread")?;
    let io = PhoneIo {
        id: new_id("ls", &target.name),
        target: target.clone(),
        expect_reply: expects_reply(model),
        port,
        start_xml,
    };
    Ok((Receiver { stop, thread }, io))
}

/// Receivers first, each on its own port, recording to its file: the listen's media, and by
/// phone index the phones the shell journals and pushes (`None` for a refused phone).
fn start_recording(
    config: &Config,
    entries: &[PhoneEntry],
    targets: &[Option<Phone>],
    files: &[PathBuf],
    format: RecordFormat,
    duration: Option<Duration>,
    in_use: &mut HashSet<u16>,
) -> Result<(Recording, Vec<Option<PhoneIo>>), CliError> {
    let mut recording = Recording {
        receivers: targets.iter().map(|_| None).collect(),
        duration,
    };
    let mut phones: Vec<Option<PhoneIo>> = targets.iter().map(|_| None).collect();
    for (index, target) in targets.iter().enumerate() {
        let Some(target) = target else { continue };
        let model = &entries[index].model;
        let (receiver, io) = start_receiver(config, target, model, &files[index], format, in_use)?;
        recording.receivers[index] = Some(receiver);
        phones[index] = Some(io);
    }
    Ok((recording, phones))
}

/// What a receiver thread that panicked heard: nothing, and that it panicked.
fn receiver_panicked() -> Received {
    Received {
        error: Some("the receiver thread panicked".into()),
        ..Received::default()
    }
}

/// Finish the files: join each phone's receiver into its report, with its file, and remove the
/// files not worth keeping.
fn finish_files(report: &mut [ListenPhone], receivers: Vec<Option<Receiver>>, files: &[PathBuf]) {
    for (index, receiver) in receivers.into_iter().enumerate() {
        let Some(receiver) = receiver else { continue };
        let p = &mut report[index];
        p.received = receiver
            .thread
            .join()
            .unwrap_or_else(|_| receiver_panicked());
        p.file = Some(files[index].clone());
        if !p.keeps_file()
            && let Some(f) = p.file.take()
        {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Catch the signals (from now until the process ends), then stop what earlier pages left
/// running: the signals, and the ports that are not free to take.
async fn start_up(
    config: &Config,
    journal: &Journal,
    client: &PushClient,
) -> Result<(Signals, HashSet<u16>), CliError> {
    let signals = Signals::catch()?;
    let in_use = ports_in_use(config, journal, client).await?;
    Ok((signals, in_use))
}

/// Run the session once its receivers are bound: a signal that came meanwhile stops it first,
/// then it learns the bound ports and is [`drive`]n to its end.
async fn run_session(
    session: &mut ListenSession,
    shell: &Shell<'_>,
    side: &mut impl Side,
    signals: &mut Signals,
    source_ended: &Notify,
) -> Result<(), CliError> {
    if let Some(reason) = signals.pending().await {
        session.handle_stop(reason);
    }
    session.handle_bound(shell.ports());
    drive(session, shell, side, signals, source_ended).await
}

/// Print a report on stdout: as JSON with `--json`, else its prose.
fn print_report(
    json: bool,
    report: &impl serde::Serialize,
    prose: impl FnOnce() -> String,
) -> Result<(), CliError> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).context("writing JSON")?
        );
    } else {
        print!("{}", prose());
    }
    Ok(())
}

/// `zonecast listen`: record each phone's microphone until the duration, a signal, or every
/// phone's end, then report.
pub(super) fn run_listen(a: ListenArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let entries = listen_entries(&config, &a.phones)?;
    let format = listen_format(&a);
    let (specs, targets) = listen_targets(&entries)?;
    let files = out_files(&a.out, &a.phones, format)?;
    let client = push_client(&config)?;
    let journal = journal_of(&config);
    let rt = runtime()?;
    let code = rt.block_on(async {
        let (mut signals, mut in_use) = start_up(&config, &journal, &client).await?;
        let (mut recording, phones) = start_recording(
            &config,
            &entries,
            &targets,
            &files,
            format,
            a.duration,
            &mut in_use,
        )?;
        let shell = Shell {
            journal: &journal,
            client: &client,
            zone: LISTEN_ZONE,
            stop_xml: listen_stop_xml(),
            phones,
        };
        let mut session = ListenSession::new(specs, a.duration);
        run_session(
            &mut session,
            &shell,
            &mut recording,
            &mut signals,
            &Notify::new(),
        )
        .await?;
        let mut report = session.report();
        finish_files(&mut report, recording.receivers, &files);
        let _ = journal.compact();
        failure_of_end(&session)?;
        let report = ListenReport::new(report);
        print_report(a.json, &report, || report.prose())?;
        Ok::<i32, CliError>(report.exit_code())
    })?;
    Ok(code)
}

/// What an intercom came to.
#[derive(Debug, serde::Serialize)]
struct IntercomReport {
    phone: String,
    model: String,
    accepted: bool,
    failure: Option<String>,
    accept_ms: f64,
    /// The port the phone plays from (we send to PHONE:rx_port).
    rx_port: u16,
    /// The port the phone sends its microphone to (ours).
    tx_port: u16,
    /// Packets we sent to the phone.
    sent_packets: u64,
    /// What we heard from the phone.
    heard: Received,
    hear_out: Option<PathBuf>,
    /// Where the phone's side was played, and how that went.
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker: Option<SpeakerReport>,
    stopped: Option<bool>,
    stop_failure: Option<String>,
}

/// The speaker of an intercom: the device and its counters (8 kHz samples).
#[derive(Debug, serde::Serialize)]
struct SpeakerReport {
    #[serde(flatten)]
    info: SpeakerInfo,
    #[serde(flatten)]
    stats: SpeakerStats,
}

impl IntercomReport {
    fn exit_code(&self) -> i32 {
        if !self.accepted {
            1
        } else if self.stopped == Some(false) || self.heard.error.is_some() {
            3
        } else {
            0
        }
    }

    fn prose(&self) -> String {
        let mut s = format!("  {:<14} ", self.phone);
        if !self.accepted {
            s += &format!(
                "did not start: {}",
                self.failure.as_deref().unwrap_or("unknown")
            );
        } else {
            let h = &self.heard;
            let seconds = match (&self.hear_out, &self.speaker) {
                (None, Some(sp)) => sp.stats.played as f64 / f64::from(SAMPLE_RATE),
                _ => h.seconds_recorded,
            };
            s += &format!(
                "sent {} packets; heard {:.2} s in {} packets, lost {}, late {}, jitter {:.2} ms",
                self.sent_packets, seconds, h.packets, h.lost, h.late, h.jitter_ms
            );
            if let Some(f) = &self.hear_out {
                s += &format!(" -> {}", f.display());
            }
            if let Some(sp) = &self.speaker {
                let rate = f64::from(SAMPLE_RATE);
                s += &format!(
                    "; played {:.2} s on {} ({} underruns, {:.2} s dropped)",
                    sp.stats.played as f64 / rate,
                    sp.info.device,
                    sp.stats.underruns,
                    sp.stats.dropped as f64 / rate
                );
            }
        }
        if let Some(e) = &self.heard.error {
            s += &format!("; file error: {e}");
        }
        if self.stopped == Some(false) {
            s += &format!(
                "; STOP FAILED ({}): run `zonecast recover`",
                self.stop_failure.as_deref().unwrap_or("unknown")
            );
        }
        s.push('\n');
        s
    }
}

/// An intercom's media: the receiver of the phone's microphone (on its own thread), and our
/// side, sent once the phone has accepted.
struct Talking<'a> {
    pacer: &'a Pacer,
    config: &'a Config,
    phone: String,
    /// The phone's address and the port it plays from.
    to: Destination,
    law: Law,
    /// Our side's audio, until it is sent.
    payload: Option<Box<dyn PayloadSource>>,
    duration: Option<Duration>,
    say: bool,
    stream: Option<Arc<StreamHandle>>,
    /// Told when our side's stream ends (its source ran out, or it was stopped).
    ended: Arc<Notify>,
    sent_packets: u64,
    stop: Arc<AtomicBool>,
}

impl Side for Talking<'_> {
    fn running(&mut self, _accepted: usize, _until: Option<Instant>) -> Result<(), String> {
        let Some(payload) = self.payload.take() else {
            return Ok(());
        };
        // Our side starts once the phone listens, so it hears all of it.
        let max_packets = self
            .duration
            .map(|d| (d.as_nanos() / crate::rtp::pacer::PERIOD.as_nanos()).max(1) as u64);
        let stream = self
            .pacer
            .add(StreamSpec {
                destinations: vec![self.to],
                sender: SenderOptions {
                    interface: Some(self.config.engine.interface),
                    bind: Some(SocketAddrV4::new(self.config.engine.media_address, 0)),
                    ..SenderOptions::default()
                },
                packetizer: Packetizer::random(self.law),
                payload,
                max_packets,
            })
            .map_err(|e| format!("opening the sending socket: {e}"))?;
        let stream = Arc::new(stream);
        let (watched, ended) = (stream.clone(), self.ended.clone());
        std::thread::Builder::new()
            .name("intercom-say".into())
            .spawn(move || {
                watched.wait(None);
                ended.notify_one();
            })
            .map_err(|e| format!("starting a thread: {e}"))?;
        self.stream = Some(stream);
        eprintln!(
            "zonecast: intercom with {} ({})",
            self.phone,
            match self.duration {
                Some(d) => format!("{:.1} s", d.as_secs_f64()),
                None if self.say => "until the file ends".into(),
                None => "Ctrl-C to stop".into(),
            }
        );
        Ok(())
    }

    fn stop_media(&mut self, _phone: usize) {
        if let Some(stream) = self.stream.take() {
            stream.stop();
            stream.wait(Some(Duration::from_secs(1)));
            self.sent_packets = stream.stats().packets;
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The phone to talk with and its IPv4 address. Refused before anything is opened: an unknown
/// phone, a model without RTP URIs, a host that is not IPv4, the phone's side going nowhere.
fn intercom_phone(config: &Config, a: &IntercomArgs) -> Result<(PhoneEntry, Ipv4Addr), CliError> {
    let entry = phone_entry(config, &a.phone)?.clone();
    if let Some(why) = refusal(&entry.model) {
        return Err(CliError::Invalid(format!("phone {}: {why}", entry.name)));
    }
    let ip = phone_ip(&entry.host).ok_or_else(|| {
        CliError::Invalid(format!(
            "phone {} host {:?}: does not resolve to an IPv4 address (needed to send it audio)",
            entry.name, entry.host
        ))
    })?;
    if a.hear_out.is_none() && a.speaker.is_none() {
        return Err(CliError::Invalid(
            "the phone's side goes nowhere: give --speaker [DEVICE] to play it, \
             --hear-out FILE to record it, or both"
                .into(),
        ));
    }
    Ok((entry, ip))
}

/// The --speaker device (`""`: the default output), opened; `None` without --speaker.
fn open_speaker(name: Option<&str>) -> Result<Option<Speaker>, CliError> {
    match name {
        Some(name) => Ok(Some(
            Speaker::open(Some(name).filter(|d| !d.is_empty()))
                .map_err(|e| CliError::Invalid(format!("speaker: {e}")))?,
        )),
        None => Ok(None),
    }
}

/// Our side's audio, encoded in `law`: the --say file (refused when it holds no audio), else
/// the microphone (the default device, or the named one).
fn our_side(a: &IntercomArgs, law: Law) -> Result<Box<dyn PayloadSource>, CliError> {
    Ok(match &a.say {
        Some(path) => {
            let clip = Clip::load(path).map_err(|e| CliError::Invalid(e.to_string()))?;
            if clip.samples().is_empty() {
                return Err(CliError::Invalid(format!(
                    "say {}: contains no audio",
                    path.display()
                )));
            }
            Box::new(EncodedClip::new(clip.samples(), law, false))
        }
        None => {
            let name = a.mic.as_deref().filter(|d| !d.is_empty());
            let mic = crate::audio::mic::Mic::open(name)
                .map_err(|e| CliError::Invalid(format!("microphone: {e}")))?;
            Box::new(Encode::new(mic, law))
        }
    })
}

/// The intercom's two ports, taken from the pool: the phone's receive port (bound by the phone,
/// on its own address) and ours for its microphone, bound now.
fn intercom_ports(
    config: &Config,
    in_use: &mut HashSet<u16>,
) -> Result<(RtpPort, Listener, RtpPort), CliError> {
    let rx_port = config
        .engine
        .port_pool
        .allocate(1, in_use)
        .map_err(|e| CliError::Failed(e.into()))?[0];
    in_use.insert(rx_port.get());
    let (listener, tx_port) = bind_from_pool(
        config.engine.media_address,
        config.engine.port_pool.iter(),
        in_use,
    )
    .context("a port for the phone's microphone")?;
    Ok((rx_port, listener, tx_port))
}

/// What the receiver of an intercom comes back with: what it heard, and the speaker's report.
type Heard = (Received, Option<SpeakerReport>);

/// Start the receiver of the phone's microphone on its own thread, until `stop`: it records to
/// `recorder` and plays on `speaker`, each when given. The speaker lives on that thread and
/// comes back with its counters.
fn start_hearing(
    listener: Listener,
    recorder: Option<Recorder>,
    speaker: Option<Speaker>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<Heard>, CliError> {
    let thread = std::thread::Builder::new()
        .name("intercom-hear".into())
        .spawn(move || {
            let heard = hear_until(listener, recorder, speaker.as_ref(), stop);
            let speaker = speaker.map(|sp| SpeakerReport {
                stats: sp.stats(),
                info: sp.info().clone(),
            });
            (heard, speaker)
        })
        .context("starting the receiver thread")?;
    Ok(thread)
}

impl IntercomReport {
    /// The report of phone `p`'s intercom on ports `rx_port` (the phone's) and `tx_port` (ours).
    fn new(
        p: ListenPhone,
        (rx_port, tx_port): (RtpPort, RtpPort),
        sent_packets: u64,
        (heard, speaker): Heard,
        hear_out: Option<PathBuf>,
    ) -> IntercomReport {
        IntercomReport {
            phone: p.name,
            model: p.model,
            accepted: p.accepted,
            failure: p.failure,
            accept_ms: p.accept_ms.unwrap_or_default(),
            rx_port: rx_port.get(),
            tx_port: tx_port.get(),
            sent_packets,
            heard,
            hear_out,
            speaker,
            stopped: p.stopped,
            stop_failure: p.stop_failure,
        }
    }
}

/// `zonecast intercom`: talk with one phone (our side to its speaker, its microphone to us)
/// until the duration, our file's end or a signal, then report.
pub(super) fn run_intercom(a: IntercomArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let (entry, ip) = intercom_phone(&config, &a)?;
    let law = Law::Ulaw;
    // Devices are opened before anything is pushed: a bad name is refused with nothing sent.
    let speaker = open_speaker(a.speaker.as_deref())?;
    let payload = our_side(&a, law)?;
    let secret = entry.secret()?;
    let target = entry.push_target(secret);
    let expect = expects_reply(&entry.model);
    let hear_out = a.hear_out.clone();
    let format = hear_out
        .as_deref()
        .and_then(RecordFormat::from_path)
        .unwrap_or(RecordFormat::Wav);
    let client = push_client(&config)?;
    let journal = journal_of(&config);
    let rt = runtime()?;
    let media = config.engine.media_address;
    let report = rt.block_on(async {
        let (mut signals, mut in_use) = start_up(&config, &journal, &client).await?;
        let (rx_port, listener, tx_port) = intercom_ports(&config, &mut in_use)?;
        let start_xml = intercom_start_xml(media, rx_port, tx_port)?;
        let recorder = match &hear_out {
            Some(path) => Some(Recorder::create(path, format).map_err(anyhow::Error::from)?),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread = start_hearing(listener, recorder, speaker, stop.clone())?;
        let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer thread")?;
        let shell = Shell {
            journal: &journal,
            client: &client,
            zone: INTERCOM_ZONE,
            stop_xml: intercom_stop_xml(),
            phones: vec![Some(PhoneIo {
                id: new_id("ic", &entry.name),
                target,
                expect_reply: expect,
                port: rx_port,
                start_xml,
            })],
        };
        let ended = Arc::new(Notify::new());
        let mut talking = Talking {
            pacer: &pacer,
            config: &config,
            phone: entry.name.clone(),
            to: Destination::new(ip, rx_port),
            law,
            payload: Some(payload),
            duration: a.duration,
            say: a.say.is_some(),
            stream: None,
            ended: ended.clone(),
            sent_packets: 0,
            stop,
        };
        let mut session = ListenSession::new(
            vec![PhoneSpec {
                name: entry.name.clone(),
                model: entry.model.clone(),
                refused: None,
            }],
            a.duration,
        );
        run_session(&mut session, &shell, &mut talking, &mut signals, &ended).await?;
        let heard = thread
            .join()
            .unwrap_or_else(|_| (receiver_panicked(), None));
        let _ = journal.compact();
        failure_of_end(&session)?;
        let p = session.report().swap_remove(0);
        let ports = (rx_port, tx_port);
        let sent = talking.sent_packets;
        Ok::<_, CliError>(IntercomReport::new(p, ports, sent, heard, hear_out.clone()))
    })?;
    print_report(a.json, &report, || report.prose())?;
    Ok(report.exit_code())
}
