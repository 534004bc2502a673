//! Files the CLI writes (bundles, pinned trust configs): always whole or not at all.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Writes through a temporary file in the same directory (created if missing), synced, then
/// renamed over `path`: a reader never sees half a file, and a failure leaves the old one.
pub fn write_atomically(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(data).with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// [`write_atomically`], readable and writable by the owner only (keys, secrets).
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    write_atomically(path, data)?;
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    Ok(())
}
