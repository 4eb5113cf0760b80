//! The harness of the server tests: a fleet with a `[server]` config, `zonecast serve` run as a
//! child (its log kept), and JSON calls to its API.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use zonecast::phone_sim::FleetReport;

use super::cli_setup::{Setup, Spec, Zone};

pub const TOKEN_ENV: &str = "ZC_SERVER_TEST_TOKEN";
pub const TOKEN: &str = "test-token-5f2c9a";

pub fn listening(r: &FleetReport) -> usize {
    r.phones
        .iter()
        .filter(|p| p.heard.last().is_some_and(|h| h.active))
        .count()
}

/// A fleet of `n` CP-8851 phones in zone `all` (and `first`: the first two), a `[server]`
/// table, and `extra` tables (bells).
pub fn setup(n: usize, extra: &str) -> Setup {
    setup_with(n, extra, None)
}

/// [`setup`] whose phones only stamp and count what they receive (benchmarks).
pub fn setup_light(n: usize, extra: &str) -> Setup {
    setup_spec(n, extra, None, true)
}

pub fn setup_with(n: usize, extra: &str, auth_url: Option<String>) -> Setup {
    setup_spec(n, extra, auth_url, false)
}

fn setup_spec(n: usize, extra: &str, auth_url: Option<String>, light_receive: bool) -> Setup {
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    let tables = format!(
        "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\nupload_limit = \"64K\"\n\n{extra}"
    );
    Setup::new(&Spec {
        phones: n,
        engine: &engine,
        tables: &tables,
        zones: &Zone::all_and_first(2, Some("Announcement")),
        auth_url,
        light_receive,
        ..Spec::default()
    })
}

/// A running `zonecast serve` and what it logged.
pub struct Server {
    pub child: Child,
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(s: &Setup) -> Server {
        Server::start_on(s, "127.0.0.1:0")
    }

    pub fn start_on(s: &Setup, listen: &str) -> Server {
        Server::spawn(s.cmd(&["serve", "--listen", listen]))
    }

    /// Run `cmd` (a `zonecast serve ...`) with the test token, and wait until it listens.
    pub fn spawn(mut cmd: std::process::Command) -> Server {
        let mut child = cmd
            .env(TOKEN_ENV, TOKEN)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => panic!("server did not start: {}", log.lock().unwrap()),
        };
        Server {
            child,
            url: format!("http://{addr}"),
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP request: (status, JSON body or the text as a JSON string).
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    call_raw(
        method,
        url,
        token,
        body.map(|b| b.to_string().into_bytes()),
        "application/json",
    )
}

pub fn call_raw(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    content_type: &str,
) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = super::sim::http();
        let mut r = client.request(method.parse().unwrap(), url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.header("content-type", content_type).body(b);
        }
        let resp = r.send().await.expect("server answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    })
}

pub fn api(srv: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call(method, &format!("{}{path}", srv.url), Some(TOKEN), body)
}

pub fn wait_for<T>(srv: &Server, what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; server log:\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn phone_states(page: &Value) -> Vec<(String, String)> {
    page["report"]["phones"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or("").to_owned(),
                        p["state"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Add console user `name` with `role` to the database of the config at `config` (the
/// password through the environment, as `zonecast user add` reads it).
pub fn add_user(config: &std::path::Path, name: &str, role: &str, password: &str) {
    let out = super::zonecast()
        .args(["user", "add", name, "--role", role])
        .arg("--config")
        .arg(config)
        .env("ZONECAST_USER_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zonecast user add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A console user signed in: the session cookie and its CSRF token.
pub struct Session {
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

/// Sign `user` in (`POST /api/session`); panics if refused.
pub fn sign_in(srv: &Server, user: &str, password: &str) -> Session {
    let body = serde_json::json!({ "user": user, "password": password });
    let a = send("POST", &format!("{}/api/session", srv.url), &[], Some(body));
    let v = a.body;
    assert_eq!(a.status, 200, "signing {user} in: {v}");
    let cookie = a.set_cookie.expect("a session cookie");
    Session {
        base: srv.url.clone(),
        cookie: cookie.split(';').next().unwrap_or_default().to_owned(),
        csrf: v["csrf"].as_str().unwrap_or_default().to_owned(),
    }
}

impl Session {
    /// A request as the console makes it: the cookie, and the CSRF token.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let headers = [
            ("cookie", self.cookie.as_str()),
            ("x-csrf-token", self.csrf.as_str()),
        ];
        let a = send(method, &format!("{}{path}", self.base), &headers, body);
        (a.status, a.body)
    }
}

/// One answer: status, `Set-Cookie`, `Retry-After`, body (JSON, or the text as a string).
pub struct Answer {
    pub status: u16,
    pub set_cookie: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// One request with `headers` (and a JSON `body`, if any), on a runtime of its own.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<Value>) -> Answer {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut r = super::sim::http().request(method.parse().unwrap(), url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = r.send().await.expect("server answers");
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (set_cookie, retry_after) = (h("set-cookie"), h("retry-after"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            set_cookie,
            retry_after,
            body,
        }
    })
}
