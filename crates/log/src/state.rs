//! The embedded [`StateStore`]: one redb database file holding the tree head, the deduplication
//! table and the digest index, all changed in one durable transaction per batch.

use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};
use sig_share_tlog::Hash;

use crate::storage::{Commit, Filed, MAX_KEY_LEN, Page, StateStore, StorageError, TreeHead};

const HEAD: TableDefinition<&str, &[u8]> = TableDefinition::new("head");
/// `len(key) ‖ key ‖ leaf hash` → index: an exact get deduplicates, a prefix range looks up.
const FILED: TableDefinition<&[u8], u64> = TableDefinition::new("filed");
/// `len(key) ‖ key ‖ index` (big-endian): the records of every key with more than one entry, in
/// index order, so a lookup reads a page of the oldest entries after a cursor, however many
/// others share the key (without it a lookup must read every record under the key to sort them,
/// and anyone who logs enough entries under a digest pushes a genuine one out of view). A key's
/// first entry is not copied here: most digests are logged once, and a second B-tree insert per
/// entry cost the state commit ~8 µs an entry (+73%). The second entry under a key copies both.
/// So a key with no row here has at most one entry, found in `filed`.
const ORDERED: TableDefinition<&[u8], ()> = TableDefinition::new("ordered");
const HEAD_KEY: &str = "head";
/// Marks a database whose `ordered` table holds every `filed` record (built on first open by a
/// version that has it).
const ORDERED_KEY: &str = "ordered-v1";

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

fn ordered_key(key: &[u8], index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len() + 8);
    k.push(key.len() as u8);
    k.extend_from_slice(key);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn insert_filed(tx: &redb::WriteTransaction, filed: &[Filed]) -> Result<(), StorageError> {
    let mut table = tx.open_table(FILED).map_err(db_err)?;
    let mut ordered = tx.open_table(ORDERED).map_err(db_err)?;
    for f in filed {
        if f.key.is_empty() || f.key.len() > MAX_KEY_LEN {
            return Err(StorageError::Corrupt(format!("entry {} has a key of {} bytes", f.index, f.key.len())));
        }
        // Another entry under this key already? Then the key is ordered from now on: the other
        // (if it was the first, it is not there yet; if not, copying it again changes nothing)
        // and this one.
        let other = filed_range(&table, &f.key)?.find_map(|row| match row {
            Ok((_, index)) if index.value() != f.index => Some(Ok(index.value())),
            Ok(_) => None,
            Err(e) => Some(Err(db_err(e))),
        });
        if let Some(other) = other {
            ordered.insert(ordered_key(&f.key, other?).as_slice(), ()).map_err(db_err)?;
            ordered.insert(ordered_key(&f.key, f.index).as_slice(), ()).map_err(db_err)?;
        }
        table.insert(record_key(&f.key, &f.leaf.0).as_slice(), f.index).map_err(db_err)?;
    }
    Ok(())
}

/// The `filed` records under exactly `key` (every leaf), in leaf order.
fn filed_range<'t, T: ReadableTable<&'static [u8], u64>>(
    table: &'t T,
    key: &[u8],
) -> Result<redb::Range<'t, &'static [u8], u64>, StorageError> {
    let (lo, hi) = (record_key(key, &[0; 32]), record_key(key, &[0xff; 32]));
    table.range(lo.as_slice()..=hi.as_slice()).map_err(db_err)
}

/// Fills the `ordered` table from `filed` once, for a database written before it existed.
fn build_ordered(db: &Database) -> Result<(), StorageError> {
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut head = tx.open_table(HEAD).map_err(db_err)?;
        if head.get(ORDERED_KEY).map_err(db_err)?.is_some() {
            return Ok(());
        }
        let filed = tx.open_table(FILED).map_err(db_err)?;
        let mut ordered = tx.open_table(ORDERED).map_err(db_err)?;
        let mut rows = 0u64;
        for row in filed.iter().map_err(db_err)? {
            let (k, index) = row.map_err(db_err)?;
            let k = k.value();
            let len = usize::from(k[0]);
            let key = k.get(1..1 + len).ok_or_else(|| StorageError::Corrupt("a short state record".into()))?;
            ordered.insert(ordered_key(key, index.value()).as_slice(), ()).map_err(db_err)?;
            rows += 1;
        }
        if rows > 0 {
            tracing::info!(rows, "indexed the state's records in log order");
        }
        head.insert(ORDERED_KEY, b"1".as_slice()).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
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
        tx.open_table(ORDERED).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        build_ordered(&db)?;
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
        }
        insert_filed(&tx, commit.filed)?;
        // redb's default durability is Immediate: commit returns once the data is on disk.
        tx.commit().map_err(db_err)
    }

    fn file(&self, filed: &[Filed]) -> Result<(), StorageError> {
        let Db::Writable(db) = &self.db else {
            return Err(StorageError::Database("the state database is open read-only".into()));
        };
        let tx = db.begin_write().map_err(db_err)?;
        insert_filed(&tx, filed)?;
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

    fn lookup_page(&self, key: &[u8], page: Page, limit: usize) -> Result<Vec<u64>, StorageError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || limit == 0 {
            return Ok(Vec::new());
        }
        let lo = ordered_key(key, page.after.map_or(0, |a| a.saturating_add(1)));
        let hi = ordered_key(key, page.before.unwrap_or(u64::MAX));
        if lo >= hi {
            return Ok(Vec::new());
        }
        let tx = self.db.begin_read()?;
        let table = match tx.open_table(ORDERED) {
            Ok(t) => Some(t),
            // A read-only open of a database from before the table existed (the next writable
            // open builds it): what `filed` holds, sorted.
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(db_err(e)),
        };
        let ordered_rows = match &table {
            Some(t) => t
                .range(ordered_key(key, 0).as_slice()..=ordered_key(key, u64::MAX).as_slice())
                .map_err(db_err)?
                .next()
                .is_some(),
            None => false,
        };
        if let (Some(table), true) = (&table, ordered_rows) {
            let mut out = Vec::new();
            for row in table.range(lo.as_slice()..hi.as_slice()).map_err(db_err)?.take(limit) {
                let k = row.map_err(db_err)?.0;
                let index =
                    k.value().last_chunk::<8>().ok_or_else(|| StorageError::Corrupt("a short record".into()))?;
                out.push(u64::from_be_bytes(*index));
            }
            return Ok(out);
        }
        // No row in order: the key has at most one entry (see ORDERED), or, in an old database
        // read before its first writable open, as many as were filed; sorted here.
        let filed = tx.open_table(FILED).map_err(db_err)?;
        let mut found = filed_range(&filed, key)?
            .map(|row| row.map(|(_, index)| index.value()).map_err(db_err))
            .collect::<Result<Vec<u64>, _>>()?;
        found.sort_unstable();
        found.dedup();
        let (after, before) = (page.after, page.before.unwrap_or(u64::MAX));
        Ok(found.into_iter().filter(|&i| after.is_none_or(|a| i > a) && i < before).take(limit).collect())
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

    #[test]
    fn lookup_pages_in_index_order_whatever_the_leaf_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStateStore::open(&dir.path().join("state.redb")).unwrap();
        // Leaf hashes sort in another order than indices: a lookup must not care.
        let filed: Vec<Filed> = (0..300u64)
            .map(|i| Filed { key: b"sha256:aa".to_vec(), leaf: Hash::leaf(&i.to_be_bytes()), index: i })
            .collect();
        let head = TreeHead { size: 300, root: Hash::leaf(b"r"), checkpoint: b"cp".to_vec() };
        s.commit(None, &Commit { head: &head, filed: &filed }).unwrap();
        let all = Page::default();
        assert_eq!(s.lookup_page(b"sha256:aa", all, 3).unwrap(), [0, 1, 2]);
        let after = Page { after: Some(2), before: None };
        assert_eq!(s.lookup_page(b"sha256:aa", after, 3).unwrap(), [3, 4, 5]);
        let window = Page { after: Some(100), before: Some(104) };
        assert_eq!(s.lookup_page(b"sha256:aa", window, 10).unwrap(), [101, 102, 103]);
        assert!(s.lookup_page(b"sha256:aa", Page { after: Some(5), before: Some(6) }, 10).unwrap().is_empty());
        assert!(s.lookup_page(b"sha256:aa", Page { after: Some(u64::MAX), before: None }, 10).unwrap().is_empty());
        assert_eq!(s.lookup_page(b"sha256:aa", Page { after: Some(298), before: None }, 10).unwrap(), [299]);
        assert!(s.lookup_page(b"sha256:a", all, 10).unwrap().is_empty(), "no prefix matches");
    }

    /// A key's first entry is filed once (no ordered copy); the second under the key, in the same
    /// commit or a later one, orders both; filing an entry again does not; every lookup agrees.
    #[test]
    fn only_keys_with_a_second_entry_are_copied_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStateStore::open(&dir.path().join("state.redb")).unwrap();
        let f = |key: &[u8], leaf: u8, index: u64| Filed { key: key.to_vec(), leaf: Hash::leaf(&[leaf]), index };
        let ordered_rows = |s: &RedbStateStore, key: &[u8]| {
            let Db::Writable(db) = &s.db else { unreachable!() };
            let tx = db.begin_read().unwrap();
            let t = tx.open_table(ORDERED).unwrap();
            t.range(ordered_key(key, 0).as_slice()..=ordered_key(key, u64::MAX).as_slice()).unwrap().count()
        };
        let head = |size| TreeHead { size, root: Hash::leaf(b"r"), checkpoint: b"cp".to_vec() };
        // One entry under "one", two under "two" in one commit (leaf order opposite to index order).
        let first = [f(b"sha256:one", 1, 0), f(b"sha256:two", 9, 1), f(b"sha256:two", 2, 2)];
        s.commit(None, &Commit { head: &head(3), filed: &first }).unwrap();
        assert_eq!(ordered_rows(&s, b"sha256:one"), 0, "a key's only entry is not copied");
        assert_eq!(ordered_rows(&s, b"sha256:two"), 2);
        assert_eq!(s.lookup(b"sha256:one", 10).unwrap(), [0]);
        assert_eq!(s.lookup(b"sha256:two", 10).unwrap(), [1, 2]);
        assert_eq!(s.lookup_page(b"sha256:one", Page { after: Some(0), before: None }, 10).unwrap(), [0u64; 0]);
        assert_eq!(s.lookup_page(b"sha256:one", Page { after: None, before: Some(0) }, 10).unwrap(), [0u64; 0]);
        // Filing the same entry again (a statement kept again) changes nothing.
        s.commit(Some(3), &Commit { head: &head(3), filed: &[f(b"sha256:one", 1, 0)] }).unwrap();
        assert_eq!(ordered_rows(&s, b"sha256:one"), 0);
        // A second entry in a later commit orders both.
        s.commit(Some(3), &Commit { head: &head(4), filed: &[f(b"sha256:one", 0, 3)] }).unwrap();
        assert_eq!(ordered_rows(&s, b"sha256:one"), 2);
        assert_eq!(s.lookup(b"sha256:one", 10).unwrap(), [0, 3]);
        assert_eq!(s.lookup_page(b"sha256:one", Page { after: Some(0), before: None }, 10).unwrap(), [3]);
        assert_eq!(s.find(b"sha256:one", &Hash::leaf(&[1])).unwrap(), Some(0));
    }

    #[test]
    fn a_database_from_before_the_ordered_table_is_indexed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            // As an older version wrote it: head and filed only.
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(HEAD).unwrap();
            let mut t = tx.open_table(FILED).unwrap();
            for i in [5u64, 1, 3] {
                t.insert(record_key(b"sha256:bb", &Hash::leaf(&[i as u8]).0).as_slice(), i).unwrap();
            }
            drop(t);
            tx.commit().unwrap();
        }
        let s = RedbStateStore::open(&path).unwrap();
        assert_eq!(s.lookup(b"sha256:bb", 10).unwrap(), [1, 3, 5]);
    }
}
