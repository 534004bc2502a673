//! Reading a log's tiles back out of its object store, for proofs of older entries, recovery
//! and `log check`.

use sig_share_tlog::Hash;
use sig_share_tlog::merkle::NodeSource;
use sig_share_tlog::tile::{TileDataError, TileId};
use sig_share_tlog::tiled::{MissingTile, TileReader, TileSet, TiledTree};

use crate::storage::{ObjectStore, StorageError};

/// Reads tiles out of an object store.
pub struct StoreTiles<'a>(pub &'a dyn ObjectStore);

impl std::fmt::Debug for StoreTiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreTiles")
    }
}

/// Why a tile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The tile is not there.
    #[error(transparent)]
    Missing(#[from] MissingTile),
    /// The tile is malformed.
    #[error(transparent)]
    Data(#[from] TileDataError),
}

impl TileReader for StoreTiles<'_> {
    type Error = TileReadError;

    fn read_tile(&self, t: TileId) -> Result<Vec<u8>, TileReadError> {
        self.0.get(&t.path())?.ok_or(TileReadError::Missing(MissingTile { level: t.level(), index: t.index }))
    }
}

/// Hashes from memory when there, else from storage.
pub(crate) struct Layered<'a, 'r> {
    pub(crate) mem: &'a TileSet,
    pub(crate) disk: TiledTree<'r, StoreTiles<'r>>,
}

impl NodeSource for Layered<'_, '_> {
    type Error = TileReadError;

    fn node(&self, height: u8, index: u64) -> Result<Hash, TileReadError> {
        match self.mem.node(height, index) {
            Ok(h) => Ok(h),
            Err(_) => self.disk.node(height, index),
        }
    }
}
