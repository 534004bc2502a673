//! C2SP tlog-tiles: tile coordinates, their paths, widths at a tree size, and entry bundles.
//!
//! A hash tile at level `L` holds up to 256 hashes of complete subtrees of `256^L` leaves. Entry
//! bundles hold up to 256 entries, each prefixed with its length as a big-endian `u16`; the data
//! tiles of a static-ct-api log hold up to 256 self-delimiting `TileLeaf`s instead (see
//! [`BundleFormat`]).

use std::fmt;

use crate::hash::{HASH_SIZE, Hash};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels covered by one tile level: `log2(TILE_WIDTH)`.
pub const TILE_HEIGHT: u8 = 8;
/// The deepest tile level: a level-8 hash covers `2^64` leaves, beyond any `u64` size.
pub const MAX_LEVEL: u8 = 7;
/// The largest entry an entry bundle can hold.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum TileKind {
    /// Hashes of complete subtrees at tile level `0..=MAX_LEVEL`.
    Hashes(u8),
    /// The entries themselves (an entry bundle), parallel to the level-0 hash tiles.
    Entries,
    /// A static-ct-api data tile: the entries of a certificate log, parallel to the level-0 tiles.
    Data,
}

/// How a log stores its entries next to the level-0 hash tiles.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum BundleFormat {
    /// tlog-tiles entry bundles at `tile/entries/N`: each entry prefixed by its `u16` length.
    #[default]
    TlogTiles,
    /// static-ct-api data tiles at `tile/data/N`: `TileLeaf` structures, back to back.
    StaticCt,
}

impl BundleFormat {
    /// The tile kind the bundles are stored under.
    pub fn kind(self) -> TileKind {
        match self {
            BundleFormat::TlogTiles => TileKind::Entries,
            BundleFormat::StaticCt => TileKind::Data,
        }
    }

    /// The bundle with `index` holding `width` entries.
    pub fn tile(self, index: u64, width: u16) -> TileId {
        TileId { kind: self.kind(), index, width }
    }

    /// Appends one entry to a bundle under construction.
    pub fn push(self, bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), TileDataError> {
        match self {
            BundleFormat::TlogTiles => push_bundle_entry(bundle, entry),
            BundleFormat::StaticCt => {
                // The entry must be exactly one TileLeaf, or the bundle would not split back.
                match crate::static_ct::TileLeaf::parse(entry) {
                    Ok((_, [])) => {}
                    _ => return Err(TileDataError::NotATileLeaf),
                }
                bundle.extend_from_slice(entry);
                Ok(())
            }
        }
    }

    /// Splits a bundle into its entries, checking that it holds exactly `tile.width` of them.
    pub fn split<'a>(self, tile: &TileId, data: &'a [u8]) -> Result<Vec<&'a [u8]>, TileDataError> {
        match self {
            BundleFormat::TlogTiles => parse_entry_bundle(tile, data),
            BundleFormat::StaticCt => {
                let entries = crate::static_ct::split_data_tile(data)
                    .map_err(|_| TileDataError::Truncated { tile: tile.path() })?;
                if entries.len() != usize::from(tile.width) {
                    let (got, want) = (entries.len(), usize::from(tile.width));
                    return Err(TileDataError::EntryCount { tile: tile.path(), got, want });
                }
                Ok(entries)
            }
        }
    }
}

/// One tile: its kind, its index within its level, and how many items it holds (1..=256).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TileId {
    /// Hash level or entry bundle.
    pub kind: TileKind,
    /// Position within the level.
    pub index: u64,
    /// Number of hashes or entries: 256 for a full tile, less for a partial one.
    pub width: u16,
}

/// Why a tile path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tlog-tiles tile path: {0}")]
pub struct TilePathError(pub String);

impl TileId {
    /// A hash tile.
    pub fn hashes(level: u8, index: u64, width: u16) -> TileId {
        TileId { kind: TileKind::Hashes(level), index, width }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> TileId {
        TileId { kind: TileKind::Entries, index, width }
    }

    /// Whether the tile holds all 256 items.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tile's level, counting entry bundles as level 0.
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(l) => l,
            TileKind::Entries | TileKind::Data => 0,
        }
    }

    /// The path relative to the log prefix: `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` or
    /// `tile/data/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut s = String::with_capacity(32);
        s.push_str("tile/");
        match self.kind {
            TileKind::Hashes(l) => s.push_str(&l.to_string()),
            TileKind::Entries => s.push_str("entries"),
            TileKind::Data => s.push_str("data"),
        }
        s.push('/');
        push_index(&mut s, self.index);
        if !self.is_full() {
            s.push_str(".p/");
            s.push_str(&self.width.to_string());
        }
        s
    }

    /// Parses a path relative to the log prefix, accepting only the canonical spelling.
    pub fn parse_path(path: &str) -> Result<TileId, TilePathError> {
        let err = || TilePathError(truncate(path));
        let rest = path.strip_prefix("tile/").ok_or_else(err)?;
        let (level, rest) = rest.split_once('/').ok_or_else(err)?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else if level == "data" {
            TileKind::Data
        } else {
            let l = parse_decimal(level).ok_or_else(err)?;
            if l > u64::from(MAX_LEVEL) {
                return Err(err());
            }
            TileKind::Hashes(l as u8)
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, w)) => {
                let w = parse_decimal(w).ok_or_else(err)?;
                if w == 0 || w >= TILE_WIDTH {
                    return Err(err());
                }
                (index, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = parse_index(index_part).ok_or_else(err)?;
        let tile = TileId { kind, index, width };
        // Reject leading zeros in groups and other non-canonical spellings.
        if tile.path() != path {
            return Err(err());
        }
        Ok(tile)
    }

    /// The tiles at `kind` that describe a tree of `size` leaves: every full tile, then the
    /// partial tile if there is one.
    pub fn count_at(kind: TileKind, size: u64) -> u64 {
        let items = items_at(kind, size);
        items.div_ceil(TILE_WIDTH)
    }

    /// This tile as it is in a tree of `size` leaves, or `None` if the tree has no items in it.
    pub fn at_size(kind: TileKind, index: u64, size: u64) -> Option<TileId> {
        let items = items_at(kind, size);
        let start = index.checked_mul(TILE_WIDTH)?;
        if start >= items {
            return None;
        }
        let width = (items - start).min(TILE_WIDTH) as u16;
        Some(TileId { kind, index, width })
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// How many hashes (or entries) a tree of `size` leaves has at a tile level.
pub fn items_at(kind: TileKind, size: u64) -> u64 {
    match kind {
        TileKind::Entries | TileKind::Data => size,
        TileKind::Hashes(l) => size.checked_shr(u32::from(l) * u32::from(TILE_HEIGHT)).unwrap_or(0),
    }
}

/// The number of hash tile levels a tree of `size` leaves uses (0 for the empty tree).
pub fn levels_at(size: u64) -> u8 {
    (0..=MAX_LEVEL).take_while(|&l| items_at(TileKind::Hashes(l), size) > 0).count() as u8
}

/// The tiles that a tree growing from `old` to `new` leaves writes, at every level and for the
/// entries: each tile whose content changes, at its width in the new tree.
pub fn tiles_to_write(old: u64, new: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let kinds = std::iter::once(TileKind::Entries).chain((0..=MAX_LEVEL).map(TileKind::Hashes));
    for kind in kinds {
        let (a, b) = (items_at(kind, old), items_at(kind, new));
        if b <= a {
            continue;
        }
        for index in a / TILE_WIDTH..=(b - 1) / TILE_WIDTH {
            out.extend(TileId::at_size(kind, index, new));
        }
    }
    out
}

fn push_index(s: &mut String, n: u64) {
    // 1234067 → x001/x234/067: groups of three digits, every group but the last prefixed by x.
    let mut groups = Vec::with_capacity(7);
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            s.push_str(&format!("x{g:03}/"));
        } else {
            s.push_str(&format!("{g:03}"));
        }
    }
}

fn parse_index(s: &str) -> Option<u64> {
    let mut n: u64 = 0;
    let mut parts = s.split('/').peekable();
    while let Some(part) = parts.next() {
        let digits = if parts.peek().is_some() { part.strip_prefix('x')? } else { part };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(80).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Reads a hash tile's bytes: exactly `width` hashes.
pub fn parse_hash_tile(tile: &TileId, data: &[u8]) -> Result<Vec<Hash>, TileDataError> {
    let want = usize::from(tile.width) * HASH_SIZE;
    if data.len() != want {
        return Err(TileDataError::Length { tile: tile.path(), got: data.len(), want });
    }
    Ok(data.chunks_exact(HASH_SIZE).map(|c| Hash(c.try_into().expect("chunk of 32"))).collect())
}

/// Writes hashes as a hash tile's bytes.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
    out
}

/// Why tile bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileDataError {
    /// A hash tile of the wrong length.
    #[error("{tile}: {got} bytes where {want} are expected")]
    Length { tile: String, got: usize, want: usize },
    /// An entry bundle that does not hold the number of entries its width says.
    #[error("{tile}: entry bundle holds {got} entries where {want} are expected")]
    EntryCount { tile: String, got: usize, want: usize },
    /// An entry bundle cut off inside an entry.
    #[error("{tile}: entry bundle is truncated")]
    Truncated { tile: String },
    /// An entry too large for a bundle.
    #[error("entry of {0} bytes is larger than the {MAX_ENTRY_SIZE}-byte limit of entry bundles")]
    EntryTooLarge(usize),
    /// An entry for a data tile that is not exactly one static-ct-api `TileLeaf`.
    #[error("a data tile entry must be exactly one TileLeaf")]
    NotATileLeaf,
}

/// Appends one entry to an entry bundle under construction.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), TileDataError> {
    let len = u16::try_from(entry.len()).map_err(|_| TileDataError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries, checking that it holds exactly `tile.width` of them.
pub fn parse_entry_bundle<'a>(tile: &TileId, data: &'a [u8]) -> Result<Vec<&'a [u8]>, TileDataError> {
    let mut entries = Vec::with_capacity(usize::from(tile.width));
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(TileDataError::Truncated { tile: tile.path() });
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(TileDataError::Truncated { tile: tile.path() });
        }
        entries.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    if entries.len() != usize::from(tile.width) {
        return Err(TileDataError::EntryCount { tile: tile.path(), got: entries.len(), want: usize::from(tile.width) });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(TileId::hashes(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(TileId::hashes(1, 0, 15).path(), "tile/1/000.p/15");
        assert_eq!(TileId::entries(1000, 256).path(), "tile/entries/x001/000");
        assert_eq!(TileId::entries(5, 1).path(), "tile/entries/005.p/1");
    }

    #[test]
    fn parse_round_trips_and_rejects_non_canonical() {
        for t in [
            TileId::hashes(0, 1_234_067, 256),
            TileId::hashes(3, 0, 7),
            TileId::entries(999, 255),
            TileId::entries(u64::MAX / 2, 1),
            BundleFormat::StaticCt.tile(12, 256),
            BundleFormat::StaticCt.tile(1000, 3),
        ] {
            assert_eq!(TileId::parse_path(&t.path()), Ok(t));
        }
        for bad in [
            "",
            "tile/",
            "tile/0/",
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/00/001",
            "tile/8/000",
            "tile/-1/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/015",
            "tile/0/000.p/",
            "tile/0/000.p/1/",
            "tile/entries/000.p/x",
            "tile/entries/../../etc/passwd",
            "tile/0/x1000/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/000",
            "tile/data/000.p/0",
            "tile/datas/000",
            "tile/0/%30%30%30",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn widths_at_a_size() {
        let s = 256 * 256 + 256 * 3 + 17;
        assert_eq!(TileId::at_size(TileKind::Hashes(0), 0, s), Some(TileId::hashes(0, 0, 256)));
        assert_eq!(TileId::at_size(TileKind::Hashes(0), 259, s), Some(TileId::hashes(0, 259, 17)));
        assert_eq!(TileId::at_size(TileKind::Hashes(0), 260, s), None);
        assert_eq!(TileId::at_size(TileKind::Hashes(1), 1, s), Some(TileId::hashes(1, 1, 3)));
        assert_eq!(TileId::at_size(TileKind::Hashes(2), 0, s), Some(TileId::hashes(2, 0, 1)));
        assert_eq!(levels_at(s), 3);
        assert_eq!(levels_at(0), 0);
        assert_eq!(levels_at(255), 1);
    }

    #[test]
    fn tiles_to_write_covers_growth() {
        let w = tiles_to_write(250, 520);
        assert_eq!(
            w,
            vec![
                TileId::entries(0, 256),
                TileId::entries(1, 256),
                TileId::entries(2, 8),
                TileId::hashes(0, 0, 256),
                TileId::hashes(0, 1, 256),
                TileId::hashes(0, 2, 8),
                TileId::hashes(1, 0, 2),
            ]
        );
        assert!(tiles_to_write(7, 7).is_empty());
    }

    #[test]
    fn entry_bundles() {
        let mut b = Vec::new();
        push_bundle_entry(&mut b, b"one").unwrap();
        push_bundle_entry(&mut b, b"").unwrap();
        let t = TileId::entries(0, 2);
        assert_eq!(parse_entry_bundle(&t, &b).unwrap(), vec![&b"one"[..], &b""[..]]);
        assert!(parse_entry_bundle(&TileId::entries(0, 3), &b).is_err());
        assert!(parse_entry_bundle(&t, &b[..b.len() - 1]).is_err());
        assert!(push_bundle_entry(&mut b, &vec![0; 65536]).is_err());
    }
}
