//! `zonecast page` and `zonecast recover`: page a zone from the config, and stop what a killed
//! page left playing.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::common::{
    CliError, interrupted_flag, journal_of, parse_seconds, push_client, runtime, stop_on_interrupt,
    until_interrupted,
};
use crate::audio;
use crate::config::{Config, EqualPolicy};
use crate::g711::Law;
use crate::page::callbacks::Callbacks;
use crate::page::prepare::{PageRequest, PrepareError, new_page_id, prepare};
use crate::page::{Origin, PageError, PageOrder, Pager, PagerSetup, Via};
use crate::push::PushClient;
use crate::rtp::Pacer;
use crate::rtp::StreamCodec;
use crate::rtp::pacer::{PacerOptions, PayloadSource};
use crate::source::{Levelling, Segment, Voice, segment_source_as, sequence, speech};
use std::sync::Arc;

/// Arguments of `zonecast page`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "tone", "mic", "sequence", "say"])))]
pub struct PageArgs {
    /// The configuration (phones, zones, pools, priorities).
    #[arg(long)]
    config: PathBuf,
    /// Zone to page.
    #[arg(long)]
    zone: String,
    /// Audio file (WAV, MP3, FLAC, Ogg, raw µ-law).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// A tone of HZ hertz, or `chime`.
    #[arg(long, value_name = "HZ|chime")]
    tone: Option<String>,
    /// Live microphone (the default device, or the named one).
    #[arg(long, value_name = "DEVICE", num_args = 0..=1, default_missing_value = "")]
    mic: Option<String>,
    /// Several sources one after the other, comma-separated: chime, tone:HZ:SECS, file:PATH,
    /// silence:SECS, mic:SECS, mic:DEVICE:SECS (e.g. `chime,mic:30,chime`).
    #[arg(long, value_name = "ITEMS")]
    sequence: Option<String>,
    /// Speak TEXT (espeak-ng; 1..=500 characters; the voice of the config's `[speech]`). Also
    /// `say:TEXT` as the last item of `--sequence`. The banner defaults to the text.
    #[arg(long, value_name = "TEXT")]
    say: Option<String>,
    /// Banner on the phones (≤ 32 characters; default: the zone's).
    #[arg(long, value_name = "BANNER")]
    text: Option<String>,
    /// Priority level (from the config; default: its default level).
    #[arg(long)]
    priority: Option<String>,
    /// End after this many seconds (tones and the microphone run until then or Ctrl-C).
    #[arg(long, value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Ask each phone whether packets arrive and report who actually hears the page.
    #[arg(long)]
    verify: bool,
    /// Print, per phone, the exact XML it would receive; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the delivery report as JSON.
    #[arg(long)]
    json: bool,
    /// How phones are told to play: `uri` (RTPMRx/RTPRx in a CiscoIPPhoneExecute) or `media`
    /// (startMedia/stopMedia; a phone's user hanging up ends that phone's part of the page).
    #[arg(long, default_value = "uri", value_parser = ["uri", "media"])]
    via: String,
}

/// Arguments of `zonecast recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The configuration (for the phones' credentials and the journal's place).
    #[arg(long)]
    config: PathBuf,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

/// What `a` names as a payload for a stream of `codec`: sounds levelled by `level` (the mic
/// under its automatic gain; G.711 only).
fn source(
    a: &PageArgs,
    codec: StreamCodec,
    level: &Levelling,
    voice: &Voice,
) -> Result<Box<dyn PayloadSource>, CliError> {
    let invalid = |e: crate::error::Invalid| CliError::Invalid(e.to_string());
    // Speech in the config's voice; every other segment as it is.
    let play = |seg: Segment| match seg {
        Segment::Say(text) => speech::shared()
            .speak_at(&text, voice, codec.sample_rate())
            .map(|s| level.clip_as(&format!("say:{text}"), &s, codec)),
        seg => segment_source_as(&seg, codec, level),
    };
    let main: Box<dyn PayloadSource> = if let Some(text) = &a.say {
        play(Segment::Say(text.trim().to_owned())).map_err(invalid)?
    } else if let Some(path) = &a.file {
        play(Segment::File(path.clone())).map_err(invalid)?
    } else if let Some(t) = &a.tone {
        if t.eq_ignore_ascii_case("chime") {
            play(Segment::Chime).map_err(invalid)?
        } else {
            let hz: f32 = t
                .parse()
                .ok()
                .filter(|hz| (20.0..=3900.0).contains(hz))
                .ok_or_else(|| {
                    CliError::Invalid(format!("tone {t:?}: a frequency 20..=3900 Hz or `chime`"))
                })?;
            let Some(d) = a.duration else {
                return Err(CliError::Invalid(
                    "tone: give --duration (a tone never ends by itself)".into(),
                ));
            };
            // Played at its stated level; the page's duration ends it.
            play(Segment::Tone {
                hz,
                secs: d.as_secs_f64().clamp(0.02, 3600.0),
            })
            .map_err(invalid)?
        }
    } else if let Some(device) = &a.mic {
        let StreamCodec::G711(law) = codec else {
            return Err(CliError::Invalid(
                "the microphone is captured for G.711 only".into(),
            ));
        };
        let name = (!device.is_empty()).then_some(device.as_str());
        let mic = audio::mic::Mic::open(name).map_err(|e| CliError::Invalid(e.to_string()))?;
        level.live(mic, law)
    } else if let Some(items) = &a.sequence {
        let parts = crate::source::items(items)
            .into_iter()
            .map(|item| item.parse::<Segment>().and_then(play))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        sequence(parts)
    } else {
        return Err(CliError::Invalid(
            "no source: give --file, --tone, --mic, --sequence or --say".into(),
        ));
    };
    // The configured pre-tone is put before it by the pager.
    Ok(main)
}

/// The page's sound for a G.722 stream, when the zone asks for G.722 and the source has a
/// wideband version (the microphone has none: such a page is G.711 throughout).
fn wide_source(
    a: &PageArgs,
    config: &Config,
    level: &Levelling,
) -> Result<Option<crate::page::WideSound>, CliError> {
    let g722 = config
        .zone(&a.zone)
        .is_some_and(|z| z.codec == crate::config::ZoneCodec::G722);
    if !g722 || a.mic.is_some() {
        return Ok(None);
    }
    let wide = source(a, StreamCodec::G722, level, &config.speech)?;
    Ok(Some(Box::new(move || Ok(wide))))
}

/// The banner: `--text`, or what the page says (cut to a banner's length), or None (the zone's).
fn banner(a: &PageArgs) -> Option<String> {
    let said = match (&a.say, &a.sequence) {
        (Some(t), _) => Some(t.as_str()),
        (None, Some(items)) => crate::source::said(items),
        (None, None) => None,
    };
    a.text.clone().or_else(|| {
        said.filter(|t| !t.trim().is_empty())
            .map(|t| speech::default_banner(t, crate::config::MAX_BANNER_CHARS))
    })
}

/// Stop what earlier, killed pages left playing. Returns (stopped, failed, what was done).
async fn recover_with(
    config: &Config,
    client: &PushClient,
) -> Result<(usize, usize, Vec<crate::page::recover::Recovered>), CliError> {
    let done = super::common::recover_journal(config, &journal_of(config), client).await?;
    let ok = done.iter().filter(|r| r.stopped).count();
    Ok((ok, done.len() - ok, done))
}

pub(super) fn run_page(a: PageArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    if let Some((c, zone)) = super::district_page::district_zone(&config, &a.zone) {
        return super::district_page::run(c, zone, district_order(&a)?);
    }
    let rt = runtime()?;
    // With [cucm], the discovered phones too (cached, or refreshed when old); said on stderr.
    let (table, notes) = rt.block_on(super::cucm::page_table(&config))?;
    for n in notes {
        eprintln!("zonecast: {n}");
    }
    let journal = journal_of(&config);
    let request = PageRequest {
        zone: a.zone.clone(),
        priority: a.priority.clone(),
        banner: banner(&a),
        via: if a.via == "media" {
            Via::Media {
                // Replaced by the listener's real address when the page runs.
                on_stopped: dry_run_notify(&config)?,
            }
        } else {
            Via::Uri
        },
        wideband: true,
    };
    if a.dry_run {
        let pages = journal.pages().unwrap_or_default();
        let zone = table
            .zone(&a.zone)
            .map_err(|e| CliError::Invalid(e.to_string()))?;
        let prepared = prepare(&zone, &table.site(), &request, &pages, new_page_id())
            .map_err(prepare_error)?;
        for p in &prepared.plans {
            println!("== {} ({})", p.name, p.model);
            match &p.refused {
                Some(why) => println!("not paged: {why}"),
                None => {
                    println!("-- start\n{}", p.start_xml);
                    if let Some(b) = &p.banner {
                        println!("-- banner\n{}", b.xml);
                    }
                    if let Some(why) = &p.banner_refused {
                        println!("-- banner refused: {why}");
                    }
                    println!("-- stop\n{}", p.stop_xml);
                }
            }
        }
        return Ok(0);
    }
    let level = Levelling::new(config.engine.loudness);
    let payload = source(&a, Law::Ulaw.into(), &level, &config.speech)?;
    let wide = wide_source(&a, &config, &level)?;
    let client = push_client(&config)?;
    let interrupted = interrupted_flag();
    rt.block_on(async {
        let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer thread")?;
        let sip: Arc<dyn crate::page::SipDialer> = crate::sip::Dialer::new(&config.sip_endpoints);
        let pager = Pager::with_sip(
            PagerSetup {
                table,
                journal: journal.clone(),
                client,
                pacer: Arc::new(pacer),
                recovered: false,
            },
            Some(sip),
        );
        let mut order = PageOrder::new(Origin::Command, &a.zone, payload);
        order.wide = wide;
        order.priority = a.priority.clone();
        order.banner = banner(&a);
        order.duration = a.duration;
        order.verify = a.verify.then_some(config.engine.verify_grace);
        if a.via == "media" {
            let c = Callbacks::bind(config.engine.media_address)
                .await
                .context("starting the callback listener")?;
            order.via = Via::Media {
                on_stopped: c
                    .notify_uri(&crate::page::prepare::new_page_id())
                    .map_err(|e| CliError::Invalid(e.to_string()))?,
            };
            order.callbacks = Some(c);
        }
        // Equal priority: refused, or waited for (until Ctrl-C), as the config says.
        if config.priorities.equal == EqualPolicy::Wait {
            order.equal_wait = Duration::MAX;
            order.on_wait = Some(Box::new(|why| eprintln!("zonecast: waiting: {why}")));
        }
        let started = tokio::select! {
            r = pager.page(order) => r,
            () = until_interrupted(&interrupted) => {
                return Err(CliError::Invalid("interrupted while waiting for the zone".into()));
            }
        };
        let page = started.map_err(|e| match e {
            PageError::Invalid(i) => CliError::Invalid(i.to_string()),
            PageError::Busy(b) => CliError::Invalid(b),
            PageError::Failed(f) => CliError::Failed(anyhow::anyhow!(f)),
        })?;
        let recovered = page.recovered.iter().filter(|r| r.stopped).count();
        let unrecovered = page.recovered.len() - recovered;
        if recovered + unrecovered > 0 {
            eprintln!("zonecast: recovered {recovered} phones left playing by an earlier page ({unrecovered} could not be stopped)");
        }
        let watcher = stop_on_interrupt(interrupted.clone(), page.stopper());
        let report = page.finish().await;
        watcher.abort();
        let report = report.map_err(|e| CliError::Failed(e.into()))?;
        if a.json {
            let json = with_loudness(serde_json::to_value(&report), &level);
            println!("{}", serde_json::to_string_pretty(&json).context("writing JSON")?);
        } else {
            print!("{}", report.prose());
        }
        Ok(report.exit_code())
    })
}

/// The report with `"loudness"` added: the target and, per levelled item, what was measured
/// and the gain applied (tones are not levelled and not listed).
pub(super) fn with_loudness(
    report: serde_json::Result<serde_json::Value>,
    level: &Levelling,
) -> serde_json::Value {
    let mut json = report.unwrap_or_default();
    if let Some(map) = json.as_object_mut() {
        map.insert(
            "loudness".into(),
            serde_json::json!({
                "target_lufs": level.target.lufs,
                "items": level.notes(),
            }),
        );
    }
    json
}

/// The `onStopped` URI a dry run shows: the callback listener's address on port 80 (the real
/// port is only known once it listens), built like the real one.
fn dry_run_notify(config: &Config) -> Result<crate::xsi::uri::Notify, CliError> {
    let addr = std::net::SocketAddr::from((config.engine.media_address, 80));
    crate::xsi::uri::NotifyBase::from_socket(addr)
        .and_then(|b| b.notify(&format!("{}/dry-run", crate::page::callbacks::PREFIX)))
        .map_err(|e| CliError::Invalid(e.to_string()))
}

fn prepare_error(e: PrepareError) -> CliError {
    match e {
        PrepareError::Invalid(i) => CliError::Invalid(i.to_string()),
        busy @ PrepareError::Busy { .. } => CliError::Invalid(busy.to_string()),
    }
}

pub(super) fn run_recover(a: RecoverArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let client = push_client(&config)?;
    runtime()?.block_on(async {
        let (ok, failed, done) = recover_with(&config, &client).await?;
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&done).context("writing JSON")?
            );
        } else if done.is_empty() {
            println!("nothing to recover: no page was cut off");
        } else {
            for r in &done {
                match &r.error {
                    None => println!("  {:<14} stopped (page {})", r.phone, r.page),
                    Some(e) => println!("  {:<14} NOT STOPPED (page {}): {e}", r.phone, r.page),
                }
            }
            println!("{ok} phones stopped, {failed} could not be stopped (run recover again)");
        }
        Ok(match (ok, failed) {
            (_, 0) => 0,
            (0, _) => 1,
            _ => 3,
        })
    })
}

/// What a district page plays and prints, from the command's arguments.
fn district_order(a: &PageArgs) -> Result<super::district_page::DistrictOrder, CliError> {
    Ok(super::district_page::DistrictOrder {
        source: district_source(a)?,
        banner: a.text.clone(),
        priority: a.priority.clone(),
        duration: a.duration,
        json: a.json,
    })
}

/// A district page's source as every site takes it (the API's form): the chime, a tone, speech
/// or a sequence of those; a file of this machine or its microphone cannot play at other sites.
fn district_source(a: &PageArgs) -> Result<String, CliError> {
    let refuse = |what: &str| {
        CliError::Invalid(format!(
            "{what} cannot page a district zone: the sites play a tone, the chime or speech \
             (--tone, --say, or --sequence of chime, tone:HZ:SECS, silence:SECS and say:TEXT)"
        ))
    };
    if a.file.is_some() {
        return Err(refuse("--file"));
    }
    if a.mic.is_some() {
        return Err(refuse("--mic"));
    }
    if let Some(text) = &a.say {
        return Ok(format!("say:{}", text.trim()));
    }
    if let Some(t) = &a.tone {
        if t.eq_ignore_ascii_case("chime") {
            return Ok("chime".into());
        }
        let secs = a.duration.map_or(5.0, |d| d.as_secs_f64());
        return Ok(format!("tone:{t}:{secs}"));
    }
    match &a.sequence {
        Some(s)
            if s.split(',')
                .any(|i| i.starts_with("file:") || i.starts_with("mic")) =>
        {
            Err(refuse("a sequence with file: or mic:"))
        }
        Some(s) => Ok(s.clone()),
        None => Err(refuse("this source")),
    }
}
