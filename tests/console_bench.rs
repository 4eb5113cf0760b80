//! Issue 21's console benchmarks (figures in BENCHMARKS.md, "Web console"): a real
//! `zonecast serve`, emulated phones on loopback and Debian's Chromium driven through
//! chromedriver, as in `tests/console_browser.rs`. Every test here is `#[ignore]`d and asserts
//! nothing about time; each prints its figures. Run them one at a time on a quiet machine:
//!
//! ```sh
//! cargo test --release --test console_bench -- --ignored --test-threads=1 --nocapture
//! ```
//!
//! - `click_page_to_first_rtp_packet`: the Page button clicked in the browser (timestamped in
//!   the page) → the first RTP packet at the phones (their own arrival times), and when the
//!   sound itself starts (silence until the gate opens); the server's `started_ms` and
//!   `accept_ms` on the way; and, alternating with the clicks, the floor: the same page started
//!   by a plain HTTP client → its first RTP packet.
//! - `a_thousand_phones_state_changes_to_the_browser`: each of 1,000 phones' start (the phone's
//!   own instant) → the server's event stream (a plain HTTP client) → the live screen's DOM
//!   (a MutationObserver in the page).
//! - `fifty_event_clients_cpu`: the server's CPU (`/proc/PID/stat`) while a 1,000-phone page
//!   starts and runs, with 50 Server-Sent Events clients against none (the floor).
//!
//! Clocks: the phones stamp packets with `CLOCK_MONOTONIC`; the browser with
//! `performance.timeOrigin + performance.now()` (the system clock at navigation, then
//! monotonic); the test converts with the offset between the system clock and
//! `CLOCK_MONOTONIC` read here (one machine, so one clock).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::browser::{Browser, browser_installed};
use common::cli_setup::{Setup, Spec, Zone};
use common::server::*;
use serde_json::{Value, json};
use zonecast::rtp::pacer::mono_now_ns;

const USER: &str = "bench";
const PASSWORD: &str = "correct horse battery 7";

/// The system clock minus `CLOCK_MONOTONIC`, in ns (the smallest of a few reads).
fn epoch_minus_mono_ns() -> i128 {
    (0..5)
        .map(|_| {
            let m = mono_now_ns() as i128;
            let e = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i128;
            e - m
        })
        .min()
        .unwrap()
}

/// Nearest-rank percentile of `v` (sorted here), `p` in 0..=100.
fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

fn summary(name: &str, v: &[f64]) -> Value {
    let line = json!({
        "what": name, "n": v.len(),
        "p50_ms": pct(v, 50.0), "p99_ms": pct(v, 99.0),
        "min_ms": pct(v, 0.0), "max_ms": pct(v, 100.0),
    });
    println!("{line}");
    line
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// User + system CPU of process `pid` so far, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

/// `n` phones in zone `all`, a `[server]` with uploads up to 4 MB and a 20 s push timeout (a
/// machine busy with 1,000 emulated phones answers slower than one phone), the phones
/// recording what they hear to `record_dir`; the admin user the browser signs in as.
fn bench_setup(n: usize, record_dir: Option<&Path>) -> Setup {
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    let tables = format!(
        "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\nupload_limit = \"4M\"\n\n"
    );
    let s = Setup::new(&Spec {
        phones: n,
        engine: &engine,
        tables: &tables,
        zones: &[Zone {
            name: "all",
            first: None,
            banner: Some("Announcement"),
        }],
        record_dir: record_dir.map(Path::to_path_buf),
        ..Spec::default()
    });
    let path = s.path("zonecast.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("push_timeout = \"3s\"", "push_timeout = \"20s\""),
    )
    .unwrap();
    let out = s
        .cmd(&["user", "add", USER, "--role", "admin"])
        .env("ZONECAST_USER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    s
}

/// Upload `secs` of µ-law: a 1 kHz tone (about -12 dBFS) or silence.
fn upload(srv: &Server, name: &str, secs: usize, tone: bool) {
    let bytes: Vec<u8> = (0..8000 * secs)
        .map(|i| {
            let x = if tone {
                (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin() * 8000.0
            } else {
                0.0
            };
            zonecast::g711::encode_ulaw(x as i16)
        })
        .collect();
    let (st, body) = call_raw(
        "PUT",
        &format!("{}/api/sounds/{name}", srv.url),
        Some(TOKEN),
        Some(bytes),
        "audio/basic",
    );
    assert_eq!(st, 201, "{body}");
}

fn active_ids(srv: &Server) -> Vec<String> {
    let (_, v) = api(srv, "GET", "/api/pages", None);
    v["pages"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["page"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Stop every running page and wait until no phone listens.
fn stop_all(srv: &Server, s: &Setup) {
    for id in active_ids(srv) {
        api(srv, "DELETE", &format!("/api/pages/{id}"), None);
    }
    wait_for(srv, "every page ended", 120, || {
        active_ids(srv).is_empty().then_some(())
    });
    wait_for(srv, "no phone listening", 120, || {
        (listening(&s.report()) == 0).then_some(())
    });
}

/// Records the Page button's click and the answer to `POST /api/pages` in `window.__b`.
const CLICK_PROBE: &str = r#"
window.__b = {};
const now = () => performance.timeOrigin + performance.now();
document.addEventListener('click', (e) => {
  if (e.target.closest && e.target.closest('#page-start')) { __b.click = now(); __b.clickDate = Date.now(); }
}, true);
const f = window.fetch;
window.fetch = async function (u, o) {
  const sent = now();
  const r = await f.apply(this, arguments);
  if (String(u) === '/api/pages' && o && o.method === 'POST') { __b.sent = sent; __b.answered = now(); }
  return r;
};
return 0;
"#;

/// Each of the `n` phones' name, its count of streams heard and the first packet's arrival
/// (`CLOCK_MONOTONIC` ns) of the stream it hears now, once every phone has one.
fn first_packets(s: &Setup, n: usize) -> Vec<(String, usize, u64)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s.report();
        let firsts: Vec<(String, usize, u64)> = r
            .phones
            .iter()
            .filter_map(|p| {
                let h = p.heard.last().filter(|h| h.active)?;
                Some((p.name.clone(), p.heard.len(), h.rx.summary.first_packet_ns?))
            })
            .collect();
        if firsts.len() == n {
            return firsts;
        }
        assert!(Instant::now() < deadline, "phones not hearing: {r:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The floor of the click's figure: the same page started by a plain HTTP client (`POST
/// /api/pages` with the API token, a fresh connection) → the first RTP packet at a phone, ms.
fn api_page_to_first_packet(s: &Setup, srv: &Server, phones: usize) -> f64 {
    let t = mono_now_ns();
    let (st, body) = api(
        srv,
        "POST",
        "/api/pages",
        Some(json!({ "zone": "all", "source": "upload:bench_tone" })),
    );
    assert!(st == 200 || st == 201 || st == 202, "{st} {body}");
    let heard = first_packets(s, phones);
    std::thread::sleep(Duration::from_millis(500));
    stop_all(srv, s);
    heard.iter().map(|h| h.2).min().unwrap().saturating_sub(t) as f64 / 1e6
}

#[test]
#[ignore = "benchmark: cargo test --release --test console_bench -- --ignored"]
fn click_page_to_first_rtp_packet() {
    if !browser_installed("console_bench") {
        return;
    }
    const PHONES: usize = 10;
    const PAGES: usize = 21; // the first is a warm-up
    let rec = tempfile::tempdir().unwrap();
    let s = bench_setup(PHONES, Some(rec.path()));
    let srv = Server::start(&s);
    upload(&srv, "bench_tone", 10, true);
    let b = Browser::start(&srv.url, (1280, 900), &[]);
    b.sign_in(USER, PASSWORD);
    println!("load at start: {}", loadavg());
    let (mut first, mut last, mut sent, mut answered, mut audio) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut started, mut accepted, mut floor) = (vec![], vec![], vec![]);
    let mut skew = vec![];
    for i in 0..PAGES {
        b.goto("/?sound=upload:bench_tone");
        b.ready();
        b.click("#zone-list .choice[data-zone=all] label");
        b.js(CLICK_PROBE);
        let off = epoch_minus_mono_ns();
        b.click("#page-start");
        let probe = b.wait_js("the page's answer", 20, "return window.__b", |v| {
            v["answered"].is_number()
        });
        let heard = first_packets(&s, PHONES);
        // Let the sound start before stopping (the gate, then the tone).
        std::thread::sleep(Duration::from_millis(500));
        // The server's side: `started_ms` (Unix ms, so to 1 ms), set once the pager has
        // prepared the page and its pushes are under way; each phone's acceptance (`accept_ms`,
        // from the pager's own start, a little earlier). On a multicast page a phone often has
        // its first packet before the server has read its answer.
        let (_, pages) = api(&srv, "GET", "/api/pages", None);
        let page = &pages["pages"][0];
        let accepts: Vec<f64> = page["report"]["phones"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["accept_ms"].as_f64())
            .collect();
        stop_all(&srv, &s);
        let click = probe["click"].as_f64().unwrap();
        let start = page["started_ms"].as_f64().unwrap_or(f64::NAN) - click;
        let first_accept = pct(&accepts, 0.0);
        let to_ms = |mono_ns: u64| (mono_ns as i128 + off) as f64 / 1e6 - click;
        let f = heard.iter().map(|h| to_ms(h.2)).fold(f64::MAX, f64::min);
        let l = heard.iter().map(|h| to_ms(h.2)).fold(f64::MIN, f64::max);
        // When the tone starts: the first loud sample of the phone's recording (which starts
        // at its first packet; loopback loses nothing).
        let a = heard
            .iter()
            .filter_map(|(name, n, first_ns)| {
                let wav = rec.path().join(format!("{name}-{n:03}.wav"));
                let (rate, samples) = common::read_wav(&wav);
                let at = samples.iter().position(|x| x.unsigned_abs() > 1000)?;
                Some(to_ms(*first_ns) + at as f64 * 1000.0 / rate as f64)
            })
            .fold(f64::MAX, f64::min);
        skew.push(probe["clickDate"].as_f64().unwrap() - click);
        println!(
            "page {i}: fetch sent {:.1} ms, server's started_ms {start:.0} ms, answered {:.1} ms, \
             first packet {f:.1} ms, last phone's first packet {l:.1} ms, tone {a:.1} ms after \
             the click; first phone accepted {first_accept:.1} ms after the pager's start",
            probe["sent"].as_f64().unwrap() - click,
            probe["answered"].as_f64().unwrap() - click,
        );
        // The floor, alternating with the browser's pages so both see the same machine.
        let api_first = api_page_to_first_packet(&s, &srv, PHONES);
        println!("page {i} by the API: first packet {api_first:.1} ms after the request");
        if i == 0 {
            continue;
        }
        floor.push(api_first);
        sent.push(probe["sent"].as_f64().unwrap() - click);
        answered.push(probe["answered"].as_f64().unwrap() - click);
        first.push(f);
        last.push(l);
        audio.push(a);
        started.push(start);
        accepted.push(first_accept);
    }
    println!("load at end: {}", loadavg());
    println!(
        "Date.now() - (timeOrigin + performance.now()) at the click: {:.2}..{:.2} ms",
        pct(&skew, 0.0),
        pct(&skew, 100.0)
    );
    summary("click -> fetch POST /api/pages sent", &sent);
    summary(
        "click -> server's started_ms (page prepared, pushes going; to 1 ms)",
        &started,
    );
    summary(
        "pager's start -> first phone accepted (accept_ms)",
        &accepted,
    );
    summary("click -> POST answered (in the page)", &answered);
    summary("click -> first RTP packet at a phone", &first);
    summary("click -> last phone's first packet", &last);
    summary("click -> tone starts at a phone (gate open)", &audio);
    summary(
        "floor: POST /api/pages by a plain HTTP client -> first RTP packet",
        &floor,
    );
}

/// What a plain client of `GET /api/events` saw: for each phone the first instant (system
/// clock, ms) an event showed it out of `starting`, and its `accept_ms` (from the page's
/// start, the server's own clock); each event's arrival and how many phones it had settled.
#[derive(Default, Clone)]
struct Observed {
    seen: HashMap<String, f64>,
    accept_ms: HashMap<String, f64>,
    events: Vec<(f64, usize)>,
}

/// Follow `GET /api/events` as a plain client into [`Observed`], until `stop` is set.
fn sse_observer(
    url: String,
    seen: Arc<Mutex<Observed>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = zonecast::push::client_builder().build().unwrap();
            let mut resp = client
                .get(format!("{url}/api/events"))
                .bearer_auth(TOKEN)
                .header("accept", "text/event-stream")
                .send()
                .await
                .unwrap();
            let mut buf = String::new();
            while !stop.load(Ordering::Relaxed) {
                let chunk =
                    match tokio::time::timeout(Duration::from_millis(200), resp.chunk()).await {
                        Ok(Ok(Some(c))) => c,
                        Ok(_) => return,
                        Err(_) => continue,
                    };
                let t = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as f64
                    / 1e6;
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(cut) = buf.find("\n\n") {
                    let block: String = buf.drain(..cut + 2).collect();
                    let Some(data) = block
                        .lines()
                        .find_map(|l| l.strip_prefix("data:"))
                        .map(str::trim)
                    else {
                        continue;
                    };
                    let Ok(v) = serde_json::from_str::<Value>(data) else {
                        continue;
                    };
                    let mut o = seen.lock().unwrap();
                    let mut settled = 0;
                    for p in v["page"]["report"]["phones"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        if p["state"] != "starting"
                            && let Some(n) = p["name"].as_str()
                        {
                            settled += 1;
                            o.seen.entry(n.to_owned()).or_insert(t);
                            if let Some(a) = p["accept_ms"].as_f64() {
                                o.accept_ms.insert(n.to_owned(), a);
                            }
                        }
                    }
                    o.events.push((t, settled));
                }
            }
        });
    })
}

/// Notes in `window.__seen` each phone's first moment in the DOM out of `starting`, and each
/// render of the live groups in `window.__renders`.
const DOM_PROBE: &str = r#"
window.__seen = {}; window.__renders = [];
document.addEventListener('click', (e) => {
  if (e.target.closest && e.target.closest('#page-start')) window.__clickAt = performance.timeOrigin + performance.now();
}, true);
const box = document.getElementById('live-groups');
new MutationObserver(() => {
  const t = performance.timeOrigin + performance.now();
  let n = 0;
  for (const li of box.querySelectorAll('li[data-state]')) {
    if (li.dataset.state !== 'starting' && !(li.dataset.phone in __seen)) { __seen[li.dataset.phone] = t; n++; }
  }
  __renders.push([t, n, performance.timeOrigin + performance.now() - t]);
}).observe(box, { childList: true, subtree: true });
return 0;
"#;

#[test]
#[ignore = "benchmark: cargo test --release --test console_bench -- --ignored"]
fn a_thousand_phones_state_changes_to_the_browser() {
    if !browser_installed("console_bench") {
        return;
    }
    const PHONES: usize = 1000;
    const RUNS: usize = 5;
    let s = bench_setup(PHONES, None);
    let srv = Server::start(&s);
    upload(&srv, "long_quiet", 60, false);
    let b = Browser::start(&srv.url, (1280, 900), &[]);
    b.sign_in(USER, PASSWORD);
    let mut all: [Vec<f64>; 5] = Default::default();
    for run in 0..RUNS {
        let v = one_thousand_phone_page(&s, &srv, &b);
        for (pooled, mine) in all.iter_mut().zip(v) {
            pooled.extend(mine);
        }
        println!("-- run {run} done");
    }
    println!("-- all {RUNS} runs pooled:");
    for (name, v) in NAMES.iter().zip(&all) {
        summary(name, v);
    }
}

const NAMES: [&str; 5] = [
    "phone started -> shown in the browser's DOM",
    "phone started -> in an event a plain SSE client read",
    "SSE client read -> browser's DOM (the browser's share)",
    "phone started -> accepted in the server's report (lower bound)",
    "accepted in the report -> read by the SSE client (upper bound)",
];

/// One page of the 1,000 phones watched by the browser and a plain SSE client; the per-phone
/// delays of [`NAMES`], in ms. The page's start on the system clock is known only from below
/// (`t0`, see there), so "accepted" placed at `t0 + accept_ms` is at or before the real instant:
/// started → accepted is a lower bound and accepted → read an upper bound.
fn one_thousand_phone_page(s: &Setup, srv: &Server, b: &Browser) -> [Vec<f64>; 5] {
    let phones = s.report().phones.len();
    b.goto("/?sound=upload:long_quiet");
    b.ready();
    b.click("#zone-list .choice[data-zone=all] label");
    b.js(DOM_PROBE);
    let seen_sse = Arc::new(Mutex::new(Observed::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let observer = sse_observer(srv.url.clone(), seen_sse.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    println!("load at start: {}", loadavg());
    let off = epoch_minus_mono_ns();
    b.click("#page-start");
    let click = b.js("return window.__clickAt").as_f64().unwrap_or(f64::NAN);
    b.wait_js(
        "every phone out of starting in the DOM",
        120,
        "return Object.keys(window.__seen).length",
        |v| v.as_u64() == Some(phones as u64),
    );
    let seen_dom = b.js("return window.__seen");
    let renders = b.js("return window.__renders");
    // Every phone's own start: when it opened its receive socket on the push (its first
    // packet's arrival minus the time from opening to it).
    let deadline = Instant::now() + Duration::from_secs(30);
    let opened: HashMap<String, f64> = loop {
        let r = s.report();
        let m: HashMap<String, f64> = r
            .phones
            .iter()
            .filter_map(|p| {
                let h = p.heard.last().filter(|h| h.active)?;
                let first = h.rx.summary.first_packet_ns? as f64;
                let opened = first - h.rx.first_packet_after_ms? * 1e6;
                Some((p.name.clone(), (opened + off as f64) / 1e6))
            })
            .collect();
        if m.len() == phones || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("load at end: {}", loadavg());
    stop.store(true, Ordering::Relaxed);
    observer.join().unwrap();
    stop_all(srv, s);
    let observed = seen_sse.lock().unwrap().clone();
    let seen_sse = &observed.seen;
    // The page's start on the system clock, from below: no phone can have been accepted before
    // it opened its socket, so start >= opened - accept_ms for every phone.
    let t0 = opened
        .iter()
        .filter_map(|(n, o)| Some(o - observed.accept_ms.get(n)?))
        .fold(f64::MIN, f64::max);
    let mut out: [Vec<f64>; 5] = Default::default();
    for (name, t_open) in &opened {
        let dom = seen_dom[name.as_str()].as_f64();
        let sse = seen_sse.get(name).copied();
        if let Some(dom) = dom {
            out[0].push(dom - t_open);
        }
        if let Some(sse) = sse {
            out[1].push(sse - t_open);
        }
        if let (Some(dom), Some(sse)) = (dom, sse) {
            out[2].push(dom - sse);
        }
        if let Some(a) = observed.accept_ms.get(name) {
            out[3].push(t0 + a - t_open);
            if let Some(sse) = sse {
                out[4].push(sse - (t0 + a));
            }
        }
    }
    let accepts: Vec<f64> = observed.accept_ms.values().copied().collect();
    let renders = renders.as_array().unwrap();
    let at = |v: &Value| v[0].as_f64().unwrap();
    println!(
        "click -> page start (lower bound) {:.1} ms; accept_ms p50 {:.0} max {:.0}; events \
         (ms after the start, phones settled): {:?}; {} phones with their own start time; {} \
         DOM renders of the live groups over {:.0} ms; observer pass {:.1} ms max",
        t0 - click,
        pct(&accepts, 50.0),
        pct(&accepts, 100.0),
        observed
            .events
            .iter()
            .map(|(t, n)| ((t - t0).round(), *n))
            .collect::<Vec<_>>(),
        opened.len(),
        renders.len(),
        renders.last().map(at).unwrap_or(0.0) - renders.first().map(at).unwrap_or(0.0),
        renders
            .iter()
            .filter_map(|r| r[2].as_f64())
            .fold(0.0, f64::max)
    );
    for (name, v) in NAMES.iter().zip(&out) {
        summary(name, v);
    }
    out
}

/// `n` clients following `GET /api/events`, counting bytes and event lines, on their own
/// thread; stopped by `stop`.
struct Watchers {
    bytes: Arc<AtomicU64>,
    events: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchers {
    fn start(url: &str, n: usize) -> Watchers {
        let bytes = Arc::new(AtomicU64::new(0));
        let events = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let connected = Arc::new(AtomicU64::new(0));
        let (b, e, st, c, url) = (
            bytes.clone(),
            events.clone(),
            stop.clone(),
            connected.clone(),
            url.to_owned(),
        );
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let client = zonecast::push::client_builder().build().unwrap();
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..n {
                    let (b, e, st, c, client, url) = (
                        b.clone(),
                        e.clone(),
                        st.clone(),
                        c.clone(),
                        client.clone(),
                        url.clone(),
                    );
                    tasks.spawn(async move {
                        let mut resp = client
                            .get(format!("{url}/api/events"))
                            .bearer_auth(TOKEN)
                            .header("accept", "text/event-stream")
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(resp.status(), 200);
                        c.fetch_add(1, Ordering::Relaxed);
                        while !st.load(Ordering::Relaxed) {
                            match tokio::time::timeout(Duration::from_millis(200), resp.chunk())
                                .await
                            {
                                Ok(Ok(Some(chunk))) => {
                                    b.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                                    let text = String::from_utf8_lossy(&chunk);
                                    e.fetch_add(
                                        text.matches("event: page").count() as u64,
                                        Ordering::Relaxed,
                                    );
                                }
                                Ok(_) => return,
                                Err(_) => {}
                            }
                        }
                    });
                }
                while tasks.join_next().await.is_some() {}
            });
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while connected.load(Ordering::Relaxed) < n as u64 {
            assert!(Instant::now() < deadline, "event clients did not connect");
            std::thread::sleep(Duration::from_millis(20));
        }
        Watchers {
            bytes,
            events,
            stop,
            thread: Some(thread),
        }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.events.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Watchers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
#[ignore = "benchmark: cargo test --release --test console_bench -- --ignored"]
fn fifty_event_clients_cpu() {
    const PHONES: usize = 1000;
    const START_WINDOW: Duration = Duration::from_secs(8);
    const STEADY_WINDOW: Duration = Duration::from_secs(10);
    let s = bench_setup(PHONES, None);
    let srv = Server::start(&s);
    upload(&srv, "long_quiet", 60, false);
    let pid = srv.child.id();
    println!("load at start: {}", loadavg());
    // (clients, start window %, steady window %) of each round.
    let mut rounds: Vec<(usize, f64, f64)> = vec![];
    for clients in [0, 50, 50, 0] {
        let watchers = (clients > 0).then(|| Watchers::start(&srv.url, clients));
        std::thread::sleep(Duration::from_secs(1));
        let counts = |w: &Option<Watchers>| w.as_ref().map_or((0, 0), Watchers::counts);
        let (c0, w0, t0) = (cpu_secs(pid), counts(&watchers), Instant::now());
        let (st, body) = api(
            &srv,
            "POST",
            "/api/pages",
            Some(json!({ "zone": "all", "source": "upload:long_quiet" })),
        );
        assert!(st == 200 || st == 201 || st == 202, "{st} {body}");
        std::thread::sleep(START_WINDOW.saturating_sub(t0.elapsed()));
        let (c1, w1, t1) = (cpu_secs(pid), counts(&watchers), Instant::now());
        let (_, pages) = api(&srv, "GET", "/api/pages", None);
        let accepted = pages["pages"][0]["report"]["totals"]["accepted"].clone();
        std::thread::sleep(STEADY_WINDOW);
        let (c2, w2, t2) = (cpu_secs(pid), counts(&watchers), Instant::now());
        let start_pct = (c1 - c0) / (t1 - t0).as_secs_f64() * 100.0;
        let steady_pct = (c2 - c1) / (t2 - t1).as_secs_f64() * 100.0;
        let per = clients.max(1) as f64;
        println!(
            "{}",
            json!({
                "clients": clients,
                "accepted_after_start_window": accepted,
                "start_window_s": (t1 - t0).as_secs_f64(),
                "start_cpu_pct_of_core": start_pct,
                "start_events_per_client": (w1.1 - w0.1) as f64 / per,
                "start_kib_per_client": (w1.0 - w0.0) as f64 / per / 1024.0,
                "steady_window_s": (t2 - t1).as_secs_f64(),
                "steady_cpu_pct_of_core": steady_pct,
                "steady_events_per_client": (w2.1 - w1.1) as f64 / per,
                "steady_kib_per_client": (w2.0 - w1.0) as f64 / per / 1024.0,
                "load": loadavg(),
            })
        );
        stop_all(&srv, &s);
        drop(watchers);
        rounds.push((clients, start_pct, steady_pct));
    }
    let mean = |n: usize, f: fn(&(usize, f64, f64)) -> f64| {
        let v: Vec<f64> = rounds.iter().filter(|r| r.0 == n).map(f).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (start0, start50) = (mean(0, |r| r.1), mean(50, |r| r.1));
    let (steady0, steady50) = (mean(0, |r| r.2), mean(50, |r| r.2));
    println!(
        "{}",
        json!({
            "what": "server CPU, % of a core, mean of the rounds: 50 event clients minus none",
            "start_none": start0, "start_50": start50, "start_added": start50 - start0,
            "steady_none": steady0, "steady_50": steady50, "steady_added": steady50 - steady0,
        })
    );
}
