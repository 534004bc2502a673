//! `sig-share serve --dev` and `sig-share trust` as a user meets them: the server starts, a
//! real device-flow login at its development identity provider buys a certificate, the trust
//! config is pinned and shown, and the certificate chains to the pinned CA.

mod common;

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{Server, sig_share};
use serde_json::{Value, json};

async fn start(data: &std::path::Path, extra: &[&str]) -> (Server, String) {
    common::serve(data, extra, &[]).await
}

async fn start_with(data: &std::path::Path, extra: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    common::serve(data, extra, envs).await
}

#[tokio::test]
async fn serve_dev_issues_certificates_that_chain_to_the_pinned_trust_config() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url) = start(&dir.path().join("data"), &["--dev"]).await;

    // Pin the trust config; the summary names every part.
    let pinned = dir.path().join("pinned.json");
    let (code, out, err) = sig_share(&["trust", "pin", &url, "--to", pinned.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["ca_urls"], json!([url]));
    assert_eq!(summary["oidc_urls"], json!([format!("{url}/oidc")]));
    assert_eq!(summary["certificate_logs"][0]["url"], format!("{url}/ctlog"));
    assert_eq!(summary["timestamp_authorities"][0]["certificates"], 2);
    let fingerprint = summary["certificate_authorities"][0]["root_sha256"].as_str().unwrap().to_owned();
    let (code, out, _) = sig_share(&["trust", "show", pinned.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains(&fingerprint) && out.contains("sig-share CA"), "{out}");

    // A wrong expected fingerprint pins nothing.
    let other = dir.path().join("other.json");
    let (code, _, err) = sig_share(&["trust", "pin", &url, "--to", other.to_str().unwrap(), "--expect-ca", "00ff"]);
    assert_ne!(code, 0);
    assert!(err.contains("nothing pinned"), "{err}");
    assert!(!other.exists());
    let (code, _, _) = sig_share(&["trust", "pin", &url, "--to", other.to_str().unwrap(), "--expect-ca", &fingerprint]);
    assert_eq!(code, 0);

    // A real device-flow login at the development provider, then a certificate from the CA.
    let answer = certificate(&url, "erin@example.com").await;
    let chain = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"].as_array().unwrap();

    // The chain's root is the pinned CA.
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(&pinned).unwrap()).unwrap();
    let root_b64 = pinned["trustedRoot"]["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"]
        .as_str()
        .unwrap();
    let root_pem = chain[1].as_str().unwrap();
    let root_der: String = root_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(root_der, root_b64);
    let leaf = dir.path().join("leaf.pem");
    let root = dir.path().join("root.pem");
    std::fs::write(&leaf, chain[0].as_str().unwrap()).unwrap();
    std::fs::write(&root, root_pem).unwrap();
    let verified = Command::new("openssl").arg("verify").arg("-CAfile").arg(&root).arg(&leaf).output().unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));

    // Stopped, both logs check clean: the certificate log re-derived from its data tiles.
    drop(server);
    let data = dir.path().join("data");
    let (code, out, err) =
        sig_share(&["log", "check", "--certificate-log", "--json", "--data", data.join("ctlog").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["size"].clone(), report["state_checked"].clone()),
        (json!(true), json!(1), json!(true))
    );
    let (code, out, _) = sig_share(&["log", "check", "--data", data.join("tlog").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    // A certificate log is not a transparency log: checked as one, it is refused.
    let (code, _, _) = sig_share(&["log", "check", "--data", data.join("ctlog").to_str().unwrap()]);
    assert_ne!(code, 0);
}

#[test]
fn serve_refuses_to_start_without_an_issuer_and_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, err) = sig_share(&["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--issuers") && err.contains("--dev"), "{err}");
    let issuers = dir.path().join("issuers.json");
    std::fs::write(&issuers, r#"{"issuers": [{"url": "http://issuer.example", "type": "email"}]}"#).unwrap();
    let (code, _, err) = sig_share(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:1",
        "--issuers",
        issuers.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("plain http is allowed only on loopback"), "{err}");
    let (code, _, err) = sig_share(&["trust", "show", dir.path().join("none.json").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("sig-share trust pin"), "{err}");
}

/// Logs in at the server's development provider (a real device flow) and gets a certificate.
async fn certificate(url: &str, email: &str) -> Value {
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), email).await.unwrap();
    let key =
        aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        aws_lc_rs::signature::KeyPair::public_key(&key),
    )
    .unwrap();
    let b64 = BASE64.encode(spki.as_ref());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"));
    let pop = key.sign(&aws_lc_rs::rand::SystemRandom::new(), email.as_bytes()).unwrap();
    let body = json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": BASE64.encode(pop.as_ref())},
    });
    let resp = reqwest::Client::new().post(format!("{url}/api/v2/signingCert")).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    answer
}

#[tokio::test]
async fn the_ca_key_can_live_in_a_pkcs11_token() {
    let Some(module) = sig_share_testdata::softhsm2_module() else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = common::softhsm_token(dir.path(), "ca");
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let uri = format!("pkcs11:token=ca;object=sig-share-ca?module-path={}", module.display());

    let out = Command::new(env!("CARGO_BIN_EXE_sig-share"))
        .args(["ca", "keygen", &uri])
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let public_pem = String::from_utf8(out.stdout).unwrap();
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{public_pem}");
    // The same label again is refused: keys are never silently replaced.
    let again = Command::new(env!("CARGO_BIN_EXE_sig-share"))
        .args(["ca", "keygen", &uri])
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(!again.status.success());

    let data = dir.path().join("data");
    {
        let (_server, url) = start_with(&data, &["--dev", "--ca-key", &uri], &envs).await;
        let answer = certificate(&url, "frank@example.com").await;
        let chain = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"].as_array().unwrap();
        let (leaf, root) = (dir.path().join("leaf.pem"), dir.path().join("root.pem"));
        std::fs::write(&leaf, chain[0].as_str().unwrap()).unwrap();
        std::fs::write(&root, chain[1].as_str().unwrap()).unwrap();
        let verified = Command::new("openssl").arg("verify").arg("-CAfile").arg(&root).arg(&leaf).output().unwrap();
        assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
        // The root certifies the token's key, and no key file was written.
        let key = Command::new("openssl").args(["x509", "-noout", "-pubkey", "-in"]).arg(&root).output().unwrap();
        assert_eq!(String::from_utf8(key.stdout).unwrap().trim(), public_pem.trim());
        assert!(!data.join("ca/ca.key").exists());
    }
    // Without --ca-key the data directory's CA cannot sign, and says what to pass.
    let (code, _, err) = sig_share(&["serve", "--dev", "--listen", "127.0.0.1:1", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--ca-key"), "{err}");
}

/// The real sigstore-python (pinned, from PyPI) signs against the stack with a token from its
/// development provider and verifies the bundle with the pinned trust config: its CA request
/// (CSR + Bearer), the certificate profile and SCT, the TSA, the Rekor v2 log, the checkpoint and
/// inclusion proof all pass its own checks. A tampered file or another identity fails.
#[tokio::test]
async fn sigstore_python_signs_and_verifies_against_the_stack() {
    let Some(python) = sig_share_testdata::sigstore_python() else { return };
    let sigstore = python.with_file_name("sigstore");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, url) = start(&data, &["--dev"]).await;
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "grace@example.com").await.unwrap();
    let trust = data.join("trust-config.json");
    let file = dir.path().join("photo.txt");
    std::fs::write(&file, b"a picture, in words").unwrap();
    let bundle = dir.path().join("photo.sigstore.json");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(&sigstore).arg("--trust-config").arg(&trust).args(args).output().unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let (ok, out) = run(&[
        &os("sign"),
        &os("--identity-token"),
        &os(&token),
        &os("--bundle"),
        bundle.as_os_str(),
        file.as_os_str(),
    ]);
    assert!(ok, "sigstore sign failed: {out}");
    let verify = |identity: &str, path: &std::path::Path| {
        run(&[
            &os("verify"),
            &os("identity"),
            &os("--bundle"),
            bundle.as_os_str(),
            &os("--cert-identity"),
            &os(identity),
            &os("--cert-oidc-issuer"),
            &os(&format!("{url}/oidc")),
            path.as_os_str(),
        ])
    };
    let (ok, out) = verify("grace@example.com", &file);
    assert!(ok && out.contains("OK"), "sigstore verify refused our stack's bundle: {out}");
    let (ok, _) = verify("mallory@example.com", &file);
    assert!(!ok, "another identity must not verify");
    let tampered = dir.path().join("tampered.txt");
    std::fs::write(&tampered, b"a picture, in other words").unwrap();
    let (ok, _) = verify("grace@example.com", &tampered);
    assert!(!ok, "a tampered file must not verify");
    // The bundle carries a Rekor v2 entry and an RFC 3161 timestamp from this stack.
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"], "0.0.2");
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"].as_array().unwrap().len(),
        1
    );
}

/// The development provider keeps its key in the data directory: a token from before a restart
/// still buys a certificate after it.
#[tokio::test]
async fn dev_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = common::free_port();
    let (server, url) = common::serve_on(port, &data, &["--dev"], &[]).await;
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "judy@example.com").await.unwrap();
    drop(server);
    let (_server, url) = common::serve_on(port, &data, &["--dev"], &[]).await;
    let key =
        aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        aws_lc_rs::signature::KeyPair::public_key(&key),
    )
    .unwrap();
    let pop = key.sign(&aws_lc_rs::rand::SystemRandom::new(), b"judy@example.com").unwrap();
    let body = json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {"publicKey": {"content": BASE64.encode(spki.as_ref())}, "proofOfPossession": BASE64.encode(pop.as_ref())},
    });
    let resp = reqwest::Client::new().post(format!("{url}/api/v2/signingCert")).json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201, "{}", resp.text().await.unwrap());
}
