//! The log end to end in process: sequencing, proofs, deduplication, back-pressure, restarts.

mod common;

use std::collections::HashSet;

use common::*;
use sig_share_log::check::{self, read_entry};
use sig_share_log::faults::FaultPlan;
use sig_share_log::{EntryFormat, LogConfig, NewEntry, SubmitError};
use sig_share_tlog::{Ed25519Signer, Hash, SignedCheckpoint, merkle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_sequenced_proven_deduplicated_and_survive_restart() {
    let (_guard, dir) = tempdir();
    let plan = FaultPlan::new();
    let log = open(&dir, &plan);
    let key = signer().verifier();
    // Every submission reaches the pool before one batch integrates them all.
    let answers = submit_batch(&log, (0..700).map(|i| entry("seq", i)).collect()).await;
    let mut seen = HashSet::new();
    for (i, r) in answers.into_iter().enumerate() {
        let logged = r.unwrap();
        assert!(!logged.duplicate);
        assert!(seen.insert(logged.index), "index {} given twice", logged.index);
        let p = &logged.published;
        let signed = SignedCheckpoint::verify(p.checkpoint.as_bytes(), &key).unwrap();
        assert_eq!((signed.checkpoint.size, signed.checkpoint.root), (700, p.root));
        let proof = p.inclusion_proof(logged.index, log.stores().tiles.as_ref()).unwrap();
        merkle::verify_inclusion(logged.index, p.size, &Hash::leaf(&entry("seq", i).data), &proof, &p.root).unwrap();
        assert_eq!(
            read_entry(log.stores().tiles.as_ref(), EntryFormat::TlogTiles, logged.index, p.size).unwrap(),
            entry("seq", i).data
        );
    }
    assert_eq!(seen.len(), 700);

    // A second, small batch; then a duplicate of something in the first.
    let last = submit_batch(&log, vec![entry("seq", 700)]).await.remove(0).unwrap();
    assert_eq!(last.index, 700);
    let dup = log.submit(entry("seq", 5)).await.unwrap();
    assert!(dup.duplicate);
    let proof = dup.published.inclusion_proof(dup.index, log.stores().tiles.as_ref()).unwrap();
    merkle::verify_inclusion(dup.index, 701, &Hash::leaf(&entry("seq", 5).data), &proof, &dup.published.root).unwrap();
    assert_eq!(log.lookup(b"key:seq:1", 1000).unwrap().len(), 234);
    // Reading many entries at once (each bundle once) gives what reading each alone does, across
    // bundles and into the partial one; past the tree it is an error, not a panic.
    let tiles = log.stores().tiles.as_ref();
    let picks = [0, 1, 255, 256, 300, 700];
    let many = check::read_entries(tiles, EntryFormat::TlogTiles, &picks, 701).unwrap();
    for (&i, got) in picks.iter().zip(&many) {
        assert_eq!(got, &read_entry(tiles, EntryFormat::TlogTiles, i, 701).unwrap(), "entry {i}");
    }
    assert_eq!(many[5], entry("seq", 700).data);
    assert!(check::read_entries(tiles, EntryFormat::TlogTiles, &[700, 701], 701).is_err());
    assert!(read_entry(tiles, EntryFormat::TlogTiles, 702, 701).is_err());

    // Restart: the same tree, and it keeps growing.
    let root = log.latest().root;
    drop(log);
    let log = open(&dir, &plan);
    assert_eq!((log.latest().size, log.latest().root), (701, root));
    assert_eq!(submit_batch(&log, vec![entry("seq", 701)]).await[0].as_ref().unwrap().index, 701);
    let stores = log.stores();
    let r = check::check(
        stores.tiles.as_ref(),
        Some(stores.state.as_ref()),
        &key,
        EntryFormat::TlogTiles,
        &key_of,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(r.size, 702);
    assert!(r.tiles >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_duplicates_share_one_entry() {
    let (_guard, dir) = tempdir();
    let log = open(&dir, &FaultPlan::new());
    let a = tokio::spawn({
        let log = log.clone();
        async move { log.submit(entry("dup", 1)).await }
    });
    let b = tokio::spawn({
        let log = log.clone();
        async move { log.submit(entry("dup", 1)).await }
    });
    while log.metrics().encode().contains("sigshare_log_duplicates_total 0") || log.pool_depth() < 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(log.pool_depth(), 1);
    log.sequence().await.unwrap();
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_eq!(a.index, b.index);
    assert_ne!(a.duplicate, b.duplicate);
    assert_eq!(log.latest().size, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_pushes_back() {
    let (_guard, dir) = tempdir();
    let mut config = LogConfig::new(ORIGIN);
    config.pool_size = 3;
    let log = sig_share_log::Log::open(config, signer(), stores(&dir, &FaultPlan::new())).unwrap();
    let mut waiting = Vec::new();
    for i in 0..3 {
        let log = log.clone();
        waiting.push(tokio::spawn(async move { log.submit(entry("full", i)).await }));
    }
    while log.pool_depth() < 3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(log.submit(entry("full", 3)).await.unwrap_err(), SubmitError::PoolFull { retry_after_secs: 1 });
    assert!(log.metrics().encode().contains("reason=\"pool_full\""));
    log.sequence().await.unwrap();
    for w in waiting {
        w.await.unwrap().unwrap();
    }
    // Room again.
    assert_eq!(submit_batch(&log, vec![entry("full", 3)]).await[0].as_ref().unwrap().index, 3);
}

#[tokio::test]
async fn oversized_entries_are_refused() {
    let (_guard, dir) = tempdir();
    let log = open(&dir, &FaultPlan::new());
    let big = NewEntry::new(vec![b'x'; 65_536], b"k".to_vec());
    assert_eq!(log.submit(big).await.unwrap_err(), SubmitError::TooLarge(65_536));
    let keyless = NewEntry::new(b"x".to_vec(), vec![]);
    assert_eq!(log.submit(keyless).await.unwrap_err(), SubmitError::BadKey(0));
    let long_key = NewEntry::new(b"x".to_vec(), vec![b'k'; 256]);
    assert_eq!(log.submit(long_key).await.unwrap_err(), SubmitError::BadKey(256));
    // Index keys are held to the same bounds: one bad key would fail its whole batch's commit.
    let long_index_key = NewEntry::new(b"x".to_vec(), b"k".to_vec()).with_index_keys(vec![vec![b'i'; 256]]);
    assert_eq!(log.submit(long_index_key).await.unwrap_err(), SubmitError::BadKey(256));
    let many = vec![b"i".to_vec(); sig_share_log::log::MAX_INDEX_KEYS + 1];
    let too_many = NewEntry::new(b"x".to_vec(), b"k".to_vec()).with_index_keys(many);
    assert!(matches!(log.submit(too_many).await.unwrap_err(), SubmitError::Malformed(_)));
    assert_eq!(log.pool_depth(), 0);
}

#[tokio::test]
async fn index_keys_are_filed_with_the_entry_for_lookup_not_deduplication() {
    let (_guard, dir) = tempdir();
    let log = open(&dir, &FaultPlan::new());
    let first = NewEntry::new(b"one".to_vec(), b"k:1".to_vec()).with_index_keys(vec![b"by:a".to_vec()]);
    let second =
        NewEntry::new(b"two".to_vec(), b"k:2".to_vec()).with_index_keys(vec![b"by:a".to_vec(), b"by:b".to_vec()]);
    let logged = submit_batch(&log, vec![first.clone(), second]).await;
    let (i1, i2) = (logged[0].as_ref().unwrap().index, logged[1].as_ref().unwrap().index);
    // Lookups answer in index order; the batch's order is the pool's.
    let both = [i1.min(i2), i1.max(i2)];
    assert_eq!(log.lookup(b"by:a", 10).unwrap(), both);
    assert_eq!(log.lookup(b"by:b", 10).unwrap(), [i2]);
    assert_eq!(log.lookup(b"k:1", 10).unwrap(), [i1]);
    // Deduplication still goes by the entry's own key and bytes.
    let again = log.submit(first).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.index, i1);
    assert_eq!(log.latest().size, 2);
    // And the filing survives a restart: it is part of the batch's commit.
    drop(log);
    let log = open(&dir, &FaultPlan::new());
    assert_eq!(log.lookup(b"by:a", 10).unwrap(), both);
}

#[test]
fn a_data_directory_keeps_its_identity() {
    let (_guard, dir) = tempdir();
    drop(open(&dir, &FaultPlan::new()));
    let other_key = Ed25519Signer::from_seed(ORIGIN, &[7; 32]).unwrap();
    let err = sig_share_log::Log::open(LogConfig::new(ORIGIN), other_key, stores(&dir, &FaultPlan::new())).unwrap_err();
    assert!(err.to_string().contains("does not verify with this log's key"), "{err}");
    let renamed = Ed25519Signer::from_seed("other.example", &[42; 32]).unwrap();
    let err = sig_share_log::Log::open(LogConfig::new("other.example"), renamed, stores(&dir, &FaultPlan::new()))
        .unwrap_err();
    assert!(err.to_string().contains("origin"), "{err}");
    let mut fast = LogConfig::new(ORIGIN);
    fast.period = std::time::Duration::from_millis(10);
    assert!(sig_share_log::Log::open(fast, signer(), stores(&dir, &FaultPlan::new())).is_err());
}
