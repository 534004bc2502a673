//! A photo signed by a local credential reads back Trusted against its root, and the same file
//! with one byte of its image data changed reads Invalid with the data hash named.

#[path = "support/credential.rs"]
mod credential;

use std::sync::Arc;

use credential::LocalCredential;
use serde_json::json;
use sig_share_media::{Anchors, Destination, EmbedRequest, Format, Intent, SourceType, State, embed, read};

/// The offset of a byte inside the JPEG's entropy-coded image data (after the last start of scan)
/// that can be changed without making or breaking a marker.
fn image_data_byte(jpeg: &[u8]) -> usize {
    let sos = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).expect("a start of scan");
    let header = usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    let (start, end) = (sos + 2 + header, jpeg.len() - 2);
    (start + (end - start) / 2..end)
        .find(|&i| jpeg[i - 1] != 0xFF && jpeg[i] != 0xFF && jpeg[i] ^ 1 != 0xFF)
        .expect("a plain byte of image data")
}

#[test]
fn signed_by_a_local_credential_reads_trusted_and_a_changed_byte_reads_invalid() {
    let Some(vectors) = sig_share_testdata::vectors("c2pa") else { return };
    // A photo with no manifest.
    let input = vectors.join("public-testfiles/adobe-20220124-A.jpg");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("signed.jpg");
    let (credential, root_pem) = LocalCredential::new();
    let anchors = Anchors { pem: root_pem };
    let bundle = json!({ "mediaType": "test" });
    let request = EmbedRequest {
        input: &input,
        format: Format::Jpeg,
        destination: Destination::Embedded(output.clone()),
        intent: Intent::Create(SourceType::DigitalCapture),
        provenance_bundle: &bundle,
        identity_assertion: true,
        creator: None,
        anchors: Some(&anchors),
    };
    let embedded = embed(&request, Arc::new(credential)).unwrap();
    assert_eq!(embedded.path, output);

    let report = read(&output, None, Some(&anchors)).unwrap();
    assert_eq!(report.state, State::Trusted, "{:?} {:?}", report.failures, report.informational);
    assert!(report.failure_codes().is_empty(), "{:?}", report.failure_codes());
    let manifest = &report.manifests[0];
    assert_eq!(manifest.provenance_bundle.as_ref(), Some(&bundle));
    assert_eq!(manifest.identities.len(), 1, "the CAWG identity assertion");
    assert_eq!(report.identity_codes, ["cawg.identity.well-formed"]);

    // Against another root, the same file is intact but vouched for by nobody.
    let other = Anchors { pem: LocalCredential::new().1 };
    let report = read(&output, None, Some(&other)).unwrap();
    assert_eq!(report.state, State::Valid, "{:?}", report.failure_codes());

    let mut bytes = std::fs::read(&output).unwrap();
    let at = image_data_byte(&bytes);
    bytes[at] ^= 1;
    let tampered = dir.path().join("tampered.jpg");
    std::fs::write(&tampered, &bytes).unwrap();
    let report = read(&tampered, None, Some(&anchors)).unwrap();
    assert_eq!(report.state, State::Invalid);
    assert!(report.failure_codes().contains(&"assertion.dataHash.mismatch"), "{:?}", report.failure_codes());
}
