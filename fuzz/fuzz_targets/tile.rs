//! Arbitrary bytes as what a tlog-tiles or static-ct-api log serves, the first byte picking:
//! a tile path, a hash tile, an entry bundle, a data tile, an SCT list, or inclusion,
//! consistency and subtree proofs (a real proof mutated, or sizes, indices and hashes of any
//! value, `u64::MAX` included).
//!
//! Invariants: paths, tiles, bundles, data-tile leaves and SCTs re-encode to the bytes they came
//! from and hold exactly the items their width says; a proof that verifies against the tree's
//! root proves the tree's own leaf, the tree's own earlier root, the tree's own subtree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sig_share_fuzz::{seeds, tlog};

fuzz_target!(
    init: {
        seeds::write_if_asked("tile", tlog::tile_seeds);
    },
    |data: &[u8]| {
        tlog::check_tile(data);
    }
);
