//! Fulcio's v2 HTTP API (grpc-gateway JSON).
//!
//! | route | what |
//! |---|---|
//! | `POST /api/v2/signingCert` | a token and a key (or CSR) in, `signedCertificateEmbeddedSct` out |
//! | `POST /api/v2/deviceCert` | an operator's credential (Bearer), a device ID, key and proof in, a device certificate out (sig-share's own); 409 if the ID is enrolled with another key |
//! | `POST /api/v2/deviceCert/revoke` | an operator's credential (Bearer) and `{"deviceId"}` in: the ID's key revoked, so another may be enrolled |
//! | `GET /api/v2/trustBundle` | the CA chains |
//! | `GET /api/v2/configuration` | the trusted issuers, their audiences and challenge claims |
//! | `GET /ca/metrics` | Prometheus: certificates issued, requests refused by reason, issuing time |
//!
//! Requests must be `Content-Type: application/json` (else 415; see
//! `sig_share_log::http::json_writes`). Errors are `{"code", "message", "details"}` with the
//! HTTP status grpc-gateway would use: 400 for a malformed request or key, 401 for a token that
//! does not verify, 429 with `Retry-After` past a rate limit (per client address, per identity:
//! [`crate::CaLimits`]), 503 when an issuer's keys or the certificate log are unavailable.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use sig_share_ct::CtError;
use sig_share_limits::ClientAddr;
use sig_share_log::http::error;

use crate::device::DeviceError;
use crate::issue::IssueError;
use crate::oidc::{KeySource, TokenError};
use crate::request::MAX_REQUEST_BYTES;
use crate::service::{CaError, CaService};

/// The router for a CA.
pub fn router<K: KeySource + 'static>(service: Arc<CaService<K>>) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert::<K>))
        .route("/api/v2/deviceCert", post(device_cert::<K>))
        .route("/api/v2/deviceCert/revoke", post(revoke_device::<K>))
        .route("/api/v2/trustBundle", get(trust_bundle::<K>))
        .route("/api/v2/configuration", get(configuration::<K>))
        .route("/ca/metrics", get(metrics::<K>))
        .route_layer(axum::middleware::from_fn(sig_share_log::http::json_writes))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(service)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertResponse {
    signed_certificate_embedded_sct: EmbeddedSct,
}

#[derive(Serialize)]
struct EmbeddedSct {
    chain: Chain,
}

#[derive(Serialize)]
struct Chain {
    certificates: Vec<String>,
}

async fn signing_cert<K: KeySource>(
    State(ca): State<Arc<CaService<K>>>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match request_parts(&ca, &client, &headers, body) {
        Ok((body, bearer)) => answer(ca.signing_cert(&body, bearer, SystemTime::now()).await),
        Err(response) => response,
    }
}

async fn device_cert<K: KeySource>(
    State(ca): State<Arc<CaService<K>>>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match request_parts(&ca, &client, &headers, body) {
        Ok((body, bearer)) => answer(ca.device_cert(&body, bearer, Some(client.0), SystemTime::now()).await),
        Err(response) => response,
    }
}

async fn revoke_device<K: KeySource>(
    State(ca): State<Arc<CaService<K>>>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match request_parts(&ca, &client, &headers, body) {
        Ok((body, bearer)) => match ca.revoke_device(&body, bearer, Some(client.0), SystemTime::now()) {
            Ok((device_id, revoked)) => axum::Json(RevokeResponse { device_id, revoked }).into_response(),
            Err(e) => ca_error(e),
        },
        Err(response) => response,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RevokeResponse {
    device_id: String,
    revoked: crate::device::Enrollment,
}

/// A certificate request's body and `Authorization: Bearer` token, once its client is within
/// the per-client limit (checked first, before any work); or the answer to a request refused or
/// too malformed to read.
#[allow(clippy::result_large_err)]
fn request_parts<'h, K: KeySource>(
    ca: &CaService<K>,
    client: &ClientAddr,
    headers: &'h HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Bytes, Option<&'h str>), Response> {
    ca.admit(client).map_err(ca_error)?;
    let body = body.map_err(|e| error(e.status(), 3, e.body_text()))?;
    Ok((body, bearer(headers)?))
}

/// An issued chain as Fulcio answers it (`201`, `signedCertificateEmbeddedSct`), or the error.
fn answer(result: Result<Vec<x509_cert::Certificate>, CaError>) -> Response {
    match result {
        Ok(chain) => {
            let certificates = chain.iter().map(sig_share_pki::certificate_to_pem).collect();
            let resp =
                SigningCertResponse { signed_certificate_embedded_sct: EmbeddedSct { chain: Chain { certificates } } };
            (StatusCode::CREATED, axum::Json(resp)).into_response()
        }
        Err(e) => ca_error(e),
    }
}

/// The `Authorization: Bearer` token, if any; a malformed header is answered at once.
#[allow(clippy::result_large_err)]
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Response> {
    match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(v)) => match v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
            Some(t) => Ok(Some(t.trim())),
            None => {
                Err(error(StatusCode::UNAUTHORIZED, 16, "the Authorization header must be 'Bearer <token>'".into()))
            }
        },
        Some(Err(_)) => Err(error(StatusCode::BAD_REQUEST, 3, "the Authorization header is not ASCII".into())),
    }
}

fn ca_error(e: CaError) -> Response {
    let message = e.to_string();
    match e {
        CaError::Limited(refused) => refused.into_response(),
        CaError::Request(_) | CaError::Token(TokenError::TooLarge(_) | TokenError::Malformed(_)) => {
            error(StatusCode::BAD_REQUEST, 3, message)
        }
        CaError::Token(TokenError::Discovery { .. }) => {
            tracing::warn!(error = %message, "an issuer's keys are unavailable");
            error(StatusCode::SERVICE_UNAVAILABLE, 14, message)
        }
        CaError::Token(_) | CaError::Device(DeviceError::Unauthorised) => error(StatusCode::UNAUTHORIZED, 16, message),
        CaError::Device(DeviceError::Disabled) => error(StatusCode::NOT_FOUND, 5, message),
        CaError::Device(DeviceError::BadId(_)) => error(StatusCode::BAD_REQUEST, 3, message),
        CaError::Device(DeviceError::AlreadyEnrolled(_)) => error(StatusCode::CONFLICT, 6, message),
        CaError::Device(DeviceError::NotEnrolled(_)) => error(StatusCode::NOT_FOUND, 5, message),
        CaError::Device(DeviceError::RateLimited(wait)) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, 8, message);
            let seconds = wait.as_secs().max(1).to_string();
            response.headers_mut().insert(header::RETRY_AFTER, seconds.parse().expect("digits are a header value"));
            response
        }
        CaError::Device(DeviceError::Registry(_)) => {
            tracing::error!(error = %message, "the device registry failed");
            error(StatusCode::SERVICE_UNAVAILABLE, 14, "the device registry is unavailable".into())
        }
        CaError::Issue(IssueError::Ct(CtError::Submit(s))) => {
            tracing::warn!(error = %s, "the certificate log did not take a precertificate");
            error(StatusCode::SERVICE_UNAVAILABLE, 14, format!("the certificate log is unavailable: {s}"))
        }
        CaError::Issue(e) => {
            tracing::error!(error = %e, "issuing a certificate failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, "issuing the certificate failed".into())
        }
    }
}

async fn metrics<K: KeySource>(State(ca): State<Arc<CaService<K>>>) -> Response {
    let text = sig_share_limits::with_refusals(&ca.metrics().encode());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[derive(Serialize)]
struct TrustBundle {
    chains: Vec<Chain>,
}

async fn trust_bundle<K: KeySource>(State(ca): State<Arc<CaService<K>>>) -> Response {
    let certificates = ca.ca().chain().iter().map(sig_share_pki::certificate_to_pem).collect();
    axum::Json(TrustBundle { chains: vec![Chain { certificates }] }).into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    issuers: Vec<IssuerEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuerEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wildcard_issuer_url: Option<String>,
    audience: String,
    challenge_claim: String,
}

async fn configuration<K: KeySource>(State(ca): State<Arc<CaService<K>>>) -> Response {
    let issuers = ca
        .verifier()
        .config()
        .issuers
        .iter()
        .map(|i| IssuerEntry {
            issuer_url: i.url.clone(),
            wildcard_issuer_url: i.wildcard_url.clone(),
            audience: i.audience.clone(),
            challenge_claim: i.challenge_claim().to_owned(),
        })
        .collect();
    axum::Json(Configuration { issuers }).into_response()
}
