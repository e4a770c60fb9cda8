//! The CA checked by openssl: a CSR made by `openssl req` becomes a certificate that
//! `openssl verify` accepts against the chain, with the profile's extended key usage;
//! after revocation, `openssl verify -crl_check` with our CRL says it is revoked; the
//! CRL's signature and next update check out; RSA CAs for old pumps work the same.

use std::path::Path;
use std::process::Command;

use pumpguard_pki::{
    CaBundle, IssueOptions, KeyAlgorithm, Profile, Revocation, crl, init, issue, parse_reason,
    parse_serial, serial_hex,
};
use time::OffsetDateTime;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_owned()
}

/// An EC P-256 key and a CSR for `cn`, made by openssl.
fn csr(dir: &Path, cn: &str) -> String {
    let (key, req) = (
        path(dir, &format!("{cn}.key")),
        path(dir, &format!("{cn}.csr")),
    );
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
        &req,
        "-subj",
        &format!("/O=Ward/CN={cn}"),
    ]);
    assert!(ok, "{text}");
    std::fs::read_to_string(req).expect("csr")
}

fn write_chain(dir: &Path, ca: &CaBundle) -> (String, String) {
    let (root, issuing) = (path(dir, "root.pem"), path(dir, "issuing.pem"));
    std::fs::write(&root, &ca.root_cert).expect("root");
    std::fs::write(&issuing, &ca.issuing_cert).expect("issuing");
    (root, issuing)
}

fn opts(profile: Profile, now: OffsetDateTime) -> IssueOptions<'static> {
    IssueOptions {
        profile,
        validity_days: 365,
        now,
        uris: vec!["urn:pumpguard:serial:SN-1".into()],
        dns_names: vec![],
        crl_url: Some("http://127.0.0.1:8080/pki/crl"),
    }
}

#[test]
fn openssl_verifies_issued_certificates_and_reports_revoked_ones() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let now = OffsetDateTime::now_utc();
        let ca = init("St. Example Hospital", alg, now).expect("CA");
        let (root, issuing) = write_chain(d, &ca);
        // The issuing CA is a CA under the root.
        let (ok, text) = openssl(&["verify", "-CAfile", &root, &issuing]);
        assert!(ok, "{alg:?}: {text}");

        let pump = issue(&ca, &csr(d, "PUMP-0001"), &opts(Profile::Pump, now)).expect("issued");
        assert_eq!(pump.common_name, "PUMP-0001");
        let leaf = path(d, "pump.pem");
        std::fs::write(&leaf, &pump.pem).expect("leaf");
        let (ok, text) = openssl(&[
            "verify",
            "-purpose",
            "sslclient",
            "-CAfile",
            &root,
            "-untrusted",
            &issuing,
            &leaf,
        ]);
        assert!(ok && text.contains(": OK"), "{alg:?}: {text}");
        // A pump certificate is not a server's.
        let (ok, _) = openssl(&[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            &root,
            "-untrusted",
            &issuing,
            &leaf,
        ]);
        assert!(!ok, "{alg:?}: a pump certificate passed as a server's");
        let (_, shown) = openssl(&["x509", "-in", &leaf, "-noout", "-text"]);
        assert!(shown.contains("TLS Web Client Authentication"), "{shown}");
        assert!(shown.contains("URI:urn:pumpguard:serial:SN-1"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:8080/pki/crl"), "{shown}");
        assert!(
            shown.contains("CN=PUMP-0001") || shown.contains("CN = PUMP-0001"),
            "{shown}"
        );
        let (_, serial) = openssl(&["x509", "-in", &leaf, "-noout", "-serial"]);
        assert_eq!(
            serial.trim().trim_start_matches("serial=").to_lowercase(),
            serial_hex(&pump.serial)
        );
        assert_eq!(
            parse_serial(&serial_hex(&pump.serial)).expect("hex"),
            pump.serial
        );

        let server = issue(
            &ca,
            &csr(d, "pumpserver.hospital.example"),
            &opts(Profile::Server, now),
        )
        .expect("server");
        let srv = path(d, "server.pem");
        std::fs::write(&srv, &server.pem).expect("server");
        let (ok, text) = openssl(&[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            &root,
            "-untrusted",
            &issuing,
            &srv,
        ]);
        assert!(ok, "{alg:?}: {text}");

        // Revoke the pump; the CRL is signed by the issuing CA and names it.
        let revoked = [Revocation {
            serial: pump.serial.clone(),
            revoked: now,
            reason: parse_reason("key-compromise").expect("reason"),
        }];
        let list = crl(&ca, &revoked, 1, now, 24).expect("CRL");
        let crl_file = path(d, "crl.pem");
        std::fs::write(&crl_file, &list).expect("crl");
        let (ok, text) = openssl(&[
            "crl", "-in", &crl_file, "-noout", "-text", "-CAfile", &issuing,
        ]);
        assert!(ok && text.contains("verify OK"), "{alg:?}: {text}");
        assert!(text.contains("Key Compromise"), "{text}");
        assert!(text.contains("Next Update"), "{text}");
        let (ok, text) = openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &root,
            "-untrusted",
            &issuing,
            "-CRLfile",
            &crl_file,
            &leaf,
        ]);
        assert!(
            !ok && text.contains("certificate revoked"),
            "{alg:?}: {text}"
        );
        // The server certificate is not on it.
        let (ok, text) = openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &root,
            "-untrusted",
            &issuing,
            "-CRLfile",
            &crl_file,
            &srv,
        ]);
        assert!(ok, "{alg:?}: {text}");
    }
}

#[test]
fn bad_requests_and_arguments_are_refused() {
    let now = OffsetDateTime::now_utc();
    let ca = init("Ward", KeyAlgorithm::EcdsaP256, now).expect("CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let good = csr(dir.path(), "PUMP-7");
    // A request altered after it was signed: one base64 character of its body changed.
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    let body = &mut lines[2];
    let c = if body.as_bytes()[10] == b'A' {
        "B"
    } else {
        "A"
    };
    body.replace_range(10..11, c);
    let tampered = lines.join("\n");
    assert!(issue(&ca, &tampered, &opts(Profile::Pump, now)).is_err());
    assert!(issue(&ca, &good, &opts(Profile::Pump, now)).is_ok());
    assert!(issue(&ca, "not a CSR", &opts(Profile::Pump, now)).is_err());
    let mut long = opts(Profile::Pump, now);
    long.validity_days = 99_999;
    assert!(issue(&ca, &good, &long).is_err());
    assert!(parse_reason("stolen").is_err());
    assert!(parse_serial("xyz").is_err());
    assert!(init(" ", KeyAlgorithm::EcdsaP256, now).is_err());
    assert!(crl(&ca, &[], 1, now, 0).is_err());
    assert!("rsa4096".parse::<KeyAlgorithm>().is_err());
}

#[test]
fn ca_keys_are_encrypted_at_rest_and_openssl_opens_them_with_the_passphrase() {
    let ca = init("Ward", KeyAlgorithm::EcdsaP256, OffsetDateTime::now_utc()).expect("CA");
    let sealed = pumpguard_pki::encrypt_key(&ca.issuing_key, "correct horse").expect("sealed");
    assert!(
        sealed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{sealed}"
    );
    assert!(!sealed.contains(ca.issuing_key.lines().nth(1).expect("a body line")));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = path(dir.path(), "issuing.key");
    std::fs::write(&file, &sealed).expect("write");
    let (ok, text) = openssl(&[
        "pkey",
        "-in",
        &file,
        "-passin",
        "pass:correct horse",
        "-noout",
    ]);
    assert!(ok, "{text}");
    let (ok, _) = openssl(&["pkey", "-in", &file, "-passin", "pass:wrong", "-noout"]);
    assert!(!ok, "openssl opened the key with a wrong passphrase");
    // What openssl decrypts is the key we sealed.
    let (ok, plain) = openssl(&["pkey", "-in", &file, "-passin", "pass:correct horse"]);
    assert!(ok, "{plain}");
    assert_eq!(plain.trim(), ca.issuing_key.trim());
    assert_eq!(
        pumpguard_pki::decrypt_key(&sealed, "correct horse").expect("opens"),
        ca.issuing_key
    );
    let err = pumpguard_pki::decrypt_key(&sealed, "wrong").expect_err("wrong passphrase");
    assert!(err.to_string().contains("passphrase"), "{err}");
    assert!(pumpguard_pki::encrypt_key(&ca.issuing_key, "").is_err());
}
