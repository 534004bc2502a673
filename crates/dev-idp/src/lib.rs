//! # sig-share's development identity provider
//!
//! **For development only. Anyone who can reach it can sign in as anyone: there is no password.**
//!
//! sig-share's certificate authority turns an OpenID Connect ID token into a certificate naming
//! the token's email address. On a laptop or in CI there is often no real issuer to log in to,
//! so the embedded default ships this one: a small OIDC issuer that follows the standards real
//! issuers follow (discovery, JWKS, authorization code with PKCE, the device flow, RS256 ID
//! tokens), so the clients and the CA exercise exactly the code paths they use in production.
//! What it does not do is authenticate anybody: the login page asks for an email address and
//! believes it.
//!
//! ## Enabling it
//!
//! It is off unless asked for. `sig-share serve --dev` builds a [`DevIdp`] whose issuer is the
//! server's public URL plus `/oidc` and mounts its [`router`] there; the CA is then configured
//! to trust that issuer. In code:
//!
//! ```no_run
//! use std::sync::Arc;
//! use sig_share_dev_idp::{Config, DevIdp};
//!
//! # fn main() -> Result<(), sig_share_dev_idp::Error> {
//! let idp = Arc::new(DevIdp::new(Config::new("http://127.0.0.1:3000/oidc"))?);
//! // Nests the routes under the issuer's path (`/oidc`), or merges them at the root.
//! let app = sig_share_dev_idp::mount(axum::Router::new(), idp);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! Every URL it prints (discovery, form actions, `verification_uri`) is derived from the issuer,
//! so the issuer must be the URL clients reach it at. [`DevIdp::new`] logs a `tracing` warning
//! naming the issuer, and every HTML page carries a banner ([`DEV_ONLY_BANNER`]) saying it is
//! for development only.
//!
//! ## It must never face the internet
//!
//! Whoever reaches the login page can get a token, and so a certificate, for any email address.
//! Bind the server to loopback (or a private test network), and never configure a CA that
//! issues publicly trusted certificates to trust this issuer. Certificates chained to a dev
//! deployment prove nothing about who signed.
//!
//! ## What it speaks
//!
//! | route (under the issuer) | what |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | OIDC Discovery 1.0 |
//! | `GET /jwks` | the signing keys, RSA, `kid` = RFC 7638 thumbprint; the current key first, the previous one kept after [`DevIdp::rotate_key`] |
//! | `GET /authorize`, `POST /authorize` | authorization code flow (RFC 6749 §4.1) with PKCE S256 required (RFC 7636); a login page with one email field. `redirect_uri` is any loopback `http` URI on any port (RFC 8252 §7.3) or one registered for the client; `urn:ietf:wg:oauth:2.0:oob` is registered for `sigstore` and shows the code on the page |
//! | `POST /token` | `authorization_code` (with `code_verifier`) and `urn:ietf:params:oauth:grant-type:device_code` |
//! | `POST /device_authorization` | RFC 8628 device authorization: `device_code`, `user_code` like `BCDF-GHJK`, `verification_uri(_complete)`, `expires_in`, `interval` |
//! | `GET /device`, `POST /device` | where the user types the user code and an email, and approves or denies |
//!
//! Clients are public (no secret): `client_id` in the body, or HTTP Basic with an empty secret
//! as sigstore-python sends. Errors are RFC 6749 §5.2 JSON (`{"error","error_description"}`, 400,
//! or 401 for `invalid_client`); a bad `client_id` or `redirect_uri` at `/authorize` is shown on
//! a page instead of redirected (RFC 6749 §4.1.2.1). Codes are single-use; authorization codes
//! live 60 s, device codes 10 minutes. At most [`Config::max_outstanding`] codes of each kind
//! are outstanding (new ones are refused with `temporarily_unavailable`, 503), at most
//! [`Config::max_outstanding_per_client`] per client address (429 with `Retry-After`), and request
//! bodies are limited to [`MAX_BODY_BYTES`].
//!
//! ## Tokens
//!
//! RS256 ID tokens with `iss`, `sub`, `aud` (the `client_id`), `email`, `email_verified: true`,
//! `iat`, `nbf`, `exp` (5 minutes by default), `auth_time`, and `nonce` when one was sent.
//! `sub` is the email address itself, exactly as in `email` (the domain lowercased): stable per
//! email, readable in logs, and the same string whichever claim a client takes as the identity
//! (sigstore-js signs `email` for its proof of possession; sigstore-python takes `sub` as the
//! identity of an issuer it does not know). The token response also carries `token_type: Bearer` and an `access_token`, which is
//! the same signed token: sigstore-python 4.5.1 takes the `access_token` as its identity token,
//! as sigstore's public Dex instance issues them.
//!
//! ## Getting a token without a browser
//!
//! CI cannot click. [`client::device_login`] runs the real device flow over HTTP against a
//! running issuer (start, submit the `/device` form as a browser would, poll) and returns the ID
//! token. There is no backdoor grant.
//!
//! ## Trusting it from the CA
//!
//! The CA's issuer entry: `{"url": "<issuer>", "type": "email"}` (audience `sigstore`, the
//! default). Certificates then name the typed email address in an rfc822Name SAN.

mod clock;
mod html;
mod http;
mod keys;
mod params;
mod store;

pub mod client;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use html::DEV_ONLY_BANNER;
pub use http::{MAX_BODY_BYTES, mount, router};
pub use keys::SigningKey;

use store::Store;

/// The client sigstore clients use by default.
pub const DEFAULT_CLIENT_ID: &str = "sigstore";

/// The out-of-band redirect URI: instead of redirecting, the page shows the code for the user to
/// paste. sigstore-python falls back to it when it cannot open a browser.
pub const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// Why a [`DevIdp`] could not be built or its key used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be used.
    #[error("dev identity provider configuration: {0}")]
    Config(String),
    /// A signing key could not be made, loaded or used.
    #[error("dev identity provider signing key: {0}")]
    Key(String),
}

/// A client the issuer accepts. All clients are public (RFC 6749 §2.1): they have no secret, and
/// PKCE is what binds a code to the client that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The `client_id`, which is also the tokens' `aud`.
    pub client_id: String,
    /// Redirect URIs accepted exactly as written, beyond the loopback `http` URIs every client
    /// may use (RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
}

impl ClientConfig {
    /// A public client that may redirect only to loopback URIs.
    pub fn public(client_id: impl Into<String>) -> ClientConfig {
        ClientConfig { client_id: client_id.into(), redirect_uris: Vec::new() }
    }

    /// The same client, also allowed to redirect to `uri` exactly.
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> ClientConfig {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Whether `uri` may receive this client's codes.
    fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri) || params::is_loopback_redirect(uri)
    }
}

/// How a [`DevIdp`] behaves. [`Config::new`] gives the defaults; change fields as needed.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer URL exactly as it appears in `iss` and as clients reach it, e.g.
    /// `http://127.0.0.1:3000/oidc`: no trailing slash, query or fragment. Its path is where
    /// [`mount`] puts the routes.
    pub issuer: String,
    /// The clients accepted. Default: `sigstore`, with [`OOB_REDIRECT_URI`] registered.
    pub clients: Vec<ClientConfig>,
    /// How long ID tokens are valid. Default 5 minutes: long enough to ask the CA for a
    /// certificate, short enough that a leaked token soon stops mattering.
    pub token_lifetime: Duration,
    /// How long an authorization code may wait to be redeemed. Default 60 s.
    pub code_lifetime: Duration,
    /// How long a device code may wait for approval. Default 10 minutes.
    pub device_code_lifetime: Duration,
    /// The least time between two polls of one device code (RFC 8628 `interval`), in whole
    /// seconds. Default 5 s, the RFC's default.
    pub device_poll_interval: Duration,
    /// The most authorization codes, and separately device codes, outstanding at once. Default
    /// 10,000: memory stays bounded whatever a client does.
    pub max_outstanding: usize,
    /// The most of each that one client address may hold outstanding; beyond it, `429` with
    /// `Retry-After` (when its first code expires). Default 20: a login needs one.
    pub max_outstanding_per_client: usize,
    /// Where time comes from; tests inject a [`ManualClock`].
    pub clock: Arc<dyn Clock>,
}

impl Config {
    /// The defaults for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Config {
        Config {
            issuer: issuer.into(),
            clients: vec![ClientConfig::public(DEFAULT_CLIENT_ID).with_redirect_uri(OOB_REDIRECT_URI)],
            token_lifetime: Duration::from_secs(300),
            code_lifetime: Duration::from_secs(60),
            device_code_lifetime: Duration::from_secs(600),
            device_poll_interval: Duration::from_secs(5),
            max_outstanding: 10_000,
            max_outstanding_per_client: 20,
            clock: Arc::new(SystemClock),
        }
    }

    /// Checks the configuration and returns the path the routes belong under ("" for the root).
    fn validate(&self) -> Result<String, Error> {
        let err = |m: String| Err(Error::Config(m));
        let issuer = &self.issuer;
        let url = match url::Url::parse(issuer) {
            Ok(u) => u,
            Err(e) => return err(format!("issuer {issuer:?} is not a URL: {e}")),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return err(format!("issuer {issuer:?} must be an http or https URL"));
        }
        // OIDC Discovery §2: the issuer has no query or fragment. Credentials in it make no sense.
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return err(format!("issuer {issuer:?} must have no query, fragment or credentials"));
        }
        // `iss` is compared as a string everywhere, so only one spelling may exist.
        let canonical = url.as_str().trim_end_matches('/');
        if canonical != issuer {
            return err(format!("write the issuer as {canonical:?} (no trailing slash, canonical form)"));
        }
        let path = url.path().trim_end_matches('/');
        // The path is where the routes are nested, so it must be one a router can mount.
        if !path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b)) || path.contains("//") {
            return err(format!("the issuer's path {path:?} may use only letters, digits, -._~ and single slashes"));
        }
        if self.clients.is_empty() {
            return err("at least one client is needed".into());
        }
        for (i, c) in self.clients.iter().enumerate() {
            let id = &c.client_id;
            if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
                return err(format!("client_id {id:?} must be 1–255 printable ASCII characters without spaces"));
            }
            if self.clients[..i].iter().any(|o| o.client_id == *id) {
                return err(format!("client_id {id:?} is listed twice"));
            }
            for uri in &c.redirect_uris {
                match url::Url::parse(uri) {
                    Ok(u) if u.fragment().is_none() => {}
                    _ => {
                        return err(format!(
                            "redirect URI {uri:?} of client {id:?} is not an absolute URI without fragment"
                        ));
                    }
                }
            }
        }
        let within = |d: Duration, lo: u64, hi: u64, what: &str| -> Result<(), Error> {
            if d < Duration::from_secs(lo) || d > Duration::from_secs(hi) {
                return Err(Error::Config(format!("{what} must be between {lo} s and {hi} s")));
            }
            Ok(())
        };
        within(self.token_lifetime, 1, 86_400, "token_lifetime")?;
        within(self.code_lifetime, 1, 600, "code_lifetime")?;
        within(self.device_code_lifetime, 1, 3_600, "device_code_lifetime")?;
        within(self.device_poll_interval, 1, 60, "device_poll_interval")?;
        if self.max_outstanding == 0 || self.max_outstanding_per_client == 0 {
            return err("max_outstanding and max_outstanding_per_client must be at least 1".into());
        }
        Ok(path.to_owned())
    }
}

/// The signing keys: the current one signs, the previous one stays published so tokens it
/// signed keep verifying until they expire.
#[derive(Debug)]
struct KeyRing {
    current: Arc<SigningKey>,
    previous: Option<Arc<SigningKey>>,
}

/// A development OpenID Connect issuer. Build it, wrap it in an [`Arc`], and serve [`router`]
/// (or [`mount`] it into a larger router).
pub struct DevIdp {
    config: Config,
    mount_path: String,
    keys: RwLock<KeyRing>,
    store: Mutex<Store>,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp").field("issuer", &self.config.issuer).field("kid", &self.current_kid()).finish()
    }
}

impl DevIdp {
    /// An issuer with a fresh RSA-2048 signing key. Tokens from an earlier run do not verify
    /// with it; use [`DevIdp::with_key`] with a stored key to keep them valid across restarts.
    pub fn new(config: Config) -> Result<DevIdp, Error> {
        DevIdp::with_key(config, SigningKey::generate()?)
    }

    /// An issuer signing with `key`.
    pub fn with_key(config: Config, key: SigningKey) -> Result<DevIdp, Error> {
        let mount_path = config.validate()?;
        tracing::warn!(
            issuer = %config.issuer,
            "the development identity provider is enabled: anyone who can reach it can sign in as anyone; \
             never expose it to the internet"
        );
        if let Ok(url) = url::Url::parse(&config.issuer)
            && !is_loopback_host(&url)
        {
            tracing::warn!(
                issuer = %config.issuer,
                "the development identity provider's issuer is not a loopback address; make sure nothing \
                 outside this machine or test network can reach it"
            );
        }
        let store = Store::new(config.max_outstanding, config.max_outstanding_per_client, config.clock.now());
        Ok(DevIdp {
            config,
            mount_path,
            keys: RwLock::new(KeyRing { current: Arc::new(key), previous: None }),
            store: Mutex::new(store),
        })
    }

    /// The issuer URL (`iss`).
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The issuer's path, where the routes belong: `/oidc` for `http://127.0.0.1:3000/oidc`,
    /// and `""` for an issuer at the root (axum cannot nest there; [`mount`] merges instead).
    pub fn mount_path(&self) -> &str {
        &self.mount_path
    }

    /// The `kid` of the key signing new tokens.
    pub fn current_kid(&self) -> String {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).current.kid().to_owned()
    }

    /// The published key set, as served at `/jwks`: the current key first.
    pub fn jwks(&self) -> serde_json::Value {
        let ring = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let keys: Vec<_> = std::iter::once(&ring.current).chain(ring.previous.iter()).map(|k| k.public_jwk()).collect();
        serde_json::json!({ "keys": keys })
    }

    /// Replaces the signing key with a fresh RSA-2048 key and returns its `kid`. The new key is
    /// published first and signs from now on; the previous key stays in the JWKS so tokens it
    /// signed keep verifying. Only one previous key is kept: rotate at most once per token
    /// lifetime, or tokens two keys old stop verifying before they expire. Generating the key
    /// takes tens of milliseconds of CPU.
    pub fn rotate_key(&self) -> Result<String, Error> {
        let key = Arc::new(SigningKey::generate()?);
        let kid = key.kid().to_owned();
        let mut ring = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let old = std::mem::replace(&mut ring.current, key);
        ring.previous = Some(old);
        tracing::info!(kid, "dev identity provider rotated its signing key");
        Ok(kid)
    }

    fn signing_key(&self) -> Arc<SigningKey> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).current.clone()
    }

    fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.config.clients.iter().find(|c| c.client_id == client_id)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_be_canonical() {
        let check = |issuer: &str| Config::new(issuer).validate();
        assert_eq!(check("http://127.0.0.1:3000/oidc"), Ok("/oidc".to_owned()));
        assert_eq!(check("http://127.0.0.1:3000"), Ok(String::new()));
        assert_eq!(check("https://dev.example/a/b"), Ok("/a/b".to_owned()));
        for bad in [
            "http://127.0.0.1:3000/oidc/",
            "http://127.0.0.1:3000/",
            "HTTP://127.0.0.1:3000/oidc",
            "http://127.0.0.1:3000/oidc?x=1",
            "http://127.0.0.1:3000/oidc#f",
            "http://u:p@127.0.0.1:3000/oidc",
            "ftp://127.0.0.1/oidc",
            "127.0.0.1:3000/oidc",
            "http://127.0.0.1:3000/a%20b",
            "http://127.0.0.1:3000//oidc",
        ] {
            assert!(matches!(check(bad), Err(Error::Config(_))), "{bad} accepted");
        }
    }

    /// An `io::Write` into a shared buffer, for capturing log output.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn starting_warns_that_anyone_can_sign_in() {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).without_time().finish();
        // Nothing is contacted: the issuer is only a name here.
        let idp =
            tracing::subscriber::with_default(subscriber, || DevIdp::new(Config::new("http://dev-box.test:3000/oidc")));
        assert!(idp.is_ok());
        let text = String::from_utf8(log.0.lock().unwrap_or_else(PoisonError::into_inner).clone()).expect("utf-8");
        let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
        assert!(
            warnings.iter().any(|l| l.contains("anyone") && l.contains("never expose it to the internet")),
            "{text}"
        );
        assert!(warnings.iter().any(|l| l.contains("not a loopback address")), "{text}");
    }

    #[test]
    fn config_bounds() {
        let mut c = Config::new("http://127.0.0.1:1/oidc");
        c.clients.push(ClientConfig::public(DEFAULT_CLIENT_ID));
        assert!(c.validate().is_err(), "duplicate client accepted");
        let mut c = Config::new("http://127.0.0.1:1/oidc");
        c.clients = vec![ClientConfig::public("a b")];
        assert!(c.validate().is_err(), "client id with a space accepted");
        let mut c = Config::new("http://127.0.0.1:1/oidc");
        c.clients = vec![ClientConfig::public("x").with_redirect_uri("/relative")];
        assert!(c.validate().is_err(), "relative redirect URI accepted");
        let mut c = Config::new("http://127.0.0.1:1/oidc");
        c.token_lifetime = Duration::ZERO;
        assert!(c.validate().is_err());
        let mut c = Config::new("http://127.0.0.1:1/oidc");
        c.max_outstanding = 0;
        assert!(c.validate().is_err());
    }
}
