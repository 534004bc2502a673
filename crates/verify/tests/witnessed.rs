//! A trust config's witness policy: checkpoints of the logs it covers must carry cosignatures
//! meeting its quorum, or verification refuses and names the missing witnesses.

use sig_share_tlog::{Checkpoint, Ed25519Signer, Hash, Note};
use sig_share_verify::tlog::{self, InclusionError};
use sig_share_verify::trust::{TRUSTED_ROOT_MEDIA_TYPE, TrustedRoot, WitnessPolicy};

const NOW: i64 = 1_800_000_000;

fn witness(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(&format!("w{n}.example"), &[n; 32]).unwrap()
}

fn log() -> Ed25519Signer {
    Ed25519Signer::from_seed("log.example", &[9; 32]).unwrap()
}

fn root(policy: &str) -> TrustedRoot {
    TrustedRoot {
        media_type: TRUSTED_ROOT_MEDIA_TYPE.into(),
        tlogs: vec![],
        certificate_authorities: vec![],
        ctlogs: vec![],
        timestamp_authorities: vec![],
        witnesses: Some(WitnessPolicy::parse(policy).unwrap()),
    }
}

fn policy(log_line: bool) -> String {
    let mut s = String::new();
    if log_line {
        s.push_str(&format!("log {}\n", log().verifier().vkey()));
    }
    for n in 1..=3 {
        s.push_str(&format!("witness W{n} {}\n", witness(n).cosigner_verifier().vkey()));
    }
    s + "group g 2 W1 W2 W3\nquorum g\n"
}

fn checkpoint(origin: &str, cosigners: &[u8]) -> (Checkpoint, Note) {
    let cp = Checkpoint::new(origin, 10, Hash::leaf(b"x"));
    let mut note = cp.sign(&Ed25519Signer::from_seed(origin, &[9; 32]).unwrap());
    for &n in cosigners {
        note.push_signature(witness(n).cosign(NOW as u64 - 5, note.text()));
    }
    (cp, note)
}

#[test]
fn the_quorum_is_required_and_the_missing_witnesses_are_named() {
    let root = root(&policy(true));
    let (cp, note) = checkpoint("log.example", &[1, 3]);
    assert_eq!(tlog::witnessed(&root, &cp, note, NOW).unwrap().as_deref(), Some("witnessed by 2 of 3"));
    let (cp, note) = checkpoint("log.example", &[2]);
    match tlog::witnessed(&root, &cp, note, NOW) {
        Err(e @ InclusionError::Unwitnessed { .. }) => {
            let text = e.to_string();
            assert!(text.contains("witnessed by 1 of 3") && text.contains("missing: W1, W3"), "{text}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_policy_naming_logs_covers_only_those() {
    let root = root(&policy(true));
    let (cp, note) = checkpoint("other-log.example", &[]);
    assert_eq!(tlog::witnessed(&root, &cp, note, NOW).unwrap(), None);
    // Without log lines, it covers every log.
    let root = self::root(&policy(false));
    let (cp, note) = checkpoint("other-log.example", &[]);
    assert!(tlog::witnessed(&root, &cp, note, NOW).is_err());
}

#[test]
fn a_forged_or_future_cosignature_refuses() {
    let root = root(&policy(true));
    let (cp, mut note) = checkpoint("log.example", &[1, 2]);
    let mut bad = witness(3).cosign(NOW as u64, note.text());
    bad.signature[30] ^= 1;
    note.push_signature(bad);
    assert!(matches!(tlog::witnessed(&root, &cp, note, NOW), Err(InclusionError::Cosignature(..))));
    let (cp, mut note) = checkpoint("log.example", &[1]);
    note.push_signature(witness(2).cosign(NOW as u64 + 2 * 3600, note.text()));
    assert!(matches!(tlog::witnessed(&root, &cp, note, NOW), Err(InclusionError::Cosignature(..))));
}
