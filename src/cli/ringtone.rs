//! `zonecast ringtone ...` (in progress: owned by the ringtone-cli helper).

use clap::Subcommand;

use super::CliError;

/// `zonecast ringtone` subcommands.
#[derive(Debug, Subcommand)]
pub enum RingtoneCommand {}

pub(super) fn run(c: RingtoneCommand) -> Result<i32, CliError> {
    match c {}
}
