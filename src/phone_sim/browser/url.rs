//! URLs and header values as a phone reads them: `#DEVICENAME#` expansion, relative URLs
//! resolved against the page, the host cookies are kept for, `Refresh` and `Expires`, and the
//! percent-encoding of submitted values. Pure string work; no request is built here (that is
//! `request`).

use std::time::SystemTime;

use super::error::BrowseError;

/// `url` with every `#DEVICENAME#` replaced by the device name (`SEP` and the MAC).
pub fn expand_device_name(url: &str, device: &str) -> String {
    url.replace("#DEVICENAME#", device)
}

/// `url` as an absolute HTTP(S) URL: as is when absolute, else resolved against `base`.
pub fn resolve_url(base: Option<&str>, url: &str) -> Result<String, BrowseError> {
    let bad = |reason: String| BrowseError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = match reqwest::Url::parse(url.trim()) {
        Ok(u) => u,
        Err(e) => {
            let base =
                base.ok_or_else(|| bad(format!("{e}, and no page to resolve it against")))?;
            reqwest::Url::parse(base)
                .and_then(|b| b.join(url.trim()))
                .map_err(|e| bad(e.to_string()))?
        }
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("not an HTTP or HTTPS URL".into()));
    }
    Ok(parsed.to_string())
}

/// The host part of an absolute URL (cookie key), lower case.
pub fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}

/// A `Refresh` header: `N`, `N; url=U` or `N;URL=U` (U may be quoted). Seconds and URL as sent.
pub fn parse_refresh(value: &str) -> Option<(u64, Option<String>)> {
    let (secs, rest) = match value.split_once(';') {
        Some((s, r)) => (s, Some(r)),
        None => (value, None),
    };
    let secs: u64 = secs.trim().parse().ok()?;
    let url = rest.and_then(|r| {
        let r = r.trim();
        let (k, v) = r.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("url") {
            return None;
        }
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_owned())
    });
    Some((secs, url))
}

/// An `Expires` header as a time: an HTTP date (`Tue, 15 Nov 1994 08:12:31 GMT`); `0`, `-1` or
/// anything unreadable mean "already expired", as HTTP says.
pub fn parse_expires(value: &str) -> SystemTime {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .and_then(|t| u64::try_from(t.timestamp()).ok())
        .map_or(SystemTime::UNIX_EPOCH, |s| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s)
        })
}

/// Percent-encoding of a query value: everything but `A-Z a-z 0-9 - . _ ~` as `%XX` (so a space
/// is `%20`, which every server reads; `+` would be read as a plus by some).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_refresh_and_expires() {
        assert_eq!(
            expand_device_name("http://h/m?n=#DEVICENAME#", "SEP0C1E5A000001"),
            "http://h/m?n=SEP0C1E5A000001"
        );
        assert_eq!(
            resolve_url(Some("http://h:8/a/b?x=1"), "c").unwrap(),
            "http://h:8/a/c"
        );
        assert_eq!(
            resolve_url(Some("http://h/a/b"), "/z").unwrap(),
            "http://h/z"
        );
        assert!(resolve_url(None, "rel").is_err());
        assert!(resolve_url(None, "ftp://h/x").is_err());
        assert_eq!(parse_refresh("5"), Some((5, None)));
        assert_eq!(parse_refresh("1; url=/s2"), Some((1, Some("/s2".into()))));
        assert_eq!(
            parse_refresh("2;URL='http://x/y'"),
            Some((2, Some("http://x/y".into())))
        );
        assert_eq!(parse_refresh("soon"), None);
        assert_eq!(parse_expires("0"), SystemTime::UNIX_EPOCH);
        let t = parse_expires("Tue, 15 Nov 1994 08:12:31 GMT");
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            784_887_151
        );
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
