//! The certificates the ward's TLS servers present: real X.509 DER made with `rcgen`,
//! generated once per run (never per connection) and decided by the seed.
//!
//! The hospital runs a two-level private PKI: a root CA (never sent on the wire) and an
//! issuing CA that signs the servers' certificates; servers send their leaf and the
//! issuing CA. Keys are Ed25519, built from 32-byte seeds drawn from the simulator's
//! [`Rng`]: Ed25519 signatures are deterministic (RFC 8032), so the same seed gives the
//! same bytes. Validity dates and serial numbers derive from [`START_S`] and the seed,
//! never from the clock.
//!
//! A pump's embedded web console is the exception: an old stack with a vendor factory
//! RSA key (the same in every unit, as such keys often are) and a self-signed
//! certificate. That key is a fixed file made with openssl for this simulator
//! (`keys/pump-web-console-rsa2048.pk8`); RSA PKCS#1 v1.5 signatures are deterministic
//! too. Nothing trusts any of these keys.

use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ED25519, PKCS_RSA_SHA256,
    SerialNumber,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::OffsetDateTime;

use crate::rng::Rng;
use crate::ward::START_S;

const DAY_S: u64 = 86_400;

/// The web-console factory key (PKCS#8 DER, RSA 2048).
const WEB_CONSOLE_KEY: &[u8] = include_bytes!("../keys/pump-web-console-rsa2048.pk8");

/// A certificate chain as a server sends it: leaf first, DER.
pub type Chain = Vec<Vec<u8>>;

/// What a certificate says about whom, from when to when (days relative to the
/// capture start).
#[derive(Debug, Clone, Copy)]
pub struct Leaf<'a> {
    pub common_name: &'a str,
    /// DNS name in subjectAltName.
    pub dns_name: &'a str,
    /// Days before the capture start that the certificate became valid.
    pub valid_since_days: u64,
    /// Days it is valid for.
    pub lifetime_days: u64,
}

/// The hospital's issuing CA, able to sign server certificates.
#[derive(Debug)]
pub struct HospitalCa {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

/// A failure of certificate generation (only a bug can cause one: keys and names are
/// ours).
pub type Error = rcgen::Error;

/// The instant `days_before` days before the capture start (negative: after).
fn day(days_before: i64) -> OffsetDateTime {
    let s = START_S as i64 - days_before * DAY_S as i64;
    OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A PKCS#8 v1 (RFC 5208, RFC 8410 §7) wrapper around an Ed25519 private key seed:
/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }`.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

fn ed25519_key(rng: &mut Rng) -> Result<KeyPair, Error> {
    let mut seed = [0u8; 32];
    rng.fill(&mut seed);
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(ed25519_pkcs8(&seed)),
        &PKCS_ED25519,
    )
}

/// A positive 16-byte serial number (RFC 5280 §4.1.2.2: at most 20 octets).
fn serial(rng: &mut Rng) -> SerialNumber {
    let mut s = [0u8; 16];
    rng.fill(&mut s);
    s[0] &= 0x7f;
    s[0] |= 0x10;
    SerialNumber::from_slice(&s)
}

/// A distinguished name; countryName is a PrintableString (X.520, RFC 5280 §A.1), the
/// rest UTF8String.
fn name(pairs: &[(DnType, &str)]) -> Result<DistinguishedName, Error> {
    let mut dn = DistinguishedName::new();
    for (ty, value) in pairs {
        if *ty == DnType::CountryName {
            dn.push(
                ty.clone(),
                DnValue::PrintableString(PrintableString::try_from(*value)?),
            );
        } else {
            dn.push(ty.clone(), *value);
        }
    }
    Ok(dn)
}

const HOSPITAL: &str = "Example General Hospital";

impl HospitalCa {
    /// The root CA and, under it, the issuing CA.
    pub fn new(rng: &mut Rng) -> Result<HospitalCa, Error> {
        let root_key = ed25519_key(rng)?;
        let mut root = CertificateParams::default();
        root.distinguished_name = name(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, HOSPITAL),
            (DnType::CommonName, "Example General Hospital Root CA"),
        ])?;
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.not_before = day(3 * 365 + 40);
        root.not_after = day(3 * 365 + 40 - 20 * 365);
        root.serial_number = Some(serial(rng));
        let root_issuer = Issuer::new(root, root_key);

        let key = ed25519_key(rng)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, HOSPITAL),
            (
                DnType::CommonName,
                "Example General Hospital Device Issuing CA 1",
            ),
        ])?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.use_authority_key_identifier_extension = true;
        params.not_before = day(2 * 365 + 10);
        params.not_after = day(2 * 365 + 10 - 8 * 365);
        params.serial_number = Some(serial(rng));
        let der = params.signed_by(&key, &root_issuer)?.der().to_vec();
        Ok(HospitalCa { params, key, der })
    }

    /// A TLS server certificate for `leaf`, with a fresh key; returns the chain the
    /// server sends (leaf, issuing CA).
    pub fn server_chain(&self, rng: &mut Rng, leaf: &Leaf<'_>) -> Result<Chain, Error> {
        let key = ed25519_key(rng)?;
        let mut params = CertificateParams::new(vec![leaf.dns_name.to_owned()])?;
        params.distinguished_name = name(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, HOSPITAL),
            (DnType::OrganizationalUnitName, "Biomedical Engineering"),
            (DnType::CommonName, leaf.common_name),
        ])?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let since = leaf.valid_since_days as i64;
        params.not_before = day(since);
        params.not_after = day(since - leaf.lifetime_days as i64);
        params.serial_number = Some(serial(rng));
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(vec![cert.der().to_vec(), self.der.clone()])
    }
}

/// The self-signed certificate of a pump family's embedded web console, made with the
/// vendor's factory RSA key: issuer and subject are the same name.
pub fn web_console_certificate(vendor: &str, model: &str) -> Result<Vec<u8>, Error> {
    let key = KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(WEB_CONSOLE_KEY),
        &PKCS_RSA_SHA256,
    )?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&[
        (DnType::OrganizationName, vendor),
        (DnType::CommonName, model),
    ])?;
    // Valid from the firmware's build for 20 years, as factory certificates are.
    params.not_before = rcgen::date_time_ymd(2016, 3, 1);
    params.not_after = rcgen::date_time_ymd(2036, 2, 26);
    params.serial_number = Some(SerialNumber::from_slice(&[0x01]));
    Ok(params.self_signed(&key)?.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_decides_the_certificates() {
        let leaf = Leaf {
            common_name: "srv.example",
            dns_name: "srv.example",
            valid_since_days: 30,
            lifetime_days: 365,
        };
        let chain = |seed| {
            let mut rng = Rng::new(seed);
            let ca = HospitalCa::new(&mut rng).expect("ca");
            ca.server_chain(&mut rng, &leaf).expect("chain")
        };
        assert_eq!(chain(7), chain(7));
        assert_ne!(chain(7), chain(8));
        assert_eq!(chain(7).len(), 2);
    }

    #[test]
    fn the_web_console_certificate_is_the_same_every_time() {
        let a = web_console_certificate("B. Braun", "SpaceCom").expect("cert");
        let b = web_console_certificate("B. Braun", "SpaceCom").expect("cert");
        assert_eq!(a, b);
        assert_eq!(a[0], 0x30);
    }
}
