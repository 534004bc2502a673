//! The HTTP routes: both request forms, every failure an HTTP error with the promised body.

mod common;

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use http_body_util::BodyExt;
use sig_share_tsa::asn1::{TimeStampResp, status};
use sig_share_tsa::http::{MAX_REQUEST_BYTES, router_with_clock};
use sig_share_tsa::{FailureInfo, router};
use tower::ServiceExt;

use common::*;

async fn send(app: axum::Router, content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::post("/api/v1/timestamp");
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let resp = app.oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

const DER: Option<&str> = Some("application/timestamp-query");
const JSON: Option<&str> = Some("application/json");

fn rejection(status_code: StatusCode, ct: &str, body: &[u8]) -> FailureInfo {
    assert_eq!(status_code, StatusCode::BAD_REQUEST);
    assert_eq!(ct, "application/timestamp-reply");
    let resp = TimeStampResp::from_der(body).unwrap();
    assert_eq!(resp.status.status, status::REJECTION);
    assert!(resp.time_stamp_token.is_none());
    FailureInfo::from_bit_string(resp.status.fail_info.as_ref().unwrap()).unwrap()
}

fn json_error(status_code: StatusCode, ct: &str, body: &[u8]) -> String {
    assert_eq!(ct, "application/json");
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["code"], status_code.as_u16());
    v["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn der_requests_are_answered_with_tokens() {
    let fx = p256();
    let digest = sha256(b"sig");
    let (code, ct, body) =
        send(router(fx.tsa.clone()), DER, der_request(&digest, Some(&[0x12, 0x34, 0x56, 0x78]), true)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(ct, "application/timestamp-reply");
    let (resp, signed, tst, _) = read_token(&body);
    assert_eq!(resp.status.status, status::GRANTED);
    assert_eq!(tst.message_imprint.hashed_message.as_bytes(), digest);
    assert_eq!(tst.nonce.unwrap().as_bytes(), &[0x12, 0x34, 0x56, 0x78]);
    assert!(signed.certificates.is_some());
    // A missing Content-Type is refused (a browser may send one without asking); parameters
    // after the type are ignored.
    let (code, _, _) = send(router(fx.tsa.clone()), None, der_request(&digest, None, false)).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (code, _, _) =
        send(router(fx.tsa.clone()), Some("Application/Timestamp-Query; x=y"), der_request(&digest, None, false)).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn json_requests_as_sigstore_js_sends_them() {
    let fx = p256();
    let digest = sha256(b"signature bytes");
    let js = serde_json::json!({ "artifactHash": STANDARD.encode(&digest), "hashAlgorithm": "sha256" });
    let (code, ct, body) = send(router(fx.tsa.clone()), JSON, js.to_string().into_bytes()).await;
    assert_eq!((code, ct.as_str()), (StatusCode::OK, "application/timestamp-reply"));
    let (_, signed, tst, _) = read_token(&body);
    assert_eq!(tst.message_imprint.hashed_message.as_bytes(), digest);
    assert!(tst.nonce.is_none());
    assert!(signed.certificates.is_none(), "certificates defaults to false, as in sigstore's TSA");

    let js = serde_json::json!({
        "artifactHash": STANDARD.encode([9u8; 64]),
        "hashAlgorithm": "sha512",
        "nonce": 1234567890123u64,
        "certificates": true,
        "tsaPolicyOID": "1.3.6.1.4.1.57264.2",
    });
    let (code, _, body) = send(router(fx.tsa.clone()), JSON, js.to_string().into_bytes()).await;
    assert_eq!(code, StatusCode::OK);
    let (_, signed, tst, _) = read_token(&body);
    assert_eq!(tst.nonce.unwrap().as_bytes(), &1234567890123u64.to_be_bytes()[2..]);
    assert!(signed.certificates.is_some());
}

#[tokio::test]
async fn unacceptable_requests_get_400_and_a_der_rejection() {
    let fx = p256();
    let app = || router(fx.tsa.clone());

    // A policy that is not ours.
    let mut req = sig_share_tsa::TimestampRequest::from_der(&der_request(&sha256(b"x"), None, true)).unwrap();
    req.policy = Some(const_oid::ObjectIdentifier::new_unwrap("1.2.3.4.5"));
    let (code, ct, body) = send(app(), DER, req.to_der().unwrap()).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::UnacceptedPolicy);
    let js = serde_json::json!({ "artifactHash": STANDARD.encode([1u8; 32]), "hashAlgorithm": "sha256", "tsaPolicyOID": "1.2.3" });
    let (code, ct, body) = send(app(), JSON, js.to_string().into_bytes()).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::UnacceptedPolicy);

    // SHA-1, in both forms.
    let mut sha1 = der_request(&[0u8; 20], None, true);
    // der_request names SHA-256 for 20 bytes; name SHA-1 instead.
    let mut raw = sig_share_tsa::asn1::TimeStampReq::from_der(&sha1).unwrap();
    raw.message_imprint.hash_algorithm.oid = const_oid::db::rfc5912::ID_SHA_1;
    sha1 = der::Encode::to_der(&raw).unwrap();
    let (code, ct, body) = send(app(), DER, sha1).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::BadAlg);
    let js = serde_json::json!({ "artifactHash": STANDARD.encode([1u8; 20]), "hashAlgorithm": "sha1" });
    let (code, ct, body) = send(app(), JSON, js.to_string().into_bytes()).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::BadAlg);

    // An imprint whose length is not the hash's.
    let (code, ct, body) = send(app(), DER, der_request(&[0u8; 33], None, true)).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::BadDataFormat);
    let js = serde_json::json!({ "artifactHash": STANDARD.encode([1u8; 32]), "hashAlgorithm": "sha384" });
    let (code, ct, body) = send(app(), JSON, js.to_string().into_bytes()).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::BadDataFormat);

    // An oversized nonce.
    let (code, ct, body) = send(app(), DER, der_request(&sha256(b"x"), Some(&[0x11; 40]), true)).await;
    assert_eq!(rejection(code, &ct, &body), FailureInfo::BadDataFormat);
}

#[tokio::test]
async fn unreadable_bodies_get_json_errors() {
    let fx = p256();
    let app = || router(fx.tsa.clone());

    let (code, ct, body) = send(app(), DER, b"\x30\x82\x01\x00garbage".to_vec()).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(json_error(code, &ct, &body).contains("TimeStampReq"));
    let (code, ct, body) = send(app(), JSON, b"{\"artifactHash\":".to_vec()).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    json_error(code, &ct, &body);
    let (code, ct, body) = send(app(), DER, Vec::new()).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    json_error(code, &ct, &body);

    // Over the limit: 413, whatever the form.
    for form in [DER, JSON] {
        let (code, ct, body) = send(app(), form, vec![0x30; MAX_REQUEST_BYTES + 1]).await;
        assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(json_error(code, &ct, &body).contains("larger than"));
    }
    // Exactly at the limit is read (and then found not to be a request).
    let (code, ct, body) = send(app(), DER, vec![0x30; MAX_REQUEST_BYTES]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    json_error(code, &ct, &body);

    // Another content type: 415.
    let (code, ct, body) =
        send(app(), Some("application/x-www-form-urlencoded"), der_request(&sha256(b"x"), None, true)).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    json_error(code, &ct, &body);

    // A GET on the timestamp route is not a 2xx either.
    let resp = app().oneshot(Request::get("/api/v1/timestamp").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn outside_the_certificate_validity_is_503() {
    let fx = p256();
    let later = SystemTime::now() + 48 * HOUR;
    let app = router_with_clock(fx.tsa.clone(), Arc::new(move || later));
    let (code, ct, body) = send(app, DER, der_request(&sha256(b"x"), None, true)).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ct, "application/timestamp-reply");
    let resp = TimeStampResp::from_der(&body).unwrap();
    assert_eq!(
        FailureInfo::from_bit_string(resp.status.fail_info.as_ref().unwrap()),
        Some(FailureInfo::TimeNotAvailable)
    );
}

#[tokio::test]
async fn certchain_serves_the_pem_chain_leaf_first() {
    let fx = p256();
    let resp = router(fx.tsa.clone())
        .oneshot(Request::get("/api/v1/timestamp/certchain").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/pem-certificate-chain");
    let pem = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(sig_share_pki::chain_from_pem(&pem).unwrap(), vec![fx.leaf.clone(), fx.root.clone()]);
}
