//! DNS and mDNS against tshark's dissector on the shared captures: header, questions,
//! record types and TTLs, and the rendered data of A, AAAA, PTR, SRV and TXT records.

// Oracle plumbing outside #[test] functions: a failed parse is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{flows, pcap, tshark};
use pumpguard_proto::dns::{Dns, Record, type_name};
use pumpguard_proto::{App, Event};

fn ours(rel: &str) -> Vec<Dns> {
    flows(&pcap(rel))
        .iter()
        .flat_map(|f| f.run().1)
        .filter_map(|e| match e {
            Event::Dns(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn list(s: &str) -> Vec<String> {
    s.split('|')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// TXT data as we render it (space-separated, quoted when holding a space) back into strings.
fn txt_strings(data: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in data.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn data_of(records: &[&Record], rtype: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.rtype == rtype)
        .map(|r| r.data.clone())
        .collect()
}

fn check(rel: &str, filter: &str, mdns: bool) -> usize {
    let rows = tshark(
        &pcap(rel),
        filter,
        &[
            "dns.id",
            "dns.flags.response",
            "dns.flags.rcode",
            "dns.qry.name",
            "dns.qry.type",
            "dns.resp.type",
            "dns.resp.ttl",
            "dns.a",
            "dns.aaaa",
            "dns.ptr.domain_name",
            "dns.srv.target",
            "dns.srv.port",
            "dns.txt",
        ],
    );
    let mut mine = ours(rel);
    assert_eq!(mine.len(), rows.len(), "{rel}: messages");
    for r in &rows {
        let id = u16::from_str_radix(r[0].trim_start_matches("0x"), 16).unwrap();
        let response = r[1] == "1" || r[1] == "True";
        let qnames = list(&r[3]);
        let i = mine
            .iter()
            .position(|d| {
                d.id == id
                    && d.response == response
                    && d.questions
                        .iter()
                        .map(|q| q.name.clone())
                        .collect::<Vec<_>>()
                        == qnames
            })
            .unwrap_or_else(|| panic!("{rel}: no message {id:#x} {qnames:?} in {mine:#?}"));
        let d = mine.remove(i);
        assert_eq!(d.mdns, mdns);
        if !r[2].is_empty() {
            assert_eq!(d.rcode.to_string(), r[2]);
        }
        let qtypes: Vec<String> = list(&r[4])
            .iter()
            .map(|t| type_name(t.parse().unwrap()))
            .collect();
        assert_eq!(
            d.questions
                .iter()
                .map(|q| q.qtype.clone())
                .collect::<Vec<_>>(),
            qtypes,
            "{rel}"
        );
        let records: Vec<&Record> = d
            .answers
            .iter()
            .chain(&d.authorities)
            .chain(&d.additionals)
            .collect();
        let rtypes: Vec<String> = list(&r[5])
            .iter()
            .map(|t| type_name(t.parse().unwrap()))
            .collect();
        assert_eq!(
            records.iter().map(|r| r.rtype.clone()).collect::<Vec<_>>(),
            rtypes,
            "{rel}"
        );
        let ttls: Vec<String> = records
            .iter()
            .filter(|r| r.rtype != "OPT")
            .map(|r| r.ttl.to_string())
            .collect();
        assert_eq!(ttls, list(&r[6]), "{rel}");
        assert_eq!(data_of(&records, "A"), list(&r[7]), "{rel}");
        assert_eq!(data_of(&records, "AAAA"), list(&r[8]), "{rel}");
        assert_eq!(data_of(&records, "PTR"), list(&r[9]), "{rel}");
        let srv: Vec<String> = list(&r[10])
            .iter()
            .zip(list(&r[11]))
            .map(|(t, p)| format!("{t}:{p}"))
            .collect();
        assert_eq!(data_of(&records, "SRV"), srv, "{rel}");
        let txt: Vec<String> = data_of(&records, "TXT")
            .iter()
            .flat_map(|t| txt_strings(t))
            .collect();
        assert_eq!(txt, list(&r[12]), "{rel}");
    }
    rows.len()
}

#[test]
fn dns_matches_tshark() {
    assert!(check("ndpi/dns.pcap", "dns", false) >= 4);
}

#[test]
fn mdns_matches_tshark() {
    assert!(check("packetgen/mdns.pcapng", "mdns", true) >= 2);
    let all = ours("packetgen/mdns.pcapng");
    let services: Vec<&String> = all.iter().flat_map(|d| &d.service_instances).collect();
    assert!(
        services
            .iter()
            .any(|s| s.as_str() == "Officejet 6500 E710n-z [B25D97]._pdl-datastream._tcp.local"),
        "{services:?}"
    );
    for f in flows(&pcap("packetgen/mdns.pcapng")) {
        assert_eq!(f.run().0, App::Mdns);
    }
}
