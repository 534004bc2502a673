//! Evidence of a log's misbehaviour: refused requests that carried a valid log signature and
//! contradict what the witness cosigned before (tlog-witness: "the witness MAY log the request
//! even if the consistency proof doesn't verify … as it might be proof of log misbehavior").
//!
//! Two kinds are kept:
//!
//! - `conflicting-root`: a log-signed checkpoint of the size the witness last cosigned, with
//!   another root hash. The two signed notes alone prove a fork.
//! - `inconsistent-proof`: a log-signed checkpoint larger than the one cosigned, whose
//!   consistency proof does not verify. Possible proof: anyone may check, from the log's tiles,
//!   whether any proof exists between the two.
//!
//! A stale request (an old checkpoint replayed, a wrong old size) proves nothing and is not kept.
//!
//! Each record is one JSON file, `DIR/evidence/<id>.json`, written durably (temporary file,
//! fsync, rename, fsync of the directory) before the request is answered. The id is a hash of the
//! two checkpoints and the kind, not of the proof or the time, so repeats are kept once however
//! they vary. A byte cap in all and per origin stops a flood from filling the disk; once reached,
//! further evidence is counted in the metrics and logged, not written.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The evidence directory in the data directory.
pub const EVIDENCE_DIR: &str = "evidence";

/// What the refused request proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The same size as the cosigned checkpoint, another root.
    ConflictingRoot,
    /// A larger checkpoint whose consistency proof from the cosigned one fails.
    InconsistentProof,
}

/// One kept refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The record's id (its file's name without `.json`).
    pub id: String,
    /// What it proves.
    pub kind: Kind,
    /// The log.
    pub origin: String,
    /// When it was refused, seconds since the epoch.
    pub time: u64,
    /// The `old` size the request named.
    pub old_size: u64,
    /// The consistency proof it carried, base64 lines.
    pub proof: Vec<String>,
    /// The checkpoint the witness had cosigned: the log's signed note with the witness's
    /// cosignature.
    pub cosigned: String,
    /// The checkpoint refused: the log's signed note, with the lines of the log's keys only.
    pub submitted: String,
}

/// The record id of `kind` for these two checkpoint bodies.
pub fn evidence_id(kind: Kind, cosigned_body: &str, submitted_body: &str) -> String {
    let mut h = Sha256::new();
    h.update(match kind {
        Kind::ConflictingRoot => b"conflicting-root\n".as_slice(),
        Kind::InconsistentProof => b"inconsistent-proof\n".as_slice(),
    });
    h.update((cosigned_body.len() as u64).to_be_bytes());
    h.update(cosigned_body.as_bytes());
    h.update(submitted_body.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// What happened to a piece of evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// Written now.
    New,
    /// Already kept.
    Duplicate,
    /// Over a byte cap: not written.
    OverCap,
}

/// The evidence directory, as the writer keeps it.
#[derive(Debug)]
pub(crate) struct EvidenceStore {
    dir: PathBuf,
    max_bytes: u64,
    per_log_bytes: u64,
    total: u64,
    by_origin: HashMap<String, u64>,
    ids: HashSet<String>,
}

impl EvidenceStore {
    /// Opens `dir` (created if missing), counting what it holds.
    pub(crate) fn open(dir: &Path, max_bytes: u64, per_log_bytes: u64) -> std::io::Result<EvidenceStore> {
        fs::create_dir_all(dir)?;
        let mut store = EvidenceStore {
            dir: dir.to_owned(),
            max_bytes,
            per_log_bytes,
            total: 0,
            by_origin: HashMap::new(),
            ids: HashSet::new(),
        };
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                let len = entry.metadata()?.len();
                store.total += len;
                // The origin is needed for its share; a file that does not parse still counts in all.
                if let Ok(Ok(e)) = fs::read(entry.path()).map(|b| serde_json::from_slice::<Evidence>(&b)) {
                    *store.by_origin.entry(e.origin).or_default() += len;
                }
                store.ids.insert(id.to_owned());
            } else if name.starts_with(".tmp-") {
                // A write a crash interrupted: never renamed, so never answered.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(store)
    }

    /// Bytes kept in all.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.total
    }

    /// Keeps `e` durably unless it is kept already or over a cap.
    pub(crate) fn keep(&mut self, e: &Evidence) -> std::io::Result<Kept> {
        if self.ids.contains(&e.id) {
            return Ok(Kept::Duplicate);
        }
        let bytes = serde_json::to_vec_pretty(e).map_err(std::io::Error::other)?;
        let len = bytes.len() as u64;
        let of_origin = self.by_origin.get(&e.origin).copied().unwrap_or(0);
        if self.total + len > self.max_bytes || of_origin + len > self.per_log_bytes {
            return Ok(Kept::OverCap);
        }
        let tmp = self.dir.join(format!(".tmp-{}", e.id));
        let path = self.dir.join(format!("{}.json", e.id));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        fs::File::open(&self.dir)?.sync_all()?;
        self.total += len;
        *self.by_origin.entry(e.origin.clone()).or_default() += len;
        self.ids.insert(e.id.clone());
        Ok(Kept::New)
    }
}

/// Every record in a data directory's evidence, oldest first. Files that do not parse are
/// reported as errors beside the records.
pub fn list(data: &Path) -> std::io::Result<(Vec<Evidence>, Vec<String>)> {
    let dir = data.join(EVIDENCE_DIR);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((records, errors)),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        match fs::read(entry.path()).map(|b| serde_json::from_slice::<Evidence>(&b)) {
            Ok(Ok(e)) => records.push(e),
            Ok(Err(e)) => errors.push(format!("{name}: {e}")),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    records.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    Ok((records, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(origin: &str, n: u8) -> Evidence {
        let submitted = format!("{origin}\n{n}\nroot\n");
        Evidence {
            id: evidence_id(Kind::ConflictingRoot, "a\n", &submitted),
            kind: Kind::ConflictingRoot,
            origin: origin.into(),
            time: 1_700_000_000 + u64::from(n),
            old_size: 1,
            proof: vec![],
            cosigned: "a\n".into(),
            submitted,
        }
    }

    #[test]
    fn kept_once_durably_and_within_the_caps() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec_pretty(&record("a", 0)).unwrap().len() as u64;
        let mut s = EvidenceStore::open(&dir.path().join(EVIDENCE_DIR), one * 3 + 10, one * 2 + 5).unwrap();
        assert_eq!(s.keep(&record("a", 0)).unwrap(), Kept::New);
        assert_eq!(s.keep(&record("a", 0)).unwrap(), Kept::Duplicate);
        assert_eq!(s.keep(&record("a", 1)).unwrap(), Kept::New);
        assert_eq!(s.keep(&record("a", 2)).unwrap(), Kept::OverCap, "per log");
        assert_eq!(s.keep(&record("b", 3)).unwrap(), Kept::New);
        assert_eq!(s.keep(&record("c", 4)).unwrap(), Kept::OverCap, "in all");
        let (listed, errors) = list(dir.path()).unwrap();
        assert!(errors.is_empty());
        assert_eq!(listed.iter().map(|e| e.time).collect::<Vec<_>>(), [1_700_000_000, 1_700_000_001, 1_700_000_003]);
        // Reopened, it counts what is there: the caps and duplicates hold across restarts.
        let mut again = EvidenceStore::open(&dir.path().join(EVIDENCE_DIR), one * 3 + 10, one * 2 + 5).unwrap();
        assert_eq!(again.total_bytes(), s.total_bytes());
        assert_eq!(again.keep(&record("a", 0)).unwrap(), Kept::Duplicate);
        assert_eq!(again.keep(&record("a", 2)).unwrap(), Kept::OverCap);
    }
}
