//! Failure injection: every write of several batches fails in turn, before persisting, after
//! persisting, or halfway. After each case the log recovers by itself, a restart finds every
//! acknowledged entry at the index it was given, and the whole log checks clean.

mod common;

use std::collections::BTreeMap;

use common::*;
use sig_share_log::EntryFormat;
use sig_share_log::check::{self, read_entry};
use sig_share_log::faults::{FaultKind, FaultPlan};
use sig_share_tlog::Hash;

const BATCHES: usize = 3;
const PER_BATCH: usize = 90;

/// Runs `BATCHES` batches with a fault armed after `skip` writes; returns the acknowledged
/// entries (index → entry number) and whether the fault fired.
async fn run_case(dir: &std::path::Path, skip: u64, kind: FaultKind) -> (BTreeMap<u64, usize>, Option<String>) {
    let plan = FaultPlan::new();
    let log = open(dir, &plan);
    plan.arm(skip, kind);
    let mut acked = BTreeMap::new();
    let mut n = 0;
    for _ in 0..BATCHES + 1 {
        let first = n;
        n += PER_BATCH;
        let answers = submit_batch(&log, (first..n).map(|i| entry("fault", i)).collect()).await;
        for (i, r) in (first..n).zip(answers) {
            if let Ok(l) = r {
                assert!(acked.insert(l.index, i).is_none(), "index {} acknowledged twice", l.index);
            }
        }
    }
    // With the fault spent, the running log heals itself: one more batch goes through.
    plan.disarm();
    let l = submit_batch(&log, vec![entry("fault", 100_000)]).await.remove(0);
    let l = l.expect("the log recovers by itself once storage works");
    acked.insert(l.index, 100_000);
    (acked, plan.fired())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_failing_in_turn_loses_nothing_acknowledged() {
    let key = signer().verifier();
    let mut cases = 0;
    for kind in [FaultKind::BeforePersist, FaultKind::AfterPersist, FaultKind::Partial] {
        // Each batch writes staging, state, tiles, checkpoint: 4 writes.
        for skip in 0..(4 * BATCHES as u64 + 2) {
            let (_guard, dir) = tempdir();
            let (acked, fired) = run_case(&dir, skip, kind).await;
            let fired = fired.unwrap_or_else(|| panic!("{kind:?} after {skip} writes never fired"));
            // Restart with healthy storage and check everything.
            let log = open(&dir, &FaultPlan::new());
            let size = log.latest().size;
            for (&index, &i) in &acked {
                assert!(index < size, "{kind:?}@{fired}: acknowledged entry {index} beyond size {size}");
                let stored = read_entry(log.stores().tiles.as_ref(), EntryFormat::TlogTiles, index, size).unwrap();
                assert_eq!(stored, entry("fault", i).data, "{kind:?}@{fired}: entry {index}");
                let key = key_of(&stored).unwrap();
                assert_eq!(log.stores().state.find(&key, &Hash::leaf(&stored)).unwrap(), Some(index));
            }
            let stores = log.stores();
            check::check(
                stores.tiles.as_ref(),
                Some(stores.state.as_ref()),
                &key,
                EntryFormat::TlogTiles,
                &key_of,
                &mut |_, _| {},
            )
            .unwrap_or_else(|e| panic!("{kind:?}@{fired}: log check failed: {e}"));
            // Nothing was lost that was acknowledged; and at least the healthy batches landed.
            assert!(acked.len() > PER_BATCH * (BATCHES - 1), "{kind:?}@{fired}: only {} acked", acked.len());
            cases += 1;
        }
    }
    assert_eq!(cases, 3 * (4 * BATCHES + 2));
}
