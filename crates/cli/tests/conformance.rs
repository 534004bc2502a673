//! The sigstore conformance suite's `bundle-verify` cases, run through `sig-share verify-bundle`
//! exactly as the suite's own harness calls a client (`docs/cli_protocol.md`): each case once
//! with the artifact's path and once with `sha256:<hex>` of it. Valid cases must exit 0, `_fail`
//! cases must exit non-zero, and nothing may crash.

mod common;

use std::path::Path;

use common::sig_share;
use sha2::{Digest, Sha256};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

#[test]
fn every_conformance_case_is_judged_right_with_a_file_and_with_a_digest() {
    let Some(base) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let cases_dir = base.join("bundle-verify");
    let mut cases: Vec<_> =
        std::fs::read_dir(&cases_dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 56, "expected the 56 vendored cases, found {}", cases.len());

    let mut wrong = Vec::new();
    let mut judged = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let must_fail = name.ends_with("_fail");
        let artifact = if case.join("artifact").exists() { case.join("artifact") } else { base.join("a.txt") };
        let root = if case.join("trusted_root.json").exists() {
            case.join("trusted_root.json")
        } else {
            base.join("trust/public-good.trusted_root.json")
        };
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(std::fs::read(&artifact).unwrap())));
        let bundle = case.join("bundle.sigstore.json");
        let identity = read_trimmed(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into());
        for subject in [artifact.to_str().unwrap(), digest.as_str()] {
            let mut args = vec!["verify-bundle", "--bundle", bundle.to_str().unwrap()];
            let key = case.join("key.pub");
            if key.exists() {
                args.extend(["--key", key.to_str().unwrap()]);
            } else {
                args.extend(["--certificate-identity", &identity, "--certificate-oidc-issuer", &issuer]);
            }
            args.extend(["--trusted-root", root.to_str().unwrap(), subject]);
            let (code, _, stderr) = sig_share(&args);
            judged += 1;
            assert!(code == 0 || code == 1 || code == 2, "{name} ({subject}) crashed with exit {code}: {stderr}");
            let accepted = code == 0;
            let form = if subject.starts_with("sha256:") { "digest" } else { "file" };
            if accepted == must_fail {
                wrong.push(format!("{name} [{form}]: exit {code} {}", stderr.trim()));
            } else if must_fail {
                eprintln!("{name} [{form}] rejected: {}", stderr.trim());
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {judged} runs judged wrong:\n{}", wrong.len(), wrong.join("\n"));
}
