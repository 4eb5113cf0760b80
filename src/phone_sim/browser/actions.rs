//! What a key press on the screen does: an item selected, a soft key pressed, an Input
//! submitted, an internal `SoftKey:` URI. Each gives an [`Action`] (fetch, reload, back, exit,
//! or nothing the emulator follows); carrying it out is [`super::Browser`]'s and
//! [`crate::phone_sim::http`]'s.

use super::error::BrowseError;
use super::request::Request;
use super::url::{percent_encode, resolve_url};
use super::view::ServiceView;

/// What a key press (or opening a service) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fetch a URL; the screen now becomes the next one (the current one goes on the way back).
    Fetch(Request),
    /// Fetch the current URL again, in place (`SoftKey:Update`).
    Reload(Request),
    /// Back one screen (`SoftKey:Back`, `SoftKey:Cancel`); the service closes after the first.
    Back,
    /// Leave the service (`SoftKey:Exit`).
    Exit,
    /// Nothing the emulator follows (an internal URI); the reason.
    Ignored(String),
}

/// What pressing a key bound to `uri` does on `view`.
pub fn uri_action(view: &ServiceView, uri: &str) -> Result<Action, BrowseError> {
    let uri = uri.trim();
    let internal = reqwest::Url::parse(uri)
        .ok()
        .filter(|u| !matches!(u.scheme(), "http" | "https"));
    if internal.is_none() {
        return resolve_url(Some(&view.url), uri).map(|u| Action::Fetch(Request::get(u)));
    }
    Ok(match uri {
        "SoftKey:Exit" => Action::Exit,
        "SoftKey:Back" | "SoftKey:Cancel" => Action::Back,
        "SoftKey:Update" => Action::Reload(Request::get(view.url.clone())),
        "SoftKey:Select" => return select_action(view, 1),
        "SoftKey:Submit" => return submit_action(view, &[]),
        other => Action::Ignored(format!("{other}: not followed by the emulator")),
    })
}

/// What selecting item `item` (1-based) does.
pub fn select_action(view: &ServiceView, item: usize) -> Result<Action, BrowseError> {
    let entry = item
        .checked_sub(1)
        .and_then(|i| view.items.get(i))
        .ok_or_else(|| BrowseError::NoItem {
            item,
            count: view.items.len(),
            kind: view.kind.clone(),
        })?;
    match &entry.url {
        Some(u) => uri_action(view, u),
        None => Ok(Action::Ignored(format!("item {item} has no URL"))),
    }
}

/// What pressing the soft key labelled `name` (case-insensitive) does.
pub fn softkey_action(view: &ServiceView, name: &str) -> Result<Action, BrowseError> {
    let key = view
        .softkeys
        .iter()
        .find(|k| k.name == name)
        .or_else(|| {
            view.softkeys
                .iter()
                .find(|k| k.name.eq_ignore_ascii_case(name.trim()))
        })
        .ok_or_else(|| BrowseError::NoSoftKey {
            name: name.to_owned(),
            keys: view.softkeys.iter().map(|k| k.name.clone()).collect(),
        })?;
    if key.url.is_empty() {
        return Ok(Action::Ignored(format!("soft key {} has no URL", key.name)));
    }
    uri_action(view, &key.url)
}

/// Submitting an Input object with `values` (by `QueryStringParam`; fields not given keep
/// their default): `URL?p=v&...` (a GET), or the same as a form body (`method="post"`).
pub fn submit_action(view: &ServiceView, values: &[(&str, &str)]) -> Result<Action, BrowseError> {
    if view.kind != "CiscoIPPhoneInput" {
        return Err(BrowseError::NotInput(format!(
            "the screen shows {}, not a CiscoIPPhoneInput",
            if view.kind.is_empty() {
                "no object"
            } else {
                &view.kind
            }
        )));
    }
    if let Some((k, _)) = values
        .iter()
        .find(|(k, _)| !view.input_items.iter().any(|f| f.query_param == *k))
    {
        return Err(BrowseError::NotInput(format!(
            "no field {k:?}; the fields are {:?}",
            view.input_items
                .iter()
                .map(|f| f.query_param.as_str())
                .collect::<Vec<_>>()
        )));
    }
    let url = view
        .input_url
        .clone()
        .ok_or_else(|| BrowseError::NotInput("the Input has no URL".into()))?;
    let query = view
        .input_items
        .iter()
        .map(|f| {
            let v = values
                .iter()
                .rev()
                .find(|(k, _)| *k == f.query_param)
                .map_or(f.default.as_str(), |(_, v)| v);
            format!("{}={}", percent_encode(&f.query_param), percent_encode(v))
        })
        .collect::<Vec<_>>()
        .join("&");
    if view.input_method.as_deref() == Some("post") {
        return Ok(Action::Fetch(Request {
            method: "POST",
            url,
            body: Some(query),
        }));
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(Action::Fetch(Request::get(format!("{url}{sep}{query}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone_sim::browser::view::tests::answer;
    use crate::phone_sim::browser::view::{Answer, parse_view};

    #[test]
    fn menu_is_read_with_resolved_urls_and_default_keys() {
        let a = answer(
            "http://h/svc/menu?n=1",
            "<CiscoIPPhoneMenu><Title>T &amp; U</Title><Prompt>P</Prompt>\
             <MenuItem><Name>One</Name><URL>http://o/1</URL></MenuItem>\
             <MenuItem><Name>Two</Name><URL>two?x=1</URL></MenuItem></CiscoIPPhoneMenu>",
        );
        let v = parse_view(&a);
        assert_eq!(v.kind, "CiscoIPPhoneMenu");
        assert_eq!(v.title.as_deref(), Some("T & U"));
        assert_eq!(v.items[1].url.as_deref(), Some("http://h/svc/two?x=1"));
        assert_eq!(v.softkeys[0].name, "Select");
        assert_eq!(
            select_action(&v, 2).unwrap(),
            Action::Fetch(Request::get("http://h/svc/two?x=1".into()))
        );
        assert!(matches!(
            select_action(&v, 3),
            Err(BrowseError::NoItem { .. })
        ));
        assert!(matches!(
            select_action(&v, 0),
            Err(BrowseError::NoItem { .. })
        ));
        assert_eq!(softkey_action(&v, "exit").unwrap(), Action::Exit);
        assert_eq!(
            softkey_action(&v, "Select").unwrap(),
            Action::Fetch(Request::get("http://o/1".into()))
        );
    }

    #[test]
    fn input_submits_encoded_get_or_post() {
        let xml = "<CiscoIPPhoneInput><Title>Find</Title><URL>find?a=1</URL>\
             <InputItem><DisplayName>Name</DisplayName><QueryStringParam>q</QueryStringParam>\
             <DefaultValue>d</DefaultValue><InputFlags>A</InputFlags></InputItem>\
             <InputItem><DisplayName>N</DisplayName><QueryStringParam>n</QueryStringParam>\
             <DefaultValue>7</DefaultValue><InputFlags>N</InputFlags></InputItem></CiscoIPPhoneInput>";
        let v = parse_view(&answer("http://h/x/in", xml));
        assert_eq!(v.input_url.as_deref(), Some("http://h/x/find?a=1"));
        assert_eq!(
            submit_action(&v, &[("q", "a b&c")]).unwrap(),
            Action::Fetch(Request::get("http://h/x/find?a=1&q=a%20b%26c&n=7".into()))
        );
        assert!(submit_action(&v, &[("zz", "1")]).is_err());
        let post = xml.replace("<URL>", "<URL method=\"POST\">");
        let v = parse_view(&answer("http://h/x/in", &post));
        assert_eq!(
            submit_action(&v, &[]).unwrap(),
            Action::Fetch(Request {
                method: "POST",
                url: "http://h/x/find?a=1".into(),
                body: Some("q=d&n=7".into()),
            })
        );
        let text = parse_view(&answer(
            "http://h/",
            "<CiscoIPPhoneText><Text>t</Text></CiscoIPPhoneText>",
        ));
        assert!(matches!(
            submit_action(&text, &[]),
            Err(BrowseError::NotInput(_))
        ));
    }

    #[test]
    fn softkeys_internal_uris_and_latin1() {
        let xml = "<CiscoIPPhoneText><Text>caf\u{e9}</Text>\
            <SoftKeyItem><Name>End</Name><URL>/end</URL><Position>2</Position></SoftKeyItem>\
            <SoftKeyItem><Name>Svc</Name><URL>Init:Services</URL><Position>3</Position></SoftKeyItem>\
            </CiscoIPPhoneText>";
        let latin: Vec<u8> = xml.chars().map(|c| c as u8).collect();
        let v = parse_view(&Answer {
            content_type: Some("text/xml; charset=\"ISO-8859-1\"".into()),
            body: latin,
            ..answer("http://h/a/t", "")
        });
        assert_eq!(v.charset.as_deref(), Some("iso-8859-1"));
        assert_eq!(v.text.as_deref(), Some("caf\u{e9}"));
        assert_eq!(v.softkeys[0].position, 2);
        assert_eq!(
            softkey_action(&v, "End").unwrap(),
            Action::Fetch(Request::get("http://h/end".into()))
        );
        assert!(matches!(
            softkey_action(&v, "Svc").unwrap(),
            Action::Ignored(_)
        ));
        assert!(matches!(
            softkey_action(&v, "Nope"),
            Err(BrowseError::NoSoftKey { .. })
        ));
    }
}
