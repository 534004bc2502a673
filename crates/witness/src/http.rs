//! The witness's HTTP interface. The submission and monitoring prefixes are both the root.
//!
//! | route | what |
//! |---|---|
//! | `POST /add-checkpoint` | C2SP tlog-witness v1.0.0: cosign a checkpoint consistent with the last one cosigned |
//! | `GET /<hex SHA-256(origin)>/checkpoint` | the latest checkpoint cosigned for the origin, with the cosignature (C2SP tlog-witness main's monitoring endpoint); 404 if none |
//! | `GET /metrics`, `GET /healthz` | Prometheus metrics, health |
//!
//! add-checkpoint answers with the spec's statuses and bodies: 200 with the cosignature line,
//! 409 `text/x.tlog.size` with the size last cosigned, and a one-line `text/plain` reason for
//! the others (400, 403, 404, 409 for a root mismatch, 422). The spec gives no request content
//! type, so none is required (a browser could send one cross-origin, but only a log-signed
//! checkpoint does anything, and what it does is public).
//!
//! Limits: add-checkpoint requests per client address and per log (a list's `qpd`), reads per
//! client address; refusals are 429 with `Retry-After` and JSON. Bodies over
//! [`MAX_REQUEST_SIZE`] are refused (413) before they are read whole. Unknown routes are a JSON
//! 404, other methods on known routes a JSON 405, as every sig-share service answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sig_share_limits::{ClientAddr, Limit, Limiter};
use sig_share_log::http::{error, not_found};
use sig_share_tlog::witness::{MAX_REQUEST_SIZE, SIZE_CONTENT_TYPE, encode_size};

use crate::witness::{Answer, Witness};

/// The per-client limits of the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// add-checkpoint requests per client address.
    pub add_per_client: Limit,
    /// Checkpoint reads per client address.
    pub reads_per_client: Limit,
}

impl Default for HttpLimits {
    /// 6,000 add-checkpoint requests and 6,000 reads a minute per address.
    fn default() -> HttpLimits {
        HttpLimits {
            add_per_client: "6000/min".parse().expect("a rate"),
            reads_per_client: "6000/min".parse().expect("a rate"),
        }
    }
}

#[derive(Clone)]
struct App {
    witness: Witness,
    limits: std::sync::Arc<(Limiter<ClientAddr>, Limiter<ClientAddr>)>,
}

/// The witness's routes, with a JSON 404 for any other.
pub fn router(witness: Witness, limits: HttpLimits) -> Router {
    let limiters = (
        Limiter::new("witness_add_checkpoint_per_client", limits.add_per_client),
        Limiter::new("witness_reads_per_client", limits.reads_per_client),
    );
    let app = App { witness, limits: std::sync::Arc::new(limiters) };
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint).fallback(method_not_allowed))
        .route("/{origin_hash}/checkpoint", get(checkpoint).fallback(method_not_allowed))
        .route("/metrics", get(metrics).fallback(method_not_allowed))
        .route("/healthz", get(health).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE))
        .with_state(app)
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, 12, "this route does not take that method".into())
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{body}\n")).into_response()
}

async fn add_checkpoint(State(app): State<App>, client: ClientAddr, body: Result<Bytes, BytesRejection>) -> Response {
    let metrics = app.witness.metrics();
    // Before any work: verifying the log's signature is what a flood would cost.
    if let Err(refused) = app.limits.0.check(&client) {
        metrics.answered(429);
        return refused.into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let status = e.status();
            metrics.answered(status.as_u16());
            return if status == StatusCode::PAYLOAD_TOO_LARGE {
                text(status, format!("the request body is larger than {MAX_REQUEST_SIZE} bytes"))
            } else {
                text(StatusCode::BAD_REQUEST, e.body_text())
            };
        }
    };
    match app.witness.add_checkpoint(&body).await {
        Answer::Cosigned(lines) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response()
        }
        Answer::Stale(size) => {
            (StatusCode::CONFLICT, [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)], encode_size(size)).into_response()
        }
        // Not `text/x.tlog.size`: clients (transparency-dev's, Tessera's) read a 409 of that type
        // as "retry from this size", which would only repeat the conflict.
        Answer::RootMismatch(size) => text(
            StatusCode::CONFLICT,
            format!("the checkpoint has the size last cosigned ({size}) but another root hash"),
        ),
        Answer::BadRequest(m) => text(StatusCode::BAD_REQUEST, m),
        Answer::Forbidden(m) => text(StatusCode::FORBIDDEN, m),
        Answer::UnknownOrigin(m) => text(StatusCode::NOT_FOUND, m),
        Answer::BadProof(m) => text(StatusCode::UNPROCESSABLE_ENTITY, m),
        Answer::TooMany(refused) => refused.into_response(),
        Answer::Unavailable(m) => sig_share_log::http::unavailable(m, 5),
    }
}

async fn checkpoint(State(app): State<App>, client: ClientAddr, Path(origin_hash): Path<String>) -> Response {
    if let Err(refused) = app.limits.1.check(&client) {
        return refused.into_response();
    }
    // Lower-case hex only, as the spec writes it: one name per origin.
    let hash = (origin_hash.len() == 64 && !origin_hash.bytes().any(|b| b.is_ascii_uppercase()))
        .then(|| hex::decode(&origin_hash).ok())
        .flatten()
        .and_then(|v| <[u8; 32]>::try_from(v).ok());
    let Some(hash) = hash else {
        return error(StatusCode::NOT_FOUND, 5, "expected /<lower-case hex SHA-256 of the origin>/checkpoint".into());
    };
    let witness = app.witness.clone();
    match tokio::task::spawn_blocking(move || witness.latest_by_hash(&hash)).await {
        Ok(Ok(Some(note))) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], note)
                .into_response()
        }
        Ok(Ok(None)) => {
            error(StatusCode::NOT_FOUND, 5, "this witness has cosigned no checkpoint of that origin".into())
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading the witness state failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, "reading the witness state failed".into())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e.to_string()),
    }
}

async fn metrics(State(app): State<App>) -> Response {
    let text = sig_share_limits::with_refusals(&app.witness.metrics().encode());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn health(State(app): State<App>) -> Response {
    let healthy = app.witness.healthy();
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "failed" },
        "name": app.witness.name(),
        "vkey": app.witness.verifier().vkey(),
        "logs": app.witness.logs().len(),
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
