//! The XSI conformance matrix (`CONFORMANCE.md`) cannot go stale: it is rendered here from the
//! phones' spec (`shared/spec/cisco-xsi-control-spec.txt`, its `- id:` lines under Actions,
//! Feedbacks, Variables, Events and Macros) and the hand-written rows of `conformance.toml`, and
//! compared byte for byte with the committed file. `make conformance`
//! (`ZONECAST_WRITE_CONFORMANCE=1`) writes it instead.
//!
//! Every row is checked before anything is rendered, and a row that points to nothing fails:
//! - every spec id has a row and every row is a spec id;
//! - `type` (a path under `src/`, e.g. `xsi::uri::Key::Feature`) names an item defined in that
//!   module's files (`struct`/`enum`/`fn` ...), or a variant or method of the named type;
//! - each of `tests` (`FILE::FN`) is a file of this repository that defines `fn FN`;
//! - each of `commands` runs: `--phone PHONE` becomes `--phone 192.0.2.1 --dry-run`, the word
//!   `PNG` (or `N=PNG`) a 10×10 picture, and the built binary must exit 0; for an action its output must carry the spec's wire form (the
//!   URI up to its first `{placeholder}`, XML-escaped, as a URL value; the root element of an
//!   XML object; the `GET` path of a device page). A command without `PHONE` must have a
//!   subcommand whose `--help` exits 0.
//!
//! An action with no command or no test is not a failure: it is rendered as not reachable and
//! counted against the total in the header.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

const SPEC: &str = "spec/cisco-xsi-control-spec.txt";
const ROWS: &str = "conformance.toml";
const MATRIX: &str = "CONFORMANCE.md";
const WRITE_VAR: &str = "ZONECAST_WRITE_CONFORMANCE";
/// Where a command's `--phone PHONE` points for its dry run (TEST-NET-1: nothing answers).
const DRY_PHONE: &str = "192.0.2.1";

/// The spec's sections that hold ids, in spec order.
const SECTIONS: [&str; 5] = ["Actions", "Feedbacks", "Variables", "Events", "Macros"];

/// One `- id:` of the spec.
struct SpecId {
    section: &'static str,
    id: String,
    /// For an action: what its dry run must print (see [`wire_form`]).
    wire: Option<Wire>,
}

/// What an action looks like on the wire.
#[derive(Debug, Clone, PartialEq)]
enum Wire {
    /// A URI: its text up to the first placeholder, and whether it was the whole URI.
    Uri { prefix: String, whole: bool },
    /// An XML object's root element.
    Root(String),
    /// A device page: `GET /Path` up to the first placeholder.
    Get { prefix: String, whole: bool },
}

/// One row of `conformance.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    /// The Rust item that models it, as a path under `src/` (`xsi::object::Menu`).
    #[serde(rename = "type", default)]
    ty: String,
    /// Commands that send it (actions) or read it (the rest), `--phone PHONE` for a phone.
    #[serde(default)]
    commands: Vec<String>,
    /// What carries it when no command sends it alone, or what the commands do with it.
    #[serde(default)]
    note: String,
    /// Tests that check it, `FILE::FN`.
    #[serde(default)]
    tests: Vec<String>,
    /// The models that take it, with the source (or "not stated in the spec").
    models: String,
    /// What the emulated phone (`phone_sim`) does with it.
    emulator: String,
}

/// The repository: cargo names it to the running test (the compile-time value is the fallback).
fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The ids of the spec, in order, with the wire form of each action.
fn spec_ids(spec: &str) -> Vec<SpecId> {
    let lines: Vec<&str> = spec.lines().collect();
    let mut out = Vec::new();
    let mut section: Option<&'static str> = None;
    for (i, line) in lines.iter().enumerate() {
        // Section headings are bare words at the start of a line (`Actions`, `Safety` ...).
        if !line.is_empty() && line.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
            section = SECTIONS.iter().find(|s| **s == line.trim()).copied();
            continue;
        }
        let (Some(sec), Some(id)) = (section, line.strip_prefix("- id: ")) else {
            continue;
        };
        let wire = (sec == "Actions").then(|| {
            let id = id.trim();
            wire_form(&lines[i + 1..]).unwrap_or_else(|| panic!("{SPEC}: {id}: no command"))
        });
        out.push(SpecId {
            section: sec,
            id: id.trim().to_owned(),
            wire,
        });
    }
    out
}

/// The wire form of the action whose lines follow its `- id:` line: from its `command:`.
fn wire_form(after: &[&str]) -> Option<Wire> {
    let mut lines = after.iter().take_while(|l| !l.starts_with("- id:"));
    let command = lines.find_map(|l| l.strip_prefix("command:"))?.trim();
    let text = if command == "|" {
        // A block: the first line that is XML or a GET.
        lines
            .map(|l| l.trim())
            .find(|l| l.starts_with('<') || l.starts_with("GET "))?
            .to_owned()
    } else {
        command.trim_matches(|c| c == '"' || c == '\'').to_owned()
    };
    if let Some(rest) = text.strip_prefix('<') {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        return Some(Wire::Root(name));
    }
    let (prefix, whole) = match text.split_once('{') {
        Some((p, _)) => (p.to_owned(), false),
        None => (text.clone(), true),
    };
    Some(if text.starts_with("GET ") {
        Wire::Get { prefix, whole }
    } else {
        Wire::Uri { prefix, whole }
    })
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether `out` (a dry run's output) carries `wire`.
fn carries(out: &str, wire: &Wire) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    match wire {
        Wire::Root(name) => out
            .match_indices(&format!("<{name}"))
            .any(|(at, m)| matches!(out[at + m.len()..].chars().next(), Some(' ' | '>' | '/'))),
        Wire::Uri { prefix, whole } | Wire::Get { prefix, whole } => {
            let needle = if matches!(wire, Wire::Uri { .. }) {
                xml_escape(prefix)
            } else {
                prefix.clone()
            };
            out.match_indices(&needle).any(|(at, m)| {
                let before = out[..at].chars().next_back();
                let after = out[at + m.len()..].chars().next();
                // A URL value (`URL="..."`, `<URL>...`, `onStopped="..."`) or a printed line.
                matches!(before, None | Some('"' | '>' | '\n'))
                    && !(*whole && after.is_some_and(ident))
            })
        }
    }
}

/// The words of a command line: spaces split, single and double quotes group.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, ' ') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quote in {s:?}");
    if in_word {
        words.push(word);
    }
    words
}

/// Runs commands and remembers the answers (`--help` of a subcommand is asked once).
struct Runner {
    seen: HashMap<Vec<String>, Result<String, String>>,
    /// Holds the picture that stands for `PNG` in a command.
    dir: tempfile::TempDir,
}

/// A 10×10 greyscale PNG (small enough for an icon), for the word `PNG` in a command.
fn write_png(path: &Path) {
    let pixels: Vec<u8> = (0..100u32)
        .map(|i| if i % 10 < 5 { 0 } else { 255 })
        .collect();
    let mut bytes = Vec::new();
    let mut e = png::Encoder::new(&mut bytes, 10, 10);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().expect("png header");
    w.write_image_data(&pixels).expect("png data");
    w.finish().expect("png end");
    std::fs::write(path, bytes).expect("write png");
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().expect("temporary folder");
        write_png(&dir.path().join("picture.png"));
        Runner {
            seen: HashMap::new(),
            dir,
        }
    }

    fn run(&mut self, args: Vec<String>) -> Result<String, String> {
        self.seen
            .entry(args.clone())
            .or_insert_with(|| {
                let out = common::zonecast()
                    .args(&args)
                    .env_remove("ZONECAST_PHONE_PASSWORD")
                    .output()
                    .expect("run zonecast");
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                if out.status.success() {
                    Ok(stdout)
                } else {
                    Err(format!(
                        "exits {:?}: {}{}",
                        out.status.code(),
                        stdout,
                        String::from_utf8_lossy(&out.stderr)
                    ))
                }
            })
            .clone()
    }

    /// Checks one command of a row: `Ok(())` when it runs (and carries `wire`), else why not.
    fn check(&mut self, command: &str, wire: Option<&Wire>) -> Result<(), String> {
        let words = shell_words(command);
        if words.first().map(String::as_str) != Some("zonecast") {
            return Err("does not start with `zonecast`".into());
        }
        let phone = words.windows(2).position(|w| w == ["--phone", "PHONE"]);
        let Some(at) = phone else {
            if wire.is_some() {
                return Err("an action's command needs `--phone PHONE` to be dry-run".into());
            }
            let mut sub: Vec<String> = words[1..]
                .iter()
                .take_while(|w| !w.starts_with('-'))
                .cloned()
                .collect();
            sub.push("--help".into());
            return self.run(sub).map(drop);
        };
        let png = self.dir.path().join("picture.png");
        let mut args: Vec<String> = words[1..]
            .iter()
            .map(|w| match w.strip_suffix("PNG") {
                Some(before @ ("" | "0=" | "1=" | "2=" | "3=" | "4=" | "5=")) => {
                    format!("{before}{}", png.display())
                }
                _ => w.clone(),
            })
            .collect();
        args[at] = DRY_PHONE.into();
        args.insert(at + 1, "--dry-run".into());
        let out = self.run(args)?;
        match wire {
            Some(w) if !carries(&out, w) => Err(format!("its dry run does not carry {w:?}: {out}")),
            _ => Ok(()),
        }
    }
}

/// Checks that `FILE::FN` is a file here that defines `fn FN`.
fn check_test(entry: &str) -> Result<(), String> {
    let (file, name) = entry.rsplit_once("::").ok_or(
        "must be FILE::FN, e.g. tests/cli_xsi.rs::push_success_prints_each_item_and_exits_0",
    )?;
    let text = std::fs::read_to_string(root().join(file)).map_err(|e| format!("{file}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let sig = format!("fn {name}(");
    let Some(at) = lines.iter().position(|l| l.contains(&sig)) else {
        return Err(format!("{file} defines no fn {name}"));
    };
    // A test: `#[test]` / `#[tokio::test ...]` among the attributes above it, or a proptest
    // case (`fn name(x in strategy)`).
    let attributes = lines[..at]
        .iter()
        .rev()
        .take_while(|l| {
            let t = l.trim_start();
            t.starts_with("#[") || t.starts_with("//")
        })
        .any(|l| l.contains("test]") || l.contains("::test("));
    if attributes || lines[at].contains(" in ") {
        Ok(())
    } else {
        Err(format!("fn {name} in {file} is not a test"))
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `line` defines `name`: `struct|enum|trait|type|fn|const|static|mod NAME`, or the
/// header `NAME, "` of a `named!` enum (see `xsi::uri::names`).
fn defines(line: &str, name: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.starts_with(&format!("{name}, \"")) {
        return true;
    }
    let words: Vec<&str> = trimmed
        .split(|c: char| !is_ident_char(c))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| {
        matches!(
            w[0],
            "struct" | "enum" | "trait" | "type" | "fn" | "const" | "static" | "mod"
        ) && w[1] == name
    }) && !trimmed.starts_with("//")
}

/// The `.rs` files of the module at `segments` under `src/`, and how many segments name it.
fn module_files(segments: &[&str]) -> Option<(usize, Vec<PathBuf>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    for k in (1..=segments.len()).rev() {
        let base = root().join("src").join(segments[..k].join("/"));
        let file = base.with_extension("rs");
        if base.is_dir() || file.is_file() {
            let mut files = Vec::new();
            if file.is_file() {
                files.push(file);
            }
            walk(&base, &mut files);
            return Some((k, files));
        }
    }
    None
}

/// The lines of the item (enum, impl ...) that starts at `start`, up to its closing brace.
fn item_body<'l, 'a>(lines: &'l [&'a str], start: usize) -> &'l [&'a str] {
    let mut depth = 0i32;
    let mut opened = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return &lines[start..=i];
        }
    }
    &lines[start..]
}

/// Checks that `path` (`xsi::uri::Key::Feature`) names something defined under `src/`.
fn check_type(path: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split("::").collect();
    let (k, files) =
        module_files(&segments).ok_or_else(|| format!("no module {} under src/", segments[0]))?;
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    let all_lines = || texts.iter().flat_map(|t| t.lines());
    match &segments[k..] {
        [name] => all_lines()
            .any(|l| defines(l, name))
            .then_some(())
            .ok_or_else(|| {
                format!(
                    "nothing named {name} is defined in {}",
                    segments[..k].join("::")
                )
            }),
        [ty, member] => {
            let mut ty_found = false;
            for text in &texts {
                let lines: Vec<&str> = text.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    let is_enum =
                        defines(line, ty) && (line.contains("enum") || line.contains(", \""));
                    ty_found |= defines(line, ty);
                    let words: Vec<&str> = line
                        .split(|c: char| !is_ident_char(c))
                        .filter(|w| !w.is_empty())
                        .collect();
                    let is_impl = line.trim_start().starts_with("impl") && words.contains(ty);
                    if is_enum {
                        let variant = item_body(&lines, i)[1..].iter().any(|l| {
                            let t = l.trim_start();
                            t.strip_prefix(member).is_some_and(|rest| {
                                !rest.starts_with(is_ident_char) && !t.starts_with("//")
                            })
                        });
                        if variant {
                            return Ok(());
                        }
                    }
                    if is_impl && item_body(&lines, i).iter().any(|l| defines(l, member)) {
                        return Ok(());
                    }
                }
            }
            Err(if ty_found {
                format!("{ty} has no variant or method {member}")
            } else {
                format!(
                    "nothing named {ty} is defined in {}",
                    segments[..k].join("::")
                )
            })
        }
        _ => Err("must be MODULE::ITEM or MODULE::TYPE::MEMBER".into()),
    }
}

/// A markdown table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        "—".into()
    } else {
        one_line.replace('|', "\\|")
    }
}

/// Code in a cell: backticks that survive a backtick inside.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// How far one spec id is covered.
struct Coverage {
    command: bool,
    test: bool,
}

fn render(ids: &[SpecId], rows: &BTreeMap<String, Row>, cover: &[Coverage]) -> String {
    let mut md = String::new();
    let both = |c: &Coverage| c.command && c.test;
    let count = |sec: &str, f: &dyn Fn(&Coverage) -> bool| {
        ids.iter()
            .zip(cover)
            .filter(|(s, c)| s.section == sec && f(c))
            .count()
    };
    let total = |sec: &str| ids.iter().filter(|s| s.section == sec).count();
    md.push_str("# XSI conformance matrix\n\n");
    md.push_str(
        "One row per id of the phones' spec (`shared/spec/cisco-xsi-control-spec.txt`): the Rust \
         type that models it, the command that sends it (or reads it), the tests that check it, \
         the models that take it and what the emulated phone does with it.\n\n\
         Generated from `conformance.toml` by `make conformance`; do not edit by hand. \
         `cargo test --test conformance` fails when this file differs from what it would \
         write, when a spec id has no row, or when a row points to nothing: a type not defined \
         under `src/`, a test that does not exist (or a function that is not a test), a command that does not run. Every \
         command is run with `--phone PHONE` replaced by `--phone 192.0.2.1 --dry-run` (and \
         `PNG` by a 10×10 picture); an \
         action's dry run must carry the spec's wire form (the URI as a URL value, the XML \
         object's root element, the `GET` path).\n\n",
    );
    let _ = writeln!(
        md,
        "**Actions reachable from a command with a test: {}/{}.**\n",
        count("Actions", &both),
        total("Actions")
    );
    md.push_str("| Section | ids | with a command | with a test | both |\n");
    md.push_str("|---|---:|---:|---:|---:|\n");
    for sec in SECTIONS {
        let _ = writeln!(
            md,
            "| {sec} | {} | {} | {} | {} |",
            total(sec),
            count(sec, &|c| c.command),
            count(sec, &|c| c.test),
            count(sec, &both)
        );
    }
    let missing: Vec<String> = ids
        .iter()
        .zip(cover)
        .filter(|(s, c)| s.section == "Actions" && !both(c))
        .map(|(s, c)| {
            let why = match (c.command, c.test) {
                (false, false) => "no command, no test",
                (false, true) => "no command",
                _ => "no test",
            };
            format!("`{}` ({why})", s.id)
        })
        .collect();
    if missing.is_empty() {
        md.push_str("\nEvery action is reachable from a command with a test.\n");
    } else {
        let _ = writeln!(md, "\nNot reachable yet: {}.", missing.join(", "));
    }
    for sec in SECTIONS {
        let _ = write!(
            md,
            "\n## {sec}\n\n| id | type | command | tests | models | emulator |\n\
             |---|---|---|---|---|---|\n"
        );
        for (s, c) in ids.iter().zip(cover).filter(|(s, _)| s.section == sec) {
            let row = &rows[&s.id];
            let mut command: Vec<String> = row.commands.iter().map(|c| code(c)).collect();
            if !row.note.is_empty() {
                command.push(row.note.clone());
            }
            let mut id = code(&s.id);
            if sec == "Actions" && !both(c) {
                id.push_str(" (not reachable)");
            }
            let tests: Vec<String> = row.tests.iter().map(|t| code(t)).collect();
            let ty = if row.ty.is_empty() {
                String::new()
            } else {
                code(&row.ty)
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                id,
                cell(&ty),
                cell(&command.join("<br>")),
                cell(&tests.join("<br>")),
                cell(&row.models),
                cell(&row.emulator)
            );
        }
    }
    md
}

#[test]
fn the_matrix_covers_every_spec_id_and_is_up_to_date() {
    let Some(spec) = zonecast::shared::shared_text(SPEC) else {
        return;
    };
    let ids = spec_ids(&spec);
    for (sec, n) in [
        ("Actions", 114),
        ("Feedbacks", 13),
        ("Variables", 5),
        ("Events", 5),
        ("Macros", 2),
    ] {
        let got = ids.iter().filter(|s| s.section == sec).count();
        assert_eq!(got, n, "{SPEC}: {sec}: {got} ids, expected {n}");
    }
    let text = std::fs::read_to_string(root().join(ROWS)).expect("read conformance.toml");
    let rows: BTreeMap<String, Row> =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{ROWS}: {e}"));

    let mut problems = Vec::new();
    for s in &ids {
        if !rows.contains_key(&s.id) {
            problems.push(format!("{}: spec id without a row", s.id));
        }
    }
    for id in rows.keys() {
        if !ids.iter().any(|s| &s.id == id) {
            problems.push(format!("{id}: row for an id the spec does not have"));
        }
    }
    let mut runner = Runner::new();
    let mut cover = Vec::new();
    for s in &ids {
        let Some(row) = rows.get(&s.id) else {
            cover.push(Coverage {
                command: false,
                test: false,
            });
            continue;
        };
        if !row.ty.is_empty()
            && let Err(why) = check_type(&row.ty)
        {
            problems.push(format!("{}: type {}: {why}", s.id, row.ty));
        }
        for t in &row.tests {
            if let Err(why) = check_test(t) {
                problems.push(format!("{}: test {t}: {why}", s.id));
            }
        }
        for c in &row.commands {
            if let Err(why) = runner.check(c, s.wire.as_ref()) {
                problems.push(format!("{}: command `{c}`: {why}", s.id));
            }
        }
        if row.models.trim().is_empty() || row.emulator.trim().is_empty() {
            problems.push(format!("{}: models and emulator must say something", s.id));
        }
        cover.push(Coverage {
            command: !row.commands.is_empty(),
            test: !row.tests.is_empty(),
        });
    }
    assert!(
        problems.is_empty(),
        "{ROWS} points to nothing ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );

    let md = render(&ids, &rows, &cover);
    let path = root().join(MATRIX);
    if std::env::var(WRITE_VAR).is_ok_and(|v| v == "1") {
        std::fs::write(&path, &md).expect("write CONFORMANCE.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == md,
        "{MATRIX} is stale: run `make conformance` (first differing line: {:?})",
        committed
            .lines()
            .zip(md.lines())
            .find(|(a, b)| a != b)
            .map_or_else(
                || "(one is a prefix of the other)".into(),
                |(a, b)| { format!("committed {a:?}, now {b:?}") }
            )
    );
}

#[test]
fn wire_forms_and_checks_match_what_they_should() {
    let spec = "Actions\n- id: a\ncommand: \"Key:Feature{n}\"\n- id: b\ncommand: |\n\
                HTTP POST /CGI/Execute\n<startMedia>\n- id: c\ncommand: \"GET /DeviceInformation\"\n\
                - id: d\ncommand: \"SoftKey:<<\"\nFeedbacks\n- id: e\nSafety\n- id: f\n";
    let ids = spec_ids(spec);
    let got: Vec<(&str, &str, Option<Wire>)> = ids
        .iter()
        .map(|s| (s.section, s.id.as_str(), s.wire.clone()))
        .collect();
    let uri = |p: &str, whole| Wire::Uri {
        prefix: p.into(),
        whole,
    };
    assert_eq!(
        got,
        vec![
            ("Actions", "a", Some(uri("Key:Feature", false))),
            ("Actions", "b", Some(Wire::Root("startMedia".into()))),
            (
                "Actions",
                "c",
                Some(Wire::Get {
                    prefix: "GET /DeviceInformation".into(),
                    whole: true
                })
            ),
            ("Actions", "d", Some(uri("SoftKey:<<", true))),
            ("Feedbacks", "e", None),
        ]
    );
    let get = Wire::Get {
        prefix: "GET /DeviceInformation".into(),
        whole: true,
    };
    assert!(!carries("# phone x\nGET /DeviceInformationX\n", &get));
    assert!(carries("# phone x\nGET /DeviceInformation\n", &get));
    assert!(carries(
        r#"<ExecuteItem URL="SoftKey:&lt;&lt;"/>"#,
        &uri("SoftKey:<<", true)
    ));
    assert!(!carries(r#"URL="EditDial:1""#, &uri("Dial:", false)));
    assert!(!carries(r#"URL="Key:InfoX""#, &uri("Key:Info", true)));
    assert!(carries("<startMedia>", &Wire::Root("startMedia".into())));
    assert!(!carries("<startMediaX>", &Wire::Root("startMedia".into())));
    assert_eq!(
        shell_words(r#"zonecast push --phone PHONE "a b" 'c"d' e"#),
        ["zonecast", "push", "--phone", "PHONE", "a b", "c\"d", "e"]
    );
    assert!(check_type("xsi::uri::Key::Feature").is_ok());
    assert!(check_type("xsi::uri::SoftKey::Backspace").is_ok());
    assert!(check_type("xsi::uri::Uri::dial").is_ok());
    assert!(check_type("xsi::object::Menu").is_ok());
    assert!(check_type("xsi::uri::Key::Nope").is_err());
    assert!(check_type("xsi::object::Nope").is_err());
    assert!(
        check_test("tests/conformance.rs::wire_forms_and_checks_match_what_they_should").is_ok()
    );
    assert!(check_test("tests/conformance.rs::nope").is_err());
    assert!(check_test("tests/conformance.rs::shell_words").is_err());
}
