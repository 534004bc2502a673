//! Forged, spliced and hijacked histories (issue 14, findings 1 and 2). A provenance verdict is
//! green only on evidence that binds exactly these bytes, this signer and this order of events:
//! a logged statement stands for a parent only if it is about exactly the parent's digest and
//! was logged before the edit that names it; anything else the log holds (a stranger's
//! statement, a later one, one signed by a throwaway key) is at most a caveat.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::pictures::strip_app11;
use crate::common::stack::{Stack, sample};
use crate::common::{hex_sha256, log_raw_statement, sign_statement};

fn signers(report: &Value) -> Vec<String> {
    report["steps"].as_array().unwrap().iter().map(|s| s["signer"].as_str().unwrap().to_owned()).collect()
}

/// The verdict and `verified` say the same thing, always.
fn assert_agrees(report: &Value) {
    let verified = report["verified"].as_bool().unwrap();
    let colour = report["verdict"].as_str().unwrap();
    assert_eq!(verified, matches!(colour, "green" | "amber"), "verdict and verified disagree: {report:#}");
}

/// A picture other than `photo`: the same JPEG with a comment segment, so other bytes.
fn other_picture(photo: &Path, out: &Path, comment: &[u8]) -> PathBuf {
    let original = std::fs::read(photo).unwrap();
    let len = u16::try_from(comment.len() + 2).unwrap().to_be_bytes();
    std::fs::write(out, [&original[..2], b"\xFF\xFE", &len, comment, &original[2..]].concat()).unwrap();
    out.to_path_buf()
}

/// Finding 1, the edit side: Mallory copies Alice's sidecar beside an unrelated picture and
/// edits that; `edit` must not take Alice's log entry for a parent whose bytes her manifest is
/// not about, so the history of Mallory's edit never reads as Alice's capture.
#[tokio::test]
async fn a_sidecar_copied_beside_another_picture_does_not_splice_its_history_in() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(a) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "a.jpg") else { return };
    stack.sign("alice@example.com", &["sign", "--sidecar", a.to_str().unwrap()]).await.unwrap();
    let m = other_picture(&a, &dir.path().join("m.jpg"), b"mallory's own picture");
    std::fs::copy(dir.path().join("a.jpg.c2pa"), dir.path().join("m.jpg.c2pa")).unwrap();
    let (_, m2) = stack.edit("mallory@example.com", &m, &dir.path().join("m2.jpg"), &["c2pa.edited"]).await;
    std::fs::remove_file(dir.path().join("m.jpg.c2pa")).unwrap();

    let (code, report) = stack.provenance(&m2);
    assert_agrees(&report);
    assert_eq!(signers(&report), ["mallory@example.com"], "Alice's capture spliced in: {report:#}");
    assert_ne!(report["verdict"], "green", "{report:#}");
    assert_eq!((code, report["verdict"].as_str()), (0, Some("amber")), "a parent nobody can find: {report:#}");
    // The edit named its parent by the bytes it really had.
    let parent = &report["steps"][0]["parents"][0];
    assert_eq!(parent["digest"]["sha256"], hex_sha256(&std::fs::read(&m).unwrap()), "{report:#}");
    assert!(parent["logIndex"].is_null(), "{report:#}");
}

/// Finding 1, the reader's side: a statement (from a client that does not check, or a liar)
/// names Alice's log entry as the parent of bytes her statement is not about. `provenance`
/// must not follow it, however the statement came to be signed.
#[tokio::test]
async fn a_statement_naming_a_strangers_entry_for_its_parent_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(a) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "a.jpg") else { return };
    let alice = stack.sign("alice@example.com", &["sign", "--sidecar", a.to_str().unwrap()]).await.unwrap();
    let alice_index = alice["log_index"].as_u64().unwrap();

    // Mallory's statement about her picture x.jpg claims it was made from m.jpg, "which is
    // Alice's entry": m.jpg's digest, Alice's index.
    let m = other_picture(&a, &dir.path().join("m.jpg"), b"unrelated");
    let x = other_picture(&a, &dir.path().join("x.jpg"), b"mallory's edit");
    let parent = serde_json::json!({
        "digest": { "sha256": hex_sha256(&std::fs::read(&m).unwrap()) },
        "logIndex": alice_index,
    });
    sign_statement(&stack, "mallory@example.com", &std::fs::read(&x).unwrap(), &["c2pa.edited"], &[parent]).await;
    // Carol edits x.jpg as she found it (no manifest): her edit names x.jpg by digest, and the
    // log leads to Mallory's statement, which leads nowhere trustworthy.
    let (_, carol) = stack.edit("carol@example.com", &x, &dir.path().join("carol.jpg"), &["c2pa.cropped"]).await;

    let (code, report) = stack.provenance(&carol);
    assert_agrees(&report);
    assert_eq!(signers(&report), ["carol@example.com", "mallory@example.com"], "{report:#}");
    assert_eq!((code, report["verdict"].as_str()), (0, Some("amber")), "{report:#}");
    let caveats = report["caveats"].to_string();
    assert!(caveats.contains("about other content"), "the caveat says why: {report:#}");
}

/// Finding 2: a statement logged about a parent's bytes after the edit is not part of the
/// edit's history (it would be step 1, green, with a later date).
#[tokio::test]
async fn a_statement_logged_after_the_edit_does_not_become_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(u) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "u.jpg") else { return };
    // Bob edits a picture nobody signed; then Mallory signs those bytes, claiming the capture.
    let (_, bob) = stack.edit("bob@example.com", &u, &dir.path().join("bob.jpg"), &["c2pa.cropped"]).await;
    let late = dir.path().join("late");
    std::fs::create_dir(&late).unwrap();
    let copy = late.join("u.jpg");
    std::fs::copy(&u, &copy).unwrap();
    stack.sign("mallory@example.com", &["sign", copy.to_str().unwrap()]).await.unwrap();

    let (code, report) = stack.provenance(&bob);
    assert_agrees(&report);
    assert_eq!(signers(&report), ["bob@example.com"], "a later statement hijacked the history: {report:#}");
    assert_eq!((code, report["verdict"].as_str()), (0, Some("amber")), "{report:#}");
    assert!(report["caveats"].to_string().contains("from before the edit"), "{report:#}");
}

/// Finding 2: statements signed by a throwaway key about a parent's bytes are caveats, never
/// failures: they neither turn a good chain red nor hide the genuine parent.
#[tokio::test]
async fn throwaway_key_statements_neither_fail_a_chain_nor_hide_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "photo.jpg") else { return };
    let u = other_picture(&photo, &dir.path().join("u.jpg"), b"nobody signed this");

    // Junk about u.jpg's bytes, logged before anyone edits it. The statement store may refuse
    // statements that no certificate of this deployment signs; then the junk is not even kept.
    let u_digest = hex_sha256(&std::fs::read(&u).unwrap());
    let kept = log_raw_statement(&stack.url, &u_digest).await;
    let (_, edit) = stack.edit("bob@example.com", &u, &dir.path().join("edit.jpg"), &["c2pa.cropped"]).await;
    let (code, report) = stack.provenance(&edit);
    assert_agrees(&report);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("amber")), "kept: {kept}: {report:#}");
    assert_eq!(signers(&report), ["bob@example.com"], "{report:#}");

    // A genuine chain with junk beside the genuine parent statement stays green.
    let signed = stack.sign("alice@example.com", &["sign", photo.to_str().unwrap()]).await.unwrap();
    let stripped = dir.path().join("stripped.jpg");
    std::fs::write(&stripped, strip_app11(&std::fs::read(signed["output"].as_str().unwrap()).unwrap())).unwrap();
    let s_digest = hex_sha256(&std::fs::read(&stripped).unwrap());
    log_raw_statement(&stack.url, &s_digest).await;
    let (_, carol) = stack.edit("carol@example.com", &stripped, &dir.path().join("carol.jpg"), &["c2pa.edited"]).await;
    let (code, report) = stack.provenance(&carol);
    assert_agrees(&report);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("green")), "{report:#}");
    assert_eq!(signers(&report), ["carol@example.com", "alice@example.com"], "{report:#}");
}
