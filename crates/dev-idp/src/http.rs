//! The HTTP endpoints: discovery, JWKS, authorization (login page), token, device authorization
//! and the device page.
//!
//! Routes are relative, so the router can be nested under any path; every absolute URL the
//! issuer prints is built from the configured issuer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde_json::{Value, json};

use crate::clock::unix_secs;
use crate::params::{self, MAX_ECHOED, MAX_REDIRECT_URI, Params, truncate};
use crate::store::{AuthCode, DeviceGrant, DeviceState, Full};
use crate::{ClientConfig, DevIdp, OOB_REDIRECT_URI, html};

/// The largest request body (and query string) accepted. Every legitimate request is a few
/// hundred bytes; a login form with a long `state` stays far below this.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The user code alphabet of RFC 8628 §6.1: consonants only, so codes spell no words and have
/// no look-alike characters. Eight of them give 34 bits.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// The scope assumed for device authorizations that name none.
const DEFAULT_SCOPE: &str = "openid email";

/// The issuer's routes, relative to the issuer URL. Nest them at [`DevIdp::mount_path`], or use
/// [`mount`], which also handles an issuer at the root.
pub fn router(idp: Arc<DevIdp>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_page).post(authorize_submit))
        .route("/token", post(token))
        .route("/device_authorization", post(device_authorization))
        .route("/device", get(device_page).post(device_submit))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(idp)
}

/// `app` with the issuer's routes at the issuer's path: nested at [`DevIdp::mount_path`], or
/// merged when the issuer is at the root (where axum cannot nest).
pub fn mount(app: Router, idp: Arc<DevIdp>) -> Router {
    let path = idp.mount_path().to_owned();
    if path.is_empty() { app.merge(router(idp)) } else { app.nest(&path, router(idp)) }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An RFC 6749 §5.2 error, sent as JSON.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status, error, description: description.into() }
    }
    fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    fn invalid_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    fn server_error(d: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d)
    }
    fn full(max: usize, what: &str) -> OAuthError {
        OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            format!("{max} {what} are already outstanding; try again when some have expired"),
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp =
            json_response(self.status, json!({ "error": self.error, "error_description": self.description }));
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2: a 401 names the authentication scheme the client may use.
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"dev-idp\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        resp
    }
}

/// A JSON response that no cache keeps (RFC 6749 §5.1 asks this of token responses; nothing
/// here is worth caching either).
fn json_response(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// A request body that could not be read as a form: status and reason.
struct FormError(StatusCode, String);

/// Reads an `application/x-www-form-urlencoded` body.
fn read_form(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Params, FormError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormError(r.status(), format!("the request body is larger than {MAX_BODY_BYTES} bytes"))
        } else {
            FormError(StatusCode::BAD_REQUEST, r.body_text())
        }
    })?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form {
        return Err(FormError(
            StatusCode::BAD_REQUEST,
            "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)".into(),
        ));
    }
    Params::parse(&body).map_err(|e| FormError(StatusCode::BAD_REQUEST, e))
}

fn read_oauth_form(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Params, OAuthError> {
    read_form(headers, body).map_err(|FormError(status, d)| OAuthError::new(status, "invalid_request", d))
}

fn random_token() -> Result<String, OAuthError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| OAuthError::server_error("the random generator failed"))?;
    Ok(B64URL.encode(bytes))
}

// ---------------------------------------------------------------------------------------------
// Discovery and keys

async fn discovery(State(idp): State<Arc<DevIdp>>) -> Response {
    let iss = idp.issuer();
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "device_authorization_endpoint": format!("{iss}/device_authorization"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", DEVICE_CODE_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid", "email"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "email", "email_verified"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    });
    let mut resp = axum::Json(doc).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn jwks(State(idp): State<Arc<DevIdp>>) -> Response {
    let mut resp = axum::Json(idp.jwks()).into_response();
    // Revalidate every time, so a rotated key is seen at once.
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    resp
}

// ---------------------------------------------------------------------------------------------
// Authorization code flow

/// A checked authorization request.
#[derive(Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    login_hint: Option<String>,
    prompt_none: bool,
}

impl AuthRequest {
    /// The parameters the login form carries to its POST.
    fn fields(&self) -> Vec<(&str, &str)> {
        let mut f = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", self.scope.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(s) = &self.state {
            f.push(("state", s));
        }
        if let Some(n) = &self.nonce {
            f.push(("nonce", n));
        }
        f
    }
}

/// Why an authorization request was refused.
enum AuthzError {
    /// The client or redirect URI cannot be trusted: tell the user, never redirect (RFC 6749
    /// §4.1.2.1).
    Page(StatusCode, String),
    /// Tell the client, through its redirect URI (this one, with the error in its query).
    Redirect(String),
}

impl IntoResponse for AuthzError {
    fn into_response(self) -> Response {
        match self {
            AuthzError::Page(status, text) => {
                html::respond(status, html::error("This sign-in request is refused", &text))
            }
            AuthzError::Redirect(location) => see_other(&location),
        }
    }
}

/// A 303 to `location`, uncached.
fn see_other(location: &str) -> Response {
    let mut resp = Redirect::to(location).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

impl DevIdp {
    /// Builds the redirect (or, for the out-of-band URI, the page) carrying an error.
    fn authz_error(&self, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> AuthzError {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", self.issuer()));
        match params::with_query(redirect_uri, &pairs).filter(|_| redirect_uri != OOB_REDIRECT_URI) {
            Some(location) => AuthzError::Redirect(location),
            None => AuthzError::Page(StatusCode::BAD_REQUEST, format!("{error}: {description}")),
        }
    }

    /// Checks an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
    /// The client and redirect URI come first: until both are known good, nothing is
    /// redirected anywhere.
    fn check_authorize(&self, p: &Params) -> Result<AuthRequest, AuthzError> {
        let page = |m: String| AuthzError::Page(StatusCode::BAD_REQUEST, m);
        let client_id = p.get("client_id").ok_or_else(|| page("The request has no client_id.".into()))?;
        let client = self.client(client_id).ok_or_else(|| {
            let known: Vec<&str> = self.config.clients.iter().map(|c| c.client_id.as_str()).collect();
            page(format!("Unknown client_id {:?}; this issuer accepts {known:?}.", truncate(client_id, 100)))
        })?;
        let redirect_uri = p.get("redirect_uri").ok_or_else(|| page("The request has no redirect_uri.".into()))?;
        if redirect_uri.len() > MAX_REDIRECT_URI || !client.allows_redirect(redirect_uri) {
            return Err(page(format!(
                "The redirect_uri {:?} is not allowed for client {client_id:?}. Use a loopback http URI on any port \
                 (http://127.0.0.1:PORT/..., http://localhost:PORT/..., http://[::1]:PORT/...) or one registered \
                 for the client.",
                truncate(redirect_uri, 200)
            )));
        }
        // A state too long to keep is not echoed back: it is refused with the request.
        let state = p.get("state").filter(|s| s.len() <= MAX_ECHOED);
        let fail = |error: &str, description: &str| self.authz_error(redirect_uri, state, error, description);
        if p.get("state").is_some_and(|s| s.len() > MAX_ECHOED) {
            return Err(fail("invalid_request", &format!("state is longer than {MAX_ECHOED} bytes")));
        }
        if p.get("request").is_some() {
            return Err(fail("request_not_supported", "request objects are not supported"));
        }
        if p.get("request_uri").is_some() {
            return Err(fail("request_uri_not_supported", "request_uri is not supported"));
        }
        match p.get("response_type") {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is required")),
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported (the authorization code flow with PKCE)",
                ));
            }
        }
        if p.get("response_mode").is_some_and(|m| m != "query") {
            return Err(fail("invalid_request", "only response_mode=query is supported"));
        }
        let scope = p.get("scope").unwrap_or("");
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(fail("invalid_scope", "scope must include openid: this issuer issues ID tokens"));
        }
        if scope.len() > MAX_ECHOED {
            return Err(fail("invalid_scope", &format!("scope is longer than {MAX_ECHOED} bytes")));
        }
        let Some(code_challenge) = p.get("code_challenge") else {
            return Err(fail(
                "invalid_request",
                "code_challenge is required: this issuer requires PKCE with S256 (RFC 7636)",
            ));
        };
        match p.get("code_challenge_method") {
            Some("S256") => {}
            // RFC 7636 §4.3: an absent method means plain.
            None | Some("plain") => {
                return Err(fail(
                    "invalid_request",
                    "transform algorithm not supported: code_challenge_method must be S256; plain is refused",
                ));
            }
            Some(_) => return Err(fail("invalid_request", "transform algorithm not supported: use S256")),
        }
        if !params::is_s256_challenge(code_challenge) {
            return Err(fail(
                "invalid_request",
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            ));
        }
        let nonce = p.get("nonce");
        if nonce.is_some_and(|n| n.len() > MAX_ECHOED) {
            return Err(fail("invalid_request", &format!("nonce is longer than {MAX_ECHOED} bytes")));
        }
        Ok(AuthRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scope.to_owned(),
            state: state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge: code_challenge.to_owned(),
            login_hint: p.get("login_hint").filter(|h| h.len() <= params::MAX_EMAIL).map(str::to_owned),
            prompt_none: p.get("prompt").is_some_and(|p| p.split(' ').any(|v| v == "none")),
        })
    }
}

async fn authorize_page(State(idp): State<Arc<DevIdp>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    if query.len() > MAX_BODY_BYTES {
        let text = format!("The request is longer than {MAX_BODY_BYTES} bytes.");
        return html::respond(StatusCode::URI_TOO_LONG, html::error("This sign-in request is refused", &text));
    }
    let params = match Params::parse(query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return AuthzError::Page(StatusCode::BAD_REQUEST, e).into_response(),
    };
    let req = match idp.check_authorize(&params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if req.prompt_none {
        // OIDC Core §3.1.2.6: there is never a session here, so a silent login cannot succeed.
        return idp
            .authz_error(
                &req.redirect_uri,
                req.state.as_deref(),
                "login_required",
                "this issuer always asks for an email",
            )
            .into_response();
    }
    let email = req.login_hint.as_deref().unwrap_or("");
    html::respond(StatusCode::OK, html::login(idp.issuer(), &req.client_id, &req.fields(), email, None))
}

async fn authorize_submit(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match read_form(&headers, body) {
        Ok(p) => p,
        Err(FormError(status, e)) => return AuthzError::Page(status, e).into_response(),
    };
    // The hidden fields came back from the browser: check them as if they were new.
    let req = match idp.check_authorize(&params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if params.get("action") == Some("cancel") {
        return idp
            .authz_error(&req.redirect_uri, req.state.as_deref(), "access_denied", "the user cancelled the sign-in")
            .into_response();
    }
    let typed = params.get("email").unwrap_or("");
    let email = match params::normalize_email(typed) {
        Ok(e) => e,
        Err(why) => {
            let page = html::login(idp.issuer(), &req.client_id, &req.fields(), typed, Some(&why));
            return html::respond(StatusCode::BAD_REQUEST, page);
        }
    };
    let code = match random_token() {
        Ok(c) => c,
        Err(e) => return AuthzError::Page(StatusCode::INTERNAL_SERVER_ERROR, e.description).into_response(),
    };
    let now = idp.config.clock.now();
    let entry = AuthCode {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        email: email.clone(),
        auth_time: now,
        expires: now + idp.config.code_lifetime,
        grace: idp.config.code_lifetime,
        used: false,
    };
    if idp.store().insert_code(code.clone(), entry, now) == Err(Full) {
        let why = format!(
            "{} authorization codes are already outstanding; try again when some have expired",
            idp.config.max_outstanding
        );
        return idp
            .authz_error(&req.redirect_uri, req.state.as_deref(), "temporarily_unavailable", &why)
            .into_response();
    }
    tracing::info!(email, client_id = req.client_id, "dev identity provider: signed in (authorization code)");
    if req.redirect_uri == OOB_REDIRECT_URI {
        return html::respond(StatusCode::OK, html::oob_code(&code));
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    // RFC 9207: naming the issuer lets a client that talks to several tell the answers apart.
    pairs.push(("iss", idp.issuer()));
    match params::with_query(&req.redirect_uri, &pairs) {
        Some(location) => see_other(&location),
        None => AuthzError::Page(StatusCode::BAD_REQUEST, "the redirect_uri is not a URL".into()).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Token endpoint

async fn token(State(idp): State<Arc<DevIdp>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match idp.token(&headers, body) {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => e.into_response(),
    }
}

impl DevIdp {
    /// Identifies the (public) client: `client_id` in the body, or HTTP Basic with an empty
    /// secret (RFC 6749 §2.3.1, as sigstore-python sends it). A secret is refused: these clients
    /// have none, and accepting one would suggest it was checked.
    fn authenticate_client(&self, headers: &HeaderMap, p: &Params) -> Result<&ClientConfig, OAuthError> {
        let mut basic_id = None;
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value =
                value.to_str().map_err(|_| OAuthError::invalid_client("the Authorization header is not ASCII"))?;
            let encoded = value
                .strip_prefix("Basic ")
                .or_else(|| value.strip_prefix("basic "))
                .ok_or_else(|| OAuthError::invalid_client("only HTTP Basic client authentication is supported"))?;
            let decoded = B64
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are not base64 of UTF-8"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("the Basic credentials have no ':'"))?;
            // RFC 6749 §2.3.1: both halves are form-urlencoded before being joined.
            let (id, secret) = (form_decode(id), form_decode(secret));
            if !secret.is_empty() {
                return Err(OAuthError::invalid_client(
                    "this issuer's clients are public: send an empty client secret, or none",
                ));
            }
            basic_id = Some(id);
        }
        if p.get("client_secret").is_some() {
            return Err(OAuthError::invalid_client("this issuer's clients are public: send no client_secret"));
        }
        let client_id = match (basic_id.as_deref(), p.get("client_id")) {
            (Some(a), Some(b)) if a != b => {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the client in the Authorization header",
                ));
            }
            (Some(id), _) | (None, Some(id)) => id.to_owned(),
            (None, None) => return Err(OAuthError::invalid_request("client_id is required")),
        };
        self.client(&client_id)
            .ok_or_else(|| OAuthError::invalid_client(format!("unknown client_id {:?}", truncate(&client_id, 100))))
    }

    fn token(&self, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Value, OAuthError> {
        let p = read_oauth_form(headers, body)?;
        let client = self.authenticate_client(headers, &p)?;
        match p.get("grant_type") {
            Some("authorization_code") => self.redeem_code(client, &p),
            Some(DEVICE_CODE_GRANT) => self.redeem_device_code(client, &p),
            Some(other) => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type {:?} is not supported; use authorization_code or {DEVICE_CODE_GRANT}",
                    truncate(other, 100)
                ),
            )),
            None => Err(OAuthError::invalid_request("grant_type is required")),
        }
    }

    /// RFC 6749 §4.1.3 with RFC 7636 §4.5–4.6.
    fn redeem_code(&self, client: &ClientConfig, p: &Params) -> Result<Value, OAuthError> {
        let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let redirect_uri =
            p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
        let verifier = p
            .get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is required: this issuer requires PKCE"))?;
        if !params::is_code_verifier(verifier) {
            return Err(OAuthError::invalid_request(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
            ));
        }
        let now = self.config.clock.now();
        // Any attempt spends the code: RFC 6749 §4.1.2 allows one use, and a second try with a
        // corrected parameter is exactly what an attacker holding a stolen code would make.
        let entry = {
            let mut store = self.store();
            let entry = store.code_mut(code).ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
            if entry.used {
                return Err(OAuthError::invalid_grant("the authorization code was already used"));
            }
            entry.used = true;
            entry.clone()
        };
        if entry.expires <= now {
            return Err(OAuthError::invalid_grant(format!(
                "the authorization code expired; codes live {} s",
                self.config.code_lifetime.as_secs()
            )));
        }
        if entry.client_id != client.client_id {
            return Err(OAuthError::invalid_grant("the authorization code was issued to another client"));
        }
        if entry.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri differs from the one in the authorization request"));
        }
        let challenge = params::s256(verifier);
        if aws_lc_rs::constant_time::verify_slices_are_equal(challenge.as_bytes(), entry.code_challenge.as_bytes())
            .is_err()
        {
            return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
        }
        self.issue_tokens(&client.client_id, &entry.email, entry.nonce.as_deref(), entry.auth_time)
    }

    /// RFC 8628 §3.4–3.5.
    fn redeem_device_code(&self, client: &ClientConfig, p: &Params) -> Result<Value, OAuthError> {
        let device_code = p.get("device_code").ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let now = self.config.clock.now();
        let (email, auth_time) = {
            let mut store = self.store();
            let grant =
                store.device_mut(device_code).ok_or_else(|| OAuthError::invalid_grant("unknown device_code"))?;
            if grant.client_id != client.client_id {
                return Err(OAuthError::invalid_grant("the device code was issued to another client"));
            }
            if grant.state == DeviceState::Redeemed {
                return Err(OAuthError::invalid_grant("the device code was already exchanged for a token"));
            }
            if grant.expires <= now {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "the device code expired before it was approved; start again",
                ));
            }
            match &grant.state {
                DeviceState::Pending => {
                    let too_soon = grant.last_poll.is_some_and(|last| now < last + grant.interval);
                    grant.last_poll = Some(now);
                    if too_soon {
                        grant.interval += Duration::from_secs(5);
                        return Err(OAuthError::new(
                            StatusCode::BAD_REQUEST,
                            "slow_down",
                            format!("polling too fast; wait {} s between polls", grant.interval.as_secs()),
                        ));
                    }
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "authorization_pending",
                        "the user has not approved this device yet",
                    ));
                }
                DeviceState::Denied => {
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "access_denied",
                        "the user denied the request",
                    ));
                }
                DeviceState::Redeemed => return Err(OAuthError::invalid_grant("the device code was already used")),
                DeviceState::Approved { email, auth_time } => {
                    let approved = (email.clone(), *auth_time);
                    grant.state = DeviceState::Redeemed;
                    approved
                }
            }
        };
        self.issue_tokens(&client.client_id, &email, None, auth_time)
    }

    /// Signs an ID token and builds the token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    fn issue_tokens(
        &self,
        client_id: &str,
        email: &str,
        nonce: Option<&str>,
        auth_time: SystemTime,
    ) -> Result<Value, OAuthError> {
        let iat = unix_secs(self.config.clock.now());
        let lifetime = self.config.token_lifetime.as_secs();
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": email,
            "aud": client_id,
            "email": email,
            "email_verified": true,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "auth_time": unix_secs(auth_time),
        });
        if let (Some(nonce), Some(obj)) = (nonce, claims.as_object_mut()) {
            obj.insert("nonce".into(), Value::String(nonce.to_owned()));
        }
        let key = self.signing_key();
        let id_token = key.sign_jwt(&claims).map_err(|e| OAuthError::server_error(e.to_string()))?;
        tracing::info!(email, client_id, kid = key.kid(), "dev identity provider: issued an ID token");
        // The access token is the ID token: sigstore-python uses `access_token` as its identity
        // token, and nothing here accepts access tokens for anything else.
        Ok(json!({
            "access_token": id_token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "id_token": id_token,
            "scope": DEFAULT_SCOPE,
        }))
    }
}

/// Decodes one application/x-www-form-urlencoded value (`+` is a space).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Device flow

async fn device_authorization(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match idp.start_device(&headers, body) {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => e.into_response(),
    }
}

/// Normalises a typed user code: case and punctuation do not matter (RFC 8628 §6.1).
fn normalize_user_code(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// `BCDFGHJK` as users see it: `BCDF-GHJK`.
fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

fn random_user_code() -> Result<String, OAuthError> {
    let mut code = String::with_capacity(8);
    while code.len() < 8 {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| OAuthError::server_error("the random generator failed"))?;
        // 240 = 12 × 20: rejecting bytes above it keeps every letter equally likely.
        for b in bytes.into_iter().filter(|&b| b < 240) {
            if code.len() < 8 {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    Ok(code)
}

impl DevIdp {
    /// RFC 8628 §3.1–3.2.
    fn start_device(&self, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Value, OAuthError> {
        let p = read_oauth_form(headers, body)?;
        let client = self.authenticate_client(headers, &p)?;
        // An explicit scope must ask for an ID token; none at all means the usual one.
        if let Some(scope) = p.get("scope")
            && !scope.split(' ').any(|s| s == "openid")
        {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "scope must include openid: this issuer issues ID tokens",
            ));
        }
        let device_code = random_token()?;
        let now = self.config.clock.now();
        let mut store = self.store();
        let mut user_code = random_user_code()?;
        // 34 bits make a collision among 10,000 live codes unlikely; a few retries make it moot.
        for _ in 0..8 {
            if !store.user_code_taken(&user_code) {
                break;
            }
            user_code = random_user_code()?;
        }
        if store.user_code_taken(&user_code) {
            return Err(OAuthError::server_error("could not pick an unused user code"));
        }
        let interval = self.config.device_poll_interval;
        let grant = DeviceGrant {
            client_id: client.client_id.clone(),
            user_code: user_code.clone(),
            expires: now + self.config.device_code_lifetime,
            grace: self.config.device_code_lifetime,
            interval,
            last_poll: None,
            state: DeviceState::Pending,
        };
        if store.insert_device(device_code.clone(), grant, now) == Err(Full) {
            return Err(OAuthError::full(self.config.max_outstanding, "device codes"));
        }
        drop(store);
        let shown = display_user_code(&user_code);
        let verification_uri = format!("{}/device", self.issuer());
        Ok(json!({
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={shown}"),
            "expires_in": self.config.device_code_lifetime.as_secs(),
            "interval": interval.as_secs().max(1),
        }))
    }
}

async fn device_page(State(idp): State<Arc<DevIdp>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let params = Params::parse(query.as_bytes()).unwrap_or_default();
    let user_code = params.get("user_code").map(|c| truncate(c, 32)).unwrap_or_default();
    html::respond(StatusCode::OK, html::device(idp.issuer(), &user_code, "", None))
}

async fn device_submit(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let p = match read_form(&headers, body) {
        Ok(p) => p,
        Err(FormError(status, e)) => return html::respond(status, html::error("The form is refused", &e)),
    };
    let typed_code = p.get("user_code").map(|c| truncate(c, 32)).unwrap_or_default();
    let typed_email = p.get("email").unwrap_or("");
    let retry = |status: StatusCode, why: &str| {
        html::respond(status, html::device(idp.issuer(), &typed_code, &truncate(typed_email, 254), Some(why)))
    };
    let approve = match p.get("action") {
        Some("approve") | None => true,
        Some("deny") => false,
        Some(_) => return retry(StatusCode::BAD_REQUEST, "Choose Approve or Deny."),
    };
    let email = if approve {
        match params::normalize_email(typed_email) {
            Ok(e) => Some(e),
            Err(why) => return retry(StatusCode::BAD_REQUEST, &why),
        }
    } else {
        None
    };
    let now = idp.config.clock.now();
    let mut store = idp.store();
    let Some(grant) = store.device_by_user_code(&normalize_user_code(&typed_code)) else {
        drop(store);
        return retry(
            StatusCode::BAD_REQUEST,
            "No device is waiting for that code. Check it, or start again on the device.",
        );
    };
    if grant.expires <= now {
        drop(store);
        return retry(StatusCode::BAD_REQUEST, "That code has expired. Start again on the device.");
    }
    if grant.state != DeviceState::Pending {
        drop(store);
        return retry(StatusCode::BAD_REQUEST, "That code was already used.");
    }
    let client_id = grant.client_id.clone();
    match email {
        Some(email) => {
            grant.state = DeviceState::Approved { email: email.clone(), auth_time: now };
            drop(store);
            tracing::info!(email, client_id, "dev identity provider: signed in (device)");
            let text = format!("The device is signed in as {email}. You can close this page and return to it.");
            html::respond(StatusCode::OK, html::message("Device approved", &text))
        }
        None => {
            grant.state = DeviceState::Denied;
            drop(store);
            html::respond(StatusCode::OK, html::message("Device denied", "The device will not be signed in."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_rfc8628_alphabet() {
        for _ in 0..200 {
            let code = random_user_code().expect("code");
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
            let shown = display_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(normalize_user_code(&shown.to_lowercase()), code);
            assert_eq!(normalize_user_code(&format!(" {} ", shown.replace('-', " "))), code);
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c"), "a:b c");
        assert_eq!(form_decode(""), "");
    }
}
