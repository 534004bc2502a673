//! Quotas and rate limits (issue 14 #7): one client, or one identity, exhausting what a running
//! `sig-share serve --dev` gives away. Each attack must end in `429 Too Many Requests` with
//! `Retry-After` and a JSON body, while another client (another loopback address) or another
//! identity is still served, and what is stored stays under its bound.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::common::{self, p256_key};

/// An HTTP client whose connections come from `from` (any 127.x address is this machine).
fn client_from(from: &str) -> reqwest::Client {
    let ip: IpAddr = from.parse().unwrap();
    reqwest::Client::builder().local_address(ip).timeout(Duration::from_secs(30)).build().unwrap()
}

/// Checks a refusal: 429, a `Retry-After` of whole seconds (at least 1), a JSON body whose
/// message names the limit; returns the body.
async fn assert_refused(resp: reqwest::Response, what: &str) -> Value {
    assert_eq!(resp.status(), 429, "{what}: expected 429");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().expect("Retry-After in seconds");
    assert!(retry >= 1, "{what}: Retry-After {retry}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{what}: content type {ct}");
    let body: Value = resp.json().await.expect("a JSON body");
    let message = body["message"].as_str().or(body["error_description"].as_str()).unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {body}");
    body
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().to_vec()
}

/// A hashedrekord request for `message` signed by `key`, verified by a raw key or a certificate.
fn entry_request(key: &EcdsaKeyPair, spki: &[u8], certificate: Option<&[u8]>, message: &[u8]) -> String {
    let signature = key.sign(&SystemRandom::new(), message).unwrap();
    match certificate {
        None => sig_share_log::rekor::p256_request(&sha256(message), signature.as_ref(), spki),
        Some(cert) => json!({"hashedRekordRequestV002": {
            "digest": B64.encode(sha256(message)),
            "signature": {"content": B64.encode(signature.as_ref()), "verifier": {
                "x509Certificate": {"rawBytes": B64.encode(cert)}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}},
        }})
        .to_string(),
    }
}

async fn post_json(http: &reqwest::Client, url: &str, body: String) -> reqwest::Response {
    http.post(url).header("content-type", "application/json").body(body).send().await.unwrap()
}

/// A signing-certificate request for `token`'s identity `email` with a fresh key.
fn certificate_request(token: &str, email: &str) -> (EcdsaKeyPair, Vec<u8>, String) {
    let (key, spki) = p256_key();
    let pop = key.sign(&SystemRandom::new(), email.as_bytes()).unwrap();
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", B64.encode(&spki));
    let body = json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": B64.encode(pop)},
    });
    (key, spki, body.to_string())
}

/// Sends `n` requests made by `body`, `parallel` at a time; the statuses in order of sending,
/// and one refusal's response kept aside.
async fn flood(
    http: &reqwest::Client,
    url: &str,
    n: usize,
    parallel: usize,
    body: impl Fn(usize) -> String,
) -> (Vec<u16>, Option<reqwest::Response>) {
    let mut statuses = Vec::with_capacity(n);
    let mut refusal = None;
    for chunk in (0..n).collect::<Vec<_>>().chunks(parallel) {
        let mut sent = tokio::task::JoinSet::new();
        for &i in chunk {
            let (http, url, body) = (http.clone(), url.to_owned(), body(i));
            sent.spawn(async move { (i, post_json(&http, &url, body).await) });
        }
        let mut answers = sent.join_all().await;
        answers.sort_by_key(|(i, _)| *i);
        for (_, resp) in answers {
            statuses.push(resp.status().as_u16());
            if resp.status() == 429 && refusal.is_none() {
                refusal = Some(resp);
            }
        }
    }
    (statuses, refusal)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

/// Before: one dev token bought 2,000 certificates in 10 s, each permanent in the certificate
/// log. Now: the default 600 an hour per identity, then 429; another identity is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_cannot_buy_thousands_of_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev"], &[]).await;
    let issuer = format!("{url}/oidc");
    let alice = sig_share_dev_idp::client::device_login(&issuer, "alice@example.com").await.unwrap();
    let http = client_from("127.0.0.1");
    let cert_url = format!("{url}/api/v2/signingCert");
    let started = Instant::now();
    let (statuses, refusal) =
        flood(&http, &cert_url, 1000, 50, |_| certificate_request(&alice, "alice@example.com").2).await;
    let issued = count(&statuses, 201);
    // 600 at once, then one every 6 s refills.
    let bound = 600 + started.elapsed().as_secs() as usize / 6 + 1;
    assert!(issued >= 600 && issued <= bound, "issued {issued} of 1000 (bound {bound}): {statuses:?}");
    assert_eq!(issued + count(&statuses, 429), 1000, "{statuses:?}");
    let body = assert_refused(refusal.expect("a refusal"), "certificates per identity").await;
    assert_eq!(body["code"], 8, "{body}");
    assert!(body["message"].as_str().unwrap().contains("ca_certificates_per_identity"), "{body}");

    // Another identity, from the same address, is still served.
    let bob = sig_share_dev_idp::client::device_login(&issuer, "bob@example.com").await.unwrap();
    let resp = post_json(&http, &cert_url, certificate_request(&bob, "bob@example.com").2).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);

    // And the certificate log holds only what was issued (plus bob's).
    let metrics = reqwest::get(format!("{url}/ca/metrics")).await.unwrap().text().await.unwrap();
    let line = metrics.lines().find(|l| l.starts_with("sigshare_ca_issued_total")).expect(&metrics);
    let total: usize = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(total, issued + 1, "{line}");
    assert!(metrics.contains("sigshare_limits_refused_total{limit=\"ca_certificates_per_identity\"}"), "{metrics}");
}

/// One address cycling through identities (anyone can log in as anyone at a dev issuer) is
/// bounded per address; another address is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_buy_certificates_under_many_identities() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) =
        common::serve(&dir.path().join("data"), &["--dev", "--limit-ca-per-client", "20/h"], &[]).await;
    let issuer = format!("{url}/oidc");
    let cert_url = format!("{url}/api/v2/signingCert");
    let mut tokens = Vec::new();
    for i in 0..25 {
        let email = format!("user{i}@example.com");
        tokens.push((sig_share_dev_idp::client::device_login(&issuer, &email).await.unwrap(), email));
    }
    let http = client_from("127.0.0.3");
    let (statuses, refusal) =
        flood(&http, &cert_url, 25, 5, |i| certificate_request(&tokens[i].0, &tokens[i].1).2).await;
    assert_eq!(count(&statuses, 201), 20, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");
    let body = assert_refused(refusal.unwrap(), "certificates per client address").await;
    assert!(body["message"].as_str().unwrap().contains("ca_requests_per_client"), "{body}");
    let other = client_from("127.0.0.4");
    let resp = post_json(&other, &cert_url, certificate_request(&tokens[0].0, &tokens[0].1).2).await;
    assert_eq!(resp.status(), 201, "another address: {:?}", resp.text().await);
}

/// The log's write API per client address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_flood_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) =
        common::serve(&dir.path().join("data"), &["--dev", "--limit-log-writes", "100/min"], &[]).await;
    let entries = format!("{url}/api/v2/log/entries");
    let (key, spki) = p256_key();
    let http = client_from("127.0.0.5");
    let started = Instant::now();
    let (statuses, refusal) =
        flood(&http, &entries, 130, 26, |i| entry_request(&key, &spki, None, format!("flood {i}").as_bytes())).await;
    let logged = count(&statuses, 201);
    // 100 at once, then one every 0.6 s refills.
    let bound = 100 + (started.elapsed().as_secs_f64() / 0.6) as usize + 1;
    assert!(logged >= 100 && logged <= bound, "logged {logged} of 130 (bound {bound}): {statuses:?}");
    assert_eq!(logged + count(&statuses, 429), 130, "{statuses:?}");
    let body = assert_refused(refusal.unwrap(), "log writes").await;
    assert!(body["message"].as_str().unwrap().contains("log_writes_per_client"), "{body}");
    let other = client_from("127.0.0.6");
    let resp = post_json(&other, &entries, entry_request(&key, &spki, None, b"from elsewhere")).await;
    assert_eq!(resp.status(), 201, "another address: {:?}", resp.text().await);
    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sigshare_limits_refused_total{limit=\"log_writes_per_client\"}"), "{metrics}");
    assert!(metrics.contains("sigshare_log_rejected_total{reason=\"rate_limited\"}"), "{metrics}");
}

/// The TSA per client address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_flood_the_timestamp_authority() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev", "--limit-timestamps", "50/min"], &[]).await;
    let tsa = format!("{url}/api/v1/timestamp");
    let request = |http: &reqwest::Client| {
        let body = json!({"artifactHash": B64.encode(sha256(b"x")), "hashAlgorithm": "sha256", "certificates": true});
        http.post(&tsa).header("content-type", "application/json").body(body.to_string()).send()
    };
    let http = client_from("127.0.0.7");
    let started = Instant::now();
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..60 {
        let resp = request(&http).await.unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 && refusal.is_none() {
            refusal = Some(resp);
        }
    }
    // 50 at once, then one every 1.2 s refills.
    let (granted, bound) = (count(&statuses, 200), 50 + (started.elapsed().as_secs_f64() / 1.2) as usize + 1);
    assert!(granted >= 50 && granted <= bound, "granted {granted} (bound {bound}): {statuses:?}");
    let body = assert_refused(refusal.unwrap(), "timestamps").await;
    assert!(body["message"].as_str().unwrap().contains("timestamps_per_client"), "{body}");
    let resp = request(&client_from("127.0.0.8")).await.unwrap();
    assert_eq!(resp.status(), 200, "another address");
}

/// Before: nothing bounded the outstanding login codes of one client but the table's 10,000;
/// one client could hold them all and lock everybody out. Now: 20 per client address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_every_login_code() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev"], &[]).await;
    let start = format!("{url}/oidc/device_authorization");
    let ask = |http: reqwest::Client| {
        let start = start.clone();
        async move {
            http.post(&start)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("client_id=sigstore&scope=openid+email")
                .send()
                .await
                .unwrap()
        }
    };
    let http = client_from("127.0.0.9");
    let mut granted = 0;
    let mut refusal = None;
    for _ in 0..30 {
        let resp = ask(http.clone()).await;
        match resp.status().as_u16() {
            200 => granted += 1,
            429 => refusal = refusal.or(Some(resp)),
            s => panic!("status {s}"),
        }
    }
    assert_eq!(granted, 20);
    let body = assert_refused(refusal.unwrap(), "device codes per client").await;
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert_eq!(ask(client_from("127.0.0.10")).await.status(), 200, "another address");
}

/// A DSSE envelope of an in-toto statement about `subject`, padded to about `size` bytes, and
/// the PAE bytes an entry must sign for the store to keep it.
fn statement(subject: &[u8], size: usize) -> (String, Vec<u8>) {
    let payload = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": hex::encode(sha256(subject))}}],
        "predicateType": "https://example.com/padding",
        "predicate": {"padding": "p".repeat(size)},
    })
    .to_string();
    let payload_type = "application/vnd.in-toto+json";
    let pae =
        [format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes(), payload.as_bytes()]
            .concat();
    let envelope = json!({"payloadType": payload_type, "payload": B64.encode(&payload), "signatures": []});
    (envelope.to_string(), pae)
}

/// Bytes of the statements kept in a stack's data directory.
fn stored_statement_bytes(data: &Path) -> u64 {
    let dir = data.join("tlog/log/statements");
    std::fs::read_dir(&dir).map_or(0, |d| d.map(|e| e.unwrap().metadata().unwrap().len()).sum())
}

/// Logs an entry signing `pae` and asks the store to keep the statement.
async fn keep(
    http: &reqwest::Client,
    url: &str,
    key: &EcdsaKeyPair,
    spki: &[u8],
    cert: Option<&[u8]>,
    envelope: &str,
    pae: &[u8],
) -> reqwest::Response {
    let logged = post_json(http, &format!("{url}/api/v2/log/entries"), entry_request(key, spki, cert, pae)).await;
    assert!(logged.status().is_success(), "logging the entry: {:?}", logged.text().await);
    post_json(http, &format!("{url}/api/v1/statements"), envelope.to_owned()).await
}

/// Before: no quota (201 statements/s = ~1 TB/day from one client). Now: throwaway keys fill
/// only the uncertified share, and stop there; a signer with the deployment's certificate is
/// still kept; the store stays under its bounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throwaway_keys_cannot_fill_the_statement_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--dev", "--statements-max-bytes", "96KiB", "--statements-max-uncertified-bytes", "32KiB"];
    let (_server, url) = common::serve(&data, &args, &[]).await;
    let http = client_from("127.0.0.11");
    let mut kept = 0;
    let mut refusal = None;
    for i in 0..20 {
        let (key, spki) = p256_key(); // a new key each time: the per-signer count does not help
        let (envelope, pae) = statement(format!("junk {i}").as_bytes(), 4000);
        let resp = keep(&http, &url, &key, &spki, None, &envelope, &pae).await;
        match resp.status().as_u16() {
            201 => kept += 1,
            429 => {
                refusal = Some(resp);
                break;
            }
            s => panic!("status {s}: {:?}", resp.text().await),
        }
    }
    assert!(kept >= 5, "only {kept} kept before the share filled");
    let body = assert_refused(refusal.expect("the uncertified share fills"), "uncertified statements").await;
    assert!(body["message"].as_str().unwrap().contains("statement_uncertified_bytes"), "{body}");
    assert!(stored_statement_bytes(&data) <= 32 * 1024, "{} bytes stored", stored_statement_bytes(&data));

    // A signer with a certificate from this deployment's CA is still kept.
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "carol@example.com").await.unwrap();
    let (key, spki, req) = certificate_request(&token, "carol@example.com");
    let resp = post_json(&http, &format!("{url}/api/v2/signingCert"), req).await;
    assert_eq!(resp.status(), 201);
    let answer: Value = resp.json().await.unwrap();
    let pem = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"][0].as_str().unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let leaf = B64.decode(b64).unwrap();
    let mut certified = 0;
    let mut refusal = None;
    for i in 0..40 {
        let (envelope, pae) = statement(format!("carol {i}").as_bytes(), 4000);
        let resp = keep(&http, &url, &key, &spki, Some(&leaf), &envelope, &pae).await;
        match resp.status().as_u16() {
            201 => certified += 1,
            429 => {
                refusal = Some(resp);
                break;
            }
            s => panic!("status {s}: {:?}", resp.text().await),
        }
    }
    assert!(certified >= 10, "only {certified} certified statements kept");
    let body = assert_refused(refusal.expect("the whole store fills"), "the statement store").await;
    assert!(body["message"].as_str().unwrap().contains("statement_bytes"), "{body}");
    assert!(stored_statement_bytes(&data) <= 96 * 1024, "{} bytes stored", stored_statement_bytes(&data));
}

/// One signer keeps at most its count of statements; another signer is still kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signer_keeps_at_most_its_count_of_statements() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev", "--statements-per-signer", "3"], &[]).await;
    let http = client_from("127.0.0.12");
    let (key, spki) = p256_key();
    let mut statuses = Vec::new();
    let mut refusal = None;
    for i in 0..5 {
        let (envelope, pae) = statement(format!("mine {i}").as_bytes(), 100);
        let resp = keep(&http, &url, &key, &spki, None, &envelope, &pae).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 && refusal.is_none() {
            refusal = Some(resp);
        }
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    let body = assert_refused(refusal.unwrap(), "statements per signer").await;
    assert!(body["message"].as_str().unwrap().contains("statements_per_signer"), "{body}");
    // Keeping a statement again is not a new one.
    let (envelope, pae) = statement(b"mine 0", 100);
    assert_eq!(keep(&http, &url, &key, &spki, None, &envelope, &pae).await.status(), 201);
    let (other, other_spki) = p256_key();
    let (envelope, pae) = statement(b"theirs", 100);
    assert_eq!(keep(&http, &url, &other, &other_spki, None, &envelope, &pae).await.status(), 201);
}
