//! `sig-share lookup`: what the transparency log knows about some bytes. Every signing of media
//! logs a signature over the content's SHA-256 beside its provenance statement, so a copy whose
//! C2PA manifest a platform stripped (its bytes otherwise unchanged) can still be traced. Each
//! entry the log's digest index returns is verified here, offline from that point: its inclusion
//! proof under a checkpoint signed by a trusted log, the signature over exactly these bytes, and
//! the certificate's chain and SCT at the time the certificate log saw it issued.

use std::path::PathBuf;
use std::process::ExitCode;

use std::fmt::Write as _;

use clap::Args;
use serde_json::{Value, json};
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::verdict::{Signer, Verified};

use crate::log_reads::{self, LogReader};

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
    /// Read at most this many entries (and as many statements) from the log; a longer list is
    /// reported as partial.
    #[arg(long, value_name = "N", default_value_t = crate::log_reads::LOOKUP_BUDGET)]
    pub max_entries: usize,
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

Anyone can log entries under any digest, so the log answers a page at a time in log order and
lookup reads on (up to --max-entries): entries that verify are listed first, those that do not
are counted, and a list longer than was read is reported as partial (`\"partial\": true`).

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

    let reader = LogReader::new(&log)?;
    let path = format!("/api/v1/index/sha256:{}", hex::encode(sha256));
    let (entries, entries_partial) = reader.paged(&path, None, args.max_entries)?;
    let root = &config.trusted_root;
    let mut found: Vec<Found> = entries
        .iter()
        .map(|entry| Found {
            index: entry["logIndex"].as_str().and_then(|i| i.parse().ok()),
            result: log_reads::verify_entry(entry, &sha256, &sig_share_media::judge::anyone(), root, now),
        })
        .collect();
    // The provenance statements about these bytes: what was done, with which tool or device.
    // A log without sig-share's statement store has none to give.
    let (mut statements, statements_partial) =
        reader.statements_about(&sha256, None, args.max_entries, root, now).unwrap_or_else(|e| {
            tracing::debug!(error = %e, "the log keeps no statements");
            (Vec::new(), false)
        });
    // What verifies first (oldest first within each): entries anyone could log under these
    // bytes with a throwaway key come after, and never hide a genuine signer.
    found.sort_by_key(|f| f.result.is_err());
    statements.sort_by_key(|s| s.is_err());
    let partial = entries_partial || statements_partial;
    let verified = found.iter().filter(|f| f.result.is_ok()).count() + statements.iter().filter(|s| s.is_ok()).count();

    if args.json {
        let entries: Vec<Value> = found.iter().map(found_json).collect();
        let statements: Vec<Value> = statements.iter().map(log_reads::statement_json).collect();
        let out = json!({
            "artifact": name,
            "sha256": hex::encode(sha256),
            "log": log,
            "found": verified > 0,
            "entries": entries,
            "statements": statements,
            "partial": partial,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if found.is_empty() && statements.is_empty() {
        println!("{name}: the log at {log} knows nothing about these bytes");
        if crate::media_cmd::is_media(std::path::Path::new(&name)) {
            println!("  (a signed copy carrying its C2PA manifest is read with `sig-share provenance {name}`)");
        }
    } else {
        let mut out = String::new();
        let n = found.len() + statements.len();
        writeln!(out, "{name}: {n} entr{} in {log}", if n == 1 { "y" } else { "ies" })?;
        // Entries that do not verify are anyone's: a few are shown, the rest counted.
        const SHOWN_UNVERIFIED: usize = 5;
        let mut unverified = 0;
        for f in &found {
            let index = f.index.map_or_else(|| "?".into(), |i| i.to_string());
            match &f.result {
                Ok(v) => {
                    let (who, when) = signer_and_time(v);
                    writeln!(out, "  ✓ entry {index}: signed by {who} at {when}, inclusion proven")?;
                }
                Err(reason) => {
                    unverified += 1;
                    if unverified <= SHOWN_UNVERIFIED {
                        writeln!(out, "  ✗ entry {index}: not verified: {reason}")?;
                    }
                }
            }
        }
        for s in &statements {
            match s {
                Ok(s) => {
                    let (who, when) = signer_and_time(&s.verified);
                    let p = &s.statement.predicate;
                    writeln!(out, "  ✓ entry {}: provenance: {} by {who} at {when}", s.index, p.actions.join(", "))?;
                    if let Some(device) = &p.device {
                        writeln!(out, "      device: {device}")?;
                    }
                    for parent in &p.parents {
                        let at = parent.log_index.map(|i| format!(" (log entry {i})")).unwrap_or_default();
                        writeln!(out, "      made from sha256:{}{at}", parent.digest.sha256)?;
                    }
                }
                Err(reason) => {
                    unverified += 1;
                    if unverified <= SHOWN_UNVERIFIED {
                        writeln!(out, "  ✗ a provenance statement: not verified: {reason}")?;
                    }
                }
            }
        }
        if unverified > SHOWN_UNVERIFIED {
            writeln!(out, "  … and {} more that do not verify", unverified - SHOWN_UNVERIFIED)?;
        }
        if partial {
            writeln!(
                out,
                "  (partial: the log lists more than the {} read; pass --max-entries to read further)",
                args.max_entries
            )?;
        }
        print!("{}", crate::media_judge::terminal_safe(&out));
    }
    Ok(if verified > 0 { ExitCode::SUCCESS } else { ExitCode::from(NOT_FOUND) })
}

/// Who signed (identity and issuer) and when, by the certificate's SCT.
fn signer_and_time(v: &Verified) -> (String, String) {
    let who = match &v.signer {
        Signer::Identity { identity, issuer, .. } => format!("{identity} ({issuer})"),
        Signer::Key { kind } => format!("a {kind} key"),
    };
    (who, v.times.first().map(|t| format_rfc3339(t.time)).unwrap_or_default())
}

fn found_json(f: &Found) -> Value {
    match &f.result {
        Ok(v) => log_reads::verified_json(f.index, v),
        Err(reason) => json!({ "log_index": f.index, "verified": false, "reason": reason }),
    }
}
