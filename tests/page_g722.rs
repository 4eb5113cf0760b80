//! Wideband pages (issue 20): a zone with `codec = "g722"` paged with the real `zonecast page`
//! to emulated phones. The 8800-series phones are started on a G.722 stream through startMedia
//! and hear a 6 kHz tone that G.711 cannot carry; a 7900-series phone in the same zone gets
//! G.711 (its model does not take G.722) and hears the file's 1 kHz tone only; a 7900 that the
//! config claims takes G.722 refuses it (the emulator answers as the RTP Streaming API's error
//! table says), is started again on G.711, and the report says so. Multicast and unicast zones.

mod common;

use std::path::Path;

use common::cli_setup::{Setup, Spec, assert_exit, json};

/// 3 s at 16 kHz: 6 kHz at -10 dBFS over 1 kHz at -26 dBFS.
fn write_wideband(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let tau = std::f64::consts::TAU;
    for n in 0..48_000 {
        let t = f64::from(n) / 16_000.0;
        let v = 0.316 * (tau * 6000.0 * t).sin() + 0.05 * (tau * 1000.0 * t).sin();
        w.write_sample((v * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// A fleet of two CP-8851 and two CP-7942G (`extra1` claimed to take G.722), zones `wide`
/// (multicast) and `wideu` (unicast) of all four with `codec = "g722"`.
fn setup(record: Option<&Path>) -> Setup {
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    let s = Setup::new(&Spec {
        phones: 2,
        extra_models: &["CP-7942G", "CP-7942G"],
        engine: &engine,
        zones: &[],
        record_dir: record.map(Path::to_path_buf),
        ..Spec::default()
    });
    let path = s.path("zonecast.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let claimed = "name = \"extra1\"\n";
    assert!(text.contains(claimed), "{text}");
    text = text.replace(claimed, "name = \"extra1\"\ng722 = true\n");
    let members = "[\"p001\", \"p002\", \"extra0\", \"extra1\"]";
    text.push_str(&format!(
        "[zone.wide]\nmembers = {members}\ncodec = \"g722\"\n\n\
         [zone.wideu]\nmembers = {members}\nmode = \"unicast\"\ncodec = \"g722\"\n"
    ));
    std::fs::write(&path, text).unwrap();
    s
}

fn page_and_check(s: &Setup, zone: &str, wav: &Path) {
    let out = s.run(&[
        "page",
        "--zone",
        zone,
        "--file",
        wav.to_str().unwrap(),
        "--json",
    ]);
    assert_exit(&out, 0);
    let r = json(&out);
    let phones = r["phones"].as_array().unwrap();
    let line = |name: &str| phones.iter().find(|p| p["name"] == name).unwrap().clone();
    for name in ["p001", "p002"] {
        let p = line(name);
        assert_eq!(p["codec"], "g722", "{p}");
        assert!(p.get("g722_refused").is_none(), "{p}");
    }
    let plain = line("extra0");
    assert_eq!(plain["codec"], "g711", "{plain}");
    assert!(plain.get("g722_refused").is_none(), "{plain}");
    let refused = line("extra1");
    assert_eq!(refused["codec"], "g711", "{refused}");
    assert!(
        refused["g722_refused"]
            .as_str()
            .is_some_and(|w| w.contains("G.722")),
        "{refused}"
    );
    for p in phones {
        assert_eq!(p["accepted"], true, "{p}");
        assert_eq!(p["stopped"], true, "{p}");
    }
    // What each phone heard: its own codec, and the tone that codec carries.
    let fr = s.report();
    for p in &fr.phones {
        let h = p
            .heard
            .last()
            .unwrap_or_else(|| panic!("{} heard nothing", p.name));
        assert!(!h.active, "{} still listening", p.name);
        let sum = &h.rx.summary;
        let f = sum.frequency_hz.unwrap_or_default();
        let (codec, hz) = if p.name.starts_with('p') {
            ("G.722", 6000.0)
        } else {
            ("G.711u", 1000.0)
        };
        assert_eq!(sum.codec.as_deref(), Some(codec), "{}: {sum:?}", p.name);
        assert!(
            (f - hz).abs() < 30.0,
            "{} ({codec}) heard {f:.0} Hz, not {hz} Hz",
            p.name
        );
        assert!(sum.packets >= 140, "{}: {} packets", p.name, sum.packets);
    }
}

#[test]
fn a_g722_zone_is_wideband_to_the_8800s_and_g711_to_the_7900s_multicast_and_unicast() {
    let rec = tempfile::tempdir().unwrap();
    let s = setup(Some(rec.path()));
    let wav = s.path("wide.wav");
    write_wideband(&wav);
    page_and_check(&s, "wide", &wav);
    // What the phones recorded of that first page: 16 kHz audio with the 6 kHz tone at the
    // 8800s, 8 kHz audio with the 1 kHz tone at the 7900s.
    for (name, rate, hz) in [
        ("p001", 16_000, 6000.0),
        ("p002", 16_000, 6000.0),
        ("extra0", 8_000, 1000.0),
        ("extra1", 8_000, 1000.0),
    ] {
        let path = rec.path().join(format!("{name}-001.wav"));
        let r = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.spec().sample_rate, rate, "{name}");
        let x: Vec<i16> = r.into_samples().map(Result::unwrap).collect();
        let tail = &x[x.len() - rate as usize..];
        let crossings = tail.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let f = crossings as f64 / 2.0;
        assert!(
            (f - hz).abs() < hz * 0.05,
            "{name} recorded {f:.0} Hz, not {hz}"
        );
    }
    page_and_check(&s, "wideu", &wav);
    // The prose report names the codec of each phone and who fell back.
    let out = s.run(&["page", "--zone", "wide", "--file", wav.to_str().unwrap()]);
    assert_exit(&out, 0);
    let prose = String::from_utf8_lossy(&out.stdout);
    assert!(prose.contains(", G.722"), "{prose}");
    assert!(prose.contains("G.711 (refused G.722:"), "{prose}");
    let journal = s.journal();
    assert!(journal.is_empty(), "journal left: {journal}");
}

#[test]
fn a_g722_zone_rejects_an_unknown_codec_at_load() {
    let s = setup(None);
    let path = s.path("zonecast.toml");
    let text =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("codec = \"g722\"", "codec = \"opus\"", 1);
    std::fs::write(&path, text).unwrap();
    let out = s.run(&["page", "--zone", "wide", "--tone", "chime"]);
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("codec") && err.contains("g722") && err.contains("opus"),
        "{err}"
    );
}
