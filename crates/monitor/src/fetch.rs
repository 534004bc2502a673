//! Reading what a log publishes: over HTTP from its tlog-tiles (or static-ct-api) prefix, or from
//! a local copy of its tile store.
//!
//! Every byte fetched is hostile until checked against a signed checkpoint. Each answer has a
//! size limit (checked on the bytes as they arrive, after any gzip decoding, so neither a lying
//! `Content-Length` nor a compression bomb gets past it), each request a timeout, and every
//! error names what was asked of whom. Transient failures (connection errors, 5xx, 429) are
//! retried a few times; a 404 is an answer, not a failure.

use std::path::PathBuf;
use std::time::Duration;

use sig_share_tlog::hash::HASH_SIZE;
use sig_share_tlog::tile::{self, BundleFormat, TILE_WIDTH, TileId, TileKind};

/// The largest checkpoint read: a signed note's own limit.
pub const MAX_CHECKPOINT_BYTES: usize = sig_share_tlog::note::MAX_NOTE_SIZE;
/// The largest tlog-tiles entry bundle: 256 entries of the largest size a `u16` length allows.
pub const MAX_BUNDLE_BYTES: usize = TILE_WIDTH as usize * (2 + tile::MAX_ENTRY_SIZE);
/// The largest static-ct-api data tile read. Its leaves have 24-bit lengths, so the format
/// allows gigabytes; real certificates are a few kilobytes, 256 of them well under a megabyte.
pub const MAX_DATA_TILE_BYTES: usize = 32 << 20;
/// How long one request may take, connection included, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries per request when the failure may be transient.
const ATTEMPTS: u32 = 3;

/// Why something could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No answer: connection refused, timeout, a broken transfer.
    #[error("{url} could not be read: {reason}")]
    Unreachable {
        /// What was asked for.
        url: String,
        /// Why not.
        reason: String,
    },
    /// An answer that is neither success nor 404.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status code.
        status: u16,
    },
    /// More bytes than anything at that path may hold.
    #[error("{url} is larger than the {limit} bytes it may hold")]
    TooLarge {
        /// What was asked for.
        url: String,
        /// The limit.
        limit: usize,
    },
}

/// Where a log's files are read from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Over HTTP: `<prefix>/checkpoint`, `<prefix>/tile/…`.
    Http {
        /// The prefix, without a trailing slash.
        prefix: String,
        /// The client (timeouts, no redirects).
        client: reqwest::Client,
    },
    /// A directory laid out as the prefix is (a log's `log/` directory, a mirror, a backup).
    Dir {
        /// The directory.
        root: PathBuf,
    },
}

impl Source {
    /// Files under the HTTP(S) `prefix`, each request within `timeout`.
    pub fn http(prefix: &str, timeout: Duration) -> Result<Source, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("sig-share-monitor/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            // A log's files live at fixed paths; a redirect elsewhere is not the log speaking.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Unreachable { url: prefix.to_owned(), reason: chain(&e) })?;
        Ok(Source::Http { prefix: prefix.trim_end_matches('/').to_owned(), client })
    }

    /// Files in the directory `root`.
    pub fn dir(root: impl Into<PathBuf>) -> Source {
        Source::Dir { root: root.into() }
    }

    /// Where `rel` is read from, for messages.
    pub fn locate(&self, rel: &str) -> String {
        match self {
            Source::Http { prefix, .. } => format!("{prefix}/{rel}"),
            Source::Dir { root } => root.join(rel).display().to_string(),
        }
    }

    /// The file at `rel` (a path the caller built: `checkpoint`, a tile path), at most `limit`
    /// bytes; `None` if it does not exist (HTTP 404).
    pub async fn get(&self, rel: &str, limit: usize) -> Result<Option<Vec<u8>>, FetchError> {
        match self {
            Source::Http { prefix, client } => http_get(client, &format!("{prefix}/{rel}"), limit).await,
            Source::Dir { root } => {
                let path = root.join(rel);
                let url = path.display().to_string();
                let unreadable =
                    |e: std::io::Error| FetchError::Unreachable { url: url.clone(), reason: e.to_string() };
                let len = match tokio::fs::metadata(&path).await {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(unreadable(e)),
                };
                if len > limit as u64 {
                    return Err(FetchError::TooLarge { url, limit });
                }
                let data = tokio::fs::read(&path).await.map_err(unreadable)?;
                if data.len() > limit {
                    return Err(FetchError::TooLarge { url, limit });
                }
                Ok(Some(data))
            }
        }
    }

    /// A tile (hash tile, entry bundle or data tile) as it is at its width. A partial tile the
    /// log no longer serves is read from the full tile, cut to the width: tlog-tiles lets logs
    /// delete partial tiles once the full one exists, and lets clients fall back to it.
    pub async fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>, FetchError> {
        let limit = tile_limit(id.kind);
        if let Some(data) = self.get(&id.path(), limit).await? {
            return Ok(Some(data));
        }
        if id.is_full() {
            return Ok(None);
        }
        let full = TileId { width: TILE_WIDTH as u16, ..id };
        let Some(data) = self.get(&full.path(), limit).await? else { return Ok(None) };
        Ok(Some(cut_to_width(id, &data).unwrap_or(data)))
    }
}

/// The most bytes a tile of `kind` may hold.
pub fn tile_limit(kind: TileKind) -> usize {
    match kind {
        TileKind::Hashes(_) => TILE_WIDTH as usize * HASH_SIZE,
        TileKind::Entries => MAX_BUNDLE_BYTES,
        TileKind::Data => MAX_DATA_TILE_BYTES,
    }
}

/// The first `id.width` items of a full tile's bytes, or `None` if they do not parse (the
/// caller then checks the bytes as they are, and refuses them).
fn cut_to_width(id: TileId, full: &[u8]) -> Option<Vec<u8>> {
    let width = usize::from(id.width);
    match id.kind {
        TileKind::Hashes(_) => full.get(..width * HASH_SIZE).map(<[u8]>::to_vec),
        TileKind::Entries | TileKind::Data => {
            let format = if id.kind == TileKind::Entries { BundleFormat::TlogTiles } else { BundleFormat::StaticCt };
            let whole = TileId { width: TILE_WIDTH as u16, ..id };
            let entries = format.split(&whole, full).ok()?;
            let end = entries.get(width - 1).map(|e| e.as_ptr() as usize + e.len() - full.as_ptr() as usize)?;
            Some(full[..end].to_vec())
        }
    }
}

async fn http_get(client: &reqwest::Client, url: &str, limit: usize) -> Result<Option<Vec<u8>>, FetchError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match http_get_once(client, url, limit).await {
            Err(Retry { error, after }) if attempt < ATTEMPTS => {
                tracing::debug!(%url, %error, attempt, "retrying");
                tokio::time::sleep(after.unwrap_or(Duration::from_millis(250 << attempt))).await;
            }
            Err(Retry { error, .. }) => return Err(error),
            Ok(answer) => return answer,
        }
    }
}

/// A failure worth another try, and how long the server asked to wait.
struct Retry {
    error: FetchError,
    after: Option<Duration>,
}

async fn http_get_once(
    client: &reqwest::Client,
    url: &str,
    limit: usize,
) -> Result<Result<Option<Vec<u8>>, FetchError>, Retry> {
    let unreachable = |e: reqwest::Error| Retry {
        error: FetchError::Unreachable { url: url.to_owned(), reason: chain(&e) },
        after: None,
    };
    let mut resp = client.get(url).send().await.map_err(unreachable)?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(Ok(None));
    }
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        // Honour a short Retry-After; a long one is the server saying "not now": give up.
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(10)));
        return Err(Retry { error: FetchError::Status { url: url.to_owned(), status: status.as_u16() }, after });
    }
    if !status.is_success() {
        return Ok(Err(FetchError::Status { url: url.to_owned(), status: status.as_u16() }));
    }
    let too_large = || FetchError::TooLarge { url: url.to_owned(), limit };
    // The declared length is only a hint (it is the compressed length under gzip), but one over
    // the limit is refused before anything is read.
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(Err(too_large()));
    }
    let mut body = Vec::with_capacity(resp.content_length().map_or(0, |n| n as usize).min(limit));
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > limit {
            return Ok(Err(too_large()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(Some(body)))
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_tile_is_cut_from_the_full_one() {
        let hashes: Vec<u8> = (0..=255u8).flat_map(|i| [i; 32]).collect();
        let cut = cut_to_width(TileId::hashes(0, 3, 5), &hashes).unwrap();
        assert_eq!(cut, hashes[..5 * 32]);
        let mut bundle = Vec::new();
        for i in 0..256u32 {
            tile::push_bundle_entry(&mut bundle, format!("entry {i}").as_bytes()).unwrap();
        }
        let cut = cut_to_width(TileId::entries(0, 3), &bundle).unwrap();
        let entries = tile::parse_entry_bundle(&TileId::entries(0, 3), &cut).unwrap();
        assert_eq!(entries, [&b"entry 0"[..], b"entry 1", b"entry 2"]);
        // Not a full bundle: nothing is cut, the caller refuses the bytes as they are.
        assert_eq!(cut_to_width(TileId::entries(0, 3), &bundle[..100]), None);
        assert_eq!(cut_to_width(TileId::hashes(0, 0, 255), &hashes[..64]), None);
    }

    #[tokio::test]
    async fn a_directory_source_reads_files_within_limits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("checkpoint"), b"twelve bytes").unwrap();
        let source = Source::dir(dir.path());
        assert_eq!(source.get("checkpoint", 12).await.unwrap().unwrap(), b"twelve bytes");
        assert!(matches!(source.get("checkpoint", 11).await, Err(FetchError::TooLarge { limit: 11, .. })));
        assert_eq!(source.get("missing", 100).await.unwrap(), None);
    }
}
