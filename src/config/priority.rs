//! Named priority levels (`normal < urgent < emergency` unless configured otherwise) and what a
//! page does when it meets one of equal priority. Ordering is all this module decides; taking
//! phones over is the page's business.

use std::fmt;

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
