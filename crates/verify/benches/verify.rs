//! One bundle verified in-process, artifact already hashed: everything `sig-share verify` does
//! after hashing (parse, certificate path, SCT, time stamp or promise, inclusion proof and
//! checkpoint, entry body, signature, policy). Goal: under 1 ms.
//!
//! Bundles from the sigstore conformance suite (read in place from ../shared/vectors): a Rekor v1
//! bundle (SET + inclusion proof under an ECDSA checkpoint, public-good root) and a Rekor v2 one
//! (RFC 3161 time stamp + inclusion proof under an Ed25519 checkpoint).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::verdict::{self, Artifact};
use sig_share_verify::{Bundle, TrustedRoot};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn bench(c: &mut Criterion) {
    let Some(base) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let artifact = std::fs::read(base.join("a.txt")).unwrap();
    let sha256: [u8; 32] = Sha256::digest(&artifact).into();
    let policy = Policy::Identity { identity: Matcher::Exact(IDENTITY.into()), issuer: Matcher::Exact(ISSUER.into()) };
    let now = 1_800_000_000;
    for (name, case) in [
        ("rekor_v1_set_and_proof", "happy-path-v0.3"),
        ("rekor_v2_timestamp_and_proof", "rekor2-timestamp-with-embedded-cert"),
    ] {
        let dir = base.join("bundle-verify").join(case);
        if !dir.is_dir() {
            continue;
        }
        let root_path = if dir.join("trusted_root.json").exists() {
            dir.join("trusted_root.json")
        } else {
            base.join("trust/public-good.trusted_root.json")
        };
        let root = TrustedRoot::from_json(&std::fs::read_to_string(root_path).unwrap()).unwrap();
        let text = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
        let check = |text: &[u8]| {
            let bundle = Bundle::from_json(text).unwrap();
            verdict::verify(&bundle, &Artifact::from_sha256(sha256), &policy, &root, now)
        };
        check(&text).unwrap_or_else(|e| panic!("{case} does not verify: {e}"));
        c.bench_function(&format!("verify_bundle/{name}"), |b| b.iter(|| check(black_box(&text)).unwrap()));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
