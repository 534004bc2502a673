//! The log explorer (`/explorer`) in Debian's headless Chromium (playwright-core,
//! `interop/browser/explorer-page.mjs`) against `sig-share serve --dev`: the current checkpoint
//! verified against the published trust config, an entry by index checked in the page's
//! verifier, the entries and statements for a signed photo's digest, and the certificates issued
//! to an identity; unknown indices and identities answered plainly; nothing leaves the origin.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sig_share;
use serde_json::Value;

#[tokio::test]
async fn the_explorer_shows_checked_log_answers() {
    let Some(stack) = common::page_stack().await else { return };
    let (browser, vectors, dir, url) = (&stack.browser, &stack.vectors, &stack.dir, &stack.url);
    let trust = stack.trust.as_str();
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "alice@example.com").await.unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::copy(vectors.join("c2pa-rs/IMG_0003.jpg"), &photo).unwrap();
    let (code, out, err) =
        sig_share(&["sign", photo.to_str().unwrap(), "--identity-token", &token, "--trust-config", trust, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let signed: Value = serde_json::from_str(&out).unwrap();
    let content_index = signed["content_log_index"].to_string();
    let digest = signed["sha256"].as_str().unwrap();

    let artifacts = std::env::var_os("SIG_SHARE_ARTIFACTS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts").join("explorer")
    });
    let output = Command::new("node")
        .arg(browser.join("explorer-page.mjs"))
        .args([url.as_str(), artifacts.to_str().unwrap(), &content_index, digest, "alice@example.com"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["offsite"], serde_json::json!([]), "{page:#}");
    assert_eq!(page["errors"], serde_json::json!([]), "{page:#}");

    // The checkpoint: signed by the log's key, verified in the page, and covering the entries.
    let checkpoint = &page["checkpoint"];
    assert_eq!(checkpoint["verified"], "true", "{checkpoint:#}");
    let size: u64 = checkpoint["facts"]["Entries"].as_str().unwrap().parse().unwrap();
    assert!(size > signed["log_index"].as_u64().unwrap(), "{checkpoint:#}");
    assert!(checkpoint["signatures"].as_array().unwrap().iter().any(|s| s["verified"] == "true"), "{checkpoint:#}");

    // An entry by index: the signature over the photo's bytes, checked.
    let entry = &page["entry"][0];
    assert_eq!(entry["verified"], "true", "{page:#}");
    let text = entry["text"].as_str().unwrap();
    assert!(text.contains("alice@example.com") && text.contains(digest), "{text}");
    assert_eq!(page["beyond"][0]["verified"], "false", "{page:#}");
    assert!(page["beyond"][0]["text"].as_str().unwrap().contains("not in the log"), "{page:#}");

    // The bytes: the provenance statement and the content signature, both checked.
    let bytes = page["bytes"].as_array().unwrap();
    assert_eq!(bytes.len(), 2, "{page:#}");
    assert!(bytes.iter().all(|b| b["verified"] == "true"), "{page:#}");
    assert!(bytes.iter().any(|b| b["text"].as_str().unwrap().contains("c2pa.created")), "{page:#}");

    // The certificates issued to alice (at least the one that signed), and none to nobody.
    let certificates = page["certificates"].as_array().unwrap();
    assert!(
        !certificates.is_empty()
            && certificates.iter().all(|c| c["text"].as_str().unwrap().contains("alice@example.com")),
        "{page:#}"
    );
    assert!(page["nobody"][0]["text"].as_str().unwrap().contains("no certificates"), "{page:#}");
}
