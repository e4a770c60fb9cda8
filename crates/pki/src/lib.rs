//! The device PKI's certificate authority, without storage or I/O: a root and an
//! issuing CA (ECDSA P-256 by default, RSA 2048/3072 for old pumps), certificates issued
//! from CSRs under a profile (`pump`: client authentication, CN = asset id; `server`:
//! server authentication), and CRLs of the revoked ones. Certificates and keys go in and
//! out as PEM; the caller keeps them (and, in a later step, encrypts the keys at rest).

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, CrlDistributionPoint, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

pub mod est;
pub mod radius;

/// What the CA refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate request: {0}")]
    Csr(String),
    #[error("the CA: {0}")]
    Ca(String),
    #[error("{0}")]
    Invalid(String),
}

fn ca_err(e: rcgen::Error) -> PkiError {
    PkiError::Ca(e.to_string())
}

/// The CA's key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    Rsa2048,
    Rsa3072,
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<KeyAlgorithm, String> {
        match s {
            "ecdsa-p256" | "p256" => Ok(KeyAlgorithm::EcdsaP256),
            "rsa2048" | "rsa-2048" => Ok(KeyAlgorithm::Rsa2048),
            "rsa3072" | "rsa-3072" => Ok(KeyAlgorithm::Rsa3072),
            _ => Err(format!(
                "'{s}' is not a key algorithm (ecdsa-p256, rsa2048, rsa3072)"
            )),
        }
    }
}

fn generate(alg: KeyAlgorithm) -> Result<KeyPair, PkiError> {
    let key = match alg {
        KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyAlgorithm::Rsa2048 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        }
        KeyAlgorithm::Rsa3072 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
        }
    };
    key.map_err(ca_err)
}

/// The two CA certificates and their keys, as PEM (keys in PKCS#8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaBundle {
    /// The organization the CA was made for; every certificate's subject names it.
    pub name: String,
    pub root_cert: String,
    /// The root's key: only [`init`] needs it (to sign the issuing CA); a CA opened to
    /// issue leaves it sealed (`None`), so that it is decrypted as rarely as possible.
    pub root_key: Option<String>,
    pub issuing_cert: String,
    pub issuing_key: String,
}

impl CaBundle {
    /// The chain a relying party trusts: issuing CA, then root.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.issuing_cert, self.root_cert)
    }
}

/// Years a root is valid, and an issuing CA.
const ROOT_YEARS: i64 = 20;
const ISSUING_YEARS: i64 = 10;

fn dn(common_name: &str, organization: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, organization);
    d.push(DnType::CommonName, common_name);
    d
}

/// A serial number: 16 bytes, unique (time-ordered UUID v7 with 74 random bits),
/// positive (top bit clear), as RFC 5280 §4.1.2.2 wants.
pub fn new_serial() -> Vec<u8> {
    let mut bytes = *uuid::Uuid::now_v7().as_bytes();
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 1;
    }
    bytes.to_vec()
}

/// A serial number as the CLI and the store show it: lower-case hex.
pub fn serial_hex(serial: &[u8]) -> String {
    serial.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses [`serial_hex`]'s output (colons, as openssl prints them, are allowed).
pub fn parse_serial(text: &str) -> Result<Vec<u8>, PkiError> {
    let clean: String = text.chars().filter(|c| *c != ':').collect();
    if clean.is_empty() || !clean.len().is_multiple_of(2) || clean.len() > 40 {
        return Err(PkiError::Invalid(format!(
            "'{text}' is not a serial number (hex)"
        )));
    }
    (0..clean.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&clean[i..i + 2], 16)
                .map_err(|_| PkiError::Invalid(format!("'{text}' is not a serial number (hex)")))
        })
        .collect()
}

/// Creates a root CA and an issuing CA under it, named after `name`.
pub fn init(name: &str, alg: KeyAlgorithm, now: OffsetDateTime) -> Result<CaBundle, PkiError> {
    if name.trim().is_empty() {
        return Err(PkiError::Invalid("the CA needs a name".into()));
    }
    let root_key = generate(alg)?;
    let mut root = CertificateParams::default();
    root.distinguished_name = dn(&format!("{name} Root CA"), name);
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = now - Duration::minutes(5);
    root.not_after = now + Duration::days(365 * ROOT_YEARS);
    root.serial_number = Some(SerialNumber::from_slice(&new_serial()));
    let root_cert = root.self_signed(&root_key).map_err(ca_err)?;

    let issuing_key = generate(alg)?;
    let mut issuing = CertificateParams::default();
    issuing.distinguished_name = dn(&format!("{name} Device Issuing CA"), name);
    issuing.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    issuing.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    issuing.not_before = now - Duration::minutes(5);
    issuing.not_after = now + Duration::days(365 * ISSUING_YEARS);
    issuing.serial_number = Some(SerialNumber::from_slice(&new_serial()));
    issuing.use_authority_key_identifier_extension = true;
    let root_issuer = Issuer::new(root, &root_key);
    let issuing_cert = issuing
        .signed_by(&issuing_key, &root_issuer)
        .map_err(ca_err)?;
    Ok(CaBundle {
        name: name.to_owned(),
        root_cert: root_cert.pem(),
        root_key: Some(root_key.serialize_pem()),
        issuing_cert: issuing_cert.pem(),
        issuing_key: issuing_key.serialize_pem(),
    })
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A device (pump): TLS client authentication (802.1X EAP-TLS, mTLS to its server).
    Pump,
    /// A server: TLS server authentication.
    Server,
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "pump" => Ok(Profile::Pump),
            "server" => Ok(Profile::Server),
            _ => Err(format!("'{s}' is not a profile (pump, server)")),
        }
    }
}

/// A certificate the CA issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub serial: Vec<u8>,
    /// The subject's common name: the asset id for a pump.
    pub common_name: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub pem: String,
}

/// How a certificate is issued.
#[derive(Debug, Clone)]
pub struct IssueOptions<'a> {
    pub profile: Profile,
    pub validity_days: i64,
    pub now: OffsetDateTime,
    /// `serial:` or `mac:` URI, DNS names: subject alternative names to add.
    pub uris: Vec<String>,
    /// DNS names, or IP addresses (which become IP address names).
    pub dns_names: Vec<String>,
    /// Where the CRL is published (`http://…/pki/crl`), written into the certificate.
    pub crl_url: Option<&'a str>,
}

/// The issuing CA as a signer.
fn issuing(ca: &CaBundle) -> Result<(KeyPair, String), PkiError> {
    let key = KeyPair::from_pem(&ca.issuing_key).map_err(ca_err)?;
    Ok((key, ca.issuing_cert.clone()))
}

/// Issues a certificate for the key of `csr_pem` (its signature is checked): the
/// subject is the CSR's common name only, the rest is the profile's.
pub fn issue(ca: &CaBundle, csr_pem: &str, opts: &IssueOptions<'_>) -> Result<Issued, PkiError> {
    let csr = CertificateSigningRequestParams::from_pem(csr_pem)
        .map_err(|e| PkiError::Csr(e.to_string()))?;
    issue_for(ca, csr, opts)
}

/// [`issue`] for a DER-encoded CSR (EST sends them so).
pub fn issue_der(
    ca: &CaBundle,
    csr_der: &[u8],
    opts: &IssueOptions<'_>,
) -> Result<Issued, PkiError> {
    let der = rustls_pki_types::CertificateSigningRequestDer::from(csr_der);
    let csr = CertificateSigningRequestParams::from_der(&der)
        .map_err(|e| PkiError::Csr(e.to_string()))?;
    issue_for(ca, csr, opts)
}

/// The common name of a DER-encoded CSR (after checking its signature).
pub fn csr_common_name(csr_der: &[u8]) -> Result<String, PkiError> {
    let der = rustls_pki_types::CertificateSigningRequestDer::from(csr_der);
    let csr = CertificateSigningRequestParams::from_der(&der)
        .map_err(|e| PkiError::Csr(e.to_string()))?;
    common_name_of(&csr)
}

fn common_name_of(csr: &CertificateSigningRequestParams) -> Result<String, PkiError> {
    csr.params
        .distinguished_name
        .get(&DnType::CommonName)
        .and_then(dn_text)
        .filter(|cn| !cn.trim().is_empty())
        .ok_or_else(|| PkiError::Csr("the request has no subject common name".into()))
}

/// Issues a certificate for a key made here (a server's own, the RADIUS server's):
/// returns it with its PKCS#8 key (PEM), in the CA's key algorithm family.
pub fn issue_with_new_key(
    ca: &CaBundle,
    common_name: &str,
    alg: KeyAlgorithm,
    opts: &IssueOptions<'_>,
) -> Result<(Issued, String), PkiError> {
    let key = generate(alg)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(common_name, &ca.name);
    let csr = params.serialize_request(&key).map_err(ca_err)?;
    let issued = issue_der(ca, csr.der(), opts)?;
    Ok((issued, key.serialize_pem()))
}

fn issue_for(
    ca: &CaBundle,
    csr: CertificateSigningRequestParams,
    opts: &IssueOptions<'_>,
) -> Result<Issued, PkiError> {
    let common_name = common_name_of(&csr)?;
    if !(1..=3650).contains(&opts.validity_days) {
        return Err(PkiError::Invalid(format!(
            "validity of {} days: give 1 to 3650",
            opts.validity_days
        )));
    }
    let serial = new_serial();
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&common_name, &ca.name);
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = opts.now - Duration::minutes(5);
    params.not_after = opts.now + Duration::days(opts.validity_days);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![match opts.profile {
        Profile::Pump => ExtendedKeyUsagePurpose::ClientAuth,
        Profile::Server => ExtendedKeyUsagePurpose::ServerAuth,
    }];
    let mut sans = Vec::new();
    for d in &opts.dns_names {
        if let Ok(ip) = d.parse::<std::net::IpAddr>() {
            sans.push(SanType::IpAddress(ip));
            continue;
        }
        sans.push(SanType::DnsName(d.clone().try_into().map_err(|_| {
            PkiError::Invalid(format!("'{d}' is not a DNS name"))
        })?));
    }
    if opts.profile == Profile::Server && opts.dns_names.is_empty() {
        sans.push(SanType::DnsName(common_name.clone().try_into().map_err(
            |_| PkiError::Invalid(format!("server name '{common_name}' is not a DNS name")),
        )?));
    }
    for u in &opts.uris {
        sans.push(SanType::URI(
            u.clone()
                .try_into()
                .map_err(|_| PkiError::Invalid(format!("'{u}' is not a URI")))?,
        ));
    }
    params.subject_alt_names = sans;
    if let Some(url) = opts.crl_url {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![url.to_owned()],
        }];
    }
    let (key, cert) = issuing(ca)?;
    let issuer = Issuer::from_ca_cert_pem(&cert, &key).map_err(ca_err)?;
    let signed = params.signed_by(&csr.public_key, &issuer).map_err(ca_err)?;
    Ok(Issued {
        serial,
        common_name,
        not_before: params.not_before,
        not_after: params.not_after,
        pem: signed.pem(),
    })
}

fn dn_text(v: &rcgen::DnValue) -> Option<String> {
    match v {
        rcgen::DnValue::Utf8String(s) => Some(s.clone()),
        rcgen::DnValue::PrintableString(s) => Some(s.as_str().to_owned()),
        rcgen::DnValue::Ia5String(s) => Some(s.as_str().to_owned()),
        rcgen::DnValue::TeletexString(s) => Some(s.as_str().to_owned()),
        rcgen::DnValue::BmpString(_) | rcgen::DnValue::UniversalString(_) => None,
        _ => None,
    }
}

/// A device's identifiers as RFC 9039 URNs for a pump certificate's subject alternative
/// names: `urn:dev:mac:` with the MAC as EUI-64 (`fffe` inserted), and, when the serial
/// is known, `urn:dev:ops:OUI-PRODUCTCLASS-SERIAL` (the OUI from the MAC, the model as
/// product class), characters outside RFC 9039's unreserved set percent-encoded.
pub fn device_urns(mac: Option<[u8; 6]>, model: Option<&str>, serial: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(m) = mac else {
        return out;
    };
    out.push(format!(
        "urn:dev:mac:{:02x}{:02x}{:02x}fffe{:02x}{:02x}{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    ));
    if let Some(serial) = serial.filter(|s| !s.is_empty()) {
        let oui = format!("{:02X}{:02X}{:02X}", m[0], m[1], m[2]);
        let mut urn = format!("urn:dev:ops:{oui}-");
        if let Some(model) = model.filter(|s| !s.is_empty()) {
            urn.push_str(&urn_escape(model));
            urn.push('-');
        }
        urn.push_str(&urn_escape(serial));
        out.push(urn);
    }
    out
}

/// Percent-encodes all but letters, digits and `.`, `_`, `~` (RFC 9039 keeps `-` as the
/// separator of its parts, so it is encoded inside one).
fn urn_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 5280 revocation reasons by the names the CLI takes (`key-compromise`, …).
pub fn parse_reason(name: &str) -> Result<RevocationReason, PkiError> {
    Ok(match name {
        "unspecified" => RevocationReason::Unspecified,
        "key-compromise" => RevocationReason::KeyCompromise,
        "ca-compromise" => RevocationReason::CaCompromise,
        "affiliation-changed" => RevocationReason::AffiliationChanged,
        "superseded" => RevocationReason::Superseded,
        "cessation-of-operation" => RevocationReason::CessationOfOperation,
        "certificate-hold" => RevocationReason::CertificateHold,
        "privilege-withdrawn" => RevocationReason::PrivilegeWithdrawn,
        _ => {
            return Err(PkiError::Invalid(format!(
                "'{name}' is not a revocation reason (unspecified, key-compromise, ca-compromise, affiliation-changed, superseded, cessation-of-operation, certificate-hold, privilege-withdrawn)"
            )));
        }
    })
}

/// A revoked certificate, for the CRL.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub serial: Vec<u8>,
    pub revoked: OffsetDateTime,
    pub reason: RevocationReason,
}

/// A CRL of the issuing CA, signed by it, valid from `now` to `now + next_update_hours`.
pub fn crl(
    ca: &CaBundle,
    revoked: &[Revocation],
    crl_number: u64,
    now: OffsetDateTime,
    next_update_hours: i64,
) -> Result<String, PkiError> {
    if next_update_hours < 1 {
        return Err(PkiError::Invalid(
            "the next CRL update must be at least an hour away".into(),
        ));
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + Duration::hours(next_update_hours),
        crl_number: SerialNumber::from(crl_number),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|r| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&r.serial),
                revocation_time: r.revoked,
                reason_code: Some(r.reason),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let (key, cert) = issuing(ca)?;
    let issuer = Issuer::from_ca_cert_pem(&cert, &key).map_err(ca_err)?;
    params
        .signed_by(&issuer)
        .map_err(ca_err)?
        .pem()
        .map_err(ca_err)
}

/// Encrypts a PKCS#8 key (PEM) with a passphrase for storage: PBES2 with scrypt
/// (log₂N 14, r 8, p 1) and AES-256-CBC, as an `ENCRYPTED PRIVATE KEY` PEM that
/// `openssl pkey -passin` reads.
pub fn encrypt_key(key_pem: &str, passphrase: &str) -> Result<String, PkiError> {
    use pkcs8::der::pem::LineEnding;
    use pkcs8::der::{Decode, SecretDocument};

    if passphrase.is_empty() {
        return Err(PkiError::Invalid(
            "an empty passphrase protects nothing".into(),
        ));
    }
    let (label, doc) = SecretDocument::from_pem(key_pem)
        .map_err(|e| PkiError::Invalid(format!("the key is not PEM: {e}")))?;
    if label != "PRIVATE KEY" {
        return Err(PkiError::Invalid(format!(
            "expected a PKCS#8 PRIVATE KEY, not {label}"
        )));
    }
    let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("the key is not PKCS#8: {e}")))?;
    // scrypt with log₂N 14 (16 MiB), as `openssl pkcs8 -scrypt` makes it: pkcs8's
    // default (log₂N 15) needs more memory than openssl allows itself, and openssl
    // then refuses to open the key.
    use rand_core::RngCore;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut iv);
    let scrypt = pkcs8::pkcs5::scrypt::Params::new(14, 8, 1, 32)
        .map_err(|e| PkiError::Ca(format!("scrypt parameters: {e}")))?;
    let params = pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(scrypt, &salt, &iv)
        .map_err(|e| PkiError::Ca(format!("PBES2 parameters: {e}")))?;
    let encrypted = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| PkiError::Ca(format!("cannot encrypt the key: {e}")))?;
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| PkiError::Ca(format!("cannot write the key: {e}")))
}

/// The PKCS#8 key (PEM) inside an [`encrypt_key`] PEM; a wrong passphrase is an error.
pub fn decrypt_key(encrypted_pem: &str, passphrase: &str) -> Result<String, PkiError> {
    use pkcs8::der::SecretDocument;
    use pkcs8::der::pem::LineEnding;

    let (label, doc) = SecretDocument::from_pem(encrypted_pem)
        .map_err(|e| PkiError::Invalid(format!("the key is not PEM: {e}")))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(PkiError::Invalid(format!(
            "expected an ENCRYPTED PRIVATE KEY, not {label}"
        )));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("the key is not encrypted PKCS#8: {e}")))?;
    let key = info
        .decrypt(passphrase.as_bytes())
        .map_err(|_| PkiError::Invalid("the passphrase does not open the CA key".into()))?;
    key.to_pem("PRIVATE KEY", LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| PkiError::Ca(format!("cannot write the key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_urns_follow_rfc_9039() {
        let mac = Some([0x00, 0x24, 0xbe, 0x80, 0x4f, 0xf1]);
        assert_eq!(
            device_urns(mac, Some("Alaris 8015"), Some("A-1/2")),
            [
                "urn:dev:mac:0024befffe804ff1",
                "urn:dev:ops:0024BE-Alaris%208015-A%2D1%2F2"
            ]
        );
        assert_eq!(
            device_urns(mac, None, Some("7")),
            ["urn:dev:mac:0024befffe804ff1", "urn:dev:ops:0024BE-7"]
        );
        assert_eq!(
            device_urns(mac, Some("m"), None),
            ["urn:dev:mac:0024befffe804ff1"]
        );
        assert!(device_urns(None, Some("m"), Some("s")).is_empty());
    }
}
