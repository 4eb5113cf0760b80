//! Every typed object reachable from the command line (issue 19): each `zonecast display`
//! object, `zonecast push` with an HTTP URL, `zonecast caps` and the HTML device pages, sent by
//! the real binary over loopback HTTP to emulated phones, with what the phone then shows
//! checked; `--dry-run` output validated by xmllint against Cisco's XSD where it defines the
//! object; bad values refused with exit 2 naming the field.

mod common;

use std::path::Path;
use std::process::Output;

use common::fake_phone::{Behaviour, fake_phone, find};
use common::sim::{addressed, eventually, start};
use zonecast::phone_sim::config::DEFAULT_PASSWORD;
use zonecast::phone_sim::http::FleetPhoneReport;
use zonecast::phone_sim::{Fleet, PhoneInfo};

/// `zonecast ARGS` off the async runtime, with the emulator's password in the environment.
async fn zonecast(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        common::zonecast()
            .args(&args)
            .env_remove("ZONECAST_LOG")
            .env("ZONECAST_PHONE_PASSWORD", DEFAULT_PASSWORD)
            .output()
            .expect("run zonecast")
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One emulated CP-8851.
async fn phone() -> (Fleet, PhoneInfo) {
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = fleet.phones()[0].clone();
    (fleet, p)
}

/// `zonecast display --phone P --user U WHAT...` against phone `p`.
async fn display(p: &PhoneInfo, what: &[&str]) -> Output {
    let mut args: Vec<String> = ["display", "--phone", &p.addr.to_string(), "--user", &p.user]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(what.iter().map(|s| s.to_string()));
    zonecast(args).await
}

/// Send `what` to a fresh phone; it must exit 0 and the phone must have shown one object.
async fn shown(what: &[&str]) -> FleetPhoneReport {
    let (fleet, p) = phone().await;
    let out = display(&p, what).await;
    assert_eq!(out.status.code(), Some(0), "{what:?}: {}", text(&out));
    let report = fleet.phone_report(&p.name).unwrap();
    assert_eq!(report.counters.objects_shown, 1, "{what:?}: {report:?}");
    fleet.shutdown().await;
    report
}

fn screen_has(report: &FleetPhoneReport, line: &str) {
    assert!(
        report.screen.iter().any(|l| l.trim() == line),
        "{line:?} not on screen: {:?}",
        report.screen
    );
}

/// A `w` × `h` RGBA PNG in `dir`: black left half, white right half.
fn png_file(dir: &Path, w: u32, h: u32) -> String {
    let mut pixels = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            let v = if x < w / 2 { 0 } else { 255 };
            pixels.extend_from_slice(&[v, v, v, 255]);
        }
    }
    let mut bytes = Vec::new();
    let mut e = png::Encoder::new(&mut bytes, w, h);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    let mut wr = e.write_header().unwrap();
    wr.write_image_data(&pixels).unwrap();
    wr.finish().unwrap();
    let path = dir.join(format!("{w}x{h}.png"));
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_shows_its_entries() {
    let r = shown(&[
        "directory",
        "--title",
        "Wards",
        "--entry",
        "Reception=100",
        "--entry",
        "Ward 3=2003",
        "--softkey",
        "Dial=SoftKey:Dial",
    ])
    .await;
    screen_has(&r, "Wards");
    screen_has(&r, "Reception");
    screen_has(&r, "Ward 3");
}

#[tokio::test(flavor = "multi_thread")]
async fn input_shows_its_fields() {
    let r = shown(&[
        "input",
        "--title",
        "Page a zone",
        "--url",
        "http://127.0.0.1:9/page",
        "--field",
        "Zone:zone:N",
        "--field",
        "PIN:pin:NP:0000",
    ])
    .await;
    screen_has(&r, "Page a zone");
    screen_has(&r, "Zone");
    screen_has(&r, "PIN");
}

#[tokio::test(flavor = "multi_thread")]
async fn icon_menu_from_a_png_shows_its_items() {
    let dir = tempfile::tempdir().unwrap();
    let icon = png_file(dir.path(), 16, 10);
    let r = shown(&[
        "icon-menu",
        "--title",
        "Zones",
        "--item",
        "Floor 1=http://127.0.0.1:9/1@0",
        "--item",
        "Floor 2=Key:Services",
        "--icon",
        &format!("0={icon}"),
    ])
    .await;
    screen_has(&r, "Zones");
    screen_has(&r, "Floor 1");
    screen_has(&r, "Floor 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn icon_file_menu_shows_its_items() {
    let r = shown(&[
        "icon-file-menu",
        "--title",
        "Calls",
        "--item",
        "Active=http://127.0.0.1:9/a@1",
        "--icon",
        "1=Resource:Icon.Connected",
    ])
    .await;
    screen_has(&r, "Calls");
    screen_has(&r, "Active");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_from_a_png_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let png = png_file(dir.path(), 133, 65);
    let r = shown(&[
        "image",
        "--title",
        "Floor plan",
        "--png",
        &png,
        "--depth",
        "1",
    ])
    .await;
    screen_has(&r, "Floor plan");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_file_is_shown() {
    let r = shown(&[
        "image-file",
        "--title",
        "Camera",
        "--url",
        "http://127.0.0.1:9/cam.png",
        "--x",
        "0",
        "--y",
        "0",
    ])
    .await;
    screen_has(&r, "Camera");
}

#[tokio::test(flavor = "multi_thread")]
async fn graphic_menu_from_a_png_shows_its_items() {
    let dir = tempfile::tempdir().unwrap();
    let png = png_file(dir.path(), 40, 20);
    let r = shown(&[
        "graphic-menu",
        "--title",
        "Map",
        "--png",
        &png,
        "--item",
        "North=http://127.0.0.1:9/n",
        "--item",
        "South=http://127.0.0.1:9/s",
    ])
    .await;
    screen_has(&r, "Map");
    screen_has(&r, "North");
    screen_has(&r, "South");
}

#[tokio::test(flavor = "multi_thread")]
async fn graphic_file_menu_with_touch_areas_shows_its_items() {
    let r = shown(&[
        "graphic-file-menu",
        "--title",
        "Site",
        "--url",
        "http://127.0.0.1:9/site.png",
        "--item",
        "East=http://127.0.0.1:9/e@0,0,80,100",
        "--item",
        "West=http://127.0.0.1:9/w@81,0,160,100",
    ])
    .await;
    screen_has(&r, "Site");
    screen_has(&r, "East");
    screen_has(&r, "West");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_file_puts_its_text_on_the_status_line() {
    let r = shown(&[
        "status-file",
        "--text",
        "Paging zone 3",
        "--url",
        "http://127.0.0.1:9/s.png",
    ])
    .await;
    assert_eq!(r.status_banner.as_deref(), Some("Paging zone 3"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn error_object_is_refused_by_the_phone_with_exit_3() {
    // CiscoIPPhoneError is what a service answers a phone; phones never take it as a push.
    let (fleet, p) = phone().await;
    let out = display(&p, &["error", "--number", "4"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = fleet.phone_report(&p.name).unwrap();
    assert_eq!(r.counters.objects_shown, 0);
    assert!(
        r.screen
            .iter()
            .any(|l| l.contains("Unsupported XML Object")),
        "{:?}",
        r.screen
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_event_handler_carries_a_notify_uri_the_phone_calls() {
    // Notify cannot go inside an Execute; an object's event handler carries it.
    let (srv, seen) = fake_phone(Behaviour::Reply(200, "")).await;
    let (host, port) = srv.rsplit_once(':').unwrap();
    let notify = format!("Notify:http:{host}:{port}:zonecast/minimized");
    let (fleet, p) = phone().await;
    let out = display(
        &p,
        &[
            "text",
            "--title",
            "Paging",
            "--text",
            "Zone 3 is live",
            "--app-id",
            "pager",
            "--on",
            &format!("minimized={notify}"),
            "--softkey",
            "Ack=QueryStringParam:ack=1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    screen_has(&fleet.phone_report(&p.name).unwrap(), "Zone 3 is live");
    assert!(fleet.minimize(&p.name));
    let req = eventually(10, "the minimized callback", async || {
        seen.lock().unwrap().first().cloned()
    })
    .await;
    assert!(
        req.starts_with(b"POST /zonecast/minimized "),
        "{}",
        String::from_utf8_lossy(&req)
    );
    assert!(find(&req, b"minimized").is_some());
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn push_of_an_http_url_shows_the_service_it_serves() {
    const SERVICE: &str =
        "<CiscoIPPhoneText><Title>Lunch</Title><Text>Canteen open</Text></CiscoIPPhoneText>";
    let (srv, seen) = fake_phone(Behaviour::Reply(200, SERVICE)).await;
    let (fleet, p) = phone().await;
    let url = format!("http://{srv}/lunch");
    let out = zonecast(
        [
            "push",
            "--phone",
            &p.addr.to_string(),
            "--user",
            &p.user,
            "--priority",
            "0",
            &url,
            "Init:AppStatus",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&url),
        "{}",
        text(&out)
    );
    eventually(10, "the service on screen", async || {
        let r = fleet.phone_report(&p.name).unwrap();
        r.screen.iter().any(|l| l == "Canteen open").then_some(())
    })
    .await;
    assert!(seen.lock().unwrap()[0].starts_with(b"GET /lunch "));
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn push_priority_goes_on_the_http_url_only_and_one_url_at_most() {
    let run = |args: &[&str]| {
        let mut all = vec!["push", "--phone", "10.0.0.9", "--dry-run"];
        all.extend_from_slice(args);
        zonecast(all.iter().map(|s| s.to_string()).collect())
    };
    let out = run(&["--priority", "1", "Key:Services", "http://srv/x"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            r#"<ExecuteItem Priority="0" URL="Key:Services"/><ExecuteItem Priority="1" URL="http://srv/x"/>"#
        ),
        "{stdout}"
    );
    let second = run(&["http://srv/x", "https://srv/y"]).await;
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(String::from_utf8_lossy(&second.stderr).contains("at most one HTTP URL"));
    let no_url = run(&["--priority", "2", "Key:Services"]).await;
    assert_eq!(no_url.status.code(), Some(2), "{}", text(&no_url));
    assert!(String::from_utf8_lossy(&no_url.stderr).contains("--priority"));
}

#[tokio::test(flavor = "multi_thread")]
async fn caps_prints_what_the_phone_says_it_is() {
    let (fleet, p) = phone().await;
    let base = ["caps", "--phone", &p.addr.to_string(), "--user", &p.user].map(String::from);
    let out = zonecast(base.to_vec()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("model: CP-8851"), "{stdout}");
    assert!(stdout.contains("display: "), "{stdout}");
    let mut json = base.to_vec();
    json.push("--json".into());
    let out = zonecast(json).await;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(v["model"], "CP-8851");
    assert!(v["display"]["width"].as_u64().unwrap() > 0, "{v}");
    let mut dry = base.to_vec();
    dry.push("--dry-run".into());
    let out = zonecast(dry).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("<getDeviceCaps/>\n"),
        "{}",
        text(&out)
    );
    fleet.shutdown().await;
}

/// `display --dry-run WHAT` and its XML (the one document after the `# phone` line).
async fn dry_run(what: &[&str]) -> String {
    let mut args = vec!["display", "--phone", "10.0.0.9", "--dry-run"];
    args.extend_from_slice(what);
    let out = zonecast(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(out.status.code(), Some(0), "{what:?}: {}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let xml = stdout
        .strip_prefix("# phone 10.0.0.9\n")
        .unwrap_or_else(|| panic!("no heading: {stdout}"));
    xml.trim_end().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_are_valid_against_ciscos_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let png = png_file(dir.path(), 20, 10);
    let xsd = common::cisco_xsd();
    let icon = format!("0={}", png_file(dir.path(), 16, 10));
    let cases: Vec<(bool, Vec<&str>)> = vec![
        (
            true,
            vec![
                "text",
                "--title",
                "T",
                "--text",
                "x",
                "--softkey",
                "Exit=SoftKey:Exit",
            ],
        ),
        (true, vec!["menu", "--title", "M", "--item", "A=http://h/a"]),
        (
            true,
            vec![
                "directory",
                "--entry",
                "A=1",
                "--softkey",
                "Dial=SoftKey:Dial@2",
            ],
        ),
        (
            true,
            vec![
                "input",
                "--url",
                "http://h/f",
                "--field",
                "A:a:A:x",
                "--field",
                "B:b:TP",
            ],
        ),
        (
            true,
            vec![
                "icon-menu",
                "--item",
                "A=http://h/a@0",
                "--icon",
                &icon,
                "--depth",
                "1",
            ],
        ),
        (
            false,
            vec![
                "icon-file-menu",
                "--item",
                "A=http://h/a@0",
                "--icon",
                "0=http://h/i.png",
            ],
        ),
        (true, vec!["image", "--png", &png, "--x", "0", "--y", "0"]),
        (true, vec!["image-file", "--url", "http://h/i.png"]),
        (
            true,
            vec!["graphic-menu", "--png", &png, "--item", "A=http://h/a"],
        ),
        (
            true,
            vec![
                "graphic-file-menu",
                "--url",
                "http://h/i.png",
                "--item",
                "A=http://h/a@0,0,9,9",
            ],
        ),
        (true, vec!["status", "--text", "S", "--timer", "5"]),
        (
            true,
            vec!["status-file", "--url", "http://h/s.png", "--text", "S"],
        ),
        (true, vec!["error", "--number", "1"]),
        (true, vec!["clear"]),
    ];
    for (in_xsd, what) in cases {
        let xml = dry_run(&what).await;
        let schema = if in_xsd { xsd.as_deref() } else { None };
        if let Err(e) = common::xmllint(xml.as_bytes(), schema) {
            panic!("{what:?}: {e}\n{xml}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let big = png_file(dir.path(), 200, 10);
    let not_png = dir.path().join("x.png");
    std::fs::write(&not_png, "GIF89a").unwrap();
    let not_png = not_png.to_str().unwrap();
    let long_name = format!("{}=1", "n".repeat(33));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["directory", "--entry", "Reception"], "--entry"),
        (
            vec!["directory", "--entry", &long_name],
            "DirectoryEntry Name",
        ),
        (
            vec!["input", "--url", "Key:Services", "--field", "A:a:A"],
            "--url",
        ),
        (
            vec!["input", "--url", "http://h/", "--field", "A:a:Q"],
            "InputFlags",
        ),
        (
            vec!["input", "--url", "http://h/", "--field", "A"],
            "--field",
        ),
        (vec!["icon-menu", "--item", "A=http://h/a@12"], "IconIndex"),
        (
            vec![
                "icon-file-menu",
                "--item",
                "A=http://h/a",
                "--icon",
                "x=http://h/i",
            ],
            "--icon",
        ),
        (vec!["image", "--png", &big], "CiscoIPPhoneImage Width"),
        (vec!["image", "--png", not_png], "--png"),
        (vec!["image-file", "--url", "ftp://h/i.png"], "--url"),
        (
            vec!["image-file", "--url", "http://h/i.png", "--x", "400"],
            "LocationX",
        ),
        (
            vec![
                "graphic-file-menu",
                "--url",
                "http://h/i.png",
                "--item",
                "A=http://h/a",
            ],
            "--item",
        ),
        (
            vec![
                "graphic-file-menu",
                "--url",
                "http://h/i.png",
                "--item",
                "A=http://h/a@0,0,999,9",
            ],
            "TouchArea X2",
        ),
        (
            vec!["status-file", "--url", "http://h/s.png", "--timer", "6000"],
            "Timer",
        ),
        (vec!["error", "--number", "7"], "Number"),
        (
            vec!["text", "--text", "x", "--softkey", "K=Nonsense:x"],
            "--softkey",
        ),
        (
            vec!["text", "--text", "x", "--softkey", "K=SoftKey:Exit@9"],
            "SoftKeyItem Position",
        ),
        (
            vec![
                "text",
                "--text",
                "x",
                "--app-id",
                "a",
                "--on",
                "later=Notify:http:h:80:p",
            ],
            "--on",
        ),
        (
            vec![
                "text",
                "--text",
                "x",
                "--app-id",
                "a",
                "--on",
                "closed=http://h/",
            ],
            "onAppClosed",
        ),
    ];
    for (what, field) in cases {
        let mut args = vec!["display", "--phone", "10.0.0.9", "--dry-run"];
        args.extend_from_slice(&what);
        let out = zonecast(args.iter().map(|s| s.to_string()).collect()).await;
        assert_eq!(out.status.code(), Some(2), "{what:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(field),
            "{what:?}: {field:?} not in {stderr}"
        );
        assert!(out.stdout.is_empty(), "{what:?}: printed a document");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_refuses_what_it_cannot_run_before_sending() {
    // A Multiplatform phone has no Notify: a soft key carrying one is refused with --model.
    let args = [
        "display",
        "--phone",
        "10.0.0.9",
        "--model",
        "CP-8845-3PCC",
        "--dry-run",
        "text",
        "--text",
        "x",
        "--softkey",
        "Ack=Notify:http:10.0.0.5:80:ack",
    ];
    let out = zonecast(args.map(String::from).to_vec()).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Notify"),
        "{}",
        text(&out)
    );
    // A model without a status line has no CiscoIPPhoneStatusFile.
    let args = [
        "display",
        "--phone",
        "10.0.0.9",
        "--model",
        "CP-7841",
        "--dry-run",
        "status-file",
        "--url",
        "http://h/s.png",
    ];
    let out = zonecast(args.map(String::from).to_vec()).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CP-7841"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn info_html_prints_the_html_device_pages() {
    let (fleet, p) = phone().await;
    for (page, path) in [
        ("DeviceInformationX", "/DeviceInformation"),
        ("NetworkConfigurationX", "/NetworkConfiguration"),
        ("StreamingStatisticsX:1", "/StreamingStatistics?1"),
    ] {
        let base = [
            "info",
            "--phone",
            &p.addr.to_string(),
            "--user",
            &p.user,
            "--page",
            page,
            "--html",
        ]
        .map(String::from);
        let out = zonecast(base.to_vec()).await;
        assert_eq!(out.status.code(), Some(0), "{page}: {}", text(&out));
        let html = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(html.contains("<html"), "{page}: {html}");
        let mut dry = base.to_vec();
        dry.push("--dry-run".into());
        let out = zonecast(dry).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.ends_with(&format!("GET {path}\n")),
            "{page}: {stdout}"
        );
    }
    let model = zonecast(
        [
            "info",
            "--phone",
            &p.addr.to_string(),
            "--user",
            &p.user,
            "--html",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(
        String::from_utf8_lossy(&model.stdout).contains("CP-8851"),
        "{}",
        text(&model)
    );
    fleet.shutdown().await;
}
