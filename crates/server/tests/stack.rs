//! The whole stack from one data directory: every service answers at its documented route, the
//! published trust config is what sigstore-python's strict parser accepts, and reopening the
//! directory keeps every key.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::Digest;
use sig_share_ca::{Config, IssuerConfig, IssuerType};
use sig_share_server::trust_config::TRUST_CONFIG_PATH;
use sig_share_server::{Options, Stack};
use sig_share_verify::trust::ClientTrustConfig;

fn options(dir: &std::path::Path, url: &str) -> Options {
    Options {
        data: dir.to_owned(),
        public_url: url.to_owned(),
        period: Duration::from_millis(50),
        issuers: Config { issuers: vec![IssuerConfig::exact("https://issuer.example", IssuerType::Email)] },
        oidc_url: Some("https://issuer.example".into()),
        ca_key: None,
        witnesses: None,
    }
}

async fn serve(stack: &Stack, listener: tokio::net::TcpListener, options: &Options) {
    let router = stack.router(options.issuers.clone(), None);
    stack.run_sequencers();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

#[tokio::test]
async fn every_service_answers_and_the_trust_config_parses_in_sigstore_python() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let opts = options(dir.path(), &url);
    let stack = Stack::open(&opts).unwrap();
    serve(&stack, listener, &opts).await;
    let http = reqwest::Client::new();

    let served = http.get(format!("{url}{TRUST_CONFIG_PATH}")).send().await.unwrap().text().await.unwrap();
    let on_disk = std::fs::read_to_string(stack.trust_config_path()).unwrap();
    assert_eq!(served, on_disk);
    let config = ClientTrustConfig::from_json(&served).unwrap();
    assert_eq!(config.signing_config.tsa_urls[0].url, format!("{url}/api/v1/timestamp"));
    assert_eq!(config.trusted_root.ctlogs[0].base_url, format!("{url}/ctlog"));
    assert_eq!(config.trusted_root.timestamp_authorities[0].cert_chain.certificates.len(), 2);
    // uint64-free but strict: no field sigstore's models do not know.
    let raw: Value = serde_json::from_str(&served).unwrap();
    assert!(raw["trustedRoot"]["tlogs"][0].get("checkpointKeyId").is_none());

    if let Some(py) = sig_share_testdata::sigstore_python() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/sigstore-python/check_trust_config.py");
        let out = std::process::Command::new(py).arg(script).arg(stack.trust_config_path()).output().unwrap();
        assert!(out.status.success(), "sigstore-python refused it: {}", String::from_utf8_lossy(&out.stderr));
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["ca_url"], url);
        // sigstore-python's Rekor v2 client appends its API prefix to the configured URL.
        assert_eq!(summary["tlog_urls"], json!([format!("{url}/api/v2")]));
        assert_eq!(summary["fulcio_certs"], 1);
        assert_eq!(summary["tsa_authorities"], 1);
    }

    // A new log's first entry is the CA root signed by the CA key; only once.
    stack.log_genesis().await.unwrap();
    stack.log_genesis().await.unwrap();
    assert_eq!(stack.tlog.latest().size, 1);
    let root = stack.ca.chain().last().unwrap();
    let digest = sig_share_log::rekor::digest_key("sha256", &sha2::Sha256::digest(der::Encode::to_der(root).unwrap()));
    assert_eq!(stack.tlog.lookup(&digest, 10).unwrap(), [0]);

    for (path, want) in [
        ("/api/v2/checkpoint", 200),
        ("/ctlog/checkpoint", 200),
        ("/ctlog/ct/v1/get-roots", 200),
        ("/api/v2/trustBundle", 200),
        ("/api/v2/configuration", 200),
        ("/api/v1/timestamp/certchain", 200),
        ("/healthz", 200),
        ("/no/such/route", 404),
    ] {
        let resp = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), want, "{path}");
    }
    let cp = http.get(format!("{url}/ctlog/checkpoint")).send().await.unwrap().text().await.unwrap();
    assert!(cp.starts_with(&format!("{}/ctlog\n", stack.tlog.config().origin)), "{cp}");
    assert_eq!(cp.matches("\u{2014} ").count(), 2, "Ed25519 and RFC 6962 signatures: {cp}");
    let ts = http
        .post(format!("{url}/api/v1/timestamp"))
        .json(&json!({"artifactHash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "hashAlgorithm": "sha256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ts.status().as_u16(), 200);
    let configuration: Value =
        http.get(format!("{url}/api/v2/configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(configuration["issuers"][0]["issuerUrl"], "https://issuer.example");
    assert_eq!(configuration["issuers"][0]["challengeClaim"], "email");
}

#[tokio::test]
async fn reopening_the_data_directory_keeps_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), "http://127.0.0.1:1");
    let first = Stack::open(&opts).unwrap().trust_config;
    let second = Stack::open(&opts).unwrap().trust_config;
    assert_eq!(first, second);
    // A data directory belongs to one deployment: another host name is another log identity.
    let other = options(dir.path(), "http://example.org");
    let err = Stack::open(&other).unwrap_err().to_string();
    assert!(err.contains("origin"), "{err}");
}
