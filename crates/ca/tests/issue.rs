//! Issuance end to end over HTTP: both request forms, the certificate profile read back, the
//! embedded SCT verified against the certificate log's key and found in the log, the chain
//! checked by OpenSSL, and key rotation at the issuer followed.

mod common;

use std::process::Command;

use common::{ClientKey, Stack, TestIssuer, chain_of};
use der::asn1::{OctetString, Utf8StringRef};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use sig_share_ca::issue::{C2PA_CLAIM_SIGNING, CODE_SIGNING, DOCUMENT_SIGNING, EMAIL_PROTECTION};
use sig_share_ca::principal::oids;
use sig_share_ct::chain::SCT_LIST_OID;
use sig_share_log::EntryFormat;
use sig_share_pki::Signer;
use sig_share_pki::Tbs;
use sig_share_tlog::static_ct::{self, SignedEntry, TileLeaf, TimestampedEntry};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};

fn ext<'a>(cert: &'a Certificate, oid: &der::asn1::ObjectIdentifier) -> &'a x509_cert::ext::Extension {
    let exts = cert.tbs_certificate().extensions().expect("extensions");
    exts.iter().find(|e| &e.extn_id == oid).unwrap_or_else(|| panic!("no extension {oid}"))
}

/// Verifies the embedded SCT of `leaf` against the certificate log and returns its leaf index.
fn verify_embedded_sct(stack: &Stack, leaf: &Certificate) -> u64 {
    let list = OctetString::from_der(ext(leaf, &SCT_LIST_OID).extn_value.as_bytes()).unwrap();
    let scts = static_ct::parse_sct_list(list.as_bytes()).unwrap();
    assert_eq!(scts.len(), 1, "exactly one SCT, as sigstore-python requires");
    let sct = static_ct::Sct::parse(&scts[0]).unwrap();
    assert_eq!(sct.log_id, stack.ct.log_id());
    assert_eq!(sct.log_id, <[u8; 32]>::from(Sha256::digest(stack.ct.public_key_der())));

    // The precertificate's TBS is the final one without the SCT list (RFC 6962 §3.2).
    let mut tbs = Tbs::of(leaf).unwrap();
    assert_eq!(tbs.remove_extension(&SCT_LIST_OID), 1);
    let issuer_key_hash = Sha256::digest(stack.root.tbs_certificate().subject_public_key_info().to_der().unwrap());
    let entry = TimestampedEntry {
        timestamp: sct.timestamp,
        entry: SignedEntry::Precert { issuer_key_hash: issuer_key_hash.into(), tbs_certificate: tbs.to_der().unwrap() },
        extensions: sct.extensions.clone(),
    };
    let alg = sig_share_pki::signature_algorithm(sig_share_pki::KeyAlgorithm::EcdsaP256Sha256);
    sig_share_pki::verify_signature(
        stack.ct.public_key_der(),
        &entry.sct_signed_data().unwrap(),
        &sct.signature.signature,
        &alg,
    )
    .expect("the SCT verifies with the certificate log's key");

    // And the log holds exactly that entry at the SCT's index, under its published root.
    let index = static_ct::parse_leaf_index(&sct.extensions).expect("a leaf_index extension");
    let published = stack.ct.log().latest();
    let stored = sig_share_log::check::read_entry(
        stack.ct.log().stores().tiles.as_ref(),
        EntryFormat::StaticCt,
        index,
        published.size,
    )
    .unwrap();
    let (stored, _) = TileLeaf::parse(&stored).unwrap();
    assert_eq!(stored.entry, entry);
    let proof = published.inclusion_proof(index, stack.ct.log().stores().tiles.as_ref()).unwrap();
    sig_share_tlog::merkle::verify_inclusion(
        index,
        published.size,
        &entry.leaf_hash().unwrap(),
        &proof,
        &published.root,
    )
    .expect("the entry is in the tree");
    index
}

#[tokio::test]
async fn a_proof_of_possession_request_gets_a_logged_certificate_with_the_profile() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::start(&issuer.url).await;
    let token = issuer.token(&issuer.claims("alice@example.com"));
    let client = ClientKey::p256();
    let (status, answer) = stack.post(&client.pop_request(&token, "alice@example.com"), None).await;
    assert_eq!(status, 201, "{answer}");
    let chain = chain_of(&answer);
    assert_eq!(chain.len(), 2, "leaf and root: sigstore-python wants at least two");
    assert_eq!(chain[1], stack.root);
    let leaf = &chain[0];
    let tbs = leaf.tbs_certificate();

    // Ten minutes, a subject naming only the CA's organisation (C2PA wants an O), the client's
    // key, a 20-byte positive serial.
    let v = tbs.validity();
    let lifetime = v.not_after.to_unix_duration() - v.not_before.to_unix_duration();
    assert_eq!(lifetime.as_secs(), 600);
    assert_eq!(tbs.subject().to_string(), "O=sig-share");
    assert_eq!(tbs.subject_public_key_info().to_der().unwrap(), client.key.public_key_der());
    assert!(tbs.serial_number().as_bytes().len() >= 16);

    let san = ext(leaf, &const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME);
    assert!(!san.critical, "a SAN beside a non-empty subject is not critical (RFC 5280; cryptography refuses it)");
    let names = SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
    assert_eq!(names.0.len(), 1);
    assert!(matches!(&names.0[0], GeneralName::Rfc822Name(e) if e.as_str() == "alice@example.com"));

    let eku = ext(leaf, &const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE);
    assert!(!eku.critical, "sigstore-python rejects a critical EKU");
    let eku = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap();
    assert_eq!(eku.0, [CODE_SIGNING, DOCUMENT_SIGNING, EMAIL_PROTECTION, C2PA_CLAIM_SIGNING]);
    assert!(ext(leaf, &const_oid::db::rfc5280::ID_CE_KEY_USAGE).critical);
    ext(leaf, &const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER);
    ext(leaf, &const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER);

    // Fulcio's issuer (raw v1 and UTF8String v2) and the token subject.
    assert_eq!(ext(leaf, &oids::ISSUER_V1).extn_value.as_bytes(), issuer.url.as_bytes());
    let v2 = Utf8StringRef::from_der(ext(leaf, &oids::ISSUER_V2).extn_value.as_bytes()).unwrap();
    assert_eq!(v2.as_str(), issuer.url);
    let sub = Utf8StringRef::from_der(ext(leaf, &oids::TOKEN_SUBJECT).extn_value.as_bytes()).unwrap();
    assert_eq!(sub.as_str(), "user-alice@example.com");

    let index = verify_embedded_sct(&stack, leaf);
    // The certificate log files it under the identity, for monitoring.
    let filed = stack.ct.log().lookup(&sig_share_ct::chain::identity_key("alice@example.com"), 10).unwrap();
    assert_eq!(filed, [index]);
}

#[tokio::test]
async fn csr_requests_with_a_bearer_token_and_p384_keys_are_issued() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::start(&issuer.url).await;
    let token = issuer.token(&issuer.claims("bob@example.com"));
    let client = ClientKey::p256();
    let csr = client.csr_signed_by(&client.key);
    let (status, answer) = stack.post(&ClientKey::csr_request(&csr), Some(&token)).await;
    assert_eq!(status, 201, "{answer}");
    verify_embedded_sct(&stack, &chain_of(&answer)[0]);

    let p384 = ClientKey::p384();
    let (status, answer) = stack.post(&p384.pop_request(&token, "bob@example.com"), None).await;
    assert_eq!(status, 201, "{answer}");
    let leaf = &chain_of(&answer)[0];
    assert_eq!(leaf.tbs_certificate().subject_public_key_info().to_der().unwrap(), p384.key.public_key_der());
    assert_eq!(stack.logged(), 2);
}

#[tokio::test]
async fn openssl_chains_the_certificate_and_shows_its_extensions() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::start(&issuer.url).await;
    let token = issuer.token(&issuer.claims("carol@example.com"));
    let (status, answer) = stack.post(&ClientKey::p256().pop_request(&token, "carol@example.com"), None).await;
    assert_eq!(status, 201, "{answer}");
    let chain = chain_of(&answer);
    let dir = tempfile::tempdir().unwrap();
    let (leaf, root) = (dir.path().join("leaf.pem"), dir.path().join("root.pem"));
    std::fs::write(&leaf, sig_share_pki::certificate_to_pem(&chain[0])).unwrap();
    std::fs::write(&root, sig_share_pki::certificate_to_pem(&chain[1])).unwrap();
    let at = chain[0].tbs_certificate().validity().not_before.to_unix_duration().as_secs() + 60;

    let out = Command::new("openssl")
        .args(["verify", "-attime", &at.to_string(), "-CAfile"])
        .arg(&root)
        .arg(&leaf)
        .output()
        .expect("openssl is installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains(": OK"), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // After the ten minutes, the same chain no longer verifies.
    let late = Command::new("openssl")
        .args(["verify", "-attime", &(at + 600).to_string(), "-CAfile"])
        .arg(&root)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(!late.status.success());

    let text = Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&leaf).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in [
        "X509v3 Subject Alternative Name: \n",
        "Subject: O = sig-share",
        "E-mail Protection",
        "email:carol@example.com",
        "Code Signing",
        "1.3.6.1.4.1.62558.2.1",
        "1.3.6.1.4.1.57264.1.1:",
        "1.3.6.1.4.1.57264.1.8:",
        "1.3.6.1.4.1.57264.1.24:",
        "CT Precertificate SCTs:",
        "X509v3 Authority Key Identifier",
        "Digital Signature",
    ] {
        assert!(text.contains(needle), "openssl x509 -text lacks {needle:?}:\n{text}");
    }
    assert!(!text.contains("CT Precertificate Poison"), "the final certificate carries no poison");
}

#[tokio::test]
async fn key_rotation_at_the_issuer_is_followed() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::start(&issuer.url).await;
    let client = ClientKey::p256();
    let token = issuer.token(&issuer.claims("dave@example.com"));
    let (status, _) = stack.post(&client.pop_request(&token, "dave@example.com"), None).await;
    assert_eq!(status, 201);
    let fetches = *issuer.jwks_fetches.lock().unwrap();

    // A token under the old key needs no fetch; one under a new kid makes the CA refetch once.
    let (status, _) = stack.post(&client.pop_request(&token, "dave@example.com"), None).await;
    assert_eq!(status, 201);
    assert_eq!(*issuer.jwks_fetches.lock().unwrap(), fetches);
    issuer.rotate("k2");
    let token2 = issuer.token(&issuer.claims("dave@example.com"));
    let (status, answer) = stack.post(&client.pop_request(&token2, "dave@example.com"), None).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(*issuer.jwks_fetches.lock().unwrap(), fetches + 1);

    // A token naming a published kid but signed by some other key fails.
    let old = common::RsaKey::generate("k1");
    let forged = old.sign(&issuer.claims("dave@example.com"));
    let (status, answer) = stack.post(&client.pop_request(&forged, "dave@example.com"), None).await;
    assert_eq!(status, 401, "{answer}");
}

#[tokio::test]
async fn ed25519_client_keys_are_certified() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let issuer = TestIssuer::start().await;
    let stack = Stack::start(&issuer.url).await;
    let token = issuer.token(&issuer.claims("ivan@example.com"));
    let key = Ed25519KeyPair::generate().unwrap();
    // SubjectPublicKeyInfo for id-Ed25519 (RFC 8410): a fixed prefix and the raw key.
    let spki =
        [&[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00][..], key.public_key().as_ref()]
            .concat();
    let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &spki).unwrap();
    let pop = key.sign(b"ivan@example.com");
    let body = serde_json::json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {"publicKey": {"algorithm": "ED25519", "content": pem},
                             "proofOfPossession": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pop.as_ref())},
    });
    let (status, answer) = stack.post(&body, None).await;
    assert_eq!(status, 201, "{answer}");
    let leaf = &chain_of(&answer)[0];
    assert_eq!(leaf.tbs_certificate().subject_public_key_info().to_der().unwrap(), spki);
    verify_embedded_sct(&stack, leaf);
    // A proof over something else is refused.
    let mut bad = body.clone();
    bad["publicKeyRequest"]["proofOfPossession"] =
        serde_json::json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.sign(b"x").as_ref()));
    let (status, _) = stack.post(&bad, None).await;
    assert_eq!(status, 400);
}

/// Fetching one issuer's keys does not hold up another's: a slow issuer's first token is still
/// waiting on its discovery document when a token from a second issuer has been answered.
#[tokio::test]
async fn a_slow_issuer_delays_only_its_own_tokens() {
    let slow = TestIssuer::start_with_delay(std::time::Duration::from_secs(3)).await;
    let fast = TestIssuer::start().await;
    let config = sig_share_ca::Config {
        issuers: vec![
            sig_share_ca::IssuerConfig::exact(&slow.url, sig_share_ca::IssuerType::Email),
            sig_share_ca::IssuerConfig::exact(&fast.url, sig_share_ca::IssuerType::Email),
        ],
    };
    let stack = std::sync::Arc::new(Stack::with_config(config).await);
    let client = std::sync::Arc::new(ClientKey::p256());
    let slow_request = client.pop_request(&slow.token(&slow.claims("s@example.com")), "s@example.com");
    let pending = {
        let stack = stack.clone();
        tokio::spawn(async move { stack.post(&slow_request, None).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, answer) =
        stack.post(&client.pop_request(&fast.token(&fast.claims("f@example.com")), "f@example.com"), None).await;
    assert_eq!(status, 201, "{answer}");
    assert!(!pending.is_finished(), "the slow issuer's request should still be fetching its keys");
    let (status, _) = pending.await.unwrap();
    assert_eq!(status, 201);
}

/// Username and GitHub Actions issuers end to end: the username otherName SAN and the workflow
/// URI SAN with the CI extensions, as OpenSSL reads them back.
#[tokio::test]
async fn username_and_github_workflow_identities_are_certified() {
    let users = TestIssuer::start().await;
    let github = TestIssuer::start().await;
    let config = sig_share_ca::Config {
        issuers: vec![
            sig_share_ca::IssuerConfig::exact(&users.url, sig_share_ca::IssuerType::Username),
            sig_share_ca::IssuerConfig::exact(&github.url, sig_share_ca::IssuerType::GithubWorkflow),
        ],
    };
    let stack = Stack::with_config(config).await;
    let client = ClientKey::p256();
    let dir = tempfile::tempdir().unwrap();
    let text_of = |cert: &Certificate| {
        let path = dir.path().join("leaf.pem");
        std::fs::write(&path, sig_share_pki::certificate_to_pem(cert)).unwrap();
        let out = Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&path).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };

    let mut claims = users.claims("unused@example.com");
    claims["sub"] = "alice".into();
    let (status, answer) = stack.post(&client.pop_request(&users.token(&claims), "alice"), None).await;
    assert_eq!(status, 201, "{answer}");
    let host = users.url.trim_start_matches("http://").split(':').next().unwrap();
    let text = text_of(&chain_of(&answer)[0]);
    assert!(text.contains("1.3.6.1.4.1.57264.1.7") && text.contains(&format!("alice!{host}")), "{text}");

    let now = common::now_secs();
    let workflow = serde_json::json!({
        "iss": github.url, "aud": "sigstore", "iat": now, "exp": now + 300,
        "sub": "repo:octo/photos:ref:refs/heads/main", "job_workflow_ref": "octo/photos/.github/workflows/sign.yml@refs/heads/main",
        "job_workflow_sha": "a1b2", "runner_environment": "github-hosted", "repository": "octo/photos", "sha": "a1b2",
        "ref": "refs/heads/main", "repository_id": "42", "repository_owner": "octo", "repository_owner_id": "7",
        "workflow_ref": "octo/photos/.github/workflows/sign.yml@refs/heads/main", "workflow_sha": "a1b2",
        "event_name": "push", "run_id": "1001", "run_attempt": "1", "repository_visibility": "public", "workflow": "sign",
    });
    let (status, answer) =
        stack.post(&client.pop_request(&github.token(&workflow), "repo:octo/photos:ref:refs/heads/main"), None).await;
    assert_eq!(status, 201, "{answer}");
    let text = text_of(&chain_of(&answer)[0]);
    assert!(text.contains("URI:https://github.com/octo/photos/.github/workflows/sign.yml@refs/heads/main"), "{text}");
    for oid in
        ["1.3.6.1.4.1.57264.1.9:", "1.3.6.1.4.1.57264.1.12:", "1.3.6.1.4.1.57264.1.21:", "1.3.6.1.4.1.57264.1.2:"]
    {
        assert!(text.contains(oid), "{oid} missing:\n{text}");
    }
    assert!(text.contains("https://github.com/octo/photos/actions/runs/1001/attempts/1"), "{text}");
}
