//! What a monitor remembers between runs, in its state directory:
//!
//! ```text
//! STATE/
//!   tlog.json        the transparency log: its origin and key, the last checkpoint verified
//!                    (the signed note as received) and the tree's right edge at that size
//!   ctlog.json       the certificate log, the same way
//!   alarm.json       present once a log misbehaved: every alarm raised, as reported
//!   evidence/        the signed notes each alarm rests on, as received
//!   lock             held while a monitor runs, so two cannot interleave their writes
//! ```
//!
//! Every write is a whole new file: written, fsynced, renamed over the old one, and the
//! directory fsynced, so a crash leaves either the old state or the new one. An alarm stays
//! raised on every later run until a person deletes `alarm.json`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sig_share_tlog::tile::{self, TILE_WIDTH, TileId, TileKind};
use sig_share_tlog::tiled::{MemoryTiles, TreeEdge};
use sig_share_tlog::{Hash, hash::HASH_SIZE};

/// The format version of the state files.
const VERSION: u32 = 1;
/// The largest state file read (a log's edge is at most 8 partial tiles of 255 hashes).
const MAX_STATE_BYTES: u64 = 4 << 20;

/// Why the state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A file that is not what this monitor writes (edited by hand, or from another version).
    #[error("{path} is not a monitor state file this version reads: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Another monitor holds the state directory.
    #[error("another monitor is running on the state directory {0}")]
    Busy(String),
}

fn io(path: &Path, e: impl std::fmt::Display) -> StateError {
    StateError::Io { path: path.display().to_string(), reason: e.to_string() }
}

/// A state directory, locked for this run.
#[derive(Debug)]
pub struct StateDir {
    root: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Opens (creating if needed) the state directory and takes its lock.
    pub fn open(root: &Path) -> Result<StateDir, StateError> {
        fs::create_dir_all(root).map_err(|e| io(root, e))?;
        let lock_path = root.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StateError::Busy(root.display().to_string())),
            Err(fs::TryLockError::Error(e)) => return Err(io(&lock_path, e)),
        }
        Ok(StateDir { root: root.to_owned(), _lock: lock })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of the log called `name` (`tlog`, `ctlog`).
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.json"))
    }

    /// The alarm file.
    pub fn alarm_path(&self) -> PathBuf {
        self.root.join("alarm.json")
    }

    /// The state of the log called `name`, if it was ever followed.
    pub fn load_log(&self, name: &str) -> Result<Option<LogState>, StateError> {
        let path = self.log_path(name);
        let Some(bytes) = read_small(&path)? else { return Ok(None) };
        let state: LogState = serde_json::from_slice(&bytes)
            .map_err(|e| StateError::Corrupt { path: path.display().to_string(), reason: e.to_string() })?;
        if state.version != VERSION {
            return Err(StateError::Corrupt {
                path: path.display().to_string(),
                reason: format!("version {}, not {VERSION}", state.version),
            });
        }
        Ok(Some(state))
    }

    /// Saves the state of the log called `name`, durably.
    pub fn save_log(&self, name: &str, state: &LogState) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(state).expect("the state serialises");
        write_atomic(&self.log_path(name), &json)
    }

    /// Every alarm raised so far, oldest first.
    pub fn alarms(&self) -> Result<Vec<serde_json::Value>, StateError> {
        let path = self.alarm_path();
        let Some(bytes) = read_small(&path)? else { return Ok(Vec::new()) };
        let file: AlarmFile = serde_json::from_slice(&bytes)
            .map_err(|e| StateError::Corrupt { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(file.alarms)
    }

    /// Records an alarm (an event, as reported), durably, before it is reported.
    pub fn raise(&self, alarm: serde_json::Value) -> Result<(), StateError> {
        let mut alarms = self.alarms()?;
        // The same finding on a later run (the same pair of checkpoints) is not a new alarm.
        if !alarms.iter().any(|a| same_finding(a, &alarm)) {
            alarms.push(alarm);
        }
        let json = serde_json::to_vec_pretty(&AlarmFile { alarms }).expect("alarms serialise");
        write_atomic(&self.alarm_path(), &json)
    }

    /// Keeps a signed note as evidence, durably, once: `evidence/<log>-<source>-<size>-<hash>.checkpoint`
    /// (`<hash>`: the first bytes of its SHA-256, so one note is one file).
    /// Returns its path.
    pub fn keep_evidence(&self, log: &str, source: &str, size: u64, note: &str) -> Result<String, StateError> {
        let dir = self.root.join("evidence");
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let safe: String =
            source.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
        let safe: String = safe.chars().take(64).collect();
        let digest = <sha2::Sha256 as sha2::Digest>::digest(note.as_bytes());
        let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{log}-{safe}-{size}-{short}.checkpoint"));
        if !path.exists() {
            write_atomic(&path, note.as_bytes())?;
        }
        Ok(path.display().to_string())
    }
}

/// Two alarms about the same thing: the same kind, log and checkpoints.
fn same_finding(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let key = |v: &serde_json::Value| {
        (v.get("event").cloned(), v.get("log").cloned(), v.get("checkpoints").cloned(), v.get("tile").cloned())
    };
    key(a) == key(b) && a.get("reason") == b.get("reason")
}

#[derive(Serialize, Deserialize)]
struct AlarmFile {
    alarms: Vec<serde_json::Value>,
}

/// What a monitor knows of one log.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    /// The format version.
    pub version: u32,
    /// The log's origin (its checkpoints' first line).
    pub origin: String,
    /// The key its checkpoints were verified with: a vkey, or `rfc6962:` and the base64 DER of a
    /// certificate log's ECDSA key.
    pub key: String,
    /// The last checkpoint verified: the signed note, as the log served it.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The right edge of the tree at `size`: per tile level, the hashes of its partial tile
    /// (base64; empty where the level has none). With it, new entries are appended without
    /// reading a single verified entry again.
    pub edge: Vec<String>,
    /// Entries read past `size` toward a newer checkpoint, when a long catch-up stopped halfway:
    /// where to resume. They are not verified until a checkpoint covering them is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// Entries read past the verified checkpoint (always a whole number of entry bundles).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The tree size read up to.
    pub size: u64,
    /// The edge at that size.
    pub edge: Vec<String>,
}

impl LogState {
    /// The format version written.
    pub const VERSION: u32 = VERSION;

    /// The verified root.
    pub fn root_hash(&self) -> Option<Hash> {
        Hash::from_base64(&self.root)
    }
}

/// The edge's partial tiles, as [`LogState::edge`] keeps them.
pub fn encode_edge(edge: &TreeEdge) -> Vec<String> {
    let size = edge.size();
    let set = edge.tile_set();
    (0..tile::levels_at(size))
        .map(|level| {
            let index = tile::items_at(TileKind::Hashes(level), size) / TILE_WIDTH;
            set.get(level, index).map(|t| BASE64.encode(tile::encode_hash_tile(t.hashes()))).unwrap_or_default()
        })
        .collect()
}

/// Rebuilds the edge of the tree of `size` leaves from [`encode_edge`]'s strings. The monitor's
/// edges track hashes only: it reads and checks entry bundles itself, so the bundle an edge
/// builds is one of empty entries.
pub fn decode_edge(size: u64, levels: &[String]) -> Result<TreeEdge, String> {
    if levels.len() != usize::from(tile::levels_at(size)) {
        return Err(format!("{} edge levels for a tree of {size} leaves", levels.len()));
    }
    let mut tiles = MemoryTiles::default();
    for (level, text) in levels.iter().enumerate() {
        let level = level as u8;
        let items = tile::items_at(TileKind::Hashes(level), size);
        let width = items % TILE_WIDTH;
        let bytes = BASE64.decode(text).map_err(|e| format!("edge level {level}: {e}"))?;
        if bytes.len() != width as usize * HASH_SIZE {
            return Err(format!("edge level {level} holds {} bytes, not {} hashes", bytes.len(), width));
        }
        if width > 0 {
            tiles.0.insert(TileId::hashes(level, items / TILE_WIDTH, width as u16), bytes);
        }
    }
    let width = size % TILE_WIDTH;
    if width > 0 {
        tiles.0.insert(TileId::entries(size / TILE_WIDTH, width as u16), vec![0; 2 * width as usize]);
    }
    TreeEdge::load(&tiles, size).map_err(|e| e.to_string())
}

/// The file at `path`, if it exists, refusing one larger than any state file.
fn read_small(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match fs::metadata(path) {
        Ok(m) if m.len() > MAX_STATE_BYTES => {
            Err(StateError::Corrupt { path: path.display().to_string(), reason: format!("{} bytes", m.len()) })
        }
        Ok(_) => fs::read(path).map(Some).map_err(|e| io(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

/// Writes `data` to `path` so a crash leaves the old file or the new one: a temporary file in
/// the same directory, fsynced, renamed over `path`, and the directory fsynced.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(data).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| Hash::leaf(&i.to_be_bytes())).collect()
    }

    #[test]
    fn an_edge_survives_its_encoding_at_every_kind_of_size() {
        for size in [0u64, 1, 255, 256, 257, 65_535, 65_536, 65_537, 70_000] {
            let mut edge = TreeEdge::empty();
            edge.append(leaves(size).into_iter().map(|h| (h, &[][..]))).unwrap();
            let decoded = decode_edge(size, &encode_edge(&edge)).unwrap();
            assert_eq!(decoded.root(), edge.root(), "size {size}");
            assert_eq!(decoded.root(), sig_share_tlog::merkle::naive_root(&leaves(size)));
            // And it keeps growing as the original would.
            let (mut a, mut b) = (edge, decoded);
            let more = [Hash::leaf(b"next")];
            a.append(more.iter().map(|h| (*h, &[][..]))).unwrap();
            b.append(more.iter().map(|h| (*h, &[][..]))).unwrap();
            assert_eq!(a.root(), b.root());
        }
        assert!(decode_edge(300, &[]).is_err());
        assert!(decode_edge(300, &["AAAA".into(), String::new()]).is_err());
    }

    #[test]
    fn the_lock_keeps_a_second_monitor_out() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateDir::open(dir.path()).unwrap();
        assert!(matches!(StateDir::open(dir.path()), Err(StateError::Busy(_))));
        drop(first);
        StateDir::open(dir.path()).unwrap();
    }

    #[test]
    fn alarms_accumulate_without_repeats_and_evidence_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        assert!(state.alarms().unwrap().is_empty());
        let a = serde_json::json!({"event": "split_view", "log": "tlog", "checkpoints": [1, 2], "reason": "x"});
        state.raise(a.clone()).unwrap();
        state.raise(a.clone()).unwrap();
        state.raise(serde_json::json!({"event": "tree_mismatch", "log": "tlog", "reason": "y"})).unwrap();
        assert_eq!(state.alarms().unwrap().len(), 2);
        let path = state.keep_evidence("tlog", "witness w/1", 5, "note\n").unwrap();
        assert!(path.contains("tlog-witness_w_1-5-"), "{path}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "note\n");
    }
}
