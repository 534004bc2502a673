//! The tlog primitives against work we did not write: transparency-dev/merkle's proof vectors and
//! Tessera's golden log (`../shared/vectors`, see its SOURCES.md).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sig_share_testdata::vectors;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sig_share_tlog::merkle::{self, MemoryTree};
use sig_share_tlog::tile::{self, TileId};
use sig_share_tlog::tiled::{MissingTile, TileError, TileReader, TiledTree, TreeEdge};
use sig_share_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, SignedCheckpoint, subtree};

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn b64(s: &str) -> Vec<u8> {
    BASE64.decode(s).expect("vector base64")
}

/// A leaf hash: must be 32 bytes, as the reference checks.
fn leaf(s: &str) -> Option<Hash> {
    Hash::from_slice(&b64(s))
}

/// A root: the reference only ever compares roots for equality, as opaque byte strings, so a
/// non-32-byte value maps injectively to a stand-in hash that can equal no computed root.
fn root(s: &str) -> Hash {
    let raw = b64(s);
    Hash::from_slice(&raw).unwrap_or_else(|| Hash::leaf(&[b"not-a-hash:".as_slice(), &raw].concat()))
}

fn proof(p: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    p.iter().flatten().map(|h| Hash::from_slice(&b64(h))).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inclusion {
    leaf_idx: u64,
    tree_size: Option<u64>,
    start: Option<u64>,
    end: Option<u64>,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consistency {
    size1: Option<u64>,
    size2: Option<u64>,
    start: Option<u64>,
    end: Option<u64>,
    size: Option<u64>,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

fn check_inclusion(v: &Inclusion) -> bool {
    let (Some(leaf), Some(proof)) = (leaf(&v.leaf_hash), proof(&v.proof)) else { return false };
    let root = root(&v.root);
    match (v.tree_size, v.start, v.end) {
        (Some(size), None, None) => merkle::verify_inclusion(v.leaf_idx, size, &leaf, &proof, &root).is_ok(),
        (None, Some(s), Some(e)) => subtree::verify_subtree_inclusion(v.leaf_idx, s, e, &leaf, &proof, &root).is_ok(),
        _ => panic!("unrecognised inclusion vector"),
    }
}

fn check_consistency(v: &Consistency) -> bool {
    let Some(proof) = proof(&v.proof) else { return false };
    let (r1, r2) = (root(&v.root1), root(&v.root2));
    match (v.size1, v.size2, v.start, v.end, v.size) {
        (Some(a), Some(b), None, None, None) => merkle::verify_consistency(a, b, &r1, &r2, &proof).is_ok(),
        (None, None, Some(s), Some(e), Some(n)) => {
            subtree::verify_subtree_consistency(s, e, n, &r1, &r2, &proof).is_ok()
        }
        _ => panic!("unrecognised consistency vector"),
    }
}

#[test]
fn transparency_dev_merkle_vectors() {
    let Some(dir) = vectors("merkle") else { return };
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    assert!(files.len() >= 500, "expected the full vector set, found {}", files.len());
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for f in &files {
        let kind = f.strip_prefix(&dir).unwrap().iter().next().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(f).unwrap();
        let (ok, want_err) = if kind.ends_with("inclusion") {
            let v: Inclusion = serde_json::from_str(&text).unwrap();
            (check_inclusion(&v), v.want_err)
        } else {
            let v: Consistency = serde_json::from_str(&text).unwrap();
            (check_consistency(&v), v.want_err)
        };
        let c = counts.entry(kind).or_default();
        if want_err {
            c.1 += 1
        } else {
            c.0 += 1
        }
        if ok == want_err {
            failures.push(format!("{}: verified={ok} want_err={want_err}", f.display()));
        }
    }
    eprintln!("merkle vectors (accept, reject) per kind: {counts:?}");
    assert!(failures.is_empty(), "{} of {} vectors disagree:\n{}", failures.len(), files.len(), failures.join("\n"));
    for kind in ["inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"] {
        let (a, r) = counts[kind];
        assert!(a > 0 && r > 0, "{kind}: needs both accepted and rejected vectors");
    }
}

/// Tessera's golden log read straight from its directory.
struct TesseraDir(PathBuf);

impl TileReader for TesseraDir {
    type Error = TileError;
    fn read_tile(&self, t: TileId) -> Result<Vec<u8>, TileError> {
        fs::read(self.0.join(t.path()))
            .map_err(|_| TileError::Missing(MissingTile { level: t.level(), index: t.index }))
    }
}

const TESSERA_SKEY: &str = "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";
const TESSERA_VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

fn tessera_entries(dir: &Path) -> Vec<Vec<u8>> {
    let t = TileId::entries(0, 15);
    let bundle = fs::read(dir.join(t.path())).unwrap();
    tile::parse_entry_bundle(&t, &bundle).unwrap().into_iter().map(<[u8]>::to_vec).collect()
}

#[test]
fn tessera_log_rebuilt_byte_for_byte() {
    let Some(dir) = vectors("tessera-log") else { return };
    let entries = tessera_entries(&dir);
    assert_eq!(entries.len(), 15);
    assert_eq!(entries[0], b"one");
    let signer = Ed25519Signer::from_skey(TESSERA_SKEY).unwrap();
    assert_eq!(signer.verifier().vkey(), TESSERA_VKEY);

    let mut edge = TreeEdge::empty();
    let cp0 = Checkpoint::new(signer.name(), 0, edge.root()).sign(&signer).to_text();
    assert_eq!(cp0.as_bytes(), fs::read(dir.join("checkpoint.0")).unwrap());
    for (i, e) in entries.iter().enumerate() {
        let written = edge.append([(Hash::leaf(e), e.as_slice())]).unwrap();
        let size = i as u64 + 1;
        // Every tile this append wrote is in Tessera's directory with the same bytes.
        for (id, t) in &written.hashes {
            assert_eq!(fs::read(dir.join(id.path())).unwrap(), tile::encode_hash_tile(t.hashes()), "{id}");
        }
        for (id, b) in &written.bundles {
            assert_eq!(&fs::read(dir.join(id.path())).unwrap(), b, "{id}");
        }
        assert_eq!(written.hashes.len() + written.bundles.len(), 2);
        // Our signature over our checkpoint reproduces Tessera's checkpoint exactly.
        let cp = Checkpoint::new(signer.name(), size, edge.root()).sign(&signer).to_text();
        assert_eq!(cp.as_bytes(), fs::read(dir.join(format!("checkpoint.{size}"))).unwrap(), "checkpoint.{size}");
    }
    assert_eq!(fs::read(dir.join("checkpoint")).unwrap(), fs::read(dir.join("checkpoint.15")).unwrap());
}

#[test]
fn tessera_log_tiles_read_and_verified() {
    let Some(dir) = vectors("tessera-log") else { return };
    let log = TesseraDir(dir.clone());
    let key = Ed25519Verifier::from_vkey(TESSERA_VKEY).unwrap();
    let entries = tessera_entries(&dir);
    let reference = MemoryTree { leaves: entries.iter().map(|e| Hash::leaf(e)).collect() };
    let mut checkpoints = Vec::new();
    for size in 0..=15u64 {
        let signed =
            SignedCheckpoint::verify(&fs::read(dir.join(format!("checkpoint.{size}"))).unwrap(), &key).unwrap();
        let cp = signed.checkpoint;
        assert_eq!(cp.size, size);
        // The edge rebuilt from the tiles at this size gives the signed root...
        let edge = TreeEdge::load(&log, size).unwrap();
        assert_eq!(edge.root(), cp.root, "root at size {size}");
        // ...and every entry's inclusion proof, built from the tiles, verifies against it.
        let tree = TiledTree::new(&log, size);
        for i in 0..size {
            let p = merkle::inclusion_proof(&tree, i, size).unwrap();
            assert_eq!(p, merkle::inclusion_proof(&reference, i, size).unwrap());
            merkle::verify_inclusion(i, size, &reference.leaves[i as usize], &p, &cp.root).unwrap();
        }
        checkpoints.push(cp);
    }
    // Every checkpoint is consistent with every later one, by proofs built from the tiles.
    let tree = TiledTree::new(&log, 15);
    for a in &checkpoints[1..] {
        for b in checkpoints.iter().filter(|b| b.size >= a.size) {
            let p = merkle::consistency_proof(&tree, a.size, b.size).unwrap();
            merkle::verify_consistency(a.size, b.size, &a.root, &b.root, &p).unwrap();
        }
    }
    // A tampered checkpoint is refused.
    let mut bad = fs::read(dir.join("checkpoint.15")).unwrap();
    bad[27] ^= 1;
    assert!(SignedCheckpoint::verify(&bad, &key).is_err());
}
