//! `sig-share lookup`: what the transparency log knows about some bytes. Every signing of media
//! logs a signature over the content's SHA-256 beside its provenance statement, so a copy whose
//! C2PA manifest a platform stripped (its bytes otherwise unchanged) can still be traced. Each
//! entry the log's digest index returns is verified here, offline from that point: its inclusion
//! proof under a checkpoint signed by a trusted log, the signature over exactly these bytes, and
//! the certificate's chain and SCT at the time the certificate log saw it issued.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use serde_json::{Value, json};
use sig_share_verify::ClientTrustConfig;
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::verdict::{self, Artifact, Signer, Verified};

use crate::artifact::ArtifactArg;

/// Exit status for "the log knows nothing it can prove about these bytes".
const NOT_FOUND: u8 = 1;

/// `sig-share lookup`.
#[derive(Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct LookupArgs {
    /// The file whose bytes to look up, or sha256:<64 hex digits>.
    #[arg(value_name = "FILE|sha256:HEX")]
    pub artifact: String,
    /// The transparency log to ask [default: the trust config's].
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    /// A ClientTrustConfig file [default: the pinned one].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

const AFTER_HELP: &str = "\
Asks the log's digest index for entries signed over these exact bytes (a media file's content as it
was signed: for a photo, the bytes without its C2PA manifest, which is what a platform that strips
manifests usually leaves) and verifies each against the pinned trusted root: inclusion proof and
checkpoint, signature, certificate chain, and the time the certificate log saw the certificate
issued (a log entry carries no time stamp). Then `sig-share provenance` tells the rest where a
manifest survives.

Exit status: 0 when at least one entry verifies, 1 when the log knows nothing it can prove about
these bytes, 2 when the lookup could not run.";

/// One entry as judged.
struct Found {
    index: Option<u64>,
    result: Result<Verified, String>,
}

/// Runs `sig-share lookup`.
pub fn run(args: LookupArgs) -> anyhow::Result<ExitCode> {
    let (name, sha256) = match ArtifactArg::parse(&args.artifact)? {
        ArtifactArg::File(path) => (path.display().to_string(), crate::artifact::sha256_file(&path)?),
        ArtifactArg::Sha256(d) => (format!("sha256:{}", hex::encode(d)), d),
    };
    let path = args.trust_config.clone().map_or_else(crate::trust_cmd::default_path, Ok)?;
    let config = crate::sign_cmd::read_trust_config(&path)?;
    let now = sig_share_sign::unix_now();
    let log = match &args.log {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => sig_share_sign::Services::from_signing_config(&config.signing_config, now)?.tlog,
    };

    let url = format!("{log}/api/v1/index/sha256:{}", hex::encode(sha256));
    let rt = tokio::runtime::Runtime::new()?;
    let answer: Value = rt.block_on(async {
        let response =
            sig_share_sign::http_client()?.get(&url).send().await.with_context(|| format!("asking {log}"))?;
        let status = response.status();
        let body = response.text().await.with_context(|| format!("reading the answer of {log}"))?;
        anyhow::ensure!(status.is_success(), "{log} answered {status}: {body}");
        serde_json::from_str::<Value>(&body).with_context(|| format!("{log}'s answer is not JSON"))
    })?;

    let anyone = Policy::Identity { identity: Matcher::regex(".+")?, issuer: Matcher::regex(".*")? };
    let found: Vec<Found> = answer["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| Found {
            index: entry["logIndex"].as_str().and_then(|i| i.parse().ok()),
            result: judge(entry, &sha256, &anyone, &config, now),
        })
        .collect();
    let truncated = answer["truncated"].as_bool().unwrap_or(false);
    let verified = found.iter().filter(|f| f.result.is_ok()).count();

    if args.json {
        let entries: Vec<Value> = found.iter().map(found_json).collect();
        let out = json!({
            "artifact": name,
            "sha256": hex::encode(sha256),
            "log": log,
            "found": verified > 0,
            "entries": entries,
            "truncated": truncated,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if found.is_empty() {
        println!("{name}: the log at {log} knows nothing about these bytes");
        if crate::media_cmd::is_media(std::path::Path::new(&name)) {
            println!("  (a signed copy carrying its C2PA manifest is read with `sig-share provenance {name}`)");
        }
    } else {
        println!("{name}: {} entr{} in {log}", found.len(), if found.len() == 1 { "y" } else { "ies" });
        for f in &found {
            let index = f.index.map_or_else(|| "?".into(), |i| i.to_string());
            match &f.result {
                Ok(v) => {
                    let (who, issuer) = match &v.signer {
                        Signer::Identity { identity, issuer, .. } => (identity.clone(), issuer.clone()),
                        Signer::Key { kind } => (format!("a {kind} key"), String::new()),
                    };
                    let when = v.times.first().map(|t| format_rfc3339(t.time)).unwrap_or_default();
                    println!("  ✓ entry {index}: signed by {who} ({issuer}) at {when}, inclusion proven");
                }
                Err(reason) => println!("  ✗ entry {index}: not verified: {reason}"),
            }
        }
        if truncated {
            println!("  (the log returned only the first entries)");
        }
    }
    Ok(if verified > 0 { ExitCode::SUCCESS } else { ExitCode::from(NOT_FOUND) })
}

/// Verifies one entry of the index's answer as what it says: a hashedrekord over `sha256` by a
/// keyless certificate, proven in a trusted log.
fn judge(
    entry: &Value,
    sha256: &[u8; 32],
    policy: &Policy,
    config: &ClientTrustConfig,
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
    verdict::verify_logged(&bundle, &Artifact::from_sha256(*sha256), policy, &config.trusted_root, now)
        .map_err(|e| e.to_string())
}

fn found_json(f: &Found) -> Value {
    match &f.result {
        Ok(v) => {
            let (identity, issuer) = match &v.signer {
                Signer::Identity { identity, issuer, .. } => (Some(identity.as_str()), Some(issuer.as_str())),
                Signer::Key { .. } => (None, None),
            };
            json!({
                "log_index": f.index,
                "verified": true,
                "identity": identity,
                "issuer": issuer,
                "signed_at": v.times.first().map(|t| format_rfc3339(t.time)),
                "time_source": "sct",
                "tree_size": v.log_entries.first().map(|e| e.tree_size),
            })
        }
        Err(reason) => json!({ "log_index": f.index, "verified": false, "reason": reason }),
    }
}
