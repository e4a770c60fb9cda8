//! FTP, Telnet, SSH, HTTP, NTP and syslog against tshark's dissectors, and HL7 against
//! the python `hl7` package, on the shared captures.

// Oracle plumbing outside #[test] functions: a failed parse is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{flows, pcap, tshark};
use pumpguard_proto::ftp::Ftp;
use pumpguard_proto::telnet::Telnet;
use pumpguard_proto::{App, Event, Side};

fn events(rel: &str) -> Vec<Event> {
    common::all_events(rel)
}

#[test]
fn ftp_commands_match_tshark() {
    let rel = "ndpi/ftp.pcap";
    let evs = events(rel);
    let ftp: Vec<&Ftp> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Ftp(f) => Some(f),
            _ => None,
        })
        .collect();
    let commands: Vec<(String, String)> = ftp
        .iter()
        .filter_map(|f| match f {
            Ftp::Command(c) => Some((c.verb.clone(), c.argument.clone().unwrap_or_default())),
            _ => None,
        })
        .collect();
    let rows = tshark(
        &pcap(rel),
        "ftp.request.command",
        &["ftp.request.command", "ftp.request.arg"],
    );
    let theirs: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            // The password is never kept: only "given".
            let arg = if r[0] == "PASS" {
                String::new()
            } else {
                r[1].clone()
            };
            (r[0].clone(), arg)
        })
        .collect();
    assert_eq!(commands, theirs);
    assert!(
        ftp.iter()
            .any(|f| matches!(f, Ftp::Command(c) if c.verb == "PASS" && c.password_given))
    );
    assert!(
        !format!("{evs:?}").contains("NcFTP@"),
        "the password leaked"
    );
    assert!(ftp.contains(&&Ftp::Banner("(vsFTPd 3.0.3)".into())));
    assert!(ftp.iter().any(
        |f| matches!(f, Ftp::LoginSucceeded { user: Some(u), anonymous: true } if u == "anonymous")
    ));
    // Every reply code tshark saw is one of ours.
    let codes: Vec<u16> = ftp
        .iter()
        .filter_map(|f| match f {
            Ftp::Reply(r) => Some(r.code),
            _ => None,
        })
        .collect();
    for r in tshark(&pcap(rel), "ftp.response", &["ftp.response.code"]) {
        for c in r[0].split('|').filter(|c| !c.is_empty()) {
            assert!(codes.contains(&c.parse().unwrap()), "{c} not in {codes:?}");
        }
    }
    // The data connection nDPI labels FTP_DATA is the one the 227 reply announced.
    let ndpi = std::fs::read_to_string(pcap("ndpi/ftp.pcap.out")).unwrap();
    let data_line = ndpi
        .lines()
        .find(|l| l.contains("FTP_DATA") && l.contains(" <-> "))
        .unwrap();
    let port: u16 = data_line
        .split(" <-> ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        ftp.iter()
            .any(|f| matches!(f, Ftp::DataChannel(d) if d.passive && d.port == port)),
        "no data channel to {port}"
    );
}

#[test]
fn ftp_failed_login() {
    let evs = events("ndpi/ftp_failed.pcap");
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Ftp(Ftp::LoginFailed { user: Some(u) }) if u == "hello")),
        "{evs:#?}"
    );
}

#[test]
fn telnet_login_matches_tshark() {
    let rel = "ndpi/telnet.pcap";
    let rows = tshark(&pcap(rel), "telnet.data", &["tcp.srcport", "telnet.data"]);
    // tshark prints CR/LF as \r \n escapes and joins a packet's lines with ','.
    let chunks: Vec<(bool, String)> = rows
        .iter()
        .map(|r| (r[0] == "23", r[1].replace("\\r", "\r").replace("\\n", "\n")))
        .collect();
    let login_at = chunks
        .iter()
        .position(|(srv, t)| *srv && t.trim_end().ends_with("login:"))
        .unwrap();
    let user = chunks[login_at + 1..]
        .iter()
        .find(|(srv, _)| !srv)
        .unwrap()
        .1
        .trim()
        .to_string();
    let pass_at = chunks
        .iter()
        .position(|(srv, t)| *srv && t.contains("Password:"))
        .unwrap();
    let password = chunks[pass_at + 1..]
        .iter()
        .find(|(srv, _)| !srv)
        .unwrap()
        .1
        .trim()
        .to_string();
    let evs = events(rel);
    let telnet: Vec<&Telnet> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Telnet(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(telnet.contains(&&Telnet::LoginPrompt("login:".into())));
    assert!(telnet.contains(&&Telnet::Username(user.clone())), "{user}");
    assert!(telnet.contains(&&Telnet::PasswordPrompt("Password:".into())));
    assert!(
        !format!("{evs:?}").contains(&password),
        "the password {password} leaked"
    );
    assert!(telnet.iter().any(|t| matches!(t, Telnet::ShellPrompt(_))));
    // Every server line we report is a line of tshark's server text.
    let server_text: String = chunks
        .iter()
        .filter(|(s, _)| *s)
        .map(|(_, t)| t.replace(",\r", "\r").replace("\n,", "\n"))
        .collect();
    for t in &telnet {
        if let Telnet::ServerLine(l) = t {
            assert!(
                server_text.contains(l.as_str()),
                "{l:?} not in tshark's text"
            );
        }
    }
    // tshark's negotiation summary: every "Do/Will <option>" it shows from the server is ours.
    let opts: Vec<String> = telnet
        .iter()
        .filter_map(|t| match t {
            Telnet::Negotiation {
                from_server: true,
                options,
            } => Some(options.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        opts.contains(&"WILL ECHO".to_string()) && opts.contains(&"DO TERMINAL-TYPE".to_string()),
        "{opts:?}"
    );
}

#[test]
fn ssh_banners_match_tshark() {
    let rel = "ndpi/ssh.pcap";
    // The second connection runs on port 8000, which tshark does not take for SSH.
    let rows = common::tshark_with(
        &pcap(rel),
        &["-d", "tcp.port==8000,ssh"],
        "ssh.protocol",
        &["ssh.protocol"],
    );
    let evs = events(rel);
    let ours: Vec<String> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Ssh(b) => Some(format!(
                "SSH-{}-{}{}",
                b.proto_version,
                b.software,
                b.comments
                    .as_ref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            )),
            _ => None,
        })
        .collect();
    let mut theirs: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    let mut sorted = ours.clone();
    sorted.sort();
    theirs.sort();
    assert_eq!(sorted, theirs);
}

#[test]
fn http_heads_match_tshark() {
    let rel = "ndpi/http.pcapng";
    let rows = tshark(
        &pcap(rel),
        "http",
        &[
            "http.request.method",
            "http.request.uri",
            "http.host",
            "http.user_agent",
            "http.response.code",
            "http.server",
            "http.content_type",
            "http.content_length",
        ],
    );
    let heads: Vec<_> = events(rel)
        .into_iter()
        .filter_map(|e| match e {
            Event::Http(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(heads.len(), rows.len());
    for (h, r) in heads.iter().zip(&rows) {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        assert_eq!(s(&h.method), r[0]);
        assert_eq!(s(&h.target), r[1]);
        assert_eq!(s(&h.host), r[2]);
        assert_eq!(s(&h.user_agent), r[3]);
        assert_eq!(h.status.map(|c| c.to_string()).unwrap_or_default(), r[4]);
        assert_eq!(s(&h.server), r[5]);
        assert_eq!(s(&h.content_type), r[6]);
        assert_eq!(
            h.content_length.map(|c| c.to_string()).unwrap_or_default(),
            r[7]
        );
    }
}

fn epoch(tshark_time: &str) -> f64 {
    let out = Command::new("date")
        .args(["-u", "-d", &tshark_time.replace(',', ""), "+%s.%N"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn ntp_matches_tshark() {
    for rel in ["ndpi/NTPv4.pcap", "tcpdump/ntp.pcap"] {
        let rows = tshark(
            &pcap(rel),
            "ntp",
            &[
                "ntp.flags.vn",
                "ntp.flags.mode",
                "ntp.stratum",
                "ntp.refid",
                "ntp.xmt",
            ],
        );
        let mut ours: Vec<_> = events(rel)
            .into_iter()
            .filter_map(|e| match e {
                Event::Ntp(n) => Some(n),
                _ => None,
            })
            .collect();
        assert_eq!(ours.len(), rows.len(), "{rel}");
        for r in &rows {
            let want_xmt = epoch(&r[4]);
            let i = ours
                .iter()
                .position(|n| {
                    n.version.to_string() == r[0]
                        && n.mode.to_string() == r[1]
                        && n.transmit_time.is_none_or(|t| (t - want_xmt).abs() < 1e-3)
                })
                .unwrap_or_else(|| panic!("{rel}: {r:?} not in {ours:?}"));
            let n = ours.remove(i);
            assert_eq!(n.stratum.to_string(), r[2]);
            let refid = hex::decode(r[3].trim_start_matches("0x")).unwrap();
            let want = if n.stratum <= 1 {
                refid
                    .iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| char::from(c))
                    .collect::<String>()
            } else {
                format!("{}.{}.{}.{}", refid[0], refid[1], refid[2], refid[3])
            };
            assert_eq!(n.reference_id, want, "{rel}");
        }
    }
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn syslog_matches_tshark() {
    for rel in ["ndpi/syslog.pcap", "tcpdump/syslog_udp.pcap"] {
        // One connection carries syslog over TCP on port 52173 (nDPI finds it by content).
        let rows = common::tshark_with(
            &pcap(rel),
            &["-d", "tcp.port==52173,syslog"],
            "syslog",
            &[
                "syslog.facility",
                "syslog.level",
                "syslog.hostname",
                "syslog.msg",
            ],
        );
        let ours: Vec<_> = events(rel)
            .into_iter()
            .filter_map(|e| match e {
                Event::Syslog(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(ours.len(), rows.len(), "{rel}");
        let mut theirs: Vec<(u8, u8, String)> = rows
            .iter()
            .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap(), r[3].clone()))
            .collect();
        for s in &ours {
            let i = theirs
                .iter()
                .position(|(f, l, msg)| {
                    *f == s.facility
                        && *l == s.severity
                        && norm(&msg.replace("\\n", " ")).ends_with(&norm(&s.message))
                })
                .unwrap_or_else(|| panic!("{rel}: {s:?} not in tshark's"));
            theirs.remove(i);
        }
        let hosts: Vec<&String> = rows
            .iter()
            .map(|r| &r[2])
            .filter(|h| !h.is_empty())
            .collect();
        for h in hosts {
            assert!(
                ours.iter().any(|s| s.hostname.as_ref() == Some(h)),
                "{rel}: hostname {h}"
            );
        }
    }
}

/// Python `hl7` reads the messages of an MLLP stream: one JSON object a message.
fn python_hl7(stream: &[u8]) -> Vec<serde_json::Value> {
    let script = r#"
import hl7, json, sys
data = sys.stdin.buffer.read().decode('utf-8', 'replace')
for block in data.split('\x0b')[1:]:
    text = block.split('\x1c')[0].strip('\r\n')
    m = hl7.parse(text)
    msh = m.segment('MSH')
    f = lambda i: str(msh[i]) if len(msh) > i else ''
    ids = [str(s[0]) for s in m]
    pid3 = ''
    try:
        pid3 = str(m.segment('PID')[3])
    except KeyError:
        pass
    print(json.dumps({'type': f(9), 'control': f(10), 'version': f(12), 'apps': [f(3), f(4), f(5), f(6)], 'segments': ids, 'pid3': pid3}))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(stream).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python hl7 (pip install hl7==0.4.5)");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn hl7_matches_python_hl7() {
    let all = flows(&pcap("ndpi/hl7.pcap"));
    let flow = all.iter().find(|f| f.server.1 == 6661).unwrap();
    let (app, evs) = flow.run();
    assert_eq!(app, App::Hl7);
    let ours: Vec<_> = evs
        .into_iter()
        .filter_map(|e| match e {
            Event::Hl7(h) => Some(h),
            _ => None,
        })
        .collect();
    let mut theirs = python_hl7(&flow.bytes(Side::Client));
    theirs.extend(python_hl7(&flow.bytes(Side::Server)));
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(ours.len(), 2);
    for (h, t) in ours.iter().zip(&theirs) {
        let ty = if h.trigger_event.is_empty() {
            h.message_code.clone()
        } else {
            format!("{}^{}", h.message_code, h.trigger_event)
        };
        assert_eq!(ty, t["type"]);
        assert_eq!(h.control_id, t["control"]);
        assert_eq!(h.version, t["version"]);
        let apps = [
            &h.sending_application,
            &h.sending_facility,
            &h.receiving_application,
            &h.receiving_facility,
        ];
        for (a, b) in apps.iter().zip(t["apps"].as_array().unwrap()) {
            assert_eq!(a.as_str(), b.as_str().unwrap());
        }
        let segs: Vec<String> = t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(h.segments, segs);
        assert_eq!(
            h.patient_id_present,
            !t["pid3"].as_str().unwrap().is_empty()
        );
        assert!(h.framed);
    }
    // The ADT^A01 names a patient (PID, NK1, PV1): PHI in the clear.
    assert!(ours[0].phi);
    assert_eq!(ours[0].phi_segments, vec!["PID", "NK1", "PV1"]);
    assert_eq!(ours[1].ack_code.as_deref(), Some("AA"));
    assert!(!ours[0].from_server && ours[1].from_server);
}
