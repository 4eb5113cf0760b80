//! Text-to-speech: the `say:TEXT` source, spoken by espeak-ng (Debian package `espeak-ng`).
//!
//! espeak-ng is GPL, so it stays outside our binary: it runs as a separate process, started with
//! explicit arguments (never through a shell), the text on its standard input, and it is bounded
//! from outside ([`RUN_LIMIT`], [`MAX_WAV_BYTES`]). Its 22,050 Hz WAV is resampled to the
//! phones' 8 kHz with [`crate::audio::resample()`]. Speech is cached in memory by (text, voice),
//! so a bell that says the same words every morning runs espeak-ng once per process.
//!
//! The text rule ([`text_rule`]): 1..=[`MAX_SAY_CHARS`] characters, not only spaces, none a
//! control character or one XML 1.0 cannot carry (the text is also the page's default banner,
//! [`default_banner`]). The voice ([`Voice`]): an espeak-ng language (`en`, `en-us`, `de`), an
//! optional variant (`f3`, `m2`) and a rate in words per minute ([`RATES`]).

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::audio::{self, SAMPLE_RATE};
use crate::error::Invalid;
use crate::g711::Law;
use crate::rtp::pacer::{EncodedClip, PayloadSource};

/// The program run, looked up on `PATH`.
pub const PROGRAM: &str = "espeak-ng";
/// Longest text one `say:` speaks (about 40 s at the default rate).
pub const MAX_SAY_CHARS: usize = 500;
/// Speaking rates espeak-ng honours, words per minute (slower ones it raises to 80).
pub const RATES: std::ops::RangeInclusive<u16> = 80..=450;
/// Longest espeak-ng may run for one text before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);
/// Most WAV bytes read from espeak-ng: 500 characters at the slowest rate are about 9 MB.
pub const MAX_WAV_BYTES: usize = 16 << 20;
/// Most 8 kHz samples the cache keeps (about 40 minutes of speech, 40 MB); the oldest go first.
const CACHE_SAMPLES: usize = 20_000_000;
/// What the error says when espeak-ng cannot be started.
pub const NOT_INSTALLED: &str = "espeak-ng is not installed (Debian package espeak-ng)";

/// How speech sounds: espeak-ng's `-v LANGUAGE+VARIANT -s RATE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Voice {
    /// espeak-ng language, e.g. `en`, `en-us`, `de` (`espeak-ng --voices` lists them).
    pub language: String,
    /// Voice variant, e.g. `f3`, `m2` (`espeak-ng --voices=variant`); None: the language's own.
    pub variant: Option<String>,
    /// Words per minute, within [`RATES`].
    pub rate: u16,
}

impl Default for Voice {
    /// English at 150 words per minute: a little slower than espeak-ng's 175, for a loudspeaker.
    fn default() -> Self {
        Voice {
            language: "en".into(),
            variant: None,
            rate: 150,
        }
    }
}

impl Voice {
    /// The `-v` argument: `LANGUAGE` or `LANGUAGE+VARIANT`.
    fn arg(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}+{v}", self.language),
            None => self.language.clone(),
        }
    }
}

/// The voice one message asks for (the API's `voice` object): each part given replaces the
/// configured voice's, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceChange {
    /// espeak-ng language ([`language_rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Voice variant ([`variant_rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Words per minute, within [`RATES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u16>,
}

impl From<&Voice> for VoiceChange {
    /// Every part of `v`: applied to any voice, it gives `v`.
    fn from(v: &Voice) -> VoiceChange {
        VoiceChange {
            language: Some(v.language.clone()),
            variant: v.variant.clone(),
            rate: Some(v.rate),
        }
    }
}

impl VoiceChange {
    /// `Ok` when every part given keeps its rule; the error names the part and the rule.
    pub fn check(&self) -> Result<(), Invalid> {
        if let Some(l) = &self.language {
            language_rule(l).map_err(|r| Invalid::new("voice.language", l, r))?;
        }
        if let Some(v) = &self.variant {
            variant_rule(v).map_err(|r| Invalid::new("voice.variant", v, r))?;
        }
        if let Some(r) = self.rate
            && !RATES.contains(&r)
        {
            return Err(Invalid::new(
                "voice.rate",
                r,
                format!("words per minute, {}..={}", RATES.start(), RATES.end()),
            ));
        }
        Ok(())
    }

    /// `base` with the parts given replaced.
    pub fn apply(&self, base: &Voice) -> Voice {
        Voice {
            language: self
                .language
                .clone()
                .unwrap_or_else(|| base.language.clone()),
            variant: self.variant.clone().or_else(|| base.variant.clone()),
            rate: self.rate.unwrap_or(base.rate),
        }
    }
}

/// `Ok` when `s` can be an espeak-ng language: 1..=32 of `a-z 0-9 -`, starting with a letter.
pub fn language_rule(s: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    ok.then_some(()).ok_or_else(|| {
        "a language is 1..=32 of a-z, 0-9 and '-', starting with a letter (e.g. en, en-us, de)"
            .into()
    })
}

/// `Ok` when `s` can be an espeak-ng voice variant: 1..=32 of `A-Z a-z 0-9 _ -`.
pub fn variant_rule(s: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some(()).ok_or_else(|| {
        "a voice is 1..=32 of A-Z, a-z, 0-9, '_' and '-' (an espeak-ng variant, e.g. f3, m2)".into()
    })
}

/// `Ok` when `text` can be spoken: 1..=[`MAX_SAY_CHARS`] characters, not only spaces, none a
/// control character or one XML 1.0 cannot carry. The error is the rule it breaks.
pub fn text_rule(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if n == 0 || n > MAX_SAY_CHARS || text.trim().is_empty() {
        return Err(format!(
            "say:TEXT speaks 1..={MAX_SAY_CHARS} characters, not only spaces; this is {n}"
        ));
    }
    match text
        .chars()
        .find(|&c| c.is_control() || !crate::xsi::xml::is_xml_char(c))
    {
        Some(c) => Err(format!(
            "say:TEXT cannot speak the character U+{:04X} (control characters are refused)",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// The banner a page speaking `text` shows when none is given: the text, cut to `max`
/// characters with `…` when longer.
pub fn default_banner(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// Key of the cache: the text, the voice speaking it, and the rate it was resampled to.
type Key = (String, Voice, u32);

/// Speech already made, oldest first, bounded by [`CACHE_SAMPLES`].
#[derive(Default)]
struct Entries {
    map: HashMap<Key, Arc<[i16]>>,
    order: VecDeque<Key>,
    samples: usize,
}

impl Entries {
    fn insert(&mut self, key: Key, speech: Arc<[i16]>) {
        self.samples += speech.len();
        if self.map.insert(key.clone(), speech).is_none() {
            self.order.push_back(key);
        }
        while self.samples > CACHE_SAMPLES && self.order.len() > 1 {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(s) = self.map.remove(&old) {
                self.samples -= s.len();
            }
        }
    }
}

/// Speech made by one program, cached by (text, voice), counting how often the program ran.
pub struct SpeechCache {
    program: String,
    entries: Mutex<Entries>,
    spawns: AtomicU64,
}

/// The process's cache, running [`PROGRAM`].
static SHARED: LazyLock<SpeechCache> = LazyLock::new(|| SpeechCache::new(PROGRAM));

/// The process's cache (what `say:` sources use).
pub fn shared() -> &'static SpeechCache {
    &SHARED
}

impl SpeechCache {
    /// An empty cache running `program` (a name on `PATH` or a path).
    pub fn new(program: &str) -> Self {
        SpeechCache {
            program: program.to_owned(),
            entries: Mutex::new(Entries::default()),
            spawns: AtomicU64::new(0),
        }
    }

    /// How many times the program was started.
    pub fn spawns(&self) -> u64 {
        self.spawns.load(Ordering::Relaxed)
    }

    /// `text` spoken by `voice`, 8 kHz mono: from the cache, or made now.
    pub fn speak(&self, text: &str, voice: &Voice) -> Result<Arc<[i16]>, Invalid> {
        self.speak_at(text, voice, SAMPLE_RATE)
    }

    /// `text` spoken by `voice`, mono at `rate` Hz (16 kHz for a G.722 stream): from the
    /// cache, or made now.
    pub fn speak_at(&self, text: &str, voice: &Voice, rate: u32) -> Result<Arc<[i16]>, Invalid> {
        let text = text.trim();
        text_rule(text).map_err(|rule| Invalid::new("say", text, rule))?;
        let key = (text.to_owned(), voice.clone(), rate);
        if let Some(s) = self.lock().map.get(&key) {
            return Ok(s.clone());
        }
        // espeak-ng takes a fraction of a second: on a server's worker thread, tell tokio so
        // its other tasks (pages' pushes, the API) move to another worker meanwhile.
        let wav = off_the_runtime(|| self.run(&["--stdout", "--stdin"], voice, text))?;
        let speech: Arc<[i16]> = to_rate(&wav, rate)
            .map_err(|e| Invalid::new("say", text, e))?
            .into();
        self.lock().insert(key, speech.clone());
        Ok(speech)
    }

    /// `Ok` when the program starts and knows `voice`'s language (run once, speaking nothing).
    pub fn check(&self, voice: &Voice) -> Result<(), String> {
        self.run(&["-q"], voice, "").map(drop).map_err(|e| e.rule)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The entries stay consistent whatever panicked while holding them.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run the program with `args`, the voice and rate, `text` on its standard input; its
    /// standard output, bounded.
    fn run(&self, args: &[&str], voice: &Voice, text: &str) -> Result<Vec<u8>, Invalid> {
        let fail = |rule: String| Invalid::new("say", text, rule);
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .args(["-v", &voice.arg(), "-s", &voice.rate.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.spawns.fetch_add(1, Ordering::Relaxed);
        let mut child = cmd.spawn().map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                NOT_INSTALLED.to_owned()
            } else {
                format!("cannot start {}: {e}", self.program)
            })
        })?;
        let (status, out, err) = bounded(&mut child, text, RUN_LIMIT).map_err(fail)?;
        if !status.success() {
            let why = String::from_utf8_lossy(&err);
            let why = why.trim().chars().take(200).collect::<String>();
            return Err(fail(format!(
                "{} failed ({status}) with voice {}: {why}",
                self.program,
                voice.arg()
            )));
        }
        Ok(out)
    }
}

/// Feed `text` to `child`, read its output (at most [`MAX_WAV_BYTES`]) and its errors, and
/// wait for it at most `limit` ([`RUN_LIMIT`]), killing it when it runs over either.
fn bounded(
    child: &mut Child,
    text: &str,
    limit: Duration,
) -> Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>), String> {
    let reader = |pipe: Option<Box<dyn Read + Send>>, max: usize| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(max as u64 + 1).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _), MAX_WAV_BYTES);
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _), 4096);
    if let Some(mut stdin) = child.stdin.take() {
        // The text is at most 2 KB, less than a pipe holds; a program that quit early is
        // reported by its exit status below.
        let _ = stdin.write_all(text.as_bytes());
    }
    let deadline = Instant::now() + limit;
    let mut out = Some(out);
    let mut bytes = None;
    let stop = |child: &mut Child, why: String| {
        let _ = child.kill();
        let _ = child.wait();
        Err(why)
    };
    let status = loop {
        if let Some(h) = out.take_if(|h| h.is_finished()) {
            bytes = Some(h.join().map_err(|_| "reading espeak-ng's output failed")?);
        }
        if bytes.as_ref().is_some_and(|b| b.len() > MAX_WAV_BYTES) {
            return stop(
                child,
                format!("espeak-ng wrote over {} MB of audio", MAX_WAV_BYTES >> 20),
            );
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() >= deadline {
            return stop(
                child,
                format!("espeak-ng ran over {} s", limit.as_secs_f64()),
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let bytes = match (bytes, out) {
        (Some(b), _) => b,
        (None, Some(h)) => h.join().map_err(|_| "reading espeak-ng's output failed")?,
        (None, None) => Vec::new(),
    };
    if bytes.len() > MAX_WAV_BYTES {
        return Err(format!(
            "espeak-ng wrote over {} MB of audio",
            MAX_WAV_BYTES >> 20
        ));
    }
    let err = err.join().unwrap_or_default();
    Ok((status, bytes, err))
}

/// Run `f` (blocking), first handing the current worker's other tasks to the rest of tokio's
/// pool when called on a multi-thread runtime's worker; elsewhere (a plain thread, a
/// current-thread runtime) just run it.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// espeak-ng's WAV (mono 16-bit, its header claiming an unknown length) as samples at `rate`.
fn to_rate(wav: &[u8], rate: u32) -> Result<Vec<i16>, String> {
    let reader = hound::WavReader::new(std::io::Cursor::new(wav))
        .map_err(|e| format!("espeak-ng wrote no WAV: {e}"))?;
    let spec = reader.spec();
    if spec.channels != 1 || spec.bits_per_sample != 16 {
        return Err(format!(
            "espeak-ng wrote {} channels of {} bits, not mono 16-bit",
            spec.channels, spec.bits_per_sample
        ));
    }
    // The header's length is a placeholder: read until the data ends.
    let samples: Vec<f32> = reader
        .into_samples::<i16>()
        .map_while(Result::ok)
        .map(|s| f32::from(s) / 32768.0)
        .collect();
    if samples.is_empty() {
        return Err("espeak-ng spoke nothing".into());
    }
    let out = audio::resample(&samples, spec.sample_rate, rate).map_err(|e| e.to_string())?;
    Ok(out
        .iter()
        .map(|x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// The payload source of `text` spoken by `voice` (through the process's cache).
pub fn say_source(text: &str, voice: &Voice, law: Law) -> Result<Box<dyn PayloadSource>, Invalid> {
    let speech = shared().speak(text, voice)?;
    Ok(Box::new(EncodedClip::new(&speech, law, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(samples: &[i16]) -> f64 {
        samples.len() as f64 / f64::from(SAMPLE_RATE)
    }

    #[test]
    fn text_is_one_to_500_printable_characters() {
        for ok in [
            "Fire drill in building B",
            "a",
            "Évacuation: 3ᵉ étage, maintenant",
        ] {
            assert!(text_rule(ok).is_ok(), "{ok}");
        }
        assert!(text_rule(&"x".repeat(MAX_SAY_CHARS)).is_ok());
        for bad in [
            String::new(),
            "   ".into(),
            "x".repeat(MAX_SAY_CHARS + 1),
            "bell\u{7}".into(),
            "two\nlines".into(),
            "esc\u{1b}[2J".into(),
            "nul\u{0}".into(),
            "\u{FFFE}".into(),
        ] {
            assert!(text_rule(&bad).is_err(), "{bad:?}");
        }
        assert!(text_rule("a\tb").unwrap_err().contains("U+0009"));
    }

    #[test]
    fn voices_are_plain_names_and_rates_espeak_honours() {
        for ok in ["en", "en-us", "de", "cmn", "en-gb-x-rp"] {
            assert!(language_rule(ok).is_ok(), "{ok}");
        }
        for bad in ["", "EN", "-en", "en us", "en+f3", "../x", &"a".repeat(33)] {
            assert!(language_rule(bad).is_err(), "{bad:?}");
        }
        for ok in ["f3", "m2", "Annie", "anika_robot", "klatt-2"] {
            assert!(variant_rule(ok).is_ok(), "{ok}");
        }
        // A variant is always joined to the language in one argument (`en+f3`), so even one
        // starting with '-' is never an option.
        for bad in ["", "Mr serious", "f3;rm", "a/b", "f3+m2"] {
            assert!(variant_rule(bad).is_err(), "{bad:?}");
        }
        let v = Voice {
            language: "en-us".into(),
            variant: Some("f3".into()),
            rate: 120,
        };
        assert_eq!(v.arg(), "en-us+f3");
        assert!(RATES.contains(&Voice::default().rate));
    }

    #[test]
    fn the_default_banner_is_the_text_cut_to_the_banner() {
        assert_eq!(default_banner(" Fire drill ", 32), "Fire drill");
        let long = "Fire drill in building B: leave by the east stairs";
        let b = default_banner(long, 32);
        assert_eq!(b.chars().count(), 32, "{b}");
        assert!(
            b.starts_with("Fire drill in building B") && b.ends_with('…'),
            "{b}"
        );
        assert_eq!(default_banner(&"é".repeat(40), 32).chars().count(), 32);
    }

    #[test]
    fn speech_is_made_once_per_text_and_voice() {
        let cache = SpeechCache::new(PROGRAM);
        let voice = Voice::default();
        let first = cache.speak("Fire drill in building B", &voice).unwrap();
        assert_eq!(cache.spawns(), 1);
        // About 1.5 s of speech at 150 words per minute, at 8 kHz, and not silence.
        let secs = seconds(&first);
        assert!((0.8..4.0).contains(&secs), "{secs} s");
        let peak = first.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 3000, "peak {peak}");
        let again = cache.speak("  Fire drill in building B ", &voice).unwrap();
        assert_eq!(
            cache.spawns(),
            1,
            "the second preparation ran espeak-ng again"
        );
        assert!(Arc::ptr_eq(&first, &again));
        let slow = Voice {
            rate: 80,
            ..voice.clone()
        };
        let slower = cache.speak("Fire drill in building B", &slow).unwrap();
        assert_eq!(cache.spawns(), 2, "another rate is another key");
        assert!(
            seconds(&slower) > secs * 1.4,
            "{} vs {secs}",
            seconds(&slower)
        );
        let bad = cache.speak("bell\u{7}", &voice).unwrap_err();
        assert_eq!((bad.field.as_str(), cache.spawns()), ("say", 2), "{bad}");
    }

    #[test]
    fn a_missing_program_names_the_package() {
        let cache = SpeechCache::new("/nonexistent/zonecast-test/espeak-ng");
        let e = cache.speak("hello", &Voice::default()).unwrap_err();
        assert_eq!(e.rule, NOT_INSTALLED);
        assert!(e.rule.contains("Debian package espeak-ng"));
        assert_eq!(cache.check(&Voice::default()).unwrap_err(), NOT_INSTALLED);
    }

    #[test]
    fn an_unknown_language_is_refused_by_the_check() {
        let cache = SpeechCache::new(PROGRAM);
        assert!(cache.check(&Voice::default()).is_ok());
        let e = cache
            .check(&Voice {
                language: "zz-nope".into(),
                ..Voice::default()
            })
            .unwrap_err();
        assert!(e.contains("zz-nope"), "{e}");
    }

    #[test]
    fn a_program_that_writes_or_runs_too_long_is_stopped() {
        let spawn = |prog: &str, arg: &str| {
            Command::new(prog)
                .arg(arg)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let t = Instant::now();
        let e = bounded(&mut spawn("yes", "y"), "", RUN_LIMIT).unwrap_err();
        assert!(e.contains("MB of audio"), "{e}");
        let e = bounded(&mut spawn("sleep", "20"), "", Duration::from_millis(200)).unwrap_err();
        assert!(e.contains("ran over"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert!(to_rate(b"not a wav", SAMPLE_RATE).is_err());
    }

    #[test]
    fn the_cache_drops_its_oldest_speech_when_full() {
        let mut e = Entries::default();
        let big: Arc<[i16]> = vec![0i16; CACHE_SAMPLES / 2 + 1].into();
        for text in ["a", "b", "c"] {
            e.insert((text.into(), Voice::default(), SAMPLE_RATE), big.clone());
        }
        assert!(e.samples <= CACHE_SAMPLES);
        assert!(
            !e.map
                .contains_key(&("a".to_owned(), Voice::default(), SAMPLE_RATE))
        );
        assert!(
            e.map
                .contains_key(&("c".to_owned(), Voice::default(), SAMPLE_RATE))
        );
    }

    #[test]
    fn a_voice_change_replaces_the_parts_it_gives_and_checks_them() {
        let base = Voice {
            language: "de".into(),
            variant: Some("f3".into()),
            rate: 150,
        };
        let faster = VoiceChange {
            rate: Some(200),
            ..VoiceChange::default()
        };
        assert!(faster.check().is_ok());
        assert_eq!(
            faster.apply(&base),
            Voice {
                rate: 200,
                ..base.clone()
            }
        );
        let english = VoiceChange {
            language: Some("en-us".into()),
            ..VoiceChange::default()
        };
        assert_eq!(english.apply(&base).language, "en-us");
        assert_eq!(english.apply(&base).variant.as_deref(), Some("f3"));
        for bad in [
            VoiceChange {
                rate: Some(20),
                ..VoiceChange::default()
            },
            VoiceChange {
                language: Some("../x".into()),
                ..VoiceChange::default()
            },
            VoiceChange {
                variant: Some("a b".into()),
                ..VoiceChange::default()
            },
        ] {
            let e = bad.check().unwrap_err();
            assert!(e.field.starts_with("voice."), "{e}");
        }
    }

    #[test]
    fn blocking_work_runs_on_any_runtime_and_outside_one() {
        // block_in_place panics on a current-thread runtime: only a multi-thread worker uses it.
        assert_eq!(off_the_runtime(|| 1), 1);
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(current.block_on(async { off_the_runtime(|| 2) }), 2);
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let got =
            multi.block_on(async { tokio::spawn(async { off_the_runtime(|| 3) }).await.unwrap() });
        assert_eq!(got, 3);
    }
}
