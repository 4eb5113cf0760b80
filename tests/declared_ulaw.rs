//! Headerless µ-law only when declared (issue 18), end to end: `zonecast serve` on loopback
//! takes an upload as µ-law only with `Content-Type: audio/basic` or `?format=ulaw` and
//! otherwise answers 415 naming the formats, keeping nothing; `zonecast send` takes a file as
//! µ-law only when it is called `.raw`/`.ulaw`, and otherwise exits 2 naming the formats.

mod common;

use std::time::Duration;

use common::server::*;
use common::*;
use serde_json::Value;

/// 0.5 s of a 1 kHz tone as headerless µ-law: 0xFF 0xA9 0xA0 ..., no container's header.
fn ulaw_tone() -> Vec<u8> {
    (0..4000)
        .map(|i| {
            let x = (i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / 8000.0).sin();
            zonecast::g711::Law::Ulaw.encode((x * 8000.0) as i16)
        })
        .collect()
}

/// Text, as a careless upload of `/etc/passwd` would send.
const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n\
                        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

fn chime_wav() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/audio/chime.wav")).unwrap()
}

fn put(srv: &Server, path: &str, body: &[u8], content_type: &str) -> (u16, Value) {
    call_raw(
        "PUT",
        &format!("{}{path}", srv.url),
        Some(TOKEN),
        Some(body.to_vec()),
        content_type,
    )
}

fn uploaded(srv: &Server) -> Vec<String> {
    let (st, v) = api(srv, "GET", "/api/sounds", None);
    assert_eq!(st, 200, "{v}");
    v["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

/// A 415 whose JSON error names the accepted formats and how to declare µ-law.
fn assert_unsupported(st: u16, body: &Value, what: &str) {
    assert_eq!(st, 415, "{what}: {body}");
    let e = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {body}"));
    assert!(
        e.contains("WAV, MP3, FLAC or Ogg Vorbis")
            && e.contains("Content-Type: audio/basic")
            && e.contains("?format=ulaw"),
        "{what}: {e}"
    );
}

#[test]
fn uploads_are_mu_law_only_when_declared_and_otherwise_a_container() {
    let s = setup(2, "");
    let srv = Server::start(&s);
    let wav = chime_wav();

    // A real WAV, whatever it is labelled: 201.
    let (st, v) = put(&srv, "/api/sounds/lobby", &wav, "audio/wav");
    assert_eq!(st, 201, "{v}");
    assert!(v["seconds"].as_f64().unwrap() > 0.1, "{v}");
    assert_eq!(v["source"], "upload:lobby");

    // Text: 415 naming the formats, under a new name and over the earlier sound; nothing kept
    // and the earlier sound intact.
    for (name, ctype) in [
        ("passwd", "application/octet-stream"),
        ("passwd", "text/plain"),
        ("lobby", "application/octet-stream"),
        ("lobby", "audio/wav"),
    ] {
        let (st, v) = put(&srv, &format!("/api/sounds/{name}"), PASSWD, ctype);
        assert_unsupported(st, &v, &format!("text as {name} ({ctype})"));
        assert_eq!(
            v["error"].as_str().unwrap(),
            format!(
                "sound \"{name}\": is not a WAV, MP3, FLAC or Ogg Vorbis file; headerless µ-law \
             must be declared (Content-Type: audio/basic or ?format=ulaw)"
            )
        );
    }
    assert_eq!(uploaded(&srv), ["lobby"]);
    assert_eq!(std::fs::read(s.path("data/sounds/lobby.wav")).unwrap(), wav);
    let stray: Vec<_> = std::fs::read_dir(s.path("data/sounds"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stray, ["lobby.wav"], "no temporary or text file left");

    // The same µ-law bytes: undeclared 415 (a tone, and silence, which looks like an MP3 frame
    // sync); declared by Content-Type (with or without RFC 2046's parameters) or ?format 201.
    let tone = ulaw_tone();
    for (what, bytes) in [("tone", tone.clone()), ("silence", vec![0xFF; 4000])] {
        let (st, v) = put(&srv, "/api/sounds/mu", &bytes, "application/octet-stream");
        assert_unsupported(st, &v, &format!("undeclared µ-law {what}"));
    }
    assert_eq!(uploaded(&srv), ["lobby"]);
    for (path, ctype) in [
        ("/api/sounds/mu", "audio/basic"),
        ("/api/sounds/mu", "audio/basic; rate=8000; channels=1"),
        ("/api/sounds/mu?format=ulaw", "application/octet-stream"),
        ("/api/sounds/mu?format=ulaw", "audio/wav"),
    ] {
        let (st, v) = put(&srv, path, &tone, ctype);
        assert_eq!(st, 201, "{path} ({ctype}): {v}");
        assert_eq!(v["seconds"], 0.5, "{path} ({ctype}): {v}");
        assert_eq!(std::fs::read(s.path("data/sounds/mu.raw")).unwrap(), tone);
    }
    // Declared µ-law replaces the earlier WAV of the same name.
    let (st, v) = put(&srv, "/api/sounds/lobby", &tone, "audio/basic");
    assert_eq!(st, 201, "{v}");
    assert!(!s.path("data/sounds/lobby.wav").exists());
    assert_eq!(uploaded(&srv), ["lobby", "mu"]);

    // A declaration that is not µ-law, or µ-law that is not 8 kHz mono: 400 naming it.
    let (st, v) = put(
        &srv,
        "/api/sounds/x?format=pcm",
        &tone,
        "application/octet-stream",
    );
    assert_eq!(st, 400, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.starts_with("format \"pcm\":") && e.contains("ulaw"),
        "{e}"
    );
    let (st, v) = put(&srv, "/api/sounds/x", &tone, "audio/basic; rate=16000");
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("8000 Hz mono"), "{v}");
    // Other bad input stays 400: a bad name, an empty body.
    let (st, v) = put(&srv, "/api/sounds/a.b", &tone, "audio/basic");
    assert_eq!(st, 400, "{v}");
    let (st, v) = put(&srv, "/api/sounds/x", b"", "audio/basic");
    assert_eq!(st, 400, "{v}");
    assert_eq!(uploaded(&srv), ["lobby", "mu"]);
}

/// `zonecast send --file PATH` to a socket of ours: the exit code, stderr, and the RTP packets
/// that arrived.
fn send_file(path: &std::path::Path) -> (Option<i32>, String, usize) {
    let (sock, port) = bound_even_socket();
    let out = zonecast()
        .args(["send", "--file"])
        .arg(path)
        .args(["--to", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let mut packets = 0;
    while sock.recv(&mut buf).is_ok() {
        packets += 1;
    }
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        packets,
    )
}

#[test]
fn send_takes_headerless_mu_law_only_from_a_raw_or_ulaw_file() {
    let dir = tempfile::tempdir().unwrap();
    let tone = ulaw_tone();
    for (name, bytes) in [
        ("passwd.wav", PASSWD),
        ("passwd.bin", PASSWD),
        ("tone.bin", &tone[..]),
        ("tone.mp3", &tone[..]),
        ("tone", &tone[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (code, err, packets) = send_file(&path);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(
            err.contains(name)
                && err.contains("not a WAV, MP3, FLAC or Ogg Vorbis file")
                && err.contains(".raw/.ulaw"),
            "{name}: {err}"
        );
        assert_eq!(packets, 0, "{name}: nothing sent");
    }
    // The same bytes called .ulaw or .raw: µ-law, sent whole (4000 samples, 25 packets).
    for name in ["tone.ulaw", "tone.raw", "passwd.ulaw"] {
        let path = dir.path().join(name);
        let bytes = if name.starts_with("tone") {
            &tone[..]
        } else {
            PASSWD
        };
        std::fs::write(&path, bytes).unwrap();
        let (code, err, packets) = send_file(&path);
        assert_eq!(code, Some(0), "{name}: {err}");
        assert_eq!(packets, bytes.len().div_ceil(160), "{name}: {err}");
    }
}
