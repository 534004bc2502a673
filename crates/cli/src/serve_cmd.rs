//! `sig-share serve`: the transparency log, certificate log, CA and TSA in one process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sig_share_ca::{Config, IssuerConfig, IssuerType};
use sig_share_log::LogConfig;
use sig_share_server::trust_config::TRUST_CONFIG_PATH;
use sig_share_server::{Options, Stack};

use crate::listen::Listen;

/// Where and how to run the stack.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub at: Listen,
    /// A JSON file of trusted OpenID Connect issuers (see the README for its format).
    #[arg(long)]
    pub issuers: Option<PathBuf>,
    /// Run the development identity provider at <public-url>/oidc and trust it. Anyone can log
    /// in as anyone: never expose a --dev server to a network.
    #[arg(long)]
    pub dev: bool,
    /// The CA's signing key in a PKCS#11 token, as an RFC 7512 URI
    /// (`pkcs11:token=T;object=K?module-path=/usr/lib/softhsm/libsofthsm2.so`); the PIN comes
    /// from the URI's pin-source or $SIG_SHARE_PKCS11_PIN. Default: a key file in the data
    /// directory. Create a key with `sig-share ca keygen`.
    #[arg(long)]
    pub ca_key: Option<String>,
    /// How often the logs integrate submissions (at least 50ms).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub period: Duration,
    /// Enroll devices (`sig-share device enroll`) for whoever holds the secret in this file.
    /// With --dev and no file, a secret is made and written to DATA/device-operator.secret.
    #[arg(long, value_name = "PATH")]
    pub device_operator_secret_file: Option<PathBuf>,
    /// The verification page's WebAssembly verifier, as `scripts/build-web` makes it
    /// [default: $SIG_SHARE_WEB_PKG, else web/pkg in the source tree].
    #[arg(long, value_name = "DIR")]
    pub web_pkg: Option<PathBuf>,
    #[command(flatten)]
    pub limits: crate::limits_args::StackLimitArgs,
    #[command(flatten)]
    pub witnesses: crate::witness_policy_args::WitnessPolicyArgs,
    /// With --dev, run without the development witness that otherwise cosigns every checkpoint
    /// (its key and state in DATA/witness, on a loopback port of its own).
    #[arg(long, requires = "dev", conflicts_with = "witness_policy")]
    pub no_dev_witness: bool,
}

/// The device enrollment to serve: the operator's secret from its file, or with `--dev` one
/// made here (kept in the data directory, readable by its owner only).
fn device_enrollment(args: &ServeArgs, public_url: &str) -> anyhow::Result<Option<sig_share_ca::DeviceEnrollment>> {
    let issuer = format!("{public_url}/devices");
    if let Some(path) = &args.device_operator_secret_file {
        let secret = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let secret = secret.trim();
        anyhow::ensure!(secret.len() >= 16, "the operator secret in {} is shorter than 16 characters", path.display());
        return Ok(Some(sig_share_ca::DeviceEnrollment::new(secret, issuer)));
    }
    if !args.dev {
        return Ok(None);
    }
    let path = args.at.data.join(DEV_OPERATOR_SECRET);
    let secret = match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness for the operator secret"))?;
            let secret = hex::encode(bytes);
            crate::files::write_private(&path, secret.as_bytes())?;
            secret
        }
    };
    Ok(Some(sig_share_ca::DeviceEnrollment::new(&secret, issuer)))
}

/// Where `serve --dev` keeps the device operator's secret, in the data directory.
pub const DEV_OPERATOR_SECRET: &str = "device-operator.secret";

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

/// The issuers to trust: the file's, plus the development provider with `--dev`.
fn issuers(args: &ServeArgs, public_url: &str) -> anyhow::Result<(Config, Option<String>)> {
    let mut config = match &args.issuers {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Config::from_json(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Config::default(),
    };
    let mut oidc_url = config.issuers.iter().find_map(|i| i.url.clone());
    if args.dev {
        let dev = format!("{public_url}/oidc");
        config.issuers.push(IssuerConfig::exact(&dev, IssuerType::Email));
        oidc_url = Some(dev);
    }
    if config.issuers.is_empty() {
        anyhow::bail!("no identity issuer to trust: pass --issuers FILE, or --dev for a local development provider");
    }
    Ok((config, oidc_url))
}

/// A stack opened, listening and sequencing, not yet answering.
pub struct Started {
    /// The stack.
    pub stack: Stack,
    /// Its public URL.
    pub public_url: String,
    router: axum::Router,
    listener: tokio::net::TcpListener,
    limits: sig_share_server::serve::Limits,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Started {
    /// Answers requests until `shutdown` resolves, then stops the sequencers.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let served = crate::listen::serve(self.listener, self.router, &self.public_url, &self.limits, shutdown).await;
        self.tasks.iter().for_each(|t| t.abort());
        served
    }
}

/// Opens the stack in `args`' data directory, binds its address, starts the sequencers and
/// logs the genesis entry.
pub async fn start(args: &ServeArgs) -> anyhow::Result<Started> {
    if args.period < LogConfig::MIN_PERIOD {
        anyhow::bail!("--period must be at least {:?}", LogConfig::MIN_PERIOD);
    }
    let public_url = args.at.public_url(false)?;
    let limits = args.at.connections.limits()?;
    let (config, oidc_url) = issuers(args, &public_url)?;
    let ca_key = match &args.ca_key {
        Some(uri) => Some(crate::ca_cmd::open_token_key(uri, "the CA key (--ca-key)")?),
        None => None,
    };
    let mut dev_tasks = Vec::new();
    let witnesses = match args.witnesses.witnesses()? {
        Some(w) => Some(w),
        None if args.dev && !args.no_dev_witness => {
            let (w, task) = crate::dev::witness(&args.at.data, &public_url, args.witnesses.witness_timeout).await?;
            dev_tasks.push(task);
            Some(w)
        }
        None => None,
    };
    let options = Options {
        data: args.at.data.clone(),
        public_url: public_url.clone(),
        period: args.period,
        issuers: config.clone(),
        oidc_url,
        ca_key,
        witnesses,
    };
    let stack = Stack::open(&options).map_err(anyhow::Error::msg)?;
    let devices = device_enrollment(args, &public_url)?;
    let web_pkg = args.web_pkg.clone().unwrap_or_else(sig_share_server::site::default_pkg_dir);
    let mut router =
        stack.router_with_limits(config, devices, args.limits.limits()).merge(sig_share_server::site::routes(web_pkg));
    if args.dev {
        router = crate::dev::mount(router, &public_url, &args.at.data, args.limits.dev_idp_codes_per_client)?;
    }
    let listener = args.at.bind().await?;
    let mut tasks = stack.run_sequencers();
    tasks.extend(dev_tasks);
    stack.log_genesis().await?;
    Ok(Started { stack, public_url, router, listener, limits, tasks })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let started = start(&args).await?;
    let (stack, public_url) = (&started.stack, &started.public_url);
    eprintln!("sig-share serving {public_url}");
    eprintln!("  verification page  {public_url}/");
    eprintln!("  CA                 {public_url}/api/v2/signingCert");
    eprintln!("  transparency log   {public_url}/api/v2/log/entries (origin {})", stack.tlog.config().origin);
    eprintln!("  certificate log    {public_url}/ctlog (origin {})", stack.ct.log().config().origin);
    eprintln!("  timestamps         {public_url}/api/v1/timestamp");
    if let Some(w) = &stack.tlog.config().witnesses {
        eprintln!("  witnesses          {}", crate::witness_policy_args::describe(w));
        eprintln!("  witness policy     {public_url}{}", sig_share_log::http::WITNESS_POLICY_PATH);
    }
    if args.dev {
        eprintln!("  identity (DEV)     {public_url}/oidc   anyone can log in as anyone: development only");
    }
    if args.dev || args.device_operator_secret_file.is_some() {
        eprintln!("  device enrollment  {public_url}/api/v2/deviceCert");
    }
    eprintln!("  trust config       {public_url}{TRUST_CONFIG_PATH}");
    eprintln!("                     {}", stack.trust_config_path().display());
    started.serve(crate::listen::shutdown()).await
}
