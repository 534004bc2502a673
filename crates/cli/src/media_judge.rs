//! Judging media: `sig-share provenance`, and `sig-share verify` on media. Reads the manifest
//! store with `c2pa`, checks every step's sig-share evidence (the provenance statement's bundle,
//! its certificate the claim's), applies the identity policy to the newest step, and prints a
//! timeline safe for a terminal, or JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use sig_share_media::ReadError;
use sig_share_media::judge::{FoundIn, Outcome, Step};
use sig_share_media::statement::Parent;
use sig_share_verify::policy::Policy;
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::verdict::Signer;

use crate::log_reads::LogReader;
use crate::media_cmd::{NOT_VERIFIED, ProvenanceArgs, TrustArgs, anchors, sidecar_beside};

/// Reads `file` (with its sidecar, if any) and checks every step's evidence. `policy`, when
/// given, is whom the newest step must be (and then it must carry sig-share evidence); without
/// one (`provenance`), and for older steps, any identity the trusted root's CA certified is
/// shown as it is.
pub fn judge(
    file: &Path,
    sidecar: Option<&Path>,
    trust: &TrustArgs,
    policy: Option<&Policy>,
) -> anyhow::Result<Result<Outcome, ReadError>> {
    let root = crate::verify_cmd::load_root(trust.trusted_root.as_deref(), trust.trust_config.as_deref())?;
    let anchors = anchors(&root, &trust.c2pa_trust)?;
    let sidecar = sidecar.map(Path::to_path_buf).or_else(|| Some(sidecar_beside(file)).filter(|p| p.is_file()));
    let report = match sig_share_media::read_within_budget(file, sidecar.as_deref(), Some(&anchors)) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(sig_share_media::judge::judge(report, &root, policy, sig_share_sign::unix_now())))
}

/// `sig-share provenance`.
pub fn run_provenance(args: ProvenanceArgs) -> anyhow::Result<ExitCode> {
    let outcome = match judge(&args.file, args.manifest.as_deref(), &args.trust, None)? {
        Ok(o) => o,
        Err(ReadError::NoManifest) => {
            let reason = sig_share_media::judge::NO_MANIFEST;
            let hint = "it may have been stripped: `sig-share lookup FILE` asks the log about these bytes";
            if args.json {
                let mut out = sig_share_media::judge::unsigned_json(&args.file.display().to_string(), reason);
                out["hint"] = hint.into();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("{}: {reason} ({hint})", args.file.display());
            }
            return Ok(ExitCode::from(NOT_VERIFIED));
        }
        Err(ReadError::Media(e)) => return Err(unreadable(&args.file, e)),
    };
    let mut outcome = outcome;
    if outcome.problem.is_none() {
        follow_through_log(&mut outcome, &args)?;
    }
    print_outcome(&args.file, &outcome, args.json)?;
    Ok(if outcome.problem.is_none() { ExitCode::SUCCESS } else { ExitCode::from(NOT_VERIFIED) })
}

/// The most steps followed through the log: a chain longer than this is cut, saying so.
const MAX_LOG_STEPS: usize = 64;

/// Follows the chain past its oldest embedded step through the log: that step's verified
/// statement names its parent by digest (and log index, when the parent had one), and the log
/// keeps the parent's own statement, signed by an entry that is verified here like any other.
/// Each such step names its own parents in turn.
///
/// Everything the log serves is hostile until it binds to the chain: a statement counts for a
/// parent only if it verifies, is about exactly the parent's digest, and was logged before the
/// child that names it (log indices only grow). Anything else (a parent nobody can find, an
/// index pointing at a statement about other bytes or made later, statements that do not
/// verify) is a caveat, never a failure: what the file carries still verifies, and nobody who
/// can write to the log can turn a good chain red or splice a stranger's history into it.
fn follow_through_log(outcome: &mut Outcome, args: &ProvenanceArgs) -> anyhow::Result<()> {
    let Some(oldest) = outcome.steps.last() else { return Ok(()) };
    let (Some(mut child), Some(mut parent)) = (oldest.log_index, oldest.parents.first().cloned()) else {
        return Ok(());
    };
    let not_embedded = |p: &Parent| {
        let at = p.log_index.map(|i| format!(", log entry {i}")).unwrap_or_default();
        format!("a parent (sha256:{}{at}) is not embedded in the file", p.digest.sha256)
    };
    if args.offline {
        outcome.caveats.push(format!("{}; --offline, so the log was not asked", not_embedded(&parent)));
        return Ok(());
    }
    let log = match &args.log {
        Some(url) => url.clone(),
        None if args.trust.trusted_root.is_some() => {
            outcome.caveats.push(format!("{}; pass --log URL to follow it through the log", not_embedded(&parent)));
            return Ok(());
        }
        None => {
            let path = args.trust.trust_config.clone().map_or_else(crate::trust_cmd::default_path, Ok)?;
            let config = crate::sign_cmd::read_trust_config(&path)?;
            sig_share_sign::Services::from_signing_config(&config.signing_config, sig_share_sign::unix_now())?.tlog
        }
    };
    let root = crate::verify_cmd::load_root(args.trust.trusted_root.as_deref(), args.trust.trust_config.as_deref())?;
    let reader = LogReader::new(&log)?;
    let now = sig_share_sign::unix_now();
    for _ in 0..MAX_LOG_STEPS {
        let logged = match parent_in_log(&reader, &parent, child, &root, now) {
            Ok(logged) => logged,
            Err(why) => {
                outcome.caveats.push(format!("{}, and {why}", not_embedded(&parent)));
                return Ok(());
            }
        };
        let (signer, issuer) = match &logged.verified.signer {
            Signer::Identity { identity, issuer, .. } => (identity.clone(), Some(issuer.clone())),
            Signer::Key { kind } => (format!("a {kind} key"), None),
        };
        child = logged.index;
        let content_sha256 = Some(logged.statement.content_sha256().to_owned());
        let p = logged.statement.predicate;
        let next = p.parents.first().cloned();
        outcome.steps.push(Step {
            manifest: format!("log entry {}", logged.index),
            title: logged.statement.subject.first().map(|s| s.name.clone()),
            signer,
            issuer,
            signed_at: logged.verified.times.first().map(|t| format_rfc3339(t.time)),
            actions: p.actions,
            digital_source_type: p.digital_source_type,
            tool: Some(p.tool),
            log_index: Some(logged.index),
            witnessed: logged.verified.log_entries.first().and_then(|e| e.witnessed.clone()),
            device: p.device,
            creator: p.creator,
            parents: p.parents,
            content_sha256,
            found_in: FoundIn::Log,
            problem: None,
        });
        match next {
            Some(next) => parent = next,
            None => return Ok(()),
        }
    }
    outcome.caveats.push(format!("the chain goes on past {MAX_LOG_STEPS} steps in the log; not followed further"));
    Ok(())
}

/// The statement in the log that stands for `parent` of the entry at index `child`, or why
/// there is none to rely on (a caveat). By index when the child names one: that statement must
/// verify, be about exactly the parent's digest, and be older than the child. By digest
/// otherwise: the earliest verified statement about those bytes logged before the child.
fn parent_in_log(
    reader: &LogReader,
    parent: &Parent,
    child: u64,
    root: &sig_share_verify::trust::TrustedRoot,
    now: i64,
) -> Result<sig_share_media::logged::LoggedStatement, String> {
    let asked = |e: anyhow::Error| format!("the log at {} could not be asked: {e:#}", reader.url);
    if let Some(index) = parent.log_index {
        if index >= child {
            return Err(format!(
                "it names log entry {index} as the parent's, which was logged after the edit (entry {child}): not followed"
            ));
        }
        return match reader.statement_at(index, root, now).map_err(asked)? {
            None => Err(format!("the log at {} keeps no statement for entry {index}", reader.url)),
            Some(Err(reason)) => Err(format!("the log's statement for entry {index} does not verify: {reason}")),
            Some(Ok(logged)) if logged.statement.content_sha256() != parent.digest.sha256 => Err(format!(
                "log entry {index}'s statement is about other content (sha256:{}), not this parent: not followed",
                logged.statement.content_sha256()
            )),
            Some(Ok(logged)) => Ok(logged),
        };
    }
    let digest = hex::decode(&parent.digest.sha256)
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .ok_or("its digest is not a SHA-256")?;
    let budget = crate::log_reads::LOOKUP_BUDGET;
    let (found, partial) = reader.statements_about(&digest, Some(child), budget, root, now).map_err(asked)?;
    let ignored = found.iter().filter(|s| s.is_err()).count();
    let more = if partial { format!(" (the log has more than the {budget} read)") } else { String::new() };
    match found.into_iter().flatten().next() {
        Some(logged) => Ok(logged),
        None if ignored > 0 => Err(format!(
            "the log at {} keeps {ignored} statement(s) about those bytes from before the edit, none of which \
             verifies{more}",
            reader.url
        )),
        None => Err(format!("the log at {} keeps no statement for it from before the edit{more}", reader.url)),
    }
}

/// `sig-share verify` on a media file with no bundle beside it: the C2PA manifest, every step's
/// sig-share evidence, and the policy on the newest step.
pub fn run_verify(args: &crate::verify_cmd::VerifyArgs, file: &Path) -> anyhow::Result<ExitCode> {
    if args.key.is_some() {
        anyhow::bail!("media is verified by identity (--certificate-identity, --certificate-oidc-issuer), not --key");
    }
    let identity = crate::verify_cmd::matcher(
        &args.certificate_identity,
        &args.certificate_identity_regexp,
        "--certificate-identity",
    )?;
    let issuer = crate::verify_cmd::matcher(
        &args.certificate_oidc_issuer,
        &args.certificate_oidc_issuer_regexp,
        "--certificate-oidc-issuer",
    )?;
    let policy = Policy::Identity { identity, issuer };
    match judge(file, args.manifest.as_deref(), &args.trust, Some(&policy))? {
        Ok(outcome) => {
            print_outcome(file, &outcome, args.json)?;
            Ok(if outcome.problem.is_none() { ExitCode::SUCCESS } else { ExitCode::from(NOT_VERIFIED) })
        }
        Err(ReadError::NoManifest) => {
            let reason = format!(
                "no C2PA manifest and no bundle ({} is missing): nothing here says who made this file \
                 (`sig-share lookup FILE` asks the log about these bytes)",
                crate::verify_cmd::sigstore_json_beside(file).display()
            );
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&sig_share_media::judge::unsigned_json(
                        &file.display().to_string(),
                        &reason
                    ))?
                );
            } else {
                println!("NOT verified: {}\n  reason: {reason}", file.display());
            }
            Ok(ExitCode::from(NOT_VERIFIED))
        }
        Err(ReadError::Media(e)) => Err(unreadable(file, e)),
    }
}

/// A file whose manifest or structure `c2pa` could not parse: exit 2, naming the file.
fn unreadable(file: &Path, e: sig_share_media::MediaError) -> anyhow::Error {
    anyhow::Error::new(e)
        .context(format!("{}: its C2PA manifest could not be read (truncated or corrupt?)", file.display()))
}

/// What a manifest says, made safe for a terminal: anyone can write a manifest, so control
/// characters (escape sequences that could redraw the screen to say "Verified") become U+FFFD,
/// and a line longer than a screenful is cut, saying how much was left out. JSON output carries
/// the strings whole (escaped by JSON itself).
pub(crate) fn terminal_safe(text: &str) -> String {
    const MAX_LINE: usize = 400;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let chars = line.chars().count();
        for c in line.chars().take(MAX_LINE) {
            out.push(if c.is_control() { '\u{FFFD}' } else { c });
        }
        if chars > MAX_LINE {
            out.push_str(&format!("… ({} more characters)", chars - MAX_LINE));
        }
        out.push('\n');
    }
    out
}

/// Prints a judged media file, as a timeline or as JSON.
pub fn print_outcome(file: &Path, outcome: &Outcome, json: bool) -> anyhow::Result<()> {
    let report = &outcome.report;
    if json {
        let value = outcome.to_json(&file.display().to_string());
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut out = String::new();
    match &outcome.problem {
        None if outcome.caveats.is_empty() => writeln!(out, "Verified: {}", file.display()),
        None => writeln!(out, "Verified, with caveats: {}", file.display()),
        Some(p) if report.state == sig_share_media::State::Valid => writeln!(
            out,
            "NOT verified: {}\n  reason: {p}\n  (if you trust its signer, pass their root with --c2pa-trust)",
            file.display()
        ),
        Some(p) => writeln!(out, "NOT verified: {}\n  reason: {p}", file.display()),
    }?;
    writeln!(
        out,
        "  C2PA: {} ({} manifest{})",
        report.state,
        report.manifests.len(),
        if report.manifests.len() == 1 { "" } else { "s" }
    )?;
    for f in &report.failures {
        writeln!(
            out,
            "    failure  {}{}",
            f.code,
            f.explanation.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        )?;
    }
    for f in &report.ingredient_failures {
        let why = f.status.explanation.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
        writeln!(out, "    in ingredient {}: {}{why}", f.ingredient, f.status.code)?;
    }
    writeln!(out, "  Timeline, newest first:")?;
    let total = outcome.steps.len();
    for (i, step) in outcome.steps.iter().enumerate() {
        let when = step.signed_at.as_deref().unwrap_or("time unknown");
        let actions = if step.actions.is_empty() { "(no actions recorded)".into() } else { step.actions.join(", ") };
        let issuer = step.issuer.as_deref().filter(|i| *i != step.signer).map(|i| format!(" ({i})"));
        writeln!(out, "  {}. {actions} by {}{}", total - i, step.signer, issuer.unwrap_or_default())?;
        writeln!(out, "     at {when}{}", step.tool.as_deref().map(|t| format!(", with {t}")).unwrap_or_default())?;
        if let Some(dst) = &step.digital_source_type {
            writeln!(out, "     source: {}", dst.rsplit('/').next().unwrap_or(dst))?;
        }
        match (step.log_index, step.found_in) {
            (Some(i), FoundIn::Manifest) => writeln!(out, "     log entry {i} (inclusion proof verified)")?,
            (Some(i), FoundIn::Log) => writeln!(
                out,
                "     log entry {i} (not embedded in the file: found in the log, inclusion proof verified)"
            )?,
            (None, _) => {}
        }
        if let Some(device) = &step.device {
            writeln!(out, "     device: {device}")?;
        }
        if let Some(creator) = &step.creator {
            writeln!(out, "     creator: {creator} (their identity assertion beside the device's claim)")?;
        }
        if let Some(p) = &step.problem {
            writeln!(out, "     problem: {p}")?;
        }
    }
    for caveat in &outcome.caveats {
        writeln!(out, "  note: {caveat}")?;
    }
    print!("{}", terminal_safe(&out));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_text_cannot_redraw_the_terminal_or_flood_it() {
        let hostile = "c2pa.created by \u{1b}[2J\u{1b}[1;1HVerified: evil.jpg\r\u{7}";
        let shown = terminal_safe(&format!("  1. {hostile}\n"));
        assert!(!shown.chars().any(|c| c.is_control() && c != '\n'), "{shown:?}");
        assert!(shown.contains("\u{FFFD}[2J"), "the text stays readable: {shown:?}");
        let long = terminal_safe(&"x".repeat(10_000));
        assert!(long.chars().count() < 500 && long.contains("(9600 more characters)"), "{long}");
    }
}
