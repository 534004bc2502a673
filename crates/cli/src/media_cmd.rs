//! Media: `sign` on a photo, video or sound file embeds a C2PA manifest; `edit` signs an edit of
//! a signed parent; `provenance` walks a file's chain and checks every step; `verify` on media
//! adds the identity policy on top.
//!
//! One ephemeral certificate does all of a signing: the provenance statement (logged first, so
//! its log entry can go into the manifest), the C2PA claim and the CAWG identity assertion.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use sig_share_media::statement::{Digests, Parent, Provenance};
use sig_share_media::{
    Anchors, Credential, Destination, EmbedRequest, Format, Intent, ReadError, Report, SourceType, State, Statement,
};
use sig_share_sign::{Session, SigningClient};
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::trust::TrustedRoot;
use sig_share_verify::verdict::{self, Artifact, Signer, TimeSource};

use crate::sign_cmd::SignArgs;

/// Exit status for "checked, and it does not hold".
const NOT_VERIFIED: u8 = 1;

/// Options for signing media, shared by `sign` and `edit`.
#[derive(Args, Debug, Clone, Default)]
pub struct MediaArgs {
    /// Where to write the signed copy [default: NAME.signed.EXT beside the file]; the original
    /// is never modified.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Leave the file untouched: write the manifest to FILE.c2pa and the provenance statement's
    /// bundle to FILE.sigstore.json.
    #[arg(long)]
    pub sidecar: bool,
    /// How the content came to be (IPTC digital source type): digitalCapture, computationalCapture,
    /// digitalCreation, trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, composite,
    /// negativeFilm, positiveFilm, print, screenCapture.
    #[arg(long, value_name = "TYPE", default_value = "digitalCapture")]
    pub source_type: String,
    /// Sign a media file as any other file (a bundle over its bytes, no C2PA manifest).
    #[arg(long)]
    pub blob: bool,
    /// PEM files of further C2PA trust anchors a parent's manifest is judged against when it is
    /// recorded as an ingredient, repeatable; also $SIG_SHARE_C2PA_TRUST.
    #[arg(long = "c2pa-trust", value_name = "PEM")]
    pub c2pa_trust: Vec<PathBuf>,
}

/// `sig-share edit`.
#[derive(Args, Debug)]
#[command(after_long_help = EDIT_AFTER_HELP)]
pub struct EditArgs {
    /// The signed file this one was made from.
    #[arg(long, value_name = "FILE")]
    pub parent: PathBuf,
    /// What was done, repeatable: C2PA action names (c2pa.cropped, c2pa.resized,
    /// c2pa.color_adjustments, c2pa.filtered, c2pa.edited, c2pa.redacted, c2pa.transcoded, …)
    /// or your own in reverse-domain form (com.example.retouched)
    #[arg(long = "action", value_name = "ACTION", required = true)]
    pub actions: Vec<String>,
    #[command(flatten)]
    pub sign: SignArgs,
}

const EDIT_AFTER_HELP: &str = "\
Signs FILE (the edited file) with PARENT as its parentOf ingredient: the parent's manifest is carried
inside the new one, and the new provenance statement in the log names the parent's digest and log
entry. Login and output options are those of `sig-share sign`.

Exit status: 0 when the signed file is written, 2 otherwise.";

/// `sig-share provenance`.
#[derive(Args, Debug)]
#[command(after_long_help = PROVENANCE_AFTER_HELP)]
pub struct ProvenanceArgs {
    /// The media file.
    pub file: PathBuf,
    /// Read the manifest from this .c2pa sidecar [default: FILE.c2pa when it exists].
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

const PROVENANCE_AFTER_HELP: &str = "\
Shows every step from this file back to its capture: who signed, when, which actions, with which
tool, and each sig-share step's log entry, verified against the pinned trusted root. Failures inside
ingredients (an earlier edit whose signature no longer holds) are shown too.

Exit status: 0 when every step verifies and the signer is trusted, 1 when something does not hold
(the reason is printed), 2 when the file could not be read.";

/// Where trust comes from for media.
#[derive(Args, Debug, Clone, Default)]
pub struct TrustArgs {
    /// A trusted_root.json [default: the pinned trust config's].
    #[arg(long, value_name = "PATH", conflicts_with = "trust_config")]
    pub trusted_root: Option<PathBuf>,
    /// A ClientTrustConfig file [default: the pinned one].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// PEM files of further C2PA trust anchors (e.g. the C2PA trust list and TSA trust list),
    /// repeatable; also $SIG_SHARE_C2PA_TRUST (paths separated by ':').
    #[arg(long = "c2pa-trust", value_name = "PEM")]
    pub c2pa_trust: Vec<PathBuf>,
}

/// Whether `file` is media sig-share signs with a C2PA manifest.
pub fn is_media(file: &Path) -> bool {
    Format::from_path(file).is_some()
}

/// Where `--sidecar` puts FILE's manifest: FILE.c2pa.
pub fn sidecar_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".c2pa");
    PathBuf::from(name)
}

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
    match sig_share_media::read(file, None, None) {
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
            let digest = crate::artifact::sha256_file(parent)?;
            let log_index = parent_log_index(parent);
            let parents = vec![Parent { digest: Digests { sha256: hex::encode(digest) }, log_index }];
            let intent = Intent::Edit { parent: parent.to_path_buf(), actions: actions.to_vec() };
            (intent, actions.to_vec(), None, parents)
        }
    };

    let (config, services) = crate::sign_cmd::load_services(args)?;
    let anchors = anchors(&config.trusted_root, &media.c2pa_trust)?;
    let digest = crate::artifact::sha256_file(&args.file)?;
    let name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("media").to_owned();
    let statement = Statement::new(
        &name,
        &digest,
        Provenance {
            format: format.mime().into(),
            actions,
            digital_source_type: source_type,
            parents,
            device: None,
            tool: format!("sig-share {}", env!("CARGO_PKG_VERSION")),
        },
    );

    let rt = tokio::runtime::Runtime::new()?;
    let http = sig_share_sign::http_client()?;
    let (token, source) = rt.block_on(crate::sign_cmd::identity_token(args, &services, &http))?;
    let client = SigningClient::with_http(services, http).trusting(config.trusted_root);
    let doing =
        || format!("signing {} (identity token from {})", args.file.display(), crate::sign_cmd::describe(source));
    let session = Arc::new(rt.block_on(client.certify(&token)).with_context(doing)?);
    // The statement (the story, logged over its DSSE encoding) and the content digest itself
    // (what the log's digest index files it under, so bytes whose manifest was stripped can be
    // looked up), signed with the one certificate and logged together.
    let statement_json = statement.to_json();
    let (signed, content) =
        rt.block_on(async { tokio::join!(session.sign_in_toto(&statement_json), session.sign_sha256(&digest)) });
    let (signed, content) = (signed.with_context(doing)?, content.with_context(doing)?);
    let bundle = serde_json::to_value(&signed.bundle)?;

    let credential = Arc::new(SessionCredential { session, runtime: rt.handle().clone() });
    let request = EmbedRequest {
        input: &args.file,
        format,
        destination: destination.clone(),
        intent: intent.clone(),
        provenance_bundle: &bundle,
        identity_assertion: true,
        anchors: Some(&anchors),
    };
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

/// The log index of a parent's own provenance statement, when its manifest carries one.
fn parent_log_index(parent: &Path) -> Option<u64> {
    let report = sig_share_media::read(parent, None, None).ok()?;
    let active = report.active_manifest.as_deref()?;
    let manifest = report.manifests.iter().find(|m| m.label == active)?;
    let bundle = Bundle::from_json(manifest.provenance_bundle.as_ref()?.to_string().as_bytes()).ok()?;
    bundle.verification_material.tlog_entries.first().map(|e| e.log_index)
}

/// One manifest in a chain, as checked.
#[derive(Debug, serde::Serialize)]
pub struct Step {
    pub manifest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The verified identity (sig-share steps), else the claim signer's certificate name.
    pub signer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The sig-share log entry, when the step has one and it verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// Why this step's sig-share evidence does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A media file judged.
#[derive(Debug)]
pub struct MediaOutcome {
    pub report: Report,
    pub steps: Vec<Step>,
    /// Why the file does not verify, if it does not.
    pub problem: Option<String>,
}

/// C2PA trust anchors: the deployment's CA and TSA roots, plus the PEM files given.
fn anchors(root: &TrustedRoot, extra: &[PathBuf]) -> anyhow::Result<Anchors> {
    let mut pem = String::new();
    for authority in root.certificate_authorities.iter().chain(&root.timestamp_authorities) {
        if let Some(last) = authority.cert_chain.certificates.last() {
            pem.push_str(&base64_to_pem(&last.raw_bytes));
        }
    }
    let mut files = extra.to_vec();
    if let Some(env) = std::env::var_os("SIG_SHARE_C2PA_TRUST") {
        files.extend(std::env::split_paths(&env));
    }
    for file in files {
        let text =
            std::fs::read_to_string(&file).with_context(|| format!("reading the trust anchors {}", file.display()))?;
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            anyhow::bail!("{} holds no PEM certificates", file.display());
        }
        pem.push_str(&text);
        pem.push('\n');
    }
    Ok(Anchors { pem })
}

/// A certificate given as base64 DER (as a trusted root holds it), as PEM.
fn base64_to_pem(b64: &str) -> String {
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn first_pem_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start + "-----END CERTIFICATE-----".len();
    der::pem::decode_vec(&pem.as_bytes()[start..end]).ok().map(|(_, der)| der)
}

/// Reads `file` (with its sidecar, if any) and checks every step's evidence. `policy`, when
/// given, is whom the newest step must be (and then it must carry sig-share evidence); without
/// one (`provenance`), and for older steps, any identity the trusted root's CA certified is
/// shown as it is.
pub fn judge(
    file: &Path,
    sidecar: Option<&Path>,
    trust: &TrustArgs,
    policy: Option<&Policy>,
) -> anyhow::Result<Result<MediaOutcome, ReadError>> {
    let root = crate::verify_cmd::load_root(trust.trusted_root.as_deref(), trust.trust_config.as_deref())?;
    let anchors = anchors(&root, &trust.c2pa_trust)?;
    let sidecar = sidecar.map(Path::to_path_buf).or_else(|| Some(sidecar_beside(file)).filter(|p| p.is_file()));
    let report = match sig_share_media::read(file, sidecar.as_deref(), Some(&anchors)) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let now = sig_share_sign::unix_now();
    let anyone = Policy::Identity { identity: Matcher::regex(".+")?, issuer: Matcher::regex(".+")? };
    let mut steps = Vec::new();
    let mut problem = None;
    for (depth, manifest) in report.lineage().into_iter().enumerate() {
        let mut step = Step {
            manifest: manifest.label.clone(),
            title: manifest.title.clone(),
            signer: manifest
                .signer_common_name
                .clone()
                .or_else(|| manifest.signer_issuer.clone())
                .unwrap_or_else(|| "unknown signer".into()),
            issuer: manifest.signer_issuer.clone(),
            signed_at: manifest.signed_at.clone(),
            actions: manifest.actions.iter().map(|a| a.action.clone()).collect(),
            digital_source_type: manifest.actions.iter().find_map(|a| a.digital_source_type.clone()),
            tool: manifest.claim_generator.clone(),
            log_index: None,
            problem: None,
        };
        // Every step's evidence is checked; only the newest must also be whom the user expects.
        let step_policy = if depth == 0 { policy.unwrap_or(&anyone) } else { &anyone };
        match &manifest.provenance_bundle {
            Some(bundle) => match check_step(bundle, &manifest.signer_chain_pem, step_policy, &root, now) {
                Ok((signer, issuer, time, index)) => {
                    step.signer = signer;
                    step.issuer = Some(issuer);
                    step.signed_at = time.or(step.signed_at);
                    step.log_index = Some(index);
                }
                Err(e) => step.problem = Some(e),
            },
            None if depth == 0 && policy.is_some() => {
                step.problem = Some(
                    "the newest manifest has no sig-share provenance, so the signer's identity cannot be checked"
                        .into(),
                );
            }
            None => {}
        }
        if problem.is_none()
            && let Some(p) = &step.problem
        {
            problem = Some(if depth == 0 { p.clone() } else { format!("step {} ({}): {p}", depth + 1, step.manifest) });
        }
        steps.push(step);
    }
    let problem = match report.state {
        State::Invalid => Some(format!("C2PA validation failed: {}", codes(&report))),
        _ if !report.ingredient_failures.is_empty() => {
            let f = &report.ingredient_failures[0];
            let why = f.status.explanation.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
            Some(format!("an earlier step does not validate: ingredient {:?} has {}{why}", f.ingredient, f.status.code))
        }
        State::Valid => Some(
            "the claim signer is not from a trusted authority (signingCredential.untrusted): pass its root with --c2pa-trust"
                .into(),
        ),
        State::Trusted => problem,
    };
    Ok(Ok(MediaOutcome { report, steps, problem }))
}

fn codes(report: &Report) -> String {
    let codes: Vec<&str> = report.failure_codes();
    if codes.is_empty() { "no reason given".into() } else { codes.join(", ") }
}

/// Verifies one step's provenance bundle under `policy` and ties it to the claim's signer: the
/// same ten-minute certificate must have signed both. Returns (identity, issuer, time, log index).
fn check_step(
    bundle: &serde_json::Value,
    claim_chain_pem: &str,
    policy: &Policy,
    root: &TrustedRoot,
    now: i64,
) -> Result<(String, String, Option<String>, u64), String> {
    let bundle =
        Bundle::from_json(bundle.to_string().as_bytes()).map_err(|e| format!("the sig-share assertion: {e}"))?;
    let envelope = bundle.dsse_envelope.as_ref().ok_or("the sig-share assertion holds no provenance statement")?;
    let statement = Statement::from_json(&envelope.payload)?;
    let subject: [u8; 32] = hex::decode(statement.content_sha256())
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or("the provenance statement's subject is not a SHA-256")?;
    let verified =
        verdict::verify(&bundle, &Artifact::from_sha256(subject), policy, root, now).map_err(|e| e.to_string())?;
    let leaf = bundle.verification_material.certificate.as_ref().map(|c| c.raw_bytes.as_slice());
    if leaf.is_none() || first_pem_der(claim_chain_pem).as_deref() != leaf {
        return Err("the C2PA claim was not signed by the certificate that signed the provenance statement".into());
    }
    let Signer::Identity { identity, issuer, .. } = verified.signer else {
        return Err("the provenance statement was not signed by an identity".into());
    };
    let time =
        verified.times.iter().find(|t| matches!(t.source, TimeSource::Timestamp(_))).map(|t| format_rfc3339(t.time));
    let index = verified.log_entries.first().map(|e| e.index).ok_or("the provenance statement is not logged")?;
    Ok((identity, issuer, time, index))
}

/// `sig-share provenance`.
pub fn run_provenance(args: ProvenanceArgs) -> anyhow::Result<ExitCode> {
    let outcome = match judge(&args.file, args.manifest.as_deref(), &args.trust, None)? {
        Ok(o) => o,
        Err(ReadError::NoManifest) => {
            let message = "no C2PA manifest found (it may have been stripped: `sig-share lookup FILE` asks the log about these bytes)";
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"file": args.file.display().to_string(), "verified": false, "reason": message})
                    )?
                );
            } else {
                println!("{}: {message}", args.file.display());
            }
            return Ok(ExitCode::from(NOT_VERIFIED));
        }
        Err(ReadError::Media(e)) => return Err(unreadable(&args.file, e)),
    };
    print_outcome(&args.file, &outcome, args.json)?;
    Ok(if outcome.problem.is_none() { ExitCode::SUCCESS } else { ExitCode::from(NOT_VERIFIED) })
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
    let trust = TrustArgs {
        trusted_root: args.trusted_root.clone(),
        trust_config: args.trust_config.clone(),
        c2pa_trust: args.c2pa_trust.clone(),
    };
    match judge(file, args.manifest.as_deref(), &trust, Some(&policy))? {
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
                    serde_json::to_string_pretty(
                        &json!({"file": file.display().to_string(), "verified": false, "reason": reason})
                    )?
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

/// A C2PA action name: `c2pa.` and a standard action, or a reverse-domain custom one; dotted
/// words of ASCII letters, digits, `_` and `-`, at most 64 characters.
fn is_action_name(name: &str) -> bool {
    let words: Vec<&str> = name.split('.').collect();
    name.len() <= 64
        && words.len() >= 2
        && words.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

/// What a manifest says, made safe for a terminal: anyone can write a manifest, so control
/// characters (escape sequences that could redraw the screen to say "Verified") become U+FFFD,
/// and a line longer than a screenful is cut, saying how much was left out. JSON output carries
/// the strings whole (escaped by JSON itself).
fn terminal_safe(text: &str) -> String {
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
pub fn print_outcome(file: &Path, outcome: &MediaOutcome, json: bool) -> anyhow::Result<()> {
    let report = &outcome.report;
    if json {
        let value = json!({
            "file": file.display().to_string(),
            "verified": outcome.problem.is_none(),
            "reason": outcome.problem,
            "c2pa": {
                "state": report.state,
                "failures": report.failures,
                "informational": report.informational,
                "ingredient_failures": report.ingredient_failures,
                "identity": report.identity_codes,
                "manifests": report.manifests.len(),
            },
            "steps": outcome.steps,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut out = String::new();
    match &outcome.problem {
        None => writeln!(out, "Verified: {}", file.display()),
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
        if let Some(i) = step.log_index {
            writeln!(out, "     log entry {i} (inclusion proof verified)")?;
        }
        if let Some(p) = &step.problem {
            writeln!(out, "     problem: {p}")?;
        }
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
