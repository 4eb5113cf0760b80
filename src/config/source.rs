//! Where in the file a problem is: byte spans from the TOML parser turned into `file:line:col`
//! and, for parse errors, the table and key written at that place.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::error::Invalid;

/// The text being loaded and the name it is reported under.
pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Source<'_> {
    /// `file:line:col` of a byte offset (line and column from 1; the column counts characters).
    pub(super) fn at(&self, offset: usize) -> String {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        format!("{}:{line}:{col}", self.path.display())
    }

    /// `line N` of a byte offset, for pointing at a second place in one message.
    pub(super) fn line(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let n = self.text.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        format!("line {}", n + 1)
    }

    /// An error about `what` (e.g. `zone "floor1" port`) at `span`.
    pub(super) fn invalid(
        &self,
        span: Range<usize>,
        what: impl fmt::Display,
        value: impl fmt::Display,
        rule: impl Into<String>,
    ) -> Invalid {
        Invalid::new(format!("{}: {what}", self.at(span.start)), value, rule)
    }

    /// A TOML parse or type error, with the table and key found at its place in the text.
    pub(super) fn parse_error(&self, e: &toml::de::Error) -> Invalid {
        let span = e.span().unwrap_or(0..0);
        let start = span.start.min(self.text.len());
        let what = self.key_at(start);
        // The offending text, first line only: a missing key's span is a whole table.
        let value = self
            .text
            .get(span)
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        // A type error on an inline `password` must not echo it; refuse to show any value there.
        let value = if what.ends_with(" password") {
            "***"
        } else {
            value
        };
        let field = if what.is_empty() {
            self.at(start)
        } else {
            format!("{}: {what}", self.at(start))
        };
        Invalid::new(field, value, e.message().trim().to_owned())
    }

    /// `[table] key` for the line holding `offset`: the nearest header above it and the key
    /// left of `=` on that line (empty parts are left out).
    fn key_at(&self, offset: usize) -> String {
        let mut offset = offset;
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let line = &self.text[line_start..line_end];
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            return trimmed
                .split('#')
                .next()
                .unwrap_or(trimmed)
                .trim()
                .to_owned();
        }
        let key = if trimmed.starts_with('#') {
            ""
        } else {
            line.split_once('=').map_or("", |(k, _)| k.trim())
        };
        let table = self.text[..line_start]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.split('#').next().unwrap_or(l).trim())
            .unwrap_or("");
        match (table, key) {
            ("", k) => k.to_owned(),
            (t, "") => t.to_owned(),
            (t, k) => format!("{t} {k}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_line_and_column() {
        let s = Source {
            text: "a = 1\n[t]\nkey = \"é\"x\n",
            path: Path::new("f.toml"),
        };
        assert_eq!(s.at(0), "f.toml:1:1");
        assert_eq!(s.at(6), "f.toml:2:1");
        // "é" is two bytes but one column.
        let x = s.text.find('x').unwrap();
        assert_eq!(s.at(x), "f.toml:3:10");
        assert_eq!(s.key_at(x), "[t] key");
        assert_eq!(s.key_at(7), "[t]");
        assert_eq!(s.key_at(2), "a");
    }
}
