//! The models read what sigstore writes: every trusted root and signing config in the sigstore
//! conformance suite (public-good's and the per-case ones), and every bundle in it.

use std::fs;

use sig_share_verify::bundle::{Bundle, BundleError, BundleVersion};
use sig_share_verify::trust::{SigningConfig, TrustedRoot};

#[test]
fn every_conformance_trusted_root_and_signing_config_parses() {
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let mut roots = vec![dir.join("trust/public-good.trusted_root.json"), dir.join("trust/staging.trusted_root.json")];
    for case in fs::read_dir(dir.join("bundle-verify")).unwrap() {
        let path = case.unwrap().path().join("trusted_root.json");
        if path.exists() {
            roots.push(path);
        }
    }
    assert!(roots.len() >= 30, "{} trusted roots", roots.len());
    for path in &roots {
        let case =
            path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match TrustedRoot::from_json(&fs::read_to_string(path).unwrap()) {
            Ok(root) => assert!(!root.tlogs.is_empty() || !root.certificate_authorities.is_empty(), "{case}"),
            // A root without a validity start is unusable, and refused before anything trusts it.
            Err(e) if case == "trust-root-tlog-missing-validity-start_fail" => {
                assert!(e.to_string().contains("start"), "{e}")
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    let public_good = TrustedRoot::from_json(&fs::read_to_string(&roots[0]).unwrap()).unwrap();
    // Public good: Rekor v1 and the log2025-1 Rekor v2 shard, two Fulcio CAs, CT logs, a TSA.
    assert!(public_good.tlogs.iter().any(|t| t.base_url.contains("log2025-1")), "{:?}", public_good.tlogs);
    assert!(public_good.certificate_authorities.len() >= 2);
    assert!(!public_good.ctlogs.is_empty() && !public_good.timestamp_authorities.is_empty());

    let signing =
        SigningConfig::from_json(&fs::read_to_string(dir.join("trust/public-good.signing_config.v0.2.json")).unwrap())
            .unwrap();
    assert!(!signing.ca_urls.is_empty() && !signing.rekor_tlog_urls.is_empty());
}

#[test]
fn every_conformance_bundle_parses_or_is_refused_for_its_shape() {
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance/bundle-verify") else { return };
    let mut parsed = 0;
    let mut versions = std::collections::BTreeSet::new();
    for case in fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let path = case.join("bundle.sigstore.json");
        if !path.exists() {
            continue;
        }
        match Bundle::from_json(&fs::read(&path).unwrap()) {
            Ok(bundle) => {
                parsed += 1;
                versions.insert(bundle.version().unwrap());
                let m = &bundle.verification_material;
                assert!(bundle.signing_certificate().is_some() || m.public_key.is_some(), "{name}");
                for entry in &m.tlog_entries {
                    assert!(!entry.canonicalized_body.is_empty(), "{name}");
                }
            }
            // Only cases the suite expects to fail may be refused while parsing.
            Err(e) => {
                assert!(name.ends_with("_fail"), "{name} should parse: {e}");
                if name == "bundle-malformed-json_fail" {
                    assert!(matches!(e, BundleError::Malformed(_)), "{e}");
                }
            }
        }
    }
    assert!(parsed >= 50, "{parsed} bundles parsed");
    assert_eq!(
        versions.into_iter().collect::<Vec<_>>(),
        [BundleVersion::V0_1, BundleVersion::V0_2, BundleVersion::V0_3]
    );
}

#[test]
fn proto3_defaults_left_out_are_read_as_defaults() {
    // What sigstore-js writes for the first entry of a log: no logIndex, no hashes.
    let bundle = br#"{
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": "MAA="}]},
            "tlogEntries": [{
                "logId": {"keyId": "AAAA"},
                "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
                "inclusionProof": {"rootHash": "AAAA", "treeSize": "1", "checkpoint": {"envelope": "x\n"}},
                "canonicalizedBody": "e30="
            }]
        },
        "messageSignature": {"signature": "AAAA"}
    }"#;
    let parsed = Bundle::from_json(bundle).unwrap();
    let entry = &parsed.verification_material.tlog_entries[0];
    assert_eq!((entry.log_index, entry.integrated_time), (0, 0));
    let proof = entry.inclusion_proof.as_ref().unwrap();
    assert_eq!((proof.log_index, proof.tree_size, proof.hashes.len()), (0, 1, 0));
}

#[test]
fn bundles_of_the_wrong_shape_are_refused() {
    let base = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": "MAA="}},
        "messageSignature": {"signature": "AAAA"}
    });
    assert!(Bundle::from_json(base.to_string().as_bytes()).is_ok());
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut b = base.clone();
        f(&mut b);
        Bundle::from_json(b.to_string().as_bytes()).unwrap_err()
    };
    assert_eq!(
        with(&|b| b["mediaType"] = "application/json".into()),
        BundleError::MediaType("application/json".into())
    );
    assert_eq!(
        with(&|b| b["dsseEnvelope"] = serde_json::json!({"payload": "", "payloadType": "x", "signatures": []})),
        BundleError::Content
    );
    assert_eq!(
        with(&|b| b["verificationMaterial"]["publicKey"] = serde_json::json!({"hint": "k"})),
        BundleError::Material
    );
    assert_eq!(
        with(&|b| {
            b["verificationMaterial"] =
                serde_json::json!({"x509CertificateChain": {"certificates": [{"rawBytes": "MAA="}]}})
        }),
        BundleError::ChainInV03
    );
    assert!(matches!(with(&|b| b["messageSignature"]["signature"] = "!!".into()), BundleError::Malformed(_)));
    assert!(matches!(
        with(&|b| b["verificationMaterial"]["tlogEntries"] = serde_json::json!([{"logIndex": "-1"}])),
        BundleError::Malformed(_)
    ));
}

/// The Rekor v2 cases of the conformance suite: their log entries prove into a checkpoint signed
/// by the log their trusted root names (cosignatures and second signatures from the origin are
/// fine), and every case about the checkpoint or the proof is refused.
#[test]
fn rekor_v2_inclusion_and_checkpoints_as_the_conformance_suite_judges_them() {
    use sig_share_verify::tlog::verify_inclusion;
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance/bundle-verify") else { return };
    let must_fail = [
        "rekor2-checkpoint-missing-log-signature_fail",
        "rekor2-checkpoint-missing-origin_fail",
        "rekor2-checkpoint-missing-root-hash_fail",
        "rekor2-checkpoint-missing-size_fail",
        "rekor2-checkpoint-no-matching-signature_fail",
        "rekor2-no-inclusion-proof_fail",
    ];
    let (mut verified, mut refused) = (0, 0);
    for case in fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("rekor2-") {
            continue;
        }
        let root = TrustedRoot::from_json(&fs::read_to_string(case.join("trusted_root.json")).unwrap()).unwrap();
        let bundle = Bundle::from_json(&fs::read(case.join("bundle.sigstore.json")).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let entry = &bundle.verification_material.tlog_entries[0];
        let result = verify_inclusion(entry, &root, 0);
        // The checkpoint alone, as the log explorer checks the one a log serves.
        let checkpoint = entry
            .inclusion_proof
            .as_ref()
            .and_then(|p| p.checkpoint.as_ref())
            .map(|c| sig_share_verify::tlog::verify_checkpoint(&c.envelope, &root, 0));
        if must_fail.contains(&name.as_str()) {
            assert!(result.is_err(), "{name} must be refused");
            if name != "rekor2-no-inclusion-proof_fail" {
                assert!(checkpoint.unwrap().is_err(), "{name}: its checkpoint must be refused");
            }
            refused += 1;
        } else if !name.ends_with("_fail") {
            let inclusion = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(inclusion.index, entry.log_index, "{name}");
            let checked = checkpoint.unwrap().unwrap_or_else(|e| panic!("{name}: its checkpoint: {e}"));
            assert_eq!(
                (checked.size, checked.origin.as_str()),
                (inclusion.tree_size, inclusion.origin.as_str()),
                "{name}"
            );
            assert!(checked.signatures.iter().any(|(_, _, trusted)| *trusted), "{name}");
            verified += 1;
        }
    }
    assert_eq!(refused, must_fail.len());
    assert!(verified >= 7, "{verified} Rekor v2 cases verified");
}

/// The Rekor v1 cases against public-good's trusted root: their entries prove into checkpoints
/// signed with the Rekor v1 shard's ECDSA key (signed-note's ECDSA type), and the cases about a
/// bad checkpoint signature, a wrong key hint, a corrupted proof hash or a proof without a
/// checkpoint are refused.
#[test]
fn rekor_v1_inclusion_and_ecdsa_checkpoints_against_public_good() {
    use sig_share_verify::tlog::verify_inclusion;
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let root =
        TrustedRoot::from_json(&fs::read_to_string(dir.join("trust/public-good.trusted_root.json")).unwrap()).unwrap();
    let entry = |case: &str| {
        let bundle =
            Bundle::from_json(&fs::read(dir.join("bundle-verify").join(case).join("bundle.sigstore.json")).unwrap())
                .unwrap_or_else(|e| panic!("{case}: {e}"));
        bundle.verification_material.tlog_entries[0].clone()
    };
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.2",
        "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType",
        "happy-path-intoto-in-dsse-v3",
    ] {
        let e = entry(case);
        let inclusion = verify_inclusion(&e, &root, 0).unwrap_or_else(|err| panic!("{case}: {err}"));
        assert!(inclusion.origin.starts_with("rekor.sigstore.dev - "), "{case}: {}", inclusion.origin);
        // Rekor v1 numbers entries across its shards; the proof is for the index in this shard.
        assert_eq!(inclusion.index, e.inclusion_proof.as_ref().unwrap().log_index, "{case}");
    }
    for case in [
        "invalid-checkpoint-signature_fail",
        "invalid-inclusion-proof_fail",
        "inclusion-proof-corrupted-hash_fail",
        "checkpoint-bad-keyhint_fail",
    ] {
        assert!(verify_inclusion(&entry(case), &root, 0).is_err(), "{case} must be refused");
    }
}

/// Rekor v1 inclusion promises (SETs): every bundle of the suite that carries one under
/// public-good's root verifies, except a forged promise, an entry altered after logging and a
/// bundle from another instance.
#[test]
fn rekor_v1_inclusion_promises() {
    use sig_share_verify::tlog::{PromiseError, verify_promise};
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let root =
        TrustedRoot::from_json(&fs::read_to_string(dir.join("trust/public-good.trusted_root.json")).unwrap()).unwrap();
    let mut verified = 0;
    for case in fs::read_dir(dir.join("bundle-verify")).unwrap() {
        let case = case.unwrap().path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if case.join("trusted_root.json").exists() {
            continue;
        }
        let Ok(bundle) = Bundle::from_json(&fs::read(case.join("bundle.sigstore.json")).unwrap_or_default()) else {
            continue;
        };
        let Some(entry) = bundle.verification_material.tlog_entries.first() else { continue };
        if entry.inclusion_promise.is_none() {
            continue;
        }
        match (name.as_str(), verify_promise(entry, &root)) {
            // A forged promise, and an entry body altered after logging (its public key).
            ("set-invalid-signature_fail" | "incorrect-public-key_fail", result) => {
                assert_eq!(result, Err(PromiseError::Signature), "{name}")
            }
            // Signed by another instance's log, unknown to public-good's root.
            ("bundle-from-wrong-instance_fail", result) => assert!(result.is_err(), "{name}"),
            (_, result) => {
                assert_eq!(result.unwrap_or_else(|e| panic!("{name}: {e}")), entry.integrated_time);
                verified += 1;
            }
        }
    }
    assert!(verified >= 15, "{verified} promises verified");
}
