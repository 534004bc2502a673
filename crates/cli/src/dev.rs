//! The development identity provider for `sig-share serve --dev`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use sig_share_dev_idp::{Config, DevIdp, SigningKey};
use sig_share_log::embedded::write_private;

/// Mounts a development identity provider at `<public_url>/oidc` on `router`. Its signing key is
/// kept in `data/dev-idp.key` (PKCS#8, mode 0600), so tokens it issued survive a restart. One
/// client address may hold `codes_per_client` login codes of each kind at once.
pub fn mount(router: Router, public_url: &str, data: &Path, codes_per_client: u32) -> anyhow::Result<Router> {
    let path = data.join("dev-idp.key");
    let key = if path.exists() {
        let der = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        SigningKey::from_pkcs8(&der).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        let key = SigningKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let der = key.to_pkcs8().map_err(|e| anyhow::anyhow!("{e}"))?;
        write_private(&path, &der).with_context(|| format!("writing {}", path.display()))?;
        key
    };
    let mut config = Config::new(format!("{public_url}/oidc"));
    config.max_outstanding_per_client = codes_per_client as usize;
    let idp = DevIdp::with_key(config, key)
        .map_err(|e| anyhow::anyhow!("starting the development identity provider: {e}"))?;
    Ok(sig_share_dev_idp::mount(router, Arc::new(idp)))
}

/// A witness of the development stack's own, for `serve --dev` without `--witness-policy`: in
/// this process, on a loopback port of its own, its key and state in `DATA/witness`, cosigning
/// the stack's transparency log. The log then publishes only checkpoints it cosigned, and
/// verifiers that pin the stack require its cosignature ("witnessed by 1 of 1"), so development
/// runs the path a real deployment runs. The returned task serves it; abort it to stop.
pub async fn witness(
    data: &Path,
    public_url: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<(Arc<sig_share_log::witnessing::Witnesses>, tokio::task::JoinHandle<()>)> {
    let host = sig_share_server::stack::host_of(public_url).map_err(anyhow::Error::msg)?;
    let log_key = sig_share_log::embedded::DataDir::new(data.join("tlog")).signer(&host).map_err(anyhow::Error::msg)?;
    let dir = data.join("witness");
    let key = sig_share_witness::key::load_or_create(&dir, None, &format!("{host}/dev-witness"))
        .with_context(|| format!("the development witness's key in {}", dir.display()))?;
    let mut logs = sig_share_witness::Logs::new();
    logs.add_vkey(&log_key.verifier().vkey())?;
    let vkey = key.verifier.vkey();
    let witness = sig_share_witness::Witness::open(&dir, logs, key.signer, Default::default())
        .with_context(|| format!("opening the development witness in {}", dir.display()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("a port for the development witness")?;
    let url = format!("http://{}", listener.local_addr()?);
    let router = sig_share_witness::http::router(witness, Default::default());
    let limits = sig_share_server::serve::Limits::DEFAULT;
    let served_url = url.clone();
    let task = tokio::spawn(async move {
        let served = crate::listen::serve(listener, router, &served_url, &limits, std::future::pending()).await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the development witness stopped");
        }
    });
    let policy =
        sig_share_tlog::policy::Policy::parse(&format!("witness dev-witness {vkey} {url}\nquorum dev-witness\n"))?;
    let witnesses = sig_share_log::witnessing::Witnesses::new(policy, timeout).map_err(anyhow::Error::msg)?;
    Ok((Arc::new(witnesses), task))
}

/// Log in to a development identity provider non-interactively.
#[derive(clap::Args, Debug)]
pub struct DevTokenArgs {
    /// The provider's issuer URL (`<server>/oidc` of `sig-share serve --dev`).
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// Who to log in as.
    #[arg(long, value_name = "EMAIL")]
    pub email: String,
}

/// Prints an identity token from the development provider at `args.issuer` for `args.email`,
/// approving the device flow itself: for scripts and benchmarks (`SIGSTORE_ID_TOKEN=$(…)`).
pub fn token(args: DevTokenArgs) -> anyhow::Result<std::process::ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    let token = rt
        .block_on(sig_share_dev_idp::client::device_login(&args.issuer, &args.email))
        .with_context(|| format!("logging in at {} (is `sig-share serve --dev` running there?)", args.issuer))?;
    println!("{token}");
    Ok(std::process::ExitCode::SUCCESS)
}
