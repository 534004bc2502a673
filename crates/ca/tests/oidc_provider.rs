//! Against a real OpenID provider no one here wrote: panva's `oidc-provider` 8.8.1 from npm
//! (installed by `scripts/test` into `interop/oidc-provider`). It issues the tokens; the CA finds
//! its keys through discovery and JWKS, issues certificates, and follows a key rotation.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ClientKey, Stack, chain_of};
use serde_json::Value;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

fn peer_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/oidc-provider");
    if dir.join("node_modules/oidc-provider").exists() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("oidc-provider is not installed in {}: scripts/test installs it", dir.display());
    }
    eprintln!("skipping: oidc-provider is not installed (run `npm ci --prefix interop/oidc-provider`)");
    None
}

struct Provider {
    child: Child,
    url: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[expect(clippy::zombie_processes, reason = "Provider's Drop kills and reaps the child")]
async fn start(dir: &Path, port: u16, keys: &Path, rotate: bool) -> Provider {
    let child = Command::new("node")
        .arg(dir.join("dev-oidc.mjs"))
        .env("PORT", port.to_string())
        .env("KEYS", keys)
        .env("ROTATE", if rotate { "1" } else { "0" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node is installed");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/.well-known/openid-configuration")).await.is_ok_and(|r| r.status().is_success())
        {
            return Provider { child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("oidc-provider did not start on {url}");
}

async fn token(provider: &Provider, email: &str) -> (String, String) {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/token", provider.url))
        .form(&[("grant_type", "urn:sig-share:test-token"), ("client_id", "sigstore"), ("email", email)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = answer["id_token"].as_str().unwrap_or_else(|| panic!("no id_token: {answer}")).to_owned();
    (t, answer["kid"].as_str().unwrap().to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn tokens_from_oidc_provider_buy_certificates_across_a_key_rotation() {
    let Some(dir) = peer_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys.json");
    let port = free_port();
    let provider = start(&dir, port, &keys, false).await;
    let stack = Stack::start(&provider.url).await;
    let client = ClientKey::p256();

    let (t1, kid1) = token(&provider, "alice@example.com").await;
    let (status, answer) = stack.post(&client.pop_request(&t1, "alice@example.com"), None).await;
    assert_eq!(status, 201, "{answer}");
    let leaf = &chain_of(&answer)[0];
    let san = leaf.tbs_certificate().get_extension::<SubjectAltName>().unwrap().expect("a SAN").1;
    assert!(matches!(&san.0[..], [GeneralName::Rfc822Name(e)] if e.as_str() == "alice@example.com"));

    // The provider rotates: a new signing key first, the old one still published.
    drop(provider);
    let provider = start(&dir, port, &keys, true).await;
    let (t2, kid2) = token(&provider, "alice@example.com").await;
    assert_ne!(kid1, kid2, "the rotated provider signs with a new key");
    let (status, answer) = stack.post(&client.pop_request(&t2, "alice@example.com"), None).await;
    assert_eq!(status, 201, "a token under the new key: {answer}");
    // Tokens issued before the rotation stay good while their key is published.
    let (status, _) = stack.post(&client.pop_request(&t1, "alice@example.com"), None).await;
    assert_eq!(status, 201);
    // The token binds the identity: a proof over another email is refused.
    let (status, answer) = stack.post(&client.pop_request(&t2, "bob@example.com"), None).await;
    assert_eq!(status, 400, "a proof over another email: {answer}");
    assert_eq!(stack.logged(), 3);
}
