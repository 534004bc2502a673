//! The witness over HTTP: tlog-witness v1.0.0's statuses one by one (starting from the spec's own
//! example request), the read endpoint, evidence, hostile input, and simultaneous requests.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{FakeLog, open, witness_signer};
use http_body_util::BodyExt;
use sig_share_limits::Limit;
use sig_share_tlog::witness::AddCheckpoint;
use sig_share_tlog::{Checkpoint, Hash, Note, NoteVerifier};
use sig_share_witness::evidence::{self, Kind};
use sig_share_witness::http::{HttpLimits, router};
use sig_share_witness::logs::origin_hash;
use sig_share_witness::{Options, Witness};
use tower::ServiceExt;

/// The example request of the spec text (tlog-witness v1.0.0), byte for byte.
const SPEC_EXAMPLE: &str = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

fn no_limits() -> HttpLimits {
    HttpLimits { add_per_client: Limit::OFF, reads_per_client: Limit::OFF }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn send(app: &axum::Router, method: &str, path: &str, body: Vec<u8>) -> Answer {
    let req = Request::builder().method(method).uri(path).body(Body::from(body)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type =
        resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Answer { status, content_type, body }
}

async fn add(app: &axum::Router, body: impl Into<Vec<u8>>) -> Answer {
    send(app, "POST", "/add-checkpoint", body.into()).await
}

/// Checks a 200's cosignature line against the witness's key on the checkpoint of `log` at `size`.
fn assert_cosigns(a: &Answer, log: &FakeLog, size: u64) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let mut text = log.checkpoint(size);
    text.push_str(&a.body);
    let note = Note::parse(text.as_bytes()).unwrap();
    let w = witness_signer().cosigner_verifier();
    let verified = note.verify(&[&w as &dyn NoteVerifier]).expect("the cosignature verifies");
    assert_eq!(verified.len(), 1);
    assert!(verified[0].timestamp.unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn the_specs_statuses_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/behind-the-sofa", 1);
    log.grow(20, "a");
    let other = FakeLog::new("example.com/other", 2);

    // 404: the spec's example names an origin this witness does not know.
    {
        let w = open(&dir.path().join("w0"), &[&other]);
        let a = add(&router(w, no_limits()), SPEC_EXAMPLE).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    }
    let w = open(dir.path(), &[&log, &other]);
    let app = router(w.clone(), no_limits());
    // 403: now the origin is known (under our key), but the example's lines are another key's:
    // unknown keys are ignored, and no trusted signature is left.
    let a = add(&app, SPEC_EXAMPLE).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);

    // 200: the first checkpoint, trusted on first use (old 0, no proof).
    let a = add(&app, log.request(0, 5)).await;
    assert_cosigns(&a, &log, 5);
    assert!(a.body.starts_with("\u{2014} witness.example/w1 ") && a.body.ends_with('\n'));

    // 400: old larger than the checkpoint.
    let a =
        add(&app, AddCheckpoint { old_size: 9, proof: vec![], checkpoint: log.checkpoint(8).into() }.encode()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);

    // 409: old is not the size last cosigned; the body says which, as text/x.tlog.size.
    for old in [0, 3, 6] {
        let body = AddCheckpoint { old_size: old, proof: log.proof(old, 8), checkpoint: log.checkpoint(8).into() };
        let a = add(&app, body.encode()).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "old {old}: {}", a.body);
        assert_eq!(a.content_type, "text/x.tlog.size");
        assert_eq!(a.body, "5\n");
    }

    // 422: a proof that does not verify, and none at all.
    let mut bad = log.proof(5, 8);
    bad[0] = Hash::leaf(b"not a node");
    let a = add(&app, AddCheckpoint { old_size: 5, proof: bad, checkpoint: log.checkpoint(8).into() }.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a =
        add(&app, AddCheckpoint { old_size: 5, proof: vec![], checkpoint: log.checkpoint(8).into() }.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);

    // 200: the right proof.
    let a = add(&app, log.request(5, 8)).await;
    assert_cosigns(&a, &log, 8);
    // 200 again for the same checkpoint (the recorded one, no proof).
    let a = add(&app, log.request(8, 8)).await;
    assert_cosigns(&a, &log, 8);

    // 409 (v1.0.0; C2SP main says 422): the size last cosigned with another root. Not
    // text/x.tlog.size, which clients read as "retry from this size".
    let mut fork = log.clone();
    fork.tree.leaves.truncate(6);
    fork.grow(2, "fork");
    assert_eq!(fork.size(), 8);
    let a = add(&app, fork.request(8, 8)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_ne!(a.content_type, "text/x.tlog.size");

    // 422: a non-empty proof with old 0 (a log never cosigned).
    let mut fresh = other.clone();
    fresh.grow(4, "o");
    let proof = fresh.proof(2, 4);
    let a = add(&app, AddCheckpoint { old_size: 0, proof, checkpoint: fresh.checkpoint(4).into() }.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);

    // 422: a size-0 checkpoint must carry the empty tree's root.
    let empty_wrong = Checkpoint::new(other.origin(), 0, Hash::leaf(b"x")).sign(&other.signer).to_text();
    let a = add(&app, AddCheckpoint { old_size: 0, proof: vec![], checkpoint: empty_wrong.into() }.encode()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = add(&app, other.request(0, 0)).await;
    assert_cosigns(&a, &other, 0);

    // 403: a line naming the trusted key (name and key ID) that does not verify.
    let mut note = Note::parse(log.checkpoint(9).as_bytes()).unwrap();
    let mut sig = note.signatures()[0].clone();
    sig.signature[10] ^= 1;
    let mut forged = Note::new(note.text()).unwrap();
    forged.push_signature(sig);
    let a =
        add(&app, AddCheckpoint { old_size: 8, proof: log.proof(8, 9), checkpoint: forged.to_text().into() }.encode())
            .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    // ... even beside a good one.
    note.push_signature(note.signatures()[0].clone());
    let mut bad_sig = note.signatures()[0].clone();
    bad_sig.signature[0] ^= 1;
    note.push_signature(bad_sig);
    let a =
        add(&app, AddCheckpoint { old_size: 8, proof: log.proof(8, 9), checkpoint: note.to_text().into() }.encode())
            .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);

    // The recorded state is what was cosigned last; the fork and the bad proofs left it alone.
    let rec = w.recorded(log.origin()).unwrap().unwrap();
    assert_eq!((rec.size, rec.root), (8, log.root(8)));
}

#[tokio::test]
async fn unknown_signers_are_ignored_and_only_the_logs_lines_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(3, "a");
    let stranger = sig_share_tlog::Ed25519Signer::from_seed("someone.example/w", &[9; 32]).unwrap();
    let mut note = Note::parse(log.checkpoint(3).as_bytes()).unwrap();
    note.push_signature(stranger.cosign(1_800_000_000, note.text()));
    let w = open(dir.path(), &[&log]);
    let app = router(w.clone(), no_limits());
    let a = add(&app, AddCheckpoint { old_size: 0, proof: vec![], checkpoint: note.to_text().into() }.encode()).await;
    assert_cosigns(&a, &log, 3);
    // The read endpoint: the log's line and the witness's, not the stranger's.
    let path = format!("/{}/checkpoint", hex::encode(origin_hash(log.origin())));
    let r = send(&app, "GET", &path, vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    let served = Note::parse(r.body.as_bytes()).unwrap();
    let names: Vec<&str> = served.signatures().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["example.com/log", "witness.example/w1"]);
    assert!(served.verify(&[&witness_signer().cosigner_verifier() as &dyn NoteVerifier]).is_ok());
    assert!(served.verify(&[&log.signer.verifier() as &dyn NoteVerifier]).is_ok());
    // Upper-case hex, another origin's hash, garbage: 404.
    for p in [
        path.to_uppercase().replace("/CHECKPOINT", "/checkpoint"),
        format!("/{}/checkpoint", "00".repeat(32)),
        "/zz/checkpoint".into(),
    ] {
        let r = send(&app, "GET", &p, vec![]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}");
    }
}

#[tokio::test]
async fn forks_and_bad_proofs_are_kept_as_evidence_and_replays_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(10, "a");
    let w = open(dir.path(), &[&log]);
    let app = router(w.clone(), no_limits());
    assert_eq!(add(&app, log.request(0, 4)).await.status, StatusCode::OK);
    assert_eq!(add(&app, log.request(4, 6)).await.status, StatusCode::OK);
    // Replays of old checkpoints, stale old sizes: refused, not evidence.
    assert_eq!(add(&app, log.request(0, 4)).await.status, StatusCode::CONFLICT);
    assert_eq!(add(&app, log.request(4, 6)).await.status, StatusCode::CONFLICT);
    assert_eq!(add(&app, log.request(6, 4)).await.status, StatusCode::BAD_REQUEST);
    assert!(evidence::list(dir.path()).unwrap().0.is_empty());

    // A fork at size 6: the same size, another root.
    let mut fork = log.clone();
    fork.tree.leaves.truncate(5);
    fork.grow(5, "fork");
    assert_eq!(add(&app, fork.request(6, 6)).await.status, StatusCode::CONFLICT);
    // Sent twice, and with a stale old size: one record.
    assert_eq!(add(&app, fork.request(6, 6)).await.status, StatusCode::CONFLICT);
    assert_eq!(add(&app, fork.request(4, 6)).await.status, StatusCode::CONFLICT);
    // The fork grown: its proof from 6 does not verify against the cosigned 6.
    assert_eq!(add(&app, fork.request(6, 9)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (records, errors) = evidence::list(dir.path()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let kinds: Vec<Kind> = records.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.len(), 2, "{records:#?}");
    assert!(kinds.contains(&Kind::ConflictingRoot) && kinds.contains(&Kind::InconsistentProof));
    // Each record holds two log-signed notes that prove it, checkable by anyone with the log's key.
    for e in &records {
        let v = log.signer.verifier();
        let a = sig_share_tlog::SignedCheckpoint::verify(e.cosigned.as_bytes(), &v).unwrap();
        let b = sig_share_tlog::SignedCheckpoint::verify(e.submitted.as_bytes(), &v).unwrap();
        assert_eq!(a.checkpoint.size, 6);
        match e.kind {
            Kind::ConflictingRoot => {
                assert_eq!(b.checkpoint.size, 6);
                assert_ne!(a.checkpoint.root, b.checkpoint.root);
            }
            Kind::InconsistentProof => {
                assert_eq!(b.checkpoint.size, 9);
                let proof: Vec<Hash> = e.proof.iter().map(|p| Hash::from_base64(p).unwrap()).collect();
                assert_eq!(proof, fork.proof(6, 9), "the proof sent is kept");
                let check =
                    sig_share_tlog::merkle::verify_consistency(6, 9, &a.checkpoint.root, &b.checkpoint.root, &proof);
                assert!(check.is_err());
            }
        }
    }
    let metrics = send(&app, "GET", "/metrics", vec![]).await.body;
    assert!(metrics.contains("sigshare_witness_evidence_kept_total{kind=\"conflicting-root\"} 1"), "{metrics}");
    // The honest log goes on.
    assert_eq!(add(&app, log.request(6, 10)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn hostile_input_is_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(10, "a");
    let w = open(dir.path(), &[&log]);
    let app = router(w.clone(), no_limits());
    // Oversized.
    let big = vec![b'a'; sig_share_tlog::witness::MAX_REQUEST_SIZE + 1];
    assert_eq!(add(&app, big).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    // 64 proof lines (63 is the most), otherwise valid.
    let h = Hash::leaf(b"p");
    let body = AddCheckpoint { old_size: 0, proof: vec![h; 64], checkpoint: log.checkpoint(5).into() }.encode();
    assert_eq!(add(&app, body).await.status, StatusCode::BAD_REQUEST);
    // Garbage of every shape.
    for g in [
        &b""[..],
        b"old 0\n\n",
        b"old 0\n\nnot a note\n",
        b"old 0\n\nexample.com/log\n5\nnot base64\n\n\xe2\x80\x94 example.com/log AAAAAAAA\n",
        b"old 00\n\nexample.com/log\n",
        b"\xff\xfe\x00garbage",
        b"old 0\n\nexample.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 example.com/log AAAAAAAA\n",
    ] {
        let a = add(&app, g.to_vec()).await;
        assert!(matches!(a.status.as_u16(), 400 | 403), "{:?}: {} {}", String::from_utf8_lossy(g), a.status, a.body);
    }
    // A valid note for an unknown origin.
    let mut stranger = FakeLog::new("example.com/unknown", 5);
    stranger.grow(3, "s");
    assert_eq!(add(&app, stranger.request(0, 3)).await.status, StatusCode::NOT_FOUND);
    // A log-signed checkpoint under another log's origin name: the key is not trusted for it.
    let imposter = FakeLog {
        signer: sig_share_tlog::Ed25519Signer::from_seed("example.com/log", &[6; 32]).unwrap(),
        tree: log.tree.clone(),
    };
    assert_eq!(add(&app, imposter.request(0, 3)).await.status, StatusCode::FORBIDDEN);
    // Wrong methods and routes: JSON.
    let a = send(&app, "GET", "/add-checkpoint", vec![]).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.content_type.starts_with("application/json"), "{}", a.content_type);
    let a = send(&app, "PUT", "/metrics", vec![]).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = send(&app, "POST", "/add-checkpoint/x", vec![]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.content_type.starts_with("application/json"));
    // Nothing of it touched the state; the log is served as ever.
    assert!(w.recorded(log.origin()).unwrap().is_none());
    assert_eq!(add(&app, log.request(0, 3)).await.status, StatusCode::OK);
    // A replay of that cosigned checkpoint later: 409 with the size, nothing rolled back.
    assert_eq!(add(&app, log.request(3, 7)).await.status, StatusCode::OK);
    let a = add(&app, log.request(0, 3)).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::CONFLICT, "7\n"));
    assert_eq!(w.recorded(log.origin()).unwrap().unwrap().size, 7);
}

#[tokio::test]
async fn a_flood_from_one_address_is_answered_429() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(3, "a");
    let w = open(dir.path(), &[&log]);
    let limits = HttpLimits { add_per_client: "5/min".parse().unwrap(), reads_per_client: Limit::OFF };
    let app = router(w, limits);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let a = add(&app, log.request(0, 3)).await;
        statuses.push(a.status.as_u16());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 15, "{statuses:?}");
    assert!(statuses[..5].iter().all(|&s| s == 200 || s == 409), "{statuses:?}");
    // And per log, from a list's qpd.
    let dir = tempfile::tempdir().unwrap();
    let mut logs = sig_share_witness::Logs::new();
    logs.add_list(&format!("logs/v0\nvkey {}\nqpd 24\n", log.vkey())).unwrap();
    let w = Witness::open(dir.path(), logs, witness_signer(), Options::default()).unwrap();
    let app = router(w, no_limits());
    let mut refused = 0;
    for _ in 0..15 {
        refused += usize::from(add(&app, log.request(0, 3)).await.status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(refused, 5, "a qpd of 24 allows a burst of 10");
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(9, "a");
    {
        let w = open(dir.path(), &[&log]);
        let app = router(w, no_limits());
        assert_eq!(add(&app, log.request(0, 4)).await.status, StatusCode::OK);
        assert_eq!(add(&app, log.request(4, 7)).await.status, StatusCode::OK);
    }
    let w = open(dir.path(), &[&log]);
    let app = router(w, no_limits());
    let a = add(&app, log.request(0, 9)).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::CONFLICT, "7\n"));
    assert_eq!(add(&app, log.request(7, 9)).await.status, StatusCode::OK);
}

/// Serves the router on a loopback port, as the binary does (client addresses included).
async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_requests_from_one_old_size_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(8, "base");
    let w = open(dir.path(), &[&log]);
    let addr = serve(router(w.clone(), no_limits())).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/add-checkpoint");
    assert_eq!(client.post(&url).body(log.request(0, 8)).send().await.unwrap().status(), 200);
    for round in 0..5 {
        // 64 different next checkpoints (different sizes and forks), all from the recorded size.
        let old = w.recorded(log.origin()).unwrap().unwrap().size;
        let mut bodies = Vec::new();
        for i in 0..64 {
            let mut next = log.clone();
            next.tree.leaves.truncate(old as usize);
            next.grow(1 + i % 5, &format!("round {round} branch {i}"));
            bodies.push((next.clone(), next.size(), next.request(old, next.size())));
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(bodies.len()));
        let mut tasks = Vec::new();
        for (next, size, body) in bodies {
            let (client, url, barrier) = (client.clone(), url.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let r = client.post(&url).body(body).send().await.unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                (next, size, status, text)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (next, size, status, text) = t.await.unwrap();
            match status {
                200 => winners.push((next, size, text)),
                409 => {}
                other => panic!("round {round}: status {other}: {text}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one of the simultaneous requests is cosigned");
        let (next, size, text) = winners.pop().unwrap();
        let rec = w.recorded(log.origin()).unwrap().unwrap();
        assert_eq!((rec.size, rec.root), (size, next.root(size)), "the winner is what is recorded");
        let mut note = next.checkpoint(size);
        note.push_str(&text);
        let parsed = Note::parse(note.as_bytes()).unwrap();
        assert!(parsed.verify(&[&witness_signer().cosigner_verifier() as &dyn NoteVerifier]).is_ok());
        log = next;
    }
    let metrics = client.get(format!("http://{addr}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sigshare_witness_requests_total{status=\"409\"} 315"), "{metrics}");
    assert!(metrics.contains("sigshare_witness_commit_batch_size_count"), "{metrics}");
}

#[tokio::test]
async fn a_listed_origin_other_than_the_key_name_is_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("key.example/name", 3);
    log.grow(4, "a");
    let mut logs = sig_share_witness::Logs::new();
    logs.add_list(&format!("logs/v0\nvkey {}\norigin other.example/log\nqpd 86400\n", log.vkey())).unwrap();
    let w = Witness::open(dir.path(), logs, witness_signer(), Options::default()).unwrap();
    let app = router(w.clone(), no_limits());
    let note = Checkpoint::new("other.example/log", 4, log.root(4)).sign(&log.signer).to_text();
    let a = add(&app, AddCheckpoint { old_size: 0, proof: vec![], checkpoint: note.into() }.encode()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(w.recorded("other.example/log").unwrap().unwrap().size, 4);
    // The key's name is not an origin this witness knows.
    assert_eq!(add(&app, log.request(0, 4)).await.status, StatusCode::NOT_FOUND);
}
