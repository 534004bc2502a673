//! The pure primitives' costs: appending to a tiled tree, proving, verifying.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sig_share_tlog::tiled::TreeEdge;
use sig_share_tlog::{Checkpoint, Ed25519Signer, Hash, SignedCheckpoint, merkle};

fn tlog(c: &mut Criterion) {
    let leaves: Vec<(Hash, Vec<u8>)> = (0..100_000u32).map(|i| (Hash::leaf(&i.to_be_bytes()), vec![0; 400])).collect();
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(leaves.len() as u64));
    g.sample_size(20);
    g.bench_function("100k leaves of 400 bytes to a tiled tree (tiles and bundles)", |b| {
        b.iter(|| {
            let mut edge = TreeEdge::empty();
            edge.append(leaves.iter().map(|(h, e)| (*h, e.as_slice()))).unwrap()
        })
    });
    g.finish();

    let mut edge = TreeEdge::empty();
    let out = edge.append(leaves.iter().map(|(h, e)| (*h, e.as_slice()))).unwrap();
    let mut set = edge.tile_set();
    for (id, t) in out.hashes {
        set.insert(id.level(), id.index, t);
    }
    let (size, root) = (edge.size(), edge.root());
    let proof = merkle::inclusion_proof(&set, 77_777, size).unwrap();
    c.bench_function("verify an inclusion proof (100k-leaf tree)", |b| {
        b.iter(|| merkle::verify_inclusion(77_777, size, black_box(&leaves[77_777].0), &proof, &root).unwrap())
    });
    let consistency = merkle::consistency_proof(&set, 54_321, size).unwrap();
    let old_root = merkle::root(&set, 54_321).unwrap();
    c.bench_function("verify a consistency proof (54,321 → 100k)", |b| {
        b.iter(|| merkle::verify_consistency(54_321, size, &old_root, &root, black_box(&consistency)).unwrap())
    });
    let signer = Ed25519Signer::from_seed("log.example", &[1; 32]).unwrap();
    let note = Checkpoint::new("log.example", size, root).sign(&signer).to_text();
    let verifier = signer.verifier();
    c.bench_function("parse and verify a signed checkpoint", |b| {
        b.iter(|| SignedCheckpoint::verify(black_box(note.as_bytes()), &verifier).unwrap())
    });
}

criterion_group!(benches, tlog);
criterion_main!(benches);
