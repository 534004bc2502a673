//! The witness's state: for each origin, the latest checkpoint it cosigned, in one redb database
//! (`DIR/witness.db`). Only the writer changes it, one durable transaction per batch of requests.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use sig_share_tlog::Hash;

/// origin → [`Recorded::encode`].
pub(crate) const LATEST: TableDefinition<&str, &[u8]> = TableDefinition::new("latest");

/// The state database's file in the data directory.
pub const STATE_FILE: &str = "witness.db";

/// Why the state could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The database failed.
    #[error("witness state: {0}")]
    Database(String),
    /// A record does not decode.
    #[error("witness state: the record of {origin:?} is corrupt")]
    Corrupt {
        /// Whose record.
        origin: String,
    },
}

pub(crate) fn db_err(e: impl std::fmt::Display) -> StateError {
    StateError::Database(e.to_string())
}

/// The latest checkpoint cosigned for an origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// When it was cosigned (the cosignature's timestamp).
    pub time: u64,
    /// The log's signed note with the witness's cosignature appended (the log's verified
    /// signature lines only: others' lines are not the witness's to serve).
    pub note: Vec<u8>,
}

impl Recorded {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48 + self.note.len());
        v.extend_from_slice(&self.size.to_be_bytes());
        v.extend_from_slice(&self.root.0);
        v.extend_from_slice(&self.time.to_be_bytes());
        v.extend_from_slice(&self.note);
        v
    }

    pub(crate) fn decode(origin: &str, v: &[u8]) -> Result<Recorded, StateError> {
        let corrupt = || StateError::Corrupt { origin: origin.to_owned() };
        if v.len() < 48 {
            return Err(corrupt());
        }
        let size = u64::from_be_bytes(v[..8].try_into().map_err(|_| corrupt())?);
        let root = Hash::from_slice(&v[8..40]).ok_or_else(corrupt)?;
        let time = u64::from_be_bytes(v[40..48].try_into().map_err(|_| corrupt())?);
        Ok(Recorded { size, root, time, note: v[48..].to_vec() })
    }
}

/// Opens (or creates) the state database, its table made up front so readers never miss it.
pub(crate) fn open(path: &Path) -> Result<Database, StateError> {
    let db = Database::create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            StateError::Database(format!("{} is in use by another witness process", path.display()))
        }
        other => db_err(other),
    })?;
    let tx = db.begin_write().map_err(db_err)?;
    tx.open_table(LATEST).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(db)
}

/// Every origin's recorded size and root.
pub(crate) fn load_all(db: &Database) -> Result<Vec<(String, Recorded)>, StateError> {
    let tx = db.begin_read().map_err(db_err)?;
    let table = tx.open_table(LATEST).map_err(db_err)?;
    let mut out = Vec::new();
    for row in table.iter().map_err(db_err)? {
        let (k, v) = row.map_err(db_err)?;
        let origin = k.value().to_owned();
        let rec = Recorded::decode(&origin, v.value())?;
        out.push((origin, rec));
    }
    Ok(out)
}

/// The record of one origin, as last committed.
pub(crate) fn get(db: &Database, origin: &str) -> Result<Option<Recorded>, StateError> {
    let tx = db.begin_read().map_err(db_err)?;
    let table = tx.open_table(LATEST).map_err(db_err)?;
    table.get(origin).map_err(db_err)?.map(|v| Recorded::decode(origin, v.value())).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_short_ones_are_corrupt() {
        let r = Recorded { size: 7, root: Hash::leaf(b"x"), time: 1_700_000_000, note: b"o\n7\nr\n\n".to_vec() };
        assert_eq!(Recorded::decode("o", &r.encode()).unwrap(), r);
        assert!(Recorded::decode("o", &r.encode()[..47]).is_err());
    }
}
