//! Who may page through a call, pure: the INVITE's source must be an allowed trunk, or the
//! caller one the agent let in by digest credentials (`[[sip.caller]]`, [`super::challenge`]),
//! else 403; the dialled number a route (404); and the agent under its call limit (486). The
//! checks run in that order, so a caller that is not allowed learns nothing about the numbers.
//!
//! The agent ([`super::ua`]) judges the credentials before the call is taken and runs the
//! call's task inside [`vouched`]: [`admit`] reads that mark ([`admit_vouched`] is the same
//! rule with the mark passed in).

use std::net::Ipv4Addr;

use crate::config::{Sip, SipRoute};

tokio::task_local! {
    /// The `[[sip.caller]]` user the agent let in for the call this task answers.
    static VOUCHED: String;
}

/// Run `call` (one call's task) as let in by digest as `user`.
pub(super) async fn vouched<F: std::future::Future>(user: String, call: F) -> F::Output {
    VOUCHED.scope(user, call).await
}

/// Why a new call is refused, with the SIP status it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// The source is not in `[sip] allow` (and no credentials let it in): 403 Forbidden.
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

/// The route a call from `source` to `number` takes, with `calls` already up; a call whose
/// task runs inside [`vouched`] passes the source check.
pub fn admit<'a>(
    sip: &'a Sip,
    source: Option<Ipv4Addr>,
    number: Option<&str>,
    calls: usize,
) -> Result<&'a SipRoute, Turned> {
    let vouched = VOUCHED.try_with(|_| ()).is_ok();
    admit_vouched(sip, source, vouched, number, calls)
}

/// [`admit`]'s rule: `vouched` when digest credentials let the caller in.
pub fn admit_vouched<'a>(
    sip: &'a Sip,
    source: Option<Ipv4Addr>,
    vouched: bool,
    number: Option<&str>,
    calls: usize,
) -> Result<&'a SipRoute, Turned> {
    if !vouched && !source.is_some_and(|ip| sip.allows(ip)) {
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

    /// Read from a config (so new route fields need no change here).
    fn sip() -> Sip {
        let text = "[[phone]]\nname = \"p1\"\nhost = \"10.0.0.1\"\nmodel = \"CP-8851\"\n\
                    user = \"u\"\npassword_env = \"ZC_PW\"\n\n[zone.lobby]\nmembers = [\"p1\"]\n\n\
                    [sip]\nallow = [\"10.1.0.0/24\"]\nmax_calls = 2\n\n\
                    [[sip.route]]\nnumber = \"7001\"\nzone = \"lobby\"\n";
        crate::config::Config::from_toml(text, "/etc/zonecast/zonecast.toml")
            .unwrap()
            .sip
            .unwrap()
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

    #[test]
    fn a_vouched_caller_passes_the_source_check_only() {
        let s = sip();
        let outsider = Some(Ipv4Addr::new(10, 2, 0, 9));
        let r = admit_vouched(&s, outsider, true, Some("7001"), 0);
        assert_eq!(r.unwrap().zone, "lobby");
        let r = admit_vouched(&s, outsider, true, Some("7002"), 0);
        assert_eq!(r, Err(Turned::NoRoute));
        assert_eq!(
            admit_vouched(&s, outsider, true, Some("7001"), 2),
            Err(Turned::Full)
        );
    }

    #[tokio::test]
    async fn admit_reads_the_mark_of_the_task_it_runs_in() {
        let s = sip();
        let outsider = Some(Ipv4Addr::new(10, 2, 0, 9));
        let inside = vouched("pbx".into(), async {
            admit(&s, outsider, Some("7001"), 0).is_ok()
        });
        assert!(inside.await);
        assert_eq!(
            admit(&s, outsider, Some("7001"), 0),
            Err(Turned::NotAllowed)
        );
    }
}
