//! The phone's rules, driven with a fake [`Hardware`] and virtual time.

use super::*;
use crate::xsi::response::{ExecuteReply, MediaReply, parse_execute_reply, parse_media_reply};

#[derive(Default)]
struct FakeHw {
    rx: Option<RxRequest>,
    tx: Option<TxRequest>,
    busy_ports: Vec<u16>,
    opened: Vec<String>,
}

impl Hardware for FakeHw {
    fn open_rx(&mut self, req: &RxRequest) -> Result<(), String> {
        if self.busy_ports.contains(&req.port) {
            return Err("Port unavailable".into());
        }
        self.opened.push(format!("rx {}:{}", req.addr, req.port));
        self.rx = Some(*req);
        Ok(())
    }
    fn close_rx(&mut self) {
        self.rx = None;
    }
    fn open_tx(&mut self, req: &TxRequest) -> Result<(), String> {
        self.opened.push(format!("tx {}:{}", req.addr, req.port));
        self.tx = Some(*req);
        Ok(())
    }
    fn close_tx(&mut self) {
        self.tx = None;
    }
    fn play_length_ms(&mut self, file: &str) -> Option<u64> {
        (file == "chime.raw").then_some(2010)
    }
}

fn phone(model: &str) -> PhoneCore {
    PhoneCore::new(
        Identity {
            name: "p1".into(),
            ip: Ipv4Addr::new(127, 0, 1, 1),
            http_port: 80,
            mac: "00AB12CD34EF".into(),
            dn: "1001".into(),
            user: "admin".into(),
            password: Secret::new("pw"),
        },
        Profile::for_model(model).unwrap(),
        7,
    )
}

fn auth() -> String {
    format!("Basic {}", base64_encode(b"admin:pw"))
}

fn push(p: &mut PhoneCore, hw: &mut FakeHw, now: u64, xml: &str) -> Outcome {
    let body = crate::push::form_body(xml);
    let a = auth();
    p.handle_push(
        now,
        &PushInput {
            authorization: Some(&a),
            expect_continue: false,
            chunked: false,
            body: body.as_bytes(),
        },
        hw,
    )
}

fn execute(uris: &[&str]) -> String {
    let mut s = String::from("<CiscoIPPhoneExecute>");
    for u in uris {
        s.push_str(&format!(
            "<ExecuteItem Priority=\"0\" URL=\"{}\"/>",
            escape(u)
        ));
    }
    s + "</CiscoIPPhoneExecute>"
}

fn items(o: &Outcome) -> Vec<(String, u32, String)> {
    match parse_execute_reply(o.reply.body.as_bytes()).unwrap() {
        ExecuteReply::Response(items) => items
            .into_iter()
            .map(|i| (i.url, i.status, i.data))
            .collect(),
        ExecuteReply::Error(e) => panic!("error {e:?}"),
    }
}

fn status_of(o: &Outcome, url: &str) -> (u32, String) {
    let all = items(o);
    let (_, s, d) = all.iter().find(|(u, _, _)| u == url).expect(url);
    (*s, d.clone())
}

#[test]
fn base64_round_trips() {
    for s in ["", "a", "ab", "abc", "admin:pw", "üñí:çødé"] {
        assert_eq!(
            base64_decode(&base64_encode(s.as_bytes())).unwrap(),
            s.as_bytes()
        );
    }
    assert_eq!(base64_encode(b"admin:pw"), "YWRtaW46cHc=");
    assert!(base64_decode("@@").is_none());
}

#[test]
fn rtp_rx_opens_and_stops_and_one_item_per_request_item() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(
        &mut p,
        &mut hw,
        0,
        &execute(&["RTPRx:127.0.0.1:20480:80", "Key:VolUp"]),
    );
    assert_eq!(o.reply.status, 200);
    assert_eq!(items(&o).len(), 2);
    assert_eq!(
        status_of(&o, "RTPRx:127.0.0.1:20480:80"),
        (0, "Success".into())
    );
    assert_eq!(hw.rx.unwrap().port, 20480);
    assert_eq!(p.state().rx.as_ref().unwrap().volume, Some(80));
    assert_eq!(p.state().volume, 60);
    let o = push(&mut p, &mut hw, 10, &execute(&["RTPRx:Stop"]));
    assert_eq!(status_of(&o, "RTPRx:Stop").0, 0);
    assert!(hw.rx.is_none() && p.state().rx.is_none());
    assert_eq!(p.state().counters.rx_started, 1);
    assert_eq!(p.state().counters.rx_stopped, 1);
}

#[test]
fn replies_are_not_always_in_request_order() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let uris = ["Key:VolUp", "Key:VolDwn", "Init:AppStatus"];
    let mut orders = std::collections::HashSet::new();
    for i in 0..20 {
        let o = push(&mut p, &mut hw, i, &execute(&uris));
        let order: Vec<String> = items(&o).into_iter().map(|(u, _, _)| u).collect();
        let mut sorted = order.clone();
        sorted.sort();
        let mut want: Vec<String> = uris.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(sorted, want);
        orders.insert(order);
    }
    assert!(orders.len() > 1, "always the same order: {orders:?}");
}

#[test]
fn second_rx_is_already_active_and_second_tx_too() {
    let mut p = phone("CP-8845");
    let mut hw = FakeHw::default();
    push(&mut p, &mut hw, 0, &execute(&["RTPMRx:239.1.1.1:20480"]));
    let o = push(&mut p, &mut hw, 1, &execute(&["RTPRx:127.0.0.1:20482"]));
    assert_eq!(
        status_of(&o, "RTPRx:127.0.0.1:20482"),
        (6, "Tx/Rx is already active".into())
    );
    push(&mut p, &mut hw, 2, &execute(&["RTPTx:127.0.0.1:20490"]));
    let o = push(&mut p, &mut hw, 3, &execute(&["RTPTx:127.0.0.1:20492"]));
    assert_eq!(status_of(&o, "RTPTx:127.0.0.1:20492").0, 6);
    assert!(hw.rx.unwrap().multicast);
}

#[test]
fn a_port_that_cannot_be_opened_fails_the_item() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw {
        busy_ports: vec![20480],
        ..FakeHw::default()
    };
    let o = push(&mut p, &mut hw, 0, &execute(&["RTPRx:127.0.0.1:20480"]));
    assert_eq!(
        status_of(&o, "RTPRx:127.0.0.1:20480"),
        (6, "Port unavailable".into())
    );
    assert!(p.state().rx.is_none());
}

#[test]
fn a_call_ends_rx_and_rx_during_a_call_is_whisper_without_volume() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    push(&mut p, &mut hw, 0, &execute(&["RTPRx:127.0.0.1:20480:90"]));
    let o = push(&mut p, &mut hw, 1, &execute(&["Dial:1234"]));
    assert_eq!(status_of(&o, "Dial:1234").0, 0);
    assert!(
        p.state().rx.is_none() && hw.rx.is_none(),
        "the call ended the stream"
    );
    push(&mut p, &mut hw, 2, &execute(&["RTPRx:127.0.0.1:20480:90"]));
    let rx = p.state().rx.as_ref().unwrap();
    assert!(rx.whisper);
    assert_eq!(rx.volume, None);
    let o = push(&mut p, &mut hw, 3, &execute(&["SendDigits:12#:1::"]));
    assert_eq!(status_of(&o, "SendDigits:12#:1::").0, 0);
}

#[test]
fn send_digits_without_a_call() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(&mut p, &mut hw, 0, &execute(&["SendDigits:12:1::Acme/App"]));
    assert_eq!(
        status_of(&o, "SendDigits:12:1::Acme/App"),
        (6, "No Active Call".into())
    );
}

#[test]
fn bad_credentials_per_model() {
    let mut hw = FakeHw::default();
    for (model, status, body_has) in [
        ("CP-8851", 200, "<CiscoIPPhoneError Number=\"4\"/>"),
        ("CP-7942G", 401, ""),
        ("CP-8851-3PCC", 401, ""),
    ] {
        let mut p = phone(model);
        let body = crate::push::form_body(&execute(&["Key:VolUp"]));
        let wrong = format!("Basic {}", base64_encode(b"admin:nope"));
        for a in [Some(wrong.as_str()), None] {
            let o = p.handle_push(
                0,
                &PushInput {
                    authorization: a,
                    expect_continue: false,
                    chunked: false,
                    body: body.as_bytes(),
                },
                &mut hw,
            );
            assert_eq!(o.reply.status, status, "{model}");
            assert!(o.reply.body.contains(body_has), "{model}: {}", o.reply.body);
        }
        assert_eq!(p.state().counters.auth_failures, 2);
        assert_eq!(p.state().volume, 50, "nothing executed");
    }
}

#[test]
fn bad_xml_too_many_items_and_too_large_are_error_1() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(
        &mut p,
        &mut hw,
        0,
        "<CiscoIPPhoneExecute><ExecuteItem URL=\"Key:VolUp\">",
    );
    assert_eq!(o.reply.body.trim(), "<CiscoIPPhoneError Number=\"1\"/>");
    let o = push(&mut p, &mut hw, 0, &execute(&["Key:VolUp"; 4]));
    assert!(o.reply.body.contains("Number=\"1\""));
    let big = format!(
        "<CiscoIPPhoneText><Text>{}</Text></CiscoIPPhoneText>",
        "x".repeat(41 * 1024)
    );
    let o = push(&mut p, &mut hw, 0, &big);
    assert!(o.reply.body.contains("Number=\"1\""));
    assert_eq!(p.state().counters.parse_errors, 3);
    assert!(p.state().object.is_none());
    // Two HTTP URLs break the "one HTTP URL plus two URIs" rule.
    let o = push(
        &mut p,
        &mut hw,
        0,
        &execute(&["http://127.0.0.1/a.xml", "http://127.0.0.1/b.xml"]),
    );
    assert!(o.reply.body.contains("Number=\"1\""));
}

#[test]
fn unknown_uri_is_invalid_and_unsupported_uri_is_not_found() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(
        &mut p,
        &mut hw,
        0,
        &execute(&["Bogus:Thing", "SettingsMenu:Bluetooth"]),
    );
    assert_eq!(status_of(&o, "Bogus:Thing"), (1, "Invalid URI".into()));
    assert_eq!(
        status_of(&o, "SettingsMenu:Bluetooth"),
        (6, "URI not found".into())
    );
    let mut p = phone("CP-8875");
    let o = push(&mut p, &mut hw, 0, &execute(&["SettingsMenu:Bluetooth"]));
    assert_eq!(status_of(&o, "SettingsMenu:Bluetooth").0, 0);
}

#[test]
fn mpp_answers_without_xml_and_refuses_rtp() {
    let mut p = phone("CP-8851-3PCC");
    let mut hw = FakeHw::default();
    let o = push(&mut p, &mut hw, 0, &execute(&["Key:VolUp"]));
    assert_eq!((o.reply.status, o.reply.body.as_str()), (200, ""));
    let o = push(&mut p, &mut hw, 0, &execute(&["RTPRx:127.0.0.1:20480"]));
    assert_eq!(o.reply.status, 400);
    assert!(hw.rx.is_none());
    let start = "<startMedia><mediaStream><type>audio</type><codec>G.711</codec><mode>receive</mode><address>127.0.0.1</address></mediaStream></startMedia>";
    assert_eq!(push(&mut p, &mut hw, 0, start).reply.status, 404);
}

#[test]
fn status_banner_text_menu_and_app_status() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(
        &mut p,
        &mut hw,
        0,
        "<CiscoIPPhoneStatus><Text>Fire drill in progress</Text><Timer>0</Timer></CiscoIPPhoneStatus>",
    );
    assert_eq!(items(&o), vec![(String::new(), 0, "Success".into())]);
    assert_eq!(p.status_at(5_000).unwrap().text, "Fire drill in progress");
    push(
        &mut p,
        &mut hw,
        1,
        "<CiscoIPPhoneMenu><Title>Bells</Title><MenuItem><Name>08:00</Name><URL>http://x/1</URL></MenuItem></CiscoIPPhoneMenu>",
    );
    let view = p.screen_view(2);
    assert!(
        view.lines.contains(&"Bells".to_string()),
        "{:?}",
        view.lines
    );
    assert!(view.lines.iter().any(|l| l.contains("08:00")));
    assert!(view.lines.iter().any(|l| l.contains("Fire drill")));
    push(&mut p, &mut hw, 3, &execute(&["Init:AppStatus"]));
    assert!(p.status_at(4).is_none());
    assert!(
        p.state().object.is_some(),
        "AppStatus clears only the banner"
    );
    // A timed banner disappears by itself.
    push(
        &mut p,
        &mut hw,
        10_000,
        "<CiscoIPPhoneStatus><Text>Bell</Text><Timer>5</Timer></CiscoIPPhoneStatus>",
    );
    assert!(p.status_at(14_000).is_some());
    assert!(p.status_at(15_001).is_none());
}

#[test]
fn status_object_refused_where_the_model_lacks_it() {
    let mut p = phone("DP-9841");
    let mut hw = FakeHw::default();
    let o = push(
        &mut p,
        &mut hw,
        0,
        "<CiscoIPPhoneStatus><Text>x</Text></CiscoIPPhoneStatus>",
    );
    assert!(o.reply.body.contains("Number=\"1\""), "{}", o.reply.body);
    assert!(p.state().status.is_none());
}

#[test]
fn play_blocks_for_the_file_length() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(&mut p, &mut hw, 0, &execute(&["Play:chime.raw"]));
    assert_eq!(o.reply.delay_ms, 2010);
    let o = push(&mut p, &mut hw, 0, &execute(&["Play:missing.raw"]));
    assert_eq!(
        status_of(&o, "Play:missing.raw"),
        (6, "File Not Found".into())
    );
    assert_eq!(o.reply.delay_ms, 0);
}

#[test]
fn http_urls_follow_priority() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let xml = "<CiscoIPPhoneExecute><ExecuteItem Priority=\"1\" URL=\"http://127.0.0.1:9/t.xml\"/>\
               </CiscoIPPhoneExecute>";
    let o = push(&mut p, &mut hw, 0, xml);
    assert_eq!(
        o.effects,
        vec![Effect::Fetch {
            url: "http://127.0.0.1:9/t.xml".into()
        }]
    );
    // Busy: Priority 1 waits, Priority 2 is refused.
    push(&mut p, &mut hw, 1, &execute(&["RTPRx:127.0.0.1:20480"]));
    let o = push(
        &mut p,
        &mut hw,
        2,
        "<CiscoIPPhoneExecute><ExecuteItem Priority=\"1\" URL=\"http://h/w.xml\"/></CiscoIPPhoneExecute>",
    );
    assert!(o.effects.is_empty());
    assert_eq!(status_of(&o, "http://h/w.xml").0, 0);
    let o = push(
        &mut p,
        &mut hw,
        3,
        "<CiscoIPPhoneExecute><ExecuteItem Priority=\"2\" URL=\"http://h/i.xml\"/></CiscoIPPhoneExecute>",
    );
    assert_eq!(status_of(&o, "http://h/i.xml").0, 6);
    let o = push(&mut p, &mut hw, 4, &execute(&["RTPRx:Stop"]));
    assert_eq!(
        o.effects,
        vec![Effect::Fetch {
            url: "http://h/w.xml".into()
        }]
    );
    // Priority 0 while busy runs at once.
    push(&mut p, &mut hw, 5, &execute(&["RTPRx:127.0.0.1:20480"]));
    let o = push(
        &mut p,
        &mut hw,
        6,
        "<CiscoIPPhoneExecute><ExecuteItem Priority=\"0\" URL=\"http://h/n.xml\"/></CiscoIPPhoneExecute>",
    );
    assert_eq!(o.effects.len(), 1);
}

#[test]
fn fetched_objects_are_shown_and_bad_ones_show_an_error() {
    let mut p = phone("CP-8851");
    p.on_fetched(
        0,
        "http://h/t.xml",
        Ok(b"<CiscoIPPhoneText><Title>Hello</Title><Text>World</Text></CiscoIPPhoneText>".to_vec()),
    );
    assert_eq!(
        p.state().object.as_ref().unwrap().title.as_deref(),
        Some("Hello")
    );
    p.on_fetched(
        1,
        "http://h/t.xml",
        Ok(b"<CiscoIPPhoneText><Title>".to_vec()),
    );
    assert_eq!(
        p.state().prompt_error.as_deref(),
        Some("XML Error [4]: Parse Error")
    );
    p.on_fetched(2, "http://h/t.xml", Err("refused".into()));
    assert!(p.state().prompt_error.as_deref().unwrap().contains("HTTP"));
}

#[test]
fn start_media_picks_a_port_returns_an_id_and_stop_media_works_with_and_without_id() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw {
        busy_ports: vec![20480, 20482],
        ..FakeHw::default()
    };
    let start = "<startMedia><mediaStream onStopped=\"Notify:http:127.0.0.1:8080:cb/stopped\" receiveVolume=\"50\">\
        <type>audio</type><codec>G.711</codec><mode>sendReceive</mode><address>127.0.0.1</address></mediaStream></startMedia>";
    let o = push(&mut p, &mut hw, 0, start);
    let MediaReply::Started(started) = parse_media_reply(o.reply.body.as_bytes()).unwrap() else {
        panic!("{}", o.reply.body)
    };
    assert_eq!(hw.rx.unwrap().port, 20484, "first free even port");
    assert_eq!(hw.tx.unwrap().port, 20484);
    let o = push(
        &mut p,
        &mut hw,
        1,
        "<stopMedia><mediaStream id=\"nope\"/></stopMedia>",
    );
    assert_eq!(o.reply.status, 400);
    let MediaReply::Error(e) = parse_media_reply(o.reply.body.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(e.data, "Unknown Media Stream ID: nope");
    let o = push(
        &mut p,
        &mut hw,
        2,
        &format!(
            "<stopMedia><mediaStream id=\"{}\"/></stopMedia>",
            started.id
        ),
    );
    assert_eq!(o.reply.status, 200);
    assert!(hw.rx.is_none() && hw.tx.is_none());
    // Without an id: everything stops.
    push(&mut p, &mut hw, 3, start);
    assert!(hw.rx.is_some());
    let o = push(&mut p, &mut hw, 4, "<stopMedia><mediaStream/></stopMedia>");
    assert_eq!(o.reply.status, 200);
    assert!(hw.rx.is_none());
}

#[test]
fn user_hang_up_notifies_on_stopped_once() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let start = "<startMedia><mediaStream onStopped=\"Notify:http:127.0.0.1:8080:cb/stopped\">\
        <type>audio</type><codec>G.711</codec><mode>sendReceive</mode><address>127.0.0.1</address><port>20500</port></mediaStream></startMedia>";
    let o = push(&mut p, &mut hw, 0, start);
    let MediaReply::Started(started) = parse_media_reply(o.reply.body.as_bytes()).unwrap() else {
        panic!()
    };
    let effects = p.user_hang_up(5, &mut hw);
    assert_eq!(effects.len(), 1, "one callback for a sendReceive stream");
    let Effect::Notify {
        url,
        body,
        authorization,
    } = &effects[0]
    else {
        panic!()
    };
    assert_eq!(url, "http://127.0.0.1:8080/cb/stopped");
    assert!(authorization.is_none());
    let cb = crate::xsi::response::parse_callback(body.as_bytes()).unwrap();
    assert_eq!(
        cb,
        crate::xsi::response::Callback::MediaEvent {
            kind: crate::xsi::response::MediaEventType::Stopped,
            origin: Some("user".into()),
            stream_id: Some(started.id),
        }
    );
    assert!(hw.rx.is_none() && hw.tx.is_none());
    // A URI-started stream has no onStopped: hanging up sends nothing.
    push(&mut p, &mut hw, 6, &execute(&["RTPRx:127.0.0.1:20480"]));
    let o = push(&mut p, &mut hw, 7, &execute(&["Key:Release"]));
    assert!(o.effects.is_empty());
    assert!(hw.rx.is_none(), "on hook ended the stream");
}

#[test]
fn expect_continue_and_chunked_are_refused() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let a = auth();
    let body = crate::push::form_body(&execute(&["Key:VolUp"]));
    for (expect, chunked, status) in [(true, false, 417), (false, true, 404)] {
        let o = p.handle_push(
            0,
            &PushInput {
                authorization: Some(&a),
                expect_continue: expect,
                chunked,
                body: body.as_bytes(),
            },
            &mut hw,
        );
        assert_eq!(o.reply.status, status);
    }
    assert_eq!(p.state().volume, 50);
}

#[test]
fn prt_generation_on_8821() {
    let mut p = phone("CP-8821");
    let mut hw = FakeHw::default();
    let o = push(&mut p, &mut hw, 0, &execute(&["Device:PRTStatus"]));
    assert_eq!(
        status_of(&o, "Device:PRTStatus").1,
        "There is no pending PRT invoked from XSI"
    );
    let o = push(&mut p, &mut hw, 0, &execute(&["Device:GeneratePRT"]));
    assert_eq!(status_of(&o, "Device:GeneratePRT"), (0, "Success".into()));
    let o = push(&mut p, &mut hw, 10, &execute(&["Device:GeneratePRT"]));
    assert_eq!(
        status_of(&o, "Device:GeneratePRT"),
        (6, "There is pending PRT".into())
    );
    let o = push(&mut p, &mut hw, 100, &execute(&["Device:PRTStatus"]));
    assert_eq!(
        status_of(&o, "Device:PRTStatus"),
        (0, "Generating PRT".into())
    );
    let o = push(&mut p, &mut hw, 5_000, &execute(&["Device:PRTStatus"]));
    let (s, d) = status_of(&o, "Device:PRTStatus");
    assert_eq!(s, 0);
    assert!(
        d.starts_with("Generated PRT at https://127.0.1.1/FS/prt-"),
        "{d}"
    );
    assert!(d.ends_with(".tar.gz"));
}

#[test]
fn refuse_fault_refuses_every_item() {
    let mut p = phone("CP-8851");
    p.refuse = true;
    let mut hw = FakeHw::default();
    let o = push(&mut p, &mut hw, 0, &execute(&["RTPRx:127.0.0.1:20480"]));
    assert_eq!(status_of(&o, "RTPRx:127.0.0.1:20480").0, 6);
    assert!(hw.rx.is_none());
}

#[test]
fn display_off_until_a_key() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    push(&mut p, &mut hw, 0, &execute(&["Display:Off:1"]));
    assert!(p.screen_view(30_000).off);
    assert!(!p.screen_view(60_001).off);
    push(&mut p, &mut hw, 0, &execute(&["Display:Off:0"]));
    assert!(p.screen_view(10_000_000).off);
    push(&mut p, &mut hw, 1, &execute(&["Key:NavSelect"]));
    assert!(!p.screen_view(2).off);
}

#[test]
fn debug_output_never_shows_the_password() {
    let p = phone("CP-8851");
    assert!(!format!("{p:?}").contains("\"pw\""));
}

/// An object of application `app` whose four handlers go to `/ev/{event}` on 127.0.0.1:9.
fn app_text(app: &str, title: &str) -> Vec<u8> {
    format!(
        "<CiscoIPPhoneText appId=\"{app}\" onAppFocusLost=\"Notify:http:127.0.0.1:9:ev/lost\" \
         onAppFocusGained=\"Notify:http:127.0.0.1:9:ev/gained\" \
         onAppMinimized=\"Notify:http:127.0.0.1:9:ev/min\" \
         onAppClosed=\"Notify:http:127.0.0.1:9:ev/closed\">\
         <Title>{title}</Title><Text>t</Text></CiscoIPPhoneText>"
    )
    .into_bytes()
}

/// (URL, body) of every Notify effect.
fn notifies(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { url, body, .. } => Some((url.clone(), body.clone())),
            Effect::Fetch { .. } => None,
        })
        .collect()
}

fn app_event(app: &str, path: &str, kind: &str) -> (String, String) {
    (
        format!("http://127.0.0.1:9/ev/{path}"),
        format!("DATA=<notifyApplicationEvent appId=\"{app}\" type=\"{kind}\"/>"),
    )
}

#[test]
fn app_attributes_are_read_from_the_root_only() {
    let xml = String::from_utf8(app_text("pager", "A")).unwrap();
    let (id, handlers) = app_attributes(&xml);
    assert_eq!(id.as_deref(), Some("pager"));
    assert_eq!(handlers.len(), 4);
    assert_eq!(handlers[0].0, "onAppFocusLost");
    // Handlers without an appId name no application.
    let (id, handlers) = app_attributes(
        "<CiscoIPPhoneText onAppClosed=\"Notify:http:h:1:x\"><Text/></CiscoIPPhoneText>",
    );
    assert_eq!((id, handlers.len()), (None, 0));
    assert_eq!(
        app_attributes("<?xml version=\"1.0\"?><CiscoIPPhoneMenu appId=\"a&amp;b\"/>").0,
        Some("a&b".into())
    );
}

#[test]
fn focus_follows_the_objects_on_screen() {
    let mut p = phone("CP-8851");
    // First appearance: no event.
    assert!(
        p.on_fetched(0, "http://h/a", Ok(app_text("pager", "A")))
            .is_empty()
    );
    // The same application again (a Refresh, its next screen): still no event.
    assert!(
        p.on_fetched(1, "http://h/a2", Ok(app_text("pager", "A2")))
            .is_empty()
    );
    // Another service: focusLost, once.
    let other = b"<CiscoIPPhoneText><Text>B</Text></CiscoIPPhoneText>".to_vec();
    let e = p.on_fetched(2, "http://h/b", Ok(other.clone()));
    assert_eq!(notifies(&e), [app_event("pager", "lost", "focusLost")]);
    assert!(p.on_fetched(3, "http://h/b", Ok(other)).is_empty());
    assert_eq!(p.state().apps[0].status, AppStatus::Background);
    // Back to it: focusGained.
    let e = p.on_fetched(4, "http://h/a", Ok(app_text("pager", "A")));
    assert_eq!(notifies(&e), [app_event("pager", "gained", "focusGained")]);
    // The Applications key: minimized; the Applications screen shows.
    let e = p.user_minimize(5);
    assert_eq!(notifies(&e), [app_event("pager", "min", "minimized")]);
    assert_eq!(p.state().apps[0].status, AppStatus::Minimized);
    assert_eq!(p.state().object.as_ref().unwrap().kind, "Application");
    assert!(p.user_minimize(6).is_empty());
    // Opened again: focusGained; Exit: closed, forgotten.
    let e = p.on_fetched(7, "http://h/a", Ok(app_text("pager", "A")));
    assert_eq!(notifies(&e), [app_event("pager", "gained", "focusGained")]);
    let e = p.close_object();
    assert_eq!(notifies(&e), [app_event("pager", "closed", "closed")]);
    assert!(p.state().apps.is_empty() && p.state().object.is_none());
    assert!(p.close_object().is_empty());
    assert_eq!(p.state().counters.notifies, 5);
}

#[test]
fn app_uris_pushes_calls_and_init_services_send_app_events() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    // A pushed object names its application too.
    let xml = String::from_utf8(app_text("pager", "A")).unwrap();
    let o = push(&mut p, &mut hw, 0, &xml);
    assert!(o.effects.is_empty());
    assert_eq!(p.state().apps[0].app_id, "pager");
    // A second application pushed over it: pager loses the focus.
    let o = push(
        &mut p,
        &mut hw,
        1,
        &String::from_utf8(app_text("bells", "B")).unwrap(),
    );
    assert_eq!(
        notifies(&o.effects),
        [app_event("pager", "lost", "focusLost")]
    );
    // RequestFocus: pager's screen comes back, bells loses the focus.
    let o = push(
        &mut p,
        &mut hw,
        2,
        &execute(&["App:RequestFocus:0:60:pager"]),
    );
    assert_eq!(
        notifies(&o.effects),
        [
            app_event("bells", "lost", "focusLost"),
            app_event("pager", "gained", "focusGained")
        ]
    );
    assert_eq!(
        p.state().object.as_ref().unwrap().title.as_deref(),
        Some("A")
    );
    // App:Minimize of a background application.
    let o = push(&mut p, &mut hw, 3, &execute(&["App:Minimize:0:60:bells"]));
    assert_eq!(
        notifies(&o.effects),
        [app_event("bells", "min", "minimized")]
    );
    // A call takes the focus; its end gives it back.
    let o = push(&mut p, &mut hw, 4, &execute(&["Dial:5000"]));
    assert_eq!(
        notifies(&o.effects),
        [app_event("pager", "lost", "focusLost")]
    );
    let e = p.user_end_call();
    assert_eq!(notifies(&e), [app_event("pager", "gained", "focusGained")]);
    // App:Close with pager on screen: closed, the screen goes idle.
    let before = p.state().service_closed;
    let o = push(&mut p, &mut hw, 5, &execute(&["App:Close:0:60:pager"]));
    assert_eq!(
        notifies(&o.effects),
        [app_event("pager", "closed", "closed")]
    );
    assert!(p.state().object.is_none());
    assert_eq!(p.state().service_closed, before + 1);
    // Unknown now.
    let o = push(&mut p, &mut hw, 6, &execute(&["App:Close:0:60:pager"]));
    assert_eq!(items(&o)[0].1, 6);
    // Init:Services closes every application left.
    let o = push(&mut p, &mut hw, 7, &execute(&["Init:Services"]));
    assert_eq!(
        notifies(&o.effects),
        [app_event("bells", "closed", "closed")]
    );
    assert!(p.state().apps.is_empty());
    // A handler that is not a Notify URI sends nothing.
    p.on_fetched(
        8,
        "http://h/x",
        Ok(b"<CiscoIPPhoneText appId=\"x\" onAppClosed=\"http://h/closed\"/>".to_vec()),
    );
    assert!(p.close_object().is_empty());
}

#[test]
fn model_exclusive_keys_are_not_found_on_the_wrong_model() {
    // A key the model lacks parses (it is a key of the spec), so the phone answers as for a
    // URI it has no handler for: Status 6 "URI not found", not 1 "Invalid URI".
    let mut hw = FakeHw::default();
    for (uri, yes, no) in [
        ("Key:Vibrate", "CP-8821", "CP-8851"),
        ("Key:PTT", "CP-8821", "CP-8845"),
        ("Key:Onhook", "CP-8821", "CP-7841"),
        ("Key:Key_1", "CP-8875", "CP-8845"),
        ("Key:Key_Period", "CP-8875", "CP-8821"),
        ("Key:FixedFeature1", "DP-9841", "CP-8851"),
        ("Key:Soft5", "CP-8875", "CP-7841"),
        ("Key:Soft3", "CP-8851", "CP-8821"),
    ] {
        let mut p = phone(no);
        let o = push(&mut p, &mut hw, 0, &execute(&[uri]));
        assert_eq!(
            status_of(&o, uri),
            (6, "URI not found".into()),
            "{uri} on {no}"
        );
        let mut p = phone(yes);
        let o = push(&mut p, &mut hw, 0, &execute(&[uri]));
        assert_eq!(status_of(&o, uri), (0, "Success".into()), "{uri} on {yes}");
    }
}

#[test]
fn an_audio_path_without_a_volume_is_a_valid_rtp_uri() {
    // `RTPRx:i:p::s`: the spec's optional volume left empty before the audio path, on any
    // model with RTP URIs (the spec limits `s` to none).
    for model in ["CP-8845", "CP-7841", "CP-8821"] {
        let mut p = phone(model);
        let mut hw = FakeHw::default();
        let uri = "RTPRx:10.0.0.5:20480::1";
        let o = push(&mut p, &mut hw, 0, &execute(&[uri]));
        assert_eq!(status_of(&o, uri).0, 0, "{model}");
        assert_eq!(hw.opened, ["rx 10.0.0.5:20480"], "{model}");
    }
}

/// Push a raw body (already form-encoded, or raw XML) as it arrives.
fn push_body(p: &mut PhoneCore, hw: &mut FakeHw, now: u64, body: &[u8]) -> Outcome {
    let a = auth();
    p.handle_push(
        now,
        &PushInput {
            authorization: Some(&a),
            expect_continue: false,
            chunked: false,
            body,
        },
        hw,
    )
}

fn is_error_1(o: &Outcome) -> bool {
    o.reply.body.trim() == "<CiscoIPPhoneError Number=\"1\"/>"
}

#[test]
fn the_40_kb_limit_is_on_the_form_encoded_body_at_the_boundary() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    // Trailing spaces after the root are allowed and encode as one byte ('+') each.
    let text = "<CiscoIPPhoneText><Text>x</Text></CiscoIPPhoneText>";
    let body = |len: usize| {
        let base = crate::push::form_body(text).len();
        crate::push::form_body(&format!("{text}{}", " ".repeat(len - base)))
    };
    let at_limit = body(40960);
    assert_eq!(at_limit.len(), 40960);
    let o = push_body(&mut p, &mut hw, 0, at_limit.as_bytes());
    assert_eq!(items(&o), vec![(String::new(), 0, "Success".into())]);
    let over = body(40961);
    let o = push_body(&mut p, &mut hw, 1, over.as_bytes());
    assert!(is_error_1(&o), "{}", o.reply.body);
    assert_eq!(p.state().prompt_error.as_deref(), Some("Data too large!"));
    // A Menu of about 37 KB of XML is over 40 KB once percent-encoded: refused.
    let item = "<MenuItem><Name>Zone</Name><URL>http://srv/z?a=1&amp;b=2</URL></MenuItem>";
    let menu = format!("<CiscoIPPhoneMenu>{}</CiscoIPPhoneMenu>", item.repeat(100));
    let menu = format!("{menu}{}", " ".repeat(37_000 - menu.len()));
    assert!(menu.len() < 40960, "{}", menu.len());
    assert!(crate::push::form_body(&menu).len() > 40960);
    let o = push(&mut p, &mut hw, 2, &menu);
    assert!(is_error_1(&o), "{}", o.reply.body);
    // The same XML sent raw (not form-encoded) is under the limit and shown.
    let o = push_body(&mut p, &mut hw, 3, format!("XML={menu}").as_bytes());
    assert_eq!(items(&o)[0].1, 0, "{}", o.reply.body);
}

#[test]
fn objects_over_their_item_and_length_limits_are_error_1() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let url = |n: usize| format!("http://127.0.0.1/{}", "u".repeat(n - 17));
    let o = push(&mut p, &mut hw, 0, &execute(&[&url(256)]));
    assert_eq!(status_of(&o, &url(256)).0, 0);
    let o = push(&mut p, &mut hw, 1, &execute(&[&url(257)]));
    assert!(is_error_1(&o), "{}", o.reply.body);
    assert_eq!(
        p.state().prompt_error.as_deref(),
        Some("XML Error [4]: Parse Error")
    );
    let item = "<MenuItem><Name>a</Name><URL>Key:Services</URL></MenuItem>";
    let menu = |n: usize| format!("<CiscoIPPhoneMenu>{}</CiscoIPPhoneMenu>", item.repeat(n));
    assert_eq!(items(&push(&mut p, &mut hw, 2, &menu(100)))[0].1, 0);
    assert!(is_error_1(&push(&mut p, &mut hw, 3, &menu(101))));
    // A Status over 32 characters is refused, not cut.
    let status = |n: usize| {
        format!(
            "<CiscoIPPhoneStatus><Text>{}</Text></CiscoIPPhoneStatus>",
            "s".repeat(n)
        )
    };
    assert!(is_error_1(&push(&mut p, &mut hw, 4, &status(33))));
    assert!(p.state().status.is_none());
    push(&mut p, &mut hw, 5, &status(32));
    assert_eq!(p.state().status.as_ref().unwrap().text.len(), 32);
    // Fetched: the same refusal, as the phone's error line.
    p.on_fetched(6, "http://h/m", Ok(menu(101).into_bytes()));
    assert_eq!(
        p.state().prompt_error.as_deref(),
        Some("XML Error [4]: Parse Error")
    );
}

#[test]
fn query_string_param_inside_execute_is_not_found() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(
        &mut p,
        &mut hw,
        0,
        &execute(&["http://127.0.0.1/a.xml", "QueryStringParam:x=1"]),
    );
    assert_eq!(
        status_of(&o, "QueryStringParam:x=1"),
        (6, "URI not found".into())
    );
    assert_eq!(
        o.effects,
        [Effect::Fetch {
            url: "http://127.0.0.1/a.xml".into()
        }],
        "nothing appended to the URL"
    );
}

#[test]
fn a_status_cannot_be_fetched() {
    let mut p = phone("CP-8851");
    for root in ["CiscoIPPhoneStatus", "CiscoIPPhoneStatusFile"] {
        let xml = format!("<{root}><Text>Bell</Text><Timer>0</Timer></{root}>");
        p.on_fetched(0, "http://h/s", Ok(xml.into_bytes()));
        assert!(p.state().status.is_none(), "{root}");
        assert_eq!(
            p.state().prompt_error.as_deref(),
            Some("XML Error [5]: Unsupported XML Object")
        );
    }
}

#[test]
fn an_input_that_posts_only_where_the_model_can() {
    let input = "<CiscoIPPhoneInput><URL method=\"POST\">http://h/in</URL><InputItem>\
                 <DisplayName>N</DisplayName><QueryStringParam>n</QueryStringParam>\
                 <InputFlags>A</InputFlags></InputItem></CiscoIPPhoneInput>";
    let mut hw = FakeHw::default();
    let mut p = phone("CP-8851");
    assert_eq!(items(&push(&mut p, &mut hw, 0, input))[0].1, 0);
    let mut p = phone("CP-7965G");
    assert!(is_error_1(&push(&mut p, &mut hw, 0, input)));
    assert_eq!(
        p.state().prompt_error.as_deref(),
        Some("XML Error [5]: Unsupported XML Object")
    );
    assert!(p.state().object.is_none());
    p.on_fetched(1, "http://h/in", Ok(input.as_bytes().to_vec()));
    assert!(p.state().object.is_none());
    // By GET it is fine.
    let get = input.replace(" method=\"POST\"", "");
    assert_eq!(items(&push(&mut p, &mut hw, 2, &get))[0].1, 0);
}

#[test]
fn app_uris_tell_unknown_from_inactive_applications() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let o = push(&mut p, &mut hw, 0, &execute(&["App:Close:0:60:never"]));
    assert_eq!(
        status_of(&o, "App:Close:0:60:never"),
        (6, "Unknown Application ID".into())
    );
    push(
        &mut p,
        &mut hw,
        1,
        &String::from_utf8(app_text("pager", "A")).unwrap(),
    );
    push(&mut p, &mut hw, 2, &execute(&["App:Close:0:60:pager"]));
    let o = push(&mut p, &mut hw, 3, &execute(&["App:Minimize:0:60:pager"]));
    assert_eq!(
        status_of(&o, "App:Minimize:0:60:pager"),
        (6, "Application is not Active".into())
    );
}

#[test]
fn send_digits_naming_an_application_needs_its_call() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    push(&mut p, &mut hw, 0, &execute(&["Dial:5000:0:Acme/Pager:1"]));
    let (mine, other, none) = (
        "SendDigits:12:1::Acme/Pager",
        "SendDigits:12:1::Acme/Other",
        "SendDigits:12:1::",
    );
    let o = push(&mut p, &mut hw, 1, &execute(&[mine, other, none]));
    assert_eq!(status_of(&o, mine), (0, "Success".into()));
    assert_eq!(
        status_of(&o, other),
        (6, "No Active Call for Application".into())
    );
    assert_eq!(status_of(&o, none).0, 0);
    // A call no application placed is nobody's.
    push(&mut p, &mut hw, 2, &execute(&["Key:Release"]));
    push(&mut p, &mut hw, 3, &execute(&["Dial:5000"]));
    let o = push(&mut p, &mut hw, 4, &execute(&[mine]));
    assert_eq!(status_of(&o, mine).1, "No Active Call for Application");
}

#[test]
fn start_media_refuses_a_bad_on_stopped_url_and_video() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let start = |on_stopped: &str, kind: &str| {
        format!(
            "<startMedia><mediaStream onStopped=\"{on_stopped}\"><type>{kind}</type>\
             <codec>G.711</codec><mode>receive</mode><address>127.0.0.1</address>\
             <port>20480</port></mediaStream></startMedia>"
        )
    };
    let error = |o: &Outcome| match parse_media_reply(o.reply.body.as_bytes()).unwrap() {
        MediaReply::Error(e) => (o.reply.status, e.kind),
        other => panic!("{other:?}"),
    };
    let o = push(&mut p, &mut hw, 0, &start("http://h/stopped", "audio"));
    assert_eq!(
        error(&o),
        (400, crate::xsi::response::MediaErrorType::InvalidUrl)
    );
    let o = push(&mut p, &mut hw, 1, &start("Notify:http:h:80:cb", "video"));
    assert_eq!(
        error(&o),
        (400, crate::xsi::response::MediaErrorType::InvalidResource)
    );
    assert!(hw.rx.is_none());
    let o = push(&mut p, &mut hw, 2, &start("Notify:http:h:80:cb", "audio"));
    assert_eq!(o.reply.status, 200, "{}", o.reply.body);
}

#[test]
fn notify_data_is_sent_as_data_instead_of_the_event() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let start = "<startMedia><mediaStream onStopped=\"Notify:http:127.0.0.1:8080:cb/stopped::myStreamStoppedData\">\
        <type>audio</type><codec>G.711</codec><mode>receive</mode><address>127.0.0.1</address>\
        <port>20480</port></mediaStream></startMedia>";
    push(&mut p, &mut hw, 0, start);
    let e = p.user_hang_up(1, &mut hw);
    assert_eq!(
        notifies(&e),
        [(
            "http://127.0.0.1:8080/cb/stopped".into(),
            "DATA=myStreamStoppedData".into()
        )]
    );
    // Application events too; without data, the event itself.
    let with_data = "<CiscoIPPhoneText appId=\"a\" onAppFocusLost=\"Notify:http:127.0.0.1:9:ev/lost::lost-a\">\
                     <Text>t</Text></CiscoIPPhoneText>";
    p.on_fetched(2, "http://h/a", Ok(with_data.as_bytes().to_vec()));
    let e = p.on_fetched(3, "http://h/b", Ok(app_text("b", "B")));
    assert_eq!(
        notifies(&e),
        [("http://127.0.0.1:9/ev/lost".into(), "DATA=lost-a".into())]
    );
    let e = p.on_fetched(4, "http://h/c", Ok(b"<CiscoIPPhoneText/>".to_vec()));
    assert_eq!(notifies(&e), [app_event("b", "lost", "focusLost")]);
}

#[test]
fn display_on_honours_its_minutes() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    push(&mut p, &mut hw, 0, &execute(&["Display:Off:0"]));
    push(&mut p, &mut hw, 0, &execute(&["Display:On:10"]));
    assert!(!p.screen_view(5 * 60_000).off, "on for 10 minutes");
    assert!(p.screen_view(10 * 60_000 + 1).off, "then off again");
    // Inside a one-hour off period, on for one minute.
    push(&mut p, &mut hw, 0, &execute(&["Display:Off:60"]));
    push(&mut p, &mut hw, 0, &execute(&["Display:On:1"]));
    assert!(!p.screen_view(30_000).off);
    assert!(p.screen_view(120_000).off);
    assert!(!p.screen_view(3_600_001).off);
    // Display:On:0 and Display:Default end the off period.
    push(
        &mut p,
        &mut hw,
        0,
        &execute(&["Display:Off:0", "Display:On:0"]),
    );
    assert!(!p.screen_view(10_000_000).off);
    push(
        &mut p,
        &mut hw,
        0,
        &execute(&["Display:Off:0", "Display:Default"]),
    );
    assert!(!p.screen_view(10_000_000).off);
}

#[test]
fn init_messages_and_directories_close_only_their_own_application() {
    let mut p = phone("CP-8851");
    let mut hw = FakeHw::default();
    let title = |p: &PhoneCore| p.state().object.as_ref().and_then(|o| o.title.clone());
    push(&mut p, &mut hw, 0, &execute(&["Key:Messages"]));
    assert_eq!(title(&p).as_deref(), Some("Messages"));
    push(&mut p, &mut hw, 1, &execute(&["Init:Directories"]));
    assert_eq!(
        title(&p).as_deref(),
        Some("Messages"),
        "not its application"
    );
    push(&mut p, &mut hw, 2, &execute(&["Init:Messages"]));
    assert!(p.state().object.is_none());
    push(&mut p, &mut hw, 3, &execute(&["Key:Directories"]));
    push(&mut p, &mut hw, 4, &execute(&["Init:Messages"]));
    assert_eq!(title(&p).as_deref(), Some("Directories"));
    push(&mut p, &mut hw, 5, &execute(&["Init:Directories"]));
    assert!(p.state().object.is_none());
    // A pushed object is neither.
    push(
        &mut p,
        &mut hw,
        6,
        "<CiscoIPPhoneText><Title>Drill</Title><Text>t</Text></CiscoIPPhoneText>",
    );
    push(
        &mut p,
        &mut hw,
        7,
        &execute(&["Init:Messages", "Init:Directories"]),
    );
    assert_eq!(title(&p).as_deref(), Some("Drill"));
}

#[test]
fn start_media_g722_is_taken_by_wideband_models_and_refused_by_the_others() {
    use crate::xsi::object::{Codec, MediaMode, MediaType, StartMedia, XmlObject};
    let start = StartMedia::new(
        MediaType::Audio,
        Codec::G722,
        MediaMode::Receive,
        Ipv4Addr::LOCALHOST,
    )
    .port_number(20480)
    .unwrap()
    .to_xml();
    assert!(start.contains("<codec>G.722</codec>"), "{start}");
    let mut hw = FakeHw::default();
    let o = push(&mut phone("CP-8851"), &mut hw, 0, &start);
    assert!(
        matches!(
            parse_media_reply(o.reply.body.as_bytes()),
            Ok(MediaReply::Started(_))
        ),
        "{}",
        o.reply.body
    );
    assert_eq!(hw.rx.unwrap().port, 20480);
    for model in ["CP-7965G", "CP-6941"] {
        let mut hw = FakeHw::default();
        let o = push(&mut phone(model), &mut hw, 0, &start);
        assert_eq!(o.reply.status, 400, "{model}");
        let Ok(MediaReply::Error(e)) = parse_media_reply(o.reply.body.as_bytes()) else {
            panic!("{model}: {}", o.reply.body)
        };
        assert_eq!(
            e.kind,
            crate::xsi::response::MediaErrorType::UnavailableResource,
            "{model}"
        );
        assert!(e.data.contains("G.722"), "{model}: {}", e.data);
        assert!(hw.rx.is_none(), "{model}: nothing opened");
    }
}
