//! The certificate log's HTTP API: RFC 6962 submission and C2SP static-ct-api monitoring.
//!
//! | route | what |
//! |---|---|
//! | `POST /ct/v1/add-pre-chain`, `POST /ct/v1/add-chain` | log a chain, answer its SCT (RFC 6962 §4.1, §4.2) |
//! | `GET /ct/v1/get-roots` | the accepted roots |
//! | `GET /checkpoint` | the signed tree head as a checkpoint (Ed25519 and RFC 6962 signatures) |
//! | `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/data/<N>[.p/<W>]` | hash tiles and data tiles |
//! | `GET /issuer/<sha256 hex>` | the issuers the data tiles refer to |
//! | `GET /api/v1/certificates?identity=<SAN>[&issuer=<URL>]` | the certificates issued to an identity (on one OIDC issuer's word), each with its inclusion proof, up to 100 |
//! | `GET /metrics` | the certificate log's Prometheus metrics |
//!
//! Mount it under the log's prefix: the submission and monitoring prefixes are the same.
//! Errors are JSON in the transparency log's shape, `{"code": <gRPC code>, "message": "…", "details": []}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sig_share_log::SubmitError;
use sig_share_log::http::{answer_blocking, error, serve_checkpoint, serve_metrics, serve_tile, unavailable};
use sig_share_tlog::static_ct::Sct;

use crate::chain::{MAX_CERTIFICATE_BYTES, MAX_CHAIN};
use crate::ctlog::{CertificateLog, CtError};
use crate::issued;

/// The largest request body: a full chain of the largest certificates, in base64 and JSON.
pub const MAX_REQUEST_BYTES: usize = MAX_CHAIN * MAX_CERTIFICATE_BYTES * 4 / 3 + 1024;

/// The router for a certificate log served on its own, answering unknown routes with a JSON 404.
pub fn router(ct: CertificateLog) -> Router {
    routes(ct).fallback(sig_share_log::http::not_found)
}

/// The certificate log's routes without a fallback, for nesting in a larger server.
pub fn routes(ct: CertificateLog) -> Router {
    Router::new()
        .route("/ct/v1/add-pre-chain", post(add_pre_chain))
        .route("/ct/v1/add-chain", post(add_chain))
        .route("/ct/v1/get-roots", get(get_roots))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/issuer/{fingerprint}", get(issuer))
        .route("/api/v1/certificates", get(certificates))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .route_layer(axum::middleware::from_fn(sig_share_log::http::json_writes))
        .with_state(ct)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddChainRequest {
    chain: Vec<String>,
}

/// RFC 6962 §4.1's answer.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct SctResponse {
    /// Always 0 (v1).
    pub sct_version: u8,
    /// The log ID, base64.
    pub id: String,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// The `CtExtensions`, base64.
    pub extensions: String,
    /// The `DigitallySigned` signature, base64.
    pub signature: String,
}

impl SctResponse {
    /// The JSON form of an SCT.
    pub fn from_sct(sct: &Sct) -> Result<SctResponse, String> {
        let mut signature = Vec::new();
        sct.signature.encode(&mut signature).map_err(|e| e.to_string())?;
        Ok(SctResponse {
            sct_version: 0,
            id: BASE64.encode(sct.log_id),
            timestamp: sct.timestamp,
            extensions: BASE64.encode(&sct.extensions),
            signature: BASE64.encode(signature),
        })
    }

    /// The SCT again, for clients.
    pub fn to_sct(&self) -> Result<Sct, String> {
        let b = |s: &str| BASE64.decode(s).map_err(|e| e.to_string());
        let log_id = b(&self.id)?.try_into().map_err(|_| "the log ID is not 32 bytes".to_string())?;
        let signature =
            sig_share_tlog::static_ct::DigitallySigned::parse(&b(&self.signature)?).map_err(|e| e.to_string())?;
        Ok(Sct { log_id, timestamp: self.timestamp, extensions: b(&self.extensions)?, signature })
    }
}

async fn add_pre_chain(State(ct): State<CertificateLog>, body: Result<Bytes, BytesRejection>) -> Response {
    submit(ct, body, true).await
}

async fn add_chain(State(ct): State<CertificateLog>, body: Result<Bytes, BytesRejection>) -> Response {
    submit(ct, body, false).await
}

async fn submit(ct: CertificateLog, body: Result<Bytes, BytesRejection>, precert: bool) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return error(e.status(), 3, e.body_text()),
    };
    let req: AddChainRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, 3, format!("expected {{\"chain\": [base64 DER, ...]}}: {e}")),
    };
    let mut chain = Vec::with_capacity(req.chain.len());
    for (i, c) in req.chain.iter().enumerate() {
        match BASE64.decode(c) {
            Ok(der) => chain.push(der),
            Err(e) => return error(StatusCode::BAD_REQUEST, 3, format!("chain[{i}] is not base64: {e}")),
        }
    }
    match ct.add_chain(&chain, precert).await {
        Ok(sct) => match SctResponse::from_sct(&sct) {
            Ok(r) => axum::Json(r).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e),
        },
        Err(CtError::Chain(e)) => error(StatusCode::BAD_REQUEST, 3, e.to_string()),
        Err(CtError::Submit(e @ SubmitError::PoolFull { retry_after_secs })) => {
            unavailable(e.to_string(), retry_after_secs)
        }
        Err(CtError::Submit(e @ (SubmitError::BadKey(_) | SubmitError::TooLarge(_) | SubmitError::Malformed(_)))) => {
            error(StatusCode::BAD_REQUEST, 3, e.to_string())
        }
        Err(CtError::Submit(e)) => error(StatusCode::SERVICE_UNAVAILABLE, 14, e.to_string()),
        Err(CtError::Internal(e)) => {
            tracing::error!(error = %e, "logging a certificate failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, "the certificate could not be logged".into())
        }
    }
}

#[derive(Serialize)]
struct Roots {
    certificates: Vec<String>,
}

async fn get_roots(State(ct): State<CertificateLog>) -> Response {
    axum::Json(Roots { certificates: ct.roots().iter().map(|r| BASE64.encode(r)).collect() }).into_response()
}

async fn checkpoint(State(ct): State<CertificateLog>) -> Response {
    serve_checkpoint(ct.log())
}

async fn tile(State(ct): State<CertificateLog>, Path(path): Path<String>) -> Response {
    serve_tile(ct.log(), &path).await
}

/// `?identity=<SAN>[&issuer=<URL>]`, URL-encoded (a `+` in an address is `%2B`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificatesQuery {
    identity: String,
    issuer: Option<String>,
}

async fn certificates(
    State(ct): State<CertificateLog>,
    query: Result<Query<CertificatesQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        // The rejection may quote a parameter's name: anyone's string, so only its start.
        Err(e) => {
            let why: String = e.body_text().chars().take(200).collect();
            return error(StatusCode::BAD_REQUEST, 3, format!("expected ?identity=<SAN>[&issuer=<URL>]: {why}"));
        }
    };
    if let Err(why) = issued::check_query(&query.identity, query.issuer.as_deref()) {
        return error(StatusCode::BAD_REQUEST, 3, why);
    }
    answer_blocking("certificate lookup", move || {
        issued::certificates_of(&ct, &query.identity, query.issuer.as_deref())
    })
    .await
}

async fn metrics(State(ct): State<CertificateLog>) -> Response {
    serve_metrics(ct.log())
}

async fn issuer(State(ct): State<CertificateLog>, Path(fingerprint): Path<String>) -> Response {
    if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return error(StatusCode::BAD_REQUEST, 3, "an issuer is named by the lowercase hex SHA-256 of its DER".into());
    }
    let key = format!("issuer/{fingerprint}");
    match ct.log().stores().tiles.get(&key) {
        Ok(Some(der)) => (
            [
                (header::CONTENT_TYPE, "application/pkix-cert"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            der,
        )
            .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, 5, format!("no issuer {fingerprint}")),
        Err(e) => {
            tracing::error!(error = %e, "reading an issuer failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, "reading the issuer failed".into())
        }
    }
}
