//! The XSI commands (`push`, `display`, `media`, `info`, `screenshot`, `macro`) end to end: the
//! real binary in a child process, real HTTP to fake phones on loopback, exit codes and output
//! checked, and the exact requests the fake phone received decoded.

mod common;

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use common::fake_phone::{Behaviour, fake_phone, find};
use zonecast::xsi::object::DECLARATION;

/// The password the child gets from its environment; it must never be printed.
const PASSWORD: &str = "pw-Zq7-must-never-print";

const OK_SERVICES: &str = r#"<?xml version="1.0" encoding="utf-8"?><CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL="Init:AppStatus"/><ResponseItem Status="0" Data="Success" URL="Key:Services"/></CiscoIPPhoneResponse>"#;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Run `zonecast ARGS` with the password in its environment (unless `with_password` is false),
/// off the async runtime that hosts the fake phones. Checks the password was not printed.
async fn zonecast_env(args: &[&str], with_password: bool) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out: Output = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zonecast"));
        cmd.args(&args).env_remove("ZONECAST_LOG");
        if with_password {
            cmd.env("ZONECAST_PHONE_PASSWORD", PASSWORD);
        } else {
            cmd.env_remove("ZONECAST_PHONE_PASSWORD");
        }
        cmd.output().expect("run zonecast")
    })
    .await
    .unwrap();
    let run = Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.all().contains(PASSWORD),
        "the password leaked:\n{}",
        run.all()
    );
    run
}

async fn zonecast(args: &[&str]) -> Run {
    zonecast_env(args, true).await
}

fn requests(seen: &Arc<Mutex<Vec<Vec<u8>>>>) -> Vec<Vec<u8>> {
    seen.lock().unwrap().clone()
}

/// The decoded `XML` form field of a raw POST request.
fn posted_xml(req: &[u8]) -> String {
    let start = find(req, b"\r\n\r\n").expect("end of headers") + 4;
    form_urlencoded::parse(&req[start..])
        .find(|(k, _)| k == "XML")
        .map(|(_, v)| v.into_owned())
        .expect("an XML= field")
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn push_success_prints_each_item_and_exits_0() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let r = zonecast(&["push", "--phone", &addr, "Key:Services", "Init:AppStatus"]).await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains(&format!("phone {addr}: ok")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Key:Services: status 0: Success"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Init:AppStatus: status 0: Success"),
        "{}",
        r.stdout
    );
    let reqs = requests(&seen);
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].starts_with(b"POST /CGI/Execute "));
    let xml = posted_xml(&reqs[0]);
    assert!(
        xml.contains(r#"<ExecuteItem Priority="0" URL="Key:Services"/><ExecuteItem Priority="0" URL="Init:AppStatus"/>"#),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn push_json_reports_phone_outcome_and_items() {
    let (addr, _) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let r = zonecast(&["push", "--json", "--phone", &addr, "Key:Services"]).await;
    assert_eq!(r.code, 0, "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v[0]["phone"], addr.as_str());
    assert_eq!(v[0]["outcome"], "ok");
    assert_eq!(v[0]["items"][0]["url"], "Key:Services");
    assert_eq!(v[0]["items"][0]["status"], 0);
    assert_eq!(v[0]["items"][0]["data"], "Success");
}

#[tokio::test(flavor = "multi_thread")]
async fn push_rejected_with_status_6_exits_3_and_prints_the_data() {
    const BODY: &str = r#"<CiscoIPPhoneResponse><ResponseItem Status="6" Data="URI not found" URL="Key:Services"/></CiscoIPPhoneResponse>"#;
    let (addr, _) = fake_phone(Behaviour::Reply(200, BODY)).await;
    let r = zonecast(&["push", "--phone", &addr, "Key:Services"]).await;
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(r.stdout.contains("URI not found"), "{}", r.stdout);
    assert!(r.stdout.contains("status 6"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn push_answered_401_exits_3_authentication() {
    let (addr, seen) = fake_phone(Behaviour::Reply(401, "")).await;
    let r = zonecast(&["push", "--phone", &addr, "Key:Services"]).await;
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(r.all().contains("authentication"), "{}", r.all());
    // The password went on the wire (basic auth), just never to the terminal.
    let req = String::from_utf8_lossy(&requests(&seen)[0]).to_ascii_lowercase();
    assert!(req.contains("authorization: basic "), "{req}");
}

#[tokio::test(flavor = "multi_thread")]
async fn push_to_a_closed_port_exits_1() {
    let addr = closed_port();
    let r = zonecast(&["push", "--phone", &addr, "--timeout", "1", "Key:Services"]).await;
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("unreachable"), "{}", r.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn fan_out_exits_with_the_worst_code() {
    let (good, _) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let (bad, _) = fake_phone(Behaviour::Reply(401, "")).await;
    let r = zonecast(&["push", "--phone", &good, "--phone", &bad, "Key:Services"]).await;
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.stdout.contains(&format!("phone {good}: ok")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("phone {bad}: authentication")),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn push_with_an_odd_rtp_port_exits_2_naming_it_and_sends_nothing() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let r = zonecast(&["push", "--phone", &addr, "RTPRx:10.0.0.1:20481"]).await;
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("20481"), "{}", r.stderr);
    assert!(r.stderr.contains("even"), "{}", r.stderr);
    assert!(requests(&seen).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn push_of_four_uris_exits_2_with_the_rule() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let r = zonecast(&[
        "push",
        "--phone",
        &addr,
        "Key:Services",
        "Key:Settings",
        "Init:AppStatus",
        "RTPRx:Stop",
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("at most 3"), "{}", r.stderr);
    assert!(requests(&seen).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn push_dry_run_prints_the_exact_xml_and_sends_nothing() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let (other, seen2) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    // No password in the environment: a dry run does not need one.
    let r = zonecast_env(
        &[
            "push",
            "--phone",
            &addr,
            "--phone",
            &other,
            "--dry-run",
            "--priority",
            "1",
            "RTPMRx:239.1.1.1:20480:80",
            "http://pager/notice",
        ],
        false,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    // The priority goes on the HTTP URL only: internal URIs always execute at once.
    let xml = r#"<CiscoIPPhoneExecute><ExecuteItem Priority="0" URL="RTPMRx:239.1.1.1:20480:80"/><ExecuteItem Priority="1" URL="http://pager/notice"/></CiscoIPPhoneExecute>"#;
    assert_eq!(
        r.stdout,
        format!("# phone {addr}\n{DECLARATION}{xml}\n# phone {other}\n{DECLARATION}{xml}\n")
    );
    assert!(requests(&seen).is_empty());
    assert!(requests(&seen2).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn multiplatform_model_refuses_rtp_and_sends_nothing() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, OK_SERVICES)).await;
    let r = zonecast(&[
        "push",
        "--phone",
        &addr,
        "--model",
        "CP-8845-3PCC",
        "RTPRx:10.0.0.1:20480",
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("RTP"), "{}", r.stderr);
    assert!(r.stderr.contains("CP-8845-3PCC"), "{}", r.stderr);
    assert!(requests(&seen).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn display_text_pushes_a_cisco_ip_phone_text() {
    const BODY: &str = r#"<CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL=""/></CiscoIPPhoneResponse>"#;
    let (addr, seen) = fake_phone(Behaviour::Reply(200, BODY)).await;
    let r = zonecast(&[
        "display",
        "--phone",
        &addr,
        "text",
        "--title",
        "Notice",
        "--text",
        "Fire drill at 3 & be <quick>",
    ])
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    let reqs = requests(&seen);
    assert_eq!(reqs.len(), 1);
    let raw = String::from_utf8_lossy(&reqs[0]);
    assert!(raw.contains("XML=%3C%3Fxml"), "{raw}");
    let xml = posted_xml(&reqs[0]);
    assert!(
        xml.ends_with(
            "<CiscoIPPhoneText><Title>Notice</Title>\
             <Text>Fire drill at 3 &amp; be &lt;quick&gt;</Text></CiscoIPPhoneText>"
        ),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn display_status_adapts_to_text_for_a_model_without_status() {
    let r = zonecast_env(
        &[
            "display",
            "--phone",
            "10.0.0.9",
            "--model",
            "CP-7841",
            "--dry-run",
            "status",
            "--text",
            "Paging",
        ],
        false,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("<CiscoIPPhoneText><Text>Paging</Text>"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("CiscoIPPhoneText"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn media_start_prints_the_stream_id() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, r#"<mediaStream id="abc123"/>"#)).await;
    let r = zonecast(&[
        "media",
        "--phone",
        &addr,
        "start",
        "--to",
        "10.0.0.1:20480",
        "--codec",
        "G.722",
    ])
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("abc123"), "{}", r.stdout);
    let xml = posted_xml(&requests(&seen)[0]);
    assert!(
        xml.contains(
            "<codec>G.722</codec><mode>receive</mode><address>10.0.0.1</address><port>20480</port>"
        ),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn media_notify_must_be_a_notify_uri_before_anything_is_pushed() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, r#"<mediaStream id="abc123"/>"#)).await;
    let start = |notify: &str| {
        let args = [
            "media",
            "--phone",
            &addr,
            "start",
            "--to",
            "10.0.0.1:20480",
            "--notify",
            notify,
        ]
        .map(str::to_owned);
        async move { zonecast(&args.each_ref().map(String::as_str)).await }
    };
    for bad in [
        "Notify:https:h:443:p",
        "Notify:http:h:0:p",
        "http://h/p",
        "Key:Services",
    ] {
        let r = start(bad).await;
        assert_eq!(r.code, 2, "{bad}: {}", r.all());
        assert!(r.stderr.contains("--notify"), "{bad}: {}", r.stderr);
    }
    assert!(requests(&seen).is_empty(), "a refused --notify was pushed");
    let r = start("Notify:http:10.0.0.5:8460:cb/stopped").await;
    assert_eq!(r.code, 0, "{}", r.all());
    let xml = posted_xml(&requests(&seen)[0]);
    assert!(
        xml.contains(r#"onStopped="Notify:http:10.0.0.5:8460:cb/stopped::""#),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn media_error_response_exits_3_with_its_type() {
    const BODY: &str = "<errorResponse><errorType>InvalidResourceID</errorType>\
                        <errorData>Unknown Media Stream ID: zz</errorData></errorResponse>";
    let (addr, _) = fake_phone(Behaviour::Reply(200, BODY)).await;
    let r = zonecast(&["media", "--phone", &addr, "stop", "--id", "zz"]).await;
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(r.stdout.contains("InvalidResourceID"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn info_prints_the_model_number_of_a_device_information_page() {
    let Some(samples) = zonecast::shared::shared_text("reference/DeviceInformationX-samples.xml")
    else {
        return;
    };
    let start = samples.find("<?xml").unwrap();
    let end = samples.find("</DeviceInformation>").unwrap() + "</DeviceInformation>".len();
    let first: &'static str = Box::leak(samples[start..end].to_string().into_boxed_str());
    let (addr, seen) = fake_phone(Behaviour::Reply(200, first)).await;
    let r = zonecast(&["info", "--phone", &addr]).await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("modelNumber: CP-7940"), "{}", r.stdout);
    assert!(
        r.stdout.contains("HostName: SEP0003E369A125"),
        "{}",
        r.stdout
    );
    assert!(requests(&seen)[0].starts_with(b"GET /DeviceInformationX "));
    let j = zonecast(&["info", "--json", "--phone", &addr]).await;
    let v: serde_json::Value = serde_json::from_str(j.stdout.trim()).unwrap();
    assert_eq!(v["fields"]["modelNumber"], "CP-7940");
    let s = zonecast(&["info", "--phone", &addr, "--page", "StreamingStatisticsX:2"]).await;
    assert_eq!(s.code, 0, "{}", s.all());
    assert!(requests(&seen)[2].starts_with(b"GET /StreamingStatisticsX?2 "));
}

#[tokio::test(flavor = "multi_thread")]
async fn info_refuses_a_page_number_outside_the_spec_range_before_asking() {
    let (addr, seen) = fake_phone(Behaviour::Reply(200, "<DeviceLog/>")).await;
    for (page, value, range) in [
        ("PortInformationX:9", "9", "1..=3"),
        ("PortInformationX:0", "0", "1..=3"),
        ("StreamingStatisticsX:4", "4", "1..=3"),
        ("DeviceLogX:3", "3", "0..=2"),
    ] {
        let r = zonecast(&["info", "--phone", &addr, "--page", page]).await;
        assert_eq!(r.code, 2, "{page}: {}", r.all());
        let field = page.split_once(':').unwrap().0;
        assert!(
            r.stderr.contains(&format!("{field} number"))
                && r.stderr.contains(value)
                && r.stderr.contains(range),
            "{page}: {}",
            r.stderr
        );
    }
    assert!(requests(&seen).is_empty(), "a refused page was asked for");
    // The edges of the ranges are asked for.
    let r = zonecast(&["info", "--phone", &addr, "--page", "DeviceLogX:0"]).await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(requests(&seen)[0].starts_with(b"GET /DeviceLogX?0 "));
}

#[tokio::test(flavor = "multi_thread")]
async fn screenshot_writes_the_body_and_refuses_an_empty_one() {
    let (addr, _) = fake_phone(Behaviour::Reply(200, "\u{89}PNG-not-really")).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shot.png");
    let r = zonecast(&[
        "screenshot",
        "--phone",
        &addr,
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        std::fs::read(&out).unwrap(),
        "\u{89}PNG-not-really".as_bytes()
    );
    let (empty, _) = fake_phone(Behaviour::Reply(200, "")).await;
    let out2 = dir.path().join("none.png");
    let r = zonecast(&[
        "screenshot",
        "--phone",
        &empty,
        "--out",
        out2.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(!out2.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn macro_tftp_dry_run_prints_every_step_in_order() {
    let r = zonecast_env(
        &[
            "macro",
            "tftp",
            "--phone",
            "10.0.0.9",
            "--dry-run",
            "--server",
            "10.0.7.34",
        ],
        false,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    let urls: Vec<&str> = r
        .stdout
        .split("URL=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let expected = [
        "Key:Applications",
        "SettingsMenu:Networkconnection",
        "SettingsMenu:Networksettings",
        "SettingsMenu:AlternateTFTP",
        "SettingsMenu:TFTPserver1",
        "Key:Key_1",
        "Key:Key_0",
        "Key:Key_Period",
        "Key:Key_0",
        "Key:Key_Period",
        "Key:Key_7",
        "Key:Key_Period",
        "Key:Key_3",
        "Key:Key_4",
        "Button:Apply",
    ];
    assert_eq!(urls, expected);
    assert_eq!(r.stdout.matches("<CiscoIPPhoneExecute>").count(), 15);
    let bad = zonecast(&["macro", "tftp", "--phone", "x", "--server", "10.0.7"]).await;
    assert_eq!(bad.code, 2, "{}", bad.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn macro_prt_polls_until_the_report_url() {
    const BODY: &str = r#"<CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL="Device:GeneratePRT"/><ResponseItem Status="0" Data="Generated PRT at https://10.0.0.9/FS/prt-20260101-101010-0011AABBCCDD.tar.gz" URL="Device:PRTStatus"/></CiscoIPPhoneResponse>"#;
    let (addr, seen) = fake_phone(Behaviour::Reply(200, BODY)).await;
    let r = zonecast(&[
        "macro",
        "prt",
        "--phone",
        &addr,
        "--poll-interval",
        "0.1",
        "--poll-timeout",
        "5",
    ])
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("https://10.0.0.9/FS/prt-20260101-101010-0011AABBCCDD.tar.gz"),
        "{}",
        r.stdout
    );
    let reqs = requests(&seen);
    assert_eq!(reqs.len(), 2);
    assert!(posted_xml(&reqs[0]).contains("URL=\"Device:GeneratePRT\""));
    assert!(posted_xml(&reqs[1]).contains("URL=\"Device:PRTStatus\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn macro_prt_gives_up_after_the_poll_timeout() {
    const BODY: &str = r#"<CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL="Device:GeneratePRT"/><ResponseItem Status="0" Data="PRT generation in progress" URL="Device:PRTStatus"/></CiscoIPPhoneResponse>"#;
    let (addr, _) = fake_phone(Behaviour::Reply(200, BODY)).await;
    let r = zonecast(&[
        "macro",
        "prt",
        "--phone",
        &addr,
        "--poll-interval",
        "0.1",
        "--poll-timeout",
        "0.5",
    ])
    .await;
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("in progress"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn multiplatform_push_from_a_password_file_accepts_an_empty_reply() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let (addr, seen) = fake_phone(Behaviour::Reply(200, "")).await;
    let r = zonecast_env(
        &[
            "push",
            "--phone",
            &addr,
            "--model",
            "CP-8845-3PCC",
            "--password-file",
            pw.to_str().unwrap(),
            "Key:Services",
        ],
        false,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(requests(&seen).len(), 1);
    // Without the file or the variable there is nothing to log in with: invalid input.
    let r = zonecast_env(&["push", "--phone", &addr, "Key:Services"], false).await;
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("ZONECAST_PHONE_PASSWORD"), "{}", r.stderr);
}

#[cfg(feature = "tls")]
#[tokio::test(flavor = "multi_thread")]
async fn push_over_https_reaches_a_phone_with_a_self_signed_certificate() {
    let (addr, seen) = common::fake_phone::fake_tls_phone(OK_SERVICES).await;
    let r = zonecast(&[
        "push",
        "--https",
        "--phone",
        &addr,
        "Key:Services",
        "Init:AppStatus",
    ])
    .await;
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("Key:Services: status 0: Success"),
        "{}",
        r.stdout
    );
    let reqs = requests(&seen);
    assert_eq!(reqs.len(), 1);
    assert!(posted_xml(&reqs[0]).contains(r#"URL="Key:Services""#));
    // The same phone over plain HTTP gets no usable answer.
    let r = zonecast(&["push", "--phone", &addr, "Key:Services"]).await;
    assert_ne!(r.code, 0, "{}", r.all());
}
