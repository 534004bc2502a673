//! The signing certificate's embedded SCTs (RFC 6962): proof that a certificate log the trusted
//! root names saw the certificate before it was issued, so a mis-issued certificate cannot stay
//! hidden from the identity's owner.
//!
//! An embedded SCT signs the precertificate, which the verifier rebuilds from the final
//! certificate: its TBSCertificate without the SCT-list extension, every other byte as it was
//! (the raw DER is spliced, not decoded and re-encoded), and the hash of the issuing CA's key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Header, Length, Tag};
use sha2::{Digest, Sha256};
use sig_share_tlog::static_ct::{self, Sct, SignedEntry, TimestampedEntry};

use crate::certificate::{self, SigningCertificate};
use crate::crypto::{HashAlgorithm, PublicKey};
use crate::time::format_rfc3339;
use crate::trust::{TransparencyLog, TrustedRoot};
use crate::x509::{self, MAX_EXTENSIONS, context, elements};

/// The embedded SCT list extension.
pub const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// The most SCTs read from one certificate (browsers want 2 or 3; Fulcio embeds one).
pub const MAX_SCTS: usize = 16;

/// An SCT that verified under a trusted certificate log's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSct {
    /// The log's ID: SHA-256 of its key.
    pub log_id: Vec<u8>,
    /// When the log saw the precertificate, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// Why the embedded SCTs were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SctError {
    /// The certificate carries no SCT list: it was not (shown to be) logged.
    #[error(
        "the certificate carries no embedded SCT (extension 1.3.6.1.4.1.11129.2.4.2): nothing shows it was logged to certificate transparency"
    )]
    NoSctExtension,
    /// The SCT list, or an SCT in it, does not parse.
    #[error("malformed embedded SCT list: {0}")]
    Malformed(String),
    /// The leaf or its issuer cannot be read to rebuild the precertificate.
    #[error("cannot rebuild the precertificate the SCTs sign: {0}")]
    Precertificate(String),
    /// No SCT is from a certificate log of the trusted root.
    #[error(
        "none of the certificate's SCTs ({count}) is from a certificate log in the trusted root (their log IDs: {})",
        unknown_logs.join(", ")
    )]
    NoTrustedSct {
        /// How many SCTs the certificate carries.
        count: usize,
        /// The log IDs (base64, as trusted roots write them) of the SCTs from unknown logs.
        unknown_logs: Vec<String>,
    },
    /// An SCT from a trusted log is dated outside the validity the trusted root gives its key.
    #[error(
        "the SCT from certificate log {log} is dated {time}, outside the validity {valid} the trusted root gives the log's key"
    )]
    LogKeyNotValid {
        /// The log's base URL.
        log: String,
        /// The SCT's time.
        time: String,
        /// The key's validFor.
        valid: String,
    },
    /// An SCT from a trusted log does not verify.
    #[error("the SCT from certificate log {log} does not verify: {reason}")]
    BadSignature {
        /// The log's base URL.
        log: String,
        /// What failed.
        reason: String,
    },
}

type Result<T, E = SctError> = std::result::Result<T, E>;

/// Verifies the leaf's embedded SCTs: at least one from a ctlog in the trusted root, whose key
/// was valid (valid_for) at the SCT's timestamp, must verify over the precertificate entry
/// (issuer_key_hash = SHA-256 of the issuing CA cert's SPKI DER, TBS = leaf TBS with the
/// SCT-list extension removed). SCTs from unknown logs are ignored (a CA may log to several);
/// an SCT from a known log that fails to verify is an error (it is a forgery in that log's
/// name, or the certificate was altered).
///
/// `issuer_der`: the certificate that issued the leaf, the first of [`certificate::CertificatePath::chain`].
pub fn verify_embedded_scts(
    leaf: &SigningCertificate,
    issuer_der: &[u8],
    root: &TrustedRoot,
) -> Result<Vec<VerifiedSct>> {
    let limit = certificate::MAX_CERTIFICATE_LEN;
    if leaf.der.len() > limit || issuer_der.len() > limit {
        return Err(SctError::Precertificate(format!("a certificate of more than {limit} bytes")));
    }
    let (list, tbs) = precertificate(&leaf.der)?;
    let issuer_spki =
        x509::raw_spki(issuer_der).map_err(|e| SctError::Precertificate(format!("the issuer certificate: {e}")))?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer_spki).into();
    let scts = static_ct::parse_sct_list(&list).map_err(|e| SctError::Malformed(e.to_string()))?;
    if scts.len() > MAX_SCTS {
        return Err(SctError::Malformed(format!("{} SCTs, more than the {MAX_SCTS} read", scts.len())));
    }

    let mut verified = Vec::new();
    let mut unknown_logs = Vec::new();
    for raw in &scts {
        // RFC 6962 §5.2: SCTs of versions the client does not know are ignored.
        if raw.first() != Some(&0) {
            unknown_logs.push(format!("(an SCT of unknown version {})", raw.first().copied().unwrap_or_default()));
            continue;
        }
        let sct = Sct::parse(raw).map_err(|e| SctError::Malformed(e.to_string()))?;
        let logs: Vec<&TransparencyLog> = root
            .ctlogs
            .iter()
            .filter(|log| BASE64.decode(&log.log_id.key_id).is_ok_and(|id| id == sct.log_id))
            .collect();
        if logs.is_empty() {
            unknown_logs.push(BASE64.encode(sct.log_id));
            continue;
        }
        let entry = TimestampedEntry {
            timestamp: sct.timestamp,
            entry: SignedEntry::Precert { issuer_key_hash, tbs_certificate: tbs.clone() },
            extensions: sct.extensions.clone(),
        };
        let signed = entry.sct_signed_data().map_err(|e| SctError::Precertificate(e.to_string()))?;
        // A trusted root may list one key twice (say, with different windows): any may vouch.
        let mut failure = None;
        for log in logs {
            match check_sct(log, &sct, &signed) {
                Ok(()) => {
                    failure = None;
                    break;
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        verified.push(VerifiedSct { log_id: sct.log_id.to_vec(), timestamp_ms: sct.timestamp });
    }
    if verified.is_empty() {
        return Err(SctError::NoTrustedSct { count: scts.len(), unknown_logs });
    }
    Ok(verified)
}

/// One SCT against one trusted log: the log's key valid at the SCT's time, and its signature.
fn check_sct(log: &TransparencyLog, sct: &Sct, signed: &[u8]) -> Result<()> {
    let name = || if log.base_url.is_empty() { log.log_id.key_id.clone() } else { log.base_url.clone() };
    let bad = |reason: String| SctError::BadSignature { log: name(), reason };
    let seconds = i64::try_from(sct.timestamp / 1000).unwrap_or(i64::MAX);
    let valid = &log.public_key.valid_for;
    let inside =
        valid.contains(seconds).map_err(|e| bad(format!("the trusted root's validity for the log's key: {e}")))?;
    if !inside {
        return Err(SctError::LogKeyNotValid {
            log: name(),
            time: format_rfc3339(seconds),
            valid: format!("{} to {}", valid.start, valid.end.as_deref().unwrap_or("(open)")),
        });
    }
    let spki = BASE64
        .decode(&log.public_key.raw_bytes)
        .map_err(|e| bad(format!("the trusted root's key for the log is not base64: {e}")))?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| bad(format!("the log's key: {e}")))?;
    let ds = &sct.signature;
    // TLS HashAlgorithm / SignatureAlgorithm codes (RFC 5246 §7.4.1.4.1, RFC 8422 for Ed25519).
    let hash = match (ds.hash_algorithm, ds.signature_algorithm, &key) {
        (4, 3, PublicKey::P256(_) | PublicKey::P384(_)) => HashAlgorithm::Sha256,
        (5, 3, PublicKey::P256(_) | PublicKey::P384(_)) => HashAlgorithm::Sha384,
        (8, 7, PublicKey::Ed25519(_)) => HashAlgorithm::Sha512,
        (h, s, key) => {
            return Err(bad(format!(
                "a signature of TLS hash {h} and algorithm {s} does not fit the log's {} key",
                key.kind()
            )));
        }
    };
    key.verify(signed, &ds.signature, hash).map_err(|e| bad(e.to_string()))
}

/// The SCT list (the TLS `SignedCertificateTimestampList`) of a DER certificate, and its
/// TBSCertificate without that extension: the precertificate's TBS the SCTs sign.
fn precertificate(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let fail = |e: String| SctError::Precertificate(format!("the certificate: {e}"));
    let walk = |e: x509::DerError| fail(e.to_string());
    let [tbs, _, _] = x509::certificate_fields(der).map_err(walk)?;
    let fields = x509::tbs_fields(tbs.value).map_err(walk)?;
    let extensions_tag = context(3, true);
    let Some(last) = fields.last().filter(|f| f.tag == extensions_tag) else {
        return Err(SctError::NoSctExtension);
    };
    let inner = elements(last.value, 1).map_err(walk)?;
    let [sequence] = inner.as_slice() else { return Err(fail("no extensions".into())) };
    if sequence.tag != Tag::Sequence {
        return Err(fail("the extensions are not a SEQUENCE".into()));
    }
    let extensions = elements(sequence.value, MAX_EXTENSIONS).map_err(walk)?;

    let mut list = None;
    let mut kept = Vec::with_capacity(sequence.value.len());
    for ext in &extensions {
        let parsed = x509_cert::ext::Extension::from_der(ext.raw).map_err(|e| fail(format!("an extension: {e}")))?;
        if parsed.extn_id != SCT_LIST_OID {
            kept.extend_from_slice(ext.raw);
            continue;
        }
        if list.is_some() {
            return Err(SctError::Malformed("the certificate carries two SCT lists".into()));
        }
        // The extension's OCTET STRING holds a DER OCTET STRING holding the TLS list.
        let inner = der::asn1::OctetString::from_der(parsed.extn_value.as_bytes())
            .map_err(|e| SctError::Malformed(format!("the SCT list is not a DER OCTET STRING: {e}")))?;
        list = Some(inner.as_bytes().to_vec());
    }
    let list = list.ok_or(SctError::NoSctExtension)?;

    // The TBS with the SCT list spliced out; an extension list left empty goes (RFC 5280 allows
    // no empty one).
    let mut contents = Vec::with_capacity(tbs.value.len());
    for field in &fields[..fields.len() - 1] {
        contents.extend_from_slice(field.raw);
    }
    if !kept.is_empty() {
        let sequence = wrap(Tag::Sequence, &kept).map_err(fail)?;
        contents.extend(wrap(extensions_tag, &sequence).map_err(fail)?);
    }
    Ok((list, wrap(Tag::Sequence, &contents).map_err(fail)?))
}

/// A DER element of `tag` with `contents`.
fn wrap(tag: Tag, contents: &[u8]) -> Result<Vec<u8>, String> {
    let length = Length::try_from(contents.len()).map_err(|e| e.to_string())?;
    let mut out = Header::new(tag, length).to_der().map_err(|e| e.to_string())?;
    out.extend_from_slice(contents);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_writes_short_and_long_lengths() {
        assert_eq!(wrap(Tag::Sequence, &[1, 2]).unwrap(), [0x30, 2, 1, 2]);
        let long = wrap(Tag::Sequence, &[0; 300]).unwrap();
        assert_eq!(&long[..4], &[0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bad in [&b""[..], b"\x30\x00", b"\x30\x03\x02\x01\x01"] {
            assert!(matches!(precertificate(bad), Err(SctError::Precertificate(_))), "{bad:?}");
        }
    }
}
