//! Signed drug libraries: the pharmacy signs the exact bytes of a library file with an
//! Ed25519 key, and whoever loads it (the gateway) checks the signature before trusting
//! a single limit.
//!
//! The envelope is a tagged COSE_Sign1 (RFC 9052 §4.2, CBOR tag 18) with the library's
//! bytes as its embedded payload:
//!
//! ```text
//! 18([
//!   << { 1: -8,                          ; alg: EdDSA
//!        3: "application/yaml",          ; content type (or "application/json")
//!        4: h'0123456789abcdef' } >>,    ; kid: SHA-256(SPKI DER of the public key)[..8]
//!   {},                                  ; unprotected: empty
//!   <library bytes>,                     ; payload
//!   <64-byte Ed25519 signature>          ; over Sig_structure ["Signature1", protected, h'', payload]
//! ])
//! ```
//!
//! Keys are PKCS#8 PEM (private, RFC 8410) and SPKI PEM (public), as `openssl genpkey
//! -algorithm ed25519` writes them. Verification checks the signature over the
//! Sig_structure (RFC 9052 §4.4, no external AAD) and requires alg EdDSA in the
//! protected header, before the payload is parsed as a library. Nothing here panics on
//! any input, and envelopes over [`MAX_ENVELOPE`] bytes are refused unread.

use coset::{
    CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabel, RegisteredLabelWithPrivate,
    TaggedCborSerializable, iana,
};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{DrugLibrary, LibraryError};

/// The largest envelope read or written: 16 MiB (a library is a few hundred kilobytes).
pub const MAX_ENVELOPE: usize = 16 << 20;

/// The content type of a YAML library.
pub const YAML: &str = "application/yaml";
/// The content type of a JSON library.
pub const JSON: &str = "application/json";

/// An Ed25519 key pair as PEM text: the private key as PKCS#8 (`BEGIN PRIVATE KEY`),
/// the public key as SPKI (`BEGIN PUBLIC KEY`).
#[derive(Clone)]
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("private_pem", &"<redacted>")
            .field("public_pem", &self.public_pem)
            .finish()
    }
}

/// A library whose envelope was opened: verified by [`verify`], or only read by
/// [`open_unverified`].
#[derive(Debug, Clone)]
pub struct SignedLibrary {
    /// The payload, parsed and validated.
    pub library: DrugLibrary,
    /// The payload: the library file's exact bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of the payload, lowercase hex.
    pub sha256: String,
    /// 16 hex characters: the verifying key's id for [`verify`]; the envelope's `kid`
    /// header for [`open_unverified`] (empty when it has none).
    pub key_id: String,
    /// `application/yaml` or `application/json`: the protected header's, else guessed
    /// from the payload.
    pub content_type: String,
}

/// Why a library was not signed, or a signed library not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("not an Ed25519 private key (PKCS#8 PEM, BEGIN PRIVATE KEY): {0}")]
    PrivateKey(String),
    #[error("not an Ed25519 public key (SPKI PEM, BEGIN PUBLIC KEY): {0}")]
    PublicKey(String),
    /// The library to sign does not load: its own error.
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("{file}: {size} bytes is more than a signed library may have ({MAX_ENVELOPE})")]
    TooLarge { file: String, size: usize },
    #[error(
        "{file}: not a signed drug library (a tagged COSE_Sign1 with the library as payload): {why}"
    )]
    Malformed { file: String, why: String },
    #[error("{file}: the signature is not EdDSA: the protected header's alg is {alg}")]
    Algorithm { file: String, alg: String },
    #[error(
        "{file}: the signature does not verify with key id {key_id}: the library or its headers changed after signing"
    )]
    BadSignature { file: String, key_id: String },
    #[error(
        "{file}: the signature does not verify: signed with key id {signed}, not the given public key (key id {given})"
    )]
    WrongKey {
        file: String,
        signed: String,
        given: String,
    },
    #[error("{file}: the signature verifies but the payload is not a valid drug library: {source}")]
    Payload {
        file: String,
        #[source]
        source: LibraryError,
    },
    #[error("{file}: cannot write the envelope: {why}")]
    Encode { file: String, why: String },
}

/// A fresh key pair from the operating system's random source.
pub fn keygen() -> KeyPair {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    KeyPair {
        private_pem: private_pem(&key),
        public_pem: public_pem(&key.verifying_key()),
    }
}

/// PKCS#8 v1 (RFC 8410 §7, the private key alone), as `openssl genpkey` writes it.
fn private_pem(key: &SigningKey) -> String {
    let bytes = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    // Encoding 32 bytes into a fixed ASN.1 structure does not fail.
    bytes
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.as_str().to_owned())
        .unwrap_or_default()
}

fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

fn signing_key(private_pem: &str) -> Result<SigningKey, SignError> {
    SigningKey::from_pkcs8_pem(private_pem).map_err(|e| SignError::PrivateKey(e.to_string()))
}

fn verifying_key(public_pem: &str) -> Result<VerifyingKey, SignError> {
    VerifyingKey::from_public_key_pem(public_pem).map_err(|e| SignError::PublicKey(e.to_string()))
}

/// The key id: the first 8 bytes of SHA-256 over the SPKI DER of the public key.
fn kid(key: &VerifyingKey) -> Result<[u8; 8], SignError> {
    let der = key
        .to_public_key_der()
        .map_err(|e| SignError::PublicKey(e.to_string()))?;
    let digest = Sha256::digest(der.as_bytes());
    let mut id = [0; 8];
    id.copy_from_slice(&digest[..8]);
    Ok(id)
}

/// A public key's id (16 lowercase hex characters): the first 8 bytes of SHA-256 over
/// its SPKI DER.
pub fn key_id(public_pem: &str) -> Result<String, SignError> {
    Ok(hex::encode(kid(&verifying_key(public_pem)?)?))
}

/// The content type of library bytes: JSON when the first non-space byte is `{`.
fn sniff(bytes: &[u8]) -> &'static str {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => JSON,
        _ => YAML,
    }
}

/// The library in `bytes`, validated; `file` names it in errors.
fn parse(bytes: &[u8], file: &str) -> Result<DrugLibrary, LibraryError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LibraryError::Read {
        file: file.to_owned(),
        why: format!("not UTF-8 text: {e}"),
    })?;
    DrugLibrary::parse(text, file)
}

/// Signs a library file's exact bytes into a tagged COSE_Sign1. The library must load
/// first (`file` names it in that error): an invalid library is never signed.
pub fn sign(private_pem: &str, library_bytes: &[u8], file: &str) -> Result<Vec<u8>, SignError> {
    parse(library_bytes, file)?;
    let key = signing_key(private_pem)?;
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .content_type(sniff(library_bytes).to_owned())
        .key_id(kid(&key.verifying_key())?.to_vec())
        .build();
    let envelope = CoseSign1Builder::new()
        .protected(protected)
        .payload(library_bytes.to_vec())
        .create_signature(b"", |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .map_err(|e| SignError::Encode {
            file: file.to_owned(),
            why: e.to_string(),
        })?;
    if envelope.len() > MAX_ENVELOPE {
        return Err(SignError::TooLarge {
            file: file.to_owned(),
            size: envelope.len(),
        });
    }
    Ok(envelope)
}

/// An envelope's parts once its structure is checked: a tagged COSE_Sign1 with an
/// embedded payload, alg EdDSA in the protected header, no critical header we do not
/// know, no header in both buckets, a known content type.
struct Opened {
    sign1: CoseSign1,
    kid: Vec<u8>,
    content_type: Option<String>,
}

fn open(envelope: &[u8], file: &str) -> Result<Opened, SignError> {
    let malformed = |why: String| SignError::Malformed {
        file: file.to_owned(),
        why,
    };
    if envelope.len() > MAX_ENVELOPE {
        return Err(SignError::TooLarge {
            file: file.to_owned(),
            size: envelope.len(),
        });
    }
    if envelope.is_empty() {
        return Err(malformed("the file is empty".into()));
    }
    let sign1 = CoseSign1::from_tagged_slice(envelope).map_err(|e| malformed(e.to_string()))?;
    let (p, u) = (&sign1.protected.header, &sign1.unprotected);
    match &p.alg {
        Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) => {}
        Some(other) => {
            return Err(SignError::Algorithm {
                file: file.to_owned(),
                alg: alg_name(other),
            });
        }
        None => {
            return Err(SignError::Algorithm {
                file: file.to_owned(),
                alg: if u.alg.is_some() {
                    "absent (it is in the unprotected header, which the signature does not cover)"
                        .into()
                } else {
                    "absent".into()
                },
            });
        }
    }
    if u.alg.is_some()
        || (p.content_type.is_some() && u.content_type.is_some())
        || (!p.key_id.is_empty() && !u.key_id.is_empty())
    {
        return Err(malformed(
            "a header is in both the protected and the unprotected bucket".into(),
        ));
    }
    let known = [
        iana::HeaderParameter::Alg,
        iana::HeaderParameter::ContentType,
        iana::HeaderParameter::Kid,
    ];
    if let Some(c) = p.crit.iter().find(|c| match c {
        RegisteredLabel::Assigned(h) => !known.contains(h),
        RegisteredLabel::Text(_) => true,
    }) {
        let name = match c {
            RegisteredLabel::Assigned(h) => format!("{h:?} ({})", *h as i64),
            RegisteredLabel::Text(t) => format!("'{t}'"),
        };
        return Err(malformed(format!(
            "critical header {name} is not understood"
        )));
    }
    if sign1.payload.is_none() {
        return Err(malformed(
            "the payload is detached (nil): the library must be embedded".into(),
        ));
    }
    if sign1.signature.len() != Signature::BYTE_SIZE {
        return Err(malformed(format!(
            "the signature has {} bytes, not {} (Ed25519)",
            sign1.signature.len(),
            Signature::BYTE_SIZE
        )));
    }
    let content_type = match p.content_type.as_ref().or(u.content_type.as_ref()) {
        None => None,
        Some(coset::ContentType::Text(t)) if t == YAML || t == JSON => Some(t.clone()),
        Some(other) => {
            return Err(malformed(format!(
                "content type {other:?} is not {YAML} or {JSON}"
            )));
        }
    };
    let kid = if p.key_id.is_empty() {
        u.key_id.clone()
    } else {
        p.key_id.clone()
    };
    Ok(Opened {
        sign1,
        kid,
        content_type,
    })
}

fn alg_name(alg: &coset::Algorithm) -> String {
    match alg {
        RegisteredLabelWithPrivate::Assigned(a) => format!("{a:?} ({})", *a as i64),
        RegisteredLabelWithPrivate::PrivateUse(n) => format!("{n} (private use)"),
        RegisteredLabelWithPrivate::Text(t) => format!("'{t}'"),
    }
}

/// The payload of an opened envelope, parsed: the library's errors name "payload" (its
/// lines are the payload's).
fn finish(opened: Opened, key_id: String, file: &str) -> Result<SignedLibrary, SignError> {
    let bytes = opened.sign1.payload.unwrap_or_default();
    let library = parse(&bytes, "payload").map_err(|source| SignError::Payload {
        file: file.to_owned(),
        source,
    })?;
    let content_type = opened
        .content_type
        .unwrap_or_else(|| sniff(&bytes).to_owned());
    Ok(SignedLibrary {
        library,
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes,
        key_id,
        content_type,
    })
}

/// Verifies a signed library with the pharmacy's public key, then parses its payload.
/// `file` names the envelope in errors.
pub fn verify(public_pem: &str, envelope: &[u8], file: &str) -> Result<SignedLibrary, SignError> {
    let key = verifying_key(public_pem)?;
    let given = kid(&key)?;
    let opened = open(envelope, file)?;
    let verified = opened.sign1.verify_signature(b"", |sig, tbs| {
        let sig = Signature::from_slice(sig)?;
        key.verify_strict(tbs, &sig)
    });
    if verified.is_err() {
        return Err(if !opened.kid.is_empty() && opened.kid != given {
            SignError::WrongKey {
                file: file.to_owned(),
                signed: hex::encode(&opened.kid),
                given: hex::encode(given),
            }
        } else {
            SignError::BadSignature {
                file: file.to_owned(),
                key_id: hex::encode(given),
            }
        });
    }
    finish(opened, hex::encode(given), file)
}

/// Reads a signed library without checking its signature (to show it): the structure
/// and the payload are checked as [`verify`] does. Its `key_id` is the envelope's
/// `kid` header, empty when it has none.
pub fn open_unverified(envelope: &[u8], file: &str) -> Result<SignedLibrary, SignError> {
    let opened = open(envelope, file)?;
    let kid = hex::encode(&opened.kid);
    finish(opened, kid, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICU: &str = "name: ICU Adult\nversion: 2026.11.1\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_min: 2\n    soft_max: 20\n    hard_min: 1\n    hard_max: 25\n";

    fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = bytes
            .windows(from.len())
            .position(|w| w == from)
            .expect("present");
        let mut out = bytes.to_vec();
        out[at..at + to.len()].copy_from_slice(to);
        out
    }

    #[test]
    fn a_signed_library_verifies_and_round_trips() {
        let keys = keygen();
        assert!(
            keys.private_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(keys.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(!format!("{keys:?}").contains("PRIVATE KEY"));
        let id = key_id(&keys.public_pem).expect("key id");
        assert_eq!(id.len(), 16);

        let envelope = sign(&keys.private_pem, ICU.as_bytes(), "icu.yaml").expect("sign");
        assert_eq!(envelope[0], 0xd2, "tag 18");
        let signed = verify(&keys.public_pem, &envelope, "icu.cose").expect("verify");
        assert_eq!(signed.bytes, ICU.as_bytes());
        assert_eq!(signed.library.name, "ICU Adult");
        assert_eq!(signed.library.entries.len(), 1);
        assert_eq!(signed.key_id, id);
        assert_eq!(signed.content_type, YAML);
        assert_eq!(signed.sha256, hex::encode(Sha256::digest(ICU.as_bytes())));

        let unverified = open_unverified(&envelope, "icu.cose").expect("open");
        assert_eq!(unverified.key_id, id);
        assert_eq!(unverified.library, signed.library);

        // The protected header: alg EdDSA, content type, kid.
        let sign1 = CoseSign1::from_tagged_slice(&envelope).expect("COSE_Sign1");
        let h = &sign1.protected.header;
        assert_eq!(
            h.alg,
            Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA))
        );
        assert_eq!(h.key_id, hex::decode(&id).expect("hex"));
        assert!(sign1.unprotected.is_empty());

        // JSON libraries say so.
        let json = r#" {"name": "N", "version": "1", "care_area": "ICU", "entries": []}"#;
        let envelope = sign(&keys.private_pem, json.as_bytes(), "n.json").expect("sign");
        let signed = verify(&keys.public_pem, &envelope, "n.cose").expect("verify");
        assert_eq!(signed.content_type, JSON);
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let keys = keygen();
        let envelope = sign(&keys.private_pem, ICU.as_bytes(), "icu.yaml").expect("sign");

        let edited = replace(&envelope, b"hard_max: 25", b"hard_max: 95");
        let e = verify(&keys.public_pem, &edited, "icu.cose").expect_err("edited");
        assert!(matches!(e, SignError::BadSignature { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("icu.cose: the signature does not verify")
        );
        // Still readable unverified: the payload is a valid library.
        assert!(open_unverified(&edited, "icu.cose").is_ok());

        // Another key's signature over the same bytes.
        let other = keygen();
        let e = verify(&other.public_pem, &envelope, "icu.cose").expect_err("other key");
        assert!(matches!(e, SignError::WrongKey { .. }), "{e}");

        // The signature itself changed.
        let mut flipped = envelope.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            verify(&keys.public_pem, &flipped, "s").expect_err("flipped"),
            SignError::BadSignature { .. }
        ));

        // Truncated, empty, garbage, untagged: malformed, never a panic.
        for bad in [
            &envelope[..envelope.len() / 2],
            &b""[..],
            &b"name: ICU\n"[..],
            &envelope[1..],
        ] {
            let e = verify(&keys.public_pem, bad, "s").expect_err("malformed");
            assert!(matches!(e, SignError::Malformed { .. }), "{e}");
        }
        assert!(matches!(
            verify(&keys.public_pem, &vec![0; MAX_ENVELOPE + 1], "s").expect_err("large"),
            SignError::TooLarge { .. }
        ));

        // Keys that are not keys.
        assert!(matches!(
            verify("not a key", &envelope, "s").expect_err("key"),
            SignError::PublicKey(_)
        ));
        assert!(matches!(
            sign(&keys.public_pem, ICU.as_bytes(), "f").expect_err("key"),
            SignError::PrivateKey(_)
        ));
    }

    #[test]
    fn invalid_libraries_are_not_signed_nor_accepted() {
        let keys = keygen();
        let bad = ICU.replace("hard_max: 25", "hard_max: 15");
        let e = sign(&keys.private_pem, bad.as_bytes(), "icu.yaml").expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "icu.yaml: entry 1 (Dopamine): soft_max 20 is above hard_max 15"
        );

        // A validly signed envelope around an invalid library: the signature verifies,
        // the payload does not load.
        let key = signing_key(&keys.private_pem).expect("key");
        let envelope = CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::EdDSA)
                    .build(),
            )
            .payload(bad.into_bytes())
            .create_signature(b"", |tbs| key.sign(tbs).to_bytes().to_vec())
            .build()
            .to_tagged_vec()
            .expect("encode");
        let e = verify(&keys.public_pem, &envelope, "s.cose").expect_err("payload");
        assert!(matches!(e, SignError::Payload { .. }), "{e}");
        assert!(e.to_string().contains("payload: entry 1 (Dopamine)"), "{e}");
    }

    /// Another algorithm, or EdDSA only in the unprotected header, is refused even with
    /// a signature that verifies.
    #[test]
    fn only_protected_eddsa_is_accepted() {
        let keys = keygen();
        let key = signing_key(&keys.private_pem).expect("key");
        let build = |protected: coset::Header, unprotected: coset::Header| {
            CoseSign1Builder::new()
                .protected(protected)
                .unprotected(unprotected)
                .payload(ICU.as_bytes().to_vec())
                .create_signature(b"", |tbs| key.sign(tbs).to_bytes().to_vec())
                .build()
                .to_tagged_vec()
                .expect("encode")
        };
        let es256 = build(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .build(),
            coset::Header::default(),
        );
        let e = verify(&keys.public_pem, &es256, "s").expect_err("ES256");
        assert!(matches!(e, SignError::Algorithm { .. }), "{e}");
        let unprotected = build(
            coset::Header::default(),
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .build(),
        );
        let e = verify(&keys.public_pem, &unprotected, "s").expect_err("unprotected");
        assert!(matches!(e, SignError::Algorithm { .. }), "{e}");
        let crit = build(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .add_critical(iana::HeaderParameter::X5Chain)
                .build(),
            coset::Header::default(),
        );
        let e = verify(&keys.public_pem, &crit, "s").expect_err("crit");
        assert!(matches!(e, SignError::Malformed { .. }), "{e}");
        // A plain one without kid or content type is fine.
        let plain = build(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .build(),
            coset::Header::default(),
        );
        let signed = verify(&keys.public_pem, &plain, "s").expect("plain");
        assert_eq!(signed.content_type, YAML);
    }

    /// Every prefix and every one-byte change of an envelope is an error, not a panic.
    #[test]
    fn no_input_panics() {
        let keys = keygen();
        let envelope = sign(&keys.private_pem, ICU.as_bytes(), "icu.yaml").expect("sign");
        for n in 0..envelope.len() {
            assert!(verify(&keys.public_pem, &envelope[..n], "s").is_err());
            let _ = open_unverified(&envelope[..n], "s");
        }
        for i in 0..envelope.len() {
            for b in [0x00, 0xff, 0x1f, 0x5f, 0x9f, 0xbf, 0xdf, 0xf7] {
                let mut e = envelope.clone();
                e[i] = b;
                let _ = verify(&keys.public_pem, &e, "s");
                let _ = open_unverified(&e, "s");
            }
        }
    }
}
