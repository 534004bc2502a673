//! The certificates issued to an identity, through the whole stack: people who log in at the
//! development provider (the real device flow) and a device enrolled by its operator get
//! certificates from the CA, and the certificate log's `/ctlog/api/v1/certificates` lists exactly
//! each identity's, each the one its holder got (its Merkle leaf rebuilt from the final
//! certificate and its SCT), proven under a checkpoint signed by the certificate log.

use std::sync::Arc;
use std::time::Duration;

use der::asn1::OctetString;
use der::{Decode, Encode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sig_share_ca::{Config, DeviceEnrollment, IssuerConfig, IssuerType};
use sig_share_ct::TreeHeadVerifier;
use sig_share_ct::chain::SCT_LIST_OID;
use sig_share_ct::issued::{CertificatesAnswer, EntryType, IssuedCertificate};
use sig_share_pki::{KeyAlgorithm, SoftwareKey, Tbs};
use sig_share_server::{Options, Stack};
use sig_share_sign::SigningClient;
use sig_share_sign::token::IdentityToken;
use sig_share_tlog::static_ct::{self, SignedEntry, TimestampedEntry};
use sig_share_tlog::{Ed25519Verifier, Hash, merkle};
use x509_cert::Certificate;

const OPERATOR_SECRET: &str = "operator secret for the test";

struct Running {
    url: String,
    issuer: String,
    stack: Stack,
    client: SigningClient,
    _dir: tempfile::TempDir,
}

/// The stack with the development provider and device enrollment, on a free loopback port.
async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{url}/oidc");
    let issuers = Config { issuers: vec![IssuerConfig::exact(&issuer, IssuerType::Email)] };
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
    /// A certificate for `email`, logged in through the development provider's device flow.
    async fn certificate_for(&self, email: &str) -> Certificate {
        let token = sig_share_dev_idp::client::device_login(&self.issuer, email).await.unwrap();
        let session = self.client.certify(&IdentityToken::new(token)).await.unwrap();
        Certificate::from_der(&session.chain()[0]).unwrap()
    }

    async fn certificates(&self, query: &[(&str, &str)]) -> (u16, Value) {
        let url = format!("{}/ctlog/api/v1/certificates", self.url);
        let resp = reqwest::Client::new().get(url).query(query).send().await.unwrap();
        assert_eq!(resp.headers()["content-type"], "application/json");
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// The certificates listed for `query`, each checked with [`IssuedCertificate::verify`]
    /// against the certificate log as the published trust config names it.
    async fn listed(&self, query: &[(&str, &str)]) -> Vec<IssuedCertificate> {
        let (status, answer) = self.certificates(query).await;
        assert_eq!(status, 200, "{answer}");
        let answer: CertificatesAnswer = serde_json::from_value(answer).unwrap();
        assert!(!answer.truncated);
        let trusted = self.trusted_ct_key();
        for c in &answer.certificates {
            c.verify(&trusted).unwrap_or_else(|e| panic!("entry {}: {e}", c.log_index));
            assert_eq!(c.inclusion_proof.checkpoint.envelope, answer.checkpoint);
        }
        answer.certificates
    }

    /// The certificate log's RFC 6962 key from the trust config clients pin: all a browser has.
    fn trusted_ct_key(&self) -> TreeHeadVerifier {
        let ctlog = &self.stack.trust_config.trusted_root.ctlogs[0];
        let spki = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &ctlog.public_key.raw_bytes);
        let origin = format!("{}/ctlog", sig_share_server::stack::host_of(&ctlog.base_url).unwrap());
        TreeHeadVerifier::new(&origin, &spki.unwrap())
    }

    /// The certificate log's Ed25519 checkpoint key, from its data directory.
    fn ct_key(&self) -> Ed25519Verifier {
        let vkey = std::fs::read_to_string(self.stack.data.join("ctlog/log.pub")).unwrap();
        Ed25519Verifier::from_vkey(vkey.trim()).unwrap()
    }
}

/// Checks, from the final certificate a holder got, that `listed` is its log entry: the
/// precertificate's leaf is the final certificate's TBS without its SCT list, under the CA's key
/// hash, at the time and index of the embedded SCT; that leaf is `leafInput`, and the proof
/// takes it to the root of a checkpoint the certificate log signed.
fn assert_is_the_entry_of(listed: &IssuedCertificate, cert: &Certificate, ca: &Certificate, key: &Ed25519Verifier) {
    let ext = cert.tbs_certificate().extensions().unwrap().iter().find(|e| e.extn_id == SCT_LIST_OID).unwrap();
    let list = OctetString::from_der(ext.extn_value.as_bytes()).unwrap();
    let sct = static_ct::Sct::parse(&static_ct::parse_sct_list(list.as_bytes()).unwrap()[0]).unwrap();
    let index = static_ct::parse_leaf_index(&sct.extensions).unwrap();
    assert_eq!(listed.log_index, index.to_string());
    assert_eq!(listed.entry_type, EntryType::Precert);
    let mut tbs = Tbs::of(cert).unwrap();
    tbs.remove_extension(&SCT_LIST_OID);
    let ca_key = ca.tbs_certificate().subject_public_key_info().to_der().unwrap();
    let entry = TimestampedEntry {
        timestamp: sct.timestamp,
        entry: SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(ca_key).into(),
            tbs_certificate: tbs.to_der().unwrap(),
        },
        extensions: sct.extensions,
    };
    let leaf = entry.merkle_tree_leaf().unwrap();
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    assert_eq!(listed.leaf_input, b64(&leaf));
    assert_eq!(listed.timestamp, sct.timestamp.to_string());
    let p = &listed.inclusion_proof;
    let (size, root) = (p.tree_size.parse().unwrap(), Hash::from_base64(&p.root_hash).unwrap());
    let hashes: Vec<Hash> = p.hashes.iter().map(|h| Hash::from_base64(h).unwrap()).collect();
    merkle::verify_inclusion(index, size, &Hash::leaf(&leaf), &hashes, &root).unwrap();
    let signed = sig_share_tlog::SignedCheckpoint::verify(p.checkpoint.envelope.as_bytes(), key).unwrap();
    assert_eq!((signed.checkpoint.size, signed.checkpoint.root), (size, root));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_log_lists_exactly_an_identitys_certificates_with_proofs() {
    let s = start().await;
    let ca = s.stack.ca.chain().last().unwrap().clone();
    let alice = vec![s.certificate_for("alice@example.com").await, s.certificate_for("alice@example.com").await];
    let bob = s.certificate_for("bob@example.com").await;
    // A camera enrolled by its operator: a year-long certificate naming the device.
    let camera_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let camera = s.client.enroll_device(OPERATOR_SECRET, "camera-7", &camera_key).await.unwrap();
    let camera = Certificate::from_der(&camera[0]).unwrap();

    // Alice's two and nothing else, oldest first, each the certificate she holds.
    let listed = s.listed(&[("identity", "alice@example.com")]).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (entry, cert) in listed.iter().zip(&alice) {
        assert_is_the_entry_of(entry, cert, &ca, &s.ct_key());
        assert_eq!((entry.identity.as_str(), entry.issuer.as_deref()), ("alice@example.com", Some(s.issuer.as_str())));
    }
    // Named with the provider that vouched for her: the same two; with another, none.
    let with_issuer = s.listed(&[("identity", "alice@example.com"), ("issuer", &s.issuer)]).await;
    assert_eq!(with_issuer, listed);
    let devices = format!("{}/devices", s.url);
    assert!(s.listed(&[("identity", "alice@example.com"), ("issuer", &devices)]).await.is_empty());

    // Bob's one is his, not hers.
    let listed = s.listed(&[("identity", "bob@example.com")]).await;
    assert_eq!(listed.len(), 1);
    assert_is_the_entry_of(&listed[0], &bob, &ca, &s.ct_key());

    // The camera's, on its operator's word.
    let listed = s.listed(&[("identity", "urn:sig-share:device:camera-7"), ("issuer", &devices)]).await;
    assert_eq!(listed.len(), 1);
    assert_is_the_entry_of(&listed[0], &camera, &ca, &s.ct_key());
    assert_eq!(listed[0].issuer.as_deref(), Some(devices.as_str()));

    // Someone never certified: an empty list, not an error; bad input: a JSON 400.
    assert!(s.listed(&[("identity", "carol@example.com")]).await.is_empty());
    let (status, refusal) = s.certificates(&[("issuer", &s.issuer)]).await;
    assert_eq!((status, refusal["code"].clone(), refusal["details"].clone()), (400, 3.into(), serde_json::json!([])));
    let (status, _) = s.certificates(&[("identity", &"x".repeat(2000))]).await;
    assert_eq!(status, 400);
}
