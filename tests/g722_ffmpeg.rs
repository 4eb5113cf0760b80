//! G.722 (issue 20) judged by an outside implementation: ffmpeg decodes what `zonecast send
//! --codec g722` puts on the wire, and `zonecast record --codec g722` decodes what ffmpeg's G.722
//! encoder sends. The tone is 6 kHz: above what G.711's 8 kHz sampling can carry, so it arrives
//! only if the wideband path is wideband end to end. Loopback only, free ports.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The share of `samples`' power (16 kHz) that lies at `hz`: 1.0 for a pure tone there. A
/// single-bin DFT, independent of the code under test.
fn power_share_at(samples: &[i16], hz: f64) -> f64 {
    let n = samples.len() as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &s) in samples.iter().enumerate() {
        let ph = std::f64::consts::TAU * hz * i as f64 / 16_000.0;
        re += f64::from(s) * ph.cos();
        im -= f64::from(s) * ph.sin();
    }
    let tone = 2.0 * (re * re + im * im) / (n * n);
    let total = samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / n;
    tone / total
}

#[test]
fn ffmpeg_decodes_our_g722_stream_to_a_6_khz_tone_of_the_right_length() {
    require("ffmpeg");
    let (sock, port) = bound_even_socket();
    // Long enough for a sender slowed by a loaded machine (the whole suite runs at once on two
    // cores): the loop ends only once the stream has been silent this long.
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let sender = zonecast()
        .args([
            "send",
            "--codec",
            "g722",
            "--tone",
            "6000",
            "--duration",
            "2",
        ])
        .args(["--to", &format!("127.0.0.1:{port}"), "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut payloads = Vec::new();
    let mut headers = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = sock.recv(&mut buf) {
        assert_eq!(n, 172, "12-byte header + 160 bytes of G.722");
        headers.push((
            buf[1] & 0x7F,
            u16::from_be_bytes([buf[2], buf[3]]),
            u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ));
        payloads.extend_from_slice(&buf[12..n]);
    }
    let sent = sender.wait_with_output().unwrap();
    assert!(sent.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    assert_eq!(summary["codec"], "g722");
    assert_eq!(headers.len(), 100, "2 s of 20 ms packets");
    for w in headers.windows(2) {
        assert_eq!(w[1].0, 9, "payload type 9");
        assert_eq!(w[1].1, w[0].1.wrapping_add(1));
        assert_eq!(w[1].2, w[0].2.wrapping_add(160), "8 kHz RTP clock");
    }
    // ffmpeg's own G.722 decoder reads the captured payload bytes (its raw `g722` demuxer).
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("capture.g722");
    let wav = dir.path().join("decoded.wav");
    std::fs::write(&raw, &payloads).unwrap();
    let ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "g722", "-i"])
        .arg(&raw)
        .args(["-c:a", "pcm_s16le"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        ff.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&ff.stderr)
    );
    let (rate, samples) = read_wav(&wav);
    assert_eq!(rate, 16_000);
    assert_eq!(samples.len(), 32_000, "exactly 2 s");
    let share = power_share_at(&samples[800..], 6000.0);
    assert!(share > 0.9, "{share} of the power at 6 kHz");
    let level = rms_dbfs(&samples[800..]);
    assert!((-14.0..-7.0).contains(&level), "level {level} dBFS");
}

#[test]
fn zonecast_records_ffmpegs_g722_stream_at_16_khz() {
    require("ffmpeg");
    let Recording {
        _dir,
        out,
        port,
        child: rec,
        ..
    } = start_recording(
        "ffmpeg722.wav",
        None,
        &["--codec", "g722", "--idle", "1", "--json"],
    );
    let ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"])
        .args(["-i", "sine=frequency=6000:sample_rate=16000:duration=3"])
        .args(["-af", "asetnsamples=n=320:p=0", "-ac", "1", "-ar", "16000"])
        .args(["-acodec", "g722", "-payload_type", "9", "-f", "rtp"])
        .arg(format!("rtp://127.0.0.1:{port}?pkt_size=172"))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        ff.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&ff.stderr)
    );
    let rec = rec.wait_with_output().unwrap();
    assert!(rec.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&rec.stdout).unwrap();
    assert_eq!(summary["lost"], 0, "{summary}");
    assert_eq!(summary["unsupported"], 0, "{summary}");
    let (rate, samples) = read_wav(&out);
    assert_eq!(rate, 16_000);
    let secs = samples.len() as f64 / f64::from(rate);
    assert!(
        (secs - 3.0).abs() < 0.05,
        "recorded {secs} s of a 3 s stream"
    );
    let share = power_share_at(&samples[1600..samples.len() - 1600], 6000.0);
    assert!(share > 0.9, "{share} of the power at 6 kHz");
}

#[test]
fn g722_recordings_are_wav_only_and_g711_tones_stay_below_4_khz() {
    let out = zonecast()
        .args(["record", "--listen", "127.0.0.1:20480", "--out", "x.opus"])
        .args(["--codec", "g722"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WAV only"));
    let out = zonecast()
        .args(["send", "--tone", "6000", "--to", "127.0.0.1:20480"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--codec g722"));
}

#[test]
fn a_44_1_khz_file_is_resampled_once_to_16_khz_and_ffmpeg_hears_its_6_khz_tone() {
    require("ffmpeg");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tone44k.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&file, spec).unwrap();
    for i in 0..44_100 {
        let s =
            (10_000.0 * (std::f64::consts::TAU * 6000.0 * f64::from(i) / 44_100.0).sin()) as i16;
        w.write_sample(s).unwrap();
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let (sock, port) = bound_even_socket();
    // As above: only a stream silent this long has ended, even on a loaded machine.
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let sender = zonecast()
        .args(["send", "--codec", "g722", "--file"])
        .arg(&file)
        .args(["--to", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut payloads = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = sock.recv(&mut buf) {
        assert_eq!((n, buf[1] & 0x7F), (172, 9));
        payloads.extend_from_slice(&buf[12..n]);
    }
    assert!(sender.wait_with_output().unwrap().status.success());
    assert_eq!(payloads.len(), 50 * 160, "1 s: 50 packets");
    let raw = dir.path().join("capture.g722");
    let wav = dir.path().join("decoded.wav");
    std::fs::write(&raw, &payloads).unwrap();
    let ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "g722", "-i"])
        .arg(&raw)
        .args(["-c:a", "pcm_s16le"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(ff.status.success());
    let (rate, samples) = read_wav(&wav);
    assert_eq!((rate, samples.len()), (16_000, 16_000));
    let share = power_share_at(&samples[800..15_200], 6000.0);
    assert!(share > 0.9, "{share} of the power at 6 kHz");
}
