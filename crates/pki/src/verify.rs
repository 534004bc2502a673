//! Signature verification for the algorithms sigstore clients sign CSRs, proofs of possession and
//! certificates with.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::AnyRef;
use der::{Decode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

use crate::PkiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    P256,
    P384,
    P521,
    Rsa,
    Ed25519,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            rfc5912::ID_SHA_256 => Some(Self::Sha256),
            rfc5912::ID_SHA_384 => Some(Self::Sha384),
            rfc5912::ID_SHA_512 => Some(Self::Sha512),
            _ => None,
        }
    }

    fn len(self) -> u32 {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// `RSASSA-PSS-params` (RFC 4055 3.1). Every field has a SHA-1 default, which this crate refuses,
/// so absent fields are kept as `None` and rejected rather than defaulted.
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

fn absent_or_null(params: Option<&der::Any>) -> bool {
    params.is_none_or(|p| p.is_null())
}

fn unsupported(what: impl std::fmt::Display) -> PkiError {
    PkiError::UnsupportedAlgorithm(what.to_string())
}

fn key_kind(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<KeyKind, PkiError> {
    let alg = &spki.algorithm;
    match alg.oid {
        rfc5912::ID_EC_PUBLIC_KEY => {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p: &AnyRef<'_>| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| unsupported("EC key without a named curve"))?;
            match curve {
                rfc5912::SECP_256_R_1 => Ok(KeyKind::P256),
                rfc5912::SECP_384_R_1 => Ok(KeyKind::P384),
                rfc5912::SECP_521_R_1 => Ok(KeyKind::P521),
                other => Err(unsupported(format!("EC curve {other}"))),
            }
        }
        rfc5912::RSA_ENCRYPTION if alg.parameters.is_none_or(|p| p.is_null()) => Ok(KeyKind::Rsa),
        rfc8410::ID_ED_25519 if alg.parameters.is_none() => Ok(KeyKind::Ed25519),
        other => Err(unsupported(format!("public key type {other}"))),
    }
}

fn pss_algorithm(params: Option<&der::Any>) -> Result<&'static dyn VerificationAlgorithm, PkiError> {
    let params = params.ok_or_else(|| unsupported("RSASSA-PSS without parameters (SHA-1)"))?;
    let params: PssParams = params.decode_as()?;
    let hash_alg = params.hash_algorithm.ok_or_else(|| unsupported("RSASSA-PSS with SHA-1"))?;
    let hash = Hash::from_oid(hash_alg.oid)
        .filter(|_| absent_or_null(hash_alg.parameters.as_ref()))
        .ok_or_else(|| unsupported(format!("RSASSA-PSS hash {}", hash_alg.oid)))?;
    let mgf = params.mask_gen_algorithm.ok_or_else(|| unsupported("RSASSA-PSS with MGF1-SHA-1"))?;
    let mgf_hash = (mgf.oid == rfc5912::ID_MGF_1)
        .then_some(mgf.parameters.as_ref())
        .flatten()
        .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
        .filter(|h| absent_or_null(h.parameters.as_ref()))
        .and_then(|h| Hash::from_oid(h.oid));
    if mgf_hash != Some(hash) {
        return Err(unsupported("RSASSA-PSS whose mask generation is not MGF1 with the message hash"));
    }
    if params.salt_length != Some(hash.len()) {
        return Err(unsupported("RSASSA-PSS whose salt length is not the hash length"));
    }
    if params.trailer_field.is_some_and(|t| t != 1) {
        return Err(unsupported("RSASSA-PSS trailer field other than 1"));
    }
    Ok(match hash {
        Hash::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
        Hash::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
        Hash::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
    })
}

/// Verifies `signature` over `signed_data` with the key in `spki_der` (a DER
/// `SubjectPublicKeyInfo`) under the signature algorithm `sig_alg`, as found in a certificate,
/// CSR or CMS SignerInfo.
///
/// Accepted, all with aws-lc-rs:
/// - ecdsa-with-SHA256/384/512 (DER signatures) on P-256, P-384 and P-521 keys, any pairing
///   (what Go and OpenSSL accept; the pairing is the signer's choice);
/// - sha256/384/512WithRSAEncryption (PKCS#1 v1.5) and RSASSA-PSS with SHA-256/384/512, MGF1
///   with the same hash and a salt of the hash length, for 2048- to 8192-bit keys;
/// - Ed25519.
///
/// SHA-1 and MD5 in any form, other curves, and algorithm identifiers with unexpected
/// parameters are refused as unsupported; a key that does not fit the algorithm is a mismatch.
pub fn verify_signature(
    spki_der: &[u8],
    signed_data: &[u8],
    signature: &[u8],
    sig_alg: &AlgorithmIdentifierOwned,
) -> Result<(), PkiError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)?;
    let kind = key_kind(&spki)?;
    let params = sig_alg.parameters.as_ref();
    let mismatch = || PkiError::Mismatch(format!("signature algorithm {} does not fit a {kind:?} key", sig_alg.oid));
    let algorithm: &'static dyn VerificationAlgorithm = match sig_alg.oid {
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::ECDSA_WITH_SHA_384 | rfc5912::ECDSA_WITH_SHA_512 => {
            // RFC 5758 3.2: the parameters MUST be absent.
            if params.is_some() {
                return Err(unsupported("ECDSA algorithm identifier with parameters"));
            }
            match (kind, sig_alg.oid) {
                (KeyKind::P256, rfc5912::ECDSA_WITH_SHA_256) => &signature::ECDSA_P256_SHA256_ASN1,
                (KeyKind::P256, rfc5912::ECDSA_WITH_SHA_384) => &signature::ECDSA_P256_SHA384_ASN1,
                (KeyKind::P256, _) => &signature::ECDSA_P256_SHA512_ASN1,
                (KeyKind::P384, rfc5912::ECDSA_WITH_SHA_256) => &signature::ECDSA_P384_SHA256_ASN1,
                (KeyKind::P384, rfc5912::ECDSA_WITH_SHA_384) => &signature::ECDSA_P384_SHA384_ASN1,
                (KeyKind::P384, _) => &signature::ECDSA_P384_SHA512_ASN1,
                (KeyKind::P521, rfc5912::ECDSA_WITH_SHA_256) => &signature::ECDSA_P521_SHA256_ASN1,
                (KeyKind::P521, rfc5912::ECDSA_WITH_SHA_384) => &signature::ECDSA_P521_SHA384_ASN1,
                (KeyKind::P521, _) => &signature::ECDSA_P521_SHA512_ASN1,
                _ => return Err(mismatch()),
            }
        }
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_384_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => {
            // RFC 4055 5: NULL, though absent is common enough to accept.
            if !absent_or_null(params) {
                return Err(unsupported("RSA PKCS#1 v1.5 algorithm identifier with parameters"));
            }
            if kind != KeyKind::Rsa {
                return Err(mismatch());
            }
            match sig_alg.oid {
                rfc5912::SHA_256_WITH_RSA_ENCRYPTION => &signature::RSA_PKCS1_2048_8192_SHA256,
                rfc5912::SHA_384_WITH_RSA_ENCRYPTION => &signature::RSA_PKCS1_2048_8192_SHA384,
                _ => &signature::RSA_PKCS1_2048_8192_SHA512,
            }
        }
        rfc5912::ID_RSASSA_PSS => {
            if kind != KeyKind::Rsa {
                return Err(mismatch());
            }
            pss_algorithm(params)?
        }
        rfc8410::ID_ED_25519 => {
            // RFC 8410 3: the parameters MUST be absent.
            if params.is_some() {
                return Err(unsupported("Ed25519 algorithm identifier with parameters"));
            }
            if kind != KeyKind::Ed25519 {
                return Err(mismatch());
            }
            &signature::ED25519
        }
        other => return Err(unsupported(format!("signature algorithm {other}"))),
    };
    // aws-lc-rs parses the SubjectPublicKeyInfo itself (and checks the curve and RSA size).
    UnparsedPublicKey::new(algorithm, spki_der).verify(signed_data, signature).map_err(|_| PkiError::BadSignature)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair};
    use der::Encode;

    use super::*;
    use crate::{KeyAlgorithm, Signer, SoftwareKey};

    fn alg(oid: ObjectIdentifier, parameters: Option<der::Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid, parameters }
    }

    fn pss_params(hash: ObjectIdentifier, salt: u32) -> der::Any {
        let hash_alg = alg(hash, None);
        let params = PssParams {
            hash_algorithm: Some(hash_alg.clone()),
            mask_gen_algorithm: Some(alg(rfc5912::ID_MGF_1, Some(der::Any::encode_from(&hash_alg).unwrap()))),
            salt_length: Some(salt),
            trailer_field: None,
        };
        der::Any::from_der(&params.to_der().unwrap()).unwrap()
    }

    #[test]
    fn ecdsa_signatures_verify_and_tampering_fails() {
        for ka in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
            let key = SoftwareKey::generate(ka).unwrap();
            let sig = key.sign(b"message").unwrap();
            let a = crate::signature_algorithm(ka);
            verify_signature(key.public_key_der(), b"message", &sig, &a).unwrap();
            assert!(matches!(
                verify_signature(key.public_key_der(), b"messagE", &sig, &a),
                Err(PkiError::BadSignature)
            ));
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(matches!(
                verify_signature(key.public_key_der(), b"message", &bad, &a),
                Err(PkiError::BadSignature)
            ));
            // Another key does not verify it.
            let other = SoftwareKey::generate(ka).unwrap();
            assert!(verify_signature(other.public_key_der(), b"message", &sig, &a).is_err());
            // Parameters on an ECDSA identifier are refused.
            let with_null = alg(ka.signature_oid(), Some(der::Any::null()));
            assert!(matches!(
                verify_signature(key.public_key_der(), b"message", &sig, &with_null),
                Err(PkiError::UnsupportedAlgorithm(_))
            ));
        }
    }

    #[test]
    fn rsa_pkcs1_and_pss_verify() {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let spki: PublicKeyX509Der<'_> = rsa.public_key().as_der().unwrap();
        let rng = SystemRandom::new();
        let mut sig = vec![0u8; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, b"csr", &mut sig).unwrap();
        let pkcs1 = alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, Some(der::Any::null()));
        verify_signature(spki.as_ref(), b"csr", &sig, &pkcs1).unwrap();
        verify_signature(spki.as_ref(), b"csr", &sig, &alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, None)).unwrap();
        assert!(matches!(verify_signature(spki.as_ref(), b"csR", &sig, &pkcs1), Err(PkiError::BadSignature)));

        rsa.sign(&signature::RSA_PSS_SHA384, &rng, b"csr", &mut sig).unwrap();
        let pss = alg(rfc5912::ID_RSASSA_PSS, Some(pss_params(rfc5912::ID_SHA_384, 48)));
        verify_signature(spki.as_ref(), b"csr", &sig, &pss).unwrap();
        assert!(matches!(verify_signature(spki.as_ref(), b"cs", &sig, &pss), Err(PkiError::BadSignature)));
        // A salt length other than the hash length, or absent parameters (SHA-1 defaults), are refused.
        let odd_salt = alg(rfc5912::ID_RSASSA_PSS, Some(pss_params(rfc5912::ID_SHA_384, 20)));
        assert!(matches!(
            verify_signature(spki.as_ref(), b"csr", &sig, &odd_salt),
            Err(PkiError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            verify_signature(spki.as_ref(), b"csr", &sig, &alg(rfc5912::ID_RSASSA_PSS, None)),
            Err(PkiError::UnsupportedAlgorithm(_))
        ));
        // An RSA key under an ECDSA algorithm is a mismatch.
        assert!(matches!(
            verify_signature(spki.as_ref(), b"csr", &sig, &alg(rfc5912::ECDSA_WITH_SHA_256, None)),
            Err(PkiError::Mismatch(_))
        ));
    }

    #[test]
    fn ed25519_verifies_and_sha1_is_refused() {
        let ed = Ed25519KeyPair::generate().unwrap();
        let spki: PublicKeyX509Der<'_> = ed.public_key().as_der().unwrap();
        let sig = ed.sign(b"pop");
        let a = alg(rfc8410::ID_ED_25519, None);
        verify_signature(spki.as_ref(), b"pop", sig.as_ref(), &a).unwrap();
        assert!(matches!(verify_signature(spki.as_ref(), b"pOp", sig.as_ref(), &a), Err(PkiError::BadSignature)));

        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let sha1_ecdsa = alg(ObjectIdentifier::new_unwrap("1.2.840.10045.4.1"), None);
        assert!(matches!(
            verify_signature(key.public_key_der(), b"x", &key.sign(b"x").unwrap(), &sha1_ecdsa),
            Err(PkiError::UnsupportedAlgorithm(_))
        ));
        assert!(verify_signature(b"\x30\x00", b"x", b"", &a).is_err());
    }
}
