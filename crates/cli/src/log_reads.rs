//! Reading what the transparency log knows, and verifying it offline from there: entries from
//! the digest index (a signature over some bytes' SHA-256) and the provenance statements the log
//! keeps (each signed by an entry over its DSSE encoding). Nothing the log says is taken on its
//! word: every entry is checked against the pinned trusted root (inclusion proof under a signed
//! checkpoint, signature, certificate chain, and the certificate log's SCT for the time, since a
//! log entry carries no time stamp).

use anyhow::Context as _;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sig_share_media::Statement;
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::trust::TrustedRoot;
use sig_share_verify::verdict::{self, Artifact, Verified};

/// A log to read from, with the runtime and HTTP client to do it.
pub struct LogReader {
    pub url: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl LogReader {
    /// A reader of the log at `url`.
    pub fn new(url: &str) -> anyhow::Result<LogReader> {
        Ok(LogReader {
            url: url.trim_end_matches('/').to_owned(),
            runtime: tokio::runtime::Runtime::new()?,
            http: sig_share_sign::http_client()?,
        })
    }

    /// GETs `path` as JSON; `None` for a 404.
    pub fn get(&self, path: &str) -> anyhow::Result<Option<Value>> {
        let (log, url) = (&self.url, format!("{}{path}", self.url));
        self.runtime.block_on(async {
            let response = self.http.get(&url).send().await.with_context(|| format!("asking {log}"))?;
            let status = response.status();
            let body = response.text().await.with_context(|| format!("reading the answer of {log}"))?;
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            anyhow::ensure!(status.is_success(), "{log} answered {status}: {body}");
            serde_json::from_str(&body).map(Some).with_context(|| format!("{log}'s answer is not JSON"))
        })
    }

    /// The statement entry `index` signs, if the log keeps one: verified, or why not. `Err` when
    /// the log could not be asked.
    pub fn statement_at(
        &self,
        index: u64,
        root: &TrustedRoot,
        now: i64,
    ) -> anyhow::Result<Option<Result<LoggedStatement, String>>> {
        let Some(item) = self.get(&format!("/api/v1/statements/entry/{index}"))? else { return Ok(None) };
        Ok(Some(LoggedStatement::verify(&item, root, now).and_then(|logged| {
            if logged.index == index {
                Ok(logged)
            } else {
                Err(format!("the log answered for entry {index} with entry {}", logged.index))
            }
        })))
    }

    /// The statements the log keeps about content with this SHA-256, each verified (or why not).
    pub fn statements_about(
        &self,
        sha256: &[u8; 32],
        root: &TrustedRoot,
        now: i64,
    ) -> anyhow::Result<Vec<Result<LoggedStatement, String>>> {
        let answer = self.get(&format!("/api/v1/statements/subject/sha256:{}", hex::encode(sha256)))?;
        let items = answer.as_ref().and_then(|a| a["entries"].as_array()).cloned().unwrap_or_default();
        Ok(items
            .iter()
            .map(|item| {
                let logged = LoggedStatement::verify(item, root, now)?;
                if logged.statement.content_sha256() != hex::encode(sha256) {
                    return Err(format!("log entry {}'s statement is about other content", logged.index));
                }
                Ok(logged)
            })
            .collect())
    }
}

/// Any identity a trusted CA certified: the log's entries are shown for who they are.
pub fn anyone() -> Policy {
    Policy::Identity {
        identity: Matcher::regex(".+").expect("a valid pattern"),
        issuer: Matcher::regex(".*").expect("a valid pattern"),
    }
}

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
        let verified = verify_entry(entry, &digest, &anyone(), root, now)
            .map_err(|e| format!("the entry signing the statement does not verify: {e}"))?;
        let statement = Statement::from_json(&payload)?;
        Ok(LoggedStatement { index, statement, verified })
    }
}
