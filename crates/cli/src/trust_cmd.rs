//! `sig-share trust`: fetch a deployment's ClientTrustConfig, show what it trusts, pin it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Args, Subcommand};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sig_share_server::trust_config::TRUST_CONFIG_PATH;
use sig_share_verify::trust::{Authority, ClientTrustConfig, Service, TransparencyLog, WitnessPolicy};

#[derive(Subcommand, Debug)]
pub enum TrustCommand {
    /// Fetch a server's trust config, show it, and pin it for verification.
    ///
    /// Pinning is trust on first use: compare the CA fingerprint it prints with one you got
    /// from the operator another way, or pass it as --expect-ca.
    Pin(PinArgs),
    /// Show a pinned (or any) trust config.
    Show(ShowArgs),
}

/// What to pin.
#[derive(Args, Debug)]
pub struct PinArgs {
    /// The server's URL (its trust config is at <URL>/.well-known/sig-share/trust-config.json),
    /// or the full URL of a trust config JSON.
    pub url: String,
    /// Where to write it (default: the pinned trust config, see `sig-share trust show --help`).
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// Refuse to pin unless the CA root's SHA-256 fingerprint (hex) is this.
    #[arg(long)]
    pub expect_ca: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What to show.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The trust config file (default: $SIG_SHARE_TRUST_CONFIG, else
    /// $XDG_CONFIG_HOME/sig-share/trust-config.json, else ~/.config/sig-share/trust-config.json).
    pub file: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: TrustCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TrustCommand::Pin(args) => pin(args),
        TrustCommand::Show(args) => {
            let path = args.file.clone().map_or_else(default_path, Ok)?;
            let config = crate::sign_cmd::read_trust_config(&path)?;
            let mut summary = summarize(&config, &path.display().to_string());
            summary.witness_policy = config.trusted_root.witnesses.as_ref().map(witness_summary);
            print_summary(&summary, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The pinned trust config's default location.
pub fn default_path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("SIG_SHARE_TRUST_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set; pass --to")?)
            .join(".config"),
    };
    Ok(base.join("sig-share").join("trust-config.json"))
}

fn pin(args: PinArgs) -> anyhow::Result<ExitCode> {
    let url = if args.url.ends_with(".json") {
        args.url.clone()
    } else {
        format!("{}{TRUST_CONFIG_PATH}", args.url.trim_end_matches('/'))
    };
    if url.starts_with("http://") && !sig_share_ca::config::is_loopback_url(&url) {
        eprintln!("warning: fetching trust over plain http from a non-loopback host; anyone on the path could swap it");
    }
    let rt = tokio::runtime::Runtime::new()?;
    let text = rt.block_on(async {
        let resp = reqwest::get(&url).await.with_context(|| format!("fetching {url}"))?;
        if !resp.status().is_success() {
            anyhow::bail!("fetching {url}: HTTP {}", resp.status());
        }
        Ok(resp.text().await?)
    })?;
    let config = ClientTrustConfig::from_json(&text).with_context(|| format!("the answer from {url}"))?;
    let policy = rt.block_on(fetch_witness_policy(&config))?;
    let mut summary = summarize(&config, &url);
    summary.witness_policy = policy.as_ref().map(|(_, p)| witness_summary(p));
    if let Some(want) = &args.expect_ca {
        let want = want.to_ascii_lowercase().replace(':', "");
        if !summary.certificate_authorities.iter().any(|ca| ca.root_sha256 == want) {
            anyhow::bail!("no CA in {url} has root fingerprint {want}; nothing pinned");
        }
    }
    let to = args.to.clone().map_or_else(default_path, Ok)?;
    // The policy first: a trust config never sits beside another server's policy.
    let policy_path = witness_policy_path(&to);
    match &policy {
        Some((text, _)) => crate::files::write_atomically(&policy_path, text.as_bytes())?,
        None => match std::fs::remove_file(&policy_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e)
                    .with_context(|| format!("removing the previous witness policy {}", policy_path.display()));
            }
            _ => {}
        },
    }
    crate::files::write_atomically(&to, text.as_bytes())?;
    print_summary(&summary, args.json)?;
    if !args.json {
        println!("pinned to {}", to.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the witness policy pinned with a trust config lives: beside it, `<name>.witness-policy`.
pub fn witness_policy_path(trust_config: &std::path::Path) -> PathBuf {
    trust_config.with_extension("witness-policy")
}

/// The witness policy a deployment publishes beside its trust config (C2SP tlog-policy, at the
/// transparency log's `/api/v1/witness-policy`), checked; `None` when it publishes none (404).
async fn fetch_witness_policy(config: &ClientTrustConfig) -> anyhow::Result<Option<(String, WitnessPolicy)>> {
    let Some(log) = config.trusted_root.tlogs.first() else { return Ok(None) };
    let url = format!("{}{}", log.base_url.trim_end_matches('/'), sig_share_log::http::WITNESS_POLICY_PATH);
    let resp = reqwest::get(&url).await.with_context(|| format!("fetching {url}"))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !resp.status().is_success() {
        anyhow::bail!("fetching the witness policy {url}: HTTP {}; nothing pinned", resp.status());
    }
    let text = resp.text().await.with_context(|| format!("reading {url}"))?;
    let policy =
        WitnessPolicy::parse(&text).with_context(|| format!("the witness policy from {url}; nothing pinned"))?;
    Ok(Some((text, policy)))
}

fn witness_summary(p: &WitnessPolicy) -> WitnessSummary {
    let witnesses = p.policy().witnesses().iter().map(|w| format!("{} ({})", w.name, w.key.vkey())).collect();
    WitnessSummary { witnesses }
}

#[derive(Serialize)]
struct WitnessSummary {
    witnesses: Vec<String>,
}

#[derive(Serialize)]
struct Summary {
    source: String,
    /// The witnesses whose quorum every checkpoint must carry, when the deployment has a policy.
    witness_policy: Option<WitnessSummary>,
    certificate_authorities: Vec<AuthoritySummary>,
    timestamp_authorities: Vec<AuthoritySummary>,
    transparency_logs: Vec<LogSummary>,
    certificate_logs: Vec<LogSummary>,
    ca_urls: Vec<String>,
    oidc_urls: Vec<String>,
    tlog_urls: Vec<String>,
    tsa_urls: Vec<String>,
}

#[derive(Serialize)]
struct AuthoritySummary {
    name: String,
    uri: String,
    certificates: usize,
    root_sha256: String,
    valid_from: String,
}

#[derive(Serialize)]
struct LogSummary {
    url: String,
    log_id: String,
    key_type: String,
    valid_from: String,
}

fn summarize(c: &ClientTrustConfig, source: &str) -> Summary {
    let authority = |a: &Authority| AuthoritySummary {
        name: format!("{} ({})", a.subject.common_name, a.subject.organization),
        uri: a.uri.clone(),
        certificates: a.cert_chain.certificates.len(),
        root_sha256: a
            .cert_chain
            .certificates
            .last()
            .and_then(|r| BASE64.decode(&r.raw_bytes).ok())
            .map(|der| hex::encode(Sha256::digest(der)))
            .unwrap_or_default(),
        valid_from: a.valid_for.start.clone(),
    };
    let log = |l: &TransparencyLog| LogSummary {
        url: l.base_url.clone(),
        log_id: BASE64.decode(&l.log_id.key_id).map(hex::encode).unwrap_or_default(),
        key_type: l.public_key.key_details.clone(),
        valid_from: l.public_key.valid_for.start.clone(),
    };
    let urls = |s: &[Service]| s.iter().map(|s| s.url.clone()).collect();
    let (r, s) = (&c.trusted_root, &c.signing_config);
    Summary {
        source: source.to_owned(),
        witness_policy: None,
        certificate_authorities: r.certificate_authorities.iter().map(authority).collect(),
        timestamp_authorities: r.timestamp_authorities.iter().map(authority).collect(),
        transparency_logs: r.tlogs.iter().map(log).collect(),
        certificate_logs: r.ctlogs.iter().map(log).collect(),
        ca_urls: urls(&s.ca_urls),
        oidc_urls: urls(&s.oidc_urls),
        tlog_urls: urls(&s.rekor_tlog_urls),
        tsa_urls: urls(&s.tsa_urls),
    }
}

fn print_summary(s: &Summary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    println!("trust config from {}", s.source);
    for (what, list) in
        [("certificate authority", &s.certificate_authorities), ("timestamp authority", &s.timestamp_authorities)]
    {
        for a in list {
            println!("  {what:<22} {}  {} certificate(s), since {}", a.name, a.certificates, a.valid_from);
            println!("  {:<22} root SHA-256 {}", "", a.root_sha256);
        }
    }
    for (what, list) in [("transparency log", &s.transparency_logs), ("certificate log", &s.certificate_logs)] {
        for l in list {
            println!("  {what:<22} {}  {}  id {}", l.url, l.key_type, l.log_id);
        }
    }
    println!(
        "  {:<22} CA {}  TSA {}  log {}",
        "signing with",
        s.ca_urls.join(" "),
        s.tsa_urls.join(" "),
        s.tlog_urls.join(" ")
    );
    if !s.oidc_urls.is_empty() {
        println!("  {:<22} {}", "identity", s.oidc_urls.join(" "));
    }
    match &s.witness_policy {
        Some(p) => {
            for w in &p.witnesses {
                println!("  {:<22} {w}", "witness");
            }
        }
        None => println!("  {:<22} none: the log's checkpoints are trusted on its own signature", "witnesses"),
    }
    Ok(())
}
