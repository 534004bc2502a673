//! The HTTP front end, shaped like sigstore's timestamp-authority:
//!
//! | route | what |
//! |---|---|
//! | `POST /api/v1/timestamp` | a DER `TimeStampReq` (`application/timestamp-query`) or sigstore's JSON request (`application/json`); answers a DER `TimeStampResp` (`application/timestamp-reply`) |
//! | `GET /api/v1/timestamp/certchain` | the chain as PEM, leaf first (`application/pem-certificate-chain`) |
//!
//! Every failure is an HTTP error status, never 200: sigstore-js does not read the RFC 3161
//! status and would otherwise put a rejection into a bundle. A request that was read but refused
//! gets 400 (500 for a signing failure, 503 when the TSA certificate is not valid now) with a DER
//! rejection `TimeStampResp`; a body that is not a request, too large or of another content type
//! gets 400 / 413 / 415 with `{"code": <status>, "message": "…"}`. Timestamps are limited per
//! client address ([`default_limit`]); past it, `429` with `Retry-After` (see `sig_share_limits`).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sig_share_limits::{ClientAddr, Limit, Limiter, Rate};

use crate::asn1::FailureInfo;
use crate::authority::{Reply, RequestForm, TimestampAuthority};

/// The largest request body accepted. A DER request with a SHA-512 imprint, a 32-byte nonce and
/// a policy is under 200 bytes; JSON under 300.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Where the handlers read the time; [`router`] uses the system clock, tests pass their own.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Clone)]
struct AppState {
    tsa: Arc<TimestampAuthority>,
    clock: Clock,
    limiter: Arc<Limiter<ClientAddr>>,
}

/// Timestamps per client address by default: 6,000 a minute (100/s sustained). A signing needs
/// one; each costs the TSA a signature.
pub fn default_limit() -> Limit {
    Rate::per_minute(6_000).into()
}

/// The TSA's routes, reading the system clock.
pub fn router(tsa: Arc<TimestampAuthority>) -> Router {
    router_with_limit(tsa, default_limit())
}

/// [`router`] allowing each client address `limit`.
pub fn router_with_limit(tsa: Arc<TimestampAuthority>, limit: Limit) -> Router {
    routes(tsa, Arc::new(SystemTime::now), limit)
}

/// The TSA's routes with genTime taken from `clock`.
pub fn router_with_clock(tsa: Arc<TimestampAuthority>, clock: Clock) -> Router {
    routes(tsa, clock, default_limit())
}

fn routes(tsa: Arc<TimestampAuthority>, clock: Clock, limit: Limit) -> Router {
    let limiter = Arc::new(Limiter::new("timestamps_per_client", limit));
    Router::new()
        .route("/api/v1/timestamp", post(timestamp))
        .route("/api/v1/timestamp/certchain", get(certchain))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(AppState { tsa, clock, limiter })
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "code": status.as_u16(), "message": message.into() });
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
}

fn reply(status: StatusCode, der: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/timestamp-reply"))], der).into_response()
}

/// The request form named by Content-Type, as RFC 3161 section 3.4 requires it
/// (`application/timestamp-request` is an older name some clients still send). A missing type is
/// refused too: a web page can make its visitors' browsers post a body without one, or with a
/// form type, without asking (no CORS preflight), so the TSA must not take those.
fn request_form(headers: &HeaderMap) -> Result<RequestForm, String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err("no Content-Type: send application/timestamp-query (DER) or application/json".into());
    };
    let value = value.to_str().map_err(|_| "unreadable Content-Type".to_string())?;
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/timestamp-query" | "application/timestamp-request" => Ok(RequestForm::Der),
        "application/json" => Ok(RequestForm::Json),
        _ => Err(format!(
            "unsupported Content-Type {value:?}: send application/timestamp-query (DER) or application/json"
        )),
    }
}

async fn timestamp(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(refused) = state.limiter.check(&client) {
        return refused.into_response();
    }
    let form = match request_form(&headers) {
        Ok(form) => form,
        Err(message) => return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {MAX_REQUEST_BYTES} bytes"),
            );
        }
        Err(rejection) => return json_error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    if body.is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "empty request body");
    }
    let now = (state.clock)();
    match state.tsa.respond(&body, form, now) {
        Reply::Granted(der) => reply(StatusCode::OK, der),
        Reply::Rejected { response, rejection } => {
            let status = match rejection.failure {
                FailureInfo::SystemFailure => {
                    tracing::warn!(error = %rejection, "timestamp signing failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                FailureInfo::TimeNotAvailable => {
                    tracing::warn!(error = %rejection, "timestamp refused: no valid time");
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => {
                    tracing::debug!(failure = ?rejection.failure, error = %rejection, "timestamp request rejected");
                    StatusCode::BAD_REQUEST
                }
            };
            reply(status, response)
        }
        Reply::Malformed(message) => {
            tracing::debug!(error = %message, "malformed timestamp request");
            json_error(StatusCode::BAD_REQUEST, message)
        }
    }
}

async fn certchain(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/pem-certificate-chain"))],
        state.tsa.chain_pem().to_owned(),
    )
        .into_response()
}
