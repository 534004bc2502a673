//! The embedded default: a whole log in one data directory.
//!
//! ```text
//! DATA/
//!   log/            the tlog-tiles tree (checkpoint, tile/…): publish it with any static server;
//!                   statements/ holds the statements entries sign (see `statements`)
//!   log.pub         the log's public key as a note verifier key (origin+keyid+key)
//!   state/
//!     state.redb    tree head, deduplication, digest index
//!     staging/      the batch being committed
//!     log.key       the log's private key (PRIVATE+KEY+…, mode 0600)
//!   tmp/            temporaries, renamed into log/ and state/ (same filesystem)
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sig_share_tlog::{Ed25519Signer, Ed25519Verifier};

use crate::fs::FsObjectStore;
use crate::log::Stores;
use crate::state::RedbStateStore;
use crate::storage::StorageError;

/// A log's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root` (not created until opened).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The published tlog-tiles tree.
    pub fn tiles_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    fn state_file(&self) -> PathBuf {
        self.root.join("state").join("state.redb")
    }

    fn key_file(&self) -> PathBuf {
        self.root.join("state").join("log.key")
    }

    fn vkey_file(&self) -> PathBuf {
        self.root.join("log.pub")
    }

    /// Whether a log has been created here.
    pub fn exists(&self) -> bool {
        self.state_file().exists()
    }

    /// Opens (creating if needed) the stores for a running log.
    pub fn open_stores(&self) -> Result<Stores, StorageError> {
        let tmp = self.root.join("tmp");
        let tiles = FsObjectStore::open(self.tiles_dir(), &tmp)?;
        let staging = FsObjectStore::open(self.root.join("state").join("staging"), &tmp)?;
        let state = RedbStateStore::open(&self.state_file())?;
        Ok(Stores { tiles: Arc::new(tiles), staging: Arc::new(staging), state: Arc::new(state) })
    }

    /// Opens the tile store and the state read-only, for checking. The state is `None` while a
    /// running log holds it: then only the published tiles can be checked.
    pub fn open_for_check(&self) -> Result<(FsObjectStore, Option<RedbStateStore>), StorageError> {
        if !self.exists() {
            return Err(StorageError::Corrupt(format!("{} holds no log (no state/state.redb)", self.root.display())));
        }
        let tiles = FsObjectStore::open(self.tiles_dir(), self.root.join("tmp-check"))?;
        let state = RedbStateStore::open_existing(&self.state_file())?;
        Ok((tiles, state))
    }

    /// The log's signing key, created on first use with `origin` as its name. An existing key
    /// with another name is an error: the origin is part of the log's identity.
    pub fn signer(&self, origin: &str) -> Result<Ed25519Signer, String> {
        let path = self.key_file();
        if path.exists() {
            let text = fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            let signer = Ed25519Signer::from_skey(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            if signer.name() != origin {
                return Err(format!(
                    "{} holds the log with origin {:?}, not {origin:?}; use --origin {:?} or another data directory",
                    self.root.display(),
                    signer.name(),
                    signer.name()
                ));
            }
            return Ok(signer);
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| format!("no randomness for a new key: {e}"))?;
        let signer = Ed25519Signer::from_seed(origin, &seed).map_err(|e| format!("origin {origin:?}: {e}"))?;
        fs::create_dir_all(path.parent().expect("key file has a parent")).map_err(|e| e.to_string())?;
        write_private(&path, signer.skey().as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))?;
        let vkey = format!("{}\n", signer.verifier().vkey());
        fs::write(self.vkey_file(), vkey).map_err(|e| format!("writing {}: {e}", self.vkey_file().display()))?;
        tracing::info!(key = %path.display(), vkey = %signer.verifier().vkey(), "created a new log key");
        Ok(signer)
    }

    /// The log's public key, from `log.pub`.
    pub fn verifier(&self) -> Result<Ed25519Verifier, String> {
        let path = self.vkey_file();
        let text = fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        Ed25519Verifier::from_vkey(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Writes a new file only its owner can read, durably; for private keys.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::File::open(path.parent().expect("has a parent"))?.sync_all()
}
