//! OpenSSL as the independent client and verifier: requests made by `openssl ts -query`, answers
//! checked by `openssl ts -verify` and read by `openssl ts -reply -text`.

mod common;

use std::path::Path;
use std::time::SystemTime;

use sig_share_pki::{KeyAlgorithm, certificate_to_pem};
use sig_share_tsa::{Reply, RequestForm};

use common::*;

/// Writes root.pem / leaf.pem and data, makes a request with `query_args`, has the TSA answer it
/// and returns the reply's outcome (and leaves req.tsq / resp.der in `dir`).
fn answer(bin: &str, fx: &Fixture, dir: &Path, query_args: &[&str]) -> Reply {
    std::fs::write(dir.join("root.pem"), certificate_to_pem(&fx.root)).unwrap();
    std::fs::write(dir.join("leaf.pem"), certificate_to_pem(&fx.leaf)).unwrap();
    std::fs::write(dir.join("data"), b"the bytes of a signature").unwrap();
    let mut args = vec!["ts", "-query", "-data", "data", "-out", "req.tsq"];
    args.extend_from_slice(query_args);
    run_ok(bin, &args, dir);
    let req = std::fs::read(dir.join("req.tsq")).unwrap();
    let reply = fx.tsa.respond(&req, RequestForm::Der, SystemTime::now());
    let der = match &reply {
        Reply::Granted(der) | Reply::Rejected { response: der, .. } => der.clone(),
        Reply::Malformed(m) => panic!("openssl's request was not understood: {m}"),
    };
    std::fs::write(dir.join("resp.der"), der).unwrap();
    reply
}

fn verify_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["ts", "-verify", "-in", "resp.der", "-CAfile", "root.pem", "-untrusted", "leaf.pem"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn openssl_verifies_tokens_for_every_hash_key_and_option() {
    let Some(bin) = openssl() else { return };
    let fixtures = [
        ("P-256 TSA", fixture(KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP256Sha256)),
        ("P-384 TSA under a P-256 root", fixture(KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384)),
        ("P-256 TSA under a P-384 root", fixture(KeyAlgorithm::EcdsaP384Sha384, KeyAlgorithm::EcdsaP256Sha256)),
    ];
    let queries: [&[&str]; 5] = [
        &["-sha256", "-cert"],
        &["-sha256", "-cert", "-no_nonce"],
        &["-sha384", "-cert"],
        &["-sha512", "-cert"],
        &["-sha256"],
    ];
    for (name, fx) in &fixtures {
        for query in queries {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let reply = answer(bin, fx, d, query);
            assert!(matches!(reply, Reply::Granted(_)), "{name} {query:?}: {reply:?}");

            // Against the request (imprint, nonce, policy if any) and against the data itself.
            let out = run_ok(bin, &verify_args(&["-queryfile", "req.tsq"]), d);
            assert!(out.contains("Verification: OK"), "{name} {query:?}: {out}");
            let out = run_ok(bin, &verify_args(&["-data", "data"]), d);
            assert!(out.contains("Verification: OK"), "{name} {query:?}: {out}");

            // Other data does not verify.
            std::fs::write(d.join("other"), b"other bytes").unwrap();
            let (ok, out) = run(bin, &verify_args(&["-data", "other"]), d);
            assert!(!ok && out.contains("Verification: FAILED"), "{name} {query:?}: {out}");

            // A flipped bit in the signature (the response's last byte) does not verify.
            let mut der = std::fs::read(d.join("resp.der")).unwrap();
            let last = der.len() - 1;
            der[last] ^= 0x01;
            std::fs::write(d.join("resp.der"), &der).unwrap();
            let (ok, out) = run(bin, &verify_args(&["-queryfile", "req.tsq"]), d);
            assert!(!ok, "{name} {query:?}: a tampered token verified:\n{out}");
        }
    }
}

#[test]
fn openssl_reads_policy_nonce_accuracy_and_certificates() {
    let Some(bin) = openssl() else { return };
    let fx = p256();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    answer(bin, &fx, d, &["-sha256", "-cert"]);
    let text = run_ok(bin, &["ts", "-reply", "-in", "resp.der", "-text"], d);
    let query = run_ok(bin, &["ts", "-query", "-in", "req.tsq", "-text"], d);
    let nonce = query.lines().find(|l| l.starts_with("Nonce: ")).expect("openssl's query has a nonce");
    for want in [
        "Status: Granted.",
        "Version: 1",
        "Policy OID: 1.3.6.1.4.1.57264.2",
        "Hash Algorithm: sha256",
        "Accuracy: 0x01 seconds, unspecified millis, unspecified micros",
        "Ordering: no",
        "TSA: unspecified",
        nonce,
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // The token's certificate is the leaf (-token_out and pkcs7 -print_certs).
    run_ok(bin, &["ts", "-reply", "-in", "resp.der", "-token_out", "-out", "token.der"], d);
    let certs = run_ok(bin, &["pkcs7", "-inform", "DER", "-in", "token.der", "-print_certs"], d);
    assert!(certs.contains("subject=CN = sig-share test TSA"), "{certs}");
    assert_eq!(certs.matches("-----BEGIN CERTIFICATE-----").count(), 1, "{certs}");
    // The token alone verifies too (what a sigstore bundle stores).
    let out = run_ok(
        bin,
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-data",
            "data",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "leaf.pem",
        ],
        d,
    );
    assert!(out.contains("Verification: OK"), "{out}");

    // Without -cert, no certificate is embedded, and verification still works with -untrusted.
    answer(bin, &fx, d, &["-sha256"]);
    run_ok(bin, &["ts", "-reply", "-in", "resp.der", "-token_out", "-out", "token.der"], d);
    let (_, certs) = run(bin, &["pkcs7", "-inform", "DER", "-in", "token.der", "-print_certs"], d);
    assert!(!certs.contains("BEGIN CERTIFICATE"), "{certs}");
}

#[test]
fn openssl_reads_our_rejections() {
    let Some(bin) = openssl() else { return };
    let fx = p256();
    let cases: [(&[&str], &str); 2] = [
        (&["-sha256", "-tspolicy", "1.2.3.4"], "the requested TSA policy is not supported by the TSA"),
        (&["-sha1"], "unrecognized or unsupported algorithm identifier"),
    ];
    for (query, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let reply = answer(bin, &fx, d, query);
        assert!(matches!(reply, Reply::Rejected { .. }), "{query:?}: {reply:?}");
        let text = run_ok(bin, &["ts", "-reply", "-in", "resp.der", "-text"], d);
        assert!(text.contains("Status: Rejected"), "{text}");
        assert!(text.contains(reason), "{query:?}: missing {reason:?} in\n{text}");
        assert!(text.contains("TST info:\nNot included."), "{text}");
        let (ok, _) = run(bin, &verify_args(&["-queryfile", "req.tsq"]), d);
        assert!(!ok);
    }
}
