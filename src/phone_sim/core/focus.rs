//! The phone's side of application events: which application has the focus, and the
//! `notifyApplicationEvent` POSTs each transition sends (the events and their attributes are
//! [`super::app`]'s). Methods of [`PhoneCore`]; the core calls them, and this file is the only one
//! that uses both.

use super::app::{APPS_MAX, AppEvent, AppStatus, app_event_body};
use super::*;

/// The POST a phone makes to the Notify URI `uri` with `body` (`DATA=<event .../>`); `None`
/// when `uri` is not a Notify URI (a phone sends nothing then). A URI with a `data` field sends
/// `DATA=` and that data instead of the event, raw, as Cisco's example shows
/// (`Notify:http:myserver:8080:path/streamhandler?event=stopped::myStreamStoppedData` posts
/// `DATA=myStreamStoppedData`, `shared/reference/cisco-doc-notify-uri-examples.txt`).
pub(super) fn notify_post(uri: &str, body: String) -> Option<Effect> {
    let Ok(Uri::Notify(n)) = uri.trim().parse::<Uri>() else {
        return None;
    };
    let path = n.path().trim_start_matches('/');
    Some(Effect::Notify {
        url: format!("http://{}:{}/{}", n.host(), n.port(), path),
        authorization: n.credentials().map(|c| format!("Basic {c}")),
        body: n.data().map_or(body, |data| format!("DATA={data}")),
    })
}

impl PhoneCore {
    fn app_index(&self, app_id: &str) -> Option<usize> {
        self.state.apps.iter().position(|a| a.app_id == app_id)
    }

    fn focused_index(&self) -> Option<usize> {
        self.state
            .apps
            .iter()
            .position(|a| a.status == AppStatus::Focused)
    }

    /// The record of the application whose object is on screen.
    fn screen_app_index(&self) -> Option<usize> {
        let id = self.state.object.as_ref()?.app_id.as_deref()?;
        self.app_index(id)
    }

    /// Send `event` to the handler `app_id` registered for it, if any.
    fn fire(
        &mut self,
        app_id: &str,
        handlers: &[(String, String)],
        event: AppEvent,
        effects: &mut Vec<Effect>,
    ) {
        let Some((_, uri)) = handlers.iter().find(|(a, _)| a == event.attribute()) else {
            return;
        };
        if let Some(e) = notify_post(uri, app_event_body(app_id, event)) {
            self.state.counters.notifies += 1;
            effects.push(e);
        }
    }

    fn fire_at(&mut self, i: usize, event: AppEvent, effects: &mut Vec<Effect>) {
        let r = &self.state.apps[i];
        let (id, handlers) = (r.app_id.clone(), r.handlers.clone());
        self.fire(&id, &handlers, event, effects);
    }

    /// Move application `i` to `status`, firing the event of that transition (none when it is
    /// there already).
    fn set_status(&mut self, i: usize, status: AppStatus, effects: &mut Vec<Effect>) {
        let r = &mut self.state.apps[i];
        if r.status == status {
            return;
        }
        r.status = status;
        r.lost_to_call = false;
        let event = match status {
            AppStatus::Focused => AppEvent::FocusGained,
            AppStatus::Background => AppEvent::FocusLost,
            AppStatus::Minimized => AppEvent::Minimized,
        };
        self.fire_at(i, event, effects);
    }

    /// Put `new` on screen (`None`: the idle screen). The focused application loses the focus
    /// unless `new` belongs to it; `new`'s application gains it back if it had lost it.
    pub(super) fn replace_screen(&mut self, new: Option<ScreenObject>, effects: &mut Vec<Effect>) {
        let new_app = new.as_ref().and_then(|o| o.app_id.clone());
        if let Some(i) = self.focused_index()
            && new_app.as_deref() != Some(self.state.apps[i].app_id.as_str())
        {
            self.set_status(i, AppStatus::Background, effects);
        }
        if let (Some(o), Some(id)) = (&new, &new_app) {
            let i = match self.app_index(id) {
                Some(i) => {
                    self.state.apps[i].handlers = o.app_events.clone();
                    i
                }
                None => {
                    if self.state.apps.len() >= APPS_MAX
                        && let Some(old) = self
                            .state
                            .apps
                            .iter()
                            .position(|a| a.status != AppStatus::Focused)
                    {
                        let gone = self.state.apps.remove(old);
                        self.remember_ended(gone.app_id);
                    }
                    self.state.apps.push(AppRecord {
                        app_id: id.clone(),
                        handlers: o.app_events.clone(),
                        status: AppStatus::Focused,
                        lost_to_call: false,
                        object: None,
                    });
                    self.state.apps.len() - 1
                }
            };
            self.state.apps[i].object = Some(o.clone());
            self.set_status(i, AppStatus::Focused, effects);
        }
        self.state.object = new;
    }

    /// Close application `i`: `closed` goes out; its object leaves the screen.
    fn close_app(&mut self, i: usize, effects: &mut Vec<Effect>) {
        self.fire_at(i, AppEvent::Closed, effects);
        let r = self.state.apps.remove(i);
        if self.state.focus_app.as_deref() == Some(r.app_id.as_str()) {
            self.state.focus_app = None;
        }
        if self
            .state
            .object
            .as_ref()
            .is_some_and(|o| o.app_id.as_deref() == Some(r.app_id.as_str()))
        {
            self.state.object = None;
            self.state.service_closed += 1;
        }
        self.remember_ended(r.app_id);
    }

    /// Remember that application `id` ended (closed, or forgotten for room).
    fn remember_ended(&mut self, id: String) {
        let ended = &mut self.state.ended_apps;
        ended.retain(|a| *a != id);
        if ended.len() == APPS_MAX {
            ended.pop_front();
        }
        ended.push_back(id);
    }

    /// The user leaves the object on screen (Exit, Back past the first screen): its
    /// application is closed; the screen goes idle.
    pub(super) fn close_screen(&mut self, effects: &mut Vec<Effect>) {
        if let Some(i) = self.screen_app_index() {
            self.close_app(i, effects);
        }
        self.state.object = None;
    }

    /// Every application closes (`Init:Services`); the screen goes idle.
    pub(super) fn close_all_apps(&mut self, effects: &mut Vec<Effect>) {
        while !self.state.apps.is_empty() {
            self.close_app(0, effects);
        }
        if self.state.object.take().is_some() {
            self.state.service_closed += 1;
        }
    }

    /// The application on screen goes to the background, minimized (the Applications key).
    pub(super) fn minimize_screen_app(&mut self, effects: &mut Vec<Effect>) {
        if let Some(i) = self.screen_app_index() {
            self.set_status(i, AppStatus::Minimized, effects);
        }
    }

    /// A call starts: the focused application loses the focus to it.
    pub(super) fn call_takes_focus(&mut self, effects: &mut Vec<Effect>) {
        if let Some(i) = self.focused_index() {
            self.set_status(i, AppStatus::Background, effects);
            self.state.apps[i].lost_to_call = true;
        }
    }

    /// The call ended: the application on screen that lost the focus to it gets it back.
    pub(super) fn call_returns_focus(&mut self, effects: &mut Vec<Effect>) {
        if let Some(i) = self.screen_app_index()
            && self.state.apps[i].lost_to_call
        {
            self.set_status(i, AppStatus::Focused, effects);
        }
    }

    /// `App:...:{appId}`.
    pub(super) fn app(&mut self, app: &App, effects: &mut Vec<Effect>) -> ItemResult {
        let id = app.app_id();
        let known = self.app_index(id);
        let had_focus = self.state.focus_app.as_deref() == Some(id);
        match app.action() {
            AppAction::RequestFocus => {
                self.state.focus_app = Some(id.to_owned());
                if let Some(i) = known
                    && self.state.apps[i].status != AppStatus::Focused
                {
                    // Its latest object comes back to the front.
                    match self.state.apps[i].object.clone() {
                        Some(o) => {
                            if self.state.object.is_some() {
                                self.state.service_closed += 1;
                            }
                            self.replace_screen(Some(o), effects);
                        }
                        None => {
                            if let Some(f) = self.focused_index() {
                                self.set_status(f, AppStatus::Background, effects);
                            }
                            self.set_status(i, AppStatus::Focused, effects);
                        }
                    }
                }
                ItemResult::ok()
            }
            // An application this phone never showed is unknown; one that was closed is not
            // active (the spec's two App URI failures, Status 6).
            _ if known.is_none() && !had_focus => {
                if self.state.ended_apps.iter().any(|a| a == id) {
                    ItemResult::fail(6, "Application is not Active")
                } else {
                    ItemResult::fail(6, "Unknown Application ID")
                }
            }
            action => {
                if had_focus {
                    self.state.focus_app = None;
                }
                let Some(i) = known else {
                    return ItemResult::ok();
                };
                match action {
                    AppAction::ReleaseFocus => {
                        if self.state.apps[i].status == AppStatus::Focused {
                            self.set_status(i, AppStatus::Background, effects);
                        }
                    }
                    AppAction::Minimize => {
                        self.set_status(i, AppStatus::Minimized, effects);
                        if self.screen_app_index() == Some(i) {
                            self.state.object = None;
                            self.state.service_closed += 1;
                        }
                    }
                    _ => self.close_app(i, effects),
                }
                ItemResult::ok()
            }
        }
    }
}
