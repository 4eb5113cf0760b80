//! `App:` (application focus management) and `Notify:` (an HTTP callback the phone makes).

use std::fmt;
use std::num::NonZeroU16;

use super::fields::{check_text, optional, parse_decimal};
use super::names::{AppAction, AppPriority};
use super::payload::IdleTimer;
use crate::error::Invalid;

/// `App:{action}:{priority}:{idleTimer}:{applicationId}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct App {
    action: AppAction,
    priority: AppPriority,
    idle_timer: IdleTimer,
    app_id: String,
}

impl App {
    /// Check the fields: idle timer 10..=86400 s (the phones' default is 60), id 1..=64
    /// characters without colons.
    pub fn new(
        action: AppAction,
        priority: AppPriority,
        idle_timer: u32,
        app_id: &str,
    ) -> Result<Self, Invalid> {
        let idle_timer = IdleTimer::in_field("App idle timer", idle_timer)?;
        check_text(
            "App application id",
            app_id,
            1..=64,
            |c| c != ':',
            "must be 1..=64 characters, without colons",
        )?;
        Ok(App {
            action,
            priority,
            idle_timer,
            app_id: app_id.to_owned(),
        })
    }

    /// What happens to the application.
    pub fn action(&self) -> AppAction {
        self.action
    }
    /// When it happens.
    pub fn priority(&self) -> AppPriority {
        self.priority
    }
    /// Seconds to wait for the user to be idle.
    pub fn idle_timer(&self) -> u32 {
        self.idle_timer.get()
    }
    /// The application (`Company/Product`).
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub(super) fn parse(rest: &str) -> Result<Self, Invalid> {
        match rest.split(':').collect::<Vec<_>>()[..] {
            [action, priority, timer, id] => {
                let timer = IdleTimer::parse_in("App idle timer", timer)?;
                App::new(action.parse()?, priority.parse()?, timer.get(), id)
            }
            _ => Err(Invalid::new(
                "App",
                rest,
                "must be ACTION:PRIORITY:IDLE_TIMER:APP_ID, the id without colons",
            )),
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let App {
            action,
            priority,
            idle_timer,
            app_id,
        } = self;
        write!(f, "{action}:{priority}:{idle_timer}:{app_id}")
    }
}

/// `Notify:http:{host}:{port}:{path}:{credentials}:{data}`: the phone POSTs `DATA={data}` to
/// `http://{host}:{port}/{path}`.
///
/// The spec says Notify is not supported inside a CiscoIPPhoneExecute: it belongs in event
/// handlers (`onStopped` ...) and soft keys, see [`super::Uri::allowed_in_execute`].
///
/// Rendering always writes all six fields, absent ones empty (`...:path::`). Parsing also
/// accepts Cisco's own short form without the trailing fields
/// (`Notify:http:server:8080:path/streamhandler?event=stopped`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notify {
    host: String,
    port: NonZeroU16,
    path: String,
    credentials: Option<String>,
    data: Option<String>,
}

impl Notify {
    /// Check the fields: host name or IPv4 address (letters, digits, `.`, `-`, `_`), port
    /// 1..=65535, path without colons, semicolons or whitespace, credentials as base64 text
    /// (`userid:password` encoded), data without semicolons. `Some("")` means absent.
    pub fn new(
        host: &str,
        port: u16,
        path: &str,
        credentials: Option<&str>,
        data: Option<&str>,
    ) -> Result<Self, Invalid> {
        check_text(
            "Notify host",
            host,
            1..=253,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'),
            "must be a host name or IPv4 address (letters, digits, . - _), 1..=253 characters",
        )?;
        let port = NonZeroU16::new(port)
            .ok_or_else(|| Invalid::new("Notify port", port, "must be 1..=65535"))?;
        // The path lands in the phone's HTTP request line, so no whitespace either.
        check_text(
            "Notify path",
            path,
            1..=usize::MAX,
            |c| !matches!(c, ':' | ';') && !c.is_whitespace(),
            "must be non-empty, without colons, semicolons or whitespace",
        )?;
        let credentials = optional(credentials)
            .map(|s| {
                check_text(
                    "Notify credentials",
                    s,
                    1..=usize::MAX,
                    |c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='),
                    "must be base64 text (A-Z a-z 0-9 + / =) of userid:password",
                )
                .map(|()| s.to_owned())
            })
            .transpose()?;
        // Data is the last field, so a colon in it cannot shift the others.
        let data = optional(data)
            .map(|s| {
                check_text(
                    "Notify data",
                    s,
                    1..=usize::MAX,
                    |c| c != ';',
                    "must be without semicolons",
                )
                .map(|()| s.to_owned())
            })
            .transpose()?;
        Ok(Notify {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            credentials,
            data,
        })
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port.get()
    }
    /// The path (and query) the phone POSTs to.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Base64 of `userid:password`, if the server wants basic authentication.
    pub fn credentials(&self) -> Option<&str> {
        self.credentials.as_deref()
    }
    /// What the phone sends as `DATA=`.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref()
    }

    /// The whole URI, `Notify:http:...` (what goes in an event handler).
    pub fn to_uri(&self) -> String {
        format!("Notify:{self}")
    }

    /// `uri`, the value of an event handler `field` (`onStopped`, `onAppClosed` ...), read as
    /// the whole `Notify:` URI it must be: any other family, or a Notify URI breaking a rule,
    /// is refused naming `field`.
    pub fn handler(field: &str, uri: &str) -> Result<Notify, Invalid> {
        const RULE: &str =
            "an event handler is a Notify:http:HOST:PORT:PATH[:CREDENTIALS[:DATA]] URI";
        match uri.parse::<super::Uri>() {
            Ok(super::Uri::Notify(n)) => Ok(n),
            Ok(other) => Err(Invalid::new(
                field,
                uri,
                format!("{RULE}, not {}:", other.family()),
            )),
            Err(e) => Err(Invalid::new(
                field,
                uri,
                format!("{RULE}: {} {:?} {}", e.field, e.value, e.rule),
            )),
        }
    }

    pub(super) fn parse(rest: &str) -> Result<Self, Invalid> {
        let f: Vec<&str> = rest.splitn(6, ':').collect();
        if f.len() < 4 {
            return Err(Invalid::new(
                "Notify",
                rest,
                "must be http:HOST:PORT:PATH[:CREDENTIALS[:DATA]]",
            ));
        }
        if f[0] != "http" {
            return Err(Invalid::new("Notify protocol", f[0], "must be http"));
        }
        let port = parse_decimal(f[2])
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| Invalid::new("Notify port", f[2], "must be 1..=65535"))?;
        Notify::new(f[1], port, f[3], f.get(4).copied(), f.get(5).copied())
    }
}

impl fmt::Display for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "http:{}:{}:{}:{}:{}",
            self.host,
            self.port,
            self.path,
            self.credentials.as_deref().unwrap_or(""),
            self.data.as_deref().unwrap_or("")
        )
    }
}
