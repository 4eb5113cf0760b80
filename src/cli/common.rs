//! What every command shares: the error that becomes the exit code, the runtime, the Ctrl-C
//! flag, the push client and journal a config names, recovery of killed pages, and seconds as
//! arguments. The command files and `cli/mod.rs` (which dispatches to them) use this file; it
//! uses none of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use crate::config::Config;
use crate::page::journal::Journal;
use crate::page::recover::{Recovered, recover};
use crate::push::PushClient;

/// What a command run came to, mapped to the process's exit code in [`super::main`].
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

/// Parse a positive number of seconds.
pub(super) fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 7.0 * 86400.0) {
        return Err(format!("{s:?}: seconds must be > 0 and at most a week"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// Ctrl-C / SIGTERM as a flag the command loops poll.
pub(super) fn interrupted_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Fails only if a handler is already set (a second command in one process): keep that one.
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

/// Until `flag` (from [`interrupted_flag`]) is set: Ctrl-C or SIGTERM.
pub(super) async fn until_interrupted(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A task that stops a page (its `stopper`) with "interrupted" once `flag` is set; abort it
/// when the page has ended.
pub(super) fn stop_on_interrupt(
    flag: Arc<AtomicBool>,
    stopper: tokio::sync::watch::Sender<Option<String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        until_interrupted(&flag).await;
        stopper.send_replace(Some("interrupted".into()));
    })
}

/// The runtime the commands push and time on: two worker threads.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?)
}

/// A push client with the config's `[engine]` push settings.
pub(super) fn push_client(config: &Config) -> Result<PushClient, CliError> {
    PushClient::new(config.engine.push_config())
        .map_err(|e| CliError::Failed(anyhow::anyhow!("push client: {e}")))
}

/// The journal the config names: the server's SQLite journal once `zonecast serve` has run
/// with this config (so commands and the server see each other's pages, and `recover` stops
/// what a killed server left), else `[engine] journal`.
pub(super) fn journal_of(config: &Config) -> Journal {
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
pub(super) async fn recover_journal(
    config: &Config,
    journal: &Journal,
    client: &PushClient,
) -> Result<Vec<Recovered>, CliError> {
    // SIP endpoints still in a call are hung up by the SIP user agent (BYE, or CANCEL).
    let sip = crate::sip::Dialer::new(&config.sip_endpoints);
    Ok(recover(
        journal,
        client,
        |name| config.stop_target(name),
        Some(&*sip as &dyn crate::page::SipDialer),
    )
    .await
    .with_context(|| format!("journal {}", journal.path().display()))?)
}
