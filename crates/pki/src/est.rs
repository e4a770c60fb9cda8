//! The encodings EST (RFC 7030) speaks: certificates go out as a "certs-only" CMS
//! SignedData (RFC 5652, no signers, §4.1.3 and §4.2.3 of RFC 7030), and `/csrattrs`
//! answers a DER `CsrAttrs` (§4.5.2). Both are sent base64-encoded by the server.

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerInfos};
use der::asn1::SetOfVec;
use der::{Any, Decode, Encode};

use crate::{KeyAlgorithm, PkiError};

fn der_err(e: der::Error) -> PkiError {
    PkiError::Invalid(format!("DER: {e}"))
}

/// A degenerate SignedData holding `certs_der` (each a DER certificate) and nothing
/// else: the `application/pkcs7-mime; smime-type=certs-only` body EST returns.
pub fn certs_only(certs_der: &[Vec<u8>]) -> Result<Vec<u8>, PkiError> {
    let mut set = SetOfVec::new();
    for der in certs_der {
        let cert = x509_cert::Certificate::from_der(der).map_err(der_err)?;
        set.insert(CertificateChoices::Certificate(cert))
            .map_err(der_err)?;
    }
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: const_oid::db::rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(set)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&signed).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}

/// The certificates (DER) a certs-only SignedData carries, in its order.
pub fn certs_of(pkcs7_der: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let info = ContentInfo::from_der(pkcs7_der).map_err(der_err)?;
    if info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(PkiError::Invalid("not a CMS SignedData".into()));
    }
    let signed: SignedData = info.content.decode_as().map_err(der_err)?;
    let mut out = Vec::new();
    for c in signed.certificates.iter().flat_map(|s| s.0.iter()) {
        if let CertificateChoices::Certificate(cert) = c {
            out.push(cert.to_der().map_err(der_err)?);
        }
    }
    Ok(out)
}

/// The `CsrAttrs` the CA asks of a request: the signature algorithm it expects
/// (ecdsa-with-SHA256 for an ECDSA CA, sha256WithRSAEncryption for RSA).
pub fn csr_attrs(alg: KeyAlgorithm) -> Result<Vec<u8>, PkiError> {
    let oid = match alg {
        KeyAlgorithm::EcdsaP256 => const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 => {
            const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        }
    };
    // CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID; an OID is one choice.
    vec![oid].to_der().map_err(der_err)
}

/// PEM blocks of one label (`CERTIFICATE`) decoded to DER, in order.
pub fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    let mut out = Vec::new();
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start..];
        let stop = after
            .find(&end)
            .ok_or_else(|| PkiError::Invalid(format!("a {label} block has no end line")))?;
        let block = &after[..stop + end.len()];
        let (found, der) = pem_rfc7468::decode_vec(block.as_bytes())
            .map_err(|e| PkiError::Invalid(format!("PEM: {e}")))?;
        if found != label {
            return Err(PkiError::Invalid(format!(
                "expected {label}, found {found}"
            )));
        }
        out.push(der);
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_attrs_is_a_sequence_of_one_oid() {
        let der = csr_attrs(KeyAlgorithm::EcdsaP256).expect("encodes");
        // SEQUENCE { OID 1.2.840.10045.4.3.2 }
        assert_eq!(
            der,
            [
                0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
            ]
        );
    }

    #[test]
    fn certs_only_round_trips_and_refuses_garbage() {
        let ca = crate::init(
            "Ward",
            KeyAlgorithm::EcdsaP256,
            time::OffsetDateTime::now_utc(),
        )
        .expect("ca");
        let certs = pem_blocks(&ca.chain_pem(), "CERTIFICATE").expect("pem");
        assert_eq!(certs.len(), 2);
        let p7 = certs_only(&certs).expect("encodes");
        let mut back = certs_of(&p7).expect("decodes");
        let mut want = certs.clone();
        back.sort();
        want.sort();
        assert_eq!(back, want);
        assert!(certs_only(&[vec![0x30, 0x03, 0x02, 0x01, 0x01]]).is_err());
        assert!(certs_of(b"not der").is_err());
    }
}
