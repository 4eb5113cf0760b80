//! SIP endpoints (`[[sip_endpoint]]`) as page targets (issue 22), end to end: the real
//! `zonecast page` against emulated phones and Debian's sipp (package `sip-tester`) playing an
//! auto-answering SIP speaker with the UAS scenarios in `tests/sip/uas_endpoint*.xml`.
//!
//! - A page of the zone calls it (INVITE with `Call-Info: answer-after=0`, offering PCMU and
//!   PCMA), its answer's media address (a socket of this test) receives the page's stream at the
//!   page's pitch, and the page's end sends the BYE sipp expects (sipp exits 0).
//! - SIGKILL mid-page: the journal holds the answered dialog; `zonecast recover` sends its
//!   BYE (sipp exits 0) and stops the emulated phones of the same zone; a killed server does
//!   the same when it restarts; killed while the INVITE rings, recover CANCELs it.
//! - A page that ends before the answer CANCELs the INVITE (487 ACKed).
//! - An endpoint that answers 486: reported "busy 486", the phones still paged.
//! - A challenge (401): answered with the configured digest credentials, then answered.
//! - An endpoint that sends its own BYE mid-page: answered 200, reported `stopped_by_user`
//!   ("hung up by the endpoint"), no more RTP reaches it, the phones go on hearing the page, and
//!   nothing is left for recover.
//! - A re-INVITE offering `sendonly` (hold): answered 200 `recvonly` in the call's codec, the
//!   stream pauses, the call is kept; taken back with `sendrecv`, the stream resumes.
//! - Session timers (RFC 4028): an answer making us the refresher of a 4 s session gets our
//!   refresh re-INVITE 2 s later (the stream goes on, the BYE's CSeq follows it); a refresh
//!   answered 481 ends that endpoint's call alone, without a BYE, reported like a hang-up.
//!
//! - baresip (Debian's `baresip`, a second outside peer) answering by itself on loopback: it
//!   answers, the page's RTP reaches it (its log says so), and the page's BYE ends its call.
//!   baresip 1.0's recording of what it receives stays empty here (its `sndfile` filter never
//!   sees the decoded audio without a sound card), so the pitch is sipp's tests' to check.
//!
//! The setup (sipp or baresip on a free port, the media socket, the zone) is
//! `common::sip_endpoint_harness`'s. Without sipp (or baresip) each test prints one line and
//! passes.

mod common;

use std::time::Duration;

use common::cli_setup::{assert_exit, json, stderr};
use common::server::listening;
use common::sip_endpoint_harness::{
    Speaker, have, have_sipp, horn, page_against, page_heard, page_tone, page_with_password,
    tone_page,
};

#[test]
fn a_page_calls_the_sip_speaker_streams_to_its_answer_and_hangs_up_at_the_end() {
    if !have_sipp() {
        return;
    }
    let mut sp = Speaker::new();
    let s = sp.setup("");
    sp.answer("uas_endpoint.xml", &[], 1);
    let heard = sp.listen(20);
    let out = page_tone(&s, "2");
    let (code, log) = sp.done(20);
    assert_exit(&out, 0);
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(h["model"], "SIP endpoint", "{h}");
    assert_eq!(
        (h["accepted"].as_bool(), h["state"].as_str()),
        (Some(true), Some("stopped")),
        "{h}"
    );
    assert_eq!(r["totals"]["accepted"], 3, "{r}");
    assert_eq!(code, Some(0), "sipp did not get its BYE: {log}");
    let heard = heard.join().unwrap();
    // Two seconds are 100 packets; a busy machine starts the listener a little late.
    assert!(heard.packets >= 75, "{} packets", heard.packets);
    assert_eq!(heard.payload_types, [0], "PCMU, as answered");
    let pitch = heard.pitch();
    assert!((pitch - 700.0).abs() < 25.0, "heard {pitch:.0} Hz, not 700");
    // Nothing is left in the journal: the call was hung up.
    assert!(s.journal().trim().is_empty(), "{}", s.journal());
}

#[test]
fn after_sigkill_recover_hangs_up_the_sip_speaker_and_stops_the_phones() {
    if !have_sipp() {
        return;
    }
    let mut sp = Speaker::new();
    let s = sp.setup("");
    sp.answer("uas_endpoint.xml", &[], 1);
    let mut page = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("both phones listening", |r| listening(r) == 2);
    assert!(sp.await_packets(10), "the speaker's stream never came");
    // The journal holds the answered dialog before the SIGKILL.
    let journal = s.journal();
    assert!(
        journal.contains("sip-dialog:") && journal.contains("SIPpTag01"),
        "the journal lacks the answered dialog: {journal}"
    );
    page.kill().unwrap();
    page.wait().unwrap();
    assert_eq!(listening(&s.report()), 2, "nothing stopped the phones");

    let rec = s.run(&["recover"]);
    assert_eq!(
        rec.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&rec.stdout),
        stderr(&rec)
    );
    let (code, log) = sp.done(20);
    assert_eq!(
        code,
        Some(0),
        "sipp did not get its BYE from recover: {log}"
    );
    assert_eq!(listening(&s.report()), 0, "a phone is still listening");
    let text = String::from_utf8_lossy(&rec.stdout);
    assert!(text.contains("horn"), "{text}\n{}", stderr(&rec));
    assert!(
        s.run(&["recover"])
            .stdout
            .starts_with(b"nothing to recover"),
        "a second recover found work"
    );
    // The stream stopped with the process.
    assert!(sp.stays_quiet(Duration::from_millis(300), Duration::from_millis(500)));
}

#[test]
fn a_busy_endpoint_is_reported_and_the_phones_are_still_paged() {
    if !have_sipp() {
        return;
    }
    let (s, out, code, log) = page_against("uas_endpoint_busy.xml");
    assert_eq!(code, Some(0), "sipp did not get the ACK of its 486: {log}");
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(h["accepted"].as_bool(), Some(false), "{h}");
    let reason = h["failure"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("busy 486"), "{h}");
    assert_eq!(r["totals"]["accepted"], 2, "the phones are paged: {r}");
    // In prose, the endpoint's line says why (the second call finds sipp gone: unreachable).
    let prose = s.run(&["page", "--zone", "all", "--tone", "700", "--duration", "1"]);
    let text = String::from_utf8_lossy(&prose.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("horn") && l.contains("SIP endpoint") && l.contains("NOT REACHED")),
        "{text}"
    );
}

#[test]
fn a_digest_challenge_is_answered_with_the_configured_credentials() {
    if !have_sipp() {
        return;
    }
    let password = "horn-secret-4711";
    let (s, out, code, log, heard) = page_with_password("uas_endpoint_auth.xml", password);
    assert_eq!(code, Some(0), "{log}");
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(
        h["accepted"].as_bool(),
        Some(true),
        "the credentials were refused: {h}"
    );
    // Two seconds are 100 packets; a busy machine starts the listener a little late.
    assert!(heard.packets >= 75, "{} packets", heard.packets);
    assert!((heard.pitch() - 900.0).abs() < 25.0);
    // The password is nowhere in what zonecast wrote.
    for text in [
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
        s.journal(),
    ] {
        assert!(!text.contains(password));
    }
}

#[test]
fn a_page_that_ends_before_the_answer_cancels_the_call() {
    if !have_sipp() {
        return;
    }
    let (s, out, code, log) = page_against("uas_endpoint_ringing.xml");
    assert_eq!(
        code,
        Some(0),
        "sipp did not get the CANCEL and the ACK of its 487: {log}"
    );
    let h = horn(&json(&out));
    assert_eq!(h["accepted"].as_bool(), Some(false), "{h}");
    let reason = h["failure"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("cancelled"), "{h}");
    assert_eq!(listening(&s.report()), 0);
}

#[test]
fn after_sigkill_before_the_answer_recover_cancels_the_invite() {
    if !have_sipp() {
        return;
    }
    let mut sp = Speaker::new();
    let s = sp.setup("answer_timeout = \"60s\"\n");
    sp.answer("uas_endpoint_ringing.xml", &[], 1);
    let mut page = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("both phones listening", |r| listening(r) == 2);
    // The dialog was journaled before the INVITE, unanswered (no remote tag).
    let journal = s.journal();
    assert!(
        journal.contains("sip-dialog:") && journal.contains("\\\"remote_tag\\\":null"),
        "{journal}"
    );
    // Let the INVITE ring (its 180 in), then kill.
    std::thread::sleep(Duration::from_millis(500));
    page.kill().unwrap();
    page.wait().unwrap();
    let rec = s.run(&["recover"]);
    let (code, log) = sp.done(20);
    assert_eq!(
        code,
        Some(0),
        "sipp did not get the CANCEL and the ACK of its 487: {log}\n{}",
        String::from_utf8_lossy(&rec.stdout)
    );
    assert_exit(&rec, 0);
    assert_eq!(listening(&s.report()), 0, "a phone is still listening");
}

#[test]
fn a_server_killed_mid_page_hangs_up_the_sip_speaker_when_it_restarts() {
    if !have_sipp() {
        return;
    }
    use common::server::{Server, api};
    let mut sp = Speaker::new();
    let s = common::server::setup(2, &sp.table(""));
    sp.answer("uas_endpoint.xml", &[], 1);
    let mut srv = Server::start(&s);
    let (st, started) = api(
        &srv,
        "POST",
        "/api/pages",
        Some(serde_json::json!({"zone": "all", "source": "tone:600:60"})),
    );
    assert_eq!(st, 201, "{started}");
    s.wait_until("both phones listening", |r| listening(r) == 2);
    assert!(sp.await_packets(1), "the speaker's stream never came");
    srv.child.kill().unwrap(); // SIGKILL: no BYE was sent
    srv.child.wait().unwrap();
    assert_eq!(
        listening(&s.report()),
        2,
        "the killed server left them playing"
    );

    // The restarted server hangs up the speaker and stops the phones before it listens.
    let srv = Server::start(&s);
    let (code, log) = sp.done(20);
    assert_eq!(
        code,
        Some(0),
        "no BYE from the restarted server: {log}\n{}",
        srv.log()
    );
    assert_eq!(listening(&s.report()), 0, "{}", srv.log());
    assert!(srv.log().contains("recovered 3 of 3"), "{}", srv.log());
}

#[test]
fn a_higher_page_takes_the_sip_speaker_over_hanging_up_the_lower_pages_call() {
    if !have_sipp() {
        return;
    }
    let mut sp = Speaker::new();
    let s = sp.setup("");
    // Two calls: the low page's (hung up by the high page) and the high page's.
    sp.answer("uas_endpoint.xml", &[], 2);
    let mut low = s.spawn(&["page", "--zone", "all", "--tone", "600", "--duration", "60"]);
    s.wait_until("both phones listening", |r| listening(r) == 2);
    assert!(sp.await_packets(1), "the low page's stream never came");
    let high = s.run(&[
        "page",
        "--zone",
        "all",
        "--priority",
        "emergency",
        "--tone",
        "900",
        "--duration",
        "2",
        "--json",
    ]);
    assert_exit(&high, 0);
    let h = horn(&json(&high));
    assert_eq!(h["accepted"].as_bool(), Some(true), "{h}");
    let (code, log) = sp.done(20);
    assert_eq!(code, Some(0), "both calls must end with a BYE: {log}");
    // The low page still runs, but sends the speaker nothing any more.
    assert!(
        sp.stays_quiet(Duration::from_millis(300), Duration::from_secs(1)),
        "the low page still streams to the speaker it lost"
    );
    low.kill().unwrap();
    low.wait().unwrap();
    let rec = s.run(&["recover"]);
    assert_exit(&rec, 0);
    let text = String::from_utf8_lossy(&rec.stdout);
    assert!(
        !text.contains("horn"),
        "the released speaker was hung up again: {text}"
    );
}

/// Packets the zone's emulated phones have received so far, all streams together.
fn phones_heard(s: &common::cli_setup::Setup) -> u64 {
    s.report()
        .phones
        .iter()
        .flat_map(|p| p.heard.iter())
        .map(|h| h.rx.summary.packets)
        .sum()
}

#[test]
fn an_endpoint_that_hangs_up_gets_nothing_more_and_the_phones_go_on_hearing() {
    if !have_sipp() {
        return;
    }
    let mut sp = Speaker::new();
    let s = sp.setup("");
    sp.answer("uas_endpoint_hangup.xml", &[], 1);
    let page = s.spawn(&tone_page("5"));
    s.wait_until("both phones listening", |r| listening(r) == 2);
    assert!(sp.await_packets(10), "the speaker's stream never came");
    // sipp sends its BYE a second after the answer, gets its 200 and exits.
    let (code, log) = sp.done(20);
    assert_eq!(
        code,
        Some(0),
        "the endpoint's BYE was not answered 200: {log}"
    );
    let before = phones_heard(&s);
    assert!(
        sp.stays_quiet(Duration::from_millis(200), Duration::from_secs(1)),
        "RTP still reaches the endpoint that hung up"
    );
    assert_eq!(
        listening(&s.report()),
        2,
        "the page must go on for the phones"
    );
    assert!(
        phones_heard(&s) > before + 50,
        "the phones stopped hearing the page"
    );
    let out = page.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(
        (
            h["accepted"].as_bool(),
            h["state"].as_str(),
            h["stopped"].as_bool()
        ),
        (Some(true), Some("stopped_by_user"), Some(true)),
        "{h}"
    );
    assert!(h["stop_failure"].is_null(), "no BYE of ours was tried: {h}");
    assert_eq!(r["totals"]["stopped_by_user"], 1, "{r}");
    assert_eq!(listening(&s.report()), 0, "the phones got their stops");
    // Its dialog is closed in the journal: recover has nothing to hang up.
    assert!(s.journal().trim().is_empty(), "{}", s.journal());
    assert!(
        s.run(&["recover"])
            .stdout
            .starts_with(b"nothing to recover")
    );
}

#[test]
fn a_reinvite_offering_sendonly_is_answered_recvonly_and_the_stream_pauses() {
    if !have_sipp() {
        return;
    }
    // The scenario checks our 200s: recvonly to its hold, sendonly when it takes the call
    // back, the call's codec (PCMU) in both; its OPTIONS answered 200; then our BYE.
    let (out, code, log, heard) = page_heard("uas_endpoint_reinvite.xml", "4");
    assert_eq!(
        code,
        Some(0),
        "the re-INVITEs were not answered as held and back: {log}"
    );
    let h = horn(&json(&out));
    assert_eq!(h["state"].as_str(), Some("stopped"), "{h}");
    // Held for a second: a gap in the stream, which came back after it.
    let gap = heard.longest_gap();
    assert!(
        gap >= Duration::from_millis(700) && gap < Duration::from_secs(2),
        "the stream did not pause while held (longest gap {gap:?})"
    );
    let resumed = heard
        .arrivals
        .windows(2)
        .position(|w| w[1] - w[0] == gap)
        .map_or(0, |i| heard.arrivals.len() - i - 1);
    assert!(resumed >= 50, "only {resumed} packets after the hold");
}

#[test]
fn baresip_answering_by_itself_is_paged_receives_the_stream_and_is_released_by_bye() {
    if !have("baresip", "baresip") {
        return;
    }
    let mut sp = Speaker::new();
    sp.baresip();
    let s = sp.setup("");
    let out = page_tone(&s, "2");
    // The page's BYE ends baresip's call ("terminated"), after which it is stopped.
    let ended = sp.baresip_until("terminated", 10);
    let log = sp.baresip_log();
    let h = horn(&json(&out));
    assert_eq!(out.status.code(), Some(0), "{h}\n{}\n{log}", stderr(&out));
    assert_eq!(
        (h["accepted"].as_bool(), h["state"].as_str()),
        (Some(true), Some("stopped")),
        "{h}\n{log}"
    );
    assert!(
        log.contains("answering call") && log.contains("Call established"),
        "baresip did not answer by itself:\n{log}"
    );
    assert!(
        log.contains("incoming rtp for 'audio' established"),
        "the page's stream never reached baresip:\n{log}"
    );
    assert!(ended, "baresip's call was not ended by our BYE:\n{log}");
    assert!(
        log.contains("session closed: Connection reset by peer"),
        "the call ended otherwise than by our BYE:\n{log}"
    );
}

#[test]
fn session_timers_we_refresh_at_half_the_interval_and_the_bye_comes_after_the_refresh() {
    if !have_sipp() {
        return;
    }
    // Session-Expires 4 s, us refreshing: the refresh comes about 2 s after the answer; the
    // scenario checks it (CSeq 2, 4;refresher=uac) and the BYE's CSeq past it.
    let (out, code, log, heard) = page_heard("uas_endpoint_timer.xml", "3");
    assert_eq!(code, Some(0), "no refresh, or a BYE out of order: {log}");
    let h = horn(&json(&out));
    assert_eq!(h["state"].as_str(), Some("stopped"), "{h}");
    assert!(
        heard.longest_gap() < Duration::from_millis(200),
        "the refresh interrupted the stream"
    );
}

#[test]
fn a_422_asking_for_a_longer_session_gets_a_second_invite_asking_for_it() {
    if !have_sipp() {
        return;
    }
    // The scenario checks what each INVITE asks for (1800 with Min-SE 90, then 3600 at CSeq 2).
    let (out, code, log, heard) = page_heard("uas_endpoint_422.xml", "2");
    assert_eq!(
        code,
        Some(0),
        "the 422 was not taken as RFC 4028 says: {log}"
    );
    let h = horn(&json(&out));
    assert_eq!(
        (h["accepted"].as_bool(), h["state"].as_str()),
        (Some(true), Some("stopped")),
        "{h}"
    );
    assert!(
        heard.packets > 50,
        "the speaker heard {} packets",
        heard.packets
    );
    assert!((heard.pitch() - 700.0).abs() < 15.0, "{} Hz", heard.pitch());
}

/// A speaker that challenges (qop=auth) and then asks for a longer session: the INVITE after
/// the 422 answers the same nonce with the next nonce count, which the speaker checks and
/// verifies (the same `Authorization` again is what a server refusing replays refuses).
#[test]
fn after_a_challenge_a_422_gets_an_invite_answering_the_nonce_with_its_next_count() {
    if !have_sipp() {
        return;
    }
    let password = "horn-secret-4712";
    let (_s, out, code, log, heard) = page_with_password("uas_endpoint_auth_422.xml", password);
    assert_eq!(code, Some(0), "{log}");
    let h = horn(&json(&out));
    assert_eq!(h["accepted"].as_bool(), Some(true), "{h}");
    // Two seconds are 100 packets; a busy machine starts the listener a little late.
    assert!(heard.packets >= 75, "{} packets", heard.packets);
}

#[test]
fn a_session_refresh_answered_481_ends_that_endpoints_call_alone() {
    if !have_sipp() {
        return;
    }
    let mut sp = Speaker::new();
    let s = sp.setup("");
    sp.answer("uas_endpoint_timer_481.xml", &[], 1);
    let page = s.spawn(&tone_page("5"));
    let (code, log) = sp.done(20);
    assert_eq!(
        code,
        Some(0),
        "the refresh never came, or its 481 was not ACKed: {log}"
    );
    assert!(
        sp.stays_quiet(Duration::from_millis(200), Duration::from_secs(1)),
        "RTP still reaches an endpoint whose call is gone"
    );
    assert_eq!(
        listening(&s.report()),
        2,
        "the page must go on for the phones"
    );
    let out = page.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let r = json(&out);
    let h = horn(&r);
    assert_eq!(
        (h["state"].as_str(), h["stopped"].as_bool()),
        (Some("stopped_by_user"), Some(true)),
        "{h}"
    );
    assert_eq!(
        h["ended"], "session refresh failed: 481 (the call is gone)",
        "the report must say why, not 'hung up': {h}"
    );
    assert!(h["stop_failure"].is_null(), "a BYE was tried: {h}");
    assert!(s.journal().trim().is_empty(), "{}", s.journal());
}
