//! Dial-in menus and queues (issue 22), end to end with Debian's sipp (`sip-tester`) calling a
//! real `zonecast serve` on loopback (`tests/common/sip_menu_harness.rs`). Three phones: zone
//! `all` is every one, zone `first` the first two. A menu route (`7010`: `1` → all, `2` →
//! first) keyed `2` as RFC 4733 telephone-events, or as SIP INFO, pages `first`: its phones hear
//! the caller's 1 kHz and the third phone nothing, and the call is journaled with the zone it
//! paged. A wrong key gets the wrong tone and the prompt again, and the right one then pages
//! (the caller hears the menu's pips, the wrong tone, the pips, the wait tone and the beep). A
//! route with `busy = "queue"` (`7020`) whose zone is held by an emergency page is answered, the
//! caller hears the queue tone, and its page starts once the holder ends (the phones then hear
//! the caller); a queue whose wait runs out (`7021`) ends with our BYE and a journal saying so,
//! and a caller who hangs up while queued leaves no page behind when the zone frees up.
//! A delayed menu route (`7011`) records the caller and plays it to the chosen zone only.
//! A caller asking for session timers (RFC 4028, `Session-Expires` with `Supported: timer`)
//! is answered with its interval and `refresher=uac`; one under 90 s gets 422 with `Min-SE`; a
//! 90 s session the caller never refreshes is ended with our BYE (about 60 s in) and its page
//! stopped.
//! Without sipp each test prints one line and passes.

mod common;

use std::time::Duration;

use common::server::{api, listening};
use common::sip_call::tones_of;
use common::sip_menu_harness::{
    MenuAgent, hear_as_caller, hears_the_tone, menu_agent, scenario, scenario_with,
};

const MENU: &str = "7010";
const QUEUED: &str = "7020";
const QUEUE_SHORT: &str = "7021";

const PLAIN: &str = "7001";

const MENU_DELAYED: &str = "7011";

const ROUTES: &str = "[[sip.route]]\nnumber = \"7001\"\nzone = \"all\"\n\n\
     [[sip.route]]\nnumber = \"7011\"\nmenu = { \"1\" = \"all\", \"2\" = \"first\" }\n\
     mode = \"delayed\"\n\n\
     [[sip.route]]\nnumber = \"7010\"\nmenu = { \"1\" = \"all\", \"2\" = \"first\" }\n\n\
     [[sip.route]]\nnumber = \"7020\"\nzone = \"all\"\nbusy = \"queue\"\nqueue_wait = \"40s\"\n\n\
     [[sip.route]]\nnumber = \"7021\"\nzone = \"all\"\nbusy = \"queue\"\nqueue_wait = \"3s\"\n";

fn agent() -> Option<MenuAgent> {
    menu_agent(3, ROUTES)
}

/// The two phones of `first` hear the caller's tone, the third one hears nothing.
fn first_hears_and_the_third_does_not(a: &MenuAgent) {
    a.s.wait_until("the phones of `first` hear the caller's 1 kHz", |r| {
        r.phones.len() == 3 && r.phones.iter().filter(|p| hears_the_tone(p)).count() == 2
    });
    let r = a.s.report();
    let silent: Vec<&str> = r
        .phones
        .iter()
        .filter(|p| p.heard.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(silent.len(), 1, "{r:?}");
}

#[test]
fn a_menu_call_pages_the_zone_its_key_chooses_and_no_other() {
    let Some(a) = agent() else { return };
    // RFC 4733: '2' at once.
    let keys = [("'KEYS'", "'2'"), ("'LATER_KEYS'", "''")];
    let path = scenario_with(a.dir.path(), "uac_menu.xml", "menu_2.xml", &keys);
    let call = a.call_in_background(path, MENU);
    first_hears_and_the_third_does_not(&a);
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", a.srv.log());
    a.s.wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
    let calls = a.ended_calls(1);
    assert_eq!(calls[0]["zone"], "first", "{calls:?}");
    assert_eq!(calls[0]["number"], MENU);
    assert_eq!(calls[0]["outcome"], "the caller hung up", "{calls:?}");
    assert!(calls[0]["page"].as_str().is_some(), "{calls:?}");

    // SIP INFO: Signal=2.
    let path = scenario_with(
        a.dir.path(),
        "uac_menu_info.xml",
        "menu_info.xml",
        &[("Signal=KEY", "Signal=2")],
    );
    let call = a.call_in_background(path, MENU);
    a.s.wait_until("the phones of `first` hear the second caller", |r| {
        r.phones.iter().filter(|p| hears_the_tone(p)).count() == 2
    });
    let r = a.s.report();
    let third = r.phones.iter().find(|p| p.heard.is_empty());
    assert!(third.is_some(), "the third phone heard a call: {r:?}");
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the INFO call failed: {log}\nserver: {}", a.srv.log());
    let calls = a.ended_calls(2);
    assert_eq!(calls[0]["zone"], "first", "{calls:?}");
}

#[test]
fn a_wrong_key_gets_the_wrong_tone_and_the_prompt_again_then_the_right_one_pages() {
    let Some(a) = agent() else { return };
    // The caller's SDP names this socket: what zonecast sends the caller comes here.
    let ear = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let ear_port = ear.local_addr().unwrap().port();
    let listened = std::thread::spawn(move || hear_as_caller(ear, 7));
    let m = format!("m=audio {ear_port}");
    let swaps = [
        ("'KEYS'", "'5'"),
        ("'LATER_KEYS'", "'2'"),
        ("m=audio [media_port]", m.as_str()),
    ];
    let path = scenario_with(a.dir.path(), "uac_menu.xml", "menu_5_2.xml", &swaps);
    let call = a.call_in_background(path, MENU);
    first_hears_and_the_third_does_not(&a);
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", a.srv.log());
    // The wrong tone (400 Hz) and the wait tone (425 Hz) are too near to tell apart in one
    // frame: both are 'l', told apart by their lengths (500 ms whole, 300 ms bursts).
    let heard = tones_of(
        &listened.join().unwrap(),
        &[
            ('m', zonecast::sip::MENU_HZ),
            ('l', zonecast::sip::WRONG_HZ),
            ('l', zonecast::sip::WAIT_HZ),
            ('b', zonecast::sip::BEEP_HZ),
        ],
    );
    assert!(!heard.contains('?'), "{heard}");
    // Menu pips, the wrong tone (25 frames), the pips again, then the wait tone and the beep.
    let first_low = heard
        .find('l')
        .unwrap_or_else(|| panic!("no wrong tone: {heard}"));
    assert!(heard[..first_low].contains("mmmmm"), "{heard}");
    let wrong = heard[first_low..].chars().take_while(|&c| c == 'l').count();
    assert!(
        (23..=26).contains(&wrong),
        "{wrong} frames of the wrong tone: {heard}"
    );
    let after = heard[first_low + wrong..].trim_start_matches('.');
    assert!(after.starts_with("mmmm"), "no second prompt: {heard}");
    let beep = heard
        .find('b')
        .unwrap_or_else(|| panic!("no beep: {heard}"));
    assert!(
        heard[..beep].trim_end_matches('.').ends_with("llll"),
        "{heard}"
    );
    let calls = a.ended_calls(1);
    assert_eq!(calls[0]["zone"], "first", "{calls:?}");
}

/// Start an emergency page of zone `all` over the API (it holds every phone): its id.
fn hold_the_zone(a: &MenuAgent) -> String {
    let (st, body) = api(
        &a.srv,
        "POST",
        "/api/pages",
        Some(serde_json::json!({"zone": "all", "source": "silence:60", "priority": "emergency"})),
    );
    assert_eq!(st, 201, "{body}");
    a.s.wait_until("the emergency page plays", |r| listening(r) == 3);
    body["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_queued_call_waits_for_the_higher_page_and_then_pages_the_zone() {
    let Some(a) = agent() else { return };
    let holder = hold_the_zone(&a);
    let ear = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let ear_port = ear.local_addr().unwrap().port();
    let listened = std::thread::spawn(move || hear_as_caller(ear, 3));
    let m = format!("m=audio {ear_port}");
    let path = scenario_with(
        a.dir.path(),
        "uac_queue.xml",
        "queue_ear.xml",
        &[("m=audio [media_port]", m.as_str())],
    );
    let call = a.call_in_background(path, QUEUED);
    // Answered and queued: the caller hears the queue tone, and nothing reaches the phones.
    let heard = tones_of(&listened.join().unwrap(), &[('q', zonecast::sip::QUEUE_HZ)]);
    assert!(heard.matches('q').count() >= 16, "no queue tone: {heard}");
    assert!(!heard.contains('?'), "{heard}");
    let (_, body) = api(&a.srv, "GET", "/api/calls", None);
    let in_progress = body["in_progress"].as_array().cloned().unwrap_or_default();
    assert_eq!(in_progress.len(), 1, "{body}");
    assert!(in_progress[0].get("page").is_none(), "{body}");
    // The holder ends: the queued call's page starts and the phones hear the caller.
    let (st, _) = api(&a.srv, "DELETE", &format!("/api/pages/{holder}"), None);
    assert!(st < 300, "{st}");
    a.s.wait_until("every phone hears the queued caller", |r| {
        r.phones.iter().filter(|p| hears_the_tone(p)).count() == 3
    });
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", a.srv.log());
    a.s.wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
    let calls = a.ended_calls(1);
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("the caller hung up (queued "),
        "{outcome}"
    );
    assert!(calls[0]["page"].as_str().is_some(), "{calls:?}");
    // The history: the holder, the try that found the zone held (the reason the call was
    // queued), and the call's page; the wait looked at the zone without planning more pages.
    let (_, h) = api(&a.srv, "GET", "/api/history", None);
    let pages = h["pages"].as_array().expect("pages");
    let by_caller: Vec<&str> = pages
        .iter()
        .filter(|p| {
            p["requested_by"]
                .as_str()
                .is_some_and(|r| r.starts_with("sip:"))
        })
        .filter_map(|p| p["ended_by"].as_str())
        .collect();
    assert_eq!(
        by_caller,
        ["the caller hung up", "no phone can take part"],
        "{h}"
    );
    assert_eq!(pages.len(), 3, "{h}");
}

#[test]
fn a_queue_whose_wait_runs_out_ends_with_bye_and_says_so() {
    let Some(a) = agent() else { return };
    let _holder = hold_the_zone(&a);
    let started = std::time::Instant::now();
    // The scenario ends once zonecast's BYE came and was answered.
    let out = a.run_sipp(&scenario("uac_queue_timeout.xml"), QUEUE_SHORT);
    a.assert_called(&out);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "BYE before the wait: {took:?}"
    );
    let calls = a.ended_calls(1);
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert_eq!(outcome, "the zone stayed busy: queued 3 s", "{calls:?}");
    assert!(calls[0].get("page").is_none(), "{calls:?}");
    // Only the emergency page played: no phone heard the caller.
    let r = a.s.report();
    assert!(r.phones.iter().all(|p| !hears_the_tone(p)), "{r:?}");
}

#[test]
fn session_timers_are_answered_for_the_caller_to_refresh_and_too_short_ones_get_422() {
    let Some(a) = agent() else { return };
    let timer = "Supported: timer\n      Session-Expires: 90;refresher=uac\n      Min-SE: 90\n";
    // Too short: 422 with our Min-SE, nothing paged.
    let short = timer.replace("Expires: 90", "Expires: 60");
    let invite_at = "Max-Forwards: 70\n      Content-Type: application/sdp\n";
    let invite_short =
        format!("Max-Forwards: 70\n      {short}      Content-Type: application/sdp\n");
    let path = scenario_with(
        a.dir.path(),
        "uac_refused.xml",
        "timer_422.xml",
        &[
            (invite_at, invite_short.as_str()),
            (
                "<recv response=\"EXPECTED_STATUS\" />",
                "<recv response=\"422\"><action><ereg regexp=\"Min-SE: 90\" search_in=\"msg\" \
             check_it=\"true\" assign_to=\"min\" /></action></recv><Reference variables=\"min\" />",
            ),
        ],
    );
    let out = a.run_sipp(&path, PLAIN);
    a.assert_called(&out);
    let calls = a.ended_calls(1);
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("refused 422"), "{outcome}");
    // 90 s: answered with it, the caller the refresher; the call pages as any.
    let subject = "Subject: zonecast dial-in test\n";
    let with_timer = format!("{subject}      {timer}");
    let path = scenario_with(
        a.dir.path(),
        "uac_queue.xml",
        "timer_90.xml",
        &[
            (subject, with_timer.as_str()),
            (
                "<Reference variables=\"m,mport\" />",
                "<Reference variables=\"m,mport,se\" />",
            ),
            (
                "search_in=\"body\" check_it=\"true\" assign_to=\"m,mport\" />",
                "search_in=\"body\" check_it=\"true\" assign_to=\"m,mport\" />\n      \
             <ereg regexp=\"Session-Expires: 90;refresher=uac\" search_in=\"msg\" \
             check_it=\"true\" assign_to=\"se\" />",
            ),
        ],
    );
    let call = a.call_in_background(path, PLAIN);
    a.s.wait_until("every phone hears the caller", |r| {
        r.phones.iter().filter(|p| hears_the_tone(p)).count() == 3
    });
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the call failed: {log}\nserver: {}", a.srv.log());
    let calls = a.ended_calls(2);
    assert_eq!(calls[0]["outcome"], "the caller hung up", "{calls:?}");
}

/// A caller that asks for a 90 s session and never refreshes it, talking all along: the
/// session runs out, we end the call with BYE (sipp answers it), every phone gets its stop and
/// the call's outcome says why. (About 90 s: RFC 4028's shortest interval.)
#[test]
fn a_session_the_caller_never_refreshes_is_ended_with_bye_and_its_page_stopped() {
    let Some(a) = agent() else { return };
    let subject = "Subject: zonecast dial-in test\n";
    let with_timer = format!(
        "{subject}      Supported: timer\n      Session-Expires: 90;refresher=uac\n      Min-SE: 90\n"
    );
    // Talk (looping the tone) until our BYE comes, answer it, and end.
    let until_bye = "<recv request=\"BYE\" timeout=\"150000\" />\n  \
        <nop><action><exec rtp_stream=\"pause\" /></action></nop>\n  \
        <send><![CDATA[\n\n      SIP/2.0 200 OK\n      [last_Via:]\n      [last_From:]\n      \
        [last_To:]\n      [last_Call-ID:]\n      [last_CSeq:]\n      Content-Length: 0\n\n    \
        ]]></send>\n  <nop next=\"done\" />\n  <pause milliseconds=\"14000\" />";
    let path = scenario_with(
        a.dir.path(),
        "uac_queue.xml",
        "timer_expires.xml",
        &[
            (subject, with_timer.as_str()),
            ("<pause milliseconds=\"14000\" />", until_bye),
            ("</scenario>", "<label id=\"done\" />\n</scenario>"),
        ],
    );
    let call = a.call_in_background(path, PLAIN);
    a.s.wait_until("every phone hears the caller", |r| {
        r.phones.iter().filter(|p| hears_the_tone(p)).count() == 3
    });
    let (ok, log) = call.join().unwrap();
    assert!(
        ok,
        "no BYE from us, or not as sipp expects: {log}\nserver: {}",
        a.srv.log()
    );
    a.s.wait_until("every phone stopped", |r| listening(r) == 0);
    let calls = a.ended_calls(1);
    assert_eq!(
        calls[0]["outcome"], "the caller did not refresh the session (RFC 4028)",
        "{calls:?}"
    );
}

#[test]
fn a_caller_who_hangs_up_while_queued_leaves_nothing_behind() {
    let Some(a) = agent() else { return };
    let holder = hold_the_zone(&a);
    // Queued for 3 s, then BYE.
    let path = scenario_with(
        a.dir.path(),
        "uac_queue.xml",
        "queue_bye.xml",
        &[(
            "<pause milliseconds=\"14000\" />",
            "<pause milliseconds=\"3000\" />",
        )],
    );
    let out = a.run_sipp(&path, QUEUED);
    a.assert_called(&out);
    let calls = a.ended_calls(1);
    assert_eq!(
        calls[0]["outcome"], "the caller hung up while queued",
        "{calls:?}"
    );
    assert!(calls[0].get("page").is_none(), "{calls:?}");
    // The zone frees up: nothing of the call's starts.
    let (st, _) = api(&a.srv, "DELETE", &format!("/api/pages/{holder}"), None);
    assert!(st < 300, "{st}");
    a.s.wait_until("every phone stopped", |r| listening(r) == 0);
    std::thread::sleep(Duration::from_secs(3));
    let r = a.s.report();
    assert_eq!(listening(&r), 0, "{r:?}");
    assert!(r.phones.iter().all(|p| !hears_the_tone(p)), "{r:?}");
    let (_, pages) = api(&a.srv, "GET", "/api/pages", None);
    let live = pages.to_string();
    assert!(!live.contains("sip:sipp@"), "{live}");
}

#[test]
fn a_delayed_menu_route_records_the_caller_then_plays_it_to_the_chosen_zone() {
    let Some(a) = agent() else { return };
    let keys = [("'KEYS'", "'2'"), ("'LATER_KEYS'", "''")];
    let path = scenario_with(a.dir.path(), "uac_menu.xml", "delayed_2.xml", &keys);
    let out = a.run_sipp(&path, MENU_DELAYED);
    a.assert_called(&out);
    // After the hang-up the recording plays to `first` only.
    first_hears_and_the_third_does_not(&a);
    a.s.wait_until("every phone stopped after the recording", |r| {
        listening(r) == 0
    });
    let calls = a.ended_calls(1);
    assert_eq!(calls[0]["zone"], "first", "{calls:?}");
    assert_eq!(calls[0]["mode"], "delayed", "{calls:?}");
    let outcome = calls[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("the caller hung up: recorded"),
        "{outcome}"
    );
}
