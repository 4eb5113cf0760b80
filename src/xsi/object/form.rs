//! Text and forms: `CiscoIPPhoneText` and `CiscoIPPhoneInput`.

use std::fmt;
use std::str::FromStr;

use crate::error::Invalid;
use crate::xsi::uri::Notify;

use super::common::{Header, SoftKeyItem, SoftKeys, display_setters};
use super::document::XmlObject;
use super::xml::{self, Doc};

/// Application event handlers on an object's root element: `appId` and the Notify URIs the
/// phone calls when the object loses or regains the focus, is minimized or closed
/// (`<notifyApplicationEvent appId=".." type="focusLost|focusGained|minimized|closed"/>`).
/// Cisco's XSD predates these attributes: an object carrying them is XSD-valid once they are
/// removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppEvents {
    app_id: String,
    handlers: Vec<(&'static str, String)>,
}

impl AppEvents {
    /// Handlers for application `app_id` (1..=64 characters, no colons: it appears in
    /// `App:` URIs).
    pub fn new(app_id: &str) -> Result<AppEvents, Invalid> {
        if app_id.is_empty() || app_id.chars().count() > 64 || app_id.contains(':') {
            return Err(Invalid::new(
                "appId",
                app_id,
                "must be 1..=64 characters without ':'",
            ));
        }
        Ok(AppEvents {
            app_id: xml::text("appId", app_id, 64)?,
            handlers: Vec::new(),
        })
    }

    fn on(mut self, attr: &'static str, uri: &str) -> Result<AppEvents, Invalid> {
        let uri = xml::url(attr, uri)?;
        Notify::handler(attr, &uri)?;
        self.handlers.retain(|(a, _)| *a != attr);
        self.handlers.push((attr, uri));
        Ok(self)
    }

    /// `onAppFocusLost`.
    pub fn on_focus_lost(self, uri: &str) -> Result<AppEvents, Invalid> {
        self.on("onAppFocusLost", uri)
    }
    /// `onAppFocusGained`.
    pub fn on_focus_gained(self, uri: &str) -> Result<AppEvents, Invalid> {
        self.on("onAppFocusGained", uri)
    }
    /// `onAppMinimized`.
    pub fn on_minimized(self, uri: &str) -> Result<AppEvents, Invalid> {
        self.on("onAppMinimized", uri)
    }
    /// `onAppClosed` (Notify only: the spec forbids HTTP URLs here).
    pub fn on_closed(self, uri: &str) -> Result<AppEvents, Invalid> {
        self.on("onAppClosed", uri)
    }
    /// All four handlers to the same Notify URI.
    pub fn all(self, uri: &str) -> Result<AppEvents, Invalid> {
        self.on_focus_lost(uri)?
            .on_focus_gained(uri)?
            .on_minimized(uri)?
            .on_closed(uri)
    }

    fn render(&self, doc: &mut Doc) {
        doc.attr("appId", &self.app_id);
        for (a, v) in &self.handlers {
            doc.attr(a, v);
        }
    }
}

/// `CiscoIPPhoneText`: Title, Prompt, up to 4000 characters of text, soft keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    header: Header,
    text: Option<String>,
    softkeys: SoftKeys,
    app: Option<AppEvents>,
}

impl Text {
    const ROOT: &'static str = "CiscoIPPhoneText";

    /// An empty text object.
    pub fn new() -> Text {
        Text::default()
    }

    /// Set the body (≤ 4000 characters; newlines are kept).
    pub fn text(mut self, text: &str) -> Result<Text, Invalid> {
        self.text = Some(xml::text("CiscoIPPhoneText Text", text, 4000)?);
        Ok(self)
    }

    /// Carry application event handlers on the root element.
    pub fn app_events(mut self, app: AppEvents) -> Text {
        self.app = Some(app);
        self
    }
}

display_setters!(Text);

impl XmlObject for Text {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        match &self.app {
            None => {
                doc.open(Self::ROOT);
            }
            Some(app) => {
                doc.start(Self::ROOT);
                app.render(&mut doc);
                doc.end_open();
            }
        }
        self.header.render(&mut doc);
        doc.opt_text("Text", self.text.as_deref());
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

/// What characters an input field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// `A`: any ASCII text.
    Ascii,
    /// `T`: a telephone number (digits, `*`, `#`).
    Telephone,
    /// `N`: digits.
    Numeric,
    /// `E`: an equation (digits and math symbols).
    Equation,
    /// `U`: upper-case letters.
    Uppercase,
    /// `L`: lower-case letters.
    Lowercase,
}

impl InputKind {
    const fn letter(self) -> char {
        match self {
            InputKind::Ascii => 'A',
            InputKind::Telephone => 'T',
            InputKind::Numeric => 'N',
            InputKind::Equation => 'E',
            InputKind::Uppercase => 'U',
            InputKind::Lowercase => 'L',
        }
    }
}

/// `InputFlags`: one base kind plus the optional `P` (password: input is masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputFlags {
    /// The characters accepted.
    pub kind: InputKind,
    /// Mask what the user types.
    pub password: bool,
}

impl InputFlags {
    /// Flags for `kind`, masked when `password`.
    pub const fn new(kind: InputKind, password: bool) -> InputFlags {
        InputFlags { kind, password }
    }
}

impl FromStr for InputFlags {
    type Err = Invalid;
    /// Parses `A`, `T`, `N`, `E`, `U` or `L`, optionally followed by `P` (e.g. `AP`).
    fn from_str(s: &str) -> Result<InputFlags, Invalid> {
        let mut chars = s.chars();
        let kind = match chars.next() {
            Some('A') => InputKind::Ascii,
            Some('T') => InputKind::Telephone,
            Some('N') => InputKind::Numeric,
            Some('E') => InputKind::Equation,
            Some('U') => InputKind::Uppercase,
            Some('L') => InputKind::Lowercase,
            _ => {
                return Err(Invalid::new(
                    "InputItem InputFlags",
                    s,
                    "one of A T N E U L, optionally followed by P (e.g. AP)",
                ));
            }
        };
        let password = match chars.as_str() {
            "" => false,
            "P" => true,
            _ => {
                return Err(Invalid::new(
                    "InputItem InputFlags",
                    s,
                    "only P (password) may follow the base flag",
                ));
            }
        };
        Ok(InputFlags { kind, password })
    }
}

impl fmt::Display for InputFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.letter())?;
        if self.password {
            f.write_str("P")?;
        }
        Ok(())
    }
}

/// One field of an [`Input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputItem {
    display_name: String,
    param: String,
    flags: InputFlags,
    default_value: Option<String>,
}

impl InputItem {
    /// A field labelled `display_name` (≤ 32 characters) submitted as `param`.
    ///
    /// `param` becomes the name in `?param=value` and is sent as is, so it is limited to
    /// 1..=32 URL-safe characters (letters, digits, `-._~`).
    pub fn new(display_name: &str, param: &str, flags: InputFlags) -> Result<InputItem, Invalid> {
        let display_name = xml::text("InputItem DisplayName", display_name, 32)?;
        let param = xml::text("InputItem QueryStringParam", param, 32)?;
        let url_safe = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
        if param.is_empty() || !param.chars().all(url_safe) {
            return Err(Invalid::new(
                "InputItem QueryStringParam",
                &param,
                "1..=32 letters, digits or -._~",
            ));
        }
        Ok(InputItem {
            display_name,
            param,
            flags,
            default_value: None,
        })
    }

    /// Pre-fill the field (≤ 32 characters).
    pub fn default_value(mut self, value: &str) -> Result<InputItem, Invalid> {
        self.default_value = Some(xml::text("InputItem DefaultValue", value, 32)?);
        Ok(self)
    }
}

/// `CiscoIPPhoneInput`: a form of up to 5 fields submitted to a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    header: Header,
    url: String,
    post: bool,
    items: Vec<InputItem>,
    softkeys: SoftKeys,
}

impl Input {
    const ROOT: &'static str = "CiscoIPPhoneInput";

    /// A form submitted to `url` (≤ 256 characters) with GET.
    pub fn new(url: &str) -> Result<Input, Invalid> {
        Ok(Input {
            header: Header::default(),
            url: xml::url("CiscoIPPhoneInput URL", url)?,
            post: false,
            items: Vec::new(),
            softkeys: SoftKeys::default(),
        })
    }

    /// Submit with HTTP POST (`<URL method="post">`). Only the 7800, 8800, 7832 and 8832 honour
    /// it, and the XSD predates the attribute.
    pub fn post(mut self) -> Input {
        self.post = true;
        self
    }

    /// Whether the form is submitted with HTTP POST (see `Capabilities::check_input`).
    pub fn posts(&self) -> bool {
        self.post
    }

    /// Add a field (≤ 5).
    pub fn item(mut self, item: InputItem) -> Result<Input, Invalid> {
        xml::room("CiscoIPPhoneInput InputItem count", self.items.len(), 5)?;
        self.items.push(item);
        Ok(self)
    }
}

display_setters!(Input);

impl XmlObject for Input {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        self.header.render(&mut doc);
        if self.post {
            doc.start("URL").attr("method", "post").end_open();
        } else {
            doc.open("URL");
        }
        doc.escaped(&self.url).close("URL");
        // The XSD's order (DefaultValue last), not the order of the notes' example.
        for i in &self.items {
            doc.open("InputItem")
                .text("DisplayName", &i.display_name)
                .text("QueryStringParam", &i.param)
                .text("InputFlags", &i.flags.to_string())
                .opt_text("DefaultValue", i.default_value.as_deref())
                .close("InputItem");
        }
        self.softkeys.render(&mut doc);
        doc.close(Self::ROOT).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::object::DECLARATION;

    #[test]
    fn app_event_handlers_are_checked_as_notify_uris_not_by_prefix() {
        let app = || AppEvents::new("Zonecast/Paging").unwrap();
        for bad in [
            "Notify:https:h:443:p",
            "Notify:http:h:99999:p",
            "Notify:http:h:80:p;q",
            "Notify:http:h",
            "App:Close:0:60:Zonecast/Paging",
        ] {
            let e = app().on_closed(bad).unwrap_err();
            assert_eq!((e.field.as_str(), e.value.as_str()), ("onAppClosed", bad));
            assert!(e.rule.contains("Notify:http:HOST:PORT:PATH"), "{bad}: {e}");
            assert!(app().all(bad).is_err(), "{bad}");
        }
        let ok = app().all("Notify:http:h:80:p/q~desk").unwrap();
        let xml = Text::new().app_events(ok).to_xml();
        assert!(
            xml.contains("onAppMinimized=\"Notify:http:h:80:p/q~desk\""),
            "{xml}"
        );
    }

    fn field(i: usize) -> InputItem {
        InputItem::new(
            &format!("Field {i}"),
            &format!("f{i}"),
            "A".parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn input_holds_5_items_not_6() {
        let mut f = Input::new("http://srv/submit").unwrap();
        for i in 0..5 {
            f = f.item(field(i)).unwrap();
        }
        let e = f.item(field(5)).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneInput InputItem count");
        assert_eq!(e.value, "6");
    }

    #[test]
    fn input_renders_in_xsd_order_with_optional_post() {
        let f = Input::new("http://srv/s?a=1&b=2")
            .unwrap()
            .post()
            .title("Login")
            .unwrap()
            .item(
                InputItem::new("PIN", "pin", InputFlags::new(InputKind::Numeric, true))
                    .unwrap()
                    .default_value("0")
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            f.to_xml(),
            format!(
                "{DECLARATION}<CiscoIPPhoneInput><Title>Login</Title>\
                 <URL method=\"post\">http://srv/s?a=1&amp;b=2</URL>\
                 <InputItem><DisplayName>PIN</DisplayName><QueryStringParam>pin</QueryStringParam>\
                 <InputFlags>NP</InputFlags><DefaultValue>0</DefaultValue></InputItem>\
                 </CiscoIPPhoneInput>"
            )
        );
        assert!(!Input::new("http://x/").unwrap().to_xml().contains("method"));
    }

    #[test]
    fn input_flags_are_one_base_letter_and_optional_p() {
        for ok in [
            "A", "T", "N", "E", "U", "L", "AP", "TP", "NP", "EP", "UP", "LP",
        ] {
            assert_eq!(ok.parse::<InputFlags>().unwrap().to_string(), ok);
        }
        for bad in ["", "P", "AA", "APP", "a", "X", "PA", "AN"] {
            let e = bad.parse::<InputFlags>().unwrap_err();
            assert_eq!(e.field, "InputItem InputFlags");
        }
    }

    #[test]
    fn input_item_fields_are_checked() {
        let a = InputFlags::new(InputKind::Ascii, false);
        assert!(InputItem::new(&"d".repeat(33), "p", a).is_err());
        assert!(InputItem::new("d", "a b", a).is_err());
        assert!(InputItem::new("d", "a&b", a).is_err());
        assert!(InputItem::new("d", "", a).is_err());
        assert!(InputItem::new("d", &"p".repeat(33), a).is_err());
        let i = InputItem::new("d", "user_id-1.x~", a).unwrap();
        assert!(i.default_value(&"v".repeat(33)).is_err());
    }

    #[test]
    fn text_body_is_at_most_4000_characters_and_escaped() {
        assert!(Text::new().text(&"x".repeat(4000)).is_ok());
        let e = Text::new().text(&"x".repeat(4001)).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneText Text");
        let t = Text::new().text("a & b <c>").unwrap();
        assert!(t.to_xml().contains("<Text>a &amp; b &lt;c&gt;</Text>"));
    }
}
