//! The demo's photo: made on the spot, signed with a C2PA manifest by one identity, cropped and
//! signed by another, its provenance read back step by step, and a copy with one byte of the
//! picture changed refused.
//!
//! Runs on a blocking thread: media signing drives its own runtime (c2pa signs synchronously
//! and asks for its time stamp from inside).

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use clap::Parser;
use serde_json::{Value, json};
use sig_share_verify::policy::{Matcher, Policy};

use crate::media_cmd::{self, TrustArgs};
use crate::sign_cmd::SignArgs;

/// `sig-share sign`'s arguments, parsed as a user would give them.
#[derive(Parser)]
struct SignLine {
    #[command(flatten)]
    sign: SignArgs,
}

/// A 960x640 sunrise: a gradient with enough texture to compress like a photo.
fn make_photo(path: &Path) -> anyhow::Result<()> {
    let (width, height) = (960u16, 640u16);
    let mut rgb = Vec::with_capacity(usize::from(width) * usize::from(height) * 3);
    for y in 0..u32::from(height) {
        for x in 0..u32::from(width) {
            let grain = ((x * 7 + y * 13) ^ (x * y)) % 17;
            let sky = 255 - y * 160 / u32::from(height);
            rgb.extend([(sky + grain).min(255) as u8, (90 + y * 120 / 640 + grain) as u8, (200 - y * 150 / 640) as u8]);
        }
    }
    jpeg_encoder::Encoder::new_file(path, 85)
        .and_then(|e| e.encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb))
        .with_context(|| format!("writing {}", path.display()))
}

/// Signs `file` (an edit of `parent`, if given) as the holder of `token`; returns the signed copy.
fn sign(file: &Path, token: &str, trust: &Path, parent: Option<(&Path, &[String])>) -> anyhow::Result<PathBuf> {
    let line = SignLine::try_parse_from([
        "sign".as_ref(),
        file.as_os_str(),
        "--identity-token".as_ref(),
        token.as_ref(),
        "--trust-config".as_ref(),
        trust.as_os_str(),
    ])?;
    Ok(media_cmd::sign_media(&line.sign, &line.sign.media, parent)?.output)
}

/// Runs the photo's part of the demo with tokens for two people; `say` narrates.
pub fn run(
    dir: &Path,
    trust: &Path,
    issuer: &str,
    (alice, alice_token): (&str, &str),
    (bob, bob_token): (&str, &str),
    say: &dyn Fn(String),
) -> anyhow::Result<Value> {
    let photo = dir.join("sunrise.jpg");
    make_photo(&photo)?;
    let captured = sign(&photo, alice_token, trust, None)?;
    say(format!("signed {} as {alice}: C2PA manifest, time stamp, CAWG identity, log entries", captured.display()));

    let crop = dir.join("sunrise-crop.jpg");
    std::fs::copy(&captured, &crop)?;
    let actions = ["c2pa.cropped".to_owned()];
    let cropped = sign(&crop, bob_token, trust, Some((&captured, &actions)))?;
    say(format!("{bob} cropped it and signed the edit: {}", cropped.display()));

    let trust_args = TrustArgs { trust_config: Some(trust.to_path_buf()), ..TrustArgs::default() };
    let policy = Policy::Identity { identity: Matcher::Exact(bob.into()), issuer: Matcher::Exact(issuer.into()) };
    let outcome = media_cmd::judge(&cropped, None, &trust_args, Some(&policy))?
        .map_err(|e| anyhow::anyhow!("reading the demo's own photo: {e}"))?;
    if let Some(problem) = &outcome.problem {
        anyhow::bail!("the demo's own photo did not verify: {problem}");
    }
    let signers: Vec<&str> = outcome.steps.iter().map(|s| s.signer.as_str()).collect();
    ensure!(signers == [bob, alice], "the timeline names {signers:?}");
    say(format!("provenance verified offline, newest first: {}", signers.join(" <- ")));

    // One byte of the picture changed, far from the manifest.
    let original = std::fs::read(&crop)?;
    let mut bytes = std::fs::read(&cropped)?;
    let probe = &original[original.len() / 2..original.len() / 2 + 64];
    let at = bytes.windows(64).position(|w| w == probe).context("the picture is in the signed copy")?;
    bytes[at + 32] ^= 0x01;
    let tampered = dir.join("sunrise-tampered.jpg");
    std::fs::write(&tampered, bytes)?;
    let refused = media_cmd::judge(&tampered, None, &trust_args, Some(&policy))?
        .map_err(|e| anyhow::anyhow!("reading the tampered photo: {e}"))?
        .problem
        .context("a photo with a changed byte verified")?;
    say(format!("refused a copy with one byte of the picture changed: {refused}"));

    Ok(json!({
        "photo": captured,
        "edit": cropped,
        "timeline": signers,
        "tampered_refused": refused,
    }))
}
