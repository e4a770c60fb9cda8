//! TLS that does not protect: TLS 1.1 or older, weak cipher suites, and server
//! certificates that are expired (or not yet valid), self-signed, or that do not name
//! the server the client asked for (SNI).

use foldhash::HashMap;

use pumpguard_model::{AlertKind, Severity};
use pumpguard_proto::tls::{Certificate, Tls, cipher_suite_name, is_weak_cipher_suite};

use crate::{EventCtx, Finding, Findings, World, who};

/// Flows whose ClientHello named a server, kept until the certificate or flow end.
const MAX_PENDING_SNI: usize = 65_536;

/// TLS state across a flow's events: the SNI a client asked for.
#[derive(Debug, Default)]
pub(crate) struct TlsWatch {
    sni: HashMap<u64, String>,
}

fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

fn suite(id: u16) -> String {
    cipher_suite_name(id)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("0x{id:04x}"))
}

/// Whether a certificate names `host` (CN or a DNS SAN, one leftmost `*` label allowed).
fn names(cert: &Certificate, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let matches = |pattern: &str| {
        let p = pattern.trim_end_matches('.').to_ascii_lowercase();
        match p.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
            None => p == host,
        }
    };
    if !cert.san_dns.is_empty() {
        return cert.san_dns.iter().any(|n| matches(n));
    }
    common_name(&cert.subject).is_some_and(matches)
}

fn common_name(dn: &str) -> Option<&str> {
    dn.split(", ")
        .filter_map(|rdn| rdn.strip_prefix("CN="))
        .last()
}

impl TlsWatch {
    pub(crate) fn forget(&mut self, flow_id: u64) {
        if !self.sni.is_empty() {
            self.sni.remove(&flow_id);
        }
    }

    pub(crate) fn event(&mut self, f: &mut Findings, ctx: &EventCtx, t: &Tls, world: &dyn World) {
        let server = ctx.flow.server.ip();
        let base = |kind, severity, facts, sentence, action| Finding {
            kind,
            severity,
            subject: ctx.flow.server_end(),
            peer: Some(ctx.flow.client_end()),
            proto: "tls",
            port: Some(ctx.flow.server.port()),
            ts: ctx.ts,
            flow: Some(ctx.flow.key()),
            facts,
            sentence,
            action,
        };
        match t {
            Tls::ClientHello(ch) => {
                if let Some(sni) = &ch.sni
                    && self.sni.len() < MAX_PENDING_SNI
                {
                    self.sni.insert(ctx.flow_id, sni.clone());
                }
            }
            Tls::ServerHello(sh) => {
                let weak_version = sh.version < 0x0303;
                let weak_cipher = is_weak_cipher_suite(sh.cipher_suite);
                if !(weak_version || weak_cipher) {
                    return;
                }
                let facts = vec![
                    ("tls.version", version_name(sh.version)),
                    ("tls.cipher_suite", suite(sh.cipher_suite)),
                ];
                let (kind, what) = if weak_version {
                    (AlertKind::WeakTlsVersion, version_name(sh.version))
                } else {
                    (AlertKind::WeakTlsCipher, suite(sh.cipher_suite))
                };
                f.raise(base(
                    kind,
                    Severity::Medium,
                    facts,
                    format!(
                        "{} negotiated {what} with {}",
                        who(world, server),
                        who(world, ctx.flow.client.ip())
                    ),
                    "Configure the server for TLS 1.2 or later with AEAD cipher suites; \
                     if the device cannot, ask the vendor for an update and keep it \
                     behind a TLS-terminating gateway.",
                ));
            }
            Tls::Certificates(chain) => {
                let sni = self.sni.remove(&ctx.flow_id);
                let Some(leaf) = chain.first() else {
                    return;
                };
                let now = ctx.ts.div_euclid(1_000_000);
                let cert_facts = || {
                    vec![
                        ("cert.subject", leaf.subject.clone()),
                        ("cert.issuer", leaf.issuer.clone()),
                        ("cert.sha256", leaf.sha256.clone()),
                    ]
                };
                if now > leaf.not_after || now < leaf.not_before {
                    let mut facts = cert_facts();
                    facts.push(("cert.not_before", stamp(leaf.not_before)));
                    facts.push(("cert.not_after", stamp(leaf.not_after)));
                    let expired = now > leaf.not_after;
                    f.raise(base(
                        AlertKind::ExpiredCertificate,
                        Severity::Medium,
                        facts,
                        format!(
                            "{} presented a certificate {} ({}) to {}",
                            who(world, server),
                            if expired {
                                "that expired"
                            } else {
                                "not valid until"
                            },
                            stamp(if expired {
                                leaf.not_after
                            } else {
                                leaf.not_before
                            }),
                            who(world, ctx.flow.client.ip())
                        ),
                        "Renew the server certificate from the hospital CA, and make \
                         clients (pumps) reject expired certificates.",
                    ));
                }
                if leaf.self_signed {
                    f.raise(base(
                        AlertKind::SelfSignedCertificate,
                        Severity::Low,
                        cert_facts(),
                        format!(
                            "{} presented a self-signed certificate ({})",
                            who(world, server),
                            leaf.subject
                        ),
                        "Replace the factory or self-signed certificate with one from the \
                         hospital CA (pumpguard pki issue), so clients can authenticate \
                         the server.",
                    ));
                }
                if let Some(sni) = sni
                    && !names(leaf, &sni)
                {
                    let mut facts = cert_facts();
                    facts.push(("tls.sni", sni.clone()));
                    facts.push(("cert.san_dns", leaf.san_dns.join(",")));
                    f.raise(base(
                        AlertKind::CertificateNameMismatch,
                        Severity::Medium,
                        facts,
                        format!(
                            "{} asked for {sni} but {} presented a certificate for {}",
                            who(world, ctx.flow.client.ip()),
                            who(world, server),
                            common_name(&leaf.subject).unwrap_or(&leaf.subject)
                        ),
                        "Check the server is the one clients expect (interception or \
                         misconfiguration), and issue it a certificate naming it.",
                    ));
                }
            }
            Tls::Alert(_) => {}
        }
    }
}

fn stamp(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(subject: &str, san: &[&str]) -> Certificate {
        Certificate {
            subject: subject.into(),
            issuer: subject.into(),
            serial: "01".into(),
            not_before: 0,
            not_after: 1,
            public_key_algorithm: "EC".into(),
            public_key_bits: 256,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            san_dns: san.iter().map(|s| s.to_string()).collect(),
            san_ips: vec![],
            self_signed: true,
            is_ca: false,
            sha256: String::new(),
        }
    }

    #[test]
    fn names_follow_san_then_common_name_with_one_wildcard_label() {
        let c = cert("CN=ignored", &["*.pumps.example", "srv.example"]);
        assert!(names(&c, "a.pumps.example"));
        assert!(names(&c, "SRV.example."));
        assert!(!names(&c, "a.b.pumps.example"));
        assert!(!names(&c, "pumps.example"));
        assert!(!names(&c, "ignored"));
        let c = cert("O=Hospital, CN=alarms.example", &[]);
        assert!(names(&c, "alarms.example"));
        assert!(!names(&c, "other.example"));
    }

    #[test]
    fn weak_suites_are_the_known_bad_families() {
        assert!(is_weak_cipher_suite(0x000a)); // TLS_RSA_WITH_3DES_EDE_CBC_SHA
        assert!(is_weak_cipher_suite(0x0005)); // TLS_RSA_WITH_RC4_128_SHA
        assert!(is_weak_cipher_suite(0x0002)); // TLS_RSA_WITH_NULL_SHA
        assert!(!is_weak_cipher_suite(0xc02f)); // ECDHE-RSA-AES128-GCM-SHA256
        assert!(!is_weak_cipher_suite(0x1301)); // TLS_AES_128_GCM_SHA256
    }
}
