//! `sig-share demo`: the whole story on this machine with nothing to set up. Starts the stack
//! (CA, certificate log, transparency log, TSA, development identity provider) on a loopback
//! port, logs in, signs a sample file, verifies it offline against the trust config the stack
//! published, and shows that a tampered copy and a wrong identity are refused; then does the same
//! for a photo with a C2PA manifest and an edit by a second person ([`crate::demo_media`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Args;
use serde_json::json;
use sig_share_sign::token::IdentityToken;
use sig_share_sign::{Services, SigningClient};
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::verdict::{Signer, TimeSource};

use crate::artifact::ArtifactArg;
use crate::listen::Listen;
use crate::serve_cmd::ServeArgs;
use crate::verify_cmd::{judge, sigstore_json_beside};

/// Who the demo logs in as at the development identity provider.
const DEMO_EMAIL: &str = "demo@sig-share.example";
/// Who edits the demo's photo.
const DEMO_EDITOR: &str = "editor@sig-share.example";

/// What to demonstrate.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the stack's data, the sample file and its bundle here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// How often the logs integrate submissions (the signing waits for one).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub period: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let temp;
    let dir = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(demo(&dir, &args))
}

pub(crate) fn say(json: bool, line: impl AsRef<str>) {
    if !json {
        println!("{}", line.as_ref());
    }
}

async fn demo(dir: &Path, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let started_at = Instant::now();
    // A free loopback port: the stack's URLs (and so its log origins) name it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let serve = ServeArgs {
        at: Listen {
            data: dir.join("stack"),
            listen: ([127, 0, 0, 1], port).into(),
            public_url: None,
            connections: Default::default(),
        },
        issuers: None,
        dev: true,
        ca_key: None,
        period: args.period,
        device_operator_secret_file: None,
        web_pkg: None,
        limits: Default::default(),
        witnesses: Default::default(),
        no_dev_witness: false,
    };
    let started = crate::serve_cmd::start(&serve).await?;
    let stack = started.stack.clone();
    let url = started.public_url.clone();
    let trust_path = started.stack.trust_config_path();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(started.serve(async {
        let _ = stopped.await;
    }));
    say(args.json, format!("started the stack at {url} (data in {})", dir.display()));
    say(args.json, "  CA, certificate log, transparency log, time-stamp authority, development identity provider");

    let result = sign_and_verify(dir, &url, &trust_path, args).await;
    let split = match &result {
        Ok(_) => {
            let root = crate::sign_cmd::read_trust_config(&trust_path)?.trusted_root;
            Some(crate::demo_split::split_view(&stack, dir, &root, args.json).await)
        }
        Err(_) => None,
    };
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let mut report = result?;
    if let Some(split) = split {
        report["split_view"] = split?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "demo OK in {:.1} s: a file and a photo signed, logged, witnessed, verified offline; tampering and a split view refused",
            started_at.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn sign_and_verify(
    dir: &Path,
    url: &str,
    trust_path: &Path,
    args: &DemoArgs,
) -> anyhow::Result<serde_json::Value> {
    // As a user's pinned trust: the stack's witness policy beside it applies.
    let trust = crate::sign_cmd::read_trust_config(trust_path)?;

    // 1. Log in: the development provider's device flow, approved by the demo itself.
    let t = Instant::now();
    let issuer = format!("{url}/oidc");
    let token = sig_share_dev_idp::client::device_login(&issuer, DEMO_EMAIL).await?;
    say(args.json, format!("logged in as {DEMO_EMAIL} at {issuer} ({} ms)", t.elapsed().as_millis()));

    // 2. Sign a sample file.
    let sample = dir.join("sample.txt");
    std::fs::write(&sample, format!("A photo's worth of bytes, signed by the sig-share demo at {url}.\n"))?;
    let t = Instant::now();
    let client = SigningClient::new(Services::from_signing_config(&trust.signing_config, sig_share_sign::unix_now())?)?
        .trusting(trust.trusted_root.clone());
    let digest = crate::artifact::sha256_file(&sample)?;
    let token_for_media = token.clone();
    let signed = client.sign_sha256(&IdentityToken::new(token), &digest).await?;
    let bundle_path = sigstore_json_beside(&sample);
    crate::files::write_atomically(&bundle_path, signed.bundle_json().as_bytes())?;
    let sign_ms = t.elapsed().as_millis();
    say(
        args.json,
        format!(
            "signed {}: a ten-minute certificate for {}, a time stamp, log entry {} ({sign_ms} ms)",
            sample.display(),
            signed.identity.subject,
            signed.log_index
        ),
    );
    say(args.json, format!("  bundle {}", bundle_path.display()));

    // 3. Verify offline, against the trusted root alone.
    let policy =
        Policy::Identity { identity: Matcher::Exact(DEMO_EMAIL.into()), issuer: Matcher::Exact(issuer.clone()) };
    let root = &trust.trusted_root;
    let t = Instant::now();
    let verified = judge(&bundle_path, &ArtifactArg::File(sample.clone()), &policy, root)?
        .result
        .map_err(|reason| anyhow::anyhow!("the demo's own bundle did not verify: {reason}"))?;
    let verify_ms = t.elapsed().as_secs_f64() * 1000.0;
    if let Signer::Identity { identity, issuer, authority, .. } = &verified.signer {
        say(args.json, format!("verified offline ({verify_ms:.1} ms): signed by {identity}, vouched for by {issuer}"));
        say(
            args.json,
            format!("  certificate from {authority}, with {} SCT(s) from the certificate log", verified.scts),
        );
    }
    for time in &verified.times {
        if let TimeSource::Timestamp(tsa) = &time.source {
            say(args.json, format!("  signed at {} by the word of {tsa}", format_rfc3339(time.time)));
        }
    }
    for e in &verified.log_entries {
        say(
            args.json,
            format!(
                "  in {} at index {}, proven up to a signed checkpoint of size {}{}",
                e.log_url,
                e.index,
                e.tree_size,
                e.witnessed.as_ref().map(|w| format!(", {w}")).unwrap_or_default()
            ),
        );
    }

    // 4. What must fail does.
    let tampered = dir.join("sample-tampered.txt");
    let mut bytes = std::fs::read(&sample)?;
    bytes[0] ^= 0x20;
    std::fs::write(&tampered, &bytes)?;
    let refused = judge(&bundle_path, &ArtifactArg::File(tampered), &policy, root)?.result;
    let tamper_reason = refused.err().context("a tampered copy verified")?;
    say(args.json, format!("refused a copy with one byte changed: {tamper_reason}"));
    let stranger = Policy::Identity {
        identity: Matcher::Exact("someone-else@sig-share.example".into()),
        issuer: Matcher::Exact(issuer.clone()),
    };
    let refused = judge(&bundle_path, &ArtifactArg::File(sample.clone()), &stranger, root)?.result;
    let identity_reason = refused.err().context("the bundle verified for another identity")?;
    say(args.json, format!("refused for another identity: {identity_reason}"));
    ensure!(!verified.log_entries.is_empty(), "no log entry was verified");

    // 5. A photo, signed with a C2PA manifest, and an edit of it by someone else.
    let editor_token = sig_share_dev_idp::client::device_login(&issuer, DEMO_EDITOR).await?;
    let (media_dir, media_trust, media_issuer, json) =
        (dir.to_path_buf(), trust_path.to_path_buf(), issuer.clone(), args.json);
    let media = tokio::task::spawn_blocking(move || {
        crate::demo_media::run(
            &media_dir,
            &media_trust,
            &media_issuer,
            (DEMO_EMAIL, &token_for_media),
            (DEMO_EDITOR, &editor_token),
            &|line| say(json, line),
        )
    })
    .await??;

    Ok(json!({
        "ok": true,
        "url": url,
        "identity": DEMO_EMAIL,
        "issuer": issuer,
        "bundle": bundle_path,
        "log_index": signed.log_index,
        "sign_ms": sign_ms,
        "verify_ms": verify_ms,
        "tampered_refused": tamper_reason,
        "other_identity_refused": identity_reason,
        "media": media,
    }))
}
