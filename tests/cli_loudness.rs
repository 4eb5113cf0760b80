//! Equal loudness at the phones (issue 20): a quiet WAV, a loud WAV, the bundled chime and
//! speech (`--say`, espeak-ng), paged in turn with the real `zonecast page` to emulated phones
//! that record what they hear, arrive within 1 LU of each other. The judge is the phones' own recordings measured with
//! ITU-R BS.1770 integrated loudness (the `ebur128` crate directly, not zonecast's wrapper).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::cli_setup::{Setup, Spec, Zone, assert_exit, json};

/// Integrated loudness of a WAV (8 kHz mono 16-bit, as the phones record), LUFS.
fn lufs_of(path: &Path) -> f64 {
    let samples: Vec<i16> = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_samples::<i16>()
        .map(Result::unwrap)
        .collect();
    assert!(samples.len() > 8000, "{}: too short", path.display());
    let mut m = ebur128::EbuR128::new(1, 8000, ebur128::Mode::I).unwrap();
    m.add_frames_i16(&samples).unwrap();
    m.loudness_global().unwrap()
}

/// `secs` of a speech-like buzz: a 180 Hz voice with `harmonics` partials (falling 1/n),
/// syllables at 4 Hz, peak `peak_dbfs`.
fn write_voice(path: &Path, peak_dbfs: f64, harmonics: u32, secs: f64) {
    let n = (secs * 8000.0) as usize;
    let raw: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let voice: f64 = (1..=harmonics)
                .map(|k| {
                    (2.0 * std::f64::consts::PI * 180.0 * f64::from(k) * t).sin() / f64::from(k)
                })
                .sum();
            let syllable = (std::f64::consts::PI * 4.0 * t).sin().abs();
            voice * syllable
        })
        .collect();
    let peak = raw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = 32767.0 * 10f64.powf(peak_dbfs / 20.0) / peak;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for v in raw {
        w.write_sample((v * scale).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// The recordings in `dir` not in `seen`, once each is complete (readable, growing no more).
fn new_recordings(dir: &Path, seen: &mut Vec<PathBuf>, want: usize) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut fresh: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        fresh.retain(|p| !seen.contains(p));
        fresh.sort();
        let done = fresh.len() >= want
            && fresh
                .iter()
                .all(|p| hound::WavReader::open(p).is_ok_and(|r| r.len() > 0));
        if done {
            seen.extend(fresh.iter().cloned());
            return fresh;
        }
        assert!(
            Instant::now() < deadline,
            "recordings never finished: {fresh:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_quiet_wav_a_loud_wav_the_chime_and_speech_arrive_within_one_lu_of_each_other() {
    let rec = tempfile::tempdir().unwrap();
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    let s = Setup::new(&Spec {
        phones: 2,
        engine: &engine,
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        record_dir: Some(rec.path().to_path_buf()),
        ..Spec::default()
    });
    let quiet = s.path("quiet.wav");
    let loud = s.path("loud.wav");
    write_voice(&quiet, -30.0, 4, 3.0);
    write_voice(&loud, -0.5, 12, 3.0);
    let (q_in, l_in) = (lufs_of(&quiet), lufs_of(&loud));
    assert!(
        l_in - q_in > 25.0,
        "the files differ: {q_in:.1} vs {l_in:.1} LUFS"
    );

    let mut seen = Vec::new();
    let mut heard = Vec::new();
    common::require("espeak-ng");
    let pages: [(&str, &[&str]); 4] = [
        ("quiet WAV", &["--file", quiet.to_str().unwrap()]),
        ("loud WAV", &["--file", loud.to_str().unwrap()]),
        ("bundled chime", &["--tone", "chime"]),
        (
            "speech",
            &["--say", "Fire drill in building B. Please leave now."],
        ),
    ];
    for (what, source) in pages {
        let mut args = vec!["page", "--zone", "all", "--json"];
        args.extend_from_slice(source);
        let out = s.run(&args);
        assert_exit(&out, 0);
        let r = json(&out);
        // The report says what was measured and applied, beside its usual keys.
        assert_eq!(r["totals"]["phones"], 2, "{r}");
        assert_eq!(r["loudness"]["target_lufs"], -18.0, "{r}");
        let item = &r["loudness"]["items"][0];
        let measured = item["measured"]["lufs"].as_f64().unwrap();
        let gain = item["gain_db"].as_f64().unwrap();
        let played = item["result"]["lufs"].as_f64().unwrap();
        assert!((played + 18.0).abs() < 1.0, "{what}: {item}");
        assert!(
            item["result"]["true_peak_dbtp"].as_f64().unwrap() <= -1.0,
            "{item}"
        );
        for wav in new_recordings(rec.path(), &mut seen, 2) {
            let at_phone = lufs_of(&wav);
            eprintln!(
                "{what}: measured {measured:.1} LUFS, gain {gain:+.1} dB, at {} {at_phone:.2} LUFS",
                wav.file_name().unwrap().to_string_lossy()
            );
            heard.push((what, at_phone));
        }
    }
    assert_eq!(heard.len(), 8);
    let lo = heard.iter().map(|h| h.1).fold(f64::MAX, f64::min);
    let hi = heard.iter().map(|h| h.1).fold(f64::MIN, f64::max);
    assert!(hi - lo <= 1.0, "spread {:.2} LU: {heard:?}", hi - lo);
    assert!(
        (lo + 18.0).abs() < 1.0 && (hi + 18.0).abs() < 1.0,
        "{heard:?}"
    );
}
