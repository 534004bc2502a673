//! The CA load: signing-certificate requests, and a check of sampled answers against the
//! server's own trust config (the chain to the CA root, the embedded SCT under the certificate
//! log's key).

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::asn1::OctetString;
use der::{Decode, Encode};
use hyper::body::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey, Tbs};
use sig_share_tlog::static_ct::{self, SignedEntry, TimestampedEntry};
use x509_cert::Certificate;

const SCT_LIST: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const EMAIL: &str = "hammer@example.com";

/// Checks sampled answers.
#[derive(Debug)]
pub struct Checker {
    root: Certificate,
    ct_key: Vec<u8>,
}

/// Gets one token from the server's development identity provider (a real device-flow login),
/// makes `keys` ephemeral keys with their proofs of possession, and returns `total` request
/// bodies cycling through them, with a checker built from the server's trust config.
pub async fn prepare(url: &str, total: usize, keys: usize) -> anyhow::Result<(Vec<Bytes>, Checker)> {
    let url = url.trim_end_matches('/');
    let trust: Value = reqwest::get(format!("{url}/.well-known/sig-share/trust-config.json"))
        .await
        .context("fetching the server's trust config")?
        .json()
        .await?;
    let root = &trust["trustedRoot"]["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"];
    let root = Certificate::from_der(&BASE64.decode(root.as_str().context("no CA in the trust config")?)?)?;
    let ct_key = trust["trustedRoot"]["ctlogs"][0]["publicKey"]["rawBytes"].as_str().context("no certificate log")?;
    let ct_key = BASE64.decode(ct_key)?;

    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), EMAIL)
        .await
        .context("logging in at the server's development identity provider (is it `sig-share serve --dev`?)")?;
    let mut bodies = Vec::with_capacity(keys.max(1));
    for _ in 0..keys.max(1) {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;
        let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.public_key_der())?;
        let pop = key.sign(EMAIL.as_bytes())?;
        let body = json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": BASE64.encode(pop)},
        });
        bodies.push(Bytes::from(serde_json::to_vec(&body)?));
    }
    // Identical bodies are distinct requests to a CA: each certificate gets a fresh serial.
    let requests = (0..total).map(|i| bodies[i % bodies.len()].clone()).collect();
    Ok((requests, Checker { root, ct_key }))
}

impl Checker {
    /// Verifies a `signedCertificateEmbeddedSct` answer: the leaf is signed by the CA root and
    /// carries exactly one SCT that verifies under the certificate log's key.
    pub fn check(&self, body: &[u8]) -> anyhow::Result<()> {
        let answer: Value = serde_json::from_slice(body)?;
        let pem = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"][0].as_str().context("no leaf")?;
        let leaf = sig_share_pki::chain_from_pem(pem)?.remove(0);
        let root_key = self.root.tbs_certificate().subject_public_key_info().to_der()?;
        let sig = leaf.signature().as_bytes().context("signature bits")?;
        sig_share_pki::verify_signature(&root_key, &leaf.tbs_certificate().to_der()?, sig, leaf.signature_algorithm())?;

        let ext = leaf.tbs_certificate().extensions().into_iter().flatten().find(|e| e.extn_id == SCT_LIST);
        let list = OctetString::from_der(ext.context("no embedded SCT")?.extn_value.as_bytes())?;
        let scts = static_ct::parse_sct_list(list.as_bytes())?;
        let [sct] = scts.as_slice() else { bail!("{} SCTs", scts.len()) };
        let sct = static_ct::Sct::parse(sct)?;
        let mut tbs = Tbs::of(&leaf)?;
        tbs.remove_extension(&SCT_LIST);
        let entry = TimestampedEntry {
            timestamp: sct.timestamp,
            entry: SignedEntry::Precert {
                issuer_key_hash: Sha256::digest(&root_key).into(),
                tbs_certificate: tbs.to_der()?,
            },
            extensions: sct.extensions,
        };
        let alg = sig_share_pki::signature_algorithm(KeyAlgorithm::EcdsaP256Sha256);
        sig_share_pki::verify_signature(&self.ct_key, &entry.sct_signed_data()?, &sct.signature.signature, &alg)?;
        Ok(())
    }
}
