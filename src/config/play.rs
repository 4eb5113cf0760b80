//! What a `[[bell]]` or a `[[message]]` plays, checked against the other tables: its zones exist,
//! its source is one a bell can play, its priority is a level. Bells (`schedule`) and messages and
//! permissions (`services`) share these checks, which span the zone and priority tables.

use toml::Spanned;

use super::priority::Priorities;
use super::source::Source;
use super::value::Text;
use super::zone::Zone;
use crate::error::Invalid;
use crate::schedule::check_source;

/// `z` names no zone: the error lists the zones the config defines.
pub(super) fn not_a_zone(src: &Source, z: &Text, what: String, zones: &[Zone]) -> Invalid {
    let known: Vec<&str> = zones.iter().map(|k| k.name.as_str()).collect();
    src.invalid(
        z.span(),
        what,
        z.get_ref(),
        if known.is_empty() {
            "is not a zone (the config defines none)".to_owned()
        } else {
            format!("is not a zone; the config defines: {}", known.join(", "))
        },
    )
}

/// What a bell or a message plays, as the file says it.
pub(super) struct Play<'a> {
    /// "a bell", "a message" (for errors).
    pub(super) kind: &'a str,
    pub(super) to: &'a Spanned<Vec<Text>>,
    pub(super) source: &'a Text,
    pub(super) priority: Option<&'a Text>,
}

/// What a bell or a message (`kind`) plays, where and how loud: it has zones, they exist, its
/// source is one a bell can play, its priority is a level.
pub(super) fn check_play(
    src: &Source,
    what: &dyn Fn(&str) -> String,
    play: &Play<'_>,
    zones: &[Zone],
    priorities: &Priorities,
) -> Result<(), Invalid> {
    let Play {
        kind,
        to,
        source,
        priority,
    } = *play;
    if to.get_ref().is_empty() {
        return Err(src.invalid(
            to.span(),
            what("zones"),
            "[]",
            format!("{kind} needs at least one zone"),
        ));
    }
    for z in to.get_ref() {
        if !zones.iter().any(|k| &k.name == z.get_ref()) {
            return Err(not_a_zone(src, z, what("zones"), zones));
        }
    }
    check_source(source.get_ref())
        .map_err(|e| src.invalid(source.span(), what("source"), source.get_ref(), e.rule))?;
    if let Some(p) = priority
        && priorities.rank(p.get_ref()).is_none()
    {
        return Err(src.invalid(
            p.span(),
            what("priority"),
            p.get_ref(),
            format!("is not one of the levels: {}", priorities.levels.join(", ")),
        ));
    }
    Ok(())
}
