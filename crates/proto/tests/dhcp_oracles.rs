//! DHCP fields against third-party dissectors: tcpdump's verbose output stored beside
//! its test captures (`dhcp-mud.out`, `dhcp-rfc3004-v.out`) and tshark on packetgen's
//! `dhcp.pcapng`.

// Oracle plumbing outside #[test] functions: a failed parse is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Item, flows, pcap, tshark};
use pumpguard_proto::{Event, Side, dhcp::Dhcp};

/// Every DHCP event of a capture, in capture order within each flow.
fn ours(rel: &str) -> Vec<Dhcp> {
    flows(&pcap(rel))
        .iter()
        .flat_map(|f| f.run().1)
        .filter_map(|e| match e {
            Event::Dhcp(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// The fields tcpdump prints, one map per packet: "xid", "mac", "type", option names.
fn tcpdump_packets(text: &str) -> Vec<Vec<(String, String)>> {
    let mut packets: Vec<Vec<(String, String)>> = Vec::new();
    let mut in_prl = false;
    for line in text.lines() {
        let t = line.trim();
        let indent = line.len() - line.trim_start().len();
        if indent <= 5
            && t.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u32>().is_ok())
            && t.contains(" IP ")
        {
            packets.push(Vec::new());
            in_prl = false;
            continue;
        }
        let Some(p) = packets.last_mut() else {
            continue;
        };
        let mut put = |k: &str, v: String| p.push((k.to_string(), v));
        if let Some(i) = t.find(", xid 0x") {
            let x = &t[i + 8..];
            let x = x.split(',').next().unwrap();
            put("xid", u32::from_str_radix(x, 16).unwrap().to_string());
            continue;
        }
        if let Some(mac) = t.strip_prefix("Client-Ethernet-Address ") {
            put("mac", mac.to_string());
            continue;
        }
        // "Name (N), length L: value"
        if let Some((head, value)) = t.split_once(", length ")
            && let Some(code) = head
                .rsplit_once('(')
                .and_then(|(_, c)| c.trim_end_matches(')').parse::<u8>().ok())
        {
            in_prl = code == 55;
            put("code", code.to_string());
            let value = value
                .split_once(": ")
                .map(|x| x.1)
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            match code {
                53 => put("type", value.to_uppercase()),
                55 => {}
                61 => put(
                    "61",
                    value
                        .strip_prefix("ether ")
                        .map(|m| format!("01{}", m.replace(':', "")))
                        .unwrap_or_default(),
                ),
                c => put(&c.to_string(), value.to_string()),
            }
            continue;
        }
        if in_prl {
            for part in t.split("), ") {
                if let Some(c) = part
                    .rsplit_once('(')
                    .and_then(|(_, c)| c.trim_end_matches(')').parse::<u8>().ok())
                {
                    put("prl", c.to_string());
                }
            }
        }
    }
    packets
}

fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn all<'a>(p: &'a [(String, String)], k: &str) -> Vec<&'a str> {
    p.iter()
        .filter(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn check_against_tcpdump(capture: &str, out: &str) {
    let text = std::fs::read_to_string(pcap(out)).unwrap();
    let theirs = tcpdump_packets(&text);
    let mut mine = ours(capture);
    assert_eq!(mine.len(), theirs.len(), "{capture}: packet count");
    // Our events are grouped by flow; match each tcpdump packet to one of ours.
    for p in &theirs {
        let xid: u32 = get(p, "xid").unwrap().parse().unwrap();
        let ty = get(p, "type").unwrap();
        let codes: Vec<u8> = all(p, "code").iter().map(|c| c.parse().unwrap()).collect();
        let i = mine
            .iter()
            .position(|d| d.xid == xid && d.message_type == ty && d.option_codes == codes)
            .unwrap_or_else(|| {
                panic!("{capture}: no event for xid {xid:#x} {ty} {codes:?} in {mine:#?}")
            });
        let d = mine.remove(i);
        assert_eq!(d.client_mac, get(p, "mac").unwrap());
        assert_eq!(d.hostname.as_deref(), get(p, "12"));
        assert_eq!(d.vendor_class.as_deref(), get(p, "60"));
        assert_eq!(d.mud_url.as_deref(), get(p, "161"));
        assert_eq!(d.domain_name.as_deref(), get(p, "15"));
        assert_eq!(d.client_id.as_deref(), get(p, "61"));
        assert_eq!(
            d.requested_address.map(|a| a.to_string()).as_deref(),
            get(p, "50")
        );
        assert_eq!(d.server_id.map(|a| a.to_string()).as_deref(), get(p, "54"));
        assert_eq!(d.subnet_mask.map(|a| a.to_string()).as_deref(), get(p, "1"));
        assert_eq!(d.lease_time.map(|a| a.to_string()).as_deref(), get(p, "51"));
        let routers: Vec<String> = d.routers.iter().map(|a| a.to_string()).collect();
        assert_eq!(routers.join(", "), get(p, "3").unwrap_or(""));
        let dns: Vec<String> = d.dns_servers.iter().map(|a| a.to_string()).collect();
        assert_eq!(dns.join(", "), get(p, "6").unwrap_or(""));
        let prl: Vec<u8> = all(p, "prl").iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(d.parameter_request_list, prl);
    }
}

#[test]
fn dhcp_mud_matches_tcpdump() {
    check_against_tcpdump("tcpdump/dhcp-mud.pcap", "tcpdump/dhcp-mud.out");
    let d = ours("tcpdump/dhcp-mud.pcap");
    assert!(
        d.iter().any(|d| d.mud_url.as_deref()
            == Some("https://mudctl.example.com/.well-known/mud/v1/rasbp101"))
    );
}

#[test]
fn dhcp_rfc3004_matches_tcpdump() {
    check_against_tcpdump("tcpdump/dhcp-rfc3004.pcap", "tcpdump/dhcp-rfc3004-v.out");
}

#[test]
fn packetgen_dhcp_matches_tshark() {
    let path = pcap("packetgen/dhcp.pcapng");
    let rows = tshark(
        &path,
        "dhcp",
        &[
            "dhcp.id",
            "dhcp.option.dhcp",
            "dhcp.option.hostname",
            "dhcp.option.vendor_class_id",
            "dhcp.option.request_list_item",
            "dhcp.hw.mac_addr",
            "dhcp.option.type",
            "dhcp.option.requested_ip_address",
            "dhcp.option.dhcp_server_id",
            "dhcp.option.ip_address_lease_time",
        ],
    );
    let mut mine = ours("packetgen/dhcp.pcapng");
    assert_eq!(rows.len(), mine.len());
    assert!(rows.len() >= 4);
    for r in rows {
        let xid = u32::from_str_radix(r[0].trim_start_matches("0x"), 16).unwrap();
        let ty: u8 = r[1].parse().unwrap();
        let i = mine
            .iter()
            .position(|d| {
                d.xid == xid && d.message_type == pumpguard_proto::dhcp::message_type_name(ty)
            })
            .expect("matching event");
        let d = mine.remove(i);
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        assert_eq!(d.hostname, opt(&r[2]));
        assert_eq!(d.vendor_class, opt(&r[3]));
        let prl: Vec<String> = d.parameter_request_list.iter().map(u8::to_string).collect();
        assert_eq!(prl.join("|"), r[4]);
        assert_eq!(d.client_mac, r[5].split('|').next().unwrap());
        let codes: Vec<String> = d.option_codes.iter().map(u8::to_string).collect();
        let theirs: Vec<&str> = r[6]
            .split('|')
            .filter(|c| *c != "0" && *c != "255")
            .collect();
        assert_eq!(codes, theirs);
        assert_eq!(d.requested_address.map(|a| a.to_string()), opt(&r[7]));
        assert_eq!(d.server_id.map(|a| a.to_string()), opt(&r[8]));
        assert_eq!(d.lease_time.map(|a| a.to_string()), opt(&r[9]));
    }
}

#[test]
fn every_dhcp_datagram_is_an_event() {
    for rel in [
        "tcpdump/dhcp-mud.pcap",
        "tcpdump/dhcp-rfc3004.pcap",
        "packetgen/dhcp.pcapng",
    ] {
        for f in flows(&pcap(rel)) {
            let datagrams = f
                .items
                .iter()
                .filter(|i| matches!(i, Item::Data(Side::Client | Side::Server, _)))
                .count();
            let (_, events) = f.run();
            assert_eq!(events.len(), datagrams, "{rel}");
        }
    }
}
