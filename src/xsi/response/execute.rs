//! The reply to a pushed `CiscoIPPhoneExecute`: one `ResponseItem` per executed URI, or a
//! `CiscoIPPhoneError` when the push itself failed.
//!
//! Items are looked up by URL ([`ExecuteReply::item_for`]), never by position: Cisco documents
//! that "the execution order is not guaranteed". Multiplatform (MPP) firmware sends neither
//! object; see [`crate::xsi::model::Capabilities::execute_response`].

use super::error::ParseError;
use super::xml::{self, Element};

/// What a phone answered to an Execute push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecuteReply {
    /// `CiscoIPPhoneResponse`: the per-URI outcomes, in the order the phone wrote them.
    Response(Vec<ResponseItem>),
    /// `CiscoIPPhoneError Number="n"`: the push as a whole was refused.
    Error(PhoneError),
}

impl ExecuteReply {
    /// The item whose URL is `url`. Exact match first; then ignoring surrounding whitespace and
    /// ASCII case, because some firmware echoes `Key:Soft1` as `key:soft1`.
    pub fn item_for(&self, url: &str) -> Option<&ResponseItem> {
        let ExecuteReply::Response(items) = self else {
            return None;
        };
        items.iter().find(|i| i.url == url).or_else(|| {
            let wanted = url.trim();
            items
                .iter()
                .find(|i| i.url.trim().eq_ignore_ascii_case(wanted))
        })
    }

    /// The items, empty for an error reply.
    pub fn items(&self) -> &[ResponseItem] {
        match self {
            ExecuteReply::Response(items) => items,
            ExecuteReply::Error(_) => &[],
        }
    }
}

/// One `<ResponseItem Status=".." Data=".." URL=".."/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseItem {
    /// 0 success, 1 parse error, 6 internal error; other values are kept as sent.
    pub status: u32,
    /// Free text: "Success", "Invalid URI", "URI not found", "No Active Call",
    /// "Unknown Application ID", "Application is not Active", PRT progress ...
    pub data: String,
    /// The URI this item reports on, as the phone echoes it.
    pub url: String,
}

impl ResponseItem {
    /// The status as a typed value.
    pub fn status_kind(&self) -> ItemStatus {
        ItemStatus::from_code(self.status)
    }

    /// Whether the URI ran (Status 0).
    pub fn is_success(&self) -> bool {
        self.status == 0
    }
}

/// Meaning of a `ResponseItem` Status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// 0: the URI ran.
    Success,
    /// 1: the phone could not parse the URI ("Invalid URI").
    ParseError,
    /// 6: parsed but failed; `data` says why ("URI not found", "No Active Call" ...).
    InternalError,
    /// Any other code, kept as sent.
    Other(u32),
}

impl ItemStatus {
    /// Map a Status code.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => ItemStatus::Success,
            1 => ItemStatus::ParseError,
            6 => ItemStatus::InternalError,
            n => ItemStatus::Other(n),
        }
    }
}

/// `CiscoIPPhoneError Number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    /// 1: the CiscoIPPhoneExecute object could not be parsed.
    Parse,
    /// 2: the phone failed to frame its CiscoIPPhoneResponse.
    Framing,
    /// 3: internal file error.
    InternalFile,
    /// 4: authentication failed (older 79xx answer a plain HTTP 401 instead).
    Authentication,
    /// A number the documentation does not list, kept as sent.
    Other(u32),
}

impl PhoneError {
    /// Map a `Number` attribute.
    pub fn from_number(n: u32) -> Self {
        match n {
            1 => PhoneError::Parse,
            2 => PhoneError::Framing,
            3 => PhoneError::InternalFile,
            4 => PhoneError::Authentication,
            n => PhoneError::Other(n),
        }
    }

    /// The number as sent.
    pub fn number(self) -> u32 {
        match self {
            PhoneError::Parse => 1,
            PhoneError::Framing => 2,
            PhoneError::InternalFile => 3,
            PhoneError::Authentication => 4,
            PhoneError::Other(n) => n,
        }
    }
}

/// Parse the body of the HTTP reply to an Execute push.
pub fn parse_execute_reply(body: &[u8]) -> Result<ExecuteReply, ParseError> {
    from_element(&xml::parse_bytes(body)?)
}

/// Read an already-parsed element; shared with the media parser, which may get a
/// `CiscoIPPhoneError` too.
pub(super) fn from_element(root: &Element) -> Result<ExecuteReply, ParseError> {
    if root.is("CiscoIPPhoneError") {
        return Ok(ExecuteReply::Error(phone_error(root)?));
    }
    if !root.is("CiscoIPPhoneResponse") {
        return Err(ParseError::UnexpectedRoot {
            expected: "CiscoIPPhoneResponse or CiscoIPPhoneError",
            found: root.name.clone(),
        });
    }
    root.children
        .iter()
        .filter(|c| c.is("ResponseItem"))
        .map(response_item)
        .collect::<Result<_, _>>()
        .map(ExecuteReply::Response)
}

pub(super) fn phone_error(root: &Element) -> Result<PhoneError, ParseError> {
    let raw = root
        .attr("Number")
        .ok_or(ParseError::Missing("CiscoIPPhoneError Number"))?;
    let n = parse_u32(raw).ok_or_else(|| ParseError::BadValue {
        field: "CiscoIPPhoneError Number",
        value: raw.to_owned(),
        rule: "a decimal number",
    })?;
    Ok(PhoneError::from_number(n))
}

fn response_item(el: &Element) -> Result<ResponseItem, ParseError> {
    let raw = el
        .attr("Status")
        .ok_or(ParseError::Missing("ResponseItem Status"))?;
    let status = parse_u32(raw).ok_or_else(|| ParseError::BadValue {
        field: "ResponseItem Status",
        value: raw.to_owned(),
        rule: "a decimal number",
    })?;
    Ok(ResponseItem {
        status,
        data: el.attr("Data").unwrap_or_default().to_owned(),
        url: el.attr("URL").unwrap_or_default().to_owned(),
    })
}

fn parse_u32(raw: &str) -> Option<u32> {
    raw.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ExecuteReply, ParseError> {
        parse_execute_reply(s.as_bytes())
    }

    #[test]
    fn success_item() {
        let r = parse(
            "<CiscoIPPhoneResponse><ResponseItem Status=\"0\" Data=\"Success\" \
             URL=\"Key:Soft1\"/></CiscoIPPhoneResponse>",
        )
        .unwrap();
        let item = r.item_for("Key:Soft1").unwrap();
        assert_eq!(item.status_kind(), ItemStatus::Success);
        assert!(item.is_success());
        assert_eq!(item.data, "Success");
    }

    #[test]
    fn items_are_matched_by_url_not_position() {
        let r = parse(
            "<?xml version=\"1.0\"?>\r\n<CiscoIPPhoneResponse>\r\n\
             <ResponseItem URL=\"RTPRx:Stop\" Data=\"Success\" Status=\"0\"/>\r\n\
             <ResponseItem URL=\"SendDigits:123:1::A\" Data=\"No Active Call\" Status=\"6\"/>\r\n\
             <ResponseItem URL=\"Bogus\" Data=\"Invalid URI\" Status=\"1\"/>\r\n\
             </CiscoIPPhoneResponse>",
        )
        .unwrap();
        assert_eq!(r.items().len(), 3);
        let digits = r.item_for("SendDigits:123:1::A").unwrap();
        assert_eq!(digits.status_kind(), ItemStatus::InternalError);
        assert_eq!(digits.data, "No Active Call");
        assert_eq!(
            r.item_for("Bogus").unwrap().status_kind(),
            ItemStatus::ParseError
        );
        assert_eq!(r.item_for("rtprx:stop").unwrap().status, 0);
        assert!(r.item_for("Key:Hold").is_none());
    }

    #[test]
    fn app_uri_internal_errors() {
        for data in [
            "Unknown Application ID",
            "Application is not Active",
            "URI not found",
        ] {
            let doc = format!(
                "<CiscoIPPhoneResponse><ResponseItem Status=\"6\" Data=\"{data}\" \
                 URL=\"App:Close:0:60:Acme/Pager\"/></CiscoIPPhoneResponse>"
            );
            let r = parse(&doc).unwrap();
            let item = r.item_for("App:Close:0:60:Acme/Pager").unwrap();
            assert_eq!(item.data, data);
            assert_eq!(item.status_kind(), ItemStatus::InternalError);
        }
    }

    #[test]
    fn unknown_status_is_kept() {
        let r = parse(
            "<CiscoIPPhoneResponse><ResponseItem Status=\"9\" URL=\"x\"/></CiscoIPPhoneResponse>",
        )
        .unwrap();
        assert_eq!(r.items()[0].status_kind(), ItemStatus::Other(9));
        assert_eq!(r.items()[0].data, "");
    }

    #[test]
    fn errors_by_number() {
        for (n, e) in [
            (1, PhoneError::Parse),
            (2, PhoneError::Framing),
            (3, PhoneError::InternalFile),
            (4, PhoneError::Authentication),
            (42, PhoneError::Other(42)),
        ] {
            let r = parse(&format!("<CiscoIPPhoneError Number=\"{n}\" />")).unwrap();
            assert_eq!(r, ExecuteReply::Error(e));
            assert_eq!(e.number(), n);
            assert!(r.item_for("x").is_none());
        }
    }

    #[test]
    fn error_with_message_and_typographic_quotes() {
        let r = parse(
            "<CiscoIPPhoneError Number=\u{201D}4\u{201D}>optional message</CiscoIPPhoneError>",
        )
        .unwrap();
        assert_eq!(r, ExecuteReply::Error(PhoneError::Authentication));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse("<CiscoIPPhoneText/>"),
            Err(ParseError::UnexpectedRoot { .. })
        ));
        assert_eq!(
            parse("<CiscoIPPhoneError/>"),
            Err(ParseError::Missing("CiscoIPPhoneError Number"))
        );
        assert!(matches!(
            parse("<CiscoIPPhoneResponse><ResponseItem Status=\"ok\"/></CiscoIPPhoneResponse>"),
            Err(ParseError::BadValue { .. })
        ));
        assert!(matches!(
            parse("<CiscoIPPhoneError Number=\"-1\"/>"),
            Err(ParseError::BadValue { .. })
        ));
    }

    #[test]
    fn empty_response_has_no_items() {
        assert_eq!(
            parse("<CiscoIPPhoneResponse></CiscoIPPhoneResponse>").unwrap(),
            ExecuteReply::Response(vec![])
        );
    }
}
