//! Running the `sig-share` binary in the CLI's tests.

#![allow(dead_code)]

pub mod pictures;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
pub struct Server(Child);

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
