//! Console users end to end, over real HTTP on loopback against `zonecast serve` and emulated
//! phones: `zonecast user` writes users into the server's database (password from the
//! environment or standard input, never stored in clear); they sign in and out with a session
//! cookie; changes made with the cookie need the session's CSRF token and the same origin; an
//! operator pages and stops only its granted zones (a crafted request included), a viewer only
//! reads; the history names who started and stopped each page; the audit log records every
//! change to users; sign-ins are throttled (429); an ended session signs no one in; the cookie
//! is `Secure` over the HTTPS listener; no password reaches the server's log.

mod common;

use std::time::Duration;

use common::cli_setup::{Setup, assert_exit, json, stderr};
use common::server::{Answer, Server, api, send, setup, wait_for};
use serde_json::{Value, json};

const ADMIN_PW: &str = "admin-pass-7731";
const OLGA_PW: &str = "olga-pass-2290";
const OLGA_PW2: &str = "olga-second-8812";
const VIC_PW: &str = "viewer-pass-5521";

/// `a` was refused with `status`, its error saying `says`.
fn refused(a: &Answer, status: u16, says: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    let error = a.body["error"].as_str().unwrap_or_default();
    assert!(error.contains(says), "{}", a.body);
}

/// A signed-in browser: its cookie and CSRF token.
struct Browser {
    base: String,
    cookie: String,
    csrf: String,
}

fn sign_in(srv: &Server, user: &str, password: &str) -> Answer {
    send(
        "POST",
        &format!("{}/api/session", srv.url),
        &[],
        Some(json!({"user": user, "password": password})),
    )
}

fn browser(srv: &Server, user: &str, password: &str) -> Browser {
    let a = sign_in(srv, user, password);
    assert_eq!(a.status, 200, "{user}: {}", a.body);
    let set = a.set_cookie.expect("a session cookie");
    let cookie = set.split(';').next().unwrap().to_owned();
    Browser {
        base: srv.url.clone(),
        cookie,
        csrf: a.body["csrf"].as_str().unwrap().to_owned(),
    }
}

impl Browser {
    /// A request as the console makes it: cookie, and the CSRF token on changes.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call_with(method, path, body, &[("x-csrf-token", &self.csrf)])
    }

    /// A request with the cookie and exactly `extra` headers (no CSRF token unless given).
    fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut headers = vec![("cookie", self.cookie.as_str())];
        headers.extend_from_slice(extra);
        send(method, &format!("{}{path}", self.base), &headers, body)
    }
}

fn add_user(s: &Setup, name: &str, role: &str, zones: Option<&str>, password: &str) {
    let mut args = vec!["user", "add", name, "--role", role];
    if let Some(z) = zones {
        args.extend(["--zones", z]);
    }
    let out = s
        .cmd(&args)
        .env("ZONECAST_USER_PASSWORD", password)
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

/// Every byte of the server's database files (the database and its write-ahead log).
fn database_bytes(s: &Setup) -> Vec<u8> {
    ["data/zonecast.db", "data/zonecast.db-wal"]
        .iter()
        .filter_map(|f| std::fs::read(s.path(f)).ok())
        .flatten()
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn pushes(s: &Setup) -> u64 {
    s.report().totals.pushes
}

#[test]
fn zonecast_user_reads_the_password_from_the_environment_or_stdin_and_refuses_short_ones() {
    let s = setup(2, "");
    add_user(&s, "root", "admin", None, ADMIN_PW);
    // Standard input's first line.
    let mut child = s
        .cmd(&[
            "user", "add", "olga", "--role", "operator", "--zones", "first",
        ])
        .env_remove("ZONECAST_USER_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{OLGA_PW}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    // Short, empty, taken, unknown zone, grants for a non-operator: refused with exit 2.
    for (args, pw, why) in [
        (
            vec!["user", "add", "x1", "--role", "admin"],
            "short",
            "at least 8",
        ),
        (
            vec!["user", "add", "x2", "--role", "admin"],
            "",
            "no password",
        ),
        (
            vec!["user", "add", "root", "--role", "admin"],
            ADMIN_PW,
            "exists",
        ),
        (
            vec![
                "user", "add", "x3", "--role", "operator", "--zones", "nowhere",
            ],
            ADMIN_PW,
            "not a zone",
        ),
        (
            vec!["user", "add", "x4", "--role", "viewer", "--zones", "all"],
            ADMIN_PW,
            "operators only",
        ),
        (
            vec!["user", "add", "x/5", "--role", "admin"],
            ADMIN_PW,
            "user name",
        ),
        (
            vec!["user", "add", "x6", "--role", "boss"],
            ADMIN_PW,
            "admin, operator or viewer",
        ),
    ] {
        let out = s
            .cmd(&args)
            .env("ZONECAST_USER_PASSWORD", pw)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(
            pw.is_empty() || !err.contains(pw),
            "the password was echoed: {err}"
        );
    }
    // Empty standard input is no password either.
    let out = s
        .cmd(&["user", "add", "x7", "--role", "viewer"])
        .env_remove("ZONECAST_USER_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no password"), "{}", stderr(&out));

    let out = s.run(&["user", "list", "--json"]);
    assert_exit(&out, 0);
    let list = json(&out);
    assert_eq!(
        list,
        json!([
            {"name": "olga", "role": "operator", "zones": ["first"]},
            {"name": "root", "role": "admin", "zones": null},
        ])
    );
    // Stored as Argon2id, never in clear.
    let db = database_bytes(&s);
    assert!(
        contains(&db, "$argon2id$"),
        "no Argon2id hash in the database"
    );
    for pw in [ADMIN_PW, OLGA_PW] {
        assert!(!contains(&db, pw), "a password is in the database in clear");
    }
    // A new password, then removal.
    let out = s
        .cmd(&["user", "password", "olga"])
        .env("ZONECAST_USER_PASSWORD", OLGA_PW2)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let out = s.run(&["user", "remove", "olga"]);
    assert_exit(&out, 0);
    let out = s.run(&["user", "remove", "olga"]);
    assert_exit(&out, 2);
    let out = s.run(&["user", "list", "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
}

/// Start a page as `b` (or the token) and return its id.
fn start(srv: &Server, b: Option<&Browser>, zone: &str) -> String {
    let body = json!({"zone": zone, "source": "silence:60"});
    let (st, v) = match b {
        Some(b) => {
            let a = b.call("POST", "/api/pages", Some(body));
            (a.status, a.body)
        }
        None => api(srv, "POST", "/api/pages", Some(body)),
    };
    assert_eq!(st, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

fn ended(srv: &Server, id: &str) -> Value {
    wait_for(srv, "the page in the history", 20, || {
        let (st, v) = api(srv, "GET", &format!("/api/history/{id}"), None);
        (st == 200 && v["ended_ms"].is_i64()).then_some(v)
    })
}

#[test]
fn operators_page_only_their_zones_with_csrf_and_the_history_names_who_started_and_stopped() {
    let s = setup(3, "");
    add_user(&s, "root", "admin", None, ADMIN_PW);
    add_user(&s, "olga", "operator", Some("first"), OLGA_PW);
    add_user(&s, "vic", "viewer", None, VIC_PW);
    let srv = Server::start(&s);

    // Wrong password and unknown user: the same 401.
    let wrong = sign_in(&srv, "olga", "not-her-password");
    let nobody = sign_in(&srv, "nobody", "not-her-password");
    assert_eq!((wrong.status, nobody.status), (401, 401));
    assert_eq!(wrong.body, nobody.body);
    assert!(wrong.set_cookie.is_none());

    let olga = browser(&srv, "olga", OLGA_PW);
    let a = sign_in(&srv, "olga", OLGA_PW);
    let set = a.set_cookie.unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: no Secure ({set})");
    assert_eq!(
        (&a.body["user"], &a.body["role"], &a.body["zones"]),
        (&json!("olga"), &json!("operator"), &json!(["first"]))
    );
    let me = olga.call("GET", "/api/session", None);
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"], "olga");
    assert_eq!(me.body["csrf"], olga.csrf.as_str());
    let anon = send("GET", &format!("{}/api/session", srv.url), &[], None);
    assert_eq!(anon.status, 401);

    // A zone not granted: refused, by a crafted request as much as by the console.
    let a = olga.call(
        "POST",
        "/api/pages",
        Some(json!({"zone": "all", "source": "silence:60"})),
    );
    refused(&a, 403, "all");
    // No CSRF token, or from another site: refused, nothing changes.
    let granted = json!({"zone": "first", "source": "silence:60"});
    let a = olga.call_with("POST", "/api/pages", Some(granted.clone()), &[]);
    refused(&a, 403, "X-CSRF-Token");
    let a = olga.call_with(
        "POST",
        "/api/pages",
        Some(granted.clone()),
        &[("x-csrf-token", "0".repeat(64).as_str())],
    );
    assert_eq!(a.status, 403, "a wrong token: {}", a.body);
    let a = olga.call_with(
        "POST",
        "/api/pages",
        Some(granted.clone()),
        &[
            ("x-csrf-token", &olga.csrf),
            ("origin", "http://evil.example"),
        ],
    );
    refused(&a, 403, "another origin");
    let a = olga.call_with(
        "POST",
        "/api/pages",
        Some(granted.clone()),
        &[
            ("x-csrf-token", &olga.csrf),
            ("sec-fetch-site", "cross-site"),
        ],
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let (_, active) = api(&srv, "GET", "/api/pages", None);
    assert_eq!(active["pages"], json!([]), "nothing started");
    assert_eq!(pushes(&s), 0, "no phone was pushed");

    // Her zone, from this origin with the token: started, and named hers.
    let origin = srv.url.clone();
    let a = olga.call_with(
        "POST",
        "/api/pages",
        Some(granted),
        &[("x-csrf-token", &olga.csrf), ("origin", &origin)],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_owned();
    assert_eq!(a.body["page"]["requested_by"], "user:olga");
    // Stopping without the token: refused, still running.
    let a = olga.call_with("DELETE", &format!("/api/pages/{id}"), None, &[]);
    assert_eq!(a.status, 403, "{}", a.body);
    let (_, p) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
    assert_eq!(p["active"], true);
    let a = olga.call("DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(a.status, 202, "{}", a.body);
    let h = ended(&srv, &id);
    assert_eq!(
        (&h["started_by"], &h["stopped_by"], &h["ended_by"]),
        (
            &json!("olga"),
            &json!("olga"),
            &json!("stopped by user olga")
        ),
        "{h}"
    );

    // A page of a zone she has not: she cannot stop it; the token can.
    let other = start(&srv, None, "all");
    let a = olga.call("DELETE", &format!("/api/pages/{other}"), None);
    assert_eq!(a.status, 403, "{}", a.body);
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{other}"), None);
    assert_eq!(st, 202);
    let h = ended(&srv, &other);
    assert_eq!(
        (&h["started_by"], &h["stopped_by"]),
        (&json!("api-token"), &json!("api-token")),
        "{h}"
    );
    let (_, hist) = api(&srv, "GET", "/api/history", None);
    assert!(
        hist["pages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["started_by"].is_string()),
        "{hist}"
    );

    // A viewer reads, and pages nothing; neither reads the users.
    let vic = browser(&srv, "vic", VIC_PW);
    let a = vic.call(
        "POST",
        "/api/pages",
        Some(json!({"zone": "first", "source": "silence:60"})),
    );
    refused(&a, 403, "viewer");
    assert_eq!(vic.call("GET", "/api/history", None).status, 200);
    assert_eq!(vic.call("GET", "/api/zones", None).status, 200);
    assert_eq!(vic.call("GET", "/api/users", None).status, 403);
    // The microphone's socket is paging: not for a viewer, and not from another site's page
    // (a WebSocket is a GET the browser sends with the cookie).
    let a = vic.call("GET", "/api/pages/pg-x/mic?rate=48000", None);
    assert_eq!(a.status, 403, "{}", a.body);
    let a = olga.call_with(
        "GET",
        "/api/pages/pg-x/mic?rate=48000",
        None,
        &[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("origin", "http://evil.example"),
        ],
    );
    refused(&a, 403, "another origin");
    assert_eq!(olga.call("GET", "/api/users", None).status, 403);
    assert_eq!(olga.call("GET", "/api/audit", None).status, 403);
    let a = olga.call(
        "POST",
        "/api/users",
        Some(json!({"name": "mallory", "role": "admin", "password": "mallory-pw-1"})),
    );
    assert_eq!(a.status, 403, "an operator makes no admin: {}", a.body);
    // Unknown mutating routes are admin-only.
    let a = olga.call("PUT", "/api/sounds/x", None);
    assert_eq!(a.status, 403, "{}", a.body);

    // The admin manages users; the audit log says who did what.
    let root = browser(&srv, "root", ADMIN_PW);
    let a = root.call(
        "POST",
        "/api/users",
        Some(json!({"name": "piet", "role": "operator", "zones": ["all"], "password": "piet-pass-001"})),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"name": "piet", "role": "operator", "zones": ["all"]})
    );
    let a = root.call(
        "POST",
        "/api/users",
        Some(json!({"name": "piet", "role": "viewer", "password": "piet-pass-001"})),
    );
    assert_eq!(a.status, 409, "{}", a.body);
    let a = root.call(
        "POST",
        "/api/users",
        Some(json!({"name": "kees", "role": "viewer", "password": "short"})),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(!a.body.to_string().contains("short\""), "{}", a.body);
    let a = root.call("PUT", "/api/users/piet", Some(json!({"role": "viewer"})));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"name": "piet", "role": "viewer", "zones": null})
    );
    let a = root.call_with("DELETE", "/api/users/piet", None, &[]);
    assert_eq!(a.status, 403, "no CSRF token: {}", a.body);
    let a = root.call("DELETE", "/api/users/piet", None);
    assert_eq!(a.status, 204, "{}", a.body);
    let a = root.call("GET", "/api/users", None);
    let names: Vec<&str> = a.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["olga", "root", "vic"]);
    let audit = root.call("GET", "/api/audit?limit=1000", None);
    assert_eq!(audit.status, 200);
    let entries = audit.body["entries"].as_array().unwrap();
    let did = |actor: &str, action: &str, target: &str| {
        entries
            .iter()
            .any(|e| e["actor"] == actor && e["action"] == action && e["target"] == target)
    };
    assert!(did("cli", "user.add", "olga"), "{entries:?}");
    assert!(did("root", "user.add", "piet"), "{entries:?}");
    assert!(did("root", "user.update", "piet"), "{entries:?}");
    assert!(did("root", "user.remove", "piet"), "{entries:?}");
    assert!(did("olga", "session.signin", "olga"), "{entries:?}");
    let (st, _) = api(&srv, "GET", "/api/audit", None);
    assert_eq!(st, 200, "the token reads it too");

    // Her own password: the old one must be right; afterwards only the new one signs in.
    let a = olga.call(
        "POST",
        "/api/session/password",
        Some(json!({"old": "not-her-password", "new": OLGA_PW2})),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let a = olga.call(
        "POST",
        "/api/session/password",
        Some(json!({"old": OLGA_PW, "new": OLGA_PW2})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(sign_in(&srv, "olga", OLGA_PW).status, 401);
    let olga2 = browser(&srv, "olga", OLGA_PW2);
    assert!(did_audit(&root, "olga", "user.password", "olga"));

    // Signing out ends the session.
    let a = olga.call("DELETE", "/api/session", None);
    assert_eq!(a.status, 204, "{}", a.body);
    assert!(a.set_cookie.unwrap().contains("Max-Age=0"));
    let a = olga.call("GET", "/api/session", None);
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(olga2.call("GET", "/api/session", None).status, 200);
    // The ended session's cookie does not stand in the way of signing in again.
    let a = olga.call_with(
        "POST",
        "/api/session",
        Some(json!({"user": "olga", "password": OLGA_PW2})),
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);

    // A session past its lifetime signs no one in (its sign-in moved 13 hours back).
    {
        let db = rusqlite::Connection::open(s.path("data/zonecast.db")).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        db.execute(
            "UPDATE sessions SET created_ms = created_ms - 13 * 3600 * 1000 WHERE user = 'olga'",
            [],
        )
        .unwrap();
    }
    let a = olga2.call("GET", "/api/history", None);
    refused(&a, 401, "expired");
    assert!(did_audit(&root, "olga", "session.ended", "olga"));
    let a = olga2.call(
        "POST",
        "/api/pages",
        Some(json!({"zone": "first", "source": "silence:60"})),
    );
    assert_eq!(a.status, 401, "{}", a.body);

    // No password in the server's log nor in clear in its database.
    let log = srv.log();
    let db = database_bytes(&s);
    for pw in [
        ADMIN_PW,
        OLGA_PW,
        OLGA_PW2,
        VIC_PW,
        "piet-pass-001",
        "not-her-password",
    ] {
        assert!(!log.contains(pw), "a password in the server log:\n{log}");
        assert!(!contains(&db, pw), "a password in the database in clear");
    }
    assert!(
        !log.contains(&olga.cookie[olga.cookie.len() - 20..]),
        "a cookie in the log"
    );
}

fn did_audit(root: &Browser, actor: &str, action: &str, target: &str) -> bool {
    let a = root.call("GET", "/api/audit", None);
    a.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["actor"] == actor && e["action"] == action && e["target"] == target)
}

#[test]
fn failed_sign_ins_are_throttled_then_even_the_right_password_waits() {
    let s = setup(2, "");
    add_user(&s, "olga", "operator", None, OLGA_PW);
    let srv = Server::start(&s);
    for i in 0..5 {
        let a = sign_in(&srv, "olga", &format!("wrong-password-{i}"));
        assert_eq!(a.status, 401, "attempt {i}: {}", a.body);
    }
    let a = sign_in(&srv, "olga", OLGA_PW);
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.set_cookie.is_none());
    let wait: u64 = a.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // After the wait, the right password signs in again.
    std::thread::sleep(Duration::from_secs(wait));
    let a = sign_in(&srv, "olga", OLGA_PW);
    assert_eq!(a.status, 200, "{}", a.body);
    // The token is not throttled and does not need a session.
    let (st, _) = api(&srv, "GET", "/api/history", None);
    assert_eq!(st, 200);
    let (st, v) = api(&srv, "GET", "/api/session", None);
    assert_eq!((st, &v["user"]), (200, &json!("api-token")));
}

#[test]
fn a_burst_of_parallel_guesses_is_throttled_like_one_after_another() {
    let s = setup(2, "");
    add_user(&s, "olga", "operator", None, OLGA_PW);
    let srv = Server::start(&s);
    let url = format!("{}/api/session", srv.url);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let tries: Vec<_> = (0..20)
            .map(|i| {
                let url = url.clone();
                scope.spawn(move || {
                    let body = json!({"user": "olga", "password": format!("guess-number-{i}")});
                    send("POST", &url, &[], Some(body)).status
                })
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let wrong = statuses.iter().filter(|&&s| s == 401).count();
    let waited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(wrong + waited, 20, "{statuses:?}");
    // Five free failures, and at most one more that was being checked beside the fifth.
    assert!(
        (5..=6).contains(&wrong),
        "{wrong} guesses were checked: {statuses:?}"
    );
}

#[cfg(feature = "tls")]
#[test]
fn over_https_the_session_cookie_is_secure() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let s = setup(
        2,
        "https_listen = \"127.0.0.1:0\"\ntls_self_signed = true\n",
    );
    add_user(&s, "olga", "operator", None, OLGA_PW);
    let srv = Server::start(&s);
    let addr = wait_for(&srv, "the HTTPS listener", 10, || {
        let log = srv.log();
        let line = log.lines().find(|l| l.contains("console over HTTPS on"))?;
        let addr = line.split("https://").nth(1)?.split_whitespace().next()?;
        Some(addr.to_owned())
    });
    let cert = std::fs::read(s.path("data/tls/self-signed-cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&cert) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let body = json!({"user": "olga", "password": OLGA_PW}).to_string();
    let request = format!(
        "POST /api/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        tls.read_to_string(&mut out).await.unwrap_or_default();
        out
    });
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: zonecast_session=")
        })
        .unwrap_or_else(|| panic!("no session cookie: {answer}"));
    assert!(cookie.trim_end().ends_with("; Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Over plain HTTP the same sign-in's cookie is not Secure (a browser would drop it).
    let plain = sign_in(&srv, "olga", OLGA_PW);
    assert!(!plain.set_cookie.unwrap().contains("Secure"));
}
