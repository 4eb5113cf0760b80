//! Dial-in as trunks call (issue 22): a real `zonecast serve` with `[sip]` and an emulated fleet on
//! loopback, called by Debian's sipp (package `sip-tester`). Over TCP (`-t t1`, the agent listens
//! on TCP at its UDP port): a call to a live route pages the zone, whose phones hear the caller's
//! 1 kHz, and the BYE on that connection stops every phone; an OPTIONS keep-alive gets 200; a flood
//! of idle connections from outside `allow` is bounded (256) while the trunk's OPTIONS still get
//! through. A caller from outside `[sip] allow` (127.0.0.2 and 127.0.0.3, `allow` being 127.0.0.1)
//! is challenged 401 (digest, `[[sip.caller]]`), answers with sipp's `[authentication]` and pages;
//! a wrong password gets 403 and pages nothing; the password is nowhere in the server's stdout,
//! stderr or data dir. Without sipp each test prints one line and passes.

mod common;

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::server::{Server, api, listening, setup, wait_for};
use common::sip_call::{
    SippCall, free_sip_port, have_sipp, hear_the_call, scenario, sipp_log, write_tone,
};

const NUMBER: &str = "7001";
const CALLER: &str = "lobby-pbx";
const PASSWORD_ENV: &str = "ZC_TEST_SIP_CALLER_PASSWORD";
const PASSWORD: &str = "Tr0mb0ne-9f41c7";

/// `[sip]` on 127.0.0.1:`port` (UDP and TCP, the default), callers from 127.0.0.1 only, one
/// digest caller, `7001` → zone `all`.
fn sip_table(port: u16) -> String {
    format!(
        "[sip]\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\nno_rtp = \"3s\"\n\n\
         [[sip.caller]]\nuser = \"{CALLER}\"\npassword_env = \"{PASSWORD_ENV}\"\n\n\
         [[sip.route]]\nnumber = \"{NUMBER}\"\nzone = \"all\"\npriority = \"urgent\"\n\n"
    )
}

/// A `zonecast serve` listening for SIP on `port`, its `n` phones, a folder for sipp (with
/// the tone), and the file its stdout goes to.
struct Trunk {
    port: u16,
    s: common::cli_setup::Setup,
    srv: Server,
    dir: tempfile::TempDir,
    stdout: std::path::PathBuf,
}

/// The [`Trunk`] listening, or `None` (said in one line) without sipp.
fn trunk(n: usize) -> Option<Trunk> {
    if !have_sipp() {
        return None;
    }
    let port = free_sip_port("127.0.0.1");
    let s = setup(n, &sip_table(port));
    // The harness discards the server's stdout: a shell in front keeps it in a file.
    let stdout = s.path("serve.stdout");
    let serve = s.cmd(&["serve", "--listen", "127.0.0.1:0"]);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("exec \"$0\" \"$@\" >\"$ZC_TEST_STDOUT\"")
        .arg(serve.get_program())
        .args(serve.get_args())
        .env("ZC_TEST_STDOUT", &stdout)
        .env(PASSWORD_ENV, PASSWORD);
    for (k, v) in serve.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let srv = Server::spawn(cmd);
    wait_for(&srv, "the SIP agent to listen on TCP", 20, || {
        let log = srv.log();
        let both = log.contains(&format!("SIP listening on tcp:127.0.0.1:{port}"))
            && log.contains("SIP listening on udp:");
        both.then_some(())
    });
    let dir = tempfile::tempdir().unwrap();
    write_tone(dir.path());
    Some(Trunk {
        port,
        s,
        srv,
        dir,
        stdout,
    })
}

impl Trunk {
    /// Call with `name` from `from` over `transport`, with `extra` sipp arguments.
    fn call(&self, name: &str, from: &str, transport: &str, extra: &[&str]) -> (bool, String) {
        let path = scenario(name);
        let out = SippCall {
            dir: self.dir.path(),
            scenario: &path,
            from,
            port: self.port,
            number: NUMBER,
            transport,
            extra,
        }
        .run();
        (out.status.success(), sipp_log(self.dir.path(), &out))
    }

    /// [`Trunk::call`] on a thread (the test meanwhile listens to the phones).
    fn call_in_background(
        &self,
        name: &'static str,
        from: &'static str,
        transport: &'static str,
        extra: Vec<String>,
    ) -> std::thread::JoinHandle<(bool, String)> {
        let dir = self.dir.path().to_owned();
        let port = self.port;
        std::thread::spawn(move || {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let path = scenario(name);
            let out = SippCall {
                dir: &dir,
                scenario: &path,
                from,
                port,
                number: NUMBER,
                transport,
                extra: &extra,
            }
            .run();
            (out.status.success(), sipp_log(&dir, &out))
        })
    }
}

#[test]
fn a_call_over_tcp_pages_the_zone_and_its_bye_stops_every_phone() {
    let Some(t) = trunk(3) else {
        return;
    };
    let call = t.call_in_background("uac_trunk_tcp.xml", "127.0.0.1", "t1", Vec::new());
    let call = hear_the_call(&t.s, 3, call, &|| t.srv.log());
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the TCP call failed: {log}\nserver: {}", t.srv.log());
    t.s.wait_until("every phone stopped after the BYE over TCP", |r| {
        listening(r) == 0
    });
    wait_for(&t.srv, "the page's end in the history", 20, || {
        let (_, h) = api(&t.srv, "GET", "/api/history", None);
        h.to_string().contains("the caller hung up").then_some(())
    });
}

#[test]
fn options_over_tcp_get_200() {
    let Some(t) = trunk(2) else {
        return;
    };
    let (ok, log) = t.call("options.xml", "127.0.0.1", "t1", &[]);
    assert!(ok, "OPTIONS over TCP: {log}\nserver: {}", t.srv.log());
    // Over UDP as before.
    let (ok, log) = t.call("options.xml", "127.0.0.1", "u1", &[]);
    assert!(ok, "OPTIONS over UDP: {log}\nserver: {}", t.srv.log());
}

#[test]
fn a_flood_of_tcp_connections_is_bounded_and_the_trunks_still_get_through() {
    let Some(t) = trunk(2) else {
        return;
    };
    let target: std::net::SocketAddr = format!("127.0.0.1:{}", t.port).parse().unwrap();
    let from = |ip: &str| {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None);
        let sock = sock.unwrap();
        let at: std::net::SocketAddr = format!("{ip}:0").parse().unwrap();
        sock.bind(&at.into()).unwrap();
        sock.connect(&target.into()).unwrap();
        let s = std::net::TcpStream::from(sock);
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        s
    };
    // Closed by the agent (EOF or reset), not merely quiet.
    let closed = |s: &mut std::net::TcpStream| match s.read(&mut [0u8; 16]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    };
    // 256 idle connections from outside `allow` (the agent's bound) are kept; one more is not.
    let mut held: Vec<_> = (0..256).map(|_| from("127.0.0.3")).collect();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !closed(&mut held[255]),
        "a connection under the bound was closed"
    );
    let mut extra = from("127.0.0.3");
    assert!(
        closed(&mut extra),
        "the 257th connection from outside allow was kept"
    );
    // The trunk (127.0.0.1) still gets its OPTIONS answered over TCP.
    let (ok, log) = t.call("options.xml", "127.0.0.1", "t1", &[]);
    assert!(
        ok,
        "OPTIONS over TCP during the flood: {log}\nserver: {}",
        t.srv.log()
    );
}

#[test]
fn a_caller_outside_allow_is_challenged_and_pages_with_the_right_password_only() {
    let Some(t) = trunk(2) else {
        return;
    };
    // A wrong password (over TCP, from 127.0.0.3): 401, then 403, and nothing is paged.
    let wrong = ["-au", CALLER, "-ap", "not-the-password"];
    let (ok, log) = t.call("uac_trunk_auth_refused.xml", "127.0.0.3", "t1", &wrong);
    assert!(ok, "expected 401 then 403: {log}\nserver: {}", t.srv.log());
    std::thread::sleep(Duration::from_millis(500));
    let r = t.s.report();
    assert!(r.phones.iter().all(|p| p.heard.is_empty()), "{r:?}");

    // The right one (over UDP, from 127.0.0.2): 401, then the call, heard by the zone.
    let right = vec!["-au".into(), CALLER.into(), "-ap".into(), PASSWORD.into()];
    let call = t.call_in_background("uac_trunk_auth.xml", "127.0.0.2", "u1", right);
    let call = hear_the_call(&t.s, 2, call, &|| t.srv.log());
    let (ok, log) = call.join().unwrap();
    assert!(ok, "the digest call failed: {log}\nserver: {}", t.srv.log());
    t.s.wait_until("every phone stopped after the BYE", |r| listening(r) == 0);
    let log = t.srv.log();
    assert!(
        log.contains(&format!("let in as caller \"{CALLER}\"")),
        "{log}"
    );
    assert!(
        log.contains("refused 403: a wrong digest response"),
        "{log}"
    );

    // The password is nowhere: not in the log, not on stdout, not in the data dir.
    wait_for(&t.srv, "the call journaled", 20, || {
        let (_, body) = api(&t.srv, "GET", "/api/calls", None);
        let recent = body["recent"].as_array().cloned().unwrap_or_default();
        (!recent.is_empty()).then_some(())
    });
    assert!(!log.contains(PASSWORD), "{log}");
    let stdout = std::fs::read(&t.stdout).unwrap_or_default();
    assert!(
        !contains(&stdout, PASSWORD.as_bytes()),
        "stdout has the password"
    );
    let mut files = 0;
    visit(&t.s.path("data"), &mut |path, bytes| {
        files += 1;
        assert!(
            !contains(bytes, PASSWORD.as_bytes()),
            "{} has the password",
            path.display()
        );
    });
    assert!(files > 0, "no data dir");
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, with its bytes.
fn visit(dir: &Path, f: &mut dyn FnMut(&Path, &[u8])) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, f);
        } else if let Ok(bytes) = std::fs::read(&path) {
            f(&path, &bytes);
        }
    }
}
