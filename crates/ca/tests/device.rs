//! The device path: an operator's credential, a device ID and the device's key (with its
//! signature over the ID) buy a year-long certificate naming the device, logged in the
//! certificate log like every other; anything less is refused with the reason, and nothing is
//! logged for a refusal.

mod common;

use std::time::Duration;

use common::{ClientKey, DEVICE_ISSUER, OPERATOR_SECRET, Stack, chain_of};
use der::{Decode, Encode};
use serde_json::{Value, json};
use sig_share_pki::Signer;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

const PATH: &str = "/api/v2/deviceCert";

fn request(key: &ClientKey, device_id: &str, signed: &str) -> Value {
    use base64::Engine;
    let proof = key.key.sign(signed.as_bytes()).unwrap();
    json!({
        "deviceId": device_id,
        "publicKey": {"algorithm": "ECDSA", "content": key.pem()},
        "proofOfPossession": base64::engine::general_purpose::STANDARD.encode(proof),
    })
}

#[tokio::test]
async fn an_operator_enrolls_a_device_for_a_year_logged_like_every_certificate() {
    let stack = Stack::start("https://issuer.invalid").await;
    let key = ClientKey::p256();
    let logged = stack.logged();
    let (status, answer) =
        stack.post_to(PATH, &request(&key, "camera-0042", "camera-0042"), Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 201, "{answer}");
    let chain = chain_of(&answer);
    assert_eq!(chain[1], stack.root);
    let tbs = chain[0].tbs_certificate();
    assert_eq!(tbs.subject_public_key_info().to_der().unwrap(), key.key.public_key_der());
    let v = tbs.validity();
    let lifetime =
        Duration::from_secs(v.not_after.to_unix_duration().as_secs() - v.not_before.to_unix_duration().as_secs());
    assert_eq!(lifetime, sig_share_ca::device::DEVICE_LIFETIME);
    let (_, san) = tbs.get_extension::<SubjectAltName>().unwrap().unwrap();
    assert!(
        matches!(&san.0[..], [GeneralName::UniformResourceIdentifier(u)] if u.as_str() == "urn:sig-share:device:camera-0042")
    );
    let issuer = tbs
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.8")
        .expect("Fulcio's issuer extension");
    let issuer = der::asn1::Utf8StringRef::from_der(issuer.extn_value.as_bytes()).unwrap();
    assert_eq!(issuer.as_str(), DEVICE_ISSUER);
    // Logged first: the certificate log grew by the precertificate.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(stack.logged() > logged);
}

#[tokio::test]
async fn enrollment_without_the_operators_credential_or_with_a_bad_request_is_refused() {
    let stack = Stack::start("https://issuer.invalid").await;
    let key = ClientKey::p256();
    let good = request(&key, "camera-1", "camera-1");
    let logged = stack.logged();
    for (bearer, body, status, needle) in [
        (None, good.clone(), 401, "operator's credential"),
        (Some("a guess"), good.clone(), 401, "operator's credential"),
        (Some(OPERATOR_SECRET), request(&key, "camera 1", "camera 1"), 400, "device ID"),
        (Some(OPERATOR_SECRET), request(&key, &"x".repeat(65), &"x".repeat(65)), 400, "device ID"),
        (Some(OPERATOR_SECRET), request(&key, "camera-1", "camera-2"), 400, "proof of possession"),
        (Some(OPERATOR_SECRET), json!({"deviceId": "camera-1"}), 400, "malformed"),
    ] {
        let (got, answer) = stack.post_to(PATH, &body, bearer).await;
        assert_eq!(got, status, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(needle), "{answer}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stack.logged(), logged, "nothing is logged for a refusal");
}
