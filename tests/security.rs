//! Security of what zonecast reads and writes:
//!
//! - XML: every XML parser in the crate (phones' replies, callbacks, device pages and caps, ring
//!   lists, the emulator's parsers of pushed objects and fetched screens) is fed a "billion
//!   laughs" document and external-entity documents (`file:///etc/passwd` as a general entity,
//!   a parameter entity and an external DTD). Each must refuse or ignore the DTD without
//!   expanding anything, answer within a generous bound, and never show the file's contents.
//! - Hostile text (`<`, `&`, `"`, `]]>`, controls, very long, non-Latin-1) in ring list names,
//!   and in a zone's banner pushed through `zonecast page` to an emulated phone: the XML stays
//!   well-formed for `xmllint` and the phone shows the text.
//! - Secrets: a full run with known unique passwords (the emulator fleet as `zonecast sim`,
//!   `zonecast page --json` with one phone given the wrong password, `zonecast serve` and its
//!   journal, all with `RUST_LOG=debug`) and the Debug output of the config, credentials and
//!   push outcomes are scanned for the passwords, their base64 Basic headers and their
//!   percent-encodings.

mod common;

use std::time::{Duration, Instant};

use zonecast::phone_sim::browser::{Answer, parse_view};
use zonecast::phone_sim::core::app_attributes;
use zonecast::ringtone::{Ring, RingList, parse_ring_list, render_ring_list};
use zonecast::xsi::request::{decode_push_body, parse_push_request};
use zonecast::xsi::response::{
    parse_callback, parse_device_caps, parse_device_page, parse_execute_reply, parse_media_reply,
};

// ---------------------------------------------------------------------------------------------
// XML entities

const LAUGHS: &str = r#"<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>"#;

/// The DTDs: billion laughs (with an external entity too), a parameter entity that would pull
/// the file into the DTD, and the file as the external DTD itself.
fn doctypes() -> Vec<(&'static str, String)> {
    vec![
        ("billion laughs", LAUGHS.to_owned()),
        (
            "external entity",
            r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY lol9 "nine">]>"#
                .to_owned(),
        ),
        (
            "parameter entity",
            r#"<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p; <!ENTITY xxe "&#x25;p;"><!ENTITY lol9 "nine">]>"#
                .to_owned(),
        ),
        (
            "external DTD",
            r#"<!DOCTYPE x SYSTEM "file:///etc/passwd">"#.to_owned(),
        ),
    ]
}

/// References to put wherever a parser reads text or attributes.
const REF: &str = "&lol9;&xxe;";

/// Every parser, with a document of the shape it reads, the entity references in its text and
/// attributes. Each returns the Debug form of what it made of the document.
type Parser = fn(&str) -> String;

fn parsers() -> Vec<(&'static str, &'static str, Parser)> {
    vec![
        (
            "execute reply",
            r#"<CiscoIPPhoneResponse><ResponseItem URL="Play:{R}" Data="{R}" Status="0"/></CiscoIPPhoneResponse>"#,
            |d| format!("{:?}", parse_execute_reply(d.as_bytes())),
        ),
        (
            "execute error",
            r#"<CiscoIPPhoneError Number="4">{R}</CiscoIPPhoneError>"#,
            |d| format!("{:?}", parse_execute_reply(d.as_bytes())),
        ),
        (
            "startMedia reply",
            r#"<startMediaResponse><mediaStream id="{R}">{R}</mediaStream></startMediaResponse>"#,
            |d| format!("{:?}", parse_media_reply(d.as_bytes())),
        ),
        (
            "startMedia error",
            r#"<errorResponse><type>{R}</type><data>{R}</data></errorResponse>"#,
            |d| format!("{:?}", parse_media_reply(d.as_bytes())),
        ),
        (
            "media callback",
            r#"<notifyMediaEvent type="stopped" origin="{R}"><mediaStream id="{R}"/></notifyMediaEvent>"#,
            |d| format!("{:?}", parse_callback(format!("DATA={d}").as_bytes())),
        ),
        (
            "application callback",
            r#"<notifyApplicationEvent appId="{R}" type="closed"/>"#,
            |d| format!("{:?}", parse_callback(format!("DATA={d}").as_bytes())),
        ),
        (
            "device page",
            r#"<DeviceInformation><MACAddress>{R}</MACAddress><HostName>{R}</HostName><modelNumber>{R}</modelNumber></DeviceInformation>"#,
            |d| format!("{:?}", parse_device_page(d.as_bytes())),
        ),
        (
            "device caps",
            r#"<getDeviceCapsResponse><physical><modelNumber>{R}</modelNumber><display width="298" height="168" bitDepth="12" isColor="true"/></physical></getDeviceCapsResponse>"#,
            |d| format!("{:?}", parse_device_caps(d.as_bytes())),
        ),
        (
            "ring list",
            r#"<CiscoIPPhoneRingList><Ring><DisplayName>{R}</DisplayName><FileName>{R}</FileName></Ring></CiscoIPPhoneRingList>"#,
            |d| format!("{:?}", parse_ring_list(d.as_bytes())),
        ),
        (
            "pushed text object (emulator)",
            r#"<CiscoIPPhoneText><Title>{R}</Title><Text>{R}</Text></CiscoIPPhoneText>"#,
            |d| format!("{:?}", parse_push_request(d)),
        ),
        (
            "pushed execute (emulator)",
            r#"<CiscoIPPhoneExecute><ExecuteItem URL="{R}"/></CiscoIPPhoneExecute>"#,
            |d| format!("{:?}", parse_push_request(d)),
        ),
        (
            "pushed startMedia (emulator)",
            r#"<startMedia><mediaStream><type>audio</type><codec>G.711</codec><mode>receive</mode><address>{R}</address><port>20480</port></mediaStream></startMedia>"#,
            |d| format!("{:?}", parse_push_request(d)),
        ),
        (
            "push form body (emulator)",
            r#"<CiscoIPPhoneText><Text>{R}</Text></CiscoIPPhoneText>"#,
            |d| {
                let body: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("XML", d)
                    .finish();
                let text = decode_push_body(body.as_bytes());
                let parsed = text.as_ref().map(|t| parse_push_request(t));
                format!("{parsed:?}")
            },
        ),
        (
            "app attributes (emulator)",
            r#"<CiscoIPPhoneText appId="{R}" onAppClosed="{R}"><Text>x</Text></CiscoIPPhoneText>"#,
            |d| format!("{:?}", app_attributes(d)),
        ),
        (
            "fetched screen (emulator browser)",
            r#"<CiscoIPPhoneMenu><Title>{R}</Title><MenuItem><Name>{R}</Name><URL>http://127.0.0.1/{R}</URL></MenuItem></CiscoIPPhoneMenu>"#,
            |d| {
                let answer = Answer {
                    url: "http://127.0.0.1:1/menu.xml".into(),
                    status: 200,
                    content_type: Some("text/xml; charset=utf-8".into()),
                    refresh: None,
                    expires: None,
                    set_cookies: Vec::new(),
                    body: d.as_bytes().to_vec(),
                };
                format!("{:?}", parse_view(&answer))
            },
        ),
    ]
}

/// Lines of /etc/passwd long enough to be recognisable (the file exists on every Linux).
fn passwd_markers() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let markers: Vec<String> = text
        .lines()
        .filter(|l| l.len() >= 12)
        .map(|l| l[..12].to_owned())
        .collect();
    assert!(!markers.is_empty());
    markers
}

#[test]
fn no_xml_parser_expands_entities_or_reads_files() {
    let markers = passwd_markers();
    let mut checked = 0;
    for (name, template, parse) in parsers() {
        for (dtd_name, dtd) in doctypes() {
            let body = template.replace("{R}", REF);
            for doc in [
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{dtd}\n{body}"),
                format!("{dtd}{body}"),
            ] {
                let started = Instant::now();
                let out = parse(&doc);
                let took = started.elapsed();
                let what = format!("{name} with {dtd_name}");
                assert!(
                    took < Duration::from_secs(2),
                    "{what}: took {took:?} (expansion?)"
                );
                // Expanded, lol9 alone is 3 GB; even one level of expansion shows as "lollol".
                assert!(
                    out.len() < 16 * 1024,
                    "{what}: {} bytes of output",
                    out.len()
                );
                assert!(
                    !out.contains("lollol") && !out.contains("nine"),
                    "{what}: an entity was expanded: {out:.300}"
                );
                for m in &markers {
                    assert!(
                        !out.contains(m.as_str()),
                        "{what}: /etc/passwd content {m:?} in {out:.300}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, parsers().len() * doctypes().len() * 2);
}

/// The parsers still read the same documents without a DTD, so the check above is not passing
/// because every document is refused for its shape.
#[test]
fn the_entity_documents_are_shapes_each_parser_reads() {
    for (name, template, parse) in parsers() {
        let out = parse(&template.replace("{R}", "plain"));
        // An error's number is all a CiscoIPPhoneError carries.
        assert!(
            out.contains("plain") || name == "execute error",
            "{name}: the document without entities is not read: {out:.300}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile text

/// Free text at its most hostile: every escape, a CDATA terminator, non-Latin-1, controls XML
/// cannot carry, and more characters than any field takes.
fn hostile(len: usize) -> String {
    format!(
        "& \" ' < > ]]> é Łódź 日本 😀 \u{1}\u{1b}[31m\u{7f}\u{fffe}\r\n\ttab {}",
        "x".repeat(len)
    )
}

fn xmllint_well_formed(xml: &str) -> Result<(), String> {
    common::xmllint(xml.as_bytes(), None)
}

#[test]
fn ring_lists_with_hostile_names_render_well_formed_and_read_back() {
    let list = RingList {
        rings: vec![
            Ring {
                display_name: hostile(40),
                file_name: "ring<&>\"'.raw".into(),
            },
            Ring {
                display_name: "]]>".repeat(500),
                file_name: "b.raw".into(),
            },
            // Characters XML 1.0 cannot carry at all, early enough not to be cut.
            Ring {
                display_name: "a\u{fffe}\u{1}\u{ffff}b".into(),
                file_name: "c\u{fffe}.raw".into(),
            },
            Ring {
                display_name: "too long".into(),
                file_name: hostile(4000),
            },
        ],
    };
    let (xml, warnings) = render_ring_list(&list);
    if let Err(e) = xmllint_well_formed(&xml) {
        panic!("rendered ring list is not well-formed XML: {e}\n{xml:.800}");
    }
    assert!(
        warnings.iter().any(|w| w.contains("left out")),
        "{warnings:?}"
    );
    let back = parse_ring_list(xml.as_bytes()).expect("own rendering parses");
    assert_eq!(back.rings.len(), 3, "{back:?}");
    assert_eq!(back.rings[0].file_name, "ring<&>\"'.raw");
    assert!(back.rings[0].display_name.starts_with("& \" ' < > ]]>"));
    assert!(back.rings[1].display_name.starts_with("]]>]]>"));
    assert_eq!(back.rings[2].display_name, "a   b");
    assert_eq!(back.rings[2].file_name, "c .raw");
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// The phones' password, and the wrong one the config gives one phone: unique enough that any
/// occurrence anywhere is a leak.
const PASSWORD: &str = "pw-SECRET-7f3a91";
const WRONG: &str = "pw-WRONG-c41d2e";
const USER: &str = "pager";
const TOKEN_ENV: &str = "ZC_SECURITY_TEST_TOKEN";
const TOKEN: &str = "tok-security-5be1";

/// Every form in which a password could leak: itself, in a Basic header (alone or with the
/// user), percent-encoded, and the pieces a `{:?}` of its bytes would show.
fn leak_forms() -> Vec<(String, String)> {
    use zonecast::phone_sim::core::base64_encode;
    let mut forms = Vec::new();
    for pw in [PASSWORD, WRONG] {
        forms.push((pw.to_owned(), format!("password {pw}")));
        let basic = base64_encode(format!("{USER}:{pw}").as_bytes());
        forms.push((basic.clone(), format!("Basic header of {pw}")));
        // The base64 of the password alone, at each alignment inside a longer header.
        for pre in ["", "x", "xx"] {
            let b = base64_encode(format!("{pre}{pw}").as_bytes());
            let skip = pre.len().div_ceil(3) * 4;
            forms.push((b[skip..b.len() - 4].to_owned(), format!("base64 of {pw}")));
        }
        // The distinctive middle of the password (catches it split or partly escaped).
        forms.push((pw[3..13].to_owned(), format!("part of {pw}")));
        let bytes = format!("{:?}", pw.as_bytes());
        forms.push((bytes[..30].to_owned(), format!("bytes of {pw}")));
    }
    forms
}

fn assert_no_secret(what: &str, text: &str) {
    for (form, name) in leak_forms() {
        if let Some(at) = text.find(&form) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map_or(0, |(i, _)| i);
            panic!(
                "{name} leaked in {what}: ...{}...",
                &text[from..(at + form.len() + 40).min(text.len())]
            );
        }
    }
}

/// Every file under `dir` (recursively), bytes read as text, except those named in `skip`.
fn scan_dir(dir: &std::path::Path, skip: &[&str], seen: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            scan_dir(&path, skip, seen);
        } else if !skip.contains(&name.as_str()) {
            let bytes = std::fs::read(&path).unwrap();
            assert_no_secret(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
            seen.push(name);
        }
    }
}

/// A child's stderr, read on a thread into a shared string.
fn collect(
    pipe: impl std::io::Read + Send + 'static,
) -> (
    std::sync::Arc<std::sync::Mutex<String>>,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::BufRead;
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let l = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            let mut g = l.lock().unwrap();
            g.push_str(&line);
            g.push('\n');
        }
    });
    (log, rx)
}

/// Wait for a line containing `needle`; return it.
fn wait_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str, log: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return l,
            Ok(_) => {}
            Err(_) => panic!("no line with {needle:?}: {log}"),
        }
    }
}

fn terminate(child: &mut std::process::Child) {
    // SIGTERM: a clean shutdown writes what it writes on exit (report, journal), which is
    // scanned too.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.wait();
}

#[test]
fn no_password_appears_in_logs_json_journals_or_debug_output_of_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("pw.txt"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(d.join("wrong.txt"), format!("{WRONG}\n")).unwrap();

    // The fleet, as `zonecast sim`, each phone on its own loopback address.
    let host = format!(
        "127.{}.{}.1",
        10 + rand::random::<u8>() % 240,
        rand::random::<u8>()
    );
    let mut sim = common::zonecast()
        .args(["sim", "--phones", "4", "--addresses", "--host", &host])
        .args(["--user", USER, "--password-file"])
        .arg(d.join("pw.txt"))
        .arg("--report")
        .arg(d.join("fleet-report.json"))
        .args(["--duration", "300", "--json"])
        .env("RUST_LOG", "debug")
        .env("ZONECAST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (sim_out, sim_lines) = collect(sim.stdout.take().unwrap());
    let (sim_err, _) = collect(sim.stderr.take().unwrap());
    let first = wait_line(&sim_lines, "\"phones\"", &sim_out.lock().unwrap());
    let phones: serde_json::Value = serde_json::from_str(&first).unwrap();
    let phones = phones["phones"].as_array().unwrap().clone();
    assert_eq!(phones.len(), 4);

    // The config: the last phone is given the wrong password.
    let port = 20480 + 2 * (rand::random::<u16>() % 5000);
    let mut cfg = format!(
        "[engine]\nmedia_address = \"127.0.0.1\"\ninterface = \"127.0.0.1\"\n\
         port_pool = \"{port}-{}\"\nmulticast_pool = \"239.255.{}.0/24\"\n\
         journal = \"journal.jsonl\"\npush_timeout = \"3s\"\npush_retries = 1\n\n\
         [server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\n\n",
        port + 200,
        rand::random::<u8>()
    );
    let mut names = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        let file = if i == 3 { "wrong.txt" } else { "pw.txt" };
        let name = p["name"].as_str().unwrap();
        cfg.push_str(&format!(
            "[[phone]]\nname = \"{name}\"\nhost = \"{}\"\nmodel = \"{}\"\nuser = \"{USER}\"\n\
             password_file = \"{file}\"\ndevice = \"{}\"\n\n",
            p["addr"].as_str().unwrap(),
            p["model"].as_str().unwrap(),
            p["device"].as_str().unwrap(),
        ));
        names.push(format!("\"{name}\""));
    }
    cfg.push_str(&format!(
        "[zone.all]\nmembers = [{}]\nbanner = \"Secrets test\"\n",
        names.join(", ")
    ));
    let config = d.join("zonecast.toml");
    std::fs::write(&config, &cfg).unwrap();
    let wrong_phone = phones[3]["name"].as_str().unwrap().to_owned();

    let run = |args: &[&str]| {
        common::zonecast()
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "debug")
            .env("ZONECAST_LOG", "debug")
            .output()
            .unwrap()
    };
    let mut outputs: Vec<(String, String)> = Vec::new();
    // A page, as JSON and as prose: three phones reached, one refusing the credentials.
    let json_run = run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "800",
        "--duration",
        "1",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&json_run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json_run.stderr)));
    let failed = report["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == wrong_phone.as_str())
        .unwrap();
    assert_eq!(failed["failure"]["kind"], "auth_failed", "{report}");
    assert_eq!(report["totals"]["accepted"], 3, "{report}");
    let prose_run = run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "600",
        "--duration",
        "0.5",
    ]);
    let phone_run = common::zonecast()
        .args(["display", "--phone", phones[3]["addr"].as_str().unwrap()])
        .args(["--user", USER, "--password-file"])
        .arg(d.join("wrong.txt"))
        .args(["--json", "text", "--title", "T", "--text", "hello"])
        .env("RUST_LOG", "debug")
        .env("ZONECAST_LOG", "debug")
        .output()
        .unwrap();
    for (name, out) in [
        ("page --json", &json_run),
        ("page", &prose_run),
        ("display (wrong password)", &phone_run),
    ] {
        outputs.push((
            format!("{name} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        outputs.push((
            format!("{name} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    // RUST_LOG=debug did produce a log: the scan is not of empty text.
    assert!(
        String::from_utf8_lossy(&json_run.stderr).contains("DEBUG"),
        "no debug log: {}",
        String::from_utf8_lossy(&json_run.stderr)
    );
    assert!(
        String::from_utf8_lossy(&phone_run.stdout).contains("auth")
            || String::from_utf8_lossy(&phone_run.stderr).contains("auth"),
        "the wrong password was not refused: {phone_run:?}"
    );

    // The server: a page through the API, its journal in SQLite, its answers.
    let mut srv = common::zonecast()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("RUST_LOG", "debug")
        .env("ZONECAST_LOG", "debug")
        .env(TOKEN_ENV, TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (srv_out, _) = collect(srv.stdout.take().unwrap());
    let (srv_err, srv_lines) = collect(srv.stderr.take().unwrap());
    let line = wait_line(&srv_lines, "listening on http://", &srv_err.lock().unwrap());
    let addr = line
        .split("listening on http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    let url = format!("http://{addr}");
    let call = |method: &str, path: &str, body: Option<serde_json::Value>| {
        common::server::call(method, &format!("{url}{path}"), Some(TOKEN), body)
    };
    let (st, started) = call(
        "POST",
        "/api/pages",
        Some(serde_json::json!({"zone": "all", "source": "tone:700:1", "banner": "API page"})),
    );
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let detail = loop {
        let (st, v) = call("GET", &format!("/api/history/{id}"), None);
        if st == 200 && v["failed"] == 1 && v["accepted"] == 3 && v["ended_by"].is_string() {
            break v;
        }
        assert!(Instant::now() < deadline, "page never reached history: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    outputs.push(("API page detail".into(), detail.to_string()));
    for path in [
        "/api/pages",
        "/api/history",
        "/api/phones",
        "/api/zones",
        "/metrics",
    ] {
        let (_, v) = call("GET", path, None);
        outputs.push((format!("API {path}"), v.to_string()));
    }
    // Its Authentication URL, asked with the password of a phone (right and wrong).
    for pw in [PASSWORD, WRONG] {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("UserID", USER)
            .append_pair("Password", pw)
            .append_pair("devicename", phones[0]["device"].as_str().unwrap())
            .finish();
        let (_, v) = common::server::call_raw(
            "POST",
            &format!("{url}/authenticate"),
            None,
            Some(body.into_bytes()),
            "application/x-www-form-urlencoded",
        );
        outputs.push(("authenticate answer".into(), v.to_string()));
    }
    terminate(&mut srv);
    terminate(&mut sim);
    outputs.push(("serve stderr".into(), srv_err.lock().unwrap().clone()));
    outputs.push(("serve stdout".into(), srv_out.lock().unwrap().clone()));
    outputs.push(("sim stdout".into(), sim_out.lock().unwrap().clone()));
    outputs.push(("sim stderr".into(), sim_err.lock().unwrap().clone()));
    assert!(
        srv_err.lock().unwrap().contains("DEBUG"),
        "the server logged no debug lines"
    );

    // Debug output of the config, its credentials, and push outcomes in-process.
    let loaded = zonecast::config::Config::load(&config).unwrap();
    outputs.push((
        "Debug of the config".into(),
        format!("{loaded:?} {loaded:#?}"),
    ));
    let secret = zonecast::push::Secret::new(PASSWORD);
    outputs.push((
        "Debug and JSON of a Secret".into(),
        format!(
            "{secret:?} {secret:#?} {}",
            serde_json::to_string(&secret).unwrap()
        ),
    ));

    for (what, text) in &outputs {
        assert_no_secret(what, text);
    }
    // The journal, the SQLite database (and its WAL), uploads, the fleet's report: every file
    // the run wrote, but not the two password files.
    let mut seen = Vec::new();
    scan_dir(d, &["pw.txt", "wrong.txt"], &mut seen);
    for must in ["journal.jsonl", "zonecast.db", "fleet-report.json"] {
        assert!(
            seen.iter().any(|s| s == must),
            "{must} was not written (scanned {seen:?})"
        );
    }
    // The scan finds a password where there is one.
    let planted =
        std::panic::catch_unwind(|| assert_no_secret("planted", &format!("x{PASSWORD}x")));
    assert!(planted.is_err());
}

/// A "phone" (or a proxy in front of one) that echoes the request it got, Authorization header
/// included, as the body of its answer: garbage for a CiscoIPPhoneResponse, a 500, a 404 page.
fn echoing_phone(status: &'static str) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers and the (form) body: read until the client has sent Content-Length.
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let echo = String::from_utf8_lossy(&req).replace(['"', '<', '>', '&'], " ");
            let body = if status.ends_with(" Rejected") {
                format!(
                    "<CiscoIPPhoneResponse><ResponseItem Status=\"4\" Data=\"{echo}\" \
                     URL=\"Init:AppStatus\"/></CiscoIPPhoneResponse>"
                )
            } else {
                format!("<html><pre>{echo}</pre></html>")
            };
            let status = status.trim_end_matches(" Rejected");
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn push_to_echoing_phones(statuses: &[&'static str]) {
    use zonecast::push::{Phone, PushClient, PushConfig};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = PushClient::new(PushConfig {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        retries: 0,
        backoff: Duration::from_millis(10),
        concurrency: 4,
    })
    .unwrap();
    let xml = r#"<CiscoIPPhoneExecute><ExecuteItem URL="Init:AppStatus"/></CiscoIPPhoneExecute>"#;
    for &status in statuses {
        let phone = Phone {
            name: "echo".into(),
            host: echoing_phone(status),
            user: USER.into(),
            password: zonecast::push::Secret::new(PASSWORD),
            https: false,
        };
        let outcome = rt.block_on(client.execute(&phone, xml, None, true));
        let shown = format!(
            "{outcome:?} {} {phone:?}",
            serde_json::to_string(&outcome).unwrap()
        );
        // The echo did reach the outcome in some form for the garbage answer (so the check
        // below is looking at what the phone sent back), and no form of the password did.
        assert!(!outcome.is_ok(), "{status}: {shown}");
        assert_no_secret(&format!("outcome of a phone answering {status}"), &shown);
    }
}

#[test]
fn a_phone_echoing_the_request_in_an_error_page_does_not_leak_the_password() {
    push_to_echoing_phones(&[
        "200 OK",
        "500 Internal Server Error",
        "404 Not Found",
        "400 Bad Request",
    ]);
}

/// A phone's `Data` is quoted in the outcome (and so in the report, `--json` and the journal);
/// when a phone echoes the request there, the push client redacts the credentials it sent.
#[test]
fn a_phone_echoing_the_request_in_its_response_data_does_not_leak_the_password() {
    push_to_echoing_phones(&["200 OK Rejected"]);
}

// ---------------------------------------------------------------------------------------------
// A hostile banner through a real page

/// At most 32 characters (a banner's limit): every escape, a CDATA terminator, non-Latin-1.
const HOSTILE_BANNER: &str = "<&\"'>]]>&amp; é Łódź 日本 😀 x";

#[test]
fn a_hostile_banner_reaches_the_phones_as_valid_xml_and_is_shown_as_typed() {
    use common::cli_setup::{Setup, Spec, Zone};
    let s = Setup::new(&Spec {
        phones: 2,
        engine: &format!(
            "multicast_pool = \"239.255.{}.0/24\"\n",
            rand::random::<u8>()
        ),
        zones: &[Zone {
            name: "all",
            first: None,
            banner: None,
        }],
        ..Spec::default()
    });
    // What would be sent, checked by xmllint against Cisco's schema.
    let dry = s.run(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "chime",
        "--text",
        HOSTILE_BANNER,
        "--dry-run",
    ]);
    common::cli_setup::assert_exit(&dry, 0);
    let text = String::from_utf8(dry.stdout).unwrap();
    let docs: Vec<&str> = text
        .split("<?xml")
        .skip(1)
        .map(|d| {
            // Each document ends where the next heading (`== phone`, `-- step`) begins.
            let end = [d.find("\n=="), d.find("\n--")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(d.len());
            d[..end].trim_end()
        })
        .collect();
    assert!(!docs.is_empty(), "{text}");
    let mut with_banner = 0;
    // Without `../shared` the schema check alone is left out (one skip line), not the test.
    let xsd = common::cisco_xsd();
    for d in &docs {
        let xml = format!("<?xml{d}");
        if let Err(e) = xmllint_well_formed(&xml) {
            panic!("not well-formed: {e}\n{xml}");
        }
        if xml.contains("Łódź") {
            with_banner += 1;
            if let Some(xsd) = &xsd
                && let Err(e) = common::xmllint(xml.as_bytes(), Some(xsd))
            {
                panic!("not valid against the XSD: {e}\n{xml}");
            }
        }
    }
    assert!(with_banner > 0, "no document carries the banner: {text}");
    // Characters XML cannot carry are refused at the edge or replaced, never written raw.
    for bad in [
        "a\u{1}b",
        "bell\u{7}",
        "esc\u{1b}[31m",
        "nc\u{fffe}\u{ffff}",
    ] {
        let out = s.run(&[
            "page",
            "--zone",
            "all",
            "--tone",
            "chime",
            "--text",
            bad,
            "--dry-run",
        ]);
        match out.status.code() {
            Some(2) => {}
            Some(0) => {
                let text = String::from_utf8(out.stdout).unwrap();
                for d in text.split("<?xml").skip(1) {
                    let end = [d.find("\n=="), d.find("\n--")]
                        .into_iter()
                        .flatten()
                        .min()
                        .unwrap_or(d.len());
                    let xml = format!("<?xml{}", d[..end].trim_end());
                    if let Err(e) = xmllint_well_formed(&xml) {
                        panic!("banner {bad:?}: not well-formed: {e}\n{xml}");
                    }
                }
            }
            other => panic!(
                "banner {bad:?}: exit {other:?}: {}",
                common::cli_setup::stderr(&out)
            ),
        }
    }
    // Sent for real: the phones (whose parser is strict) show exactly what was typed while
    // the page lasts.
    let mut child = s.spawn(&[
        "page",
        "--zone",
        "all",
        "--tone",
        "800",
        "--duration",
        "20",
        "--text",
        HOSTILE_BANNER,
    ]);
    s.wait_until("both phones showing a banner", |r| {
        r.phones.iter().all(|p| p.status_banner.is_some())
    });
    for name in ["p001", "p002"] {
        let p = s.phone(name);
        assert_eq!(
            p.status_banner.as_deref(),
            Some(HOSTILE_BANNER),
            "{name}: screen {:?}",
            p.screen
        );
    }
    // SIGTERM ends the page cleanly (every phone stopped, banner cleared).
    terminate(&mut child);
    s.wait_until("banners cleared", |r| {
        r.phones.iter().all(|p| p.status_banner.is_none())
    });
}

/// Over the wire: an emulated phone's /CGI/Execute given entity documents answers at once
/// with an error (or a plain display), never the file, and keeps working.
#[tokio::test]
async fn an_emulated_phone_refuses_entity_documents_pushed_over_http() {
    let fleet = common::sim::start(common::sim::addressed(1, "CP-8851")).await;
    let p = fleet.phones().remove(0);
    let markers = passwd_markers();
    for (name, dtd) in doctypes() {
        let xml = format!(
            "<?xml version=\"1.0\"?>{dtd}<CiscoIPPhoneText><Title>{REF}</Title><Text>{REF}</Text></CiscoIPPhoneText>"
        );
        let started = Instant::now();
        let (status, body) = common::sim::push_xml(&p, &xml).await;
        assert!(started.elapsed() < Duration::from_secs(5), "{name}");
        let report = fleet.phone_report(&p.name).unwrap();
        let shown = format!("{status} {body} {:?} {:?}", report.screen, report.service);
        assert!(
            !shown.contains("lollol") && !shown.contains("nine"),
            "{name}: {shown}"
        );
        // A phone refuses a document with a DTD as a parse error (CiscoIPPhoneError 1).
        assert!(body.contains("CiscoIPPhoneError"), "{name}: {shown}");
        for m in &markers {
            assert!(
                !shown.contains(m.as_str()),
                "{name}: /etc/passwd in {shown}"
            );
        }
    }
    // Still a working phone.
    let (status, body) = common::sim::push_xml(
        &p,
        "<CiscoIPPhoneText><Title>ok</Title><Text>still here</Text></CiscoIPPhoneText>",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Success") || body.contains("Status=\"0\""),
        "{body}"
    );
    fleet.shutdown().await;
}
