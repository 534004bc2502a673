//! Signing keys: the [`Signer`] interface and the software implementation.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::pem::LineEnding;
use zeroize::Zeroizing;

use crate::PkiError;

/// The key types sig-share signs with. ECDSA only: it is what Fulcio and sigstore's TSA use, every
/// sigstore client verifies it, and C2PA accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384Sha384,
}

impl KeyAlgorithm {
    /// The signature algorithm OID (ecdsa-with-SHA256 / ecdsa-with-SHA384).
    pub fn signature_oid(self) -> ObjectIdentifier {
        match self {
            Self::EcdsaP256Sha256 => rfc5912::ECDSA_WITH_SHA_256,
            Self::EcdsaP384Sha384 => rfc5912::ECDSA_WITH_SHA_384,
        }
    }

    /// The OID of the hash this algorithm signs with (id-sha256 / id-sha384), for CMS
    /// `digestAlgorithm` fields.
    pub fn digest_oid(self) -> ObjectIdentifier {
        match self {
            Self::EcdsaP256Sha256 => rfc5912::ID_SHA_256,
            Self::EcdsaP384Sha384 => rfc5912::ID_SHA_384,
        }
    }

    /// The named curve's OID, as it appears in the SubjectPublicKeyInfo parameters.
    pub fn curve_oid(self) -> ObjectIdentifier {
        match self {
            Self::EcdsaP256Sha256 => rfc5912::SECP_256_R_1,
            Self::EcdsaP384Sha384 => rfc5912::SECP_384_R_1,
        }
    }

    /// Hashes `data` with this algorithm's hash: what a CMS `messageDigest` attribute holds when
    /// signing with this key.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::EcdsaP256Sha256 => &aws_lc_rs::digest::SHA256,
            Self::EcdsaP384Sha384 => &aws_lc_rs::digest::SHA384,
        };
        aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
    }

    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::EcdsaP384Sha384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }
}

/// Something that signs with a private key the caller never sees.
///
/// The CA, the TSA and the certificate log sign through this trait so the key can live in
/// software today and in a KMS or HSM later. `Debug` is required so services holding a signer
/// can derive it; implementations must never print secret material.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The key type, which also fixes the hash and signature algorithm.
    fn algorithm(&self) -> KeyAlgorithm;

    /// The public key as a DER `SubjectPublicKeyInfo`.
    fn public_key_der(&self) -> &[u8];

    /// Signs `message` (hashing it inside with the algorithm's hash) and returns the ASN.1 DER
    /// `ECDSA-Sig-Value`, the form X.509, CMS and sigstore bundles carry.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError>;

    /// Signs a digest the caller computed with the algorithm's hash (ECDSA prehash), DER, as
    /// [`sign`](Self::sign) answers: how a large file's signature is made without holding it.
    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, PkiError>;
}

/// An ECDSA key held in process memory (aws-lc-rs).
pub struct SoftwareKey {
    pair: EcdsaKeyPair,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
}

impl SoftwareKey {
    /// Generates a fresh key from the system's random number generator.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self, PkiError> {
        let pair = EcdsaKeyPair::generate(alg.signing()).map_err(|_| PkiError::Key("key generation failed".into()))?;
        Self::from_pair(pair, alg)
    }

    /// Loads a PKCS#8 `PrivateKeyInfo` DER, detecting whether it is a P-256 or P-384 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PkiError> {
        for alg in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(alg.signing(), der) {
                return Self::from_pair(pair, alg);
            }
        }
        Err(PkiError::Key("not a PKCS#8 ECDSA P-256 or P-384 private key".into()))
    }

    /// Loads a PEM `PRIVATE KEY` (PKCS#8), as written by [`SoftwareKey::to_pkcs8_pem`] or
    /// `openssl genpkey`.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, PkiError> {
        // Any line length, CRLF, text around (issue 14 #4); the label must be PKCS#8's.
        let block = sig_share_pem::first(pem, &["PRIVATE KEY"]).map_err(|e| PkiError::Pem(format!("{e} (PKCS#8)")))?;
        let der = Zeroizing::new(block.der);
        Self::from_pkcs8_der(&der)
    }

    /// The private key as PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), for storing it at rest.
    ///
    /// The intermediate DER is wiped; the returned string is the caller's to protect.
    ///
    /// # Panics
    /// Only if aws-lc-rs cannot serialise a key it holds (an allocation failure): there is no
    /// input that leads there.
    pub fn to_pkcs8_pem(&self) -> String {
        // aws-lc-rs's Document zeroes itself on drop.
        let doc = self.pair.to_pkcs8v1().expect("aws-lc-rs serialises the keys it holds");
        der::pem::encode_string("PRIVATE KEY", LineEnding::LF, doc.as_ref())
            .expect("a PKCS#8 ECDSA key is far below PEM's size limits")
    }

    /// Signs a digest the caller computed (ECDSA prehash): a signer that streams a large file
    /// through the hash never holds the file. The digest must be the algorithm's (SHA-256 for
    /// P-256, SHA-384 for P-384); the answer is a DER `ECDSA-Sig-Value`.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, PkiError> {
        use aws_lc_rs::digest::{Digest, SHA256, SHA384};
        let hash = match self.algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => &SHA256,
            KeyAlgorithm::EcdsaP384Sha384 => &SHA384,
        };
        let digest = Digest::import_less_safe(digest, hash).map_err(|_| {
            PkiError::Signing(format!("a {:?} key signs {}-byte digests", self.algorithm, hash.output_len()))
        })?;
        let sig = self.pair.sign_digest(&digest).map_err(|_| PkiError::Signing("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }

    fn from_pair(pair: EcdsaKeyPair, algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        let spki: PublicKeyX509Der<'static> =
            pair.public_key().as_der().map_err(|_| PkiError::Key("cannot encode the public key".into()))?;
        Ok(Self { spki: spki.as_ref().to_vec(), pair, algorithm })
    }
}

impl std::fmt::Debug for SoftwareKey {
    /// Prints the algorithm and the public key's identifier, never the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = crate::key_id(&self.spki).map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>());
        f.debug_struct("SoftwareKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &id.unwrap_or_default())
            .finish_non_exhaustive()
    }
}

impl Signer for SoftwareKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let sig = self
            .pair
            .sign(&SystemRandom::new(), message)
            .map_err(|_| PkiError::Signing("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, PkiError> {
        self.sign_digest(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_signature_verifies_as_a_signature_over_the_message() {
        use aws_lc_rs::digest;
        for (alg, hash) in
            [(KeyAlgorithm::EcdsaP256Sha256, &digest::SHA256), (KeyAlgorithm::EcdsaP384Sha384, &digest::SHA384)]
        {
            let key = SoftwareKey::generate(alg).unwrap();
            let sig = key.sign_digest(digest::digest(hash, b"an artifact").as_ref()).unwrap();
            let sig_alg = crate::signature_algorithm(alg);
            crate::verify_signature(key.public_key_der(), b"an artifact", &sig, &sig_alg).unwrap();
            assert!(crate::verify_signature(key.public_key_der(), b"another", &sig, &sig_alg).is_err());
            // A digest of the wrong length is refused, not truncated.
            assert!(key.sign_digest(&[0; 20]).is_err());
        }
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        for alg in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
            let key = SoftwareKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
            let back = SoftwareKey::from_pkcs8_pem(&pem).unwrap();
            assert_eq!(back.algorithm(), alg);
            assert_eq!(back.public_key_der(), key.public_key_der());
            // The reloaded key signs for the same public key.
            let sig = back.sign(b"round trip").unwrap();
            let alg_id = crate::signature_algorithm(alg);
            crate::verify_signature(key.public_key_der(), b"round trip", &sig, &alg_id).unwrap();
        }
    }

    #[test]
    fn wrong_pem_label_and_garbage_are_refused() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let pem = key.to_pkcs8_pem().replace("PRIVATE KEY", "PUBLIC KEY");
        assert!(matches!(SoftwareKey::from_pkcs8_pem(&pem), Err(PkiError::Pem(_))));
        assert!(SoftwareKey::from_pkcs8_pem("not pem").is_err());
        assert!(matches!(SoftwareKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00"), Err(PkiError::Key(_))));
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let debug = format!("{key:?}");
        let pem = key.to_pkcs8_pem();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(debug.contains("EcdsaP256Sha256") && debug.contains("key_id"), "{debug}");
        assert!(!debug.contains(&body[..16]), "{debug}");
    }

    #[test]
    fn digest_matches_the_algorithm() {
        assert_eq!(KeyAlgorithm::EcdsaP256Sha256.digest(b"abc").len(), 32);
        assert_eq!(KeyAlgorithm::EcdsaP384Sha384.digest(b"abc").len(), 48);
    }
}
