//! RFC 6962 / RFC 9162 Merkle trees: roots, inclusion and consistency proofs, generated from any
//! source of complete-subtree hashes and verified with nothing but hashes.
//!
//! Generation follows the recursive definitions of RFC 9162 §2.1 (`MTH`, `PATH`, `SUBPROOF`);
//! verification follows the iterative algorithms of §2.1.3.2 and §2.1.4.2 in the bit-twiddling
//! form of transparency-dev/merkle, whose test vectors it passes.

use crate::hash::Hash;

/// A supplier of the hashes of complete, aligned subtrees.
///
/// `node(height, index)` is the root of the perfect subtree of `2^height` leaves that covers leaves
/// `[index << height, (index + 1) << height)`. Storage layouts (tiles, memory, a database) implement
/// this; everything else in this module is derived from it.
pub trait NodeSource {
    /// Why a hash could not be supplied.
    type Error;
    /// The hash of a complete subtree.
    fn node(&self, height: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof or a request for one was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The first tree is larger than the second.
    #[error("tree size {first} is larger than tree size {second}")]
    SizeOrder { first: u64, second: u64 },
    /// The proof does not have the number of hashes its sizes call for.
    #[error("proof has {got} hashes where {want} are expected")]
    WrongLength { got: usize, want: usize },
    /// The proof's length does not fit the sizes it is for.
    #[error("a proof of {got} hashes does not fit these tree sizes")]
    LengthMismatch { got: usize },
    /// A consistency proof from the empty tree was asked for: it would prove nothing.
    #[error("consistency with the empty tree proves nothing")]
    EmptyFirstTree,
    /// The proof is well formed but leads to a different root.
    #[error("the proof leads to root {calculated}, not the expected {expected}")]
    RootMismatch { calculated: Hash, expected: Hash },
    /// A subtree range is not a valid subtree (MTC §4.1: non-empty, aligned to its size's power of two).
    #[error("[{start}, {end}) is not a valid subtree")]
    InvalidSubtree { start: u64, end: u64 },
    /// The subtree ends beyond the tree.
    #[error("subtree [{start}, {end}) is not inside a tree of size {size}")]
    SubtreeOutOfRange { start: u64, end: u64, size: u64 },
}

/// The largest power of two strictly smaller than `n` (`n >= 2`): RFC 9162's split point `k`.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start:end])`: the root of the leaves `[start, end)`.
///
/// Ranges that arise in a tree (every left child is aligned to its power-of-two size) resolve to
/// O(log n) [`NodeSource::node`] calls.
pub fn range_root<S: NodeSource + ?Sized>(src: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n == 0 {
        return Ok(Hash::empty());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.node(n.trailing_zeros() as u8, start >> n.trailing_zeros());
    }
    let k = split_point(n);
    let left = range_root(src, start, start + k)?;
    let right = range_root(src, start + k, end)?;
    Ok(Hash::node(&left, &right))
}

/// The root of the tree of `size` leaves.
pub fn root<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Hash, S::Error> {
    range_root(src, 0, size)
}

/// An error from proof generation: either the request was invalid or the source failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E> {
    /// The sizes or indices asked for make no proof.
    #[error(transparent)]
    Invalid(#[from] ProofError),
    /// The hash source failed.
    #[error("reading tree hashes: {0}")]
    Source(E),
}

/// The inclusion proof (`PATH`) of leaf `index` in the tree of `size` leaves, leaf-most first.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut proof = Vec::with_capacity(64);
    subtree_path(src, index, 0, size, &mut proof).map_err(ProveError::Source)?;
    Ok(proof)
}

/// `PATH(m, D[start:end])` with absolute indices, appended leaf-most first.
fn subtree_path<S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let mid = start + split_point(n);
    if m < mid {
        subtree_path(src, m, start, mid, out)?;
        out.push(range_root(src, mid, end)?);
    } else {
        subtree_path(src, m, mid, end, out)?;
        out.push(range_root(src, start, mid)?);
    }
    Ok(())
}

/// The consistency proof (`PROOF(m, D[n])`) between the trees of `first` and `second` leaves.
/// Empty when `first` is 0 or equals `second`.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &S,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    if first > second {
        return Err(ProofError::SizeOrder { first, second }.into());
    }
    let mut proof = Vec::with_capacity(64);
    if first > 0 && first < second {
        subproof(src, first, 0, second, true, &mut proof).map_err(ProveError::Source)?;
    }
    Ok(proof)
}

/// `SUBPROOF(m, D[start:end], b)` with `m` the absolute end of the first tree.
fn subproof<S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == end {
        if !whole {
            out.push(range_root(src, start, end)?);
        }
        return Ok(());
    }
    let mid = start + split_point(end - start);
    if m <= mid {
        subproof(src, m, start, mid, whole, out)?;
        out.push(range_root(src, mid, end)?);
    } else {
        subproof(src, m, mid, end, false, out)?;
        out.push(range_root(src, start, mid)?);
    }
    Ok(())
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let calculated = root_from_inclusion_proof(index, size, leaf, proof)?;
    matches(calculated, *root)
}

/// The root that an inclusion proof leads to, for callers that compare it themselves.
pub fn root_from_inclusion_proof(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose_inclusion(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongLength { got: proof.len(), want: inner + border });
    }
    let h = chain_inner(*leaf, &proof[..inner], index);
    Ok(chain_border_right(h, &proof[inner..]))
}

/// Checks that the tree of `first` leaves with root `first_root` is a prefix of the tree of
/// `second` leaves with root `second_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizeOrder { first, second });
    }
    if first == 0 {
        // Every tree extends the empty tree, so such a proof proves nothing; refuse it as
        // transparency-dev/merkle does rather than let a caller believe something was checked.
        return Err(ProofError::EmptyFirstTree);
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len(), want: 0 });
        }
        return matches(*first_root, *second_root);
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength { got: 0, want: 1 });
    }

    let (inner, border) = decompose_inclusion(first - 1, second);
    let shift = first.trailing_zeros() as usize;
    let inner = inner - shift;
    // The proof starts with the root of the 2^shift subtree holding the first tree's last leaf,
    // unless the first tree is exactly that subtree, whose root the verifier already has.
    let (seed, rest) = if first == 1 << shift { (*first_root, proof) } else { (proof[0], &proof[1..]) };
    let want = (proof.len() - rest.len()) + inner + border;
    if proof.len() != want {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    let mask = (first - 1) >> shift;
    let h1 = chain_border_right(chain_inner_right(seed, &rest[..inner], mask), &rest[inner..]);
    matches(h1, *first_root)?;
    let h2 = chain_border_right(chain_inner(seed, &rest[..inner], mask), &rest[inner..]);
    matches(h2, *second_root)
}

pub(crate) fn matches(calculated: Hash, expected: Hash) -> Result<(), ProofError> {
    if calculated == expected { Ok(()) } else { Err(ProofError::RootMismatch { calculated, expected }) }
}

/// Splits an inclusion proof into the part below the point where the leaf's path and the tree's
/// right border meet (`inner`) and the part along the border (`border`).
pub(crate) fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index.checked_shr(inner as u32).unwrap_or(0)).count_ones() as usize;
    (inner, border)
}

pub(crate) fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 { Hash::node(&seed, h) } else { Hash::node(h, &seed) };
    }
    seed
}

pub(crate) fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = Hash::node(h, &seed);
        }
    }
    seed
}

pub(crate) fn chain_border_right(mut seed: Hash, proof: &[Hash]) -> Hash {
    for h in proof {
        seed = Hash::node(h, &seed);
    }
    seed
}

/// A [`NodeSource`] over every leaf hash held in memory: the reference tree for tests and small
/// offline tools. Nodes are recomputed on every call, so it is slow by design.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// The leaf hashes in order.
    pub leaves: Vec<Hash>,
}

impl NodeSource for MemoryTree {
    type Error = ProofError;

    fn node(&self, height: u8, index: u64) -> Result<Hash, ProofError> {
        let start = index << height;
        let end = start + (1u64 << height);
        if end > self.leaves.len() as u64 {
            return Err(ProofError::IndexOutOfRange { index: end - 1, size: self.leaves.len() as u64 });
        }
        Ok(naive_root(&self.leaves[start as usize..end as usize]))
    }
}

/// `MTH` straight from RFC 9162's recursive definition, with no shortcuts.
pub fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::empty(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            Hash::node(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}
