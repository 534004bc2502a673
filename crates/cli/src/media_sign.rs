//! Signing media: `sig-share sign` on a photo, video or sound file, and `sig-share edit`. Checks
//! the file, logs in, certifies one ephemeral key, signs and logs the provenance statement and
//! the content digest, and embeds the C2PA manifest claim-signed with the same certificate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use sig_share_media::statement::{Digests, Parent, Provenance};
use sig_share_media::{
    Creator, Credential, Destination, EmbedRequest, Format, Intent, ReadError, SourceType, Statement,
};
use sig_share_sign::{Session, SigningClient};

use crate::media_cmd::{EditArgs, MediaArgs, anchors, sidecar_beside};
use crate::sign_cmd::SignArgs;

/// An ephemeral session as a C2PA credential: signing is local, time stamps come from the
/// deployment's TSA (blocking on the runtime, since `c2pa` signs synchronously).
struct SessionCredential {
    session: Arc<Session>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for SessionCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredential").field("identity", self.session.identity()).finish_non_exhaustive()
    }
}

impl Credential for SessionCredential {
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        self.session.sign_bytes(data).map_err(|e| e.to_string())
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        // C2PA's x5chain carries the leaf and intermediates, not the root.
        let chain = self.session.chain();
        chain[..chain.len().saturating_sub(1).max(1)].to_vec()
    }

    fn time_stamp(&self, message: &[u8]) -> Option<Result<Vec<u8>, String>> {
        Some(self.runtime.block_on(self.session.time_stamp(message)).map_err(|e| e.to_string()))
    }
}

/// The output paths of a media signing.
fn destination(file: &Path, media: &MediaArgs) -> anyhow::Result<Destination> {
    if media.sidecar {
        if media.output.is_some() {
            anyhow::bail!("--sidecar writes FILE.c2pa and FILE.sigstore.json; --output does not apply");
        }
        return Ok(Destination::Sidecar(sidecar_beside(file)));
    }
    let out = match &media.output {
        Some(o) => o.clone(),
        None => {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("signed");
            let ext = file.extension().and_then(|s| s.to_str()).unwrap_or("");
            file.with_file_name(format!("{stem}.signed.{ext}"))
        }
    };
    if Format::from_path(&out) != Format::from_path(file) {
        anyhow::bail!("{} must keep the format of {} (same extension)", out.display(), file.display());
    }
    let same = match (std::fs::canonicalize(file), std::fs::canonicalize(&out)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        anyhow::bail!("the signed copy would overwrite {}: pass another --output", file.display());
    }
    Ok(Destination::Embedded(out))
}

/// What `sign`/`edit --json` print for media.
fn summary_json(
    file: &Path,
    out: &Path,
    digest: &[u8; 32],
    signed: &sig_share_sign::Signed,
    content_index: u64,
    intent: &Intent,
) -> serde_json::Value {
    json!({
        "file": file.display().to_string(),
        "sha256": hex::encode(digest),
        "output": out.display().to_string(),
        "identity": signed.identity.subject,
        "issuer": signed.identity.issuer,
        "log_index": signed.log_index,
        "content_log_index": content_index,
        "log_url": signed.log_url,
        "kind": match intent { Intent::Create(_) => "create", Intent::Edit { .. } => "edit" },
    })
}

/// Refuses, before anyone logs in or anything is logged, a file `c2pa` cannot parse (truncated,
/// corrupt) and, for a fresh signing, one that already carries a manifest: signing it anew would
/// silently drop its history, which an edit keeps as the parent ingredient.
fn preflight(file: &Path, editing: bool) -> anyhow::Result<()> {
    match sig_share_media::read_within_budget(file, None, None) {
        Err(ReadError::NoManifest) => Ok(()),
        Err(ReadError::Media(e)) => {
            Err(anyhow::Error::new(e).context(format!("{} cannot be signed (truncated or corrupt?)", file.display())))
        }
        Ok(_) if editing => Ok(()),
        Ok(report) => anyhow::bail!(
            "{f} already carries a C2PA manifest ({n} in its store); signing it anew would drop that history. \
             To keep it, sign it as an edit: sig-share edit --parent {f} --action c2pa.edited {f}",
            f = file.display(),
            n = report.manifests.len(),
        ),
    }
}

/// A finished media signing.
pub struct SignedMedia {
    pub format: Format,
    pub destination: Destination,
    pub intent: Intent,
    /// SHA-256 of the content signed (the file as given).
    pub digest: [u8; 32],
    /// The provenance statement's bundle.
    pub signed: sig_share_sign::Signed,
    /// Where the signature over the content digest is logged.
    pub content_index: u64,
    /// The file written: the signed copy, or the sidecar manifest.
    pub output: PathBuf,
}

/// `sig-share sign` on media, and `sig-share edit`.
pub fn sign(args: &SignArgs, media: &MediaArgs, edit: Option<(&Path, &[String])>) -> anyhow::Result<ExitCode> {
    let done = sign_media(args, media, edit)?;
    let signed = &done.signed;
    if args.json {
        let summary = summary_json(&args.file, &done.output, &done.digest, signed, done.content_index, &done.intent);
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let identity = &signed.identity;
        let issuer = identity.issuer.as_deref().map(|i| format!(" (issuer {i})")).unwrap_or_default();
        let what = if edit.is_some() { "Signed the edit" } else { "Signed" };
        println!("{what} {} ({}) as {}{issuer}", args.file.display(), done.format.name(), identity.subject);
        println!(
            "  log entry  {} in {} (the content digest: {})",
            signed.log_index, signed.log_url, done.content_index
        );
        match &done.destination {
            Destination::Embedded(p) => println!("  signed copy {} (C2PA manifest embedded)", p.display()),
            Destination::Sidecar(p) => {
                println!("  manifest   {} (the file itself is unchanged)", p.display());
                println!("  bundle     {}", crate::verify_cmd::sigstore_json_beside(&args.file).display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs a media file: checks it, logs in, certifies a key, signs and logs the provenance
/// statement and the content digest, and embeds the C2PA manifest (or writes the sidecar).
pub fn sign_media(args: &SignArgs, media: &MediaArgs, edit: Option<(&Path, &[String])>) -> anyhow::Result<SignedMedia> {
    let format = sig_share_media::format::detect(&args.file)?;
    let destination = destination(&args.file, media)?;
    preflight(&args.file, edit.is_some())?;
    let (intent, actions, source_type, parents) = match edit {
        None => {
            let source = SourceType::from_name(&media.source_type).with_context(|| {
                let names: Vec<_> = SourceType::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown --source-type {:?}; one of: {}", media.source_type, names.join(", "))
            })?;
            (Intent::Create(source), vec!["c2pa.created".to_owned()], Some(source.uri()), vec![])
        }
        Some((parent, actions)) => {
            if let Some(bad) = actions.iter().find(|a| !is_action_name(a)) {
                anyhow::bail!(
                    "{bad:?} is not an action name: use C2PA's (c2pa.cropped, c2pa.color_adjustments, …) or your own \
                     in reverse-domain form (com.example.retouched), at most 64 characters"
                );
            }
            sig_share_media::format::detect(parent)?;
            // A hostile parent is refused before any login (its manifest is judged below, once
            // the trust config is loaded).
            let sidecar = Some(sidecar_beside(parent)).filter(|p| p.is_file());
            if let Err(e) = sig_share_media::screen(parent, sidecar.as_deref()) {
                match e {
                    ReadError::NoManifest => {}
                    ReadError::Media(e) => {
                        return Err(
                            anyhow::Error::new(e).context(format!("the parent {} cannot be read", parent.display()))
                        );
                    }
                }
            }
            let intent = Intent::Edit { parent: parent.to_path_buf(), actions: actions.to_vec() };
            (intent, actions.to_vec(), None, vec![])
        }
    };

    let (config, services) = crate::sign_cmd::load_services(args)?;
    let anchors = anchors(&config.trusted_root, &media.c2pa_trust)?;
    let parents = match edit {
        Some((parent, _)) => vec![parent_record(parent, &config.trusted_root, &anchors)?],
        None => parents,
    };
    let device = media.as_device.as_deref().map(crate::device_cmd::load).transpose()?;
    let digest = crate::artifact::sha256_file(&args.file)?;
    let rt = tokio::runtime::Runtime::new()?;
    let http = sig_share_sign::http_client()?;
    let client = SigningClient::with_http(services, http.clone()).trusting(config.trusted_root);
    // A login of the person signing: a token, then a ten-minute certificate.
    let certify = |what: &str| -> anyhow::Result<(Session, String)> {
        let (token, source) = rt.block_on(crate::sign_cmd::identity_token(args, client.services(), &http))?;
        let how = format!("identity token from {}", crate::sign_cmd::describe(source));
        let session =
            rt.block_on(client.certify(&token)).with_context(|| format!("{what} {} ({how})", args.file.display()))?;
        Ok((session, how))
    };
    let signs_as_device = device.is_some();
    let (session, how) = match device {
        // A device signs with its own key and certificate: nobody logs in.
        Some(device) => (client.session_with(device.key, device.chain)?, "as the device".to_owned()),
        None => certify("signing")?,
    };
    // The person beside the device: their own login and certificate, for the identity assertion.
    let creator = if media.creator { Some(Arc::new(certify("logging in the creator of")?.0)) } else { None };
    let session = Arc::new(session);
    let doing = || format!("signing {} ({how})", args.file.display());
    let name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("media").to_owned();
    let statement = Statement::new(
        &name,
        &digest,
        Provenance {
            format: format.mime().into(),
            actions,
            digital_source_type: source_type,
            parents,
            // The device as its certificate names it.
            device: signs_as_device.then(|| session.identity().subject.clone()),
            creator: creator.as_ref().map(|c| c.identity().subject.clone()),
            tool: format!("sig-share {}", env!("CARGO_PKG_VERSION")),
        },
    );
    // The statement (the story, logged over its DSSE encoding) and the content digest itself
    // (what the log's digest index files it under, so bytes whose manifest was stripped can be
    // looked up), signed with the one certificate and logged together.
    let statement_json = statement.to_json();
    let (signed, content) =
        rt.block_on(async { tokio::join!(session.sign_in_toto(&statement_json), session.sign_sha256(&digest)) });
    let (signed, content) = (signed.with_context(doing)?, content.with_context(doing)?);
    // The log keeps the statement whole, so that an edit made from a copy without this manifest
    // (a sidecar, or stripped by a platform) can still be traced through the log.
    if let Err(e) = rt.block_on(session.keep_statement(&signed)) {
        eprintln!(
            "warning: the log did not keep the provenance statement ({e}); the signing holds, but edits made \
             from a copy without this manifest cannot be traced to it through the log"
        );
    }
    let bundle = serde_json::to_value(&signed.bundle)?;
    // The creator signs the content too: logged (lookup finds them), and the bundle names their
    // certificate in full for readers judging their identity assertion after it expired.
    let creator_bundle = match &creator {
        Some(c) => Some(serde_json::to_value(&rt.block_on(c.sign_sha256(&digest)).with_context(doing)?.bundle)?),
        None => None,
    };

    let credential = Arc::new(SessionCredential { session, runtime: rt.handle().clone() });
    let creator = creator.zip(creator_bundle.as_ref()).map(|(session, bundle)| Creator {
        credential: Arc::new(SessionCredential { session, runtime: rt.handle().clone() }),
        bundle,
    });
    let request = EmbedRequest {
        input: &args.file,
        format,
        destination: destination.clone(),
        intent: intent.clone(),
        provenance_bundle: &bundle,
        identity_assertion: true,
        creator,
        anchors: Some(&anchors),
    };
    // c2pa gives no progress of its own: for a big video, say what the wait is for.
    let size = std::fs::metadata(&args.file).map_or(0, |m| m.len());
    let show = size >= crate::artifact::PROGRESS_FROM && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if show {
        eprintln!("writing the signed copy of {} ({} MiB)…", args.file.display(), size >> 20);
    }
    let embedded = sig_share_media::embed(&request, credential).with_context(doing)?;
    if let Destination::Sidecar(_) = destination {
        let bundle_path = crate::verify_cmd::sigstore_json_beside(&args.file);
        crate::files::write_atomically(&bundle_path, signed.bundle_json().as_bytes())?;
    }

    Ok(SignedMedia {
        format,
        destination,
        intent,
        digest,
        signed,
        content_index: content.log_index,
        output: embedded.path,
    })
}

/// `sig-share edit`.
pub fn run_edit(args: EditArgs) -> anyhow::Result<ExitCode> {
    if args.sign.media.blob || args.sign.bundle.is_some() {
        anyhow::bail!("edit signs media with a C2PA manifest; --blob and --bundle do not apply");
    }
    sign(&args.sign, &args.sign.media, Some((&args.parent, &args.actions)))
}

/// What an edit's statement says of its parent, which `provenance` follows through the log
/// when the parent's manifest is not embedded. With the parent's log entry only when a manifest
/// (embedded, or the sidecar beside it) validates against exactly the parent's bytes and its
/// newest step's statement verifies: then the digest named is the content that statement is
/// about, which the reader checks against the log. A manifest that does not belong to these
/// bytes (a sidecar copied beside another picture) is not taken: the parent is named by its
/// digest alone, and the reader looks that up.
fn parent_record(
    parent: &Path,
    root: &sig_share_verify::trust::TrustedRoot,
    anchors: &sig_share_media::Anchors,
) -> anyhow::Result<Parent> {
    let digest = hex::encode(crate::artifact::sha256_file(parent)?);
    let by_digest = Parent { digest: Digests { sha256: digest.clone() }, log_index: None };
    let sidecar = Some(sidecar_beside(parent)).filter(|p| p.is_file());
    let report = match sig_share_media::read_within_budget(parent, sidecar.as_deref(), Some(anchors)) {
        Ok(report) => report,
        Err(ReadError::NoManifest) => return Ok(by_digest),
        Err(ReadError::Media(e)) => {
            anyhow::bail!(
                "{}: the parent's manifest could not be read ({e}); is it truncated or corrupt?",
                parent.display()
            )
        }
    };
    let outcome = sig_share_media::judge::judge(report, root, None, sig_share_sign::unix_now());
    let newest = outcome.steps.first();
    let bound = outcome.report.state != sig_share_media::State::Invalid && newest.is_some_and(|s| s.problem.is_none());
    let from = sidecar.as_ref().map_or_else(|| "its manifest".to_owned(), |s| s.display().to_string());
    let (Some(step), true) = (newest, bound) else {
        let why = outcome.problem.as_deref().unwrap_or("its sig-share evidence does not verify");
        eprintln!(
            "warning: {from} does not validate against {} ({why}); the edit names the parent by its digest only",
            parent.display()
        );
        return Ok(by_digest);
    };
    match (step.log_index, &step.content_sha256) {
        // A sidecar's statement is about the file's bytes as they are.
        (Some(_), Some(content)) if sidecar.is_some() && *content != digest => {
            eprintln!(
                "warning: {from} is about other bytes (sha256:{content}) than {}; the edit names the parent by its \
                 digest only",
                parent.display()
            );
            Ok(by_digest)
        }
        (Some(index), Some(content)) => {
            Ok(Parent { digest: Digests { sha256: content.clone() }, log_index: Some(index) })
        }
        _ => Ok(by_digest),
    }
}

/// A C2PA action name: `c2pa.` and a standard action, or a reverse-domain custom one; dotted
/// words of ASCII letters, digits, `_` and `-`, at most 64 characters.
fn is_action_name(name: &str) -> bool {
    let words: Vec<&str> = name.split('.').collect();
    name.len() <= 64
        && words.len() >= 2
        && words.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_c2pa_or_reverse_domain() {
        for good in ["c2pa.cropped", "c2pa.color_adjustments", "com.example.re-touched"] {
            assert!(is_action_name(good), "{good}");
        }
        for bad in
            ["cropped", "c2pa.", "c2pa..x", "c2pa.crop ped", "c2pa.\u{1b}[2J", &format!("c2pa.{}", "x".repeat(60))]
        {
            assert!(!is_action_name(bad), "{bad:?}");
        }
    }
}
