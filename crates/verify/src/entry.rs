//! Does the log entry record what the bundle claims was signed?
//!
//! An inclusion proof shows that *some* entry is in the log; only its body ties that entry to
//! this bundle. The body must name the same signature, the same signer (certificate or key) and
//! the same content (artifact digest, or the DSSE payload), or a bundle could borrow another
//! signing's log entry. The kinds read are the ones sigstore clients produce:
//!
//! - `hashedrekord` 0.0.1 (Rekor v1) and 0.0.2 (Rekor v2, also used for DSSE: the digest is then
//!   SHA-256 of the envelope's PAE);
//! - `dsse` 0.0.1 (Rekor v1);
//! - `intoto` 0.0.2 (Rekor v1; its envelope's payload and signatures are base64 twice over).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bundle::{DsseEnvelope, TlogEntry};
use crate::json::b64;

/// Why a log entry does not match the bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The body is not JSON of a known shape.
    #[error("the log entry's body is malformed: {0}")]
    Malformed(String),
    /// A kind or version this verifier does not read.
    #[error("log entries of kind {0} are not supported")]
    UnsupportedKind(String),
    /// `kindVersion` and the body disagree.
    #[error("the log entry says it is {claimed} but its body is {actual}")]
    KindMismatch {
        /// From `kindVersion`.
        claimed: String,
        /// From the body.
        actual: String,
    },
    /// A message-signature entry for a DSSE bundle, or the reverse.
    #[error("a {0} log entry cannot record this bundle's content")]
    WrongContent(String),
    /// A field of the body differs from the bundle.
    #[error("the log entry records a different {0} than the bundle")]
    Mismatch(&'static str),
}

/// What the bundle says was signed, for comparison with a log entry.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The signature bytes (the message signature, or the DSSE envelope's one signature).
    pub signature: &'a [u8],
    /// The signer as DER: the leaf certificate, or a managed key's SubjectPublicKeyInfo.
    pub signer: &'a [u8],
    /// What was signed.
    pub content: Content<'a>,
}

/// The signed content.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// A message signature over an artifact with this SHA-256 digest.
    Message {
        /// SHA-256 of the artifact.
        sha256: &'a [u8; 32],
    },
    /// A DSSE envelope.
    Dsse(&'a DsseEnvelope),
}

/// DSSE's pre-authentication encoding: what a DSSE signature signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks that `entry`'s body records exactly `signed`.
pub fn check_entry(entry: &TlogEntry, signed: &Signed<'_>) -> Result<(), EntryError> {
    let body: Value = serde_json::from_slice(&entry.canonicalized_body)
        .map_err(|e| EntryError::Malformed(format!("not JSON: {e}")))?;
    let kind = str_at(&body, &["kind"])?;
    let version = str_at(&body, &["apiVersion"])?;
    let claimed = format!("{} {}", entry.kind_version.kind, entry.kind_version.version);
    let actual = format!("{kind} {version}");
    if claimed != actual {
        return Err(EntryError::KindMismatch { claimed, actual });
    }
    let spec = body.get("spec").ok_or_else(|| EntryError::Malformed("no spec".into()))?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => hashedrekord_v1(spec, signed),
        ("hashedrekord", "0.0.2") => hashedrekord_v2(spec, signed),
        ("dsse", "0.0.1") => dsse_v1(spec, signed),
        ("intoto", "0.0.2") => intoto_v2(spec, signed),
        _ => Err(EntryError::UnsupportedKind(actual)),
    }
}

/// The digest a hashedrekord entry must record: the artifact's, or for DSSE the PAE's.
fn hashed_digest(content: &Content<'_>) -> [u8; 32] {
    match content {
        Content::Message { sha256 } => **sha256,
        Content::Dsse(env) => Sha256::digest(pae(&env.payload_type, &env.payload)).into(),
    }
}

fn hashedrekord_v1(spec: &Value, signed: &Signed<'_>) -> Result<(), EntryError> {
    // Rekor v1 clients log DSSE as `dsse` or `intoto`, never as a hashedrekord 0.0.1.
    if matches!(signed.content, Content::Dsse(_)) {
        return Err(EntryError::WrongContent("hashedrekord 0.0.1".into()));
    }
    if str_at(spec, &["data", "hash", "algorithm"])? != "sha256" {
        return Err(EntryError::Mismatch("digest algorithm"));
    }
    let digest = hex_at(spec, &["data", "hash", "value"])?;
    expect(digest == hashed_digest(&signed.content), "artifact digest")?;
    expect(b64_at(spec, &["signature", "content"])? == signed.signature, "signature")?;
    let signer = pem_der(&b64_at(spec, &["signature", "publicKey", "content"])?)?;
    expect(signer == signed.signer, "signing certificate or key")
}

fn hashedrekord_v2(spec: &Value, signed: &Signed<'_>) -> Result<(), EntryError> {
    let spec = spec.get("hashedRekordV002").ok_or_else(|| EntryError::Malformed("no hashedRekordV002".into()))?;
    if str_at(spec, &["data", "algorithm"])? != "SHA2_256" {
        return Err(EntryError::Mismatch("digest algorithm"));
    }
    expect(b64_at(spec, &["data", "digest"])? == hashed_digest(&signed.content), "artifact digest")?;
    expect(b64_at(spec, &["signature", "content"])? == signed.signature, "signature")?;
    let verifier =
        spec.pointer("/signature/verifier").ok_or_else(|| EntryError::Malformed("no signature verifier".into()))?;
    let signer = match (verifier.pointer("/x509Certificate/rawBytes"), verifier.pointer("/publicKey/rawBytes")) {
        (Some(Value::String(der)), None) | (None, Some(Value::String(der))) => {
            b64::decode(der).map_err(EntryError::Malformed)?
        }
        _ => return Err(EntryError::Malformed("the verifier is neither one certificate nor one key".into())),
    };
    expect(signer == signed.signer, "signing certificate or key")
}

fn dsse_v1(spec: &Value, signed: &Signed<'_>) -> Result<(), EntryError> {
    let Content::Dsse(env) = signed.content else {
        return Err(EntryError::WrongContent("dsse 0.0.1".into()));
    };
    if str_at(spec, &["payloadHash", "algorithm"])? != "sha256" {
        return Err(EntryError::Mismatch("payload digest algorithm"));
    }
    expect(hex_at(spec, &["payloadHash", "value"])? == Sha256::digest(&env.payload).as_slice(), "DSSE payload")?;
    let sigs = spec
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| EntryError::Malformed("no signatures".into()))?;
    let [sig] = sigs.as_slice() else {
        return Err(EntryError::Mismatch("number of DSSE signatures"));
    };
    expect(b64_at(sig, &["signature"])? == signed.signature, "signature")?;
    expect(pem_der(&b64_at(sig, &["verifier"])?)? == signed.signer, "signing certificate or key")
}

fn intoto_v2(spec: &Value, signed: &Signed<'_>) -> Result<(), EntryError> {
    let Content::Dsse(env) = signed.content else {
        return Err(EntryError::WrongContent("intoto 0.0.2".into()));
    };
    let content = spec.get("content").ok_or_else(|| EntryError::Malformed("no content".into()))?;
    if str_at(content, &["payloadHash", "algorithm"])? != "sha256" {
        return Err(EntryError::Mismatch("payload digest algorithm"));
    }
    expect(hex_at(content, &["payloadHash", "value"])? == Sha256::digest(&env.payload).as_slice(), "DSSE payload")?;
    let envelope = content.get("envelope").ok_or_else(|| EntryError::Malformed("no envelope".into()))?;
    expect(str_at(envelope, &["payloadType"])? == env.payload_type, "DSSE payload type")?;
    // Rekor's intoto 0.0.2 keeps the envelope's base64 fields base64-encoded once more.
    let twice = |path: &[&str]| -> Result<Vec<u8>, EntryError> {
        let once = b64_at(envelope, path)?;
        b64::decode(std::str::from_utf8(&once).map_err(|_| EntryError::Malformed("not base64".into()))?)
            .map_err(EntryError::Malformed)
    };
    expect(twice(&["payload"])? == env.payload, "DSSE payload")?;
    let sigs = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| EntryError::Malformed("no signatures".into()))?;
    let [sig] = sigs.as_slice() else {
        return Err(EntryError::Mismatch("number of DSSE signatures"));
    };
    let sig_bytes = {
        let once = b64_at(sig, &["sig"])?;
        b64::decode(std::str::from_utf8(&once).map_err(|_| EntryError::Malformed("not base64".into()))?)
            .map_err(EntryError::Malformed)?
    };
    expect(sig_bytes == signed.signature, "signature")?;
    expect(pem_der(&b64_at(sig, &["publicKey"])?)? == signed.signer, "signing certificate or key")
}

fn expect(ok: bool, what: &'static str) -> Result<(), EntryError> {
    if ok { Ok(()) } else { Err(EntryError::Mismatch(what)) }
}

fn str_at<'v>(value: &'v Value, path: &[&str]) -> Result<&'v str, EntryError> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .ok_or_else(|| EntryError::Malformed(format!("no {}", path.join("."))))
}

fn b64_at(value: &Value, path: &[&str]) -> Result<Vec<u8>, EntryError> {
    b64::decode(str_at(value, path)?).map_err(|e| EntryError::Malformed(format!("{}: {e}", path.join("."))))
}

fn hex_at(value: &Value, path: &[&str]) -> Result<Vec<u8>, EntryError> {
    let text = str_at(value, path)?;
    if text.len() % 2 != 0 || !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(EntryError::Malformed(format!("{} is not hex", path.join("."))));
    }
    Ok((0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or(0)).collect())
}

/// The DER inside a PEM certificate or public key, as Rekor v1 bodies carry signers: whatever
/// its line length (Go and Python clients write other shapes than RFC 7468's, issue 14 #4); the
/// DER is then compared byte for byte with the bundle's.
fn pem_der(pem: &[u8]) -> Result<Vec<u8>, EntryError> {
    sig_share_pem::first(pem, &["CERTIFICATE", "PUBLIC KEY"])
        .map(|b| b.der)
        .map_err(|e| EntryError::Malformed(format!("signer PEM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_dsse_s_encoding() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
