//! House rules for the shape of `src/`, so they cannot quietly regress: one concept per file,
//! no import cycles between files, names that say what they are.
//!
//! Each test reads the source tree as plain text (std only, no parser) and fails listing every
//! offender as `file:line: what is wrong`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

/// A production function may run to this many lines before its doc must say why it is long.
const LONG_FUNCTION_LINES: usize = 120;

/// One `.rs` file under `src/`: its path from the crate root (`src/a/b.rs`) and its text.
struct SourceFile {
    path: String,
    text: String,
}

fn src_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rs(root, "src", &mut paths);
    paths.sort();
    let read = |path: String| SourceFile {
        text: fs::read_to_string(root.join(&path)).unwrap(),
        path,
    };
    paths.into_iter().map(read).collect()
}

fn collect_rs(root: &Path, dir: &str, out: &mut Vec<String>) {
    for entry in fs::read_dir(root.join(dir)).expect("src/ is readable") {
        let name = entry.expect("directory entry").file_name();
        let path = format!("{dir}/{}", name.to_string_lossy());
        if root.join(&path).is_dir() {
            collect_rs(root, &path, out);
        } else if path.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// `mod.rs` and `lib.rs` gather a directory of modules; the other files each own one concept.
fn is_parent_file(path: &str) -> bool {
    path.ends_with("/mod.rs") || path == "src/lib.rs"
}

/// Files holding only tests: `*tests.rs`, or anything under a `tests/` directory.
fn is_test_file(path: &str) -> bool {
    path.ends_with("tests.rs") || path.split('/').any(|part| part == "tests")
}

fn assert_no_offenders(rule: &str, offenders: &[String]) {
    let (count, list) = (offenders.len(), offenders.join("\n"));
    assert!(offenders.is_empty(), "{rule}: {count} offender(s)\n{list}");
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_ident(word: &str) -> bool {
    let first_ok = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    first_ok && word.chars().all(is_ident_char)
}

/// A lowercase name, as modules are named (`[a-z_][a-z0-9_]*`).
fn is_module_name(word: &str) -> bool {
    is_ident(word) && !word.contains(|c: char| c.is_ascii_uppercase())
}

/// The identifier at the start of `text` (empty if there is none).
fn leading_ident(text: &str) -> &str {
    &text[..text.find(|c| !is_ident_char(c)).unwrap_or(text.len())]
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The line without leading whitespace and visibility (`pub`, `pub(crate)`, ...).
fn strip_visibility(line: &str) -> &str {
    let rest = line.trim_start();
    let Some(after) = rest.strip_prefix("pub") else {
        return rest;
    };
    match after.strip_prefix('(').and_then(|p| p.split_once(')')) {
        Some((_, item)) => item.trim_start(),
        None if after.starts_with(char::is_whitespace) => after.trim_start(),
        None => rest,
    }
}

// Rule 1: no two files import each other.

/// The text the import graph is built from: the file up to its top-level `#[cfg(test)] mod`,
/// without `//` comments and `pub(in path)` visibilities. Line numbers stay as in the file.
fn production_code(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let next_is_mod = lines
            .peek()
            .is_some_and(|l| strip_visibility(l).starts_with("mod "));
        if line.trim_end() == "#[cfg(test)]" && next_is_mod {
            break;
        }
        let mut line = line.split("//").next().unwrap_or("").to_string();
        while let Some(start) = line.find("pub(in ") {
            let Some(len) = line[start..].find(')') else {
                break;
            };
            line.replace_range(start..=start + len, "");
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is root.
fn module_path(path: &str) -> Vec<String> {
    let rel = path.trim_start_matches("src/").trim_end_matches(".rs");
    let mut segments: Vec<String> = rel.split('/').map(String::from).collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segments.pop();
    }
    segments
}

/// A `use` statement: the offsets of `use` and of its `;`, whether it is `pub`/`pub(..)`, and
/// what stands between `use` and `;`.
struct UseStatement<'a> {
    start: usize,
    end: usize,
    public: bool,
    body: &'a str,
}

fn use_statements(code: &str) -> Vec<UseStatement<'_>> {
    let mut found = Vec::new();
    for (start, _) in code.match_indices("use") {
        let is_keyword = !code[..start].ends_with(is_ident_char)
            && code[start + 3..].starts_with(char::is_whitespace);
        let Some(end) = code[start..].find(';').map(|len| start + len) else {
            break;
        };
        if is_keyword {
            let lead = code[..start].rsplit('\n').next().unwrap_or("").trim();
            let public = lead == "pub" || (lead.starts_with("pub(") && lead.ends_with(')'));
            found.push(UseStatement {
                start,
                end,
                public,
                body: &code[start + 3..end],
            });
        }
    }
    found
}

/// The paths a `use` body names, `{}` groups (nested) expanded: `a::{b, c::{d}}` gives `a::b`
/// and `a::c::d`. `as` renames, `*` and a trailing `self` are dropped.
fn expand_use(body: &str) -> Vec<Vec<String>> {
    let body = body.trim();
    let Some(open) = body.find("::{").filter(|_| body.ends_with('}')) else {
        let path = body.split(" as ").next().unwrap_or(body);
        let segments = path
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "*");
        let mut segments: Vec<String> = segments.map(String::from).collect();
        if segments.last().is_some_and(|s| s == "self") {
            segments.pop();
        }
        return vec![segments];
    };
    let (prefix, group) = (&body[..open], &body[open + 3..body.len() - 1]);
    let parts = split_top_level(group)
        .into_iter()
        .filter(|part| !part.trim().is_empty());
    parts
        .flat_map(|part| expand_use(&format!("{prefix}::{}", part.trim())))
        .collect()
}

/// The comma-separated parts of a `{}` group, leaving commas inside nested groups alone.
fn split_top_level(group: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    parts
}

/// Inline paths such as `crate::a::b` or `super::x`, each with its offset.
fn inline_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    for head in ["crate", "super", "self"] {
        for (at, _) in code.match_indices(head) {
            if code[..at].ends_with(|c| is_ident_char(c) || c == ':') {
                continue; // inside a word, or a later segment of a path already taken
            }
            let len = code[at..]
                .find(|c| !is_ident_char(c) && c != ':')
                .unwrap_or(code.len() - at);
            let segments = code[at..at + len].split("::").take_while(|s| is_ident(s));
            let segments: Vec<String> = segments.map(String::from).collect();
            if segments.len() > 1 {
                found.push((at, segments));
            }
        }
    }
    found
}

/// Which file each module path lives in, and which names each `mod.rs`/`lib.rs` re-exports
/// from which child (`pub use child::{A, B};`).
struct ModuleTree {
    files: HashMap<Vec<String>, usize>,
    reexports: Vec<HashMap<String, String>>,
}

impl ModuleTree {
    fn new(files: &[SourceFile], code: &[String]) -> Self {
        // `src/main.rs` roots the binary, not the library: its `crate::` is not `src/lib.rs`.
        let library = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.path != "src/main.rs");
        let reexports = files.iter().zip(code).map(|(f, c)| reexports(&f.path, c));
        ModuleTree {
            files: library.map(|(i, f)| (module_path(&f.path), i)).collect(),
            reexports: reexports.collect(),
        }
    }

    /// The file a `crate::`/`super::`/`self::` path lands in: that of its longest module prefix,
    /// or the child's when that prefix is a `mod.rs`/`lib.rs` re-exporting the next name.
    fn resolve(&self, here: &[String], path: &[String]) -> Option<usize> {
        let ups = path.iter().take_while(|s| *s == "super").count();
        let (mut full, rest) = match path.first()?.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (here.to_vec(), &path[1..]),
            _ if ups > 0 => (
                here[..here.len().saturating_sub(ups)].to_vec(),
                &path[ups..],
            ),
            _ => return None,
        };
        full.extend_from_slice(rest);
        let prefix = (0..=full.len())
            .rev()
            .find(|&i| self.files.contains_key(&full[..i]))?;
        let file = self.files[&full[..prefix]];
        Some(self.through_reexport(file, &full, prefix).unwrap_or(file))
    }

    fn through_reexport(&self, file: usize, full: &[String], prefix: usize) -> Option<usize> {
        let child = self.reexports[file].get(full.get(prefix)?)?;
        let mut child_path = full[..prefix].to_vec();
        child_path.push(child.clone());
        self.files.get(&child_path)?;
        let path = [&["crate".to_string()], &child_path[..], &full[prefix..]].concat();
        self.resolve(&[], &path)
    }
}

/// In a `mod.rs`/`lib.rs`: each name it re-exports with `pub use child::...`, mapped to `child`.
fn reexports(path: &str, code: &str) -> HashMap<String, String> {
    let mut names = HashMap::new();
    if !is_parent_file(path) {
        return names;
    }
    for stmt in use_statements(code).iter().filter(|s| s.public) {
        let body = stmt.body.trim();
        let body = body.strip_prefix("self::").unwrap_or(body);
        let Some((child, rest)) = body.split_once("::") else {
            continue;
        };
        let rest = rest.trim();
        let group = rest.starts_with('{') && rest.ends_with('}');
        if is_module_name(child) && (group || is_ident(rest)) {
            for name in rest.split(|c| !is_ident_char(c)).filter(|w| is_ident(w)) {
                names.insert(name.to_string(), child.to_string());
            }
        }
    }
    names
}

/// In a `mod.rs`/`lib.rs`, the child a bare `use child::...` names.
fn child_use(path: &str, body: &str) -> Option<String> {
    let (head, _) = body.trim().split_once("::")?;
    let bare = is_module_name(head) && !matches!(head, "crate" | "super" | "self" | "std" | "core");
    (is_parent_file(path) && bare).then(|| head.to_string())
}

/// Each file's dependencies: the files it uses, each with the line of its first use.
fn dependencies(files: &[SourceFile]) -> Vec<BTreeMap<usize, usize>> {
    let code: Vec<String> = files.iter().map(|f| production_code(&f.text)).collect();
    let tree = ModuleTree::new(files, &code);
    let mut all = Vec::new();
    for (me, file) in files.iter().enumerate() {
        let here = module_path(&file.path);
        let mut deps = BTreeMap::new();
        for (offset, path) in used_paths(&file.path, &code[me]) {
            if let Some(dep) = tree.resolve(&here, &path).filter(|&dep| dep != me) {
                deps.entry(dep).or_insert(line_of(&code[me], offset));
            }
        }
        all.push(deps);
    }
    all
}

/// Every module path a file names (in `use` statements and inline), each with its offset.
fn used_paths(path: &str, code: &str) -> Vec<(usize, Vec<String>)> {
    let uses = use_statements(code);
    let mut found = Vec::new();
    for stmt in &uses {
        found.extend(expand_use(stmt.body).into_iter().map(|p| (stmt.start, p)));
        if let Some(child) = child_use(path, stmt.body) {
            found.push((stmt.start, vec!["self".to_string(), child]));
        }
    }
    let in_use = |at: usize| uses.iter().any(|u| (u.start..u.end).contains(&at));
    found.extend(
        inline_paths(code)
            .into_iter()
            .filter(|(at, _)| !in_use(*at)),
    );
    found.sort_by_key(|(at, _)| *at);
    found
}

/// Two files that import each other are one concept split in two, or a layering mistake:
/// neither can be read, tested or moved alone. Dependencies go one way: move the shared piece
/// into its own file, or let the parent name what its children need.
#[test]
fn no_two_files_import_each_other() {
    let files = src_files();
    let deps = dependencies(&files);
    let mut offenders = Vec::new();
    for (a, uses) in deps.iter().enumerate() {
        for (&b, &line_a) in uses.range(a + 1..) {
            if let Some(&line_b) = deps[b].get(&a) {
                let (pa, pb) = (&files[a].path, &files[b].path);
                offenders.push(format!(
                    "{pa}:{line_a} uses {pb}, and {pb}:{line_b} uses {pa}"
                ));
            }
        }
    }
    assert_no_offenders("files that import each other", &offenders);
}

// Rule 2: public type names are unique.

/// A `pub struct|enum|trait|type` name means one thing across the crate, so a reader (and a
/// `use`) never has to ask which `Config` or `Error` is meant. `pub(crate)` names stay local.
#[test]
fn no_public_type_name_used_twice() {
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in src_files() {
        for (n, line) in file.text.lines().enumerate() {
            if let Some(name) = public_type_name(line) {
                let place = format!("{}:{}", file.path, n + 1);
                places.entry(name.to_string()).or_default().push(place);
            }
        }
    }
    let twice = places.iter().filter(|(_, at)| at.len() > 1);
    let offenders: Vec<String> = twice
        .map(|(name, at)| format!("`{name}` is declared pub at {}", at.join(", ")))
        .collect();
    assert_no_offenders("public type names used twice", &offenders);
}

fn public_type_name(line: &str) -> Option<&str> {
    let (kind, rest) = line.trim_start().strip_prefix("pub ")?.split_once(' ')?;
    let name = leading_ident(rest);
    (matches!(kind, "struct" | "enum" | "trait" | "type") && is_ident(name)).then_some(name)
}

// Rule 3: every mod.rs names its submodules.

/// A `mod.rs` (and `lib.rs`) is the map of its directory: its leading `//!` doc names every
/// submodule, so a reader learns what each file owns before opening it. Test modules are exempt.
#[test]
fn every_mod_rs_names_its_submodules() {
    let mut offenders = Vec::new();
    for file in src_files().iter().filter(|f| is_parent_file(&f.path)) {
        let doc = file.text.lines().filter_map(|l| l.strip_prefix("//!"));
        let words: Vec<&str> = doc.flat_map(|l| l.split(|c| !is_ident_char(c))).collect();
        let mut previous = "";
        for (n, line) in file.text.lines().enumerate() {
            let is_test = previous.trim() == "#[cfg(test)]";
            if let Some(name) = declared_module(line).filter(|m| !is_test && !words.contains(m)) {
                let path = &file.path;
                offenders.push(format!(
                    "{path}:{}: `mod {name};` is not named in the //! doc",
                    n + 1
                ));
            }
            if !line.trim().is_empty() {
                previous = line;
            }
        }
    }
    assert_no_offenders("submodules missing from their parent's doc", &offenders);
}

/// The name in a `mod name;` line (any visibility).
fn declared_module(line: &str) -> Option<&str> {
    let name = strip_visibility(line)
        .strip_prefix("mod ")?
        .trim_end()
        .strip_suffix(';')?;
    Some(name.trim()).filter(|name| is_ident(name))
}

// Rule 4: every file says what it owns.

/// One concept per file: the first line of every source file is a `//!` doc saying which
/// concept that is. Test-only files are exempt; their parent says what they test.
#[test]
fn every_file_says_what_it_owns() {
    let files = src_files();
    let undocumented =
        (files.iter().filter(|f| !is_test_file(&f.path))).filter(|f| !f.text.starts_with("//!"));
    let offenders: Vec<String> = undocumented
        .map(|f| format!("{}:1: does not start with a //! line", f.path))
        .collect();
    assert_no_offenders("files without a leading //! doc", &offenders);
}

// Rule 5: no long production function.

/// A function longer than a screenful hides its steps; split it into named helpers. One that
/// must stay long says why ("long because ...") in the doc comment right above it.
#[test]
fn no_long_production_function() {
    let mut offenders = Vec::new();
    for file in src_files().iter().filter(|f| !is_test_file(&f.path)) {
        for (line, name, len) in unexplained_long_functions(&file.text) {
            let path = &file.path;
            offenders.push(format!(
                "{path}:{line}: fn {name} is {len} lines (over {LONG_FUNCTION_LINES}) and its doc does not say why it is long"
            ));
        }
    }
    assert_no_offenders("long production functions", &offenders);
}

/// `(line, name, length)` of each function over the limit whose doc gives no reason,
/// skipping any item marked `#[cfg(test)]`.
fn unexplained_long_functions(text: &str) -> Vec<(usize, &str, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]" {
            i = item_end(&lines, i + 1) + 1;
            continue;
        }
        if let Some(name) = fn_name(lines[i]) {
            let len = item_end(&lines, i) - i + 1;
            if len > LONG_FUNCTION_LINES && !doc_says_why(&lines[..i]) {
                found.push((i + 1, name, len));
            }
        }
        i += 1;
    }
    found
}

/// The name of the function a line starts, if it starts one (`pub(crate) async fn name`, ...).
fn fn_name(line: &str) -> Option<&str> {
    let mut rest = strip_visibility(line);
    for qualifier in ["const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(qualifier).map_or(rest, str::trim_start);
    }
    let name = leading_ident(rest.strip_prefix("fn ")?.trim_start());
    Some(name).filter(|name| is_ident(name))
}

/// The index of the last line of the item starting at `start`: a `;` declaration, a one-line
/// body, or the first `}` back at the item's indentation after its opening `{` (rustfmt layout).
fn item_end(lines: &[&str], start: usize) -> usize {
    let last = lines.len().saturating_sub(1);
    let Some(first) = lines.get(start) else {
        return last;
    };
    let indent = &first[..first.len() - first.trim_start().len()];
    let opens = |l: &&str| l.trim_end().ends_with(';') || l.contains('{');
    let Some(open) = (start..lines.len()).find(|&j| opens(&lines[j])) else {
        return last;
    };
    let line = lines[open];
    if line.trim_end().ends_with(';') || line.matches('{').count() == line.matches('}').count() {
        return open;
    }
    let closes = |k: &usize| {
        lines[*k]
            .strip_prefix(indent)
            .is_some_and(|l| l.starts_with('}'))
    };
    (open + 1..lines.len()).find(closes).unwrap_or(last)
}

/// Whether the doc comment (up to 8 lines) right above a function says why it is long: the
/// words "long because" (not any "long", which "no longer" would also match).
fn doc_says_why(before: &[&str]) -> bool {
    let is_doc = |l: &&&str| l.trim_start().starts_with("//") || l.trim_start().starts_with("#[");
    let doc = before.iter().rev().take(8).take_while(is_doc);
    let text: Vec<String> = doc.map(|l| l.to_lowercase()).collect();
    text.iter()
        .rev()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
        .contains("long because")
}
