//! Keys, certificate building and signature verification for sig-share's certificate authority
//! and timestamp authority.
//!
//! Everything here is pure: no file or network I/O and no clock. Callers pass times in
//! (`SystemTime` or [`x509_cert::time::Validity`]) so issuance is reproducible in tests and the
//! same code serves a CA, a TSA and their test fixtures.
//!
//! The pieces:
//! - [`Signer`]: the one interface the CA and TSA sign through, so a key held in software
//!   ([`SoftwareKey`]) can later be swapped for a KMS or HSM without touching them;
//! - [`CertificateParams`], [`build_tbs`], [`sign_certificate`], [`issue`]: certificates built from
//!   plain fields (x509-cert 0.3 keeps `TbsCertificate`'s fields private, so this crate builds its
//!   DER and decodes it, which also validates it against RFC 5280's profile);
//! - [`Tbs`]: a `TBSCertificate` with public fields, for editing one exactly;
//! - [`ext`]: the extensions sigstore clients and RFC 5280 care about, with the right criticality;
//! - [`self_signed_ca`], [`issue_intermediate`]: CA certificates;
//! - [`verify_signature`]: the signature algorithms sigstore clients produce (CSRs, proofs of
//!   possession, certificates), checked with aws-lc-rs.

mod cert;
pub mod ext;
mod key;
mod tbs;
mod verify;

pub use cert::{
    CertificateParams, build_tbs, certificate_to_pem, chain_from_pem, chain_to_pem, ensure_key_matches, issue,
    issue_intermediate, key_id, random_serial, self_signed_ca, sign_certificate, signature_algorithm, validity,
};
pub use key::{KeyAlgorithm, Signer, SoftwareKey};
pub use tbs::Tbs;
pub use verify::verify_signature;

// Re-exported so callers name the same versions of the types this API takes and returns.
pub use const_oid;
pub use der;
pub use spki;
pub use x509_cert;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A key could not be generated, parsed or serialised.
    #[error("key: {0}")]
    Key(String),
    /// The signer failed to produce a signature.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A key type, curve or signature algorithm this crate does not accept.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// Two things that must agree (a TBS certificate's signature algorithm and the signer's, an
    /// issuer certificate and the key signing with it) do not.
    #[error("mismatch: {0}")]
    Mismatch(String),
    /// PEM that is not what was expected.
    #[error("PEM: {0}")]
    Pem(String),
    /// A value the caller passed that cannot go into a certificate (e.g. notAfter before notBefore).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// ASN.1 DER encoding or decoding failed.
    #[error("ASN.1: {0}")]
    Asn1(#[from] der::Error),
    /// The system random number generator failed.
    #[error("no randomness available")]
    Random,
}
