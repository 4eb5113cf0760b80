//! The console's CUCM screen in a real browser (headless Chromium, `common::browser`) against
//! `zonecast serve` with `[cucm]` and the emulated CUCM of `common::cucm` (issue 23): the CUCM
//! link in the navigation, the table as discovered (searchable), an admin's "Refresh now"
//! reporting a phone that moved and showing its new address, then CUCM down: the refresh's
//! error shown and the table kept. A viewer sees the table without the button. A screenshot
//! goes to `target/console-screenshots/cucm.png`.
//!
//! Without /usr/bin/chromium or /usr/bin/chromedriver the test prints one line and passes
//! (`make test` installs both).

mod common;

use common::browser::{Browser, browser_installed};
use common::cucm::{AXL_PASSWORD, serve, setup};
use common::server::{Server, add_user, api, wait_for};
use serde_json::Value;

const ADMIN_PW: &str = "cucm-console-admin-9921";
const VIEWER_PW: &str = "cucm-console-viewer-3307";

/// The text of the CUCM table's row for phone `name` ("" when it is not shown).
fn row_text(b: &Browser, name: &str) -> String {
    b.js(&format!(
        "const r = document.querySelector('#cucm-rows tr[data-phone=\"{name}\"]'); \
         return r ? r.innerText : ''"
    ))
    .as_str()
    .unwrap_or("")
    .to_owned()
}

fn rows(b: &Browser) -> u64 {
    b.js("return document.querySelectorAll('#cucm-rows tr[data-phone]').length")
        .as_u64()
        .unwrap_or(0)
}

/// Wait until the text of `#id` contains `needle`.
fn wait_text(b: &Browser, id: &str, needle: &str) -> String {
    let v = b.wait_js(
        &format!("#{id} to say {needle:?}"),
        30,
        &format!("return document.getElementById('{id}').textContent"),
        |v| v.as_str().is_some_and(|t| t.contains(needle)),
    );
    v.as_str().unwrap_or("").to_owned()
}

fn first_table(srv: &Server) {
    wait_for(srv, "the first discovery", 60, || {
        let (_, v) = api(srv, "GET", "/api/cucm", None);
        v["discovered_ms"].is_i64().then_some(())
    });
}

#[test]
fn the_cucm_screen_shows_the_table_refreshes_it_and_shows_the_error_when_cucm_is_down() {
    if !browser_installed("the_cucm_screen_shows_the_table") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let site = rt.block_on(setup(100));
    let phones = &site.phones;
    add_user(&site.path, "ada", "admin", ADMIN_PW);
    add_user(&site.path, "vera", "viewer", VIEWER_PW);
    let srv = serve(&site.path);
    first_table(&srv);

    let b = Browser::start(&srv.url, (1280, 900), &[]);
    b.sign_in("ada", ADMIN_PW);
    // The navigation links the CUCM screen (the config has [cucm]).
    assert_eq!(
        b.js("return !!document.querySelector('a[data-nav=cucm]')"),
        Value::Bool(true)
    );
    b.click("a[data-nav=cucm]");
    b.wait_js("the CUCM screen", 15, "return location.pathname", |v| {
        v == "/cucm"
    });
    b.ready();
    assert_eq!(rows(&b), 108);
    let first = row_text(&b, &phones[0].device);
    assert!(first.contains(&phones[0].addr.ip().to_string()), "{first}");
    assert!(
        first.contains("DP-LOBBY") && first.contains("2000"),
        "{first}"
    );
    let unregistered = row_text(&b, &phones[4].device);
    assert!(unregistered.contains("no (unregistered)"), "{unregistered}");
    assert!(wait_text(&b, "cucm-summary", "CUCM 127.0.0.1").contains("108"));
    // Searching narrows the rows.
    b.type_in("#cucm-filter", &phones[0].device);
    b.wait_js(
        "one row",
        5,
        "return document.querySelectorAll('#cucm-rows tr[data-phone]').length",
        |v| v == 1,
    );
    b.js("const f = document.getElementById('cucm-filter'); f.value = ''; f.dispatchEvent(new Event('input')); return 0");

    // A kitchen phone moves in CUCM; Refresh now reports it and the row shows the new address.
    let moved = phones[6].device.clone();
    let new_addr = phones[8].addr.ip().to_string();
    assert!(
        site.cucm
            .cluster
            .lock()
            .unwrap()
            .update(&moved, |d| d.address = *phones[8].addr.ip())
    );
    b.click("#cucm-refresh");
    let said = wait_text(&b, "cucm-status", "1 moved");
    assert!(said.contains(&moved) && said.contains(&new_addr), "{said}");
    b.wait_js("the moved phone's new address", 15, &format!(
        "const r = document.querySelector('#cucm-rows tr[data-phone=\"{moved}\"]'); return r ? r.innerText : ''"
    ), |v| v.as_str().is_some_and(|t| t.contains(&new_addr)));

    // CUCM goes down: the refresh fails in words, the table stays.
    site.cucm.stop();
    std::thread::sleep(std::time::Duration::from_millis(100));
    b.click("#cucm-refresh");
    let said = wait_text(&b, "cucm-status", "The refresh failed");
    assert!(said.contains("cannot reach it"), "{said}");
    let error = wait_text(&b, "cucm-error", "cannot reach it");
    assert!(!error.contains(AXL_PASSWORD), "{error}");
    assert_eq!(rows(&b), 108);
    assert!(row_text(&b, &moved).contains(&new_addr));
    b.shot("cucm");
    let page = b.js("return document.body.innerText").to_string();
    assert!(!page.contains(AXL_PASSWORD), "{page}");
    drop(b);

    // A viewer sees the table, not the button.
    let v = Browser::start(&srv.url, (375, 800), &[]);
    v.sign_in("vera", VIEWER_PW);
    v.goto("/cucm");
    v.ready();
    assert_eq!(rows(&v), 108);
    assert_eq!(
        v.js("return document.getElementById('cucm-refresh').hidden"),
        Value::Bool(true)
    );
    drop(v);
    drop(srv);
    rt.block_on(site.fleet.shutdown());
}
