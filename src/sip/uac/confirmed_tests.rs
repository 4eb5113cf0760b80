//! The answered call's core driven with virtual time: the endpoint's BYE, re-INVITEs (hold,
//! a moved stream, a codec change), UPDATE, OPTIONS, and session timers both ways.

use std::time::{Duration, Instant};

use super::*;
use crate::sip::uac::{new_dialog, parse_inbound_uac};

const OFFER: &str = "127.0.0.1:40000";

fn answered(t0: Instant, expires: Option<SessionExpires>) -> Confirmed {
    let mut d = new_dialog(
        "sip:horn@127.0.0.1:5090",
        "127.0.0.1:5090".parse().unwrap(),
        "127.0.0.1:40000".parse().unwrap(),
    );
    d.remote_tag = Some("horn1".into());
    d.remote_target = Some("sip:horn@127.0.0.1:5090".into());
    let media = "127.0.0.1:7078".parse().unwrap();
    Confirmed::new(
        t0,
        Invite::new(d),
        (OFFER.parse().unwrap(), media, Law::Ulaw),
        expires,
    )
}

fn sdp(ip: &str, port: u16, pts: &str, direction: &str) -> String {
    let maps: String = pts
        .split(' ')
        .map(|pt| match pt {
            "0" => "a=rtpmap:0 PCMU/8000\r\n",
            "8" => "a=rtpmap:8 PCMA/8000\r\n",
            _ => "a=rtpmap:9 G722/8000\r\n",
        })
        .collect();
    format!(
        "v=0\r\no=horn 1 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {pts}\r\n{maps}{direction}"
    )
}

/// The endpoint's request `method` with CSeq `cseq`, `extra` headers and a body.
fn request(c: &Confirmed, method: &str, cseq: u32, extra: &str, body: &str) -> Inbound {
    let d = c.dialog();
    let text = format!(
        "{method} sip:zonecast@127.0.0.1:40000 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK{method}{cseq}\r\n\
         From: <{}>;tag=horn1\r\nTo: <{}>;tag={}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n\
         {extra}{}Content-Length: {}\r\n\r\n{body}",
        d.remote_uri,
        d.local_uri,
        d.local_tag,
        d.call_id,
        if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        },
        body.len()
    );
    parse_inbound_uac(text.as_bytes()).unwrap()
}

/// A response to our request of CSeq `cseq` `method`, on `branch`.
fn response(c: &Confirmed, status: u16, cseq: u32, branch: &str, extra: &str) -> Inbound {
    let d = c.dialog();
    let text = format!(
        "SIP/2.0 {status} X\r\nVia: SIP/2.0/UDP {};branch={branch};rport\r\n\
         From: <{}>;tag={}\r\nTo: <{}>;tag=horn1\r\nCall-ID: {}\r\nCSeq: {cseq} INVITE\r\n\
         {extra}Content-Length: 0\r\n\r\n",
        d.via, d.local_uri, d.local_tag, d.remote_uri, d.call_id
    );
    parse_inbound_uac(text.as_bytes()).unwrap()
}

fn reply_of(deeds: &[DialogDeed]) -> &str {
    match deeds.first() {
        Some(DialogDeed::Reply(t)) => t,
        other => panic!("no reply first: {other:?}"),
    }
}

#[test]
fn the_endpoints_bye_is_answered_and_ends_the_call() {
    let t0 = Instant::now();
    let mut c = answered(t0, None);
    let bye = request(&c, "BYE", 3, "", "");
    let deeds = c.handle_inbound(t0, bye);
    assert!(reply_of(&deeds).starts_with("SIP/2.0 200 OK\r\n"));
    assert_eq!(
        deeds[1],
        DialogDeed::Event(CallEvent::Ended {
            why: "hung up".into()
        })
    );
    assert!(c.is_over());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_sendonly_reinvite_is_answered_recvonly_and_holds_the_stream() {
    let t0 = Instant::now();
    let mut c = answered(t0, None);
    let hold = sdp("127.0.0.1", 7078, "0 8", "a=sendonly\r\n");
    let deeds = c.handle_inbound(t0, request(&c, "INVITE", 2, "", &hold));
    let ok = reply_of(&deeds);
    assert!(ok.starts_with("SIP/2.0 200 OK\r\n"), "{ok}");
    assert!(ok.contains("CSeq: 2 INVITE") && ok.contains("Contact: <sip:zonecast@"));
    assert!(ok.contains("m=audio 40000 RTP/AVP 0\r\n") && ok.contains("a=recvonly"));
    assert_eq!(
        deeds[1],
        DialogDeed::Event(CallEvent::Media {
            media: None,
            law: Law::Ulaw
        })
    );
    assert!(!c.is_over(), "held, not ended");
    // Our 200 is sent again until its ACK; a retransmitted re-INVITE gets the same 200.
    let at = c.poll_timeout().unwrap();
    assert_eq!(at, t0 + Duration::from_millis(500));
    assert_eq!(c.handle_timeout(at), [DialogDeed::Reply(ok.to_owned())]);
    let again = c.handle_inbound(at, request(&c, "INVITE", 2, "", &hold));
    assert_eq!(again, [DialogDeed::Reply(ok.to_owned())]);
    assert!(
        c.handle_inbound(at, request(&c, "ACK", 2, "", ""))
            .is_empty()
    );
    assert_eq!(c.poll_timeout(), None, "ACKed: nothing more to send");
    // Taken off hold at a new address: the stream goes there.
    let back = sdp("127.0.0.7", 7080, "0", "a=sendrecv\r\n");
    let deeds = c.handle_inbound(at, request(&c, "INVITE", 3, "", &back));
    assert!(reply_of(&deeds).contains("a=sendonly"));
    assert_eq!(
        deeds[1],
        DialogDeed::Event(CallEvent::Media {
            media: Some("127.0.0.7:7080".parse().unwrap()),
            law: Law::Ulaw
        })
    );
}

#[test]
fn inactive_is_answered_inactive_and_a_codec_change_follows_the_offer() {
    let t0 = Instant::now();
    let mut c = answered(t0, None);
    let off = sdp("127.0.0.1", 7078, "0", "a=inactive\r\n");
    let deeds = c.handle_inbound(t0, request(&c, "UPDATE", 2, "", &off));
    assert!(reply_of(&deeds).contains("a=inactive"));
    assert_eq!(c.poll_timeout(), None, "an UPDATE's 200 is not resent");
    // PCMA only: the stream follows, in A-law.
    let alaw = sdp("127.0.0.1", 7078, "8", "");
    let deeds = c.handle_inbound(t0, request(&c, "INVITE", 3, "", &alaw));
    assert!(reply_of(&deeds).contains("m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000"));
    assert_eq!(
        deeds[1],
        DialogDeed::Event(CallEvent::Media {
            media: Some("127.0.0.1:7078".parse().unwrap()),
            law: Law::Alaw
        })
    );
    // Neither law: 488, and nothing changes.
    let wide = sdp("127.0.0.1", 7078, "9", "");
    let deeds = c.handle_inbound(t0, request(&c, "INVITE", 4, "", &wide));
    assert!(reply_of(&deeds).starts_with("SIP/2.0 488"));
    assert_eq!(deeds.len(), 1);
}

#[test]
fn options_are_answered_and_unknown_methods_or_dialogs_refused() {
    let t0 = Instant::now();
    let mut c = answered(t0, None);
    let deeds = c.handle_inbound(t0, request(&c, "OPTIONS", 2, "", ""));
    assert!(reply_of(&deeds).starts_with("SIP/2.0 200"));
    let deeds = c.handle_inbound(t0, request(&c, "INFO", 3, "", ""));
    assert!(reply_of(&deeds).starts_with("SIP/2.0 501"));
    let Inbound::Request {
        method,
        echo,
        cseq,
        sdp,
        session_expires,
        ..
    } = request(&c, "BYE", 4, "", "")
    else {
        panic!()
    };
    let other = Inbound::Request {
        method,
        call_id: "another".into(),
        echo,
        cseq,
        sdp,
        session_expires,
    };
    assert!(reply_of(&c.handle_inbound(t0, other)).starts_with("SIP/2.0 481"));
    assert!(!c.is_over());
}

/// The refresh re-INVITE in `deeds` (journaled first): its CSeq and branch.
fn refresh_of(deeds: &[DialogDeed]) -> (u32, String, String) {
    let [DialogDeed::Journal(d), DialogDeed::Send(text)] = deeds else {
        panic!("no refresh: {deeds:?}")
    };
    assert!(
        text.starts_with("INVITE sip:horn@127.0.0.1:5090 SIP/2.0\r\n"),
        "{text}"
    );
    assert!(text.contains(&format!("CSeq: {} INVITE", d.cseq)));
    assert!(text.contains("Session-Expires: 90;refresher=uac") && text.contains("a=sendonly"));
    (d.cseq, d.branch.clone(), text.clone())
}

#[test]
fn we_refresh_at_half_the_interval_and_the_bye_follows_the_new_cseq() {
    let t0 = Instant::now();
    let se = SessionExpires {
        secs: 90,
        by_uac: Some(true),
    };
    let mut c = answered(t0, Some(se));
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(45)));
    assert!(c.handle_timeout(t0 + Duration::from_secs(44)).is_empty());
    let t1 = t0 + Duration::from_secs(45);
    let (cseq, branch, text) = refresh_of(&c.handle_timeout(t1));
    assert_eq!(cseq, 2);
    // Retransmitted until an answer.
    let at = c.poll_timeout().unwrap();
    assert_eq!(at, t1 + Duration::from_millis(500));
    assert_eq!(c.handle_timeout(at), [DialogDeed::Send(text)]);
    let ok = response(
        &c,
        200,
        cseq,
        &branch,
        "Session-Expires: 90;refresher=uac\r\n",
    );
    let deeds = c.handle_inbound(at, ok.clone());
    let [DialogDeed::Send(ack)] = deeds.as_slice() else {
        panic!("{deeds:?}")
    };
    assert!(ack.starts_with("ACK sip:horn@127.0.0.1:5090") && ack.contains("CSeq: 2 ACK"));
    assert_eq!(c.handle_inbound(at, ok), [DialogDeed::Send(ack.clone())]);
    // The next refresh is due half an interval after this one.
    assert_eq!(c.poll_timeout(), Some(at + Duration::from_secs(45)));
    let b = crate::sip::uac::bye(c.dialog(), "z9hG4bKb", &c.dialog().via);
    assert!(b.contains("CSeq: 3 BYE"), "{b}");
}

#[test]
fn a_refresh_answered_408_or_481_or_not_at_all_ends_the_call() {
    let se = Some(SessionExpires {
        secs: 90,
        by_uac: None,
    });
    for (status, bye) in [(408, true), (481, false)] {
        let t0 = Instant::now();
        let mut c = answered(t0, se);
        let t1 = t0 + Duration::from_secs(45);
        let (cseq, branch, _) = refresh_of(&c.handle_timeout(t1));
        let deeds = c.handle_inbound(t1, response(&c, status, cseq, &branch, ""));
        let [DialogDeed::Send(ack), DialogDeed::HangUp { bye: b, why }] = deeds.as_slice() else {
            panic!("{deeds:?}")
        };
        assert!(
            ack.contains(&branch),
            "a failure's ACK is in the INVITE's transaction"
        );
        assert_eq!(*b, bye);
        assert!(why.contains(&status.to_string()), "{why}");
        assert!(c.is_over());
    }
    let t0 = Instant::now();
    let mut c = answered(t0, se);
    let t1 = t0 + Duration::from_secs(45);
    refresh_of(&c.handle_timeout(t1));
    let mut now = t1;
    let mut last = Vec::new();
    while let Some(at) = c.poll_timeout() {
        now = at;
        last = c.handle_timeout(at);
    }
    assert_eq!(now, t1 + Duration::from_secs(32));
    assert_eq!(
        last,
        [DialogDeed::HangUp {
            bye: true,
            why: "session refresh failed: no answer".into()
        }]
    );
}

#[test]
fn a_refresh_refused_otherwise_is_retried_until_the_session_expires() {
    let t0 = Instant::now();
    let se = SessionExpires {
        secs: 90,
        by_uac: Some(true),
    };
    let mut c = answered(t0, Some(se));
    let t1 = t0 + Duration::from_secs(45);
    let (cseq, branch, _) = refresh_of(&c.handle_timeout(t1));
    let deeds = c.handle_inbound(t1, response(&c, 500, cseq, &branch, ""));
    assert!(matches!(deeds.as_slice(), [DialogDeed::Send(_)]));
    assert!(!c.is_over());
    let retry = c.poll_timeout().unwrap();
    assert_eq!(retry, t1 + Duration::from_secs(11));
    let (cseq2, _, _) = refresh_of(&c.handle_timeout(retry));
    assert_eq!(cseq2, cseq + 1);
}

#[test]
fn when_the_endpoint_refreshes_we_watch_and_end_a_session_it_let_expire() {
    let t0 = Instant::now();
    let se = SessionExpires {
        secs: 90,
        by_uac: Some(false),
    };
    let mut c = answered(t0, Some(se));
    // 90 s less a third (30 s).
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    // Its refresh (a re-INVITE saying it refreshes) starts the session again.
    let t1 = t0 + Duration::from_secs(40);
    let offer = sdp("127.0.0.1", 7078, "0", "");
    let r = request(
        &c,
        "INVITE",
        2,
        "Session-Expires: 90;refresher=uac\r\n",
        &offer,
    );
    let deeds = c.handle_inbound(t1, r);
    let ok = reply_of(&deeds);
    assert!(ok.contains("Session-Expires: 90;refresher=uac") && ok.contains("Require: timer"));
    assert_eq!(deeds.len(), 1, "nothing moved");
    c.handle_inbound(t1, request(&c, "ACK", 2, "", ""));
    assert_eq!(c.poll_timeout(), Some(t1 + Duration::from_secs(60)));
    let deeds = c.handle_timeout(t1 + Duration::from_secs(60));
    assert_eq!(
        deeds,
        [DialogDeed::HangUp {
            bye: true,
            why: "session expired: the endpoint did not refresh it".into()
        }]
    );
    // An UPDATE saying `refresher=uas` hands the refreshing to us.
    let mut c = answered(t0, Some(se));
    let r = request(
        &c,
        "UPDATE",
        2,
        "Session-Expires: 120;refresher=uas\r\n",
        "",
    );
    let deeds = c.handle_inbound(t1, r);
    assert!(reply_of(&deeds).contains("Session-Expires: 120;refresher=uas"));
    assert_eq!(c.poll_timeout(), Some(t1 + Duration::from_secs(60)));
}

#[test]
fn a_retransmitted_200_of_the_calls_invite_is_acked_again() {
    let t0 = Instant::now();
    let mut c = answered(t0, None);
    let d = c.dialog().clone();
    let deeds = c.handle_inbound(t0, response(&c, 200, d.cseq, &d.branch, ""));
    let [DialogDeed::Send(ack)] = deeds.as_slice() else {
        panic!("{deeds:?}")
    };
    assert!(ack.starts_with("ACK ") && ack.contains("CSeq: 1 ACK"));
}
