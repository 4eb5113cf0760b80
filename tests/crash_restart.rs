//! SIGKILL in the middle of the work, then the next command: the real `zonecast` binary against
//! emulated phones and real files, killed with SIGKILL (no handler runs, nothing is flushed).
//!
//! - a page journaled in the server's SQLite database: the database passes SQLite's own
//!   `PRAGMA integrity_check`, holds exactly the cut-off page, and the next command stops its
//!   phones (`zonecast page` itself, and `zonecast recover` after a killed server);
//! - two recordings of phones' microphones (WAV and Ogg Opus): the files open with at most the
//!   last second missing of what the phones had sent, and `zonecast recover` stops the phones;
//! - a ringtone batch: no ring file is ever a cut-short one, the rerun skips (and says so) what
//!   the killed run finished, and ends with the same files and RingList.xml as a clean run.
//!
//! (`tests/server.rs` restarts a killed server; `tests/cli_page.rs` and `tests/cli_listen.rs`
//! recover a killed page and listen from the JSON-lines journal.)

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::cli_setup::{Setup, Spec, Zone, assert_exit, json, stderr};
use common::server::{Server, api, listening, setup as server_setup};
use common::{require, tone_frequency, zonecast};
use serde_json::json;

/// SIGKILL `child` and reap it.
fn kill9(child: &mut Child) {
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    let status = child.wait().expect("reap");
    assert!(!status.success(), "the child had already exited: {status}");
}

/// Poll `f` every 20 ms until it holds, or fail after `secs` seconds naming `what`.
fn wait(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- pages and the SQLite journal -----------------------------------------------------------

fn db_path(s: &Setup) -> PathBuf {
    s.path("data").join(zonecast::server::DB_FILE)
}

/// What the database says after a crash: SQLite's verdict, and the journal's view.
#[derive(Debug)]
struct DbState {
    integrity: String,
    /// Pages the journal still lists as possibly playing.
    in_flight: i64,
    /// Their phones that have not had their stop.
    remaining: i64,
}

/// Open the database the way a restarted zonecast does (read-write: a WAL left by the killed
/// process is replayed) and ask SQLite to check every page, index and constraint.
fn db_state(path: &Path) -> DbState {
    let c = rusqlite::Connection::open(path).expect("the database opens");
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).expect(sql) };
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check runs");
    let fk: i64 = c
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .expect("foreign_key_check runs");
    assert_eq!(fk, 0, "foreign keys broken in {}", path.display());
    DbState {
        integrity,
        in_flight: q("SELECT COUNT(*) FROM pages WHERE in_flight = 1"),
        remaining: q("SELECT COUNT(*) FROM page_phones WHERE remaining = 1"),
    }
}

#[test]
fn page_killed_mid_page_the_sqlite_journal_is_intact_and_the_next_page_stops_its_phones() {
    let s = server_setup(5, "");
    // A server run once creates the database; from then on `zonecast page` journals there too.
    drop(Server::start(&s));
    let db = db_path(&s);
    assert!(db.is_file(), "the server made no {}", db.display());

    let mut page = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("all 5 phones listening", |r| listening(r) == 5);
    kill9(&mut page);
    assert_eq!(listening(&s.report()), 5, "nothing stopped the phones");

    let cut = db_state(&db);
    assert_eq!(cut.integrity, "ok", "after SIGKILL: {cut:?}");
    assert_eq!(
        (cut.in_flight, cut.remaining),
        (1, 5),
        "the journal must hold the cut-off page with its 5 phones: {cut:?}"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let pid: i64 = c
        .query_row("SELECT pid FROM pages WHERE in_flight = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        pid,
        i64::from(page.id()),
        "the journal names the killed process"
    );
    drop(c);

    // The next page, to two of them, first stops all five the killed one left playing.
    let next = s.run(&[
        "page",
        "--zone",
        "first",
        "--tone",
        "500",
        "--duration",
        "0.5",
        "--json",
    ]);
    assert_exit(&next, 0);
    assert!(
        stderr(&next).contains("recovered 5 phones"),
        "{}",
        stderr(&next)
    );
    assert_eq!(listening(&s.report()), 0, "a phone is still listening");
    let after = db_state(&db);
    assert_eq!(after.integrity, "ok", "{after:?}");
    assert_eq!((after.in_flight, after.remaining), (0, 0), "{after:?}");
    assert!(
        s.run(&["recover"])
            .stdout
            .starts_with(b"nothing to recover"),
        "a second recover found work"
    );
}

#[test]
fn server_killed_mid_page_recover_stops_the_phones_and_the_database_stays_sound() {
    let s = server_setup(4, "");
    let mut srv = Server::start(&s);
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:700:60"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    s.wait_until("all 4 phones listening", |r| listening(r) == 4);
    kill9(&mut srv.child);
    assert_eq!(listening(&s.report()), 4, "nothing stopped the phones");

    let db = db_path(&s);
    let cut = db_state(&db);
    assert_eq!(cut.integrity, "ok", "after SIGKILL: {cut:?}");
    assert_eq!((cut.in_flight, cut.remaining), (1, 4), "{cut:?}");

    // The admin's command while the server is down: the CLI reads the server's journal.
    let out = s.run(&["recover", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        json(&out).as_array().map(Vec::len),
        Some(4),
        "{}",
        stderr(&out)
    );
    assert_eq!(listening(&s.report()), 0, "a phone is still listening");
    let after = db_state(&db);
    assert_eq!(after.integrity, "ok", "{after:?}");
    assert_eq!((after.in_flight, after.remaining), (0, 0), "{after:?}");

    // The server starts on that database with nothing left to recover, and shows the page.
    let srv = Server::start(&s);
    assert!(!srv.log().contains("recovered"), "{}", srv.log());
    let (st, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(st, 200, "{hist}");
    assert_eq!(hist["pages"][0]["page"], id.as_str(), "{hist}");
    assert_eq!(listening(&s.report()), 0);
}

// ---- recordings ----------------------------------------------------------------------------

const MIC_HZ: f64 = 750.0;

/// Packets the phone's microphone stream has sent so far.
fn tx_packets(s: &Setup, phone: &str) -> u64 {
    s.phone(phone).tx.map_or(0, |t| t.packets)
}

/// Samples (8 kHz) and the last granule's length of a killed Ogg Opus file, read with the `ogg`
/// crate and decoded with libopus. A killed file has no EOS page; reading stops at its end.
fn read_killed_opus(path: &Path) -> (Vec<i16>, f64) {
    let mut reader = ogg::PacketReader::new(std::fs::File::open(path).unwrap());
    let head = reader.read_packet_expected().expect("OpusHead");
    assert_eq!(&head.data[..8], b"OpusHead");
    let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    let tags = reader.read_packet_expected().expect("OpusTags");
    assert_eq!(&tags.data[..8], b"OpusTags");
    let mut dec =
        audiopus::coder::Decoder::new(audiopus::SampleRate::Hz8000, audiopus::Channels::Mono)
            .unwrap();
    let mut pcm = Vec::new();
    let mut buf = [0i16; 960];
    let mut granule = 0;
    let mut eos = false;
    while let Some(p) = reader.read_packet().expect("every page is intact") {
        granule = p.absgp_page();
        eos = p.last_in_stream();
        let n = dec
            .decode(Some(&p.data[..]), &mut buf[..], false)
            .expect("packet decodes");
        pcm.extend_from_slice(&buf[..n]);
    }
    assert!(!eos, "a killed recorder cannot have written the EOS page");
    let pcm = pcm.split_off(((pre_skip / 6) as usize).min(pcm.len()));
    (pcm, granule.saturating_sub(pre_skip) as f64 / 48_000.0)
}

fn ffprobe_seconds(path: &Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe refuses {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe duration {text:?}"))
}

/// What may be missing from a killed recording: the second since the last checkpoint, plus
/// what the receiver's reorder buffer held and the moments between reading the phone's counter
/// and the kill landing.
const MAY_MISS: f64 = 1.0 + 0.25;

#[test]
fn recordings_killed_mid_listen_keep_all_but_the_last_second_and_recover_silences_the_phones() {
    require("ffprobe");
    let s = Setup::new(&Spec {
        phones: 2,
        mic_tone_hz: Some(MIC_HZ),
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        ..Spec::default()
    });
    let wav = s.path("desk1.wav");
    let opus = s.path("desk2.opus");
    let spawn = |phone: &str, out: &Path| {
        s.cmd(&["listen", "--phone", phone, "--out", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut listens = [
        ("p001", spawn("p001", &wav)),
        ("p002", spawn("p002", &opus)),
    ];
    s.wait_until("both phones transmitting", |r| r.totals.transmitting == 2);
    // Past three checkpoints of each file; the kill lands at an arbitrary point of the fourth
    // second or later.
    wait(30, "3.5 s of each microphone", || {
        listens.iter().all(|(p, _)| tx_packets(&s, p) >= 175)
    });
    let mut sent = BTreeMap::new();
    for (phone, child) in &mut listens {
        sent.insert(*phone, tx_packets(&s, phone) as f64 * 0.020);
        kill9(child);
    }
    assert!(s.phone("p001").transmitting && s.phone("p002").transmitting);
    // The JSON-lines journal: whole lines only, each a record, naming both phones' stops.
    let journal = s.journal();
    assert!(journal.ends_with('\n'), "a torn last line: {journal}");
    for line in journal.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("journal line {line:?}: {e}"));
    }
    assert_eq!(journal.matches("RTPTx:Stop").count(), 2, "{journal}");

    // WAV: the header written at the last checkpoint covers what is there.
    let mut r = hound::WavReader::open(&wav).expect("the killed WAV opens in hound");
    assert_eq!((r.spec().sample_rate, r.spec().channels), (8000, 1));
    let samples: Vec<i16> = r
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("every sample the header counts is there");
    let secs = samples.len() as f64 / 8000.0;
    let phone_secs = sent["p001"];
    eprintln!("WAV: {secs:.2} s in the file, the phone had sent {phone_secs:.2} s");
    assert!(
        secs >= phone_secs - MAY_MISS && secs <= phone_secs + 0.5,
        "WAV holds {secs:.2} s of {phone_secs:.2} s sent"
    );
    assert!((tone_frequency(&samples, 8000) - MIC_HZ).abs() < 10.0);

    // Opus: every page intact, the last granule and ffprobe agree with the audio.
    let (pcm, granule_secs) = read_killed_opus(&opus);
    let decoded_secs = pcm.len() as f64 / 8000.0;
    let probe = ffprobe_seconds(&opus);
    let phone_secs = sent["p002"];
    eprintln!(
        "Opus: granule {granule_secs:.2} s, decoded {decoded_secs:.2} s, ffprobe {probe:.2} s, \
         the phone had sent {phone_secs:.2} s"
    );
    assert!(
        granule_secs >= phone_secs - MAY_MISS && granule_secs <= phone_secs + 0.5,
        "Opus holds {granule_secs:.2} s of {phone_secs:.2} s sent"
    );
    assert!((decoded_secs - granule_secs).abs() <= 0.1);
    assert!((probe - granule_secs).abs() <= 0.1, "ffprobe {probe} s");
    // Past the encoder's start-up, the tone is there at its pitch.
    assert!((tone_frequency(&pcm[800..], 8000) - MIC_HZ).abs() < 10.0);

    // What the admin runs after a crash: both microphones are switched off.
    let out = s.run(&["recover", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        json(&out).as_array().map(Vec::len),
        Some(2),
        "{}",
        stderr(&out)
    );
    assert!(!s.phone("p001").transmitting && !s.phone("p002").transmitting);
    assert!(s.journal().is_empty(), "journal left: {}", s.journal());
    assert!(
        s.run(&["recover"])
            .stdout
            .starts_with(b"nothing to recover"),
        "a second recover found work"
    );
}

// ---- ringtone batch ------------------------------------------------------------------------

/// The files of `dir` by name with their bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The same file names with the same bytes; else fail naming the names that differ.
#[track_caller]
fn assert_same(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>, what: &str) {
    let names: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let differ: Vec<&&String> = names
        .iter()
        .filter(|n| got.get(**n) != want.get(**n))
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {differ:?} differ from a clean run's folder"
    );
}

fn batch(input: &Path, output: &Path) -> std::process::Command {
    let mut c = zonecast();
    c.args(["ringtone", "batch", "--jobs", "1"])
        .arg(input)
        .arg(output);
    c
}

#[test]
fn ringtone_batch_killed_midway_reruns_skipping_what_it_finished() {
    require("sox");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // Long stereo 44.1 kHz sounds: each takes a visible while to decode, so the kill lands with
    // some rings written and some not.
    const N: usize = 8;
    for i in 0..N {
        let f = input.join(format!("bell {i}.wav"));
        let hz = (500 + 100 * i).to_string();
        let st = std::process::Command::new("sox")
            .args(["-n", "-r", "44100", "-c", "2"])
            .arg(&f)
            .args(["synth", "30", "sine", &hz])
            .status()
            .unwrap();
        assert!(st.success());
    }
    // What a run that nothing interrupts makes.
    let clean = dir.path().join("clean");
    let o = batch(&input, &clean).output().unwrap();
    assert_exit(&o, 0);
    let want = files(&clean);
    assert_eq!(want.len(), N + 1, "{want:?}");

    let out = dir.path().join("out");
    let mut child = batch(&input, &out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let is_ring = |n: &str| n.ends_with(".raw");
    wait(60, "the batch's first two ring files", || {
        out.is_dir() && files(&out).keys().filter(|n| is_ring(n)).count() >= 2
    });
    kill9(&mut child);
    let left = files(&out);
    let finished: Vec<&String> = left.keys().filter(|n| is_ring(n)).collect();
    eprintln!("the killed batch left {left:?}", left = left.keys());
    assert!(
        finished.len() < N,
        "the batch finished before the kill; make the inputs longer"
    );
    // Whatever carries a ring's name is a whole ring, byte for byte what a clean run writes;
    // anything else is hidden and not a ring (a half-written file).
    for (name, bytes) in &left {
        if is_ring(name) {
            assert!(want[name] == *bytes, "{name} differs from the clean run's");
        } else {
            assert!(
                name.starts_with('.') && !name.contains("RingList"),
                "the killed batch left {name}"
            );
        }
    }
    assert!(!left.contains_key("RingList.xml"));

    // A ring not yet written whose name holds a stale, broken file that shares its inode with
    // another: the rerun must replace it by renaming, never write through it.
    let missing = want
        .keys()
        .find(|n| is_ring(n) && !left.contains_key(*n))
        .unwrap()
        .clone();
    let witness = dir.path().join("witness");
    std::fs::write(&witness, b"not a ring").unwrap();
    std::fs::hard_link(&witness, out.join(&missing)).unwrap();
    // A finished ring older than its sound (the sound was edited since) is made again.
    let edited = finished[0].clone();
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(out.join(&edited))
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();

    let o = batch(&input, &out).output().unwrap();
    assert_exit(&o, 0);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let kept = finished.len() - 1;
    for line in table.lines().filter(|l| l.contains(".raw")) {
        let ring = line
            .split_whitespace()
            .find(|w| w.ends_with(".raw"))
            .unwrap();
        let skipped = line.contains("skipped");
        let should = left.contains_key(ring) && *ring != edited;
        assert_eq!(skipped, should, "{ring}: {line}\n{table}");
    }
    assert!(
        table.contains(&format!("converted {} of {N} files", N - kept))
            && table.contains(&format!("skipped {kept}")),
        "{table}"
    );
    assert_same(&files(&out), &want, "the rerun");
    assert!(
        std::fs::read(&witness).unwrap() == b"not a ring",
        "the rerun wrote through the old {missing} instead of replacing it"
    );

    // Once more: nothing left to do, and nothing changes.
    let o = batch(&input, &out).output().unwrap();
    assert_exit(&o, 0);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        table.contains(&format!("converted 0 of {N} files and skipped {N}")),
        "{table}"
    );
    assert_same(&files(&out), &want, "the third run");
}
