//! The generated FreeRADIUS configuration run for real: Debian's `freeradius` 3.2 with
//! [`pumpguard_pki::radius::write_config`]'s directory, and `eapol_test` (wpa_supplicant)
//! as the pump doing 802.1X EAP-TLS. An admitted pump gets Access-Accept with its VLAN;
//! after revocation (a new CRL), a foreign CA's certificate, or a name not admitted,
//! Access-Reject.

use std::path::{Path, PathBuf};
use std::process::Command;

use pumpguard_pki::radius::{Admission, RadiusSetup, write_config};
use pumpguard_pki::{
    CaBundle, IssueOptions, KeyAlgorithm, Profile, Revocation, crl, init, issue, parse_reason,
};
use pumpguard_testkit::radius::{self, Outcome, Radius, Supplicant, free_port};
use time::OffsetDateTime;
const SECRET: &str = "pumpguard-test-secret!";

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_owned()
}

/// A key and certificate of `cn` issued by `ca` under `profile`, as files in `dir`:
/// (certificate path, key path, certificate).
fn certificate(
    dir: &Path,
    ca: &CaBundle,
    cn: &str,
    profile: Profile,
) -> (String, String, pumpguard_pki::Issued) {
    let tag = format!("{}-{cn}", ca.name.replace(' ', "_"));
    let (key, req, cert) = (
        path(dir, &format!("{tag}.key")),
        path(dir, &format!("{tag}.csr")),
        path(dir, &format!("{tag}.pem")),
    );
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &req,
        "-subj",
        &format!("/CN={cn}"),
    ]);
    let csr = std::fs::read_to_string(&req).expect("csr");
    let issued = issue(
        ca,
        &csr,
        &IssueOptions {
            profile,
            validity_days: 30,
            now: OffsetDateTime::now_utc(),
            uris: vec![],
            dns_names: vec![],
            crl_url: None,
        },
    )
    .expect("issued");
    std::fs::write(&cert, &issued.pem).expect("certificate");
    (cert, key, issued)
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
/// One EAP-TLS authentication against the server of `port`, checking its certificate
/// against `dir/chain.pem` and its name.
fn authenticate(dir: &Path, port: u16, identity: &str, cert: &str, key: &str) -> Outcome {
    let chain = dir.join("chain.pem");
    radius::authenticate(
        dir,
        &Supplicant {
            port,
            secret: SECRET,
            chain: &chain,
            server_name: "radius.pumpguard.test",
        },
        identity,
        cert,
        key,
    )
}

/// The CA, its server certificate and an empty CRL; `chain.pem` written into `dir`.
struct World {
    ca: CaBundle,
    server_cert: String,
    server_key: String,
    crl: String,
}

impl World {
    fn new(dir: &Path) -> World {
        let now = OffsetDateTime::now_utc();
        let ca = init("St Example Hospital", KeyAlgorithm::EcdsaP256, now).expect("CA");
        std::fs::write(dir.join("chain.pem"), ca.chain_pem()).expect("chain");
        let (cert, key, _) = certificate(dir, &ca, "radius.pumpguard.test", Profile::Server);
        let crl = crl(&ca, &[], 1, now, 24).expect("CRL");
        World {
            server_cert: std::fs::read_to_string(cert).expect("server certificate"),
            server_key: std::fs::read_to_string(key).expect("server key"),
            ca,
            crl,
        }
    }

    fn configure(&self, dir: &Path, port: u16, admissions: &[Admission]) -> PathBuf {
        let chain = self.ca.chain_pem();
        write_config(
            &dir.join("radius"),
            &RadiusSetup {
                ca_chain_pem: &chain,
                crl_pem: &self.crl,
                server_cert_pem: &self.server_cert,
                server_key_pem: &self.server_key,
                secret: SECRET,
                port,
                admissions,
            },
        )
        .expect("configuration written")
    }
}

fn pumps_vlan_30() -> Vec<Admission> {
    vec![Admission {
        asset_id: "PUMP-0001".into(),
        zone: "pumps".into(),
        vlan: 30,
    }]
}

#[test]
fn an_admitted_pump_gets_its_vlan_until_its_certificate_is_revoked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut world = World::new(dir);
    let (cert, key, pump) = certificate(dir, &world.ca, "PUMP-0001", Profile::Pump);
    let admissions = pumps_vlan_30();
    let port = free_port();
    let raddb = world.configure(dir, port, &admissions);
    assert_eq!(raddb, dir.canonicalize().expect("dir").join("radius/raddb"));

    // The key and the shared secret are the invoking user's only.
    #[cfg(unix)]
    for secret in ["certs/server.key", "clients.conf"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(raddb.join(secret))
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }

    let radius = Radius::start(&raddb, dir.join("radius-1.log"));
    let outcome = authenticate(dir, port, "PUMP-0001", &cert, &key);
    assert!(
        outcome.success,
        "{}\n---- freeradius ----\n{}",
        outcome.output,
        radius.log()
    );
    let attrs = outcome.attributes("Access-Accept");
    let value = |code: u8| {
        attrs
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no attribute {code} in the Access-Accept: {attrs:?}"))
    };
    // Tunnel-Type VLAN (13) and Tunnel-Medium-Type IEEE-802 (6), each a zero tag byte
    // and a 24-bit value; Tunnel-Private-Group-Id "30".
    assert_eq!(value(64), [0, 0, 0, 13], "{attrs:?}");
    assert_eq!(value(65), [0, 0, 0, 6], "{attrs:?}");
    assert_eq!(value(81), b"30", "{attrs:?}");
    drop(radius);

    // Revoked: the new CRL lists it; the configuration is written again and the server
    // restarted with it.
    let now = OffsetDateTime::now_utc();
    world.crl = crl(
        &world.ca,
        &[Revocation {
            serial: pump.serial.clone(),
            revoked: now,
            reason: parse_reason("key-compromise").expect("reason"),
        }],
        2,
        now,
        24,
    )
    .expect("CRL");
    let port = free_port();
    let again = world.configure(dir, port, &admissions);
    assert_eq!(again, raddb);
    // Two CA certificates and one CRL, under their hash names: nothing left over.
    let mut names: Vec<String> = std::fs::read_dir(raddb.join("certs/ca"))
        .expect("CA directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".r0")).count(),
        1,
        "{names:?}"
    );
    let radius = Radius::start(&raddb, dir.join("radius-2.log"));
    let outcome = authenticate(dir, port, "PUMP-0001", &cert, &key);
    outcome.assert_rejected(&radius, "certificate revoked");
}

#[test]
fn a_foreign_ca_and_an_asset_not_admitted_are_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let world = World::new(dir);
    let port = free_port();
    let raddb = world.configure(dir, port, &pumps_vlan_30());
    let radius = Radius::start(&raddb, dir.join("radius.log"));

    // Same name, another CA.
    let foreign = init(
        "Elsewhere",
        KeyAlgorithm::EcdsaP256,
        OffsetDateTime::now_utc(),
    )
    .expect("foreign CA");
    let (cert, key, _) = certificate(dir, &foreign, "PUMP-0001", Profile::Pump);
    let outcome = authenticate(dir, port, "PUMP-0001", &cert, &key);
    outcome.assert_rejected(&radius, "unable to get local issuer certificate");

    // Our CA, but not on the admission list.
    let (cert, key, _) = certificate(dir, &world.ca, "PUMP-9999", Profile::Pump);
    let outcome = authenticate(dir, port, "PUMP-9999", &cert, &key);
    outcome.assert_rejected(&radius, "asset PUMP-9999 is not admitted");
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("radius");
    let world = World::new(tmp.path());
    let chain = world.ca.chain_pem();
    let good = pumps_vlan_30();
    let base = RadiusSetup {
        ca_chain_pem: &chain,
        crl_pem: &world.crl,
        server_cert_pem: &world.server_cert,
        server_key_pem: &world.server_key,
        secret: SECRET,
        port: 1812,
        admissions: &good,
    };
    let refused = |s: &RadiusSetup<'_>, about: &str| {
        let err = write_config(&dir, s).expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains(about), "{err}");
        assert!(!dir.exists(), "written despite {err}");
    };
    for secret in ["", "a\"b", "a\\b", "line\nbreak"] {
        refused(
            &RadiusSetup {
                secret,
                ..base.clone()
            },
            "secret",
        );
    }
    for (id, vlan, about) in [
        ("PUMP 1", 30, "asset id"),
        ("PUMP\"}", 30, "asset id"),
        ("", 30, "asset id"),
        ("PUMP-1", 0, "VLAN"),
        ("PUMP-1", 4095, "VLAN"),
    ] {
        let admissions = [Admission {
            asset_id: id.into(),
            zone: "pumps".into(),
            vlan,
        }];
        refused(
            &RadiusSetup {
                admissions: &admissions,
                ..base.clone()
            },
            about,
        );
    }
    // Another CA's CRL would make every certificate fail its CRL check.
    let other = init(
        "Elsewhere",
        KeyAlgorithm::EcdsaP256,
        OffsetDateTime::now_utc(),
    )
    .expect("CA");
    let other_crl = crl(&other, &[], 1, OffsetDateTime::now_utc(), 24).expect("CRL");
    refused(
        &RadiusSetup {
            crl_pem: &other_crl,
            ..base.clone()
        },
        "CRL",
    );
    let sealed = pumpguard_pki::encrypt_key(&world.server_key, "pass").expect("sealed");
    refused(
        &RadiusSetup {
            server_key_pem: &sealed,
            ..base.clone()
        },
        "unencrypted",
    );
    // The good setup is written.
    assert!(write_config(&dir, &base).expect("written").is_dir());
}
