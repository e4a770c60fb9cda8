//! `pumpguard pki radius-config` run for real: Debian's FreeRADIUS 3.2 on the directory
//! it writes, and `eapol_test` as the pump doing 802.1X EAP-TLS with a certificate
//! `pumpguard pki issue` made from an openssl CSR. An in-service pump gets Access-Accept
//! with its zone's VLAN (zone from the inventory, or from the policy by address); a
//! quarantined one, a foreign CA's certificate, and, after `pki revoke` and a new
//! configuration (new CRL), the revoked one get Access-Reject. On each backend.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use pumpguard_testkit::radius::{Outcome, Radius, Supplicant, authenticate, free_port};

const PASSPHRASE: &str = "correct horse battery";
const RADIUS_SECRET: &str = "radius-shared-secret";
const SERVER: &str = "radius.pumpguard.test";

const POLICY: &str = "\
zones:
  - name: pumps
    vlan: 120
    cidrs: [10.20.0.0/16]
  - name: pump_servers
    vlan: 130
    cidrs: [10.30.0.0/24]
conduits:
  - from: pumps
    to: pump_servers
    services: [tcp/8443]
default: deny
";

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

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_owned()
}

fn pki(db: &TestDb, args: &[&str]) -> std::process::Output {
    let out = pki_with(db, PASSPHRASE, args);
    assert!(out.status.success(), "pki {args:?}: {}", stderr(&out));
    out
}

/// A key and a certificate for `cn` from `pumpguard pki issue`; returns (cert, key, serial).
fn pump_certificate(db: &TestDb, d: &Path, cn: &str) -> (String, String, String) {
    let (key, req, cert) = (
        p(d, &format!("{cn}.key")),
        p(d, &format!("{cn}.csr")),
        p(d, &format!("{cn}.pem")),
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
    pki(
        db,
        &["issue", "--csr", &req, "--profile", "pump", "--out", &cert],
    );
    let out = Command::new("openssl")
        .args(["x509", "-in", &cert, "-noout", "-serial"])
        .output()
        .expect("openssl");
    let serial = String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase();
    (cert, key, serial)
}

/// Writes the configuration and starts FreeRADIUS on it.
fn radius(db: &TestDb, d: &Path, policy: &str, port: u16, run: &str) -> Radius {
    let out = d.join(format!("radius-{run}"));
    let said = stderr(&pki(
        db,
        &[
            "radius-config",
            "--out",
            out.to_str().expect("utf-8"),
            "--secret",
            RADIUS_SECRET,
            "--port",
            &port.to_string(),
            "--policy",
            policy,
            "--server-name",
            SERVER,
        ],
    ));
    assert!(said.contains("freeradius -f -d"), "{said}");
    Radius::start(&out.join("raddb"), d.join(format!("radius-{run}.log")))
}

#[test]
fn pumps_get_their_zone_vlan_until_revoked_and_others_are_rejected_on_each_backend() {
    let dbs = rt().block_on(TestDb::all(
        "pumps_get_their_zone_vlan_until_revoked_and_others_are_rejected_on_each_backend",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let inv = write(
            d,
            "inv.csv",
            &format!(
                "{HEADER}\n\
                 PUMP-0001,infusion_pump,BD,Alaris 8015,12.1,SN 77/1,00:11:22:33:44:01,10.20.0.11,ICU,pumps,high\n\
                 PUMP-0002,infusion_pump,BD,Alaris 8015,12.1,,00:11:22:33:44:02,10.20.0.12,ICU,,high\n\
                 PUMP-0003,infusion_pump,BD,Alaris 8015,12.1,,00:11:22:33:44:03,10.20.0.13,ICU,pumps,high\n"
            ),
        );
        ok(db, &["assets", "import", &inv]);
        ok(db, &["assets", "lifecycle", "PUMP-0003", "quarantined"]);
        let policy = write(d, "policy.yaml", POLICY);
        pki(db, &["init", "--name", "St. Example Hospital"]);
        let chain = d.join("chain.pem");
        pki(db, &["ca-cert", "--out", chain.to_str().expect("utf-8")]);
        let (cert1, key1, serial1) = pump_certificate(db, d, "PUMP-0001");
        // The inventory's MAC and serial ride along as RFC 9039 URNs.
        let sans = Command::new("openssl")
            .args(["x509", "-in", &cert1, "-noout", "-ext", "subjectAltName"])
            .output()
            .expect("openssl");
        let sans = String::from_utf8_lossy(&sans.stdout);
        assert!(
            sans.contains("URI:urn:dev:mac:001122fffe334401")
                && sans.contains("URI:urn:dev:ops:001122-Alaris%208015-SN%2077%2F1"),
            "{sans}"
        );
        let (cert2, key2, _) = pump_certificate(db, d, "PUMP-0002");
        let (cert3, key3, _) = pump_certificate(db, d, "PUMP-0003");

        let port = free_port();
        let s = Supplicant {
            port,
            secret: RADIUS_SECRET,
            chain: &chain,
            server_name: SERVER,
        };
        let auth =
            |id: &str, cert: &str, key: &str| -> Outcome { authenticate(d, &s, id, cert, key) };
        let server = radius(db, d, &policy, port, "1");
        // The inventory's zone, and the policy's zone of the address: VLAN 120.
        auth("PUMP-0001", &cert1, &key1).assert_accepted_into(&server, 120);
        auth("PUMP-0002", &cert2, &key2).assert_accepted_into(&server, 120);
        // Quarantined: a valid certificate, but not admitted.
        auth("PUMP-0003", &cert3, &key3).assert_rejected(&server, "PUMP-0003 is not admitted");
        // A certificate of the same name from a CA pumpguard does not run.
        let (fkey, fcert, rkey, rcert) = (
            p(d, "foreign-root.key"),
            p(d, "foreign-root.pem"),
            p(d, "foreign.key"),
            p(d, "foreign.pem"),
        );
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &fkey,
            "-out",
            &fcert,
            "-subj",
            "/CN=Foreign Root",
            "-days",
            "30",
        ]);
        let freq = p(d, "foreign.csr");
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &rkey,
            "-out",
            &freq,
            "-subj",
            "/CN=PUMP-0001",
        ]);
        let ext = write(d, "client.ext", "extendedKeyUsage = clientAuth\n");
        openssl(&[
            "x509",
            "-req",
            "-in",
            &freq,
            "-CA",
            &fcert,
            "-CAkey",
            &fkey,
            "-CAcreateserial",
            "-out",
            &rcert,
            "-days",
            "30",
            "-extfile",
            &ext,
        ]);
        auth("PUMP-0001", &rcert, &rkey)
            .assert_rejected(&server, "unable to get local issuer certificate");
        drop(server);

        // Revoked: after a new configuration (its CRL lists it), rejected; the other
        // pump is still admitted.
        pki(db, &["revoke", &serial1, "--reason", "key-compromise"]);
        let server = radius(db, d, &policy, port, "2");
        auth("PUMP-0001", &cert1, &key1).assert_rejected(&server, "certificate revoked");
        auth("PUMP-0002", &cert2, &key2).assert_accepted_into(&server, 120);
        drop(server);

        // Retired: its certificates are revoked and it is no longer admitted.
        ok(db, &["assets", "retire", "PUMP-0002"]);
        let server = radius(db, d, &policy, port, "3");
        auth("PUMP-0002", &cert2, &key2).assert_rejected(&server, "certificate revoked");
    }
}
