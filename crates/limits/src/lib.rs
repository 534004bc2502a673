//! Rate limits and quotas shared by sig-share's services (issue 14 #7): one home for the limiter,
//! the client's address, and the answer a refused client gets.
//!
//! - [`Rate`]: a limit as an operator writes it (`600/min`, `off`);
//! - [`Limiter`]: a keyed GCRA limiter ([`governor`]) whose memory stays bounded however many
//!   distinct keys a flood brings;
//! - [`ClientAddr`]: the peer address an axum handler limits by (IPv6 by its /64);
//! - [`Refused`]: `429 Too Many Requests`, `Retry-After` and a JSON body in the grpc-gateway
//!   shape the log and the CA answer errors in;
//! - [`encode_metrics`]: refusals by limit, for a service's `/metrics`.

use std::convert::Infallible;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::{Quota, RateLimiter};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Serialize;

/// How many requests a key may make: `count` per `per`, all of them at once if it likes (a burst
/// of `count`), refilled evenly over `per`. So in any window of length `per` a key gets at most
/// twice `count`, and over a long run `count` per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests per period, and the burst.
    pub count: NonZeroU32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// `count` per `per`; `None` for a zero count or period.
    pub fn new(count: u32, per: Duration) -> Option<Rate> {
        (per > Duration::ZERO).then_some(())?;
        Some(Rate { count: NonZeroU32::new(count)?, per })
    }

    /// `count` per second.
    pub fn per_second(count: u32) -> Option<Rate> {
        Rate::new(count, Duration::from_secs(1))
    }

    /// `count` per minute.
    pub fn per_minute(count: u32) -> Option<Rate> {
        Rate::new(count, Duration::from_secs(60))
    }

    /// `count` per hour.
    pub fn per_hour(count: u32) -> Option<Rate> {
        Rate::new(count, Duration::from_secs(3600))
    }

    fn quota(self) -> Quota {
        // The period divided by the count is at least a nanosecond for any u32 count of a
        // period of seconds or more; fall back to the count per second otherwise.
        Quota::with_period(self.per / self.count.get())
            .map_or_else(|| Quota::per_second(self.count), |q| q.allow_burst(self.count))
    }
}

const UNITS: [(&str, u64); 4] = [("s", 1), ("min", 60), ("h", 3600), ("day", 86_400)];

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.per.as_secs();
        match UNITS.iter().find(|(_, s)| *s == secs) {
            Some((unit, _)) => write!(f, "{}/{unit}", self.count),
            None => write!(f, "{}/{secs}s", self.count),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `N/s`, `N/min`, `N/h` or `N/day`.
    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("{s:?} is not a rate: write N/s, N/min, N/h or N/day (N at least 1), or off");
        let (count, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().replace('_', "").parse().map_err(|_| bad())?;
        let secs = UNITS.iter().find(|(u, _)| *u == unit.trim()).map(|(_, s)| *s).ok_or_else(bad)?;
        Rate::new(count, Duration::from_secs(secs)).ok_or_else(bad)
    }
}

/// A limit that may be switched off: what a command-line flag holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Option<Rate>);

impl Limit {
    /// No limit.
    pub const OFF: Limit = Limit(None);
}

impl FromStr for Limit {
    type Err = String;

    /// A [`Rate`], or `off`.
    fn from_str(s: &str) -> Result<Limit, String> {
        if s.trim().eq_ignore_ascii_case("off") { Ok(Limit(None)) } else { s.parse().map(|r| Limit(Some(r))) }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => r.fmt(f),
            None => f.write_str("off"),
        }
    }
}

impl From<Rate> for Limit {
    fn from(r: Rate) -> Limit {
        Limit(Some(r))
    }
}

impl From<Option<Rate>> for Limit {
    fn from(r: Option<Rate>) -> Limit {
        Limit(r)
    }
}

/// The most distinct keys a limiter keeps state for by default: about 100 bytes each, so a few
/// megabytes at most.
pub const DEFAULT_MAX_KEYS: usize = 50_000;

/// Where a key's state lives: its own slot, or, once the table is full of keys still being
/// limited, one slot shared by every newcomer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Slot<K> {
    Key(K),
    Overflow,
}

/// A governor state store that holds at most `max` keys (give or take the requests racing to
/// insert one). A key arriving at a full table is limited in the shared [`Slot::Overflow`]: a
/// flood of distinct keys (addresses, identities) then shares one allowance instead of growing
/// memory without end, and clients already known keep their own.
#[derive(Debug)]
struct BoundedStore<K: Hash + Eq> {
    map: DashMapStateStore<Slot<K>>,
    max: usize,
}

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let slot = Slot::Key(key.clone());
        if self.map.len() >= self.max && !self.map.contains_key(&slot) {
            return self.map.measure_and_replace(&Slot::Overflow, f);
        }
        self.map.measure_and_replace(&slot, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for BoundedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.map.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// governor's keyed limiter over a [`BoundedStore`].
type Keyed<K, C> = RateLimiter<K, BoundedStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A keyed rate limiter: each key (a client address, an identity) gets its own [`Rate`].
///
/// Memory is bounded: at most `max_keys` keys are kept. When the table fills, keys whose state
/// is the same as a fresh one's (not limited right now) are forgotten, at most once a second;
/// if it is still full, new keys share one overflow allowance (see [`BoundedStore`]).
pub struct Limiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    name: &'static str,
    rate: Option<Rate>,
    inner: Option<Keyed<K, C>>,
    max_keys: usize,
    /// When the table was last swept, in nanoseconds since `origin`.
    last_sweep: AtomicU64,
    origin: C::Instant,
}

impl<K: Hash + Eq + Clone, C: Clock> fmt::Debug for Limiter<K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter").field("name", &self.name).field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter called `name` (in answers and metrics) allowing `limit` per key, with the
    /// default bound on keys; [`Limit::OFF`] lets everything through.
    pub fn new(name: &'static str, limit: Limit) -> Limiter<K> {
        Limiter::with_clock(name, limit, DEFAULT_MAX_KEYS, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock> Limiter<K, C> {
    /// [`Limiter::new`] keeping at most `max_keys` keys, reading time from `clock`.
    pub fn with_clock(name: &'static str, limit: Limit, max_keys: usize, clock: C) -> Limiter<K, C> {
        let max_keys = max_keys.max(1);
        let origin = clock.now();
        let inner = limit.0.map(|rate| {
            RateLimiter::new(rate.quota(), BoundedStore { map: DashMapStateStore::default(), max: max_keys }, clock)
        });
        Limiter { name, rate: limit.0, inner, max_keys, last_sweep: AtomicU64::new(0), origin }
    }

    /// The limit's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The rate, `None` when off.
    pub fn rate(&self) -> Option<Rate> {
        self.rate
    }

    /// Keys with state kept (for tests and metrics).
    pub fn keys(&self) -> usize {
        self.inner.as_ref().map_or(0, |l| l.len())
    }

    /// Takes one request from `key`'s allowance, or says when to come back.
    pub fn check(&self, key: &K) -> Result<(), Refused> {
        let Some(limiter) = &self.inner else { return Ok(()) };
        if limiter.len() >= self.max_keys {
            self.sweep(limiter);
        }
        match limiter.check_key(key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                let rate = self.rate.map(|r| r.to_string()).unwrap_or_default();
                Err(Refused::new(self.name, wait, format!("rate limit exceeded ({}: {rate})", self.name)))
            }
        }
    }

    /// Forgets keys that are not being limited, at most once a second.
    fn sweep(&self, limiter: &Keyed<K, C>) {
        let now: u64 = limiter.clock().now().duration_since(self.origin).into();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < 1_000_000_000
            || self.last_sweep.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        limiter.retain_recent();
        limiter.shrink_to_fit();
        tracing::debug!(limit = self.name, keys = limiter.len(), "swept the rate limiter's keys");
    }
}

/// The address a client is limited by: the connection's peer address, an IPv6 address by its
/// /64 (one host usually holds a whole /64, so single addresses would cost it nothing to vary).
///
/// Read from axum's `ConnectInfo<SocketAddr>`, so the server must be served with
/// `into_make_service_with_connect_info::<SocketAddr>()`. Without it (a router called in
/// process, as tests do) every request counts as one client, the unspecified address: limits
/// still hold, never silently vanish. Behind a reverse proxy every client is the proxy: limit
/// there, or raise these limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key for a peer address.
    pub fn of(ip: IpAddr) -> ClientAddr {
        match ip {
            IpAddr::V4(_) => ClientAddr(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddr(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    ClientAddr(IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
                }
            },
        }
    }

    /// The client address of a request's parts.
    pub fn from_parts(parts: &Parts) -> ClientAddr {
        match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => ClientAddr::of(addr.ip()),
            None => ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        }
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => v4.fmt(f),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<ClientAddr, Infallible> {
        Ok(ClientAddr::from_parts(parts))
    }
}

/// A request refused by a limit or quota: answered `429 Too Many Requests` with `Retry-After`
/// (whole seconds, at least 1) and `{"code": 8, "message": "…", "details": []}` (gRPC's
/// RESOURCE_EXHAUSTED, in the grpc-gateway shape sigstore clients print).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The limit's name.
    pub limit: &'static str,
    /// When the client may try again.
    pub retry_after: Duration,
    /// What to tell the client.
    pub message: String,
}

impl Refused {
    /// A refusal by `limit`, counted in the metrics.
    pub fn new(limit: &'static str, retry_after: Duration, message: String) -> Refused {
        REFUSED.get_or_create(&vec![("limit", limit)]).inc();
        Refused { limit, retry_after, message }
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; retry after {} s", self.message, self.retry_after_secs())
    }
}

impl std::error::Error for Refused {}

/// The grpc-gateway error shape.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
    details: [(); 0],
}

/// gRPC's RESOURCE_EXHAUSTED.
pub const RESOURCE_EXHAUSTED: u16 = 8;

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let body = ErrorBody { code: RESOURCE_EXHAUSTED, message: &message, details: [] };
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after_secs()));
        r
    }
}

type Labels = Vec<(&'static str, &'static str)>;

/// Refusals by limit, for the whole process.
static REFUSED: LazyLock<Family<Labels, Counter>> = LazyLock::new(Family::default);

/// Requests refused by each limit so far (`sigshare_limits_refused_total{limit="…"}`), in the
/// Prometheus text format without the closing `# EOF`, to append to a service's own metrics.
pub fn encode_metrics() -> String {
    let mut registry = Registry::with_prefix("sigshare_limits");
    registry.register("refused", "Requests refused by a rate limit or quota, by limit", REFUSED.clone());
    let mut s = String::new();
    encode(&mut s, &registry).expect("writing to a String cannot fail");
    strip_eof(&s).to_owned()
}

/// `text` without its closing `# EOF` line, so more metrics can follow.
pub fn strip_eof(text: &str) -> &str {
    text.strip_suffix("# EOF\n").unwrap_or(text)
}

/// `metrics` (a registry's text, ending in `# EOF`) followed by the refusals, closed again.
pub fn with_refusals(metrics: &str) -> String {
    format!("{}{}# EOF\n", strip_eof(metrics), encode_metrics())
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limiter(limit: &str, max_keys: usize) -> (Limiter<u32, FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Limiter::with_clock("test", limit.parse().unwrap(), max_keys, clock.clone()), clock)
    }

    #[test]
    fn rates_parse_and_print() {
        assert_eq!("600/min".parse::<Rate>(), Ok(Rate::per_minute(600).unwrap()));
        assert_eq!("10_000/day".parse::<Rate>().unwrap().to_string(), "10000/day");
        assert_eq!(" 5 / s ".parse::<Rate>(), Ok(Rate::per_second(5).unwrap()));
        assert_eq!("off".parse::<Limit>(), Ok(Limit::OFF));
        assert_eq!("OFF".parse::<Limit>().unwrap().to_string(), "off");
        for bad in ["0/s", "5", "5/week", "-1/s", "/s", "5/", "", "1e3/s", "99999999999/s"] {
            assert!(bad.parse::<Limit>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_key_gets_its_burst_then_waits_for_the_refill() {
        let (l, clock) = limiter("3/s", 100);
        for _ in 0..3 {
            l.check(&1).expect("within the burst");
        }
        let refused = l.check(&1).expect_err("past the burst");
        assert_eq!(refused.limit, "test");
        assert!(refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_millis(334));
        assert_eq!(refused.retry_after_secs(), 1);
        // Another key is not affected.
        l.check(&2).expect("another key");
        clock.advance(Duration::from_millis(334));
        l.check(&1).expect("one refilled");
        assert!(l.check(&1).is_err());
    }

    #[test]
    fn off_lets_everything_through_and_keeps_nothing() {
        let (l, _) = limiter("off", 1);
        for k in 0..1000 {
            l.check(&k).expect("off");
        }
        assert_eq!(l.keys(), 0);
    }

    #[test]
    fn a_flood_of_keys_shares_one_allowance_and_memory_stays_bounded() {
        let (l, clock) = limiter("2/min", 10);
        // Ten known clients, each limited right now (their state differs from a fresh one).
        for k in 0..10 {
            l.check(&k).unwrap();
        }
        // A flood of new keys: two get through in the shared overflow slot, the rest wait.
        let passed = (1000..2000).filter(|k| l.check(k).is_ok()).count();
        assert_eq!(passed, 2, "new keys beyond the bound share one allowance");
        assert!(l.keys() <= 11, "{} keys kept", l.keys());
        // Known clients still have their own allowance.
        l.check(&3).expect("a known client is still served");
        // Once the known keys are idle long enough to be indistinguishable from fresh, a sweep
        // forgets them and new keys get slots of their own again.
        clock.advance(Duration::from_secs(120));
        l.check(&5000).unwrap();
        l.check(&5000).unwrap();
        assert!(l.check(&5000).is_err());
        l.check(&5001).expect("a slot of its own after the sweep");
        assert!(l.keys() <= 11, "{} keys kept", l.keys());
    }

    #[test]
    fn client_addresses_group_ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientAddr::of(a), ClientAddr::of(b));
        assert_ne!(ClientAddr::of(a), ClientAddr::of(c));
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        assert_eq!(ClientAddr::of(mapped), ClientAddr("127.0.0.2".parse().unwrap()));
        assert_eq!(ClientAddr::of(a).to_string(), "2001:db8:1:2::/64");
    }

    #[tokio::test]
    async fn refusals_answer_429_with_retry_after_and_json() {
        use http_body_util::BodyExt;
        let r = Refused::new("unit_test", Duration::from_millis(1500), "slow down".into()).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        assert!(r.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], 8);
        assert!(json["message"].as_str().unwrap().contains("slow down"), "{json}");
        let metrics = with_refusals("# HELP x y\n# EOF\n");
        assert!(metrics.contains("sigshare_limits_refused_total{limit=\"unit_test\"} 1"), "{metrics}");
        assert_eq!(metrics.matches("# EOF").count(), 1, "{metrics}");
    }

    #[tokio::test]
    async fn the_client_address_comes_from_connect_info() {
        use axum::Router;
        use axum::routing::get;
        use tower::ServiceExt;
        let app = Router::new().route("/", get(|ClientAddr(ip): ClientAddr| async move { ip.to_string() }));
        let req = |ci: Option<SocketAddr>| {
            let mut r = axum::http::Request::get("/").body(axum::body::Body::empty()).unwrap();
            if let Some(a) = ci {
                r.extensions_mut().insert(ConnectInfo(a));
            }
            r
        };
        let text = |r: Response| async {
            String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
        };
        use http_body_util::BodyExt;
        let r = app.clone().oneshot(req(Some("127.0.0.7:999".parse().unwrap()))).await.unwrap();
        assert_eq!(text(r).await, "127.0.0.7");
        let r = app.oneshot(req(None)).await.unwrap();
        assert_eq!(text(r).await, "0.0.0.0");
    }
}

/// The cost of a check, against the per-request work it guards (`cargo test --release -p
/// sig-share-limits -- --ignored --nocapture check_cost`).
#[cfg(test)]
mod cost {
    use super::*;

    #[test]
    #[ignore = "a measurement, not a check"]
    fn check_cost() {
        let l: Limiter<ClientAddr> = Limiter::new("cost", "1000000/s".parse().unwrap());
        let keys: Vec<ClientAddr> =
            (0..1000u32).map(|i| ClientAddr::of(IpAddr::from((0x7f4d_0000 + i).to_be_bytes()))).collect();
        let n = 2_000_000;
        let started = std::time::Instant::now();
        for i in 0..n {
            l.check(&keys[i % keys.len()]).unwrap();
        }
        let per = started.elapsed().as_nanos() as f64 / n as f64;
        println!("Limiter::check over 1,000 client addresses: {per:.0} ns per request");
    }
}
