//! Phone passwords: read from an environment variable or a file, never from a command-line
//! literal, and never printed. `Debug` shows `Secret(***)`; there is no `Display`; the only way to
//! the text is [`Secret::expose`], called where the Authorization header is built.

use std::fmt;
use std::path::Path;

use crate::error::Invalid;

/// A password that does not print itself (or the mark that credentials are minted per push).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    /// A password.
    Plain(String),
    /// Credentials are minted per push, optionally bound to the phone's device name.
    Minted { device: Option<String> },
}

impl Secret {
    /// Wrap a password obtained from a safe source.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(Kind::Plain(s.into()))
    }

    /// The mark "credentials for this phone are minted per push" (`auth = "minted"`): the push
    /// client gets fresh one-time credentials from its [`Credentials`](super::Credentials) source
    /// for each attempt, and refuses to send without one.
    pub fn minted() -> Self {
        Secret(Kind::Minted { device: None })
    }

    /// [`Secret::minted`], with the credentials bound to the phone's device name (the
    /// `devicename` the phone sends to the Authentication URL, e.g. `SEP0011223344AA`).
    pub fn minted_for(device: Option<&str>) -> Self {
        Secret(Kind::Minted {
            device: device.map(str::to_owned),
        })
    }

    /// Whether this is the [`Secret::minted`] mark rather than a password.
    pub fn is_minted(&self) -> bool {
        matches!(self.0, Kind::Minted { .. })
    }

    /// The device name minted credentials are bound to, if any (`None` for a password too).
    pub fn minted_device(&self) -> Option<&str> {
        match &self.0 {
            Kind::Minted { device } => device.as_deref(),
            Kind::Plain(_) => None,
        }
    }

    /// The password held in environment variable `var`.
    pub fn from_env(var: &str) -> Result<Secret, Invalid> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            Ok(_) => Err(Invalid::new("password-env", var, "the variable is empty")),
            Err(_) => Err(Invalid::new(
                "password-env",
                var,
                "no such environment variable (or not valid UTF-8)",
            )),
        }
    }

    /// The password in the first line of a file (trailing newline and spaces dropped).
    pub fn from_file(path: &Path) -> Result<Secret, Invalid> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Invalid::new("password-file", path.display(), format!("cannot read: {e}"))
        })?;
        let line = text.lines().next().unwrap_or("").trim_end();
        if line.is_empty() {
            return Err(Invalid::new(
                "password-file",
                path.display(),
                "the file is empty",
            ));
        }
        Ok(Secret::new(line))
    }

    /// The password itself: only for building the Authorization header. Empty for
    /// [`Secret::minted`], which holds no password (check [`Secret::is_minted`] first).
    pub fn expose(&self) -> &str {
        match &self.0 {
            Kind::Plain(s) => s,
            Kind::Minted { .. } => "",
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn from_file_takes_the_first_line_and_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret  \nignored\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "s3cret");
        let e = Secret::from_file(&dir.path().join("none")).unwrap_err();
        assert!(e.to_string().contains("none"), "{e}");
        let e = Secret::from_env("ZONECAST_SURELY_UNSET_VAR").unwrap_err();
        assert!(e.to_string().contains("ZONECAST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn minted_is_a_mark_not_a_password() {
        let m = Secret::minted();
        assert!(m.is_minted());
        assert!(!Secret::new("x").is_minted());
        assert_eq!(m.expose(), "");
        assert_eq!(format!("{m:?}"), "Secret(***)");
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"***\"");
        let bound = Secret::minted_for(Some("SEP0011223344AA"));
        assert!(bound.is_minted());
        assert_eq!(bound.minted_device(), Some("SEP0011223344AA"));
        assert_eq!(m.minted_device(), None);
        assert_eq!(Secret::new("x").minted_device(), None);
        assert_eq!(format!("{bound:?}"), "Secret(***)");
    }
}
