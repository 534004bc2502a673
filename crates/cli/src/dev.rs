//! The development identity provider for `sig-share serve --dev`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use sig_share_dev_idp::{Config, DevIdp, SigningKey};
use sig_share_log::embedded::write_private;

/// Mounts a development identity provider at `<public_url>/oidc` on `router`. Its signing key is
/// kept in `data/dev-idp.key` (PKCS#8, mode 0600), so tokens it issued survive a restart.
pub fn mount(router: Router, public_url: &str, data: &Path) -> anyhow::Result<Router> {
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
    let idp = DevIdp::with_key(Config::new(format!("{public_url}/oidc")), key)
        .map_err(|e| anyhow::anyhow!("starting the development identity provider: {e}"))?;
    Ok(sig_share_dev_idp::mount(router, Arc::new(idp)))
}
