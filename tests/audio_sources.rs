//! Loading real files through `Clip::load`: every WAV flavour, resampling with anti-aliasing,
//! FLAC / MP3 / Ogg Vorbis made by ffmpeg, raw G.711, bad files, the bundled sounds, and the
//! microphone on a machine that may have no sound card.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use zonecast::audio::mic::{Mic, list_input_devices};
use zonecast::audio::{AudioError, Chime, Clip, FRAME_SAMPLES, Source, render};
use zonecast::g711::Law;

const TAU: f64 = std::f64::consts::TAU;

/// Amplitude of the `freq` component (Hann-windowed Goertzel): a sine of amplitude A reads ≈ A.
fn tone_amplitude(x: &[f64], rate: f64, freq: f64) -> f64 {
    let n = x.len();
    let coeff = 2.0 * (TAU * freq / rate).cos();
    let (mut s1, mut s2, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (TAU * i as f64 / (n - 1) as f64).cos();
        wsum += w;
        let s = v * w + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0).sqrt() / wsum
}

/// Strongest frequency in 10 Hz steps, 50 Hz to 3950 Hz.
fn dominant_frequency(x: &[f64]) -> f64 {
    (5..=395)
        .map(|k| f64::from(k) * 10.0)
        .map(|f| (f, tone_amplitude(x, 8000.0, f)))
        .fold((0.0, 0.0), |best, c| if c.1 > best.1 { c } else { best })
        .0
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// The clip's samples with `skip` trimmed from each end (edges carry start-up transients).
fn middle(clip: &Clip, skip: usize) -> Vec<f64> {
    let s = clip.samples();
    assert!(s.len() > 2 * skip, "clip too short: {}", s.len());
    s[skip..s.len() - skip]
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

fn sine(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<f64> {
    let n = (secs * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| amp * (TAU * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

/// Sample encoding of a test WAV: integer of some bits, or 32-bit float.
#[derive(Clone, Copy, Debug)]
enum Fmt {
    Int(u16),
    Float,
}

/// Write one Vec per channel, interleaved, as a WAV in the given format.
fn write_wav(path: &Path, rate: u32, fmt: Fmt, channels: &[Vec<f64>]) {
    let (bits_per_sample, sample_format) = match fmt {
        Fmt::Int(b) => (b, hound::SampleFormat::Int),
        Fmt::Float => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample,
        sample_format,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let full = f64::from(1u32 << (bits_per_sample - 1));
    for i in 0..channels[0].len() {
        for ch in channels {
            let int = (ch[i] * full).round().clamp(-full, full - 1.0);
            match fmt {
                Fmt::Float => w.write_sample(ch[i] as f32),
                Fmt::Int(8) => w.write_sample(int as i8),
                Fmt::Int(16) => w.write_sample(int as i16),
                Fmt::Int(_) => w.write_sample(int as i32),
            }
            .expect("write sample");
        }
    }
    w.finalize().expect("finalize");
}

fn assert_one_khz(clip: &Clip, secs: f64, amp: f64, what: &str) {
    let want = Duration::from_secs_f64(secs);
    let got = clip.duration();
    let off = got.abs_diff(want);
    assert!(
        off <= Duration::from_millis(30),
        "{what}: duration {got:?}, want {want:?}"
    );
    let m = middle(clip, 400);
    assert_eq!(dominant_frequency(&m), 1000.0, "{what}");
    let level = db(tone_amplitude(&m, 8000.0, 1000.0)) - db(amp * 32768.0);
    assert!(level.abs() < 0.5, "{what}: level off by {level:.2} dB");
}

#[test]
fn wav_every_bit_depth_and_float() {
    let dir = tempfile::tempdir().expect("tempdir");
    let formats = [
        Fmt::Int(8),
        Fmt::Int(16),
        Fmt::Int(24),
        Fmt::Int(32),
        Fmt::Float,
    ];
    for fmt in formats {
        let path = dir.path().join(format!("tone-{fmt:?}.wav"));
        write_wav(&path, 8000, fmt, &[sine(1000.0, 8000, 1.0, 0.5)]);
        let clip = Clip::load(&path).expect("load");
        assert_eq!(clip.samples().len(), 8000, "{fmt:?}");
        assert_one_khz(&clip, 1.0, 0.5, &format!("{fmt:?}"));
    }
}

#[test]
fn wav_16_bit_at_8khz_is_bit_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("exact.wav");
    let x: Vec<f64> = (0..4000)
        .map(|i| f64::from((i * 37 % 65536) as u16 as i16) / 32768.0)
        .collect();
    write_wav(&path, 8000, Fmt::Int(16), std::slice::from_ref(&x));
    let clip = Clip::load(&path).expect("load");
    let want: Vec<i16> = x.iter().map(|v| (v * 32768.0) as i16).collect();
    assert_eq!(clip.samples(), &want[..]);
}

#[test]
fn stereo_is_mixed_down_by_averaging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let left = sine(1000.0, 8000, 1.0, 0.5);
    let path = dir.path().join("left-only.wav");
    write_wav(&path, 8000, Fmt::Int(16), &[left.clone(), vec![0.0; 8000]]);
    // Half of a 0.5 tone: 0.25.
    assert_one_khz(&Clip::load(&path).expect("load"), 1.0, 0.25, "left only");

    let inverted: Vec<f64> = left.iter().map(|v| -v).collect();
    let path = dir.path().join("cancel.wav");
    write_wav(&path, 8000, Fmt::Int(16), &[left, inverted]);
    let clip = Clip::load(&path).expect("load");
    assert!(
        clip.samples().iter().all(|&s| s.abs() <= 1),
        "opposite channels cancel"
    );

    // Four channels, at 48 kHz, as float.
    let path = dir.path().join("quad.wav");
    let ch = sine(1000.0, 48_000, 1.0, 0.5);
    write_wav(
        &path,
        48_000,
        Fmt::Float,
        &[ch.clone(), ch.clone(), ch.clone(), ch],
    );
    assert_one_khz(&Clip::load(&path).expect("load"), 1.0, 0.5, "quad 48k");
}

#[test]
fn wav_44k1_and_48k_resample_to_8k() {
    let dir = tempfile::tempdir().expect("tempdir");
    for rate in [44_100, 48_000] {
        let path = dir.path().join(format!("tone-{rate}.wav"));
        write_wav(&path, rate, Fmt::Int(16), &[sine(1000.0, rate, 1.5, 0.5)]);
        let clip = Clip::load(&path).expect("load");
        assert_eq!(clip.samples().len(), 12_000, "{rate}");
        assert_one_khz(&clip, 1.5, 0.5, &format!("{rate} Hz"));
    }
}

#[test]
fn six_khz_in_44k1_wav_is_60_db_below_one_khz_at_8k() {
    // The anti-aliasing check: the 6 kHz tone must not fold back to 2 kHz (or anywhere).
    let dir = tempfile::tempdir().expect("tempdir");
    let tone_path = dir.path().join("1k.wav");
    let whistle_path = dir.path().join("6k.wav");
    write_wav(
        &tone_path,
        44_100,
        Fmt::Float,
        &[sine(1000.0, 44_100, 1.0, 0.5)],
    );
    write_wav(
        &whistle_path,
        44_100,
        Fmt::Float,
        &[sine(6000.0, 44_100, 1.0, 0.5)],
    );
    let tone = middle(&Clip::load(&tone_path).expect("load 1k"), 800);
    let whistle = middle(&Clip::load(&whistle_path).expect("load 6k"), 800);

    let reference = tone_amplitude(&tone, 8000.0, 1000.0);
    assert!(
        (db(reference) - db(0.5 * 32768.0)).abs() < 0.5,
        "1 kHz level"
    );
    let alias = tone_amplitude(&whistle, 8000.0, 2000.0);
    assert!(
        db(reference) - db(alias) >= 60.0,
        "2 kHz alias at {:.1} dB",
        db(alias) - db(reference)
    );
    for f in (5..=395).map(|k| f64::from(k) * 10.0) {
        let a = tone_amplitude(&whistle, 8000.0, f);
        assert!(
            db(reference) - db(a) >= 60.0,
            "{f} Hz at {:.1} dB",
            db(a) - db(reference)
        );
    }
    // Overall RMS, as a peak-equivalent amplitude (sine peak = RMS * sqrt 2).
    let rms = (whistle.iter().map(|v| v * v).sum::<f64>() / whistle.len() as f64).sqrt();
    let rms_peak = rms * std::f64::consts::SQRT_2;
    assert!(
        db(reference) - db(rms_peak) >= 60.0,
        "residue at {:.1} dB",
        db(rms_peak) - db(reference)
    );
}

#[test]
fn common_rates_keep_1khz_and_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    for rate in [48_000, 16_000, 22_050] {
        let path = dir.path().join(format!("tone-{rate}.wav"));
        write_wav(&path, rate, Fmt::Int(16), &[sine(1000.0, rate, 2.0, 0.5)]);
        let clip = Clip::load(&path).expect("load");
        assert_eq!(clip.samples().len(), 16_000, "{rate}");
        assert_eq!(dominant_frequency(&middle(&clip, 400)), 1000.0, "{rate}");
    }
}

/// Encode a 1 s, 1 kHz tone with ffmpeg; `None` (and a note) when ffmpeg is not installed.
fn ffmpeg_tone(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("sine=frequency=1000:sample_rate=44100:duration=1")
        .args(args)
        .arg(&path)
        .output();
    match out {
        Ok(o) if o.status.success() => path,
        Ok(o) => panic!(
            "ffmpeg failed for {name}: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("ffmpeg is not runnable ({e}): run `make test`, which installs it"),
    }
}

#[test]
fn flac_mp3_and_ogg_vorbis_from_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    // ffmpeg's sine source is 1/8 of full scale; its mono-to-stereo upmix puts each channel
    // 3 dB lower, and averaging the two channels keeps that level.
    let mono = 0.125;
    let stereo = 0.125 * std::f64::consts::FRAC_1_SQRT_2;
    let cases: [(&str, &[&str], f64); 5] = [
        ("tone.flac", &["-c:a", "flac"], mono),
        ("tone.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"], mono),
        ("tone.ogg", &["-c:a", "libvorbis", "-q:a", "5"], mono),
        // Stereo, and a name that says nothing: found by content.
        (
            "stereo-flac.bin",
            &["-ac", "2", "-c:a", "flac", "-f", "flac"],
            stereo,
        ),
        (
            "tone-48k.mp3",
            &["-ar", "48000", "-ac", "2", "-c:a", "libmp3lame"],
            stereo,
        ),
    ];
    for (name, args, level) in cases {
        let path = ffmpeg_tone(dir.path(), name, args);
        let clip = Clip::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_one_khz(&clip, 1.0, level, name);
    }
}

#[test]
fn raw_g711_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcm: Vec<i16> = sine(1000.0, 8000, 0.5, 0.4)
        .iter()
        .map(|v| (v * 32768.0) as i16)
        .collect();
    for (ext, law) in [
        ("raw", Law::Ulaw),
        ("ulaw", Law::Ulaw),
        ("mu", Law::Ulaw),
        ("alaw", Law::Alaw),
        ("al", Law::Alaw),
    ] {
        let bytes: Vec<u8> = pcm.iter().map(|&s| law.encode(s)).collect();
        let path = dir.path().join(format!("tone.{ext}"));
        std::fs::write(&path, &bytes).expect("write");
        let clip = Clip::load(&path).expect("load raw");
        let want: Vec<i16> = bytes.iter().map(|&b| law.decode(b)).collect();
        assert_eq!(clip.samples(), &want[..], "{ext}");
        assert_eq!(clip.duration(), Duration::from_millis(500));
        assert_one_khz(&clip, 0.5, 0.4, ext);
    }
}

fn assert_names_file(e: &AudioError, path: &Path) {
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.wav");
    let e = Clip::load(&path).expect_err("missing file");
    assert!(matches!(e, AudioError::Io { .. }), "{e:?}");
    assert_names_file(&e, &path);
}

#[test]
fn garbage_files_are_errors_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut junk = Vec::new();
    let mut x = 0x1234_5678u32;
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk.push(x as u8);
    }
    let mut truncated_riff = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    truncated_riff.extend_from_slice(&[16, 0, 0]);
    for (name, bytes) in [
        ("junk.wav", junk.clone()),
        ("junk.mp3", junk.clone()),
        ("junk.flac", junk.clone()),
        ("junk", junk),
        ("empty.ogg", Vec::new()),
        ("cut.wav", truncated_riff),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let e = Clip::load(&path).expect_err(name);
        assert!(
            matches!(
                e,
                AudioError::Unsupported { .. } | AudioError::Decode { .. }
            ),
            "{name}: {e:?}"
        );
        assert_names_file(&e, &path);
    }
}

#[test]
fn wav_cut_off_mid_data_keeps_what_is_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cut.wav");
    write_wav(&path, 8000, Fmt::Int(16), &[sine(1000.0, 8000, 1.0, 0.5)]);
    let full = std::fs::read(&path).expect("read");
    std::fs::write(&path, &full[..44 + 8000]).expect("truncate");
    let clip = Clip::load(&path).expect("partial wav");
    assert_eq!(clip.samples().len(), 4000);
}

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("audio")
        .join(name)
}

#[test]
fn bundled_chime_is_the_rendered_chime() {
    let clip = Clip::load(&bundled("chime.wav")).expect("audio/chime.wav");
    assert_eq!(
        clip.samples(),
        &render(Chime::new(), Duration::from_secs(10))[..]
    );
    assert_eq!(clip.duration(), Duration::from_millis(1500));
}

#[test]
fn bundled_announcement_is_short_speech_at_8k() {
    let path = bundled("announcement.wav");
    let reader = hound::WavReader::open(&path).expect("audio/announcement.wav");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (8000, 1, 16)
    );
    assert!(std::fs::metadata(&path).expect("size").len() <= 100 * 1024);
    let clip = Clip::load(&path).expect("load");
    assert!(clip.duration() > Duration::from_secs(2) && clip.duration() <= Duration::from_secs(5));
    let peak = clip
        .samples()
        .iter()
        .map(|s| s.unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(peak > 8000, "speech is audible: peak {peak}");
}

/// Writes `audio/chime.wav` from [`Chime`]; run after changing the chime:
/// `cargo test --test audio_sources -- --ignored regenerate_chime_wav`.
#[test]
#[ignore]
fn regenerate_chime_wav() {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(bundled("chime.wav"), spec).expect("create");
    for s in render(Chime::new(), Duration::from_secs(10)) {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
}

#[test]
fn mic_unknown_device_lists_devices_that_exist() {
    let available = list_input_devices();
    let e = Mic::open(Some("no-such-device")).expect_err("there is no such device");
    match &e {
        AudioError::NoDevice {
            wanted,
            available: listed,
        } => {
            assert_eq!(wanted.as_deref(), Some("no-such-device"));
            assert_eq!(listed, &available);
        }
        other => panic!("expected NoDevice, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("no-such-device"), "{msg}");
    if available.is_empty() {
        assert!(msg.contains("no audio input devices"), "{msg}");
    } else {
        for d in &available {
            assert!(msg.contains(d.as_str()), "{msg} should list {d}");
        }
    }
}

#[test]
fn mic_default_opens_or_fails_cleanly() {
    match Mic::open(None) {
        Ok(mut mic) => {
            // A live source never blocks and never ends, audio or not.
            let mut frame = [0; FRAME_SAMPLES];
            for _ in 0..5 {
                let t = Instant::now();
                assert!(mic.next_frame(&mut frame));
                assert!(t.elapsed() < Duration::from_millis(5));
                std::thread::sleep(Duration::from_millis(20));
            }
            let s = mic.stats();
            assert_eq!(s.delivered + s.underruns, 5);
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    AudioError::NoDevice { wanted: None, .. } | AudioError::Device(_)
                ),
                "{e:?}"
            );
            assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn mic_pipeline_runs_on_alsa_null_device() {
    // ALSA's "null" capture device yields zeros with no sound card, and as fast as it can: the
    // whole cpal → resampler → queue path runs, and the queue must drop rather than grow.
    // alsa-lib's standard configuration always defines it.
    let devices = list_input_devices();
    assert!(
        devices.iter().any(|d| d == "null"),
        "no ALSA null device among {devices:?}"
    );
    let mut mic = Mic::open(Some("null")).expect("open null device");
    assert_eq!(mic.info().device, "null");
    let deadline = Instant::now() + Duration::from_secs(5);
    while mic.stats().frames < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut frame = [1; FRAME_SAMPLES];
    for _ in 0..3 {
        let t = Instant::now();
        assert!(mic.next_frame(&mut frame));
        assert!(t.elapsed() < Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(frame.iter().all(|&s| s == 0), "null captures silence");
    let s = mic.stats();
    assert!(s.frames >= 10, "{s:?}");
    assert!(s.delivered >= 1, "{s:?}");
    assert!(
        s.frames <= s.delivered + s.overruns + 1,
        "at most one frame waits: {s:?}"
    );
    drop(mic); // stops the stream thread; must not hang
}
