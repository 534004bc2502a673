//! `sig-share verify` and the conformance suite's `verify-bundle`: check a bundle offline against
//! a pinned trusted root and an identity policy that must be given.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::verdict::{self, Artifact, Signer, TimeSource, Verified};
use sig_share_verify::{Bundle, TrustedRoot};

use crate::artifact::{ArtifactArg, sha256_file};

/// Exit code of a bundle that does not verify (2 means the check could not run at all).
pub const NOT_VERIFIED: u8 = 1;

/// Verify a signed file offline: its bundle, the certificate and its identity, the time stamps
/// and the transparency log's proofs, all against a pinned trusted root.
///
/// Exit codes: 0 verified; 1 not verified (the bundle is invalid, tampered with, or signed by
/// someone else); 2 the check could not run (a missing file, no trusted root, bad arguments).
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("who").required(true).multiple(true)
    .args(["certificate_identity", "certificate_identity_regexp", "key"])))]
pub struct VerifyArgs {
    /// The signed file, or `sha256:<hex>` of it.
    #[arg(value_name = "FILE|sha256:HEX")]
    pub artifact: String,
    /// The bundle (default: FILE.sigstore.json).
    #[arg(long, value_name = "PATH")]
    pub bundle: Option<PathBuf>,
    /// The identity that must have signed: an email, or a URI for CI workflows.
    #[arg(long, value_name = "ID", conflicts_with_all = ["certificate_identity_regexp", "key"])]
    pub certificate_identity: Option<String>,
    /// The identity as a regular expression matching all of it.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that must have vouched for the identity (e.g. https://accounts.google.com).
    #[arg(long, value_name = "URL", conflicts_with_all = ["certificate_oidc_issuer_regexp", "key"])]
    pub certificate_oidc_issuer: Option<String>,
    /// The OIDC issuer as a regular expression matching all of it.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// Verify a managed-key signature with this PEM public key instead of an identity.
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// The trusted root (and, for media, the further C2PA trust anchors).
    #[command(flatten)]
    pub trust: crate::media_cmd::TrustArgs,
    /// Media: read the manifest from this .c2pa sidecar [default: FILE.c2pa when it exists].
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `verify-bundle`, exactly as the sigstore-conformance CLI protocol calls it.
#[derive(Args, Debug)]
pub struct VerifyBundleArgs {
    /// Verify against the public-good staging instance (not available offline: refused).
    #[arg(long)]
    pub staging: bool,
    /// The bundle.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The expected identity.
    #[arg(long, requires = "certificate_oidc_issuer", required_unless_present = "key")]
    pub certificate_identity: Option<String>,
    /// The expected OIDC issuer.
    #[arg(long)]
    pub certificate_oidc_issuer: Option<String>,
    /// A PEM public key, for managed-key bundles.
    #[arg(long, conflicts_with = "certificate_identity")]
    pub key: Option<PathBuf>,
    /// The trusted root (default: the pinned trust config's).
    #[arg(long)]
    pub trusted_root: Option<PathBuf>,
    /// The artifact, or `sha256:<hex>`.
    #[arg(value_name = "FILE|sha256:HEX")]
    pub artifact: String,
}

/// Runs `sig-share verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let artifact = ArtifactArg::parse(&args.artifact)?;
    if let ArtifactArg::File(file) = &artifact
        && args.bundle.is_none()
        && crate::media_cmd::is_media(file)
        // A media file is judged by its C2PA manifest (embedded, or a sidecar beside it); only a
        // bundle alone beside it (`sign --blob`) makes it a plain file.
        && (!sigstore_json_beside(file).is_file() || args.manifest.is_some() || crate::media_cmd::sidecar_beside(file).is_file())
    {
        return crate::media_cmd::run_verify(&args, file);
    }
    let bundle_path = match (&args.bundle, &artifact) {
        (Some(b), _) => b.clone(),
        (None, ArtifactArg::File(f)) => sigstore_json_beside(f),
        (None, ArtifactArg::Sha256(_)) => anyhow::bail!("with sha256:<hex> instead of a file, give --bundle"),
    };
    let policy = match &args.key {
        Some(pem) => key_policy(pem)?,
        None => {
            let identity =
                matcher(&args.certificate_identity, &args.certificate_identity_regexp, "--certificate-identity")?;
            let issuer = matcher(
                &args.certificate_oidc_issuer,
                &args.certificate_oidc_issuer_regexp,
                "--certificate-oidc-issuer",
            )?;
            Policy::Identity { identity, issuer }
        }
    };
    let root = load_root(args.trust.trusted_root.as_deref(), args.trust.trust_config.as_deref())?;
    let outcome = judge(&bundle_path, &artifact, &policy, &root)?;
    let name = match &artifact {
        ArtifactArg::File(f) => f.display().to_string(),
        ArtifactArg::Sha256(d) => format!("sha256:{}", hex::encode(d)),
    };
    report(&name, &outcome, args.json)?;
    Ok(match outcome.result {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(NOT_VERIFIED),
    })
}

/// Runs `verify-bundle`.
pub fn run_conformance(args: VerifyBundleArgs) -> anyhow::Result<ExitCode> {
    if args.staging {
        anyhow::bail!(
            "--staging needs the public-good staging trust root, which this offline build does not carry; pass --trusted-root"
        );
    }
    let artifact = ArtifactArg::parse(&args.artifact)?;
    let policy = match (&args.key, &args.certificate_identity, &args.certificate_oidc_issuer) {
        (Some(pem), _, _) => key_policy(pem)?,
        (None, Some(id), Some(issuer)) => {
            Policy::Identity { identity: Matcher::Exact(id.clone()), issuer: Matcher::Exact(issuer.clone()) }
        }
        _ => anyhow::bail!("give --certificate-identity and --certificate-oidc-issuer, or --key"),
    };
    let root = load_root(args.trusted_root.as_deref(), None)?;
    let outcome = judge(&args.bundle, &artifact, &policy, &root)?;
    match &outcome.result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(reason) => {
            eprintln!("not verified: {reason}");
            Ok(ExitCode::from(NOT_VERIFIED))
        }
    }
}

/// What a verification found, with the digest it was made for.
pub struct Outcome {
    /// SHA-256 of the artifact.
    pub sha256: [u8; 32],
    /// The verdict: what was established, or why not.
    pub result: Result<Verified, String>,
}

/// Reads, hashes and verifies. Errors are for checks that could not run; a bundle that does not
/// hold is an `Outcome` with a reason.
pub fn judge(
    bundle_path: &Path,
    artifact: &ArtifactArg,
    policy: &Policy,
    root: &TrustedRoot,
) -> anyhow::Result<Outcome> {
    let bundle_text =
        std::fs::read(bundle_path).with_context(|| format!("reading the bundle {}", bundle_path.display()))?;
    // Ed25519 signs the message itself, so a managed Ed25519 key needs the bytes, not a digest.
    let needs_bytes = matches!(policy, Policy::Key { key: sig_share_verify::crypto::PublicKey::Ed25519(_), .. });
    let (sha256, bytes) = match artifact {
        ArtifactArg::Sha256(d) => (*d, None),
        ArtifactArg::File(f) if needs_bytes => {
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            (Artifact::from_bytes(&bytes).sha256, Some(bytes))
        }
        ArtifactArg::File(f) => (sha256_file(f)?, None),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let result = Bundle::from_json(&bundle_text).map_err(|e| e.to_string()).and_then(|bundle| {
        let artifact = Artifact { sha256, bytes: bytes.as_deref() };
        verdict::verify(&bundle, &artifact, policy, root, now).map_err(|e| e.to_string())
    });
    Ok(Outcome { sha256, result })
}

/// `FILE.sigstore.json`.
pub fn sigstore_json_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sigstore.json");
    PathBuf::from(name)
}

pub(crate) fn matcher(exact: &Option<String>, regex: &Option<String>, flag: &str) -> anyhow::Result<Matcher> {
    match (exact, regex) {
        (Some(v), None) => Ok(Matcher::Exact(v.clone())),
        (None, Some(r)) => Ok(Matcher::regex(r)?),
        _ => anyhow::bail!(
            "give {flag} (or {flag}-regexp): verifying without saying who must have signed would accept anyone"
        ),
    }
}

pub(crate) fn key_policy(pem: &Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(pem).with_context(|| format!("reading the key {}", pem.display()))?;
    Policy::key_from_pem(&text).with_context(|| format!("in {}", pem.display()))
}

/// The trusted root: a TrustedRoot file, a ClientTrustConfig file, or the pinned trust config.
pub fn load_root(trusted_root: Option<&Path>, trust_config: Option<&Path>) -> anyhow::Result<TrustedRoot> {
    if let Some(path) = trusted_root {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return TrustedRoot::from_json(&text).with_context(|| format!("the trusted root in {}", path.display()));
    }
    let path = trust_config.map(Path::to_path_buf).map_or_else(crate::trust_cmd::default_path, Ok)?;
    Ok(crate::sign_cmd::read_trust_config(&path)?.trusted_root)
}

fn report(name: &str, outcome: &Outcome, json: bool) -> anyhow::Result<()> {
    let verified = match &outcome.result {
        Ok(v) => v,
        Err(reason) => {
            if json {
                let out = json!({"verified": false, "artifact": name, "sha256": hex::encode(outcome.sha256), "reason": reason});
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                eprintln!("✗ {name} is NOT verified: {reason}");
            }
            return Ok(());
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&verified_json(name, &outcome.sha256, verified))?);
        return Ok(());
    }
    println!("✓ {name} is verified");
    match &verified.signer {
        Signer::Identity { identity, issuer, authority, not_before, not_after, .. } => {
            println!("  signed by    {identity}");
            println!("  vouched by   {issuer}");
            println!(
                "  certificate  from {authority}, valid {} to {}",
                format_rfc3339(*not_before),
                format_rfc3339(*not_after)
            );
        }
        Signer::Key { kind } => println!("  signed by    the given {kind} key"),
    }
    for t in &verified.times {
        let who = match &t.source {
            TimeSource::Timestamp(tsa) => format!("time stamp by {tsa}"),
            TimeSource::Log(log) => format!("integrated by {log}"),
            TimeSource::CertificateLog(log) => format!("certificate issued, by the SCT of {log}"),
        };
        println!("  signed at    {} ({who})", format_rfc3339(t.time));
    }
    for e in &verified.log_entries {
        if e.tree_size > 0 {
            println!(
                "  logged       {} entry {} (proof checked up to a checkpoint of size {})",
                e.log_url, e.index, e.tree_size
            );
            if let Some(w) = &e.witnessed {
                println!("  witnessed    the checkpoint is {w}");
            }
        } else {
            println!("  logged       {} entry {} (the log's signed promise)", e.log_url, e.index);
        }
    }
    if let Some(t) = &verified.payload_type {
        println!("  envelope     DSSE, {t}");
    }
    Ok(())
}

fn verified_json(name: &str, sha256: &[u8; 32], v: &Verified) -> serde_json::Value {
    let signer = match &v.signer {
        Signer::Identity { identity, issuer, authority, not_before, not_after, extensions } => json!({
            "type": "identity",
            "identity": identity,
            "issuer": issuer,
            "certificate_authority": authority,
            "not_before": format_rfc3339(*not_before),
            "not_after": format_rfc3339(*not_after),
            "extensions": extensions.iter().map(|(oid, value)| json!({"oid": oid, "value": value})).collect::<Vec<_>>(),
        }),
        Signer::Key { kind } => json!({"type": "key", "key_type": kind}),
    };
    let times: Vec<_> = v
        .times
        .iter()
        .map(|t| match &t.source {
            TimeSource::Timestamp(tsa) => {
                json!({"time": format_rfc3339(t.time), "source": "rfc3161", "authority": tsa})
            }
            TimeSource::Log(log) => json!({"time": format_rfc3339(t.time), "source": "tlog", "log": log}),
            TimeSource::CertificateLog(log) => json!({"time": format_rfc3339(t.time), "source": "sct", "log": log}),
        })
        .collect();
    let entries: Vec<_> = v
        .log_entries
        .iter()
        .map(|e| {
            json!({"log": e.log_url, "index": e.index, "tree_size": e.tree_size, "origin": e.origin, "kind": e.kind,
                   "witnessed": e.witnessed})
        })
        .collect();
    json!({
        "verified": true,
        "artifact": name,
        "sha256": hex::encode(sha256),
        "signer": signer,
        "times": times,
        "log_entries": entries,
        "dsse_payload_type": v.payload_type,
        "scts": v.scts,
    })
}
