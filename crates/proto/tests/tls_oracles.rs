//! TLS against tshark's dissector and openssl's certificate reader, on the shared nDPI
//! captures: SNI, offered ciphers and extensions, the server's choice, each certificate's
//! subject, issuer, serial, validity, SANs, key and self-signature, and alerts.

// Oracle plumbing outside #[test] functions: a failed parse is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{flows, pcap, tshark};
use pumpguard_proto::tls::{Certificate, ClientHello, ServerHello, Tls};
use pumpguard_proto::{App, Event};

const CAPTURES: [&str; 4] = [
    "ndpi/selfsigned.pcap",
    "ndpi/ssl-cert-name-mismatch.pcap",
    "ndpi/google_ssl.pcap",
    "ndpi/tls_alert.pcap",
];

fn tls_events(rel: &str) -> Vec<Tls> {
    flows(&pcap(rel))
        .iter()
        .flat_map(|f| f.run().1)
        .filter_map(|e| match e {
            Event::Tls(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn hex_list(s: &str) -> Vec<u16> {
    s.split('|')
        .filter(|x| !x.is_empty())
        .map(|x| match x.strip_prefix("0x") {
            Some(h) => u16::from_str_radix(h, 16).unwrap(),
            None => x.parse().unwrap(),
        })
        .collect()
}

#[test]
fn client_and_server_hellos_match_tshark() {
    let mut hellos = 0;
    for rel in CAPTURES {
        let events = tls_events(rel);
        let ch: Vec<&ClientHello> = events
            .iter()
            .filter_map(|e| match e {
                Tls::ClientHello(c) => Some(c),
                _ => None,
            })
            .collect();
        let sh: Vec<&ServerHello> = events
            .iter()
            .filter_map(|e| match e {
                Tls::ServerHello(c) => Some(c),
                _ => None,
            })
            .collect();
        let rows = tshark(
            &pcap(rel),
            "tls.handshake.type == 1",
            &[
                "tls.handshake.extensions_server_name",
                "tls.handshake.ciphersuite",
                "tls.handshake.extension.type",
                "tls.handshake.version",
                "tls.handshake.cipherspec",
            ],
        );
        assert_eq!(ch.len(), rows.len(), "{rel}: ClientHellos");
        for (c, r) in ch.iter().zip(&rows) {
            assert_eq!(c.sni.clone().unwrap_or_default(), r[0], "{rel}");
            // An SSLv2-compatible hello lists 3-byte cipher specs; the TLS suites are the
            // ones below 0x10000.
            let suites: Vec<u16> = if r[1].is_empty() {
                r[4].split('|')
                    .filter_map(|x| u32::from_str_radix(x.trim_start_matches("0x"), 16).ok())
                    .filter_map(|v| u16::try_from(v).ok())
                    .collect()
            } else {
                hex_list(&r[1])
            };
            assert_eq!(c.cipher_suites, suites, "{rel}");
            assert_eq!(c.extensions, hex_list(&r[2]), "{rel}");
            assert_eq!(c.legacy_version, hex_list(&r[3])[0], "{rel}");
            hellos += 1;
        }
        let rows = tshark(
            &pcap(rel),
            "tls.handshake.type == 2",
            &["tls.handshake.ciphersuite", "tls.handshake.version"],
        );
        if rel == "ndpi/google_ssl.pcap" {
            // tshark does not dissect this server's segments (the connection opens with an
            // SSLv2-compatible hello); ours picked a suite the client offered.
            assert!(rows.is_empty());
            assert_eq!(sh.len(), 1);
            assert!(ch[0].cipher_suites.contains(&sh[0].cipher_suite));
            continue;
        }
        assert_eq!(sh.len(), rows.len(), "{rel}: ServerHellos");
        for (s, r) in sh.iter().zip(&rows) {
            assert_eq!(vec![s.cipher_suite], hex_list(&r[0]), "{rel}");
            assert_eq!(s.legacy_version, hex_list(&r[1])[0], "{rel}");
        }
    }
    assert!(hellos >= 3);
}

fn openssl(der: &[u8], args: &[&str]) -> String {
    let mut child = Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-nameopt",
            "utf8,sep_comma_plus_space,sname,esc_2253",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child.stdin.take().unwrap().write_all(der).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn epoch(openssl_date: &str) -> i64 {
    let out = Command::new("date")
        .args(["-u", "-d", openssl_date, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or("")
        .trim()
}

/// The DER of each certificate we reported, found in the server's bytes by its SHA-256
/// (so openssl reads exactly the bytes we read), and tshark's certificates when tshark
/// reassembles the handshake (it does not on google_ssl.pcap, which opens with an
/// SSLv2-compatible hello).
fn ders(rel: &str, ours: &[Certificate]) -> Vec<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let mut found = Vec::new();
    for f in flows(&pcap(rel)) {
        let server = f.bytes(pumpguard_proto::Side::Server);
        for i in 0..server.len().saturating_sub(4) {
            if server[i] == 0x30 && server[i + 1] == 0x82 {
                let len = usize::from(u16::from_be_bytes([server[i + 2], server[i + 3]])) + 4;
                if let Some(der) = server.get(i..i + len) {
                    let h = hex::encode(Sha256::digest(der));
                    if ours.iter().any(|c| c.sha256 == h) {
                        found.push(der.to_vec());
                    }
                }
            }
        }
    }
    found
}

#[test]
fn certificates_match_openssl() {
    let mut certs_checked = 0;
    for rel in CAPTURES {
        let ours: Vec<Certificate> = tls_events(rel)
            .into_iter()
            .filter_map(|e| match e {
                Tls::Certificates(c) => Some(c),
                _ => None,
            })
            .flatten()
            .collect();
        let rows = tshark(
            &pcap(rel),
            "tls.handshake.certificate",
            &["tls.handshake.certificate"],
        );
        let theirs: Vec<Vec<u8>> = rows
            .iter()
            .flat_map(|r| {
                r[0].split('|')
                    .map(|h| hex::decode(h.replace(':', "")).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        let ders = ders(rel, &ours);
        if !theirs.is_empty() {
            assert_eq!(ders, theirs, "{rel}: tshark's certificates are ours");
        }
        assert_eq!(ours.len(), ders.len(), "{rel}: certificates");
        for (c, der) in ours.iter().zip(&ders) {
            let text = openssl(
                der,
                &["-subject", "-issuer", "-serial", "-startdate", "-enddate"],
            );
            assert_eq!(c.subject, value(&text, "subject="), "{rel}");
            assert_eq!(c.issuer, value(&text, "issuer="), "{rel}");
            assert_eq!(
                c.serial.to_uppercase().trim_start_matches('0'),
                value(&text, "serial=").trim_start_matches('0'),
                "{rel}"
            );
            assert_eq!(c.not_before, epoch(value(&text, "notBefore=")), "{rel}");
            assert_eq!(c.not_after, epoch(value(&text, "notAfter=")), "{rel}");
            let full = openssl(der, &["-text"]);
            let bits = full
                .lines()
                .find_map(|l| l.trim().strip_prefix("Public-Key: ("))
                .and_then(|b| b.split(' ').next())
                .unwrap();
            assert_eq!(c.public_key_bits.to_string(), bits, "{rel}");
            let sig = full
                .lines()
                .find_map(|l| l.trim().strip_prefix("Signature Algorithm: "))
                .unwrap();
            assert_eq!(c.signature_algorithm, sig, "{rel}");
            assert_eq!(c.is_ca, full.contains("CA:TRUE"), "{rel}");
            let san = full
                .lines()
                .skip_while(|l| !l.contains("Subject Alternative Name"))
                .nth(1)
                .unwrap_or("");
            let dns: Vec<String> = san
                .split(", ")
                .filter_map(|x| x.trim().strip_prefix("DNS:"))
                .map(str::to_string)
                .collect();
            assert_eq!(c.san_dns, dns, "{rel}");
            // Self-signed: openssl verifies the certificate against itself.
            let pem_dir = std::env::temp_dir()
                .join(format!("pg-proto-{}-{certs_checked}", std::process::id()));
            std::fs::create_dir_all(&pem_dir).unwrap();
            let pem = pem_dir.join("c.pem");
            let conv = Command::new("openssl")
                .args(["x509", "-inform", "DER", "-out"])
                .arg(&pem)
                .stdin(Stdio::piped())
                .spawn()
                .and_then(|mut ch| {
                    ch.stdin.take().unwrap().write_all(der)?;
                    ch.wait()
                })
                .unwrap();
            assert!(conv.success());
            let verify = Command::new("openssl")
                .args([
                    "verify",
                    "-no-CApath",
                    "-no-CAstore",
                    "-partial_chain",
                    "-no_check_time",
                    "-CAfile",
                ])
                .arg(&pem)
                .arg(&pem)
                .output()
                .unwrap();
            let self_verifies = verify.status.success() && c.subject == c.issuer;
            assert_eq!(
                c.self_signed,
                self_verifies,
                "{rel}: {} {}",
                c.subject,
                String::from_utf8_lossy(&verify.stderr)
            );
            std::fs::remove_dir_all(&pem_dir).unwrap();
            certs_checked += 1;
        }
    }
    assert!(certs_checked >= 6, "{certs_checked}");
}

#[test]
fn selfsigned_capture_has_a_self_signed_certificate() {
    let certs: Vec<Certificate> = tls_events("ndpi/selfsigned.pcap")
        .into_iter()
        .filter_map(|e| match e {
            Tls::Certificates(c) => Some(c),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(certs.iter().any(|c| c.self_signed), "{certs:#?}");
    let mismatch: Vec<Certificate> = tls_events("ndpi/ssl-cert-name-mismatch.pcap")
        .into_iter()
        .filter_map(|e| match e {
            Tls::Certificates(c) => Some(c),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(mismatch[0].san_dns, vec!["*.badssl.com", "badssl.com"]);
    assert!(!mismatch[0].self_signed && !mismatch[0].is_ca);
}

#[test]
fn alerts_match_tshark() {
    let mut n = 0;
    for rel in CAPTURES {
        let ours: Vec<(u8, u8)> = tls_events(rel)
            .into_iter()
            .filter_map(|e| match e {
                Tls::Alert(a) => Some((a.level, a.description)),
                _ => None,
            })
            .collect();
        // tshark decodes encrypted alerts only when they are in the clear.
        let rows = tshark(
            &pcap(rel),
            "tls.alert_message.desc",
            &["tls.alert_message.level", "tls.alert_message.desc"],
        );
        let theirs: Vec<(u8, u8)> = rows
            .iter()
            .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
            .collect();
        assert_eq!(ours, theirs, "{rel}");
        n += ours.len();
    }
    assert!(n >= 1, "no alert seen");
}

#[test]
fn every_tls_flow_is_tls() {
    for rel in CAPTURES {
        for f in flows(&pcap(rel))
            .iter()
            .filter(|f| matches!(f.server.1, 443 | 8443) || matches!(f.client.1, 443 | 8443))
        {
            assert_eq!(f.run().0, App::Tls, "{rel} {:?}", f.server);
        }
    }
}
