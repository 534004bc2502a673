//! How every server of the `sig-share` binary takes connections (`serve`, `log serve`, the demos):
//! one HTTP/1.1 server with limits, so that no client can hold the process's file descriptors or
//! memory by opening connections and sending nothing, or sending slowly.
//!
//! | limit | default | what happens |
//! |---|---|---|
//! | connections in all | 20,000, and at most the descriptor limit less [`Limits::reserved_fds`] | at the cap no more are accepted: they wait in the kernel's backlog, taking no descriptor of ours |
//! | connections per client address (IPv6: per /64) | 256 | more are closed as soon as accepted |
//! | header time ([`Limits::header_timeout`]) | 15 s | a request's line and headers must arrive within it, counted from the connection's opening or its previous answer (so it is also the keep-alive idle time); then the connection is closed |
//! | header size ([`Limits::max_header_bytes`]) | 16 KiB | 431 and the connection closed |
//! | body pause ([`Limits::body_timeout`]) | 10 s | a body that stops arriving for this long fails (400) |
//! | request time ([`Limits::request_timeout`]) | 30 s | the request is answered 503 with JSON (its body, however slow, included) |
//! | stall ([`Limits::idle_timeout`]) | 60 s | a connection on which no byte moves either way (a client that stops reading its answer) is closed |
//!
//! HTTP/2 is not served: no sigstore client speaks it to a plain-HTTP server, and it is another
//! protocol to bound. Handlers see the client's address as `ConnectInfo<SocketAddr>`.
//!
//! Serving starts by lifting the soft limit on open files to the hard one.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The limits every server runs with; see the module documentation for what each does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most connections open at once (lowered to the descriptor limit less `reserved_fds`).
    pub max_connections: usize,
    /// The most connections open at once from one client address (one /64 for IPv6).
    pub max_connections_per_client: usize,
    /// File descriptors kept for storage (tiles, the state database), outbound requests and
    /// the listener: connections may use only the rest.
    pub reserved_fds: u64,
    /// Time to send a request's line and headers; also how long a kept-alive connection may
    /// wait for its next request.
    pub header_timeout: Duration,
    /// The largest request line and headers, in bytes.
    pub max_header_bytes: usize,
    /// The longest pause in a request body.
    pub body_timeout: Duration,
    /// Time to answer a request, its body included.
    pub request_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    pub idle_timeout: Duration,
}

impl Limits {
    /// The defaults (the command line's too).
    pub const DEFAULT: Limits = Limits {
        max_connections: 20_000,
        max_connections_per_client: 256,
        reserved_fds: 256,
        header_timeout: Duration::from_secs(15),
        max_header_bytes: 16 * 1024,
        body_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(60),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Why the limits cannot be served with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LimitsError(String);

impl Limits {
    /// Checks that the limits make sense together: every one non-zero, headers at least 8 KiB
    /// (hyper's smallest buffer), and a stalled connection judged over a longer time than a
    /// request may take (a handler at work moves no bytes).
    pub fn check(&self) -> Result<(), LimitsError> {
        let fail = |m: &str| Err(LimitsError(m.to_owned()));
        if self.max_connections == 0 || self.max_connections_per_client == 0 {
            return fail("the connection limits must be at least 1");
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return fail("the header size limit must be at least 8192 bytes");
        }
        let times = [self.header_timeout, self.body_timeout, self.request_timeout, self.idle_timeout];
        if times.iter().any(Duration::is_zero) {
            return fail("the timeouts must be longer than zero");
        }
        if self.idle_timeout <= self.request_timeout {
            return fail("the idle timeout must be longer than the request timeout");
        }
        Ok(())
    }

    /// The connection cap under a descriptor limit of `fd_limit`.
    pub fn connection_cap(&self, fd_limit: u64) -> Result<usize, LimitsError> {
        let free = fd_limit.saturating_sub(self.reserved_fds);
        if free < 16 {
            return Err(LimitsError(format!(
                "the file descriptor limit ({fd_limit}) leaves {free} for connections once {} are reserved: raise it (ulimit -n) or lower the reserve",
                self.reserved_fds
            )));
        }
        Ok(self.max_connections.min(usize::try_from(free).unwrap_or(usize::MAX)))
    }
}

/// hyper's smallest read buffer.
const MIN_HEADER_BYTES: usize = 8192;

/// How long connections get to finish their requests at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Raises the soft limit on open files to the hard limit, and returns the limit now in force.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The soft limit on open files now.
fn fd_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024)
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets open
/// requests finish for a few seconds.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), LimitsError> {
    limits.check()?;
    let fds = raise_fd_limit().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not raise the open-files limit");
        fd_limit()
    });
    let cap = limits.connection_cap(fds)?;
    tracing::info!(connections = cap, per_client = limits.max_connections_per_client, "serving");
    let router = with_request_timeout(router, limits.request_timeout);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES));
    let slots = Arc::new(Semaphore::new(cap));
    let clients = Clients::default();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut warned_full = None::<Instant>;
    loop {
        // A slot is taken before accepting: at the cap connections wait in the kernel's backlog
        // and use none of the descriptors that storage needs.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if warned_full.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(connections = cap, "at the connection limit: new connections wait");
                    warned_full = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(client) = clients.enter(peer.ip(), limits.max_connections_per_client) else {
            tracing::debug!(client = %peer.ip(), "closing a connection beyond the per-client limit");
            // Told why, best effort: one non-blocking write into the socket's empty send buffer,
            // nothing waited for, so a flood costs no more than closing at once.
            let _ = stream.try_write(too_many_connections().as_bytes());
            drop(stream);
            continue;
        };
        // Nagle off: answers are small and latency is the product.
        let _ = stream.set_nodelay(true);
        let (io, last_moved) = Watched::new(stream);
        let service = TowerToHyperService::new(connection_service(router.clone(), peer, limits.body_timeout));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        let idle = limits.idle_timeout;
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(client = %peer, error = %e, "connection ended");
                    }
                }
                () = stalled(last_moved, idle) => tracing::debug!(client = %peer, "closing a stalled connection"),
            }
            drop((slot, client));
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}: closing them");
    }
    Ok(())
}

/// The answer a connection beyond the per-client limit gets before it is closed: 429 with
/// `Retry-After` and the JSON every route answers errors with.
fn too_many_connections() -> &'static str {
    static ANSWER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let body = r#"{"code":8,"message":"too many connections from this address: reuse one (keep-alive) or retry later","details":[]}"#;
        format!(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    });
    &ANSWER
}

/// Backs off after a failed accept: out of descriptors (the reserve is for storage, so this
/// should not happen) or a connection aborted before it was taken.
async fn accept_failed(e: &std::io::Error) {
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The router with requests that take longer than `timeout` answered 503, as JSON.
fn with_request_timeout(router: Router, timeout: Duration) -> Router {
    let secs = timeout.as_secs_f64();
    router.layer(
        tower::ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |_: tower::BoxError| async move {
                sig_share_log::http::unavailable(format!("the request was not answered within {secs} s"), 1)
            }))
            .layer(tower::timeout::TimeoutLayer::new(timeout)),
    )
}

/// One connection's service: the router, with the client's address for `ConnectInfo` and its
/// request bodies cut when they pause longer than `body_timeout`.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    body_timeout: Duration,
) -> impl tower::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |req: Request<Incoming>| {
        let mut req = req.map(|body| TimeoutBody::new(body_timeout, body));
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    })
}

/// The router answering only requests whose Host is `public_host` or a loopback name
/// (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`), whatever the port; others get 421 with
/// JSON. For a server bound to loopback: a web page whose own name an attacker points at
/// 127.0.0.1 (DNS rebinding) would otherwise reach it from the visitor's browser as the page's
/// own origin, free to read and write.
pub fn loopback_hosts_only(router: Router, public_host: &str) -> Router {
    let public_host: Arc<str> = public_host.to_ascii_lowercase().into();
    router.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let allowed = host_allowed(&req, &public_host);
        async move {
            if allowed {
                next.run(req).await
            } else {
                sig_share_log::http::error(
                    axum::http::StatusCode::MISDIRECTED_REQUEST,
                    7,
                    "this server answers only its own name or a loopback name in the Host header".into(),
                )
            }
        }
    }))
}

/// Whether `req`'s Host (or, in HTTP/2 form, its URI's authority) is allowed.
fn host_allowed(req: &axum::extract::Request, public_host: &str) -> bool {
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let Some(host) = host else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    }
    .trim_end_matches('.')
    .to_ascii_lowercase();
    name == public_host
        || name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Resolves once nothing has moved on a connection for `idle`.
async fn stalled(last_moved: Arc<AtomicU64>, idle: Duration) {
    let start = tokio::time::Instant::now();
    loop {
        let moved = Duration::from_millis(last_moved.load(Ordering::Relaxed));
        let deadline = start + moved + idle;
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

/// A TCP stream that notes when bytes last moved, in milliseconds since it was made.
struct Watched {
    stream: TcpStream,
    start: Instant,
    last_moved: Arc<AtomicU64>,
}

impl Watched {
    fn new(stream: TcpStream) -> (Watched, Arc<AtomicU64>) {
        let last_moved = Arc::new(AtomicU64::new(0));
        (Watched { stream, start: Instant::now(), last_moved: last_moved.clone() }, last_moved)
    }

    fn moved(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_moved.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Open connections by client.
#[derive(Clone, Default)]
struct Clients(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection of a client; dropping it ends it.
struct Client {
    clients: Clients,
    key: IpAddr,
}

impl Clients {
    /// Counts a connection from `ip`, unless its client already has `max` open.
    fn enter(&self, ip: IpAddr, max: usize) -> Option<Client> {
        let key = client_key(ip);
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Client { clients: self.clone(), key })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Who a client is, for the per-client limit: its IPv4 address, or its IPv6 /64 (a host is
/// usually given a whole /64, so counting single IPv6 addresses would limit nothing).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_by_ipv4_address_and_ipv6_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_gets_at_most_its_share_and_gets_it_back() {
        let clients = Clients::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| clients.enter(ip, 3).unwrap()).collect();
        assert!(clients.enter(ip, 3).is_none());
        assert!(clients.enter("192.0.2.2".parse().unwrap(), 3).is_some());
        drop(held);
        assert!(clients.enter(ip, 3).is_some());
        assert_eq!(clients.0.lock().unwrap().len(), 0, "entries of clients gone are removed");
    }

    #[test]
    fn only_own_and_loopback_hosts_are_answered() {
        let req = |host: &str| {
            axum::extract::Request::builder().header("host", host).body(axum::body::Body::empty()).unwrap()
        };
        for ok in [
            "127.0.0.1:3000",
            "localhost",
            "LOCALHOST:1",
            "app.localhost:80",
            "[::1]:3000",
            "127.9.9.9",
            "sig.example:443",
            "sig.example.",
        ] {
            assert!(host_allowed(&req(ok), "sig.example"), "{ok}");
        }
        for bad in ["evil.example:3000", "127.0.0.1.evil.example", "sig.example.evil", "[::2]:3000", "10.0.0.1", ""] {
            assert!(!host_allowed(&req(bad), "sig.example"), "{bad}");
        }
    }

    #[test]
    fn the_cap_leaves_the_reserve_to_storage() {
        let limits = Limits::default();
        assert_eq!(limits.connection_cap(1024).unwrap(), 768);
        assert_eq!(limits.connection_cap(1 << 20).unwrap(), 20_000);
        assert!(limits.connection_cap(200).is_err());
        assert!(Limits { idle_timeout: Duration::from_secs(5), ..Limits::default() }.check().is_err());
        assert!(Limits { max_header_bytes: 100, ..Limits::default() }.check().is_err());
        Limits::default().check().unwrap();
    }
}
