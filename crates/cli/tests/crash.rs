//! Crash safety, with real processes: the log serves a steady load and is killed with SIGKILL at
//! random moments, again and again, restarting each time. Afterwards every acknowledged entry is
//! in the log at the index it was given, `log check` passes, and every checkpoint any client was
//! ever shown is consistent with the final tree.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use sig_share_log::EntryFormat;
use sig_share_log::check::read_entry;
use sig_share_log::embedded::DataDir;
use sig_share_log::rekor::{self, TransparencyLogEntry};
use sig_share_log::tiles::StoreTiles;
use sig_share_tlog::tiled::TiledTree;
use sig_share_tlog::{SignedCheckpoint, merkle};

const KILLS: usize = 24;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sig-share")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(data: &Path, port: u16) -> Child {
    Command::new(bin())
        .args(["log", "serve", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--period", "100ms"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting sig-share log serve")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the log did not come up at {base}");
}

/// A tiny deterministic generator, seeded per run and printed so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Default)]
struct Seen {
    /// index → the entry body we were told is there.
    acked: BTreeMap<u64, Vec<u8>>,
    /// Every checkpoint note a client was shown.
    checkpoints: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let key = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap().as_ref(),
    )
    .unwrap();
    let key = Arc::new(key);
    let spki = Arc::new(key.public_key().as_der().unwrap().as_ref().to_vec());
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));

    for round in 0..KILLS {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = start(&data, port);
        wait_healthy(&client, &base).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut loaders = Vec::new();
        for _ in 0..24 {
            let (client, base, seen, key, spki, counter, stop) =
                (client.clone(), base.clone(), seen.clone(), key.clone(), spki.clone(), counter.clone(), stop.clone());
            loaders.push(tokio::spawn(async move {
                let rng = SystemRandom::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let artifact = format!("crash test artifact {n}");
                    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact.as_bytes());
                    let sig = key.sign(&rng, artifact.as_bytes()).unwrap();
                    let body = rekor::p256_request(digest.as_ref(), sig.as_ref(), &spki);
                    let Ok(resp) = client
                        .post(format!("{base}/api/v2/log/entries"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                    else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    if resp.status() != 201 && resp.status() != 200 {
                        continue;
                    }
                    let Ok(tle) = resp.json::<TransparencyLogEntry>().await else { continue };
                    let index: u64 = tle.log_index.parse().unwrap();
                    let entry = base64::engine::general_purpose::STANDARD.decode(&tle.canonicalized_body).unwrap();
                    let mut s = seen.lock().unwrap();
                    if let Some(prev) = s.acked.insert(index, entry.clone()) {
                        assert_eq!(prev, entry, "index {index} was acknowledged for two different entries");
                    }
                    s.checkpoints.push(tle.inclusion_proof.checkpoint.envelope);
                }
            }));
        }
        // Also watch the published checkpoint, as a monitor would.
        let watcher = {
            let (client, base, seen, stop) = (client.clone(), base.clone(), seen.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(r) = client.get(format!("{base}/api/v2/checkpoint")).send().await
                        && let Ok(t) = r.text().await
                    {
                        seen.lock().unwrap().checkpoints.push(t);
                    }
                    tokio::time::sleep(Duration::from_millis(37)).await;
                }
            })
        };
        let alive = 150 + rng.next() % 650;
        tokio::time::sleep(Duration::from_millis(alive)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for l in loaders {
            l.await.unwrap();
        }
        watcher.await.unwrap();
        eprintln!(
            "round {round}: killed after {alive} ms, {} entries acknowledged so far",
            seen.lock().unwrap().acked.len()
        );
    }

    // `log check` right after a kill: redb repairs its file, the published tree checks clean.
    let out = Command::new(bin()).args(["log", "check", "--json", "--data"]).arg(&data).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    if !out.status.success() {
        // Only an interrupted batch (committed, not yet published) may stand between the kill and a
        // clean check, and the log finishes it when it starts.
        assert!(report["error"].as_str().unwrap().contains("starting it will finish publishing"), "{report}");
    }
    // A last start recovers whatever the last kill interrupted; a graceful stop; then check it all.
    let port = free_port();
    let child = start(&data, port);
    wait_healthy(&client, &format!("http://127.0.0.1:{port}")).await;
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success(), "the log did not exit cleanly on SIGTERM: {status}");

    let out = Command::new(bin()).args(["log", "check", "--json", "--data"]).arg(&data).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "log check failed: {report}");
    assert_eq!(report["state_checked"], true);
    let final_size = report["size"].as_u64().unwrap();

    let dir = DataDir::new(&data);
    let vkey = dir.verifier().unwrap();
    let (tiles, _) = dir.open_for_check().unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.acked.len() > 100, "too little load to mean anything: {} acknowledged", seen.acked.len());
    for (&index, entry) in &seen.acked {
        assert!(index < final_size, "acknowledged entry {index} is beyond the final size {final_size}");
        assert_eq!(
            &read_entry(&tiles, EntryFormat::TlogTiles, index, final_size).unwrap(),
            entry,
            "entry {index} changed or vanished"
        );
    }
    let final_cp =
        SignedCheckpoint::verify(&std::fs::read(data.join("log/checkpoint")).unwrap(), &vkey).unwrap().checkpoint;
    assert_eq!(final_cp.size, final_size);
    let reader = StoreTiles(&tiles);
    let tree = TiledTree::new(&reader, final_size);
    let mut distinct = std::collections::BTreeSet::new();
    for note in &seen.checkpoints {
        let cp =
            SignedCheckpoint::verify(note.as_bytes(), &vkey).expect("every checkpoint served is signed").checkpoint;
        if !distinct.insert((cp.size, cp.root)) || cp.size == 0 {
            continue;
        }
        let proof = merkle::consistency_proof(&tree, cp.size, final_size).unwrap();
        merkle::verify_consistency(cp.size, final_size, &cp.root, &final_cp.root, &proof)
            .unwrap_or_else(|e| panic!("checkpoint at size {} is not consistent with the final tree: {e}", cp.size));
    }
    assert!(distinct.len() > KILLS, "expected many distinct checkpoints, saw {}", distinct.len());
    eprintln!(
        "{KILLS} kills: {} acknowledged entries all present, {} distinct checkpoints all consistent with size {final_size}",
        seen.acked.len(),
        distinct.len()
    );
}
