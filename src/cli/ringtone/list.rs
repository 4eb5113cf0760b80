//! `zonecast ringtone list`: the ring list (CiscoIPPhoneRingList) of the legal ring files in a
//! folder. Owns display names (a `names.toml`, else made from file names), the list's usual
//! file names and reading a folder's files, which `batch` uses too. Rendering the XML is
//! [`crate::ringtone::render_ring_list`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ListArgs;
use crate::cli::CliError;
use crate::ringtone::{Format, Ring, RingList, Severity, check_bytes, render_ring_list};

/// A display name from a file name: the stem, `_` and `-` as spaces, each word capitalised
/// (`evacuation_tone.raw` → `Evacuation Tone`).
pub(crate) fn display_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = stem
        .split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    // A stem of separators only (`__`) keeps its own spelling rather than no name.
    if name.is_empty() { stem } else { name }
}

/// Display names from a TOML file of `"FILE" = "Name"`. A dotted bare key (`bell.raw = ...`)
/// reads as a table in TOML: it is joined back into the file name.
fn read_names(path: &Path) -> Result<BTreeMap<String, String>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Invalid(format!("names {}: cannot read: {e}", path.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| CliError::Invalid(format!("names {}: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    flatten_names(path, "", &table, &mut out)?;
    Ok(out)
}

fn flatten_names(
    path: &Path,
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), CliError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(name) => {
                out.insert(key, name.clone());
            }
            toml::Value::Table(t) => flatten_names(path, &key, t, out)?,
            other => {
                return Err(CliError::Invalid(format!(
                    "names {}: {key} = {other}: each line must be \"FILE\" = \"Display Name\"",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// The display name of `file` (its name in the folder): from `names` by file name or by stem,
/// else from the file name.
fn name_for(file: &str, names: &BTreeMap<String, String>) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    names
        .get(file)
        .or_else(|| names.get(&stem))
        .cloned()
        .unwrap_or_else(|| display_name(Path::new(file)))
}

/// The ring list's usual file name.
pub(super) fn list_file_name(wideband: bool, distinctive: bool) -> &'static str {
    match (wideband, distinctive) {
        (false, false) => "RingList.xml",
        (false, true) => "DistinctiveRingList.xml",
        (true, false) => "Ringlist-wb.xml",
        (true, true) => "DistinctiveRinglist-wb.xml",
    }
}

/// The names from `--names`, or from `dir/names.toml` when that exists.
pub(super) fn names_for_dir(
    explicit: Option<&Path>,
    dir: &Path,
) -> Result<BTreeMap<String, String>, CliError> {
    match explicit {
        Some(p) => read_names(p),
        None => {
            let default = dir.join("names.toml");
            if default.is_file() {
                read_names(&default)
            } else {
                Ok(BTreeMap::new())
            }
        }
    }
}

/// Files of `dir` (not sub-folders), sorted by name.
pub(super) fn files_of(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::Invalid(format!("{}: cannot read the folder: {e}", dir.display()))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

pub(super) fn file_name_of(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn list(a: ListArgs) -> Result<i32, CliError> {
    let format = if a.wideband {
        Format::Wideband
    } else {
        Format::Narrowband
    };
    let names = names_for_dir(a.names.as_deref(), &a.dir)?;
    let mut rings = Vec::new();
    let mut skipped = 0;
    for path in files_of(&a.dir)? {
        if Format::from_path(&path) != Some(format) {
            continue;
        }
        let file = file_name_of(&path);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("zonecast: skipped {file}: cannot read: {e}");
                skipped += 1;
                continue;
            }
        };
        let report = check_bytes(&bytes, format);
        if !report.passes() {
            let why: Vec<String> = report
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .map(|p| format!("{}: {}", p.rule, p.detail))
                .collect();
            eprintln!(
                "zonecast: skipped {file}: fails the rules ({})",
                why.join("; ")
            );
            skipped += 1;
            continue;
        }
        for p in &report.problems {
            eprintln!("zonecast: warning: {file}: {}: {}", p.rule, p.detail);
        }
        rings.push(Ring {
            display_name: name_for(&file, &names),
            file_name: file,
        });
    }
    for key in names.keys() {
        let listed = rings.iter().any(|r| {
            &r.file_name == key || Path::new(&r.file_name).file_stem() == Some(key.as_ref())
        });
        if !listed {
            eprintln!("zonecast: warning: names: {key:?} is not a listed ring file");
        }
    }
    let count = rings.len();
    let (xml, warnings) = render_ring_list(&RingList { rings });
    for w in &warnings {
        eprintln!("zonecast: warning: {w}");
    }
    print!("{xml}");
    if count == 0 {
        return Err(CliError::Partial(format!(
            "{}: no legal .{} ring file to list{}",
            a.dir.display(),
            format.extension(),
            if skipped > 0 {
                format!(" ({skipped} skipped)")
            } else {
                String::new()
            }
        )));
    }
    eprintln!(
        "zonecast: {count} rings listed{}; save it as {} on the TFTP server",
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        },
        list_file_name(a.wideband, a.distinctive)
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_from_file_names() {
        assert_eq!(
            display_name(Path::new("evacuation_tone.raw")),
            "Evacuation Tone"
        );
        assert_eq!(display_name(Path::new("door-bell_2.raw")), "Door Bell 2");
        assert_eq!(display_name(Path::new("dir/ACME.raw")), "ACME");
        assert_eq!(display_name(Path::new("__.raw")), "__");
    }

    #[test]
    fn names_toml_accepts_quoted_and_dotted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("names.toml");
        std::fs::write(&p, "\"bell.raw\" = \"Big Bell\"\nalert.raw = \"Alert!\"\n").unwrap();
        let n = read_names(&p).unwrap();
        assert_eq!(name_for("bell.raw", &n), "Big Bell");
        assert_eq!(name_for("alert.raw", &n), "Alert!");
        assert_eq!(name_for("other_one.raw", &n), "Other One");
        std::fs::write(&p, "bell = 3\n").unwrap();
        assert!(read_names(&p).is_err());
    }

    #[test]
    fn list_file_names() {
        assert_eq!(list_file_name(false, false), "RingList.xml");
        assert_eq!(list_file_name(true, false), "Ringlist-wb.xml");
        assert_eq!(list_file_name(false, true), "DistinctiveRingList.xml");
    }
}
