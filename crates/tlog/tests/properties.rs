//! Property tests: tiled appends, roots and proofs agree with a naive RFC 9162 reference tree for
//! random sizes, indices and batch splits, and tampered proofs never verify.

use proptest::prelude::*;
use sig_share_tlog::Hash;
use sig_share_tlog::merkle::{self, MemoryTree, naive_root};
use sig_share_tlog::tile;
use sig_share_tlog::tiled::TreeEdge;

fn leaves(n: usize, salt: u64) -> Vec<(Hash, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let e = format!("{salt}:{i}").into_bytes();
            (Hash::leaf(&e), e)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tiled_appends_match_the_reference(
        salt in any::<u64>(),
        batches in proptest::collection::vec(1usize..700, 1..8),
        probes in proptest::collection::vec(any::<u64>(), 4),
    ) {
        let total: usize = batches.iter().sum();
        let all = leaves(total, salt);
        let hashes: Vec<Hash> = all.iter().map(|(h, _)| *h).collect();
        let mut edge = TreeEdge::empty();
        let mut start = 0;
        let mut prev = (0u64, Hash::empty());
        for b in batches {
            let before = edge.size();
            let out = edge.append(all[start..start + b].iter().map(|(h, e)| (*h, e.as_slice()))).unwrap();
            start += b;
            let size = edge.size();
            let want_root = naive_root(&hashes[..start]);
            prop_assert_eq!(edge.root(), want_root);
            let mut ids: Vec<_> = out.hashes.iter().map(|(id, _)| *id).chain(out.bundles.iter().map(|(id, _)| *id)).collect();
            ids.sort();
            let mut want = tile::tiles_to_write(before, size);
            want.sort();
            prop_assert_eq!(ids, want);

            let mut set = edge.tile_set();
            for (id, t) in &out.hashes {
                set.insert(id.level(), id.index, t.clone());
            }
            let reference = MemoryTree { leaves: hashes[..start].to_vec() };
            for p in &probes {
                let i = before + p % (size - before);
                let proof = merkle::inclusion_proof(&set, i, size).unwrap();
                prop_assert_eq!(&proof, &merkle::inclusion_proof(&reference, i, size).unwrap());
                merkle::verify_inclusion(i, size, &hashes[i as usize], &proof, &want_root).unwrap();
            }
            if prev.0 > 0 {
                let c = merkle::consistency_proof(&reference, prev.0, size).unwrap();
                merkle::verify_consistency(prev.0, size, &prev.1, &want_root, &c).unwrap();
            }
            prev = (size, want_root);
        }
    }

    #[test]
    fn tampered_proofs_never_verify(
        size in 2u64..300,
        a in any::<u64>(),
        b in any::<u64>(),
        flip in any::<usize>(),
        bit in 0u8..8,
    ) {
        let hashes: Vec<Hash> = leaves(size as usize, a).into_iter().map(|(h, _)| h).collect();
        let t = MemoryTree { leaves: hashes.clone() };
        let root = naive_root(&hashes);
        let i = a % size;
        let mut p = merkle::inclusion_proof(&t, i, size).unwrap();
        merkle::verify_inclusion(i, size, &hashes[i as usize], &p, &root).unwrap();
        prop_assert!(merkle::verify_inclusion((i + 1) % size, size, &hashes[i as usize], &p, &root).is_err());
        if !p.is_empty() {
            let k = flip % p.len();
            p[k].0[(flip / 7) % 32] ^= 1 << bit;
            prop_assert!(merkle::verify_inclusion(i, size, &hashes[i as usize], &p, &root).is_err());
        }

        let m = 1 + b % (size - 1);
        let mroot = naive_root(&hashes[..m as usize]);
        let mut c = merkle::consistency_proof(&t, m, size).unwrap();
        merkle::verify_consistency(m, size, &mroot, &root, &c).unwrap();
        prop_assert!(merkle::verify_consistency(m, size, &root, &mroot, &c).is_err());
        let k = flip % c.len();
        c[k].0[(flip / 7) % 32] ^= 1 << bit;
        prop_assert!(merkle::verify_consistency(m, size, &mroot, &root, &c).is_err());
        c.pop();
        prop_assert!(merkle::verify_consistency(m, size, &mroot, &root, &c).is_err());
    }
}
