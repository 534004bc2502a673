//! Objects as plain files in a directory: the embedded default. The tile directory is exactly the
//! tlog-tiles layout, so any static web server can publish it.
//!
//! Every write is write-to-temporary, fsync, rename, fsync the directory: a crash leaves either the
//! old object or the new one, never a torn file. Temporaries live in a separate directory on the
//! same filesystem, so the published tree never shows them.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::storage::{ObjectStore, StorageError};

/// An [`ObjectStore`] over a directory.
#[derive(Debug)]
pub struct FsObjectStore {
    root: PathBuf,
    tmp: PathBuf,
    counter: AtomicU64,
}

impl FsObjectStore {
    /// Opens (creating if needed) a store rooted at `root`, with temporaries in `tmp`, which must be
    /// on the same filesystem. Leftover temporaries from a crash are removed.
    pub fn open(root: impl Into<PathBuf>, tmp: impl Into<PathBuf>) -> Result<FsObjectStore, StorageError> {
        let (root, tmp) = (root.into(), tmp.into());
        create_dirs(&root)?;
        create_dirs(&tmp)?;
        for e in fs::read_dir(&tmp).map_err(|e| StorageError::io(format!("listing {}", tmp.display()), e))? {
            let e = e.map_err(|e| StorageError::io(format!("listing {}", tmp.display()), e))?;
            let _ = fs::remove_file(e.path());
        }
        Ok(FsObjectStore { root, tmp, counter: AtomicU64::new(0) })
    }

    /// The directory objects live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        let ok = !key.is_empty()
            && key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
        if !ok {
            return Err(StorageError::Corrupt(format!("refusing object key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    /// Writes `data` to a new temporary file and syncs it; returns its path.
    fn write_temp(&self, data: &[u8]) -> Result<PathBuf, StorageError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("{}-{n}", std::process::id()));
        let ctx = || format!("writing {}", tmp.display());
        let mut f = File::create_new(&tmp).map_err(|e| StorageError::io(ctx(), e))?;
        f.write_all(data).map_err(|e| StorageError::io(ctx(), e))?;
        f.sync_all().map_err(|e| StorageError::io(ctx(), e))?;
        Ok(tmp)
    }
}

/// Creates `dir` and any missing parents, syncing each parent that gained an entry so the new
/// directories survive a crash.
fn create_dirs(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(StorageError::io(format!("creating {}", dir.display()), e)),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let ctx = || format!("syncing directory {}", dir.display());
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StorageError::io(ctx(), e))
}

impl ObjectStore for FsObjectStore {
    fn put(&self, key: &str, data: &[u8]) -> Result<(), StorageError> {
        self.put_many(&[(key.to_owned(), data.to_vec())])
    }

    fn put_many(&self, objects: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        // Sync every file first, then rename each into place, then sync each directory once.
        let mut staged = Vec::with_capacity(objects.len());
        for (key, data) in objects {
            let dest = self.path(key)?;
            staged.push((self.write_temp(data)?, dest));
        }
        let mut dirs = BTreeSet::new();
        for (tmp, dest) in staged {
            let dir = dest.parent().expect("object paths have a parent").to_path_buf();
            create_dirs(&dir)?;
            fs::rename(&tmp, &dest).map_err(|e| StorageError::io(format!("renaming into {}", dest.display()), e))?;
            dirs.insert(dir);
        }
        for dir in dirs {
            sync_dir(&dir)?;
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io(format!("reading {}", path.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_are_atomic_files_and_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsObjectStore::open(dir.path().join("log"), dir.path().join("tmp")).unwrap();
        s.put("tile/0/x001/002.p/3", b"abc").unwrap();
        assert_eq!(s.get("tile/0/x001/002.p/3").unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(fs::read(dir.path().join("log/tile/0/x001/002.p/3")).unwrap(), b"abc");
        s.put("tile/0/x001/002.p/3", b"abcd").unwrap();
        assert_eq!(s.get("tile/0/x001/002.p/3").unwrap().as_deref(), Some(&b"abcd"[..]));
        assert_eq!(s.get("tile/1/000").unwrap(), None);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        for bad in ["", "/etc/passwd", "../x", "a//b", "a/./b", "a b", "tile/0/000\0"] {
            assert!(s.put(bad, b"x").is_err(), "{bad:?}");
            assert!(s.get(bad).is_err(), "{bad:?}");
        }
    }
}
