//! Who may page through a call, pure: the INVITE's source must be an allowed trunk (403), the
//! dialled number a route (404), and the agent under its call limit (486). The checks run in
//! that order, so a caller that is not allowed learns nothing about the numbers.

use std::net::Ipv4Addr;

use crate::config::{Sip, SipRoute};

/// Why a new call is refused, with the SIP status it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// The source is not in `[sip] allow`: 403 Forbidden.
    NotAllowed,
    /// No `[[sip.route]]` has the dialled number: 404 Not Found.
    NoRoute,
    /// `[sip] max_calls` calls are up: 486 Busy Here.
    Full,
}

impl Turned {
    /// The SIP status code.
    pub fn status(self) -> u16 {
        match self {
            Turned::NotAllowed => 403,
            Turned::NoRoute => 404,
            Turned::Full => 486,
        }
    }
}

/// The route a call from `source` to `number` takes, with `calls` already up.
pub fn admit<'a>(
    sip: &'a Sip,
    source: Option<Ipv4Addr>,
    number: Option<&str>,
    calls: usize,
) -> Result<&'a SipRoute, Turned> {
    if !source.is_some_and(|ip| sip.allows(ip)) {
        return Err(Turned::NotAllowed);
    }
    let route = number.and_then(|n| sip.route(n)).ok_or(Turned::NoRoute)?;
    if calls >= sip.max_calls {
        return Err(Turned::Full);
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cidr;

    fn sip() -> Sip {
        Sip {
            listen: "127.0.0.1:5060".parse().unwrap(),
            allow: vec![Cidr::parse("10.1.0.0/24").unwrap()],
            max_calls: 2,
            no_rtp: std::time::Duration::from_secs(5),
            routes: vec![SipRoute {
                number: "7001".into(),
                zone: "lobby".into(),
                priority: None,
                mode: crate::config::RouteMode::Live,
                pin: None,
            }],
        }
    }

    #[test]
    fn source_then_number_then_limit() {
        let s = sip();
        let ok = Some(Ipv4Addr::new(10, 1, 0, 9));
        assert_eq!(admit(&s, ok, Some("7001"), 1).unwrap().zone, "lobby");
        let outsider = Some(Ipv4Addr::new(10, 2, 0, 9));
        assert_eq!(
            admit(&s, outsider, Some("7001"), 0),
            Err(Turned::NotAllowed)
        );
        assert_eq!(admit(&s, None, Some("7001"), 0), Err(Turned::NotAllowed));
        assert_eq!(
            admit(&s, outsider, Some("9"), 0),
            Err(Turned::NotAllowed),
            "no hint"
        );
        assert_eq!(admit(&s, ok, Some("7002"), 0), Err(Turned::NoRoute));
        assert_eq!(admit(&s, ok, None, 0), Err(Turned::NoRoute));
        assert_eq!(admit(&s, ok, Some("7001"), 2), Err(Turned::Full));
        let codes: Vec<u16> = [Turned::NotAllowed, Turned::NoRoute, Turned::Full]
            .iter()
            .map(|t| t.status())
            .collect();
        assert_eq!(codes, [403, 404, 486]);
    }
}
