//! Judging what a transparency log says, with no I/O: an entry from its digest index (a
//! signature over some bytes' SHA-256) and a provenance statement it keeps (signed by an entry
//! over its DSSE encoding). Nothing the log says is taken on its word: every entry is checked
//! against the trusted root (inclusion proof under a signed checkpoint, signature, certificate
//! chain, and the certificate log's SCT for the time, since a log entry carries no time stamp).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::Policy;
use sig_share_verify::trust::TrustedRoot;
use sig_share_verify::verdict::{self, Artifact, Verified};

use crate::statement::Statement;

/// Verifies a `TransparencyLogEntry` (JSON, as the log serves it) as what it must be: a
/// hashedrekord over `sha256` signed by a keyless certificate, proven in a trusted log.
pub fn verify_entry(
    entry: &Value,
    sha256: &[u8; 32],
    policy: &Policy,
    root: &TrustedRoot,
    now: i64,
) -> Result<Verified, String> {
    let body = entry["canonicalizedBody"].as_str().ok_or("the entry has no body")?;
    let body: Value = STANDARD
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the entry's body is not base64 JSON")?;
    let spec = &body["spec"]["hashedRekordV002"];
    let signature = spec["signature"]["content"].as_str().ok_or("the entry is not a hashedrekord 0.0.2")?;
    let certificate = spec["signature"]["verifier"]["x509Certificate"]["rawBytes"]
        .as_str()
        .ok_or("the entry is signed with a managed key, not a keyless certificate")?;
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": { "certificate": { "rawBytes": certificate }, "tlogEntries": [entry] },
        "messageSignature": {
            "messageDigest": { "algorithm": "SHA2_256", "digest": STANDARD.encode(sha256) },
            "signature": signature,
        },
    });
    let bundle = Bundle::from_json(bundle.to_string().as_bytes()).map_err(|e| e.to_string())?;
    verdict::verify_logged(&bundle, &Artifact::from_sha256(*sha256), policy, root, now).map_err(|e| e.to_string())
}

/// A provenance statement the log keeps, with the entry that signs it, verified.
#[derive(Debug)]
pub struct LoggedStatement {
    pub index: u64,
    pub statement: Statement,
    pub verified: Verified,
}

impl LoggedStatement {
    /// Checks one `{logEntry, statement}` the log served: the entry signs exactly this
    /// statement's DSSE encoding, and verifies against `root`.
    pub fn verify(item: &Value, root: &TrustedRoot, now: i64) -> Result<LoggedStatement, String> {
        let kept = &item["statement"];
        let payload_type = kept["payloadType"].as_str().ok_or("the kept statement has no payloadType")?;
        let payload = kept["payload"]
            .as_str()
            .and_then(|p| STANDARD.decode(p).ok())
            .ok_or("the kept statement's payload is not base64")?;
        let pae = sig_share_verify::entry::pae(payload_type, &payload);
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&pae).into();
        let entry = &item["logEntry"];
        let index = entry["logIndex"].as_str().and_then(|i| i.parse().ok()).ok_or("the entry has no log index")?;
        let verified = verify_entry(entry, &digest, &crate::judge::anyone(), root, now)
            .map_err(|e| format!("the entry signing the statement does not verify: {e}"))?;
        let statement = Statement::from_json(&payload)?;
        Ok(LoggedStatement { index, statement, verified })
    }
}

/// A verified log entry as JSON: `{log_index, verified: true, identity, issuer, signed_at,
/// time_source: "sct", tree_size}` (the time is the certificate's SCT: an entry has no stamp).
pub fn verified_json(index: Option<u64>, verified: &Verified) -> Value {
    let (identity, issuer) = match &verified.signer {
        verdict::Signer::Identity { identity, issuer, .. } => (Some(identity.as_str()), Some(issuer.as_str())),
        verdict::Signer::Key { .. } => (None, None),
    };
    json!({
        "log_index": index,
        "verified": true,
        "identity": identity,
        "issuer": issuer,
        "signed_at": verified.times.first().map(|t| sig_share_verify::time::format_rfc3339(t.time)),
        "time_source": "sct",
        "tree_size": verified.log_entries.first().map(|e| e.tree_size),
    })
}

/// A statement the log keeps, verified or not, as JSON: [`verified_json`] with the statement,
/// or `{verified: false, reason}`.
pub fn statement_json(checked: &Result<LoggedStatement, String>) -> Value {
    match checked {
        Ok(s) => {
            let mut out = verified_json(Some(s.index), &s.verified);
            out["statement"] = serde_json::to_value(&s.statement).unwrap_or_default();
            out
        }
        Err(reason) => json!({ "verified": false, "reason": reason }),
    }
}
