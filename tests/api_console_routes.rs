//! The console's routes against a real `zonecast serve` and emulated phones on loopback: the
//! Server-Sent Events of a page (its phones turning `accepted`, then `end`), ringing a bell now,
//! listening to and deleting sounds, recording a phone's microphone, converting a ring tone,
//! and `/api/health`.

mod common;

use std::time::{Duration, Instant};

use common::cli_setup::{Setup, Spec, Zone};
use common::server::*;
use common::tone_frequency;
use serde_json::{Value, json};

/// The emulated microphones' tone.
const MIC_HZ: f64 = 750.0;

/// Never rings during a test (04:05 on 29 February) but can be rung by hand.
const BELLS: &str = "[schedule]\ntimezone = \"UTC\"\n\n\
    [[bell]]\nname = \"leap\"\ncron = \"5 4 29 2 *\"\nzones = [\"first\"]\nsource = \"chime\"\n\n";

/// `n` phones (p001 ...) whose microphones send [`MIC_HZ`], zones `all` and `first` (two), the
/// bell above and `jingle-bell`, which plays the uploaded sound `jingle` by its path, and a
/// 1 MiB upload limit.
fn setup(n: usize) -> Setup {
    let s = setup_fleet(n);
    let config = s.path("zonecast.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[bell]]\nname = \"jingle-bell\"\ncron = \"5 4 29 2 *\"\nzones = [\"first\"]\n\
         source = \"chime,file:{}\"\n",
        s.path("data/sounds/jingle.wav").display()
    ));
    std::fs::write(&config, text).unwrap();
    s
}

fn setup_fleet(n: usize) -> Setup {
    let tables = format!(
        "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\nupload_limit = \"1M\"\n\n{BELLS}"
    );
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    Setup::new(&Spec {
        phones: n,
        mic_tone_hz: Some(MIC_HZ),
        engine: &engine,
        tables: &tables,
        zones: &Zone::all_and_first(2, None),
        ..Spec::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A GET with the token: (status, content type, body bytes).
fn get_bytes(srv: &Server, path: &str) -> (u16, String, Vec<u8>) {
    runtime().block_on(async {
        let r = common::sim::http()
            .get(format!("{}{path}", srv.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ct, r.bytes().await.unwrap().to_vec())
    })
}

/// A WAV file's rate and samples.
fn wav(bytes: &[u8]) -> (u32, Vec<i16>) {
    let mut r = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("a WAV file");
    let spec = r.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    let s = r.samples::<i16>().map(|s| s.unwrap()).collect();
    (spec.sample_rate, s)
}

/// A mono 16-bit WAV of `secs` of `hz` at `rate`.
fn tone_wav(hz: f64, secs: f64, rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..(secs * f64::from(rate)) as usize {
        let x = (i as f64 * 2.0 * std::f64::consts::PI * hz / f64::from(rate)).sin();
        w.write_sample((x * 12000.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

/// Server-Sent Events read from `path` until an `end` event (or `limit` passes): each event's
/// name and its data as JSON, from the server at `base`.
fn read_events(base: &str, path: &str, limit: Duration) -> Vec<(String, Value)> {
    read_some_events(base, path, limit, usize::MAX)
}

/// [`read_events`], hanging up after `most` events.
fn read_some_events(base: &str, path: &str, limit: Duration, most: usize) -> Vec<(String, Value)> {
    runtime().block_on(async {
        let mut r = common::sim::http()
            .get(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let deadline = Instant::now() + limit;
        let mut text = String::new();
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = match tokio::time::timeout(left, r.chunk()).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => panic!("{path}: {e}"),
                Err(_) => panic!("{path}: no end within {limit:?}; events so far: {events:?}"),
            };
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(at) = text.find("\n\n") {
                let block: String = text.drain(..at + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                let v: Value = serde_json::from_str(&data).unwrap();
                let end = name == "end";
                events.push((name, v));
                if end || events.len() >= most {
                    return events;
                }
            }
        }
        events
    })
}

#[test]
fn a_page_streams_its_phones_turning_accepted_then_its_end() {
    let s = setup(4);
    let srv = Server::start(&s);
    // Not an event-stream client, a page that never was: refused at once.
    let (st, _, body) = get_bytes(&srv, "/api/events");
    assert_eq!(st, 406, "{}", String::from_utf8_lossy(&body));
    let (st, body) = call(
        "GET",
        &format!("{}/api/pages/nope/events", srv.url),
        None,
        None,
    );
    assert_eq!(st, 401, "{body}");

    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:800:30", "duration": 3})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let events = read_events(
        &srv.url,
        &format!("/api/pages/{id}/events"),
        Duration::from_secs(30),
    );
    let secs = started.elapsed().as_secs_f64();
    let (last, rest) = events.split_last().unwrap();
    assert_eq!(last.0, "end", "{events:?}");
    assert_eq!(last.1["id"], id.as_str());
    assert_eq!(last.1["page"]["page"], id.as_str(), "{}", last.1);
    assert_eq!(last.1["page"]["ended_by"], "duration", "{}", last.1);
    assert!(rest.iter().all(|(n, _)| n == "page"), "{events:?}");
    // Every phone was seen accepted while the page ran, and the last state is the final one.
    let all_accepted = rest.iter().any(|(_, v)| {
        v["active"] == true && {
            let states = phone_states(&v["page"]);
            states.len() == 4 && states.iter().all(|(_, st)| st == "accepted")
        }
    });
    assert!(
        all_accepted,
        "no event with every phone accepted: {events:?}"
    );
    let (_, final_state) = rest.last().unwrap();
    assert_eq!(final_state["active"], false);
    assert_eq!(final_state["page"]["page"], id.as_str());
    // Coalesced: at most one event per 100 ms (plus the last state).
    assert!(
        (rest.len() as f64) <= secs * 10.0 + 2.0,
        "{} events in {secs:.1} s",
        rest.len()
    );
    // An ended page: its record and the end, at once.
    let events = read_events(
        &srv.url,
        &format!("/api/pages/{id}/events"),
        Duration::from_secs(5),
    );
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["page", "end"]);
    assert_eq!(events[0].1["active"], false);
    let (st, _, _) = get_bytes(&srv, "/api/pages/pg-none/events");
    assert_eq!(st, 406, "Accept is checked first");
}

#[test]
fn the_all_pages_stream_shows_a_page_that_starts_after_it_opened() {
    let s = setup(2);
    let srv = Server::start(&s);
    let url = srv.url.clone();
    let reader =
        std::thread::spawn(move || read_events(&url, "/api/events", Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(500));
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "tone:600:1", "duration": 1})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let events = reader.join().unwrap();
    let (last, _) = events.split_last().unwrap();
    assert_eq!(last.0, "end");
    assert_eq!(last.1["id"], id);
    assert!(
        events
            .iter()
            .any(|(n, v)| n == "page" && v["page"]["page"] == id && v["active"] == true),
        "{events:?}"
    );
}

#[test]
fn a_bell_rung_by_hand_reaches_its_phones_and_is_in_the_bell_history() {
    let s = setup(3);
    let srv = Server::start(&s);
    let (st, body) = api(&srv, "POST", "/api/bells/nope/ring", None);
    assert_eq!(st, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("nope"), "{body}");
    assert_eq!(s.report().totals.pushes, 0);

    let (st, body) = api(&srv, "POST", "/api/bells/leap/ring", None);
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["bell"], "leap");
    assert_eq!(body["outcome"], "rung");
    let page = body["pages"][0].as_str().unwrap().to_owned();
    // The two phones of `first` hear it; the third does not.
    s.wait_until("the bell heard on p001 and p002", |r| {
        r.phones
            .iter()
            .filter(|p| p.name != "p003" && !p.heard.is_empty())
            .count()
            == 2
    });
    assert!(s.phone("p003").heard.is_empty());
    let bell = wait_for(&srv, "the bell in its history", 10, || {
        let (_, v) = api(&srv, "GET", "/api/bells/history", None);
        v["bells"].as_array().and_then(|b| b.first().cloned())
    });
    assert_eq!(bell["bell"], "leap");
    assert_eq!(bell["outcome"], "rung");
    assert_eq!(bell["pages"][0], page.as_str());
    assert_eq!(bell["detail"], "rung by hand by api-token", "{bell}");
    let page = wait_for(&srv, "the bell's page ended", 20, || {
        let (_, v) = api(&srv, "GET", &format!("/api/history/{page}"), None);
        v["ended_ms"].as_i64().map(|_| v.clone())
    });
    assert_eq!(page["requested_by"], "bell:leap", "{page}");
}

#[test]
fn a_sound_is_uploaded_listened_to_and_deleted_and_refusals_say_why() {
    let s = setup(2);
    let srv = Server::start(&s);
    let upload = |name: &str, bytes: Vec<u8>| {
        call_raw(
            "PUT",
            &format!("{}/api/sounds/{name}", srv.url),
            Some(TOKEN),
            Some(bytes),
            "audio/wav",
        )
    };
    let (st, body) = upload("lobby", tone_wav(440.0, 1.5, 16000));
    assert_eq!(st, 201, "{body}");

    // As prepared for a page: 8 kHz, the tone's pitch, its length (to the frame).
    let (st, ct, bytes) = get_bytes(&srv, "/api/sounds/lobby/audio");
    assert_eq!((st, ct.as_str()), (200, "audio/wav"));
    let (rate, samples) = wav(&bytes);
    assert_eq!(rate, 8000);
    let secs = samples.len() as f64 / 8000.0;
    assert!((secs - 1.5).abs() <= 0.03, "{secs} s");
    let hz = tone_frequency(&samples[800..samples.len() - 800], rate);
    assert!((hz - 440.0).abs() < 5.0, "{hz} Hz");
    // A bundled sound plays too.
    let (st, _, bytes) = get_bytes(&srv, "/api/sounds/chime/audio");
    assert_eq!(st, 200);
    assert!(wav(&bytes).1.len() > 8000 / 2);

    // Refusals: unknown, path characters, bundled, used by a bell.
    let (st, _, _) = get_bytes(&srv, "/api/sounds/nothing/audio");
    assert_eq!(st, 404);
    let (st, _, body) = get_bytes(&srv, "/api/sounds/..%2Fzonecast/audio");
    assert_eq!(st, 400, "{}", String::from_utf8_lossy(&body));
    let (st, body) = api(&srv, "DELETE", "/api/sounds/a.b", None);
    assert_eq!(st, 400, "{body}");
    let (st, body) = api(&srv, "DELETE", "/api/sounds/chime", None);
    assert_eq!(st, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("bundled"),
        "{body}"
    );
    let (st, body) = upload("jingle", tone_wav(660.0, 0.5, 8000));
    assert_eq!(st, 201, "{body}");
    let (st, body) = api(&srv, "DELETE", "/api/sounds/jingle", None);
    assert_eq!(st, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("jingle-bell"),
        "names the bell: {body}"
    );
    let (_, list) = api(&srv, "GET", "/api/sounds", None);
    assert_eq!(list["uploaded"], json!(["jingle", "lobby"]));

    // Deleted: gone from the list, the audio and the disk.
    let (st, body) = api(&srv, "DELETE", "/api/sounds/lobby", None);
    assert_eq!(st, 200, "{body}");
    let (_, list) = api(&srv, "GET", "/api/sounds", None);
    assert_eq!(list["uploaded"], json!(["jingle"]));
    let (st, _, _) = get_bytes(&srv, "/api/sounds/lobby/audio");
    assert_eq!(st, 404);
    assert!(!s.path("data/sounds/lobby.wav").exists());
    let (st, _) = api(&srv, "DELETE", "/api/sounds/lobby", None);
    assert_eq!(st, 404);
}

#[test]
fn a_recording_of_a_phones_microphone_downloads_as_a_wav_of_its_tone() {
    let s = setup(2);
    let srv = Server::start(&s);
    for (body, what) in [
        (json!({"phone": "p001", "seconds": 0}), "seconds"),
        (json!({"phone": "p001", "seconds": 601}), "seconds"),
        (json!({"phone": "nope", "seconds": 2}), "nope"),
        (json!({"phone": "p001"}), "seconds"),
    ] {
        let (st, v) = api(&srv, "POST", "/api/recordings", Some(body));
        assert_eq!(st, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains(what), "{v}");
    }
    assert_eq!(s.report().totals.pushes, 0);

    let (st, body) = api(
        &srv,
        "POST",
        "/api/recordings",
        Some(json!({"phone": "p001", "seconds": 2})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["recording"]["state"], "recording");
    // One at a time per phone.
    let (st, v) = api(
        &srv,
        "POST",
        "/api/recordings",
        Some(json!({"phone": "p001", "seconds": 2})),
    );
    assert_eq!(st, 409, "{v}");
    let (st, _) = api(&srv, "GET", &format!("/api/recordings/{id}"), None);
    assert_eq!(st, 409, "still recording");

    let done = wait_for(&srv, "the recording done", 20, || {
        let (_, v) = api(&srv, "GET", "/api/recordings", None);
        let r = v["recordings"].as_array()?.first()?.clone();
        (r["state"] != "recording").then_some(r)
    });
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["phone"], "p001");
    assert_eq!(done["started_by"], "api-token", "{done}");
    assert_eq!(done["id"], id.as_str());
    // The phone was told to stop sending.
    s.wait_until("p001 stops transmitting", |r| r.totals.transmitting == 0);

    let (st, ct, bytes) = get_bytes(&srv, &format!("/api/recordings/{id}"));
    assert_eq!((st, ct.as_str()), (200, "audio/wav"));
    let (rate, samples) = wav(&bytes);
    assert_eq!(rate, 8000);
    let secs = samples.len() as f64 / 8000.0;
    assert!((secs - 2.0).abs() <= 0.3, "{secs} s");
    let hz = tone_frequency(&samples, rate);
    assert!((hz - MIC_HZ).abs() < 10.0, "{hz} Hz");

    let (st, v) = api(&srv, "DELETE", &format!("/api/recordings/{id}"), None);
    assert_eq!(st, 200, "{v}");
    let (st, _) = api(&srv, "GET", &format!("/api/recordings/{id}"), None);
    assert_eq!(st, 404);
    let (_, v) = api(&srv, "GET", "/api/recordings", None);
    assert_eq!(v["recordings"], json!([]));
    let (st, _) = api(&srv, "GET", "/api/recordings/..%2Fzonecast", None);
    assert_eq!(st, 404);
}

#[test]
fn a_ringtone_conversion_returns_legal_files_a_ring_list_and_the_rules_applied() {
    let s = setup(2);
    let srv = Server::start(&s);
    let convert = |name: &str, bytes: Vec<u8>| {
        call_raw(
            "POST",
            &format!("{}/api/ringtones?name={name}", srv.url),
            Some(TOKEN),
            Some(bytes),
            "audio/wav",
        )
    };
    // 3 s at 16 kHz: a .raw cut to its 2.01 s maximum, a .rwb kept whole.
    let (st, body) = convert("door", tone_wav(1000.0, 3.0, 16000));
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["name"], "door");
    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{body}");
    let rules: Vec<&str> = body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let said = |what: &str| rules.iter().any(|r| r.contains(what));
    assert!(said("resampled from 16000 Hz to 8000 Hz"), "{rules:?}");
    assert!(said("cut to the"), "{rules:?}");
    assert!(said("levelled"), "{rules:?}");
    for (file, ext, bytes_per_sample, max) in
        [(&files[0], "raw", 1, 16080), (&files[1], "rwb", 2, 160_800)]
    {
        assert_eq!(file["name"], format!("door.{ext}"));
        let url = file["url"].as_str().unwrap();
        let (st, ct, bytes) = get_bytes(&srv, url);
        assert_eq!((st, ct.as_str()), (200, "application/octet-stream"));
        let samples = bytes.len() / bytes_per_sample;
        assert_eq!(file["samples"], samples);
        assert_eq!(samples % 240, 0, "{ext}: {samples} samples");
        assert!((240..=max).contains(&samples), "{ext}: {samples}");
        let check = zonecast::ringtone::check_bytes(
            &bytes,
            if ext == "raw" {
                zonecast::ringtone::Format::Narrowband
            } else {
                zonecast::ringtone::Format::Wideband
            },
        );
        assert!(check.passes(), "{ext}: {check:?}");
    }
    assert_eq!(files[0]["samples"], 16080, "cut to the maximum");
    assert_eq!(files[1]["samples"], 48000, "3 s at 16 kHz");
    let (st, ct, list) = get_bytes(&srv, body["ringlist_url"].as_str().unwrap());
    assert_eq!(st, 200);
    assert!(ct.starts_with("application/xml"));
    let list = zonecast::ringtone::parse_ring_list(&list).unwrap();
    assert_eq!(list.rings.len(), 1);
    assert_eq!(list.rings[0].file_name, "door.raw");
    let (st, _, wb) = get_bytes(&srv, body["ringlist_wb_url"].as_str().unwrap());
    assert_eq!(st, 200);
    assert!(String::from_utf8(wb).unwrap().contains("door.rwb"));

    // 8 kHz: no wideband file, and the list says why.
    let (st, body) = convert("beep", tone_wav(800.0, 0.5, 8000));
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["files"].as_array().unwrap().len(), 1);
    assert!(body["rules"].to_string().contains("no wideband"), "{body}");

    // Refusals: a name with path characters or too long, not audio, empty.
    let (st, v) = convert("..%2Fx", tone_wav(800.0, 0.5, 8000));
    assert_eq!(st, 400, "{v}");
    let (st, v) = convert(&"a".repeat(22), tone_wav(800.0, 0.5, 8000));
    assert_eq!(st, 400, "{v}");
    let (st, v) = convert("text", b"just some text, not a sound".to_vec());
    assert_eq!(st, 415, "{v}");
    let (st, v) = convert("empty", Vec::new());
    assert_eq!(st, 400, "{v}");
    let (st, _, _) = get_bytes(&srv, "/api/ringtones/nothing.raw");
    assert_eq!(st, 404);
    let (st, _, _) = get_bytes(&srv, "/api/ringtones/..%2Fzonecast.raw");
    assert_eq!(st, 400);
}

#[test]
fn health_reports_the_pacer_pages_phones_journal_disk_and_version() {
    let s = setup(2);
    let srv = Server::start(&s);
    let (st, h) = api(&srv, "GET", "/api/health", None);
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(h["pages_active"], 0);
    assert_eq!(h["phones"]["configured"], 2);
    assert_eq!(h["phones"]["unreachable"], 0);
    assert!(
        h["pacer"]["max_lateness_ms"].as_f64().unwrap() >= 0.0,
        "{h}"
    );
    assert!(h["pacer"]["mean_lateness_ms"].is_number(), "{h}");
    assert!(h["journal"]["bytes"].as_u64().unwrap() > 0, "{h}");
    let free = h["disk"]["free_bytes"].as_u64().unwrap();
    let total = h["disk"]["total_bytes"].as_u64().unwrap();
    assert!(free > 0 && free <= total, "{h}");

    // A running page shows, and is gone once it has ended.
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "silence:30"})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (_, h) = api(&srv, "GET", "/api/health", None);
    assert_eq!(h["pages_active"], 1, "{h}");
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    wait_for(&srv, "the page ended", 20, || {
        let (_, h) = api(&srv, "GET", "/api/health", None);
        (h["pages_active"] == 0).then_some(())
    });
    let (st, h) = call("GET", &format!("{}/api/health", srv.url), None, None);
    assert_eq!(st, 401, "{h}");
}

#[test]
fn deleting_a_running_recording_stops_the_phone_and_keeps_nothing() {
    let s = setup(2);
    let srv = Server::start(&s);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/recordings",
        Some(json!({"phone": "p002", "seconds": 600})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    s.wait_until("p002 transmitting", |r| r.totals.transmitting == 1);
    let (st, v) = api(&srv, "DELETE", &format!("/api/recordings/{id}"), None);
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["stopping"], true);
    s.wait_until("p002 stops transmitting", |r| r.totals.transmitting == 0);
    wait_for(&srv, "the recording gone", 10, || {
        let (_, v) = api(&srv, "GET", "/api/recordings", None);
        (v["recordings"] == json!([])).then_some(())
    });
    assert!(!s.path(&format!("data/recordings/{id}.wav")).exists());
    assert!(!s.path(&format!("data/recordings/{id}.json")).exists());
}

#[test]
fn sigterm_with_event_streams_open_ends_them_and_the_server() {
    let s = setup(2);
    let mut srv = Server::start(&s);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "silence:60"})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    // One stream of every page and one of this page, both open when the server is told to stop.
    let readers: Vec<_> = [
        String::from("/api/events"),
        format!("/api/pages/{id}/events"),
    ]
    .into_iter()
    .map(|path| {
        let url = srv.url.clone();
        std::thread::spawn(move || read_events(&url, &path, Duration::from_secs(40)))
    })
    .collect();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(srv.child.id() as i32, libc::SIGTERM) };
    let status = srv.child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", srv.log());
    for r in readers {
        let events = r.join().unwrap();
        let (last, _) = events.split_last().unwrap();
        assert_eq!(last.0, "end", "{events:?}");
        assert_eq!(last.1["id"], id.as_str());
        assert_eq!(last.1["page"]["ended_by"], "server stopping", "{}", last.1);
    }
}

#[test]
fn clients_that_come_and_go_share_a_page_and_each_sees_its_end() {
    let s = setup(2);
    let srv = Server::start(&s);
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "silence:60"})),
    );
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/pages/{id}/events");
    // A client that hangs up after the first event, then others that stay.
    let first = read_some_events(&srv.url, &path, Duration::from_secs(10), 1);
    assert_eq!(first[0].0, "page");
    assert_eq!(first[0].1["page"]["page"], id.as_str());
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (url, path) = (srv.url.clone(), path.clone());
            std::thread::spawn(move || read_events(&url, &path, Duration::from_secs(30)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    for r in readers {
        let events = r.join().unwrap();
        let (last, rest) = events.split_last().unwrap();
        assert_eq!(last.0, "end", "{events:?}");
        assert_eq!(last.1["page"]["ended_by"], "stopped by api", "{}", last.1);
        assert_eq!(rest.last().unwrap().1["active"], false, "{events:?}");
    }
}
