//! SoftHSM2 tokens for the tests and the benchmark.
//!
//! SoftHSM2 finds its token directory through `SOFTHSM2_CONF`, read once, at `C_Initialize`, and
//! sees only the tokens that exist at that moment. A test cannot set that variable for itself
//! (`std::env::set_var` is `unsafe` in edition 2024 and this workspace forbids `unsafe`), and
//! tests sharing one process under `cargo test` would share one initialised module anyway. So
//! each test prepares a private token directory, initialises its tokens with `softhsm2-util`, and
//! runs its body in a child process: the test binary itself, asked to run just that test, with
//! `SOFTHSM2_CONF` set. The child leaves a marker so that a child that ran nothing (a misspelt
//! test name) fails the parent instead of passing silently.
#![allow(dead_code)] // Each of the test and bench targets uses part of it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TOKEN: &str = "test";
pub const PIN: &str = "1234";
pub const SO_PIN: &str = "5678";
/// A second token, so "token not found" has more than one label to list.
pub const OTHER_TOKEN: &str = "other";

const CHILD_DIR: &str = "SIG_SHARE_PKCS11_TEST_DIR";
const CHILD_MODULE: &str = "SIG_SHARE_PKCS11_TEST_MODULE";

/// A SoftHSM2 set-up this process may use.
#[derive(Debug)]
pub struct SoftHsm {
    pub module: PathBuf,
    /// The test's private directory (the tokens live in `tokens/` under it).
    pub dir: PathBuf,
}

/// A prepared token directory, before the child runs.
pub struct Prepared {
    pub module: PathBuf,
    pub conf: PathBuf,
    pub dir: tempfile::TempDir,
}

/// Makes a token directory with tokens labelled `tokens` (user PIN [`PIN`], SO PIN [`SO_PIN`]).
/// `None` (having said so) when SoftHSM2 is not installed, outside CI.
pub fn prepare(tokens: &[&str]) -> Option<Prepared> {
    let module = sig_share_testdata::softhsm2_module()?;
    let dir = tempfile::tempdir().expect("temporary directory");
    let token_dir = dir.path().join("tokens");
    std::fs::create_dir(&token_dir).expect("token directory");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            token_dir.display()
        ),
    )
    .expect("SoftHSM2 configuration");
    for label in tokens {
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util runs");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(Prepared { module, conf, dir })
}

impl Prepared {
    /// This executable again, with `args`, pointed at the prepared tokens.
    pub fn command(&self, args: impl IntoIterator<Item = OsString>) -> Command {
        let exe = std::env::current_exe().expect("the test executable's path");
        let mut cmd = Command::new(exe);
        cmd.args(args).env("SOFTHSM2_CONF", &self.conf).env(CHILD_DIR, self.dir.path()).env(CHILD_MODULE, &self.module);
        cmd
    }
}

/// In a child started by [`Prepared::command`]: the set-up it was given.
pub fn in_child() -> Option<SoftHsm> {
    let dir = std::env::var_os(CHILD_DIR)?;
    let module = std::env::var_os(CHILD_MODULE)?;
    Some(SoftHsm { module: module.into(), dir: dir.into() })
}

/// Runs the test `name` (which must be the `#[test]` function calling this) with fresh tokens
/// [`TOKEN`] and [`OTHER_TOKEN`].
pub fn softhsm_test(name: &str, body: impl FnOnce(&SoftHsm)) {
    softhsm_test_with_tokens(name, &[TOKEN, OTHER_TOKEN], body)
}

/// [`softhsm_test`] with the given token labels.
pub fn softhsm_test_with_tokens(name: &str, tokens: &[&str], body: impl FnOnce(&SoftHsm)) {
    if let Some(hsm) = in_child() {
        body(&hsm);
        std::fs::write(marker(&hsm.dir, name), b"ran").expect("marker");
        return;
    }
    let Some(prepared) = prepare(tokens) else { return };
    let args = [name, "--exact", "--nocapture", "--test-threads", "1"].map(OsString::from);
    let out = prepared.command(args).output().expect("the test executable runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- {name} in a SoftHSM2 child process ---\n{stdout}{stderr}");
    assert!(out.status.success(), "{name} failed in its SoftHSM2 child process (output above)");
    assert!(marker(prepared.dir.path(), name).exists(), "the child process did not run {name}");
}

fn marker(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("ran-{}", name.replace("::", "-")))
}
