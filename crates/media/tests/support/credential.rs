//! A local [`Credential`] for tests and benches: a fresh P-256 root CA and a leaf it issues with
//! the certificate profile our CA gives (subject `O`, digitalSignature, an EKU with C2PA
//! claimSigning, documentSigning and emailProtection, SKI/AKI), by default valid from a minute
//! ago to an hour from now and signing with no time stamp, so a file it signs reads as Trusted
//! against its root while the leaf is valid; or short-lived, with an in-process TSA, as a
//! keyless signing is.

use std::time::{Duration, SystemTime};

use sig_share_media::Credential;
use sig_share_pki::der::Encode;
use sig_share_pki::ext::{self, KeyUsages};
use sig_share_pki::x509_cert::name::Name;
use sig_share_pki::{CertificateParams, KeyAlgorithm, Signer, SoftwareKey};

/// id-kp-documentSigning (RFC 9336).
const DOCUMENT_SIGNING: &str = "1.3.6.1.5.5.7.3.36";
/// id-kp-emailProtection: what c2pa-python's bundled c2pa-rs accepts by default (our CA adds it).
const EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
/// C2PA claim signing.
const C2PA_CLAIM_SIGNING: &str = "1.3.6.1.4.1.62558.2.1";

/// A leaf key with its certificate, issued by a root made for it.
#[derive(Debug)]
pub struct LocalCredential {
    key: SoftwareKey,
    /// The leaf, DER (the root stays out of C2PA's x5chain).
    leaf: Vec<u8>,
    /// An in-process time-stamp authority, when the claims should carry time stamps.
    tsa: Option<sig_share_tsa::TimestampAuthority>,
}

impl LocalCredential {
    /// A fresh credential and its root certificate, PEM (the trust anchor to read with).
    pub fn new() -> (LocalCredential, String) {
        Self::build(Duration::from_secs(3600), false)
    }

    /// A credential whose leaf lives `lifetime` from now, like a keyless one, with a time stamp
    /// on every claim from an in-process TSA; the PEM holds both roots.
    #[allow(dead_code)]
    pub fn short_lived_with_time_stamps(lifetime: Duration) -> (LocalCredential, String) {
        Self::build(lifetime, true)
    }

    fn build(lifetime: Duration, time_stamps: bool) -> (LocalCredential, String) {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).expect("a P-256 key");
        let root_name: Name = "CN=bench root,O=sig-share bench".parse().expect("a distinguished name");
        let root = sig_share_pki::self_signed_ca(&root_key, root_name.clone(), now - hour, now + hour)
            .expect("a root certificate");

        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).expect("a P-256 key");
        let subject: Name = "O=sig-share bench".parse().expect("a distinguished name");
        let validity =
            sig_share_pki::validity(now - Duration::from_secs(60), now + lifetime).expect("a validity period");
        let mut params =
            CertificateParams::new(root_name, subject, key.public_key_der(), validity).expect("certificate fields");
        let eku = [DOCUMENT_SIGNING, EMAIL_PROTECTION, C2PA_CLAIM_SIGNING].map(|o| o.parse().expect("an OID"));
        params.extensions = vec![
            ext::key_usage(KeyUsages::DigitalSignature).expect("keyUsage"),
            ext::extended_key_usage(&eku, false).expect("extendedKeyUsage"),
            ext::subject_key_identifier(key.public_key_der()).expect("subjectKeyIdentifier"),
            ext::authority_key_identifier(root_key.public_key_der()).expect("authorityKeyIdentifier"),
        ];
        let leaf = sig_share_pki::issue(&params, &root_key).expect("the leaf certificate");
        let mut anchors = sig_share_pki::certificate_to_pem(&root);
        let tsa = time_stamps.then(|| {
            let tsa = sig_share_tsa::TimestampAuthority::generate_development(now - hour, now + hour).expect("a TSA");
            anchors.push_str(&sig_share_pki::certificate_to_pem(tsa.chain().last().expect("the TSA's root")));
            tsa
        });
        let credential = LocalCredential { key, leaf: leaf.to_der().expect("a certificate encodes"), tsa };
        (credential, anchors)
    }
}

impl Credential for LocalCredential {
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        self.key.sign(data).map_err(|e| e.to_string())
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.leaf.clone()]
    }

    fn time_stamp(&self, message: &[u8]) -> Option<Result<Vec<u8>, String>> {
        let tsa = self.tsa.as_ref()?;
        let digest = sig_share_pki::KeyAlgorithm::EcdsaP256Sha256.digest(message);
        let stamp = || -> Result<Vec<u8>, String> {
            let request = sig_share_tsa::asn1::TimeStampReq::over(&digest, None, true).map_err(|e| e.to_string())?;
            let der = sig_share_pki::der::Encode::to_der(&request).map_err(|e| e.to_string())?;
            match tsa.respond(&der, sig_share_tsa::RequestForm::Der, SystemTime::now()) {
                sig_share_tsa::Reply::Granted(response) => Ok(response),
                other => Err(format!("the TSA refused: {other:?}")),
            }
        };
        Some(stamp())
    }
}
