//! Classification against nDPI's ground truth: every `.pcap.out` in the shared nDPI
//! captures lists each flow with the protocol nDPI detected. For the protocols we
//! dissect our classification must be the same; for every other flow we must not claim
//! one of ours.

// Oracle plumbing outside #[test] functions: a failed parse is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;

use common::{flows, pcap};
use pumpguard_proto::App;

/// nDPI's master protocol name to ours; `None` for protocols we do not dissect.
fn ours(ndpi: &str) -> Option<App> {
    let master = ndpi.split('.').next().unwrap_or(ndpi);
    Some(match master {
        "DHCP" => App::Dhcp,
        "DNS" => App::Dns,
        "MDNS" => App::Mdns,
        "TLS" => App::Tls,
        "HTTP" => App::Http,
        "HL7" => App::Hl7,
        "Telnet" => App::Telnet,
        "FTP_CONTROL" => App::Ftp,
        "SNMP" => App::Snmp,
        "NTP" => App::Ntp,
        "Syslog" => App::Syslog,
        "SSH" => App::Ssh,
        _ => return None,
    })
}

fn endpoint(s: &str) -> (IpAddr, u16) {
    let (ip, port) = s.rsplit_once(':').expect("ip:port");
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    (ip.parse().expect("ip"), port.parse().expect("port"))
}

/// (transport, one end, the other end, nDPI protocol) of one flow line.
type Truth = (String, (IpAddr, u16), (IpAddr, u16), String);

/// Each flow line of a `.out` file.
fn truth(out: &str) -> Vec<Truth> {
    out.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let mut words = l.split_whitespace();
            words.next()?.parse::<u32>().ok()?;
            let transport = words.next()?.to_string();
            if transport != "TCP" && transport != "UDP" {
                return None;
            }
            let a = endpoint(words.next()?);
            if words.next()? != "<->" {
                return None;
            }
            let b = endpoint(words.next()?);
            let proto = l.split("[proto: ").nth(1)?.split(']').next()?;
            let name = proto.split_once('/')?.1.to_string();
            Some((transport, a, b, name))
        })
        .collect()
}

#[test]
fn classification_matches_ndpi() {
    let dir = pcap("ndpi");
    let mut checked = 0;
    let mut ours_checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("ndpi dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for out in entries {
        let name = out.file_name().unwrap().to_string_lossy().to_string();
        let Some(capture) = name.strip_suffix(".out") else {
            continue;
        };
        let text = std::fs::read_to_string(&out).unwrap();
        let all = flows(&dir.join(capture));
        for (transport, a, b, proto) in truth(&text) {
            let Some(flow) = all.iter().find(|f| {
                f.joins(a, b) && format!("{:?}", f.transport).to_uppercase() == transport
            }) else {
                failures.push(format!("{capture}: flow {a:?} <-> {b:?} not found"));
                continue;
            };
            let (app, _) = flow.run();
            checked += 1;
            match ours(&proto) {
                Some(want) => {
                    ours_checked += 1;
                    if app != want {
                        failures.push(format!(
                            "{capture}: {a:?} <-> {b:?} nDPI {proto}, ours {app:?}"
                        ));
                    }
                }
                None => {
                    if app != App::Unknown {
                        failures.push(format!(
                            "{capture}: {a:?} <-> {b:?} nDPI {proto} (not ours), ours {app:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} flows disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        ours_checked >= 24,
        "only {ours_checked} flows of our protocols checked"
    );
    eprintln!("{checked} flows agree with nDPI ({ours_checked} of protocols we dissect)");
}

#[test]
fn hl7_capture_is_hl7() {
    let all = flows(&pcap("ndpi/hl7.pcap"));
    let tcp: Vec<_> = all.iter().filter(|f| f.server.1 == 6661).collect();
    assert_eq!(tcp.len(), 1);
    let (app, events) = tcp[0].run();
    assert_eq!(app, App::Hl7);
    assert!(!events.is_empty());
}
