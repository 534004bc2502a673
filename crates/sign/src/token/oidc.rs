//! Interactive logins at an OpenID Connect issuer, found by discovery: the authorization code
//! flow with PKCE (S256) and a loopback redirect (RFC 8252 §7.3), and the device authorization
//! grant (RFC 8628) for machines without a browser.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::loopback::Loopback;
use super::{IdentityToken, SIGSTORE_AUDIENCE, random_b64url};
use crate::error::{Service, SignError};
use crate::http;

/// The largest answer read from an issuer.
const MAX_ANSWER: usize = 256 * 1024;
/// How long one request to the issuer may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The scopes asked for: `email` so email issuers put the address in the token.
const SCOPE: &str = "openid email";

/// What to show the person logging in.
#[derive(Debug, Clone, Copy)]
pub enum LoginPrompt<'a> {
    /// Open this URL (in a browser on this machine) and sign in.
    Browser {
        /// The authorization URL.
        url: &'a str,
    },
    /// Open the verification URI on any device and enter the code.
    Device {
        /// Where to go.
        verification_uri: &'a str,
        /// The same with the code filled in, when the issuer offers one.
        verification_uri_complete: Option<&'a str>,
        /// The code to enter.
        user_code: &'a str,
    },
}

/// Options for [`Oidc::browser_login`].
#[derive(Debug, Clone)]
pub struct BrowserLogin {
    /// Try to open the URL with the system's browser (`xdg-open`, `open`).
    pub open_browser: bool,
    /// How long to wait for the login.
    pub timeout: Duration,
}

impl Default for BrowserLogin {
    fn default() -> Self {
        BrowserLogin { open_browser: true, timeout: Duration::from_secs(300) }
    }
}

/// An issuer's endpoints, from its discovery document.
#[derive(Debug, Clone)]
pub struct Oidc {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    token_endpoint: String,
    authorization_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
}

impl Oidc {
    /// Reads `{issuer}/.well-known/openid-configuration` (client ID `sigstore`).
    pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Oidc, SignError> {
        Oidc::discover_as(http, issuer, SIGSTORE_AUDIENCE).await
    }

    /// [`Oidc::discover`] for another OAuth client ID.
    pub async fn discover_as(http: &reqwest::Client, issuer: &str, client_id: &str) -> Result<Oidc, SignError> {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let url = format!("{issuer}/.well-known/openid-configuration");
        let answer =
            http::send(Service::IdentityProvider, &url, http.get(&url).timeout(REQUEST_TIMEOUT), MAX_ANSWER).await?;
        if answer.status != 200 {
            let hint = (answer.status == 404).then_some("is this the issuer's URL (e.g. http://127.0.0.1:3000/oidc)?");
            return Err(http::refused(Service::IdentityProvider, &url, &answer, hint));
        }
        let bad =
            |detail: String| SignError::BadAnswer { service: Service::IdentityProvider, url: url.clone(), detail };
        let doc: Value = serde_json::from_slice(&answer.body).map_err(|e| bad(format!("not JSON: {e}")))?;
        // OIDC Discovery §4.3: the document must be the issuer's own.
        let named = doc.get("issuer").and_then(Value::as_str).map(|s| s.trim_end_matches('/'));
        if named != Some(issuer.as_str()) {
            return Err(bad(format!("it names another issuer, {named:?}")));
        }
        let endpoint = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(Oidc {
            http: http.clone(),
            token_endpoint: endpoint("token_endpoint").ok_or_else(|| bad("no token_endpoint".into()))?,
            authorization_endpoint: endpoint("authorization_endpoint"),
            device_authorization_endpoint: endpoint("device_authorization_endpoint"),
            client_id: client_id.to_owned(),
            issuer,
        })
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether the issuer offers the device flow.
    pub fn supports_device_flow(&self) -> bool {
        self.device_authorization_endpoint.is_some()
    }

    fn login_error(&self, detail: impl Into<String>) -> SignError {
        SignError::Login { issuer: self.issuer.clone(), detail: detail.into() }
    }

    /// Logs in through a browser: the authorization code flow with PKCE S256, redirected to a
    /// listener on `127.0.0.1` and a random port. `prompt` is shown the URL to open.
    pub async fn browser_login(
        &self,
        options: &BrowserLogin,
        prompt: &(dyn Fn(LoginPrompt<'_>) + Sync),
    ) -> Result<IdentityToken, SignError> {
        let endpoint = self
            .authorization_endpoint
            .as_deref()
            .ok_or_else(|| self.login_error("the issuer has no authorization_endpoint; use the device flow"))?;
        let listener = Loopback::bind().await.map_err(|e| self.login_error(format!("no loopback port: {e}")))?;
        let redirect_uri = listener.redirect_uri();
        let verifier = random_b64url(32)?;
        let challenge = URL_SAFE_NO_PAD.encode(crate::digest::sha256(verifier.as_bytes()));
        let state = random_b64url(16)?;
        let nonce = random_b64url(16)?;
        let mut url = reqwest::Url::parse(endpoint)
            .map_err(|e| self.login_error(format!("the authorization_endpoint {endpoint:?} is not a URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", SCOPE)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        prompt(LoginPrompt::Browser { url: url.as_str() });
        if options.open_browser && !open_browser(url.as_str()) {
            tracing::debug!("no browser could be opened; waiting for the URL to be opened by hand");
        }
        let redirect = tokio::time::timeout(options.timeout, listener.wait(&state))
            .await
            .map_err(|_| {
                self.login_error(format!(
                    "no login within {}s; run again, or use the device flow (--device)",
                    options.timeout.as_secs()
                ))
            })?
            .map_err(|e| self.login_error(e))?;
        if let Some(iss) = &redirect.iss
            && iss.trim_end_matches('/') != self.issuer
        {
            // RFC 9207: an answer from another issuer is a mix-up attack, or a misconfiguration.
            return Err(self.login_error(format!("the answer came from another issuer, {iss}")));
        }
        let code = redirect.code;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
            ("client_id", self.client_id.as_str()),
        ];
        let token = match self.token_request(&form).await? {
            Ok(token) => token,
            Err((error, description)) => {
                return Err(self.login_error(format!("the code was refused: {error}: {description}; log in again")));
            }
        };
        if let Some(got) = token.claims().and_then(|c| c.nonce.as_deref())
            && got != nonce
        {
            return Err(self.login_error("the token is for another login (its nonce differs); log in again"));
        }
        Ok(token)
    }

    /// Logs in through the device flow (RFC 8628): `prompt` is shown the verification URI and
    /// the user code, then the token endpoint is polled until the person approves.
    pub async fn device_login(&self, prompt: &(dyn Fn(LoginPrompt<'_>) + Sync)) -> Result<IdentityToken, SignError> {
        let endpoint = self
            .device_authorization_endpoint
            .as_deref()
            .ok_or_else(|| self.login_error("the issuer does not offer the device flow; use a browser login"))?;
        let form = [("client_id", self.client_id.as_str()), ("scope", SCOPE)];
        let answer = http::send(
            Service::IdentityProvider,
            endpoint,
            self.http.post(endpoint).timeout(REQUEST_TIMEOUT).form(&form),
            MAX_ANSWER,
        )
        .await?;
        if answer.status != 200 {
            return Err(http::refused(Service::IdentityProvider, endpoint, &answer, None));
        }
        let start: Value = serde_json::from_slice(&answer.body).map_err(|e| SignError::BadAnswer {
            service: Service::IdentityProvider,
            url: endpoint.to_owned(),
            detail: format!("not JSON: {e}"),
        })?;
        let field = |name: &str| start.get(name).and_then(Value::as_str);
        let missing = |name: &str| SignError::BadAnswer {
            service: Service::IdentityProvider,
            url: endpoint.to_owned(),
            detail: format!("no {name}"),
        };
        let device_code = field("device_code").ok_or_else(|| missing("device_code"))?;
        let user_code = field("user_code").ok_or_else(|| missing("user_code"))?;
        // Google's endpoint says `verification_url`.
        let verification_uri = field("verification_uri")
            .or_else(|| field("verification_url"))
            .ok_or_else(|| missing("verification_uri"))?;
        let mut interval = Duration::from_secs(start.get("interval").and_then(Value::as_u64).unwrap_or(5).clamp(1, 60));
        let expires_in = Duration::from_secs(start.get("expires_in").and_then(Value::as_u64).unwrap_or(600).min(3600));
        prompt(LoginPrompt::Device {
            verification_uri,
            verification_uri_complete: field("verification_uri_complete"),
            user_code,
        });

        let poll = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", self.client_id.as_str()),
        ];
        let started = Instant::now();
        loop {
            if started.elapsed() + interval > expires_in {
                return Err(self.login_error(format!(
                    "the code expired after {}s without an approval; run again",
                    expires_in.as_secs()
                )));
            }
            tokio::time::sleep(interval).await;
            match self.token_request(&poll).await? {
                Ok(token) => return Ok(token),
                Err((error, _)) if error == "authorization_pending" => {}
                // RFC 8628 §3.5: five seconds more from now on.
                Err((error, _)) if error == "slow_down" => interval += Duration::from_secs(5),
                Err((error, _)) if error == "access_denied" => {
                    return Err(self.login_error("the login was denied"));
                }
                Err((error, _)) if error == "expired_token" => {
                    return Err(self.login_error("the code expired before it was approved; run again"));
                }
                Err((error, description)) => {
                    return Err(self.login_error(format!("{error}: {description}")));
                }
            }
        }
    }

    /// A token request: the ID token, or the OAuth error and its description.
    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Result<IdentityToken, (String, String)>, SignError> {
        let url = &self.token_endpoint;
        let req = self.http.post(url).timeout(REQUEST_TIMEOUT).form(form);
        let answer = http::send(Service::IdentityProvider, url, req, MAX_ANSWER).await?;
        let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
        let text = |k: &str| json.as_ref().and_then(|j| j.get(k)).and_then(Value::as_str).map(str::to_owned);
        if answer.status == 200 {
            return match text("id_token") {
                Some(t) => Ok(Ok(IdentityToken::new(t))),
                None => Err(SignError::BadAnswer {
                    service: Service::IdentityProvider,
                    url: url.clone(),
                    detail: "a token response without an id_token (was the `openid` scope granted?)".into(),
                }),
            };
        }
        match text("error") {
            Some(error) => Ok(Err((error, text("error_description").unwrap_or_default()))),
            None => Err(http::refused(Service::IdentityProvider, url, &answer, None)),
        }
    }
}

/// Whether a browser can likely be opened here: macOS and Windows always, elsewhere only with a
/// graphical session (`DISPLAY` or `WAYLAND_DISPLAY`).
pub fn browser_available() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// Asks the system to open `url` in a browser, quietly; whether an opener could be started.
pub fn open_browser(url: &str) -> bool {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(target_os = "windows") {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let spawned = cmd
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // Reaped in the background: the opener returns at once, the login goes on.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}
