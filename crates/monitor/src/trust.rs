//! The logs a trusted root names, as the monitor follows them: the transparency log at its
//! `baseUrl` (tlog-tiles under `<baseUrl>/api/v2/`, as rekor-tiles serves them) with its Ed25519
//! checkpoint key, and the certificate log at its `baseUrl` (the static-ct-api prefix) with its
//! ECDSA key.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sig_share_verify::tlog::ED25519_SPKI_PREFIX;
use sig_share_verify::trust::{TransparencyLog, TrustedRoot};

use crate::fetch::Source;
use crate::follow::LogKey;

/// Where a Rekor v2 log serves its tiles, under its URL.
pub const TLOG_TILES_PATH: &str = "/api/v2";

/// The tile prefix of the transparency log at `url`, or the directory of a `file:` URL.
pub fn tlog_source(url: &str, timeout: Duration) -> Result<Source, String> {
    match local_dir(url) {
        Some(dir) => Ok(Source::dir(dir)),
        None => {
            Source::http(&format!("{}{TLOG_TILES_PATH}", url.trim_end_matches('/')), timeout).map_err(|e| e.to_string())
        }
    }
}

/// The static-ct-api prefix of the certificate log at `url`, or the directory of a `file:` URL.
pub fn ctlog_source(url: &str, timeout: Duration) -> Result<Source, String> {
    match local_dir(url) {
        Some(dir) => Ok(Source::dir(dir)),
        None => Source::http(url, timeout).map_err(|e| e.to_string()),
    }
}

/// The directory a `file:` URL names (`file:///abs/dir`, `file:rel/dir`).
fn local_dir(url: &str) -> Option<&str> {
    url.strip_prefix("file://").or_else(|| url.strip_prefix("file:"))
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The checkpoint key of the transparency log at `url` (or the root's first, without one).
pub fn tlog_key(root: &TrustedRoot, url: Option<&str>) -> Result<(String, LogKey), String> {
    let log = find(&root.tlogs, url, "transparency log")?;
    let spki = BASE64.decode(&log.public_key.raw_bytes).map_err(|e| format!("the log's key is not base64: {e}"))?;
    let key: [u8; 32] = spki
        .strip_prefix(&ED25519_SPKI_PREFIX[..])
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| format!("the log's key is {}, not an Ed25519 checkpoint key", log.public_key.key_details))?;
    let log_id = BASE64.decode(&log.log_id.key_id).map_err(|e| format!("the log ID is not base64: {e}"))?;
    let log_id: [u8; 32] = log_id.try_into().map_err(|_| "the log ID is not 32 bytes".to_owned())?;
    Ok((log.base_url.clone(), LogKey::Ed25519 { key, log_id }))
}

/// The key of the certificate log at `url` (or the root's first, without one).
pub fn ctlog_key(root: &TrustedRoot, url: Option<&str>) -> Result<(String, LogKey), String> {
    let log = find(&root.ctlogs, url, "certificate log")?;
    if log.public_key.key_details != "PKIX_ECDSA_P256_SHA_256" {
        return Err(format!("the certificate log's key is {}, not ECDSA P-256", log.public_key.key_details));
    }
    let spki = BASE64
        .decode(&log.public_key.raw_bytes)
        .map_err(|e| format!("the certificate log's key is not base64: {e}"))?;
    Ok((log.base_url.clone(), LogKey::Rfc6962 { spki }))
}

fn find<'r>(logs: &'r [TransparencyLog], url: Option<&str>, what: &str) -> Result<&'r TransparencyLog, String> {
    match url {
        Some(url) => logs
            .iter()
            .find(|l| same_url(&l.base_url, url))
            .ok_or_else(|| format!("the trust config names no {what} at {url}: give its key")),
        None => logs.first().ok_or_else(|| format!("the trust config names no {what}")),
    }
}
