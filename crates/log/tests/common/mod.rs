//! Shared helpers for the log's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use sig_share_log::faults::{FaultPlan, Faulty};
use sig_share_log::fs::FsObjectStore;
use sig_share_log::state::RedbStateStore;
use sig_share_log::{Log, LogConfig, Logged, NewEntry, Stores, SubmitError, rekor};
use sig_share_tlog::Ed25519Signer;

pub const ORIGIN: &str = "log.test.example";

pub fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, &[42; 32]).unwrap()
}

/// Real stores in `dir`, each wrapped to fail as `plan` says.
pub fn stores(dir: &Path, plan: &Arc<FaultPlan>) -> Stores {
    let tmp = dir.join("tmp");
    Stores {
        tiles: Arc::new(Faulty::new(FsObjectStore::open(dir.join("log"), &tmp).unwrap(), plan.clone(), "tiles")),
        staging: Arc::new(Faulty::new(
            FsObjectStore::open(dir.join("staging"), &tmp).unwrap(),
            plan.clone(),
            "staging",
        )),
        state: Arc::new(Faulty::new(RedbStateStore::open(&dir.join("state.redb")).unwrap(), plan.clone(), "state")),
    }
}

pub fn open(dir: &Path, plan: &Arc<FaultPlan>) -> Log {
    Log::open(LogConfig::new(ORIGIN), signer(), stores(dir, plan)).unwrap()
}

pub fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_path_buf();
    (d, p)
}

/// An entry with arbitrary bytes, indexed under a key derived from it.
pub fn entry(tag: &str, i: usize) -> NewEntry {
    let data = format!("{{\"test\":\"{tag}\",\"i\":{i}}}").into_bytes();
    NewEntry::new(data, format!("key:{tag}:{}", i % 3).into_bytes())
}

/// Submits new, distinct `entries` concurrently, waits until all of them are in the pool,
/// integrates them as one batch, and returns each submitter's answer in order.
pub async fn submit_batch(log: &Log, entries: Vec<NewEntry>) -> Vec<Result<Logged, SubmitError>> {
    let n = entries.len();
    let tasks: Vec<_> = entries
        .into_iter()
        .map(|e| {
            let log = log.clone();
            tokio::spawn(async move { log.submit(e).await })
        })
        .collect();
    while log.pool_depth() < n {
        tokio::task::yield_now().await;
    }
    let _ = log.sequence().await;
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A P-256 key that signs real hashedrekord requests.
pub struct Client {
    key: EcdsaKeyPair,
    spki: Vec<u8>,
    rng: SystemRandom,
}

impl Client {
    pub fn new() -> Client {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let spki = key.public_key().as_der().unwrap().as_ref().to_vec();
        Client { key, spki, rng }
    }

    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// (artifact digest, signature) over `artifact`.
    pub fn sign(&self, artifact: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact).as_ref().to_vec();
        (digest, self.key.sign(&self.rng, artifact).unwrap().as_ref().to_vec())
    }

    /// A signed request body for `artifact`, and its digest.
    pub fn request(&self, artifact: &[u8]) -> (String, Vec<u8>) {
        let (digest, sig) = self.sign(artifact);
        (rekor::p256_request(&digest, &sig, &self.spki), digest)
    }
}

/// The key `entry` files an entry under, recovered from its bytes (for `log check`).
pub fn key_of(e: &[u8]) -> Option<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_slice(e).ok()?;
    Some(format!("key:{}:{}", v["test"].as_str()?, v["i"].as_u64()? % 3).into_bytes())
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
