//! Certificate extensions with the criticality sigstore clients and RFC 5280 expect.
//!
//! Every builder returns a `Result` for uniformity: the only failures are empty lists (which RFC
//! 5280 forbids for keyUsage and extendedKeyUsage) and undecodable public keys.

use const_oid::ObjectIdentifier;
use der::Encode;
use der::asn1::OctetString;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName, SubjectKeyIdentifier,
};

pub use der::flagset::FlagSet;
pub use x509_cert::ext::pkix::KeyUsages;

use crate::PkiError;

fn encode<T: Encode>(extn_id: ObjectIdentifier, critical: bool, value: &T) -> Result<Extension, PkiError> {
    Ok(Extension { extn_id, critical, extn_value: OctetString::new(value.to_der()?)? })
}

fn oid<T: const_oid::AssociatedOid>() -> ObjectIdentifier {
    T::OID
}

/// basicConstraints, always critical: RFC 5280 requires it for CA certificates, and marking it
/// critical on end-entity certificates too (as Fulcio does) stops a verifier that ignores it from
/// treating the leaf as a CA. `ca: false` encodes as the empty SEQUENCE (DER omits defaults).
pub fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension, PkiError> {
    if !ca && path_len.is_some() {
        return Err(PkiError::Invalid("a path length constraint only applies to CA certificates".into()));
    }
    encode(oid::<BasicConstraints>(), true, &BasicConstraints { ca, path_len_constraint: path_len })
}

/// keyUsage, critical (RFC 5280 4.2.1.3: SHOULD be critical; sigstore-python's certificate rules
/// and OpenSSL's timestamping purpose check read it).
pub fn key_usage(usages: impl Into<FlagSet<KeyUsages>>) -> Result<Extension, PkiError> {
    let usages = usages.into();
    if usages.is_empty() {
        return Err(PkiError::Invalid("keyUsage needs at least one usage".into()));
    }
    encode(oid::<KeyUsage>(), true, &KeyUsage(usages))
}

/// extendedKeyUsage with the given purposes. Criticality is the caller's: a TSA certificate's must
/// be critical (RFC 3161 2.3, checked by OpenSSL and sigstore-python), a Fulcio-style signing
/// certificate's must not be (sigstore-python's web-PKI verifier rejects a critical one).
pub fn extended_key_usage(oids: &[ObjectIdentifier], critical: bool) -> Result<Extension, PkiError> {
    if oids.is_empty() {
        return Err(PkiError::Invalid("extendedKeyUsage needs at least one purpose".into()));
    }
    encode(oid::<ExtendedKeyUsage>(), critical, &ExtendedKeyUsage(oids.to_vec()))
}

/// subjectKeyIdentifier ([`crate::key_id`] of the certificate's own key), non-critical as RFC 5280
/// requires.
pub fn subject_key_identifier(spki_der: &[u8]) -> Result<Extension, PkiError> {
    let id = OctetString::new(crate::key_id(spki_der)?)?;
    encode(oid::<SubjectKeyIdentifier>(), false, &SubjectKeyIdentifier(id))
}

/// authorityKeyIdentifier naming the issuer's key by [`crate::key_id`] (keyIdentifier only),
/// non-critical as RFC 5280 requires. sigstore-python refuses leaf certificates without one.
pub fn authority_key_identifier(issuer_spki_der: &[u8]) -> Result<Extension, PkiError> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(crate::key_id(issuer_spki_der)?)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    encode(oid::<AuthorityKeyIdentifier>(), false, &aki)
}

/// subjectAltName. RFC 5280 4.2.1.6: critical when the subject is empty (as on Fulcio
/// certificates; sigstore-python checks this), non-critical otherwise.
pub fn subject_alt_name(names: Vec<GeneralName>, critical: bool) -> Result<Extension, PkiError> {
    if names.is_empty() {
        return Err(PkiError::Invalid("subjectAltName needs at least one name".into()));
    }
    encode(oid::<SubjectAltName>(), critical, &SubjectAltName(names))
}

/// Any other extension from its already-encoded DER value (e.g. Fulcio's OIDC issuer extensions,
/// or a CT SCT list). The value must be one complete DER element.
pub fn raw(extn_id: ObjectIdentifier, critical: bool, value_der: &[u8]) -> Result<Extension, PkiError> {
    // Reject anything that is not exactly one TLV, so a malformed value cannot hide in a certificate.
    <der::Any as der::Decode>::from_der(value_der)?;
    Ok(Extension { extn_id, critical, extn_value: OctetString::new(value_der)? })
}

#[cfg(test)]
mod tests {
    use const_oid::db::rfc5280::{ID_KP_CODE_SIGNING, ID_KP_TIME_STAMPING};
    use der::Decode;

    use super::*;

    #[test]
    fn criticality_and_encodings() {
        let bc = basic_constraints(false, None).unwrap();
        assert!(bc.critical);
        assert_eq!(bc.extn_value.as_bytes(), &[0x30, 0x00]); // CA:FALSE is the empty SEQUENCE
        let bc = basic_constraints(true, Some(0)).unwrap();
        assert_eq!(bc.extn_value.as_bytes(), &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]);
        assert!(basic_constraints(false, Some(1)).is_err());

        let ku = key_usage(KeyUsages::DigitalSignature).unwrap();
        assert!(ku.critical);
        assert_eq!(ku.extn_value.as_bytes(), &[0x03, 0x02, 0x07, 0x80]); // one bit, 7 unused
        assert!(key_usage(FlagSet::<KeyUsages>::default()).is_err());

        let eku = extended_key_usage(&[ID_KP_TIME_STAMPING], true).unwrap();
        assert!(eku.critical);
        assert_eq!(ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap().0, vec![ID_KP_TIME_STAMPING]);
        assert!(!extended_key_usage(&[ID_KP_CODE_SIGNING], false).unwrap().critical);
        assert!(extended_key_usage(&[], false).is_err());
    }

    #[test]
    fn raw_takes_exactly_one_element() {
        let oid = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
        let utf8 = [0x0c, 0x03, b'a', b'b', b'c'];
        assert_eq!(raw(oid, false, &utf8).unwrap().extn_value.as_bytes(), &utf8);
        assert!(raw(oid, false, &utf8[..4]).is_err());
        assert!(raw(oid, false, &[0x0c, 0x00, 0x00]).is_err());
    }
}
