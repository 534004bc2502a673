//! The HTTP API: the Rekor v2 write path with real signatures, the tlog-tiles reads, the digest
//! index, and bad input of every kind refused with a 4xx JSON error and nothing stored.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use http_body_util::BodyExt;
use sig_share_log::faults::FaultPlan;
use sig_share_log::rekor::TransparencyLogEntry;
use sig_share_log::{Log, LogConfig, http};
use sig_share_tlog::{SignedCheckpoint, TileId};
use tower::ServiceExt;

fn serve(dir: &std::path::Path) -> (Log, Router) {
    let mut config = LogConfig::new(ORIGIN);
    config.period = Duration::from_millis(50);
    let log = Log::open(config, signer(), stores(dir, &FaultPlan::new())).unwrap();
    tokio::spawn(log.clone().run_sequencer());
    (log.clone(), http::router(log))
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn post(body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/v2/log/entries").header("content-type", "application/json").body(body.into()).unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_read_and_look_up() {
    let (_g, dir) = tempdir();
    let (log, app) = serve(&dir);
    let key = signer().verifier();
    let client = Client::new();
    let (body, digest) = client.request(b"hello, log");
    let (status, headers, bytes) = call(&app, post(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "application/json");
    let tle: TransparencyLogEntry = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(tle.verify(&key).unwrap(), 0);
    assert_eq!(headers["x-log-index"], "0");
    // The log ID is the C2SP key ID of the checkpoint key, whose first four bytes are the note's.
    let log_id = STANDARD.decode(&tle.log_id.key_id).unwrap();
    assert_eq!(&log_id[..4], &sig_share_tlog::NoteVerifier::key_id(&key).to_be_bytes());
    // The stored body is rekor-tiles' canonical JSON.
    let stored = String::from_utf8(STANDARD.decode(&tle.canonicalized_body).unwrap()).unwrap();
    assert!(stored.starts_with(r#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":""#));

    // Resubmitting returns the existing entry.
    let (status, _, bytes) = call(&app, post(body)).await;
    assert_eq!(status, StatusCode::OK);
    let again: TransparencyLogEntry = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(again.log_index, "0");
    again.verify(&key).unwrap();

    // tlog-tiles reads.
    let (status, headers, cp) = call(&app, get("/api/v2/checkpoint")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    let cp = SignedCheckpoint::verify(&cp, &key).unwrap().checkpoint;
    assert_eq!(cp.size, 1);
    let (status, headers, tile) = call(&app, get("/api/v2/tile/0/000.p/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(headers["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(tile, cp.root.0);
    let (status, _, bundle) = call(&app, get("/api/v2/tile/entries/000.p/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bundle[2..], stored.as_bytes());
    let (status, _, e) = call(&app, get("/api/v2/tile/0/000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&e).unwrap()["code"], 5);

    // Lookup by digest.
    let (status, _, found) = call(&app, get(&format!("/api/v1/index/sha256:{}", hex(&digest)))).await;
    assert_eq!(status, StatusCode::OK);
    let found: serde_json::Value = serde_json::from_slice(&found).unwrap();
    let entries: Vec<TransparencyLogEntry> = serde_json::from_value(found["entries"].clone()).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].verify(&key).unwrap(), 0);
    let (_, _, none) = call(&app, get(&format!("/api/v1/index/sha256:{}", "0".repeat(64)))).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&none).unwrap()["entries"], serde_json::json!([]));

    // Operations.
    let (status, _, metrics) = call(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = String::from_utf8(metrics).unwrap();
    for name in [
        "sigshare_log_pool_depth",
        "sigshare_log_tree_size 1",
        "sigshare_log_batch_size_bucket",
        "sigshare_log_time_to_integrate_seconds_bucket",
        "sigshare_log_duplicates_total 1",
    ] {
        assert!(metrics.contains(name), "{name} missing from metrics");
    }
    let (status, _, health) = call(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&health).unwrap()["treeSize"], 1);
    assert_eq!(log.latest().size, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_json_and_nothing_is_stored() {
    let (_g, dir) = tempdir();
    let (log, app) = serve(&dir);
    let client = Client::new();
    let (digest, sig) = client.sign(b"artifact");
    let spki = STANDARD.encode(client.spki());
    let (d, s) = (STANDARD.encode(&digest), STANDARD.encode(&sig));
    let req = |digest: &str, sig: &str, verifier: &str| {
        format!(
            r#"{{"hashedRekordRequestV002":{{"digest":"{digest}","signature":{{"content":"{sig}","verifier":{verifier}}}}}}}"#
        )
    };
    let pk = |kd: &str, raw: &str| format!(r#"{{"publicKey":{{"rawBytes":"{raw}"}},"keyDetails":"{kd}"}}"#);
    let good_verifier = pk("PKIX_ECDSA_P256_SHA_256", &spki);
    // A P-384 key to lie about.
    let p384 = {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &rng).unwrap();
        let k = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        STANDARD.encode(k.public_key().as_der().unwrap().as_ref())
    };
    let ed25519_spki = "MCowBQYDK2VwAyEABUvMHCQzaeSf5lb7AqT0y5uqyyqMEWGKPpFUig7IZ6U=";
    let mut other_sig = sig.clone();
    let last = other_sig.len() - 1;
    other_sig[last] ^= 1;
    let cases: Vec<(&str, String, StatusCode)> = vec![
        ("not JSON", "{".into(), StatusCode::BAD_REQUEST),
        ("empty body", String::new(), StatusCode::BAD_REQUEST),
        ("JSON array", "[]".into(), StatusCode::BAD_REQUEST),
        ("no entry type", "{}".into(), StatusCode::BAD_REQUEST),
        ("unknown kind", r#"{"rekordRequestV001":{}}"#.into(), StatusCode::BAD_REQUEST),
        ("dsse", r#"{"dsseRequestV002":{"envelope":{},"verifiers":[]}}"#.into(), StatusCode::BAD_REQUEST),
        (
            "unknown field",
            req(&d, &s, &good_verifier).replace(r#""digest""#, r#""extra":1,"digest""#),
            StatusCode::BAD_REQUEST,
        ),
        ("digest not base64", req("!!!", &s, &good_verifier), StatusCode::BAD_REQUEST),
        ("empty digest", req("", &s, &good_verifier), StatusCode::BAD_REQUEST),
        ("short digest", req(&STANDARD.encode(&digest[..20]), &s, &good_verifier), StatusCode::BAD_REQUEST),
        ("mismatched digest", req(&STANDARD.encode([9u8; 32]), &s, &good_verifier), StatusCode::BAD_REQUEST),
        ("bad signature", req(&d, &STANDARD.encode(&other_sig), &good_verifier), StatusCode::BAD_REQUEST),
        ("garbage signature", req(&d, "AAAA", &good_verifier), StatusCode::BAD_REQUEST),
        ("unknown keyDetails", req(&d, &s, &pk("PKIX_ECDSA_P256_SHA_999", &spki)), StatusCode::BAD_REQUEST),
        ("unknown keyDetails version", req(&d, &s, &pk("LMS_SHA256", &spki)), StatusCode::BAD_REQUEST),
        ("keyDetails lies about the key", req(&d, &s, &pk("PKIX_ECDSA_P256_SHA_256", &p384)), StatusCode::BAD_REQUEST),
        ("Ed25519 key", req(&d, &s, &pk("PKIX_ED25519", ed25519_spki)), StatusCode::BAD_REQUEST),
        ("key not DER", req(&d, &s, &pk("PKIX_ECDSA_P256_SHA_256", "AAAA")), StatusCode::BAD_REQUEST),
        (
            "key with trailing bytes",
            req(&d, &s, &pk("PKIX_ECDSA_P256_SHA_256", &STANDARD.encode([client.spki(), &[0u8]].concat()))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "certificate not DER",
            req(&d, &s, r#"{"x509Certificate":{"rawBytes":"MIIB"},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "key and certificate",
            req(
                &d,
                &s,
                &format!(
                    r#"{{"publicKey":{{"rawBytes":"{spki}"}},"x509Certificate":{{"rawBytes":"{spki}"}},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}}"#
                ),
            ),
            StatusCode::BAD_REQUEST,
        ),
        ("no verifier key", req(&d, &s, r#"{"keyDetails":"PKIX_ECDSA_P256_SHA_256"}"#), StatusCode::BAD_REQUEST),
        ("over 64 KiB", format!("{{\"x\":\"{}\"}}", "a".repeat(70_000)), StatusCode::PAYLOAD_TOO_LARGE),
        ("huge string in a field", req(&"A".repeat(60_000), &s, &good_verifier), StatusCode::BAD_REQUEST),
    ];
    for (what, body, want) in cases {
        let (status, headers, bytes) = call(&app, post(body)).await;
        assert_eq!(status, want, "{what}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(headers["content-type"], "application/json", "{what}");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{what}: not JSON"));
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {v}");
        assert_eq!(v["code"], 3, "{what}");
    }
    for path in [
        "/api/v2/tile/0/1",
        "/api/v2/tile/0/x000/001",
        "/api/v2/tile/0/000.p/0",
        "/api/v2/tile/0/000.p/256",
        "/api/v2/tile/entries/../../state/log.key",
        "/api/v2/tile/9/000",
        "/api/v2/tile/data/000",
        "/api/v1/index/sha256:xyz",
        "/api/v1/index/md5:00",
    ] {
        let (status, _, bytes) = call(&app, get(path)).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{path}: {status}");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{path}: not JSON"));
        assert!(v["message"].is_string(), "{path}");
    }
    let (status, _, _) = call(&app, get("/nowhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing was stored: an empty tree, an empty pool, no tiles.
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(log.latest().size, 0);
    assert_eq!(log.pool_depth(), 0);
    assert!(!dir.join("log/tile").exists());
    assert!(TileId::parse_path("tile/0/000.p/1").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_read_by_index_with_a_proof_against_the_newest_checkpoint() {
    let (_g, dir) = tempdir();
    let (log, app) = serve(&dir);
    let key = signer().verifier();
    let client = Client::new();
    let mut logged = Vec::new();
    for i in 0..3 {
        let (status, _, bytes) = call(&app, post(client.request(format!("artifact {i}").as_bytes()).0)).await;
        assert_eq!(status, StatusCode::CREATED);
        logged.push(serde_json::from_slice::<TransparencyLogEntry>(&bytes).unwrap());
    }

    for (i, first) in logged.iter().enumerate() {
        let (status, headers, bytes) = call(&app, get(&format!("/api/v1/log/entries/{i}"))).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(headers["content-type"], "application/json");
        let entry: TransparencyLogEntry = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(entry.verify(&key).unwrap(), i as u64);
        // The entry the write path answered, proven again against the newest tree rather than
        // the one it was first proven in.
        assert_eq!(entry.canonicalized_body, first.canonicalized_body);
        assert_eq!(entry.log_id, first.log_id);
        assert_eq!(entry.inclusion_proof.tree_size, "3");
        assert_eq!(
            entry.inclusion_proof.checkpoint.envelope,
            String::from_utf8(call(&app, get("/api/v2/checkpoint")).await.2).unwrap()
        );
    }
    assert_eq!(log.latest().size, 3);

    // Beyond the tree: 404; not an index: 400; both JSON in the log's error shape.
    for (path, want, code) in [
        ("/api/v1/log/entries/3", StatusCode::NOT_FOUND, 5),
        ("/api/v1/log/entries/18446744073709551615", StatusCode::NOT_FOUND, 5),
        ("/api/v1/log/entries/x", StatusCode::BAD_REQUEST, 3),
        ("/api/v1/log/entries/-1", StatusCode::BAD_REQUEST, 3),
        ("/api/v1/log/entries/1.0", StatusCode::BAD_REQUEST, 3),
        ("/api/v1/log/entries/18446744073709551616", StatusCode::BAD_REQUEST, 3),
        ("/api/v1/log/entries/%00", StatusCode::BAD_REQUEST, 3),
    ] {
        let (status, headers, bytes) = call(&app, get(path)).await;
        assert_eq!(status, want, "{path}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(headers["content-type"], "application/json", "{path}");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{path}: not JSON"));
        assert_eq!(v["code"], code, "{path}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{path}: {v}");
        assert_eq!(v["details"], serde_json::json!([]), "{path}");
    }
    let long = format!("/api/v1/log/entries/{}", "9".repeat(5000));
    let (status, _, bytes) = call(&app, get(&long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bytes.len() < 400, "the refusal does not echo the whole input");
}

fn post_statement(envelope: &serde_json::Value) -> Request<Body> {
    Request::post("/api/v1/statements")
        .header("content-type", "application/json")
        .body(Body::from(envelope.to_string()))
        .unwrap()
}

/// An in-toto statement about `subject`, its DSSE envelope, and the PAE bytes an entry signs.
fn statement_about(subject: &[u8; 32], note: &str) -> (serde_json::Value, Vec<u8>) {
    let payload = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "photo.jpg", "digest": { "sha256": hex(subject) } }],
        "predicateType": "https://example.com/note",
        "predicate": { "note": note },
    })
    .to_string();
    let kind = "application/vnd.in-toto+json";
    let pae = [format!("DSSEv1 {} {kind} {} ", kind.len(), payload.len()).as_bytes(), payload.as_bytes()].concat();
    let envelope = serde_json::json!({
        "payloadType": kind,
        "payload": STANDARD.encode(&payload),
        "signatures": [{ "sig": "AA==" }],
    });
    (envelope, pae)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_signed_by_entries_are_kept_and_found_by_subject() {
    let (_g, dir) = tempdir();
    let (_log, app) = serve(&dir);
    let key = signer().verifier();
    let client = Client::new();
    let photo = [7u8; 32];
    let (envelope, pae) = statement_about(&photo, "first");

    // Not logged yet: refused, and nothing is filed.
    let (status, _, body) = call(&app, post_statement(&envelope)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    let refusal: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(refusal["message"].as_str().unwrap().contains("log its signature first"), "{refusal}");

    // Log a signature over its PAE (as DSSE over hashedrekord does), then keep it.
    let (status, _, _) = call(&app, post(client.request(b"something else first").0)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (request, pae_digest) = client.request(&pae);
    let (status, _, _) = call(&app, post(request)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = call(&app, post_statement(&envelope)).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let accepted: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(accepted["digest"], format!("sha256:{}", hex(&pae_digest)));
    assert_eq!(accepted["logIndices"], serde_json::json!(["1"]));
    // Keeping it again changes nothing.
    assert_eq!(call(&app, post_statement(&envelope)).await.0, StatusCode::CREATED);

    // By entry: the entry with its proof, and the statement without signatures.
    let (status, _, body) = call(&app, get("/api/v1/statements/entry/1")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let found: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let entry: TransparencyLogEntry = serde_json::from_value(found["logEntry"].clone()).unwrap();
    assert_eq!(entry.verify(&key).unwrap(), 1);
    assert_eq!(
        found["statement"],
        serde_json::json!({ "payloadType": envelope["payloadType"], "payload": envelope["payload"] })
    );
    for missing in ["/api/v1/statements/entry/0", "/api/v1/statements/entry/99"] {
        let (status, _, body) = call(&app, get(missing)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"], 5);
    }

    // By subject: every kept statement about these bytes, and none about others.
    let (envelope2, pae2) = statement_about(&photo, "second");
    call(&app, post(client.request(&pae2).0)).await;
    assert_eq!(call(&app, post_statement(&envelope2)).await.0, StatusCode::CREATED);
    let (status, _, body) = call(&app, get(&format!("/api/v1/statements/subject/sha256:{}", hex(&photo)))).await;
    assert_eq!(status, StatusCode::OK);
    let about: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let indices: Vec<&str> =
        about["entries"].as_array().unwrap().iter().map(|e| e["logEntry"]["logIndex"].as_str().unwrap()).collect();
    assert_eq!(indices, ["1", "2"]);
    assert_eq!(about["entries"][1]["statement"]["payload"], envelope2["payload"]);
    let (_, _, body) = call(&app, get(&format!("/api/v1/statements/subject/sha256:{}", hex(&[8; 32])))).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["entries"], serde_json::json!([]));
    // The digest index is unchanged by filing: the photo's digest names no hashedrekord entry.
    let (_, _, body) = call(&app, get(&format!("/api/v1/index/sha256:{}", hex(&photo)))).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["entries"], serde_json::json!([]));

    // Bad input: 4xx with JSON, nothing kept.
    let mut not_in_toto = envelope.clone();
    not_in_toto["payloadType"] = "text/plain".into();
    let oversized = serde_json::json!({ "payloadType": "application/vnd.in-toto+json", "payload": "A".repeat(70_000) });
    for (bad, want) in [
        (Body::from("not json"), StatusCode::BAD_REQUEST),
        (Body::from(not_in_toto.to_string()), StatusCode::BAD_REQUEST),
        (Body::from(oversized.to_string()), StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let req = Request::post("/api/v1/statements").header("content-type", "application/json").body(bad).unwrap();
        let (status, _, body) = call(&app, req).await;
        assert_eq!(status, want, "{}", String::from_utf8_lossy(&body));
        assert!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["message"].is_string());
    }
    for bad in
        ["/api/v1/statements/entry/x", "/api/v1/statements/subject/sha512:00", "/api/v1/statements/subject/md5:00"]
    {
        assert_eq!(call(&app, get(bad)).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
}
