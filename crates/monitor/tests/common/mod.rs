//! Logs made in this process, served on loopback, for the monitor to follow.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use sig_share_log::embedded::DataDir;
use sig_share_log::{Log, LogConfig, NewEntry};
use sig_share_monitor::event::Collect;
use sig_share_monitor::{Config, Event, LogKey, LogTarget, Outcome, Source};
use sig_share_tlog::Ed25519Signer;
use tower::ServiceExt;

pub const ORIGIN: &str = "monitor.test.example";

/// The log's key: every copy of a data directory signs with it.
pub fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, &[7; 32]).unwrap()
}

/// A log in a data directory, laid out as `sig-share log serve` keeps it.
pub struct TestLog {
    pub dir: PathBuf,
    pub log: Log,
}

impl TestLog {
    pub fn open(dir: &Path) -> TestLog {
        let stores = DataDir::new(dir).open_stores().unwrap();
        let log = Log::open(LogConfig::new(ORIGIN), signer(), stores).unwrap();
        TestLog { dir: dir.to_owned(), log }
    }

    /// Appends `n` distinct entries (`tag` tells copies apart) in batches of `batch`, each
    /// batch one checkpoint.
    pub async fn append(&self, tag: &str, n: usize, batch: usize) {
        let size = self.log.latest().size as usize;
        for start in (0..n).step_by(batch) {
            let count = batch.min(n - start);
            let tasks: Vec<_> = (start..start + count)
                .map(|i| {
                    let log = self.log.clone();
                    let data = format!("{{\"entry\":\"{tag}\",\"i\":{}}}", size + i).into_bytes();
                    let key = format!("{tag}:{}", size + i).into_bytes();
                    tokio::spawn(async move { log.submit(NewEntry::new(data, key)).await })
                })
                .collect();
            while self.log.pool_depth() < count {
                tokio::task::yield_now().await;
            }
            self.log.sequence().await.unwrap();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        }
    }

    pub fn size(&self) -> u64 {
        self.log.latest().size
    }

    /// A file of the published tile store.
    pub fn tile_path(&self, tile: &str) -> PathBuf {
        self.dir.join("log").join(tile)
    }
}

/// A loopback server whose routes can be swapped while it runs (the same URL serving another
/// copy of a log), recording every path asked for.
pub struct Server {
    pub url: String,
    app: Arc<RwLock<Router>>,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub async fn start(router: Router) -> Server {
        let app = Arc::new(RwLock::new(router));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (a, r) = (app.clone(), requests.clone());
        let front = Router::new().fallback(move |req: Request| {
            let router = a.read().unwrap().clone();
            r.lock().unwrap().push(req.uri().path().to_owned());
            async move { router.oneshot(req).await.map_or_else(|e| match e {}, IntoResponse::into_response) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, front).await.unwrap() });
        Server { url, app, requests }
    }

    /// Serves `router` from now on.
    pub fn serve(&self, router: Router) {
        *self.app.write().unwrap() = router;
    }

    /// The paths asked for since the last call.
    pub fn take_requests(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

/// The log's HTTP API (tiles under `/api/v2/`).
pub fn router(log: &TestLog) -> Router {
    sig_share_log::http::router(log.log.clone())
}

/// A monitor of the transparency log at `url` with the test key, its state in `state`.
pub fn config(state: &Path, url: &str) -> Config {
    let mut config = Config::new(state);
    config.tlog = Some(LogTarget {
        source: Source::http(&format!("{url}/api/v2"), std::time::Duration::from_secs(10)).unwrap(),
        key: LogKey::Vkey(signer().verifier()),
    });
    config
}

/// One run: how it went and what it reported.
pub async fn run(config: &Config) -> (Outcome, Vec<Event>) {
    let mut events = Collect::default();
    let outcome = sig_share_monitor::run_once(config, &mut events).await;
    for e in &events.0 {
        eprintln!("{e}");
    }
    (outcome, events.0)
}

/// The `checkpoint` events of a run: (size, previous size, new entries).
pub fn checkpoints(events: &[Event]) -> Vec<(u64, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Checkpoint { size, previous_size, new_entries, .. } => Some((*size, *previous_size, *new_entries)),
            _ => None,
        })
        .collect()
}

/// A response served in place of the log's for one path.
pub fn respond(status: u16, body: Vec<u8>) -> Response {
    (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response()
}
