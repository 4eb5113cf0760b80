//! AXL, CUCM's administrative SOAP API, as discovery uses it: `listPhone` paged with
//! `skip`/`first` (name, description, product, model, device pool, location, owner), and one
//! fixed `executeSQLQuery` for every phone's directory numbers, paged the same way (Informix
//! `SKIP n FIRST m`), since `listPhone` returns none. Requests and their answers' parsers; the
//! "Query request too large" refusal read as the row count CUCM suggests.
//!
//! The namespace is `http://www.cisco.com/AXL/API/VERSION` on the operation element only (the
//! schema's elements are unqualified), and the SOAPAction is `"CUCM:DB ver=VERSION OPERATION"`.

use std::fmt::Write as _;

use super::soap::{SoapError, SoapFault, Step, ends_with, envelope, walk};
use crate::xsi::xml::escape;

/// The AXL path on the publisher (the trailing slash is required).
pub const AXL_PATH: &str = "/axl/";

/// Most rows one answer may carry (CUCM's own pages are far smaller).
pub const MAX_ROWS: usize = 20_000;

/// The directory-number query, `SKIP`/`FIRST` prepended by [`lines_sql`]: every line of every
/// phone (class 1), the line's index (1 = primary) kept so lines can be ordered.
pub const LINES_SQL: &str = "d.name AS device, n.dnorprefix AS dn, m.numplanindex AS line \
FROM device AS d INNER JOIN devicenumplanmap AS m ON m.fkdevice = d.pkid \
INNER JOIN numplan AS n ON m.fknumplan = n.pkid WHERE d.tkclass = 1 \
ORDER BY d.name, m.numplanindex";

/// The SOAPAction header of AXL operation `op` for `version` (quotes included).
pub fn soap_action(version: &str, op: &str) -> String {
    format!("\"CUCM:DB ver={version} {op}\"")
}

fn ns(version: &str) -> String {
    format!("http://www.cisco.com/AXL/API/{version}")
}

/// The `listPhone` operation element: every phone (`name` like `%`), the tags discovery reads,
/// rows `skip..skip + first`.
pub fn list_phone_element(version: &str, skip: usize, first: usize) -> String {
    format!(
        "<ns:listPhone xmlns:ns=\"{}\"><searchCriteria><name>%</name></searchCriteria>\
         <returnedTags><name/><description/><product/><model/><devicePoolName/>\
         <locationName/><ownerUserName/></returnedTags><skip>{skip}</skip><first>{first}</first>\
         </ns:listPhone>",
        escape(&ns(version))
    )
}

/// The whole `listPhone` request.
pub fn list_phone_request(version: &str, skip: usize, first: usize) -> String {
    envelope(&list_phone_element(version, skip, first))
}

/// The directory-number SQL for rows `skip..skip + first`.
pub fn lines_sql(skip: usize, first: usize) -> String {
    format!("SELECT SKIP {skip} FIRST {first} {LINES_SQL}")
}

/// The `executeSQLQuery` operation element for [`lines_sql`].
pub fn lines_element(version: &str, skip: usize, first: usize) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<ns:executeSQLQuery xmlns:ns=\"{}\"><sql>{}</sql></ns:executeSQLQuery>",
        escape(&ns(version)),
        escape(&lines_sql(skip, first))
    );
    out
}

/// The whole `executeSQLQuery` request for the directory numbers.
pub fn lines_request(version: &str, skip: usize, first: usize) -> String {
    envelope(&lines_element(version, skip, first))
}

/// One phone as `listPhone` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AxlPhone {
    /// Device name (`SEP0011223344AA`).
    pub name: String,
    /// Its description.
    pub description: String,
    /// AXL product name (`Cisco 8851`).
    pub product: String,
    /// AXL model name (usually the product's).
    pub model: String,
    /// Device pool.
    pub device_pool: String,
    /// Location.
    pub location: String,
    /// Owner user id.
    pub owner: String,
}

/// One line of a phone, from the directory-number query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxlLine {
    /// Device name.
    pub device: String,
    /// Directory number.
    pub dn: String,
    /// Line index (1 = primary).
    pub index: u32,
}

/// The phones of a `listPhone` answer, in answer order.
pub fn parse_list_phone(xml: &str) -> Result<Vec<AxlPhone>, SoapError> {
    let mut out: Vec<AxlPhone> = Vec::new();
    walk(xml, "listPhone", |step| {
        match step {
            Step::Open(p) if ends_with(p, &["return", "phone"]) => {
                if out.len() >= MAX_ROWS {
                    return Err(format!("more than {MAX_ROWS} phones in one answer"));
                }
                out.push(AxlPhone::default());
            }
            Step::Close(p, text) if p.len() >= 2 && p[p.len() - 2] == "phone" => {
                let Some(ph) = out.last_mut() else {
                    return Ok(());
                };
                let slot = match p[p.len() - 1].as_str() {
                    "name" => &mut ph.name,
                    "description" => &mut ph.description,
                    "product" => &mut ph.product,
                    "model" => &mut ph.model,
                    "devicePoolName" => &mut ph.device_pool,
                    "locationName" => &mut ph.location,
                    "ownerUserName" => &mut ph.owner,
                    _ => return Ok(()),
                };
                text.clone_into(slot);
            }
            _ => {}
        }
        Ok(())
    })?;
    if let Some(i) = out.iter().position(|p| p.name.is_empty()) {
        return Err(SoapError::malformed(
            "listPhone",
            format!("phone {} of the answer has no name", i + 1),
        ));
    }
    Ok(out)
}

/// The lines of an `executeSQLQuery` answer to [`lines_sql`].
pub fn parse_lines(xml: &str) -> Result<Vec<AxlLine>, SoapError> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    walk(xml, "executeSQLQuery", |step| {
        match step {
            Step::Open(p) if ends_with(p, &["return", "row"]) => {
                if rows.len() >= MAX_ROWS {
                    return Err(format!("more than {MAX_ROWS} rows in one answer"));
                }
                rows.push(Default::default());
            }
            Step::Close(p, text) if p.len() >= 2 && p[p.len() - 2] == "row" => {
                if let Some(r) = rows.last_mut() {
                    match p[p.len() - 1].as_str() {
                        "device" => text.clone_into(&mut r.0),
                        "dn" => text.clone_into(&mut r.1),
                        "line" => text.clone_into(&mut r.2),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    rows.into_iter()
        .enumerate()
        .map(|(i, (device, dn, line))| {
            let index = line.parse().map_err(|_| {
                SoapError::malformed(
                    "executeSQLQuery",
                    format!("row {}: line index {line:?} is not a number", i + 1),
                )
            })?;
            if device.is_empty() {
                return Err(SoapError::malformed(
                    "executeSQLQuery",
                    format!("row {} has no device", i + 1),
                ));
            }
            Ok(AxlLine { device, dn, index })
        })
        .collect()
}

/// CUCM's refusal of a read over 8 MB: "Query request too large. Total rows matched: N rows.
/// Suggestive Row Fetch: less than M rows".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// Rows the query matched.
    pub total: Option<u64>,
    /// Fetch fewer rows than this.
    pub less_than: u64,
}

impl TooLarge {
    /// The refusal in `fault`, if that is what it is.
    pub fn from_fault(fault: &SoapFault) -> Option<TooLarge> {
        let m = fault.message();
        if !m.contains("Query request too large") {
            return None;
        }
        let number_after = |key: &str| -> Option<u64> {
            let rest = &m[m.find(key)? + key.len()..];
            let digits: String = rest
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        Some(TooLarge {
            total: number_after("Total rows matched:"),
            less_than: number_after("less than")?,
        })
    }

    /// The message CUCM sends (for the emulator).
    pub fn message(total: u64, less_than: u64) -> String {
        format!(
            "Query request too large. Total rows matched: {total} rows. Suggestive Row Fetch: \
             less than {less_than} rows"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_phone_answers_parse() {
        let xml = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
            <soapenv:Body><ns:listPhoneResponse xmlns:ns=\"http://www.cisco.com/AXL/API/14.0\">\
            <return><phone uuid=\"{1}\"><name>SEP001122334455</name><description>Lobby &amp; \
            hall</description><product>Cisco 8851</product><model>Cisco 8851</model>\
            <devicePoolName uuid=\"{2}\">DP-HQ</devicePoolName><locationName/>\
            <ownerUserName>jdoe</ownerUserName></phone><phone><name>SEP00AABBCCDDEE</name>\
            </phone></return></ns:listPhoneResponse></soapenv:Body></soapenv:Envelope>";
        let p = parse_list_phone(xml).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].description, "Lobby & hall");
        assert_eq!(p[0].device_pool, "DP-HQ");
        assert_eq!(p[0].owner, "jdoe");
        assert_eq!(p[1].product, "");
    }

    #[test]
    fn too_large_reads_the_suggestion() {
        let f = SoapFault {
            string: TooLarge::message(12000, 4000),
            ..Default::default()
        };
        assert_eq!(
            TooLarge::from_fault(&f),
            Some(TooLarge {
                total: Some(12000),
                less_than: 4000
            })
        );
        let other = SoapFault {
            string: "Item not valid".into(),
            ..Default::default()
        };
        assert_eq!(TooLarge::from_fault(&other), None);
    }

    #[test]
    fn requests_carry_the_version_and_page() {
        let r = list_phone_request("14.0", 2000, 1000);
        assert!(r.contains("http://www.cisco.com/AXL/API/14.0"));
        assert!(r.contains("<skip>2000</skip><first>1000</first>"));
        assert_eq!(
            soap_action("14.0", "listPhone"),
            "\"CUCM:DB ver=14.0 listPhone\""
        );
        assert!(lines_request("14.0", 0, 500).contains("SELECT SKIP 0 FIRST 500 d.name"));
    }
}
