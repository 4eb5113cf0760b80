//! The `[[phone]]` entries as the file writes them, checked into [`PhoneEntry`]s: unique names,
//! host, model and user, device name, and exactly one password source (never a password itself).
//! The rules for one host or device name are `check_host` and `check_device` in `phone`.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::phone::{PasswordSource, PhoneEntry, check_device, check_host};
use super::source::Source;
use super::value::{Text, check_name, relative};
use crate::error::Invalid;

/// One `[[phone]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhone {
    name: Text,
    host: Text,
    model: Text,
    user: Text,
    password_env: Option<Text>,
    password_file: Option<Text>,
    /// Only so that an inline password gets its own message rather than "unknown field".
    password: Option<Spanned<toml::Value>>,
    /// `"minted"`: zonecast serve mints one-time credentials per push (instead of a password).
    auth: Option<Text>,
    /// The phone's device name (`SEP` + MAC), the `devicename` minted credentials are bound to.
    device: Option<Text>,
    https: Option<bool>,
    /// Takes G.722 through startMedia (true) or not (false), overriding the model table.
    g722: Option<bool>,
}

/// The phones, and each name's byte offset (for "already used on line N" and zone checks).
pub(super) fn check(
    src: &Source,
    raw: Vec<RawPhone>,
    base: &Path,
) -> Result<(Vec<PhoneEntry>, HashMap<String, usize>), Invalid> {
    let mut out = Vec::with_capacity(raw.len());
    let mut names: HashMap<String, usize> = HashMap::with_capacity(raw.len());
    for r in raw {
        check_name(src, &r.name, "[[phone]] name")?;
        let name = r.name.get_ref().clone();
        let what = |key: &str| format!("phone {name:?} {key}");
        if let Some(first) = names.get(&name) {
            return Err(src.invalid(
                r.name.span(),
                what("name"),
                &name,
                format!("is already the name of the phone on {}", src.line(*first)),
            ));
        }
        check_fields(src, &r, &what)?;
        let device = device(src, &r, &what)?;
        let password = password(src, &r, &name, &what, base)?;
        names.insert(name.clone(), r.name.span().start);
        out.push(PhoneEntry {
            name,
            host: r.host.into_inner(),
            model: r.model.into_inner().trim().to_owned(),
            user: r.user.into_inner(),
            password,
            https: r.https.unwrap_or(false),
            device,
            g722: r.g722,
        });
    }
    Ok((out, names))
}

/// No inline password; host, model and user are usable; `auth` is `"minted"` if given.
fn check_fields(src: &Source, r: &RawPhone, what: &dyn Fn(&str) -> String) -> Result<(), Invalid> {
    if let Some(pw) = &r.password {
        // Never echo the value: it is a password.
        return Err(src.invalid(
            pw.span(),
            what("password"),
            "***",
            "passwords are never written in the config: put it in an environment variable \
             and name it with password_env = \"VAR\", or in a file named by password_file",
        ));
    }
    if let Err(rule) = check_host(r.host.get_ref()) {
        return Err(src.invalid(r.host.span(), what("host"), r.host.get_ref(), rule));
    }
    if r.model.get_ref().trim().is_empty() {
        return Err(src.invalid(
            r.model.span(),
            what("model"),
            "",
            "must name the phone's model, e.g. CP-8851",
        ));
    }
    if r.user.get_ref().trim().is_empty() {
        return Err(src.invalid(r.user.span(), what("user"), "", "must not be empty"));
    }
    if let Some(auth) = &r.auth
        && auth.get_ref() != "minted"
    {
        return Err(src.invalid(
            auth.span(),
            what("auth"),
            auth.get_ref(),
            "must be \"minted\" (zonecast serve mints one-time credentials per push); \
             for a password, give password_env or password_file instead",
        ));
    }
    Ok(())
}

/// The device name, if given.
fn device(
    src: &Source,
    r: &RawPhone,
    what: &dyn Fn(&str) -> String,
) -> Result<Option<String>, Invalid> {
    match &r.device {
        Some(d) => {
            if let Err(rule) = check_device(d.get_ref()) {
                return Err(src.invalid(d.span(), what("device"), d.get_ref(), rule));
            }
            Ok(Some(d.get_ref().clone()))
        }
        None => Ok(None),
    }
}

/// Exactly one of `password_env`, `password_file` and `auth = "minted"`.
fn password(
    src: &Source,
    r: &RawPhone,
    name: &str,
    what: &dyn Fn(&str) -> String,
    base: &Path,
) -> Result<PasswordSource, Invalid> {
    Ok(match (&r.password_env, &r.password_file, &r.auth) {
        (None, None, Some(_)) => PasswordSource::Minted,
        (Some(var), _, Some(_)) | (Some(var), Some(_), None) => {
            return Err(src.invalid(
                var.span(),
                what("password_env"),
                var.get_ref(),
                "give exactly one of password_env, password_file and auth = \"minted\", not both",
            ));
        }
        (None, Some(file), Some(_)) => {
            return Err(src.invalid(
                file.span(),
                what("password_file"),
                file.get_ref(),
                "give exactly one of password_env, password_file and auth = \"minted\", not both",
            ));
        }
        (Some(var), None, None) => {
            let v = var.get_ref();
            if v.is_empty() || v.contains(['=', '\0']) || v.chars().any(char::is_whitespace) {
                return Err(src.invalid(
                    var.span(),
                    what("password_env"),
                    v,
                    "must be the name of an environment variable",
                ));
            }
            PasswordSource::Env(v.clone())
        }
        (None, Some(file), None) => {
            if file.get_ref().trim().is_empty() {
                return Err(src.invalid(
                    file.span(),
                    what("password_file"),
                    "",
                    "must be a file path",
                ));
            }
            PasswordSource::File(relative(base, file.get_ref()))
        }
        (None, None, None) => {
            return Err(src.invalid(
                r.name.span(),
                format!("phone {name:?}"),
                "no password source",
                "give exactly one of password_env = \"VAR\", password_file = \"PATH\" \
                 or auth = \"minted\"",
            ));
        }
    })
}
