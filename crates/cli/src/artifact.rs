//! The thing being signed or verified: a file, hashed once as it streams by, or a digest given
//! as `sha256:<hex>` (so a verifier need not hold the bytes).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

/// An artifact named on the command line.
#[derive(Debug, Clone)]
pub enum ArtifactArg {
    /// A file to hash.
    File(std::path::PathBuf),
    /// A SHA-256 digest given directly.
    Sha256([u8; 32]),
}

impl ArtifactArg {
    /// Reads `sha256:<64 hex>` as a digest, anything else as a path.
    pub fn parse(text: &str) -> anyhow::Result<ArtifactArg> {
        match text.strip_prefix("sha256:") {
            Some(hex_digest) => {
                let bytes = hex::decode(hex_digest)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .with_context(|| format!("{text:?} is not sha256: followed by 64 hex digits"))?;
                Ok(ArtifactArg::Sha256(bytes))
            }
            None => Ok(ArtifactArg::File(text.into())),
        }
    }
}

/// Files at least this big show hashing progress (when stderr is a terminal).
pub const PROGRESS_FROM: u64 = 64 << 20;

/// SHA-256 of a file, streamed; progress on stderr for big files when a person is watching.
pub fn sha256_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    let show = size >= PROGRESS_FROM && std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let digest = sig_share_sign::sha256_file(path, |done, total| {
        if show && last.elapsed() > Duration::from_millis(200) {
            let percent = (done * 100).checked_div(total).unwrap_or(0);
            eprint!("\rhashing {}: {percent}% of {} MiB", path.display(), total >> 20);
            let _ = std::io::stderr().flush();
            last = Instant::now();
        }
    })
    .with_context(|| format!("reading {}", path.display()))?;
    if show {
        eprintln!("\rhashing {}: done{}", path.display(), " ".repeat(16));
    }
    Ok(digest)
}
