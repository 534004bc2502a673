//! The monitor watching identities on the whole stack (CA, certificate log, transparency log,
//! development identity provider) run in this process: people who log in and sign, a camera
//! enrolled by its operator, a certificate issued to someone who signs nothing, and an entry
//! someone logged with a certificate they made themselves in another's name, each reported as
//! what it is, from the trust config alone.

use std::sync::Arc;
use std::time::Duration;

use sig_share_ca::{Config as IssuersConfig, DeviceEnrollment, IssuerConfig, IssuerType};
use sig_share_monitor::event::Collect;
use sig_share_monitor::{Config, Event, LogTarget, Outcome, Watch, trust};
use sig_share_pki::x509_cert::der::asn1::Ia5String;
use sig_share_pki::x509_cert::ext::pkix::KeyUsages;
use sig_share_pki::x509_cert::ext::pkix::name::GeneralName;
use sig_share_pki::x509_cert::name::Name;
use sig_share_pki::{CertificateParams, KeyAlgorithm, Signer, SoftwareKey, ext};
use sig_share_server::{Options, Stack};
use sig_share_sign::SigningClient;
use sig_share_sign::token::IdentityToken;

const OPERATOR_SECRET: &str = "operator secret for the monitor test";

struct Running {
    url: String,
    issuer: String,
    stack: Stack,
    client: SigningClient,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{url}/oidc");
    let issuers = IssuersConfig { issuers: vec![IssuerConfig::exact(&issuer, IssuerType::Email)] };
    let options = Options {
        data: dir.path().join("data"),
        public_url: url.clone(),
        period: Duration::from_millis(50),
        issuers: issuers.clone(),
        oidc_url: Some(issuer.clone()),
        ca_key: None,
        witnesses: None,
    };
    let stack = Stack::open(&options).unwrap();
    stack.run_sequencers();
    let mut idp_config = sig_share_dev_idp::Config::new(&issuer);
    idp_config.device_poll_interval = Duration::from_secs(1);
    let idp = Arc::new(sig_share_dev_idp::DevIdp::new(idp_config).unwrap());
    let devices = DeviceEnrollment::new(OPERATOR_SECRET, format!("{url}/devices"));
    let router = sig_share_dev_idp::mount(stack.router(issuers, Some(devices)), idp);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let services =
        sig_share_sign::Services::from_signing_config(&stack.trust_config.signing_config, sig_share_sign::unix_now())
            .unwrap();
    let client = SigningClient::new(services).unwrap();
    Running { url, issuer, stack, client, _dir: dir }
}

impl Running {
    async fn token(&self, email: &str) -> IdentityToken {
        IdentityToken::new(sig_share_dev_idp::client::device_login(&self.issuer, email).await.unwrap())
    }

    /// Logs a signature over `artifact` as `email`: its log index.
    async fn sign(&self, email: &str, artifact: &[u8]) -> u64 {
        let session = self.client.certify(&self.token(email).await).await.unwrap();
        session.sign_sha256(&sig_share_sign::sha256(artifact)).await.unwrap().log_index
    }

    /// A monitor of both logs as the published trust config names them.
    fn monitor(&self, state: &std::path::Path, watch: Watch) -> Config {
        let root = self.stack.trust_config.trusted_root.clone();
        let timeout = Duration::from_secs(10);
        let (tlog_url, tlog_key) = trust::tlog_key(&root, None).unwrap();
        let (ctlog_url, ctlog_key) = trust::ctlog_key(&root, None).unwrap();
        let mut config = Config::new(state);
        config.tlog = Some(LogTarget { source: trust::tlog_source(&tlog_url, timeout).unwrap(), key: tlog_key });
        config.ctlog = Some(LogTarget { source: trust::ctlog_source(&ctlog_url, timeout).unwrap(), key: ctlog_key });
        config.watch = watch;
        config.trusted_root = Some(root);
        config
    }
}

async fn run(config: &Config) -> (Outcome, Vec<Event>) {
    let mut events = Collect::default();
    let outcome = sig_share_monitor::run_once(config, &mut events).await;
    for e in &events.0 {
        eprintln!("{e}");
    }
    (outcome, events.0)
}

/// A certificate naming `email` that `key` made for itself: no CA involved.
fn self_made_certificate(key: &SoftwareKey, email: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now();
    let validity = sig_share_pki::validity(now, now + Duration::from_secs(600)).unwrap();
    let name: Name = "CN=not a CA".parse().unwrap();
    let mut params = CertificateParams::new(name.clone(), name, key.public_key_der(), validity).unwrap();
    params.extensions = vec![
        ext::key_usage(KeyUsages::DigitalSignature).unwrap(),
        ext::extended_key_usage(&[sig_share_verify::certificate::CODE_SIGNING], false).unwrap(),
        ext::subject_alt_name(vec![GeneralName::Rfc822Name(Ia5String::new(email).unwrap())], false).unwrap(),
    ];
    let cert = sig_share_pki::issue(&params, key).unwrap();
    sig_share_pki::der::Encode::to_der(&cert).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_identities_issuers_and_devices_are_reported_from_both_logs() {
    let s = start().await;
    let alice_signed = s.sign("alice@example.com", b"alice's photo").await;
    let bob_signed = s.sign("bob@example.com", b"bob's photo").await;
    // Carol is certified but signs nothing: only the certificate log knows.
    s.client.certify(&s.token("carol@example.com").await).await.unwrap();
    // A camera, enrolled by its operator, signs a capture.
    let camera_key = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap());
    let chain = s.client.enroll_device(OPERATOR_SECRET, "cam-1", camera_key.as_ref()).await.unwrap();
    let camera_signed = s.client.session_with(camera_key, chain).unwrap();
    let camera_signed = camera_signed.sign_sha256(&sig_share_sign::sha256(b"a capture")).await.unwrap().log_index;
    // Someone logs an entry with a certificate they made naming alice.
    let mallory = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let forged = self_made_certificate(&mallory, "alice@example.com");
    let artifact = b"not alice's";
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let request = format!(
        r#"{{"hashedRekordRequestV002":{{"digest":"{}","signature":{{"content":"{}","verifier":{{"x509Certificate":{{"rawBytes":"{}"}},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}}}}}"#,
        b64(&sig_share_sign::sha256(artifact)),
        b64(&mallory.sign(artifact).unwrap()),
        b64(&forged)
    );
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v2/log/entries", s.url))
        .header("content-type", "application/json")
        .body(request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let forged_index: u64 = answer["logIndex"].as_str().unwrap().parse().unwrap();

    let state = tempfile::tempdir().unwrap();
    let watch = Watch {
        identities: vec!["alice@example.com".into(), "carol@example.com".into()],
        issuers: vec![],
        devices: vec!["cam-1".into()],
    };
    let config = s.monitor(state.path(), watch);
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent, "{events:?}");

    let entries: Vec<(u64, &str, Option<&str>, &str)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Entry { index, identity, device, certificate, .. } => {
                Some((*index, identity.as_str(), device.as_deref(), certificate.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0].0, alice_signed);
    assert_eq!(entries[0].1, "alice@example.com");
    assert!(entries[0].3.starts_with("trusted"), "{}", entries[0].3);
    assert_eq!((entries[1].0, entries[1].2), (camera_signed, Some("cam-1")));
    assert!(entries[1].3.starts_with("trusted"), "{}", entries[1].3);
    assert_eq!((entries[2].0, entries[2].1), (forged_index, "alice@example.com"));
    assert!(entries[2].3.starts_with("untrusted"), "{}", entries[2].3);
    assert!(!entries.iter().any(|e| e.0 == bob_signed));
    let Some(Event::Entry { issuer, digest, watched, .. }) = events.iter().find(|e| matches!(e, Event::Entry { .. }))
    else {
        panic!()
    };
    assert_eq!(issuer.as_deref(), Some(s.issuer.as_str()));
    let want = sig_share_sign::sha256(b"alice's photo").iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(digest.as_deref(), Some(format!("sha256:{want}").as_str()));
    assert_eq!(watched, &["identity alice@example.com"]);

    // The certificate log: alice's, carol's and the camera's certificates were issued.
    let certificates: Vec<(&str, Option<&str>, &str)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Certificate { identity, issuer, entry_type, .. } => {
                Some((identity.as_str(), issuer.as_deref(), entry_type.as_str()))
            }
            _ => None,
        })
        .collect();
    let devices = format!("{}/devices", s.url);
    assert_eq!(
        certificates,
        [
            ("alice@example.com", Some(s.issuer.as_str()), "precert"),
            ("carol@example.com", Some(s.issuer.as_str()), "precert"),
            ("urn:sig-share:device:cam-1", Some(devices.as_str()), "precert"),
        ]
    );
    let logs: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Checkpoint { log, .. } => Some(log.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(logs, ["tlog", "ctlog"]);

    // A second run reports nothing again; a new signing by alice is reported once.
    let (outcome, events) = run(&config).await;
    assert_eq!(outcome, Outcome::Consistent);
    assert!(!events.iter().any(|e| matches!(e, Event::Entry { .. } | Event::Certificate { .. })), "{events:?}");
    let again = s.sign("alice@example.com", b"alice's second photo").await;
    let (_, events) = run(&config).await;
    let reported: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Entry { index, .. } | Event::Certificate { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(reported.len(), 2, "{events:?}");
    assert_eq!(reported[0], again);

    // Watching the provider itself reports everyone it vouched for.
    let by_issuer = Watch { issuers: vec![s.issuer.clone()], ..Watch::default() };
    let fresh = tempfile::tempdir().unwrap();
    let (_, events) = run(&s.monitor(fresh.path(), by_issuer)).await;
    let people: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Certificate { identity, .. } => Some(identity.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(people.into_iter().collect::<Vec<_>>(), ["alice@example.com", "bob@example.com", "carol@example.com"]);
}
