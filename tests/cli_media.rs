//! The `zonecast send` and `record` commands end to end: real processes, real UDP on loopback,
//! real files, and outside tools (ffmpeg, tshark, sox) as the independent judges.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn tone_sent_by_send_is_recorded_with_right_length_and_pitch() {
    let Recording {
        _dir,
        out,
        listen,
        child: rec,
        ..
    } = start_recording("tone.wav", None, &["--idle", "1", "--json"]);
    let send = zonecast()
        .args([
            "send",
            "--tone",
            "1000",
            "--to",
            &listen,
            "--duration",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        send.status.success(),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    let sent: serde_json::Value = serde_json::from_slice(&send.stdout).unwrap();
    assert_eq!(sent["packets"], 100);
    assert_eq!(sent["datagrams"], 100);
    assert_eq!(sent["stopped_by"], "duration");
    let rec = rec.wait_with_output().unwrap();
    assert!(rec.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&rec.stdout).unwrap();
    assert_eq!(summary["packets"], 100);
    assert_eq!(summary["lost"], 0);
    let (rate, samples) = read_wav(&out);
    assert_eq!(rate, 8000);
    assert_eq!(samples.len(), 16000, "exactly 100 frames of 160");
    let f = tone_frequency(&samples, rate);
    assert!((f - 1000.0).abs() < 5.0, "pitch {f} Hz");
    let level = rms_dbfs(&samples);
    assert!((-14.0..-9.0).contains(&level), "level {level} dBFS");
}

#[test]
fn one_stream_reaches_many_unicast_destinations_identically() {
    let receivers: Vec<_> = (0..5).map(|_| bound_even_socket()).collect();
    let mut args = vec!["send".to_string(), "--tone".into(), "chime".into()];
    for (_, p) in &receivers {
        args.push("--to".into());
        args.push(format!("127.0.0.1:{p}"));
    }
    let out = zonecast().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut payloads = Vec::new();
    for (s, _) in &receivers {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = s.recv(&mut buf) {
            assert_eq!(n, 172, "172 bytes on the wire");
            got.push(buf[..n].to_vec());
        }
        assert!(
            got.len() >= 50,
            "a chime is over a second: {} packets",
            got.len()
        );
        payloads.push(got);
    }
    assert!(
        payloads.windows(2).all(|w| w[0] == w[1]),
        "every phone gets the same packets"
    );
    // Sequence numbers and timestamps are contiguous; marker only on the first.
    let p = &payloads[0];
    for w in p.windows(2) {
        let seq = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
        let ts = |b: &[u8]| u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        assert_eq!(seq(&w[1]), seq(&w[0]).wrapping_add(1));
        assert_eq!(ts(&w[1]), ts(&w[0]).wrapping_add(160));
        assert_eq!(w[1][1], 0, "PT 0, no marker");
    }
    assert_eq!(p[0][1], 0x80, "marker on the first packet, PT 0");
}

#[test]
fn multicast_group_on_loopback_is_received_by_a_member() {
    let group = format!(
        "239.255.{}.{}",
        rand::random::<u8>(),
        1 + rand::random::<u8>() % 250
    );
    let Recording {
        _dir,
        out,
        port,
        child: rec,
        ..
    } = start_recording("group.wav", Some(&group), &["--idle", "1"]);
    let send = zonecast()
        .args(["send", "--tone", "440", "--to", &format!("{group}:{port}")])
        .args(["--interface", "127.0.0.1", "--ttl", "1", "--duration", "1"])
        .output()
        .unwrap();
    assert!(
        send.status.success(),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    assert!(rec.wait_with_output().unwrap().status.success());
    let (rate, samples) = read_wav(&out);
    assert_eq!(samples.len(), 8000);
    let f = tone_frequency(&samples, rate);
    assert!((f - 440.0).abs() < 5.0, "pitch {f}");
}

#[test]
fn alaw_stream_is_payload_type_8_and_records_the_same_pitch() {
    let (sock, port) = bound_even_socket();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let out = zonecast()
        .args(["send", "--tone", "700", "--alaw", "--duration", "0.2"])
        .args(["--to", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(n, 172);
    assert_eq!(buf[1] & 0x7F, 8);
}

#[test]
fn odd_or_out_of_range_ports_are_refused_with_exit_2() {
    for bad in [
        "127.0.0.1:20481",
        "127.0.0.1:20478",
        "127.0.0.1:32770",
        "127.0.0.1:5004",
    ] {
        let out = zonecast()
            .args(["send", "--tone", "1000", "--to", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "send to {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(bad) && err.contains("even, 20480..=32768"),
            "{err}"
        );
    }
    let out = zonecast()
        .args([
            "record",
            "--listen",
            "127.0.0.1:24001",
            "--out",
            "/tmp/never.wav",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("24001"));
    // Other bad input: exit 2 too, with the reason.
    let out = zonecast()
        .args([
            "send",
            "--file",
            "/no/such/file.wav",
            "--to",
            "127.0.0.1:20480",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.wav"));
    // A microphone that does not exist: the message names the devices that do.
    let out = zonecast()
        .args(["send", "--mic", "no-such-mic", "--to", "127.0.0.1:20480"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"no-such-mic\"") && err.contains("input devices"),
        "{err}"
    );
    let out = zonecast()
        .args(["send", "--tone", "9000", "--to", "127.0.0.1:20480"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn recording_of_an_ffmpeg_pcmu_stream_has_right_length_and_pitch() {
    require("ffmpeg");
    let Recording {
        _dir,
        out,
        port,
        child: rec,
        ..
    } = start_recording("ffmpeg.wav", None, &["--idle", "1", "--json"]);
    let ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"])
        .args(["-i", "sine=frequency=800:sample_rate=8000:duration=3"])
        .args(["-af", "asetnsamples=n=160:p=0", "-ac", "1", "-ar", "8000"])
        .args(["-acodec", "pcm_mulaw", "-payload_type", "0", "-f", "rtp"])
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
    let (rate, samples) = read_wav(&out);
    let secs = samples.len() as f64 / rate as f64;
    assert!(
        (secs - 3.0).abs() < 0.05,
        "recorded {secs} s of a 3 s stream"
    );
    let f = tone_frequency(&samples[800..samples.len() - 800], rate);
    assert!((f - 800.0).abs() < 5.0, "pitch {f}");
}

#[test]
fn wireshark_decodes_the_stream_as_pcmu_without_loss_or_sequence_errors() {
    require("tshark");
    // Receive what `zonecast send` puts on the wire and keep it in a pcap for tshark.
    let (sock, port) = bound_even_socket();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let sender = zonecast()
        .args([
            "send",
            "--tone",
            "1000",
            "--duration",
            "1",
            "--to",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut packets = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = sock.recv_from(&mut buf) {
        packets.push((std::time::SystemTime::now(), from.port(), buf[..n].to_vec()));
    }
    assert!(sender.wait_with_output().unwrap().status.success());
    assert_eq!(packets.len(), 50);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("send.pcap");
    write_pcap(&pcap, port, &packets);
    let out = Command::new("tshark")
        .args([
            "-n",
            "-r",
            pcap.to_str().unwrap(),
            "-d",
            &format!("udp.port=={port},rtp"),
        ])
        .args(["-q", "-z", "rtp,streams"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = text
        .lines()
        .find(|l| l.contains("127.0.0.1") && l.contains(&port.to_string()))
        .unwrap_or_else(|| panic!("no RTP stream in tshark's table:\n{text}"));
    assert!(
        row.contains("g711U") || row.contains("PCMU"),
        "codec: {row}"
    );
    // Columns: ... Payload, Pkts, Lost (pct), Min Delta ...; Lost must be 0 (0.0%).
    let fields: Vec<&str> = row.split_whitespace().collect();
    let lost_at = fields
        .iter()
        .position(|f| f.starts_with("("))
        .expect("lost column");
    assert_eq!(fields[lost_at - 1], "0", "lost: {row}");
    assert_eq!(fields[lost_at - 2], "50", "packets: {row}");
    assert!(
        !row.contains(" X") && !text.contains("Wrong sequence"),
        "sequence errors: {row}"
    );
}

/// A classic pcap of IPv4/UDP datagrams from 127.0.0.1:`src` to 127.0.0.1:`dst` carrying the
/// bytes exactly as received. Headers are rebuilt; the RTP bytes are the wire's.
fn write_pcap(path: &std::path::Path, dst: u16, packets: &[(std::time::SystemTime, u16, Vec<u8>)]) {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&101u32.to_le_bytes()); // LINKTYPE_RAW: starts at the IP header
    for (t, src, data) in packets {
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        let len = 20 + 8 + data.len();
        f.extend_from_slice(&(d.as_secs() as u32).to_le_bytes());
        f.extend_from_slice(&d.subsec_micros().to_le_bytes());
        f.extend_from_slice(&(len as u32).to_le_bytes());
        f.extend_from_slice(&(len as u32).to_le_bytes());
        let mut ip = vec![0x45, 0xB8];
        ip.extend_from_slice(&(len as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&src.to_be_bytes());
        f.extend_from_slice(&dst.to_be_bytes());
        f.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(data);
    }
    std::fs::write(path, f).unwrap();
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
        .sum();
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

#[test]
fn a_recording_killed_with_sigkill_opens_in_sox_with_all_but_the_last_second() {
    require("sox");
    let Recording {
        _dir,
        out,
        listen,
        child: mut rec,
        ..
    } = start_recording("killed.wav", None, &[]);
    let send = zonecast()
        .args([
            "send",
            "--tone",
            "1000",
            "--to",
            &listen,
            "--duration",
            "3.5",
        ])
        .output()
        .unwrap();
    assert!(send.status.success());
    // SIGKILL: no chance to finish the file.
    rec.kill().unwrap();
    rec.wait().unwrap();
    let soxi = Command::new("soxi")
        .args(["-D", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        soxi.status.success(),
        "sox cannot open it: {}",
        String::from_utf8_lossy(&soxi.stderr)
    );
    let secs: f64 = String::from_utf8_lossy(&soxi.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!((2.5..=3.5).contains(&secs), "sox sees {secs} s of 3.5 s");
    let (rate, samples) = read_wav(&out);
    let f = tone_frequency(&samples, rate);
    assert!((f - 1000.0).abs() < 5.0);
}

#[test]
fn opus_recording_is_compact_and_decodes() {
    require("ffprobe");
    let Recording {
        _dir,
        out,
        listen,
        child: rec,
        ..
    } = start_recording("tone.opus", None, &["--format", "opus", "--idle", "1"]);
    let send = zonecast()
        .args(["send", "--tone", "1000", "--to", &listen, "--duration", "2"])
        .output()
        .unwrap();
    assert!(send.status.success());
    assert!(rec.wait_with_output().unwrap().status.success());
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,channels:format=duration",
        ])
        .args(["-of", "default=nw=1", out.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(
        text.contains("codec_name=opus") && text.contains("channels=1"),
        "{text}"
    );
    let dur: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .and_then(|d| d.parse().ok())
        .expect("duration");
    assert!((dur - 2.0).abs() < 0.1, "duration {dur}");
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(
        size < 16_000 / 2,
        "Opus is smaller than a quarter of G.711: {size} bytes for 2 s"
    );
}

#[test]
fn record_without_packets_exits_1_and_demo_hears_everything() {
    let port = free_even_port();
    let dir = tempfile::tempdir().unwrap();
    let out = zonecast()
        .args([
            "record",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--duration",
            "0.3",
        ])
        .args(["--out", dir.path().join("nothing.wav").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let demo = zonecast()
        .args([
            "demo",
            "--media",
            "--json",
            "--out-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&demo.stdout).unwrap();
    let receivers = v["receivers"].as_array().unwrap();
    assert_eq!(receivers.len(), 3);
    for r in receivers {
        assert_eq!(r["identical_to_sent"], true, "{r}");
        assert_eq!(r["lost"], 0);
        let path = r["recording"].as_str().unwrap();
        assert!(std::path::Path::new(path).exists());
    }
}

#[test]
fn the_demo_pages_fifty_emulated_phones_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = zonecast()
        .args(["demo", "--json", "--out-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["as_expected"], true);
    assert_eq!(v["report"]["totals"]["phones"], 50);
    assert_eq!(v["report"]["totals"]["accepted"], 45);
    assert!(v["seconds"].as_f64().unwrap() < 60.0);
    let heard = v["heard"].as_array().unwrap();
    assert_eq!(heard.len(), 49);
    assert!(heard.iter().all(|h| h["still_listening"] == false));
    let mic = v["microphone"]["file"].as_str().unwrap();
    let (rate, samples) = read_wav(std::path::Path::new(mic));
    assert_eq!(rate, 8000);
    assert!(samples.len() >= 8000 * 5 / 2, "{} samples", samples.len());
    assert!(
        !dir.path().join("password").exists(),
        "no password left on disk"
    );
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap_or_default();
    assert!(journal.is_empty(), "{journal}");
}
