//! `zonecast display input`: a CiscoIPPhoneInput form of up to 5 fields, each
//! `LABEL:PARAM:FLAGS[:DEFAULT]`, submitted to an HTTP(S) URL with GET (or POST, `--post`).

use clap::Args;

use super::parts::{Built, Head, render};
use crate::cli::common::CliError;
use crate::cli::phone::PhoneArgs;
use crate::error::Invalid;
use crate::xsi::object::{Input, InputFlags, InputItem};

/// `display input`.
#[derive(Debug, Args)]
pub(super) struct InputArgs {
    #[command(flatten)]
    head: Head,
    /// Where the phone submits the form: an http:// or https:// URL.
    #[arg(long, value_name = "URL")]
    url: String,
    /// Submit with HTTP POST instead of GET (7800, 8800, 7832 and 8832 only).
    #[arg(long)]
    post: bool,
    /// A field: its label (no `:`), `:`, the query parameter it is sent as, `:`, its input
    /// flags (A ASCII, T telephone, N numeric, E equation, U upper case, L lower case, each
    /// optionally followed by P for a masked password), and optionally `:` and a default value.
    /// At most 5.
    #[arg(
        long = "field",
        value_name = "LABEL:PARAM:FLAGS[:DEFAULT]",
        required = true
    )]
    fields: Vec<String>,
}

/// One `--field` value as an InputItem.
fn field(value: &str) -> Result<InputItem, CliError> {
    let shape = || {
        Invalid::new(
            "--field",
            value,
            "must be LABEL:PARAM:FLAGS[:DEFAULT], e.g. \"Extension:ext:T\"",
        )
    };
    let (label, rest) = value.split_once(':').ok_or_else(shape)?;
    let mut parts = rest.splitn(3, ':');
    let (Some(param), Some(flags)) = (parts.next(), parts.next()) else {
        return Err(shape().into());
    };
    let flags: InputFlags = flags.parse()?;
    let item = InputItem::new(label, param, flags)?;
    Ok(match parts.next() {
        Some(default) => item.default_value(default)?,
        None => item,
    })
}

pub(super) fn input(phone: &PhoneArgs, a: &InputArgs) -> Result<Built, CliError> {
    let lower = a.url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(Invalid::new(
            "--url",
            &a.url,
            "a form is submitted to an http:// or https:// URL",
        )
        .into());
    }
    let mut form = a.head.apply(phone, Input::new(&a.url)?)?;
    if a.post {
        if phone.caps().is_some_and(|c| !c.input_post) {
            return Err(CliError::Invalid(
                "--post: this model submits forms with GET only (POST: 7800, 8800, 7832, 8832)"
                    .into(),
            ));
        }
        form = form.post();
    }
    for f in &a.fields {
        form = form.item(field(f)?)?;
    }
    render(&form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_take_label_param_flags_and_an_optional_default() {
        assert!(field("Extension:ext:T").is_ok());
        assert!(field("PIN:pin:NP:12:34").is_ok(), "a default may hold ':'");
        for bad in [
            "Extension",
            "Extension:ext",
            "Extension:ext:X",
            "E:bad param:A",
        ] {
            assert!(field(bad).is_err(), "{bad}");
        }
    }
}
