//! Media on the command line: the arguments of `sign` (on media), `edit` and `provenance`, and
//! what signing and judging share (which files are media, where a sidecar goes, the C2PA trust
//! anchors). Signing is in [`crate::media_sign`], judging in [`crate::media_judge`].
//!
//! One ephemeral certificate does all of a signing: the provenance statement (logged first, so
//! its log entry can go into the manifest), the C2PA claim and the CAWG identity assertion.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use sig_share_media::{Anchors, Format};
use sig_share_verify::trust::TrustedRoot;

use crate::sign_cmd::SignArgs;

pub use crate::media_judge::{judge, run_provenance, run_verify};
pub use crate::media_sign::{run_edit, sign, sign_media};

/// `sig-share capture`: `sign` as an enrolled device.
pub fn run_capture(args: SignArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.media.as_device.is_none() {
        anyhow::bail!("capture signs as a device: pass --as-device DIR (enroll one with `sig-share device enroll`)");
    }
    if !is_media(&args.file) || args.media.blob {
        anyhow::bail!("capture signs photos, video and sound with a C2PA manifest; {} is not one", args.file.display());
    }
    sign(&args, &args.media, None)
}

/// Exit status for "checked, and it does not hold".
pub(crate) const NOT_VERIFIED: u8 = 1;

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
    /// Sign as a device enrolled with `sig-share device enroll` (its key and certificate in DIR)
    /// instead of logging in: the device is the claim signer, identity assertion and statement
    /// signer, and the statement names it.
    #[arg(long = "as-device", value_name = "DIR")]
    pub as_device: Option<PathBuf>,
    /// With --as-device: also log in as yourself and add your CAWG identity assertion (as the
    /// creator) to the device's manifest; your signature over the content is logged too, and
    /// its bundle travels in the manifest so the assertion outlives your certificate.
    #[arg(long, requires = "as_device")]
    pub creator: bool,
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
    /// The transparency log to ask for parents that are not embedded [default: the trust
    /// config's].
    #[arg(long, value_name = "URL", conflicts_with = "offline")]
    pub log: Option<String>,
    /// Never ask the log: show only what the file carries.
    #[arg(long)]
    pub offline: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

const PROVENANCE_AFTER_HELP: &str = "\
Shows every step from this file back to its capture: who signed, when, which actions, with which
tool, and each sig-share step's log entry, verified against the pinned trusted root. Failures inside
ingredients (an earlier edit whose signature no longer holds) are shown too.

A parent that is not embedded (it was signed with a sidecar, or edited from a copy whose manifest
was stripped) is followed through the log: each sig-share statement names its parents by digest
and log index, and the log keeps the statements, each checked against its signed entry. A parent
the log does not know is noted, not failed (--offline: the log is not asked).

Exit status: 0 when every step verifies and the signer is trusted, 1 when something does not hold
(the reason is printed), 2 when the file could not be read.";

/// Where trust comes from, for `verify` and `provenance`.
#[derive(Args, Debug, Clone, Default)]
pub struct TrustArgs {
    /// Trust this sigstore TrustedRoot JSON instead of the pinned trust config.
    #[arg(long, value_name = "PATH", conflicts_with = "trust_config")]
    pub trusted_root: Option<PathBuf>,
    /// Trust this ClientTrustConfig [default: the pinned one, see `sig-share trust show`].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// Media: PEM files of further C2PA trust anchors (e.g. the C2PA trust list and its TSA
    /// list), repeatable; also $SIG_SHARE_C2PA_TRUST (paths separated by ':'). The trusted
    /// root's own CA and TSA are always anchors.
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

/// C2PA trust anchors: the deployment's CA and TSA roots, plus the PEM files given.
pub(crate) fn anchors(root: &TrustedRoot, extra: &[PathBuf]) -> anyhow::Result<Anchors> {
    let mut anchors = Anchors::from_root(root);
    let mut files = extra.to_vec();
    if let Some(env) = std::env::var_os("SIG_SHARE_C2PA_TRUST") {
        files.extend(std::env::split_paths(&env));
    }
    for file in files {
        let text =
            std::fs::read_to_string(&file).with_context(|| format!("reading the trust anchors {}", file.display()))?;
        // Read by the one PEM reader (any line length, CRLF, text around: issue 14 #4) and
        // handed to c2pa as RFC 7468 writes it; anything but certificates is refused here.
        let certificates = sig_share_pem::canonical(&text, "CERTIFICATE")
            .with_context(|| format!("the trust anchors {}", file.display()))?;
        anchors.add_pem(&certificates).map_err(|e| anyhow::anyhow!("{} {e}", file.display()))?;
    }
    Ok(anchors)
}

/// A DER certificate as PEM.
pub(crate) fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine;
    base64_to_pem(&base64::engine::general_purpose::STANDARD.encode(der))
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
