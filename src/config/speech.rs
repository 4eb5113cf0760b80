//! The `[speech]` table (the voice `say:TEXT` sources speak in: `language`, `voice`, `rate`),
//! the same three keys on a `[[bell]]` or `[[message]]` overriding it for that one, and the
//! check that espeak-ng runs when a bell or a message speaks: a missing program is an error at
//! load, naming the key and the Debian package, not a silent bell at 08:00.

use serde::Deserialize;

use super::source::Source;
use super::value::{Int, Text};
use crate::error::Invalid;
use crate::source::speech::{self, RATES, Voice};

/// `[speech]`, or a bell's or message's own `language`, `voice` and `rate`, as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpeech {
    language: Option<Text>,
    voice: Option<Text>,
    rate: Option<Int>,
}

impl RawSpeech {
    /// The three keys of a bell or message, taken from its own table.
    pub(super) fn of(language: Option<Text>, voice: Option<Text>, rate: Option<Int>) -> Self {
        RawSpeech {
            language,
            voice,
            rate,
        }
    }
}

/// `base` with the keys `raw` sets; `what(key)` names them in errors (`[speech] rate`,
/// `bell "noon" rate`).
pub(super) fn voice(
    src: &Source,
    raw: &RawSpeech,
    base: &Voice,
    what: &dyn Fn(&str) -> String,
) -> Result<Voice, Invalid> {
    let mut v = base.clone();
    if let Some(l) = &raw.language {
        speech::language_rule(l.get_ref())
            .map_err(|rule| src.invalid(l.span(), what("language"), l.get_ref(), rule))?;
        l.get_ref().clone_into(&mut v.language);
    }
    if let Some(s) = &raw.voice {
        speech::variant_rule(s.get_ref())
            .map_err(|rule| src.invalid(s.span(), what("voice"), s.get_ref(), rule))?;
        v.variant = Some(s.get_ref().clone());
    }
    if let Some(r) = &raw.rate {
        v.rate = u16::try_from(*r.get_ref())
            .ok()
            .filter(|n| RATES.contains(n))
            .ok_or_else(|| {
                src.invalid(
                    r.span(),
                    what("rate"),
                    r.get_ref(),
                    format!(
                        "is words per minute, {}..={} (espeak-ng's range)",
                        RATES.start(),
                        RATES.end()
                    ),
                )
            })?;
    }
    Ok(v)
}

/// When `source` (a bell's or message's, at `at`) speaks, espeak-ng must run with `voice`.
pub(super) fn check_speaks(
    src: &Source,
    source: &Text,
    voice: &Voice,
    what: &dyn Fn(&str) -> String,
) -> Result<(), Invalid> {
    if crate::source::said(source.get_ref()).is_none() {
        return Ok(());
    }
    speech::shared()
        .check(voice)
        .map_err(|rule| src.invalid(source.span(), what("source"), source.get_ref(), rule))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::source::Voice;

    const HEAD: &str = "[[phone]]\nname = \"p1\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\n\
                        user = \"u\"\npassword_env = \"ZC_PW\"\n\n[zone.all]\nmembers = [\"p1\"]\n\n\
                        [schedule]\ntimezone = \"Europe/Berlin\"\n\n";

    fn load(tail: &str) -> Result<Config, crate::error::Invalid> {
        Config::from_toml(&format!("{HEAD}{tail}"), "/etc/zonecast/zonecast.toml")
    }

    const BELL: &str = "[[bell]]\nname = \"drill\"\ncron = \"0 8 * * 1-5\"\nzones = [\"all\"]\n\
                        source = \"chime,say:Fire drill, building B\"\n";

    #[test]
    fn speech_defaults_and_overrides_per_bell_and_message() {
        let c = load(BELL).unwrap();
        assert_eq!(c.speech, Voice::default());
        assert_eq!(c.schedule.unwrap().bells[0].voice, Voice::default());
        let c = load(&format!(
            "[speech]\nlanguage = \"en-us\"\nvoice = \"f3\"\nrate = 120\n\n{BELL}rate = 200\n\n\
             [[message]]\nname = \"m\"\nsource = \"say:Lunch is served\"\nzones = [\"all\"]\n\
             language = \"de\"\n"
        ))
        .unwrap();
        let base = Voice {
            language: "en-us".into(),
            variant: Some("f3".into()),
            rate: 120,
        };
        assert_eq!(c.speech, base);
        let bell = &c.schedule.as_ref().unwrap().bells[0];
        assert_eq!(bell.voice.rate, 200);
        assert_eq!(bell.voice.language, "en-us");
        assert_eq!(bell.source, "chime,say:Fire drill, building B");
        let m = c.services.message("m").unwrap();
        assert_eq!((m.voice.language.as_str(), m.voice.rate), ("de", 120));
    }

    #[test]
    fn bad_voices_rates_and_texts_are_refused_at_their_key() {
        for (tail, key, says) in [
            ("[speech]\nrate = 20\n", "[speech] rate", "80..=450"),
            (
                "[speech]\nrate = 99999999999\n",
                "[speech] rate",
                "80..=450",
            ),
            (
                "[speech]\nlanguage = \"en us\"\n",
                "[speech] language",
                "a-z",
            ),
            ("[speech]\nvoice = \"f3;rm -rf\"\n", "[speech] voice", "A-Z"),
            ("[speech]\npitch = 3\n", "pitch", "unknown field"),
            (
                &format!("{BELL}language = \"zz-nope\"\n"),
                "bell \"drill\" source",
                "voice zz-nope",
            ),
            (
                "[[bell]]\nname = \"b\"\ncron = \"0 8 * * *\"\nzones = [\"all\"]\nsource = \"say:\"\n",
                "bell \"b\" source",
                "1..=500",
            ),
        ] {
            let e = load(tail).err().unwrap_or_else(|| panic!("{tail} loaded"));
            assert!(e.field.contains(key), "want {key:?} in {e}");
            assert!(e.to_string().contains(says), "want {says:?} in {e}");
        }
    }
}
