//! `pumpguard druglib …` end to end, checked by third parties: openssl reads the key pair
//! `keygen` writes; python `pycose` (a second COSE implementation, on `cryptography`)
//! verifies the COSE_Sign1 `sign` writes, and signs one with our key that `verify`
//! accepts. A library changed after signing, another key, a broken envelope and an
//! invalid library are refused with exit 2 and one line naming the file.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// The example library of `pumpguard_druglib`'s documentation.
const ICU: &str = "name: ICU Adult
version: 2026.11.1
care_area: ICU
entries:
  - drug: Dopamine
    code: \"1234\"
    dose_unit: ug/kg/min
    soft_min: 2
    soft_max: 20
    hard_min: 1
    hard_max: 25
";

const ONCOLOGY_JSON: &str = r#"{
  "name": "Oncology",
  "version": "7",
  "care_area": "ONC",
  "entries": [
    {"drug": "Heparin", "code": "77", "dose_unit": "[iU]/h", "soft_max": 1500, "hard_max": 2000},
    {"drug": "Normal Saline", "dose_unit": "mL/h", "hard_max": 999}
  ]
}
"#;

/// `pumpguard druglib ARGS…` in `dir`, run to completion.
fn druglib(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("pumpguard")
        .expect("binary")
        .env_remove("PUMPGUARD_DB")
        .env("PUMPGUARD_ACTOR", "test:e2e")
        .current_dir(dir)
        .arg("druglib")
        .args(args)
        .output()
        .expect("runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let out = druglib(dir, args);
    assert!(
        out.status.success(),
        "pumpguard druglib {args:?} failed: {}",
        stderr(&out)
    );
    out
}

/// Exit 2 with a single `error: …` line that contains every one of `says`.
fn refused(dir: &Path, args: &[&str], says: &[&str]) -> String {
    let out = druglib(dir, args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for s in says {
        assert!(err.contains(s), "{args:?}: {err:?} does not say {s:?}");
    }
    err
}

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

/// `python3 -c SCRIPT ARGS…`: the script's output, after asserting it succeeded.
fn python(script: &str, args: &[&str]) -> String {
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    let (ok, text) = tool("python3", &all);
    assert!(ok, "python failed: {text}");
    text
}

/// Key pair `k`/`k.pub` and the signed example library `icu.cose` in a fresh directory.
fn signed_icu() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("icu.yaml"), ICU).expect("write");
    ok(d, &["keygen", "--out", "k"]);
    ok(
        d,
        &[
            "sign",
            "--key",
            "k",
            "--library",
            "icu.yaml",
            "--out",
            "icu.cose",
        ],
    );
    dir
}

#[test]
fn keygen_writes_a_pair_openssl_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let out = ok(d, &["keygen", "--out", "pharmacy.key"]);
    assert!(
        stderr(&out).contains("pharmacy.key.pub"),
        "{}",
        stderr(&out)
    );
    let private = std::fs::read_to_string(d.join("pharmacy.key")).expect("key");
    let public = std::fs::read_to_string(d.join("pharmacy.key.pub")).expect("pub");
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{private}"
    );
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{public}"
    );
    let mode = std::fs::metadata(d.join("pharmacy.key"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");

    let key = d.join("pharmacy.key");
    let pubkey = d.join("pharmacy.key.pub");
    let key = key.to_str().expect("utf-8");
    let pubkey = pubkey.to_str().expect("utf-8");
    let (ok_, derived) = tool("openssl", &["pkey", "-in", key, "-pubout"]);
    assert!(ok_, "{derived}");
    assert_eq!(derived, public, "openssl derives the same public key");
    let (ok_, text) = tool(
        "openssl",
        &["pkey", "-pubin", "-in", pubkey, "-noout", "-text"],
    );
    assert!(ok_, "{text}");
    assert!(text.contains("ED25519"), "{text}");

    // No overwriting without --force, for either file.
    refused(
        d,
        &["keygen", "--out", "pharmacy.key"],
        &["pharmacy.key: exists already", "--force"],
    );
    std::fs::remove_file(d.join("pharmacy.key")).expect("rm");
    refused(
        d,
        &["keygen", "--out", "pharmacy.key"],
        &["pharmacy.key.pub: exists already"],
    );
    assert!(!d.join("pharmacy.key").exists(), "nothing written");
    ok(d, &["keygen", "--out", "pharmacy.key", "--force"]);
    let again = std::fs::read_to_string(d.join("pharmacy.key.pub")).expect("pub");
    assert_ne!(again, public, "a new pair");
}

/// pycose (on cbor2 and cryptography) reads our envelope: tag 18, alg EdDSA in the
/// protected header, the library's exact bytes as payload, a signature that verifies
/// with the public key, the key id over the SPKI DER.
#[test]
fn pycose_verifies_what_sign_writes() {
    let dir = signed_icu();
    let d = dir.path();
    let p = |n: &str| d.join(n).to_str().expect("utf-8").to_owned();
    let script = r#"
import hashlib, sys, cbor2
from cryptography.hazmat.primitives.serialization import load_pem_public_key, Encoding, PublicFormat
from pycose.messages import Sign1Message
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.algorithms import EdDSA
from pycose.headers import Algorithm, ContentType, KID

pub = load_pem_public_key(open(sys.argv[1], "rb").read())
envelope = open(sys.argv[2], "rb").read()
library = open(sys.argv[3], "rb").read()
assert cbor2.loads(envelope).tag == 18, "tagged COSE_Sign1"
msg = Sign1Message.decode(envelope)
msg.key = OKPKey(crv=Ed25519, x=pub.public_bytes(Encoding.Raw, PublicFormat.Raw))
assert msg.verify_signature() is True, "signature"
assert msg.payload == library, "payload"
assert msg.phdr[Algorithm] is EdDSA, msg.phdr
assert msg.phdr[ContentType] == "application/yaml", msg.phdr
spki = pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
assert msg.phdr[KID] == hashlib.sha256(spki).digest()[:8], msg.phdr
assert msg.uhdr == {}, msg.uhdr

# The same message with one payload byte changed does not verify.
msg.payload = library.replace(b"hard_max: 25", b"hard_max: 95")
assert msg.verify_signature() is False, "tampered"
print("ok", msg.phdr[KID].hex())
"#;
    let out = python(script, &[&p("k.pub"), &p("icu.cose"), &p("icu.yaml")]);
    let kid = out.trim().strip_prefix("ok ").expect("ok line");
    let verify = ok(d, &["verify", "--pubkey", "k.pub", "icu.cose"]);
    assert!(
        stderr(&verify).contains(&format!("key id {kid}")),
        "{}",
        stderr(&verify)
    );
}

/// pycose signs a (JSON) library with our private key; `verify` accepts it and reports
/// the key id python computed over the SPKI DER.
#[test]
fn verify_accepts_what_pycose_signs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("onc.json"), ONCOLOGY_JSON).expect("write");
    ok(d, &["keygen", "--out", "k"]);
    let p = |n: &str| d.join(n).to_str().expect("utf-8").to_owned();
    let script = r#"
import hashlib, sys
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key, Encoding, PublicFormat, PrivateFormat, NoEncryption)
from pycose.messages import Sign1Message
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.algorithms import EdDSA
from pycose.headers import Algorithm, ContentType, KID

key = load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
pub = key.public_key()
x = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
d = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
kid = hashlib.sha256(pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()[:8]
msg = Sign1Message(
    phdr={Algorithm: EdDSA, ContentType: "application/json", KID: kid},
    payload=open(sys.argv[2], "rb").read(),
)
msg.key = OKPKey(crv=Ed25519, d=d, x=x)
open(sys.argv[3], "wb").write(msg.encode(tag=True))
print(kid.hex())
"#;
    let kid = python(script, &[&p("k"), &p("onc.json"), &p("onc.cose")]);
    let kid = kid.trim();
    assert_eq!(kid.len(), 16);
    let out = ok(d, &["verify", "--pubkey", "k.pub", "onc.cose"]);
    let line = stderr(&out);
    let sha = python(
        "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
        &[&p("onc.json")],
    );
    assert_eq!(
        line.trim_end(),
        format!(
            "onc.cose: signature OK (key id {kid}); library 'Oncology' version 7, care area ONC, 2 entries, sha256 {}",
            sha.trim()
        )
    );
    let shown = ok(
        d,
        &["show", "onc.cose", "--pubkey", "k.pub", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(doc["content_type"], "application/json");
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["key_id"], kid);
}

#[test]
fn changed_libraries_other_keys_and_broken_envelopes_are_refused() {
    let dir = signed_icu();
    let d = dir.path();
    let envelope = std::fs::read(d.join("icu.cose")).expect("read");

    // One payload byte changed inside the envelope (same length).
    let at = envelope
        .windows(12)
        .position(|w| w == b"hard_max: 25")
        .expect("payload in the envelope");
    let mut edited = envelope.clone();
    edited[at + 10] = b'9';
    std::fs::write(d.join("edited.cose"), &edited).expect("write");
    refused(
        d,
        &["verify", "--pubkey", "k.pub", "edited.cose"],
        &["error: edited.cose: ", "signature does not verify"],
    );
    refused(
        d,
        &["show", "edited.cose", "--pubkey", "k.pub"],
        &["edited.cose: ", "signature does not verify"],
    );

    // Another pair's public key.
    ok(d, &["keygen", "--out", "other"]);
    refused(
        d,
        &["verify", "--pubkey", "other.pub", "icu.cose"],
        &[
            "error: icu.cose: ",
            "signature does not verify",
            "not the given public key",
        ],
    );

    // Truncated, garbage, empty, the library itself, a key where the key is not.
    std::fs::write(d.join("short.cose"), &envelope[..envelope.len() / 2]).expect("write");
    std::fs::write(d.join("garbage.cose"), b"\xd2\x84\xff\x00garbage").expect("write");
    std::fs::write(d.join("empty.cose"), b"").expect("write");
    for s in ["short.cose", "garbage.cose", "empty.cose", "icu.yaml"] {
        refused(
            d,
            &["verify", "--pubkey", "k.pub", s],
            &[&format!("error: {s}: "), "not a signed drug library"],
        );
    }
    refused(
        d,
        &["verify", "--pubkey", "k", "icu.cose"],
        &["error: k: ", "not an Ed25519 public key"],
    );
    refused(
        d,
        &["verify", "--pubkey", "k.pub", "missing.cose"],
        &["error: missing.cose: cannot read"],
    );

    // An invalid library is not signed: the library's own error, no envelope written.
    std::fs::write(
        d.join("bad.yaml"),
        ICU.replace("hard_max: 25", "hard_max: 15"),
    )
    .expect("write");
    refused(
        d,
        &[
            "sign",
            "--key",
            "k",
            "--library",
            "bad.yaml",
            "--out",
            "bad.cose",
        ],
        &["error: bad.yaml: entry 1 (Dopamine): soft_max 20 is above hard_max 15"],
    );
    assert!(!d.join("bad.cose").exists());
    refused(
        d,
        &[
            "sign",
            "--key",
            "k.pub",
            "--library",
            "icu.yaml",
            "--out",
            "x.cose",
        ],
        &["error: k.pub: ", "not an Ed25519 private key"],
    );
}

#[test]
fn show_prints_the_entries_and_the_envelope() {
    let dir = signed_icu();
    let d = dir.path();
    let doc = |args: &[&str]| -> serde_json::Value {
        serde_json::from_slice(&ok(d, args).stdout).expect("JSON")
    };
    let verified = doc(&["show", "icu.cose", "--pubkey", "k.pub", "--format", "json"]);
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["name"], "ICU Adult");
    assert_eq!(verified["version"], "2026.11.1");
    assert_eq!(verified["care_area"], "ICU");
    assert_eq!(verified["content_type"], "application/yaml");
    assert_eq!(verified["key_id"].as_str().map(str::len), Some(16));
    assert_eq!(verified["sha256"].as_str().map(str::len), Some(64));
    let entries = verified["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["drug"], "Dopamine");
    assert_eq!(entries[0]["code"], "1234");
    assert_eq!(entries[0]["dose_unit"], "ug/kg/min");
    assert_eq!(entries[0]["soft_min"], 2.0);
    assert_eq!(entries[0]["soft_max"], 20.0);
    assert_eq!(entries[0]["hard_min"], 1.0);
    assert_eq!(entries[0]["hard_max"], 25.0);

    // Without a key: the same facts, not verified (the key id is the envelope's claim).
    let unverified = doc(&["show", "icu.cose", "--format", "json"]);
    assert_eq!(unverified["verified"], false);
    assert_eq!(unverified["key_id"], verified["key_id"]);
    assert_eq!(unverified["entries"], verified["entries"]);

    let table = ok(
        d,
        &["show", "icu.cose", "--pubkey", "k.pub", "--format", "table"],
    );
    let text = String::from_utf8_lossy(&table.stdout);
    for s in [
        "Dopamine",
        "1234",
        "ug/kg/min",
        "ICU Adult",
        "verified",
        "true",
    ] {
        assert!(text.contains(s), "{s} in {text}");
    }
}
