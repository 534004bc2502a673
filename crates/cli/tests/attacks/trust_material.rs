//! Hostile PEM and trust material against the command line and a running stack (issue 14 #4,
//! #5, #10b). Parser-level attacks are beside their crates: `crates/pem` (every PEM shape),
//! `crates/verify/tests/pem_shapes.rs` (Rekor v1 bodies, managed keys),
//! `crates/verify/tests/hostile_trust.rs` (every one-place mutation of real trust material),
//! `crates/ca/tests/device.rs` (device enrollment), `crates/ca/src/config.rs` (loopback URLs).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{self, sig_share};

/// `sig-share serve --dev` with alice's signature of a small file.
struct Signed {
    dir: tempfile::TempDir,
    _server: common::Server,
    url: String,
    trust: PathBuf,
    file: PathBuf,
    bundle: PathBuf,
}

async fn signed_stack() -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, url) = common::serve(&data, &["--dev"], &[]).await;
    let trust = data.join("trust-config.json");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"minutes of the meeting").unwrap();
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "alice@example.com").await.unwrap();
    let (code, out, err) = sig_share(&[
        "sign",
        file.to_str().unwrap(),
        "--identity-token",
        &token,
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let bundle = dir.path().join("notes.txt.sigstore.json");
    assert!(bundle.exists(), "{out}{err}");
    Signed { dir, _server: server, url, trust, file, bundle }
}

fn verify(s: &Signed, trust: &Path) -> (i32, String) {
    let (code, out, err) = sig_share(&[
        "verify",
        s.file.to_str().unwrap(),
        "--bundle",
        s.bundle.to_str().unwrap(),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &format!("{}/oidc", s.url),
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    (code, format!("{out}{err}"))
}

/// The places of a trust config that hold times, each made non-ASCII in turn.
const TIME_PLACES: [&str; 5] = [
    "/trustedRoot/certificateAuthorities/0/validFor/start",
    "/trustedRoot/timestampAuthorities/0/validFor/start",
    "/trustedRoot/tlogs/0/publicKey/validFor/start",
    "/trustedRoot/ctlogs/0/publicKey/validFor/start",
    "/signingConfig/caUrls/0/validFor/start",
];

fn mutated(trust: &Path, place: &str, value: &str) -> String {
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(trust).unwrap()).unwrap();
    *config.pointer_mut(place).unwrap_or_else(|| panic!("{place}")) = Value::from(value);
    serde_json::to_string_pretty(&config).unwrap()
}

/// Issue 14 #5: a non-ASCII `validFor` time in the trust config. Before: `verify` panicked
/// (exit 101, "byte index is not a char boundary") for every bundle; now every command that
/// reads the config stops with exit 2 naming the field, and the good config still verifies.
#[tokio::test]
async fn a_non_ascii_time_in_trust_material_is_a_clear_error_not_a_panic() {
    let s = signed_stack().await;
    let (code, out) = verify(&s, &s.trust);
    assert_eq!(code, 0, "{out}");
    for place in TIME_PLACES {
        let bad = s.dir.path().join("bad-trust.json");
        std::fs::write(&bad, mutated(&s.trust, place, "2026-01-01T00:00:0é")).unwrap();
        let (code, out) = verify(&s, &bad);
        assert_eq!(code, 2, "{place}: {out}");
        assert!(out.contains("validFor") && !out.contains("panicked"), "{place}: {out}");
        let (code, out, err) = sig_share(&["trust", "show", bad.to_str().unwrap()]);
        assert_eq!(code, 2, "{place}: {out}{err}");
    }
}

/// Serves `body` as every answer on a loopback port, for `bound` connections at most: a
/// hostile server for `trust pin`.
fn hostile_server(body: String, bound: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(bound) {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    url
}

/// Issue 14 #5: `trust pin` from a server answering hostile trust material. Before: it
/// checked only media types and chains, saved the config, and every later `verify` panicked;
/// now it parses all of it, fails closed (exit 2, the field named) and writes nothing.
#[tokio::test]
async fn trust_pin_refuses_hostile_material_and_saves_nothing() {
    let s = signed_stack().await;
    let pinned = s.dir.path().join("pinned.json");
    let mut hostile: Vec<(String, String)> =
        TIME_PLACES.iter().map(|p| (p.to_string(), mutated(&s.trust, p, "2é26-01-01T00:00:00Z"))).collect();
    hostile.push((
        "a tlog key that is not DER".into(),
        mutated(&s.trust, "/trustedRoot/tlogs/0/publicKey/rawBytes", "AAAA"),
    ));
    hostile
        .push(("a CA URL that is not http(s)".into(), mutated(&s.trust, "/signingConfig/caUrls/0/url", "file:///etc")));
    for (what, body) in hostile {
        let url = hostile_server(body, 2);
        let (code, out, err) = sig_share(&["trust", "pin", &url, "--to", pinned.to_str().unwrap()]);
        assert_eq!(code, 2, "{what}: {out}{err}");
        assert!(err.contains("not usable sigstore trust material") && !err.contains("panicked"), "{what}: {err}");
        assert!(!pinned.exists(), "{what}: nothing is saved");
    }
    // The stack's own config still pins.
    let (code, out, err) = sig_share(&["trust", "pin", &s.url, "--to", pinned.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(pinned.exists());
}

/// The shapes other implementations write one PEM block in (issue 14 #4).
fn shapes(pem: &str) -> Vec<(&'static str, String)> {
    let lines: Vec<&str> = pem.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let (begin, end) = (lines[0], lines[lines.len() - 1]);
    let body = lines[1..lines.len() - 1].concat();
    vec![
        ("one long line", format!("{begin}\n{body}\n{end}\n")),
        ("CRLF", lines.join("\r\n") + "\r\n"),
        ("one long line, CRLF", format!("{begin}\r\n{body}\r\n{end}\r\n")),
        ("text and whitespace around", format!("  \nkey for the release\n{}\n\n ", lines.join("\n"))),
    ]
}

/// Issue 14 #4: `verify --key` with the key as Go or Python may write it. Before: "PEM Base64
/// error" (exit 2) for a one-line key; now the bundle verifies (exit 0), and a private key
/// or garbage in the file is refused naming the problem (exit 2).
#[test]
fn verify_key_reads_pem_of_any_shape() {
    let Some(base) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let case = base.join("bundle-verify/managed-key-and-trusted-root");
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "mediaType": sig_share_verify::trust::CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": serde_json::from_str::<Value>(&std::fs::read_to_string(case.join("trusted_root.json")).unwrap()).unwrap(),
        "signingConfig": serde_json::from_str::<Value>(&std::fs::read_to_string(base.join("trust/public-good.signing_config.v0.2.json")).unwrap()).unwrap(),
    });
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, config.to_string()).unwrap();
    let key = std::fs::read_to_string(case.join("key.pub")).unwrap();
    let run = |text: &str| {
        let path = dir.path().join("key.pem");
        std::fs::write(&path, text).unwrap();
        let (code, out, err) = sig_share(&[
            "verify",
            base.join("a.txt").to_str().unwrap(),
            "--bundle",
            case.join("bundle.sigstore.json").to_str().unwrap(),
            "--key",
            path.to_str().unwrap(),
            "--trust-config",
            trust.to_str().unwrap(),
        ]);
        (code, format!("{out}{err}"))
    };
    for (how, text) in shapes(&key) {
        let (code, out) = run(&text);
        assert_eq!(code, 0, "{how}: {out}");
    }
    let (code, out) = run(&key.replace("PUBLIC KEY", "PRIVATE KEY"));
    assert!(code == 2 && out.contains("expected a PEM PUBLIC KEY, found PRIVATE KEY"), "{out}");
    let (code, out) = run(&key.replacen('\n', "\n%%", 2));
    assert!(code == 2 && out.contains("malformed PEM"), "{out}");
}

/// Issue 14 #4: a stack's own PEM files (the CA's key and root, the TSA's key and chain)
/// rewritten as one long line with CRLF: `serve` starts on them again. Before: "PEM Base64
/// error", the stack did not start.
#[tokio::test]
async fn serve_reads_its_ca_and_tsa_pem_in_any_shape() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trust_before = {
        let (_server, _) = common::serve(&data, &["--dev"], &[]).await;
        std::fs::read_to_string(data.join("trust-config.json")).unwrap()
    };
    for file in ["ca/ca.key", "ca/ca.pem", "tsa/tsa.key", "tsa/tsa.pem"] {
        let path = data.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        // Each block as one line, CRLF, with text between blocks.
        let one_line: String = sig_share_pem::blocks(&text)
            .unwrap()
            .iter()
            .map(|b| {
                let pem = sig_share_pem::encode(&b.label, &b.der);
                format!("{}issued by the test\r\n", shapes(&pem)[2].1)
            })
            .collect();
        std::fs::write(&path, one_line).unwrap();
    }
    let (_server, url) = common::serve(&data, &["--dev"], &[]).await;
    let answer = reqwest::get(format!("{url}/.well-known/sig-share/trust-config.json")).await.unwrap();
    let trust_after: Value = answer.json().await.unwrap();
    let before: Value = serde_json::from_str(&trust_before).unwrap();
    // The same keys and certificates (the URLs name each run's port).
    for authorities in ["certificateAuthorities", "timestampAuthorities"] {
        let chains = |trust: &Value| -> Vec<Value> {
            trust["trustedRoot"][authorities].as_array().unwrap().iter().map(|a| a["certChain"].clone()).collect()
        };
        assert_eq!(chains(&trust_after), chains(&before), "{authorities}");
    }
}

/// Issue 14 #10b at the command line: the operator's secret enrolls a device ID once; a
/// second key for it is refused (exit 2, naming `device revoke`) until `sig-share device
/// revoke`; before, the second key was certified at once. The record is in the CA's data.
#[tokio::test]
async fn a_device_id_takes_a_second_key_only_after_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, _url) = common::serve(&data, &["--dev"], &[]).await;
    let (secret, trust) = (data.join("device-operator.secret"), data.join("trust-config.json"));
    let enroll = |out: &str| {
        sig_share(&[
            "device",
            "enroll",
            "--id",
            "camera-0042",
            "--operator-secret-file",
            secret.to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
            "--trust-config",
            trust.to_str().unwrap(),
        ])
    };
    let (code, out, err) = enroll("first");
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = enroll("second");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("409") && err.contains("device revoke"), "{err}");
    let revoke = |secret: &Path| {
        sig_share(&[
            "device",
            "revoke",
            "--id",
            "camera-0042",
            "--operator-secret-file",
            secret.to_str().unwrap(),
            "--trust-config",
            trust.to_str().unwrap(),
        ])
    };
    let wrong = dir.path().join("wrong.secret");
    std::fs::write(&wrong, "not-the-secret").unwrap();
    let (code, _, err) = revoke(&wrong);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("401"), "{err}");
    let (code, out, err) = revoke(&secret);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Revoked"), "{out}");
    let (code, out, err) = enroll("third");
    assert_eq!(code, 0, "{out}{err}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("ca").join("devices.json")).unwrap()).unwrap();
    let history = record["camera-0042"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{record}");
    assert!(history[0]["revoked"].is_u64() && history[1]["revoked"].is_null(), "{record}");
}
