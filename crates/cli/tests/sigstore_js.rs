//! sigstore-js's own libraries against `sig-share serve --dev`: `@sigstore/sign` 4.1.1 signs with
//! the services the published SigningConfig names (its CA request is `credentials` +
//! `publicKeyRequest` + `proofOfPossession`, not sigstore-python's CSR; its TSA request is JSON;
//! its log request a Rekor v2 `hashedRekordRequestV002`), and `@sigstore/verify` 3.1.1 verifies
//! with the published TrustedRoot and an exact identity policy. Bundles cross over to and from
//! sigstore-python 4.5.1. The scripts and the pinned packages are in `interop/sigstore-js`
//! (`npm ci --prefix interop/sigstore-js`).

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, run};
use serde_json::Value;

async fn start(data: &Path) -> (Server, String) {
    common::serve(data, &["--dev"], &[]).await
}

/// The stack, its trust config, and the clients pointed at it.
struct Stack {
    _server: Server,
    url: String,
    trust: PathBuf,
    js: PathBuf,
}

impl Stack {
    fn issuer(&self) -> String {
        format!("{}/oidc", self.url)
    }

    /// A token for `email` from a real device-flow login at the stack's development provider.
    async fn token(&self, email: &str) -> String {
        sig_share_dev_idp::client::device_login(&self.issuer(), email).await.unwrap()
    }

    fn node(&self, script: &str, args: &[&OsStr]) -> (bool, String) {
        run(Command::new("node")
            .current_dir(&self.js)
            .arg(self.js.join(script))
            .arg(&self.trust)
            .args(args)
            // The stack is on loopback: never through a proxy from the environment.
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost"))
    }

    /// `sign.mjs`: sigstore-js signs `file` and writes `bundle`.
    fn js_sign(&self, file: &Path, bundle: &Path, token: &str) {
        let (ok, out) = self.node("sign.mjs", &[file.as_os_str(), bundle.as_os_str(), OsStr::new(token)]);
        assert!(ok, "sigstore-js could not sign against the stack: {out}");
    }

    /// `verify.mjs`: sigstore-js verifies `bundle` over `file` for `identity` at `issuer`.
    fn js_verify(&self, bundle: &Path, file: &Path, identity: &str, issuer: &str) -> (bool, String) {
        self.node("verify.mjs", &[bundle.as_os_str(), file.as_os_str(), OsStr::new(identity), OsStr::new(issuer)])
    }

    /// sigstore-python's `sigstore` CLI with the stack's trust config.
    fn python(&self, sigstore: &Path, args: &[&OsStr]) -> (bool, String) {
        run(Command::new(sigstore).arg("--trust-config").arg(&self.trust).args(args))
    }

    fn python_sign(&self, sigstore: &Path, file: &Path, bundle: &Path, token: &str) {
        let (ok, out) = self.python(
            sigstore,
            &[
                OsStr::new("sign"),
                OsStr::new("--identity-token"),
                OsStr::new(token),
                OsStr::new("--bundle"),
                bundle.as_os_str(),
                file.as_os_str(),
            ],
        );
        assert!(ok, "sigstore-python could not sign against the stack: {out}");
    }

    fn python_verify(&self, sigstore: &Path, bundle: &Path, file: &Path, identity: &str) -> (bool, String) {
        self.python(
            sigstore,
            &[
                OsStr::new("verify"),
                OsStr::new("identity"),
                OsStr::new("--bundle"),
                bundle.as_os_str(),
                OsStr::new("--cert-identity"),
                OsStr::new(identity),
                OsStr::new("--cert-oidc-issuer"),
                OsStr::new(&self.issuer()),
                file.as_os_str(),
            ],
        )
    }
}

async fn stack(js: PathBuf, dir: &Path) -> Stack {
    let data = dir.join("data");
    let (server, url) = start(&data).await;
    Stack { _server: server, url, trust: data.join("trust-config.json"), js }
}

/// The bundle's Rekor v2 entry and RFC 3161 timestamp, both from this stack, and its log index.
fn check_shape(bundle: &Path) -> u64 {
    let b: Value = serde_json::from_str(&std::fs::read_to_string(bundle).unwrap()).unwrap();
    assert!(b["messageSignature"].is_object(), "a message signature, not DSSE: {b}");
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "hashedrekord", "{b}");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2", "{b}");
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"].as_array().unwrap().len(),
        1
    );
    // proto3 JSON leaves out a zero `logIndex`.
    entry["logIndex"].as_str().unwrap_or("0").parse().unwrap()
}

/// sigstore-js signs a file with the stack (CA, TSA, Rekor v2) and verifies its own bundle with
/// the published TrustedRoot; another identity, another issuer and a tampered file are refused.
#[tokio::test]
async fn sigstore_js_signs_and_verifies_against_the_stack() {
    let Some(js) = common::sigstore_js() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(js, dir.path()).await;
    let issuer = stack.issuer();
    let token = stack.token("heidi@example.com").await;
    let file = dir.path().join("photo.txt");
    std::fs::write(&file, b"a picture, in words").unwrap();
    let bundle = dir.path().join("photo.sigstore.json");

    stack.js_sign(&file, &bundle, &token);
    check_shape(&bundle);
    let (ok, out) = stack.js_verify(&bundle, &file, "heidi@example.com", &issuer);
    assert!(ok && out.contains("OK"), "sigstore-js refused its own bundle from our stack: {out}");

    let (ok, out) = stack.js_verify(&bundle, &file, "mallory@example.com", &issuer);
    assert!(!ok && out.contains("UNTRUSTED_SIGNER_ERROR"), "another identity must not verify: {out}");
    let (ok, out) = stack.js_verify(&bundle, &file, "heidi@example.com", "https://accounts.google.com");
    assert!(!ok && out.contains("UNTRUSTED_SIGNER_ERROR"), "another issuer must not verify: {out}");
    let tampered = dir.path().join("tampered.txt");
    std::fs::write(&tampered, b"a picture, in other words").unwrap();
    let (ok, out) = stack.js_verify(&bundle, &tampered, "heidi@example.com", &issuer);
    assert!(!ok && out.contains("SIGNATURE_ERROR"), "a tampered file must not verify: {out}");
}

/// Bundles cross between the clients: sigstore-python signs and sigstore-js verifies (and
/// refuses another identity or a tampered file); sigstore-js signs and sigstore-python verifies
/// (and refuses another identity). sigstore-python signs first here, so the sigstore-js bundle
/// is not the stack's first client entry: for that case see the next test.
#[tokio::test]
async fn sigstore_js_and_sigstore_python_verify_each_others_bundles() {
    let Some(js) = common::sigstore_js() else { return };
    let Some(python) = sig_share_testdata::sigstore_python() else { return };
    let sigstore = python.with_file_name("sigstore");
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(js, dir.path()).await;
    let issuer = stack.issuer();
    let file = dir.path().join("photo.txt");
    std::fs::write(&file, b"a picture, in words").unwrap();
    let tampered = dir.path().join("tampered.txt");
    std::fs::write(&tampered, b"a picture, in other words").unwrap();

    // sigstore-python signs, sigstore-js verifies.
    let from_python = dir.path().join("python.sigstore.json");
    stack.python_sign(&sigstore, &file, &from_python, &stack.token("ivan@example.com").await);
    check_shape(&from_python);
    let (ok, out) = stack.js_verify(&from_python, &file, "ivan@example.com", &issuer);
    assert!(ok && out.contains("OK"), "sigstore-js refused sigstore-python's bundle: {out}");
    let (ok, out) = stack.js_verify(&from_python, &file, "mallory@example.com", &issuer);
    assert!(!ok && out.contains("UNTRUSTED_SIGNER_ERROR"), "another identity must not verify: {out}");
    let (ok, out) = stack.js_verify(&from_python, &tampered, "ivan@example.com", &issuer);
    assert!(!ok && out.contains("SIGNATURE_ERROR"), "a tampered file must not verify: {out}");
    // ... and `sig-share verify` accepts it too, and refuses the same.
    let (ok, out) = common::sig_share_verify(&from_python, &file, "ivan@example.com", &issuer, &stack.trust);
    assert!(ok, "sig-share verify refused sigstore-python's bundle: {out}");
    let (ok, out) = common::sig_share_verify(&from_python, &file, "mallory@example.com", &issuer, &stack.trust);
    assert!(!ok && out.contains("not by \"mallory@example.com\""), "another identity must not verify: {out}");
    let (ok, out) = common::sig_share_verify(&from_python, &tampered, "ivan@example.com", &issuer, &stack.trust);
    assert!(!ok && out.contains("different artifact"), "a tampered file must not verify: {out}");

    // sigstore-js signs, sigstore-js and sigstore-python verify.
    let from_js = dir.path().join("js.sigstore.json");
    stack.js_sign(&file, &from_js, &stack.token("judy@example.com").await);
    assert!(check_shape(&from_js) > 0);
    let (ok, out) = stack.js_verify(&from_js, &file, "judy@example.com", &issuer);
    assert!(ok && out.contains("OK"), "sigstore-js refused its own bundle: {out}");
    let (ok, out) = stack.python_verify(&sigstore, &from_js, &file, "judy@example.com");
    assert!(ok && out.contains("OK"), "sigstore-python refused sigstore-js's bundle: {out}");
    let (ok, _) = stack.python_verify(&sigstore, &from_js, &file, "mallory@example.com");
    assert!(!ok, "another identity must not verify");
    let (ok, _) = stack.python_verify(&sigstore, &from_js, &tampered, "judy@example.com");
    assert!(!ok, "a tampered file must not verify");
    // sigstore-js signs, `sig-share verify` accepts (proto3 JSON and all), and refuses the same.
    let (ok, out) = common::sig_share_verify(&from_js, &file, "judy@example.com", &issuer, &stack.trust);
    assert!(ok, "sig-share verify refused sigstore-js's bundle: {out}");
    let (ok, out) =
        common::sig_share_verify(&from_js, &file, "judy@example.com", "https://accounts.google.com", &stack.trust);
    assert!(!ok && out.contains("vouched for by"), "another issuer must not verify: {out}");
    let (ok, out) = common::sig_share_verify(&from_js, &tampered, "judy@example.com", &issuer, &stack.trust);
    assert!(!ok && out.contains("different artifact"), "a tampered file must not verify: {out}");
}

/// On a fresh stack, sigstore-js signs first, and sigstore-python verifies that bundle.
///
/// sigstore-js writes bundles as proto3 JSON, which leaves out fields holding their default
/// value (`@sigstore/protobuf-specs` `TransparencyLogEntry.toJSON`/`InclusionProof.toJSON`:
/// `if (message.logIndex !== "0")`, `if (message.hashes?.length)`), so a bundle for index 0 in a
/// tree of size 1 has no `logIndex` and no `hashes`, and sigstore-python 4.5.1 (sigstore-models
/// 0.0.6, which declares them required) refuses it. `sig-share serve` therefore gives a new log
/// its own first entry (the CA root, signed by the CA key), so no client entry is ever index 0.
#[tokio::test]
async fn sigstore_python_verifies_sigstore_js_s_first_bundle_on_a_fresh_stack() {
    let Some(js) = common::sigstore_js() else { return };
    let Some(python) = sig_share_testdata::sigstore_python() else { return };
    let sigstore = python.with_file_name("sigstore");
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(js, dir.path()).await;
    let file = dir.path().join("photo.txt");
    std::fs::write(&file, b"a picture, in words").unwrap();
    let bundle = dir.path().join("photo.sigstore.json");
    stack.js_sign(&file, &bundle, &stack.token("kim@example.com").await);
    assert_eq!(check_shape(&bundle), 1, "the first client entry follows the stack's own at index 0");
    let (ok, out) = stack.js_verify(&bundle, &file, "kim@example.com", &stack.issuer());
    assert!(ok && out.contains("OK"), "sigstore-js refused its own bundle: {out}");
    let (ok, out) = stack.python_verify(&sigstore, &bundle, &file, "kim@example.com");
    assert!(ok && out.contains("OK"), "sigstore-python refused sigstore-js's first bundle: {out}");
}
