//! Public keys and signature checks, in pure Rust (RustCrypto) so the verifier builds for wasm32.
//!
//! Sigstore meets three key types: ECDSA P-256 (Fulcio clients, CT logs, Rekor v1), ECDSA P-384
//! (the public-good Fulcio and TSA chains) and Ed25519 (Rekor v2 logs, some clients). ECDSA
//! signatures are DER (`Ecdsa-Sig-Value`), as X.509, CMS and sigstore's hashedrekord carry them.
//! Ed25519 is checked strictly (no small-order keys, canonical `s`), as a verifier should.

use der::Decode;
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoRef;

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key this verifier cannot use.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// A key that does not parse.
    #[error("malformed public key: {0}")]
    MalformedKey(String),
    /// A signature algorithm this verifier does not check.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The algorithm does not fit the key.
    #[error("signature algorithm {algorithm} does not fit a {key} key")]
    Mismatch {
        /// The algorithm.
        algorithm: String,
        /// The key type.
        key: &'static str,
    },
    /// The signature does not verify (or does not parse).
    #[error("the signature does not verify")]
    BadSignature,
}

/// A digest algorithm a signature may be made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The digest's length in bytes.
    pub fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Always false: a digest is never empty (for clippy's `len_without_is_empty`).
    pub fn is_empty(self) -> bool {
        false
    }

    /// The algorithm a sigstore `HashAlgorithm` name (`SHA2_256`, …) denotes.
    pub fn from_sigstore(name: &str) -> Option<HashAlgorithm> {
        match name {
            "SHA2_256" => Some(HashAlgorithm::Sha256),
            "SHA2_384" => Some(HashAlgorithm::Sha384),
            "SHA2_512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The algorithm an OID (`id-sha256`, …) denotes.
    pub fn from_oid(oid: &der::asn1::ObjectIdentifier) -> Option<HashAlgorithm> {
        use const_oid::db::rfc5912;
        match *oid {
            rfc5912::ID_SHA_256 => Some(HashAlgorithm::Sha256),
            rfc5912::ID_SHA_384 => Some(HashAlgorithm::Sha384),
            rfc5912::ID_SHA_512 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// A public key that can check signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA on NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA on NIST P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// RSA (PKCS#1 v1.5 signatures), 2048 to 8192 bits: some CAs and TSAs sign with it.
    Rsa(Box<rsa::PublicKey>),
}

/// RSA key sizes accepted: below is breakable, above only costs the verifier time.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, CryptoError> {
        use const_oid::db::{rfc5912, rfc8410};
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| CryptoError::MalformedKey(e.to_string()))?;
        let malformed = |e: &dyn std::fmt::Display| CryptoError::MalformedKey(e.to_string());
        match spki.algorithm.oid {
            rfc5912::ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                    .ok_or_else(|| CryptoError::MalformedKey("an EC key without a named curve".into()))?;
                match curve {
                    rfc5912::SECP_256_R_1 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(PublicKey::P256)
                        .map_err(|e| malformed(&e)),
                    rfc5912::SECP_384_R_1 => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(PublicKey::P384)
                        .map_err(|e| malformed(&e)),
                    other => Err(CryptoError::UnsupportedKey(format!("EC curve {other}"))),
                }
            }
            rfc8410::ID_ED_25519 => {
                let raw: [u8; 32] = spki
                    .subject_public_key
                    .as_bytes()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| CryptoError::MalformedKey("an Ed25519 key is 32 bytes".into()))?;
                ed25519_dalek::VerifyingKey::from_bytes(&raw).map(PublicKey::Ed25519).map_err(|e| malformed(&e))
            }
            rfc5912::RSA_ENCRYPTION => {
                use rsa::traits::PublicKeyParts;
                let key = rsa::PublicKey::from_public_key_der(der).map_err(|e| malformed(&e))?;
                let bits = key.size() * 8;
                if !RSA_BITS.contains(&bits) {
                    return Err(CryptoError::UnsupportedKey(format!("a {bits}-bit RSA key")));
                }
                Ok(PublicKey::Rsa(Box::new(key)))
            }
            other => Err(CryptoError::UnsupportedKey(format!("algorithm {other}"))),
        }
    }

    /// Reads a PEM `PUBLIC KEY`.
    pub fn from_pem(text: &str) -> Result<PublicKey, CryptoError> {
        PublicKey::from_spki_der(&public_key_der(text)?)
    }

    /// A short name of the key type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "ECDSA P-256",
            PublicKey::P384(_) => "ECDSA P-384",
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Rsa(_) => "RSA",
        }
    }

    /// Checks `signature` over `message`: ECDSA over the message's `hash`, Ed25519 over the
    /// message itself (`hash` is then ignored: Ed25519 hashes internally).
    pub fn verify(&self, message: &[u8], signature: &[u8], hash: HashAlgorithm) -> Result<(), CryptoError> {
        match self {
            PublicKey::Ed25519(key) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
                key.verify_strict(message, &sig).map_err(|_| CryptoError::BadSignature)
            }
            _ => self.verify_prehash(&hash.digest(message), signature),
        }
    }

    /// Checks an ECDSA or RSA PKCS#1 v1.5 `signature` over a digest the caller computed
    /// (sigstore signs artifacts by their digest, so a verifier holding only `sha256:<hex>` can
    /// still check it); RSA takes the digest algorithm from the digest's length. Ed25519 signs
    /// messages, not digests, and is refused here.
    pub fn verify_prehash(&self, digest: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        match self {
            PublicKey::P256(key) => ecdsa::verify_p256(key, digest, signature),
            PublicKey::P384(key) => ecdsa::verify_p384(key, digest, signature),
            PublicKey::Rsa(key) => {
                let scheme = match digest.len() {
                    32 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    48 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    64 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                    _ => return Err(CryptoError::BadSignature),
                };
                key.verify(scheme, digest, signature).map_err(|_| CryptoError::BadSignature)
            }
            PublicKey::Ed25519(_) => {
                Err(CryptoError::Mismatch { algorithm: "a prehashed signature".into(), key: "Ed25519" })
            }
        }
    }

    /// Checks a signature made under an X.509 / CMS signature algorithm identifier
    /// (`ecdsa-with-SHA256`…, `id-Ed25519`), as certificates, CRLs and time stamps carry.
    pub fn verify_x509(
        &self,
        message: &[u8],
        signature: &[u8],
        algorithm: &spki::AlgorithmIdentifierRef<'_>,
    ) -> Result<(), CryptoError> {
        use const_oid::db::{rfc5912, rfc8410};
        let hash = match (algorithm.oid, self) {
            (rfc5912::ECDSA_WITH_SHA_256, PublicKey::P256(_) | PublicKey::P384(_)) => HashAlgorithm::Sha256,
            (rfc5912::ECDSA_WITH_SHA_384, PublicKey::P256(_) | PublicKey::P384(_)) => HashAlgorithm::Sha384,
            (rfc5912::ECDSA_WITH_SHA_512, PublicKey::P256(_) | PublicKey::P384(_)) => HashAlgorithm::Sha512,
            (rfc8410::ID_ED_25519, PublicKey::Ed25519(_)) => HashAlgorithm::Sha512,
            (rfc5912::SHA_256_WITH_RSA_ENCRYPTION, PublicKey::Rsa(_)) => HashAlgorithm::Sha256,
            (rfc5912::SHA_384_WITH_RSA_ENCRYPTION, PublicKey::Rsa(_)) => HashAlgorithm::Sha384,
            (rfc5912::SHA_512_WITH_RSA_ENCRYPTION, PublicKey::Rsa(_)) => HashAlgorithm::Sha512,
            (
                rfc5912::ECDSA_WITH_SHA_256
                | rfc5912::ECDSA_WITH_SHA_384
                | rfc5912::ECDSA_WITH_SHA_512
                | rfc8410::ID_ED_25519
                | rfc5912::SHA_256_WITH_RSA_ENCRYPTION
                | rfc5912::SHA_384_WITH_RSA_ENCRYPTION
                | rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
                key,
            ) => return Err(CryptoError::Mismatch { algorithm: algorithm.oid.to_string(), key: key.kind() }),
            (other, _) => return Err(CryptoError::UnsupportedAlgorithm(other.to_string())),
        };
        self.verify(message, signature, hash)
    }
}

/// ECDSA by digest. Natively through aws-lc-rs, 4-8x faster than RustCrypto's portable
/// arithmetic (the verifier's budget is 1 ms per bundle, and a bundle holds five or six ECDSA
/// signatures); in WebAssembly, where aws-lc-rs does not build, through RustCrypto.
#[cfg(not(target_arch = "wasm32"))]
mod ecdsa {
    use aws_lc_rs::digest::{self, Digest};
    use aws_lc_rs::signature::{self, EcdsaVerificationAlgorithm, UnparsedPublicKey};

    use super::CryptoError;

    fn verify(
        algorithms: [&'static EcdsaVerificationAlgorithm; 3],
        point: &[u8],
        prehash: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        let (algorithm, hash) = match prehash.len() {
            32 => (algorithms[0], &digest::SHA256),
            48 => (algorithms[1], &digest::SHA384),
            64 => (algorithms[2], &digest::SHA512),
            _ => return Err(CryptoError::BadSignature),
        };
        let prehash = Digest::import_less_safe(prehash, hash).map_err(|_| CryptoError::BadSignature)?;
        UnparsedPublicKey::new(algorithm, point).verify_digest(&prehash, sig).map_err(|_| CryptoError::BadSignature)
    }

    pub fn verify_p256(key: &p256::ecdsa::VerifyingKey, prehash: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let point = key.to_sec1_point(false);
        let algorithms = [
            &signature::ECDSA_P256_SHA256_ASN1,
            &signature::ECDSA_P256_SHA384_ASN1,
            &signature::ECDSA_P256_SHA512_ASN1,
        ];
        verify(algorithms, point.as_bytes(), prehash, sig)
    }

    pub fn verify_p384(key: &p384::ecdsa::VerifyingKey, prehash: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let point = key.to_sec1_point(false);
        let algorithms = [
            &signature::ECDSA_P384_SHA256_ASN1,
            &signature::ECDSA_P384_SHA384_ASN1,
            &signature::ECDSA_P384_SHA512_ASN1,
        ];
        verify(algorithms, point.as_bytes(), prehash, sig)
    }
}

#[cfg(target_arch = "wasm32")]
mod ecdsa {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    use super::CryptoError;

    pub fn verify_p256(key: &p256::ecdsa::VerifyingKey, prehash: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let sig = p256::ecdsa::DerSignature::from_bytes(sig).map_err(|_| CryptoError::BadSignature)?;
        key.verify_prehash(prehash, &sig).map_err(|_| CryptoError::BadSignature)
    }

    pub fn verify_p384(key: &p384::ecdsa::VerifyingKey, prehash: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let sig = p384::ecdsa::DerSignature::from_bytes(sig).map_err(|_| CryptoError::BadSignature)?;
        key.verify_prehash(prehash, &sig).map_err(|_| CryptoError::BadSignature)
    }
}

/// The DER SubjectPublicKeyInfo of a PEM `PUBLIC KEY`, read by the one lenient PEM reader
/// (any line length, CRLF, text around: issue 14 #4).
pub fn public_key_der(text: &str) -> Result<Vec<u8>, CryptoError> {
    sig_share_pem::first(text, &["PUBLIC KEY"]).map(|b| b.der).map_err(|e| CryptoError::MalformedKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    #[test]
    fn p256_signatures_verify_by_message_and_by_digest_and_fail_when_altered() {
        let secret = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let spki = secret.verifying_key().to_public_key_der().unwrap();
        let key = PublicKey::from_spki_der(spki.as_bytes()).unwrap();
        let sig: p256::ecdsa::DerSignature = secret.sign(b"hello");
        key.verify(b"hello", sig.as_bytes(), HashAlgorithm::Sha256).unwrap();
        key.verify_prehash(&Sha256::digest(b"hello"), sig.as_bytes()).unwrap();
        assert_eq!(key.verify(b"hellO", sig.as_bytes(), HashAlgorithm::Sha256), Err(CryptoError::BadSignature));
        assert_eq!(key.verify(b"hello", &sig.as_bytes()[1..], HashAlgorithm::Sha256), Err(CryptoError::BadSignature));
    }

    #[test]
    fn ed25519_keys_read_from_spki_and_refuse_prehashes() {
        let secret = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let spki = crate::tlog::ed25519_spki(secret.verifying_key().as_bytes());
        let key = PublicKey::from_spki_der(&spki).unwrap();
        let sig = ed25519_dalek::Signer::sign(&secret, b"note");
        key.verify(b"note", &sig.to_bytes(), HashAlgorithm::Sha256).unwrap();
        assert!(key.verify(b"nope", &sig.to_bytes(), HashAlgorithm::Sha256).is_err());
        assert!(matches!(key.verify_prehash(&[0; 32], &sig.to_bytes()), Err(CryptoError::Mismatch { .. })));
    }

    #[test]
    fn garbage_keys_are_refused_with_a_reason() {
        assert!(matches!(PublicKey::from_spki_der(b"\x30\x00"), Err(CryptoError::MalformedKey(_))));
        assert!(PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
    }
}
