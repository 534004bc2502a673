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

const REVOKE: &str = "/api/v2/deviceCert/revoke";

/// Issue 14 #10b: the operator's secret binds a device ID to one key. Before, a second key for
/// an enrolled ID was certified at once (201), so whoever held the secret could take over any
/// device's identity silently; now it is 409 until the operator revokes the first key, and the
/// new key is then certified. Renewing with the same key stays possible.
#[tokio::test]
async fn a_second_key_for_a_device_id_is_refused_until_the_first_is_revoked() {
    let stack = Stack::start("https://issuer.invalid").await;
    let (first, second) = (ClientKey::p256(), ClientKey::p256());
    let (status, answer) = stack.post_to(PATH, &request(&first, "camera-7", "camera-7"), Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = stack.post_to(PATH, &request(&first, "camera-7", "camera-7"), Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 201, "the same key again is a renewal: {answer}");

    let logged = stack.logged();
    let (status, answer) = stack.post_to(PATH, &request(&second, "camera-7", "camera-7"), Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("revoke"), "{answer}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stack.logged(), logged, "nothing is issued for a refused key");

    // Revoking needs the operator's secret too, and an enrolled ID.
    let id = json!({"deviceId": "camera-7"});
    assert_eq!(stack.post_to(REVOKE, &id, None).await.0, 401);
    assert_eq!(stack.post_to(REVOKE, &id, Some("a guess")).await.0, 401);
    assert_eq!(stack.post_to(REVOKE, &json!({"deviceId": "camera-8"}), Some(OPERATOR_SECRET)).await.0, 404);
    assert_eq!(stack.post_to(REVOKE, &json!({"deviceId": "bad id"}), Some(OPERATOR_SECRET)).await.0, 400);
    let (status, answer) = stack.post_to(REVOKE, &id, Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deviceId"], "camera-7");
    assert!(answer["revoked"]["revoked"].as_u64().is_some(), "{answer}");
    assert_eq!(stack.post_to(REVOKE, &id, Some(OPERATOR_SECRET)).await.0, 404, "revoked already");

    let (status, answer) = stack.post_to(PATH, &request(&second, "camera-7", "camera-7"), Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 201, "a new key after the revocation: {answer}");
    let (status, _) = stack.post_to(PATH, &request(&first, "camera-7", "camera-7"), Some(OPERATOR_SECRET)).await;
    assert_eq!(status, 409, "the revoked key does not come back");
}

/// The record is durable: a CA restarted on the same file still refuses the second key.
#[test]
fn enrollments_survive_a_restart_in_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca").join(sig_share_ca::device::DEVICES_FILE);
    let open = || sig_share_ca::DeviceEnrollment::new(OPERATOR_SECRET, DEVICE_ISSUER).recorded_in(file.clone());
    let (a, b) = (ClientKey::p256(), ClientKey::p256());
    open().claim("cam", a.key.public_key_der(), 100).unwrap();
    let again = open();
    assert!(matches!(
        again.claim("cam", b.key.public_key_der(), 200),
        Err(sig_share_ca::device::DeviceError::AlreadyEnrolled(_))
    ));
    again.claim("cam", a.key.public_key_der(), 300).unwrap();
    open().revoke("cam", 400).unwrap();
    open().claim("cam", b.key.public_key_der(), 500).unwrap();
    let history = open().enrollments("cam").unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].enrolled, history[0].revoked, history[1].enrolled, history[1].revoked),
        (100, Some(400), 500, None)
    );

    // A record that does not parse enrolls nothing (fail closed), and says so.
    std::fs::write(&file, "{not json").unwrap();
    let err = open().claim("other", a.key.public_key_der(), 600).unwrap_err();
    assert!(err.to_string().contains("does not parse"), "{err}");
}

/// Enrollment attempts are rate-limited per client, and guesses at the secret much more so:
/// the third wrong secret in a minute is 429 with Retry-After, as is the 61st request.
#[tokio::test]
async fn device_requests_and_guessed_secrets_are_rate_limited() {
    let stack = Stack::start("https://issuer.invalid").await;
    let key = ClientKey::p256();
    let body = request(&key, "camera-9", "camera-9");
    let client = reqwest::Client::new();
    let post =
        |bearer: &'static str| client.post(format!("{}{PATH}", stack.url)).bearer_auth(bearer).json(&body).send();
    assert_eq!(post("guess 1").await.unwrap().status(), 401);
    assert_eq!(post("guess 2").await.unwrap().status(), 401);
    let third = post("guess 3").await.unwrap();
    assert_eq!(third.status(), 429);
    let wait: u64 = third.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let answer: Value = third.json().await.unwrap();
    assert!(answer["message"].as_str().unwrap().contains("too many"), "{answer}");

    // Requests with the secret, on a fresh CA: a bucket of 60 a minute.
    let stack = Stack::start("https://issuer.invalid").await;
    let mut statuses = Vec::new();
    for _ in 0..80 {
        // A malformed body: refused at once (400) but counted.
        statuses.push(stack.post_to(PATH, &json!({"deviceId": "x"}), Some(OPERATOR_SECRET)).await.0);
    }
    // The bucket refills one a second while the loop runs.
    assert!(statuses[..60].iter().all(|s| *s == 400), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
