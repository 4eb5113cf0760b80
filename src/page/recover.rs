//! `zonecast recover`: stop the phones of pages that were cut off (their process was killed) or
//! that ended with failed stops, as the journal lists them. A SIP endpoint still in a call
//! is hung up (BYE, or CANCEL of an INVITE never answered) through the SIP user agent.

use serde::Serialize;

use super::dial::SipDialer;
use super::journal::{Journal, JournalOp, JournalPage};
use crate::push::{Phone, PushClient};

/// What recovery did for one phone.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// Page it belonged to.
    pub page: String,
    /// Phone name.
    pub phone: String,
    /// Stopped now.
    pub stopped: bool,
    /// Why not.
    pub error: Option<String>,
}

/// Stop every phone the journal says may still be playing a page nobody runs any more.
/// `resolve` turns a phone name into a push target (from the config); a phone the config no
/// longer knows is reported and left in the journal. `sip` hangs up SIP endpoints (without
/// one they are reported and left in the journal).
pub async fn recover(
    journal: &Journal,
    client: &PushClient,
    resolve: impl Fn(&str) -> Result<Phone, String>,
    sip: Option<&dyn SipDialer>,
) -> std::io::Result<Vec<Recovered>> {
    recover_where(journal, client, resolve, sip, |_, _| true).await
}

/// [`recover`] for the phones `wanted(page, phone)` picks only; the others stay in the journal
/// as they were (a running server retries the stops that failed, one phone at a time, on its
/// own schedule).
pub async fn recover_where(
    journal: &Journal,
    client: &PushClient,
    resolve: impl Fn(&str) -> Result<Phone, String>,
    sip: Option<&dyn SipDialer>,
    wanted: impl Fn(&JournalPage, &str) -> bool,
) -> std::io::Result<Vec<Recovered>> {
    let mut out = Vec::new();
    for page in journal.pages()? {
        if !page.needs_recovery() {
            continue;
        }
        let mut set = tokio::task::JoinSet::new();
        let mut left = Vec::new();
        for p in page.remaining_phones() {
            let name = p.name.clone();
            if !wanted(&page, &name) {
                left.push(name);
                continue;
            }
            if let Some(dialog) = p.dialog() {
                let hang_up = sip.map(|d| d.hang_up(dialog));
                set.spawn(async move {
                    match hang_up {
                        None => (name, Err("no SIP user agent to hang up with".to_owned())),
                        Some(f) => (name, f.await),
                    }
                });
                continue;
            }
            let target = resolve(&name);
            let xml = p.stop_xml.clone();
            let expect = p.expect_reply;
            let client = client.clone();
            set.spawn(async move {
                match target {
                    Err(e) => (name, Err(e)),
                    Ok(t) => {
                        let o = client.execute(&t, &xml, None, expect).await;
                        if o.is_ok() {
                            (name, Ok(()))
                        } else {
                            (name, Err(format!("{o:?}")))
                        }
                    }
                }
            });
        }
        let mut stopped = Vec::new();
        let mut failed = Vec::new();
        while let Some(Ok((name, r))) = set.join_next().await {
            match r {
                Ok(()) => stopped.push(name.clone()),
                Err(ref e) => failed.push((name.clone(), e.clone())),
            }
            out.push(Recovered {
                page: page.record.page.clone(),
                phone: name,
                stopped: r.is_ok(),
                error: r.err(),
            });
        }
        let id = &page.record.page;
        if stopped.is_empty() && failed.is_empty() {
            continue; // nothing asked of this page
        }
        if !stopped.is_empty() {
            journal.record(id, &JournalOp::Stopped { phones: stopped })?;
        }
        if !page.ended {
            journal.record(
                id,
                &JournalOp::End {
                    unstopped: failed.into_iter().map(|(n, _)| n).chain(left).collect(),
                },
            )?;
        }
    }
    journal.compact()?;
    Ok(out)
}
