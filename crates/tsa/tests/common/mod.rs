//! Shared by the integration tests: a TSA with a known root, request builders, response readers.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cms::signed_data::SignedData;
use der::Decode;
use der::asn1::Int;
use sig_share_pki::x509_cert::Certificate;
use sig_share_pki::x509_cert::name::Name;
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use sig_share_tsa::asn1::{TimeStampReq, TimeStampResp, TstInfo};
use sig_share_tsa::{DEVELOPMENT_POLICY, TimestampAuthority};

pub const HOUR: Duration = Duration::from_secs(3600);

/// A TSA and the root that issued it.
pub struct Fixture {
    pub tsa: Arc<TimestampAuthority>,
    pub root: Certificate,
    pub root_key: SoftwareKey,
    pub leaf: Certificate,
}

/// A TSA with a `tsa_alg` key under a `root_alg` root, valid for a day around now.
pub fn fixture(root_alg: KeyAlgorithm, tsa_alg: KeyAlgorithm) -> Fixture {
    let now = SystemTime::now();
    let root_key = SoftwareKey::generate(root_alg).unwrap();
    let root = sig_share_pki::self_signed_ca(
        &root_key,
        "CN=sig-share test TSA root,O=sig-share".parse().unwrap(),
        now - 24 * HOUR,
        now + 24 * HOUR,
    )
    .unwrap();
    let tsa_key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(tsa_alg).unwrap());
    let subject: Name = "CN=sig-share test TSA".parse().unwrap();
    let tsa = TimestampAuthority::development(
        &root_key,
        root.clone(),
        tsa_key,
        subject,
        now - 12 * HOUR,
        now + 12 * HOUR,
        DEVELOPMENT_POLICY,
    )
    .unwrap();
    let leaf = tsa.chain()[0].clone();
    Fixture { tsa: Arc::new(tsa), root, root_key, leaf }
}

pub fn p256() -> Fixture {
    fixture(KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP256Sha256)
}

/// A DER request over `digest` (SHA-256 unless its length says otherwise).
pub fn der_request(digest: &[u8], nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
    let req = TimeStampReq::over(digest, nonce.map(|n| Int::new(n).unwrap()), cert_req).unwrap();
    der::Encode::to_der(&req).unwrap()
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

/// The response, its SignedData and its TSTInfo (with the TSTInfo's DER).
pub fn read_token(der: &[u8]) -> (TimeStampResp, SignedData, TstInfo, Vec<u8>) {
    let resp = TimeStampResp::from_der(der).unwrap();
    let signed = resp.signed_data().unwrap().expect("a token");
    let (tst, tst_der) = resp.tst_info().unwrap().expect("a TSTInfo");
    (resp, signed, tst, tst_der)
}

/// `openssl`, or `None` (skip) outside CI; under `CI=true` a missing OpenSSL fails the test.
pub fn openssl() -> Option<&'static str> {
    if Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success()) {
        return Some("openssl");
    }
    if ci() {
        panic!("openssl is required under CI");
    }
    eprintln!("SKIPPING: openssl not found");
    None
}

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Runs a command in `dir`; returns (success, stdout + stderr).
pub fn run(bin: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(bin).args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs a command that must succeed; returns its output.
pub fn run_ok(bin: &str, args: &[&str], dir: &Path) -> String {
    let (ok, text) = run(bin, args, dir);
    assert!(ok, "{bin} {args:?} failed:\n{text}");
    text
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
