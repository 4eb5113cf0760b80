//! A node of a standby pair started again after it was killed mid-page (issue 24,
//! `docs/cluster.md`): the bell pages its journal says its last process left playing are not
//! stopped with the rest at the start. The pair's other node may have found that process silent,
//! closed the occurrence's claim and stopped those phones before it rang, and be paging them
//! now: a stop from here would cut that page. So each such page waits until the node has joined
//! its store (its beats listing the occurrence as ringing meanwhile, so that the peer does not
//! take it now) and asks the claim: closed by the peer, the phones are left to it (journaled as
//! released to it); still this node's, or no store to ask, they are stopped as any page a killed
//! process left, and then the claim is closed.

use std::collections::BTreeSet;

use super::store::Store;
use crate::cluster::{LeftClaim, Occurrence, SiteBells};
use crate::config::Config;
use crate::page::SipDialer;
use crate::page::journal::{Journal, JournalOp, JournalPage};
use crate::page::recover::{Recovered, recover_where};
use crate::push::PushClient;

/// How many of the latest bell events are searched for a page left playing.
const BELLS_LOOKED_AT: usize = 256;

/// The pages of one occurrence that a killed process left playing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftBell {
    /// The occurrence (its claim's key).
    pub occurrence: Occurrence,
    /// Its pages' ids.
    pub pages: BTreeSet<String>,
}

/// Whether this node's bell pages left playing wait for the pair: a pair with a heartbeat (whose
/// nodes stop a silent peer's bells), ringing bells.
pub fn waits_for_pair(config: &Config) -> bool {
    config.schedule.is_some()
        && config
            .cluster
            .as_ref()
            .is_some_and(|c| c.pair.len() > 1 && c.heartbeat.is_some())
}

/// The journal's pages a killed process left playing that rang a bell occurrence through its
/// claim (the bell events say which), by occurrence. A page no event names (the process was
/// killed before it wrote one) is not among them: it is stopped at the start as before.
pub fn left_by_bells(store: &Store, pages: &[JournalPage]) -> Vec<LeftBell> {
    let cut: Vec<&str> = pages
        .iter()
        .filter(|p| !p.ended && !p.alive && !p.remaining.is_empty())
        .map(|p| p.record.page.as_str())
        .collect();
    if cut.is_empty() {
        return Vec::new();
    }
    let events = match store.bells(BELLS_LOOKED_AT) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("journal: {e}");
            return Vec::new();
        }
    };
    let mut out: Vec<LeftBell> = Vec::new();
    for e in events.iter().filter(|e| e.outcome == "fired") {
        let pages: BTreeSet<String> = e
            .pages
            .iter()
            .filter(|id| cut.contains(&id.as_str()))
            .cloned()
            .collect();
        let Ok(due_unix) = u64::try_from(e.due_ms.div_euclid(1000)) else {
            continue;
        };
        if pages.is_empty()
            || out
                .iter()
                .any(|l| l.pages.iter().any(|p| pages.contains(p)))
        {
            continue;
        }
        out.push(LeftBell {
            occurrence: Occurrence {
                bell: e.bell.clone(),
                due_unix,
            },
            pages,
        });
    }
    out
}

/// How [`settle`] stops phones: the journal, the push client, the phones' targets, the SIP
/// user agent.
pub struct Stopper<'a> {
    /// The journal the pages are in.
    pub journal: &'a Journal,
    /// Pushes the stops.
    pub client: &'a PushClient,
    /// Phones by name.
    pub config: &'a Config,
    /// Hangs up SIP endpoints.
    pub sip: &'a dyn SipDialer,
}

/// Settle each occurrence `left` (listed in `site`'s beats since its start): left to the peer
/// that took it, else its phones stopped and its claim closed. What was stopped is returned, for
/// the recoveries table.
pub async fn settle(site: &SiteBells, left: Vec<LeftBell>, s: &Stopper<'_>) -> Vec<Recovered> {
    let mut recovered = Vec::new();
    for l in left {
        let claim = site.left_claim(&l.occurrence).await;
        if claim == LeftClaim::TakenByPeer {
            leave_to_peer(s.journal, &l);
        } else {
            let resolve = |name: &str| s.config.stop_target(name);
            let wanted = |page: &JournalPage, _: &str| l.pages.contains(&page.record.page);
            match recover_where(s.journal, s.client, resolve, Some(s.sip), wanted).await {
                Ok(r) => recovered.extend(r),
                Err(e) => tracing::warn!("recovering bell {}: {e}", l.occurrence.bell),
            }
        }
        site.settle_left(&l.occurrence, claim).await;
    }
    recovered
}

/// Journal the pages of `l` as ended, their phones released to the pair's other node.
fn leave_to_peer(journal: &Journal, l: &LeftBell) {
    let pages = match journal.pages() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("journal: {e}");
            return;
        }
    };
    for page in pages.iter().filter(|p| l.pages.contains(&p.record.page)) {
        let phones: Vec<String> = page.remaining.iter().cloned().collect();
        tracing::info!(
            "bell {} due {}: page {} left {phones:?} playing as this node was killed; \
             left to the pair's other node, which took them",
            l.occurrence.bell,
            l.occurrence.due_unix,
            page.record.page
        );
        let id = &page.record.page;
        let released = journal.record(id, &JournalOp::Released { phones });
        let ended = journal.record(
            id,
            &JournalOp::End {
                unstopped: Vec::new(),
            },
        );
        if let Err(e) = released.and(ended) {
            tracing::warn!("journal: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::journal::tests::{dead_pid, record};
    use crate::server::store::BellEvent;

    fn fired(bell: &str, due_ms: i64, outcome: &str, pages: &[&str]) -> BellEvent {
        BellEvent {
            bell: bell.into(),
            due_ms,
            outcome: outcome.into(),
            pages: pages.iter().map(|p| (*p).to_owned()).collect(),
            detail: None,
            token: Some(7),
        }
    }

    #[test]
    fn only_a_killed_process_s_pages_of_an_occurrence_rung_through_its_claim_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("zonecast.db")).unwrap();
        let journal = store.journal();
        let dead = dead_pid();
        for (page, pid) in [
            ("pg-killed", dead),
            ("pg-ended", dead),
            ("pg-by-hand", dead),
            ("pg-no-event", dead),
            ("pg-running", std::process::id()),
        ] {
            journal.begin(&record(page, pid, &["p001"])).unwrap();
        }
        let end = JournalOp::End {
            unstopped: vec!["p001".into()],
        };
        journal.record("pg-ended", &end).unwrap();
        let due_ms = 1_800_000_003_000;
        let pages = ["pg-killed", "pg-ended", "pg-running"];
        store.bell(&fired("tick", due_ms, "fired", &pages)).unwrap();
        store
            .bell(&fired("tick", due_ms + 3000, "rung", &["pg-by-hand"]))
            .unwrap();
        let left = left_by_bells(&store, &journal.pages().unwrap());
        assert_eq!(
            left,
            vec![LeftBell {
                occurrence: Occurrence {
                    bell: "tick".into(),
                    due_unix: 1_800_000_003,
                },
                pages: BTreeSet::from(["pg-killed".to_owned()]),
            }]
        );
        // Nothing cut: nothing waits (the bell events are not even read).
        assert!(left_by_bells(&store, &[]).is_empty());
    }
}
