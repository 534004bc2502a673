//! Signing against the whole stack in this process: every part of the bundle is checked on its
//! own terms (the certificate names the token's email, the inclusion proof verifies against the
//! trusted root, the time stamp covers the signature, the signature covers the artifact), and
//! each failure names the service at fault.

mod common;

use std::time::Duration;

use der::{Decode, Encode};
use sig_share_sign::token::IdentityToken;
use sig_share_sign::{Service, SignError, Signed, SigningClient};
use sig_share_tsa::asn1::TimeStampResp;
use sig_share_verify::bundle::Bundle;
use sig_share_verify::crypto::{HashAlgorithm, PublicKey};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// The leaf's key, and its SAN emails.
fn leaf_of(signed: &Signed) -> (PublicKey, Vec<String>) {
    let der = signed.bundle.verification_material.certificate.as_ref().expect("a v0.3 leaf").raw_bytes.clone();
    assert_eq!(der, signed.chain[0], "the bundle carries the leaf alone");
    let cert = Certificate::from_der(&der).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().unwrap();
    let (critical, san) = cert.tbs_certificate().get_extension::<SubjectAltName>().unwrap().unwrap();
    // The CA names its organisation in the subject (for C2PA), so the SAN beside it is not critical.
    assert!(!critical && !cert.tbs_certificate().subject().is_empty());
    let emails = san
        .0
        .iter()
        .filter_map(|n| match n {
            GeneralName::Rfc822Name(e) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    (PublicKey::from_spki_der(&spki).unwrap(), emails)
}

/// The time stamp's imprint.
fn stamp_imprint(signed: &Signed) -> Vec<u8> {
    let tvd = signed.bundle.verification_material.timestamp_verification_data.as_ref().unwrap();
    assert_eq!(tvd.rfc3161_timestamps.len(), 1);
    let resp = TimeStampResp::from_der(&tvd.rfc3161_timestamps[0].signed_timestamp).unwrap();
    assert_eq!(resp.status.status, 0, "granted");
    resp.tst_info().unwrap().unwrap().0.message_imprint.hashed_message.as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_signed_into_a_bundle_every_part_of_which_checks_out() {
    let stack = common::start().await;
    let token = IdentityToken::new(stack.token("alice@example.com").await);
    let file = stack.dir.path().join("photo.jpg");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let mut progress = Vec::new();
    let digest = sig_share_sign::sha256_file(&file, |done, total| progress.push((done, total))).unwrap();
    assert_eq!(digest, sig_share_sign::sha256(&content));
    assert_eq!(progress.last(), Some(&(3_000_000, 3_000_000)));

    let client = SigningClient::new(stack.services()).unwrap().trusting(stack.trust.trusted_root.clone());
    let signed = client.sign_sha256(&token, &digest).await.unwrap();

    // Who signed: the token's email, vouched for by the stack's issuer.
    assert_eq!(signed.identity.subject, "alice@example.com");
    assert_eq!(signed.identity.issuer.as_deref(), Some(stack.issuer.as_str()));
    let (key, emails) = leaf_of(&signed);
    assert_eq!(emails, ["alice@example.com"]);
    assert_eq!(signed.chain.len(), 2, "leaf and the CA root");

    // The bundle's shape, and it round-trips through the verifier's parser.
    let json = signed.bundle_json();
    let back = Bundle::from_json(json.as_bytes()).unwrap();
    assert_eq!(back, signed.bundle);
    assert_eq!(back.media_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
    let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(raw["verificationMaterial"].get("x509CertificateChain").is_none());
    assert_eq!(raw["messageSignature"]["messageDigest"]["algorithm"], "SHA2_256");

    // The signature is over the artifact's digest, with the certified key.
    let ms = back.message_signature.as_ref().unwrap();
    assert_eq!(ms.message_digest.as_ref().unwrap().digest, digest);
    key.verify_prehash(&digest, &ms.signature).unwrap();
    key.verify(&content, &ms.signature, HashAlgorithm::Sha256).unwrap();
    assert!(key.verify_prehash(&sig_share_sign::sha256(b"other"), &ms.signature).is_err());

    // The time stamp covers the signature.
    assert_eq!(stamp_imprint(&signed), sig_share_sign::sha256(&ms.signature));

    // The log entry is proven into a checkpoint the trusted root's log signed; the stack's own
    // first entry is index 0.
    let entry = &back.verification_material.tlog_entries[0];
    let inclusion = sig_share_verify::tlog::verify_inclusion(entry, &stack.trust.trusted_root, 0).unwrap();
    assert_eq!(inclusion.index, signed.log_index);
    assert!(signed.log_index >= 1);
    assert_eq!((entry.kind_version.kind.as_str(), entry.kind_version.version.as_str()), ("hashedrekord", "0.0.2"));
    assert_eq!(signed.log_url, stack.url);

    // Signing again makes a new entry.
    let again = client.sign_sha256(&token, &digest).await.unwrap();
    assert!(again.log_index > signed.log_index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_toto_statement_is_signed_as_dsse_and_logged_by_its_pae() {
    let stack = common::start().await;
    let token = IdentityToken::new(stack.token("bob@example.com").await);
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "photo.jpg", "digest": {"sha256": "ab".repeat(32)}}],
        "predicateType": "https://sig-share.dev/provenance/v1",
        "predicate": {"device": "camera"},
    })
    .to_string();
    let client = SigningClient::new(stack.services()).unwrap().trusting(stack.trust.trusted_root.clone());
    let signed = client.sign_in_toto(&token, statement.as_bytes()).await.unwrap();

    let envelope = signed.bundle.dsse_envelope.as_ref().unwrap();
    assert!(signed.bundle.message_signature.is_none());
    assert_eq!(envelope.payload, statement.as_bytes());
    assert_eq!(envelope.payload_type, "application/vnd.in-toto+json");
    let pae = sig_share_sign::pae(&envelope.payload_type, &envelope.payload);
    let (key, emails) = leaf_of(&signed);
    assert_eq!(emails, ["bob@example.com"]);
    key.verify(&pae, &envelope.signatures[0].sig, HashAlgorithm::Sha256).unwrap();
    assert_eq!(stamp_imprint(&signed), sig_share_sign::sha256(&envelope.signatures[0].sig));

    // Logged as a hashedrekord over SHA-256(PAE).
    let entry = &signed.bundle.verification_material.tlog_entries[0];
    sig_share_verify::tlog::verify_inclusion(entry, &stack.trust.trusted_root, 0).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&entry.canonicalized_body).unwrap();
    let logged = &body["spec"]["hashedRekordV002"]["data"]["digest"];
    use base64::Engine;
    assert_eq!(logged, &base64::engine::general_purpose::STANDARD.encode(sig_share_sign::sha256(&pae)));
    Bundle::from_json(signed.bundle_json().as_bytes()).unwrap();

    // Something that is not a statement is refused before any service is asked.
    let err = client.sign_in_toto(&token, b"{\"_type\":\"nope\"}").await.unwrap_err();
    assert!(matches!(err, SignError::NotAStatement(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_garbage_tokens_are_refused_by_the_ca_and_the_error_says_so() {
    let stack = common::start().await;
    let client = SigningClient::new(stack.services()).unwrap();
    let digest = sig_share_sign::sha256(b"x");

    let err = client.sign_sha256(&IdentityToken::new("not-a-token"), &digest).await.unwrap_err();
    match &err {
        SignError::Refused { service: Service::CertificateAuthority, status, url, .. } => {
            assert!((400..500).contains(status), "{err}");
            assert!(url.starts_with(&stack.url), "{err}");
        }
        other => panic!("expected the CA's refusal, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("certificate authority") && text.contains("fresh"), "{text}");

    // A token issued an hour ago has expired.
    stack.clock.set_back(Duration::from_secs(3600));
    let old = IdentityToken::new(stack.token("carol@example.com").await);
    stack.clock.set_back(Duration::ZERO);
    assert!(old.is_expired());
    let err = client.sign_sha256(&old, &digest).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SignError::Refused { service: Service::CertificateAuthority, status: 401, .. }), "{text}");
    assert!(text.to_lowercase().contains("expired"), "the CA's own reason is shown: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_is_down_is_named_with_its_url() {
    let stack = common::start().await;
    let token = IdentityToken::new(stack.token("dave@example.com").await);
    let digest = sig_share_sign::sha256(b"x");
    for (field, service) in [
        ("ca", Service::CertificateAuthority),
        ("tsa", Service::TimestampAuthority),
        ("tlog", Service::TransparencyLog),
    ] {
        let mut services = stack.services();
        let dead = common::dead_url();
        match field {
            "ca" => services.ca = dead.clone(),
            "tsa" => services.tsa = format!("{dead}/api/v1/timestamp"),
            _ => services.tlog = dead.clone(),
        }
        let err = SigningClient::new(services).unwrap().sign_sha256(&token, &digest).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(&err, SignError::Unreachable { service: s, .. } if *s == service), "{text}");
        assert!(text.contains(&dead) && text.contains(&service.to_string()), "{text}");
        assert!(text.contains("running"), "says what to check: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_answer_the_trusted_root_does_not_vouch_for_is_refused() {
    let stack = common::start().await;
    let token = IdentityToken::new(stack.token("erin@example.com").await);
    let mut root = stack.trust.trusted_root.clone();
    root.tlogs.clear();
    let err = SigningClient::new(stack.services())
        .unwrap()
        .trusting(root)
        .sign_sha256(&token, &sig_share_sign::sha256(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SignError::Untrusted { service: Service::TransparencyLog, .. }), "{err}");
    assert!(err.to_string().contains("re-pin"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_carries_the_services_own_message() {
    let stack = common::start().await;
    let token = IdentityToken::new(stack.token("frank@example.com").await);
    // The TSA's URL pointed at the log: the log's JSON 404 message comes through.
    let mut services = stack.services();
    services.tsa = format!("{}/no/such/route", stack.url);
    let err =
        SigningClient::new(services).unwrap().sign_sha256(&token, &sig_share_sign::sha256(b"x")).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SignError::Refused { service: Service::TimestampAuthority, status: 404, .. }), "{text}");
    assert!(text.contains("no such route") && text.contains("/no/such/route"), "{text}");
}
