//! What a SIP caller sends us (issue 22): whole SIP messages through rsipstack's parser and the
//! SDP they carry ([`zonecast::sip::parse_inbound`]), bare SDP offers through the offer/answer
//! ([`parse_offer`], [`choose`], [`answer_sdp`]: an answer to any offer must parse back with the
//! codec chosen), and RTP datagrams through the caller's decoder ([`CallerAudio`]: frames only
//! of whole 160 bytes, counters that add up), and RTP datagrams as a caller's keys (RFC 4733
//! telephone-events: [`TelephoneEvent::parse`] and [`Keys`], one key per timestamp), and SIP
//! INFO bodies as keys ([`info_key`]: at most one keypad key), and what a SIP endpoint we call
//! answers (`parse_inbound_uac`: responses and in-dialog requests, through rsipstack's parser,
//! an INVITE's transitions on them, digest challenges read by [`Challenge::parse`], and an
//! answered call's dialog taking each of them: [`Confirmed`], its re-INVITEs, UPDATEs, BYE and
//! session timer, with `Session-Expires` values read by [`SessionExpires::parse`]), and what a
//! caller from outside `[sip] allow` answers our digest challenge with (the `Authorization`
//! value: [`DigestAnswer::parse`] and the verdict of [`judge_authorization`]: never let in
//! without the password). Byte 0 picks the entry; the rest is the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonecast::audio::LoudnessTarget;
use zonecast::sip::{
    CallCodec, CallerAudio, Challenge, Confirmed, DigestAnswer, Inbound, Invite, Keys, Knock,
    MAX_AUTHORIZATION_BYTES, Negotiated, SessionExpires, TelephoneEvent, answer_sdp, choose,
    info_key, judge_authorization, parse_inbound, parse_inbound_uac, parse_offer,
};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 7 {
        6 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Some(a) = DigestAnswer::parse(text) {
                assert!(text.len() <= MAX_AUTHORIZATION_BYTES);
                assert!(a.qop.as_ref().is_none_or(|(nc, _)| nc.len() == 8));
            }
            // `NONCE` becomes one the judge issued; the password's hash cannot be guessed, so
            // nothing gets in.
            assert!(!matches!(judge_authorization(text), Knock::Admitted(_)));
        }
        0 => {
            let _ = parse_inbound(rest);
        }
        5 => {
            if let Ok(Inbound::SipReply(r)) = parse_inbound_uac(rest) {
                // Whatever it says, an INVITE taking it never panics, and a dialog it
                // confirms has the tag it carried.
                let mut inv = Invite::new(zonecast::page::SipDialog {
                    call_id: r.call_id.clone(),
                    branch: r.branch.clone(),
                    cseq: r.cseq.0,
                    ..Default::default()
                });
                let _ = inv.on_reply(&r, pick & 64 != 0);
                if (200..300).contains(&r.status) && r.cseq.1 == "INVITE" {
                    assert_eq!(inv.dialog.remote_tag, r.to_tag);
                }
            }
            // An answered call takes each message split out of the input, in order, with the
            // time moving on: it never panics, and once over it does nothing more.
            let now = std::time::Instant::now();
            let media = "127.0.0.1:6000".parse().unwrap();
            let mut call = Confirmed::new(
                now,
                Invite::new(zonecast::page::SipDialog::default()),
                (
                    "127.0.0.1:7000".parse().unwrap(),
                    media,
                    zonecast::g711::Law::Ulaw,
                ),
                Some(SessionExpires {
                    secs: 90,
                    by_uac: Some(pick & 32 != 0),
                }),
            );
            for (i, datagram) in rest.split(|&b| b == 0xA5).enumerate() {
                let at = now + std::time::Duration::from_secs(i as u64 * 20);
                let was_over = call.is_over();
                let mut deeds = call.handle_timeout(at);
                if let Ok(msg) = parse_inbound_uac(datagram) {
                    deeds.extend(call.handle_inbound(at, msg));
                }
                if was_over {
                    assert!(deeds.is_empty(), "a call over does nothing more");
                }
            }
            if let Ok(text) = std::str::from_utf8(rest)
                && let Some(e) = SessionExpires::parse(text)
            {
                assert!(e.secs > 0);
            }
            if let Ok(text) = std::str::from_utf8(rest)
                && let Some(c) = Challenge::parse(text, pick & 128 != 0)
            {
                assert!(!c.nonce.is_empty() || text.contains("nonce"));
                let _ = c.answer("u", "p", "INVITE", "sip:a@b");
            }
        }
        1 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let Ok(offer) = parse_offer(text) else {
                return;
            };
            if let Ok(n) = choose(&offer) {
                let answer = answer_sdp(&n, "10.0.0.5:30000".parse().unwrap(), 1);
                let back = parse_offer(&answer).expect("our answer parses");
                assert_eq!(back.codecs.first(), Some(&(n.payload_type, n.codec)));
            }
        }
        4 => {
            let kind = ["application/dtmf-relay", "application/dtmf", "text/plain"]
                [usize::from(pick / 5) % 3];
            if let Some(k) = info_key(kind, rest) {
                assert!("0123456789*#ABCD".contains(k));
            }
        }
        3 => {
            if let Some(e) = TelephoneEvent::parse(rest) {
                assert!(e.volume < 64);
                assert_eq!(e.key().is_some(), e.event < 16);
            }
            let mut keys = Keys::default();
            let mut last = None;
            for datagram in rest.split(|&b| b == 0xA5) {
                if keys.push(pick / 4, datagram).is_some() {
                    // A key is taken once per timestamp: never twice in a row from one.
                    let ts = datagram.get(4..8).map(|t| t.to_vec());
                    assert!(ts.is_some() && ts != last);
                    last = ts;
                }
            }
        }
        _ => {
            let codec =
                [CallCodec::Pcmu, CallCodec::Pcma, CallCodec::G722][usize::from(pick / 3) % 3];
            let n = Negotiated {
                codec,
                payload_type: pick / 9,
                telephone_event: None,
                remote: "127.0.0.1:6000".parse().unwrap(),
            };
            let mut audio = CallerAudio::new(&n, LoudnessTarget::default());
            let mut frames = 0u64;
            let mut taken = 0u64;
            for datagram in rest.split(|&b| b == 0xA5) {
                if audio.push(datagram, &mut |f| {
                    assert_eq!(f.len(), 160);
                    frames += 1;
                }) {
                    taken += 1;
                }
            }
            assert_eq!(audio.audio_packets, taken);
        }
    }
});
