//! `zonecast ringtone`: the real binary converting awkward inputs made by ffmpeg and sox, sox
//! decoding what it wrote, the checker on files that break each rule, ring lists read back by
//! the library's parser, a batch, and a preview on emulated phones.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::cli_setup::{PW_ENV, assert_exit, json, stderr};
use common::{require, zonecast};
use zonecast::phone_sim::Fleet;
use zonecast::phone_sim::config::{DEFAULT_PASSWORD, PhoneGroup};
use zonecast::ringtone::parse_ring_list;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = zonecast();
    c.arg("ringtone");
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

/// Run a peer program; fail with its stderr when it fails.
fn peer(program: &str, args: &[&str]) -> Output {
    require(program);
    let o = Command::new(program).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `sox -t raw -r RATE -e ENC [-b 16] -c 1 FILE -n stat` succeeds; returns "Samples read".
fn sox_samples(file: &Path, wideband: bool) -> usize {
    let mut args = vec!["-t", "raw"];
    if wideband {
        args.extend(["-r", "16000", "-e", "signed", "-b", "16"]);
    } else {
        args.extend(["-r", "8000", "-e", "u-law"]);
    }
    args.extend(["-c", "1", p(file), "-n", "stat"]);
    let o = peer("sox", &args);
    let text = String::from_utf8_lossy(&o.stderr);
    let line = text
        .lines()
        .find(|l| l.starts_with("Samples read:"))
        .unwrap_or_else(|| panic!("no sample count from sox: {text}"));
    line.rsplit(' ').next().unwrap().trim().parse().unwrap()
}

/// The awkward inputs of the issue, made by ffmpeg and sox in `dir`.
fn awkward_inputs(dir: &Path) -> Vec<PathBuf> {
    let f = |n: &str| dir.join(n);
    let mp3 = f("stereo_44k.mp3");
    peer(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3:sample_rate=44100",
            "-ac",
            "2",
            "-b:a",
            "128k",
            p(&mp3),
        ],
    );
    let sox_synth = |name: &str, args: &[&str]| {
        let out = f(name);
        let mut all = vec!["-n"];
        all.extend_from_slice(&args[..args.len() - 1]);
        all.push(p(&out));
        all.extend(args.last().unwrap().split(' '));
        peer("sox", &all);
        out
    };
    vec![
        mp3,
        sox_synth(
            "deep_48k_24bit.wav",
            &["-r", "48000", "-b", "24", "-c", "1", "synth 2.5 sine 1000"],
        ),
        sox_synth(
            "five_seconds_8k.wav",
            &["-r", "8000", "-b", "16", "-c", "1", "synth 5 sine 700"],
        ),
        sox_synth(
            "blip_50ms.wav",
            &["-r", "16000", "-b", "16", "-c", "1", "synth 0.05 sine 1000"],
        ),
        sox_synth(
            "silence.wav",
            &["-r", "8000", "-b", "16", "-c", "1", "trim 0 1"],
        ),
        sox_synth(
            "square_full_scale.wav",
            &["-r", "44100", "-b", "16", "-c", "1", "synth 1.5 square 500"],
        ),
    ]
}

#[test]
fn awkward_inputs_convert_to_files_that_pass_check_and_decode_in_sox() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = awkward_inputs(dir.path());
    let mut outputs = Vec::new();
    for input in &inputs {
        let out = input.with_extension("raw");
        let o = run(&[&"convert", input, &out, &"--json"]);
        assert_exit(&o, 0);
        let j = json(&o);
        let samples = j["samples"].as_u64().unwrap() as usize;
        assert!(
            (240..=16080).contains(&samples) && samples.is_multiple_of(240),
            "{}: {samples} samples",
            input.display()
        );
        assert_eq!(std::fs::metadata(&out).unwrap().len() as usize, samples);
        assert_eq!(sox_samples(&out, false), samples, "{}", out.display());
        if input.ends_with("five_seconds_8k.wav") {
            assert_eq!(samples, 16080, "cut to the maximum");
            let warnings = j["warnings"].to_string();
            assert!(warnings.contains("cut"), "says it was cut: {warnings}");
        }
        outputs.push(out);
    }
    // The checker passes every one of them.
    let mut c = zonecast();
    c.args(["ringtone", "check"]).args(&outputs);
    let o = c.output().unwrap();
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o).matches(": ok (").count(),
        outputs.len(),
        "{}",
        stdout(&o)
    );
}

#[test]
fn convert_prints_the_cut_in_prose() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.wav");
    peer(
        "sox",
        &["-n", "-r", "8000", p(&input), "synth", "5", "sine", "500"],
    );
    let out = dir.path().join("long.raw");
    let o = run(&[&"convert", &input, &out]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("16080 samples") && text.contains("2.010 s"),
        "{text}"
    );
    assert!(text.contains("warning") && text.contains("cut"), "{text}");
}

#[test]
fn wideband_convert_decodes_as_16_bit_16_khz() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    peer(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "2",
            p(&input),
            "synth",
            "3",
            "sine",
            "1000",
        ],
    );
    // By extension, and by --wideband with a name that says nothing.
    for (name, flag) in [("out.rwb", false), ("out.bin", true)] {
        let out = dir.path().join(name);
        let o = if flag {
            run(&[&"convert", &input, &out, &"--wideband", &"--json"])
        } else {
            run(&[&"convert", &input, &out, &"--json"])
        };
        assert_exit(&o, 0);
        let j = json(&o);
        assert_eq!(j["format"], "wideband");
        let samples = j["samples"].as_u64().unwrap() as usize;
        assert_eq!(samples, 48000, "3 s at 16 kHz, already a multiple of 240");
        assert_eq!(sox_samples(&out, true), samples);
        let mut c = zonecast();
        let o = c
            .args(["ringtone", "check", "--wideband"])
            .arg(&out)
            .output()
            .unwrap();
        assert_exit(&o, 0);
    }
}

#[test]
fn convert_refuses_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    peer(
        "sox",
        &["-n", "-r", "8000", p(&input), "synth", "1", "sine", "500"],
    );
    let raw = dir.path().join("x.raw");
    // --wideband against a .raw name.
    let o = run(&[&"convert", &input, &raw, &"--wideband"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains(".raw"), "{}", stderr(&o));
    assert!(!raw.exists(), "nothing written");
    // A missing input, a file that is no audio, and options out of range.
    assert_exit(
        &run(&[&"convert", &dir.path().join("missing.wav"), &raw]),
        2,
    );
    let junk = dir.path().join("junk.mp3");
    std::fs::write(&junk, b"this is not audio").unwrap();
    assert_exit(&run(&[&"convert", &junk, &raw]), 2);
    assert_exit(&run(&[&"convert", &input, &raw, &"--normalize", &"3"]), 2);
    assert_exit(&run(&[&"convert", &input, &raw, &"--start", &"-1"]), 2);
    // A negative level is a value, not an option.
    assert_exit(&run(&[&"convert", &input, &raw, &"--normalize", &"-6"]), 0);
}

/// Integrated loudness of a ring file as sox decodes it, LUFS (the `ebur128` crate, not
/// zonecast's wrapper).
fn ring_lufs(file: &Path, dir: &Path) -> f64 {
    let wav = dir.join("decoded.wav");
    peer(
        "sox",
        &[
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "u-law",
            "-c",
            "1",
            p(file),
            "-b",
            "16",
            p(&wav),
        ],
    );
    let samples: Vec<i16> = hound::WavReader::open(&wav)
        .unwrap()
        .into_samples::<i16>()
        .map(Result::unwrap)
        .collect();
    let mut m = ebur128::EbuR128::new(1, 8000, ebur128::Mode::I).unwrap();
    m.add_frames_i16(&samples).unwrap();
    m.loudness_global().unwrap()
}

#[test]
fn convert_loudness_levels_a_quiet_and_a_loud_sound_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut got = Vec::new();
    for (name, gain) in [("quiet", "-35"), ("loud", "-1")] {
        let input = dir.path().join(format!("{name}.wav"));
        // A 2 s chord at very different levels.
        peer(
            "sox",
            &[
                "-n",
                "-r",
                "16000",
                p(&input),
                "synth",
                "2",
                "sine",
                "440",
                "sine",
                "660",
                "remix",
                "-",
                "gain",
                "-n",
                gain,
            ],
        );
        let raw = dir.path().join(format!("{name}.raw"));
        let o = run(&[&"convert", &input, &raw, &"--loudness", &"-18", &"--json"]);
        assert_exit(&o, 0);
        let report = json(&o);
        let said = report["warnings"].to_string();
        assert!(said.contains("levelled from"), "{said}");
        got.push(ring_lufs(&raw, dir.path()));
    }
    for l in &got {
        assert!((l + 18.0).abs() < 1.0, "rings at {got:?} LUFS");
    }
    // The range and the peak option are refused together and out of range.
    let input = dir.path().join("quiet.wav");
    let raw = dir.path().join("x.raw");
    assert_exit(&run(&[&"convert", &input, &raw, &"--loudness", &"-5"]), 2);
    let o = run(&[
        &"convert",
        &input,
        &raw,
        &"--loudness",
        &"-18",
        &"--normalize",
        &"-3",
    ]);
    assert_exit(&o, 2);
}

/// Ring files that break one rule each, and the rule named in the report.
fn rule_breakers(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let zero = 0xFFu8; // µ-law +0
    let loud = 0x80u8; // µ-law +32124: clipped, and far from a zero crossing
    let mut files = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>, rule: &'static str| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        files.push((path, rule));
    };
    put("short.raw", vec![zero; 120], "length");
    put("ragged.raw", vec![zero; 1000], "multiple_of_240");
    // CiscoStandard.raw's length: a multiple of 240, over the maximum.
    put("cisco_standard.raw", vec![zero; 21360], "length");
    put("empty.raw", Vec::new(), "empty");
    put("odd.rwb", vec![0; 481], "format");
    let mut clicky = vec![zero; 2400];
    clicky[0] = loud;
    put("clicky_start.raw", clicky.clone(), "start_zero_crossing");
    clicky[0] = zero;
    clicky[2399] = loud;
    put("clicky_end.raw", clicky, "end_zero_crossing");
    let mut clipped: Vec<u8> = (0..2400)
        .map(|i| if i % 2 == 0 { loud } else { 0x00 })
        .collect();
    clipped[0] = zero;
    clipped[2399] = zero;
    put("clipped.raw", clipped, "clipping");
    files
}

#[test]
fn check_names_every_rule_a_file_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = rule_breakers(dir.path());
    // A WAV renamed to .raw: the header rule.
    let wav = dir.path().join("with_header.raw");
    peer(
        "sox",
        &[
            "-n",
            "-r",
            "8000",
            "-t",
            "wav",
            p(&wav),
            "synth",
            "0.3",
            "sine",
            "500",
        ],
    );
    files.push((wav, "header"));
    for (file, rule) in &files {
        let mut c = zonecast();
        let o = c
            .args(["ringtone", "check", "--json"])
            .arg(file)
            .output()
            .unwrap();
        let j = json(&o);
        let problems = &j[0]["problems"];
        let named = problems
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["rule"] == *rule);
        assert!(named, "{}: {rule} not in {problems}", file.display());
        let errors = problems
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["severity"] == "error");
        // Errors fail (3); warnings alone pass (0).
        assert_exit(&o, if errors { 3 } else { 0 });
        assert_eq!(j[0]["passes"], !errors);
    }
    // All at once, in prose: every rule named, exit 3.
    let mut c = zonecast();
    c.args(["ringtone", "check"]);
    for (f, _) in &files {
        c.arg(f);
    }
    let o = c.output().unwrap();
    assert_exit(&o, 3);
    let text = stdout(&o);
    for (file, rule) in &files {
        assert!(
            text.contains(rule),
            "{rule} ({}) missing: {text}",
            file.display()
        );
    }
    assert!(stderr(&o).contains("fail"), "{}", stderr(&o));
}

#[test]
fn check_reports_unreadable_files_and_never_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.raw");
    std::fs::write(&good, vec![0xFFu8; 2400]).unwrap();
    let missing = dir.path().join("missing.raw");
    // A good file and a missing one: reported, exit 3.
    let o = run(&[&"check", &good, &missing]);
    assert_exit(&o, 3);
    assert!(stdout(&o).contains("cannot read"), "{}", stdout(&o));
    assert!(stdout(&o).contains("good.raw: ok"), "{}", stdout(&o));
    // Nothing readable (a missing file, a folder): exit 2.
    let o = run(&[&"check", &missing, &dir.path()]);
    assert_exit(&o, 2);
    // Random bytes of odd sizes never crash the checker.
    for (i, n) in [1usize, 2, 3, 239, 241, 4096, 16081]
        .into_iter()
        .enumerate()
    {
        let f = dir.path().join(format!("noise{i}.rwb"));
        let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        std::fs::write(&f, bytes).unwrap();
        let o = run(&[&"check", &f]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
        let o = run(&[&"check", &f.with_extension("rwb"), &"--wideband"]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    }
}

/// Legal ring files converted from tones: `names` each become NAME.raw in `dir`.
fn legal_rings(dir: &Path, names: &[&str]) {
    let src = tempfile::tempdir().unwrap();
    for (i, n) in names.iter().enumerate() {
        let wav = src.path().join(format!("{n}.wav"));
        let hz = (400 + 50 * i).to_string();
        peer(
            "sox",
            &["-n", "-r", "8000", p(&wav), "synth", "0.5", "sine", &hz],
        );
        assert_exit(&run(&[&"convert", &wav, &dir.join(format!("{n}.raw"))]), 0);
    }
}

#[test]
fn list_writes_a_ring_list_the_parser_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    legal_rings(dir.path(), &["door_bell", "fire-alarm", "chime"]);
    std::fs::write(dir.path().join("broken.raw"), vec![0xFFu8; 100]).unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a ring").unwrap();
    let o = run(&[&"list", &dir.path()]);
    assert_exit(&o, 0);
    let list = parse_ring_list(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)));
    let got: Vec<(&str, &str)> = list
        .rings
        .iter()
        .map(|r| (r.display_name.as_str(), r.file_name.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("Chime", "chime.raw"),
            ("Door Bell", "door_bell.raw"),
            ("Fire Alarm", "fire-alarm.raw"),
        ]
    );
    let err = stderr(&o);
    assert!(
        err.contains("skipped broken.raw") && err.contains("length"),
        "{err}"
    );
    assert!(err.contains("RingList.xml"), "{err}");

    // names.toml (quoted and dotted keys), escaping, a name over 25 characters.
    let names = dir.path().join("names.toml");
    std::fs::write(
        &names,
        "\"chime.raw\" = \"Ding & Dong <1>\"\n\
         door_bell.raw = \"A display name well over twenty-five characters\"\n",
    )
    .unwrap();
    let o = run(&[&"list", &dir.path(), &"--distinctive"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("Ding &amp; Dong &lt;1&gt;"), "{text}");
    let list = parse_ring_list(&o.stdout).unwrap();
    assert_eq!(list.rings[0].display_name, "Ding & Dong <1>");
    assert!(list.rings[1].display_name.chars().count() <= 25);
    assert!(list.rings[1].display_name.starts_with("A display name"));
    assert_eq!(list.rings[2].display_name, "Fire Alarm");
    assert!(
        stderr(&o).contains("DistinctiveRingList.xml"),
        "{}",
        stderr(&o)
    );

    // An explicit --names file, and a folder with nothing legal: exit 3.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "\"fire-alarm.raw\" = \"Evacuate\"\n").unwrap();
    let o = run(&[&"list", &dir.path(), &"--names", &other]);
    assert_exit(&o, 0);
    let list = parse_ring_list(&o.stdout).unwrap();
    assert_eq!(list.rings[2].display_name, "Evacuate");
    assert_eq!(list.rings[0].display_name, "Chime");
    let empty = tempfile::tempdir().unwrap();
    assert_exit(&run(&[&"list", &empty.path()]), 3);
    assert_exit(&run(&[&"list", &dir.path().join("nope")]), 2);
}

#[test]
fn batch_converts_a_folder_writes_the_list_and_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let mut made = awkward_inputs(&input);
    for (i, secs) in ["0.4", "1", "2", "7"].into_iter().enumerate() {
        let f = input.join(format!("tone {i}.flac"));
        peer(
            "sox",
            &[
                "-n",
                "-r",
                "22050",
                "-c",
                "2",
                p(&f),
                "synth",
                secs,
                "sine",
                "800",
            ],
        );
        made.push(f);
    }
    std::fs::write(input.join("readme.txt"), b"skipped: not a sound").unwrap();
    assert_eq!(made.len(), 10);
    let out = dir.path().join("out");
    let o = run(&[&"batch", &input, &out, &"--jobs", &"3"]);
    assert_exit(&o, 0);
    let table = stdout(&o);
    assert!(table.starts_with("FILE"), "{table}");
    for f in &made {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(table.contains(name), "{name} missing from {table}");
    }
    assert!(table.contains("converted 10 of 10"), "{table}");
    assert!(
        table.contains("tone_3.raw") && table.contains("cut"),
        "{table}"
    );
    let list = parse_ring_list(&std::fs::read(out.join("RingList.xml")).unwrap()).unwrap();
    assert_eq!(list.rings.len(), 10);
    let square = list
        .rings
        .iter()
        .find(|r| r.file_name == "square_full_scale.raw")
        .unwrap();
    assert_eq!(square.display_name, "Square Full Scale");
    let mut c = zonecast();
    c.args(["ringtone", "check"]);
    for r in &list.rings {
        let f = out.join(&r.file_name);
        assert!(f.is_file(), "{}", f.display());
        c.arg(f);
    }
    assert_exit(&c.output().unwrap(), 0);

    // Wideband, with a broken input: the others are converted, exit 3.
    std::fs::write(input.join("broken.wav"), b"RIFF but not really").unwrap();
    let out_wb = dir.path().join("out_wb");
    let o = run(&[&"batch", &input, &out_wb, &"--wideband"]);
    assert_exit(&o, 3);
    let table = stdout(&o);
    assert!(
        table.contains("broken.wav") && table.contains("FAILED"),
        "{table}"
    );
    assert!(table.contains("converted 10 of 11"), "{table}");
    let list = parse_ring_list(&std::fs::read(out_wb.join("Ringlist-wb.xml")).unwrap()).unwrap();
    assert_eq!(list.rings.len(), 10);
    assert!(list.rings.iter().all(|r| r.file_name.ends_with(".rwb")));

    // Nothing to convert, or the same folder twice: exit 2.
    let empty = tempfile::tempdir().unwrap();
    assert_exit(&run(&[&"batch", &empty.path(), &out]), 2);
    assert_exit(&run(&[&"batch", &input, &input]), 2);
}

/// Emulated phones whose TFTP path is a temporary folder, and a config naming them.
struct Phones {
    rt: tokio::runtime::Runtime,
    fleet: Option<Fleet>,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Phones {
    /// p001 (CP-8851) and mpp (a CP-8851 on Multiplatform firmware).
    fn start() -> Phones {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tftp = dir.path().join("tftp");
        std::fs::create_dir(&tftp).unwrap();
        let mut cfg = common::sim::addressed(1, "CP-8851");
        cfg.tftp_dir = Some(tftp);
        cfg.groups.push(PhoneGroup {
            count: 1,
            model: "CP-8851-3PCC".into(),
            prefix: "m".into(),
            name: Some("mpp".into()),
            faults: Default::default(),
        });
        let fleet = rt.block_on(Fleet::start(cfg)).unwrap();
        let mut text = String::from(
            "[engine]\nmedia_address = \"127.0.0.1\"\ninterface = \"127.0.0.1\"\n\
             journal = \"journal.jsonl\"\npush_timeout = \"3s\"\npush_retries = 1\n\n",
        );
        for ph in fleet.phones() {
            let _ = write!(
                text,
                "[[phone]]\nname = \"{}\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{}\"\n\
                 password_env = \"{PW_ENV}\"\n\n",
                ph.name, ph.addr, ph.model, ph.user
            );
        }
        let config = dir.path().join("zonecast.toml");
        std::fs::write(&config, text).unwrap();
        Phones {
            rt,
            fleet: Some(fleet),
            dir,
            config,
        }
    }

    fn tftp(&self, name: &str) -> PathBuf {
        self.dir.path().join("tftp").join(name)
    }

    fn preview(&self, phone: &str, file: &Path, json: bool) -> Output {
        let mut c = zonecast();
        c.args(["ringtone", "preview", "--config"])
            .arg(&self.config)
            .args(["--phone", phone])
            .arg(file)
            .env(PW_ENV, DEFAULT_PASSWORD);
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    }
}

impl Drop for Phones {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

#[test]
fn preview_plays_a_file_on_the_phone_and_waits_for_it() {
    let phones = Phones::start();
    let name = phones.fleet.as_ref().unwrap().phones()[0].name.clone();
    // A 0.6 s ring on the phones' TFTP path: the phone answers once it has played.
    let ring = phones.tftp("ring.raw");
    std::fs::write(&ring, vec![0xFFu8; 4800]).unwrap();
    let t0 = Instant::now();
    let o = phones.preview(&name, &ring, false);
    assert_exit(&o, 0);
    assert!(
        t0.elapsed() >= Duration::from_millis(550),
        "waited for playback"
    );
    assert!(
        stdout(&o).contains("played Play:ring.raw"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("TFTP"), "the note: {}", stderr(&o));
    // Only the name is sent: a local copy elsewhere plays the phone's file.
    let local = phones.dir.path().join("ring.raw");
    std::fs::write(&local, vec![0xFFu8; 2400]).unwrap();
    let o = phones.preview(&name, &local, true);
    assert_exit(&o, 0);
    let j = json(&o);
    assert_eq!(j["uri"], "Play:ring.raw");
    assert_eq!(j["outcome"], "ok");
    assert_eq!(j["status"], 0);
    assert!(j["seconds"].as_f64().unwrap() >= 0.55, "{j}");
}

#[test]
fn preview_reports_a_missing_file_an_mpp_phone_and_a_wrong_name() {
    let phones = Phones::start();
    let name = phones.fleet.as_ref().unwrap().phones()[0].name.clone();
    // Not on the TFTP path: the phone answers status 6, File Not Found: exit 3.
    let o = phones.preview(&name, Path::new("absent.raw"), false);
    assert_exit(&o, 3);
    let err = stderr(&o);
    assert!(
        err.contains("File Not Found") && err.contains("status 6"),
        "{err}"
    );
    // Multiplatform firmware answers no push: refused before sending.
    let o = phones.preview("mpp", Path::new("ring.raw"), false);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("Multiplatform"), "{}", stderr(&o));
    // No such phone, and a name the Play URI cannot carry.
    let o = phones.preview("nobody", Path::new("ring.raw"), false);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&name),
        "lists the phones: {}",
        stderr(&o)
    );
    assert_exit(&phones.preview(&name, Path::new("a b.raw"), false), 2);
}
