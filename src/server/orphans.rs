//! The phones a silent peer left tuned to a bell (issue 24, `docs/cluster.md`): of a standby pair,
//! the node about to ring is told which bells the other node left `ringing` when it died or was
//! cut off, and stops the phones of those bells' zones (`RTPMRx:Stop` and `RTPRx:Stop`, as a
//! page's own stop), so that they hear the next page instead of refusing it as "already active".

use std::sync::Arc;

use crate::cluster::OrphanStop;
use crate::config::Config;
use crate::push::PushClient;
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject};
use crate::xsi::uri::Uri;

/// What [`crate::cluster::SiteBells`] calls with the bells left ringing.
pub fn orphan_stop(config: Arc<Config>, client: PushClient) -> OrphanStop {
    Arc::new(move |bells: Vec<String>| {
        let (config, client) = (config.clone(), client.clone());
        Box::pin(async move { stop_bells(&config, &client, &bells).await })
    })
}

async fn stop_bells(config: &Config, client: &PushClient, bells: &[String]) {
    let Some(schedule) = &config.schedule else {
        return;
    };
    let xml = stop_xml();
    let mut names: Vec<&str> = Vec::new();
    for bell in schedule.bells.iter().filter(|b| bells.contains(&b.name)) {
        for zone in &bell.zones {
            match config.resolve_zone(zone) {
                Ok(phones) => names.extend(phones.iter().map(|p| p.name.as_str())),
                Err(e) => tracing::warn!("cluster: bell {}: {e}", bell.name),
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    let mut set = tokio::task::JoinSet::new();
    for name in names {
        let Some(p) = config.phone(name) else {
            continue;
        };
        let target = match p.secret() {
            Ok(secret) => p.push_target(secret),
            Err(e) => {
                tracing::warn!("cluster: phone {name}: {e}");
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
        "cluster: stopped {ok} phones left tuned to bells {bells:?} by a silent peer{}",
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
