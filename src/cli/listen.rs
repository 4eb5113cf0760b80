//! `zonecast listen` and `zonecast intercom`: the phone's microphone to us (`RTPTx`), and both
//! ways with one phone (`RTPRx` + `RTPTx`). Like a page, every phone whose start may have taken
//! effect gets its stop: at the end, on Ctrl-C/SIGTERM, and after a SIGKILL through the journal
//! and `zonecast recover`.
//!
//! The order is what makes that hold: receivers are bound first (so nothing a phone sends is
//! lost and the port is really ours), then each phone's stop is written to the journal, and only
//! then is the start pushed.

use std::collections::HashSet;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;

use super::{
    CliError, interrupted_flag, journal_of, parse_seconds, push_client, recover_journal, runtime,
};
use crate::audio::speaker::{Speaker, SpeakerInfo, SpeakerStats};
use crate::audio::{Clip, SAMPLE_RATE};
use crate::config::{Config, PhoneEntry};
use crate::g711::Law;
use crate::page::journal::{Journal, JournalOp};
use crate::page::listen::{
    INTERCOM_ZONE, LISTEN_ZONE, ListenPhone, ListenReport, Received, bind_from_pool, failure_of,
    hear_until, intercom_start_xml, intercom_stop_xml, journal_record, listen_start_xml,
    listen_stop_xml, needs_stop, new_id, record_until, refusal, used_ports,
};
use crate::page::prepare::phone_ip;
use crate::push::{Phone, PushClient, PushOutcome};
use crate::rtp::pacer::{Encode, EncodedClip, PacerOptions, PayloadSource};
use crate::rtp::{
    Destination, Pacer, Packetizer, RecordFormat, Recorder, RtpPort, SenderOptions, StreamSpec,
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

/// What a listen or an intercom runs with.
struct Run {
    client: PushClient,
    journal: Journal,
    interrupted: Arc<AtomicBool>,
    rt: tokio::runtime::Runtime,
}

impl Run {
    fn start(config: &Config) -> Result<Run, CliError> {
        Ok(Run {
            client: push_client(config)?,
            journal: journal_of(config),
            interrupted: interrupted_flag(),
            rt: runtime()?,
        })
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

/// After the stop push: the journal's Stopped/End for a phone's record. Returns the failure.
fn end_record(journal: &Journal, id: &str, name: &str, stop: &PushOutcome) -> Option<String> {
    if stop.is_ok() {
        journal_op(
            journal,
            id,
            &JournalOp::Stopped {
                phones: vec![name.to_owned()],
            },
        );
        journal_op(journal, id, &JournalOp::End { unstopped: vec![] });
        None
    } else {
        journal_op(
            journal,
            id,
            &JournalOp::End {
                unstopped: vec![name.to_owned()],
            },
        );
        failure_of(stop)
    }
}

fn wait_flag(interrupted: &AtomicBool) -> bool {
    interrupted.load(Ordering::SeqCst)
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

/// One phone getting ready to send to us.
struct Armed {
    index: usize,
    id: String,
    target: Phone,
    expect_reply: bool,
    port: RtpPort,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Received>,
}

pub(super) fn run_listen(a: ListenArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for name in &a.phones {
        let p = phone_entry(&config, name)?;
        if !seen.insert(name.as_str()) {
            return Err(CliError::Invalid(format!(
                "phone {name:?}: given twice (each phone is recorded once)"
            )));
        }
        entries.push(p.clone());
    }
    let format = a
        .format
        .or_else(|| {
            (a.phones.len() == 1 && !a.out.is_dir())
                .then(|| RecordFormat::from_path(&a.out))
                .flatten()
        })
        .unwrap_or(RecordFormat::Wav);
    // Refused before anything is sent: models without RTP URIs, missing passwords.
    let mut report: Vec<ListenPhone> = entries
        .iter()
        .map(|p| ListenPhone {
            name: p.name.clone(),
            model: p.model.clone(),
            refused: None,
            port: None,
            accepted: false,
            failure: None,
            accept_ms: None,
            stopped: None,
            stop_failure: None,
            received: Received::default(),
            file: None,
        })
        .collect();
    let mut targets: Vec<Option<Phone>> = Vec::new();
    for (p, r) in entries.iter().zip(&mut report) {
        let target = match refusal(&p.model) {
            Some(why) => Err(why),
            None => p
                .secret()
                .map(|s| p.push_target(s))
                .map_err(|e| e.to_string()),
        };
        match target {
            Ok(t) => targets.push(Some(t)),
            Err(why) => {
                r.refused = Some(why);
                targets.push(None);
            }
        }
    }
    if targets.iter().all(Option::is_none) {
        let why: Vec<String> = report
            .iter()
            .map(|r| format!("{}: {}", r.name, r.refused.as_deref().unwrap_or_default()))
            .collect();
        return Err(CliError::Invalid(format!(
            "no phone can be listened to ({})",
            why.join("; ")
        )));
    }
    let files = out_files(&a.out, &a.phones, format)?;
    let Run {
        client,
        journal,
        interrupted,
        rt,
    } = Run::start(&config)?;
    let media = config.engine.media_address;
    let stop_xml = listen_stop_xml();
    let code = rt.block_on(async {
        let mut in_use = ports_in_use(&config, &journal, &client).await?;
        // 1. Receivers first, each on its own port, recording to its file.
        let mut armed = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            let Some(target) = target else { continue };
            let (listener, port) =
                bind_from_pool(media, config.engine.port_pool.iter(), &mut in_use)
                    .with_context(|| format!("a port for {}", target.name))?;
            let recorder = Recorder::create(&files[index], format).map_err(anyhow::Error::from)?;
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            let thread = std::thread::Builder::new()
                .name(format!("listen-{}", target.name))
                .spawn(move || record_until(listener, recorder, s))
                .context("starting a receiver thread")?;
            report[index].port = Some(port.get());
            report[index].file = Some(files[index].clone());
            armed.push(Armed {
                index,
                id: new_id("ls", &target.name),
                target: target.clone(),
                expect_reply: crate::xsi::model::Capabilities::for_model_name(
                    &entries[index].model,
                )
                .execute_response,
                port,
                stop,
                thread,
            });
        }
        // 2. The journal, before any start: a SIGKILL from here on is recoverable.
        for a in &armed {
            let record = journal_record(
                &a.id,
                LISTEN_ZONE,
                &a.target.name,
                &stop_xml,
                a.expect_reply,
                a.port,
            );
            if let Err(e) = journal.begin(&record) {
                for a in &armed {
                    a.stop.store(true, Ordering::SeqCst);
                }
                return Err(CliError::Failed(
                    anyhow::Error::from(e).context(format!("journal {}", journal.path().display())),
                ));
            }
        }
        // 3. The starts, in parallel.
        let mut set = tokio::task::JoinSet::new();
        for (k, a) in armed.iter().enumerate() {
            let xml = listen_start_xml(media, a.port)?;
            let client = client.clone();
            let target = a.target.clone();
            let expect = a.expect_reply;
            set.spawn(async move {
                let t0 = Instant::now();
                let o = client.execute(&target, &xml, None, expect).await;
                (k, o, t0.elapsed())
            });
        }
        let mut starts: Vec<Option<PushOutcome>> = vec![None; armed.len()];
        while let Some(joined) = set.join_next().await {
            let (k, outcome, took) = joined.context("a push task failed")?;
            let r = &mut report[armed[k].index];
            r.accepted = outcome.is_ok();
            r.failure = failure_of(&outcome);
            r.accept_ms = Some(took.as_secs_f64() * 1e3);
            if !needs_stop(&outcome) {
                // Refused outright: nothing runs on the phone, nothing to stop.
                armed[k].stop.store(true, Ordering::SeqCst);
                journal_op(
                    &journal,
                    &armed[k].id,
                    &JournalOp::End { unstopped: vec![] },
                );
            }
            starts[k] = Some(outcome);
        }
        // 4. Record until the duration passes or we are told to stop.
        let accepted = report.iter().filter(|r| r.accepted).count();
        if accepted > 0 {
            eprintln!(
                "zonecast: recording {accepted} phone{} ({})",
                if accepted == 1 { "" } else { "s" },
                match a.duration {
                    Some(d) => format!("{:.1} s", d.as_secs_f64()),
                    None => "Ctrl-C to stop".into(),
                }
            );
            let deadline = a.duration.map(|d| Instant::now() + d);
            while !wait_flag(&interrupted) && deadline.is_none_or(|d| Instant::now() < d) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // 5. Stop recording, then every phone whose start may have taken effect.
        for a in &armed {
            a.stop.store(true, Ordering::SeqCst);
        }
        let mut set = tokio::task::JoinSet::new();
        for (k, a) in armed.iter().enumerate() {
            if !starts[k].as_ref().is_some_and(needs_stop) {
                continue;
            }
            let client = client.clone();
            let target = a.target.clone();
            let expect = a.expect_reply;
            let xml = stop_xml.clone();
            set.spawn(async move { (k, client.execute(&target, &xml, None, expect).await) });
        }
        while let Some(joined) = set.join_next().await {
            let (k, outcome) = joined.context("a push task failed")?;
            let failure = end_record(&journal, &armed[k].id, &armed[k].target.name, &outcome);
            let r = &mut report[armed[k].index];
            r.stopped = Some(failure.is_none());
            r.stop_failure = failure;
        }
        // 6. Finish the files.
        for a in armed {
            let received = a.thread.join().unwrap_or_else(|_| Received {
                error: Some("the receiver thread panicked".into()),
                ..Received::default()
            });
            let r = &mut report[a.index];
            if !r.accepted
                && received.packets == 0
                && let Some(f) = r.file.take()
            {
                let _ = std::fs::remove_file(f);
            }
            r.received = received;
        }
        let _ = journal.compact();
        let report = ListenReport::new(report);
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).context("writing JSON")?
            );
        } else {
            print!("{}", report.prose());
        }
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

pub(super) fn run_intercom(a: IntercomArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let entry = phone_entry(&config, &a.phone)?.clone();
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
    let law = Law::Ulaw;
    // Devices are opened before anything is pushed: a bad name is refused with nothing sent.
    let speaker = match &a.speaker {
        Some(name) => Some(
            Speaker::open(Some(name.as_str()).filter(|d| !d.is_empty()))
                .map_err(|e| CliError::Invalid(format!("speaker: {e}")))?,
        ),
        None => None,
    };
    let payload: Box<dyn PayloadSource> = match &a.say {
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
    };
    let secret = entry.secret()?;
    let target = entry.push_target(secret);
    let expect = crate::xsi::model::Capabilities::for_model_name(&entry.model).execute_response;
    let hear_out = a.hear_out.clone();
    let format = hear_out
        .as_deref()
        .and_then(RecordFormat::from_path)
        .unwrap_or(RecordFormat::Wav);
    let Run {
        client,
        journal,
        interrupted,
        rt,
    } = Run::start(&config)?;
    let media = config.engine.media_address;
    let stop_xml = intercom_stop_xml();
    let report = rt.block_on(async {
        let mut in_use = ports_in_use(&config, &journal, &client).await?;
        // The phone's receive port (bound by the phone, on its own address) ...
        let rx_port = config
            .engine
            .port_pool
            .allocate(1, &in_use)
            .map_err(|e| CliError::Failed(e.into()))?[0];
        in_use.insert(rx_port.get());
        // ... and ours, bound now.
        let (listener, tx_port) =
            bind_from_pool(media, config.engine.port_pool.iter(), &mut in_use)
                .context("a port for the phone's microphone")?;
        let recorder = match &hear_out {
            Some(path) => Some(Recorder::create(path, format).map_err(anyhow::Error::from)?),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        // The speaker lives on the receiver thread and comes back with its counters.
        let thread = std::thread::Builder::new()
            .name("intercom-hear".into())
            .spawn(move || {
                let heard = hear_until(listener, recorder, speaker.as_ref(), s);
                let speaker = speaker.map(|sp| SpeakerReport {
                    stats: sp.stats(),
                    info: sp.info().clone(),
                });
                (heard, speaker)
            })
            .context("starting the receiver thread")?;
        let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer thread")?;
        let id = new_id("ic", &entry.name);
        let record = journal_record(&id, INTERCOM_ZONE, &entry.name, &stop_xml, expect, rx_port);
        if let Err(e) = journal.begin(&record) {
            stop.store(true, Ordering::SeqCst);
            return Err(CliError::Failed(
                anyhow::Error::from(e).context(format!("journal {}", journal.path().display())),
            ));
        }
        let start_xml = intercom_start_xml(media, rx_port, tx_port)?;
        let t0 = Instant::now();
        let start = client.execute(&target, &start_xml, None, expect).await;
        let accept_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut sent_packets = 0;
        if start.is_ok() {
            // Our side starts once the phone listens, so it hears all of it.
            let max_packets = a
                .duration
                .map(|d| (d.as_nanos() / crate::rtp::pacer::PERIOD.as_nanos()).max(1) as u64);
            let stream = pacer
                .add(StreamSpec {
                    destinations: vec![Destination::new(ip, rx_port)],
                    sender: SenderOptions {
                        interface: Some(config.engine.interface),
                        bind: Some(SocketAddrV4::new(media, 0)),
                        ..SenderOptions::default()
                    },
                    packetizer: Packetizer::random(law),
                    payload,
                    max_packets,
                })
                .context("opening the sending socket")?;
            eprintln!(
                "zonecast: intercom with {} ({})",
                entry.name,
                match a.duration {
                    Some(d) => format!("{:.1} s", d.as_secs_f64()),
                    None if a.say.is_some() => "until the file ends".into(),
                    None => "Ctrl-C to stop".into(),
                }
            );
            let deadline = a.duration.map(|d| Instant::now() + d);
            loop {
                if wait_flag(&interrupted) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if deadline.is_none() && stream.stats().ended {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stream.stop();
            stream.wait(Some(Duration::from_secs(1)));
            sent_packets = stream.stats().packets;
        }
        stop.store(true, Ordering::SeqCst);
        let (stopped, stop_failure) = if needs_stop(&start) {
            let o = client.execute(&target, &stop_xml, None, expect).await;
            let failure = end_record(&journal, &id, &entry.name, &o);
            (Some(failure.is_none()), failure)
        } else {
            journal_op(&journal, &id, &JournalOp::End { unstopped: vec![] });
            (None, None)
        };
        let (heard, speaker) = thread.join().unwrap_or_else(|_| {
            let heard = Received {
                error: Some("the receiver thread panicked".into()),
                ..Received::default()
            };
            (heard, None)
        });
        let _ = journal.compact();
        Ok::<_, CliError>(IntercomReport {
            phone: entry.name.clone(),
            model: entry.model.clone(),
            accepted: start.is_ok(),
            failure: failure_of(&start),
            accept_ms,
            rx_port: rx_port.get(),
            tx_port: tx_port.get(),
            sent_packets,
            heard,
            hear_out: hear_out.clone(),
            speaker,
            stopped,
            stop_failure,
        })
    })?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
    } else {
        print!("{}", report.prose());
    }
    Ok(report.exit_code())
}
