//! `zonecast listen` and `zonecast intercom` (in progress: owned by the listen helper).

use clap::Args;

use super::CliError;

/// Arguments of `zonecast listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {}

/// Arguments of `zonecast intercom`.
#[derive(Debug, Args)]
pub struct IntercomArgs {}

pub(super) fn run_listen(_a: ListenArgs) -> Result<i32, CliError> {
    Err(CliError::Invalid("listen: not built yet".into()))
}

pub(super) fn run_intercom(_a: IntercomArgs) -> Result<i32, CliError> {
    Err(CliError::Invalid("intercom: not built yet".into()))
}
