//! Phones from Cisco Unified CM: every phone of the cluster with its model, directory numbers
//! and device pool from AXL, and its address, registration and web access from RisPort70,
//! joined into one table of [`CucmPhone`]s that is cached between
//! runs.
//!
//! Sans-IO core, async shell, as everywhere in zonecast. The core does no I/O and reads no
//! clock: it builds the SOAP requests, parses the answers within bounds, and [`Discovery`] is
//! the state machine of one discovery (pages, smaller pages when CUCM says a read is too large,
//! RIS batches within the rate limit, `StateInfo` for cheap refreshes), driven with `now`
//! passed in. The shell ([`CucmClient`]) carries its calls out over HTTPS.
//!
//! Files, one concept each:
//! - `soap`: the envelope, the bounded walk of an answer, SOAP faults with Cisco's words.
//! - `axl`: `listPhone` and the directory-number `executeSQLQuery`, their answers, and the
//!   "Query request too large" refusal.
//! - `ris`: RisPort70 `selectCmDeviceExt`, its answer, and its rate-limit fault.
//! - `product`: AXL product names as the engine's model names (Multiplatform detected).
//! - `rate`: RisPort70's requests-per-window limit, on our side.
//! - `table`: the discovered phone and what changed between two tables.
//! - `discovery` (tests in `discovery_tests`): one discovery as a state machine.
//! - `tls`: how CUCM's certificate is trusted (CA file, pinned SHA-256, or loudly anything).
//! - `client`: the HTTPS shell: Basic auth, the session cookie, the loop that drives a discovery.
//! - `cache`: the last table in its own SQLite file under `[server] data_dir`.
//! - `site`: the config's phones and the discovered ones as one page `PhoneTable`, zones'
//!   `from_cucm` rules resolved over it.
//! - `refresh`: a table for a page: the cache while it is fresh, else a discovery, else the
//!   cache again, saying from when.
//!
//! `zonecast serve` refreshes the table through `crate::server::cucm_table` (on its interval and
//! on `POST /api/cucm/refresh`) and shows it at `GET /api/cucm` and in the console.

pub mod axl;
pub mod cache;
pub mod client;
pub mod discovery;
#[cfg(test)]
mod discovery_tests;
pub mod product;
pub mod rate;
pub mod refresh;
pub mod ris;
pub mod site;
pub mod soap;
pub mod table;
pub mod tls;

pub use cache::{CACHE_FILE, CacheError, CachedTable, CucmCache};
pub use client::{CucmClient, CucmError};
pub use discovery::{
    CucmCall, Discovered, Discovery, DiscoveryError, DiscoverySettings, DiscoveryStats,
    DiscoveryStep, RisBatchState,
};
pub use refresh::{FetchError, TableFetch, fetch_table};
pub use ris::RegState;
pub use site::{SiteTable, TableOrigin};
pub use soap::{SoapError, SoapFault};
pub use table::{CucmPhone, TableChanges};
