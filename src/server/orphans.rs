//! The phones a peer left tuned to a bell (issue 24, `docs/cluster.md`): of a standby pair, the
//! node about to ring is told which bells the other node left `ringing` when it died or was cut
//! off, or which phones a bell page's stop could not reach (its node's LAN went), and stops
//! them (`RTPMRx:Stop` and `RTPRx:Stop`, as a page's own stop), so that they hear the next page
//! instead of refusing it as "already active". [`report_left_tuned`] is the other side: a
//! node's bell pages followed to their end, the phones their stops missed listed in the store.

use std::sync::Arc;

use super::pages::Pages;
use crate::cluster::{OrphanStop, Orphans, SiteBells};
use crate::config::Config;
use crate::page::PhoneState;
use crate::push::PushClient;
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject};
use crate::xsi::uri::Uri;

/// What [`crate::cluster::SiteBells`] calls with the bells left ringing.
pub fn orphan_stop(config: Arc<Config>, client: PushClient) -> OrphanStop {
    Arc::new(move |orphans: Orphans| {
        let (config, client) = (config.clone(), client.clone());
        Box::pin(async move {
            match orphans {
                Orphans::Bells(bells) => {
                    let names = bell_phones(&config, &bells);
                    let what = format!("bells {bells:?} by a silent peer");
                    stop_phones(&config, &client, names, &what).await;
                }
                Orphans::Phones(names) => {
                    let names = names.iter().map(String::as_str).collect();
                    stop_phones(&config, &client, names, "a bell page whose stop failed").await;
                }
            }
        })
    })
}

/// Follow a bell's pages `ids` (started here) to their end, and (of a pair) list in the store
/// the phones whose stop failed, for the node that rings next to stop.
pub async fn report_left_tuned(pages: Pages, site: Arc<SiteBells>, ids: Vec<String>) {
    let mut tuned: Vec<String> = Vec::new();
    for id in ids {
        let Some((_, mut live)) = pages.watch(&id) else {
            continue; // ended already, or a district page
        };
        while live.changed().await.is_ok() {}
        let report = live.borrow().clone();
        tuned.extend(
            report
                .phones
                .iter()
                .filter(|p| p.state == PhoneState::StopFailed)
                .map(|p| p.name.clone()),
        );
    }
    site.left_tuned(&tuned).await;
}

/// The phones of the zones of `bells`.
fn bell_phones<'c>(config: &'c Config, bells: &[String]) -> Vec<&'c str> {
    let Some(schedule) = &config.schedule else {
        return Vec::new();
    };
    let mut names: Vec<&str> = Vec::new();
    for bell in schedule.bells.iter().filter(|b| bells.contains(&b.name)) {
        for zone in &bell.zones {
            match config.resolve_zone(zone) {
                Ok(phones) => names.extend(phones.iter().map(|p| p.name.as_str())),
                Err(e) => tracing::warn!("cluster: bell {}: {e}", bell.name),
            }
        }
    }
    names
}

async fn stop_phones(config: &Config, client: &PushClient, mut names: Vec<&str>, what: &str) {
    let xml = stop_xml();
    names.sort_unstable();
    names.dedup();
    let mut set = tokio::task::JoinSet::new();
    for name in names {
        // A phone gone from this node's config (the peer's may differ) is named, not skipped
        // silently: it may still be tuned.
        let target = match config.stop_target(name) {
            Ok(target) => target,
            Err(e) => {
                tracing::warn!("cluster: left tuned to {what}: {e}");
                continue;
            }
        };
        let (client, xml, name) = (client.clone(), xml.clone(), name.to_owned());
        set.spawn(async move { (name, client.execute(&target, &xml, None, true).await) });
    }
    let (mut ok, mut failed) = (0, Vec::new());
    while let Some(Ok((name, outcome))) = set.join_next().await {
        if outcome.is_ok() {
            ok += 1;
        } else {
            failed.push(name);
        }
    }
    tracing::warn!(
        "cluster: stopped {ok} phones left tuned to {what}{}",
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                " ({} could not be stopped: {})",
                failed.len(),
                failed.join(", ")
            )
        }
    );
}

/// One execute stopping both a multicast and a unicast stream.
fn stop_xml() -> String {
    let items = [Uri::RtpMRxStop, Uri::RtpRxStop]
        .map(|u| ExecuteItem::new(ExecuteUrl::try_from(&u).expect("a stop URI is executable")));
    Execute::from_items(items).expect("two items").to_xml()
}
