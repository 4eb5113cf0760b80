//! Console users, their sign-in sessions and the audit log, kept in the server's SQLite (the
//! tables of migration 3 in [`super::store`]). Users are stored with an Argon2id PHC string,
//! never a password; sessions under a digest of their cookie ([`super::users::token_digest`]);
//! every change to users, roles and grants is written to the audit log in the same
//! transaction as the change itself. The rules (who may, what is valid) are in
//! [`super::users`]; this file only keeps what they decided.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::store::{Store, StoreError};
use super::users::{Account, Role};

/// Most sessions one user keeps; a new sign-in beyond it ends the oldest.
pub const MAX_SESSIONS_PER_USER: usize = 20;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Unix ms.
    pub at_ms: i64,
    /// Who did it: a user's name or `api-token` (`cli` for `zonecast user`).
    pub actor: String,
    /// What: `user.add`, `user.update`, `user.remove`, `user.password`, `session.signin`,
    /// `session.signout`, `session.ended` (its lifetime or idle limit).
    pub action: String,
    /// The user it was done to.
    pub target: String,
    /// What changed (`role operator → admin`, `zones lobby,gym`); never a password.
    pub detail: Option<String>,
}

/// A stored session, as read back.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Its account (as stored now: a role changed since sign-in applies at once).
    pub account: Account,
    /// Its CSRF token.
    pub csrf: String,
    /// Unix ms of its sign-in.
    pub created_ms: i64,
    /// Unix ms it was last used (written at most once a minute).
    pub last_ms: i64,
}

/// A change to a user (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// A new role.
    pub role: Option<Role>,
    /// New grants (`Some(None)`: every zone).
    pub zones: Option<Option<Vec<String>>>,
    /// A new password's PHC string.
    pub hash: Option<String>,
}

/// The accounts tables of a [`Store`] (cheap to clone).
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Store,
}

fn account(name: String, role: &str, zones: Option<String>) -> Account {
    Account {
        name,
        // A role this build does not know reads as the least one.
        role: Role::parse(role).unwrap_or(Role::Viewer),
        zones: zones.and_then(|z| serde_json::from_str(&z).ok()),
    }
}

fn zones_json(zones: &Option<Vec<String>>) -> Option<String> {
    zones
        .as_ref()
        .map(|z| serde_json::to_string(z).unwrap_or_else(|_| "[]".into()))
}

fn audit_in(
    tx: &rusqlite::Transaction<'_>,
    at_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (at_ms, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at_ms, actor, action, target, detail],
    )?;
    Ok(())
}

/// What a change changes, in words for the audit log (never the password itself).
fn describe(before: &Account, c: &UserChange) -> String {
    let mut parts = Vec::new();
    if let Some(r) = c.role
        && r != before.role
    {
        parts.push(format!("role {} → {}", before.role.as_str(), r.as_str()));
    }
    if let Some(z) = &c.zones
        && *z != before.zones
    {
        parts.push(match z {
            Some(z) => format!("zones {}", z.join(",")),
            None => "zones (every zone)".to_owned(),
        });
    }
    if c.hash.is_some() {
        parts.push("password changed".to_owned());
    }
    if parts.is_empty() {
        "nothing changed".to_owned()
    } else {
        parts.join("; ")
    }
}

impl Accounts {
    /// The accounts kept in `store`.
    pub fn new(store: Store) -> Accounts {
        Accounts { store }
    }

    /// How many users there are.
    pub fn count(&self) -> Result<usize, StoreError> {
        self.store.read_with(|c| {
            c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))
                .map(|n| usize::try_from(n).unwrap_or(0))
        })
    }

    /// Every user, by name.
    pub fn list(&self) -> Result<Vec<Account>, StoreError> {
        self.store.read_with(|c| {
            let mut q = c.prepare_cached("SELECT name, role, zones FROM users ORDER BY name")?;
            q.query_map([], |r| {
                Ok(account(r.get(0)?, &r.get::<_, String>(1)?, r.get(2)?))
            })?
            .collect()
        })
    }

    /// A user and its PHC string.
    pub fn get(&self, name: &str) -> Result<Option<(Account, String)>, StoreError> {
        self.store.read_with(|c| {
            c.query_row(
                "SELECT name, role, zones, hash FROM users WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        account(r.get(0)?, &r.get::<_, String>(1)?, r.get(2)?),
                        r.get(3)?,
                    ))
                },
            )
            .optional()
        })
    }

    /// Add a user (audited as `actor`). `false` if the name is taken.
    pub fn add(
        &self,
        a: &Account,
        hash: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.store.write_with(|tx| {
            let added = tx.execute(
                "INSERT INTO users (name, role, zones, hash, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(name) DO NOTHING",
                params![a.name, a.role.as_str(), zones_json(&a.zones), hash, now_ms],
            )? == 1;
            if added {
                let detail = match &a.zones {
                    Some(z) => format!("role {}; zones {}", a.role.as_str(), z.join(",")),
                    None => format!("role {}", a.role.as_str()),
                };
                audit_in(tx, now_ms, actor, "user.add", &a.name, Some(&detail))?;
            }
            Ok(added)
        })
    }

    /// Change a user (audited as `actor`; `action` is `user.update` or `user.password`). A new
    /// password ends the user's other sessions (all but `keep`). `None` if no such user.
    pub fn update(
        &self,
        name: &str,
        change: &UserChange,
        actor: &str,
        action: &str,
        keep: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<Account>, StoreError> {
        let Some((before, _)) = self.get(name)? else {
            return Ok(None);
        };
        let after = Account {
            name: before.name.clone(),
            role: change.role.unwrap_or(before.role),
            zones: change.zones.clone().unwrap_or_else(|| before.zones.clone()),
        };
        let detail = describe(&before, change);
        self.store.write_with(|tx| {
            let n = tx.execute(
                "UPDATE users SET role = ?2, zones = ?3, hash = COALESCE(?4, hash), updated_ms = ?5
                 WHERE name = ?1",
                params![
                    name,
                    after.role.as_str(),
                    zones_json(&after.zones),
                    change.hash,
                    now_ms
                ],
            )?;
            if n == 0 {
                return Ok(None);
            }
            if change.hash.is_some() {
                tx.execute(
                    "DELETE FROM sessions WHERE user = ?1 AND id_digest IS NOT ?2",
                    params![name, keep],
                )?;
            }
            audit_in(tx, now_ms, actor, action, name, Some(&detail))?;
            Ok(Some(after))
        })
    }

    /// Remove a user and its sessions (audited as `actor`). `false` if no such user.
    pub fn remove(&self, name: &str, actor: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.store.write_with(|tx| {
            tx.execute("DELETE FROM sessions WHERE user = ?1", [name])?;
            let removed = tx.execute("DELETE FROM users WHERE name = ?1", [name])? == 1;
            if removed {
                audit_in(tx, now_ms, actor, "user.remove", name, None)?;
            }
            Ok(removed)
        })
    }

    /// Keep a new session: its cookie's digest, user, CSRF token and times. Expired sessions
    /// go, and the user's oldest beyond [`MAX_SESSIONS_PER_USER`].
    pub fn start_session(
        &self,
        digest: &str,
        user: &str,
        csrf: &str,
        now_ms: i64,
        expires_ms: i64,
        address: &str,
    ) -> Result<(), StoreError> {
        self.store.write_with(|tx| {
            tx.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now_ms])?;
            tx.execute(
                "INSERT INTO sessions (id_digest, user, csrf, created_ms, last_ms, expires_ms, address)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                params![digest, user, csrf, now_ms, expires_ms, address],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE user = ?1 AND id_digest NOT IN
                   (SELECT id_digest FROM sessions WHERE user = ?1
                    ORDER BY created_ms DESC, rowid DESC LIMIT ?2)",
                params![user, i64::try_from(MAX_SESSIONS_PER_USER).unwrap_or(i64::MAX)],
            )?;
            audit_in(tx, now_ms, user, "session.signin", user, Some(address))?;
            Ok(())
        })
    }

    /// The session stored under `digest`, with its account.
    pub fn session(&self, digest: &str) -> Result<Option<SessionRow>, StoreError> {
        self.store.read_with(|c| {
            c.query_row(
                "SELECT u.name, u.role, u.zones, s.csrf, s.created_ms, s.last_ms
                 FROM sessions s JOIN users u ON u.name = s.user WHERE s.id_digest = ?1",
                [digest],
                |r| {
                    Ok(SessionRow {
                        account: account(r.get(0)?, &r.get::<_, String>(1)?, r.get(2)?),
                        csrf: r.get(3)?,
                        created_ms: r.get(4)?,
                        last_ms: r.get(5)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Note that the session under `digest` was used at `now_ms`.
    pub fn touch_session(&self, digest: &str, now_ms: i64) -> Result<(), StoreError> {
        self.store.write_with(|tx| {
            tx.execute(
                "UPDATE sessions SET last_ms = ?2 WHERE id_digest = ?1",
                params![digest, now_ms],
            )?;
            Ok(())
        })
    }

    /// End the session under `digest` of `user`: `signed_out` by them (audited as
    /// `session.signout`), else past its lifetime or idle limit (`session.ended`).
    pub fn end_session(
        &self,
        digest: &str,
        user: &str,
        signed_out: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let action = if signed_out {
            "session.signout"
        } else {
            "session.ended"
        };
        self.store.write_with(|tx| {
            if tx.execute("DELETE FROM sessions WHERE id_digest = ?1", [digest])? == 1 {
                audit_in(tx, now_ms, user, action, user, None)?;
            }
            Ok(())
        })
    }

    /// The latest audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.read_with(|c| {
            let mut q = c.prepare_cached(
                "SELECT at_ms, actor, action, target, detail FROM audit
                 ORDER BY at_ms DESC, id DESC LIMIT ?1",
            )?;
            q.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(AuditEntry {
                    at_ms: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("z.db")).unwrap();
        (dir, Accounts::new(store))
    }

    fn olga() -> Account {
        Account {
            name: "olga".into(),
            role: Role::Operator,
            zones: Some(vec!["lobby".into()]),
        }
    }

    #[test]
    fn users_are_added_changed_removed_and_audited() {
        let (_d, a) = accounts();
        assert_eq!(a.count().unwrap(), 0);
        assert!(a.add(&olga(), "$argon2id$x", "cli", 1).unwrap());
        assert!(!a.add(&olga(), "$argon2id$y", "cli", 2).unwrap(), "taken");
        assert_eq!(a.list().unwrap(), vec![olga()]);
        let change = UserChange {
            role: Some(Role::Admin),
            zones: Some(None),
            hash: Some("$argon2id$z".into()),
        };
        let after = a
            .update("olga", &change, "root", "user.update", None, 3)
            .unwrap()
            .unwrap();
        assert_eq!(after.role, Role::Admin);
        assert_eq!(a.get("olga").unwrap().unwrap().1, "$argon2id$z");
        assert!(
            a.update("nobody", &change, "root", "user.update", None, 3)
                .unwrap()
                .is_none()
        );
        assert!(a.remove("olga", "root", 4).unwrap());
        assert!(!a.remove("olga", "root", 5).unwrap());
        let log = a.audit_log(10).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["user.remove", "user.update", "user.add"]);
        assert_eq!(
            log[1].detail.as_deref(),
            Some("role operator → admin; zones (every zone); password changed")
        );
        assert!(
            log.iter()
                .all(|e| !e.detail.clone().unwrap_or_default().contains("argon2"))
        );
    }

    #[test]
    fn sessions_follow_their_user_and_a_new_password_ends_the_others() {
        let (_d, a) = accounts();
        a.add(&olga(), "h", "cli", 1).unwrap();
        a.start_session("d1", "olga", "c1", 10, 1000, "127.0.0.1")
            .unwrap();
        a.start_session("d2", "olga", "c2", 11, 1000, "127.0.0.1")
            .unwrap();
        let s = a.session("d1").unwrap().unwrap();
        assert_eq!(
            (s.account, s.csrf.as_str(), s.created_ms),
            (olga(), "c1", 10)
        );
        a.touch_session("d1", 50).unwrap();
        assert_eq!(a.session("d1").unwrap().unwrap().last_ms, 50);
        let pw = UserChange {
            hash: Some("h2".into()),
            ..UserChange::default()
        };
        a.update("olga", &pw, "olga", "user.password", Some("d1"), 60)
            .unwrap();
        assert!(
            a.session("d1").unwrap().is_some(),
            "the session that changed it stays"
        );
        assert!(a.session("d2").unwrap().is_none());
        a.end_session("d1", "olga", true, 70).unwrap();
        assert!(a.session("d1").unwrap().is_none());
        a.start_session("d3", "olga", "c3", 80, 1000, "127.0.0.1")
            .unwrap();
        a.remove("olga", "cli", 90).unwrap();
        assert!(a.session("d3").unwrap().is_none());
        // Expired ones go at the next sign-in; at most MAX_SESSIONS_PER_USER stay.
        a.add(&olga(), "h", "cli", 100).unwrap();
        a.start_session("old", "olga", "c", 100, 150, "x").unwrap();
        for i in 0..MAX_SESSIONS_PER_USER + 3 {
            a.start_session(&format!("n{i}"), "olga", "c", 200 + i as i64, 5000, "x")
                .unwrap();
        }
        assert!(a.session("old").unwrap().is_none());
        assert!(a.session("n0").unwrap().is_none());
        assert!(
            a.session(&format!("n{}", MAX_SESSIONS_PER_USER + 2))
                .unwrap()
                .is_some()
        );
    }
}
