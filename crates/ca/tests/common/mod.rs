//! A CA on a real certificate log, an OIDC issuer whose keys the test controls, and a client
//! that speaks both request forms.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as B64URL};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Sequence};
use serde_json::{Value, json};
use sig_share_ca::{CaService, CertificateAuthority, Config, HttpKeySource, IssuerConfig, IssuerType, TokenVerifier};
use sig_share_ct::CertificateLog;
use sig_share_log::LogConfig;
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use x509_cert::Certificate;
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// An RSA signing key with its JWK.
pub struct RsaKey {
    pub kid: String,
    pkcs1: Vec<u8>,
    pub jwk: Value,
    /// The public key as PKCS#1 DER: what an HS256 confusion attack would use as the secret.
    pub public_pkcs1: Vec<u8>,
}

#[derive(Sequence)]
struct PrivateKeyInfo {
    version: u8,
    algorithm: AlgorithmIdentifierOwned,
    private_key: OctetString,
}

#[derive(Sequence)]
struct RsaPublic<'a> {
    n: der::asn1::UintRef<'a>,
    e: der::asn1::UintRef<'a>,
}

impl RsaKey {
    pub fn generate(kid: &str) -> RsaKey {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap();
        let info = PrivateKeyInfo::from_der(pkcs8.as_ref()).unwrap();
        let pkcs1 = info.private_key.as_bytes().to_vec();
        let public = key.public_key();
        let public_pkcs1 =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&public).unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(public_pkcs1.as_ref()).unwrap();
        let rsa_public = spki.subject_public_key.raw_bytes().to_vec();
        let parts = RsaPublic::from_der(&rsa_public).unwrap();
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": B64URL.encode(parts.n.as_bytes()), "e": B64URL.encode(parts.e.as_bytes()),
        });
        RsaKey { kid: kid.into(), pkcs1, jwk, public_pkcs1: rsa_public }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_rsa_der(&self.pkcs1)).unwrap()
    }
}

/// An OIDC issuer serving discovery and a JWKS the test can change.
pub struct TestIssuer {
    pub url: String,
    pub keys: Arc<Mutex<Vec<RsaKey>>>,
    pub jwks_fetches: Arc<Mutex<u32>>,
}

impl TestIssuer {
    pub async fn start() -> TestIssuer {
        TestIssuer::start_with_delay(Duration::ZERO).await
    }

    /// An issuer whose discovery document takes `delay` to answer.
    pub async fn start_with_delay(delay: Duration) -> TestIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(vec![RsaKey::generate("k1")]));
        let fetches = Arc::new(Mutex::new(0));
        let (k, f, u) = (keys.clone(), fetches.clone(), url.clone());
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let u = u.clone();
                    async move {
                        tokio::time::sleep(delay).await;
                        axum::Json(json!({"issuer": u, "jwks_uri": format!("{u}/jwks")}))
                    }
                }),
            )
            .route(
                "/jwks",
                get(move || {
                    let (k, f) = (k.clone(), f.clone());
                    async move {
                        *f.lock().unwrap() += 1;
                        let keys: Vec<Value> = k.lock().unwrap().iter().map(|k| k.jwk.clone()).collect();
                        axum::Json(json!({ "keys": keys }))
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestIssuer { url, keys, jwks_fetches: fetches }
    }

    /// Standard claims for `email`, valid now.
    pub fn claims(&self, email: &str) -> Value {
        let now = now_secs();
        json!({
            "iss": self.url, "sub": format!("user-{email}"), "aud": "sigstore",
            "email": email, "email_verified": true, "iat": now, "exp": now + 300,
        })
    }

    /// A token signed with the current (first) key.
    pub fn token(&self, claims: &Value) -> String {
        self.keys.lock().unwrap()[0].sign(claims)
    }

    /// Publishes a new signing key first, keeping the old ones listed.
    pub fn rotate(&self, kid: &str) {
        self.keys.lock().unwrap().insert(0, RsaKey::generate(kid));
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A CA with its certificate log, served over HTTP.
pub struct Stack {
    pub url: String,
    pub ct: CertificateLog,
    pub root: Certificate,
    pub ct_dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start(issuer_url: &str) -> Stack {
        let config = Config { issuers: vec![IssuerConfig::exact(issuer_url, IssuerType::Email)] };
        Stack::with_config(config).await
    }

    pub async fn with_config(config: Config) -> Stack {
        let ct_dir = tempfile::tempdir().unwrap();
        let ca_key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap());
        let now = SystemTime::now();
        let name = "CN=sig-share test CA,O=sig-share".parse().unwrap();
        let root = sig_share_pki::self_signed_ca(
            ca_key.as_ref(),
            name,
            now - Duration::from_secs(3600),
            now + Duration::from_secs(86400),
        )
        .unwrap();
        let mut log_config = LogConfig::new("ct.test/log");
        log_config.period = Duration::from_millis(50);
        let ct = sig_share_ct::embedded::open(ct_dir.path(), log_config, vec![root.to_der().unwrap()]).unwrap();
        tokio::spawn(ct.log().clone().run_sequencer());
        let ca = CertificateAuthority::new(ca_key, vec![root.clone()], ct.clone()).unwrap();
        let verifier = TokenVerifier::new(config, HttpKeySource::new(Duration::from_secs(600), Duration::ZERO));
        let devices = sig_share_ca::DeviceEnrollment::new(OPERATOR_SECRET, DEVICE_ISSUER);
        let service = CaService::with_devices(verifier, ca, devices);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app = sig_share_ca::http::router(service);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stack { url: format!("http://{addr}"), ct, root, ct_dir }
    }

    pub async fn post(&self, body: &Value, bearer: Option<&str>) -> (u16, Value) {
        self.post_to("/api/v2/signingCert", body, bearer).await
    }

    pub async fn post_to(&self, path: &str, body: &Value, bearer: Option<&str>) -> (u16, Value) {
        let client = reqwest::Client::new();
        let mut req = client.post(format!("{}{path}", self.url)).json(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub fn logged(&self) -> u64 {
        self.ct.log().latest().size
    }
}

/// The test stack's device operator secret, and the enrollment authority its certificates name.
pub const OPERATOR_SECRET: &str = "operator secret for tests";
pub const DEVICE_ISSUER: &str = "https://ca.test/devices";

/// An ephemeral client key.
pub struct ClientKey {
    pub key: SoftwareKey,
}

impl ClientKey {
    pub fn p256() -> ClientKey {
        ClientKey { key: SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap() }
    }

    pub fn p384() -> ClientKey {
        ClientKey { key: SoftwareKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap() }
    }

    pub fn pem(&self) -> String {
        sig_share_ct::embedded::public_key_pem(self.key.public_key_der())
    }

    /// sigstore-js's request form.
    pub fn pop_request(&self, token: &str, challenge: &str) -> Value {
        let sig = self.key.sign(challenge.as_bytes()).unwrap();
        json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": self.pem()},
                                 "proofOfPossession": BASE64.encode(sig)},
        })
    }

    /// A PKCS#10 request for this key, signed by `signer` (normally the same key).
    pub fn csr_signed_by(&self, signer: &dyn Signer) -> CertReq {
        let info = CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: Default::default(),
            public_key: SubjectPublicKeyInfoOwned::from_der(self.key.public_key_der()).unwrap(),
            attributes: Default::default(),
        };
        let sig = signer.sign(&info.to_der().unwrap()).unwrap();
        CertReq {
            info,
            algorithm: sig_share_pki::signature_algorithm(signer.algorithm()),
            signature: BitString::from_bytes(&sig).unwrap(),
        }
    }

    /// sigstore-python's request form: base64 of the PEM CSR.
    pub fn csr_request(csr: &CertReq) -> Value {
        let pem =
            der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &csr.to_der().unwrap()).unwrap();
        json!({ "certificateSigningRequest": BASE64.encode(pem) })
    }
}

/// The PEM certificates of a signingCert answer.
pub fn chain_of(answer: &Value) -> Vec<Certificate> {
    let certs = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"].as_array().expect("a chain");
    certs.iter().map(|c| Certificate::load_pem_chain(c.as_str().unwrap().as_bytes()).unwrap().remove(0)).collect()
}

/// A PEM RSA-2048 public key: a key type the CA does not certify.
pub fn rsa_public_pem() -> String {
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&key.public_key()).unwrap();
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, der.as_ref()).unwrap()
}
