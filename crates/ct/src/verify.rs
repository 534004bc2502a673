//! Signature checks on submitted chains.

use der::Encode;
use sig_share_pki::PkiError;
use x509_cert::Certificate;

/// Whether `cert` is signed by `issuer`'s key (the names are not compared: the signature is what
/// binds them, and the chain's end is checked against the accepted roots byte for byte).
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<(), PkiError> {
    let spki = issuer.tbs_certificate().subject_public_key_info().to_der()?;
    let tbs = cert.tbs_certificate().to_der()?;
    let signature = cert.signature().as_bytes().ok_or_else(|| PkiError::Invalid("signature has unused bits".into()))?;
    sig_share_pki::verify_signature(&spki, &tbs, signature, cert.signature_algorithm())
}
