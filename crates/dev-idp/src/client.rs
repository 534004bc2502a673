//! Getting an ID token from a running development issuer without a browser, for automation and
//! test suites (CI cannot click).
//!
//! [`device_login`] performs the real RFC 8628 device flow over HTTP, exactly the requests a
//! device and a person with a browser would make:
//!
//! 1. discovery at `{issuer}/.well-known/openid-configuration` (and a check that it names the
//!    same issuer);
//! 2. `POST device_authorization_endpoint` with `client_id` and `scope=openid email`;
//! 3. the browser's part: `GET verification_uri_complete`, then submit the page's form (`POST
//!    verification_uri` with `user_code`, `email` and `action=approve`);
//! 4. polling `token_endpoint` with the device code grant until the token comes.
//!
//! Because the approval has already happened when polling starts, the first poll is made at
//! once; later ones wait `interval` seconds, five more after each `slow_down` (RFC 8628 §3.5).
//! It works only against this issuer (the form is this issuer's), and only where the issuer lets
//! anyone approve as anyone, which is what a development issuer is for.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

/// The most bytes read from any response: real answers are a few kilobytes.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why no token was obtained.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request could not be made or answered (connection refused, timeout, ...).
    #[error("{url}: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The issuer answered with an OAuth error (`{"error": ...}`).
    #[error("{url} refused: {error}: {description}")]
    OAuth {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth error code, e.g. `invalid_client`.
        error: String,
        /// The issuer's `error_description`.
        description: String,
    },
    /// The issuer answered with an unexpected status.
    #[error("{url} answered HTTP {status}: {message}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The alert shown on the page, or the start of the body.
        message: String,
    },
    /// An answer was not what the protocol says it must be.
    #[error("{0}")]
    Protocol(String),
    /// The device code expired, or the deadline passed, before a token came.
    #[error("no token within {0:?}")]
    TimedOut(Duration),
}

/// Options for [`device_login_with`].
#[derive(Debug, Clone)]
pub struct DeviceLogin {
    /// The client to log in as; the token's `aud`. Default `sigstore`.
    pub client_id: String,
    /// The scope requested. Default `openid email`.
    pub scope: String,
    /// The longest the whole login may take. Default 60 s.
    pub timeout: Duration,
}

impl Default for DeviceLogin {
    fn default() -> Self {
        DeviceLogin {
            client_id: crate::DEFAULT_CLIENT_ID.to_owned(),
            scope: "openid email".to_owned(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// A successful token response.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// The signed ID token (a JWT).
    pub id_token: String,
    /// The access token (this issuer returns the ID token again).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the tokens expire.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Logs in to the development issuer at `issuer` (e.g. `http://127.0.0.1:3000/oidc`; the issuer
/// URL, not the server's base URL) as `email` through the device flow, and returns the ID token,
/// audience `sigstore`.
pub async fn device_login(issuer: &str, email: &str) -> Result<String, ClientError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ClientError::Http { url: issuer.to_owned(), source: e })?;
    Ok(device_login_with(&http, issuer, email, &DeviceLogin::default()).await?.id_token)
}

/// [`device_login`] with a caller's HTTP client and options, returning the whole token response.
/// The client should not follow redirects: none of these requests is answered with one.
pub async fn device_login_with(
    http: &reqwest::Client,
    issuer: &str,
    email: &str,
    opts: &DeviceLogin,
) -> Result<Tokens, ClientError> {
    let started = Instant::now();
    let issuer = issuer.trim_end_matches('/');
    let discovery_url = format!("{issuer}/.well-known/openid-configuration");
    let doc = match get_json(http, &discovery_url).await {
        Err(ClientError::Status { status: 404, url, .. }) => {
            return Err(ClientError::Protocol(format!(
                "{url} does not exist: pass the issuer URL (e.g. http://127.0.0.1:3000/oidc), not the server's base URL"
            )));
        }
        other => other?,
    };
    // OIDC Discovery §4.3: the document must be the issuer's own.
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(ClientError::Protocol(format!("{discovery_url} names another issuer: {:?}", doc.get("issuer"))));
    }
    let endpoint = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol(format!("{discovery_url} has no {name}")))
    };
    let device_endpoint = endpoint("device_authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;

    // 1. The device asks for a code.
    let start = post_form(http, &device_endpoint, &[("client_id", &opts.client_id), ("scope", &opts.scope)]).await?;
    let field = |name: &str| {
        start
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol(format!("{device_endpoint} answered without {name}")))
    };
    let device_code = field("device_code")?;
    let user_code = field("user_code")?;
    let verification_uri = field("verification_uri")?;
    let page_uri = field("verification_uri_complete").unwrap_or_else(|_| verification_uri.clone());
    let mut interval = Duration::from_secs(start.get("interval").and_then(Value::as_u64).unwrap_or(5));
    let expires_in = Duration::from_secs(start.get("expires_in").and_then(Value::as_u64).unwrap_or(600));
    let budget = opts.timeout.min(expires_in);

    // 2. The person opens the page and submits its form.
    let page = send(http.get(&page_uri), &page_uri).await?;
    if page.0 != 200 {
        return Err(status_error(&page_uri, page.0, &page.1));
    }
    let form = [("user_code", user_code.as_str()), ("email", email), ("action", "approve")];
    let approved = send(http.post(&verification_uri).form(&form), &verification_uri).await?;
    if approved.0 != 200 {
        return Err(status_error(&verification_uri, approved.0, &approved.1));
    }

    // 3. The device polls.
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code.as_str()),
        ("client_id", opts.client_id.as_str()),
    ];
    loop {
        match post_form(http, &token_endpoint, &poll).await {
            Ok(body) => {
                return serde_json::from_value(body).map_err(|e| {
                    ClientError::Protocol(format!("{token_endpoint} answered a token response without the fields: {e}"))
                });
            }
            Err(ClientError::OAuth { error, .. }) if error == "authorization_pending" => {}
            Err(ClientError::OAuth { error, .. }) if error == "slow_down" => interval += Duration::from_secs(5),
            Err(e) => return Err(e),
        }
        if started.elapsed() + interval > budget {
            return Err(ClientError::TimedOut(budget));
        }
        tokio::time::sleep(interval).await;
    }
}

/// Sends a request and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
async fn send(req: reqwest::RequestBuilder, url: &str) -> Result<(u16, Vec<u8>), ClientError> {
    let http = |e| ClientError::Http { url: url.to_owned(), source: e };
    let mut resp = req.send().await.map_err(http)?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(http)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::Protocol(format!("{url} answered more than {MAX_RESPONSE_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, ClientError> {
    let (status, body) = send(http.get(url), url).await?;
    json_answer(url, status, &body)
}

async fn post_form(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<Value, ClientError> {
    let (status, body) = send(http.post(url).form(form), url).await?;
    json_answer(url, status, &body)
}

/// A 200 JSON body, or the OAuth error it carries.
fn json_answer(url: &str, status: u16, body: &[u8]) -> Result<Value, ClientError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if status == 200 {
        return json.ok_or_else(|| ClientError::Protocol(format!("{url} answered something that is not JSON")));
    }
    match json.as_ref().and_then(|j| j.get("error")).and_then(Value::as_str) {
        Some(error) => Err(ClientError::OAuth {
            url: url.to_owned(),
            status,
            error: error.to_owned(),
            description: json
                .as_ref()
                .and_then(|j| j.get("error_description"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        }),
        None => Err(status_error(url, status, body)),
    }
}

/// An unexpected status, with the message of the issuer's error page when it has one.
fn status_error(url: &str, status: u16, body: &[u8]) -> ClientError {
    let text = String::from_utf8_lossy(body);
    const ALERT: &str = "<p class=\"error\" role=\"alert\">";
    let message = match text.split_once(ALERT).and_then(|(_, rest)| rest.split_once("</p>")) {
        Some((alert, _)) => unescape(alert),
        None => text.chars().take(200).collect(),
    };
    ClientError::Status { url: url.to_owned(), status, message }
}

/// Undoes the issuer's HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_yield_their_alert() {
        let body = b"<html><p class=\"error\" role=\"alert\">That code has expired &amp; &lt;gone&gt;.</p></html>";
        match status_error("u", 400, body) {
            ClientError::Status { message, status: 400, .. } => assert_eq!(message, "That code has expired & <gone>."),
            other => panic!("unexpected {other:?}"),
        }
        let oauth = json_answer("u", 401, br#"{"error":"invalid_client","error_description":"unknown"}"#);
        assert!(matches!(oauth, Err(ClientError::OAuth { ref error, status: 401, .. }) if error == "invalid_client"));
    }
}
