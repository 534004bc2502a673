//! The embedded [`StateStore`]: one redb database file holding the tree head, the deduplication
//! table and the digest index, all changed in one durable transaction per batch.

use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};
use sig_share_tlog::Hash;

use crate::storage::{Commit, Filed, MAX_KEY_LEN, StateStore, StorageError, TreeHead};

const HEAD: TableDefinition<&str, &[u8]> = TableDefinition::new("head");
/// `len(key) ‖ key ‖ leaf hash` → index: an exact get deduplicates, a prefix range looks up.
const FILED: TableDefinition<&[u8], u64> = TableDefinition::new("filed");
const HEAD_KEY: &str = "head";
/// The most entries one lookup reads before sorting by index.
const MAX_SCAN: usize = 100_000;

/// The index filed under (`key`, `leaf`) in one snapshot of the table.
fn get_filed(table: &redb::ReadOnlyTable<&[u8], u64>, key: &[u8], leaf: &Hash) -> Result<Option<u64>, StorageError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Ok(None);
    }
    Ok(table.get(record_key(key, &leaf.0).as_slice()).map_err(db_err)?.map(|v| v.value()))
}

fn record_key(key: &[u8], leaf: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len() + 32);
    k.push(key.len() as u8);
    k.extend_from_slice(key);
    k.extend_from_slice(leaf);
    k
}

fn insert_filed(table: &mut redb::Table<&[u8], u64>, filed: &[Filed]) -> Result<(), StorageError> {
    for f in filed {
        if f.key.is_empty() || f.key.len() > MAX_KEY_LEN {
            return Err(StorageError::Corrupt(format!("entry {} has a key of {} bytes", f.index, f.key.len())));
        }
        table.insert(record_key(&f.key, &f.leaf.0).as_slice(), f.index).map_err(db_err)?;
    }
    Ok(())
}

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
        tx.open_table(FILED).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(RedbStateStore { db: Db::Writable(db) })
    }

    /// Opens an existing database to inspect it; `Ok(None)` when a running log holds it. If no
    /// process has it open, it is opened writable so that redb can repair its allocator after an
    /// unclean shutdown (a crash leaves the data intact but the file marked for repair); nothing
    /// is written otherwise.
    pub fn open_existing(path: &Path) -> Result<Option<RedbStateStore>, StorageError> {
        if !path.exists() {
            return Err(StorageError::Corrupt(format!("{} does not exist", path.display())));
        }
        match Database::open(path) {
            Ok(db) => return Ok(Some(RedbStateStore { db: Db::Writable(db) })),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {}
            Err(e) => return Err(db_err(e)),
        }
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
            insert_filed(&mut tx.open_table(FILED).map_err(db_err)?, commit.filed)?;
        }
        // redb's default durability is Immediate: commit returns once the data is on disk.
        tx.commit().map_err(db_err)
    }

    fn file(&self, filed: &[Filed]) -> Result<(), StorageError> {
        let Db::Writable(db) = &self.db else {
            return Err(StorageError::Database("the state database is open read-only".into()));
        };
        let tx = db.begin_write().map_err(db_err)?;
        insert_filed(&mut tx.open_table(FILED).map_err(db_err)?, filed)?;
        tx.commit().map_err(db_err)
    }

    fn find(&self, key: &[u8], leaf: &Hash) -> Result<Option<u64>, StorageError> {
        let tx = self.db.begin_read()?;
        get_filed(&tx.open_table(FILED).map_err(db_err)?, key, leaf)
    }

    fn find_many(&self, queries: &[(Vec<u8>, Hash)]) -> Result<Vec<Option<u64>>, StorageError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(FILED).map_err(db_err)?;
        queries.iter().map(|(key, leaf)| get_filed(&table, key, leaf)).collect()
    }

    fn lookup(&self, key: &[u8], limit: usize) -> Result<Vec<u64>, StorageError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Ok(Vec::new());
        }
        let tx = self.db.begin_read()?;
        let table = tx.open_table(FILED).map_err(db_err)?;
        let (lo, hi) = (record_key(key, &[0; 32]), record_key(key, &[0xff; 32]));
        let mut out = Vec::new();
        for row in table.range(lo.as_slice()..=hi.as_slice()).map_err(db_err)?.take(MAX_SCAN) {
            out.push(row.map_err(db_err)?.1.value());
        }
        out.sort_unstable();
        out.truncate(limit);
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
        let h1 = TreeHead { size: 3, root: Hash::leaf(b"r"), checkpoint: b"cp".to_vec() };
        let filed = [
            Filed { key: b"sha256:aa".to_vec(), leaf: Hash::leaf(b"b"), index: 1 },
            Filed { key: b"sha256:aa".to_vec(), leaf: Hash::leaf(b"a"), index: 0 },
            Filed { key: b"sha256:aab".to_vec(), leaf: Hash::leaf(b"c"), index: 2 },
        ];
        s.commit(None, &Commit { head: &h1, filed: &filed }).unwrap();
        let stale = s.commit(None, &Commit { head: &h1, filed: &[] });
        assert!(matches!(stale, Err(StorageError::Conflict { expected: None, found: Some(3) })));
        drop(s);
        let s = RedbStateStore::open(&path).unwrap();
        assert_eq!(s.head().unwrap(), Some(h1));
        assert_eq!(s.find(b"sha256:aa", &Hash::leaf(b"b")).unwrap(), Some(1));
        assert_eq!(s.find(b"sha256:aa", &Hash::leaf(b"c")).unwrap(), None);
        assert_eq!(s.find(b"sha256:aab", &Hash::leaf(b"c")).unwrap(), Some(2));
        // A key that is a prefix of another does not see the other's entries.
        assert_eq!(s.lookup(b"sha256:aa", 10).unwrap(), vec![0, 1]);
        assert_eq!(s.lookup(b"sha256:aa", 1).unwrap(), vec![0]);
        assert_eq!(s.lookup(b"sha256:aab", 10).unwrap(), vec![2]);
        assert!(s.lookup(b"sha256:bb", 10).unwrap().is_empty());
        assert!(s.lookup(b"", 10).unwrap().is_empty());
    }
}
