//! Subtree proofs from Merkle Tree Certificates (draft-ietf-plants-merkle-tree-certs §4): a
//! subtree `[start, end)` of a log is valid when `start` is a multiple of the smallest power of two
//! at least `end - start`; its inclusion proofs show a leaf is under the subtree's root, and its
//! consistency proofs show the subtree is part of a tree of a given size. A checkpoint is the
//! subtree `[0, size)`, so both generalise the RFC 9162 proofs.

use crate::hash::Hash;
use crate::merkle::{self, NodeSource, ProofError, ProveError, range_root, split_point};

/// Whether `[start, end)` is a valid subtree.
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start > end {
        return false;
    }
    let len = end - start;
    if len > 1 << 63 {
        return start == 0;
    }
    start & (len.max(1).next_power_of_two() - 1) == 0
}

fn check_subtree(start: u64, end: u64) -> Result<(), ProofError> {
    if is_valid_subtree(start, end) { Ok(()) } else { Err(ProofError::InvalidSubtree { start, end }) }
}

/// The inclusion proof of leaf `index` in the subtree `[start, end)`.
pub fn subtree_inclusion_proof<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    check_subtree(start, end)?;
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, size: end }.into());
    }
    let shifted = Shifted { src, offset: start };
    merkle::inclusion_proof(&shifted, index - start, end - start)
}

/// Checks that `leaf` is leaf `index` under the root `root` of the subtree `[start, end)`.
pub fn verify_subtree_inclusion(
    index: u64,
    start: u64,
    end: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    check_subtree(start, end)?;
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, size: end });
    }
    merkle::verify_inclusion(index - start, end - start, leaf, proof, root)
}

/// The consistency proof between the subtree `[start, end)` and the tree of `size` leaves
/// (MTC §4.4.1).
pub fn subtree_consistency_proof<S: NodeSource + ?Sized>(
    src: &S,
    start: u64,
    end: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    check_subtree(start, end)?;
    if end > size {
        return Err(ProofError::SubtreeOutOfRange { start, end, size }.into());
    }
    let mut out = Vec::new();
    if start < end {
        sub(src, start, end, 0, size, true, &mut out).map_err(ProveError::Source)?;
    }
    Ok(out)
}

/// `SUBTREE_SUBPROOF(start, end, D[lo:hi], whole)` with absolute indices.
fn sub<S: NodeSource + ?Sized>(
    src: &S,
    start: u64,
    end: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if start == lo && end == hi {
        if !whole {
            out.push(range_root(src, lo, hi)?);
        }
        return Ok(());
    }
    let mid = lo + split_point(hi - lo);
    if end <= mid {
        sub(src, start, end, lo, mid, whole, out)?;
        out.push(range_root(src, mid, hi)?);
    } else if mid <= start {
        sub(src, start, end, mid, hi, whole, out)?;
        out.push(range_root(src, lo, mid)?);
    } else {
        // start == lo < mid < end: the subtree covers the whole left half.
        sub(src, mid, end, mid, hi, false, out)?;
        out.push(range_root(src, lo, mid)?);
    }
    Ok(())
}

/// Checks that the subtree `[start, end)` with root `subtree_root` is part of the tree of `size`
/// leaves with root `tree_root` (MTC §4.4.3).
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    subtree_root: &Hash,
    tree_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if start == end {
        // The empty subtree is in every tree; only its own root can be wrong.
        if end > size {
            return Err(ProofError::SubtreeOutOfRange { start, end, size });
        }
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len(), want: 0 });
        }
        return merkle::matches(*subtree_root, Hash::empty());
    }
    check_subtree(start, end)?;
    if end > size {
        return Err(ProofError::SubtreeOutOfRange { start, end, size });
    }

    let (mut fn_, mut sn, mut tn) = (start, end - 1, size - 1);
    if sn == tn {
        while fn_ != sn {
            fn_ >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    } else {
        while fn_ != sn && sn & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    }
    let mut rest = proof;
    let (mut fr, mut sr) = if fn_ == sn {
        (*subtree_root, *subtree_root)
    } else {
        let (&first, tail) = rest.split_first().ok_or(ProofError::LengthMismatch { got: 0 })?;
        rest = tail;
        (first, first)
    };
    for c in rest {
        if tn == 0 {
            return Err(ProofError::LengthMismatch { got: proof.len() });
        }
        if sn & 1 == 1 || sn == tn {
            if fn_ < sn {
                fr = Hash::node(c, &fr);
            }
            sr = Hash::node(c, &sr);
            while sn & 1 == 0 {
                fn_ >>= 1;
                sn >>= 1;
                tn >>= 1;
            }
        } else {
            sr = Hash::node(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
        tn >>= 1;
    }
    if tn != 0 {
        return Err(ProofError::LengthMismatch { got: proof.len() });
    }
    merkle::matches(fr, *subtree_root)?;
    merkle::matches(sr, *tree_root)
}

/// A view of a source with leaf indices shifted by `offset` (an aligned subtree's start).
struct Shifted<'a, S: ?Sized> {
    src: &'a S,
    offset: u64,
}

impl<S: NodeSource + ?Sized> NodeSource for Shifted<'_, S> {
    type Error = S::Error;

    fn node(&self, height: u8, index: u64) -> Result<Hash, S::Error> {
        // The subtree's start is a multiple of every node size inside it, so this stays aligned.
        self.src.node(height, index + (self.offset >> height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;

    fn tree(n: u64) -> MemoryTree {
        MemoryTree { leaves: (0..n).map(|i| Hash::leaf(&i.to_be_bytes())).collect() }
    }

    #[test]
    fn validity() {
        assert!(is_valid_subtree(0, 0));
        assert!(is_valid_subtree(5, 5));
        assert!(is_valid_subtree(0, 7));
        assert!(is_valid_subtree(8, 13));
        assert!(is_valid_subtree(4, 5));
        assert!(!is_valid_subtree(2, 5));
        assert!(!is_valid_subtree(1, 3));
        assert!(!is_valid_subtree(3, 2));
        assert!(!is_valid_subtree(1, (1 << 63) + 2));
    }

    #[test]
    fn generated_proofs_verify_for_every_valid_subtree() {
        for size in 1..=34u64 {
            let t = tree(size);
            let root = merkle::naive_root(&t.leaves);
            for start in 0..size {
                for end in start + 1..=size {
                    if !is_valid_subtree(start, end) {
                        assert!(subtree_consistency_proof(&t, start, end, size).is_err());
                        continue;
                    }
                    let sroot = merkle::naive_root(&t.leaves[start as usize..end as usize]);
                    let p = subtree_consistency_proof(&t, start, end, size).unwrap();
                    verify_subtree_consistency(start, end, size, &sroot, &root, &p).unwrap();
                    let wrong = Hash::leaf(b"wrong");
                    assert!(verify_subtree_consistency(start, end, size, &wrong, &root, &p).is_err());
                    if start == 0 && end < size {
                        assert_eq!(p, merkle::consistency_proof(&t, end, size).unwrap());
                    }
                    for i in start..end {
                        let ip = subtree_inclusion_proof(&t, i, start, end).unwrap();
                        verify_subtree_inclusion(i, start, end, &t.leaves[i as usize], &ip, &sroot).unwrap();
                    }
                }
            }
        }
    }
}
