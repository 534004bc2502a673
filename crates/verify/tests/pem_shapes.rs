//! PEM as other implementations write it (issue 14 #4): the PEM inside Rekor v1 log entries and
//! the `--key` a managed-key bundle is verified with are read whatever their line length, with
//! CRLF and with text around; wrong labels and garbage stay errors. Before the fix a one-line
//! PEM (as Go's and Python's readers accept) failed with "PEM Base64 error".

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sig_share_verify::TrustedRoot;
use sig_share_verify::bundle::{Bundle, TlogEntry};
use sig_share_verify::entry::{self, Content, Signed};
use sig_share_verify::policy::Policy;
use sig_share_verify::verdict::{self, Artifact};

const NOW: i64 = 1_800_000_000;

/// The shapes one PEM block is written in: as given (64-character lines), one long line, CRLF,
/// one line with CRLF, surrounded by whitespace, with text around, all on one line.
pub fn shapes(pem: &str) -> Vec<(&'static str, String)> {
    let lines: Vec<&str> = pem.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let (begin, end) = (lines[0], lines[lines.len() - 1]);
    let body = lines[1..lines.len() - 1].concat();
    vec![
        ("64-character lines", lines.join("\n") + "\n"),
        ("one long line", format!("{begin}\n{body}\n{end}\n")),
        ("CRLF", lines.join("\r\n") + "\r\n"),
        ("one long line, CRLF", format!("{begin}\r\n{body}\r\n{end}\r\n")),
        ("whitespace around", format!("\n \t\n{}\n\n  ", lines.join("\n"))),
        ("text around", format!("Subject: CN=x\n{}\nmore text\n", lines.join("\n"))),
        ("all on one line", format!("{begin}{body}{end}")),
    ]
}

fn conformance(name: &str) -> Option<(std::path::PathBuf, Bundle)> {
    let base = sig_share_testdata::vectors("sigstore-conformance")?;
    let dir = base.join("bundle-verify").join(name);
    let bundle = Bundle::from_json(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    Some((base, bundle))
}

/// Every base64 string of `body` that holds a PEM block, rewritten by `reshape`; how many.
fn reshape_pems(body: &mut Value, reshape: &dyn Fn(&str) -> String) -> usize {
    match body {
        Value::String(s) => match BASE64.decode(&*s).ok().and_then(|b| String::from_utf8(b).ok()) {
            Some(text) if text.contains("-----BEGIN ") => {
                *s = BASE64.encode(reshape(&text));
                1
            }
            _ => 0,
        },
        Value::Object(o) => o.values_mut().map(|v| reshape_pems(v, reshape)).sum(),
        Value::Array(a) => a.iter_mut().map(|v| reshape_pems(v, reshape)).sum(),
        _ => 0,
    }
}

fn with_body(entry: &TlogEntry, reshape: &dyn Fn(&str) -> String) -> (TlogEntry, usize) {
    let mut body: Value = serde_json::from_slice(&entry.canonicalized_body).unwrap();
    let n = reshape_pems(&mut body, reshape);
    (TlogEntry { canonicalized_body: serde_json::to_vec(&body).unwrap(), ..entry.clone() }, n)
}

/// A Rekor v1 `hashedrekord` with a certificate, one with a managed key, and a `dsse`: the
/// PEM of the signer in the entry body in every shape still matches the bundle; with a wrong
/// label or garbage inside it is a clear "malformed" error.
#[test]
fn rekor_v1_bodies_read_pem_of_any_shape() {
    for name in ["happy-path-v0.3", "managed-key-and-trusted-root", "happy-path-intoto-in-dsse-v3"] {
        let Some((base, bundle)) = conformance(name) else { return };
        let sha256: [u8; 32] = Sha256::digest(std::fs::read(base.join("a.txt")).unwrap()).into();
        let key_spki;
        let signer = match bundle.signing_certificate() {
            Some(cert) => cert,
            None => {
                let pem = std::fs::read_to_string(base.join("bundle-verify").join(name).join("key.pub")).unwrap();
                key_spki = sig_share_verify::crypto::public_key_der(&pem).unwrap();
                &key_spki
            }
        };
        let (signature, content) = match (&bundle.message_signature, &bundle.dsse_envelope) {
            (Some(m), _) => (m.signature.as_slice(), Content::Message { sha256: &sha256 }),
            (None, Some(env)) => (env.signatures[0].sig.as_slice(), Content::Dsse(env)),
            _ => unreachable!(),
        };
        let signed = Signed { signature, signer, content };
        let original = &bundle.verification_material.tlog_entries[0];
        entry::check_entry(original, &signed).unwrap_or_else(|e| panic!("{name}: {e}"));

        for i in 0..shapes("-----BEGIN X-----\nAA==\n-----END X-----\n").len() {
            let (e, n) = with_body(original, &|pem| shapes(pem).swap_remove(i).1);
            assert!(n >= 1, "{name}: no PEM in the body");
            let how = shapes("-----BEGIN X-----\nAA==\n-----END X-----\n")[i].0;
            entry::check_entry(&e, &signed).unwrap_or_else(|err| panic!("{name}, PEM {how}: {err}"));
        }

        let relabelled = |pem: &str| pem.replace("CERTIFICATE", "PRIVATE KEY").replace("PUBLIC KEY", "PRIVATE KEY");
        let err = entry::check_entry(&with_body(original, &relabelled).0, &signed).unwrap_err().to_string();
        assert!(err.contains("malformed") && err.contains("PRIVATE KEY"), "{name}: {err}");
        let garbage = |pem: &str| pem.replacen('\n', "\n*garbage*", 2);
        let err = entry::check_entry(&with_body(original, &garbage).0, &signed).unwrap_err().to_string();
        assert!(err.contains("malformed") && err.contains("PEM"), "{name}: {err}");
    }
}

/// The managed key a bundle is verified with (`sig-share verify --key`), in every shape: the
/// whole verdict holds; a private key or garbage is refused naming the problem.
#[test]
fn managed_keys_read_in_any_shape() {
    let Some((base, bundle)) = conformance("managed-key-and-trusted-root") else { return };
    let dir = base.join("bundle-verify/managed-key-and-trusted-root");
    let root = TrustedRoot::from_json(&std::fs::read_to_string(dir.join("trusted_root.json")).unwrap()).unwrap();
    let sha256: [u8; 32] = Sha256::digest(std::fs::read(base.join("a.txt")).unwrap()).into();
    let pem = std::fs::read_to_string(dir.join("key.pub")).unwrap();
    for (how, text) in shapes(&pem) {
        let policy = Policy::key_from_pem(&text).unwrap_or_else(|e| panic!("key {how}: {e}"));
        verdict::verify(&bundle, &Artifact::from_sha256(sha256), &policy, &root, NOW)
            .unwrap_or_else(|e| panic!("key {how}: {e}"));
    }
    let err = Policy::key_from_pem(&pem.replace("PUBLIC KEY", "PRIVATE KEY")).unwrap_err().to_string();
    assert!(err.contains("expected a PEM PUBLIC KEY, found PRIVATE KEY"), "{err}");
    let err = Policy::key_from_pem(&pem.replacen('\n', "\n!!", 2)).unwrap_err().to_string();
    assert!(err.contains("malformed PEM"), "{err}");
    assert!(Policy::key_from_pem("").unwrap_err().to_string().contains("no PEM block"));
}
