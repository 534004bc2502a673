//! The EC encodings PKCS#11 speaks and the ones X.509 wants: `CKA_EC_PARAMS` to a curve,
//! `CKA_EC_POINT` to a `SubjectPublicKeyInfo`, and `CKM_ECDSA`'s raw `r‖s` to a DER
//! `ECDSA-Sig-Value`.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{Any, BitString, OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};
use sig_share_pki::KeyAlgorithm;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// The size in bytes of a field element (and so of `r`, `s`, and each point coordinate).
pub(crate) fn field_len(alg: KeyAlgorithm) -> usize {
    match alg {
        KeyAlgorithm::EcdsaP256Sha256 => 32,
        KeyAlgorithm::EcdsaP384Sha384 => 48,
    }
}

/// The key algorithm for a `CKA_EC_PARAMS` value, which PKCS#11 defines as the DER of X9.62
/// `ECParameters`. Only the `namedCurve` choice for P-256 and P-384 is accepted: explicit curve
/// parameters and other curves are not something sigstore clients verify.
pub(crate) fn algorithm_from_ec_params(params: &[u8]) -> Result<KeyAlgorithm, String> {
    match ObjectIdentifier::from_der(params) {
        Ok(rfc5912::SECP_256_R_1) => Ok(KeyAlgorithm::EcdsaP256Sha256),
        Ok(rfc5912::SECP_384_R_1) => Ok(KeyAlgorithm::EcdsaP384Sha384),
        Ok(other) => Err(format!("EC curve {other} (only P-256 and P-384 are supported)")),
        Err(_) => Err("EC parameters that are not a named curve".to_owned()),
    }
}

/// The DER `CKA_EC_PARAMS` for a key algorithm's curve (its OID), for key generation.
pub(crate) fn ec_params(alg: KeyAlgorithm) -> Result<Vec<u8>, der::Error> {
    alg.curve_oid().to_der()
}

/// The uncompressed point (`04‖X‖Y`) in a `CKA_EC_POINT` value.
///
/// PKCS#11 says the value is the DER of an OCTET STRING holding the point, but some modules
/// (older OpenSC drivers, several HSM firmwares) return the bare point. The two cannot be
/// confused: the bare point is exactly `1 + 2n` bytes starting with 04, the wrapped one is
/// `3 + 2n` (P-384: 99 bytes, as the length needs one byte) and starts with 04 then the length.
pub(crate) fn uncompressed_point(ec_point: &[u8], alg: KeyAlgorithm) -> Result<&[u8], String> {
    let len = 1 + 2 * field_len(alg);
    let point = if ec_point.len() == len {
        ec_point
    } else {
        <&OctetStringRef>::from_der(ec_point)
            .map_err(|e| format!("CKA_EC_POINT is neither a point nor a DER OCTET STRING: {e}"))?
            .as_bytes()
    };
    match point.first() {
        Some(0x04) if point.len() == len => Ok(point),
        Some(0x02 | 0x03) => Err("the token returned a compressed EC point".to_owned()),
        _ => Err(format!("CKA_EC_POINT does not hold an uncompressed point of {len} bytes")),
    }
}

/// The DER `SubjectPublicKeyInfo` for an uncompressed point on `alg`'s curve: id-ecPublicKey with
/// the named curve, as RFC 5480 requires and as aws-lc-rs encodes software keys.
pub(crate) fn spki_der(point: &[u8], alg: KeyAlgorithm) -> Result<Vec<u8>, der::Error> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(Any::from(alg.curve_oid())),
        },
        subject_public_key: BitString::from_bytes(point)?,
    }
    .to_der()
}

/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 2.2.3).
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Turns `CKM_ECDSA`'s output, `r‖s` each left-padded to the field size, into the DER
/// `ECDSA-Sig-Value`: each half as a positive INTEGER, leading zero bytes stripped and a 00
/// prefixed where the top bit is set (which `UintRef` does).
///
/// Refuses output of the wrong length and a zero `r` or `s`, which no valid signature has: a token
/// returning either is broken, and certifying its output would produce unverifiable certificates.
pub(crate) fn raw_to_der(raw: &[u8], alg: KeyAlgorithm) -> Result<Vec<u8>, String> {
    let n = field_len(alg);
    if raw.len() != 2 * n {
        return Err(format!("the token returned a {}-byte ECDSA signature, expected {}", raw.len(), 2 * n));
    }
    let (r, s) = raw.split_at(n);
    if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
        return Err("the token returned an ECDSA signature with r or s zero".to_owned());
    }
    let value = EcdsaSigValue {
        r: UintRef::new(r).map_err(|e| e.to_string())?,
        s: UintRef::new(s).map_err(|e| e.to_string())?,
    };
    value.to_der().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use sig_share_pki::{Signer, SoftwareKey};

    use super::*;

    const P256: KeyAlgorithm = KeyAlgorithm::EcdsaP256Sha256;
    const P384: KeyAlgorithm = KeyAlgorithm::EcdsaP384Sha384;

    /// Decodes a DER ECDSA-Sig-Value back to `r‖s` padded to `n` bytes each: the inverse, with
    /// its own independent parsing, so the encoder is checked against more than itself.
    fn der_to_raw(der: &[u8], n: usize) -> Vec<u8> {
        let v = EcdsaSigValue::from_der(der).unwrap();
        let mut out = vec![0; 2 * n];
        let (r, s) = (v.r.as_bytes(), v.s.as_bytes());
        out[n - r.len()..n].copy_from_slice(r);
        out[2 * n - s.len()..].copy_from_slice(s);
        out
    }

    #[test]
    fn raw_signature_to_der_known_answers() {
        // r with the top bit set gains a 00; s with leading zeros loses them.
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[31] = 0x01;
        raw[62] = 0x7f;
        raw[63] = 0x02;
        let der = raw_to_der(&raw, P256).unwrap();
        let mut expected = vec![0x30, 0x27, 0x02, 0x21, 0x00, 0x80];
        expected.extend([0u8; 30]);
        expected.extend([0x01, 0x02, 0x02, 0x7f, 0x02]);
        assert_eq!(der, expected);

        // A one-byte r and s (the rest zero): the shortest encoding.
        let mut raw = vec![0u8; 96];
        raw[47] = 0x05;
        raw[95] = 0x81;
        let der = raw_to_der(&raw, P384).unwrap();
        assert_eq!(der, [0x30, 0x07, 0x02, 0x01, 0x05, 0x02, 0x02, 0x00, 0x81]);
    }

    #[test]
    fn raw_signature_round_trips_through_der() {
        // Every leading-byte shape: top bit set, clear, and zero bytes in front.
        for (alg, n) in [(P256, 32), (P384, 48)] {
            for first in [0x00u8, 0x01, 0x7f, 0x80, 0xff] {
                let mut raw: Vec<u8> = (0..2 * n).map(|i| (i as u8).wrapping_mul(37).wrapping_add(11)).collect();
                raw[0] = first;
                raw[1] = 0;
                raw[n] = first ^ 0x80;
                let der = raw_to_der(&raw, alg).unwrap();
                assert_eq!(der_to_raw(&der, n), raw, "{alg:?} first byte {first:#x}");
            }
        }
    }

    #[test]
    fn a_converted_signature_from_a_real_key_verifies() {
        // aws-lc-rs signs in fixed (raw r‖s) form too: converted, it must verify as DER.
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        let raw = pair.sign(&SystemRandom::new(), b"message").unwrap();
        let der = raw_to_der(raw.as_ref(), P384).unwrap();
        let point = pair.public_key().as_ref();
        let spki = spki_der(point, P384).unwrap();
        let alg = sig_share_pki::signature_algorithm(P384);
        sig_share_pki::verify_signature(&spki, b"message", &der, &alg).unwrap();
        sig_share_pki::verify_signature(&spki, b"other message", &der, &alg).unwrap_err();
    }

    #[test]
    fn wrong_lengths_and_zero_halves_are_refused() {
        assert!(raw_to_der(&[1; 63], P256).is_err());
        assert!(raw_to_der(&[1; 64], P384).is_err());
        let mut raw = vec![0u8; 64];
        raw[40] = 1;
        assert!(raw_to_der(&raw, P256).unwrap_err().contains("zero"));
        let mut raw = vec![0u8; 64];
        raw[3] = 1;
        assert!(raw_to_der(&raw, P256).unwrap_err().contains("zero"));
    }

    #[test]
    fn spki_matches_what_aws_lc_rs_encodes() {
        // The SPKI built from a bare point must be byte-identical to a software key's, or
        // certificates would name the same key differently.
        for alg in [P256, P384] {
            let key = SoftwareKey::generate(alg).unwrap();
            let spki = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der()).unwrap();
            let point = spki.subject_public_key.raw_bytes();
            assert_eq!(spki_der(point, alg).unwrap(), key.public_key_der());
        }
    }

    #[test]
    fn ec_point_bare_or_wrapped() {
        let mut point = vec![0x04];
        point.extend([0xab; 96]);
        assert_eq!(uncompressed_point(&point, P384).unwrap(), &point[..]);
        let wrapped = OctetStringRef::new(&point).unwrap().to_der().unwrap();
        assert_eq!(wrapped.len(), 99);
        assert_eq!(uncompressed_point(&wrapped, P384).unwrap(), &point[..]);
        // A P-256-sized point for a P-384 key, a compressed point, garbage.
        let mut short = vec![0x04];
        short.extend([0xab; 64]);
        assert!(uncompressed_point(&OctetStringRef::new(&short).unwrap().to_der().unwrap(), P384).is_err());
        let mut compressed = vec![0x02];
        compressed.extend([0xab; 32]);
        let err = uncompressed_point(&OctetStringRef::new(&compressed).unwrap().to_der().unwrap(), P256).unwrap_err();
        assert!(err.contains("compressed"), "{err}");
        assert!(uncompressed_point(b"\x01\x02\x03", P256).is_err());
    }

    #[test]
    fn ec_params_named_curves_only() {
        for alg in [P256, P384] {
            assert_eq!(algorithm_from_ec_params(&ec_params(alg).unwrap()).unwrap(), alg);
        }
        let p521 = rfc5912::SECP_521_R_1.to_der().unwrap();
        assert!(algorithm_from_ec_params(&p521).unwrap_err().contains("1.3.132.0.35"));
        // PKCS#11's printable-string curve name form, and explicit parameters (a SEQUENCE).
        assert!(algorithm_from_ec_params(b"\x13\x0aprime256v1").is_err());
        assert!(algorithm_from_ec_params(b"\x30\x03\x02\x01\x01").is_err());
    }
}
