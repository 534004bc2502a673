//! sig-share in the browser. The page hands a file's bytes to [`Verifier::judge`], which reads
//! the C2PA manifest and checks every step exactly as `sig-share provenance --json` does (the
//! same `sig_share_media::judge` code), against the deployment's pinned trusted root; the file
//! never leaves the device. For a file without a manifest, the page asks the log about its
//! digest and checks each answer here ([`Verifier::check_entry`], [`Verifier::check_statement`]).
//!
//! Every answer is JSON text: the page renders it, and tests compare it with the command line's.

use sig_share_media::judge::{self, Colour};
use sig_share_media::logged::{self, LoggedStatement};
use sig_share_media::{Anchors, ReadError};
use sig_share_verify::ClientTrustConfig;
use sig_share_verify::trust::TrustedRoot;
use wasm_bindgen::prelude::*;

/// A verifier for one deployment: its trusted root and C2PA trust anchors.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Verifier {
    root: TrustedRoot,
    anchors: Anchors,
}

#[wasm_bindgen]
impl Verifier {
    /// A verifier trusting the deployment's ClientTrustConfig (JSON) and, beyond its own CA and
    /// TSA roots, the C2PA trust anchors in `c2pa_anchors_pem` (may be empty). With a
    /// `witness_policy` (the C2SP tlog-policy the deployment publishes; empty for none), every
    /// log checkpoint a verdict relies on must carry its quorum of witness cosignatures.
    #[wasm_bindgen(constructor)]
    pub fn new(trust_config_json: &str, c2pa_anchors_pem: &str, witness_policy: &str) -> Result<Verifier, JsError> {
        let mut config = ClientTrustConfig::from_json(trust_config_json)
            .map_err(|e| JsError::new(&format!("the trust config: {e}")))?;
        if !witness_policy.trim().is_empty() {
            let policy = sig_share_verify::trust::WitnessPolicy::parse(witness_policy)
                .map_err(|e| JsError::new(&format!("the witness policy: {e}")))?;
            config.trusted_root.witnesses = Some(policy);
        }
        let mut anchors = Anchors::from_root(&config.trusted_root);
        if !c2pa_anchors_pem.trim().is_empty() {
            // The CLI's rule (crates/cli/src/media_cmd.rs): the one lenient PEM reader, then
            // RFC 7468's shape for c2pa (issue 14 #4).
            let certificates = sig_share_pem::canonical(c2pa_anchors_pem, "CERTIFICATE")
                .map_err(|e| JsError::new(&format!("the C2PA trust anchors: {e}")))?;
            anchors.add_pem(&certificates).map_err(|e| JsError::new(&format!("the C2PA trust anchors {e}")))?;
        }
        Ok(Verifier { root: config.trusted_root, anchors })
    }

    /// Judges a media file named `name` (its type is taken from the name, else its bytes) at
    /// `now` (Unix seconds): the JSON `sig-share provenance --json` prints, with `verdict`
    /// green, amber, red or grey.
    pub fn judge(&self, name: &str, bytes: &[u8], now: f64) -> String {
        judge_file(&self.root, &self.anchors, name, bytes, now as i64).to_string()
    }

    /// Checks one entry the log's digest index returned for content with SHA-256 `sha256_hex`:
    /// `{verified, log_index, identity, issuer, signed_at, …}`, or `{verified: false, reason}`.
    pub fn check_entry(&self, entry_json: &str, sha256_hex: &str, now: f64) -> String {
        let checked = serde_json::from_str::<serde_json::Value>(entry_json)
            .map_err(|e| format!("the entry is not JSON: {e}"))
            .and_then(|entry| self.entry_over(&entry, &digest_of(sha256_hex)?, now));
        checked.unwrap_or_else(|reason| serde_json::json!({ "verified": false, "reason": reason })).to_string()
    }

    /// Checks one `{logEntry, statement}` the log keeps: the statement with who signed it and
    /// when, or `{verified: false, reason}`.
    pub fn check_statement(&self, item_json: &str, now: f64) -> String {
        let checked = serde_json::from_str::<serde_json::Value>(item_json)
            .map_err(|e| format!("the answer is not JSON: {e}"))
            .and_then(|item| LoggedStatement::verify(&item, &self.root, now as i64));
        logged::statement_json(&checked).to_string()
    }
}

/// The explorer's checks: what the log serves, verified against the same trusted root.
#[wasm_bindgen]
impl Verifier {
    /// Checks a checkpoint as the log serves it: `{verified, origin, size, root, log_url,
    /// signatures: [{name, key_id, trusted}], witnessed}` (`witnessed`: "witnessed by k of n",
    /// or null without a witness policy), or `{verified: false, reason}` at `now` (Unix seconds).
    pub fn check_checkpoint(&self, text: &str, now: f64) -> String {
        match sig_share_verify::tlog::verify_checkpoint(text, &self.root, now as i64) {
            Ok(c) => serde_json::json!({
                "verified": true,
                "origin": c.origin,
                "size": c.size,
                "root": hex::encode(c.root.0),
                "log_url": c.log_url,
                "witnessed": c.witnessed,
                "signatures": c.signatures.iter().map(|(name, key_id, trusted)| serde_json::json!({
                    "name": name, "key_id": format!("{key_id:08x}"), "trusted": trusted,
                })).collect::<Vec<_>>(),
            }),
            Err(e) => serde_json::json!({ "verified": false, "reason": e.to_string() }),
        }
        .to_string()
    }

    /// Checks any hashedrekord entry the log serves (by index, say) as what its body records:
    /// a keyless signature over the digest it names, proven in a trusted log. As
    /// [`Verifier::check_entry`], with `sha256` (the digest signed) added.
    pub fn check_log_entry(&self, entry_json: &str, now: f64) -> String {
        let entry = serde_json::from_str::<serde_json::Value>(entry_json).unwrap_or_default();
        let digest = entry["canonicalizedBody"]
            .as_str()
            .and_then(base64_decode)
            .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
            .and_then(|body| body["spec"]["hashedRekordV002"]["data"]["digest"].as_str().and_then(base64_decode))
            .and_then(|d| <[u8; 32]>::try_from(d).ok());
        let Some(digest) = digest else {
            return serde_json::json!({ "verified": false, "reason": "not a hashedrekord 0.0.2 entry" }).to_string();
        };
        let mut checked = self
            .entry_over(&entry, &digest, now)
            .unwrap_or_else(|reason| serde_json::json!({ "verified": false, "reason": reason }));
        checked["sha256"] = hex::encode(digest).into();
        checked.to_string()
    }
}

impl Verifier {
    /// An entry verified as a keyless signature over `digest` in a trusted log, as JSON.
    fn entry_over(&self, entry: &serde_json::Value, digest: &[u8; 32], now: f64) -> Result<serde_json::Value, String> {
        let index = entry["logIndex"].as_str().and_then(|i| i.parse::<u64>().ok());
        logged::verify_entry(entry, digest, &judge::anyone(), &self.root, now as i64)
            .map(|verified| logged::verified_json(index, &verified))
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// SHA-256 of `bytes`, hex: what the page asks the log about.
#[wasm_bindgen]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// Judges a file; unreadable files and files without provenance are answered too.
fn judge_file(root: &TrustedRoot, anchors: &Anchors, name: &str, bytes: &[u8], now: i64) -> serde_json::Value {
    match sig_share_media::read_bytes(name, bytes, None, Some(anchors)) {
        Ok(report) => {
            let outcome = judge::judge(report, root, None, now);
            let mut json = outcome.to_json(name);
            // The claims' thumbnails, for the timeline: data URLs the page shows as images.
            for step in json["steps"].as_array_mut().into_iter().flatten() {
                let label = step["manifest"].as_str().unwrap_or_default();
                let manifest = outcome.report.manifests.iter().find(|m| m.label == label);
                if let Some((format, bytes)) = manifest.and_then(|m| m.thumbnail.as_ref()) {
                    step["thumbnail"] = format!("data:{format};base64,{}", base64_encode(bytes)).into();
                }
            }
            json
        }
        Err(ReadError::NoManifest) => judge::unsigned_json(name, judge::NO_MANIFEST),
        // Over sig-share's structural caps: refused before c2pa read it (sig_share_media::limits).
        Err(ReadError::Media(e @ sig_share_media::MediaError::TooComplex { .. })) => serde_json::json!({
            "file": name,
            "verified": false,
            "verdict": Colour::Red,
            "reason": format!("its structure is too complex to check: {e}"),
        }),
        Err(ReadError::Media(e)) => serde_json::json!({
            "file": name,
            "verified": false,
            "verdict": Colour::Red,
            "reason": format!("its C2PA manifest could not be read (truncated or corrupt?): {e}"),
        }),
    }
}

fn digest_of(hex_text: &str) -> Result<[u8; 32], String> {
    hex::decode(hex_text).ok().and_then(|d| d.try_into().ok()).ok_or_else(|| "not a SHA-256 in hex".to_owned())
}
