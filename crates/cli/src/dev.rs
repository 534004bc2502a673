//! The development identity provider for `sig-share serve --dev`.

use std::sync::Arc;

use axum::Router;
use sig_share_dev_idp::{Config, DevIdp};

/// Mounts a development identity provider at `<public_url>/oidc` on `router`.
pub fn mount(router: Router, public_url: &str) -> anyhow::Result<Router> {
    let idp = DevIdp::new(Config::new(format!("{public_url}/oidc")))
        .map_err(|e| anyhow::anyhow!("starting the development identity provider: {e}"))?;
    Ok(sig_share_dev_idp::mount(router, Arc::new(idp)))
}
