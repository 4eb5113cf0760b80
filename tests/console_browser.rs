//! The web console in a real browser: Debian's Chromium driven headless through chromedriver
//! (WebDriver, with fantoccini) against a real `zonecast serve` and a fleet of emulated phones
//! on loopback. Each test has its own server, fleet, browser and profile.
//!
//! Covered: signing in (a wrong password refused); uploading a sound (with its progress bar)
//! and paging it; each phone turning "receiving" on the live screen as the phones take the
//! page; the big Stop; the page in the history (filters, each phone's outcome, its own live
//! screen); a 1,000-phone page with failures first and the rest folded; names and banners
//! holding HTML shown as text; a page and its stop by keyboard alone (zone search, recent zones
//! first); an operator offered and allowed only its zones, a viewer none, changes without the
//! CSRF token or from another site refused; the browser's microphone (Chromium's fake capture
//! device playing a 440 Hz WAV) heard at 440 Hz by the phones, over loopback HTTP and over the
//! HTTPS listener; ring a bell now, play and delete sounds, ringtones, recordings, users and
//! the audit log, health; changing one's password, signing out, an ended session sent back to
//! sign-in; a 375-pixel-wide screen without sideways scrolling. Screenshots of the main
//! screens go to `target/console-screenshots/`.
//!
//! Without /usr/bin/chromium or /usr/bin/chromedriver each test prints one line and passes
//! (`make test` installs both).

mod common;

use std::path::Path;
use std::time::Duration;

use common::browser::{Browser, browser_installed};
use common::cli_setup::Setup;
use common::server::*;
use fantoccini::Locator;
use serde_json::{Value, json};

const TAB: char = '\u{e004}';
const ENTER: char = '\u{e007}';

/// A fleet of `n` phones and its config, with uploads up to 4 MB (a 30 s WAV), edited by
/// `edit` before the server reads it.
fn fleet(n: usize, edit: impl Fn(String) -> String) -> Setup {
    fleet_with(n, "", edit)
}

/// [`fleet`] with `extra` tables (bells).
fn fleet_with(n: usize, extra: &str, edit: impl Fn(String) -> String) -> Setup {
    let s = setup(n, extra);
    let path = s.path("zonecast.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("upload_limit = \"64K\"", "upload_limit = \"4M\"");
    std::fs::write(&path, edit(text)).unwrap();
    s
}

const USER: &str = "amira";
const PASSWORD: &str = "correct horse battery 7";

/// Make the admin user the tests sign in as (before the server starts).
fn add_user(s: &Setup) {
    let out = s
        .cmd(&["user", "add", USER, "--role", "admin"])
        .env("ZONECAST_USER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zonecast user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sign in on `/signin` by typing, as a person would, a wrong password first (refused, and
/// said so); land on the page-now screen as the admin.
fn sign_in(b: &Browser) {
    b.goto("/");
    b.wait_js(
        "the redirect to sign in",
        10,
        "return location.pathname",
        |v| v == "/signin",
    );
    b.ready();
    b.type_in("#signin-user", USER);
    b.type_in("#signin-password", "not the password");
    b.click("#signin-form button[type=submit]");
    b.wait_js(
        "the wrong-password message",
        10,
        "return document.getElementById('signin-error').textContent",
        |v| v.as_str().is_some_and(|t| t.contains("Wrong")),
    );
    b.js("document.getElementById('signin-password').value = ''; return 0");
    b.type_in("#signin-password", PASSWORD);
    b.click("#signin-form button[type=submit]");
    b.wait_js("the page-now screen", 15, "return location.pathname", |v| {
        v == "/"
    });
    b.ready();
    let who = b.js("return document.getElementById('whoami').textContent");
    assert!(
        who.as_str()
            .is_some_and(|w| w.contains(USER) && w.contains("admin")),
        "{who}"
    );
}

/// A 16-bit 8 kHz mono WAV of `secs` seconds of `hz`.
fn tone_wav(path: &Path, hz: f64, secs: f64, rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(secs * rate as f64) as usize {
        let t = i as f64 / rate as f64;
        w.write_sample((8000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// The admin user made, `zonecast serve` started, and a browser of `size` signed in.
fn signed_in(s: &Setup, size: (u32, u32)) -> (Server, Browser) {
    add_user(s);
    let srv = Server::start(s);
    let b = Browser::start(&srv.url, size, &[]);
    sign_in(&b);
    (srv, b)
}

/// A minute of silence uploaded (µ-law, declared: a page of it lasts until it is stopped, or
/// outlasts the checks), and a browser signed in on Page now with it chosen.
fn on_page_now_with_a_long_sound(srv: &Server) -> Browser {
    let (st, body) = call_raw(
        "PUT",
        &format!("{}/api/sounds/long_quiet", srv.url),
        Some(TOKEN),
        Some(vec![0xFF; 8000 * 60]),
        "audio/basic",
    );
    assert_eq!(st, 201, "{body}");
    let b = Browser::start(&srv.url, (1280, 900), &[]);
    sign_in(&b);
    b.goto("/?sound=upload:long_quiet");
    b.ready();
    b
}

fn states_of(b: &Browser, state: &str) -> usize {
    let v = b.js(&format!(
        "return [...document.querySelectorAll('#live-groups li[data-state={state}]')].length"
    ));
    v.as_u64().unwrap_or(0) as usize
}

fn all_hearing(r: &zonecast::phone_sim::FleetReport) -> bool {
    r.phones
        .iter()
        .all(|p| p.heard.last().is_some_and(|h| h.active))
}

#[test]
fn sign_in_upload_a_sound_page_it_watch_it_live_stop_it_and_find_it_in_history() {
    if !browser_installed("console_browser") {
        return;
    }
    let s = fleet(4, |t| t);
    add_user(&s);
    // Two calls in the SIP agent's journal, as it writes them (the console reads GET /api/calls).
    let calls = s.path("data/calls");
    std::fs::create_dir_all(&calls).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let journal = [
        json!({"call": "c-1", "caller": "sip:4410@trunk", "number": "7002", "zone": "all",
               "mode": "live", "started_ms": now - 60_000}),
        json!({"call": "c-1", "caller": "sip:4410@trunk", "number": "7002", "zone": "all",
               "mode": "live", "started_ms": now - 60_000, "duration_ms": 42_000,
               "outcome": "the caller hung up"}),
        json!({"call": "c-2", "caller": "sip:<b>desk</b>@trunk", "number": "7001", "zone": "all",
               "mode": "delayed", "started_ms": now - 5_000}),
    ]
    .map(|r| r.to_string() + "\n")
    .concat();
    std::fs::write(calls.join("calls.jsonl"), journal).unwrap();
    let srv = Server::start(&s);
    let b = Browser::start(&srv.url, (1280, 900), &[]);
    b.goto("/signin");
    b.ready();
    b.shot("signin");
    sign_in(&b);

    // Upload a 30 s sound on the sounds screen: the progress bar fills, the server says how
    // long it is, and it is listed with a player.
    let wav = s.path("lobby-tone.wav");
    tone_wav(&wav, 440.0, 30.0, 8000);
    b.click("a[data-nav=sounds]");
    b.ready();
    b.type_in("#upload-name", "lobby_tone");
    b.type_in("#upload-file", wav.to_str().unwrap());
    b.click("#upload-form button[type=submit]");
    b.wait_js(
        "the upload to be stored",
        20,
        "return document.getElementById('upload-status').textContent",
        |v| v.as_str().is_some_and(|t| t.contains("Stored")),
    );
    let status = b.js("return document.getElementById('upload-status').textContent");
    assert!(
        status.as_str().unwrap().contains("30.0 s"),
        "the server measured the upload: {status}"
    );
    assert_eq!(
        b.js("return document.getElementById('upload-progress').value"),
        100
    );
    b.wait_js(
        "the sound listed with a player",
        10,
        "return !!document.querySelector('li[data-sound=lobby_tone] audio')",
        |v| v == true,
    );
    b.shot("sounds");
    let (_, sounds) = api(&srv, "GET", "/api/sounds", None);
    assert!(
        sounds["uploaded"]
            .as_array()
            .unwrap()
            .contains(&json!("lobby_tone")),
        "{sounds}"
    );

    // Page it: "Page it" preselects the sound on the page-now screen.
    b.click("li[data-sound=lobby_tone] a");
    b.ready();
    assert_eq!(
        b.js("return document.getElementById('sound').value"),
        "upload:lobby_tone"
    );
    b.click("#zone-list .choice[data-zone=all] label");
    b.type_in("#banner", "Fire drill");
    b.shot("page-now");
    assert_eq!(s.report().totals.pushes, 0, "nothing sent before Page");
    b.click("#page-start");

    // Live: every phone turns "receiving" as it takes the page, while the emulated phones
    // really hear the stream.
    b.wait_js(
        "4 phones receiving on the live panel",
        20,
        "return document.querySelectorAll('#live-groups li[data-state=accepted]').length",
        |v| v == 4,
    );
    s.wait_until("all 4 phones hearing the stream", all_hearing);
    let rows =
        b.js("return [...document.querySelectorAll('#live-groups li')].map(li => li.textContent)");
    let rows: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let names: Vec<String> = s.report().phones.iter().map(|p| p.name.clone()).collect();
    for name in &names {
        assert!(
            rows.iter()
                .any(|r| r.starts_with(name.as_str()) && r.ends_with("receiving")),
            "{name} receiving: {rows:?}"
        );
    }
    assert!(
        s.report()
            .phones
            .iter()
            .all(|p| p.status_banner.as_deref() == Some("Fire drill"))
    );
    let totals = b.js("return document.getElementById('live-totals').innerText");
    assert!(totals.as_str().unwrap().contains("Receiving"), "{totals}");
    b.shot("live");
    let (_, active) = api(&srv, "GET", "/api/pages", None);
    let id = active["pages"][0]["page"].as_str().unwrap().to_owned();
    assert_eq!(active["pages"][0]["source"], "upload:lobby_tone");

    // The one big Stop: the phones are released and the panel says it ended.
    b.click("#page-stop");
    b.wait_js(
        "the live panel to say the page ended",
        20,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
    s.wait_until("no phone listening", |r| listening(r) == 0);
    b.wait_js(
        "4 phones stopped on the live panel",
        10,
        "return document.querySelectorAll('#live-groups li[data-state=stopped]').length",
        |v| v == 4,
    );

    // History: the page is there, and its per-phone outcomes.
    b.click("a[data-nav=history]");
    b.ready();
    let row = format!("#history-rows tr[data-page=\"{id}\"]");
    b.wait_js(
        "the page in the history",
        10,
        &format!("return !!document.querySelector('{row}')"),
        |v| v == true,
    );
    b.click(&format!("{row} button"));
    b.wait_js(
        "4 phones stopped in the page's outcomes",
        10,
        "return document.querySelectorAll('#history-outcomes tr[data-state=stopped]').length",
        |v| v == 4,
    );
    let text = b.js("return document.getElementById('history-detail').innerText");
    for name in &names {
        assert!(text.as_str().unwrap().contains(name.as_str()), "{text}");
    }
    // The filters narrow the list: another zone hides it, its own shows it.
    b.run(async {
        let sel = b.c().find(Locator::Id("f-zone")).await.unwrap();
        sel.select_by_value("first").await.unwrap();
    });
    assert_eq!(
        b.js(&format!("return !!document.querySelector('{row}')")),
        false
    );
    b.run(async {
        let sel = b.c().find(Locator::Id("f-zone")).await.unwrap();
        sel.select_by_value("all").await.unwrap();
    });
    assert_eq!(
        b.js(&format!("return !!document.querySelector('{row}')")),
        true
    );
    b.shot("history");
    // Calls: one in progress and one ended, as the SIP agent journals them; the caller's text
    // shows as text.
    let calls = b.js("return document.getElementById('calls').innerText");
    let calls = calls.as_str().unwrap();
    assert!(
        calls.contains("sip:<b>desk</b>@trunk") && calls.contains("in progress"),
        "{calls}"
    );
    assert!(
        calls.contains("7002") && calls.contains("the caller hung up") && calls.contains("42 s")
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#calls tr[data-call]').length"),
        2
    );
    // Its own screen, /live/ID, shows the ended page with each phone's outcome.
    b.click(&format!("{row} a"));
    b.ready();
    b.wait_js(
        "the ended page on its live screen",
        10,
        "return [document.getElementById('live-status').textContent.startsWith('Ended'), \
           document.querySelectorAll('#live-groups li[data-state=stopped]').length, \
           document.getElementById('page-stop').disabled]",
        |v| v == &json!([true, 4, true]),
    );
    b.shot("live-ended");

    // The other screens load and show the server's data.
    b.click("a[data-nav=zones]");
    b.ready();
    let zones = b.js("return document.getElementById('zones-rows').innerText");
    assert!(zones.as_str().unwrap().contains("all"), "{zones}");
    let config = b.js("return document.getElementById('config-path').textContent");
    assert!(
        config.as_str().unwrap().ends_with("zonecast.toml"),
        "{config}"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#phones-rows tr[data-phone]').length"),
        4
    );
    b.shot("zones");
}

#[test]
fn names_and_banners_holding_html_show_as_text() {
    if !browser_installed("console_browser") {
        return;
    }
    const ZONE: &str = "<img/src=x/onerror=window.__xss=1>";
    const PHONE: &str = "<script>window.__xss=2</script>";
    const BANNER: &str = "<b>x</b><svg/onload=__xss=3>";
    let s = fleet(2, |t| {
        let first = t
            .split("name = \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let first = format!("\"{first}\"");
        t.replace(&first, &format!("{PHONE:?}"))
            .replace("[zone.first]", &format!("[zone.{ZONE:?}]"))
            .replace("banner = \"Announcement\"", &format!("banner = {BANNER:?}"))
    });
    let (_srv, b) = signed_in(&s, (1280, 900));

    let texts = |script: &str| -> Vec<String> {
        b.js(script)
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let safe = |b: &Browser| {
        let v = b.js(
            "return [window.__xss === undefined, document.querySelectorAll('main script, main img, main svg, main b').length]",
        );
        assert_eq!(v, json!([true, 0]), "markup from the API ran or was built");
    };
    // The zone picker lists the zone by its name, as text.
    let zones =
        texts("return [...document.querySelectorAll('#zone-list label')].map(l => l.textContent)");
    assert!(zones.iter().any(|z| z == ZONE), "{zones:?}");
    safe(&b);

    // Zones and phones: the phone's and the zone's names and the banner, as text.
    b.click("a[data-nav=zones]");
    b.ready();
    let zone_rows =
        texts("return [...document.querySelectorAll('#zones-rows td')].map(td => td.textContent)");
    assert!(zone_rows.iter().any(|t| t == ZONE), "{zone_rows:?}");
    assert!(zone_rows.iter().any(|t| t == BANNER), "{zone_rows:?}");
    assert!(zone_rows.iter().any(|t| t.contains(PHONE)), "{zone_rows:?}");
    let phones = texts(
        "return [...document.querySelectorAll('#phones-rows tr')].map(tr => tr.dataset.phone)",
    );
    assert!(phones.iter().any(|p| p == PHONE), "{phones:?}");
    safe(&b);

    // Page the zone: the live panel names the phone as text, whatever became of its page.
    b.click("a[data-nav=page]");
    b.ready();
    b.click(&format!(
        "#zone-list .choice[data-zone={}] input",
        serde_json::to_string(ZONE).unwrap()
    ));
    b.click("#page-start");
    b.wait_js(
        "the phone on the live panel",
        20,
        "return [...document.querySelectorAll('#live-groups .phone')].map(s => s.textContent)",
        |v| v.as_array().is_some_and(|a| a.iter().any(|p| p == PHONE)),
    );
    safe(&b);
    b.click("#page-stop");
    b.wait_js(
        "the page to end",
        20,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
    b.click("a[data-nav=history]");
    b.ready();
    b.click("#history-rows tr[data-page] button");
    b.wait_js(
        "the page's outcomes",
        10,
        "return document.querySelectorAll('#history-outcomes tr[data-phone]').length",
        |v| v.as_u64().is_some_and(|n| n >= 1),
    );
    let detail = b.js("return document.getElementById('history-detail').innerText");
    assert!(detail.as_str().unwrap().contains(ZONE), "{detail}");
    safe(&b);

    // A page id in the path is text too.
    b.goto("/live/%3Cscript%3Ewindow.__xss=4%3C%2Fscript%3E");
    b.ready();
    assert_eq!(
        b.js("return document.getElementById('live-id').textContent"),
        "<script>window.__xss=4</script>"
    );
    safe(&b);
}

#[test]
fn a_page_and_its_stop_by_keyboard_alone() {
    if !browser_installed("console_browser") {
        return;
    }
    let s = fleet(3, |t| t);
    add_user(&s);
    let srv = Server::start(&s);
    let b = on_page_now_with_a_long_sound(&srv);

    // From the top of the page, Tab walks through real controls, each with a visible focus
    // ring, to the Page button: the zone search (typing in it picks the zone), the zone, the
    // sound, the banner, the priority.
    b.js(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); return 0",
    );
    let mut visited = Vec::new();
    for _ in 0..40 {
        b.press(TAB);
        let id = b.focused_id();
        let outline = b.js("return getComputedStyle(document.activeElement).outlineStyle");
        assert_ne!(outline, "none", "the focus on #{id} is visible");
        visited.push(id.clone());
        if id == "zone-search" {
            for c in "fir".chars() {
                b.press(c);
            }
            let checked = b.js("return document.querySelector('#zone-list input:checked').value");
            assert_eq!(checked, "first", "the search picks the one zone it matches");
        }
        if id == "page-start" {
            break;
        }
    }
    assert_eq!(
        visited.last().map(String::as_str),
        Some("page-start"),
        "{visited:?}"
    );
    for control in ["zone-search", "sound", "banner", "priority"] {
        assert!(
            visited.iter().any(|v| v == control),
            "{control}: {visited:?}"
        );
    }
    assert!(
        visited
            .iter()
            .any(|v| v.starts_with("zone-") && v != "zone-search"),
        "a zone radio: {visited:?}"
    );
    assert_eq!(s.report().totals.pushes, 0);

    // Enter pages the zone; the focus moves to Stop, and Enter stops it.
    b.press(ENTER);
    b.wait_js(
        "2 phones receiving",
        20,
        "return document.querySelectorAll('#live-groups li[data-state=accepted]').length",
        |v| v == 2,
    );
    s.wait_until("the 2 phones of zone first hearing", |r| listening(r) == 2);
    assert_eq!(b.focused_id(), "page-stop");
    assert_eq!(states_of(&b, "accepted"), 2);
    b.press(ENTER);
    b.wait_js(
        "the page to end",
        20,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
    s.wait_until("no phone listening", |r| listening(r) == 0);
    let (_, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(hist["pages"][0]["zone"], "first", "{hist}");
    assert!(
        hist["pages"][0]["ended_by"]
            .as_str()
            .is_some_and(|e| e.contains("stopped")),
        "{hist}"
    );

    // The zone just paged now comes first, marked recent.
    b.goto("/");
    b.ready();
    let first = b.js(
        "const c = document.querySelector('#zone-list .choice'); return [c.dataset.zone, c.textContent]",
    );
    assert_eq!(first[0], "first", "{first}");
    assert!(first[1].as_str().unwrap().contains("recent"), "{first}");
}

#[test]
fn the_console_fits_a_phone_sized_screen() {
    if !browser_installed("console_browser") {
        return;
    }
    let s = fleet(2, |t| t);
    let (_srv, b) = signed_in(&s, (375, 800));
    for (path, name) in [
        ("/", "page-now-375px"),
        ("/history", "history-375px"),
        ("/zones", "zones-375px"),
    ] {
        b.goto(path);
        b.ready();
        // Nothing but wide tables (which scroll inside their own box) is wider than the screen.
        let width = b.js("return [document.documentElement.scrollWidth, window.innerWidth]");
        assert!(
            width[0].as_u64() <= width[1].as_u64(),
            "{path} scrolls sideways at 375 px: {width}"
        );
        b.shot(name);
    }
    let big = b.js("return document.getElementById('page-start') === null ? 0 : 1");
    assert_eq!(big, 0, "the last screen is the zones screen");
    b.goto("/");
    b.ready();
    let button = b.js("const r = document.getElementById('page-start').getBoundingClientRect(); return [r.width, r.height]");
    assert!(
        button[0].as_f64().unwrap() >= 300.0 && button[1].as_f64().unwrap() >= 44.0,
        "the Page button is big enough to tap: {button}"
    );
}

#[test]
fn an_operator_pages_only_granted_zones_a_viewer_none_and_changes_need_the_csrf_token() {
    if !browser_installed("console_browser") {
        return;
    }
    let s = fleet(3, |t| t);
    let out = s
        .cmd(&[
            "user", "add", "omar", "--role", "operator", "--zones", "first",
        ])
        .env("ZONECAST_USER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unrecognized subcommand"), "{err}");
        eprintln!("console_browser: operator test skipped: no `zonecast user` yet");
        return;
    }
    let out = s
        .cmd(&["user", "add", "vera", "--role", "viewer"])
        .env("ZONECAST_USER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let srv = Server::start(&s);
    let b = Browser::start(&srv.url, (1280, 900), &[]);
    b.goto("/signin");
    b.ready();
    b.type_in("#signin-user", "omar");
    b.type_in("#signin-password", PASSWORD);
    b.click("#signin-form button[type=submit]");
    b.wait_js("the page-now screen", 15, "return location.pathname", |v| {
        v == "/"
    });
    b.ready();

    // The UI offers only the granted zone.
    let zones = b.js("return [...document.querySelectorAll('#zone-list input')].map(i => i.value)");
    assert_eq!(zones, json!(["first"]));

    // Crafted requests from the signed-in page: a zone not granted (with the right CSRF
    // token), and the granted zone without a token or with a wrong one: each refused with a
    // reason, and nothing reaches a phone.
    let crafted = |zone: &str, csrf: &str| -> Value {
        let script = format!(
            "const done = arguments[0]; \
             fetch('/api/session').then(r => r.json()).then(s => {{ \
               const h = {{'Content-Type': 'application/json'}}; \
               const t = {csrf:?} === 'session' ? s.csrf : {csrf:?}; \
               if (t) h['X-CSRF-Token'] = t; \
               return fetch('/api/pages', {{method: 'POST', headers: h, body: JSON.stringify({{zone: {zone:?}, source: 'chime'}})}}); \
             }}).then(async r => done([r.status, await r.text()])).catch(e => done([0, String(e)]));"
        );
        b.run(b.c().execute_async(&script, vec![])).unwrap()
    };
    let v = crafted("all", "session");
    assert_eq!(v[0], 403, "{v}");
    assert!(v[1].as_str().unwrap().contains("granted"), "{v}");
    let v = crafted("first", "");
    assert_eq!(v[0], 403, "{v}");
    assert!(v[1].as_str().unwrap().contains("CSRF"), "{v}");
    let v = crafted("first", "not-the-token");
    assert_eq!(v[0], 403, "{v}");
    assert_eq!(s.report().totals.pushes, 0, "nothing was sent to a phone");

    // A site elsewhere (here: the same server under another name, a different site for the
    // browser) posting to the console: its SameSite=Strict cookie does not go along.
    let other = srv.url.replace("127.0.0.1", "localhost");
    b.run(b.c().goto(&format!("{other}/signin"))).unwrap();
    let script = format!(
        "const done = arguments[0]; fetch('{}/api/pages', {{method: 'POST', mode: 'no-cors', credentials: 'include', \
         headers: {{'Content-Type': 'text/plain'}}, body: JSON.stringify({{zone: 'first', source: 'chime'}})}}) \
         .then(() => done('sent')).catch(e => done(String(e)));",
        srv.url
    );
    let _ = b.run(b.c().execute_async(&script, vec![])).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (_, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(hist["pages"].as_array().map(Vec::len), Some(0), "{hist}");
    assert_eq!(s.report().totals.pushes, 0);

    // The granted zone pages from the UI and stops.
    b.goto("/");
    b.ready();
    b.click("#page-start");
    b.wait_js(
        "2 phones receiving",
        20,
        "return document.querySelectorAll('#live-groups li[data-state=accepted]').length",
        |v| v == 2,
    );
    b.click("#page-stop");
    b.wait_js(
        "the page to end",
        20,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
    let (_, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(hist["pages"][0]["zone"], "first", "{hist}");

    // A viewer reads only: the Page button is disabled with the reason, and a crafted page
    // (with the right CSRF token) is refused.
    b.click("#signout");
    b.wait_js("the sign-in screen", 10, "return location.pathname", |v| {
        v == "/signin"
    });
    b.ready();
    b.type_in("#signin-user", "vera");
    b.type_in("#signin-password", PASSWORD);
    b.click("#signin-form button[type=submit]");
    b.wait_js("the page-now screen", 15, "return location.pathname", |v| {
        v == "/"
    });
    b.ready();
    assert_eq!(
        b.js("return [document.getElementById('page-start').disabled, \
              document.querySelector('a[data-nav=users]').textContent]"),
        json!([true, "My password"])
    );
    let empty = b.js("return document.getElementById('zone-empty').textContent");
    assert!(empty.as_str().unwrap().contains("read only"), "{empty}");
    let v = crafted("first", "session");
    assert_eq!(v[0], 403, "{v}");
    let (_, hist) = api(&srv, "GET", "/api/history", None);
    assert_eq!(hist["pages"].as_array().map(Vec::len), Some(1), "{hist}");
}

#[test]
fn the_browser_microphone_pages_a_zone_heard_at_440_hz() {
    browser_microphone(false);
}

#[test]
fn over_the_https_listener_the_browser_microphone_pages_a_zone_heard_at_440_hz() {
    browser_microphone(true);
}

/// The console's microphone page, from `http://127.0.0.1` (a secure context by being
/// loopback) or from the HTTPS listener with its self-signed certificate.
fn browser_microphone(https: bool) {
    if !browser_installed("console_browser") {
        return;
    }
    let extra = if https {
        "https_listen = \"127.0.0.1:0\"\ntls_self_signed = true\n"
    } else {
        ""
    };
    let s = fleet_with(3, extra, |t| t);
    add_user(&s);
    // Chromium's fake capture device plays this file (looped) as the microphone.
    let wav = s.path("mic-440.wav");
    tone_wav(&wav, 440.0, 5.0, 48000);
    let srv = Server::start(&s);
    let base = if https {
        let addr = wait_for(&srv, "the HTTPS line", 10, || {
            let log = srv.log();
            let line = log.lines().find(|l| l.contains("console over HTTPS on"))?;
            Some(
                line.split("https://")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .to_owned(),
            )
        });
        format!("https://{addr}")
    } else {
        srv.url.clone()
    };
    let args = [
        // The self-signed certificate: a person accepts it once; the test browser is told to.
        "--ignore-certificate-errors".to_owned(),
        "--use-fake-ui-for-media-stream".to_owned(),
        "--use-fake-device-for-media-stream".to_owned(),
        format!("--use-file-for-fake-audio-capture={}", wav.display()),
        "--autoplay-policy=no-user-gesture-required".to_owned(),
    ];
    let b = Browser::start(&base, (1280, 900), &args);
    sign_in(&b);
    assert_eq!(
        b.js("return [location.protocol, window.isSecureContext]"),
        json!([if https { "https:" } else { "http:" }, true])
    );
    b.run(async {
        let sel = b.c().find(Locator::Id("sound")).await.unwrap();
        sel.select_by_value("mic").await.unwrap();
    });
    assert_eq!(
        b.js("return document.getElementById('mic-note').hidden"),
        false
    );
    b.click("#zone-list .choice[data-zone=all] label");
    b.click("#page-start");
    b.wait_js(
        "3 phones receiving the microphone",
        20,
        "return document.querySelectorAll('#live-groups li[data-state=accepted]').length",
        |v| v == 3,
    );
    s.wait_until("every phone hears 440 Hz from the browser", |r| {
        r.phones.len() == 3
            && r.phones.iter().all(|p| {
                p.heard.last().is_some_and(|h| {
                    h.active
                        && h.rx.summary.packets > 50
                        && h.rx
                            .summary
                            .frequency_hz
                            .is_some_and(|f| (f - 440.0).abs() < 10.0)
                })
            })
    });
    let (_, active) = api(&srv, "GET", "/api/pages", None);
    assert_eq!(active["pages"][0]["source"], "mic", "{active}");
    b.click("#page-stop");
    b.wait_js(
        "the page to end",
        20,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
    s.wait_until("no phone listening", |r| listening(r) == 0);
}

#[test]
fn the_administrators_screens_ring_a_bell_play_and_delete_sounds_make_ringtones_record_and_add_users()
 {
    if !browser_installed("console_browser") {
        return;
    }
    let bells = "[schedule]\ntimezone = \"UTC\"\n\n[[bell]]\nname = \"lunch\"\n\
                 cron = \"0 0 12 * * *\"\nzones = [\"first\"]\nsource = \"chime\"\n\n";
    let s = fleet_with(3, bells, |t| t);
    let (srv, b) = signed_in(&s, (1280, 900));

    // Bells: the next firings, the week ahead, and "ring now" (asks first) pages its zone.
    b.click("a[data-nav=bells]");
    b.ready();
    let next = b.js("return document.getElementById('bells-next').innerText");
    assert!(next.as_str().unwrap().contains("lunch"), "{next}");
    assert!(
        b.js("return document.querySelectorAll('#bells-week section').length")
            .as_u64()
            >= Some(6)
    );
    let asked = b.click_and_confirm("#bells-ring button[data-bell=lunch]");
    assert!(asked.contains("lunch"), "{asked}");
    s.wait_until("the 2 phones of zone first hear the bell", |r| {
        r.phones.iter().filter(|p| !p.heard.is_empty()).count() == 2
    });
    let (_, hist) = api(&srv, "GET", "/api/bells/history", None);
    assert_eq!(hist["bells"][0]["outcome"], "rung", "{hist}");
    b.shot("bells");

    // Sounds: a bundled sound plays in the browser's own <audio> (it decodes the WAV).
    b.click("a[data-nav=sounds]");
    b.ready();
    let duration = b.js_async(
        "const a = document.querySelector('li[data-sound=chime] audio'); \
         a.addEventListener('loadedmetadata', () => done(a.duration)); \
         a.addEventListener('error', () => done(-1)); a.preload = 'auto'; a.load();",
    );
    assert!(
        duration.as_f64().is_some_and(|d| d > 0.2),
        "chime duration {duration}"
    );
    // Delete an uploaded sound (asks first): gone from the list and from the API.
    let (st, _) = call_raw(
        "PUT",
        &format!("{}/api/sounds/old_jingle", srv.url),
        Some(TOKEN),
        Some(vec![0xFF; 8000]),
        "audio/basic",
    );
    assert_eq!(st, 201);
    b.goto("/sounds");
    b.ready();
    b.click_and_confirm("li[data-sound=old_jingle] button");
    b.wait_js(
        "the sound to leave the list",
        10,
        "return !document.querySelector('li[data-sound=old_jingle]')",
        |v| v == true,
    );
    let (_, sounds) = api(&srv, "GET", "/api/sounds", None);
    assert!(
        !sounds["uploaded"]
            .as_array()
            .unwrap()
            .contains(&json!("old_jingle")),
        "{sounds}"
    );

    // Ringtones: a WAV becomes ring files and a ring list, each a link that downloads.
    let wav = s.path("ring.wav");
    tone_wav(&wav, 880.0, 2.0, 8000);
    b.type_in("#ringtone-name", "front_desk");
    b.type_in("#ringtone-file", wav.to_str().unwrap());
    b.click("#ringtone-form button[type=submit]");
    b.wait_js(
        "the ring files",
        20,
        "return document.querySelectorAll('#ringtone-files a').length",
        |v| v.as_u64() >= Some(1),
    );
    let fetched = b.js_async(
        "Promise.all([...document.querySelectorAll('#ringtone-result a')].map(a => fetch(a.href).then(r => [a.textContent, r.status]))).then(done);",
    );
    let fetched = fetched.as_array().unwrap();
    assert!(
        fetched
            .iter()
            .any(|f| f[0].as_str().unwrap().ends_with(".raw")),
        "{fetched:?}"
    );
    assert!(fetched.iter().all(|f| f[1] == 200), "{fetched:?}");
    b.shot("sounds-ringtone");

    // Recordings: one second of a phone's microphone, then a player and a download.
    b.click("a[data-nav=recordings]");
    b.ready();
    b.js("document.getElementById('record-seconds').value = '1'; return 0");
    b.click("#record-form button[type=submit]");
    let done = wait_for(&srv, "the recording to finish", 15, || {
        let (_, r) = api(&srv, "GET", "/api/recordings", None);
        (r["recordings"][0]["state"] != "recording" && r["recordings"][0]["state"].is_string())
            .then_some(r)
    });
    assert_eq!(done["recordings"][0]["state"], "done", "{done}");
    b.goto("/recordings");
    b.ready();
    let wav_status = b.js_async(
        "const a = document.querySelector('#recordings-rows tr[data-state=done] a[download]'); \
         fetch(a.href).then(r => done([r.status, r.headers.get('content-type')]));",
    );
    assert_eq!(wav_status[0], 200, "{wav_status}");
    assert!(
        wav_status[1].as_str().unwrap().contains("wav"),
        "{wav_status}"
    );
    b.shot("recordings");

    // Users: add a viewer; the table and the audit log show it.
    b.click("a[data-nav=users]");
    b.ready();
    b.type_in("#nu-name", "vera");
    b.run(async {
        let sel = b.c().find(Locator::Id("nu-role")).await.unwrap();
        sel.select_by_value("viewer").await.unwrap();
    });
    b.type_in("#nu-password", "a long enough password");
    b.click("#user-form button[type=submit]");
    b.wait_js(
        "vera in the users table",
        10,
        "return !!document.querySelector('#users-rows tr[data-user=vera]')",
        |v| v == true,
    );
    let audit = b.js("return document.getElementById('audit-rows').innerText");
    assert!(audit.as_str().unwrap().contains("vera"), "{audit}");
    let (_, users) = api(&srv, "GET", "/api/users", None);
    assert!(users.to_string().contains("\"vera\""), "{users}");
    b.shot("users");

    // Health: the server's own figures.
    b.click("a[data-nav=health]");
    b.ready();
    let health = b.js("return document.getElementById('health-list').innerText");
    assert!(health.as_str().unwrap().contains("version"), "{health}");
    b.shot("health");
}

#[test]
fn a_thousand_phone_page_stays_readable_failures_first_and_large_groups_folded() {
    if !browser_installed("console_browser") {
        return;
    }
    const PHONES: usize = 1000;
    const UNREACHABLE: usize = 3;
    // Three phones whose address answers nothing (a closed port on loopback): they fail.
    let s = fleet(PHONES, |t| {
        // A machine busy with 1,000 emulated phones answers slower than one phone does.
        let t = t.replace("push_timeout = \"3s\"", "push_timeout = \"20s\"");
        let mut out = String::new();
        let mut moved = 0;
        for line in t.lines() {
            if line.starts_with("host = ") && moved < UNREACHABLE {
                moved += 1;
                out.push_str("host = \"127.0.0.1:9\"\n");
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    });
    add_user(&s);
    let srv = Server::start(&s);
    let b = on_page_now_with_a_long_sound(&srv);
    b.click("#zone-list .choice[data-zone=all] label");
    b.click("#page-start");
    // Every phone settled: receiving, or failed (the unreachable ones at least).
    let groups = b.wait_js(
        "every phone receiving or failed",
        90,
        "return [...document.querySelectorAll('#live-groups details')]\
           .map(d => [d.dataset.state, d.querySelectorAll('li').length, d.open])",
        |v| {
            v.as_array().is_some_and(|a| {
                a.len() == 2
                    && a[0][0] == "failed"
                    && a[1][0] == "accepted"
                    && a[0][1].as_u64().unwrap_or(0) + a[1][1].as_u64().unwrap_or(0)
                        == PHONES as u64
            })
        },
    );
    let groups = groups.as_array().unwrap();
    let failed_n = groups[0][1].as_u64().unwrap() as usize;
    assert!((UNREACHABLE..50).contains(&failed_n), "{groups:?}");
    // Failures first and open; the receiving ones folded under one line with their count.
    assert_eq!(groups[0], json!(["failed", failed_n, true]));
    assert_eq!(groups[1], json!(["accepted", PHONES - failed_n, false]));
    let summaries = b.js(
        "return [...document.querySelectorAll('#live-groups summary')].map(s => s.textContent)",
    );
    assert_eq!(
        summaries,
        json!([
            format!("failed ({failed_n})"),
            format!("receiving ({})", PHONES - failed_n)
        ])
    );
    let failed = b.js(
        "return [...document.querySelectorAll('#live-groups li[data-state=failed]')].map(li => li.textContent)",
    );
    assert!(
        failed
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.as_str().unwrap().contains(": ")),
        "each failure says why: {failed}"
    );
    let totals = b.js("return document.getElementById('live-totals').innerText");
    assert!(totals.as_str().unwrap().contains("1000"), "{totals}");
    b.shot("live-1000-phones");
    // The folded group opens by keyboard (its summary is a real control).
    b.js("document.querySelector('#live-groups details[data-state=accepted] summary').focus(); return 0");
    b.press(ENTER);
    assert_eq!(
        b.js("return document.querySelector('#live-groups details[data-state=accepted]').open"),
        true
    );
    b.click("#page-stop");
    b.wait_js(
        "the page to end",
        90,
        "return document.getElementById('live-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Ended")),
    );
}

#[test]
fn a_user_changes_their_password_signs_out_and_an_ended_session_goes_back_to_sign_in() {
    if !browser_installed("console_browser") {
        return;
    }
    let s = fleet(2, |t| t);
    let (_srv, b) = signed_in(&s, (1280, 900));
    b.click("a[data-nav=users]");
    b.ready();
    // A wrong current password is refused and said so; the right one changes it.
    b.type_in("#pw-old", "not my password");
    b.type_in("#pw-new", "a brand new password 9");
    b.click("#password-form button[type=submit]");
    b.wait_js(
        "the refusal",
        10,
        "return document.getElementById('pw-status').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Not changed")),
    );
    b.js("document.getElementById('pw-old').value = ''; return 0");
    b.type_in("#pw-old", PASSWORD);
    b.click("#password-form button[type=submit]");
    b.wait_js(
        "the change",
        10,
        "return document.getElementById('pw-status').textContent",
        |v| v == "Password changed.",
    );
    // Changing the password may end this session; either way signing out lands on sign-in,
    // and the console's screens send an ended session back there.
    b.goto("/");
    if b.js("return location.pathname") == "/" {
        b.ready();
        b.click("#signout");
    }
    b.wait_js("the sign-in screen", 10, "return location.pathname", |v| {
        v == "/signin"
    });
    b.goto("/history");
    b.wait_js(
        "back to sign-in",
        10,
        "return location.pathname + location.search",
        |v| v == "/signin?next=%2Fhistory",
    );
    b.ready();
    // The old password no longer works; the new one does, and returns to the screen asked for.
    b.type_in("#signin-user", USER);
    b.type_in("#signin-password", PASSWORD);
    b.click("#signin-form button[type=submit]");
    b.wait_js(
        "the wrong-password message",
        10,
        "return document.getElementById('signin-error').textContent",
        |v| v.as_str().is_some_and(|t| t.contains("Wrong")),
    );
    b.js("document.getElementById('signin-password').value = ''; return 0");
    b.type_in("#signin-password", "a brand new password 9");
    b.click("#signin-form button[type=submit]");
    b.wait_js("the history screen", 10, "return location.pathname", |v| {
        v == "/history"
    });
    b.ready();
}
