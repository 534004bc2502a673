//! Witnesses end to end, with the real binaries: `sig-share witness serve` processes cosigning
//! the checkpoints of a `sig-share serve --dev` stack under a 2-of-3 policy. Signing and
//! verifying say "witnessed by k of n"; one witness down changes nothing; two down stop
//! publication (signing fails with the log's 503) until they return; a bundle whose checkpoint
//! lacks the quorum (a copy of the log served without witnesses: the branch they never saw) is
//! refused by `verify`, naming the missing witnesses, and the witnesses refuse that branch.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::stack::Stack;
use common::{Server, free_port, sig_share};
use serde_json::Value;

/// A witness process on a fixed port and data directory, so it can be stopped and restarted.
struct Witness {
    data: PathBuf,
    port: u16,
    log_vkey: String,
}

impl Witness {
    async fn start(&self) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_sig-share"))
            .args([
                "witness",
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--log",
                &self.log_vkey,
                "--data",
            ])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server(child);
        for _ in 0..100 {
            let up = reqwest::get(format!("{}/healthz", self.url())).await.is_ok_and(|r| r.status().is_success());
            if up {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the witness did not start");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn vkey(&self) -> String {
        std::fs::read_to_string(self.data.join("witness.pub")).unwrap().trim().to_owned()
    }
}

/// The stack's transparency-log vkey, made by a first start of the stack in `dir`.
async fn log_vkey(dir: &Path) -> String {
    drop(Stack::start(dir).await);
    std::fs::read_to_string(dir.join("data/tlog/log.pub")).unwrap().trim().to_owned()
}

async fn sign(stack: &Stack, file: &Path, bundle: &Path) -> Result<Value, (i32, String)> {
    stack.sign("alice@example.com", &["sign", file.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]).await
}

fn verify(stack: &Stack, file: &Path, bundle: &Path, trust: &Path) -> (i32, Value) {
    let (code, out, err) = sig_share(&[
        "verify",
        file.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &stack.issuer(),
        "--trust-config",
        trust.to_str().unwrap(),
        "--json",
    ]);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witnessed_stack_publishes_at_the_quorum_and_verifiers_require_it() {
    let dir = tempfile::tempdir().unwrap();
    let vkey = log_vkey(dir.path()).await;
    let witnesses: Vec<Witness> = (1..=3)
        .map(|n| Witness { data: dir.path().join(format!("w{n}")), port: free_port(), log_vkey: vkey.clone() })
        .collect();
    let mut running = Vec::new();
    for w in &witnesses {
        running.push(Some(w.start().await));
    }
    let mut policy = String::new();
    for (n, w) in witnesses.iter().enumerate() {
        policy.push_str(&format!("witness w{} {} {}\n", n + 1, w.vkey(), w.url()));
    }
    policy.push_str("group two-of-three 2 w1 w2 w3\nquorum two-of-three\n");
    let policy_path = dir.path().join("witnesses.policy");
    std::fs::write(&policy_path, &policy).unwrap();
    let stack = Stack::start_with(dir.path(), &["--witness-policy", policy_path.to_str().unwrap()]).await;
    // The stack pins the policy beside its trust config, as `trust pin` does.
    let pinned = std::fs::read_to_string(stack.trust.with_extension("witness-policy")).unwrap();
    assert!(pinned.starts_with(&format!("log {vkey}\n")), "{pinned}");
    let served = reqwest::get(format!("{}/api/v1/witness-policy", stack.url)).await.unwrap().text().await.unwrap();
    assert_eq!(served, pinned);

    let file = dir.path().join("report.txt");
    std::fs::write(&file, b"the minutes of the meeting").unwrap();
    let bundle = dir.path().join("report.sigstore.json");
    sign(&stack, &file, &bundle).await.unwrap();
    let (code, report) = verify(&stack, &file, &bundle, &stack.trust);
    assert_eq!(code, 0, "{report}");
    let witnessed = report["log_entries"][0]["witnessed"].as_str().unwrap();
    assert!(witnessed == "witnessed by 3 of 3" || witnessed == "witnessed by 2 of 3", "{witnessed}");

    // One witness down: still published, with the other two.
    running[0] = None;
    let bundle2 = dir.path().join("second.sigstore.json");
    sign(&stack, &file, &bundle2).await.unwrap();
    let (code, report) = verify(&stack, &file, &bundle2, &stack.trust);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["log_entries"][0]["witnessed"], "witnessed by 2 of 3");

    // Two down: the log stops publishing, and signing fails saying why.
    running[1] = None;
    let size_before = stack.tree_size().await;
    let (code, out) = sign(&stack, &file, &dir.path().join("third.sigstore.json")).await.unwrap_err();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("witnesses did not cosign"), "{out}");
    assert_eq!(stack.tree_size().await, size_before, "the published tree moved without a quorum");

    // They return: the committed entry is published within a few periods, and signing works.
    running[0] = Some(witnesses[0].start().await);
    running[1] = Some(witnesses[1].start().await);
    let mut published = false;
    for _ in 0..50 {
        if stack.tree_size().await > size_before {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the entry logged during the outage was not published after it");
    sign(&stack, &file, &dir.path().join("fourth.sigstore.json")).await.unwrap();

    // A verifier whose policy needs a witness that never cosigned refuses, naming it.
    let stricter = dir.path().join("stricter/trust-config.json");
    std::fs::create_dir_all(stricter.parent().unwrap()).unwrap();
    std::fs::copy(&stack.trust, &stricter).unwrap();
    let ghost = sig_share_tlog::Ed25519Signer::from_seed("ghost.example", &[7; 32]).unwrap().cosigner_verifier().vkey();
    let needs_ghost = pinned.replace(
        "quorum two-of-three\n",
        &format!("witness ghost {ghost}\ngroup both all two-of-three ghost\nquorum both\n"),
    );
    std::fs::write(stricter.with_extension("witness-policy"), needs_ghost).unwrap();
    let (code, report) = verify(&stack, &file, &bundle, &stricter);
    assert_eq!(code, 1, "{report}");
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("short of the witness policy's quorum") && reason.contains("ghost"), "{reason}");
    drop(stack);
    drop(running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_branch_the_witnesses_never_saw_is_refused_by_them_and_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let vkey = log_vkey(dir.path()).await;
    let w = Witness { data: dir.path().join("w"), port: free_port(), log_vkey: vkey.clone() };
    let _witness = w.start().await;
    let policy_path = dir.path().join("witness.policy");
    std::fs::write(&policy_path, format!("witness w {} {}\nquorum w\n", w.vkey(), w.url())).unwrap();
    let with_policy = ["--witness-policy", policy_path.to_str().unwrap()];
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"one history").unwrap();

    // The honest log: one signing, witnessed.
    let stack = Stack::start_with(dir.path(), &with_policy).await;
    sign(&stack, &file, &dir.path().join("honest.sigstore.json")).await.unwrap();
    let pinned_trust = dir.path().join("pinned/trust-config.json");
    std::fs::create_dir_all(pinned_trust.parent().unwrap()).unwrap();
    std::fs::copy(&stack.trust, &pinned_trust).unwrap();
    std::fs::copy(stack.trust.with_extension("witness-policy"), pinned_trust.with_extension("witness-policy")).unwrap();
    drop(stack);

    // A copy of its data directory: same key, same origin.
    let fork = dir.path().join("fork");
    copy_dir(&dir.path().join("data"), &fork.join("data"));

    // The honest log grows on, and the witness follows it.
    let stack = Stack::start_with(dir.path(), &with_policy).await;
    sign(&stack, &file, &dir.path().join("honest2.sigstore.json")).await.unwrap();
    drop(stack);

    // The copy grows differently: the witness refuses that second history.
    let forked = Stack::start_with(&fork, &with_policy).await;
    let other = dir.path().join("b.txt");
    std::fs::write(&other, b"another history").unwrap();
    let (code, out) = sign(&forked, &other, &dir.path().join("fork.sigstore.json")).await.unwrap_err();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("witnessed by 0 of 1"), "the witness must refuse the fork: {out}");
    drop(forked);
    // It kept the proof: two checkpoints of one log, same size, other roots, both log-signed.
    let (code, out, err) = sig_share(&["witness", "evidence", "--data", w.data.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "evidence found exits 1: {out}{err}");
    let evidence: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(evidence["records"][0]["kind"], "conflicting-root", "{evidence}");

    // The fork's operator drops the witnesses: its bundles carry only the log's signature, and a
    // verifier that pinned the policy refuses them.
    let forked = Stack::start_with(&fork, &[]).await;
    let fork_bundle = dir.path().join("fork2.sigstore.json");
    sign(&forked, &other, &fork_bundle).await.unwrap();
    let (code, report) = verify(&forked, &other, &fork_bundle, &pinned_trust);
    assert_eq!(code, 1, "{report}");
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("witnessed by 0 of 1") && reason.contains("missing: w"), "{reason}");
    // Without the policy the same bundle verifies: the witnesses are what caught it.
    let (code, report) = verify(&forked, &other, &fork_bundle, &forked.trust);
    assert_eq!(code, 0, "{report}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
