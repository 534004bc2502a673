//! Verifying OpenID Connect identity tokens: discovery, JWKS (cached, following key rotation),
//! an allow-list of signature algorithms, and the time, issuer and audience claims.
//!
//! The order of checks matters: the size and the header come first, the issuer is looked up in
//! the configuration before anything is fetched (so a token cannot make the CA fetch from a URL
//! of its choosing), and only then are keys fetched and the signature checked.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::config::{Config, IssuerConfig, IssuerType, is_loopback_url};

/// The largest token accepted: real ID tokens are 1–2 KB; GitHub's carry many claims.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The largest discovery document or key set fetched.
const MAX_FETCH_BYTES: usize = 512 * 1024;
/// The signature algorithms accepted: asymmetric only, so no key can be a shared secret.
pub const ALLOWED_ALGORITHMS: &[&str] =
    &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Larger than [`MAX_TOKEN_BYTES`].
    #[error("the identity token is {0} bytes; at most {MAX_TOKEN_BYTES} are accepted")]
    TooLarge(usize),
    /// Not a JWS compact token.
    #[error("the identity token is malformed: {0}")]
    Malformed(String),
    /// `alg` is not on the allow-list (including `none` and the HMAC algorithms).
    #[error("the identity token's algorithm {0:?} is not accepted; use one of {ALLOWED_ALGORITHMS:?}")]
    Algorithm(String),
    /// `iss` is not a configured issuer.
    #[error("the identity token's issuer {0:?} is not trusted by this CA; see /api/v2/configuration")]
    UnknownIssuer(String),
    /// The issuer's keys could not be fetched.
    #[error("the keys of issuer {issuer:?} could not be fetched: {reason}")]
    Discovery {
        /// The issuer.
        issuer: String,
        /// What failed.
        reason: String,
    },
    /// No key with the token's `kid` (after a refresh).
    #[error("issuer {issuer:?} publishes no key {kid:?}")]
    UnknownKey {
        /// The issuer.
        issuer: String,
        /// The key ID the token names.
        kid: String,
    },
    /// The signature does not verify.
    #[error("the identity token's signature does not verify with its issuer's key")]
    BadSignature,
    /// `aud` is not the audience configured for the issuer.
    #[error("the identity token's audience is not {0:?}")]
    Audience(String),
    /// `exp` is past.
    #[error("the identity token expired {0} s ago; get a fresh one")]
    Expired(u64),
    /// `nbf` or `iat` is in the future.
    #[error("the identity token is not valid yet ({0} is {1} s in the future); check the clocks")]
    NotYetValid(&'static str, u64),
    /// A claim the CA needs is missing or has the wrong type.
    #[error("the identity token lacks a usable {0:?} claim")]
    MissingClaim(&'static str),
    /// An email issuer's token whose email is not verified.
    #[error("the identity token's email is not verified by its issuer")]
    EmailNotVerified,
    /// The subject does not fit the issuer type.
    #[error("the identity token's subject is unusable: {0}")]
    BadSubject(String),
}

/// A verified token: its issuer's configuration and its claims.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The configured issuer it matched.
    pub issuer: IssuerConfig,
    /// The `iss` claim exactly.
    pub iss: String,
    /// Every claim.
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// A string claim.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Where issuers' keys come from.
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// The current key set of `issuer`; with `refresh`, fetched anew rather than cached.
    fn keys(
        &self,
        issuer: &str,
        refresh: bool,
    ) -> impl std::future::Future<Output = Result<Arc<IssuerKeys>, String>> + Send;
}

/// An issuer's keys, parsed once.
#[derive(Clone)]
pub struct IssuerKeys {
    keys: Vec<(Jwk, DecodingKey)>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKeys({} keys)", self.keys.len())
    }
}

impl IssuerKeys {
    /// Parses a JWKS, skipping keys that cannot verify signatures (e.g. encryption keys).
    pub fn from_jwks(set: &JwkSet) -> IssuerKeys {
        let keys = set
            .keys
            .iter()
            .filter(|k| !matches!(k.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)))
            .filter_map(|k| DecodingKey::from_jwk(k).ok().map(|d| (k.clone(), d)))
            .collect();
        IssuerKeys { keys }
    }

    /// The key for `kid`; without a `kid`, the only key.
    fn find(&self, kid: Option<&str>) -> Option<&(Jwk, DecodingKey)> {
        match kid {
            Some(kid) => self.keys.iter().find(|(k, _)| k.common.key_id.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }
}

/// Keys fetched over HTTP through OIDC discovery, cached.
#[derive(Debug)]
pub struct HttpKeySource {
    client: reqwest::Client,
    /// Read by every request without awaiting: an async lock here queues each request behind
    /// the scheduler's whole run queue, which capped issuance far below the CPU's capacity.
    cache: std::sync::RwLock<HashMap<String, Cached>>,
    /// Per issuer, held while fetching, so concurrent requests for a cold or rotated issuer wait
    /// for one fetch instead of each starting their own, and a slow issuer delays only its own.
    fetching: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// How long keys are used before being fetched again.
    pub ttl: Duration,
    /// The shortest time between two fetches for one issuer, so unknown `kid`s cannot make the
    /// CA hammer an issuer.
    pub min_refresh: Duration,
}

#[derive(Debug)]
struct Cached {
    keys: Arc<IssuerKeys>,
    fetched: Instant,
}

impl Default for HttpKeySource {
    fn default() -> Self {
        HttpKeySource::new(Duration::from_secs(600), Duration::from_secs(10))
    }
}

impl HttpKeySource {
    /// A key source caching keys for `ttl` and refetching at most every `min_refresh`.
    pub fn new(ttl: Duration, min_refresh: Duration) -> HttpKeySource {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        HttpKeySource { client, cache: Default::default(), fetching: Default::default(), ttl, min_refresh }
    }

    async fn fetch_json(&self, url: &str) -> Result<Value, String> {
        let mut resp = self.client.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            if body.len() + chunk.len() > MAX_FETCH_BYTES {
                return Err(format!("GET {url}: larger than {MAX_FETCH_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }

    async fn fetch(&self, issuer: &str) -> Result<IssuerKeys, String> {
        let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc = self.fetch_json(&discovery).await?;
        // OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
            return Err(format!("{discovery} names a different issuer"));
        }
        let jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or("the discovery document has no jwks_uri")?;
        if !(jwks_uri.starts_with("https://") || is_loopback_url(jwks_uri)) {
            return Err(format!("jwks_uri {jwks_uri:?} is not https"));
        }
        let set: JwkSet = serde_json::from_value(self.fetch_json(jwks_uri).await?)
            .map_err(|e| format!("{jwks_uri} is not a JWK set: {e}"))?;
        Ok(IssuerKeys::from_jwks(&set))
    }
}

impl KeySource for HttpKeySource {
    async fn keys(&self, issuer: &str, refresh: bool) -> Result<Arc<IssuerKeys>, String> {
        let usable = |cache: &HashMap<String, Cached>| {
            let c = cache.get(issuer)?;
            let age = c.fetched.elapsed();
            ((!refresh && age < self.ttl) || (refresh && age < self.min_refresh)).then(|| c.keys.clone())
        };
        if let Some(keys) = usable(&self.cache.read().expect("key cache")) {
            return Ok(keys);
        }
        let lock = self.fetching.lock().expect("fetch locks").entry(issuer.to_owned()).or_default().clone();
        let _fetching = lock.lock().await;
        // Someone else may have fetched while this request waited.
        if let Some(keys) = usable(&self.cache.read().expect("key cache")) {
            return Ok(keys);
        }
        match self.fetch(issuer).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let cached = Cached { keys: keys.clone(), fetched: Instant::now() };
                self.cache.write().expect("key cache").insert(issuer.to_owned(), cached);
                tracing::info!(issuer, keys = keys.keys.len(), "fetched issuer keys");
                Ok(keys)
            }
            // Keep serving cached keys through an issuer outage; they were valid when fetched.
            Err(e) => match self.cache.read().expect("key cache").get(issuer) {
                Some(c) if c.fetched.elapsed() < self.ttl * 6 => {
                    tracing::warn!(issuer, error = %e, "refreshing issuer keys failed; using cached keys");
                    Ok(c.keys.clone())
                }
                _ => Err(e),
            },
        }
    }
}

/// Verifies identity tokens against the configured issuers.
#[derive(Debug)]
pub struct TokenVerifier<K = HttpKeySource> {
    config: Config,
    keys: K,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub skew: Duration,
}

impl<K: KeySource> TokenVerifier<K> {
    /// A verifier for `config`'s issuers with keys from `keys`.
    pub fn new(config: Config, keys: K) -> TokenVerifier<K> {
        TokenVerifier { config, keys, skew: Duration::from_secs(30) }
    }

    /// The issuer configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Verifies `token` at time `now`.
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge(token.len()));
        }
        let (header, payload) = split_unverified(token)?;
        let alg_name = header.get("alg").and_then(Value::as_str).ok_or(TokenError::Malformed("no alg".into()))?;
        if !ALLOWED_ALGORITHMS.contains(&alg_name) {
            return Err(TokenError::Algorithm(alg_name.chars().take(20).collect()));
        }
        let alg: Algorithm = alg_name.parse().map_err(|_| TokenError::Algorithm(alg_name.to_owned()))?;
        if header.get("crit").is_some() {
            return Err(TokenError::Malformed("critical header parameters are not supported".into()));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(TokenError::Malformed("kid is not a string".into())),
        };
        let iss = payload.get("iss").and_then(Value::as_str).ok_or(TokenError::MissingClaim("iss"))?;
        let issuer = self.config.issuer(iss).ok_or_else(|| TokenError::UnknownIssuer(truncate(iss)))?;

        let keys = self.issuer_keys(iss, kid).await?;
        let (jwk, key) = keys.find(kid).ok_or_else(|| TokenError::UnknownKey {
            issuer: iss.to_owned(),
            kid: kid.map(truncate).unwrap_or_else(|| "(none)".into()),
        })?;
        if let Some(key_alg) = jwk.common.key_algorithm
            && key_alg.to_string() != alg_name
        {
            return Err(TokenError::Algorithm(alg_name.to_owned()));
        }

        let mut validation = Validation::new(alg);
        // Times are checked below against the caller's clock; jsonwebtoken would read its own.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        // jsonwebtoken checks `aud` only when present: require it, or a token without one would
        // pass whatever audience is configured (found by fuzzing).
        validation.required_spec_claims = HashSet::from(["aud".to_owned()]);
        validation.set_audience(&[issuer.audience.as_str()]);
        validation.set_issuer(&[iss]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as E;
            match e.kind() {
                E::InvalidSignature => TokenError::BadSignature,
                E::InvalidAudience | E::MissingRequiredClaim(_) => TokenError::Audience(issuer.audience.clone()),
                E::InvalidIssuer => TokenError::UnknownIssuer(truncate(iss)),
                E::InvalidAlgorithm | E::InvalidAlgorithmName => TokenError::Algorithm(alg_name.to_owned()),
                _ => TokenError::Malformed(e.to_string()),
            }
        })?;
        let claims = data.claims;
        self.check_times(&claims, now)?;
        if issuer.issuer_type == IssuerType::Email {
            match claims.get("email_verified") {
                Some(Value::Bool(true)) => {}
                Some(Value::String(s)) if s == "true" => {}
                _ => return Err(TokenError::EmailNotVerified),
            }
        }
        Ok(VerifiedToken { issuer: issuer.clone(), iss: iss.to_owned(), claims })
    }

    async fn issuer_keys(&self, iss: &str, kid: Option<&str>) -> Result<Arc<IssuerKeys>, TokenError> {
        let discovery = |reason| TokenError::Discovery { issuer: iss.to_owned(), reason };
        let mut keys = self.keys.keys(iss, false).await.map_err(discovery)?;
        if keys.find(kid).is_none() {
            // A kid we have not seen: the issuer may have rotated its keys.
            keys = self.keys.keys(iss, true).await.map_err(discovery)?;
        }
        Ok(keys)
    }

    fn check_times(&self, claims: &Map<String, Value>, now: SystemTime) -> Result<(), TokenError> {
        let now = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let skew = self.skew.as_secs();
        let time = |name: &'static str| -> Result<Option<u64>, TokenError> {
            match claims.get(name) {
                None => Ok(None),
                // A NumericDate may have a fraction; one beyond any real date is not usable.
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_f64().filter(|f| f.is_finite() && (0.0..1e15).contains(f)).map(|f| f as u64))
                    .filter(|&t| t < 1 << 50)
                    .map(Some)
                    .ok_or(TokenError::MissingClaim(name)),
            }
        };
        let exp = time("exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if exp.saturating_add(skew) <= now {
            return Err(TokenError::Expired(now - exp));
        }
        let iat = time("iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        if iat > now.saturating_add(skew) {
            return Err(TokenError::NotYetValid("iat", iat - now));
        }
        if let Some(nbf) = time("nbf")?
            && nbf > now.saturating_add(skew)
        {
            return Err(TokenError::NotYetValid("nbf", nbf - now));
        }
        Ok(())
    }
}

/// A JSON object: a JWT's header or claims.
type Object = Map<String, Value>;

/// The header and claims of a token, unverified: only for choosing the issuer and key.
fn split_unverified(token: &str) -> Result<(Object, Object), TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed("expected three dot-separated parts (a signed JWT)".into()));
    };
    let decode = |part: &str, what: &str| -> Result<Object, TokenError> {
        let bytes = B64URL.decode(part).map_err(|_| TokenError::Malformed(format!("the {what} is not base64url")))?;
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(format!("the {what} is not a JSON object")))
    };
    Ok((decode(h, "header")?, decode(p, "payload")?))
}

fn truncate(s: &str) -> String {
    s.chars().take(100).collect()
}
