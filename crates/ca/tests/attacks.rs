//! The attack matrix: every forged, stale, misdirected or malformed request is refused with a
//! 4xx and a message that says why, and nothing reaches the certificate log.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as B64URL};
use common::{ClientKey, Stack, TestIssuer, now_secs};
use serde_json::{Value, json};
use sig_share_pki::Signer;

/// A JWT with the given header and claims and a garbage signature.
fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}.{}", B64URL.encode(header.to_string()), B64URL.encode(claims.to_string()), B64URL.encode(signature))
}

/// HS256 over the token with `secret` as the key.
fn hs256(claims: &Value, secret: &[u8]) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "k1"});
    let input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(claims.to_string()));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", B64URL.encode(tag.as_ref()))
}

#[tokio::test]
async fn forged_stale_and_malformed_requests_are_refused() {
    let issuer = TestIssuer::start().await;
    let stack = Stack::start(&issuer.url).await;
    let client = ClientKey::p256();
    let email = "mallory@example.com";
    let good = issuer.claims(email);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let valid = issuer.token(&good);
    let now = now_secs();

    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        let claims = with("email", json!("alice@example.com"));
        format!("{}.{}.{}", parts[0], B64URL.encode(claims.to_string()), parts[2])
    };
    let rsa_public = issuer.keys.lock().unwrap()[0].public_pkcs1.clone();
    let unknown_kid = {
        let other = common::RsaKey::generate("not-published");
        other.sign(&good)
    };
    let look_alikes = [
        format!("{}/", issuer.url),
        format!("{}.evil.example", issuer.url),
        issuer.url.replace("127.0.0.1", "127.0.0.1.nip.io"),
        issuer.url.replace("http://", "https://"),
    ];

    // (what, request body, bearer, expected status, words the message must contain)
    let mut cases: Vec<(String, Value, Option<String>, u16, &str)> = vec![
        (
            "alg none".into(),
            client.pop_request(&unsigned(&json!({"alg": "none"}), &good, b""), email),
            None,
            401,
            "algorithm \"none\"",
        ),
        (
            "HS256 keyed with the RSA public key".into(),
            client.pop_request(&hs256(&good, &rsa_public), email),
            None,
            401,
            "HS256",
        ),
        (
            "wrong aud".into(),
            client.pop_request(&issuer.token(&with("aud", json!("other"))), email),
            None,
            401,
            "audience",
        ),
        ("aud null".into(), client.pop_request(&issuer.token(&with("aud", json!(null))), email), None, 401, "audience"),
        ("no aud".into(), client.pop_request(&issuer.token(&without("aud")), email), None, 401, "audience"),
        (
            "exp beyond u64".into(),
            client.pop_request(&issuer.token(&with("exp", json!(1e20))), email),
            None,
            401,
            "exp",
        ),
        (
            "unconfigured iss".into(),
            client.pop_request(&issuer.token(&with("iss", json!("https://accounts.evil.example"))), email),
            None,
            401,
            "not trusted",
        ),
        (
            "expired".into(),
            client.pop_request(&issuer.token(&with("exp", json!(now - 120))), email),
            None,
            401,
            "expired",
        ),
        (
            "nbf in the future".into(),
            client.pop_request(&issuer.token(&with("nbf", json!(now + 600))), email),
            None,
            401,
            "nbf",
        ),
        (
            "iat in the future".into(),
            client.pop_request(&issuer.token(&with("iat", json!(now + 600))), email),
            None,
            401,
            "iat",
        ),
        (
            "no exp".into(),
            client.pop_request(
                &issuer.token(&{
                    let mut c = good.clone();
                    c.as_object_mut().unwrap().remove("exp");
                    c
                }),
                email,
            ),
            None,
            401,
            "exp",
        ),
        ("unknown kid".into(), client.pop_request(&unknown_kid, email), None, 401, "no key"),
        ("tampered payload".into(), client.pop_request(&tampered, "alice@example.com"), None, 401, "signature"),
        (
            "email not verified".into(),
            client.pop_request(&issuer.token(&with("email_verified", json!(false))), email),
            None,
            401,
            "not verified",
        ),
        (
            "missing proof of possession".into(),
            json!({"credentials": {"oidcIdentityToken": valid}, "publicKeyRequest": {"publicKey": {"content": client.pem()}}}),
            None,
            400,
            "proofOfPossession",
        ),
        (
            "proof over another email".into(),
            client.pop_request(&valid, "alice@example.com"),
            None,
            400,
            "proof of possession",
        ),
        (
            "proof by another key".into(),
            {
                let mut r = client.pop_request(&valid, email);
                let other = ClientKey::p256();
                r["publicKeyRequest"]["publicKey"]["content"] = json!(other.pem());
                r
            },
            None,
            400,
            "proof of possession",
        ),
        (
            "CSR signed by another key".into(),
            ClientKey::csr_request(&client.csr_signed_by(&ClientKey::p256().key)),
            Some(valid.clone()),
            400,
            "CSR's signature",
        ),
        (
            "unsupported key type (RSA)".into(),
            json!({"credentials": {"oidcIdentityToken": valid},
                   "publicKeyRequest": {"publicKey": {"content": common::rsa_public_pem()},
                                        "proofOfPossession": BASE64.encode(b"x")}}),
            None,
            400,
            "unsupported key type",
        ),
        (
            "oversized token".into(),
            client.pop_request(&issuer.token(&with("padding", json!("x".repeat(20_000)))), email),
            None,
            400,
            "at most",
        ),
        (
            "no token".into(),
            json!({"certificateSigningRequest": ClientKey::csr_request(&client.csr_signed_by(&client.key))["certificateSigningRequest"]}),
            None,
            400,
            "no identity token",
        ),
        (
            "two different tokens".into(),
            client.pop_request(&valid, email),
            Some(issuer.token(&with("sub", json!("x")))),
            400,
            "different tokens",
        ),
        (
            "both key forms".into(),
            {
                let mut r = client.pop_request(&valid, email);
                r["certificateSigningRequest"] =
                    ClientKey::csr_request(&client.csr_signed_by(&client.key))["certificateSigningRequest"].clone();
                r
            },
            None,
            400,
            "exactly one",
        ),
        (
            "unknown field".into(),
            json!({"credentials": {"oidcIdentityToken": valid}, "surprise": 1}),
            None,
            400,
            "unknown field",
        ),
        ("garbage token".into(), client.pop_request("abc.def", email), None, 400, "malformed"),
        ("not JSON".into(), json!("just a string"), None, 400, "malformed request"),
    ];
    for iss in &look_alikes {
        cases.push((
            format!("look-alike iss {iss}"),
            client.pop_request(&issuer.token(&with("iss", json!(iss))), email),
            None,
            401,
            "not trusted",
        ));
    }

    for (what, body, bearer, want, words) in &cases {
        let (status, answer) = stack.post(body, bearer.as_deref()).await;
        let message = answer["message"].as_str().unwrap_or_default();
        assert_eq!(status, *want, "{what}: {answer}");
        assert!(message.contains(words), "{what}: message {message:?} lacks {words:?}");
    }
    assert_eq!(stack.logged(), 0, "nothing refused reaches the certificate log");

    // And the genuine request still works.
    let (status, answer) = stack.post(&client.pop_request(&valid, email), None).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(stack.logged(), 1);
    // The refusals are counted by reason for the operator.
    let metrics = reqwest::get(format!("{}/ca/metrics", stack.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sigshare_ca_issued_total 1"), "{metrics}");
    for reason in
        ["token_audience", "unknown_issuer", "token_time", "token_signature", "proof_of_possession", "unsupported_key"]
    {
        assert!(metrics.contains(&format!("sigshare_ca_refused_total{{reason=\"{reason}\"}}")), "{reason}: {metrics}");
    }
    let _ = client.key.algorithm();
}

/// A tag-length-value with a definite length (short or two-byte long form).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n @ 0..=127 => out.push(n as u8),
        n @ 128..=255 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// A CSR whose attributes SET OF is not in DER order, signed over exactly those bytes: the CA
/// must refuse it rather than check the signature over a re-sorted encoding (found by fuzzing).
#[test]
fn a_csr_that_is_not_canonical_der_is_refused() {
    use der::Encode;
    let key = sig_share_pki::SoftwareKey::generate(sig_share_pki::KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let attr = |oid: &[u8], text: &[u8]| tlv(0x30, &[tlv(0x06, oid), tlv(0x31, &tlv(0x0c, text))].concat());
    let challenge = attr(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07], b"a");
    let name = attr(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x02], b"b");
    // DER orders SET OF members by their encodings: unstructuredName (…9.2) before …9.7.
    assert!(name < challenge);
    let unsorted = [challenge, name].concat();
    let info =
        tlv(0x30, &[&[0x02, 0x01, 0x00][..], &[0x30, 0x00], key.public_key_der(), &tlv(0xa0, &unsorted)].concat());
    let signature = key.sign(&info).unwrap();
    let alg = sig_share_pki::signature_algorithm(key.algorithm()).to_der().unwrap();
    let mut bits = vec![0];
    bits.extend_from_slice(&signature);
    let csr = tlv(0x30, &[info, alg, tlv(0x03, &bits)].concat());
    let pem = der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &csr).unwrap();
    let err = sig_share_ca::request::parse_csr(&BASE64.encode(pem)).unwrap_err();
    assert!(err.to_string().contains("canonical DER"), "{err}");
}
