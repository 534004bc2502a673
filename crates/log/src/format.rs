//! How a log turns a submitted entry into its Merkle leaf and its stored form.
//!
//! A transparency log stores exactly what was submitted. A static-ct-api certificate log cannot:
//! its leaves carry the time the entry was sequenced and, in the SCT extensions, the entry's own
//! index, which only the sequencer knows. So a certificate log's submissions are *pending* leaves
//! (a `TileLeaf` with timestamp 0 and no extensions) that the sequencer stamps.

use std::borrow::Cow;
use std::fmt;

use sig_share_tlog::Hash;
use sig_share_tlog::checkpoint::Checkpoint;
use sig_share_tlog::note::NoteSignature;
use sig_share_tlog::static_ct::{self, TileLeaf};
use sig_share_tlog::tile::BundleFormat;

/// The kind of entries a log holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntryFormat {
    /// tlog-tiles entry bundles; the entry is the submitted bytes, its leaf `H(0x00 ‖ bytes)`.
    #[default]
    TlogTiles,
    /// static-ct-api data tiles; the submitted bytes are a pending `TileLeaf`, stamped with the
    /// batch time and a `leaf_index` extension when sequenced.
    StaticCt,
}

/// A submitted entry the format cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a pending entry for this log: {0}")]
pub struct FormatError(pub String);

impl EntryFormat {
    /// Where the entries are stored.
    pub fn bundles(self) -> BundleFormat {
        match self {
            EntryFormat::TlogTiles => BundleFormat::TlogTiles,
            EntryFormat::StaticCt => BundleFormat::StaticCt,
        }
    }

    /// Checks a submission before it enters the pool, so sequencing cannot fail on it.
    pub fn check_pending(self, data: &[u8]) -> Result<(), FormatError> {
        match self {
            EntryFormat::TlogTiles => Ok(()),
            EntryFormat::StaticCt => match TileLeaf::parse(data) {
                Ok((leaf, [])) if leaf.entry.timestamp == 0 && leaf.entry.extensions.is_empty() => Ok(()),
                Ok((_, [])) => Err(FormatError("a pending leaf has timestamp 0 and no extensions".into())),
                Ok(_) => Err(FormatError("trailing bytes after the leaf".into())),
                Err(e) => Err(FormatError(e.to_string())),
            },
        }
    }

    /// The leaf hash and the stored entry of a pending entry sequenced at `index` and `timestamp_ms`.
    /// `pending_leaf` is `H(0x00 ‖ data)`, which the pool already computed to tell entries apart:
    /// for tlog-tiles entries it is the leaf, and hashing every entry again would cost the
    /// sequencer a second hash per entry.
    pub fn stamp<'a>(
        self,
        data: &'a [u8],
        pending_leaf: Hash,
        index: u64,
        timestamp_ms: u64,
    ) -> Result<(Hash, Cow<'a, [u8]>), FormatError> {
        match self {
            EntryFormat::TlogTiles => Ok((pending_leaf, Cow::Borrowed(data))),
            EntryFormat::StaticCt => {
                let (mut leaf, _) = TileLeaf::parse(data).map_err(|e| FormatError(e.to_string()))?;
                leaf.entry.timestamp = timestamp_ms;
                leaf.entry.extensions =
                    static_ct::leaf_index_extensions(index).map_err(|e| FormatError(e.to_string()))?;
                let hash = leaf.entry.leaf_hash().map_err(|e| FormatError(e.to_string()))?;
                let mut out = Vec::with_capacity(data.len() + 8);
                leaf.encode(&mut out).map_err(|e| FormatError(e.to_string()))?;
                Ok((hash, Cow::Owned(out)))
            }
        }
    }

    /// For a stored entry: its Merkle leaf hash and the hash it was filed under when submitted
    /// (the leaf hash of its pending form), for checking a log from its tiles.
    pub fn unstamp(self, stored: &[u8]) -> Result<StoredEntry, FormatError> {
        match self {
            EntryFormat::TlogTiles => {
                let leaf = Hash::leaf(stored);
                Ok(StoredEntry { leaf, filed: leaf, pending: stored.to_vec() })
            }
            EntryFormat::StaticCt => {
                let (mut leaf, _) = TileLeaf::parse(stored).map_err(|e| FormatError(e.to_string()))?;
                let hash = leaf.entry.leaf_hash().map_err(|e| FormatError(e.to_string()))?;
                leaf.entry.timestamp = 0;
                leaf.entry.extensions.clear();
                let mut pending = Vec::with_capacity(stored.len());
                leaf.encode(&mut pending).map_err(|e| FormatError(e.to_string()))?;
                Ok(StoredEntry { leaf: hash, filed: Hash::leaf(&pending), pending })
            }
        }
    }
}

/// A stored entry taken apart again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its Merkle leaf hash.
    pub leaf: Hash,
    /// The hash the state store files it under.
    pub filed: Hash,
    /// The entry as it was submitted.
    pub pending: Vec<u8>,
}

/// A further signature on every checkpoint the log publishes, beside its Ed25519 one: for a
/// certificate log, the RFC 6962 tree head signature that static-ct-api asks for.
pub trait CheckpointSigner: Send + Sync + fmt::Debug {
    /// Signs `checkpoint`, published at `timestamp_ms`.
    fn sign(&self, checkpoint: &Checkpoint, timestamp_ms: u64) -> Result<NoteSignature, String>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use sig_share_tlog::static_ct::{SignedEntry, TimestampedEntry};

    fn pending() -> Vec<u8> {
        let leaf = TileLeaf {
            entry: TimestampedEntry {
                timestamp: 0,
                entry: SignedEntry::Precert { issuer_key_hash: [1; 32], tbs_certificate: vec![0x30, 0] },
                extensions: Vec::new(),
            },
            pre_certificate: Some(vec![0x30, 0]),
            chain: vec![[2; 32]],
        };
        let mut out = Vec::new();
        leaf.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn static_ct_entries_are_stamped_and_taken_apart_again() {
        let f = EntryFormat::StaticCt;
        let p = pending();
        f.check_pending(&p).unwrap();
        let (hash, stored) = f.stamp(&p, Hash::leaf(&p), 77, 1234).unwrap();
        let (leaf, _) = TileLeaf::parse(&stored).unwrap();
        assert_eq!(leaf.entry.timestamp, 1234);
        assert_eq!(static_ct::parse_leaf_index(&leaf.entry.extensions), Some(77));
        assert_eq!(leaf.entry.leaf_hash().unwrap(), hash);
        let back = f.unstamp(&stored).unwrap();
        assert_eq!(back, StoredEntry { leaf: hash, filed: Hash::leaf(&p), pending: p.clone() });
        // Stamped leaves and garbage are not pending entries.
        assert!(f.check_pending(&stored).is_err());
        assert!(f.check_pending(&p[..p.len() - 1]).is_err());
        assert!(f.check_pending(&[p.as_slice(), &[0]].concat()).is_err());
    }

    #[test]
    fn tlog_entries_are_stored_as_submitted() {
        let (hash, stored) = EntryFormat::TlogTiles.stamp(b"abc", Hash::leaf(b"abc"), 5, 9).unwrap();
        assert_eq!((hash, &*stored), (Hash::leaf(b"abc"), b"abc".as_slice()));
    }
}
