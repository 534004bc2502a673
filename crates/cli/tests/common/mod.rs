//! Running the `sig-share` binary in the CLI's tests.

#![allow(dead_code)]

pub mod pictures;
pub mod stack;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The lowercase hex SHA-256 of `data`, as the log and the statements spell digests.
pub fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Runs `sig-share` with `args`: its exit code, stdout and stderr.
pub fn sig_share(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sig-share")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The server process; dropping it kills and reaps it.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `sig-share serve` (100 ms period) on a free loopback port with `extra` arguments and
/// `envs`, and waits until it answers; returns it with its URL.
pub async fn serve(data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    serve_on(free_port(), data, extra, envs).await
}

/// What the browser tests need, each skipped locally (and failing under CI) when missing: the
/// browser harness, the page's built verifier, the C2PA vectors, and `sig-share serve --dev`
/// serving the page from a fresh data directory in `dir`.
pub struct PageStack {
    pub dir: tempfile::TempDir,
    pub server: Server,
    pub url: String,
    /// The stack's trust config, as `--trust-config` takes it.
    pub trust: String,
    pub browser: std::path::PathBuf,
    pub pkg: std::path::PathBuf,
    pub vectors: std::path::PathBuf,
}

/// A [`PageStack`], or `None` to skip.
pub async fn page_stack() -> Option<PageStack> {
    let browser = sig_share_testdata::browser()?;
    let pkg = sig_share_testdata::web_pkg()?;
    let vectors = sig_share_testdata::vectors("c2pa")?;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, url) = serve(&data, &["--dev", "--web-pkg", pkg.to_str().unwrap()], &[]).await;
    let trust = data.join("trust-config.json").to_str().unwrap().to_owned();
    Some(PageStack { dir, server, url, trust, browser, pkg, vectors })
}

/// [`serve`] on a given port.
pub async fn serve_on(port: u16, data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_sig-share"))
        .args(["serve", "--period", "100ms", "--listen", &listen, "--data"])
        .arg(data)
        .args(extra)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let url = format!("http://{listen}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return (server, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sig-share serve did not start");
}

/// Runs `sig-share verify` on `file` with `bundle`, the identity and issuer that must have
/// signed, and the trust config at `trust`: whether it verified, and everything it printed.
pub fn sig_share_verify(bundle: &Path, file: &Path, identity: &str, issuer: &str, trust: &Path) -> (bool, String) {
    let (code, out, err) = sig_share(&[
        "verify",
        file.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert!(code == 0 || code == 1, "sig-share verify could not run (exit {code}): {out}{err}");
    (code == 0, format!("{out}{err}"))
}

/// `interop/sigstore-js` with its packages installed and `node` on the path. Missing, it fails
/// the test under CI (`CI=true`) and skips it, loudly, elsewhere.
pub fn sigstore_js() -> Option<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/sigstore-js");
    let installed = ["@sigstore/sign", "@sigstore/verify", "@sigstore/bundle", "@sigstore/protobuf-specs"]
        .iter()
        .all(|p| dir.join("node_modules").join(p).is_dir());
    let node = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if installed && node {
        return Some(dir);
    }
    let what = if node {
        format!("sigstore-js is not installed in {} (run `npm ci --prefix interop/sigstore-js`)", dir.display())
    } else {
        "node is not installed (sigstore-js needs Node 20.17 or later)".to_owned()
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}");
    }
    eprintln!("SKIPPING: {what}");
    None
}

/// Whether a command succeeded, and everything it printed (stdout, then stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A SoftHSM2 token in `dir` labelled `label` with user PIN 1234; the environment that selects it.
pub fn softhsm_token(dir: &std::path::Path, label: &str) -> Vec<(String, String)> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
        .unwrap();
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label, "--pin", "1234", "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    vec![("SOFTHSM2_CONF".into(), conf.display().to_string()), ("SIG_SHARE_PKCS11_PIN".into(), "1234".into())]
}

/// Signs and logs, as `email` (keyless, through the stack's CA and log), a sig-share provenance
/// statement about `content` naming `parents` as it pleases: what a modified client could log,
/// with no C2PA manifest. The log keeps the statement. Returns its log index.
pub async fn sign_statement(
    stack: &stack::Stack,
    email: &str,
    content: &[u8],
    actions: &[&str],
    parents: &[serde_json::Value],
) -> u64 {
    use sha2::Digest;
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "forged.jpg", "digest": { "sha256": hex::encode(sha2::Sha256::digest(content)) } }],
        "predicateType": "https://sig-share.dev/provenance/v0.1",
        "predicate": { "format": "image/jpeg", "actions": actions, "parents": parents, "tool": "a modified client" },
    });
    let text = std::fs::read_to_string(&stack.trust).unwrap();
    let config = sig_share_verify::trust::ClientTrustConfig::from_json(&text).unwrap();
    let services =
        sig_share_sign::Services::from_signing_config(&config.signing_config, sig_share_sign::unix_now()).unwrap();
    let client = sig_share_sign::SigningClient::new(services).unwrap().trusting(config.trusted_root);
    let token = sig_share_sign::token::IdentityToken::new(stack.token(email).await);
    let session = client.certify(&token).await.unwrap();
    let signed = session.sign_in_toto(&serde_json::to_vec(&statement).unwrap()).await.unwrap();
    session.keep_statement(&signed).await.unwrap();
    signed.log_index
}

/// POSTs `body` to the log at `url` + `path`, waiting out rate limits (429 with Retry-After);
/// the final status and body.
pub async fn post_json(url: &str, path: &str, body: String) -> (u16, String) {
    let http = reqwest::Client::new();
    for _ in 0..50 {
        let answer = http
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let wait = answer.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let text = answer.text().await.unwrap();
        if status != 429 {
            return (status, text);
        }
        tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1).min(5))).await;
    }
    panic!("still rate-limited after 50 tries: {path}");
}

/// A fresh P-256 key: the key pair and its DER SubjectPublicKeyInfo.
pub fn p256_key() -> (aws_lc_rs::signature::EcdsaKeyPair, Vec<u8>) {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let spki = key.public_key().as_der().unwrap().as_ref().to_vec();
    (key, spki)
}

/// Logs a hashedrekord over `sha256` signed by a fresh throwaway P-256 key (no identity, no
/// certificate): what anyone can log under any digest. Its log index.
pub async fn log_raw_entry(url: &str, sha256: &[u8; 32]) -> u64 {
    let (key, spki) = p256_key();
    let digest = aws_lc_rs::digest::Digest::import_less_safe(sha256, &aws_lc_rs::digest::SHA256).unwrap();
    let signature = key.sign_digest(&digest).unwrap();
    let body = sig_share_log::rekor::p256_request(sha256, signature.as_ref(), &spki);
    let (status, text) = post_json(url, "/api/v2/log/entries", body).await;
    assert!(status == 200 || status == 201, "{status}: {text}");
    let entry: serde_json::Value = serde_json::from_str(&text).unwrap();
    entry["logIndex"].as_str().unwrap().parse().unwrap()
}

static JUNK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Logs, with a throwaway key, a provenance statement about the content with SHA-256
/// `content_hex` and asks the log to keep it: whether the store kept it (a store may refuse
/// statements no certificate of its deployment signs).
pub async fn log_raw_statement(url: &str, content_hex: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        // Each one different, so the store keeps each apart.
        "subject": [{ "name": format!("junk-{}.jpg", JUNK.fetch_add(1, std::sync::atomic::Ordering::Relaxed)), "digest": { "sha256": content_hex } }],
        "predicateType": "https://sig-share.dev/provenance/v0.1",
        "predicate": { "format": "image/jpeg", "actions": ["c2pa.created"], "tool": "junk" },
    });
    let payload = serde_json::to_vec(&statement).unwrap();
    let payload_type = "application/vnd.in-toto+json";
    let pae =
        [format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes(), &payload].concat();
    let digest: [u8; 32] = sha2::Sha256::digest(&pae).into();
    log_raw_entry(url, &digest).await;
    let envelope = serde_json::json!({
        "payloadType": payload_type,
        "payload": base64::engine::general_purpose::STANDARD.encode(&payload),
        "signatures": [],
    });
    let (status, _) = post_json(url, "/api/v1/statements", envelope.to_string()).await;
    status == 201
}
