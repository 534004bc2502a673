//! An editable `TBSCertificate`.
//!
//! `x509-cert` 0.3 keeps the fields of its `TbsCertificate` private and builds certificates only
//! through a builder that owns extension order and signer types. [`crate::build_tbs`] encodes
//! certificates from this plain structure, and a certificate log uses it to remove one extension
//! from a precertificate's TBS while leaving every other byte as it was (RFC 6962 §3.2).

use der::asn1::BitString;
use der::{Decode, Encode, Sequence};
use x509_cert::certificate::Version;
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;

/// RFC 5280 `TBSCertificate` with public fields.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Tbs {
    /// Always v3 for what sig-share issues.
    #[asn1(context_specific = "0", default = "Default::default")]
    pub version: Version,
    /// The serial number.
    pub serial_number: SerialNumber,
    /// The issuer's signature algorithm.
    pub signature: AlgorithmIdentifierOwned,
    /// The issuer's subject.
    pub issuer: Name,
    /// Validity.
    pub validity: Validity,
    /// The subject.
    pub subject: Name,
    /// The certified key.
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    /// Not used by RFC 5280 CAs.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub issuer_unique_id: Option<BitString>,
    /// Not used by RFC 5280 CAs.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub subject_unique_id: Option<BitString>,
    /// Extensions, in order.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

impl Tbs {
    /// The TBS of a certificate, as signed.
    pub fn of(cert: &x509_cert::Certificate) -> der::Result<Tbs> {
        Tbs::from_der(&cert.tbs_certificate().to_der()?)
    }

    /// The extensions, or none.
    pub fn extensions(&self) -> &[Extension] {
        self.extensions.as_deref().unwrap_or(&[])
    }

    /// Removes every extension with `oid`, returning how many there were.
    pub fn remove_extension(&mut self, oid: &der::asn1::ObjectIdentifier) -> usize {
        let Some(exts) = self.extensions.as_mut() else { return 0 };
        let before = exts.len();
        exts.retain(|e| &e.extn_id != oid);
        before - exts.len()
    }
}
