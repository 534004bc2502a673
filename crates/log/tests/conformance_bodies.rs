//! Entry bodies written by the real Rekor v2 (in the sigstore conformance bundles): rebuilding
//! the request from each and passing it through our write path must verify its real signature
//! and reproduce the stored body byte for byte, since sigstore-go recomputes it.

use std::fs;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sig_share_log::rekor;
use sig_share_testdata::vectors;

#[test]
fn rekor_v2_bodies_are_reproduced_byte_for_byte() {
    let Some(dir) = vectors("sigstore-conformance/bundle-verify") else { return };
    let (mut reproduced, mut refused) = (Vec::new(), Vec::new());
    for case in fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        let Ok(text) = fs::read_to_string(case.join("bundle.sigstore.json")) else { continue };
        let Ok(bundle) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        for e in bundle["verificationMaterial"]["tlogEntries"].as_array().into_iter().flatten() {
            if e["kindVersion"] != serde_json::json!({"kind": "hashedrekord", "version": "0.0.2"}) {
                continue;
            }
            let stored = STANDARD.decode(e["canonicalizedBody"].as_str().unwrap()).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&stored).unwrap();
            let spec = &body["spec"]["hashedRekordV002"];
            let request = serde_json::json!({"hashedRekordRequestV002": {
                "digest": spec["data"]["digest"],
                "signature": spec["signature"],
            }});
            match rekor::verify_request(request.to_string().as_bytes()) {
                Ok(entry) => {
                    assert_eq!(
                        String::from_utf8_lossy(&entry.body),
                        String::from_utf8_lossy(&stored),
                        "{name}: body differs"
                    );
                    assert_eq!(rekor::key_of_body(&stored), Some(entry.key));
                    reproduced.push(name.clone());
                }
                Err(err) => refused.push(format!("{name}: {err}")),
            }
        }
    }
    eprintln!("reproduced {} Rekor v2 bodies; refused: {refused:?}", reproduced.len());
    assert!(reproduced.len() >= 20, "only {} bodies reproduced", reproduced.len());
    // Only cases built to fail may carry a body whose signature does not verify.
    for r in &refused {
        assert!(r.split(':').next().unwrap().ends_with("_fail"), "refused a valid case's entry: {r}");
    }
}
