//! The embedded [`StateStore`]: one redb database file holding the tree head, the deduplication
//! table and the digest index, all changed in one durable transaction per batch.

use std::path::Path;

use redb::{Database, MultimapTableDefinition, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};
use sig_share_tlog::Hash;

use crate::storage::{Commit, StateStore, StorageError, TreeHead};

const HEAD: TableDefinition<&str, &[u8]> = TableDefinition::new("head");
const DEDUP: TableDefinition<[u8; 32], u64> = TableDefinition::new("dedup");
const INDEX: MultimapTableDefinition<&[u8], u64> = MultimapTableDefinition::new("index");
const HEAD_KEY: &str = "head";

/// A [`StateStore`] in a redb database.
#[derive(Debug)]
pub struct RedbStateStore {
    db: Db,
}

enum Db {
    Writable(Database),
    /// For inspecting a log another process is running (`log check`).
    ReadOnly(ReadOnlyDatabase),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if matches!(self, Db::Writable(_)) { "Db::Writable" } else { "Db::ReadOnly" })
    }
}

impl Db {
    fn begin_read(&self) -> Result<redb::ReadTransaction, StorageError> {
        match self {
            Db::Writable(db) => db.begin_read(),
            Db::ReadOnly(db) => db.begin_read(),
        }
        .map_err(db_err)
    }
}

fn db_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Database(e.to_string())
}

impl RedbStateStore {
    /// Opens or creates the database file.
    pub fn open(path: &Path) -> Result<RedbStateStore, StorageError> {
        let db = Database::create(path).map_err(db_err)?;
        // Create the tables up front so readers never see them missing.
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(HEAD).map_err(db_err)?;
        tx.open_table(DEDUP).map_err(db_err)?;
        tx.open_multimap_table(INDEX).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(RedbStateStore { db: Db::Writable(db) })
    }

    /// Opens an existing database for reading only. `Ok(None)` when a running log holds it.
    pub fn open_read_only(path: &Path) -> Result<Option<RedbStateStore>, StorageError> {
        match ReadOnlyDatabase::open(path) {
            Ok(db) => Ok(Some(RedbStateStore { db: Db::ReadOnly(db) })),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => Ok(None),
            Err(e) => Err(db_err(e)),
        }
    }
}

impl StateStore for RedbStateStore {
    fn head(&self) -> Result<Option<TreeHead>, StorageError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(HEAD).map_err(db_err)?;
        match table.get(HEAD_KEY).map_err(db_err)? {
            Some(v) => Ok(Some(TreeHead::decode(v.value())?)),
            None => Ok(None),
        }
    }

    fn commit(&self, expected: Option<u64>, commit: &Commit<'_>) -> Result<(), StorageError> {
        let Db::Writable(db) = &self.db else {
            return Err(StorageError::Database("the state database is open read-only".into()));
        };
        let tx = db.begin_write().map_err(db_err)?;
        {
            let mut head = tx.open_table(HEAD).map_err(db_err)?;
            let found = match head.get(HEAD_KEY).map_err(db_err)? {
                Some(v) => Some(TreeHead::decode(v.value())?.size),
                None => None,
            };
            if found != expected {
                return Err(StorageError::Conflict { expected, found });
            }
            head.insert(HEAD_KEY, commit.head.encode().as_slice()).map_err(db_err)?;
            let mut dedup = tx.open_table(DEDUP).map_err(db_err)?;
            for (leaf, index) in commit.leaves {
                dedup.insert(leaf.0, index).map_err(db_err)?;
            }
            let mut by_key = tx.open_multimap_table(INDEX).map_err(db_err)?;
            for (key, index) in commit.index {
                by_key.insert(key.as_slice(), index).map_err(db_err)?;
            }
        }
        // redb's default durability is Immediate: commit returns once the data is on disk.
        tx.commit().map_err(db_err)
    }

    fn dedup(&self, leaf: &Hash) -> Result<Option<u64>, StorageError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(DEDUP).map_err(db_err)?;
        Ok(table.get(leaf.0).map_err(db_err)?.map(|v| v.value()))
    }

    fn lookup(&self, key: &[u8], limit: usize) -> Result<Vec<u64>, StorageError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_multimap_table(INDEX).map_err(db_err)?;
        let mut out = Vec::new();
        for v in table.get(key).map_err(db_err)?.take(limit) {
            out.push(v.map_err(db_err)?.value());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_compare_and_swap_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let s = RedbStateStore::open(&path).unwrap();
        assert_eq!(s.head().unwrap(), None);
        let h1 = TreeHead { size: 2, root: Hash::leaf(b"r"), checkpoint: b"cp".to_vec() };
        let leaves = [(Hash::leaf(b"a"), 0), (Hash::leaf(b"b"), 1)];
        let index = [(b"sha256:aa".to_vec(), 1), (b"sha256:aa".to_vec(), 0)];
        s.commit(None, &Commit { head: &h1, leaves: &leaves, index: &index }).unwrap();
        let stale = s.commit(None, &Commit { head: &h1, leaves: &[], index: &[] });
        assert!(matches!(stale, Err(StorageError::Conflict { expected: None, found: Some(2) })));
        drop(s);
        let s = RedbStateStore::open(&path).unwrap();
        assert_eq!(s.head().unwrap(), Some(h1));
        assert_eq!(s.dedup(&Hash::leaf(b"b")).unwrap(), Some(1));
        assert_eq!(s.dedup(&Hash::leaf(b"c")).unwrap(), None);
        assert_eq!(s.lookup(b"sha256:aa", 10).unwrap(), vec![0, 1]);
        assert_eq!(s.lookup(b"sha256:aa", 1).unwrap(), vec![0]);
        assert!(s.lookup(b"sha256:bb", 10).unwrap().is_empty());
    }
}
