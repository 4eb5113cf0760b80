//! Phone passwords: read from an environment variable or a file, never from a command-line
//! literal, and never printed. `Debug` shows `Secret(***)`; there is no `Display`; the only way to
//! the text is [`Secret::expose`], called where the Authorization header is built.

use std::fmt;
use std::path::Path;

use crate::error::Invalid;

/// A password that does not print itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a password obtained from a safe source.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The password held in environment variable `var`.
    pub fn from_env(var: &str) -> Result<Secret, Invalid> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret(v)),
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
        Ok(Secret(line.to_string()))
    }

    /// The password itself: only for building the Authorization header.
    pub fn expose(&self) -> &str {
        &self.0
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
}
