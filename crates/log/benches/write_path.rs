//! Per-entry costs on the write path, to see where a submission's CPU goes.

use std::hint::black_box;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use criterion::{Criterion, criterion_group, criterion_main};
use sig_share_log::rekor::{self, TransparencyLogEntry};
use sig_share_log::storage::{Commit, Filed, StateStore, TreeHead};
use sig_share_tlog::tiled::TreeEdge;
use sig_share_tlog::{Hash, merkle};

fn request() -> String {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"artifact");
    let sig = key.sign(&rng, b"artifact").unwrap();
    rekor::p256_request(digest.as_ref(), sig.as_ref(), key.public_key().as_der().unwrap().as_ref())
}

fn write_path(c: &mut Criterion) {
    let req = request();
    c.bench_function("verify_request (parse, P-256 verify, canonical body)", |b| {
        b.iter(|| rekor::verify_request(black_box(req.as_bytes())).unwrap())
    });

    // A tree of 1M leaves plus a batch of 10k: proofs for the batch come from memory.
    let mut edge = TreeEdge::empty();
    let leaves: Vec<(Hash, Vec<u8>)> =
        (0..1_010_000u32).map(|i| (Hash::leaf(&i.to_be_bytes()), i.to_be_bytes().to_vec())).collect();
    edge.append(leaves[..1_000_000].iter().map(|(h, e)| (*h, e.as_slice()))).unwrap();
    let appended = edge.append(leaves[1_000_000..].iter().map(|(h, e)| (*h, e.as_slice()))).unwrap();
    let mut set = edge.tile_set();
    for (id, t) in appended.hashes {
        if id.is_full() {
            set.insert(id.level(), id.index, t);
        }
    }
    let size = edge.size();
    let root = edge.root();
    c.bench_function("inclusion proof from the batch's tiles (1M-leaf tree)", |b| {
        let mut i = 1_000_000;
        b.iter(|| {
            i = if i + 1 >= size { 1_000_000 } else { i + 1 };
            merkle::inclusion_proof(&set, black_box(i), size).unwrap()
        })
    });
    let proof = merkle::inclusion_proof(&set, 1_000_123, size).unwrap();
    let entry = rekor::verify_request(req.as_bytes()).unwrap();
    let checkpoint = "127.0.0.1\n1010000\nAAAA\n\n— 127.0.0.1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    c.bench_function("TransparencyLogEntry build and serialise", |b| {
        b.iter(|| {
            let tle =
                TransparencyLogEntry::hashedrekord(&[1; 32], 1_000_123, &entry.body, size, &root, &proof, checkpoint);
            serde_json::to_vec(black_box(&tle)).unwrap()
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let state = sig_share_log::state::RedbStateStore::open(&dir.path().join("s.redb")).unwrap();
    let head = TreeHead { size: 10_000, root, checkpoint: vec![1; 200] };
    let filed = |from: u64| -> Vec<Filed> {
        (from..from + 10_000)
            .map(|i| Filed {
                key: rekor::digest_key("sha256", &Hash::leaf(&(i * 7).to_be_bytes()).0),
                leaf: Hash::leaf(&i.to_be_bytes()),
                index: i,
            })
            .collect()
    };
    state.commit(None, &Commit { head: &head, filed: &filed(0) }).unwrap();
    c.bench_function("state dedup lookup (one read transaction)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 1) % 20_000;
            let key = rekor::digest_key("sha256", &Hash::leaf(&(i * 7).to_be_bytes()).0);
            state.find(&key, &Hash::leaf(&i.to_be_bytes())).unwrap()
        })
    });
    let mut group = c.benchmark_group("state commit");
    group.sample_size(10);
    let mut size = 10_000u64;
    group.bench_function("10k entries filed by key", |b| {
        b.iter(|| {
            let batch = filed(size);
            let head = TreeHead { size: size + 10_000, root, checkpoint: vec![1; 200] };
            state.commit(Some(size), &Commit { head: &head, filed: &batch }).unwrap();
            size += 10_000;
        })
    });
    group.finish();
}

criterion_group!(benches, write_path);
criterion_main!(benches);
