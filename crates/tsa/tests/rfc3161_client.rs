//! An independent verifier: rfc3161-client (the RFC 3161 library sigstore-python uses, pinned in
//! interop/sigstore-python/requirements.txt) requests timestamps from a running TSA over HTTP and
//! verifies them with its own code; see interop/rfc3161/verify.py.
//!
//! It runs in the venv of `$SIG_SHARE_PYTHON`, which `scripts/test` creates with
//! interop/sigstore-python/venv.sh. Without it the test is skipped, loudly, except under CI
//! (`CI=true`), where it fails.

mod common;

use std::process::Command;

use sig_share_tsa::{DEVELOPMENT_POLICY, router};

use common::*;

#[test]
fn rfc3161_client_verifies_our_tokens_and_rejects_tampered_ones() {
    let Some(python) = sig_share_testdata::sigstore_python() else { return };
    let fx = p256();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = router(fx.tsa.clone());
    runtime.spawn(async move { axum::serve(listener, app).await });

    let script = workspace().join("interop/rfc3161/verify.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--url", &url, "--policy", &DEVELOPMENT_POLICY.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "verify.py failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("checks passed"), "{stdout}\n{stderr}");
    eprintln!("{}", stdout.trim());
    runtime.shutdown_background();
}
