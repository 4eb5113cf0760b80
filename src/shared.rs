//! Where the tests find the material kept beside the repository rather than in it: the folder
//! `shared` next to the checkout (`reference/`: Cisco's XSD and the phones' published samples;
//! `spec/`; `cucm/`). This module owns that path; no test builds it by hand.
//!
//! The folder is `$ZONECAST_SHARED_DIR` when set (CI sets it, see `.ci/run`), else
//! `<CARGO_MANIFEST_DIR>/../shared`. A clone on its own has no such folder: [`shared_file`](crate::shared::shared_file) then
//! prints one `skipped:` line to the process's stderr (past libtest's capture, so it shows in a
//! normal `cargo test` run) and returns `None`, and the test returns early and passes.
//!
//! ```ignore
//! let Some(xsd) = zonecast::shared::shared_file("reference/CiscoIpPhoneServices.xsd") else {
//!     return;
//! };
//! ```
//!
//! [`shared_bytes`](crate::shared::shared_bytes) and [`shared_text`](crate::shared::shared_text) read the file as well.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The variable naming the shared folder, overriding `<CARGO_MANIFEST_DIR>/../shared`.
pub const ENV_VAR: &str = "ZONECAST_SHARED_DIR";

/// The shared folder: `$ZONECAST_SHARED_DIR` if set and not empty, else
/// `<CARGO_MANIFEST_DIR>/../shared`. Whether it exists is not checked.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os(ENV_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}

/// `rel` (a file or folder, e.g. `reference/CiscoIpPhoneServices.xsd`) inside the shared
/// folder, when it exists. Otherwise one line on stderr naming the calling test, what it needed
/// and why it is missing, and `None`: the caller returns early (or leaves out the part that
/// needed it).
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    match find(&shared_dir(), rel) {
        Ok(path) => Some(path),
        Err(why) => {
            // libtest names each test's thread after the test.
            let thread = std::thread::current();
            let test = thread.name().unwrap_or("?");
            // Straight to the process's stderr (`eprintln!` is captured, shown only on failure),
            // in one write so that lines of tests running in parallel do not interleave.
            let line = format!("skipped: {test} (needs shared/{rel}): {why}\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

/// The bytes of the shared file `rel`, or `None` as [`shared_file`] says. A file that is there
/// but cannot be read fails the test.
pub fn shared_bytes(rel: &str) -> Option<Vec<u8>> {
    let path = shared_file(rel)?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The text of the shared file `rel` (UTF-8), or `None` as [`shared_file`] says.
pub fn shared_text(rel: &str) -> Option<String> {
    let path = shared_file(rel)?;
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// `rel` inside `dir`, or why it is not there.
fn find(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let path = dir.join(rel);
    if path.exists() {
        Ok(path)
    } else if dir.is_dir() {
        Err(format!("{rel} not found in {}", dir.display()))
    } else {
        Err(format!("{} not found (set {ENV_VAR})", dir.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_file_is_its_path_and_an_absent_one_says_which_part_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        let missing = find(&dir, "reference/a.xsd").unwrap_err();
        assert_eq!(
            missing,
            format!("{} not found (set ZONECAST_SHARED_DIR)", dir.display())
        );
        std::fs::create_dir_all(dir.join("reference")).unwrap();
        let missing = find(&dir, "reference/a.xsd").unwrap_err();
        assert_eq!(
            missing,
            format!("reference/a.xsd not found in {}", dir.display())
        );
        std::fs::write(dir.join("reference/a.xsd"), "").unwrap();
        assert_eq!(
            find(&dir, "reference/a.xsd"),
            Ok(dir.join("reference/a.xsd"))
        );
        assert_eq!(find(&dir, "reference"), Ok(dir.join("reference")));
    }
}
