//! The log asking witnesses: it publishes only checkpoints its policy's quorum cosigned, keeps
//! publishing while a quorum answers, stops (503) when none does, and resumes without losing
//! an acknowledged entry when the witnesses return, across restarts too.
//!
//! The witnesses here are small in-test servers that follow tlog-witness v1.0.0's state rules
//! (409 with the size, consistency proofs checked); sig-share's own witness is tested against
//! the log end to end in the CLI's tests.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::*;
use sig_share_log::faults::FaultPlan;
use sig_share_log::log::LogError;
use sig_share_log::witnessing::Witnesses;
use sig_share_log::{Log, LogConfig, SubmitError};
use sig_share_tlog::policy::Policy;
use sig_share_tlog::witness::{AddCheckpoint, SIZE_CONTENT_TYPE, encode_size};
use sig_share_tlog::{Ed25519Signer, Hash, SignedCheckpoint, merkle};

/// A witness that keeps its state in memory and can be switched off.
#[derive(Clone)]
struct TestWitness {
    key: Ed25519Signer,
    log_key: sig_share_tlog::Ed25519Verifier,
    /// origin -> (size, root) last cosigned.
    state: Arc<Mutex<HashMap<String, (u64, Hash)>>>,
    down: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<u64>>>,
}

async fn add_checkpoint(State(w): State<TestWitness>, body: Bytes) -> Response {
    if w.down.load(Ordering::Relaxed) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let Ok(req) = AddCheckpoint::parse(&body) else { return StatusCode::BAD_REQUEST.into_response() };
    let Ok(signed) = SignedCheckpoint::verify(&req.checkpoint, &w.log_key) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let cp = &signed.checkpoint;
    w.requests.lock().unwrap().push(req.old_size);
    let mut state = w.state.lock().unwrap();
    let (size, root) = state.get(&cp.origin).copied().unwrap_or((0, Hash::empty()));
    if req.old_size > cp.size {
        return StatusCode::BAD_REQUEST.into_response();
    }
    if req.old_size != size {
        return ([(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)], encode_size(size)).into_response();
    }
    if size == cp.size && root != cp.root {
        return StatusCode::CONFLICT.into_response();
    }
    let consistent = if size == 0 {
        req.proof.is_empty()
    } else {
        merkle::verify_consistency(size, cp.size, &root, &cp.root, &req.proof).is_ok()
    };
    if !consistent {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    state.insert(cp.origin.clone(), (cp.size, cp.root));
    (StatusCode::OK, w.key.cosign(1_700_000_000, signed.note.text()).line()).into_response()
}

/// Fixes the 409 status for the size answer (axum makes tuples 200).
async fn serve_witness(w: TestWitness) -> SocketAddr {
    let app = axum::Router::new()
        .route(
            "/add-checkpoint",
            axum::routing::post(|s, b| async move {
                let mut r = add_checkpoint(s, b).await;
                if r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == SIZE_CONTENT_TYPE) {
                    *r.status_mut() = StatusCode::CONFLICT;
                }
                r
            }),
        )
        .with_state(w);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

struct Witnessed {
    witnesses: Vec<TestWitness>,
    policy: String,
}

async fn three_witnesses() -> Witnessed {
    let mut witnesses = Vec::new();
    let mut policy = String::new();
    for n in 1..=3u8 {
        let w = TestWitness {
            key: Ed25519Signer::from_seed(&format!("w{n}.test"), &[n; 32]).unwrap(),
            log_key: signer().verifier(),
            state: Arc::default(),
            down: Arc::default(),
            requests: Arc::default(),
        };
        let addr = serve_witness(w.clone()).await;
        policy.push_str(&format!("witness W{n} {} http://{addr}/\n", w.key.cosigner_verifier().vkey()));
        witnesses.push(w);
    }
    policy.push_str("group g 2 W1 W2 W3\nquorum g\n");
    Witnessed { witnesses, policy }
}

fn open_witnessed(dir: &std::path::Path, policy: &str) -> Log {
    let mut config = LogConfig::new(ORIGIN);
    let witnesses = Witnesses::new(Policy::parse(policy).unwrap(), Duration::from_secs(2)).unwrap();
    config.witnesses = Some(Arc::new(witnesses));
    Log::open(config, signer(), stores(dir, &FaultPlan::new())).unwrap()
}

fn quorum(policy: &str, checkpoint: &str) -> (bool, usize) {
    let signed = SignedCheckpoint::verify(checkpoint.as_bytes(), &signer().verifier()).unwrap();
    let w = Policy::parse(policy).unwrap().check(&signed, u64::MAX / 2, 0).unwrap();
    (w.quorum_met, w.cosigned.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_only_cosigned_checkpoints_and_survives_one_witness_down() {
    let (_guard, dir) = tempdir();
    let ws = three_witnesses().await;
    let log = open_witnessed(&dir, &ws.policy);
    let first = submit_batch(&log, (0..10).map(|i| entry("w", i)).collect()).await;
    for r in &first {
        let logged = r.as_ref().unwrap();
        let (met, k) = quorum(&ws.policy, &logged.published.checkpoint);
        assert!(met && k >= 2, "published with {k} cosignatures");
    }
    let public = log.stores().tiles.get("checkpoint").unwrap().unwrap();
    assert!(quorum(&ws.policy, std::str::from_utf8(&public).unwrap()).0);

    // One witness down: 2 of 3 still meet the quorum.
    ws.witnesses[0].down.store(true, Ordering::Relaxed);
    let second = submit_batch(&log, (10..20).map(|i| entry("w", i)).collect()).await;
    let logged = second[0].as_ref().unwrap();
    assert_eq!(logged.published.size, 20);
    assert_eq!(quorum(&ws.policy, &logged.published.checkpoint), (true, 2));
    // The witnesses that cosigned got a consistency proof from 10, not a fresh start.
    assert_eq!(*ws.witnesses[1].requests.lock().unwrap(), vec![0, 10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_it_stops_publishing_and_resumes_losing_nothing() {
    let (_guard, dir) = tempdir();
    let ws = three_witnesses().await;
    let log = open_witnessed(&dir, &ws.policy);
    submit_batch(&log, (0..5).map(|i| entry("q", i)).collect()).await.into_iter().for_each(|r| {
        r.unwrap();
    });
    let before = log.stores().tiles.get("checkpoint").unwrap().unwrap();

    ws.witnesses[0].down.store(true, Ordering::Relaxed);
    ws.witnesses[1].down.store(true, Ordering::Relaxed);
    let refused = submit_batch(&log, (5..8).map(|i| entry("q", i)).collect()).await;
    for r in &refused {
        match r {
            Err(SubmitError::Unavailable(m)) => assert!(m.contains("witnessed by 1 of 3"), "{m}"),
            other => panic!("expected 503, got {other:?}"),
        }
    }
    // Nothing unwitnessed became public, and the published view did not move.
    assert_eq!(log.stores().tiles.get("checkpoint").unwrap().unwrap(), before);
    assert_eq!(log.latest().size, 5);
    // A resubmission is told the same until the witnesses return.
    assert!(matches!(log.submit(entry("q", 5)).await, Err(SubmitError::Unavailable(_))));
    assert!(matches!(log.sequence().await, Err(LogError::Unwitnessed(_))));
    assert_eq!(log.latest().size, 5);

    // Restart while unwitnessed: the public checkpoint stays the cosigned one.
    drop(log);
    let log = open_witnessed(&dir, &ws.policy);
    assert_eq!(log.latest().size, 5);

    ws.witnesses[0].down.store(false, Ordering::Relaxed);
    ws.witnesses[1].down.store(false, Ordering::Relaxed);
    // An empty period is enough: the committed tree is witnessed and published.
    assert_eq!(log.sequence().await.unwrap(), 0);
    assert_eq!(log.latest().size, 8);
    assert!(quorum(&ws.policy, &log.latest().checkpoint).0);
    for i in 5..8 {
        let logged = log.submit(entry("q", i)).await.unwrap();
        assert!(logged.duplicate, "entry {i} was logged before the outage answer");
        let proof = logged.published.inclusion_proof(logged.index, log.stores().tiles.as_ref()).unwrap();
        merkle::verify_inclusion(logged.index, 8, &Hash::leaf(&entry("q", i).data), &proof, &logged.published.root)
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_that_saw_another_history_is_named() {
    let (_guard, dir) = tempdir();
    let ws = three_witnesses().await;
    // Two witnesses remember a longer tree of this origin than the log has.
    for w in &ws.witnesses[..2] {
        w.state.lock().unwrap().insert(ORIGIN.to_owned(), (1_000, Hash::leaf(b"elsewhere")));
    }
    let log = open_witnessed(&dir, &ws.policy);
    let refused = submit_batch(&log, vec![entry("fork", 0)]).await;
    match &refused[0] {
        Err(SubmitError::Unavailable(m)) => assert!(m.contains("witnessed by 1 of 3"), "{m}"),
        other => panic!("expected 503, got {other:?}"),
    }
    assert_eq!(log.latest().size, 0);
}

#[test]
fn a_policy_whose_quorum_has_no_reachable_witness_is_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _enter = rt.enter();
    let w = Ed25519Signer::from_seed("w.test", &[1; 32]).unwrap().cosigner_verifier().vkey();
    let err = Witnesses::new(Policy::parse(&format!("witness W {w}\nquorum W\n")).unwrap(), Duration::from_secs(1))
        .unwrap_err();
    assert!(err.contains("URL"), "{err}");
    let err =
        Witnesses::new(Policy::parse(&format!("witness W {w} ftp://x/\nquorum W\n")).unwrap(), Duration::from_secs(1))
            .unwrap_err();
    assert!(err.contains("not http"), "{err}");
}
