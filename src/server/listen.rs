//! The server's shell around [`ListenSession`]: record one phone's microphone (`RTPTx`) to a
//! WAV file for a number of seconds, as `zonecast listen` does at a terminal. It binds the
//! receiver first (a port of the pool no page or zone holds), then carries out the session's
//! outputs in order — journal the phone with its stop before the start is pushed, push, stop
//! the receiver — and feeds back the pushes' answers and the session's timeouts. It decides
//! nothing itself. At shutdown the session is stopped like a Ctrl-C stops the command; after a
//! SIGKILL the journal gets the phone its stop at the next start.
//!
//! It does not keep the list of recordings or answer HTTP: that is [`super::recordings`].

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::pages::Pages;
use crate::config::{Config, PhoneEntry};
use crate::page::journal::Journal;
use crate::page::listen::{
    LISTEN_ZONE, ListenOutput, ListenPhone, ListenPush, ListenSession, PhoneSpec, PushDone,
    StopReason, bind_from_pool, journal_record, listen_start_xml, listen_stop_xml, new_id,
    record_until, refusal, used_ports,
};
use crate::push::Phone;
use crate::rtp::{RecordFormat, Recorder};

/// One phone to record.
#[derive(Debug, Clone)]
pub struct ListenOrder {
    /// The phone, from the config.
    pub phone: PhoneEntry,
    /// How long.
    pub duration: Duration,
    /// The WAV file written.
    pub file: PathBuf,
}

/// A listen bound and ready to run: the receiver records on its own thread from now on.
pub struct BoundListen {
    order: ListenOrder,
    target: Phone,
    port: crate::rtp::RtpPort,
    start_xml: String,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<crate::page::listen::Received>,
}

/// Check the phone can be listened to, bind a free port of the pool and start recording to the
/// file. Errors say why in words (a model without RTP URIs, no password, no free port ...).
pub fn bind(config: &Config, journal: &Journal, order: ListenOrder) -> Result<BoundListen, String> {
    let p = &order.phone;
    if let Some(why) = refusal(&p.model) {
        return Err(format!("phone {:?}: {why}", p.name));
    }
    let secret = p.secret().map_err(|e| format!("phone {:?}: {e}", p.name))?;
    let target = p.push_target(secret);
    let pages = journal
        .pages()
        .map_err(|e| format!("journal {}: {e}", journal.path().display()))?;
    let mut in_use: HashSet<u16> = used_ports(config, &pages);
    let media = config.engine.media_address;
    let (listener, port) = bind_from_pool(media, config.engine.port_pool.iter(), &mut in_use)
        .map_err(|e| format!("a port for phone {:?}: {e}", p.name))?;
    let start_xml = listen_start_xml(media, port).map_err(|e| e.to_string())?;
    if let Some(dir) = order.file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let recorder = Recorder::create(&order.file, RecordFormat::Wav).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("listen-{}", p.name))
        .spawn(move || record_until(listener, recorder, s))
        .map_err(|e| format!("starting a receiver thread: {e}"))?;
    Ok(BoundListen {
        order,
        target,
        port,
        start_xml,
        stop,
        thread,
    })
}

/// Run a bound listen to its end (the duration, every push answered, `stop` turning true or
/// dropped, or the server shutting down): the phone's report, its file kept only if the phone
/// sent something.
pub async fn run(
    bound: BoundListen,
    journal: Journal,
    pages: Pages,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> ListenPhone {
    let p = &bound.order.phone;
    let id = new_id("ls", &p.name);
    let expect_reply = crate::xsi::model::Capabilities::for_model_name(&p.model).execute_response;
    let stop_xml = listen_stop_xml();
    let spec = PhoneSpec {
        name: p.name.clone(),
        model: p.model.clone(),
        refused: None,
    };
    let mut session = ListenSession::new(vec![spec], Some(bound.order.duration));
    session.handle_bound([(0, bound.port)]);
    let mut pushes = tokio::task::JoinSet::new();
    let mut roster = pages.roster();
    if pages.closing() {
        session.handle_stop(StopReason::Sigterm);
    }
    let mut stopped = false;
    'run: loop {
        while let Some(output) = session.poll_output() {
            match output {
                ListenOutput::JournalBegin { phone } => {
                    let record = journal_record(
                        &id,
                        LISTEN_ZONE,
                        &p.name,
                        &stop_xml,
                        expect_reply,
                        bound.port,
                    );
                    if let Err(e) = journal.begin(&record) {
                        let path = journal.path().display();
                        session.handle_journal_failed(phone, format!("journal {path}: {e}"));
                    }
                }
                ListenOutput::Journal { op, .. } => {
                    if let Err(e) = journal.record(&id, &op) {
                        tracing::warn!("listen {id}: journal: {e}");
                    }
                }
                ListenOutput::Push { phone, step } => {
                    let xml = match step {
                        ListenPush::Start => bound.start_xml.clone(),
                        ListenPush::Stop => stop_xml.clone(),
                    };
                    let client = pages.client().clone();
                    let target = bound.target.clone();
                    pushes.spawn(async move {
                        let sent = Instant::now();
                        let outcome = client.execute(&target, &xml, None, expect_reply).await;
                        PushDone {
                            phone,
                            step,
                            sent,
                            outcome,
                        }
                    });
                }
                ListenOutput::Running { .. } => {
                    tracing::info!("recording phone {} ({:?})", p.name, bound.order.duration);
                }
                ListenOutput::StopMedia { .. } => bound.stop.store(true, Ordering::SeqCst),
                ListenOutput::Finished => break 'run,
            }
        }
        let timeout = session.poll_timeout();
        tokio::select! {
            Some(joined) = pushes.join_next() => match joined {
                Ok(done) => session.handle_push_done(Instant::now(), done),
                Err(e) => session.handle_media_failed(format!("a push task failed: {e}")),
            },
            r = roster.changed(), if !pages.closing() => {
                if r.is_err() || pages.closing() {
                    session.handle_stop(StopReason::Sigterm);
                }
            }
            r = stop.changed(), if !stopped => {
                if r.is_err() || *stop.borrow() {
                    stopped = true;
                    session.handle_stop(StopReason::User);
                }
            }
            () = until(timeout) => session.handle_timeout(Instant::now()),
        }
    }
    finish(session, bound).await
}

/// Until `at` (`None`: never).
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The phone's report with what its receiver heard; the file is removed when not worth keeping.
async fn finish(session: ListenSession, bound: BoundListen) -> ListenPhone {
    bound.stop.store(true, Ordering::SeqCst);
    let mut report = session
        .report()
        .into_iter()
        .next()
        .expect("a listen of one phone reports one phone");
    let thread = bound.thread;
    report.received = tokio::task::spawn_blocking(move || thread.join())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_else(|| crate::page::listen::Received {
            error: Some("the receiver thread failed".into()),
            ..Default::default()
        });
    report.file = Some(bound.order.file.clone());
    if !report.keeps_file()
        && let Some(f) = report.file.take()
    {
        let _ = std::fs::remove_file(f);
    }
    report
}
