//! [`Discovery`] driven with virtual time against answers built here: paging, the "too large"
//! refusal, RIS batches, the rate limit and its fault, `StateInfo` and `NoChange`.

use std::time::{Duration, Instant};

use super::axl::TooLarge;
use super::discovery::*;
use super::ris::{RIS_NS, RegState, rate_fault_text};
use crate::config::CucmFilter;

fn env(body: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
}

fn fault(msg: &str) -> String {
    env(&format!(
        "<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>{msg}</faultstring>\
         </soapenv:Fault>"
    ))
}

fn name(i: usize) -> String {
    format!("SEP{i:012X}")
}

fn phones(range: std::ops::Range<usize>) -> String {
    let mut s = String::from("<ns:listPhoneResponse xmlns:ns=\"x\"><return>");
    for i in range {
        s += &format!(
            "<phone><name>{}</name><description>desk {i}</description><product>Cisco 8851\
             </product><model>Cisco 8851</model><devicePoolName>DP-{}</devicePoolName></phone>",
            name(i),
            i % 2
        );
    }
    env(&(s + "</return></ns:listPhoneResponse>"))
}

fn lines(range: std::ops::Range<usize>) -> String {
    let mut s = String::from("<ns:executeSQLQueryResponse xmlns:ns=\"x\"><return>");
    for i in range {
        s += &format!(
            "<row><device>{}</device><dn>{}</dn><line>1</line></row>",
            name(i),
            1000 + i
        );
    }
    env(&(s + "</return></ns:executeSQLQueryResponse>"))
}

fn ris(names: &[String], no_change: bool) -> String {
    let mut d = String::new();
    if !no_change {
        for n in names {
            d += &format!(
                "<ns1:item><ns1:Name>{n}</ns1:Name><ns1:Status>Registered</ns1:Status>\
                 <ns1:Httpd>Yes</ns1:Httpd><ns1:IPAddress><ns1:item><ns1:IP>10.1.0.9</ns1:IP>\
                 </ns1:item></ns1:IPAddress></ns1:item>"
            );
        }
    }
    env(&format!(
        "<ns1:selectCmDeviceResponse xmlns:ns1=\"{RIS_NS}\"><ns1:selectCmDeviceReturn>\
         <ns1:SelectCmDeviceResult><ns1:CmNodes><ns1:item><ns1:NoChange>{no_change}\
         </ns1:NoChange><ns1:CmDevices>{d}</ns1:CmDevices></ns1:item></ns1:CmNodes>\
         </ns1:SelectCmDeviceResult><ns1:StateInfo>S{}</ns1:StateInfo>\
         </ns1:selectCmDeviceReturn></ns1:selectCmDeviceResponse>",
        names.len()
    ))
}

/// Drive `d` against a cluster of `n` phones; `answer` may replace an answer. Returns the
/// calls made and the virtual time taken.
fn drive(
    d: &mut Discovery,
    n: usize,
    mut answer: impl FnMut(&CucmCall) -> Option<String>,
) -> (Vec<CucmCall>, Duration) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut calls = Vec::new();
    loop {
        match d.poll(now) {
            DiscoveryStep::Done => return (calls, now - t0),
            DiscoveryStep::Wait(at) => {
                assert!(at > now, "a wait in the past");
                now = at;
            }
            DiscoveryStep::Send(call) => {
                let body = answer(&call).unwrap_or_else(|| match &call {
                    CucmCall::ListPhone { skip, first } => phones(*skip..(skip + first).min(n)),
                    CucmCall::Lines { skip, first } => lines(*skip..(skip + first).min(n)),
                    CucmCall::Select { names, .. } => ris(names, false),
                });
                calls.push(call);
                d.handle_answer(now, &body).unwrap();
                now += Duration::from_millis(10);
            }
        }
    }
}

#[test]
fn pages_then_lines_then_batches() {
    let mut d = Discovery::new(DiscoverySettings::default(), CucmFilter::default(), None);
    let (calls, _) = drive(&mut d, 2500, |_| None);
    let ops: Vec<&str> = calls.iter().map(CucmCall::operation).collect();
    assert_eq!(
        ops,
        [
            "listPhone",
            "listPhone",
            "listPhone",
            "executeSQLQuery",
            "executeSQLQuery",
            "executeSQLQuery",
            "selectCmDeviceExt",
            "selectCmDeviceExt",
            "selectCmDeviceExt"
        ]
    );
    let t = d.finish();
    assert_eq!(t.phones.len(), 2500);
    assert_eq!(t.phones[7].lines, ["1007"]);
    assert_eq!(t.phones[7].model, "CP-8851");
    assert_eq!(t.phones[7].state, RegState::Registered);
    assert_eq!(t.ris_states.len(), 3);
    assert!(calls.iter().all(|c| match c {
        CucmCall::Select { names, .. } => names.len() <= 1000,
        _ => true,
    }));
}

#[test]
fn a_too_large_read_is_asked_again_in_smaller_pages() {
    let mut d = Discovery::new(DiscoverySettings::default(), CucmFilter::default(), None);
    let (calls, _) = drive(&mut d, 1500, |c| match c {
        CucmCall::ListPhone { first, .. } if *first > 400 => {
            Some(fault(&TooLarge::message(1500, 400)))
        }
        _ => None,
    });
    assert_eq!(
        calls[1],
        CucmCall::ListPhone {
            skip: 0,
            first: 399
        }
    );
    assert_eq!(d.stats().smaller_pages, 1);
    assert_eq!(d.finish().phones.len(), 1500);
}

#[test]
fn other_faults_end_the_discovery_with_ciscos_words() {
    let mut d = Discovery::new(DiscoverySettings::default(), CucmFilter::default(), None);
    let t = Instant::now();
    assert!(matches!(d.poll(t), DiscoveryStep::Send(_)));
    let e = d
        .handle_answer(t, &fault("Access to the requested resource is denied"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "AXL listPhone: CUCM refused the request: Access to the requested resource is denied"
    );
}

#[test]
fn the_rate_limit_is_kept_and_a_rate_fault_waits_a_window() {
    let settings = DiscoverySettings {
        ris_batch: 100,
        ris_per_window: 3,
        ..DiscoverySettings::default()
    };
    let mut d = Discovery::new(settings, CucmFilter::default(), None);
    let (calls, took) = drive(&mut d, 500, |_| None);
    // 5 batches at 3 a minute: the 4th waits for the first's minute to pass.
    assert_eq!(calls.len(), 1 + 1 + 5);
    assert!(
        took >= Duration::from_secs(60) && took < Duration::from_secs(62),
        "{took:?}"
    );

    let settings = DiscoverySettings {
        ris_batch: 100,
        ..DiscoverySettings::default()
    };
    let mut d = Discovery::new(settings, CucmFilter::default(), None);
    let mut faulted = false;
    let (calls, took) = drive(&mut d, 200, |c| match c {
        CucmCall::Select { batch: 1, .. } if !faulted => {
            faulted = true;
            Some(fault(&rate_fault_text(15)))
        }
        _ => None,
    });
    assert!(took >= Duration::from_secs(60), "{took:?}");
    let selects: Vec<usize> = calls
        .iter()
        .filter_map(|c| match c {
            CucmCall::Select { batch, .. } => Some(*batch),
            _ => None,
        })
        .collect();
    assert_eq!(selects, [0, 1, 1]);
    let t = d.finish();
    assert_eq!(t.stats.rate_faults, 1);
    assert!(t.phones.iter().all(|p| p.state == RegState::Registered));
}

#[test]
fn endless_rate_faults_end_it() {
    let mut d = Discovery::new(DiscoverySettings::default(), CucmFilter::default(), None);
    let mut now = Instant::now();
    let mut err = None;
    for _ in 0..100 {
        match d.poll(now) {
            DiscoveryStep::Send(CucmCall::ListPhone { .. }) => {
                d.handle_answer(now, &phones(0..3)).unwrap()
            }
            DiscoveryStep::Send(CucmCall::Lines { .. }) => {
                d.handle_answer(now, &lines(0..3)).unwrap()
            }
            DiscoveryStep::Send(_) => {
                if let Err(e) = d.handle_answer(now, &fault(&rate_fault_text(15))) {
                    err = Some(e);
                    break;
                }
            }
            DiscoveryStep::Wait(at) => now = at,
            DiscoveryStep::Done => break,
        }
    }
    assert_eq!(err, Some(DiscoveryError::RateFaults(5)));
}

#[test]
fn state_info_is_passed_back_and_no_change_keeps_the_last_facts() {
    let mut d = Discovery::new(DiscoverySettings::default(), CucmFilter::default(), None);
    drive(&mut d, 10, |_| None);
    let first = d.finish();
    let mut d = Discovery::new(
        DiscoverySettings::default(),
        CucmFilter::default(),
        Some((&first.phones, &first.ris_states)),
    );
    let (calls, _) = drive(&mut d, 10, |c| match c {
        CucmCall::Select {
            names, state_info, ..
        } => {
            assert_eq!(state_info, "S10");
            Some(ris(names, true))
        }
        _ => None,
    });
    assert_eq!(calls.len(), 3);
    let again = d.finish();
    assert_eq!(again.stats.unchanged_batches, 1);
    assert_eq!(again.phones, first.phones);
}

#[test]
fn filters_take_only_the_phones_asked_for() {
    let filter = CucmFilter {
        device_pools: vec!["DP-1".into()],
        ..CucmFilter::default()
    };
    let mut d = Discovery::new(DiscoverySettings::default(), filter, None);
    let (calls, _) = drive(&mut d, 20, |_| None);
    let t = d.finish();
    assert_eq!(t.phones.len(), 10);
    assert!(t.phones.iter().all(|p| p.device_pool == "DP-1"));
    assert!(matches!(&calls[2], CucmCall::Select { names, .. } if names.len() == 10));
    assert_eq!(t.stats.listed, 20);
}
