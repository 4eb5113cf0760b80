//! Issue 22's dial-in benchmarks (figures in BENCHMARKS.md, "Dialling in over SIP"): a real
//! `zonecast serve` with `[sip]`, emulated phones on loopback, Debian's sipp as the trunk
//! (`tests/sip/uac_bench.xml`: INVITE with PCMU, a 1 kHz tone, BYE). Every test is
//! `#[ignore]`d and prints its figures; none asserts a time. One at a time, on a quiet machine:
//!
//! ```sh
//! cargo test --release --test sip_bench -- --ignored --test-threads=1 --nocapture
//! ```
//!
//! - `invite_to_200_ok`: sipp's own response-time trace (`-trace_rtt`, INVITE sent → 200 OK
//!   received) over sequential calls; the floor is the same measure for OPTIONS (sipp and the
//!   SIP stack alone, no page planned).
//! - `dial_to_first_audio_with_phones_answering_in_200_ms`: from the INVITE to the first RTP
//!   packet at each phone (the phones' own `CLOCK_MONOTONIC` stamps) and to the caller's tone at
//!   the phones (its onset in what each phone recorded), every phone answering pushes after
//!   200 ms.
//! - `mouth_to_ear_added_by_the_relay`: the caller's media is this test's own socket (sipp
//!   signals, its SDP naming that socket): after the "go ahead" beep it sends a 20 ms burst every
//!   half second, stamped as it leaves; each burst's onset in what a phone recorded, at the
//!   phone's own stamp of its first packet plus 20 ms a packet, less the stamp it left with.
//! - `twenty_simultaneous_dial_in_pages`: 20 calls at once to 20 numbers routed to 20 zones
//!   of 2 phones each: packets lost at the phones, and whether each heard its caller's tone.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::cli_setup::{Setup, Spec, Zone};
use common::server::{Server, TOKEN_ENV, wait_for};
use zonecast::rtp::pacer::mono_now_ns;

const TONE_HZ: f64 = 1000.0;

fn sipp_installed() -> bool {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        println!("skipped: sipp is not installed (apt-get install sip-tester)");
    }
    ok
}

fn free_udp_port(even: bool) -> u16 {
    loop {
        let s = std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        let p = s.local_addr().unwrap().port();
        if !even || (p.is_multiple_of(2) && p < 65000) {
            return p;
        }
    }
}

/// `n` phones, zones `z01`.. of `per_zone` phones each, `[sip]` on `port` routing `7101`.. to
/// them; phones answering after `latency`, recording what they hear into `record`.
fn site(
    n: usize,
    per_zone: usize,
    port: u16,
    latency: Option<&str>,
    record: Option<PathBuf>,
) -> Setup {
    let mut tables = format!(
        "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\n\n\
         [sip]\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\nmax_calls = 40\n\n"
    );
    for z in 0..n / per_zone {
        let members: Vec<String> = (0..per_zone)
            .map(|i| format!("\"p{:03}\"", z * per_zone + i + 1))
            .collect();
        let _ = write!(
            tables,
            "[zone.z{:02}]\nmembers = [{}]\n\n[[sip.route]]\nnumber = \"{}\"\nzone = \"z{:02}\"\n\n",
            z + 1,
            members.join(", "),
            7101 + z,
            z + 1
        );
    }
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    Setup::new(&Spec {
        phones: n,
        engine: &engine,
        tables: &tables,
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        latency,
        record_dir: record,
        ..Spec::default()
    })
}

/// Ten seconds of the tone as sipp's `rtp_stream` input (raw µ-law).
fn write_tone(dir: &Path) {
    let ulaw: Vec<u8> = (0..80_000)
        .map(|i| {
            let x = (2.0 * std::f64::consts::PI * TONE_HZ * f64::from(i) / 8000.0).sin();
            zonecast::g711::Law::Ulaw.encode((x * 8000.0) as i16)
        })
        .collect();
    std::fs::write(dir.join("tone.ulaw"), ulaw).unwrap();
}

/// Run sipp in `dir`: `calls` calls of `scenario` to the numbers of `numbers` (in turn), at
/// most `limit` at once, `rate` new calls a second; with `rtt`, its response-time trace.
fn sipp(
    dir: &Path,
    scenario: &str,
    sip_port: u16,
    numbers: &[String],
    (calls, limit, rate): (usize, usize, usize),
) -> Output {
    let inf = dir.join("numbers.csv");
    let mut csv = String::from("SEQUENTIAL\n");
    for n in numbers {
        let _ = writeln!(csv, "{n};");
    }
    std::fs::write(&inf, csv).unwrap();
    let sf = dir.join("scenario.xml");
    std::fs::write(&sf, scenario).unwrap();
    let out = Command::new("sipp")
        .current_dir(dir)
        .arg(format!("127.0.0.1:{sip_port}"))
        .arg("-sf")
        .arg(&sf)
        .arg("-inf")
        .arg(&inf)
        .args(["-i", "127.0.0.1", "-p", &free_udp_port(false).to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &free_udp_port(true).to_string()])
        .args(["-m", &calls.to_string(), "-l", &limit.to_string()])
        .args(["-r", &rate.to_string(), "-timeout", "300s", "-nostdin"])
        .args(["-trace_rtt", "-rtt_freq", "1", "-trace_err"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sipp failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The response times sipp traced, ms, sorted.
fn traced_rtts(dir: &Path) -> Vec<f64> {
    let mut v: Vec<f64> = traced(dir).into_iter().map(|(_, rtt)| rtt).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// sipp's response-time trace (`*_rtt.csv`: `Date_ms;response_time_ms;rtd_no`, the date in ms
/// since sipp started): (when the answer came, how long after the request), ms.
fn traced(dir: &Path) -> Vec<(f64, f64)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if !e.file_name().to_string_lossy().ends_with("_rtt.csv") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        for line in text.lines().skip(1) {
            let mut f = line.split(';').map(|f| f.trim().parse::<f64>().ok());
            if let (Some(Some(at)), Some(Some(rtt))) = (f.next(), f.next()) {
                v.push((at, rtt));
            }
        }
    }
    v
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn scenario() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sip/uac_bench.xml"))
        .unwrap()
}

fn started(srv: &Server) {
    wait_for(srv, "the SIP agent to listen", 20, || {
        srv.log().contains("SIP listening on udp:").then_some(())
    });
}

#[test]
#[ignore]
fn invite_to_200_ok() {
    if !sipp_installed() {
        return;
    }
    const CALLS: usize = 100;
    let port = common::sip_call::free_sip_port("127.0.0.1");
    let s = site(4, 4, port, None, None);
    let srv = Server::start(&s);
    started(&srv);
    let dir = tempfile::tempdir().unwrap();
    write_tone(dir.path());
    // One call at a time (a page of the zone must end before the next takes it), 0.5 s each.
    let short = scenario().replace(
        "<pause milliseconds=\"3000\" />",
        "<pause milliseconds=\"500\" />",
    );
    sipp(dir.path(), &short, port, &["7101".into()], (CALLS, 1, 2));
    let rtts = traced_rtts(dir.path());
    // The floor: OPTIONS through the same agent (its stack, its 200), no page.
    let floor_dir = tempfile::tempdir().unwrap();
    let options = short
        .split("<recv response=\"200\" rtd=\"true\" />")
        .next()
        .unwrap()
        .replace("INVITE sip:", "OPTIONS sip:")
        .replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS")
        .replace("<recv response=\"100\" optional=\"true\" />", "")
        .replace("<recv response=\"180\" optional=\"true\" />", "")
        + "<recv response=\"200\" rtd=\"true\" />\n</scenario>\n";
    sipp(
        floor_dir.path(),
        &options,
        port,
        &["7101".into()],
        (CALLS, 1, 10),
    );
    let floor = traced_rtts(floor_dir.path());
    println!(
        "INVITE -> 200 OK over {} calls: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         (target 50 ms: p99 {:.2}x); floor, OPTIONS -> 200 over {}: p50 {:.1} ms, p99 {:.1} ms",
        rtts.len(),
        pct(&rtts, 0.5),
        pct(&rtts, 0.99),
        pct(&rtts, 1.0),
        pct(&rtts, 0.99) / 50.0,
        floor.len(),
        pct(&floor, 0.5),
        pct(&floor, 0.99),
    );
}

#[test]
#[ignore]
fn dial_to_first_audio_with_phones_answering_in_200_ms() {
    if !sipp_installed() {
        return;
    }
    const PHONES: usize = 10;
    const RUNS: usize = 5;
    let port = common::sip_call::free_sip_port("127.0.0.1");
    let rec = tempfile::tempdir().unwrap();
    let s = site(
        PHONES,
        PHONES,
        port,
        Some("200ms"),
        Some(rec.path().to_owned()),
    );
    let srv = Server::start(&s);
    started(&srv);
    let (mut first_packet, mut first_tone) = (Vec::new(), Vec::new());
    let mut invite_to_ok = Vec::new();
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        write_tone(dir.path());
        let spawned = mono_now_ns();
        sipp(dir.path(), &scenario(), port, &["7101".into()], (1, 1, 1));
        // The INVITE left when its answer came less the response time (sipp schedules its first
        // call up to a second after it starts, by its rate).
        let (at, rtt) = traced(dir.path())[0];
        let t0 = spawned + ((at - rtt) * 1e6) as u64;
        invite_to_ok.push(rtt);
        wait_for(&srv, "the page to end", 20, || {
            (common::server::listening(&s.report()) == 0).then_some(())
        });
        for p in s.report().phones {
            let Some(h) = p.heard.get(run) else { continue };
            let Some(first) = h.rx.summary.first_packet_ns else {
                continue;
            };
            first_packet.push(first.saturating_sub(t0) as f64 / 1e6);
            // The caller's tone in what the phone recorded (its WAV starts at the first packet).
            let wav = rec.path().join(format!("{}-{:03}.wav", p.name, run + 1));
            if let Ok(r) = hound::WavReader::open(&wav) {
                let samples: Vec<i16> = r.into_samples::<i16>().map_while(Result::ok).collect();
                if let Some(i) = samples.iter().position(|s| s.unsigned_abs() > 2000) {
                    first_tone.push(first_packet.last().unwrap() + i as f64 / 8.0);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    first_packet.sort_by(f64::total_cmp);
    first_tone.sort_by(f64::total_cmp);
    println!(
        "dial (the INVITE) -> first RTP packet at the phones ({} phone-calls, phones answering \
         in 200 ms): p50 {:.0} ms, max {:.0} ms (target 500 ms: {:.2}x); dial -> the caller's \
         tone at the phones ({}): p50 {:.0} ms, max {:.0} ms; INVITE -> 200 OK: {:?} ms",
        first_packet.len(),
        pct(&first_packet, 0.5),
        pct(&first_packet, 1.0),
        pct(&first_packet, 1.0) / 500.0,
        first_tone.len(),
        pct(&first_tone, 0.5),
        pct(&first_tone, 1.0),
        invite_to_ok,
    );
}

#[test]
#[ignore]
fn twenty_simultaneous_dial_in_pages() {
    if !sipp_installed() {
        return;
    }
    const ZONES: usize = 20;
    let port = common::sip_call::free_sip_port("127.0.0.1");
    let s = site(2 * ZONES, 2, port, None, None);
    let srv = Server::start(&s);
    started(&srv);
    let dir = tempfile::tempdir().unwrap();
    write_tone(dir.path());
    let numbers: Vec<String> = (0..ZONES).map(|z| (7101 + z).to_string()).collect();
    let long = scenario().replace(
        "<pause milliseconds=\"3000\" />",
        "<pause milliseconds=\"8000\" />",
    );
    sipp(dir.path(), &long, port, &numbers, (ZONES, ZONES, ZONES));
    wait_for(&srv, "every page to end", 30, || {
        (common::server::listening(&s.report()) == 0).then_some(())
    });
    let r = s.report();
    let (mut packets, mut lost, mut heard) = (0u64, 0u64, 0usize);
    for p in &r.phones {
        let Some(h) = p.heard.last() else { continue };
        packets += h.rx.summary.packets;
        lost += h.rx.summary.lost;
        // The tone, over the last half second it played.
        if h.rx
            .summary
            .frequency_hz
            .is_some_and(|f| (f - TONE_HZ).abs() < 15.0)
        {
            heard += 1;
        }
    }
    let pages = srv.log().matches("ended (the caller hung up)").count();
    println!(
        "{ZONES} simultaneous dial-in pages to {ZONES} zones of 2 phones: {pages} pages ended by \
         the callers' BYE, {heard} of {} phones heard their caller, {packets} packets at the \
         phones, {lost} lost (target 0)",
        r.phones.len()
    );
}

/// Goertzel power of `hz` in `frame` (8 kHz), relative to the frame's energy.
fn share_at(frame: &[i16], hz: f32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f64::from(hz) / 8000.0;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in frame {
        let s0 = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    let energy: f64 = frame.iter().map(|&x| f64::from(x).powi(2)).sum();
    if energy < 1e3 {
        0.0
    } else {
        power / (energy * frame.len() as f64 / 2.0)
    }
}

/// The onsets (sample indexes) of bursts in `samples`: the first sample above a third of the
/// loudest after at least 200 ms below it.
fn onsets(samples: &[i16]) -> Vec<usize> {
    let loudest = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let threshold = (loudest / 3).max(500);
    let mut out: Vec<usize> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.unsigned_abs() >= threshold && out.last().is_none_or(|&last| i - last > 1600) {
            out.push(i);
        }
    }
    out
}

#[test]
#[ignore]
fn mouth_to_ear_added_by_the_relay() {
    if !sipp_installed() {
        return;
    }
    const BURSTS: usize = 12;
    let port = common::sip_call::free_sip_port("127.0.0.1");
    let rec = tempfile::tempdir().unwrap();
    let s = site(2, 2, port, None, Some(rec.path().to_owned()));
    let srv = Server::start(&s);
    started(&srv);
    let (mouth, mouth_port) = common::bound_even_socket();
    mouth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tone(dir.path());
    // sipp signals only: its SDP names this test's socket, and it streams nothing.
    let call = scenario()
        .replace("m=audio [media_port]", &format!("m=audio {mouth_port}"))
        .replace(
            "<exec rtp_stream=\"tone.ulaw,-1,0\" />",
            "<log message=\"up\" />",
        )
        .replace(
            "<pause milliseconds=\"3000\" />",
            "<pause milliseconds=\"10000\" />",
        );
    assert!(call.contains(&format!("m=audio {mouth_port}")));
    let sipp_dir = dir.path().to_owned();
    let caller =
        std::thread::spawn(move || sipp(&sipp_dir, &call, port, &["7101".into()], (1, 1, 1)));
    // What the engine sends the caller: the wait tone, then the beep once the phones are ready.
    let mut buf = [0u8; 2048];
    let mut beeped = 0;
    let engine = loop {
        let (n, from) = mouth.recv_from(&mut buf).expect("the engine's cue");
        let pcm: Vec<i16> = buf[12..n]
            .iter()
            .map(|&b| zonecast::g711::Law::Ulaw.decode(b))
            .collect();
        if share_at(&pcm, zonecast::sip::BEEP_HZ) > 0.5 {
            beeped += 1;
        } else if beeped > 0 {
            break from;
        }
    };
    // The caller speaks: 20 ms packets on an absolute clock, a burst every 25th.
    let packet = |k: usize, payload: &[u8]| {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&(k as u16).to_be_bytes());
        p.extend_from_slice(&((k * 160) as u32).to_be_bytes());
        p.extend_from_slice(&0x5EED_CA11u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    };
    let silence = [zonecast::g711::Law::Ulaw.encode(0); 160];
    let burst: Vec<u8> = (0..160)
        .map(|i| {
            let x = (2.0 * std::f64::consts::PI * TONE_HZ * f64::from(i) / 8000.0).sin();
            zonecast::g711::Law::Ulaw.encode((x * 16000.0) as i16)
        })
        .collect();
    let start = mono_now_ns() + 20_000_000;
    let mut sent_at = Vec::new();
    for k in 0..BURSTS * 25 {
        let due = start + k as u64 * 20_000_000;
        while mono_now_ns() < due {
            std::thread::sleep(Duration::from_micros(200));
        }
        let payload: &[u8] = if k % 25 == 5 { &burst } else { &silence };
        if k % 25 == 5 {
            sent_at.push(mono_now_ns());
        }
        mouth.send_to(&packet(k, payload), engine).unwrap();
    }
    let _ = caller.join();
    wait_for(&srv, "the page to end", 20, || {
        (common::server::listening(&s.report()) == 0).then_some(())
    });
    let mut added = Vec::new();
    for p in s.report().phones {
        let Some(first) = p.heard.last().and_then(|h| h.rx.summary.first_packet_ns) else {
            continue;
        };
        let wav = rec.path().join(format!("{}-001.wav", p.name));
        let (_, samples) = common::read_wav(&wav);
        let heard = onsets(&samples);
        assert_eq!(
            heard.len(),
            sent_at.len(),
            "{}: bursts heard {heard:?}",
            p.name
        );
        for (i, sent) in heard.iter().zip(&sent_at) {
            let at = first + (*i as u64) * 125_000;
            added.push(at.saturating_sub(*sent) as f64 / 1e6);
        }
    }
    added.sort_by(f64::total_cmp);
    println!(
        "mouth-to-ear added by the relay on the SIP path ({} bursts at {} phones): p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms (target 40 ms: {:.2}x at the max)",
        added.len(),
        added.len() / BURSTS.max(1),
        pct(&added, 0.5),
        pct(&added, 0.99),
        pct(&added, 1.0),
        pct(&added, 1.0) / 40.0,
    );
}
