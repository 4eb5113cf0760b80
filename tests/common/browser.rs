//! One headless Chromium driven through its own chromedriver (Debian's `chromium` and
//! `chromium-driver`, installed by `make test`), for the console's browser tests and benchmarks:
//! start it on a free port, go to a screen, run JavaScript, wait for what a user would see,
//! click, type, press keys, take a screenshot.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser is installed; else one line saying the test is skipped.
pub fn browser_installed(test: &str) -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ok {
        eprintln!(
            "{test}: skipped: {CHROMIUM} or {CHROMEDRIVER} is missing (make test installs chromium chromium-driver)"
        );
    }
    ok
}

/// A port free on 127.0.0.1 right now (chromedriver cannot pick its own: no `--port=0`).
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// One headless Chromium with a fresh profile, driven through its own chromedriver.
pub struct Browser {
    /// The runtime the WebDriver client runs on.
    pub rt: tokio::runtime::Runtime,
    /// The WebDriver session (taken on drop).
    pub client: Option<Client>,
    /// The chromedriver process.
    pub driver: Child,
    _profile: tempfile::TempDir,
    /// The server's base URL.
    pub base: String,
}

impl Browser {
    pub fn start(base: &str, (width, height): (u32, u32), extra_args: &[String]) -> Browser {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={width},{height}"));
        args.extend(extra_args.iter().cloned());
        let mut caps = serde_json::Map::new();
        caps.insert("acceptInsecureCerts".into(), json!(true));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        // A port taken between our check and chromedriver's bind: try another.
        for _ in 0..5 {
            let port = free_tcp_port();
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let deadline = Instant::now() + Duration::from_secs(20);
            let client = loop {
                if driver.try_wait().ok().flatten().is_some() {
                    break None;
                }
                let connected = rt.block_on(
                    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                        .capabilities(caps.clone())
                        .connect(&format!("http://127.0.0.1:{port}")),
                );
                match connected {
                    Ok(c) => break Some(c),
                    Err(e) if Instant::now() > deadline => {
                        panic!("chromedriver on port {port} gave no session: {e}")
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            };
            match client {
                Some(client) => {
                    let b = Browser {
                        rt,
                        client: Some(client),
                        driver,
                        _profile: profile,
                        base: base.to_owned(),
                    };
                    b.run(b.c().set_window_size(width, height)).unwrap();
                    return b;
                }
                None => {
                    let _ = driver.wait();
                }
            }
        }
        panic!("chromedriver did not start on any of 5 free ports");
    }

    pub fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    pub fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    pub fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.run(self.c().goto(&url))
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    /// Run `script` (a function body: `return ...`) in the page.
    pub fn js(&self, script: &str) -> Value {
        self.run(self.c().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Wait up to `secs` until `script` returns something `ok` accepts; fail naming `what`
    /// with the page's status line and toast.
    pub fn wait_js(
        &self,
        what: &str,
        secs: u64,
        script: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.js(script);
            if ok(&v) {
                return v;
            }
            if Instant::now() > deadline {
                let seen = self.js(
                    "return [location.href, (document.getElementById('toast')||{}).textContent, \
                     document.querySelector('main') && document.querySelector('main').innerText]",
                );
                panic!("timed out waiting for {what}: last {v}; page {seen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the screen's script has filled it (`<body data-ready>`).
    pub fn ready(&self) {
        self.wait_js(
            "the screen to load",
            15,
            "return document.body.dataset.ready === '1'",
            |v| v == true,
        );
    }

    pub fn click(&self, css: &str) {
        let e = self
            .run(self.c().find(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        self.run(e.click())
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub fn type_in(&self, css: &str, text: &str) {
        let e = self
            .run(self.c().find(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        self.run(e.send_keys(text))
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Press `key` as a keyboard would (down, up) wherever the focus is.
    pub fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.run(self.c().perform_actions(keys)).unwrap();
    }

    /// Click `css`, whose action asks `confirm()`, and answer OK.
    pub fn click_and_confirm(&self, css: &str) -> String {
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(text) = self.run(self.c().get_alert_text()) {
                self.run(self.c().accept_alert()).unwrap();
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no confirm() after clicking {css}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Run `script` (a function body that calls `done(value)`) and wait for its value.
    pub fn js_async(&self, script: &str) -> Value {
        let body = format!("const done = arguments[0]; {script}");
        self.run(self.c().execute_async(&body, vec![]))
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    pub fn focused_id(&self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : ''")
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Sign in at `/signin` as `user` and wait for the page-now screen.
    pub fn sign_in(&self, user: &str, password: &str) {
        self.goto("/signin");
        self.ready();
        self.type_in("#signin-user", user);
        self.type_in("#signin-password", password);
        self.click("#signin-form button[type=submit]");
        self.wait_js("the page-now screen", 15, "return location.pathname", |v| {
            v == "/"
        });
        self.ready();
    }

    /// A PNG of the window at `target/console-screenshots/NAME.png`.
    pub fn shot(&self, name: &str) -> PathBuf {
        let png = self.run(self.c().screenshot()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
