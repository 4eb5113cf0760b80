//! Phone services: who may page which zone from their own phone (`[[permission]]`), and the
//! pre-recorded messages phones can start (`[[message]]`). Without a `[[permission]]` no phone
//! may page from its Services menu.

use std::collections::BTreeSet;

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
