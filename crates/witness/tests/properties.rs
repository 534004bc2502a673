//! Property tests: random histories and forks over several origins, requests sent in any order
//! and interleaving (concurrently, so the writer batches them): the witness never cosigns two
//! inconsistent checkpoints of one origin, and the size it records never decreases.

mod common;

use std::collections::HashMap;

use common::FakeLog;
use proptest::prelude::*;
use sig_share_tlog::witness::AddCheckpoint;
use sig_share_witness::Answer;

/// One origin's branches: a trunk, and forks sharing a prefix of it.
struct Origin {
    branches: Vec<FakeLog>,
}

/// One request: origin, branch, the size asked for, and which old size to send.
#[derive(Clone, Debug)]
struct Req {
    origin: usize,
    branch: usize,
    size_frac: u8,
    /// `None`: what the client last learnt (a real client); `Some(k)`: a size of its own
    /// branch, chosen regardless (a confused or hostile one).
    old: Option<u8>,
}

fn req() -> impl Strategy<Value = Req> {
    (0..3usize, 0..3usize, any::<u8>(), proptest::option::weighted(0.3, any::<u8>()))
        .prop_map(|(origin, branch, size_frac, old)| Req { origin, branch, size_frac, old })
}

/// Origins with a trunk of `len` leaves and two forks that leave it at `forks`.
fn origins(lens: &[(u8, u8, u8)]) -> Vec<Origin> {
    lens.iter()
        .enumerate()
        .map(|(i, &(len, f1, f2))| {
            let mut trunk = FakeLog::new(&format!("example.com/log{i}"), i as u8 + 1);
            let len = usize::from(len % 40) + 2;
            trunk.grow(len, "trunk");
            let mut branches = vec![trunk.clone()];
            for (j, f) in [f1, f2].into_iter().enumerate() {
                let mut fork = trunk.clone();
                fork.tree.leaves.truncate(usize::from(f) % len);
                fork.grow(len + j, &format!("fork{j}"));
                branches.push(fork);
            }
            Origin { branches }
        })
        .collect()
}

/// Whether the checkpoints (size a of branch x) and (size b of branch y) can be of one log.
fn consistent(o: &Origin, (x, a): (usize, u64), (y, b): (usize, u64)) -> bool {
    let n = a.min(b) as usize;
    o.branches[x].tree.leaves[..n] == o.branches[y].tree.leaves[..n]
}

fn run(lens: Vec<(u8, u8, u8)>, rounds: Vec<Vec<Req>>) -> Result<(), TestCaseError> {
    let origins = origins(&lens);
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<&FakeLog> = origins.iter().map(|o| &o.branches[0]).collect();
    let witness = common::open(dir.path(), &logs);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    // Per (origin, branch): the old size the client believes the witness holds.
    let mut hints: HashMap<(usize, usize), u64> = HashMap::new();
    let mut cosigned: Vec<(usize, usize, u64)> = Vec::new();
    let mut recorded = vec![0u64; origins.len()];
    for round in rounds {
        let mut sent = Vec::new();
        for r in &round {
            let o = &origins[r.origin % origins.len()];
            let b = r.branch % o.branches.len();
            let log = &o.branches[b];
            let size = u64::from(r.size_frac) % (log.size() + 1);
            let old = match r.old {
                None => *hints.get(&(r.origin % origins.len(), b)).unwrap_or(&0),
                Some(k) => u64::from(k) % (log.size() + 1),
            };
            let body = AddCheckpoint {
                old_size: old,
                proof: log.proof(old.min(size), size),
                checkpoint: log.checkpoint(size).into_bytes(),
            }
            .encode();
            sent.push((r.origin % origins.len(), b, size, body));
        }
        // All of a round at once: the writer decides them in whatever order they arrive.
        let answers: Vec<Answer> = rt.block_on(async {
            let tasks: Vec<_> = sent
                .iter()
                .map(|(_, _, _, body)| {
                    let (w, body) = (witness.clone(), body.clone());
                    tokio::spawn(async move { w.add_checkpoint(&body).await })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        for ((o, b, size, _), answer) in sent.iter().zip(answers) {
            match answer {
                Answer::Cosigned(_) => {
                    cosigned.push((*o, *b, *size));
                    hints.insert((*o, *b), *size);
                }
                Answer::Stale(s) => {
                    hints.insert((*o, *b), s);
                }
                Answer::RootMismatch(_) | Answer::BadProof(_) | Answer::BadRequest(_) => {}
                other => prop_assert!(false, "unexpected answer {other:?}"),
            }
        }
        for (i, o) in origins.iter().enumerate() {
            let now = witness.recorded(o.branches[0].origin()).unwrap().map_or(0, |r| r.size);
            prop_assert!(now >= recorded[i], "origin {i}: the recorded size went from {} to {now}", recorded[i]);
            recorded[i] = now;
        }
    }
    // No two cosigned checkpoints of one origin contradict each other, and the recorded one is
    // consistent with all of them.
    for (i, o) in origins.iter().enumerate() {
        let mine: Vec<(usize, u64)> = cosigned.iter().filter(|c| c.0 == i).map(|c| (c.1, c.2)).collect();
        for (k, &a) in mine.iter().enumerate() {
            for &b in &mine[k + 1..] {
                prop_assert!(consistent(o, a, b), "origin {i}: cosigned {a:?} and {b:?}, which contradict");
            }
        }
        if let Some(rec) = witness.recorded(o.branches[0].origin()).unwrap() {
            let branch = (0..o.branches.len())
                .find(|&b| rec.size <= o.branches[b].size() && o.branches[b].root(rec.size) == rec.root);
            prop_assert!(branch.is_some(), "origin {i}: the recorded checkpoint is on no branch");
            for &c in &mine {
                prop_assert!(consistent(o, (branch.unwrap(), rec.size), c));
                prop_assert!(c.1 <= rec.size, "a cosigned size beyond the recorded one");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn never_cosigns_a_fork_nor_rolls_back(
        lens in proptest::collection::vec(any::<(u8, u8, u8)>(), 1..4),
        rounds in proptest::collection::vec(proptest::collection::vec(req(), 1..24), 1..10),
    ) {
        run(lens, rounds)?;
    }
}

/// The property is not vacuous: a witness that skipped the checks would be caught. Here the
/// checker itself is shown a fork cosigned on both sides and must object.
#[test]
fn the_checker_catches_a_fork() {
    let o = &origins(&[(20, 5, 7)])[0];
    assert!(!consistent(o, (0, 10), (1, 12)));
    assert!(consistent(o, (0, 4), (1, 12)), "both share the first five leaves");
    assert!(consistent(o, (0, 10), (0, 3)));
}
