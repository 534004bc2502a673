//! Squatting the log's shared indexes (issue 14, finding 3): anyone can log entries under any
//! digest with a throwaway key, in any number. A genuine signer's entry must still be found,
//! and a list longer than what was read must say so, on the API and in `lookup`.

use serde_json::Value;

use crate::common::pictures::strip_app11;
use crate::common::stack::{Stack, sample};
use crate::common::{log_raw_entry, log_raw_statement, sig_share};

/// More junk than one page of the old index (100) held.
const JUNK: usize = 150;

/// The squatter's requests in flight at once: one client address holds at most 256 connections
/// (`--max-connections-per-client`), and a squatter gains nothing by holding more.
const IN_FLIGHT: usize = 32;

/// Runs `n` of `task` with at most [`IN_FLIGHT`] at once.
async fn squat<F: std::future::Future + Send + 'static>(n: usize, task: impl Fn() -> F) {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (permits, task) = (permits.clone(), task());
        all.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            task.await;
        });
    }
    while let Some(done) = all.join_next().await {
        done.unwrap();
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

async fn squat_entries(url: &str, digest: [u8; 32], n: usize) {
    squat(n, || {
        let url = url.to_owned();
        async move { log_raw_entry(&url, &digest).await }
    })
    .await;
}

#[tokio::test]
async fn junk_entries_under_a_digest_do_not_hide_the_genuine_signer() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let file = dir.path().join("report.txt");
    std::fs::write(&file, b"the newsroom's report").unwrap();
    let digest = sha256(b"the newsroom's report");
    // The junk comes first: the genuine entry is past the first page.
    squat_entries(&stack.url, digest, JUNK).await;
    let signed = stack.sign("alice@example.com", &["sign", file.to_str().unwrap()]).await.unwrap();

    // The API pages in log order with a cursor, and says when there is more.
    let http = reqwest::Client::new();
    let path = format!("{}/api/v1/index/sha256:{}", stack.url, hex::encode(digest));
    let mut seen: Vec<u64> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let url = after.as_ref().map_or_else(|| path.clone(), |a| format!("{path}?after={a}"));
        let page: Value = http.get(url).send().await.unwrap().json().await.unwrap();
        let indices =
            page["entries"].as_array().unwrap().iter().map(|e| e["logIndex"].as_str().unwrap().parse::<u64>().unwrap());
        seen.extend(indices);
        assert_eq!(page["truncated"], page.get("next").is_some(), "{page:#}");
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), JUNK + 1, "every entry, once");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in log order: {seen:?}");
    assert_eq!(*seen.last().unwrap(), signed["log_index"].as_u64().unwrap());
    let bad = http.get(format!("{path}?after=x")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("after"), "a bad cursor is a JSON 400");

    // `lookup` reads on and puts the verified signer first.
    let lookup = |extra: &[&str]| {
        let mut args = vec!["lookup", file.to_str().unwrap(), "--trust-config", stack.trust.to_str().unwrap()];
        args.extend(extra);
        sig_share(&args)
    };
    let (code, out, err) = lookup(&["--json"]);
    let found: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(code, 0, "{found:#}");
    assert_eq!(found["entries"][0]["identity"], "alice@example.com", "the genuine signer first: {found:#}");
    assert_eq!(found["entries"].as_array().unwrap().len(), JUNK + 1);
    assert_eq!(found["partial"], false);
    // A human reads the signer, and a count of the rest, not a screenful of junk.
    let (code, out, _) = lookup(&[]);
    assert_eq!(code, 0);
    assert!(out.lines().nth(1).unwrap().contains("alice@example.com"), "{out}");
    assert!(out.contains(&format!("and {} more that do not verify", JUNK - 5)), "{out}");
    assert!(out.lines().count() < 20, "{out}");
    // Told to read less than the junk, it says the list was partial and finds nothing it can prove.
    let (code, out, _) = lookup(&["--max-entries", "120", "--json"]);
    let partial: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, &partial["partial"], &partial["found"]), (1, &Value::Bool(true), &Value::Bool(false)));
    let (_, out, _) = lookup(&["--max-entries", "120"]);
    assert!(out.contains("partial"), "{out}");
}

#[tokio::test]
async fn junk_statements_about_a_picture_do_not_hide_its_genuine_history() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "photo.jpg") else { return };
    // The squatter knows the picture before Alice signs it and floods its digest first.
    let digest = hex::encode(sha256(&std::fs::read(&photo).unwrap()));
    squat(JUNK, || {
        let (url, digest) = (stack.url.clone(), digest.clone());
        async move { log_raw_statement(&url, &digest).await }
    })
    .await;
    let signed = stack.sign("alice@example.com", &["sign", photo.to_str().unwrap()]).await.unwrap();
    let stripped = dir.path().join("stripped.jpg");
    std::fs::write(&stripped, strip_app11(&std::fs::read(signed["output"].as_str().unwrap()).unwrap())).unwrap();
    let (_, carol) = stack.edit("carol@example.com", &stripped, &dir.path().join("carol.jpg"), &["c2pa.edited"]).await;

    let (code, report) = stack.provenance(&carol);
    let signers: Vec<&str> =
        report["steps"].as_array().unwrap().iter().map(|s| s["signer"].as_str().unwrap()).collect();
    assert_eq!(signers, ["carol@example.com", "alice@example.com"], "{report:#}");
    assert_eq!((code, report["verdict"].as_str()), (0, Some("green")), "{report:#}");
}
