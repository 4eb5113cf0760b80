//! Application event handlers: an object's root may name its application (`appId`) and the
//! Notify URIs the phone calls when the application loses or regains the focus, is minimized
//! or closed (`onAppFocusLost`, `onAppFocusGained`, `onAppMinimized`, `onAppClosed`). The phone
//! POSTs `DATA=<notifyApplicationEvent appId=".." type=".."/>` to them, raw, as it does for
//! `notifyMediaEvent`.
//!
//! The core remembers every application it has shown ([`super::AppRecord`]): the one on screen
//! has the focus; the others lost it (another object replaced theirs, a call started) or were
//! minimized. An event fires once per transition: an object of the same application replacing
//! another keeps the focus, a focused application gains nothing. Which application holds the
//! focus, and the POSTs that follow, are `focus.rs`'s; this file is the events and their parsing.

use quick_xml::events::Event;
use serde::Serialize;

use super::wire::escape;
use crate::xsi::xml::{self as toolkit, Rules};

/// The event-handler attributes a display object's root may carry.
pub const APP_EVENT_ATTRS: [&str; 4] = [
    "onAppFocusLost",
    "onAppFocusGained",
    "onAppMinimized",
    "onAppClosed",
];

/// Applications remembered at most (the oldest in the background is forgotten first).
pub const APPS_MAX: usize = 16;

/// A `notifyApplicationEvent` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AppEvent {
    /// `focusLost`.
    FocusLost,
    /// `focusGained`.
    FocusGained,
    /// `minimized`.
    Minimized,
    /// `closed`.
    Closed,
}

impl AppEvent {
    /// The root attribute naming its handler (`onAppFocusLost` ...).
    pub fn attribute(self) -> &'static str {
        match self {
            AppEvent::FocusLost => "onAppFocusLost",
            AppEvent::FocusGained => "onAppFocusGained",
            AppEvent::Minimized => "onAppMinimized",
            AppEvent::Closed => "onAppClosed",
        }
    }

    /// The `type` of the notification (`focusLost` ...).
    pub fn type_name(self) -> &'static str {
        match self {
            AppEvent::FocusLost => "focusLost",
            AppEvent::FocusGained => "focusGained",
            AppEvent::Minimized => "minimized",
            AppEvent::Closed => "closed",
        }
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// Its object is on screen, in front.
    Focused,
    /// It lost the focus (another object, a call, `App:ReleaseFocus`).
    Background,
    /// Minimized (the Applications key, `App:Minimize`).
    Minimized,
}

/// `appId` and the event handlers among a root element's attributes.
pub fn app_fields<'a>(
    attrs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Option<String>, Vec<(String, String)>) {
    let mut app_id = None;
    let mut handlers = Vec::new();
    for (k, v) in attrs {
        if k == "appId" {
            let v = v.trim();
            if !v.is_empty() {
                app_id = Some(v.to_owned());
            }
        } else if APP_EVENT_ATTRS.contains(&k) {
            handlers.push((k.to_owned(), v.trim().to_owned()));
        }
    }
    (app_id, handlers)
}

/// `appId` and the event handlers on the root element of `xml` (none when it has no `appId`).
pub fn app_attributes(xml: &str) -> (Option<String>, Vec<(String, String)>) {
    let mut reader = toolkit::reader(toolkit::strip_bom(xml), Rules::Standard);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let attrs = toolkit::attributes(&e);
                let (id, handlers) =
                    app_fields(attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                return match id {
                    Some(id) => (Some(id), handlers),
                    None => (None, Vec::new()),
                };
            }
            Ok(Event::Eof) | Err(_) => return (None, Vec::new()),
            Ok(_) => {}
        }
    }
}

/// The body of a `notifyApplicationEvent`.
pub fn app_event_body(app_id: &str, event: AppEvent) -> String {
    format!(
        "DATA=<notifyApplicationEvent appId=\"{}\" type=\"{}\"/>",
        escape(app_id),
        event.type_name()
    )
}
