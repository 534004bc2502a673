//! The witness as a real process: `sig-share witness serve` under load from many logs, some of
//! them forked (two histories under one key), killed with SIGKILL at random moments and
//! restarted, again and again. Every cosignature a client received must be for a checkpoint
//! consistent with the state the witness holds after the restart (no fork was ever cosigned on
//! both sides), and the state never rolls back. Then `witness evidence` lists the forks.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sig_share_tlog::merkle::{MemoryTree, consistency_proof, naive_root};
use sig_share_tlog::witness::{AddCheckpoint, parse_size};
use sig_share_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, Note, NoteVerifier, SignedCheckpoint};

const KILLS: usize = 20;
const ORIGINS: usize = 12;
const LEAVES: usize = 2_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sig-share")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A log's two histories: the trunk, and a fork that leaves it at `fork_at`.
struct Log {
    signer: Ed25519Signer,
    branches: [MemoryTree; 2],
}

impl Log {
    fn new(i: usize) -> Log {
        let signer = Ed25519Signer::from_seed(&format!("crash.example/log{i}"), &[i as u8 + 1; 32]).unwrap();
        let trunk: Vec<Hash> = (0..LEAVES).map(|k| Hash::leaf(format!("log {i} leaf {k}").as_bytes())).collect();
        let fork_at = 3 + i * 2;
        let mut fork = trunk[..fork_at].to_vec();
        fork.extend((fork_at..LEAVES).map(|k| Hash::leaf(format!("log {i} fork {k}").as_bytes())));
        Log { signer, branches: [MemoryTree { leaves: trunk }, MemoryTree { leaves: fork }] }
    }

    fn root(&self, b: usize, size: u64) -> Hash {
        naive_root(&self.branches[b].leaves[..size as usize])
    }

    fn request(&self, b: usize, old: u64, size: u64) -> Vec<u8> {
        let note = Checkpoint::new(self.signer.name(), size, self.root(b, size)).sign(&self.signer);
        let proof =
            if old == 0 || old >= size { vec![] } else { consistency_proof(&self.branches[b], old, size).unwrap() };
        AddCheckpoint { old_size: old, proof, checkpoint: note.to_text().into_bytes() }.encode()
    }

    /// Whether (branch a, size x) and (branch b, size y) can be checkpoints of one history.
    fn consistent(&self, (a, x): (usize, u64), (b, y): (usize, u64)) -> bool {
        let n = x.min(y) as usize;
        self.branches[a].leaves[..n] == self.branches[b].leaves[..n]
    }
}

fn start(data: &Path, list: &Path, port: u16) -> Child {
    Command::new(bin())
        .args(["witness", "serve", "--data"])
        .arg(data)
        .arg("--log-list")
        .arg(list)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--limit-add-checkpoint", "off", "--json"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting sig-share witness serve")
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
    panic!("the witness did not come up at {base}");
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

/// A cosignature a client received: origin, branch, size, and the line.
type Received = (usize, usize, u64, String);

/// One client: drives one branch of one log as a log would (old size from its last answer).
async fn client(
    logs: Arc<Vec<Log>>,
    o: usize,
    b: usize,
    base: Arc<Mutex<String>>,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut rng = Rng(seed | 1);
    let mut old = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let size = (old + 1 + rng.next() % 3).min(LEAVES as u64);
        let body = logs[o].request(b, old, size);
        let url = format!("{}/add-checkpoint", base.lock().unwrap());
        match http.post(url).body(body).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let Ok(text) = r.bytes().await else { continue };
                match status {
                    200 => {
                        received.lock().unwrap().push((o, b, size, String::from_utf8(text.to_vec()).unwrap()));
                        old = size;
                    }
                    409 => match parse_size(&text) {
                        Some(s) => old = s,
                        // A root mismatch: this branch lost; keep trying from a random size.
                        None => old = rng.next() % (old + 1),
                    },
                    422 | 400 => old = 0,
                    other => panic!("status {other}: {}", String::from_utf8_lossy(&text)),
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// The recorded checkpoint of each origin, read through the monitoring endpoint and verified.
async fn recorded(
    http: &reqwest::Client,
    base: &str,
    logs: &[Log],
    witness: &Ed25519Verifier,
) -> Vec<Option<(u64, Hash)>> {
    let mut out = Vec::new();
    for log in logs {
        let hash = hex::encode(Sha256::digest(log.signer.name().as_bytes()));
        let r = http.get(format!("{base}/{hash}/checkpoint")).send().await.unwrap();
        if r.status() == 404 {
            out.push(None);
            continue;
        }
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let cp = SignedCheckpoint::verify(text.as_bytes(), &log.signer.verifier()).expect("log-signed");
        assert!(Note::parse(text.as_bytes()).unwrap().verify(&[witness as &dyn NoteVerifier]).is_ok(), "cosigned");
        out.push(Some((cp.checkpoint.size, cp.checkpoint.root)));
    }
    out
}

/// Which branch a recorded (size, root) is on.
fn branch_of(log: &Log, size: u64, root: &Hash) -> usize {
    (0..2).find(|&b| log.root(b, size) == *root).expect("the recorded checkpoint is on a branch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_never_rolls_back_nor_cosigns_a_fork() {
    let seed = std::env::var("SIG_SHARE_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("seed {seed} (SIG_SHARE_CRASH_SEED={seed} to replay)");
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("witness");
    let logs: Arc<Vec<Log>> = Arc::new((0..ORIGINS).map(Log::new).collect());
    let list = dir.path().join("logs.list");
    let mut text = String::from("logs/v0\n");
    for log in logs.iter() {
        text.push_str(&format!("vkey {}\nqpd 86400000\ncontact test\n", log.signer.verifier().vkey()));
    }
    std::fs::write(&list, text).unwrap();

    let http = reqwest::Client::new();
    let mut port = free_port();
    let base = Arc::new(Mutex::new(format!("http://127.0.0.1:{port}")));
    let mut child = start(&data, &list, port);
    let url = base.lock().unwrap().clone();
    wait_healthy(&http, &url).await;
    let vkey = std::fs::read_to_string(data.join("witness.pub")).unwrap();
    let witness = Ed25519Verifier::from_vkey(&vkey).unwrap();
    assert!(witness.is_cosigner());

    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for o in 0..ORIGINS {
        for b in 0..2 {
            let (logs, base, received, stop) = (logs.clone(), base.clone(), received.clone(), stop.clone());
            clients.push(tokio::spawn(client(logs, o, b, base, received, stop, rng.next())));
        }
    }

    let mut floor: Vec<u64> = vec![0; ORIGINS];
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(100 + rng.next() % 500)).await;
        // SIGKILL: no chance to flush or finish anything.
        child.kill().unwrap();
        child.wait().unwrap();
        // Every cosignature received so far was answered before the kill, so after the restart
        // the state must hold at least it.
        let answered: Vec<Received> = received.lock().unwrap().clone();
        port = free_port();
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        child = start(&data, &list, port);
        let url = base.lock().unwrap().clone();
        wait_healthy(&http, &url).await;
        let now = recorded(&http, &url, &logs, &witness).await;
        for (o, log) in logs.iter().enumerate() {
            let mine: Vec<&Received> = answered.iter().filter(|r| r.0 == o).collect();
            let Some((size, root)) = now[o] else {
                assert!(mine.is_empty(), "kill {kill}: origin {o} was cosigned but nothing is recorded");
                continue;
            };
            assert!(size >= floor[o], "kill {kill}: origin {o} rolled back from {} to {size}", floor[o]);
            floor[o] = size;
            let b = branch_of(log, size, &root);
            for r in mine {
                assert!(r.2 <= size, "kill {kill}: origin {o}: a cosignature for size {} but {size} recorded", r.2);
                assert!(log.consistent((b, size), (r.1, r.2)), "kill {kill}: origin {o}: a cosigned fork");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let url = base.lock().unwrap().clone();
    let last = recorded(&http, &url, &logs, &witness).await;
    child.kill().unwrap();
    child.wait().unwrap();

    // Every cosignature verifies, and no two of one origin contradict each other.
    let all = received.lock().unwrap().clone();
    assert!(all.len() > 200, "the load moved: {} cosignatures", all.len());
    let mut by_origin: HashMap<usize, Vec<(usize, u64)>> = HashMap::new();
    for (o, b, size, line) in &all {
        let log = &logs[*o];
        let cp = Checkpoint::new(log.signer.name(), *size, log.root(*b, *size));
        let note = format!("{}\n{line}", cp.to_text());
        let parsed = Note::parse(note.as_bytes()).unwrap();
        assert!(parsed.verify(&[&witness as &dyn NoteVerifier]).is_ok(), "a cosignature that does not verify");
        by_origin.entry(*o).or_default().push((*b, *size));
    }
    for (o, cps) in &by_origin {
        let log = &logs[*o];
        let (size, root) = last[*o].expect("recorded");
        let b = branch_of(log, size, &root);
        for &c in cps {
            assert!(log.consistent((b, size), c), "origin {o}: cosigned {c:?}, inconsistent with the final state");
        }
    }
    // Both branches were pushed, so most origins saw a fork refused: evidence was kept, and
    // each record proves itself with two log-signed checkpoints.
    let out = Command::new(bin()).args(["witness", "evidence", "--json", "--data"]).arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "evidence kept: exit 1");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = listed["records"].as_array().unwrap();
    assert!(!records.is_empty());
    for r in records {
        let o = logs.iter().position(|l| l.signer.name() == r["origin"].as_str().unwrap()).unwrap();
        let key = logs[o].signer.verifier();
        let a = SignedCheckpoint::verify(r["cosigned"].as_str().unwrap().as_bytes(), &key).unwrap();
        let b = SignedCheckpoint::verify(r["submitted"].as_str().unwrap().as_bytes(), &key).unwrap();
        let (ba, bb) = (
            branch_of(&logs[o], a.checkpoint.size, &a.checkpoint.root),
            branch_of(&logs[o], b.checkpoint.size, &b.checkpoint.root),
        );
        assert!(!logs[o].consistent((ba, a.checkpoint.size), (bb, b.checkpoint.size)), "evidence of a real fork: {r}");
    }
    eprintln!("{} cosignatures, {} evidence records, {KILLS} kills", all.len(), records.len());
}
