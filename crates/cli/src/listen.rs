//! What every serving command takes: a data directory, an address, the public URL, the
//! connection limits; and how it listens, serves and stops.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use sig_share_server::serve::Limits;

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
    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// The connection limits (see `sig_share_server::serve` for what each does).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Connection limits")]
pub struct ConnectionArgs {
    /// The most connections open at once; further ones wait to be accepted. Lowered to the
    /// open-files limit less --reserved-fds.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_connections)]
    pub max_connections: usize,
    /// The most connections open at once from one client address (an IPv6 /64); further ones
    /// are answered 429 and closed at once. Behind a reverse proxy every connection comes from the proxy.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_connections_per_client)]
    pub max_connections_per_client: usize,
    /// File descriptors kept for storage and outbound requests, never used for connections.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.reserved_fds)]
    pub reserved_fds: u64,
    /// Time to send a request's headers, from the connection's opening or its previous answer
    /// (so also the keep-alive idle time); then the connection is closed.
    #[arg(long, value_name = "TIME", default_value_t = Limits::DEFAULT.header_timeout.into())]
    pub header_timeout: humantime::Duration,
    /// The largest request line and headers, in bytes (at least 8192); larger get 431.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT.max_header_bytes)]
    pub max_header_bytes: usize,
    /// The longest pause in a request body; then the request fails.
    #[arg(long, value_name = "TIME", default_value_t = Limits::DEFAULT.body_timeout.into())]
    pub body_timeout: humantime::Duration,
    /// Time to answer a request, its body included; then it is answered 503.
    #[arg(long, value_name = "TIME", default_value_t = Limits::DEFAULT.request_timeout.into())]
    pub request_timeout: humantime::Duration,
    /// A connection on which no byte moves either way for this long is closed (longer than
    /// --request-timeout).
    #[arg(long, value_name = "TIME", default_value_t = Limits::DEFAULT.idle_timeout.into())]
    pub idle_timeout: humantime::Duration,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        let d = Limits::DEFAULT;
        ConnectionArgs {
            max_connections: d.max_connections,
            max_connections_per_client: d.max_connections_per_client,
            reserved_fds: d.reserved_fds,
            header_timeout: d.header_timeout.into(),
            max_header_bytes: d.max_header_bytes,
            body_timeout: d.body_timeout.into(),
            request_timeout: d.request_timeout.into(),
            idle_timeout: d.idle_timeout.into(),
        }
    }
}

impl ConnectionArgs {
    /// The limits to serve with, checked.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let limits = Limits {
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            reserved_fds: self.reserved_fds,
            header_timeout: self.header_timeout.into(),
            max_header_bytes: self.max_header_bytes,
            body_timeout: self.body_timeout.into(),
            request_timeout: self.request_timeout.into(),
            idle_timeout: self.idle_timeout.into(),
        };
        limits.check()?;
        Ok(limits)
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves: the one way every
/// server of this binary answers. Bound to loopback, it answers only requests that name
/// `public_url`'s host or a loopback name (against DNS rebinding: see
/// `sig_share_server::serve::loopback_hosts_only`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    public_url: &str,
    limits: &Limits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let router = if listener.local_addr()?.ip().is_loopback() {
        sig_share_server::serve::loopback_hosts_only(
            router,
            &sig_share_server::stack::host_of(public_url).map_err(anyhow::Error::msg)?,
        )
    } else {
        router
    };
    sig_share_server::serve::serve(listener, router, limits, shutdown).await?;
    Ok(())
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
