//! A fake log (a key and a tree of leaves, forkable) and a witness to send its checkpoints to.
#![allow(dead_code)]

use std::path::Path;

use sig_share_tlog::merkle::{MemoryTree, consistency_proof};
use sig_share_tlog::witness::AddCheckpoint;
use sig_share_tlog::{Checkpoint, Ed25519Signer, Hash};
use sig_share_witness::{Logs, Options, Witness};

/// A log: its key and its leaves. Clone it and append other leaves to fork it.
#[derive(Clone, Debug)]
pub struct FakeLog {
    pub signer: Ed25519Signer,
    pub tree: MemoryTree,
}

impl FakeLog {
    pub fn new(origin: &str, seed: u8) -> FakeLog {
        FakeLog { signer: Ed25519Signer::from_seed(origin, &[seed; 32]).unwrap(), tree: MemoryTree::default() }
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    pub fn vkey(&self) -> String {
        self.signer.verifier().vkey()
    }

    /// Appends `n` leaves named by `tag`.
    pub fn grow(&mut self, n: usize, tag: &str) -> &mut FakeLog {
        for _ in 0..n {
            let i = self.tree.leaves.len();
            self.tree.leaves.push(Hash::leaf(format!("{tag} {i}").as_bytes()));
        }
        self
    }

    pub fn size(&self) -> u64 {
        self.tree.leaves.len() as u64
    }

    pub fn root(&self, size: u64) -> Hash {
        sig_share_tlog::merkle::naive_root(&self.tree.leaves[..size as usize])
    }

    /// The signed checkpoint of the first `size` leaves.
    pub fn checkpoint(&self, size: u64) -> String {
        Checkpoint::new(self.origin(), size, self.root(size)).sign(&self.signer).to_text()
    }

    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old >= new {
            return Vec::new();
        }
        consistency_proof(&self.tree, old, new).unwrap()
    }

    /// An add-checkpoint body from `old` to `new` with the right proof.
    pub fn request(&self, old: u64, new: u64) -> Vec<u8> {
        AddCheckpoint { old_size: old, proof: self.proof(old, new), checkpoint: self.checkpoint(new).into_bytes() }
            .encode()
    }
}

pub fn logs_of(logs: &[&FakeLog]) -> Logs {
    let mut l = Logs::new();
    for log in logs {
        l.add_vkey(&log.vkey()).unwrap();
    }
    l
}

pub fn witness_signer() -> Ed25519Signer {
    Ed25519Signer::from_seed("witness.example/w1", &[0x77; 32]).unwrap()
}

pub fn open(dir: &Path, logs: &[&FakeLog]) -> Witness {
    Witness::open(dir, logs_of(logs), witness_signer(), Options::default()).unwrap()
}
