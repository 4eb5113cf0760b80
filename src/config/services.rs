//! Phone services: who may page which zone from their own phone (`[[permission]]`), and the
//! pre-recorded messages phones can start (`[[message]]`). Without a `[[permission]]` no phone
//! may page from its Services menu. Both tables are read and checked here, against the phones,
//! zones, levels and bells.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use super::phone::PhoneEntry;
use super::play::{Play, check_play, not_a_zone};
use super::priority::Priorities;
use super::screen_text::title_rule;
use super::source::Source;
use super::speech::{RawSpeech, check_speaks, voice};
use super::value::{Int, Text, check_name};
use super::zone::Zone;
use crate::error::Invalid;
use crate::schedule::Bell;

/// One `[[permission]]`: these phones (or the phones of these zones) may page these zones with
/// their microphone and start these messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Phone names, or zone names standing for their phones.
    pub phones: Vec<String>,
    /// Zones they may page live.
    pub zones: Vec<String>,
    /// Messages (`[[message]]` names) they may start.
    pub messages: Vec<String>,
}

/// One `[[message]]`: a pre-recorded announcement or bell a phone can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Unique name (used in URLs).
    pub name: String,
    /// What the phone's menu shows.
    pub title: String,
    /// What plays (as a bell's source).
    pub source: String,
    /// Zones paged.
    pub zones: Vec<String>,
    /// Priority level (None: the default).
    pub priority: Option<String>,
    /// Ask "are you sure?" before starting (emergency messages).
    pub confirm: bool,
    /// The voice a `say:` source speaks in (`[speech]`, or the message's own keys).
    pub voice: crate::source::Voice,
}

/// The `[[permission]]` and `[[message]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Services {
    /// Permissions, in file order.
    pub permissions: Vec<Permission>,
    /// Messages, in file order.
    pub messages: Vec<Message>,
}

impl Services {
    /// The zones and messages phone `phone` may use. `zone_phones(z)` lists zone `z`'s phones
    /// (so a permission naming a zone covers its phones).
    pub fn allowed(
        &self,
        phone: &str,
        zone_phones: impl Fn(&str) -> Vec<String>,
    ) -> (Vec<String>, Vec<&Message>) {
        let mut zones = BTreeSet::new();
        let mut messages = BTreeSet::new();
        for p in &self.permissions {
            let covers = p
                .phones
                .iter()
                .any(|who| who == phone || zone_phones(who).iter().any(|n| n == phone));
            if covers {
                zones.extend(p.zones.iter().cloned());
                messages.extend(p.messages.iter().cloned());
            }
        }
        // Keep the file's order for the menu.
        let zones = self
            .permissions
            .iter()
            .flat_map(|p| p.zones.iter())
            .filter(|z| zones.remove(*z))
            .cloned()
            .collect();
        let messages = self
            .messages
            .iter()
            .filter(|m| messages.contains(&m.name))
            .collect();
        (zones, messages)
    }

    /// The message called `name`.
    pub fn message(&self, name: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.name == name)
    }
}

/// One `[[permission]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPermission {
    phones: Spanned<Vec<Text>>,
    #[serde(default)]
    zones: Vec<Text>,
    #[serde(default)]
    messages: Vec<Text>,
}

/// One `[[message]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMessage {
    name: Text,
    title: Option<Text>,
    source: Text,
    zones: Spanned<Vec<Text>>,
    priority: Option<Text>,
    confirm: Option<bool>,
    language: Option<Text>,
    voice: Option<Text>,
    rate: Option<Int>,
}

/// The `[[message]]`s: unique names, what they play (speech in `speech` unless the message
/// sets its own voice), a title that fits the phone's menu. Checked before the permissions,
/// which name them ([`check_permissions`]).
pub(super) fn check_messages(
    src: &Source,
    messages: Vec<RawMessage>,
    zones: &[Zone],
    priorities: &Priorities,
    speech: &crate::source::Voice,
    out: &mut Services,
) -> Result<(), Invalid> {
    for r in messages {
        check_name(src, &r.name, "[[message]] name")?;
        let name = r.name.get_ref().clone();
        let what = |key: &str| format!("message {name:?} {key}");
        if out.messages.iter().any(|m| m.name == name) {
            return Err(src.invalid(
                r.name.span(),
                what("name"),
                &name,
                "is already a message's name",
            ));
        }
        let play = Play {
            kind: "a message",
            to: &r.zones,
            source: &r.source,
            priority: r.priority.as_ref(),
        };
        check_play(src, &what, &play, zones, priorities)?;
        let own = RawSpeech::of(r.language, r.voice, r.rate);
        let voice = voice(src, &own, speech, &what)?;
        check_speaks(src, &r.source, &voice, &what)?;
        let title = match &r.title {
            Some(t) => match title_rule(t.get_ref()) {
                Ok(()) => t.get_ref().clone(),
                Err(rule) => return Err(src.invalid(t.span(), what("title"), t.get_ref(), rule)),
            },
            None => name.clone(),
        };
        out.messages.push(Message {
            name,
            title,
            source: r.source.into_inner(),
            zones: r
                .zones
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            priority: r.priority.map(Spanned::into_inner),
            confirm: r.confirm.unwrap_or(false),
            voice,
        });
    }
    Ok(())
}

/// The `[[permission]]`s: their phones, zones and messages exist; a bell they name becomes a
/// message of its own (a bell of a district zone too: pressed on a phone, it starts the
/// district page as the bell would).
pub(super) fn check_permissions(
    src: &Source,
    permissions: Vec<RawPermission>,
    phones: &[PhoneEntry],
    zones: &[Zone],
    bells: &[Bell],
    out: &mut Services,
) -> Result<(), Invalid> {
    let is_zone = |n: &str| zones.iter().any(|z| z.name == n);
    for r in permissions {
        let what = |key: &str| format!("permission {key}");
        if r.phones.get_ref().is_empty() {
            return Err(src.invalid(
                r.phones.span(),
                what("phones"),
                "[]",
                "name at least one phone or zone",
            ));
        }
        for p in r.phones.get_ref() {
            let n = p.get_ref();
            if !is_zone(n) && !phones.iter().any(|ph| &ph.name == n) {
                return Err(src.invalid(
                    p.span(),
                    what("phones"),
                    n,
                    "is neither a phone nor a zone",
                ));
            }
        }
        for z in &r.zones {
            if !is_zone(z.get_ref()) {
                return Err(not_a_zone(src, z, what("zones"), zones));
            }
        }
        for m in &r.messages {
            if out.message(m.get_ref()).is_some() {
                continue;
            }
            // A bell may be rung from a phone too: it becomes a message of its own.
            match bells.iter().find(|b| &b.name == m.get_ref()) {
                Some(b) => out.messages.push(Message {
                    name: b.name.clone(),
                    title: format!("Bell: {}", b.name),
                    source: b.source.clone(),
                    zones: b.zones.clone(),
                    priority: b.priority.clone(),
                    confirm: false,
                    voice: b.voice.clone(),
                }),
                None => {
                    return Err(src.invalid(
                        m.span(),
                        what("messages"),
                        m.get_ref(),
                        "is neither a [[message]] nor a [[bell]] name",
                    ));
                }
            }
        }
        out.permissions.push(Permission {
            phones: r
                .phones
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            zones: r.zones.into_iter().map(Spanned::into_inner).collect(),
            messages: r.messages.into_iter().map(Spanned::into_inner).collect(),
        });
    }
    Ok(())
}
