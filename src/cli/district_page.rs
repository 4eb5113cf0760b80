//! `zonecast page --zone DISTRICT`: a zone of `[cluster.district]` paged from the command line as
//! the server's API does it (issue 24, `docs/cluster.md`): one part per `site:zone` member over
//! the bus, each site's leader paging its own zone through its own Pager and streaming its
//! report back, a site that does not answer in time reported unreachable. This command waits
//! until every part has ended (Ctrl-C stops every part) and prints one report with a section per
//! site. The source must be one every site has: a tone, the chime, speech or a sequence of those
//! (no file of this machine, no microphone).

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::common::{CliError, runtime};
use crate::cluster::{
    ClusterError, DistrictPage, DistrictReport, DistrictTerms, PartTemplate, SectionStatus,
    connect_client, district_page_id, run_district_page, split,
};
use crate::config::{Cluster, DistrictZone};

/// What the district page plays, and how its report is printed.
pub(super) struct DistrictOrder {
    /// A source as the API takes it (`chime`, `tone:HZ:SECS`, `say:TEXT`, a sequence of those).
    pub source: String,
    /// Banner.
    pub banner: Option<String>,
    /// Priority level.
    pub priority: Option<String>,
    /// End after this long.
    pub duration: Option<Duration>,
    /// Print the report as JSON.
    pub json: bool,
}

/// The district zone `name` of the config's `[cluster]`, with that table.
pub(super) fn district_zone<'a>(
    config: &'a crate::config::Config,
    name: &str,
) -> Option<(&'a Cluster, &'a DistrictZone)> {
    let c = config.cluster.as_ref()?;
    Some((c, c.district.iter().find(|z| z.name == name)?))
}

/// Page `zone` of the district from this node's site; exit 0 when every site paged it, 3 when
/// one refused or could not be reached.
pub(super) fn run(c: &Cluster, zone: &DistrictZone, order: DistrictOrder) -> Result<i32, CliError> {
    let report = runtime()?.block_on(async {
        let client = connect_client(c, false).await.map_err(|e| match e {
            ClusterError::Credentials(_) => CliError::Invalid(e.to_string()),
            e => CliError::Failed(e.into()),
        })?;
        let id = district_page_id();
        let terms = DistrictTerms::default();
        let page = DistrictPage::new(&id, &zone.name, split(&id, zone), terms, Instant::now());
        let template = PartTemplate {
            from: c.site.clone(),
            source: order.source.clone(),
            banner: order.banner.clone(),
            priority: order.priority.clone(),
            duration: order.duration,
            live: None,
            voice: None,
        };
        let (stop, stop_rx) = watch::channel(None);
        let (out, _seen) = watch::channel(page.report().clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = stop.send(Some("stopped from the command line".into()));
            }
        });
        eprintln!(
            "zonecast: district page {id}: zone {} over {} sites",
            zone.name,
            zone.members.len()
        );
        run_district_page(client, page, template, stop_rx, out)
            .await
            .map_err(|e| CliError::Failed(anyhow::anyhow!("{e}")))
    })?;
    if order.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?
        );
    } else {
        print!("{}", words(&report));
    }
    let t = report.totals;
    Ok(if t.paged == t.sites { 0 } else { 3 })
}

/// The report in words: one line per site, then the totals.
fn words(r: &DistrictReport) -> String {
    let mut out = format!("district page {} (zone {}):\n", r.id, r.zone);
    for s in &r.sites {
        let state = match &s.status {
            SectionStatus::Asking => "still asking".to_owned(),
            SectionStatus::Accepted { .. } => "paging".to_owned(),
            SectionStatus::Refused { reason } => format!("refused: {reason}"),
            SectionStatus::Unreachable { reason } => format!("UNREACHABLE: {reason}"),
            SectionStatus::Ended { ended_by } => format!("paged, ended ({ended_by})"),
            SectionStatus::Lost => "LOST: accepted, then silent".to_owned(),
        };
        out.push_str(&format!(
            "  {}:{}  {state}; {} of {} phones reached\n",
            s.site, s.zone, s.accepted, s.phones_total
        ));
    }
    let t = r.totals;
    out.push_str(&format!(
        "{} of {} sites paged, {} unreachable; {} of {} phones reached\n",
        t.paged, t.sites, t.unreachable, t.accepted, t.phones
    ));
    out
}
