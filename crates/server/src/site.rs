//! The verification page: `/` and its script and style (in the binary, from `web/`), and the
//! WebAssembly verifier built by `scripts/build-web` (`crates/web`), served from a directory
//! because it is built for another target than the server. Without that directory the page
//! still loads and says that its verifier is missing.
//!
//! The verifier module and its loader are served with `Access-Control-Allow-Origin: *`: the
//! embeddable badge loads them into pages of other origins.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("../../../web/index.html");
const APP_JS: &str = include_str!("../../../web/app.js");
const STYLE_CSS: &str = include_str!("../../../web/style.css");
const EXPLORER_HTML: &str = include_str!("../../../web/explorer.html");
const EXPLORER_JS: &str = include_str!("../../../web/explorer.js");
const LOG_JS: &str = include_str!("../../../web/log.js");
const BADGE_JS: &str = include_str!("../../../web/badge.js");
const VERIFIER_WORKER_JS: &str = include_str!("../../../web/verifier-worker.js");

/// The files of the built verifier the page may load, with their types.
const PKG_FILES: [(&str, &str); 2] =
    [("sig_share_web.js", "text/javascript; charset=utf-8"), ("sig_share_web_bg.wasm", "application/wasm")];

/// Where `scripts/build-web` puts the verifier when none is named: `web/pkg` in this checkout.
pub fn default_pkg_dir() -> PathBuf {
    std::env::var_os("SIG_SHARE_WEB_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/pkg")))
}

/// The page's routes, with the built verifier read from `pkg_dir`.
pub fn routes(pkg_dir: PathBuf) -> Router {
    Router::new()
        .route("/", get(|| async { html(INDEX_HTML) }))
        .route("/web/app.js", get(|| async { page(APP_JS, "text/javascript; charset=utf-8") }))
        .route("/web/style.css", get(|| async { page(STYLE_CSS, "text/css; charset=utf-8") }))
        .route("/explorer", get(|| async { html(EXPLORER_HTML) }))
        .route("/web/explorer.js", get(|| async { page(EXPLORER_JS, "text/javascript; charset=utf-8") }))
        .route("/web/log.js", get(|| async { page(LOG_JS, "text/javascript; charset=utf-8") }))
        .route("/web/badge.js", get(|| async { badge_js() }))
        // The worker the page and the badge run the verifier in: the badge starts it from pages
        // of any origin, so it is served as the badge is.
        .route(
            "/web/verifier-worker.js",
            get(|| async { cross_origin(page(VERIFIER_WORKER_JS, "text/javascript; charset=utf-8")) }),
        )
        .route("/web/pkg/{file}", get(pkg_file))
        .with_state(Arc::new(pkg_dir))
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// A page of the site: never framed by another page (clickjacking), by CSP for browsers of now
/// and X-Frame-Options for older ones. The badge (a script, not a page) stays embeddable.
fn html(body: &'static str) -> Response {
    let mut response = page(body, "text/html; charset=utf-8");
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The embeddable badge (`web/badge.js`): a module script that pages of any origin load, so
/// with `Access-Control-Allow-Origin: *`.
fn badge_js() -> Response {
    cross_origin(page(BADGE_JS, "text/javascript; charset=utf-8"))
}

/// `response` with `Access-Control-Allow-Origin: *`, for a script pages of any origin load.
fn cross_origin(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// A file of the built verifier, brotli- or gzip-compressed when the client takes it and the
/// build made a `.br` or `.gz` beside it.
async fn pkg_file(State(dir): State<Arc<PathBuf>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((name, content_type)) = PKG_FILES.iter().find(|(n, _)| *n == name) else {
        return sig_share_log::http::error(StatusCode::NOT_FOUND, 5, "no such file of the verifier".into());
    };
    let accepts = |coding: &str| {
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some(coding)))
    };
    let (path, encoding) = [("br", "br"), ("gzip", "gz")]
        .iter()
        .map(|(coding, ext)| (*coding, dir.join(format!("{name}.{ext}"))))
        .find(|(coding, path)| accepts(coding) && path.is_file())
        .map_or_else(|| (dir.join(name), None), |(coding, path)| (path, Some(coding)));
    match tokio::task::spawn_blocking(move || std::fs::read(&path))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if let Some(coding) = encoding {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            }
            response
        }
        Err(_) => sig_share_log::http::error(
            StatusCode::NOT_FOUND,
            5,
            format!("the page's verifier is not built here ({name}): run scripts/build-web"),
        ),
    }
}
