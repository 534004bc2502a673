//! The transparency log's parsers (`checkpoint`, `tile` targets): signed notes, checkpoints,
//! cosignatures, tlog-proofs, tile paths, hash tiles, entry bundles, static-ct-api data tiles and
//! SCTs, and inclusion, consistency and subtree proofs as a hostile log would send them.
//!
//! The log and its two witnesses sign with keys made here; the checkpoints they signed (and the
//! tree they describe) are all this file ever signs, so anything else that verifies is a forgery.

use std::sync::OnceLock;

use sig_share_tlog::checkpoint::{Checkpoint, SignedCheckpoint};
use sig_share_tlog::hash::{HASH_SIZE, Hash};
use sig_share_tlog::merkle::{self, MemoryTree};
use sig_share_tlog::note::{Ed25519Signer, Ed25519Verifier, Note, NoteVerifier};
use sig_share_tlog::static_ct::{self, DigitallySigned, Sct, TileLeaf};
use sig_share_tlog::subtree;
use sig_share_tlog::tile::{self, BundleFormat, TileId, TileKind};
use sig_share_tlog::tlog_proof::TlogProof;

/// The log's origin (its key's name).
pub const ORIGIN: &str = "fuzz.example/log";
/// The leaves of the tree the log signs checkpoints of.
pub const TREE_LEAVES: u64 = 70;
/// When the witnesses cosigned.
pub const COSIGNED_AT: u64 = 1_800_000_000;

/// The log, its witnesses, the tree, and every note it signed.
pub struct TlogFixture {
    pub log: Ed25519Signer,
    pub log_verifier: Ed25519Verifier,
    pub witnesses: Vec<Ed25519Signer>,
    pub witness_verifiers: Vec<Ed25519Verifier>,
    /// The tree's leaf hashes.
    pub tree: MemoryTree,
    /// `roots[n]`: the root of the tree's first `n` leaves.
    pub roots: Vec<Hash>,
    /// The checkpoint texts the log signed.
    pub signed_texts: Vec<String>,
    /// The signed notes (log signature, then each witness's cosignature), as text.
    pub notes: Vec<String>,
}

/// The leaf data at `i`.
pub fn leaf_data(i: u64) -> Vec<u8> {
    format!("fuzz entry {i}").into_bytes()
}

/// Sizes the log signed checkpoints for.
const SIGNED_SIZES: [u64; 6] = [1, 2, 7, 8, 64, TREE_LEAVES];

pub fn tlog_fixture() -> &'static TlogFixture {
    static F: OnceLock<TlogFixture> = OnceLock::new();
    F.get_or_init(|| {
        let log = Ed25519Signer::from_seed(ORIGIN, &[1; 32]).expect("log key");
        let witnesses = vec![
            Ed25519Signer::from_seed("witness.example/w1", &[2; 32]).expect("witness key"),
            Ed25519Signer::from_seed("witness.example/w2", &[3; 32]).expect("witness key"),
        ];
        let tree = MemoryTree { leaves: (0..TREE_LEAVES).map(|i| Hash::leaf(&leaf_data(i))).collect() };
        let roots = (0..=TREE_LEAVES as usize).map(|n| merkle::naive_root(&tree.leaves[..n])).collect::<Vec<_>>();
        let mut signed_texts = Vec::new();
        let mut notes = Vec::new();
        for size in SIGNED_SIZES {
            let mut cp = Checkpoint::new(ORIGIN, size, roots[size as usize]);
            if size == 8 {
                cp.extensions.push("fuzz-extension value".into());
            }
            let text = cp.to_text();
            let mut note = cp.sign(&log);
            for (i, w) in witnesses.iter().enumerate() {
                note.push_signature(w.cosign(COSIGNED_AT + i as u64, &text));
            }
            signed_texts.push(text);
            notes.push(note.to_text());
        }
        TlogFixture {
            log_verifier: log.verifier(),
            witness_verifiers: witnesses.iter().map(Ed25519Signer::cosigner_verifier).collect(),
            log,
            witnesses,
            tree,
            roots,
            signed_texts,
            notes,
        }
    })
}

/// Seeds for the `checkpoint` target: the signed notes, and tlog-proofs for some leaves.
pub fn checkpoint_seeds() -> Vec<Vec<u8>> {
    let f = tlog_fixture();
    let mut seeds: Vec<Vec<u8>> = f.notes.iter().map(|n| n.clone().into_bytes()).collect();
    for (n, index) in [(5usize, 0u64), (5, 69), (4, 33), (2, 6)] {
        let note = Note::parse(f.notes[n].as_bytes()).expect("own note");
        let size = Checkpoint::parse(note.text()).expect("own checkpoint").size;
        let proof = merkle::inclusion_proof(&f.tree, index, size).expect("proof");
        seeds.push(TlogProof::new(index, proof, &note, (index == 33).then(|| b"extra data".to_vec())).to_text());
    }
    seeds
}

/// Everything the `checkpoint` target checks for one input.
pub fn check_checkpoint(data: &[u8]) {
    let f = tlog_fixture();
    // A note parses back to itself: one note, one spelling (signature lines are canonical base64).
    if let Ok(note) = Note::parse(data) {
        let text = note.to_text();
        assert_eq!(text.as_bytes(), data, "a note re-encodes to other bytes");
        assert_eq!(Note::parse(text.as_bytes()).expect("re-encoded note parses"), note);
        if let Ok(cp) = Checkpoint::parse(note.text()) {
            assert_eq!(cp.to_text(), note.text(), "a checkpoint re-encodes to other text");
        }
        // Witnesses alone: only what a witness here cosigned verifies.
        let witnesses: Vec<&dyn NoteVerifier> = f.witness_verifiers.iter().map(|v| v as &dyn NoteVerifier).collect();
        if let Ok(verified) = note.verify(&witnesses) {
            assert!(
                f.signed_texts.iter().any(|t| t == note.text()),
                "a forged cosignature verified: {:?}",
                note.text()
            );
            for v in &verified {
                let t = v.timestamp.expect("a cosignature has a time");
                assert!((COSIGNED_AT..COSIGNED_AT + 2).contains(&t), "a cosignature time nobody signed: {t}");
            }
        }
    }
    if let Ok(signed) = SignedCheckpoint::verify(data, &f.log_verifier) {
        check_signed(f, &signed);
        let witnesses: Vec<&dyn NoteVerifier> = f.witness_verifiers.iter().map(|v| v as &dyn NoteVerifier).collect();
        let _ = signed.cosignatures(&witnesses);
    }
    // A witness key is not the log's key, however the note names it.
    for w in &f.witness_verifiers {
        assert!(SignedCheckpoint::verify(data, w).is_err(), "a witness's cosignature passed as the log's signature");
    }
    if let Ok(proof) = TlogProof::parse(data) {
        assert_eq!(proof.to_text(), data, "a tlog-proof re-encodes to other bytes");
        let leaf = Hash::leaf(&leaf_data(proof.index));
        if let Ok(signed) = proof.verify(&leaf, &f.log_verifier) {
            check_signed(f, &signed);
            assert!(proof.index < signed.checkpoint.size);
        }
        // The same proof never proves a leaf the tree does not have there.
        let other = Hash::leaf(b"not in the tree");
        assert!(proof.verify(&other, &f.log_verifier).is_err(), "a tlog-proof proved a leaf the tree does not hold");
    }
}

fn check_signed(f: &TlogFixture, signed: &SignedCheckpoint) {
    let text = signed.note.text();
    assert!(f.signed_texts.iter().any(|t| t == text), "a checkpoint the log never signed verified: {text:?}");
    let cp = &signed.checkpoint;
    assert_eq!(cp.origin, ORIGIN);
    assert_eq!(cp.root, f.roots[cp.size as usize]);
}

/// A little reader over the fuzzer's bytes, giving zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0; 8];
        b.iter_mut().for_each(|x| *x = self.u8());
        u64::from_be_bytes(b)
    }

    /// A size: mostly within or near the tree, sometimes any `u64`.
    fn size(&mut self) -> u64 {
        match self.u8() % 4 {
            0 => self.u64(),
            1 => u64::MAX - u64::from(self.u8()),
            _ => u64::from(self.u8()) % (TREE_LEAVES + 3),
        }
    }

    fn hash(&mut self) -> Hash {
        let mut h = [0; HASH_SIZE];
        h.iter_mut().for_each(|x| *x = self.u8());
        Hash(h)
    }
}

/// Mutates a real proof as the fuzzer's bytes say: flip a bit, drop, duplicate, swap, append, or
/// replace a hash.
fn mutate(proof: &mut Vec<Hash>, b: &mut Bytes<'_>) {
    for _ in 0..(b.u8() % 4) {
        let op = b.u8();
        let at = usize::from(b.u8());
        let len = proof.len();
        match op % 6 {
            0 if len > 0 => proof[at % len].0[usize::from(b.u8()) % HASH_SIZE] ^= 1 << (b.u8() % 8),
            1 if len > 0 => {
                proof.remove(at % len);
            }
            2 if len > 0 => proof.insert(at % (len + 1), proof[at % len]),
            3 if len > 1 => proof.swap(at % len, usize::from(b.u8()) % len),
            4 => proof.push(b.hash()),
            5 if len > 0 => proof[at % len] = b.hash(),
            _ => {}
        }
    }
}

/// Seeds for the `tile` target: one per mode, with real tile bytes after the mode's header.
pub fn tile_seeds() -> Vec<Vec<u8>> {
    let f = tlog_fixture();
    let mut seeds = Vec::new();
    // Mode 0: paths.
    for p in ["tile/0/000", "tile/1/x001/234.p/17", "tile/entries/005.p/3", "tile/data/x123/x456/789"] {
        seeds.push([&[0u8][..], p.as_bytes()].concat());
    }
    // Mode 1: a hash tile of 3 and of 70 hashes.
    let hashes = tile::encode_hash_tile(&f.tree.leaves);
    seeds.push([&[1u8, 0, 0, 70][..], &hashes].concat());
    // Mode 2: an entry bundle of 4 entries.
    let mut bundle = Vec::new();
    for i in 0..4 {
        tile::push_bundle_entry(&mut bundle, &leaf_data(i)).expect("small entry");
    }
    seeds.push([&[2u8, 0, 4][..], &bundle].concat());
    // Mode 3: a static-ct-api data tile of one X.509 and one precertificate leaf; mode 4 its SCT.
    let leaves = data_tile_leaves();
    let mut data = Vec::new();
    for l in &leaves {
        l.encode(&mut data).expect("encodes");
    }
    seeds.push([&[3u8, 0, 2][..], &data].concat());
    let sct = Sct {
        log_id: [7; 32],
        timestamp: 1_800_000_000_000,
        extensions: static_ct::leaf_index_extensions(42).expect("index"),
        signature: DigitallySigned::ecdsa_sha256(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
    };
    let sct = sct.encode().expect("encodes");
    seeds.push([&[4u8][..], &static_ct::encode_sct_list(&[sct.clone(), sct]).expect("encodes")].concat());
    // Modes 5-7: proofs (index/sizes then mutations), from the real ones.
    seeds.push(vec![5, 2, 5, 2, 30, 1, 0, 7, 3]);
    seeds.push(vec![6, 2, 8, 2, 64, 1, 4, 3, 0, 1]);
    seeds.push(vec![7, 2, 16, 2, 32, 2, 70, 0]);
    seeds
}

fn data_tile_leaves() -> Vec<TileLeaf> {
    use static_ct::{SignedEntry, TimestampedEntry};
    let x509 = TileLeaf {
        entry: TimestampedEntry {
            timestamp: 1_800_000_000_000,
            entry: SignedEntry::X509(b"not really a certificate".to_vec()),
            extensions: static_ct::leaf_index_extensions(0).expect("index"),
        },
        pre_certificate: None,
        chain: vec![[9; 32]],
    };
    let pre = TileLeaf {
        entry: TimestampedEntry {
            timestamp: 1_800_000_000_001,
            entry: SignedEntry::Precert { issuer_key_hash: [5; 32], tbs_certificate: b"tbs".to_vec() },
            extensions: static_ct::leaf_index_extensions(1).expect("index"),
        },
        pre_certificate: Some(b"precertificate".to_vec()),
        chain: vec![[9; 32], [8; 32]],
    };
    vec![x509, pre]
}

/// Everything the `tile` target checks for one input: the first byte picks the mode.
pub fn check_tile(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 8 {
        0 => check_path(rest),
        1 => {
            let mut b = Bytes(rest);
            let tile = TileId::hashes(b.u8() % 9, u64::from(b.u8()), b.u16());
            if let Ok(hashes) = tile::parse_hash_tile(&tile, b.0) {
                assert_eq!(hashes.len(), usize::from(tile.width));
                assert_eq!(tile::encode_hash_tile(&hashes), b.0);
            }
        }
        2 | 3 => {
            let mut b = Bytes(rest);
            let format = if mode % 8 == 2 { BundleFormat::TlogTiles } else { BundleFormat::StaticCt };
            let tile = format.tile(u64::from(b.u8()), b.u16());
            if let Ok(entries) = format.split(&tile, b.0) {
                assert_eq!(entries.len(), usize::from(tile.width));
                let mut again = Vec::new();
                for e in &entries {
                    format.push(&mut again, e).expect("a split entry pushes back");
                }
                assert_eq!(again, b.0, "a bundle re-encodes to other bytes");
                if format == BundleFormat::StaticCt {
                    for e in entries {
                        let (leaf, rest) = TileLeaf::parse(e).expect("split leaves parse");
                        assert!(rest.is_empty());
                        let mut enc = Vec::new();
                        leaf.encode(&mut enc).expect("a parsed leaf encodes");
                        assert_eq!(enc, e, "a data tile leaf re-encodes to other bytes");
                        let _ = leaf.entry.leaf_hash();
                        let _ = leaf.entry.sct_signed_data();
                        if let static_ct::SignedEntry::X509(_) = leaf.entry.entry {
                            let _ = static_ct::parse_leaf_index(&leaf.entry.extensions);
                        }
                    }
                }
            }
        }
        4 => {
            if let Ok(list) = static_ct::parse_sct_list(rest) {
                assert_eq!(static_ct::encode_sct_list(&list).expect("re-encodes"), rest);
                for sct in list {
                    if let Ok(parsed) = Sct::parse(&sct) {
                        assert_eq!(parsed.encode().expect("re-encodes"), sct, "an SCT re-encodes to other bytes");
                        let _ = static_ct::parse_leaf_index(&parsed.extensions);
                    }
                }
            }
            if let Ok(parsed) = Sct::parse(rest) {
                assert_eq!(parsed.encode().expect("re-encodes"), rest);
            }
            if let Ok(ds) = DigitallySigned::parse(rest) {
                let mut enc = Vec::new();
                ds.encode(&mut enc).expect("re-encodes");
                assert_eq!(enc, rest);
            }
            if let Some(i) = static_ct::parse_leaf_index(rest) {
                assert!(i <= static_ct::MAX_LEAF_INDEX);
            }
        }
        5 => check_inclusion(Bytes(rest)),
        6 => check_consistency(Bytes(rest)),
        _ => check_subtree(Bytes(rest)),
    }
}

fn check_path(rest: &[u8]) {
    let Ok(path) = std::str::from_utf8(rest) else { return };
    if let Ok(tile) = TileId::parse_path(path) {
        assert_eq!(tile.path(), path, "a tile path parses to another tile");
        assert!(tile.width >= 1 && u64::from(tile.width) <= tile::TILE_WIDTH);
        if let TileKind::Hashes(l) = tile.kind {
            assert!(l <= tile::MAX_LEVEL);
        }
    }
}

/// Inclusion: a real proof mutated, or sizes, indices and hashes as the fuzzer gives them.
/// Whatever verifies must be the tree's own leaf under the tree's own root.
fn check_inclusion(mut b: Bytes<'_>) {
    let f = tlog_fixture();
    let hostile = b.u8() % 3 == 0;
    let size = b.size();
    let index = b.size();
    let in_tree = size <= TREE_LEAVES && index < size;
    let (leaf, root, mut proof) = if hostile || !in_tree {
        let n = usize::from(b.u8() % 70);
        (b.hash(), b.hash(), (0..n).map(|_| b.hash()).collect())
    } else {
        let proof = merkle::inclusion_proof(&f.tree, index, size).expect("in range");
        (f.tree.leaves[index as usize], f.roots[size as usize], proof)
    };
    mutate(&mut proof, &mut b);
    let ok = merkle::verify_inclusion(index, size, &leaf, &proof, &root).is_ok();
    if let Ok(r) = merkle::root_from_inclusion_proof(index, size, &leaf, &proof) {
        assert_eq!(ok, r == root);
    } else {
        assert!(!ok);
    }
    if ok && in_tree && root == f.roots[size as usize] {
        assert_eq!(leaf, f.tree.leaves[index as usize], "an inclusion proof proved a leaf the tree does not hold");
    }
}

/// Consistency: the same, between two sizes.
fn check_consistency(mut b: Bytes<'_>) {
    let f = tlog_fixture();
    let hostile = b.u8() % 3 == 0;
    let first = b.size();
    let second = b.size();
    let in_tree = first <= second && second <= TREE_LEAVES;
    let (first_root, second_root, mut proof) = if hostile || !in_tree {
        let n = usize::from(b.u8() % 70);
        (b.hash(), b.hash(), (0..n).map(|_| b.hash()).collect())
    } else {
        let proof = merkle::consistency_proof(&f.tree, first, second).expect("in range");
        (f.roots[first as usize], f.roots[second as usize], proof)
    };
    mutate(&mut proof, &mut b);
    // Half the time the first root is another tree's (a fork the log hides).
    let first_root = if b.u8() % 2 == 0 { first_root } else { b.hash() };
    let ok = merkle::verify_consistency(first, second, &first_root, &second_root, &proof).is_ok();
    if ok && in_tree && first > 0 && second_root == f.roots[second as usize] {
        assert_eq!(first_root, f.roots[first as usize], "a consistency proof proved a fork");
    }
}

/// Subtree inclusion and consistency (Merkle Tree Certificates) with hostile ranges.
fn check_subtree(mut b: Bytes<'_>) {
    let f = tlog_fixture();
    let start = b.size();
    let end = b.size();
    let size = b.size();
    let index = b.size();
    let n = usize::from(b.u8() % 70);
    let proof: Vec<Hash> = (0..n).map(|_| b.hash()).collect();
    let (leaf, root) = (b.hash(), b.hash());
    let _ = subtree::is_valid_subtree(start, end);
    let _ = subtree::verify_subtree_inclusion(index, start, end, &leaf, &proof, &root);
    let _ = subtree::verify_subtree_consistency(start, end, size, &leaf, &root, &proof);
    // And real subtree proofs, mutated: what verifies is the tree's own subtree.
    if start < end && end <= size && size <= TREE_LEAVES && subtree::is_valid_subtree(start, end) {
        let mut proof = subtree::subtree_consistency_proof(&f.tree, start, end, size).expect("valid subtree");
        mutate(&mut proof, &mut b);
        let sub_root = if b.u8() % 2 == 0 { merkle::range_root(&f.tree, start, end).expect("in tree") } else { leaf };
        if subtree::verify_subtree_consistency(start, end, size, &sub_root, &f.roots[size as usize], &proof).is_ok() {
            assert_eq!(
                sub_root,
                merkle::range_root(&f.tree, start, end).expect("in tree"),
                "a subtree consistency proof proved a subtree the tree does not hold"
            );
        }
    }
}
