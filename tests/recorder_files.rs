//! Files written by `rtp::Recorder`, read back by independent readers: hound and sox for WAV,
//! the `ogg` crate + libopus and ffprobe for Ogg Opus. The "killed" tests leak the recorder with
//! `mem::forget`, which is what SIGKILL does to it: no finalisation, and whatever sits in the
//! user-space buffers is lost. Only what was handed to the OS survives.
//!
//! sox and ffprobe are required, not optional: without them the test fails and says so (`make
//! test` installs them).

use std::f64::consts::PI;
use std::fs;
use std::path::Path;
use std::process::Command;

use audiopus::coder::Decoder;
use audiopus::{Channels, SampleRate};
use tempfile::TempDir;
use zonecast::rtp::{RecordFormat, Recorder};

const RATE: usize = 8000;
const FRAME: usize = 160;

/// A sine at `freq` Hz, amplitude `amp`, starting at sample index `start` (so consecutive calls
/// continue the phase).
fn tone(freq: f64, amp: f64, start: usize, len: usize) -> Vec<i16> {
    (start..start + len)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / RATE as f64).sin()).round() as i16)
        .collect()
}

/// Write in 20 ms chunks, as the receiver does.
fn write_frames(rec: &mut Recorder, pcm: &[i16]) {
    for chunk in pcm.chunks(FRAME) {
        rec.write(chunk).expect("write");
    }
}

/// Run an external tool, failing the test with an actionable message if it is not installed.
fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "`{tool}` could not be run ({e}): it must be on PATH for this test \
             (`make test` installs sox and ffmpeg; or apt-get install sox ffmpeg)"
        )
    });
    assert!(
        out.status.success(),
        "`{tool} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Goertzel power of `freq` in `x`.
fn goertzel(x: &[f64], freq: f64) -> f64 {
    let w = 2.0 * PI * freq / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

// ---------------------------------------------------------------------------------------------
// WAV

#[test]
fn wav_killed_after_3_5_s_opens_in_hound_and_sox_with_at_least_2_5_s() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("killed.wav");
    // A ramp-modulated tone: every sample differs from its neighbours, so an offset would show.
    let written: Vec<i16> = tone(440.0, 9000.0, 0, 28_000)
        .iter()
        .enumerate()
        .map(|(i, &s)| s.wrapping_add((i % 97) as i16))
        .collect();

    let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
    write_frames(&mut rec, &written);
    assert_eq!(rec.samples_written(), 28_000);
    std::mem::forget(rec);

    // hound: the header says what the last checkpoint (3.0 s) made durable.
    let reader = hound::WavReader::open(&path).expect("killed WAV opens in hound");
    assert_eq!(reader.spec().sample_rate, 8000);
    assert_eq!(reader.spec().channels, 1);
    assert_eq!(reader.spec().bits_per_sample, 16);
    let got: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("killed WAV decodes");
    eprintln!("killed WAV: {} samples readable of 28000", got.len());
    assert!(got.len() >= 20_000, "only {} samples readable", got.len());
    assert_eq!(
        got[..],
        written[..got.len()],
        "samples differ from what was written"
    );

    // sox: duration from the header, and the decoded samples.
    let secs: f64 = run("sox", &["--i", "-D", path_str(&path)])
        .trim()
        .parse()
        .expect("sox --i -D prints seconds");
    eprintln!("killed WAV: sox reports {secs} s");
    assert!(secs >= 2.5, "sox reports {secs} s");
    let raw = Command::new("sox")
        .args([
            path_str(&path),
            "-t",
            "raw",
            "-e",
            "signed",
            "-b",
            "16",
            "-L",
            "-",
        ])
        .output()
        .expect("sox runs");
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let from_sox: Vec<i16> = raw
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(from_sox.len() >= 20_000);
    assert_eq!(from_sox[..], written[..from_sox.len()]);
}

#[test]
fn wav_finished_reports_exact_length_in_sox() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("done.wav");
    let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
    write_frames(&mut rec, &tone(1000.0, 8000.0, 0, 4000));
    rec.write_silence(5000).unwrap();
    rec.write(&[1, 2, 3]).unwrap();
    assert_eq!(rec.finish().unwrap(), 9003);

    let p = path_str(&path);
    assert_eq!(run("sox", &["--i", "-s", p]).trim(), "9003");
    assert_eq!(run("sox", &["--i", "-r", p]).trim(), "8000");
    assert_eq!(run("sox", &["--i", "-c", p]).trim(), "1");
    assert_eq!(fs::metadata(&path).unwrap().len(), 44 + 2 * 9003);
}

// ---------------------------------------------------------------------------------------------
// Ogg Opus

/// One Ogg page as seen on disk.
#[derive(Debug)]
struct Page {
    bos: bool,
    eos: bool,
    granule: u64,
    /// Packets that end on this page.
    packets: usize,
}

/// Walk the raw pages (the `ogg` reader hides page boundaries, which are what durability and
/// RFC 7845's "alone on a page" are about). Stops at a truncated page.
fn pages(bytes: &[u8]) -> Vec<Page> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 27 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"OggS", "page capture at byte {at}");
        let flags = bytes[at + 5];
        let granule = u64::from_le_bytes(bytes[at + 6..at + 14].try_into().unwrap());
        let nseg = bytes[at + 26] as usize;
        if at + 27 + nseg > bytes.len() {
            break;
        }
        let lacing = &bytes[at + 27..at + 27 + nseg];
        let body: usize = lacing.iter().map(|&l| l as usize).sum();
        if at + 27 + nseg + body > bytes.len() {
            break;
        }
        out.push(Page {
            bos: flags & 2 != 0,
            eos: flags & 4 != 0,
            granule,
            packets: lacing.iter().filter(|&&l| l < 255).count(),
        });
        at += 27 + nseg + body;
    }
    out
}

struct OggOpus {
    head: Vec<u8>,
    tags: Vec<u8>,
    audio: Vec<Vec<u8>>,
    /// Granule of the last readable page.
    last_granule: u64,
    eos: bool,
}

impl OggOpus {
    fn pre_skip(&self) -> u64 {
        u64::from(u16::from_le_bytes([self.head[10], self.head[11]]))
    }

    /// Playable duration in seconds by the granule (what players show).
    fn granule_secs(&self) -> f64 {
        (self.last_granule - self.pre_skip()) as f64 / 48_000.0
    }
}

/// Read every packet the `ogg` crate can get out of the file. A killed file has no EOS page;
/// reading stops cleanly at its end.
fn read_ogg(path: &Path) -> OggOpus {
    let mut reader = ogg::PacketReader::new(fs::File::open(path).unwrap());
    let head = reader.read_packet_expected().expect("OpusHead packet");
    assert!(head.first_in_stream(), "OpusHead must be on the BOS page");
    assert!(head.last_in_page(), "OpusHead must be alone on its page");
    let tags = reader.read_packet_expected().expect("OpusTags packet");
    assert!(
        tags.first_in_page() && tags.last_in_page(),
        "OpusTags must be alone on its page"
    );
    assert_eq!(tags.stream_serial(), head.stream_serial());
    let mut audio = Vec::new();
    let mut last_granule = 0;
    let mut eos = false;
    while let Some(p) = reader.read_packet().expect("pages are intact") {
        last_granule = p.absgp_page();
        eos = p.last_in_stream();
        audio.push(p.data);
    }
    OggOpus {
        head: head.data,
        tags: tags.data,
        audio,
        last_granule,
        eos,
    }
}

/// Decode all packets at 8 kHz and apply pre-skip; with `end_trim`, cut to the granule too.
fn decode(ogg: &OggOpus, end_trim: bool) -> Vec<i16> {
    let mut dec = Decoder::new(SampleRate::Hz8000, Channels::Mono).unwrap();
    let mut all = Vec::new();
    let mut buf = vec![0i16; 960];
    for packet in &ogg.audio {
        let n = dec
            .decode(Some(&packet[..]), &mut buf[..], false)
            .expect("packet decodes");
        assert_eq!(n, FRAME, "every packet is 20 ms");
        all.extend_from_slice(&buf[..n]);
    }
    let skip = (ogg.pre_skip() / 6) as usize;
    let mut out = all.split_off(skip.min(all.len()));
    if end_trim {
        out.truncate(((ogg.last_granule - ogg.pre_skip()) / 6) as usize);
    }
    out
}

fn check_head_and_tags(ogg: &OggOpus) {
    let h = &ogg.head;
    assert_eq!(h.len(), 19);
    assert_eq!(&h[..8], b"OpusHead");
    assert_eq!(h[8], 1, "version");
    assert_eq!(h[9], 1, "channel count");
    let pre_skip = ogg.pre_skip();
    assert!(pre_skip > 0 && pre_skip < 4800, "pre-skip {pre_skip}");
    assert_eq!(
        u32::from_le_bytes(h[12..16].try_into().unwrap()),
        8000,
        "input rate"
    );
    assert_eq!(i16::from_le_bytes([h[16], h[17]]), 0, "output gain");
    assert_eq!(h[18], 0, "mapping family");

    let t = &ogg.tags;
    assert_eq!(&t[..8], b"OpusTags");
    let vlen = u32::from_le_bytes(t[8..12].try_into().unwrap()) as usize;
    assert_eq!(&t[12..12 + vlen], b"zonecast");
    assert_eq!(
        u32::from_le_bytes(t[12 + vlen..16 + vlen].try_into().unwrap()),
        0
    );
    assert_eq!(t.len(), 16 + vlen);
}

/// (codec, channels, duration) as ffprobe sees the file.
fn ffprobe(path: &Path) -> (String, u32, f64) {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,channels:format=duration",
            "-of",
            "default=noprint_wrappers=1",
            path_str(path),
        ],
    );
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("ffprobe printed no {k}: {out}"))
            .to_string()
    };
    (
        field("codec_name"),
        field("channels").parse().unwrap(),
        field("duration").parse().unwrap(),
    )
}

#[test]
fn opus_tone_round_trip_rfc_7845_layout_and_ffprobe() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tone.opus");
    let written = tone(1000.0, 10_000.0, 0, 3 * RATE);
    let mut rec = Recorder::create(&path, RecordFormat::Opus).unwrap();
    write_frames(&mut rec, &written);
    assert_eq!(rec.finish().unwrap(), 24_000);

    let bytes = fs::read(&path).unwrap();
    eprintln!(
        "Opus: {} bytes for 3 s = {:.0} bytes/s (WAV would be 16000)",
        bytes.len(),
        bytes.len() as f64 / 3.0
    );
    assert!(bytes.len() < 3 * 4000, "{} bytes for 3 s", bytes.len());

    let ogg = read_ogg(&path);
    check_head_and_tags(&ogg);
    assert!(ogg.eos, "finished stream ends with EOS");
    let pre_skip = ogg.pre_skip();
    eprintln!("Opus: pre-skip {pre_skip}, {} packets", ogg.audio.len());

    // Pages: head and tags alone, audio pages of at most 50 packets (1 s), granules in 48 kHz
    // counting decoded samples, the last one trimming the padding; BOS first, EOS last.
    let pages = pages(&bytes);
    assert!(pages[0].bos && pages[0].packets == 1 && pages[0].granule == 0);
    assert!(!pages[1].bos && pages[1].packets == 1 && pages[1].granule == 0);
    let mut packets = 0u64;
    for (i, page) in pages.iter().enumerate().skip(2) {
        assert!(!page.bos);
        assert!(
            page.packets >= 1 && page.packets <= 50,
            "page {i}: {page:?}"
        );
        packets += page.packets as u64;
        if i + 1 < pages.len() {
            assert!(!page.eos);
            assert_eq!(page.granule, packets * 960, "page {i}");
        } else {
            assert!(page.eos);
            assert_eq!(
                page.granule,
                pre_skip + 24_000 * 6,
                "last page trims padding"
            );
            assert!(page.granule <= packets * 960);
        }
    }
    assert_eq!(packets as usize, ogg.audio.len());

    // Duration: by the granule exactly, by the decoded packets within 40 ms.
    assert!(
        (ogg.granule_secs() - 3.0).abs() < 1e-9,
        "{}",
        ogg.granule_secs()
    );
    let untrimmed = decode(&ogg, false);
    let secs = untrimmed.len() as f64 / RATE as f64;
    assert!((secs - 3.0).abs() <= 0.040, "decoded {secs} s");
    let decoded = decode(&ogg, true);
    assert_eq!(decoded.len(), 24_000);

    // Content: a 1 kHz tone, not something else (skip the first 100 ms of encoder start-up).
    let x: Vec<f64> = decoded[800..].iter().map(|&s| f64::from(s)).collect();
    let (e1, e2, e3) = (
        goertzel(&x, 1000.0),
        goertzel(&x, 2000.0),
        goertzel(&x, 3000.0),
    );
    eprintln!("Goertzel: 1 kHz {e1:.3e}, 2 kHz {e2:.3e}, 3 kHz {e3:.3e}");
    assert!(e1 > 1000.0 * e2 && e1 > 1000.0 * e3);
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
    assert!(
        rms > 0.5 * 10_000.0 / 2f64.sqrt(),
        "rms {rms}: the tone lost its level"
    );

    let (codec, channels, duration) = ffprobe(&path);
    eprintln!("ffprobe: {codec}, {channels} channel(s), {duration} s");
    assert_eq!(codec, "opus");
    assert_eq!(channels, 1);
    assert!((duration - 3.0).abs() <= 0.1, "ffprobe duration {duration}");
}

#[test]
fn opus_killed_after_3_5_s_keeps_at_least_2_5_s() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("killed.opus");
    let mut rec = Recorder::create(&path, RecordFormat::Opus).unwrap();
    write_frames(&mut rec, &tone(1000.0, 10_000.0, 0, 28_000));
    std::mem::forget(rec);

    let ogg = read_ogg(&path);
    check_head_and_tags(&ogg);
    assert!(!ogg.eos, "a killed stream has no EOS page");
    let secs = ogg.granule_secs();
    let decoded = decode(&ogg, true);
    eprintln!(
        "killed Opus: {} packets, granule says {secs} s, {} samples decoded",
        ogg.audio.len(),
        decoded.len()
    );
    assert!(ogg.audio.len() * FRAME >= 20_000 + (ogg.pre_skip() / 6) as usize);
    assert!(secs >= 2.5, "{secs} s readable");
    assert!(decoded.len() >= 20_000);

    let (codec, channels, duration) = ffprobe(&path);
    eprintln!("ffprobe on killed file: {codec}, {channels}, {duration} s");
    assert_eq!(codec, "opus");
    assert!(duration >= 2.5, "ffprobe duration {duration}");
}

#[test]
fn opus_dropped_without_finish_is_finalised() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("dropped.opus");
    let mut rec = Recorder::create(&path, RecordFormat::Opus).unwrap();
    write_frames(&mut rec, &tone(1000.0, 10_000.0, 0, 1234));
    drop(rec);

    let ogg = read_ogg(&path);
    assert!(ogg.eos);
    assert_eq!(ogg.last_granule - ogg.pre_skip(), 1234 * 6);
    assert_eq!(decode(&ogg, true).len(), 1234);
}

#[test]
fn opus_gap_decodes_as_silence_between_tones() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("gap.opus");
    let mut rec = Recorder::create(&path, RecordFormat::Opus).unwrap();
    write_frames(&mut rec, &tone(1000.0, 10_000.0, 0, RATE));
    rec.write_silence(RATE as u64).unwrap();
    write_frames(&mut rec, &tone(1000.0, 10_000.0, 2 * RATE, RATE));
    assert_eq!(rec.finish().unwrap(), 3 * RATE as u64);

    let decoded = decode(&read_ogg(&path), true);
    assert_eq!(decoded.len(), 3 * RATE);
    let rms =
        |s: &[i16]| (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    // Leave 50 ms either side of each edge for the codec's transitions.
    let (a, gap, b) = (
        rms(&decoded[400..RATE - 400]),
        rms(&decoded[RATE + 400..2 * RATE - 400]),
        rms(&decoded[2 * RATE + 400..3 * RATE - 400]),
    );
    eprintln!("rms: tone {a:.0}, gap {gap:.1}, tone {b:.0}");
    assert!(a > 5000.0 && b > 5000.0);
    assert!(gap < 50.0);
}
