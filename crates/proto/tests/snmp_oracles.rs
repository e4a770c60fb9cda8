//! SNMP against tshark's dissector on the shared captures: version, community (v1/v2c),
//! user name (v3), request id, varbind OIDs and string/integer values.

// Oracle plumbing outside #[test] functions: a failed parse is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{flows, pcap, tshark};
use pumpguard_proto::snmp::Snmp;
use pumpguard_proto::{App, Event};

fn ours(rel: &str) -> Vec<Snmp> {
    flows(&pcap(rel))
        .iter()
        .flat_map(|f| f.run().1)
        .filter_map(|e| match e {
            Event::Snmp(s) => Some(s),
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

fn octets_text(hexs: &str) -> String {
    let b = hex::decode(hexs).unwrap();
    match std::str::from_utf8(&b) {
        Ok(s)
            if s.chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t') =>
        {
            s.trim().to_string()
        }
        _ => hexs.to_string(),
    }
}

/// (version, community or user, request id, OIDs, string values, integer values).
type Row = (u8, String, String, Vec<String>, Vec<String>, Vec<String>);

fn check(rel: &str) -> Vec<Snmp> {
    let rows = tshark(
        &pcap(rel),
        "snmp",
        &[
            "snmp.version",
            "snmp.msgVersion",
            "snmp.community",
            "snmp.msgUserName",
            "snmp.request_id",
            "snmp.name",
            "snmp.value.octets",
            "snmp.value.int",
            "snmp.value.u32",
            "snmp.value.g32",
            "snmp.value.counter",
            "snmp.value.timeticks",
        ],
    );
    let mut theirs: Vec<Row> = rows
        .iter()
        .map(|r| {
            let version = match (r[0].as_str(), r[1].as_str()) {
                ("0", _) => 1,
                ("1", _) => 2,
                (_, v) => v.parse().unwrap(),
            };
            let who = if version == 3 {
                r[3].clone()
            } else {
                r[2].clone()
            };
            let mut numbers: Vec<String> = (7..12).flat_map(|i| list(&r[i])).collect();
            numbers.sort();
            (
                version,
                who,
                r[4].clone(),
                list(&r[5]),
                list(&r[6]).iter().map(|h| octets_text(h)).collect(),
                numbers,
            )
        })
        .collect();
    let mine = ours(rel);
    let mut ours_rows: Vec<Row> = mine
        .iter()
        .map(|s| {
            let who = if s.version == 3 {
                s.user_name.clone().unwrap_or_default()
            } else {
                s.community.clone().unwrap_or_default()
            };
            let oids = s.varbinds.iter().map(|v| v.oid.clone()).collect();
            // tshark lists OCTET STRING and INTEGER values separately; ours are text:
            // compare the non-numeric ones with the octets and the numeric with ints.
            let is_oid =
                |v: &str| v.contains('.') && v.chars().all(|c| c.is_ascii_digit() || c == '.');
            let strings = s
                .varbinds
                .iter()
                .map(|v| v.value.clone())
                .filter(|v| !v.is_empty() && v.parse::<i64>().is_err() && !is_oid(v))
                .filter(|v| {
                    !matches!(
                        v.as_str(),
                        "noSuchObject" | "noSuchInstance" | "endOfMibView"
                    )
                })
                .collect();
            let mut ints: Vec<String> = s
                .varbinds
                .iter()
                .filter(|v| v.value.parse::<i64>().is_ok())
                .map(|v| v.value.clone())
                .collect();
            ints.sort();
            (
                s.version,
                who,
                s.request_id.map(|r| r.to_string()).unwrap_or_default(),
                oids,
                strings,
                ints,
            )
        })
        .collect();
    // An encrypted or unparsed v3 PDU has no request id or varbinds on either side.
    theirs.sort();
    ours_rows.sort();
    assert_eq!(ours_rows, theirs, "{rel}");
    mine
}

#[test]
fn ndpi_snmp_matches_tshark() {
    let all = check("ndpi/snmp.pcap");
    assert!(
        all.iter()
            .any(|s| s.version == 3 && s.security_level.as_deref() == Some("noAuthNoPriv"))
    );
    assert!(
        all.iter()
            .any(|s| s.sys_name.as_deref() == Some("R1.lab.local")),
        "{all:#?}"
    );
    for f in flows(&pcap("ndpi/snmp.pcap")) {
        assert_eq!(f.run().0, App::Snmp);
    }
}

#[test]
fn packetgen_snmp_matches_tshark() {
    let all = check("packetgen/snmp.pcapng");
    assert!(all.iter().all(|s| s.community.as_deref() == Some("public")));
}
