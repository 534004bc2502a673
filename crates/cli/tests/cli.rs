//! The `sig-share` command as a user meets it: the demo, `log check`'s verdicts and exit codes,
//! and refusals with a message.

mod common;

use common::sig_share;

#[test]
fn demo_then_check_then_tamper() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let (code, out, err) = sig_share(&["demo", "--entries", "300", "--json", "--keep", data_s]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["tree_size"], 300);
    assert!(report["duplicate_returned_index"].is_u64());
    assert_eq!(report["bad_signature_status"], 400);

    let (code, out, _) = sig_share(&["log", "check", "--data", data_s]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: log 127.0.0.1 at size 300"), "{out}");

    // Flip one byte of a full hash tile: the check names it and exits 1.
    let tile = data.join("log/tile/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let (code, out, _) = sig_share(&["log", "check", "--json", "--data", data_s]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["error"].as_str().unwrap().contains("tile/0/000 differs"), "{report}");
}

#[test]
fn refusals_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let (code, out, _) = sig_share(&["log", "check", "--data", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("FAILED"), "{out}");

    let (code, _, err) = sig_share(&["log", "serve", "--listen", "0.0.0.0:1", "--data", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--public-url"), "{err}");
    assert!(!missing.exists(), "a refused start must not create the data directory");

    let (code, _, err) = sig_share(&["log", "serve", "--period", "10ms", "--data", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("at least 50ms"), "{err}");
    assert!(!missing.exists(), "a refused start must not create the data directory");

    let (code, out, _) = sig_share(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("log") && out.contains("demo"));
}
