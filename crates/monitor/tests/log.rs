//! The monitor against logs made in this process with `sig_share_log` and served on loopback as
//! `sig-share log serve` serves them: catching up, resuming, and each way a log can misbehave
//! (a rewritten entry bundle, a rewritten tile, a fork of its data directory served under the
//! same key and URL, garbage), caught, told apart, and kept raised.

mod common;

use std::fs;

use common::{Server, TestLog, checkpoints, config, router, run};
use sig_share_monitor::{Event, Outcome};
use sig_share_tlog::tile::{TileId, TileKind};
use sig_share_tlog::{Hash, tile};

/// The entry bundles a run asked for, by index.
fn bundles_asked(paths: &[String]) -> Vec<u64> {
    paths
        .iter()
        .filter_map(|p| p.strip_prefix("/api/v2/"))
        .filter_map(|p| TileId::parse_path(p).ok())
        .filter(|t| t.kind == TileKind::Entries)
        .map(|t| t.index)
        .collect()
}

fn alarms(events: &[Event]) -> Vec<&Event> {
    events.iter().filter(|e| e.is_alarm()).collect()
}

/// Changes one entry of a bundle on disk, keeping its length: `"entry":"<tag>"` of the entry
/// numbered `i` becomes `"entry":"X"`.
fn rewrite_entry(log: &TestLog, bundle: &str, tag: &str, i: u64) {
    let path = log.tile_path(bundle);
    let mut data = fs::read(&path).unwrap();
    let needle = format!("{{\"entry\":\"{tag}\",\"i\":{i}}}");
    let at = data.windows(needle.len()).position(|w| w == needle.as_bytes()).expect("the entry is in the bundle");
    data[at + 10] = b'X';
    write(&path, &data);
}

fn write(path: &std::path::Path, data: &[u8]) {
    let mut perms = fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(path, perms).unwrap();
    fs::write(path, data).unwrap();
}

#[tokio::test]
async fn catches_up_and_resumes_without_reading_verified_entries_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 700, 300).await;
    let server = Server::start(router(&log)).await;
    let config = config(&dir.path().join("state"), &server.url);

    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(checkpoints(&events), [(700, 0, 700)]);
    let mut first = bundles_asked(&server.take_requests());
    first.sort();
    assert_eq!(first, [0, 1, 2]);

    log.append("a", 300, 300).await;
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(checkpoints(&events), [(1000, 700, 300)]);
    // Entries 0..700 were verified: only bundle 2 (entries 512..767, of which 700.. are new)
    // and bundle 3 are read.
    let mut second = bundles_asked(&server.take_requests());
    second.sort();
    assert_eq!(second, [2, 3]);

    // Nothing new: nothing read.
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent);
    assert_eq!(checkpoints(&events), [(1000, 1000, 0)]);
    assert!(bundles_asked(&server.take_requests()).is_empty());

    // The same log read from its tile store on disk, by a second monitor.
    let mut local = common::config(&dir.path().join("state-local"), &server.url);
    local.tlog.as_mut().unwrap().source = sig_share_monitor::Source::dir(dir.path().join("log/log"));
    let (outcome, events) = run(&local).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(checkpoints(&events), [(1000, 0, 1000)]);
}

#[tokio::test]
async fn a_catch_up_cut_short_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 1000, 500).await;
    // Bundle 2 is not to be had for now: the run stops there, having recorded its progress.
    let gap = axum::Router::new()
        .route("/api/v2/tile/entries/002", axum::routing::get(|| async { common::respond(404, Vec::new()) }))
        .fallback_service(router(&log));
    let server = Server::start(gap).await;
    let mut config = config(&dir.path().join("state"), &server.url);
    config.progress_every = std::time::Duration::ZERO;
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Failed, "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Error { message, .. } if message.contains("tile/entries/002"))));
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("state/tlog.json")).unwrap()).unwrap();
    assert_eq!((state["size"].as_u64(), state["progress"]["size"].as_u64()), (Some(0), Some(512)));

    // Served again: the next run reads on from entry 512, not from the start.
    server.serve(router(&log));
    server.take_requests();
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(checkpoints(&events), [(1000, 0, 1000)]);
    let mut asked = bundles_asked(&server.take_requests());
    asked.sort();
    assert_eq!(asked, [2, 3]);
}

#[tokio::test]
async fn a_rewritten_entry_bundle_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 300, 300).await;
    let server = Server::start(router(&log)).await;
    let config = config(&dir.path().join("state"), &server.url);
    assert_eq!(run(&config).await.0, Outcome::Consistent);

    log.append("a", 300, 300).await;
    rewrite_entry(&log, "tile/entries/001", "a", 400);
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved);
    let alarm = alarms(&events);
    assert_eq!(alarm.len(), 1, "{events:?}");
    let Event::TreeMismatch { size, tile, index, reason, checkpoints, .. } = alarm[0] else { panic!("{alarm:?}") };
    assert_eq!((*size, tile.as_deref(), *index), (600, Some("tile/entries/001"), Some(400)));
    assert!(reason.contains("entries were rewritten"), "{reason}");
    assert!(fs::read_to_string(&checkpoints[0].evidence).unwrap().starts_with(common::ORIGIN));
    assert!(dir.path().join("state/alarm.json").exists());
    // The state did not move to the checkpoint the entries do not make.
    assert!(!events.iter().any(|e| matches!(e, Event::Checkpoint { .. })));
}

#[tokio::test]
async fn an_entry_rewritten_after_it_was_verified_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 300, 300).await;
    let server = Server::start(router(&log)).await;
    let config = config(&dir.path().join("state"), &server.url);
    assert_eq!(run(&config).await.0, Outcome::Consistent);

    // Entry 260 was verified in the partial bundle of 44; the log grows, and serves the full
    // bundle with entry 260 changed (its hash tiles untouched).
    log.append("a", 100, 100).await;
    rewrite_entry(&log, "tile/entries/001.p/144", "a", 260);
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved, "{events:?}");
    let alarm = alarms(&events);
    let Event::TreeMismatch { tile, index, reason, .. } = alarm[0] else { panic!("{alarm:?}") };
    assert_eq!((tile.as_deref(), *index), (Some("tile/entries/001.p/144"), Some(260)));
    assert!(reason.contains("verified before"), "{reason}");
    // The new entries do make the signed tree: the state moves on, the alarm stays.
    assert_eq!(checkpoints(&events), [(400, 300, 100)]);
}

#[tokio::test]
async fn a_rewritten_hash_tile_is_caught_and_told_from_a_rewritten_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 300, 300).await;
    let server = Server::start(router(&log)).await;
    let config = config(&dir.path().join("state"), &server.url);
    assert_eq!(run(&config).await.0, Outcome::Consistent);

    log.append("a", 300, 300).await;
    // A level-0 hash tile with one hash changed: clients' inclusion proofs would fail.
    let path = log.tile_path("tile/0/001");
    let mut data = fs::read(&path).unwrap();
    data[32 * 7] ^= 1;
    write(&path, &data);
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved);
    let alarm = alarms(&events);
    let Event::TreeMismatch { tile, reason, .. } = alarm[0] else { panic!("{alarm:?}") };
    assert_eq!(tile.as_deref(), Some("tile/0/001"));
    assert!(reason.contains("hash tile was rewritten") && reason.contains("entry 263"), "{reason}");
}

#[tokio::test]
async fn truncated_garbage_and_oversized_tiles_never_pass() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 300, 300).await;
    let server = Server::start(router(&log)).await;
    assert_eq!(run(&config(&dir.path().join("state"), &server.url)).await.0, Outcome::Consistent);
    log.append("a", 300, 300).await;

    // An entry bundle cut short: it does not hold the entries the checkpoint counts.
    let bundle = log.tile_path("tile/entries/001");
    let original_bundle = fs::read(&bundle).unwrap();
    write(&bundle, &original_bundle[..original_bundle.len() / 2]);
    let (outcome, events) = run(&config(&dir.path().join("state-1"), &server.url)).await;
    assert_eq!(outcome, Outcome::Misbehaved, "{events:?}");
    let Event::TreeMismatch { tile, reason, .. } = alarms(&events)[0] else { panic!() };
    assert_eq!(tile.as_deref(), Some("tile/entries/001"));
    assert!(reason.contains("truncated") || reason.contains("entries where"), "{reason}");
    write(&bundle, &original_bundle);

    // A hash tile of garbage, of the wrong length.
    let hashes = log.tile_path("tile/0/000");
    let original = fs::read(&hashes).unwrap();
    write(&hashes, b"garbage");
    let (outcome, events) = run(&config(&dir.path().join("state-2"), &server.url)).await;
    assert_eq!(outcome, Outcome::Misbehaved, "{events:?}");
    let Event::TreeMismatch { tile, reason, .. } = alarms(&events)[0] else { panic!() };
    assert_eq!(tile.as_deref(), Some("tile/0/000"));
    assert!(reason.contains("7 bytes where 8192"), "{reason}");
    write(&hashes, &original);

    // A bundle larger than any bundle may be: refused before it is read whole.
    write(&bundle, &vec![0xff; tile::TILE_WIDTH as usize * (2 + tile::MAX_ENTRY_SIZE) + 1]);
    let (outcome, events) = run(&config(&dir.path().join("state-3"), &server.url)).await;
    assert_eq!(outcome, Outcome::Failed, "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Error { message, .. } if message.contains("larger than"))));
    write(&bundle, &original_bundle);

    // A checkpoint that is not the log's: could not run, no alarm (nothing is proven).
    let state = dir.path().join("state-4");
    server.serve(axum::Router::new().fallback(|| async { common::respond(200, b"garbage\n".to_vec()) }));
    let (outcome, events) = run(&config(&state, &server.url)).await;
    assert_eq!(outcome, Outcome::Failed, "{events:?}");
    assert!(!state.join("alarm.json").exists());

    // And back: every tile restored, a fresh monitor agrees with the log.
    server.serve(router(&log));
    let (outcome, events) = run(&config(&dir.path().join("state-5"), &server.url)).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
}

/// Copies a log's data directory (the log closed) to `to`.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A log and a copy of its data directory, each grown on its own: the same key, two histories.
async fn forked(dir: &std::path::Path, common_entries: usize) -> (TestLog, TestLog) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    {
        let log = TestLog::open(&a);
        log.append("common", common_entries, 500).await;
    }
    copy_dir(&a, &b);
    (TestLog::open(&a), TestLog::open(&b))
}

#[tokio::test]
async fn a_fork_served_under_the_same_key_and_url_is_a_split_view_and_the_alarm_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = forked(dir.path(), 300).await;
    a.append("a", 100, 100).await;
    b.append("b", 150, 150).await;
    let server = Server::start(router(&a)).await;
    let state = dir.path().join("state");
    let config = config(&state, &server.url);
    assert_eq!(run(&config).await.0, Outcome::Consistent);

    // The same URL now serves the other copy.
    server.serve(router(&b));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved);
    let alarm = alarms(&events);
    assert_eq!(alarm.len(), 1, "{events:?}");
    let Event::SplitView { checkpoints, reason, .. } = alarm[0] else { panic!("{alarm:?}") };
    let named: Vec<(&str, u64)> = checkpoints.iter().map(|c| (c.source.as_str(), c.size)).collect();
    assert_eq!(named, [("state", 400), ("log", 450)]);
    assert!(reason.contains("does not extend"), "{reason}");
    assert_eq!(checkpoints[0].root, a.log.latest().root.to_base64());
    assert_eq!(checkpoints[1].root, b.log.latest().root.to_base64());
    // The evidence is the two signed notes, exactly as served.
    assert_eq!(fs::read_to_string(&checkpoints[0].evidence).unwrap(), &*a.log.latest().checkpoint);
    assert_eq!(fs::read_to_string(&checkpoints[1].evidence).unwrap(), &*b.log.latest().checkpoint);

    // Back to the first copy: consistent with what was verified, but the alarm stays raised.
    server.serve(router(&a));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved);
    let Some(Event::Alarm { alarms, first, reset }) = events.first() else { panic!("{events:?}") };
    assert_eq!(*alarms, 1);
    assert!(first.starts_with("split_view"), "{first}");
    assert!(reset.contains("alarm.json"), "{reset}");
    assert_eq!(checkpoints_of(&events), [(400, 400, 0)]);
    // Until it is reset by hand.
    fs::remove_file(state.join("alarm.json")).unwrap();
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
}

fn checkpoints_of(events: &[Event]) -> Vec<(u64, u64, u64)> {
    checkpoints(events)
}

#[tokio::test]
async fn a_fork_of_the_same_size_and_a_fork_at_a_tile_boundary_are_split_views() {
    for (common_entries, grow_a, grow_b) in [(300, 100, 100), (256, 256, 300)] {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = forked(dir.path(), common_entries).await;
        a.append("a", grow_a, 500).await;
        b.append("b", grow_b, 500).await;
        let server = Server::start(router(&a)).await;
        let config = config(&dir.path().join("state"), &server.url);
        assert_eq!(run(&config).await.0, Outcome::Consistent);
        server.serve(router(&b));
        let (outcome, events) = run(&config).await;
        assert_eq!(outcome, Outcome::Misbehaved, "{events:?}");
        let alarm = alarms(&events);
        let Event::SplitView { checkpoints, .. } = alarm[0] else { panic!("{alarm:?}") };
        let sizes: Vec<u64> = checkpoints.iter().map(|c| c.size).collect();
        assert_eq!(sizes, [(common_entries + grow_a) as u64, (common_entries + grow_b) as u64]);
    }
}

#[tokio::test]
async fn a_fork_behind_the_monitor_is_caught_too() {
    // The log serves a smaller checkpoint than the one verified, from another history.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = forked(dir.path(), 300).await;
    a.append("a", 200, 200).await;
    b.append("b", 50, 50).await;
    let server = Server::start(router(&a)).await;
    let config = config(&dir.path().join("state"), &server.url);
    assert_eq!(run(&config).await.0, Outcome::Consistent);
    server.serve(router(&b));
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Misbehaved, "{events:?}");
    assert!(matches!(alarms(&events)[0], Event::SplitView { .. }));

    // An older checkpoint of the same history is only stale.
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    log.append("a", 300, 300).await;
    let old = log.log.latest().checkpoint.to_string();
    log.append("a", 300, 300).await;
    let server = Server::start(router(&log)).await;
    let config = common::config(&dir.path().join("state"), &server.url);
    assert_eq!(run(&config).await.0, Outcome::Consistent);
    let stale = axum::Router::new()
        .route("/api/v2/checkpoint", axum::routing::get(move || async move { old.clone() }))
        .fallback_service(router(&log));
    server.serve(stale);
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Warning { message, .. } if message.contains("older than"))));
    assert_eq!(checkpoints(&events), [(600, 600, 0)]);
}

#[tokio::test]
async fn an_empty_log_and_a_key_of_another_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::open(&dir.path().join("log"));
    let server = Server::start(router(&log)).await;
    let (outcome, events) = run(&config(&dir.path().join("state"), &server.url)).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");
    assert_eq!(checkpoints(&events), [(0, 0, 0)]);
    assert_eq!(log.size(), 0);
    assert_eq!(Hash::empty(), log.log.latest().root);

    // Another key of the same name: the checkpoint is not the log's.
    let mut other = config(&dir.path().join("state-2"), &server.url);
    let wrong = sig_share_tlog::Ed25519Signer::from_seed(common::ORIGIN, &[8; 32]).unwrap();
    other.tlog.as_mut().unwrap().key = sig_share_monitor::LogKey::Vkey(wrong.verifier());
    let (outcome, events) = run(&other).await;
    assert_eq!(outcome, Outcome::Failed);
    assert!(matches!(&events[0], Event::Error { message, .. } if message.contains("not signed by the log's key")));
}
