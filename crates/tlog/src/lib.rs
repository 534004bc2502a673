//! Pure transparency-log primitives for sig-share, following C2SP:
//!
//! - [`hash`] and [`merkle`]: RFC 6962 hashing, roots, inclusion and consistency proofs;
//! - [`subtree`]: the subtree proofs of Merkle Tree Certificates;
//! - [`tile`] and [`tiled`]: tlog-tiles coordinates, paths and entry bundles, and trees kept as tiles;
//! - [`note`], [`checkpoint`], [`cosignature`]: signed notes, checkpoints, witness cosignatures;
//! - [`policy`] and [`witness`]: tlog-policy (whom to ask, what quorum to demand) and the
//!   tlog-witness wire format;
//! - [`static_ct`]: the RFC 6962 structures and data tiles of a static-ct-api certificate log;
//! - [`tlog_proof`]: the offline tlog-proof format.
//!
//! Nothing here touches the network, the disk or the clock: callers pass bytes and times in, which
//! keeps it fast to test and lets it build for `wasm32-unknown-unknown`.

pub mod checkpoint;
pub mod cosignature;
pub mod hash;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod static_ct;
pub mod subtree;
pub mod tile;
pub mod tiled;
pub mod tlog_proof;
pub mod witness;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use hash::Hash;
pub use note::{Ed25519Signer, Ed25519Verifier, Note, NoteVerifier};
pub use tile::{TileId, TileKind};
