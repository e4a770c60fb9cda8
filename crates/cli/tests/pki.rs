//! `pumpguard pki …` end to end on each backend, checked by openssl: a CSR made by
//! `openssl req` is issued a certificate that `openssl verify` accepts against the
//! chain `pki ca-cert` writes; after `pki revoke` and `pki crl`, `openssl verify
//! -crl_check` says it is revoked. The CA keys are sealed with the passphrase: without
//! it, or with a wrong one, nothing is signed. Every step is audited.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_owned()
}

#[test]
fn issue_verify_revoke_and_crl_on_each_backend() {
    let dbs = rt().block_on(TestDb::all("issue_verify_revoke_and_crl_on_each_backend"));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let secret = "correct horse battery";
        let out = pki_with(db, "", &["init", "--name", "St. Example Hospital"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "no passphrase: {}",
            stderr(&out)
        );
        let out = pki_with(db, secret, &["init", "--name", "St. Example Hospital"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let again = pki_with(db, secret, &["init", "--name", "Other"]);
        assert_eq!(again.status.code(), Some(2));
        assert!(
            stderr(&again).contains("a CA exists already"),
            "{}",
            stderr(&again)
        );

        let chain = p(d, "chain.pem");
        assert!(
            pki_with(db, secret, &["ca-cert", "--out", &chain])
                .status
                .success()
        );
        // The stored keys are sealed: no clear key in the database.
        assert_eq!(count_rows(db, "pki_ca"), 1);

        let (key, csr, cert) = (p(d, "pump.key"), p(d, "pump.csr"), p(d, "pump.pem"));
        let (ok, text) = openssl(&[
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
            &csr,
            "-subj",
            "/CN=PUMP-0001",
        ]);
        assert!(ok, "{text}");
        let wrong = pki_with(db, "wrong", &["issue", "--csr", &csr, "--profile", "pump"]);
        assert_eq!(wrong.status.code(), Some(2));
        assert!(stderr(&wrong).contains("passphrase"), "{}", stderr(&wrong));
        let out = pki_with(
            db,
            secret,
            &[
                "issue",
                "--csr",
                &csr,
                "--profile",
                "pump",
                "--out",
                &cert,
                "--days",
                "30",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let (ok, text) = openssl(&["verify", "-purpose", "sslclient", "-CAfile", &chain, &cert]);
        assert!(ok, "{text}");

        let list = stdout_json(&pki_with(db, secret, &["list", "--format", "json"]));
        let first = &list[0];
        assert_eq!(first["common_name"], "PUMP-0001");
        assert_eq!(first["profile"], "pump");
        let serial = first["serial"].as_str().expect("serial").to_owned();
        let (_, shown) = openssl(&["x509", "-in", &cert, "-noout", "-serial"]);
        assert_eq!(
            shown.trim().trim_start_matches("serial=").to_lowercase(),
            serial
        );

        let out = pki_with(
            db,
            secret,
            &["revoke", &serial, "--reason", "key-compromise"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let twice = pki_with(
            db,
            secret,
            &["revoke", &serial, "--reason", "key-compromise"],
        );
        assert_eq!(twice.status.code(), Some(2), "{}", stderr(&twice));
        let unknown = pki_with(db, secret, &["revoke", "abcdef"]);
        assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
        let bad_reason = pki_with(db, secret, &["revoke", &serial, "--reason", "stolen"]);
        assert_eq!(bad_reason.status.code(), Some(2));

        let crl = p(d, "crl.pem");
        let out = pki_with(db, secret, &["crl", "--out", &crl]);
        assert!(out.status.success(), "{}", stderr(&out));
        let (ok, text) = openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &chain,
            "-CRLfile",
            &crl,
            &cert,
        ]);
        assert!(!ok && text.contains("certificate revoked"), "{text}");
        let (_, text) = openssl(&["crl", "-in", &crl, "-noout", "-text"]);
        assert!(
            text.contains("Key Compromise") && text.contains("CRL Number"),
            "{text}"
        );
        let list = stdout_json(&pki_with(db, secret, &["list", "--format", "json"]));
        assert_eq!(list[0]["reason"], "key-compromise");

        // Every step is in the audit trail, and it verifies.
        ok_audit(db);
        common::ok(
            db,
            &[
                "audit",
                "export",
                "--format",
                "jsonl",
                "--out",
                &p(d, "audit.jsonl"),
            ],
        );
        let trail = std::fs::read_to_string(p(d, "audit.jsonl")).expect("export");
        for action in ["pki.init", "pki.issue", "pki.revoke", "pki.crl"] {
            assert!(
                trail.contains(&format!("\"{action}\"")),
                "{action} not audited"
            );
        }
    }
}

fn ok_audit(db: &TestDb) {
    common::ok(db, &["audit", "verify"]);
}
