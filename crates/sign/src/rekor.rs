//! The log entry: Rekor v2's `POST {log}/api/v2/log/entries` with a hashedrekord v0.0.2 request.
//! The answer, a `TransparencyLogEntry` with its inclusion proof and checkpoint, goes into the
//! bundle as is. Rekor v2 answers only once a checkpoint covers the entry, so the wait is long.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sig_share_verify::bundle::TlogEntry;

use crate::error::{Service, SignError};
use crate::http::{self, Answer};

/// How long the log may take: it answers when a checkpoint covers the entry (rekor-tiles asks
/// clients to wait at least 20 s).
const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read: an entry with its proof and checkpoint is a few kilobytes.
const MAX_ANSWER: usize = 1024 * 1024;

/// Logs a signature over `sha256` by the certificate `leaf` (DER) in the log at `base`.
pub(crate) async fn log_entry(
    http: &reqwest::Client,
    base: &str,
    sha256: &[u8; 32],
    signature: &[u8],
    leaf: &[u8],
) -> Result<TlogEntry, SignError> {
    let url = http::join(base, "/api/v2/log/entries");
    let body = serde_json::json!({"hashedRekordRequestV002": {
        "digest": BASE64.encode(sha256),
        "signature": {
            "content": BASE64.encode(signature),
            "verifier": {"x509Certificate": {"rawBytes": BASE64.encode(leaf)}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
        },
    }});
    let req = http.post(&url).timeout(TIMEOUT).header(reqwest::header::ACCEPT, "application/json").json(&body);
    tracing::debug!(url, "logging the signature");
    let answer = http::send(Service::TransparencyLog, &url, req, MAX_ANSWER).await?;
    if !(200..300).contains(&answer.status) {
        return Err(http::refused(Service::TransparencyLog, &url, &answer, hint(&answer)));
    }
    let bad = |detail: String| SignError::BadAnswer { service: Service::TransparencyLog, url: url.clone(), detail };
    let entry: TlogEntry =
        serde_json::from_slice(&answer.body).map_err(|e| bad(format!("not a TransparencyLogEntry: {e}")))?;
    check_body(&entry, sha256, signature, leaf).map_err(bad)?;
    Ok(entry)
}

/// Asks the log at `base` to keep a logged statement whole (sig-share's `POST /api/v1/statements`),
/// so the log alone can tell its story: a Rekor v2 entry records only the digest it signs.
pub(crate) async fn keep_statement(
    http: &reqwest::Client,
    base: &str,
    envelope: &sig_share_verify::bundle::DsseEnvelope,
) -> Result<(), SignError> {
    let url = http::join(base, "/api/v1/statements");
    let req = http.post(&url).timeout(Duration::from_secs(20)).json(envelope);
    let answer = http::send(Service::TransparencyLog, &url, req, MAX_ANSWER).await?;
    if !(200..300).contains(&answer.status) {
        return Err(http::refused(Service::TransparencyLog, &url, &answer, hint(&answer)));
    }
    Ok(())
}

fn hint(answer: &Answer) -> Option<&'static str> {
    match answer.status {
        429 | 503 => Some("the log is busy; try again in a few seconds"),
        _ => None,
    }
}

/// The entry the log answered with records this signing: a log that answered with another
/// entry's proof would make a bundle every verifier refuses.
fn check_body(entry: &TlogEntry, sha256: &[u8; 32], signature: &[u8], leaf: &[u8]) -> Result<(), String> {
    if entry.kind_version.kind != "hashedrekord" || entry.kind_version.version != "0.0.2" {
        return Err(format!(
            "an entry of kind {} {}, not hashedrekord 0.0.2",
            entry.kind_version.kind, entry.kind_version.version
        ));
    }
    let body: serde_json::Value =
        serde_json::from_slice(&entry.canonicalized_body).map_err(|e| format!("the entry's body is not JSON: {e}"))?;
    let spec = &body["spec"]["hashedRekordV002"];
    let same = |value: &serde_json::Value, want: &[u8]| {
        value.as_str().and_then(|s| BASE64.decode(s).ok()).is_some_and(|got| got == want)
    };
    if !same(&spec["data"]["digest"], sha256)
        || !same(&spec["signature"]["content"], signature)
        || !same(&spec["signature"]["verifier"]["x509Certificate"]["rawBytes"], leaf)
    {
        return Err("the logged entry records another digest, signature or certificate than the one sent".into());
    }
    if entry.inclusion_proof.as_ref().is_none_or(|p| p.checkpoint.is_none()) {
        return Err("the entry has no inclusion proof with a checkpoint".into());
    }
    Ok(())
}
