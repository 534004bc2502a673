//! What every serving command takes: a data directory, an address, the public URL; and how it
//! listens and stops.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::serve::ListenerExt;
use clap::Args;

/// Where a server keeps its data and where it is reached.
#[derive(Args, Debug, Clone)]
pub struct Listen {
    /// The data directory (created if missing).
    #[arg(long, default_value = "sig-share-data", env = "SIG_SHARE_DATA")]
    pub data: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// The URL clients reach the server at (default: http://<listen>). It names the logs (their
    /// checkpoint origins) and goes into the published trust config.
    #[arg(long)]
    pub public_url: Option<String>,
}

impl Listen {
    /// The public URL without a trailing slash. Listening on all interfaces says nothing about
    /// the address clients use, so then `--public-url` is required (unless `named` otherwise).
    pub fn public_url(&self, named: bool) -> anyhow::Result<String> {
        if self.public_url.is_none() && !named && self.listen.ip().is_unspecified() {
            anyhow::bail!(
                "listening on all interfaces ({}): pass --public-url with the URL clients use, which names the logs",
                self.listen
            );
        }
        let url = self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen));
        Ok(url.trim_end_matches('/').to_owned())
    }

    /// Binds the address.
    pub async fn bind(&self) -> anyhow::Result<tokio::net::TcpListener> {
        tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("listening on {} (is another server running there?)", self.listen))
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// The listener with Nagle off on every connection: answers are small and latency is the product.
pub fn no_delay(listener: tokio::net::TcpListener) -> impl axum::serve::Listener<Addr = SocketAddr> {
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    })
}
