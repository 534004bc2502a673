//! The `sig-share` command as a user meets it: the demos, `log check`'s verdicts and exit codes,
//! `verify`'s exit codes, and refusals with a message.

mod common;

use common::sig_share;
use sha2::Digest;

/// The README's main job: the whole stack signs and verifies, and refuses what it must.
#[test]
fn the_demo_signs_verifies_and_refuses_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = sig_share(&["demo", "--json", "--period", "200ms", "--keep", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true);
    assert!(report["log_index"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["tampered_refused"].as_str().unwrap().contains("different artifact"), "{report}");
    assert!(report["other_identity_refused"].as_str().unwrap().contains("not by"), "{report}");
    // The photo: signed, edited by a second person, both steps verified, a changed byte refused.
    let media = &report["media"];
    assert_eq!(media["timeline"], serde_json::json!(["editor@sig-share.example", "demo@sig-share.example"]));
    assert!(media["tampered_refused"].as_str().unwrap().contains("dataHash.mismatch"), "{report}");
    assert!(dir.path().join("sunrise-crop.signed.jpg").is_file());
    // The split view: the witness refused the copy's history and kept the evidence, and verify
    // refused the checkpoint the copy published without it.
    let split = &report["split_view"];
    assert!(split["witness_refused"].as_str().unwrap().contains("witnessed by 0 of 1"), "{report}");
    assert_eq!(split["evidence_records"], 1, "{report}");
    assert!(split["verify_refused"].as_str().unwrap().contains("missing: dev-witness"), "{report}");
    // What it left verifies again from the command line, and a digest works as well as the file.
    let bundle = dir.path().join("sample.txt.sigstore.json");
    let trust = dir.path().join("stack/trust-config.json");
    let issuer = report["issuer"].as_str().unwrap();
    let digest =
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(std::fs::read(dir.path().join("sample.txt")).unwrap())));
    for subject in [dir.path().join("sample.txt").to_str().unwrap(), &digest] {
        let (code, out, err) = sig_share(&[
            "verify",
            subject,
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity-regexp",
            r"demo@sig-share\.example",
            "--certificate-oidc-issuer",
            issuer,
            "--trust-config",
            trust.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["verified"], true);
        assert_eq!(v["signer"]["identity"], "demo@sig-share.example");
    }
    // Exit codes: 1 not verified, 2 could not check; never without naming who must have signed.
    let (code, out, _) = sig_share(&[
        "verify",
        &digest,
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        "demo@sig-share.example",
        "--certificate-oidc-issuer",
        "https://accounts.google.com",
        "--trust-config",
        trust.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["verified"], false);
    let (code, _, err) = sig_share(&[
        "verify",
        &digest,
        "--bundle",
        bundle.to_str().unwrap(),
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = sig_share(&[
        "verify",
        &digest,
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        "demo@sig-share.example",
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("would accept anyone"), "{err}");
    let (code, _, err) = sig_share(&[
        "verify",
        &digest,
        "--bundle",
        "/nonexistent.json",
        "--certificate-identity",
        "a",
        "--certificate-oidc-issuer",
        "b",
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reading the bundle"), "{err}");
}

#[test]
fn log_demo_then_check_then_tamper() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let (code, out, err) = sig_share(&["log", "demo", "--entries", "300", "--json", "--keep", data_s]);
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
