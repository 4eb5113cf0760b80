//! A nats-server with JetStream on a free loopback port (Debian's, `make test-deps`), for the
//! cluster tests.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A nats-server with JetStream in a temporary directory, killed on drop.
pub struct Nats {
    child: Child,
    /// Its client port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Nats {
    /// Start one and wait until it listens.
    pub fn start() -> Nats {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "nats-server is not installed: run `make test-deps` (Debian package nats-server)",
            );
        // Ready when a client gets its INFO line: a port that accepts is not yet a server that
        // answers (early connections are reset while it starts, more so on a loaded machine).
        let deadline = Instant::now() + Duration::from_secs(20);
        while !greets(port) {
            assert!(
                Instant::now() < deadline,
                "nats-server did not answer on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nats {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nats {
    /// Send `sig` (`-STOP`, `-CONT`, ...) to the server: a store that stops answering.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill {sig} nats-server");
    }
}

/// Whether a nats-server on `port` greets a new connection with its `INFO` line.
fn greets(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).is_ok() && &buf == b"INFO"
}
