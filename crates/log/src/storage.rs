//! The two narrow storage interfaces, split by how much consistency each needs (as in Sunlight).
//!
//! - [`ObjectStore`] keeps immutable objects: tiles, entry bundles, the staged batch. It only has to
//!   be durable; a misbehaving one can make the log unavailable, never inconsistent, because every
//!   object is checked against a signed root before it is trusted.
//! - [`StateStore`] keeps the one mutable thing, the tree head, with compare-and-swap, together with
//!   the deduplication table and the digest index, all updated in the same transaction. Whoever
//!   controls it can fork the log (a split view), so it must be strongly consistent.

use std::io;

use sig_share_tlog::Hash;

/// A storage failure. The log treats every one as "the operation may or may not have happened"
/// and recovers from what is durably stored.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The embedded database failed.
    #[error("state database: {0}")]
    Database(String),
    /// The compare-and-swap of the tree head found a head other than the expected one: another
    /// writer, or a rollback of the state store.
    #[error("tree head moved: expected size {expected:?}, found {found:?}")]
    Conflict {
        /// The size the writer started from.
        expected: Option<u64>,
        /// The size found.
        found: Option<u64>,
    },
    /// Stored data that cannot be right.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
    /// A fault injected by a test.
    #[error("injected fault at {0}")]
    Injected(String),
}

impl StorageError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> StorageError {
        StorageError::Io { context: context.into(), source }
    }
}

/// Immutable objects. "When `put` returns, the object is durably stored" (Sunlight's contract);
/// `put` of a key that exists replaces it atomically, which only ever happens with equal content
/// for tiles, and for the single staging key.
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores an object durably.
    fn put(&self, key: &str, data: &[u8]) -> Result<(), StorageError>;

    /// Stores several objects durably; implementations may batch the syncs.
    fn put_many(&self, objects: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        for (k, v) in objects {
            self.put(k, v)?;
        }
        Ok(())
    }

    /// Reads an object, `None` if absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
}

/// The signed tree head as the state store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed checkpoint note for this size and root.
    pub checkpoint: Vec<u8>,
}

impl TreeHead {
    /// Serialises the head: size, root, checkpoint.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.checkpoint.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.root.0);
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Reads a head written by [`TreeHead::encode`].
    pub fn decode(data: &[u8]) -> Result<TreeHead, StorageError> {
        if data.len() < 40 {
            return Err(StorageError::Corrupt("tree head record is truncated".into()));
        }
        Ok(TreeHead {
            size: u64::from_be_bytes(data[..8].try_into().expect("8 bytes")),
            root: Hash(data[8..40].try_into().expect("32 bytes")),
            checkpoint: data[40..].to_vec(),
        })
    }
}

/// An entry filed under its key: what deduplication and lookup by content read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// What the entry is about, e.g. `sha256:` and the artifact's digest (1 to 255 bytes).
    pub key: Vec<u8>,
    /// The entry's leaf hash.
    pub leaf: Hash,
    /// The entry's index.
    pub index: u64,
}

/// Which part of a key's entries a lookup reads: those after one index and before another
/// (both exclusive), so a reader pages through them in log order with the last index it saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub after: Option<u64>,
    pub before: Option<u64>,
}

/// The most bytes in a [`Filed::key`].
pub const MAX_KEY_LEN: usize = 255;

/// Everything one batch changes in the state store, applied atomically.
#[derive(Debug)]
pub struct Commit<'a> {
    /// The new head.
    pub head: &'a TreeHead,
    /// The batch's entries, filed under their keys.
    pub filed: &'a [Filed],
}

/// The mutable state: the tree head (compare-and-swap) and the entries filed by key, which serve
/// both deduplication (key and leaf hash) and lookup by content (key alone). One record per entry
/// keeps the per-entry cost of a commit to a single B-tree insert.
pub trait StateStore: Send + Sync + 'static {
    /// The current head, `None` for a log never started.
    fn head(&self) -> Result<Option<TreeHead>, StorageError>;

    /// Atomically: checks that the current head's size is `expected` (`None`: no head yet),
    /// then writes the new head and files the batch's entries. Durable when it returns `Ok`; on
    /// `Err` the commit may or may not have happened.
    fn commit(&self, expected: Option<u64>, commit: &Commit<'_>) -> Result<(), StorageError>;

    /// The index of the entry filed under `key` with this leaf hash, if logged.
    fn find(&self, key: &[u8], leaf: &Hash) -> Result<Option<u64>, StorageError>;

    /// Up to `limit` indices of entries filed under `key` within `page`, in increasing order.
    fn lookup_page(&self, key: &[u8], page: Page, limit: usize) -> Result<Vec<u64>, StorageError>;

    /// The first `limit` indices of entries filed under `key`, in increasing order.
    fn lookup(&self, key: &[u8], limit: usize) -> Result<Vec<u64>, StorageError> {
        self.lookup_page(key, Page::default(), limit)
    }

    /// Files entries already committed under more keys (a logged statement under its subjects'
    /// digests), durably. Filing a record twice is harmless.
    fn file(&self, filed: &[Filed]) -> Result<(), StorageError>;

    /// [`StateStore::find`] for many entries at once; stores may answer from one snapshot.
    fn find_many(&self, queries: &[(Vec<u8>, Hash)]) -> Result<Vec<Option<u64>>, StorageError> {
        queries.iter().map(|(k, leaf)| self.find(k, leaf)).collect()
    }
}
