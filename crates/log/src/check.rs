//! `log check`: re-derive a whole log from its entries and compare it with what is stored, like
//! Tessera's fsck and Sunlight's CheckLog. It stops at the first inconsistency and says where.

use sig_share_tlog::tile::{self, TILE_WIDTH, TileId, TileKind};
use sig_share_tlog::tiled::{TileReader, TreeEdge};
use sig_share_tlog::{Ed25519Verifier, Hash, SignedCheckpoint};

use crate::format::EntryFormat;
use crate::log::CHECKPOINT_KEY;
use crate::storage::{ObjectStore, StateStore, StorageError};
use crate::tiles::{StoreTiles, TileReadError};

/// What a clean check covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The checkpoint's origin.
    pub origin: String,
    /// Entries checked.
    pub size: u64,
    /// The verified root.
    pub root: Hash,
    /// Tiles and entry bundles compared byte for byte.
    pub tiles: u64,
    /// Whether the state store's records were checked too.
    pub state_checked: bool,
}

/// The first inconsistency found, or why the check could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A tile could not be read.
    #[error(transparent)]
    Tile(#[from] TileReadError),
    /// The log is inconsistent.
    #[error("{0}")]
    Inconsistent(String),
}

fn bad(msg: String) -> CheckError {
    CheckError::Inconsistent(msg)
}

/// Reads entry `index` of the tree of `size` entries from its entry bundle.
pub fn read_entry(
    tiles: &dyn ObjectStore,
    format: EntryFormat,
    index: u64,
    size: u64,
) -> Result<Vec<u8>, TileReadError> {
    let (id, bundle) = read_bundle(tiles, format, index, size)?;
    entry_of(format, &id, &bundle, index)
}

/// [`read_entry`] for several entries, reading each bundle once: entries near each other (the
/// certificates of one identity, issued in one busy minute) share a bundle, and a certificate
/// log's data tiles are hundreds of kilobytes.
pub fn read_entries(
    tiles: &dyn ObjectStore,
    format: EntryFormat,
    indices: &[u64],
    size: u64,
) -> Result<Vec<Vec<u8>>, TileReadError> {
    let mut held: Option<(TileId, Vec<u8>)> = None;
    let mut out = Vec::with_capacity(indices.len());
    for &index in indices {
        let (id, bundle) = match held.take() {
            Some((id, bundle)) if id.index == index / TILE_WIDTH => (id, bundle),
            _ => read_bundle(tiles, format, index, size)?,
        };
        out.push(entry_of(format, &id, &bundle, index)?);
        held = Some((id, bundle));
    }
    Ok(out)
}

/// The bundle holding entry `index` in the tree of `size` entries.
fn read_bundle(
    tiles: &dyn ObjectStore,
    format: EntryFormat,
    index: u64,
    size: u64,
) -> Result<(TileId, Vec<u8>), TileReadError> {
    let id = TileId::at_size(format.bundles().kind(), index / TILE_WIDTH, size)
        .ok_or(TileReadError::Storage(StorageError::Corrupt(format!("entry {index} is beyond size {size}"))))?;
    Ok((id, StoreTiles(tiles).read_tile(id)?))
}

fn entry_of(format: EntryFormat, id: &TileId, bundle: &[u8], index: u64) -> Result<Vec<u8>, TileReadError> {
    let entries = format.bundles().split(id, bundle)?;
    // An index past the tree's size lands beyond a partial bundle's end: an error, not a panic.
    let entry = entries.get((index % TILE_WIDTH) as usize).ok_or_else(|| {
        TileReadError::Storage(StorageError::Corrupt(format!("entry {index} is beyond {}", id.path())))
    })?;
    Ok(entry.to_vec())
}

/// Checks the log in `tiles` against its key:
///
/// 1. the published checkpoint is signed by `key`;
/// 2. with a state store, its committed head is that checkpoint;
/// 3. every entry bundle parses, every hash tile (full tiles, and the partial tiles of the
///    checkpoint's size) equals the one re-derived from the entries, and the root is the
///    checkpoint's;
/// 4. with a state store, every entry is filed under the key `key_of` derives from it (given the
///    entry as it was submitted), at its index.
///
/// `progress` is called with (entries checked, total) after each bundle.
pub fn check(
    tiles: &dyn ObjectStore,
    state: Option<&dyn StateStore>,
    key: &Ed25519Verifier,
    format: EntryFormat,
    key_of: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CheckReport, CheckError> {
    let note = tiles.get(CHECKPOINT_KEY)?.ok_or_else(|| bad("there is no checkpoint".into()))?;
    let cp = SignedCheckpoint::verify(&note, key)
        .map_err(|e| bad(format!("the checkpoint does not verify with {}: {e}", key.vkey())))?
        .checkpoint;
    if let Some(state) = state {
        let head = state.head()?.ok_or_else(|| bad("the state store has no tree head".into()))?;
        if head.size != cp.size || head.root != cp.root {
            return Err(bad(format!(
                "the state store's head (size {}, root {}) is not the published checkpoint (size {}, root {}); \
                 if the log crashed mid-batch, starting it will finish publishing",
                head.size, head.root, cp.size, cp.root
            )));
        }
    }
    let reader = StoreTiles(tiles);
    let kind = format.bundles().kind();
    let mut edge = TreeEdge::empty_with(format.bundles());
    let mut compared = 0u64;
    let bundles = TileId::count_at(kind, cp.size);
    for b in 0..bundles {
        let id = TileId::at_size(kind, b, cp.size).expect("bundle within size");
        let data = reader.read_tile(id).map_err(|e| bad(format!("{id}: {e}")))?;
        let entries = format.bundles().split(&id, &data).map_err(|e| bad(e.to_string()))?;
        compared += 1;
        let first = b * TILE_WIDTH;
        let mut stored = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            stored.push(format.unstamp(e).map_err(|e| bad(format!("entry {}: {e}", first + i as u64)))?);
        }
        let leaves: Vec<Hash> = stored.iter().map(|s| s.leaf).collect();
        if let Some(state) = state {
            let mut queries = Vec::with_capacity(entries.len());
            for (i, s) in stored.iter().enumerate() {
                let key = key_of(&s.pending)
                    .ok_or_else(|| bad(format!("entry {} is not an entry this log writes", first + i as u64)))?;
                queries.push((key, s.filed));
            }
            for (i, found) in state.find_many(&queries)?.into_iter().enumerate() {
                let index = first + i as u64;
                if found != Some(index) {
                    return Err(bad(format!("entry {index}: the state store files it at {found:?}")));
                }
            }
        }
        let appended = edge
            .append(leaves.iter().zip(&entries).map(|(leaf, e)| (*leaf, *e)))
            .map_err(|e| bad(format!("{id}: {e}")))?;
        for (tid, t) in appended.hashes.iter().filter(|(t, _)| t.is_full()) {
            compare(&reader, tid, &tile::encode_hash_tile(t.hashes()))?;
            compared += 1;
        }
        progress(first + entries.len() as u64, cp.size);
    }
    // The partial tiles of the checkpoint's size must be there and right.
    for level in 0..tile::levels_at(cp.size) {
        let items = tile::items_at(TileKind::Hashes(level), cp.size);
        if items.is_multiple_of(TILE_WIDTH) {
            continue;
        }
        let id = TileId::hashes(level, items / TILE_WIDTH, (items % TILE_WIDTH) as u16);
        let set = edge.tile_set();
        let t = set.get(level, id.index).ok_or_else(|| bad(format!("{id} was not re-derived")))?;
        compare(&reader, &id, &tile::encode_hash_tile(t.hashes()))?;
        compared += 1;
    }
    if edge.root() != cp.root {
        return Err(bad(format!(
            "the entries give root {} but the checkpoint says {} at size {}",
            edge.root(),
            cp.root,
            cp.size
        )));
    }
    Ok(CheckReport { origin: cp.origin, size: cp.size, root: cp.root, tiles: compared, state_checked: state.is_some() })
}

fn compare(reader: &StoreTiles<'_>, id: &TileId, want: &[u8]) -> Result<(), CheckError> {
    let got = reader.read_tile(*id).map_err(|e| bad(format!("{id}: {e}")))?;
    if got != want {
        return Err(bad(format!("{id} differs from the tile re-derived from the entries")));
    }
    Ok(())
}
