//! A time budget for reading a file with `c2pa`, which cannot be cancelled: the read runs on a
//! thread of its own, and when the budget runs out the caller gets [`MediaError::TooSlow`] and
//! goes on (the command line then exits, ending the thread). The structural caps in
//! [`crate::limits`] refuse the known slow shapes at once; the budget is the backstop for any
//! other path in `c2pa` that a crafted file could make slow.
//!
//! The budget is [`BASE_SECONDS`] (or `SIG_SHARE_MEDIA_BUDGET`, in seconds) plus one second per
//! [`MIB_PER_SECOND`] MiB of the file: reading hashes every byte, so a long video needs longer.

use std::path::Path;
use std::time::Duration;

use crate::error::MediaError;
use crate::inspect::{ReadError, Report};
use crate::settings::Anchors;

/// Seconds allowed for a file of ordinary size. A real photo or clip reads in well under a
/// second; a debug build, a slow disk or a busy machine get the rest.
pub const BASE_SECONDS: f64 = 5.0;

/// Extra time for big files: one second per this many MiB (`c2pa` hashes at hundreds of MiB a
/// second; this allows a tenth of that).
pub const MIB_PER_SECOND: u64 = 32;

/// The environment variable that sets the base budget, in seconds.
pub const BUDGET_VARIABLE: &str = "SIG_SHARE_MEDIA_BUDGET";

/// The budget for a file of `size` bytes: the base (from [`BUDGET_VARIABLE`] when it holds a
/// positive number of seconds) and the allowance for size.
pub fn budget_for(size: u64) -> Result<Duration, MediaError> {
    let base = match std::env::var(BUDGET_VARIABLE) {
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
            .ok_or_else(|| MediaError::Internal(format!("{BUDGET_VARIABLE}={text:?} is not a number of seconds")))?,
        Err(_) => BASE_SECONDS,
    };
    Ok(Duration::from_secs_f64(base) + Duration::from_secs(size / (MIB_PER_SECOND * 1024 * 1024)))
}

/// [`crate::read`] within the budget for the file's size (the asset's and its sidecar's).
pub fn read_within_budget(path: &Path, sidecar: Option<&Path>, anchors: Option<&Anchors>) -> Result<Report, ReadError> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    read_within(path, sidecar, anchors, budget_for(size(path) + sidecar.map(size).unwrap_or(0))?)
}

/// [`crate::read`], giving up after `budget`.
pub fn read_within(
    path: &Path,
    sidecar: Option<&Path>,
    anchors: Option<&Anchors>,
    budget: Duration,
) -> Result<Report, ReadError> {
    let (path, sidecar, anchors) = (path.to_path_buf(), sidecar.map(Path::to_path_buf), anchors.cloned());
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let reading = path.clone();
    std::thread::Builder::new()
        .name("c2pa-read".into())
        .spawn(move || {
            // The receiver is gone when the budget ran out: nobody is waiting for the answer.
            let _ = tx.send(crate::inspect::read(&reading, sidecar.as_deref(), anchors.as_ref()));
        })
        .map_err(|e| MediaError::Internal(format!("starting a thread to read the file: {e}")))?;
    match rx.recv_timeout(budget) {
        Ok(answer) => answer,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            Err(MediaError::TooSlow { path, budget: format!("{:.1} s", budget.as_secs_f64()) }.into())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(MediaError::Internal("the thread reading the file stopped without an answer".into()).into())
        }
    }
}
