//! The log's HTTP API.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/v2/log/entries` | Rekor v2 write API (hashedrekord 0.0.2) |
//! | `GET /api/v2/checkpoint` | the signed checkpoint (tlog-tiles) |
//! | `GET /api/v2/tile/<L>/<N>[.p/<W>]`, `GET /api/v2/tile/entries/<N>[.p/<W>]` | tiles and entry bundles |
//! | `GET /api/v1/index/sha256:<hex>` | the entries that name an artifact digest, with inclusion proofs (paged: see below) |
//! | `GET /api/v1/log/entries/<index>` | entry `index` as a `TransparencyLogEntry`, proven against the newest checkpoint |
//! | `POST /api/v1/statements` | keep an in-toto statement (a DSSE envelope) that a logged entry signs |
//! | `GET /api/v1/statements/entry/<index>` | the statement entry `index` signs, with the entry and its proof |
//! | `GET /api/v1/statements/subject/sha256:<hex>` | the statements about an artifact digest, each with its entry (paged) |
//! | `GET /metrics`, `GET /healthz` | Prometheus metrics, health |
//!
//! The lookups by digest answer in log order, oldest first, a page at a time: `?after=N` (the
//! `next` of the previous page), `?before=N` (only entries older than N, e.g. older than an
//! edit that names the digest as its parent) and `?limit=N` (at most 100). An answer whose
//! `next` is set (and `truncated` true) has more: anyone can log entries under any digest, so
//! a reader that stops at the first page must say that it saw only part of the list.
//!
//! Writes (`POST`) must be `Content-Type: application/json`, else 415: a web page can make a
//! visitor's browser send a cross-origin request without asking (no CORS preflight) only with a
//! form or `text/plain` type or none, so no page can write to the log through its visitors.
//!
//! Every error is JSON in grpc-gateway's shape, `{"code": <gRPC code>, "message": "…", "details": []}`,
//! as rekor-tiles answers.
//!
//! The write routes are limited per client address ([`LogLimits`]), and the statement store by
//! its quota; a refused request gets `429` with `Retry-After` (see `sig_share_limits`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use sig_share_limits::{ClientAddr, Limit, Limiter, Rate};
use sig_share_tlog::{Hash, TileId, TileKind};

use crate::log::{Log, Logged, NewEntry, Published, SubmitError};
use crate::rekor::{self, TransparencyLogEntry};
use crate::statements::{self, StatementError, StatementQuota, StatementStore, StoredStatement};

/// The prefix of the Rekor v2 and tlog-tiles routes.
pub const API_PREFIX: &str = "/api/v2";
/// Most entries one page of a lookup by digest returns.
pub const MAX_INDEX_RESULTS: usize = 100;

/// `?after=N&before=N&limit=N` of a lookup by digest.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub after: Option<u64>,
    pub before: Option<u64>,
    pub limit: Option<usize>,
}

impl PageQuery {
    fn page(&self) -> crate::storage::Page {
        crate::storage::Page { after: self.after, before: self.before }
    }

    fn limit(&self) -> usize {
        self.limit.unwrap_or(MAX_INDEX_RESULTS).clamp(1, MAX_INDEX_RESULTS)
    }
}

/// A page of indices under `key`, and the cursor of the next page if there is one.
fn page_of(log: &Log, key: &[u8], query: &PageQuery) -> Result<(Vec<u64>, Option<u64>), String> {
    let limit = query.limit();
    let mut indices = log.lookup_page(key, query.page(), limit + 1).map_err(|e| e.to_string())?;
    let more = indices.len() > limit;
    indices.truncate(limit);
    let next = if more { indices.last().copied() } else { None };
    Ok((indices, next))
}

fn bad_query(e: QueryRejection) -> Response {
    error(StatusCode::BAD_REQUEST, 3, format!("{} (expected ?after=N&before=N&limit=N)", e.body_text()))
}

#[derive(Clone)]
struct App {
    log: Log,
    log_id: Arc<[u8; 32]>,
    limits: Arc<Limits>,
}

/// The write routes' limits and the statement store's quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLimits {
    /// `POST /api/v2/log/entries` per client address.
    pub writes_per_client: Limit,
    /// `POST /api/v1/statements` per client address.
    pub statements_per_client: Limit,
    /// What the statement store keeps.
    pub statements: StatementQuota,
}

impl Default for LogLimits {
    /// 6,000 entries a minute per client address (100/s sustained; a signer logs one per
    /// signing, and a busy CI behind one address stays far below), 600 statements a minute,
    /// and the store's default quota.
    fn default() -> LogLimits {
        LogLimits {
            writes_per_client: Rate::per_minute(6_000).into(),
            statements_per_client: Rate::per_minute(600).into(),
            statements: StatementQuota::default(),
        }
    }
}

/// The limiters built from [`LogLimits`].
#[derive(Debug)]
struct Limits {
    writes: Limiter<ClientAddr>,
    statements: Limiter<ClientAddr>,
    store: StatementStore,
}

impl Limits {
    fn new(limits: LogLimits) -> Limits {
        Limits {
            writes: Limiter::new("log_writes_per_client", limits.writes_per_client),
            statements: Limiter::new("statements_per_client", limits.statements_per_client),
            store: StatementStore::new(limits.statements),
        }
    }
}

/// The router for a log served on its own, answering unknown routes with a JSON 404.
pub fn router(log: Log) -> Router {
    router_with(log, LogLimits::default())
}

/// [`router`] with these limits.
pub fn router_with(log: Log, limits: LogLimits) -> Router {
    routes_with(log, limits).fallback(not_found)
}

/// The log's routes without a fallback, for merging with other services' routes.
pub fn routes(log: Log) -> Router {
    routes_with(log, LogLimits::default())
}

/// [`routes`] with these limits.
pub fn routes_with(log: Log, limits: LogLimits) -> Router {
    let log_id = Arc::new(rekor::log_id(&log.config().origin, &log.public_key()));
    let app = App { log, log_id, limits: Arc::new(Limits::new(limits)) };
    Router::new()
        .route("/api/v2/log/entries", post(create_entry))
        .route("/api/v2/checkpoint", get(checkpoint))
        .route("/api/v2/tile/{*path}", get(tile))
        .route("/api/v1/index/{digest}", get(index))
        .route("/api/v1/log/entries/{index}", get(entry_by_index))
        .route("/api/v1/statements", post(add_statement))
        .route("/api/v1/statements/entry/{index}", get(statement_for_entry))
        .route("/api/v1/statements/subject/{digest}", get(statements_about))
        .route(WITNESS_POLICY_PATH, get(witness_policy))
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
        .route_layer(axum::middleware::from_fn(json_writes))
        .layer(DefaultBodyLimit::max(rekor::MAX_REQUEST_BYTES))
        .with_state(app)
}

/// Refuses a request that changes state (any method but GET, HEAD and OPTIONS) unless its
/// Content-Type is `application/json` (parameters such as charset aside): 415 with JSON. This
/// is the one rule for every JSON write route of sig-share (the log, the CA, the certificate
/// log): a browser sends a cross-origin request without a CORS preflight only with a form or
/// `text/plain` type, or none, so a page cannot make its visitors' browsers write.
pub async fn json_writes(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS) {
        return next.run(req).await;
    }
    if has_content_type(req.headers(), &["application/json"]) {
        return next.run(req).await;
    }
    error(StatusCode::UNSUPPORTED_MEDIA_TYPE, 3, "send the request as Content-Type: application/json".into())
}

/// Whether the request's Content-Type is one of `types` (lower case), parameters aside.
pub fn has_content_type(headers: &axum::http::HeaderMap, types: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .is_some_and(|essence| types.contains(&essence.as_str()))
}

/// Where a log with witnesses publishes the C2SP tlog-policy verifiers pin beside its trust
/// config (sigstore's ClientTrustConfig has no field for witnesses).
pub const WITNESS_POLICY_PATH: &str = "/api/v1/witness-policy";

/// The log's witness policy for verifiers, with a `log` line naming this log when the operator's
/// file names none; 404 when the log has no witnesses.
async fn witness_policy(State(app): State<App>) -> Response {
    let log = &app.log;
    let mut response = match &log.config().witnesses {
        Some(w) => {
            let text = w.verifier_policy(&log.vkey());
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            5,
            "this log has no witness policy: its checkpoints carry only its own signature".into(),
        ),
    };
    // Public trust material, read by the badge from pages of other origins as the trust config
    // is (the 404 too: it says there is no policy); no credentials are involved.
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// The JSON 404 for unknown routes.
pub async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, 5, "no such route".into())
}

#[derive(Serialize)]
struct ErrorBody {
    code: u16,
    message: String,
    details: [(); 0],
}

/// A JSON error with a gRPC status code, as grpc-gateway writes them.
/// An error answer in grpc-gateway's JSON shape, which sigstore clients print.
pub fn error(status: StatusCode, grpc_code: u16, message: String) -> Response {
    (status, axum::Json(ErrorBody { code: grpc_code, message, details: [] })).into_response()
}

/// A 503 that tells the client when to try again.
pub fn unavailable(message: String, retry_after: u64) -> Response {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, 14, message);
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    r
}

async fn create_entry(State(app): State<App>, client: ClientAddr, body: Result<Bytes, BytesRejection>) -> Response {
    let log = &app.log;
    // Before any work: verifying the signature is what a flood would cost.
    if let Err(refused) = app.limits.writes.check(&client) {
        log.metrics().reject("rate_limited");
        return refused.into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            log.metrics().reject("body");
            let status = e.status();
            let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("request body is larger than the {}-byte limit", rekor::MAX_REQUEST_BYTES)
            } else {
                e.body_text()
            };
            return error(status, 3, msg);
        }
    };
    let entry = match rekor::verify_request(&body) {
        Ok(e) => e,
        Err(e) => {
            log.metrics().reject(match e {
                rekor::EntryError::BadSignature => "bad_signature",
                rekor::EntryError::Malformed(_) => "malformed",
                _ => "unsupported",
            });
            return error(StatusCode::BAD_REQUEST, 3, e.to_string());
        }
    };
    let period = log.config().period.as_secs().max(1);
    let data = entry.body.clone();
    match log.submit(NewEntry::new(entry.body, entry.key)).await {
        Ok(logged) => match entry_response(&app, &logged, data).await {
            Ok(tle) => {
                let status = if logged.duplicate { StatusCode::OK } else { StatusCode::CREATED };
                let mut r = (status, axum::Json(tle)).into_response();
                r.headers_mut().insert("x-log-index", HeaderValue::from(logged.index));
                r
            }
            Err(msg) => {
                // The details (paths, errno) are for the operator's log, not for clients.
                tracing::error!(error = %msg, index = logged.index, "answering a logged entry failed");
                unavailable("the entry is logged but its proof could not be built; resubmit it".into(), period)
            }
        },
        Err(e @ SubmitError::PoolFull { retry_after_secs }) => unavailable(e.to_string(), retry_after_secs),
        Err(e @ (SubmitError::TooLarge(_) | SubmitError::BadKey(_) | SubmitError::Malformed(_))) => {
            error(StatusCode::BAD_REQUEST, 3, e.to_string())
        }
        Err(e @ (SubmitError::Unavailable(_) | SubmitError::Timeout(_))) => unavailable(e.to_string(), period),
    }
}

/// The `TransparencyLogEntry` for a logged entry, proven against the checkpoint it came with.
async fn entry_response(app: &App, logged: &Logged, body: Vec<u8>) -> Result<TransparencyLogEntry, String> {
    let (log, published, index) = (app.log.clone(), logged.published.clone(), logged.index);
    // New entries are proven from memory; only older ones (resubmissions) need to read tiles.
    let proof = match published.inclusion_proof_in_memory(index) {
        Some(p) => p,
        None => tokio::task::spawn_blocking(move || published.inclusion_proof(index, log.stores().tiles.as_ref()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("building the inclusion proof: {e}"))?,
    };
    let p = &logged.published;
    Ok(TransparencyLogEntry::hashedrekord(&app.log_id, index, &body, p.size, &p.root, &proof, &p.checkpoint))
}

async fn checkpoint(State(app): State<App>) -> Response {
    serve_checkpoint(&app.log)
}

async fn tile(State(app): State<App>, Path(path): Path<String>) -> Response {
    serve_tile(&app.log, &path).await
}

/// The log's checkpoint, uncacheable: it is the one mutable thing a log serves.
pub fn serve_checkpoint(log: &Log) -> Response {
    let cp = log.latest().checkpoint.to_string();
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], cp).into_response()
}

/// The tile at `tile/<path>`: hash tiles, and entry bundles of the log's own format.
pub async fn serve_tile(log: &Log, path: &str) -> Response {
    let full = format!("tile/{path}");
    let bundles = log.config().format.bundles().kind();
    let id = match TileId::parse_path(&full) {
        Ok(id) if matches!(id.kind, TileKind::Hashes(_)) || id.kind == bundles => id,
        _ => return error(StatusCode::BAD_REQUEST, 3, format!("not a tile path of this log: {}", truncated(&full))),
    };
    let log = log.clone();
    let key = id.path();
    let got = tokio::task::spawn_blocking(move || log.stores().tiles.get(&key)).await;
    match got {
        Ok(Ok(Some(data))) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                // A tile's path names its content forever, partial tiles included.
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            data,
        )
            .into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, 5, format!("{} does not exist", id.path())),
        Ok(Err(e)) => {
            tracing::error!(error = %e, tile = %id, "reading a tile failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, "reading the tile failed".into())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e.to_string()),
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(100).collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexAnswer {
    digest: String,
    tree_size: String,
    checkpoint: String,
    entries: Vec<TransparencyLogEntry>,
    /// More entries follow: fetch `?after=<next>`.
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Entry `index` with its inclusion proof against `published`, and its body. Blocking.
fn proven(
    log: &Log,
    log_id: &[u8; 32],
    published: &Published,
    index: u64,
) -> Result<(TransparencyLogEntry, Vec<u8>), String> {
    let tiles = log.stores().tiles.as_ref();
    let body =
        crate::check::read_entry(tiles, log.config().format, index, published.size).map_err(|e| e.to_string())?;
    let proof = published.inclusion_proof(index, tiles).map_err(|e| e.to_string())?;
    let entry = TransparencyLogEntry::hashedrekord(
        log_id,
        index,
        &body,
        published.size,
        &published.root,
        &proof,
        &published.checkpoint,
    );
    Ok((entry, body))
}

/// Runs a blocking lookup (it reads tiles) off the async runtime and answers it as JSON. A
/// failure is logged and answered as a `500` naming only `what`: paths and errno are for the
/// operator, not for clients.
pub async fn answer_blocking<T: Serialize + Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Response {
    answer_found(what, String::new(), move || f().map(Some)).await
}

/// [`answer_blocking`] for a lookup of one thing, where `Ok(None)` is a JSON `404` saying `missing`.
pub async fn answer_found<T: Serialize + Send + 'static>(
    what: &'static str,
    missing: String,
    f: impl FnOnce() -> Result<Option<T>, String> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(Some(a))) => axum::Json(a).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, 5, missing),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "{what} failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, format!("{what} failed"))
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e.to_string()),
    }
}

/// The answer to a path segment that should have been a log index.
fn bad_index(segment: &str) -> Response {
    error(StatusCode::BAD_REQUEST, 3, format!("not a log index: {:?}", truncated(segment)))
}

fn bad_digest(digest: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        3,
        format!("expected sha256:<64 hex digits> (or sha384, sha512), got {:?}", truncated(digest)),
    )
}

async fn index(
    State(app): State<App>,
    Path(digest): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Some(key) = rekor::parse_digest_key(&digest) else { return bad_digest(&digest) };
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return bad_query(e),
    };
    answer_blocking("index lookup", move || {
        let (indices, next) = page_of(&app.log, &key, &query)?;
        // After the lookup, which returns only entries an earlier checkpoint covers: taken
        // before, a batch landing in between could hand it an entry beyond this tree.
        let published = app.log.latest();
        let entries = indices
            .into_iter()
            .map(|i| proven(&app.log, &app.log_id, &published, i).map(|(entry, _)| entry))
            .collect::<Result<_, _>>()?;
        Ok(IndexAnswer {
            digest: rekor::display_key(&key),
            tree_size: published.size.to_string(),
            checkpoint: published.checkpoint.to_string(),
            entries,
            truncated: next.is_some(),
            next: next.map(|n| n.to_string()),
        })
    })
    .await
}

/// `GET /api/v1/log/entries/<index>`: one entry, proven against the newest checkpoint, for
/// browsing the log by position (a monitor or the log explorer) rather than by content.
async fn entry_by_index(State(app): State<App>, Path(segment): Path<String>) -> Response {
    let Ok(index) = segment.parse::<u64>() else { return bad_index(&segment) };
    answer_found("reading the entry", format!("entry {index} is not in the log"), move || {
        let published = app.log.latest();
        if index >= published.size {
            return Ok(None);
        }
        proven(&app.log, &app.log_id, &published, index).map(|(entry, _)| Some(entry))
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    digest: String,
    log_indices: Vec<String>,
}

async fn add_statement(State(app): State<App>, client: ClientAddr, body: Result<Bytes, BytesRejection>) -> Response {
    if let Err(refused) = app.limits.statements.check(&client) {
        return refused.into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => return error(e.status(), 3, e.body_text()),
    };
    let (log, limits) = (app.log.clone(), app.limits.clone());
    match tokio::task::spawn_blocking(move || statements::accept(&log, &limits.store, &body)).await {
        Ok(Ok(accepted)) => (
            StatusCode::CREATED,
            axum::Json(Accepted {
                digest: format!("sha256:{}", Hash(accepted.pae_sha256).to_hex()),
                log_indices: accepted.indices.iter().map(u64::to_string).collect(),
            }),
        )
            .into_response(),
        Ok(Err(e @ StatementError::TooLarge(_))) => error(StatusCode::PAYLOAD_TOO_LARGE, 3, e.to_string()),
        Ok(Err(e @ (StatementError::Malformed(_) | StatementError::NotInToto(_)))) => {
            error(StatusCode::BAD_REQUEST, 3, e.to_string())
        }
        Ok(Err(e @ StatementError::NotLogged(_))) => error(StatusCode::BAD_REQUEST, 9, e.to_string()),
        Ok(Err(StatementError::Quota(refused))) => refused.into_response(),
        Ok(Err(e @ (StatementError::Storage(_) | StatementError::Tiles(_)))) => {
            tracing::error!(error = %e, "storing a statement failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 13, "storing the statement failed".into())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e.to_string()),
    }
}

/// A statement with the entry that signs it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedStatement {
    log_entry: TransparencyLogEntry,
    statement: StoredStatement,
}

/// Entry `index` and the statement it signs, if the store has one. Blocking.
fn signed_statement(app: &App, published: &Published, index: u64) -> Result<Option<SignedStatement>, String> {
    let (log_entry, body) = proven(&app.log, &app.log_id, published, index)?;
    let statement = statements::for_entry(&app.log, &body).map_err(|e| e.to_string())?;
    Ok(statement.map(|statement| SignedStatement { log_entry, statement }))
}

async fn statement_for_entry(State(app): State<App>, Path(segment): Path<String>) -> Response {
    let Ok(index) = segment.parse::<u64>() else { return bad_index(&segment) };
    answer_found("reading the statement", format!("no statement is kept for entry {index}"), move || {
        let published = app.log.latest();
        if index >= published.size {
            return Ok(None);
        }
        signed_statement(&app, &published, index).map_err(|e| format!("entry {index}: {e}"))
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatementsAnswer {
    subject: String,
    tree_size: String,
    checkpoint: String,
    entries: Vec<SignedStatement>,
    /// More statements follow: fetch `?after=<next>`.
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

async fn statements_about(
    State(app): State<App>,
    Path(digest): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let key = match rekor::parse_digest_key(&digest) {
        Some(key) if key.starts_with(b"sha256:") => key,
        _ => return bad_digest(&digest),
    };
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return bad_query(e),
    };
    answer_blocking("statement lookup", move || {
        let subject = statements::subject_key(&key[b"sha256:".len()..]);
        let (indices, next) = page_of(&app.log, &subject, &query)?;
        let published = app.log.latest(); // after the lookup, as in `index`
        let mut entries = Vec::with_capacity(indices.len());
        for i in indices {
            entries.extend(signed_statement(&app, &published, i)?);
        }
        Ok(StatementsAnswer {
            subject: rekor::display_key(&key),
            tree_size: published.size.to_string(),
            checkpoint: published.checkpoint.to_string(),
            entries,
            truncated: next.is_some(),
            next: next.map(|n| n.to_string()),
        })
    })
    .await
}

async fn metrics(State(app): State<App>) -> Response {
    serve_metrics(&app.log)
}

/// The log's metrics in Prometheus text format, with the process's rate-limit refusals.
pub fn serve_metrics(log: &Log) -> Response {
    let text = sig_share_limits::with_refusals(&log.metrics().encode());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    status: &'static str,
    tree_size: u64,
    pool_depth: usize,
}

async fn health(State(app): State<App>) -> Response {
    let healthy = app.log.healthy();
    let body = Health {
        status: if healthy { "ok" } else { "recovering" },
        tree_size: app.log.latest().size,
        pool_depth: app.log.pool_depth(),
    };
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}
