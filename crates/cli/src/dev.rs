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
