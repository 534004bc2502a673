//! The whole verdict on bundles we did not write (the sigstore conformance suite's), and on
//! each of them tampered with in one place: the verdict must fail, naming that place.

use sha2::{Digest, Sha256};
use sig_share_verify::TrustedRoot;
use sig_share_verify::bundle::Bundle;
use sig_share_verify::certificate::CertificateError;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::tlog::{InclusionError, PromiseError};
use sig_share_verify::verdict::{self, Artifact, Signer, TimeSource, VerifyError};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Well after every bundle here was made.
const NOW: i64 = 1_800_000_000;

struct Case {
    bundle: Bundle,
    root: TrustedRoot,
    sha256: [u8; 32],
}

fn case(name: &str) -> Option<Case> {
    let base = sig_share_testdata::vectors("sigstore-conformance")?;
    let dir = base.join("bundle-verify").join(name);
    let root_path = if dir.join("trusted_root.json").exists() {
        dir.join("trusted_root.json")
    } else {
        base.join("trust/public-good.trusted_root.json")
    };
    let root = TrustedRoot::from_json(&std::fs::read_to_string(root_path).unwrap()).unwrap();
    let bundle = Bundle::from_json(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    let sha256 = Sha256::digest(std::fs::read(base.join("a.txt")).unwrap()).into();
    Some(Case { bundle, root, sha256 })
}

fn policy() -> Policy {
    Policy::Identity { identity: Matcher::Exact(IDENTITY.into()), issuer: Matcher::Exact(ISSUER.into()) }
}

fn check(c: &Case, bundle: &Bundle, policy: &Policy) -> Result<verdict::Verified, VerifyError> {
    verdict::verify(bundle, &Artifact::from_sha256(c.sha256), policy, &c.root, NOW)
}

fn flip_last(bytes: &mut [u8]) {
    let n = bytes.len();
    bytes[n - 2] ^= 0x01;
}

#[test]
fn a_rekor_v2_bundle_verifies_and_every_tampering_is_named() {
    let Some(c) = case("rekor2-timestamp-with-embedded-cert") else { return };
    let ok = check(&c, &c.bundle, &policy()).unwrap();
    assert!(
        matches!(&ok.signer, Signer::Identity { identity, issuer, .. } if identity == IDENTITY && issuer == ISSUER)
    );
    assert!(matches!(ok.times.as_slice(), [t] if matches!(t.source, TimeSource::Timestamp(_))));
    assert_eq!(ok.log_entries.len(), 1);
    assert!(ok.log_entries[0].tree_size > ok.log_entries[0].index);
    assert!(ok.scts >= 1);

    // The artifact.
    let other =
        Case { sha256: Sha256::digest(b"not a.txt").into(), ..case("rekor2-timestamp-with-embedded-cert").unwrap() };
    let e = check(&other, &c.bundle, &policy()).unwrap_err();
    assert!(
        matches!(e, VerifyError::ArtifactMismatch { .. } | VerifyError::Signature { what: "the artifact", .. }),
        "{e}"
    );

    // The signature.
    let mut b = c.bundle.clone();
    flip_last(&mut b.message_signature.as_mut().unwrap().signature);
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature { .. }), "{e}");

    // The certificate: one bit of the CA's signature over it.
    let mut b = c.bundle.clone();
    flip_last(&mut b.verification_material.certificate.as_mut().unwrap().raw_bytes);
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Certificate(CertificateError::BadSignature { .. })), "{e}");

    // The time stamp.
    let mut b = c.bundle.clone();
    let stamps = &mut b.verification_material.timestamp_verification_data.as_mut().unwrap().rfc3161_timestamps;
    flip_last(&mut stamps[0].signed_timestamp);
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Timestamp(_)), "{e}");

    // No time stamp: nothing says when, so the ten-minute certificate cannot be judged.
    let mut b = c.bundle.clone();
    b.verification_material.timestamp_verification_data = None;
    assert_eq!(check(&c, &b, &policy()).unwrap_err(), VerifyError::NoTrustedTime);

    // The inclusion proof.
    let mut b = c.bundle.clone();
    let proof = b.verification_material.tlog_entries[0].inclusion_proof.as_mut().unwrap();
    proof.hashes[0][0] ^= 0x80;
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Inclusion(InclusionError::Proof(_))), "{e}");

    // The checkpoint: another tree size under the log's signature.
    let mut b = c.bundle.clone();
    let proof = b.verification_material.tlog_entries[0].inclusion_proof.as_mut().unwrap();
    let cp = &mut proof.checkpoint.as_mut().unwrap().envelope;
    let size = proof.tree_size.to_string();
    *cp = cp.replacen(&format!("\n{size}\n"), &format!("\n{}\n", proof.tree_size + 1), 1);
    proof.tree_size += 1;
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Inclusion(InclusionError::Signature(..))), "{e}");

    // The log entry's body: it must record this signing, whatever its proof says.
    let mut b = c.bundle.clone();
    let body = &mut b.verification_material.tlog_entries[0].canonicalized_body;
    let text = String::from_utf8(body.clone()).unwrap().replace("SHA2_256", "SHA2_384");
    *body = text.into_bytes();
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Entry(_)), "{e}");

    // The identity and the issuer.
    let e = check(
        &c,
        &c.bundle,
        &Policy::Identity {
            identity: Matcher::Exact("someone@else.example".into()),
            issuer: Matcher::Exact(ISSUER.into()),
        },
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::Identity { .. }), "{e}");
    let e = check(
        &c,
        &c.bundle,
        &Policy::Identity {
            identity: Matcher::regex(r"https://github\.com/sigstore-conformance/.*").unwrap(),
            issuer: Matcher::Exact("https://accounts.google.com".into()),
        },
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::Issuer { .. }), "{e}");

    // A keyless bundle checked against a key is refused, not waved through.
    let base = sig_share_testdata::vectors("sigstore-conformance").unwrap();
    let key = std::fs::read_to_string(base.join("bundle-verify/managed-key-and-trusted-root/key.pub")).unwrap();
    let e = check(&c, &c.bundle, &Policy::key_from_pem(&key).unwrap()).unwrap_err();
    assert!(matches!(e, VerifyError::Material(_)), "{e}");
}

#[test]
fn a_rekor_v1_bundle_verifies_and_its_promise_and_proof_are_checked() {
    let Some(c) = case("happy-path-v0.3") else { return };
    let ok = check(&c, &c.bundle, &policy()).unwrap();
    assert!(matches!(ok.times.as_slice(), [t] if matches!(t.source, TimeSource::Log(_))));

    // The promise: another integrated time is not what the log signed.
    let mut b = c.bundle.clone();
    b.verification_material.tlog_entries[0].integrated_time += 1;
    let e = check(&c, &b, &policy()).unwrap_err();
    assert_eq!(e, VerifyError::Promise(PromiseError::Signature));

    // A verifier whose clock says the entry is from the future refuses it.
    let integrated = i64::try_from(c.bundle.verification_material.tlog_entries[0].integrated_time).unwrap();
    let e =
        verdict::verify(&c.bundle, &Artifact::from_sha256(c.sha256), &policy(), &c.root, integrated - 60).unwrap_err();
    assert!(matches!(e, VerifyError::TimeInFuture(_)), "{e}");

    // The proof's root.
    let mut b = c.bundle.clone();
    b.verification_material.tlog_entries[0].inclusion_proof.as_mut().unwrap().root_hash[0] ^= 1;
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Inclusion(_)), "{e}");

    // No entry at all.
    let mut b = c.bundle.clone();
    b.verification_material.tlog_entries.clear();
    assert_eq!(check(&c, &b, &policy()).unwrap_err(), VerifyError::NoLogEntry);
}

#[test]
fn a_dsse_bundle_is_checked_against_its_statement_s_subject() {
    let Some(c) = case("rekor2-dsse-happy-path") else { return };
    let ok = check(&c, &c.bundle, &policy()).unwrap();
    assert_eq!(ok.payload_type.as_deref(), Some("application/vnd.in-toto+json"));
    let other = Case { sha256: [7; 32], ..case("rekor2-dsse-happy-path").unwrap() };
    let e = check(&other, &c.bundle, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::SubjectMismatch(_)), "{e}");
    let mut b = c.bundle.clone();
    b.dsse_envelope.as_mut().unwrap().payload.push(b' ');
    let e = check(&c, &b, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Signature { what: "the DSSE envelope", .. }), "{e}");
}

#[test]
fn managed_key_bundles_need_the_key() {
    let Some(base) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let Some(c) = case("managed-key-and-trusted-root") else { return };
    let key = std::fs::read_to_string(base.join("bundle-verify/managed-key-and-trusted-root/key.pub")).unwrap();
    let ok = check(&c, &c.bundle, &Policy::key_from_pem(&key).unwrap()).unwrap();
    assert!(matches!(ok.signer, Signer::Key { .. }));
    let e = check(&c, &c.bundle, &policy()).unwrap_err();
    assert!(matches!(e, VerifyError::Material(_)), "{e}");
}
