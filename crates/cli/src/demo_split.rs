//! The demo's split view caught: the transparency log's data directory copied and grown two ways
//! under one key and origin, as an operator (or a thief of its key) would to show two histories.
//! The honest copy grows and its witness cosigns; the other copy asks the same witness, which
//! refuses and keeps the two conflicting checkpoints as evidence; published without the witness,
//! the copy's checkpoint is refused by a verifier that pinned the witness policy.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use sig_share_log::embedded::DataDir;
use sig_share_log::log::LogError;
use sig_share_log::witnessing::Witnesses;
use sig_share_log::{Log, LogConfig, NewEntry};
use sig_share_server::Stack;
use sig_share_verify::TrustedRoot;

use crate::demo::say;

/// Runs the split view against the demo's running stack; what was caught, as JSON.
pub async fn split_view(
    stack: &Stack,
    dir: &Path,
    root: &TrustedRoot,
    json: bool,
) -> anyhow::Result<serde_json::Value> {
    let honest = &stack.tlog;
    let origin = honest.config().origin.clone();
    let policy = honest.config().witnesses.as_ref().context("the demo's log has no witness")?.policy().clone();
    say(json, "a split view: the log's data copied, and both copies grown differently under its one key");

    // The copy, taken while the log is idle (nothing is submitted during the demo's last steps).
    let fork_dir = dir.join("forked-tlog");
    copy_dir(&stack.data.join("tlog"), &fork_dir)?;

    // The honest log grows; its witness follows it.
    let grown = honest.submit(entry(b"the history everyone else sees")?).await?;
    say(json, format!("  the log grew to {} entries; its witness cosigned", grown.published.size));

    // The copy grows otherwise and asks the same witness.
    let witnesses = Witnesses::new(policy, Duration::from_secs(2)).map_err(anyhow::Error::msg)?;
    let fork = open_fork(&fork_dir, &origin, Some(witnesses))?;
    let submitted = tokio::spawn({
        let fork = fork.clone();
        let entry = entry(b"the history shown to one newsroom")?;
        async move { fork.submit(entry).await }
    });
    while fork.pool_depth() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refusal = match fork.sequence().await {
        Err(LogError::Unwitnessed(e)) => e,
        Ok(_) => anyhow::bail!("the witness cosigned a second history of the log"),
        Err(e) => return Err(e).context("growing the copy"),
    };
    let _ = submitted.await;
    say(
        json,
        format!("  the copy asked the witness: refused ({})", refusal.failures.first().map_or("", |f| f.1.as_str())),
    );
    let (evidence, _) = sig_share_witness::evidence::list(&stack.data.join("witness"))?;
    say(
        json,
        format!(
            "  the witness kept {} record(s) of evidence: two log-signed checkpoints that contradict",
            evidence.len()
        ),
    );
    drop(fork);

    // Published anyway, without the witness: a verifier that pinned the policy refuses it.
    let fork = open_fork(&fork_dir, &origin, None)?;
    let checkpoint = fork.latest().checkpoint.clone();
    let refused = match sig_share_verify::tlog::verify_checkpoint(&checkpoint, root, sig_share_sign::unix_now()) {
        Err(e) => e.to_string(),
        Ok(_) => anyhow::bail!("a verifier accepted the copy's unwitnessed checkpoint"),
    };
    say(json, format!("  published without the witness, verify refuses it: {refused}"));
    Ok(serde_json::json!({
        "honest_size": grown.published.size,
        "witness_refused": refusal.to_string(),
        "evidence_records": evidence.len(),
        "verify_refused": refused,
    }))
}

/// The copy as a log of its own: same key, same origin.
fn open_fork(dir: &Path, origin: &str, witnesses: Option<Witnesses>) -> anyhow::Result<Log> {
    let data = DataDir::new(dir);
    let signer = data.signer(origin).map_err(anyhow::Error::msg)?;
    let mut config = LogConfig::new(origin);
    config.witnesses = witnesses.map(std::sync::Arc::new);
    Ok(Log::open(config, signer, data.open_stores()?)?)
}

/// A real hashedrekord entry over `content`, signed by a throwaway P-256 key.
fn entry(content: &[u8]) -> anyhow::Result<NewEntry> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let signature = key.sign(&rng, content).map_err(|e| anyhow::anyhow!("{e}"))?;
    let spki = key.public_key().as_der().map_err(|e| anyhow::anyhow!("{e}"))?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content);
    let request = sig_share_log::rekor::p256_request(digest.as_ref(), signature.as_ref(), spki.as_ref());
    let e = sig_share_log::rekor::verify_request(request.as_bytes())?;
    Ok(NewEntry::new(e.body, e.key))
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for item in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let item = item?;
        let target = to.join(item.file_name());
        if item.file_type()?.is_dir() {
            copy_dir(&item.path(), &target)?;
        } else {
            std::fs::copy(item.path(), &target).with_context(|| format!("copying {}", item.path().display()))?;
        }
    }
    Ok(())
}
