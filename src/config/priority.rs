//! Named priority levels (`normal < urgent < emergency` unless configured otherwise) and what a
//! page does when it meets one of equal priority. Ordering is all this module decides; taking
//! phones over is the page's business. The `[priorities]` table is read and checked here too.

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::source::Source;
use super::value::{Text, check_name};
use crate::error::Invalid;

/// What a page does when some of its phones are in a page of the same priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqualPolicy {
    /// The new page is refused for those phones (reported as busy).
    Refuse,
    /// The new page waits until the other page releases them.
    Wait,
}

impl fmt::Display for EqualPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EqualPolicy::Refuse => "refuse",
            EqualPolicy::Wait => "wait",
        })
    }
}

/// The priority levels of pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priorities {
    /// Level names, lowest first; unique, non-empty.
    pub levels: Vec<String>,
    /// The level of a page that names none; one of `levels`.
    pub default: String,
    /// Pages at these levels play at the phones' loudest volume (100); each one of `levels`.
    pub loudest: Vec<String>,
    /// What meeting a page of equal priority does.
    pub equal: EqualPolicy,
}

impl Priorities {
    /// Where `level` ranks: 0 for the lowest; `None` for a name that is not a level.
    pub fn rank(&self, level: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == level)
    }

    /// Whether pages at `level` use the loudest volume.
    pub fn is_loudest(&self, level: &str) -> bool {
        self.loudest.iter().any(|l| l == level)
    }
}

impl Default for Priorities {
    /// `normal < urgent < emergency`, default `normal`, `emergency` loudest, equal refused.
    fn default() -> Self {
        Priorities {
            levels: ["normal", "urgent", "emergency"].map(String::from).to_vec(),
            default: "normal".into(),
            loudest: vec!["emergency".into()],
            equal: EqualPolicy::Refuse,
        }
    }
}

/// `[priorities]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriorities {
    levels: Option<Spanned<Vec<Text>>>,
    default: Option<Text>,
    loudest: Option<Vec<Text>>,
    equal: Option<Text>,
}

/// `[priorities]`: the default levels when the file has no such table.
pub(super) fn check(src: &Source, r: Option<RawPriorities>) -> Result<Priorities, Invalid> {
    let Some(r) = r else {
        return Ok(Priorities::default());
    };
    let mut p = Priorities::default();
    if let Some(levels) = &r.levels {
        if levels.get_ref().is_empty() {
            return Err(src.invalid(
                levels.span(),
                "[priorities] levels",
                "[]",
                "needs at least one level, lowest first",
            ));
        }
        let mut seen = Vec::new();
        for l in levels.get_ref() {
            check_name(src, l, "[priorities] levels")?;
            if seen.contains(l.get_ref()) {
                return Err(src.invalid(
                    l.span(),
                    "[priorities] levels",
                    l.get_ref(),
                    "is listed twice; level names must be unique",
                ));
            }
            seen.push(l.get_ref().clone());
        }
        p.levels = seen;
        // The default `loudest` names `emergency`, a default level; custom levels start with none.
        p.loudest.clear();
        p.default = p.levels[0].clone();
    }
    let known = |v: &Text, what: &str, p: &Priorities| -> Result<String, Invalid> {
        if p.rank(v.get_ref()).is_none() {
            return Err(src.invalid(
                v.span(),
                what,
                v.get_ref(),
                format!("is not one of the levels: {}", p.levels.join(", ")),
            ));
        }
        Ok(v.get_ref().clone())
    };
    if let Some(v) = &r.default {
        p.default = known(v, "[priorities] default", &p)?;
    }
    if let Some(list) = &r.loudest {
        p.loudest = list
            .iter()
            .map(|v| known(v, "[priorities] loudest", &p))
            .collect::<Result<_, _>>()?;
    }
    if let Some(v) = &r.equal {
        p.equal = match v.get_ref().as_str() {
            "refuse" => EqualPolicy::Refuse,
            "wait" => EqualPolicy::Wait,
            other => {
                return Err(src.invalid(
                    v.span(),
                    "[priorities] equal",
                    other,
                    "must be \"refuse\" or \"wait\"",
                ));
            }
        };
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rank_lowest_first() {
        let p = Priorities::default();
        assert_eq!(p.rank("normal"), Some(0));
        assert_eq!(p.rank("emergency"), Some(2));
        assert!(p.rank("urgent") < p.rank("emergency"));
        assert_eq!(p.rank("Emergency"), None);
        assert!(p.is_loudest("emergency"));
        assert!(!p.is_loudest("urgent"));
        assert_eq!(p.equal.to_string(), "refuse");
    }
}
