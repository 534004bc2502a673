//! `sig-share log serve` and `sig-share log check`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::listen::{Listen, shutdown};
use serde::Serialize;
use sig_share_log::embedded::DataDir;
use sig_share_log::{EntryFormat, Log, LogConfig, check, http, rekor};

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Serve the log: Rekor v2 writes and tlog-tiles reads under /api/v2, metrics, health.
    // Boxed: the limit flags make it far larger than the other commands.
    Serve(Box<ServeArgs>),
    /// Check a log's data directory: re-derive every tile and the root from the entries, verify
    /// the checkpoint signature and the state records; report the first inconsistency. Works on
    /// a transparency log (`log serve --data DIR`, or `serve`'s DIR/tlog) and, with
    /// --certificate-log, on `serve`'s certificate log (DIR/ctlog).
    ///
    /// Exit status: 0 clean, 1 inconsistent, 2 could not check.
    Check(CheckArgs),
    /// Start a throwaway log, log signed entries through its HTTP API and verify every proof.
    Demo(crate::log_demo::DemoArgs),
}

/// Where and how to run the log.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub at: Listen,
    /// The checkpoint origin and key name (default: the public URL's host, without scheme or
    /// port, which is what sigstore-go and sigstore-js check against the log's URL).
    #[arg(long)]
    pub origin: Option<String>,
    /// How often the pool is integrated into the tree (at least 50ms).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub period: Duration,
    /// The most entries waiting in the pool; beyond it submissions get 503 with Retry-After.
    #[arg(long, default_value_t = 50_000)]
    pub pool_size: usize,
    #[command(flatten)]
    pub limits: crate::limits_args::LogLimitArgs,
    #[command(flatten)]
    pub witnesses: crate::witness_policy_args::WitnessPolicyArgs,
}

/// What to check.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The data directory.
    #[arg(long, default_value = "sig-share-data", env = "SIG_SHARE_DATA")]
    pub data: PathBuf,
    /// The directory holds a static-ct-api certificate log (data tiles of certificates) rather
    /// than a transparency log.
    #[arg(long)]
    pub certificate_log: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: LogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogCommand::Serve(args) => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(serve(*args))?;
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Check(args) => Ok(check_cmd(&args)),
        LogCommand::Demo(args) => crate::log_demo::run(args),
    }
}

/// The default origin for a public URL: its host alone.
pub fn origin_for(public_url: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(public_url).with_context(|| format!("--public-url {public_url:?} is not a URL"))?;
    Ok(url.host_str().context("the public URL has no host")?.to_owned())
}

/// Opens the log in `args.data` and returns it with its public URL.
pub fn open_log(args: &ServeArgs) -> anyhow::Result<(Log, String)> {
    if args.period < LogConfig::MIN_PERIOD {
        anyhow::bail!("--period must be at least {:?}", LogConfig::MIN_PERIOD);
    }
    let public_url = args.at.public_url(args.origin.is_some())?;
    let origin = match &args.origin {
        Some(o) => o.clone(),
        None => origin_for(&public_url)?,
    };
    let dir = DataDir::new(&args.at.data);
    let signer = dir.signer(&origin).map_err(anyhow::Error::msg)?;
    let stores = dir.open_stores().with_context(|| format!("opening {}", args.at.data.display()))?;
    let mut config = LogConfig::new(origin);
    config.period = args.period;
    config.pool_size = args.pool_size;
    config.witnesses = args.witnesses.witnesses()?;
    let log = Log::open(config, signer, stores).context("opening the log")?;
    Ok((log, public_url))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let limits = args.at.connections.limits()?;
    let (log, public_url) = open_log(&args)?;
    let listener = args.at.bind().await?;
    let latest = log.latest();
    eprintln!("sig-share log serving {public_url}{}", http::API_PREFIX);
    eprintln!("  origin     {}", log.config().origin);
    eprintln!("  public key {}", log.vkey());
    eprintln!("  tree size  {}", latest.size);
    if let Some(w) = &log.config().witnesses {
        eprintln!("  witnesses  {}", crate::witness_policy_args::describe(w));
    }
    eprintln!("  data       {} (tiles in {}/log)", args.at.data.display(), args.at.data.display());
    tokio::spawn(log.clone().run_sequencer());
    crate::listen::serve(listener, http::router_with(log, args.limits.limits()), &public_url, &limits, shutdown()).await
}

#[derive(Serialize)]
struct CheckOutput {
    ok: bool,
    origin: Option<String>,
    size: Option<u64>,
    root: Option<String>,
    tiles_compared: Option<u64>,
    state_checked: Option<bool>,
    seconds: f64,
    error: Option<String>,
}

fn check_cmd(args: &CheckArgs) -> ExitCode {
    let started = Instant::now();
    let result = run_check(args);
    let seconds = started.elapsed().as_secs_f64();
    let (code, out) = match result {
        Ok(r) => (
            ExitCode::SUCCESS,
            CheckOutput {
                ok: true,
                origin: Some(r.origin),
                size: Some(r.size),
                root: Some(r.root.to_hex()),
                tiles_compared: Some(r.tiles),
                state_checked: Some(r.state_checked),
                seconds,
                error: None,
            },
        ),
        Err(CheckFailure::Inconsistent(e)) => (ExitCode::from(1), failure(e, seconds)),
        Err(CheckFailure::CouldNot(e)) => (ExitCode::from(2), failure(format!("{e:#}"), seconds)),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).expect("serialisable"));
    } else if out.ok {
        println!(
            "ok: log {} at size {}, root {}: {} tiles and bundles re-derived and compared{} ({:.2} s)",
            out.origin.unwrap_or_default(),
            out.size.unwrap_or_default(),
            out.root.unwrap_or_default(),
            out.tiles_compared.unwrap_or_default(),
            if out.state_checked == Some(true) { ", deduplication and index records checked" } else { "" },
            seconds
        );
    } else {
        println!("FAILED: {}", out.error.unwrap_or_default());
    }
    code
}

fn failure(error: String, seconds: f64) -> CheckOutput {
    CheckOutput {
        ok: false,
        origin: None,
        size: None,
        root: None,
        tiles_compared: None,
        state_checked: None,
        seconds,
        error: Some(error),
    }
}

enum CheckFailure {
    Inconsistent(String),
    CouldNot(anyhow::Error),
}

fn run_check(args: &CheckArgs) -> Result<check::CheckReport, CheckFailure> {
    let dir = DataDir::new(&args.data);
    let key = dir.verifier().map_err(|e| CheckFailure::CouldNot(anyhow::anyhow!(e)))?;
    let (tiles, state) = dir.open_for_check().map_err(|e| CheckFailure::CouldNot(e.into()))?;
    let mut last = Instant::now();
    let mut progress = |done: u64, total: u64| {
        if last.elapsed() > Duration::from_secs(2) {
            eprintln!("checked {done} of {total} entries");
            last = Instant::now();
        }
    };
    if state.is_none() {
        eprintln!("note: a running log holds the state database; checking the published tiles only");
    }
    let state = state.as_ref().map(|s| s as &dyn sig_share_log::storage::StateStore);
    let format = if args.certificate_log { EntryFormat::StaticCt } else { EntryFormat::TlogTiles };
    let key_of = |entry: &[u8]| match format {
        EntryFormat::StaticCt => sig_share_ct::chain::key_of_pending(entry),
        EntryFormat::TlogTiles => rekor::key_of_body(entry),
    };
    check::check(&tiles, state, &key, format, &key_of, &mut progress).map_err(|e| match e {
        check::CheckError::Inconsistent(msg) => CheckFailure::Inconsistent(msg),
        other => CheckFailure::CouldNot(other.into()),
    })
}
