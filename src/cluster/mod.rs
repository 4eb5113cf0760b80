//! The cluster (issue 24, `docs/cluster.md`): a site's standby pair and the district over NATS
//! JetStream. This module owns the leader lease of a site and the claim of each bell occurrence,
//! as sans-IO state machines, and the shell that carries them out against the site's buckets. It
//! does not ring bells or page phones: the server gives it an occurrence and a way to ring it.
//!
//! Submodules: `lease` (the leader lease: create, compare-and-set renewal, expiry, the revision
//! as fencing token; property-tested in `lease_tests`), `claim` (one occurrence's claimed →
//! ringing → done, and its key; tested in `claim_tests`), `store` (the async shell: connecting
//! with the configured credentials and TLS, the buckets, the lease's loop and an occurrence's
//! claim carried out), `pair` (what a node knows of its peer over the LAN heartbeat and whether
//! it rings without the store), `heartbeat` (the heartbeat's UDP shell), `site_bells` (what the
//! server's bell loop holds: the store once reached, the lease, the heartbeat; one occurrence
//! rung at most once across the pair), `district` (a district page as its initiator sees it,
//! sans-IO: the split per site, the deadline per site, the merged report, what counts as done;
//! tested in `district_tests`), `district_wire` (its messages and subjects, and a site's memory
//! of the parts it paged and the report lines it sent), `district_bus` (its NATS shell: a site's
//! desk answering `zc.<site>.page` and `zc.<site>.stop`, and the initiator's loop),
//! `district_live` (a district page spoken live: the caller's frames published by the asker and
//! played by each site); `journal`
//! (a journal record as it travels: its shape, names, message id and bounds), `outbox` (which
//! records to send when, sans-IO; tested in `outbox_tests`), `outbox_shell` (its loop between
//! the server's durable store and the site's stream), `journal_stream` (the journal's NATS side:
//! the site's stream, the hub's sourcing of it, publishing, reading the district's records),
//! `status` (each node's entry in the hub's `zc_nodes`, written and read back).

mod claim;
mod district;
mod district_bus;
mod district_live;
mod district_wire;
mod heartbeat;
mod journal;
mod journal_stream;
mod lease;
mod outbox;
mod outbox_shell;
mod pair;
mod site_bells;
mod status;
mod store;

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod district_tests;
#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod outbox_tests;

pub use claim::{
    BellClaim, ClaimEnd, ClaimOp, ClaimOutput, ClaimRecord, ClaimReply, ClaimStep, Occurrence,
};
pub use district::{
    DistrictOp, DistrictPage, DistrictReport, DistrictTerms, DistrictTotals, Part, PartAnswer,
    SectionStatus, SiteSection, bell_page_id, district_page_id, split,
};
pub use district_bus::{
    AnswersForSite, LocalPager, PartStart, PartTemplate, SiteDesk, run_district_page,
};
pub use district_live::{LiveListener, LiveSender, MAX_LIVE_FRAMES, live_frames, live_subject};
pub use district_wire::{
    PartEvent, PartReply, PartRequest, PartStop, PhoneLine, page_subject, report_subject,
    stop_subject,
};
pub use journal::{HUB_STREAM, JournalRecord, RECORD_LIMIT, RecordKind, RecordRefused};
pub use journal_stream::{DUPLICATE_WINDOW, DistrictRecords, JournalLink, SCAN_LIMIT};
pub use lease::{Lease, LeaseEvent, LeaseOp, LeaseReply, LeaseTerms};
pub use outbox::{OutRecord, Outbox, OutboxTerms};
pub use outbox_shell::{OutboxState, OutboxStore, start_outbox};
pub use pair::{BEAT_MAX_BYTES, Beat, PeerView};
pub use site_bells::{LeftClaim, OrphanStop, Orphans, PROBE_PHONES, SiteBells};
pub use status::{LeadingNow, NodeStatus, STATUS_BUCKET, STATUS_EVERY, start_status};
pub(crate) use store::connect_client;
pub use store::{ClusterError, LeaseHandle, SiteStore};
