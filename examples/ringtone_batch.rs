//! Ringtone batch conversion: `zonecast ringtone batch` against sox on the same folder of
//! sounds, in the same run (BENCHMARKS.md, "Ringtone batch conversion").
//!
//! ```sh
//! cargo build --release && cargo run --release --example ringtone_batch -- --files 100 --runs 5
//! ```
//!
//! Makes `--files` WAVs once (3 to 10 s, 44.1 kHz stereo 16-bit: two sines and a little noise),
//! then per run times, wall clock, the whole folder done by
//! - zonecast: one `zonecast ringtone batch IN OUT --jobs N` process (decode, resample, mix down,
//!   normalise, cut to a legal length on a zero crossing, fade, check, write, ring list);
//! - sox: `sox IN -r 8000 -c 1 -e u-law -t raw OUT` for each file, N at a time.
//!
//! for N = 1 and N = the CPUs, alternating which goes first, and prints the medians and the
//! ratio sox / zonecast (above 1: zonecast is faster).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Opts {
    files: usize,
    runs: usize,
    zonecast: PathBuf,
}

fn opts() -> Opts {
    let mut o = Opts {
        files: 100,
        runs: 5,
        // target/release/examples/ringtone_batch → target/release/zonecast
        zonecast: std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("zonecast")))
            .unwrap_or_else(|| PathBuf::from("zonecast")),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--files" => o.files = v.parse().expect("--files N"),
            "--runs" => o.runs = v.parse().expect("--runs N"),
            "--zonecast" => o.zonecast = PathBuf::from(v),
            other => panic!("unknown argument {other}: --files N --runs N --zonecast PATH"),
        }
        i += 2;
    }
    o
}

/// File `i`: 3 to 10 s of 44.1 kHz stereo.
fn make_input(path: &Path, i: usize) {
    let rate = 44_100u32;
    let secs = 3.0 + (i * 7 % 71) as f64 / 10.0;
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let (f1, f2) = (300.0 + 17.0 * i as f64, 1200.0 + 31.0 * i as f64);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
    for n in 0..(secs * f64::from(rate)) as usize {
        let t = n as f64 / f64::from(rate);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed >> 40) as f64 / f64::from(1u32 << 24) - 0.5;
        let l = 0.4 * (std::f64::consts::TAU * f1 * t).sin() + 0.02 * noise;
        let r = 0.3 * (std::f64::consts::TAU * f2 * t).sin() + 0.02 * noise;
        w.write_sample((l * 32767.0) as i16).unwrap();
        w.write_sample((r * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

fn time_zonecast(zc: &Path, input: &Path, out: &Path, jobs: usize) -> Duration {
    let _ = std::fs::remove_dir_all(out);
    let t0 = Instant::now();
    let status = Command::new(zc)
        .args(["ringtone", "batch"])
        .arg(input)
        .arg(out)
        .args(["--jobs", &jobs.to_string()])
        .stdout(Stdio::null())
        // Its only warning: the ring list holds 50 of the 100 rings.
        .stderr(Stdio::null())
        .status()
        .expect("run zonecast");
    let d = t0.elapsed();
    assert!(status.success(), "zonecast ringtone batch failed");
    d
}

fn time_sox(inputs: &[PathBuf], out: &Path, jobs: usize) -> Duration {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let o = out.join(input.with_extension("raw").file_name().unwrap());
                    let status = Command::new("sox")
                        .arg(input)
                        .args(["-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw"])
                        .arg(&o)
                        .status()
                        .expect("run sox");
                    assert!(status.success(), "sox failed on {}", input.display());
                }
            });
        }
    });
    t0.elapsed()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let o = opts();
    assert!(
        o.zonecast.is_file(),
        "{}: build it first (cargo build --release)",
        o.zonecast.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let inputs: Vec<PathBuf> = (0..o.files)
        .map(|i| {
            let p = input.join(format!("sound_{i:03}.wav"));
            make_input(&p, i);
            p
        })
        .collect();
    let audio_secs: f64 = inputs
        .iter()
        .map(|p| {
            let r = hound::WavReader::open(p).unwrap();
            f64::from(r.duration()) / f64::from(r.spec().sample_rate)
        })
        .sum();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} files, {audio_secs:.0} s of 44.1 kHz stereo audio; {} runs; {cpus} CPUs",
        o.files, o.runs
    );
    println!("| jobs | zonecast median | sox median | sox / zonecast |");
    println!("|-----:|----------------:|-----------:|---------------:|");
    let mut job_counts = vec![1];
    if cpus > 1 {
        job_counts.push(cpus);
    }
    for jobs in job_counts {
        let (mut zt, mut st) = (Vec::new(), Vec::new());
        for run in 0..o.runs {
            let z_out = dir.path().join("out_zonecast");
            let s_out = dir.path().join("out_sox");
            if run % 2 == 0 {
                zt.push(time_zonecast(&o.zonecast, &input, &z_out, jobs));
                st.push(time_sox(&inputs, &s_out, jobs));
            } else {
                st.push(time_sox(&inputs, &s_out, jobs));
                zt.push(time_zonecast(&o.zonecast, &input, &z_out, jobs));
            }
        }
        let (z, s) = (median(&mut zt), median(&mut st));
        println!(
            "| {jobs} | {:.3} s | {:.3} s | {:.2} |",
            z.as_secs_f64(),
            s.as_secs_f64(),
            s.as_secs_f64() / z.as_secs_f64()
        );
    }
}
