//! The `zonecast` binary: parses the command line and maps outcomes to exit codes.

fn main() {
    std::process::exit(zonecast::cli::main());
}
