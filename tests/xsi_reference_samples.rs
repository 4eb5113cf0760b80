//! Every phone reply, callback and device page in `../shared/reference/` goes through the
//! `xsi::response` parsers, and the values read are the ones written in the files.
//!
//! The reference files are kept verbatim (comments, several examples per file, typographic
//! quotes from Cisco's PDFs), so this test splits them into documents itself rather than
//! editing them.

use std::fs;

use zonecast::shared::{shared_file, shared_text};
use zonecast::xsi::model::ModelFamily;
use zonecast::xsi::response::{
    Callback, DevicePageKind, ExecuteReply, ItemStatus, MediaErrorType, MediaEventType, MediaReply,
    MediaStarted, PhoneError, parse_callback, parse_device_caps, parse_device_page,
    parse_execute_reply, parse_media_reply,
};

/// A file of `../shared/reference/`; `None` (after a skip line) when it is absent.
fn read(name: &str) -> Option<String> {
    shared_text(&format!("reference/{name}"))
}

/// The text with every `<!-- ... -->` removed.
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out
}

/// Each `<root ...>...</root>` or `<root .../>` outside comments, with the XML declaration
/// right before it (if any) kept so the declared charset is exercised too.
fn documents(text: &str, root: &str) -> Vec<String> {
    let text = without_comments(text);
    let open = format!("<{root}");
    let close = format!("</{root}>");
    let mut docs = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(&open).map(|p| p + from) {
        let after = &text[pos + open.len()..];
        if !after.starts_with([' ', '>', '/', '\r', '\n', '\t']) {
            from = pos + open.len();
            continue;
        }
        let tag_end = pos + text[pos..].find('>').expect("tag ends") + 1;
        let end = if text[..tag_end].ends_with("/>") {
            tag_end
        } else {
            tag_end + text[tag_end..].find(&close).expect("element closes") + close.len()
        };
        let before = text[..pos].trim_end();
        // `before` is a prefix of `text`, so its indices are valid in `text`.
        let start = match before.rfind("<?xml") {
            Some(decl) if before.ends_with("?>") && before[decl..].matches('<').count() == 1 => {
                decl
            }
            _ => pos,
        };
        docs.push(text[start..end].to_owned());
        from = end;
    }
    docs
}

/// The file's lines from the first starting with `from` through the first after it containing
/// `to`, joined with newlines.
fn lines_between(text: &str, from: &str, to: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with(from) {
            let end = (i..lines.len())
                .find(|&j| lines[j].contains(to))
                .expect("block ends");
            found.push(lines[i..=end].join("\n"));
            i = end;
        }
        i += 1;
    }
    found
}

#[test]
fn every_reference_file_is_accounted_for() {
    // Files that are not something a phone sends: requests, schemas, ring lists, notes.
    let not_replies = [
        "CiscoIpPhoneServices.xsd",
        "DistinctiveRingList.akidinatophat.xml",
        "RingList.akidinatophat.xml",
        "SOURCES.md",
        "cisco-doc-ringlist-sample.xml",
        "usecallmanager-mediastream-requests.xml",
    ];
    let parsed_here = [
        "DeviceInformationX-samples.xml",
        "cisco-doc-execute-response-examples.xml",
        "cisco-doc-getDeviceCaps-example.xml",
        "cisco-doc-notify-uri-examples.txt",
        "cisco-doc-rtp-streaming-api-examples.txt",
    ];
    let Some(reference) = shared_file("reference") else {
        return;
    };
    for entry in fs::read_dir(reference).expect("reference dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            not_replies.contains(&name.as_str()) || parsed_here.contains(&name.as_str()),
            "new reference file {name}: parse it here or list it as not a reply"
        );
    }
}

#[test]
fn device_information_samples() {
    let Some(text) = read("DeviceInformationX-samples.xml") else {
        return;
    };
    let docs = documents(&text, "DeviceInformation");
    assert_eq!(docs.len(), 3);
    assert!(docs[0].starts_with("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>"));

    let p = parse_device_page(docs[0].as_bytes()).unwrap();
    assert_eq!(p.kind(), DevicePageKind::DeviceInformation);
    assert_eq!(p.root, "DeviceInformation");
    assert_eq!(p.mac_address(), Some("0003E369A125"));
    assert_eq!(p.host_name(), Some("SEP0003E369A125"));
    assert_eq!(p.phone_dn(), Some("5920"));
    assert_eq!(p.app_load_id(), Some("P00308010200"));
    assert_eq!(p.boot_load_id(), Some("PC03A300"));
    assert_eq!(p.version_id(), Some("8.1(2.0)"));
    assert_eq!(p.get("DSPLoadID"), Some("4.0(5.0)[A0]"));
    assert_eq!(p.get("addonModule1"), Some(""));
    assert_eq!(p.serial_number(), Some("INMXXXXXXX"));
    assert_eq!(p.model_number(), Some("CP-7940"));
    assert_eq!(p.get("Amps"), Some("3V Amp"));
    // Localised (French) and padded in the original.
    assert_eq!(p.message_waiting(), Some("OUI"));
    assert_eq!(p.fields.len(), 16);
    assert_eq!(
        ModelFamily::from_model_name(p.model_number().unwrap()),
        ModelFamily::Legacy79xx
    );

    let p = parse_device_page(docs[1].as_bytes()).unwrap();
    assert_eq!(p.mac_address(), Some("2323CA58E460"));
    assert_eq!(p.host_name(), Some("SEP44ER3CA58E460"));
    assert_eq!(p.phone_dn(), Some("11962323"));
    assert_eq!(p.app_load_id(), Some("SCCP 1.2.2.6"));
    assert_eq!(p.version_id(), Some("= V02"));
    assert_eq!(p.get("addonModule2"), Some(""));
    assert_eq!(p.serial_number(), Some("PXN232327VCNX"));
    assert_eq!(p.model_number(), Some("CP-6941"));
    assert_eq!(p.message_waiting(), Some("No"));
    assert_eq!(
        p.get("udi"),
        Some("phone Cisco Unified IP Phone CP-6941, Global CP-6941 PXN15271212X")
    );
    assert_eq!(p.get("timezone"), Some("W. Europe Standard/Daylight Time"));
    assert_eq!(p.get("date"), Some("16.12.13"));
    assert_eq!(
        ModelFamily::from_model_name(p.model_number().unwrap()),
        ModelFamily::Phone69xx
    );

    let p = parse_device_page(docs[2].as_bytes()).unwrap();
    assert_eq!(p.mac_address(), Some("001111111111"));
    assert_eq!(p.phone_dn(), Some("1301"));
    assert_eq!(p.app_load_id(), Some("CP7905080003SCCP070409A"));
    assert_eq!(p.version_id(), Some("8.0.3(070409A)"));
    assert_eq!(p.hardware_revision(), Some("0x0005 0x0000"));
    assert_eq!(p.serial_number(), Some("INM08321NVJ"));
    assert_eq!(p.model_number(), Some("CP-7905G"));
    assert_eq!(p.get("HWFeatures"), Some("0x00000002"));
    assert_eq!(p.message_waiting(), Some("NO"));
}

#[test]
fn the_whole_device_information_file_reads_as_its_first_page() {
    // Leading comment, then a declaration, then three roots: the first one wins.
    let Some(text) = read("DeviceInformationX-samples.xml") else {
        return;
    };
    let p = parse_device_page(text.as_bytes()).unwrap();
    assert_eq!(p.model_number(), Some("CP-7940"));
}

#[test]
fn execute_responses() {
    let Some(text) = read("cisco-doc-execute-response-examples.xml") else {
        return;
    };
    let docs = documents(&text, "CiscoIPPhoneResponse");
    assert_eq!(docs.len(), 4);
    let expected = [
        ("Device:GeneratePRT", 0, "Success"),
        ("Device:GeneratePRT", 6, "There is pending PRT"),
        ("Device:PRTStatus", 0, "Generating PRT"),
        (
            "Device:PRTStatus",
            6,
            "There is no pending PRT invoked from XSI",
        ),
    ];
    for (doc, (url, status, data)) in docs.iter().zip(expected) {
        let reply = parse_execute_reply(doc.as_bytes()).unwrap();
        assert_eq!(reply.items().len(), 1);
        let item = reply.item_for(url).unwrap();
        assert_eq!(item.status, status);
        assert_eq!(item.data, data);
        let kind = if status == 0 {
            ItemStatus::Success
        } else {
            ItemStatus::InternalError
        };
        assert_eq!(item.status_kind(), kind);
    }

    // The request in the same file is not a reply.
    let request = &documents(&text, "CiscoIPPhoneExecute")[0];
    assert!(parse_execute_reply(request.as_bytes()).is_err());

    // The error body clients match on, quoted in the file's comments.
    let error = "<CiscoIPPhoneError Number=\"4\" />";
    assert!(text.contains(error));
    assert_eq!(
        parse_execute_reply(error.as_bytes()).unwrap(),
        ExecuteReply::Error(PhoneError::Authentication)
    );
}

#[test]
fn get_device_caps_with_unclosed_browser() {
    let Some(text) = read("cisco-doc-getDeviceCaps-example.xml") else {
        return;
    };
    let start = text.find("<getDeviceCapsResponse>").unwrap();
    let caps = parse_device_caps(&text.as_bytes()[start..]).unwrap();
    assert_eq!(caps.model_number, "CP-7970");
    let display = caps.display.unwrap();
    assert_eq!((display.width, display.height), (298, 168));
    assert_eq!(display.bit_depth, 12);
    assert!(display.is_color);
    assert_eq!(caps.sdk_version.as_deref(), Some("5.0.3"));
    assert_eq!(caps.services, ["browser"]);
    assert_eq!(
        ModelFamily::from_model_name(&caps.model_number),
        ModelFamily::Legacy79xx
    );

    // The request before it is not a reply.
    assert!(parse_device_caps(text.as_bytes()).is_err());
}

#[test]
fn notify_callbacks() {
    let Some(text) = read("cisco-doc-notify-uri-examples.txt") else {
        return;
    };
    let bodies: Vec<&str> = text.lines().filter(|l| l.starts_with("DATA=")).collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        parse_callback(bodies[0].as_bytes()).unwrap(),
        Callback::Data("myStreamStoppedData".into())
    );
    // Typographic quotes as published.
    assert!(bodies[1].contains('\u{201D}'));
    assert_eq!(
        parse_callback(bodies[1].as_bytes()).unwrap(),
        Callback::StreamStopped {
            id: Some("stream1".into())
        }
    );
}

#[test]
fn rtp_streaming_examples() {
    let Some(text) = read("cisco-doc-rtp-streaming-api-examples.txt") else {
        return;
    };

    // The startMedia response: the line after "HTTP200 OK".
    let lines: Vec<&str> = text.lines().collect();
    let ok = lines.iter().position(|l| *l == "HTTP200 OK").unwrap();
    assert_eq!(
        parse_media_reply(lines[ok + 1].as_bytes()).unwrap(),
        MediaReply::Started(MediaStarted {
            id: "abc123".into()
        })
    );

    // The user-stopped notification, three lines with typographic quotes.
    let notes = lines_between(&text, "DATA=", "</notifyMediaEvent>");
    assert_eq!(notes.len(), 1);
    assert_eq!(
        parse_callback(notes[0].as_bytes()).unwrap(),
        Callback::MediaEvent {
            kind: MediaEventType::Stopped,
            origin: Some("user".into()),
            stream_id: Some("abc123".into()),
        }
    );

    // The error table's Type column, spelled as published ("InfalidXML", "Unavailable
    // Resource").
    let types: Vec<MediaErrorType> = lines
        .iter()
        .filter(|l| l.contains("| 400 (BadRequest) |"))
        .map(|l| MediaErrorType::from_name(l.split('|').nth(3).unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            MediaErrorType::InvalidXml,
            MediaErrorType::UnavailableResource,
            MediaErrorType::InvalidResourceId,
        ]
    );
}
