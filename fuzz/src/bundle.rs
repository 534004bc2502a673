//! The verifier (`bundle_verify` target): a sigstore bundle as `sig-share verify` and the
//! verification page read it, then the whole verification against a fixed trusted root.
//!
//! The fixture (`fixtures/bundle/`) is what `sig-share demo --keep DIR` made with this project's
//! own stack: the trust config its stack published, the sample file it signed, and that file's
//! bundle (also the target's first seed). The setup checks the fixture verifies, so a target
//! whose fixture went stale fails at once rather than fuzzing only the error paths.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::verdict::{self, Artifact, Signer, Verified};
use sig_share_verify::{ClientTrustConfig, TrustedRoot};

const TRUST_CONFIG: &str = include_str!("../fixtures/bundle/trust_config.json");
const ARTIFACT: &[u8] = include_bytes!("../fixtures/bundle/sample.txt");
const BUNDLE: &[u8] = include_bytes!("../fixtures/bundle/sample.txt.sigstore.json");

/// The verifier's clock: fixed, after the fixture was made.
pub const NOW: i64 = 1_900_000_000;

pub struct BundleFixture {
    root: TrustedRoot,
    sha256: [u8; 32],
    /// Who signed the fixture, as its verification established.
    identity: String,
    issuer: String,
    any_signer: Policy,
    the_signer: Policy,
    someone_else: Policy,
}

pub fn bundle_fixture() -> &'static BundleFixture {
    static F: OnceLock<BundleFixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = ClientTrustConfig::from_json(TRUST_CONFIG).expect("the fixture's trust config").trusted_root;
        let sha256: [u8; 32] = Sha256::digest(ARTIFACT).into();
        let any_signer = Policy::Identity {
            identity: Matcher::regex(".*").expect("regex"),
            issuer: Matcher::regex(".*").expect("regex"),
        };
        let bundle = Bundle::from_json(BUNDLE).expect("the fixture's bundle parses");
        let ok = verdict::verify(&bundle, &Artifact::from_sha256(sha256), &any_signer, &root, NOW)
            .expect("the fixture's bundle verifies: remake fuzz/fixtures/bundle (see fuzz/README.md)");
        let Signer::Identity { identity, issuer, .. } = ok.signer else { panic!("the fixture is keyless") };
        let the_signer =
            Policy::Identity { identity: Matcher::Exact(identity.clone()), issuer: Matcher::Exact(issuer.clone()) };
        let someone_else = Policy::Identity {
            identity: Matcher::Exact(format!("x{identity}")),
            issuer: Matcher::Exact(issuer.clone()),
        };
        BundleFixture { root, sha256, identity, issuer, any_signer, the_signer, someone_else }
    })
}

/// The seeds: the fixture's bundle, and the same re-serialised (field order, no whitespace).
pub fn bundle_seeds() -> Vec<Vec<u8>> {
    let bundle = Bundle::from_json(BUNDLE).expect("the fixture's bundle parses");
    vec![BUNDLE.to_vec(), serde_json::to_vec(&bundle).expect("serialises")]
}

/// Everything the `bundle_verify` target checks for one input.
pub fn check_bundle(data: &[u8]) {
    let f = bundle_fixture();
    let Ok(bundle) = Bundle::from_json(data) else { return };
    // What the verifier parsed is what it would write back.
    let again = serde_json::to_vec(&bundle).expect("a parsed bundle serialises");
    assert_eq!(Bundle::from_json(&again).expect("a serialised bundle parses"), bundle);

    let artifact = Artifact::from_sha256(f.sha256);
    let with_bytes = Artifact::from_bytes(ARTIFACT);
    let results = [
        verdict::verify(&bundle, &artifact, &f.any_signer, &f.root, NOW),
        verdict::verify(&bundle, &with_bytes, &f.the_signer, &f.root, NOW),
        verdict::verify_logged(&bundle, &artifact, &f.any_signer, &f.root, NOW),
    ];
    for v in results.iter().flatten() {
        check_verified(f, v);
    }
    // Never green for another artifact, nor for another signer.
    let other = Artifact::from_sha256(Sha256::digest([ARTIFACT, b"x"].concat()).into());
    if let Ok(v) = verdict::verify(&bundle, &other, &f.any_signer, &f.root, NOW) {
        panic!("a bundle verified for an artifact nobody signed: {v:?}");
    }
    if let Ok(v) = verdict::verify_logged(&bundle, &other, &f.any_signer, &f.root, NOW) {
        panic!("a bundle verified (logged) for an artifact nobody signed: {v:?}");
    }
    if let Ok(v) = verdict::verify(&bundle, &artifact, &f.someone_else, &f.root, NOW) {
        panic!("a bundle verified for a signer who never signed: {v:?}");
    }
}

/// What a green verdict may say: the fixture's signer, a trusted time and a logged entry.
fn check_verified(f: &BundleFixture, v: &Verified) {
    match &v.signer {
        Signer::Identity { identity, issuer, .. } => {
            assert_eq!(identity, &f.identity, "a bundle verified for another identity");
            assert_eq!(issuer, &f.issuer, "a bundle verified for another issuer");
        }
        Signer::Key { .. } => panic!("a keyless policy accepted a managed key: {v:?}"),
    }
    assert!(!v.times.is_empty(), "a green verdict with no trusted time");
    assert!(!v.log_entries.is_empty(), "a green verdict with no log entry");
    assert!(v.scts >= 1, "a green keyless verdict with no SCT");
}
