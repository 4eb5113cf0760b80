//! The per-model rules of `xsi::model`/`xsi::plan` as the CLI shows them: `zonecast push
//! --model M --dry-run URI` prints the XML when model M has the URI, and otherwise exits 2
//! naming the model and the rule, before anything is sent (a dry run sends nothing anyway, so
//! the address is a documentation one).

use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `zonecast push --phone 192.0.2.1 --model MODEL --dry-run URIS...`.
fn dry_push(model: &str, uris: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args([
            "push",
            "--phone",
            "192.0.2.1",
            "--model",
            model,
            "--dry-run",
        ])
        .args(uris)
        .env_remove("ZONECAST_LOG")
        .env_remove("ZONECAST_PHONE_PASSWORD")
        .output()
        .expect("run zonecast");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `uris` on `model` print their Execute items and exit 0.
fn accepted(model: &str, uris: &[&str]) {
    let r = dry_push(model, uris);
    assert_eq!(r.code, 0, "{uris:?} on {model}: {}{}", r.stdout, r.stderr);
    for u in uris {
        assert!(
            r.stdout.contains(&format!("URL=\"{u}\"")),
            "{u} on {model}: {}",
            r.stdout
        );
    }
}

/// `uris` on `model` exit 2 with a message naming the model, `uri` and the rule (`rule`), and
/// print no XML.
fn refused(model: &str, uris: &[&str], uri: &str, rule: &str) {
    let r = dry_push(model, uris);
    assert_eq!(r.code, 2, "{uris:?} on {model}: {}{}", r.stdout, r.stderr);
    for needle in [model, uri, rule] {
        assert!(
            r.stderr.contains(needle),
            "{uris:?} on {model}: no {needle:?} in {}",
            r.stderr
        );
    }
    assert!(!r.stdout.contains("CiscoIPPhoneExecute"), "{}", r.stdout);
}

#[test]
fn vibrate_is_refused_on_an_8851_and_accepted_on_an_8821() {
    refused(
        "CP-8851",
        &["Key:Vibrate"],
        "Key:Vibrate",
        "keys of the 8821 only",
    );
    accepted("CP-8821", &["Key:Vibrate"]);
}

#[test]
fn the_other_8821_keys_are_the_8821s_only() {
    for key in ["Key:Offhook", "Key:Onhook", "Key:PTT"] {
        refused("CP-9821", &[key], key, "keys of the 8821 only");
        accepted("CP-8821-EX", &[key]);
    }
}

#[test]
fn the_settings_keys_are_the_8875s_only() {
    refused(
        "CP-8845",
        &["Key:Key_Period"],
        "Key:Key_Period",
        "settings keys of the 8875/8875NR",
    );
    accepted(
        "CP-8875NR",
        &["Key:Key_1", "Key:Key_Period", "Key:Key_NumberSign"],
    );
}

#[test]
fn settings_menu_needs_key_applications_first_in_the_push() {
    // An order rule, not a model one: the message names the URI and the rule.
    let r = dry_push("CP-8875", &["SettingsMenu:Bluetooth"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    for needle in ["SettingsMenu:Bluetooth", "must come after Key:Applications"] {
        assert!(r.stderr.contains(needle), "no {needle:?} in {}", r.stderr);
    }
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    accepted("CP-8875", &["Key:Applications", "SettingsMenu:Bluetooth"]);
}

#[test]
fn soft_keys_per_model() {
    refused("CP-7841", &["Key:Soft5"], "Key:Soft5", "4 soft keys");
    refused("CP-8821", &["Key:Soft3"], "Key:Soft3", "2 soft keys");
    for model in ["CP-8875", "CP-8831", "CP-8832", "CP-8832-3PCC"] {
        accepted(model, &["Key:Soft5"]);
    }
}

#[test]
fn fixed_feature_keys_are_the_desk_9800s() {
    refused(
        "CP-8851",
        &["Key:FixedFeature3"],
        "Key:FixedFeature3",
        "Desk 9800 only",
    );
    accepted("DP-9841", &["Key:FixedFeature1", "Key:FixedFeature3"]);
}

#[test]
fn dial_app_ui_is_the_8800_seriess() {
    refused("CP-7970", &["Dial:123:1"], "Dial:123:1", "8800 series only");
    accepted("CP-8831", &["Dial:123:1"]);
    accepted("CP-7970", &["Dial:123:0:Company/App"]);
}

#[test]
fn an_audio_path_without_a_volume_is_accepted_wherever_rtp_is() {
    accepted("CP-8845", &["RTPRx:10.0.0.1:20480::1"]);
    refused(
        "CP-8845-3PCC",
        &["RTPRx:10.0.0.1:20480::1"],
        "RTPRx:10.0.0.1:20480::1",
        "RTP streaming URIs",
    );
}
