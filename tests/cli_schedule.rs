//! `zonecast schedule` as a user runs it: a config in a temporary directory, the real binary.

mod common;

use std::path::PathBuf;
use std::process::Output;

const CONFIG: &str = r#"
[[phone]]
name = "p1"
host = "10.0.0.1"
model = "CP-8851"
user = "admin"
password_env = "ZC_PW"

[zone.all]
members = ["p1"]

[schedule]
timezone = "Europe/Berlin"
holidays = ["2026-09-03"]
terms = [["2026-09-01", "2026-12-18"]]

[[bell]]
name = "morning"
cron = "0 8 * * 1-5"
zones = ["all"]
source = "chime"
priority = "urgent"
"#;

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("zonecast.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &PathBuf, extra: &[&str]) -> Output {
    let mut cmd = common::zonecast();
    cmd.arg("schedule").arg("--config").arg(config).args(extra);
    cmd.output().unwrap()
}

#[test]
fn schedule_lists_the_next_ten_firings() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(&dir, CONFIG);
    let out = run(&config, &["--from", "2026-08-28"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10, "{stdout}");
    // Term starts Tuesday 1 September; Thursday 3 is a holiday; weekends skipped.
    assert!(
        lines[0].starts_with("2026-09-01 Tue 08:00:00 CEST  morning"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("2026-09-02 Wed 08:00:00 CEST"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("2026-09-04 Fri 08:00:00 CEST"),
        "{stdout}"
    );
    assert!(
        lines[3].starts_with("2026-09-07 Mon 08:00:00 CEST"),
        "{stdout}"
    );
    assert!(
        lines[0].contains("zones all") && lines[0].contains("source chime"),
        "{stdout}"
    );
    assert!(lines[0].contains("priority urgent"), "{stdout}");
    assert!(
        !stdout.contains(" Sat ") && !stdout.contains(" Sun "),
        "{stdout}"
    );

    let out = run(
        &config,
        &["--from", "2026-12-17T00:00:00Z", "--next", "5", "--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let firings = v["firings"].as_array().unwrap();
    // The term ends on Friday 18 December: two firings, not five.
    assert_eq!(firings.len(), 2, "{v}");
    assert_eq!(firings[0]["at"], "2026-12-17T07:00:00+00:00");
    assert_eq!(firings[1]["local"], "2026-12-18 Fri 08:00:00 CET");
    assert_eq!(firings[0]["zones"], serde_json::json!(["all"]));
    assert_eq!(v["timezone"], "Europe/Berlin");
}

#[test]
fn schedule_config_errors_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        &CONFIG.replace("zones = [\"all\"]", "zones = [\"gym\"]"),
    );
    let out = run(&config, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("zonecast.toml:20:"), "{stderr}");
    assert!(
        stderr.contains("bell \"morning\" zones") && stderr.contains("gym"),
        "{stderr}"
    );

    let config = write(&dir, &CONFIG.replace("Europe/Berlin", "Mars/Olympus"));
    let out = run(&config, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[schedule] timezone"), "{stderr}");

    let config = write(&dir, &CONFIG.replace("0 8 * * 1-5", "0 8 * * 1-5-"));
    let out = run(&config, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bell \"morning\" cron"));

    let config = write(&dir, CONFIG);
    let out = run(&config, &["--from", "next tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from"));
}
