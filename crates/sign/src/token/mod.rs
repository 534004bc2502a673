//! Identity tokens: where they come from and what they say.
//!
//! In the order a signer looks: an explicit value, the `SIGSTORE_ID_TOKEN` environment variable,
//! the CI's ambient token ([`ambient`]: GitHub Actions), and an interactive login at an OpenID
//! Connect issuer ([`Oidc`]: a browser with PKCE on a loopback port, or the device flow where no
//! browser can be opened). The claims are read unverified, for messages only: the CA is what
//! verifies a token.
//!
//! A token is a bearer credential for ten minutes of certificates: it is never logged, and
//! [`IdentityToken`]'s `Debug` leaves it out.

mod loopback;
mod oidc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

pub use oidc::{BrowserLogin, LoginPrompt, Oidc, browser_available, open_browser};

use crate::error::{Service, SignError};
use crate::http;

/// The environment variable sigstore clients read a token from.
pub const TOKEN_ENV: &str = "SIGSTORE_ID_TOKEN";
/// The audience Fulcio-compatible CAs expect, and the OAuth client ID sigstore clients use.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// An OpenID Connect ID token (a JWT), with its claims read but not verified.
#[derive(Clone)]
pub struct IdentityToken {
    raw: String,
    claims: Option<Claims>,
}

/// The claims a signer cares about, unverified; a claim of an unexpected type reads as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// The issuer.
    pub iss: Option<String>,
    /// The subject.
    pub sub: Option<String>,
    /// The email address, for email issuers.
    pub email: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: Option<i64>,
    /// The nonce of the login that produced it.
    pub nonce: Option<String>,
}

impl IdentityToken {
    /// Wraps a token as given (surrounding whitespace dropped). Never fails: a token that is not a
    /// JWT is still sent, and the CA's refusal says what is wrong with it.
    pub fn new(raw: impl Into<String>) -> IdentityToken {
        let raw = raw.into().trim().to_owned();
        let claims = read_claims(&raw);
        IdentityToken { raw, claims }
    }

    /// The token itself, for the CA.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The claims, if the token is a JWT.
    pub fn claims(&self) -> Option<&Claims> {
        self.claims.as_ref()
    }

    /// Who it names: the email, else the subject (the claim Fulcio challenges).
    pub fn identity(&self) -> Option<&str> {
        let c = self.claims.as_ref()?;
        c.email.as_deref().or(c.sub.as_deref())
    }

    /// Its issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.as_ref()?.iss.as_deref()
    }

    /// Whether its `exp` has passed.
    pub fn is_expired(&self) -> bool {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        self.claims.as_ref().and_then(|c| c.exp).is_some_and(|exp| exp < now)
    }
}

impl std::fmt::Debug for IdentityToken {
    /// Who and which issuer, never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityToken")
            .field("identity", &self.identity())
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

/// The payload of a JWT, unverified.
fn read_claims(raw: &str) -> Option<Claims> {
    let mut parts = raw.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    // NumericDate may carry a fraction (RFC 7519 §2).
    let exp = value.get("exp").and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)));
    Some(Claims { iss: text("iss"), sub: text("sub"), email: text("email"), exp, nonce: text("nonce") })
}

/// Where a token came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// Given on the command line or by the caller.
    Explicit,
    /// [`TOKEN_ENV`].
    Environment,
    /// The CI's ambient credentials.
    Ambient(&'static str),
    /// The OAuth device flow.
    DeviceFlow,
    /// A browser login.
    Browser,
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Explicit => f.write_str("the given token"),
            TokenSource::Environment => write!(f, "${TOKEN_ENV}"),
            TokenSource::Ambient(ci) => write!(f, "{ci}'s ambient token"),
            TokenSource::DeviceFlow => f.write_str("a device-flow login"),
            TokenSource::Browser => f.write_str("a browser login"),
        }
    }
}

/// The token in [`TOKEN_ENV`], if set and not empty.
pub fn from_environment() -> Option<IdentityToken> {
    std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()).map(IdentityToken::new)
}

/// The CI's ambient token, audience `sigstore`, if running in a CI that offers one: GitHub
/// Actions with `permissions: id-token: write` (which sets `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`). `None` outside such a CI.
pub async fn ambient(http: &reqwest::Client) -> Result<Option<(IdentityToken, TokenSource)>, SignError> {
    ambient_from(http, |name| std::env::var(name).ok()).await
}

/// [`ambient`] with the environment read through `env`.
pub async fn ambient_from(
    http: &reqwest::Client,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(IdentityToken, TokenSource)>, SignError> {
    let (Some(url), Some(bearer)) = (env("ACTIONS_ID_TOKEN_REQUEST_URL"), env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")) else {
        if env("GITHUB_ACTIONS").as_deref() == Some("true") {
            tracing::info!(
                "running in GitHub Actions without an ID token: give the job `permissions: id-token: write` to sign with its identity"
            );
        }
        return Ok(None);
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}audience={SIGSTORE_AUDIENCE}");
    let req = http.get(&url).bearer_auth(bearer).timeout(std::time::Duration::from_secs(30));
    let answer = http::send(Service::CiTokenService, &url, req, 64 * 1024).await?;
    if answer.status != 200 {
        return Err(http::refused(
            Service::CiTokenService,
            &url,
            &answer,
            Some("check that the job has `permissions: id-token: write`"),
        ));
    }
    #[derive(Deserialize)]
    struct Answer {
        value: String,
    }
    let token: Answer = serde_json::from_slice(&answer.body).map_err(|e| SignError::BadAnswer {
        service: Service::CiTokenService,
        url: url.clone(),
        detail: format!("no `value` with a token: {e}"),
    })?;
    Ok(Some((IdentityToken::new(token.value), TokenSource::Ambient("GitHub Actions"))))
}

/// Random bytes as URL-safe base64: PKCE verifiers, states, nonces.
pub(crate) fn random_b64url(bytes: usize) -> Result<String, SignError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| SignError::Key("no randomness available".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn claims_are_read_and_the_token_is_never_printed() {
        let t = IdentityToken::new(format!(
            " {}\n",
            jwt(r#"{"iss":"https://issuer","sub":"s-1","email":"a@example.com","exp":1}"#)
        ));
        assert_eq!(t.identity(), Some("a@example.com"));
        assert_eq!(t.issuer(), Some("https://issuer"));
        assert!(t.is_expired());
        assert!(!t.as_str().ends_with('\n'));
        let debug = format!("{t:?}");
        assert!(debug.contains("a@example.com") && !debug.contains("c2ln"), "{debug}");
        // Without email, the subject; garbage has no claims but is kept as given.
        assert_eq!(IdentityToken::new(jwt(r#"{"sub":"repo:x","exp":1.5e12}"#)).identity(), Some("repo:x"));
        assert!(!IdentityToken::new(jwt(r#"{"sub":"repo:x","exp":1.5e12}"#)).is_expired());
        assert_eq!(IdentityToken::new(jwt(r#"{"sub":7,"email":"e@x"}"#)).identity(), Some("e@x"));
        let garbage = IdentityToken::new("not-a-jwt");
        assert_eq!((garbage.claims(), garbage.as_str(), garbage.is_expired()), (None, "not-a-jwt", false));
    }
}
