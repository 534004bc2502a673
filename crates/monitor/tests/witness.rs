//! Comparing views with witnesses: a witness (here a stand-in serving the tlog-witness read
//! endpoint, `GET /<hex SHA-256(origin)>/checkpoint`) that holds a checkpoint of another history
//! of the log is a split view, caught with both checkpoints kept; one it cannot have cosigned,
//! or that the log never signed, is only a warning.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use common::{Server, TestLog, config, router, run};
use sig_share_monitor::witness::checkpoint_path;
use sig_share_monitor::{Event, Outcome};
use sig_share_tlog::policy::Policy;
use sig_share_tlog::{Ed25519Signer, Note};

/// A witness's key.
fn witness_key(seed: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(&format!("witness{seed}.test.example"), &[seed; 32]).unwrap()
}

/// `checkpoint` with a cosignature by `witness` appended, as a witness serves it.
fn cosigned(checkpoint: &str, witness: &Ed25519Signer) -> String {
    let mut note = Note::parse(checkpoint.as_bytes()).unwrap();
    let line = witness.cosign(1_700_000_000, note.text());
    note.push_signature(line);
    note.to_text()
}

/// A stand-in witness serving whatever note is set, for the test log's origin.
struct Witness {
    server: Server,
    note: Arc<Mutex<Option<String>>>,
}

impl Witness {
    async fn start() -> Witness {
        let note: Arc<Mutex<Option<String>>> = Arc::default();
        let n = note.clone();
        let path = format!("/{}", checkpoint_path(common::ORIGIN));
        let app = Router::new().route(
            &path,
            get(move || {
                let note = n.lock().unwrap().clone();
                async move {
                    match note {
                        Some(n) => common::respond(200, n.into_bytes()),
                        None => common::respond(404, Vec::new()),
                    }
                }
            }),
        );
        Witness { server: Server::start(app).await, note }
    }

    fn holds(&self, note: Option<String>) {
        *self.note.lock().unwrap() = note;
    }
}

fn policy(witnesses: &[(&str, &Ed25519Signer, &str)]) -> Policy {
    let mut text = String::new();
    for (name, key, url) in witnesses {
        text.push_str(&format!("witness {name} {} {url}\n", key.cosigner_verifier().vkey()));
    }
    let names: Vec<&str> = witnesses.iter().map(|w| w.0).collect();
    text.push_str(&format!("group all-of-them all {}\nquorum all-of-them\n", names.join(" ")));
    Policy::parse(&text).unwrap()
}

fn witness_events(events: &[Event]) -> Vec<(String, u64, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Witness { witness, size, cosigned, .. } => Some((witness.clone(), *size, *cosigned)),
            _ => None,
        })
        .collect()
}

fn warnings(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Warning { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn witnesses_with_the_same_history_agree_and_bad_ones_are_only_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 300, 300).await;
    let at_300 = log.log.latest().checkpoint.to_string();
    log.append("a", 200, 200).await;
    let at_500 = log.log.latest().checkpoint.to_string();
    let server = Server::start(router(&log)).await;
    let (w1, w2) = (witness_key(1), witness_key(2));
    let (one, two) = (Witness::start().await, Witness::start().await);
    let mut config = config(&dir.path().join("state"), &server.url);
    config.policy = Some(policy(&[("W1", &w1, &one.server.url), ("W2", &w2, &two.server.url)]));

    // W1 cosigned an older checkpoint of the same history, W2 the newest.
    one.holds(Some(cosigned(&at_300, &w1)));
    two.holds(Some(cosigned(&at_500, &w2)));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(witness_events(&events), [("W1".into(), 300, true), ("W2".into(), 500, true)]);
    // The log's own checkpoint carries no cosignature: short of the quorum, said so.
    let Some(Event::Checkpoint { witnessed, .. }) = events.iter().find(|e| matches!(e, Event::Checkpoint { .. }))
    else {
        panic!()
    };
    assert_eq!(witnessed.as_deref(), Some("witnessed by 0 of 2"));
    assert!(warnings(&events).iter().any(|w| w.contains("lacks the witness policy's quorum")));

    // W1 serves W2's cosignature as its own, W2 a checkpoint the log never signed (another key
    // of the same name), and then nothing at all: warnings, never an alarm.
    one.holds(Some(cosigned(&at_300, &w2)));
    let impostor = Ed25519Signer::from_seed(common::ORIGIN, &[99; 32]).unwrap();
    let forged = sig_share_tlog::Checkpoint::new(common::ORIGIN, 500, sig_share_tlog::Hash::leaf(b"other"))
        .sign(&impostor)
        .to_text();
    two.holds(Some(cosigned(&forged, &w2)));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(witness_events(&events), [("W1".into(), 300, false)]);
    let w = warnings(&events);
    assert!(w.iter().any(|m| m.contains("W1") && m.contains("does not carry its own valid cosignature")), "{w:?}");
    assert!(w.iter().any(|m| m.contains("W2") && m.contains("does not verify under the log's key")), "{w:?}");
    two.holds(None);
    let (_, events) = run(&config).await;
    assert!(warnings(&events).iter().any(|m| m.contains("W2 has no checkpoint")));
    assert!(!dir.path().join("state/alarm.json").exists());
}

#[tokio::test]
async fn a_witness_ahead_of_the_checkpoint_served_to_the_monitor_is_checked_from_the_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 400, 400).await;
    let at_400 = log.log.latest().checkpoint.to_string();
    log.append("a", 200, 200).await;
    let at_600 = log.log.latest().checkpoint.to_string();
    // The monitor is served checkpoint 400 (a cache lagging); the tiles are the log's.
    let stale = Router::new().route("/api/v2/checkpoint", get(move || async move { at_400.clone() }));
    let server = Server::start(stale.fallback_service(router(&log))).await;
    let w1 = witness_key(1);
    let witness = Witness::start().await;
    witness.holds(Some(cosigned(&at_600, &w1)));
    let mut config = config(&dir.path().join("state"), &server.url);
    config.policy = Some(policy(&[("W1", &w1, &witness.server.url)]));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(witness_events(&events), [("W1".into(), 600, true)]);
}

#[tokio::test]
async fn a_witness_holding_another_history_is_a_split_view() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    {
        TestLog::open(&a).append("common", 300, 300).await;
    }
    copy(&a, &b);
    let (a, b) = (TestLog::open(&a), TestLog::open(&b));
    a.append("a", 100, 100).await;
    b.append("b", 50, 50).await;
    // The log shows the monitor history A, and showed the witness history B.
    let server = Server::start(router(&a)).await;
    let w1 = witness_key(1);
    let witness = Witness::start().await;
    let b_note = cosigned(&b.log.latest().checkpoint, &w1);
    witness.holds(Some(b_note.clone()));
    let mut config = config(&dir.path().join("state"), &server.url);
    config.policy = Some(policy(&[("W1", &w1, &witness.server.url)]));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved, "{events:?}");
    let alarms: Vec<&Event> = events.iter().filter(|e| e.is_alarm()).collect();
    assert_eq!(alarms.len(), 1, "{events:?}");
    let Event::SplitView { checkpoints, reason, .. } = alarms[0] else { panic!("{alarms:?}") };
    let named: Vec<(&str, u64)> = checkpoints.iter().map(|c| (c.source.as_str(), c.size)).collect();
    assert_eq!(named, [("log", 400), ("witness W1", 350)]);
    assert!(reason.contains("witness W1"), "{reason}");
    assert_eq!(std::fs::read_to_string(&checkpoints[1].evidence).unwrap(), b_note);

    // The same size, another root: also a split view.
    b.append("b", 50, 50).await;
    witness.holds(Some(cosigned(&b.log.latest().checkpoint, &w1)));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved);
    assert!(events.iter().any(|e| matches!(e, Event::SplitView { checkpoints, .. } if checkpoints[1].size == 400)));
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
