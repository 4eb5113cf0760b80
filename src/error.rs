//! The one shape of "this input is not allowed": which field, which value, which rule.
//!
//! Every type that carries a protocol rule (an [`crate::rtp::RtpPort`], a destination, later a
//! URI or an XML object) refuses bad input at construction with an [`Invalid`], so the message a
//! user sees always names all three, e.g. `port 20481: RTP ports must be even, 20480..=32768`.

use std::fmt;
use std::time::Duration;

/// Input refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid {
    /// What was being set (`port`, `destination`, `duration` ...).
    pub field: String,
    /// The value as the user gave it.
    pub value: String,
    /// The rule it breaks, in words a user can act on.
    pub rule: String,
}

impl Invalid {
    /// Build the error from its three parts.
    pub fn new(
        field: impl Into<String>,
        value: impl fmt::Display,
        rule: impl Into<String>,
    ) -> Self {
        Invalid {
            field: field.into(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.field, self.value, self.rule)
    }
}

/// `200ms`, `5s`, `1.5s`: a duration of 0 to 600 s. A malformed one is refused as
/// `field TEXT: must be a duration like 200ms, 5s or 1.5s`.
pub fn parse_duration(field: &str, text: &str) -> Result<Duration, Invalid> {
    parse_duration_like(field, text, "200ms, 5s or 1.5s")
}

/// [`parse_duration`], naming `examples` in the rule a malformed duration breaks.
pub fn parse_duration_like(field: &str, text: &str, examples: &str) -> Result<Duration, Invalid> {
    let bad_form = || Invalid::new(field, text, format!("must be a duration like {examples}"));
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(bad_form());
    };
    let v: f64 = num.trim().parse().map_err(|_| bad_form())?;
    let secs = v * scale;
    if !(0.0..=600.0).contains(&secs) {
        return Err(Invalid::new(field, text, "must be between 0 and 600 s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_duration_names_field_value_and_rule() {
        assert_eq!(
            parse_duration("verify_grace", "1.5s"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_duration("verify_grace", "5").unwrap_err().to_string(),
            "verify_grace \"5\": must be a duration like 200ms, 5s or 1.5s"
        );
        assert_eq!(
            parse_duration_like("latency", "x", "200ms or 1.5s")
                .unwrap_err()
                .rule,
            "must be a duration like 200ms or 1.5s"
        );
        assert_eq!(
            parse_duration("d", "601s").unwrap_err().rule,
            "must be between 0 and 600 s"
        );
    }
}
