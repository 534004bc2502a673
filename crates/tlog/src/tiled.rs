//! Trees stored as tiles: appending leaves to a tiled tree, and serving complete-subtree hashes
//! out of tiles for roots and proofs.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::hash::Hash;
use crate::merkle::NodeSource;
use crate::tile::{self, BundleFormat, TILE_HEIGHT, TILE_WIDTH, TileDataError, TileId, TileKind};

/// The hashes of one hash tile together with every complete node inside it.
///
/// `levels[0]` is the tile's own content; `levels[k]` holds the complete nodes `k` levels above it,
/// and `levels[8]` the tile's root once it is full. Keeping the inner nodes means any complete
/// subtree hash under the tile is one lookup away, which is what proof generation needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileHashes {
    levels: [Vec<Hash>; TILE_HEIGHT as usize + 1],
}

impl TileHashes {
    /// Builds the inner nodes of a tile's hashes.
    pub fn from_hashes(hashes: &[Hash]) -> TileHashes {
        let mut t = TileHashes::default();
        t.levels[0].reserve(TILE_WIDTH as usize);
        for h in hashes {
            t.push(*h);
        }
        t
    }

    /// Adds the next hash; the caller keeps the width at most 256.
    pub fn push(&mut self, h: Hash) {
        debug_assert!((self.width() as u64) < TILE_WIDTH);
        self.levels[0].push(h);
        let mut k = 0;
        while k < TILE_HEIGHT as usize && self.levels[k].len().is_multiple_of(2) {
            let n = self.levels[k].len();
            let parent = Hash::node(&self.levels[k][n - 2], &self.levels[k][n - 1]);
            self.levels[k + 1].push(parent);
            k += 1;
        }
    }

    /// The number of hashes in the tile.
    pub fn width(&self) -> usize {
        self.levels[0].len()
    }

    /// The tile's hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The complete node `height` levels above the tile's hashes at position `i`, if it exists.
    pub fn node(&self, height: u8, i: usize) -> Option<Hash> {
        self.levels.get(usize::from(height))?.get(i).copied()
    }

    /// The root of a full tile: the hash one tile level up.
    pub fn root(&self) -> Option<Hash> {
        self.levels[TILE_HEIGHT as usize].first().copied()
    }
}

/// A tile a [`NodeSource`] needed and did not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hash tile at level {level}, index {index} is not available")]
pub struct MissingTile {
    /// Tile level.
    pub level: u8,
    /// Tile index.
    pub index: u64,
}

/// Where the complete node at (`height`, `index`) lives: (tile level, tile index, height within
/// the tile, position within the tile at that height).
fn locate(height: u8, index: u64) -> (u8, u64, u8, usize) {
    let level = height / TILE_HEIGHT;
    let r = height % TILE_HEIGHT;
    let per_tile = TILE_WIDTH >> r;
    (level, index / per_tile, r, (index % per_tile) as usize)
}

/// Hash tiles held in memory, keyed by (level, index): a [`NodeSource`] for roots and proofs.
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    tiles: HashMap<(u8, u64), TileHashes>,
}

impl TileSet {
    /// Adds (or replaces) a tile.
    pub fn insert(&mut self, level: u8, index: u64, tile: TileHashes) {
        self.tiles.insert((level, index), tile);
    }

    /// The tile at (level, index), if held.
    pub fn get(&self, level: u8, index: u64) -> Option<&TileHashes> {
        self.tiles.get(&(level, index))
    }

    /// How many tiles are held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether no tile is held.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl NodeSource for TileSet {
    type Error = MissingTile;

    fn node(&self, height: u8, index: u64) -> Result<Hash, MissingTile> {
        let (level, tile, r, i) = locate(height, index);
        self.tiles.get(&(level, tile)).and_then(|t| t.node(r, i)).ok_or(MissingTile { level, index: tile })
    }
}

/// Why a tile could not be read from a source that fails only by not having it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The tile is not there.
    #[error(transparent)]
    Missing(#[from] MissingTile),
    /// The tile is malformed.
    #[error(transparent)]
    Data(#[from] TileDataError),
}

/// Tiles held in memory by ID: fetched over HTTP, or made by a test.
#[derive(Debug, Clone, Default)]
pub struct MemoryTiles(pub HashMap<TileId, Vec<u8>>);

impl TileReader for MemoryTiles {
    type Error = TileError;

    fn read_tile(&self, t: TileId) -> Result<Vec<u8>, TileError> {
        self.0.get(&t).cloned().ok_or(TileError::Missing(MissingTile { level: t.level(), index: t.index }))
    }
}

/// Reads hash tiles from wherever a log keeps them.
pub trait TileReader {
    /// Why a tile could not be read.
    type Error: From<MissingTile> + From<TileDataError>;
    /// The raw bytes of a tile (hash tile or entry bundle) at exactly the given width.
    fn read_tile(&self, tile: TileId) -> Result<Vec<u8>, Self::Error>;
}

/// A [`NodeSource`] for the tree of a given size that reads tiles on demand and keeps them.
#[derive(Debug)]
pub struct TiledTree<'r, R> {
    reader: &'r R,
    size: u64,
    cache: RefCell<HashMap<(u8, u64), TileHashes>>,
}

impl<'r, R: TileReader> TiledTree<'r, R> {
    /// A view of the tree of `size` leaves.
    pub fn new(reader: &'r R, size: u64) -> Self {
        TiledTree { reader, size, cache: RefCell::default() }
    }

    /// The tree size this view describes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hash tile at (level, index) as it is at this view's size.
    pub fn tile(&self, level: u8, index: u64) -> Result<TileHashes, R::Error> {
        if let Some(t) = self.cache.borrow().get(&(level, index)) {
            return Ok(t.clone());
        }
        let id = TileId::at_size(TileKind::Hashes(level), index, self.size).ok_or(MissingTile { level, index })?;
        let bytes = self.reader.read_tile(id)?;
        let tile = TileHashes::from_hashes(&tile::parse_hash_tile(&id, &bytes)?);
        self.cache.borrow_mut().insert((level, index), tile.clone());
        Ok(tile)
    }
}

impl<R: TileReader> NodeSource for TiledTree<'_, R> {
    type Error = R::Error;

    fn node(&self, height: u8, index: u64) -> Result<Hash, R::Error> {
        let (level, tile, r, i) = locate(height, index);
        if let Some(h) = self.cache.borrow().get(&(level, tile)).and_then(|t| t.node(r, i)) {
            return Ok(h);
        }
        self.tile(level, tile)?.node(r, i).ok_or_else(|| MissingTile { level, index: tile }.into())
    }
}

/// What one append wrote: every tile whose content changed, at its new width.
#[derive(Debug, Default, Clone)]
pub struct AppendedTiles {
    /// Hash tiles, full and partial, with their inner nodes.
    pub hashes: Vec<(TileId, TileHashes)>,
    /// Entry bundles, full and partial, encoded.
    pub bundles: Vec<(TileId, Vec<u8>)>,
}

/// The right edge of a tiled tree: the last, unfinished tile at every level and the last entry
/// bundle. That is all an append needs, and together with the tiles an append wrote it answers
/// every root and inclusion-proof question about the new leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeEdge {
    size: u64,
    /// Per level, the hashes of the tile being filled (fewer than 256).
    partial: Vec<TileHashes>,
    /// The entry bundle being filled: its encoded bytes and its entry count.
    bundle: Vec<u8>,
    bundle_count: u16,
    format: BundleFormat,
}

impl TreeEdge {
    /// The edge of the empty tree with tlog-tiles entry bundles.
    pub fn empty() -> TreeEdge {
        TreeEdge::default()
    }

    /// The edge of the empty tree with entry bundles in `format`.
    pub fn empty_with(format: BundleFormat) -> TreeEdge {
        TreeEdge { format, ..TreeEdge::default() }
    }

    /// Rebuilds the edge of a stored tree of `size` leaves from its partial tiles.
    pub fn load<R: TileReader>(reader: &R, size: u64) -> Result<TreeEdge, R::Error> {
        TreeEdge::load_with(reader, size, BundleFormat::TlogTiles)
    }

    /// Rebuilds the edge of a stored tree whose entry bundles are in `format`.
    pub fn load_with<R: TileReader>(reader: &R, size: u64, format: BundleFormat) -> Result<TreeEdge, R::Error> {
        let mut edge = TreeEdge { size, format, ..TreeEdge::default() };
        for level in 0..tile::levels_at(size) {
            let items = tile::items_at(TileKind::Hashes(level), size);
            let index = items / TILE_WIDTH;
            let width = items % TILE_WIDTH;
            let t = if width == 0 {
                TileHashes::default()
            } else {
                let id = TileId::hashes(level, index, width as u16);
                TileHashes::from_hashes(&tile::parse_hash_tile(&id, &reader.read_tile(id)?)?)
            };
            edge.partial.push(t);
        }
        let width = size % TILE_WIDTH;
        if width > 0 {
            let id = format.tile(size / TILE_WIDTH, width as u16);
            let bytes = reader.read_tile(id)?;
            format.split(&id, &bytes)?;
            edge.bundle = bytes;
            edge.bundle_count = width as u16;
        }
        Ok(edge)
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        crate::merkle::root(&self.tile_set(), self.size).expect("the edge holds every node of the root")
    }

    /// The edge's partial tiles as a [`TileSet`]; add an append's tiles to answer proofs about it.
    pub fn tile_set(&self) -> TileSet {
        let mut set = TileSet::default();
        self.add_to(&mut set);
        set
    }

    /// Adds the edge's partial tiles to `set`.
    pub fn add_to(&self, set: &mut TileSet) {
        for (level, t) in self.partial.iter().enumerate() {
            if t.width() > 0 {
                let index = tile::items_at(TileKind::Hashes(level as u8), self.size) / TILE_WIDTH;
                set.insert(level as u8, index, t.clone());
            }
        }
    }

    /// Appends leaves (each its hash and its entry bytes) and returns every tile that changed.
    /// On error (an entry too large for a bundle) the edge is unchanged.
    pub fn append<'a, I>(&mut self, leaves: I) -> Result<AppendedTiles, TileDataError>
    where
        I: IntoIterator<Item = (Hash, &'a [u8])>,
    {
        let mut next = self.clone();
        let mut out = AppendedTiles::default();
        let mut touched = [false; tile::MAX_LEVEL as usize + 1];
        let mut bundle_touched = false;
        for (hash, entry) in leaves {
            next.format.push(&mut next.bundle, entry)?;
            next.bundle_count += 1;
            bundle_touched = true;
            if u64::from(next.bundle_count) == TILE_WIDTH {
                let id = next.format.tile(next.size / TILE_WIDTH, TILE_WIDTH as u16);
                out.bundles.push((id, std::mem::take(&mut next.bundle)));
                next.bundle_count = 0;
                bundle_touched = false;
            }
            next.push_hash(0, hash, &mut out, &mut touched);
            next.size += 1;
        }
        for (level, t) in next.partial.iter().enumerate() {
            if touched[level] && t.width() > 0 {
                let items = tile::items_at(TileKind::Hashes(level as u8), next.size);
                out.hashes.push((TileId::hashes(level as u8, items / TILE_WIDTH, t.width() as u16), t.clone()));
            }
        }
        if bundle_touched && next.bundle_count > 0 {
            let id = next.format.tile(next.size / TILE_WIDTH, next.bundle_count);
            out.bundles.push((id, next.bundle.clone()));
        }
        *self = next;
        Ok(out)
    }

    /// Pushes a hash at `level` (for the leaf about to become number `self.size`), carrying full
    /// tiles upward.
    fn push_hash(&mut self, level: u8, hash: Hash, out: &mut AppendedTiles, touched: &mut [bool]) {
        let l = usize::from(level);
        if self.partial.len() <= l {
            self.partial.push(TileHashes::default());
        }
        touched[l] = true;
        self.partial[l].push(hash);
        if self.partial[l].width() as u64 == TILE_WIDTH {
            let full = std::mem::take(&mut self.partial[l]);
            // Leaves before this one at this level: (size + 1) >> 8l is the count including it.
            let items = (self.size + 1) >> (u32::from(level) * u32::from(TILE_HEIGHT));
            let index = (items - 1) / TILE_WIDTH;
            let root = full.root().expect("a full tile has a root");
            out.hashes.push((TileId::hashes(level, index, TILE_WIDTH as u16), full));
            touched[l] = false;
            if level < tile::MAX_LEVEL {
                self.push_hash(level + 1, root, out, touched);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{self, MemoryTree};

    fn leaves(n: u64) -> Vec<(Hash, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let e = format!("entry {i}").into_bytes();
                (Hash::leaf(&e), e)
            })
            .collect()
    }

    #[test]
    fn tile_hashes_match_the_reference_tree() {
        let l: Vec<Hash> = leaves(256).into_iter().map(|(h, _)| h).collect();
        let t = TileHashes::from_hashes(&l);
        assert_eq!(t.root(), Some(merkle::naive_root(&l)));
        assert_eq!(t.node(3, 5), Some(merkle::naive_root(&l[40..48])));
        let p = TileHashes::from_hashes(&l[..13]);
        assert_eq!(p.root(), None);
        assert_eq!(p.node(2, 2), Some(merkle::naive_root(&l[8..12])));
        assert_eq!(p.node(2, 3), None);
    }

    #[test]
    fn append_emits_tiles_and_roots_in_batches() {
        let all = leaves(70_000);
        let reference = MemoryTree { leaves: all.iter().map(|(h, _)| *h).collect() };
        let mut edge = TreeEdge::empty();
        let mut written: HashMap<TileId, Vec<u8>> = HashMap::new();
        let mut start = 0usize;
        for batch in [1usize, 2, 253, 1, 300, 65_000, 4_443] {
            let before = edge.size();
            let out = edge.append(all[start..start + batch].iter().map(|(h, e)| (*h, e.as_slice()))).unwrap();
            start += batch;
            assert_eq!(edge.size(), start as u64);
            let mut ids: Vec<TileId> = out.hashes.iter().map(|(id, _)| *id).collect();
            ids.extend(out.bundles.iter().map(|(id, _)| *id));
            ids.sort();
            let mut want = tile::tiles_to_write(before, edge.size());
            want.sort();
            assert_eq!(ids, want, "batch of {batch}");
            let mut set = edge.tile_set();
            for (id, t) in &out.hashes {
                set.insert(id.level(), id.index, t.clone());
                written.insert(*id, tile::encode_hash_tile(t.hashes()));
            }
            for (id, b) in &out.bundles {
                written.insert(*id, b.clone());
            }
            let size = edge.size();
            assert_eq!(edge.root(), merkle::naive_root(&reference.leaves[..start]));
            // Every new leaf's inclusion proof comes from the edge and this append's tiles alone.
            for i in (before..size).step_by(4999).chain([size - 1]) {
                let p = merkle::inclusion_proof(&set, i, size).unwrap();
                let want = merkle::inclusion_proof(&reference_prefix(&reference, size), i, size).unwrap();
                assert_eq!(p, want);
            }
        }
        // Reload the edge from what was written and keep going.
        let files = MemoryTiles(written);
        let loaded = TreeEdge::load(&files, edge.size()).unwrap();
        assert_eq!(loaded, edge);
        let tree = TiledTree::new(&files, edge.size());
        assert_eq!(merkle::root(&tree, edge.size()).unwrap(), edge.root());
        let p = merkle::inclusion_proof(&tree, 12_345, edge.size()).unwrap();
        merkle::verify_inclusion(12_345, edge.size(), &all[12_345].0, &p, &edge.root()).unwrap();
        let c = merkle::consistency_proof(&tree, 300, edge.size()).unwrap();
        merkle::verify_consistency(300, edge.size(), &reference_root(&reference, 300), &edge.root(), &c).unwrap();
    }

    fn reference_prefix(t: &MemoryTree, size: u64) -> MemoryTree {
        MemoryTree { leaves: t.leaves[..size as usize].to_vec() }
    }

    fn reference_root(t: &MemoryTree, size: u64) -> Hash {
        merkle::naive_root(&t.leaves[..size as usize])
    }
}
