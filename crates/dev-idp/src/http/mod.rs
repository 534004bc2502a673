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
use sig_share_limits::ClientAddr;

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
    /// `Retry-After`, in seconds.
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status, error, description: description.into(), retry_after: None }
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
    fn full(full: Full, config: &crate::Config, what: &'static str) -> OAuthError {
        match full {
            Full::Total => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                format!("{} {what} are already outstanding; try again when some have expired", config.max_outstanding),
            ),
            Full::Client { retry_after } => {
                let message = format!(
                    "this client already has {} {what} outstanding; finish or wait out one of them",
                    config.max_outstanding_per_client
                );
                // Counted with every other refusal by a limit.
                let refused = sig_share_limits::Refused::new("idp_codes_per_client", retry_after, message);
                let mut e =
                    OAuthError::new(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", refused.message.clone());
                e.retry_after = Some(refused.retry_after_secs());
                e
            }
        }
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
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after.unwrap_or(10)));
        } else if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
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

mod authorize;
mod device;
mod token;

use authorize::{authorize_page, authorize_submit};
use device::{device_authorization, device_page, device_submit};
use token::token;
