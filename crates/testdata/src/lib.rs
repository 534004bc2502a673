//! Where the shared test vectors and the pinned test peers are. The vectors: `../shared/vectors`
//! beside the checkout (see its SOURCES.md), or `$SIG_SHARE_VECTORS`, read in place and never
//! copied into the project.

use std::path::{Path, PathBuf};

/// The vector folder `sub`, if present. Missing vectors fail the test under CI (`CI=true`) and
/// skip it, loudly, elsewhere.
pub fn vectors(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("SIG_SHARE_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    let dir = base.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    missing(&format!("test vectors missing at {} (set SIG_SHARE_VECTORS)", dir.display()))
}

/// What a test does without something it needs: fail under CI (`CI=true`), where everything
/// must be there, and skip loudly elsewhere.
fn missing<T>(what: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}");
    }
    eprintln!("SKIPPING: {what}");
    None
}

/// The Python interpreter of the venv holding the pinned sigstore-python and its dependencies
/// (`$SIG_SHARE_PYTHON`, which `scripts/test` sets up with `interop/sigstore-python/venv.sh`).
/// Missing, it fails the test under CI and skips it, loudly, elsewhere.
pub fn sigstore_python() -> Option<PathBuf> {
    if let Some(py) = std::env::var_os("SIG_SHARE_PYTHON").map(PathBuf::from).filter(|p| p.exists()) {
        return Some(py);
    }
    missing(
        "sigstore-python is not installed: run interop/sigstore-python/venv.sh and set SIG_SHARE_PYTHON to the path it prints",
    )
}

/// The Python interpreter of the venv holding the pinned c2pa-python (`interop/c2pa-python`), from
/// `$SIG_SHARE_C2PA_PYTHON`. Missing, it fails the test under CI and skips it, loudly, elsewhere.
pub fn c2pa_python() -> Option<PathBuf> {
    if let Some(py) = std::env::var_os("SIG_SHARE_C2PA_PYTHON").map(PathBuf::from).filter(|p| p.exists()) {
        return Some(py);
    }
    missing(
        "c2pa-python is not installed: run interop/c2pa-python/venv.sh and set SIG_SHARE_C2PA_PYTHON to the path it prints",
    )
}

/// SoftHSM2's PKCS#11 module, for the tests of keys held in a token: present when the module and
/// `softhsm2-util` (which initialises the test tokens) are both installed (Debian package
/// `softhsm2`). Missing, it fails the test under CI and skips it, loudly, elsewhere.
pub fn softhsm2_module() -> Option<PathBuf> {
    let candidates = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"];
    let module = candidates.iter().map(PathBuf::from).find(|p| p.is_file());
    let util = std::process::Command::new("softhsm2-util").arg("--version").output().is_ok_and(|o| o.status.success());
    if let (Some(module), true) = (module, util) {
        return Some(module);
    }
    missing("SoftHSM2 is not installed: install it with `apt-get install -y softhsm2`")
}

/// The browser test harness: `interop/browser` with playwright-core installed and Debian's
/// Chromium (`interop/browser/install.sh`). Missing, it fails the test under CI and skips it,
/// loudly, elsewhere.
pub fn browser() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/browser");
    let chromium = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if dir.join("node_modules/playwright-core").is_dir() && chromium.is_file() {
        return Some(dir);
    }
    missing("the browser harness is not installed: run interop/browser/install.sh")
}

/// The verification page's built WebAssembly verifier (`scripts/build-web`): `$SIG_SHARE_WEB_PKG`,
/// else `web/pkg` in the checkout. Missing, it fails the test under CI and skips it, loudly,
/// elsewhere.
pub fn web_pkg() -> Option<PathBuf> {
    let dir = std::env::var_os("SIG_SHARE_WEB_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/pkg"));
    if dir.join("sig_share_web_bg.wasm").is_file() {
        return Some(dir);
    }
    missing(&format!("the page's verifier is not built at {} (run scripts/build-web)", dir.display()))
}
