//! Building, signing and (de)serialising X.509 certificates.

use std::collections::HashSet;
use std::time::SystemTime;

use der::asn1::BitString;
use der::pem::LineEnding;
use der::{Decode, Encode, EncodePem, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::tbs::Tbs;
use crate::{KeyAlgorithm, PkiError, Signer};

/// The signature `AlgorithmIdentifier` for a key algorithm: ecdsa-with-SHA256 or -SHA384 with the
/// parameters absent, as RFC 5758 requires.
pub fn signature_algorithm(alg: KeyAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: alg.signature_oid(), parameters: None }
}

/// A random, positive certificate serial number of 159 bits.
///
/// 20 random bytes with the top bit cleared: the most entropy that still fits RFC 5280's 20-octet
/// limit once DER-encoded as a positive INTEGER (Fulcio draws below 2^159 for the same reason). A
/// value with the top bit set would need a leading zero byte, 21 octets, which strict parsers
/// (Go's among them) refuse.
///
/// # Panics
/// If the operating system's random number generator fails: no certificate may be issued
/// without an unpredictable serial.
pub fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 20];
    loop {
        aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator works");
        bytes[0] &= 0x7f;
        // A leading zero byte would shorten the encoding: redraw rather than bias the value.
        if bytes[0] != 0 {
            break;
        }
    }
    SerialNumber::new(&bytes).expect("20 bytes with a clear top bit are a valid serial number")
}

/// A certificate validity period from two instants, encoded as RFC 5280 requires (UTCTime through
/// 2049, GeneralizedTime after). Sub-second parts are truncated.
pub fn validity(not_before: SystemTime, not_after: SystemTime) -> Result<Validity, PkiError> {
    if not_after <= not_before {
        return Err(PkiError::Invalid("notAfter must be later than notBefore".into()));
    }
    let convert = |t: SystemTime| {
        Time::try_from(t).map_err(|e| PkiError::Invalid(format!("time not representable in a certificate: {e}")))
    };
    Ok(Validity::new(convert(not_before)?, convert(not_after)?))
}

/// Everything in a `TBSCertificate` that differs between certificates. The version (v3), the
/// signature algorithm (from the signer) and the absence of unique identifiers are fixed.
///
/// x509-cert 0.3 keeps `TbsCertificate`'s fields private; this struct is how the CA and TSA say
/// what to issue, and [`CertificateParams::from_tbs`] takes an existing one apart (a CT
/// precertificate and its final certificate differ only in extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateParams {
    pub serial_number: SerialNumber,
    pub issuer: Name,
    pub subject: Name,
    pub validity: Validity,
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    /// In the order they will appear. Each OID at most once (RFC 5280 4.2).
    pub extensions: Vec<Extension>,
}

impl CertificateParams {
    /// Parameters with a fresh [`random_serial`], the subject key from its DER
    /// `SubjectPublicKeyInfo`, and no extensions yet.
    pub fn new(issuer: Name, subject: Name, subject_spki_der: &[u8], validity: Validity) -> Result<Self, PkiError> {
        Ok(Self {
            serial_number: random_serial(),
            issuer,
            subject,
            validity,
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(subject_spki_der)?,
            extensions: Vec::new(),
        })
    }

    /// The parameters of an existing certificate body.
    pub fn from_tbs(tbs: &TbsCertificate) -> Self {
        Self {
            serial_number: tbs.serial_number().clone(),
            issuer: tbs.issuer().clone(),
            subject: tbs.subject().clone(),
            validity: *tbs.validity(),
            subject_public_key_info: tbs.subject_public_key_info().clone(),
            extensions: tbs.extensions().cloned().unwrap_or_default(),
        }
    }
}

/// `Certificate` field by field (x509-cert 0.3 has no public constructor without its `builder`
/// feature, which would tie signing to the RustCrypto `signature` traits instead of [`Signer`]).
#[derive(Sequence)]
struct CertificateFields {
    tbs_certificate: TbsCertificate,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// Builds the `TBSCertificate` (v3) that a key of type `alg` will sign.
///
/// Refuses duplicate extensions and serial numbers that are not positive or longer than 20
/// octets, which RFC 5280 forbids and verifiers reject.
pub fn build_tbs(params: &CertificateParams, alg: KeyAlgorithm) -> Result<TbsCertificate, PkiError> {
    let mut seen = HashSet::new();
    if let Some(dup) = params.extensions.iter().find(|e| !seen.insert(e.extn_id)) {
        return Err(PkiError::Invalid(format!("extension {} appears twice", dup.extn_id)));
    }
    let serial = params.serial_number.as_bytes();
    if serial.is_empty() || serial.len() > 20 || serial[0] & 0x80 != 0 || serial.iter().all(|b| *b == 0) {
        return Err(PkiError::Invalid("serial number must be positive and at most 20 octets".into()));
    }
    let fields = Tbs {
        version: Version::V3,
        serial_number: params.serial_number.clone(),
        signature: signature_algorithm(alg),
        issuer: params.issuer.clone(),
        validity: params.validity,
        subject: params.subject.clone(),
        subject_public_key_info: params.subject_public_key_info.clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: (!params.extensions.is_empty()).then(|| params.extensions.clone()),
    };
    Ok(TbsCertificate::from_der(&fields.to_der()?)?)
}

/// Signs `tbs` with `signer` and assembles the certificate.
///
/// `tbs`'s signature algorithm must be the signer's ([`signature_algorithm`]): a certificate
/// whose inner and outer algorithms disagree is invalid.
pub fn sign_certificate(tbs: TbsCertificate, signer: &dyn Signer) -> Result<Certificate, PkiError> {
    let expected = signature_algorithm(signer.algorithm());
    if tbs.signature() != &expected {
        return Err(PkiError::Mismatch(format!(
            "the TBS certificate names signature algorithm {} but the signer uses {}",
            tbs.signature().oid,
            expected.oid
        )));
    }
    let signature = signer.sign(&tbs.to_der()?)?;
    let fields = CertificateFields {
        tbs_certificate: tbs,
        signature_algorithm: expected,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(Certificate::from_der(&fields.to_der()?)?)
}

/// [`build_tbs`] then [`sign_certificate`]: issues `params` with `issuer_signer`'s key.
pub fn issue(params: &CertificateParams, issuer_signer: &dyn Signer) -> Result<Certificate, PkiError> {
    sign_certificate(build_tbs(params, issuer_signer.algorithm())?, issuer_signer)
}

/// Checks that `signer` holds the key certified by `cert`, so a CA or TSA configured with a key
/// and a certificate that do not belong together fails at start rather than issuing unverifiable
/// output.
pub fn ensure_key_matches(cert: &Certificate, signer: &dyn Signer) -> Result<(), PkiError> {
    if cert.tbs_certificate().subject_public_key_info().to_der()? == signer.public_key_der() {
        Ok(())
    } else {
        Err(PkiError::Mismatch(format!(
            "the signing key is not the key of certificate {}",
            cert.tbs_certificate().subject()
        )))
    }
}

/// A self-signed root CA certificate for `signer`'s key: basicConstraints CA:TRUE (critical, no
/// path length limit), keyUsage keyCertSign + cRLSign (critical), and a subjectKeyIdentifier so
/// the certificates it issues can name it in their authorityKeyIdentifier.
pub fn self_signed_ca(
    signer: &dyn Signer,
    subject: Name,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<Certificate, PkiError> {
    let mut params =
        CertificateParams::new(subject.clone(), subject, signer.public_key_der(), validity(not_before, not_after)?)?;
    params.extensions = vec![
        crate::ext::basic_constraints(true, None)?,
        crate::ext::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
        crate::ext::subject_key_identifier(signer.public_key_der())?,
    ];
    issue(&params, signer)
}

/// An intermediate CA certificate for `subject_spki_der`, issued by `issuer` with
/// `issuer_signer`: CA:TRUE with `path_len` (critical), keyCertSign + cRLSign (critical), SKI and
/// AKI. Refuses an issuer key that does not match the issuer certificate.
pub fn issue_intermediate(
    issuer: &Certificate,
    issuer_signer: &dyn Signer,
    subject: Name,
    subject_spki_der: &[u8],
    not_before: SystemTime,
    not_after: SystemTime,
    path_len: Option<u8>,
) -> Result<Certificate, PkiError> {
    ensure_key_matches(issuer, issuer_signer)?;
    let issuer_name = issuer.tbs_certificate().subject().clone();
    let mut params = CertificateParams::new(issuer_name, subject, subject_spki_der, validity(not_before, not_after)?)?;
    params.extensions = vec![
        crate::ext::basic_constraints(true, path_len)?,
        crate::ext::key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)?,
        crate::ext::subject_key_identifier(subject_spki_der)?,
        crate::ext::authority_key_identifier(issuer_signer.public_key_der())?,
    ];
    issue(&params, issuer_signer)
}

/// The key identifier of a public key: RFC 5280 4.2.1.2 method (1), the SHA-1 of the
/// `subjectPublicKey` BIT STRING's bytes.
///
/// SHA-1 rather than truncated SHA-256 because it is what Go's crypto/x509 (so Fulcio and
/// sigstore's TSA), OpenSSL's `subjectKeyIdentifier=hash` and x509-cert's builder all compute:
/// the identifiers then agree with any certificate those tools issue for the same key. It is an
/// identifier, not a security boundary; collisions only cost a path builder an extra try.
pub fn key_id(spki_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)?;
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, spki.subject_public_key.raw_bytes());
    Ok(digest.as_ref().to_vec())
}

/// One certificate as PEM (`-----BEGIN CERTIFICATE-----`, LF line endings).
///
/// # Panics
/// Only if the certificate cannot be re-encoded, which cannot happen for one that was decoded or
/// built by this crate (every x509-cert value re-encodes to the DER it came from).
pub fn certificate_to_pem(cert: &Certificate) -> String {
    cert.to_pem(LineEnding::LF).expect("a decoded certificate re-encodes")
}

/// Certificates as concatenated PEM, in the order given (leaf first for a chain, as Fulcio's and
/// the TSA's `certchain` endpoints serve it).
pub fn chain_to_pem(chain: &[Certificate]) -> String {
    chain.iter().map(certificate_to_pem).collect()
}

/// Every `CERTIFICATE` block in `pem`, in order. Text outside the blocks is ignored (as OpenSSL
/// does), and so are line lengths and CRLF (issue 14 #4); another kind of PEM block (a key, a
/// CSR) is an error, and so is input with none. Each certificate is strict DER.
pub fn chain_from_pem(pem: &str) -> Result<Vec<Certificate>, PkiError> {
    let ders = sig_share_pem::all(pem, "CERTIFICATE").map_err(|e| PkiError::Pem(e.to_string()))?;
    ders.iter()
        .enumerate()
        .map(|(i, der)| Certificate::from_der(der).map_err(|e| PkiError::Pem(format!("certificate {i}: {e}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::{Duration, UNIX_EPOCH};

    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};

    use super::*;
    use crate::SoftwareKey;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn serials_are_positive_twenty_octets_at_most_and_differ() {
        let a = random_serial();
        let b = random_serial();
        assert_ne!(a, b);
        for s in [&a, &b] {
            let der = s.to_der().unwrap();
            // INTEGER tag, length <= 20, no sign bit.
            assert_eq!(der[0], 0x02);
            assert!(der[1] as usize <= 20 && der[1] >= 19, "{der:02x?}");
            assert_eq!(der[2] & 0x80, 0);
        }
    }

    #[test]
    fn validity_checks_order_and_uses_utctime_before_2050() {
        assert!(validity(t(100), t(100)).is_err());
        let v = validity(t(1_700_000_000), t(2_600_000_000)).unwrap();
        assert!(matches!(v.not_before, Time::UtcTime(_)));
        assert!(matches!(v.not_after, Time::GeneralTime(_))); // 2052
    }

    #[test]
    fn self_signed_ca_has_the_ca_extensions_and_verifies() {
        for alg in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
            let key = SoftwareKey::generate(alg).unwrap();
            let name = Name::from_str("CN=test root,O=sig-share").unwrap();
            let ca = self_signed_ca(&key, name.clone(), t(1_700_000_000), t(1_800_000_000)).unwrap();
            let tbs = ca.tbs_certificate();
            assert_eq!(tbs.subject(), &name);
            assert_eq!(tbs.issuer(), &name);
            assert_eq!(tbs.version(), Version::V3);
            let (crit, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
            assert!(crit && bc.ca && bc.path_len_constraint.is_none());
            let (crit, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
            assert!(crit && ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
            let (crit, ski) = tbs.get_extension::<SubjectKeyIdentifier>().unwrap().unwrap();
            assert!(!crit);
            assert_eq!(ski.0.as_bytes(), key_id(key.public_key_der()).unwrap());
            // The signature is over the TBS DER and verifies with the CA's own key.
            crate::verify_signature(
                key.public_key_der(),
                &tbs.to_der().unwrap(),
                ca.signature().raw_bytes(),
                ca.signature_algorithm(),
            )
            .unwrap();
            // PEM round trip gives the same certificate.
            let pem = certificate_to_pem(&ca);
            assert_eq!(chain_from_pem(&pem).unwrap(), vec![ca.clone()]);
            ensure_key_matches(&ca, &key).unwrap();
        }
    }

    #[test]
    fn intermediate_names_its_issuer_and_refuses_the_wrong_key() {
        let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap();
        let root = self_signed_ca(&root_key, Name::from_str("CN=root").unwrap(), t(1_000), t(9_000_000)).unwrap();
        let int_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let sub = Name::from_str("CN=intermediate").unwrap();
        let int =
            issue_intermediate(&root, &root_key, sub.clone(), int_key.public_key_der(), t(2_000), t(8_000), Some(0))
                .unwrap();
        let tbs = int.tbs_certificate();
        assert_eq!(tbs.issuer(), root.tbs_certificate().subject());
        assert_eq!(tbs.signature(), &signature_algorithm(KeyAlgorithm::EcdsaP384Sha384));
        let (_, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
        assert_eq!(bc.path_len_constraint, Some(0));
        let (crit, aki) = tbs.get_extension::<AuthorityKeyIdentifier>().unwrap().unwrap();
        assert!(!crit);
        assert_eq!(aki.key_identifier.unwrap().as_bytes(), key_id(root_key.public_key_der()).unwrap());
        crate::verify_signature(
            root_key.public_key_der(),
            &tbs.to_der().unwrap(),
            int.signature().raw_bytes(),
            int.signature_algorithm(),
        )
        .unwrap();
        // Signing with a key that is not the issuer certificate's is refused.
        let err = issue_intermediate(&root, &int_key, sub, int_key.public_key_der(), t(2_000), t(8_000), None);
        assert!(matches!(err, Err(PkiError::Mismatch(_))));
        // Chains keep their order through PEM.
        let chain = vec![int.clone(), root.clone()];
        assert_eq!(chain_from_pem(&chain_to_pem(&chain)).unwrap(), chain);
    }

    #[test]
    fn build_tbs_refuses_duplicates_and_sign_refuses_algorithm_mismatch() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let name = Name::from_str("CN=x").unwrap();
        let mut params =
            CertificateParams::new(name.clone(), name, key.public_key_der(), validity(t(10), t(20)).unwrap()).unwrap();
        params.extensions = vec![
            crate::ext::basic_constraints(false, None).unwrap(),
            crate::ext::basic_constraints(true, None).unwrap(),
        ];
        assert!(matches!(build_tbs(&params, key.algorithm()), Err(PkiError::Invalid(_))));
        params.extensions.pop();
        let tbs = build_tbs(&params, KeyAlgorithm::EcdsaP384Sha384).unwrap();
        assert!(matches!(sign_certificate(tbs, &key), Err(PkiError::Mismatch(_))));
        // from_tbs takes a body apart into the same parameters.
        let tbs = build_tbs(&params, key.algorithm()).unwrap();
        assert_eq!(CertificateParams::from_tbs(&tbs), params);
        params.serial_number = SerialNumber::new(&[0]).unwrap();
        assert!(matches!(build_tbs(&params, key.algorithm()), Err(PkiError::Invalid(_))));
    }

    #[test]
    fn chain_from_pem_ignores_text_and_refuses_keys_and_nothing() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let ca = self_signed_ca(&key, Name::from_str("CN=r").unwrap(), t(10), t(20)).unwrap();
        let with_text = format!("subject=CN=r\n{}\ntrailing\n", certificate_to_pem(&ca));
        assert_eq!(chain_from_pem(&with_text).unwrap(), vec![ca.clone()]);
        assert!(matches!(chain_from_pem(""), Err(PkiError::Pem(_))));
        let with_key = format!("{}{}", certificate_to_pem(&ca), key.to_pkcs8_pem());
        assert!(matches!(chain_from_pem(&with_key), Err(PkiError::Pem(m)) if m.contains("PRIVATE KEY")));
        let truncated = &certificate_to_pem(&ca)[..100];
        assert!(chain_from_pem(truncated).is_err());
    }

    #[test]
    fn key_id_is_sha1_of_the_key_bits() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let spki = SubjectPublicKeyInfoRef::from_der(key.public_key_der()).unwrap();
        let expected = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            spki.subject_public_key.raw_bytes(),
        );
        assert_eq!(key_id(key.public_key_der()).unwrap(), expected.as_ref());
        assert_eq!(key_id(key.public_key_der()).unwrap().len(), 20);
        assert!(key_id(b"junk").is_err());
    }
}
