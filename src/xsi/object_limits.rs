//! The item and length limits a phone holds a received object to: how many `MenuItem`s,
//! `DirectoryEntry`s, `InputItem`s, `SoftKeyItem`s it takes, and how many characters each
//! field may have. A phone refuses an object over them rather than cutting it.
//!
//! The numbers are Cisco's `CiscoIpPhoneServices.xsd` (`maxOccurs`, `maxLength`; lengths in
//! characters) and, where stricter, the XSI notes in `shared/spec/cisco-xsi-control-spec.txt`
//! ("Max 32 MenuItem objects per CiscoIPPhoneIconMenu"; the icon file menu is held to the same).
//! They are the limits [`super::object`] enforces when an object is built, so an object zonecast
//! builds always passes; this is the receiving side's check, used by [`super::request`].

use super::xml::Element;

/// Soft keys per object (every display object's `SoftKeyItem maxOccurs="8"`).
const SOFT_KEYS: usize = 8;
/// Longest URL anywhere (`ExecuteItem URL`, `MenuItem URL`, `SoftKeyItem URL` ...).
pub const MAX_URL_CHARS: usize = 256;

/// Repeated children: (root, child, at most).
/// (The three ExecuteItems are [`super::request`]'s own rule, with its own error.)
const COUNTS: [(&str, &str, usize); 9] = [
    ("CiscoIPPhoneMenu", "MenuItem", 100),
    ("CiscoIPPhoneIconMenu", "MenuItem", 32),
    ("CiscoIPPhoneIconMenu", "IconItem", 10),
    ("CiscoIPPhoneIconFileMenu", "MenuItem", 32),
    ("CiscoIPPhoneIconFileMenu", "IconItem", 10),
    ("CiscoIPPhoneGraphicMenu", "MenuItem", 12),
    ("CiscoIPPhoneGraphicFileMenu", "MenuItem", 12),
    ("CiscoIPPhoneDirectory", "DirectoryEntry", 32),
    ("CiscoIPPhoneInput", "InputItem", 5),
];

/// Fields of the root: (field, at most characters). `Text` depends on the root.
const ROOT_FIELDS: [(&str, usize); 4] = [
    ("Title", 32),
    ("Prompt", 32),
    ("URL", MAX_URL_CHARS),
    ("Data", 2200),
];

/// Fields of the repeated children: (child, field, at most characters).
const ITEM_FIELDS: [(&str, &str, usize); 13] = [
    ("MenuItem", "Name", 64),
    ("MenuItem", "URL", MAX_URL_CHARS),
    ("SoftKeyItem", "Name", 32),
    ("SoftKeyItem", "URL", MAX_URL_CHARS),
    ("DirectoryEntry", "Name", 32),
    ("DirectoryEntry", "Telephone", 32),
    ("InputItem", "DisplayName", 32),
    ("InputItem", "QueryStringParam", 32),
    ("InputItem", "DefaultValue", 32),
    ("InputItem", "InputFlags", 3),
    ("IconItem", "Data", 50),
    ("IconItem", "URL", MAX_URL_CHARS),
    ("SoftKeyItem", "URLDown", MAX_URL_CHARS),
];

fn over(what: String, n: usize, max: usize, unit: &str) -> Result<(), String> {
    if n > max {
        return Err(format!("{what} has {n} {unit}, at most {max}"));
    }
    Ok(())
}

fn chars(what: String, text: &str, max: usize) -> Result<(), String> {
    over(what, text.chars().count(), max, "characters")
}

/// Check a received object (its parsed root element) against its limits; the first one it
/// breaks, as `CiscoIPPhoneMenu MenuItem count has 101 items, at most 100`.
pub fn check_object_limits(root: &Element) -> Result<(), String> {
    let name = root.name.as_str();
    for (r, child, max) in COUNTS {
        if r == name {
            let n = root.children_named(child).count();
            over(format!("{name} {child} count"), n, max, "items")?;
        }
    }
    if name == "CiscoIPPhoneExecute" {
        for item in root.children_named("ExecuteItem") {
            let url = item.attr_exact("URL").unwrap_or_default();
            chars("ExecuteItem URL".into(), url, MAX_URL_CHARS)?;
        }
        return Ok(());
    }
    let soft_keys = root.children_named("SoftKeyItem").count();
    over(
        format!("{name} SoftKeyItem count"),
        soft_keys,
        SOFT_KEYS,
        "items",
    )?;
    let text_max = match name {
        "CiscoIPPhoneStatus" | "CiscoIPPhoneStatusFile" => 32,
        _ => 4000,
    };
    for (field, max) in ROOT_FIELDS.into_iter().chain([("Text", text_max)]) {
        for e in root.children_named(field) {
            chars(format!("{name} {field}"), &e.text, max)?;
        }
    }
    for (child, field, max) in ITEM_FIELDS {
        for item in root.children_named(child) {
            for e in item.children_named(field) {
                chars(format!("{child} {field}"), &e.text, max)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::xsi::request::{PushRequest, RequestError, parse_push_request};

    fn repeat(item: &str, n: usize) -> String {
        item.repeat(n)
    }

    /// `at_limit` parses, `over` is refused naming `field`.
    fn boundary(at_limit: &str, over: &str, field: &str) {
        assert!(parse_push_request(at_limit).is_ok(), "{at_limit}");
        match parse_push_request(over) {
            Err(RequestError::OverLimit(why)) => assert!(why.starts_with(field), "{why}"),
            other => panic!("{field}: {other:?}"),
        }
    }

    #[test]
    fn item_counts_at_and_over_the_limit() {
        let menu = |n| {
            format!(
                "<CiscoIPPhoneMenu>{}</CiscoIPPhoneMenu>",
                repeat(
                    "<MenuItem><Name>a</Name><URL>Key:Services</URL></MenuItem>",
                    n
                )
            )
        };
        boundary(&menu(100), &menu(101), "CiscoIPPhoneMenu MenuItem count");
        let icons = |n| {
            format!(
                "<CiscoIPPhoneIconMenu>{}</CiscoIPPhoneIconMenu>",
                repeat(
                    "<MenuItem><Name>a</Name><URL>Key:Services</URL></MenuItem>",
                    n
                )
            )
        };
        boundary(
            &icons(32),
            &icons(33),
            "CiscoIPPhoneIconMenu MenuItem count",
        );
        let dir = |n| {
            format!(
                "<CiscoIPPhoneDirectory>{}</CiscoIPPhoneDirectory>",
                repeat(
                    "<DirectoryEntry><Name>a</Name><Telephone>1</Telephone></DirectoryEntry>",
                    n
                )
            )
        };
        boundary(
            &dir(32),
            &dir(33),
            "CiscoIPPhoneDirectory DirectoryEntry count",
        );
        let input = |n| {
            format!(
                "<CiscoIPPhoneInput><URL>http://h/</URL>{}</CiscoIPPhoneInput>",
                repeat(
                    "<InputItem><DisplayName>a</DisplayName><QueryStringParam>q</QueryStringParam>\
                     <InputFlags>A</InputFlags></InputItem>",
                    n
                )
            )
        };
        boundary(&input(5), &input(6), "CiscoIPPhoneInput InputItem count");
        let keys = |n| {
            format!(
                "<CiscoIPPhoneText><Text>t</Text>{}</CiscoIPPhoneText>",
                repeat(
                    "<SoftKeyItem><Name>a</Name><URL>SoftKey:Exit</URL></SoftKeyItem>",
                    n
                )
            )
        };
        boundary(&keys(8), &keys(9), "CiscoIPPhoneText SoftKeyItem count");
    }

    #[test]
    fn lengths_at_and_over_the_limit() {
        let execute = |n: usize| {
            format!(
                "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://h/{}\"/></CiscoIPPhoneExecute>",
                "u".repeat(n - 9)
            )
        };
        boundary(&execute(256), &execute(257), "ExecuteItem URL");
        let title = |n| {
            format!(
                "<CiscoIPPhoneText><Title>{}</Title></CiscoIPPhoneText>",
                "é".repeat(n)
            )
        };
        boundary(&title(32), &title(33), "CiscoIPPhoneText Title");
        let text = |n| {
            format!(
                "<CiscoIPPhoneText><Text>{}</Text></CiscoIPPhoneText>",
                "t".repeat(n)
            )
        };
        boundary(&text(4000), &text(4001), "CiscoIPPhoneText Text");
        let status = |n| {
            format!(
                "<CiscoIPPhoneStatus><Text>{}</Text></CiscoIPPhoneStatus>",
                "s".repeat(n)
            )
        };
        boundary(&status(32), &status(33), "CiscoIPPhoneStatus Text");
        let name = |n| {
            format!(
                "<CiscoIPPhoneMenu><MenuItem><Name>{}</Name><URL>Key:Services</URL></MenuItem>\
                 </CiscoIPPhoneMenu>",
                "n".repeat(n)
            )
        };
        boundary(&name(64), &name(65), "MenuItem Name");
        let flags = |f: &str| {
            format!(
                "<CiscoIPPhoneInput><URL>http://h/</URL><InputItem><DisplayName>a</DisplayName>\
                 <QueryStringParam>q</QueryStringParam><InputFlags>{f}</InputFlags></InputItem>\
                 </CiscoIPPhoneInput>"
            )
        };
        boundary(&flags("AUP"), &flags("AUPN"), "InputItem InputFlags");
        // Within every limit, the object reads as before.
        assert!(matches!(
            parse_push_request(&title(1)),
            Ok(PushRequest::Display(_))
        ));
    }
}
