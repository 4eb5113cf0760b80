//! The phone emulator driven the way a paging server drives desk phones: HTTP pushes of
//! hand-written XML (not built by zonecast's own push code) and real RTP over loopback UDP.

mod common;

use std::time::{Duration, Instant};

use common::sim::{addressed, element, eventually, execute, get, http, push_xml, send, start};
use zonecast::xsi::response::{parse_device_page, parse_execute_reply};

/// A file of `../shared/reference/`; `None` (after a skip line) when it is absent.
fn reference(name: &str) -> Option<String> {
    zonecast::shared::shared_text(&format!("reference/{name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtprx_then_real_rtp_shows_in_streaming_statistics_and_the_fleet_report() {
    let fleet = start(addressed(2, "CP-8851")).await;
    let phones = fleet.phones();
    let p = &phones[0];
    let port = common::free_even_port();
    let uri = format!("RTPRx:127.0.0.1:{port}:60");
    let (status, body) = push_xml(p, &execute(&[&uri])).await;
    assert_eq!(status, 200);
    assert_eq!(
        body.trim(),
        format!(
            "<CiscoIPPhoneResponse>\r\n<ResponseItem URL=\"{uri}\" Data=\"Success\" Status=\"0\"/>\r\n</CiscoIPPhoneResponse>"
        )
    );
    // Before any packet: the stream is active, nothing received.
    let (_, page) = get(p, "/StreamingStatisticsX?1").await;
    assert_eq!(element(&page, "StreamStatus"), Some("Active"));
    assert_eq!(element(&page, "RcvrPackets"), Some("0"));

    let dest = format!("{}:{port}", p.addr.ip());
    send(vec![
        "--tone".into(),
        "1000".into(),
        "--duration".into(),
        "1".into(),
        "--to".into(),
        dest,
    ])
    .await;

    let page = eventually(5, "50 packets in StreamingStatisticsX", async || {
        let (_, page) = get(p, "/StreamingStatisticsX?1").await;
        (element(&page, "RcvrPackets") == Some("50")).then_some(page)
    })
    .await;
    let stats = parse_device_page(page.as_bytes())
        .unwrap()
        .streaming_stats();
    assert_eq!(stats.rcvr_octets, Some(50 * 160));
    assert_eq!(stats.rcvr_lost_packets, Some(0));
    assert_eq!(stats.rcvr_codec.as_deref(), Some("G.711u"));
    assert_eq!(stats.local_addr, Some(format!("{}/{port}", p.addr.ip())));
    assert!(
        stats
            .remote_addr
            .as_deref()
            .unwrap()
            .starts_with("127.0.0.1/"),
        "{stats:?}"
    );

    let report = fleet.phone_report(&p.name).unwrap();
    let heard = report.heard.last().expect("a stream heard");
    assert!(heard.active);
    assert_eq!(heard.rx.summary.packets, 50);
    assert_eq!(heard.rx.summary.sequence_errors, 0);
    assert_eq!(heard.rx.summary.timestamp_errors, 0);
    let f = heard.rx.summary.frequency_hz.expect("a frequency");
    assert!((f - 1000.0).abs() < 10.0, "heard {f} Hz");
    assert!(heard.rx.first_packet_after_ms.is_some());
    assert_eq!(heard.stream.volume, Some(60));
    // The other phone heard nothing.
    assert!(
        fleet
            .phone_report(&phones[1].name)
            .unwrap()
            .heard
            .is_empty()
    );

    let (_, body) = push_xml(p, &execute(&["RTPRx:Stop"])).await;
    assert!(body.contains("Status=\"0\""));
    let report = fleet.phone_report(&p.name).unwrap();
    assert!(!report.heard.last().unwrap().active);
    let (_, page) = get(p, "/StreamingStatisticsX?1").await;
    assert_eq!(element(&page, "StreamStatus"), Some("Not Active"));
    assert_eq!(
        element(&page, "RcvrPackets"),
        Some("50"),
        "the last stream's numbers stay"
    );
    let fleet_report = fleet.report();
    assert_eq!(fleet_report.totals.streams_heard, 1);
    assert_eq!(fleet_report.totals.receiving, 0);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multicast_reaches_every_member_and_a_second_rx_is_already_active() {
    let fleet = start(addressed(3, "CP-8845")).await;
    let phones = fleet.phones();
    let port = common::free_even_port();
    let group = format!(
        "239.255.{}.{}",
        rand::random::<u8>(),
        1 + rand::random::<u8>() % 250
    );
    let uri = format!("RTPMRx:{group}:{port}");
    for p in &phones {
        let (_, body) = push_xml(p, &execute(&[&uri])).await;
        assert!(body.contains("Status=\"0\""), "{body}");
    }
    let (_, body) = push_xml(&phones[0], &execute(&["RTPRx:127.0.0.1:20480"])).await;
    assert!(
        body.contains("Data=\"Tx/Rx is already active\" Status=\"6\""),
        "{body}"
    );
    send(vec![
        "--tone".into(),
        "600".into(),
        "--duration".into(),
        "0.6".into(),
        "--to".into(),
        format!("{group}:{port}"),
        "--interface".into(),
        "127.0.0.1".into(),
        "--ttl".into(),
        "1".into(),
    ])
    .await;
    for p in &phones {
        let heard = eventually(5, "30 multicast packets", async || {
            let r = fleet.phone_report(&p.name).unwrap();
            let h = r.heard.last().cloned()?;
            (h.rx.summary.packets == 30).then_some(h)
        })
        .await;
        assert!(heard.stream.multicast);
        let f = heard.rx.summary.frequency_hz.unwrap();
        assert!((f - 600.0).abs() < 10.0, "{} heard {f} Hz", p.name);
    }
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtptx_sends_the_phone_microphone() {
    let mut cfg = addressed(1, "CP-8851");
    cfg.mic_tone_hz = 750.0;
    let fleet = start(cfg).await;
    let p = &fleet.phones()[0];
    let (sock, port) = common::bound_even_socket();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let (_, body) = push_xml(p, &execute(&[&format!("RTPTx:127.0.0.1:{port}")])).await;
    assert!(body.contains("Status=\"0\""), "{body}");
    let got = tokio::task::spawn_blocking(move || {
        let mut pcm = Vec::new();
        let mut buf = [0u8; 2048];
        let mut from = None;
        while pcm.len() < 8000 / 2 {
            let (n, addr) = sock.recv_from(&mut buf).expect("the phone sends RTP");
            assert_eq!(n, 172, "12-byte header + 160 bytes of G.711");
            assert_eq!(buf[1] & 0x7F, 0, "PCMU");
            from = Some(addr);
            pcm.extend(buf[12..n].iter().map(|&b| zonecast::g711::decode_ulaw(b)));
        }
        (pcm, from.unwrap())
    })
    .await
    .unwrap();
    let (pcm, from) = got;
    assert_eq!(
        from.ip(),
        std::net::IpAddr::V4(*p.addr.ip()),
        "sent from the phone's address"
    );
    let f = common::tone_frequency(&pcm, 8000);
    assert!((f - 750.0).abs() < 10.0, "{f}");
    let (_, page) = get(p, "/StreamingStatisticsX?1").await;
    assert!(
        element(&page, "SenderPackets")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 25
    );
    push_xml(p, &execute(&["RTPTx:Stop"])).await;
    assert!(!fleet.phone_report(&p.name).unwrap().transmitting);
    fleet.shutdown().await;
}

/// The bodies usecallmanagernz/commands `mediastream` posts, taken from the reference file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_stop_media_from_the_public_client_samples() {
    let Some(text) = reference("usecallmanager-mediastream-requests.xml") else {
        return;
    };
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = &fleet.phones()[0];
    let docs: Vec<&str> = text.split("<?xml").skip(1).collect();
    assert_eq!(docs.len(), 2);
    let port = common::free_even_port();
    let start_xml = format!("<?xml{}", docs[0])
        .replace("VOLUME", "40")
        .replace("SOURCE-OR-MULTICAST-ADDRESS", "127.0.0.1")
        .replace("20480", &port.to_string());
    let (status, body) = push_xml(p, &start_xml).await;
    assert_eq!(status, 200, "{body}");
    let id = body
        .split("id=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("<mediaStream id=\"..\"/>")
        .to_owned();
    assert!(body.trim_start().starts_with("<mediaStream id="), "{body}");
    let report = fleet.phone_report(&p.name).unwrap();
    assert_eq!(report.heard.last().unwrap().stream.port, port);
    assert_eq!(report.heard.last().unwrap().stream.volume, Some(40));

    let bad = format!("<?xml{}", docs[1]).replace("ID", "nope");
    let (status, body) = push_xml(p, &bad).await;
    assert_eq!(status, 400);
    assert!(body.contains("Unknown Media Stream ID: nope"), "{body}");
    let stop = format!("<?xml{}", docs[1]).replace("ID", &id);
    let (status, _) = push_xml(p, &stop).await;
    assert_eq!(status, 200);
    assert!(
        !fleet
            .phone_report(&p.name)
            .unwrap()
            .heard
            .last()
            .unwrap()
            .active
    );
    fleet.shutdown().await;
}

/// Cisco's own Execute example: Play is synchronous, one ResponseItem per ExecuteItem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cisco_execute_example_answers_each_item_and_play_blocks() {
    let Some(text) = reference("cisco-doc-execute-response-examples.xml") else {
        return;
    };
    let fleet = start(addressed(1, "CP-8851")).await;
    let p = &fleet.phones()[0];
    let start_at = text.find("<CiscoIPPhoneExecute>").unwrap();
    let end_at = text.find("</CiscoIPPhoneExecute>").unwrap() + "</CiscoIPPhoneExecute>".len();
    let xml = &text[start_at..end_at];
    let t0 = Instant::now();
    let (status, body) = push_xml(p, xml).await;
    let took = t0.elapsed();
    assert_eq!(status, 200);
    let reply = parse_execute_reply(body.as_bytes()).unwrap();
    assert_eq!(reply.items().len(), 2, "{body}");
    assert!(reply.item_for("Play:chime.raw").unwrap().is_success());
    assert!(
        reply
            .item_for("http://server/textmessage.xml")
            .unwrap()
            .is_success()
    );
    // Without a TFTP directory a file plays for one second; the reply waits for it.
    assert!(took >= Duration::from_millis(950), "{took:?}");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_unencoded_bodies_banners_screen_and_screenshot() {
    let fleet = start(addressed(1, "CP-8865")).await;
    let p = &fleet.phones()[0];
    // A raw `XML=<...>` body, as scripts send it, with a '+' that must stay a '+'.
    let r = common::sim::post_raw(
        p,
        "XML=<CiscoIPPhoneStatus><Text>Drill 1+1</Text><Timer>0</Timer></CiscoIPPhoneStatus>"
            .into(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Status=\"0\""));
    let report = fleet.phone_report(&p.name).unwrap();
    assert_eq!(report.status_banner.as_deref(), Some("Drill 1+1"));
    push_xml(p, "<CiscoIPPhoneText><Title>Lockdown</Title><Text>Stay in your rooms</Text></CiscoIPPhoneText>").await;
    let screen = fleet.phone_report(&p.name).unwrap().screen;
    assert!(screen.contains(&"Lockdown".to_string()), "{screen:?}");
    push_xml(p, &execute(&["Init:AppStatus"])).await;
    assert_eq!(fleet.phone_report(&p.name).unwrap().status_banner, None);

    // The screenshot needs the phone's credentials and is a PNG of the screen's size.
    let unauth = http()
        .get(format!("{}/CGI/Screenshot", p.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
    let png = http()
        .get(format!("{}/CGI/Screenshot", p.url))
        .basic_auth(&p.user, Some(p.password.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (800, 480));
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_pages_are_the_phones_own() {
    let fleet = start(addressed(2, "CP-7841")).await;
    let p = &fleet.phones()[1];
    let (status, page) = get(p, "/DeviceInformationX").await;
    assert_eq!(status, 200);
    let info = parse_device_page(page.as_bytes()).unwrap();
    assert_eq!(info.model_number(), Some("CP-7841"));
    assert_eq!(
        info.host_name(),
        Some(format!("SEP{}", info.mac_address().unwrap()).as_str())
    );
    let (_, net) = get(p, "/NetworkConfigurationX").await;
    assert_eq!(
        element(&net, "IPAddress"),
        Some(p.addr.ip().to_string().as_str())
    );
    assert_eq!(get(p, "/StreamingStatisticsX?9").await.0, 404);
    assert_eq!(get(p, "/StreamingStatisticsX?2").await.0, 200);
    let (_, html) = get(p, "/DeviceInformation").await;
    assert!(html.contains("CP-7841"));
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpp_phones_answer_without_xml_and_refuse_rtp() {
    let fleet = start(addressed(1, "CP-8851-3PCC")).await;
    let p = &fleet.phones()[0];
    let (status, body) = push_xml(p, &execute(&["Key:Services"])).await;
    assert_eq!((status, body.as_str()), (200, ""));
    let port = common::free_even_port();
    let (status, _) = push_xml(p, &execute(&[&format!("RTPRx:127.0.0.1:{port}")])).await;
    assert_eq!(status, 400);
    // Nothing listens on the port.
    assert!(std::net::UdpSocket::bind((*p.addr.ip(), port)).is_ok());
    let r = http()
        .post(format!("{}/CGI/Execute", p.url))
        .basic_auth(&p.user, Some("wrong"))
        .body("XML=%3CCiscoIPPhoneExecute%2F%3E")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    fleet.shutdown().await;
}

#[test]
fn zonecast_sim_lists_phones_serves_the_report_and_writes_it_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut child = common::zonecast()
        .args([
            "sim",
            "--phones",
            "3",
            "--model",
            "CP-8845",
            "--duration",
            "3",
            "--json",
        ])
        .arg("--report")
        .arg(&report)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let phones = v["phones"].as_array().unwrap();
    assert_eq!(phones.len(), 3);
    assert_eq!(phones[0]["model"], "CP-8845");
    assert!(!line.contains("zonecast-sim"), "no password in the listing");
    let url = phones[2]["url"].as_str().unwrap().to_owned();
    let control = v["control"].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = http()
            .post(format!("{url}/CGI/Execute"))
            .basic_auth("admin", Some(zonecast::phone_sim::config::DEFAULT_PASSWORD))
            .body(format!("XML={}", execute(&["Key:VolUp"])))
            .send()
            .await
            .unwrap();
        assert!(r.text().await.unwrap().contains("Status=\"0\""));
        let fleet: serde_json::Value = http()
            .get(&control)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        assert_eq!(fleet["totals"]["phones"], 3);
        assert_eq!(fleet["phones"][2]["counters"]["pushes"], 1);
    });
    let status = child.wait().unwrap();
    assert!(status.success());
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(saved["phones"][2]["volume"], 60);
    assert_eq!(saved["totals"]["pushes"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_url_is_fetched_with_the_phone_headers_and_shown() {
    use common::fake_phone::{Behaviour, fake_phone};
    let (server, seen) = fake_phone(Behaviour::Reply(
        200,
        "<CiscoIPPhoneText><Title>Bell schedule</Title><Text>08:00 first period</Text></CiscoIPPhoneText>",
    ))
    .await;
    let fleet = start(addressed(1, "CP-8865")).await;
    let p = &fleet.phones()[0];
    let url = format!("http://{server}/bells.xml");
    let xml = format!(
        "<CiscoIPPhoneExecute><ExecuteItem Priority=\"0\" URL=\"{url}\"/>\
         <ExecuteItem URL=\"QueryStringParam:day=mon\"/></CiscoIPPhoneExecute>"
    );
    let (_, body) = push_xml(p, &xml).await;
    let reply = parse_execute_reply(body.as_bytes()).unwrap();
    assert_eq!(reply.items().len(), 2);
    // QueryStringParam names an Input's field; inside an Execute a phone does not know it,
    // and appends nothing to the URL.
    let q = reply.item_for("QueryStringParam:day=mon").unwrap();
    assert_eq!((q.status, q.data.as_str()), (6, "URI not found"));
    let screen = eventually(5, "the fetched text on screen", async || {
        let r = fleet.phone_report(&p.name).unwrap();
        r.screen
            .contains(&"Bell schedule".to_string())
            .then_some(r.screen)
    })
    .await;
    assert!(screen.iter().any(|l| l.contains("08:00 first period")));
    let req = String::from_utf8(seen.lock().unwrap()[0].clone()).unwrap();
    assert!(req.starts_with("GET /bells.xml HTTP/1.1\r\n"), "{req}");
    let lower = req.to_ascii_lowercase();
    assert!(
        lower.contains("x-ciscoipphonemodelname: cp-8865\r\n"),
        "{req}"
    );
    assert!(
        lower.contains("x-ciscoipphonedisplay: 800, 480, 24, c\r\n"),
        "{req}"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_dir_keeps_a_wav_of_what_each_phone_heard() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = addressed(1, "CP-8851");
    cfg.record_dir = Some(dir.path().to_path_buf());
    let fleet = start(cfg).await;
    let p = &fleet.phones()[0];
    let port = common::free_even_port();
    push_xml(p, &execute(&[&format!("RTPRx:127.0.0.1:{port}")])).await;
    send(vec![
        "--tone".into(),
        "880".into(),
        "--duration".into(),
        "0.5".into(),
        "--to".into(),
        format!("{}:{port}", p.addr.ip()),
    ])
    .await;
    eventually(5, "25 packets", async || {
        let h = fleet.phone_report(&p.name)?.heard.last().cloned()?;
        (h.rx.summary.packets == 25).then_some(())
    })
    .await;
    push_xml(p, &execute(&["RTPRx:Stop"])).await;
    let wav = dir.path().join(format!("{}-001.wav", p.name));
    let (rate, samples) = common::read_wav(&wav);
    assert_eq!(rate, 8000);
    assert_eq!(samples.len(), 25 * 160);
    let f = common::tone_frequency(&samples, 8000);
    assert!((f - 880.0).abs() < 10.0, "{f}");
    fleet.shutdown().await;
}
