//! `sig-share monitor` end to end: the stack (`serve --dev`), a file signed by alice, and the
//! monitor run from the trust config the stack publishes, `--once --json`: both logs verified,
//! alice's entry and certificate reported, every event posted to a webhook, nothing reported
//! twice, a dead webhook only a warning, bad arguments exit 2.

mod common;

use std::sync::{Arc, Mutex};

use axum::routing::post;
use common::sig_share;
use common::stack::Stack;
use serde_json::Value;

/// A webhook that keeps every body posted to it.
async fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let r = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            r.lock().unwrap().push(serde_json::from_str(&body).unwrap());
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn events(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| format!("{} {}", e["event"].as_str().unwrap(), e["log"].as_str().unwrap_or(""))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_once_reports_a_watched_signer_from_both_logs_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"alice's notes").unwrap();
    let signed = stack.sign("alice@example.com", &["sign", file.to_str().unwrap()]).await.unwrap();
    stack.sign("bob@example.com", &["sign", file.to_str().unwrap()]).await.unwrap();
    let (hook, received) = webhook().await;
    let state = dir.path().join("monitor");
    let trust = stack.trust.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["monitor", "--once", "--json", "--state", state.to_str().unwrap(), "--trust-config", trust];
        args.extend(extra);
        sig_share(&args)
    };

    let (code, out, err) = run(&["--identity", "alice@example.com", "--webhook", &hook]);
    assert_eq!(code, 0, "{out}{err}");
    let first = events(&out);
    // The stack's development witness, from the policy pinned beside the trust config, holds the
    // same view as the log.
    assert_eq!(
        kinds(&first),
        ["entry tlog", "checkpoint tlog", "witness tlog", "certificate ctlog", "checkpoint ctlog"],
        "{out}"
    );
    let entry = &first[0];
    assert_eq!(entry["identity"], "alice@example.com");
    assert_eq!(entry["issuer"], stack.issuer());
    assert_eq!(entry["watched"], serde_json::json!(["identity alice@example.com"]));
    assert!(entry["certificate"].as_str().unwrap().starts_with("trusted"), "{entry}");
    assert_eq!(entry["index"], signed["log_index"]);
    assert_eq!(first[1]["size"], stack.tree_size().await);
    assert_eq!(first[1]["witnessed"], "witnessed by 1 of 1");
    assert_eq!(
        (&first[2]["witness"], &first[2]["cosigned"]),
        (&serde_json::json!("dev-witness"), &serde_json::json!(true))
    );
    assert_eq!(first[3]["identity"], "alice@example.com");
    assert_eq!(first[3]["entry_type"], "precert");
    // The webhook got the same events.
    assert_eq!(*received.lock().unwrap(), first);

    // Nothing new: the checkpoints again, no entry twice.
    let (code, out, _) = run(&["--identity", "alice@example.com"]);
    assert_eq!(code, 0);
    let again = events(&out);
    assert_eq!(kinds(&again), ["checkpoint tlog", "witness tlog", "checkpoint ctlog"]);
    assert_eq!(again[0]["new_entries"], 0);

    // A webhook nobody answers: a warning, and the run still succeeds.
    let dead = format!("http://127.0.0.1:{}/hook", common::free_port());
    let (code, out, err) = run(&["--webhook", &dead]);
    assert_eq!(code, 0, "{out}{err}");
    let warned = events(&out);
    assert!(
        warned
            .iter()
            .any(|e| e["event"] == "warning" && e["message"].as_str().unwrap().contains("could not be reached")),
        "{out}"
    );

    // Human-readable lines without --json.
    let (code, out, _) = sig_share(&["monitor", "--state", state.to_str().unwrap(), "--trust-config", trust]);
    assert_eq!(code, 0);
    assert!(out.lines().next().unwrap().starts_with("tlog "), "{out}");

    // Bad arguments: exit 2, nothing monitored.
    let (code, _, err) = run(&["--vkey", "not a vkey"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = sig_share(&["monitor", "--state", state.to_str().unwrap(), "--log", "http://127.0.0.1:9"]);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_exits_1_on_a_rewritten_entry_and_keeps_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log-data");
    let (server, url) = serve_log(&data).await;
    let vkey = data.join("log.pub");
    let state = dir.path().join("monitor");
    let run = || {
        sig_share(&[
            "monitor",
            "--json",
            "--state",
            state.to_str().unwrap(),
            "--log",
            &url,
            "--vkey",
            vkey.to_str().unwrap(),
        ])
    };
    log_entries(&url, 0..3).await;
    let (code, out, err) = run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("not followed"), "{err}");

    log_entries(&url, 3..6).await;
    let bundle = data.join("log/tile/entries/000.p/6");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 1;
    let mut perms = std::fs::metadata(&bundle).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&bundle, perms).unwrap();
    std::fs::write(&bundle, &bytes).unwrap();
    let (code, out, err) = run();
    assert_eq!(code, 1, "{out}{err}");
    let found = events(&out);
    let alarm = found.iter().find(|e| e["event"] == "tree_mismatch").unwrap_or_else(|| panic!("{out}"));
    assert_eq!(alarm["index"], 5);
    assert_eq!(alarm["tile"], "tile/entries/000.p/6");
    // Raised until reset by hand.
    let (code, out, _) = run();
    assert_eq!(code, 1);
    assert_eq!(events(&out)[0]["event"], "alarm");
    drop(server);
}

/// `sig-share log serve` on a free port; killed when dropped.
struct LogServer(std::process::Child);

impl Drop for LogServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve_log(data: &std::path::Path) -> (LogServer, String) {
    let listen = format!("127.0.0.1:{}", common::free_port());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sig-share"))
        .args(["log", "serve", "--period", "100ms", "--listen", &listen, "--data"])
        .arg(data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = LogServer(child);
    let url = format!("http://{listen}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return (server, url);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("sig-share log serve did not start");
}

/// Logs entries over the digests of the numbers in `range`, each signed by a throwaway key.
async fn log_entries(url: &str, range: std::ops::Range<u32>) {
    for i in range {
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(i.to_be_bytes()).into();
        common::log_raw_entry(url, &digest).await;
    }
}
