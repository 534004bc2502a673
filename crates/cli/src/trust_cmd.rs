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
use sig_share_verify::trust::{Authority, ClientTrustConfig, Service, TransparencyLog};

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
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {} (pin one with `sig-share trust pin URL`)", path.display()))?;
            let config = ClientTrustConfig::from_json(&text).with_context(|| format!("in {}", path.display()))?;
            print_summary(&summarize(&config, &path.display().to_string()), args.json)?;
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
    let summary = summarize(&config, &url);
    if let Some(want) = &args.expect_ca {
        let want = want.to_ascii_lowercase().replace(':', "");
        if !summary.certificate_authorities.iter().any(|ca| ca.root_sha256 == want) {
            anyhow::bail!("no CA in {url} has root fingerprint {want}; nothing pinned");
        }
    }
    let to = args.to.clone().map_or_else(default_path, Ok)?;
    crate::files::write_atomically(&to, text.as_bytes())?;
    print_summary(&summary, args.json)?;
    if !args.json {
        println!("pinned to {}", to.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Summary {
    source: String,
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
    Ok(())
}
