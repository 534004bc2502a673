//! Where the shared test vectors are: `../shared/vectors` beside the checkout (see its
//! SOURCES.md), or `$SIG_SHARE_VECTORS`. They are read in place, never copied into the project.

use std::path::{Path, PathBuf};

/// The vector folder `sub`, if present. Missing vectors fail the test under CI (`CI=true`) and
/// skip it, loudly, elsewhere.
pub fn vectors(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("SIG_SHARE_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    let dir = base.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("test vectors missing at {} (set SIG_SHARE_VECTORS)", dir.display());
    }
    eprintln!("SKIPPING: test vectors missing at {} (set SIG_SHARE_VECTORS)", dir.display());
    None
}
