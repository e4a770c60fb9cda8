//! EST (RFC 7030) under `pumpguard serve --tls`, driven by curl with keys and CSRs
//! made by openssl, on each backend: the CA chain and CSR attributes; enrollment with
//! an EST user's password (a wrong one gets 401); re-enrollment with the device's own
//! certificate over mutual TLS (same subject only, never with a revoked one); the CRL
//! the server publishes makes `openssl verify -crl_check` report a revoked
//! certificate. Also: certificates of retired assets are revoked, pumps are
//! pre-provisioned, expiring certificates raise alerts and feed CRED-01.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const SECRET: &str = "correct horse battery";

fn tool(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is installed (.ci/run installs it): {e}"));
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

fn pki(db: &TestDb, args: &[&str]) -> std::process::Output {
    pki_with(db, SECRET, args)
}

fn pki_ok(db: &TestDb, args: &[&str]) -> String {
    let out = pki(db, args);
    assert!(out.status.success(), "pki {args:?}: {}", stderr(&out));
    stderr(&out)
}

/// A P-256 key and a CSR for `cn` by openssl; returns (key, CSR as base64 DER file);
/// the CSR is also written as PEM to `NAME.csr`.
fn csr(dir: &Path, name: &str, cn: &str, key: Option<&str>) -> (String, String) {
    let key = key.map_or_else(|| p(dir, &format!("{name}.key")), str::to_owned);
    let der = p(dir, &format!("{name}.der"));
    let mut args = vec!["req", "-new", "-outform", "DER", "-out", &der];
    let subj = format!("/O=Ward/CN={cn}");
    args.extend(["-subj", &subj]);
    if Path::new(&key).exists() {
        args.extend(["-key", &key]);
    } else {
        args.extend([
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
        ]);
    }
    let (good, text) = tool("openssl", &args);
    assert!(good, "{text}");
    let b64 = p(dir, &format!("{name}.b64"));
    let (good, text) = tool("openssl", &["base64", "-in", &der, "-out", &b64]);
    assert!(good, "{text}");
    // The same request as PEM, for `pki issue`.
    let pem = p(dir, &format!("{name}.csr"));
    let (good, text) = tool(
        "openssl",
        &["req", "-inform", "DER", "-in", &der, "-out", &pem],
    );
    assert!(good, "{text}");
    (key, b64)
}

/// `curl` against the server: returns (HTTP status, body file, response headers).
fn curl(dir: &Path, name: &str, chain: &str, args: &[&str], url: &str) -> (u16, String, String) {
    let body = p(dir, &format!("{name}.out"));
    let headers = p(dir, &format!("{name}.headers"));
    let mut all = vec![
        "-sS",
        "--cacert",
        chain,
        "-o",
        &body,
        "-D",
        &headers,
        "-w",
        "%{http_code}",
    ];
    all.extend(args);
    all.push(url);
    let out = Command::new("curl")
        .args(&all)
        .output()
        .expect("curl is installed (.ci/run installs it)");
    let code = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (
        code,
        body,
        std::fs::read_to_string(&headers).unwrap_or_default(),
    )
}

/// The certificates of a base64 certs-only PKCS#7 response, as a PEM file.
fn pkcs7_certs(dir: &Path, name: &str, body: &str) -> (String, String) {
    let der = p(dir, &format!("{name}.p7b"));
    let (good, text) = tool("openssl", &["base64", "-d", "-in", body, "-out", &der]);
    assert!(good, "{text}");
    let pem = p(dir, &format!("{name}.pem"));
    let (good, text) = tool(
        "openssl",
        &[
            "pkcs7",
            "-inform",
            "DER",
            "-in",
            &der,
            "-print_certs",
            "-out",
            &pem,
        ],
    );
    assert!(good, "{text}");
    let listing = std::fs::read_to_string(&pem).expect("pem");
    (pem, listing)
}

fn serial_of(cert: &str) -> String {
    let (good, text) = tool("openssl", &["x509", "-in", cert, "-noout", "-serial"]);
    assert!(good, "{text}");
    text.trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase()
}

#[test]
fn curl_enrolls_over_est_and_openssl_verifies_on_each_backend() {
    let dbs = rt().block_on(TestDb::all(
        "curl_enrolls_over_est_and_openssl_verifies_on_each_backend",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        pki_ok(db, &["init", "--name", "St. Example Hospital"]);
        pki_ok(
            db,
            &["est-user", "add", "station-3", "--password", "enroll-me"],
        );
        let chain = p(d, "chain.pem");
        pki_ok(db, &["ca-cert", "--out", &chain]);
        let server = Served::start(db, &["--tls"], &[("PUMPGUARD_CA_PASSPHRASE", SECRET)]);
        let est = format!("{}/.well-known/est", server.base);

        // The CA chain, as certs-only PKCS#7.
        let (code, body, headers) = curl(d, "cacerts", &chain, &[], &format!("{est}/cacerts"));
        assert_eq!(code, 200, "{headers}");
        assert!(headers.contains("application/pkcs7-mime"), "{headers}");
        let (_, listing) = pkcs7_certs(d, "cacerts", &body);
        assert!(
            listing.contains("St. Example Hospital Root CA")
                && listing.contains("St. Example Hospital Device Issuing CA"),
            "{listing}"
        );
        // The attributes a CSR should have: an ECDSA with SHA-256 signature.
        let (code, body, _) = curl(d, "attrs", &chain, &[], &format!("{est}/csrattrs"));
        assert_eq!(code, 200);
        let der = p(d, "attrs.der");
        assert!(tool("openssl", &["base64", "-d", "-in", &body, "-out", &der]).0);
        let (good, parsed) = tool("openssl", &["asn1parse", "-inform", "DER", "-in", &der]);
        assert!(good && parsed.contains("ecdsa-with-SHA256"), "{parsed}");

        // Enrollment: a CSR made by openssl, HTTP Basic as the EST user.
        let (key, req) = csr(d, "pump", "PUMP-0101", None);
        let data = format!("@{req}");
        let enroll = |name: &str, user: Option<&str>| {
            let mut args = vec![
                "-H",
                "Content-Type: application/pkcs10",
                "--data-binary",
                &data,
            ];
            if let Some(u) = user {
                args.extend(["--user", u]);
            }
            curl(d, name, &chain, &args, &format!("{est}/simpleenroll"))
        };
        let (code, body, headers) = enroll("enroll", Some("station-3:enroll-me"));
        assert_eq!(
            code,
            200,
            "{}",
            std::fs::read_to_string(&body).unwrap_or_default()
        );
        assert!(headers.contains("smime-type=certs-only"), "{headers}");
        let (cert, listing) = pkcs7_certs(d, "enrolled", &body);
        assert!(listing.contains("CN = PUMP-0101"), "{listing}");
        let (good, text) = tool(
            "openssl",
            &["verify", "-CAfile", &chain, "-purpose", "sslclient", &cert],
        );
        assert!(good && text.contains(": OK"), "{text}");

        // Wrong password, unknown user, no credentials: 401 with a challenge.
        for (name, user) in [
            ("wrong", Some("station-3:guess")),
            ("unknown", Some("nobody:enroll-me")),
            ("anonymous", None),
        ] {
            let (code, _, headers) = enroll(name, user);
            assert_eq!(code, 401, "{name}: {headers}");
            assert!(
                headers
                    .to_ascii_lowercase()
                    .contains("www-authenticate: basic"),
                "{headers}"
            );
        }

        // The pump was not in the inventory: it is now, procured.
        let shown = stdout_json(&ok(
            db,
            &["assets", "show", "PUMP-0101", "--format", "json"],
        ));
        let asset = &shown["asset"];
        assert_eq!(asset["lifecycle"], "procured", "{asset}");
        assert_eq!(asset["kind"], "infusion_pump", "{asset}");

        // Re-enrollment over mutual TLS with the certificate just issued.
        let client = p(d, "client.pem");
        std::fs::write(&client, std::fs::read_to_string(&cert).expect("cert")).expect("write");
        let (_, same) = csr(d, "again", "PUMP-0101", Some(&key));
        let (_, other) = csr(d, "other", "PUMP-0999", Some(&key));
        let reenroll = |name: &str, req: &str, with_cert: bool| {
            let data = format!("@{req}");
            let mut args = vec!["--data-binary", data.as_str()];
            if with_cert {
                args.extend(["--cert", &client, "--key", &key]);
            }
            let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            curl(d, name, &chain, &args, &format!("{est}/simplereenroll"))
        };
        let (code, body, _) = reenroll("re", &same, true);
        assert_eq!(
            code,
            200,
            "{}",
            std::fs::read_to_string(&body).unwrap_or_default()
        );
        let (renewed, _) = pkcs7_certs(d, "renewed", &body);
        assert!(tool("openssl", &["verify", "-CAfile", &chain, &renewed]).0);
        assert_ne!(serial_of(&renewed), serial_of(&cert));
        let (code, body, _) = reenroll("re-other", &other, true);
        assert_eq!(code, 400, "another subject");
        assert!(
            std::fs::read_to_string(&body)
                .unwrap_or_default()
                .contains("PUMP-0999"),
        );
        let (code, _, _) = reenroll("re-anon", &same, false);
        assert_eq!(code, 403, "no client certificate");

        // Revoke the first certificate: the served CRL lists it, openssl says revoked,
        // and it can no longer re-enroll.
        let serial = serial_of(&cert);
        pki_ok(db, &["revoke", &serial, "--reason", "key-compromise"]);
        let (code, body, headers) =
            curl(d, "crl", &chain, &[], &format!("{}/pki/crl", server.base));
        assert_eq!(code, 200, "{headers}");
        let crl = p(d, "crl.pem");
        let (good, text) = tool(
            "openssl",
            &["crl", "-inform", "DER", "-in", &body, "-out", &crl],
        );
        assert!(good, "{text}");
        let (good, text) = tool(
            "openssl",
            &[
                "verify",
                "-crl_check",
                "-CAfile",
                &chain,
                "-CRLfile",
                &crl,
                &cert,
            ],
        );
        assert!(!good && text.contains("certificate revoked"), "{text}");
        let (good, text) = tool(
            "openssl",
            &[
                "verify",
                "-crl_check",
                "-CAfile",
                &chain,
                "-CRLfile",
                &crl,
                &renewed,
            ],
        );
        assert!(good, "the renewed certificate stays good: {text}");
        let (code, _, _) = reenroll("re-revoked", &same, true);
        assert_eq!(code, 403, "a revoked certificate cannot re-enroll");

        assert!(server.stop(), "serve stops cleanly on SIGTERM");
        // Every issuance is audited, by who enrolled.
        let text = String::from_utf8_lossy(&ok(db, &["audit", "export"]).stdout).into_owned();
        assert!(
            text.contains("est:station-3"),
            "enrollment is audited as the EST user"
        );
        assert!(
            text.contains("est:PUMP-0101"),
            "re-enrollment as the device"
        );
        ok(db, &["audit", "verify"]);
    }
}

#[test]
fn enrollment_needs_https_and_the_passphrase() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    pki_ok(&db, &["init", "--name", "Ward"]);
    pki_ok(&db, &["est-user", "add", "station", "--password", "pw"]);
    let chain = p(d, "chain.pem");
    pki_ok(&db, &["ca-cert", "--out", &chain]);
    // Without the passphrase, --tls has no certificate to serve.
    let out = run(&db, &["serve", "--tls", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("passphrase"), "{}", stderr(&out));
    // Plain HTTP with the CA sealed: the chain is served, enrollment is refused and
    // the CRL cannot be signed.
    let server = Served::start(&db, &[], &[]);
    let (_, req) = csr(d, "pump", "PUMP-1", None);
    let data = format!("@{req}");
    let (code, _, _) = curl(
        d,
        "plain",
        &chain,
        &["--user", "station:pw", "--data-binary", &data],
        &format!("{}/.well-known/est/simpleenroll", server.base),
    );
    assert_eq!(code, 403, "EST enrollment over plain HTTP");
    let (code, _, _) = curl(
        d,
        "ca",
        &chain,
        &[],
        &format!("{}/.well-known/est/cacerts", server.base),
    );
    assert_eq!(code, 200);
    let (code, _, _) = curl(d, "crl", &chain, &[], &format!("{}/pki/crl", server.base));
    assert_eq!(code, 503);
    assert!(
        server.log().contains("no CA passphrase"),
        "{}",
        server.log()
    );
}

/// A certificate for `cn` issued with `pki issue`, valid `days`.
fn issue(db: &TestDb, d: &Path, cn: &str, days: &str) -> (String, String) {
    csr(d, cn, cn, None);
    let pem_req = p(d, &format!("{cn}.csr"));
    let cert = p(d, &format!("{cn}.pem"));
    let said = pki_ok(
        db,
        &[
            "issue",
            "--csr",
            &pem_req,
            "--profile",
            "pump",
            "--days",
            days,
            "--out",
            &cert,
        ],
    );
    (cert, said)
}

#[test]
fn retiring_revokes_expiring_raises_alerts_and_coverage_feeds_cred01() {
    let dbs = rt().block_on(TestDb::all(
        "retiring_revokes_expiring_raises_alerts_and_coverage_feeds_cred01",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let inv = write(
            d,
            "inv.csv",
            &format!(
                "{HEADER}\nPUMP-A,infusion_pump,BD,Alaris 8015,12.1,,00:11:22:33:44:01,10.0.0.11,ICU,pumps,high\n\
                 PUMP-B,infusion_pump,BD,Alaris 8015,12.1,,00:11:22:33:44:02,10.0.0.12,ICU,pumps,high\n"
            ),
        );
        ok(db, &["assets", "import", &inv]);
        // Before there is a CA, CRED-01 cannot be answered.
        let cred = |db: &TestDb| {
            let ev = stdout_json(&ok(db, &["assess", "evidence", "--format", "json"]));
            ev.as_array()
                .expect("array")
                .iter()
                .find(|e| e["question_id"] == "CRED-01")
                .expect("CRED-01")
                .clone()
        };
        assert_eq!(cred(db)["answer"], "unknown");
        pki_ok(db, &["init", "--name", "Ward"]);
        let (_, said) = issue(db, d, "PUMP-A", "400");
        assert!(!said.contains("pre-provisioned"), "{said}");
        assert_eq!(cred(db)["answer"], "partial", "one of two pumps");
        let (_, said) = issue(db, d, "PUMP-B", "10");
        assert!(!said.contains("pre-provisioned"), "{said}");
        assert_eq!(cred(db)["answer"], "yes");
        let (_, said) = issue(db, d, "PUMP-NEW", "400");
        assert!(said.contains("pre-provisioned as a procured"), "{said}");

        // PUMP-B's certificate expires in 10 days: an alert, once.
        let listed = stdout_json(&ok(
            db,
            &["pki", "list", "--expiring", "30", "--format", "json"],
        ));
        let names: Vec<&str> = listed
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|c| c["common_name"].as_str())
            .collect();
        assert_eq!(names, ["PUMP-B"]);
        assert_eq!(listed[0]["state"], "expiring");
        for _ in 0..2 {
            pki_ok(db, &["check", "--days", "30"]);
        }
        let alerts = stdout_json(&ok(
            db,
            &[
                "alerts",
                "list",
                "--kind",
                "certificate_expiring",
                "--format",
                "json",
            ],
        ));
        let alerts = alerts.as_array().expect("array");
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0]["asset_id"], "PUMP-B");
        assert_eq!(alerts[0]["subject"]["ip"], "10.0.0.12");

        // Retiring PUMP-A revokes its certificate, audited; it gets no new one.
        let out = ok(db, &["assets", "retire", "PUMP-A", "--reason", "sold"]);
        assert!(
            stderr(&out).contains("revoked 1 certificate"),
            "{}",
            stderr(&out)
        );
        let certs = stdout_json(&ok(db, &["pki", "list", "--format", "json"]));
        let a = certs
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["common_name"] == "PUMP-A")
            .expect("PUMP-A's certificate");
        assert_eq!(a["state"], "revoked");
        assert_eq!(a["reason"], "cessation-of-operation");
        csr(d, "again", "PUMP-A", None);
        let pem_req = p(d, "again.csr");
        let out = pki(db, &["issue", "--csr", &pem_req, "--profile", "pump"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("retired"), "{}", stderr(&out));
        // A CRL now lists it, and the audit chain holds.
        let crl = p(d, "crl.pem");
        pki_ok(db, &["crl", "--out", &crl]);
        let (ok_, text) = tool("openssl", &["crl", "-in", &crl, "-noout", "-text"]);
        assert!(ok_ && text.contains("Cessation Of Operation"), "{text}");
        ok(db, &["audit", "verify"]);
    }
}
