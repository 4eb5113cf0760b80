//! Dial-in live paging (issue 22), end to end: a real `zonecast serve` with `[sip]` and an
//! emulated fleet on loopback, called by Debian's sipp (package `sip-tester`) with the UAC
//! scenarios in `tests/sip/`: a call to a routed number streams a 1 kHz µ-law tone
//! (`rtp_stream`, ordinary UDP sockets: no root needed) and every phone of the zone hears
//! 1 kHz; the caller's BYE ends the page and every phone gets its stop. Refused: a number not
//! routed (404), a caller not allowed (403, from 127.0.0.2), a zone held by a higher page
//! (486). G.722 callers, and an INVITE without SDP (our offer in the 200 OK, the answer in
//! the ACK, as CUCM without a media resource calls), are heard too; a silent caller is hung up
//! after `no_rtp`; a CANCEL before the answer gets 487. A trunk's OPTIONS gets 200. The caller
//! hears the wait tone and then the "go ahead" beep (its SDP names a port this test listens on,
//! while sipp streams from its own). A delayed route (`7002`) records the caller until BYE or
//! `#` (RFC 4733 packets from `tests/sip/send_keys.py`) and then plays the recording to the
//! zone; the recording is kept under `data_dir/calls`, and `GET /api/calls` lists every call. A
//! route with a PIN (`7003`) pages once the caller keys it, and ends a wrong one unpaged. A
//! trunk without telephone-events sends `#` as SIP INFO (`application/dtmf-relay`).
//! Without sipp each test prints one line and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::server::{Server, api, listening, setup, wait_for};
use common::sip_call::{SippCall, TONE_HZ, free_sip_port, have_sipp, scenario, sipp_log, tones_of};

const NUMBER: &str = "7001";
const DELAYED: &str = "7002";
const WITH_PIN: &str = "7003";
const PIN: &str = "2468";

/// The `[sip]` table: listening on `port`, callers from 127.0.0.1 only, `7001` → zone `all`.
fn sip_table(port: u16) -> String {
    format!(
        "[sip]\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\nno_rtp = \"3s\"\n\n\
         [[sip.route]]\nnumber = \"{NUMBER}\"\nzone = \"all\"\npriority = \"urgent\"\n\
         mode = \"live\"\n\n[[sip.route]]\nnumber = \"{DELAYED}\"\nzone = \"all\"\n\
         mode = \"delayed\"\n\n[[sip.route]]\nnumber = \"{WITH_PIN}\"\nzone = \"all\"\n\
         pin = \"{PIN}\"\n\n"
    )
}

/// Run sipp once over UDP: `scenario` from `from` to the agent, dialling `number`, in `dir`.
fn run_sipp(dir: &Path, scenario: &Path, from: &str, port: u16, number: &str) -> Output {
    let call = SippCall {
        dir,
        scenario,
        from,
        port,
        number,
        transport: "u1",
        extra: &[],
    };
    call.run()
}

fn tone(rate: f64, n: u32) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (12000.0 * (2.0 * std::f64::consts::PI * TONE_HZ * f64::from(i) / rate).sin()) as i16
        })
        .collect()
}

/// Ten seconds of a 1 kHz tone as sipp's `rtp_stream` inputs: raw µ-law at 8 kHz
/// (`tone.ulaw`, PCMU) and raw G.722 of 16 kHz audio (`tone.g722`).
fn write_tone(dir: &Path) {
    let ulaw: Vec<u8> = tone(8000.0, 80_000)
        .into_iter()
        .map(|s| zonecast::g711::Law::Ulaw.encode(s))
        .collect();
    std::fs::write(dir.join("tone.ulaw"), ulaw).unwrap();
    let g722 = zonecast::rtp::G722Encoder::new().encode_clip(&tone(16000.0, 160_000));
    std::fs::write(dir.join("tone.g722"), g722).unwrap();
}

/// A `zonecast serve` whose `[sip]` listens on `port` (the tables `before` ahead of it), its
/// `n` phones, and a folder for sipp with the tone in it.
struct Agent {
    port: u16,
    s: common::cli_setup::Setup,
    srv: Server,
    dir: tempfile::TempDir,
}

/// The [`Agent`] listening, or `None` (said in one line) without sipp.
fn agent(n: usize, before: &str) -> Option<Agent> {
    if !have_sipp() {
        return None;
    }
    let port = free_sip_port("127.0.0.1");
    let s = setup(n, &format!("{before}{}", sip_table(port)));
    let srv = Server::start(&s);
    wait_for(&srv, "the SIP agent to listen", 20, || {
        srv.log().contains("SIP listening on udp:").then_some(())
    });
    let dir = tempfile::tempdir().unwrap();
    write_tone(dir.path());
    Some(Agent { port, s, srv, dir })
}

/// Run sipp's `scenario` dialling `number` on a thread: (whether the call succeeded, its log).
fn call_in_background(
    dir: &Path,
    scenario: PathBuf,
    port: u16,
    number: &'static str,
) -> std::thread::JoinHandle<(bool, String)> {
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        let out = run_sipp(&dir, &scenario, "127.0.0.1", port, number);
        (out.status.success(), sipp_log(&dir, &out))
    })
}

/// sipp's call `out` succeeded, or the test fails with its log and the server's.
fn assert_called(dir: &Path, out: &Output, srv: &Server) {
    assert!(
        out.status.success(),
        "{}\nserver: {}",
        sipp_log(dir, out),
        srv.log()
    );
}

/// Every one of the `n` phones plays the caller's tone.
fn all_hear_the_tone(s: &common::cli_setup::Setup, n: usize) {
    s.wait_until("every phone hears the caller's 1 kHz", |r| {
        r.phones.len() == n
            && r.phones.iter().all(|p| {
                p.heard.last().is_some_and(|h| {
                    h.active
                        && h.rx.summary.packets > 50
                        && h.rx
                            .summary
                            .frequency_hz
                            .is_some_and(|f| (f - TONE_HZ).abs() < 15.0)
                })
            })
    });
}

#[test]
fn a_call_pages_the_zone_with_the_callers_audio_and_bye_stops_every_phone() {
    let Some(Agent { port, s, srv, dir }) = agent(3, "") else {
        return;
    };
    let call = call_in_background(dir.path(), scenario("uac_tone.xml"), port, NUMBER);
    all_hear_the_tone(&s, 3);
    // The page is in the history as the caller's, at the route's priority.
    let (_, pages) = api(&srv, "GET", "/api/pages", None);
    let text = pages.to_string();
    assert!(text.contains("\"sip:sipp@127.0.0.1:"), "{text}");
    assert!(text.contains("urgent"), "{text}");

    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", srv.log());
    // The SIP stack's datagrams are not in the log (a trunk's Authorization would be).
    assert!(!srv.log().contains("raw_message"), "{}", srv.log());
    s.wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
    let r = s.report();
    assert!(r.phones.iter().all(|p| !p.heard.is_empty()), "{r:?}");
    wait_for(&srv, "the page's end in the history", 20, || {
        let (_, h) = api(&srv, "GET", "/api/history", None);
        h.to_string().contains("the caller hung up").then_some(())
    });
    // The call is journaled with its page and outcome.
    let calls = ended_calls(&srv, 1);
    assert_eq!(calls[0]["outcome"], "the caller hung up", "{calls:?}");
    assert_eq!(calls[0]["mode"], "live");
    assert!(calls[0]["page"].as_str().is_some(), "{calls:?}");
}

#[test]
fn unknown_numbers_get_404_callers_not_allowed_403_and_options_200() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    let template = std::fs::read_to_string(scenario("uac_refused.xml")).unwrap();
    for (status, from, number) in [("404", "127.0.0.1", "9999"), ("403", "127.0.0.2", NUMBER)] {
        let path = dir.path().join(format!("refused_{status}.xml"));
        std::fs::write(&path, template.replace("EXPECTED_STATUS", status)).unwrap();
        let out = run_sipp(dir.path(), &path, from, port, number);
        assert!(
            out.status.success(),
            "expected {status}: {}\nserver: {}",
            sipp_log(dir.path(), &out),
            srv.log()
        );
    }
    let out = run_sipp(
        dir.path(),
        &scenario("options.xml"),
        "127.0.0.1",
        port,
        NUMBER,
    );
    assert!(
        out.status.success(),
        "OPTIONS: {}",
        sipp_log(dir.path(), &out)
    );
    // Nothing was paged.
    std::thread::sleep(Duration::from_millis(300));
    let r = s.report();
    assert!(r.phones.iter().all(|p| p.heard.is_empty()), "{r:?}");

    // The zone held by a higher page (emergency over the route's urgent): 486 Busy Here.
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(serde_json::json!({"zone": "all", "source": "silence:30", "priority": "emergency"})),
    );
    assert_eq!(st, 201, "{body}");
    s.wait_until("the emergency page plays", |r| listening(r) == 2);
    let path = dir.path().join("refused_486.xml");
    std::fs::write(&path, template.replace("EXPECTED_STATUS", "486")).unwrap();
    let out = run_sipp(dir.path(), &path, "127.0.0.1", port, NUMBER);
    assert!(
        out.status.success(),
        "expected 486: {}\nserver: {}",
        sipp_log(dir.path(), &out),
        srv.log()
    );
    // Only the busy call is journaled: 404 and 403 were refused before the journal.
    let calls = ended_calls(&srv, 1);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("refused 486"), "{outcome}");
}

#[test]
fn a_silent_caller_is_hung_up_after_no_rtp_and_its_page_ends() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    let started = std::time::Instant::now();
    // The scenario ends only once zonecast's BYE came and was answered.
    let out = run_sipp(
        dir.path(),
        &scenario("uac_silent.xml"),
        "127.0.0.1",
        port,
        NUMBER,
    );
    assert_called(dir.path(), &out, &srv);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "BYE before no_rtp"
    );
    s.wait_until("every phone stopped", |r| listening(r) == 0);
    wait_for(&srv, "the page's end in the history", 20, || {
        let (_, h) = api(&srv, "GET", "/api/history", None);
        h.to_string()
            .contains("no audio from the caller")
            .then_some(())
    });
}

#[test]
fn a_call_cancelled_before_the_answer_gets_487_and_leaves_no_page() {
    // Equal priorities wait: the call's page waits behind the API's, so no answer comes first.
    let Some(Agent { port, s, srv, dir }) = agent(2, "[priorities]\nequal = \"wait\"\n\n") else {
        return;
    };
    let (st, body) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(serde_json::json!({"zone": "all", "source": "silence:30", "priority": "urgent"})),
    );
    assert_eq!(st, 201, "{body}");
    let holder = body["id"].as_str().unwrap().to_owned();
    s.wait_until("the API page plays", |r| listening(r) == 2);
    let out = run_sipp(
        dir.path(),
        &scenario("uac_cancel.xml"),
        "127.0.0.1",
        port,
        NUMBER,
    );
    assert_called(dir.path(), &out, &srv);
    // The zone frees up: the cancelled call's page, planned meanwhile, ends at once.
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{holder}"), None);
    assert!(st < 300, "{st}");
    wait_for(&srv, "the cancelled call's page to end", 20, || {
        let (_, h) = api(&srv, "GET", "/api/history", None);
        let h = h.to_string();
        (h.contains("CANCEL") && !h.contains("\"active\":true")).then_some(())
    });
    s.wait_until("every phone stopped", |r| listening(r) == 0);
}

#[test]
fn a_g722_caller_is_decoded_and_heard_at_its_frequency() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    // The tone call, offering only G.722 and streaming it as payload type 9.
    let g722 = std::fs::read_to_string(scenario("uac_tone.xml"))
        .unwrap()
        .replace("RTP/AVP 0 101", "RTP/AVP 9 101")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000")
        .replace("tone.ulaw,-1,0", "tone.g722,-1,9");
    let path = dir.path().join("uac_tone_g722.xml");
    std::fs::write(&path, g722).unwrap();
    call_and_hear(&s, &srv, dir.path(), path, port);
    assert!(srv.log().contains("(G722)"), "{}", srv.log());
}

#[test]
fn an_invite_without_sdp_gets_our_offer_and_the_ack_answers_it() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    call_and_hear(
        &s,
        &srv,
        dir.path(),
        scenario("uac_delayed_offer.xml"),
        port,
    );
    assert!(srv.log().contains("(Pcmu)"), "{}", srv.log());
}

/// A trunk that requires reliable provisional responses (RFC 3262, `Require: 100rel`, as CUCM
/// may be set to) is answered: zonecast sends no provisional but 100 Trying, so there is nothing
/// to PRACK and the 200 comes straight (a 420 would refuse the call).
#[test]
fn a_caller_requiring_100rel_is_answered_and_pages() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    let xml = std::fs::read_to_string(scenario("uac_tone.xml")).unwrap();
    let required = xml.replacen(
        "Max-Forwards: 70",
        "Max-Forwards: 70\n      Supported: 100rel, timer\n      Require: 100rel",
        1,
    );
    assert_ne!(xml, required);
    let path = dir.path().join("uac_tone_100rel.xml");
    std::fs::write(&path, required).unwrap();
    call_and_hear(&s, &srv, dir.path(), path, port);
}

/// Call with `scenario` (a tone, then BYE): both phones hear 1 kHz, and stop after the BYE.
fn call_and_hear(s: &common::cli_setup::Setup, srv: &Server, dir: &Path, path: PathBuf, port: u16) {
    let call = call_in_background(dir, path, port, NUMBER);
    all_hear_the_tone(s, 2);
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", srv.log());
    s.wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
}

/// What the caller was sent: µ-law frames in arrival order, read by a socket the caller's SDP
/// named, for `secs` seconds.
fn hear_as_caller(socket: std::net::UdpSocket, secs: u64) -> Vec<Vec<i16>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    let mut frames = Vec::new();
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < until {
        if let Ok(n) = socket.recv(&mut buf) {
            let (h, payload) = zonecast::rtp::RtpHeader::parse(&buf[..n]).unwrap();
            assert_eq!(h.payload_type, 0, "PCMU, as offered");
            let pcm = payload
                .iter()
                .map(|&b| zonecast::g711::Law::Ulaw.decode(b))
                .collect();
            frames.push(pcm);
        }
    }
    frames
}

/// What each frame was: 'w' the wait tone, 'b' the beep, '.' silence, '?' anything else.
fn cue_of(frames: &[Vec<i16>]) -> String {
    tones_of(
        frames,
        &[('w', zonecast::sip::WAIT_HZ), ('b', zonecast::sip::BEEP_HZ)],
    )
}

#[test]
fn the_caller_hears_the_wait_tone_then_the_go_ahead_beep_once_the_phones_are_ready() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    // The caller's SDP names this socket: what zonecast sends the caller comes here.
    let ear = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let ear_port = ear.local_addr().unwrap().port();
    let listened = std::thread::spawn(move || hear_as_caller(ear, 6));
    let path = dir.path().join("uac_tone_heard.xml");
    let xml = std::fs::read_to_string(scenario("uac_tone.xml"))
        .unwrap()
        .replace("m=audio [media_port]", &format!("m=audio {ear_port}"));
    std::fs::write(&path, xml).unwrap();
    call_and_hear(&s, &srv, dir.path(), path, port);
    let frames = listened.join().unwrap();
    let cue = cue_of(&frames);
    // A whole wait burst (300 ms = 15 frames), the beep (10 frames), then silence.
    let first_beep = cue.find('b').unwrap_or_else(|| panic!("no beep: {cue}"));
    assert!(cue[..first_beep].matches('w').count() >= 14, "{cue}");
    assert!(!cue[..first_beep].contains('?'), "{cue}");
    let beep = cue[first_beep..].chars().take_while(|&c| c == 'b').count();
    assert!((8..=11).contains(&beep), "{cue}");
    let after = &cue[first_beep + beep..];
    assert!(after.len() > 50 && after.chars().all(|c| c == '.'), "{cue}");
    // The call's page is the caller's.
    let (_, pages) = api(&srv, "GET", "/api/history", None);
    assert!(pages.to_string().contains("sip:sipp@"), "{pages}");
}

/// The calls `GET /api/calls` lists as ended, once `n` have.
fn ended_calls(srv: &Server, n: usize) -> Vec<serde_json::Value> {
    wait_for(srv, "the calls in GET /api/calls", 20, || {
        let (st, body) = api(srv, "GET", "/api/calls", None);
        assert_eq!(st, 200, "{body}");
        let recent = body["recent"].as_array().cloned().unwrap_or_default();
        (recent.len() >= n && body["in_progress"].as_array().is_some_and(|a| a.is_empty()))
            .then_some(recent)
    })
}

#[test]
fn a_delayed_route_records_until_bye_then_plays_the_recording_to_the_zone() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    let call = call_in_background(dir.path(), scenario("uac_tone.xml"), port, DELAYED);
    // While the caller speaks, nothing is paged; the calls list shows it in progress.
    wait_for(&srv, "the call in progress", 20, || {
        let (_, body) = api(&srv, "GET", "/api/calls", None);
        let live = body["in_progress"].as_array().cloned().unwrap_or_default();
        live.first().map(|c| {
            assert_eq!(c["number"], DELAYED, "{body}");
            assert_eq!(c["mode"], "delayed", "{body}");
            assert!(c.get("outcome").is_none(), "{body}");
        })
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(s.report().phones.iter().all(|p| p.heard.is_empty()));
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", srv.log());
    // After the BYE, the recording (the caller's 1 kHz) plays to the zone, then ends.
    all_hear_the_tone(&s, 2);
    s.wait_until("every phone stopped after the recording", |r| {
        listening(r) == 0
    });
    let calls = ended_calls(&srv, 1);
    let c = &calls[0];
    assert_eq!(
        c["caller"].as_str().map(|c| c.starts_with("sipp@")),
        Some(true)
    );
    let outcome = c["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("the caller hung up: recorded"), "{c}");
    assert!(c["duration_ms"].as_u64().unwrap() >= 7000, "{c}");
    let recording = c["recording"].as_str().unwrap();
    let file = s.path("data").join("calls").join(recording);
    let wav = hound::WavReader::open(&file).unwrap();
    // About 8 s of the caller (the scenario streams for 8 s, with a re-INVITE in between).
    let secs = wav.duration() as f64 / 8000.0;
    assert!((6.0..=9.0).contains(&secs), "{secs} s");
    // The page that played it names the file, and is the caller's.
    let page = c["page"].as_str().unwrap();
    let (_, h) = api(&srv, "GET", &format!("/api/history/{page}"), None);
    assert!(h.to_string().contains(recording), "{h}");
    assert!(h.to_string().contains("sip:sipp@"), "{h}");
}

#[test]
fn a_delayed_route_ends_the_recording_at_the_pound_key_and_every_call_is_journaled() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    let path = with_keys(dir.path(), "uac_record_pound.xml", "#");
    // The scenario ends once zonecast's BYE (after the '#') came and was answered.
    let out = run_sipp(dir.path(), &path, "127.0.0.1", port, DELAYED);
    assert_called(dir.path(), &out, &srv);
    all_hear_the_tone(&s, 2);
    s.wait_until("every phone stopped after the recording", |r| {
        listening(r) == 0
    });
    let calls = ended_calls(&srv, 1);
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("the caller pressed #: recorded"),
        "{outcome}"
    );
    let file = s
        .path("data")
        .join("calls")
        .join(calls[0]["recording"].as_str().unwrap());
    let secs = hound::WavReader::open(&file).unwrap().duration() as f64 / 8000.0;
    assert!((2.0..=4.0).contains(&secs), "{secs} s: only up to the '#'");
}

/// `name` from `tests/sip/` with the keys it presses, written into `dir`.
fn with_keys(dir: &Path, name: &str, keys: &str) -> PathBuf {
    let sender = scenario("send_keys.py");
    let xml = std::fs::read_to_string(scenario(name))
        .unwrap()
        .replace("SEND_KEYS", sender.to_str().unwrap())
        .replace("'KEYS'", &format!("'{keys}'"));
    let path = dir.join(format!("keys_{name}"));
    std::fs::write(&path, xml).unwrap();
    path
}

#[test]
fn a_route_with_a_pin_pages_once_the_caller_keys_it_and_a_wrong_one_pages_nothing() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    // A wrong PIN (then #): the wrong tone, zonecast's BYE, nothing paged.
    let path = with_keys(dir.path(), "uac_record_pound.xml", "1357#");
    let started = std::time::Instant::now();
    let out = run_sipp(dir.path(), &path, "127.0.0.1", port, WITH_PIN);
    // Ended at the '#', not by the entry's 10 s time out.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    assert_called(dir.path(), &out, &srv);
    assert!(s.report().phones.iter().all(|p| p.heard.is_empty()));
    let calls = ended_calls(&srv, 1);
    assert_eq!(calls[0]["outcome"], "wrong PIN", "{calls:?}");
    assert!(calls[0].get("page").is_none(), "{calls:?}");
    // The right PIN: the caller's tone reaches the zone.
    let path = with_keys(dir.path(), "uac_pin.xml", PIN);
    let call = call_in_background(dir.path(), path, port, WITH_PIN);
    all_hear_the_tone(&s, 2);
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", srv.log());
    s.wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
    let calls = ended_calls(&srv, 2);
    assert_eq!(calls[0]["outcome"], "the caller hung up", "{calls:?}");
    // The PIN is never logged, nor journaled.
    assert!(!srv.log().contains(PIN), "{}", srv.log());
    let journal = std::fs::read_to_string(s.path("data/calls/calls.jsonl")).unwrap();
    assert!(
        !journal.contains(PIN) && !journal.contains("1357"),
        "{journal}"
    );
}

#[test]
fn a_delayed_route_ends_the_recording_at_a_pound_sent_as_sip_info() {
    let Some(Agent { port, s, srv, dir }) = agent(2, "") else {
        return;
    };
    // The scenario ends once the INFO got its 200 and zonecast's BYE came and was answered.
    let out = run_sipp(
        dir.path(),
        &scenario("uac_record_info.xml"),
        "127.0.0.1",
        port,
        DELAYED,
    );
    assert_called(dir.path(), &out, &srv);
    all_hear_the_tone(&s, 2);
    let calls = ended_calls(&srv, 1);
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("the caller pressed #: recorded"),
        "{outcome}"
    );
}
