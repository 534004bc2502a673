//! One signing, end to end: a fresh key, its certificate, the signature, the time stamp, the log
//! entry, and the bundle that carries them. The order is sigstore-python's (CA, TSA, log), so a
//! refusal by the CA costs nothing in the log.

use std::sync::Arc;

use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use sig_share_verify::bundle::{
    Bundle, DsseEnvelope, DsseSignature, MessageDigest, MessageSignature, RawBytes, Rfc3161Timestamp,
    TimestampVerificationData, VerificationMaterial,
};
use sig_share_verify::trust::TrustedRoot;

use crate::ca::{self, Identity};
use crate::digest::sha256;
use crate::dsse::{self, IN_TOTO_PAYLOAD_TYPE};
use crate::error::{Service, SignError};
use crate::services::Services;
use crate::token::IdentityToken;
use crate::{rekor, tsa};

/// The bundle media type written.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Signs with one deployment's services.
#[derive(Debug, Clone)]
pub struct SigningClient {
    http: reqwest::Client,
    services: Services,
    trusted_root: Option<TrustedRoot>,
}

/// A finished signing.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The bundle: certificate, signature, time stamp and log entry.
    pub bundle: Bundle,
    /// Who the certificate says signed.
    pub identity: Identity,
    /// The entry's index in the log.
    pub log_index: u64,
    /// The log it is in.
    pub log_url: String,
    /// The certificate chain the CA returned, leaf first, DER (the bundle keeps only the leaf).
    pub chain: Vec<Vec<u8>>,
}

impl Signed {
    /// The bundle as pretty JSON with a final newline, as it is written to disk.
    pub fn bundle_json(&self) -> String {
        serde_json::to_string_pretty(&self.bundle).expect("a bundle serialises") + "\n"
    }
}

/// What is signed.
enum Content<'a> {
    /// An artifact, by its SHA-256.
    Digest(&'a [u8; 32]),
    /// An in-toto statement, as a DSSE envelope.
    InToto(&'a [u8]),
}

impl SigningClient {
    /// A client for `services`, with its own HTTP client.
    pub fn new(services: Services) -> Result<SigningClient, SignError> {
        Ok(SigningClient::with_http(services, crate::http::client()?))
    }

    /// A client for `services` over `http` (which should not follow redirects).
    pub fn with_http(services: Services, http: reqwest::Client) -> SigningClient {
        SigningClient { http, services, trusted_root: None }
    }

    /// Checks each log answer's inclusion proof and checkpoint against `root` before writing a
    /// bundle, so a misconfigured or lying log is caught at signing time, not by a verifier later.
    pub fn trusting(mut self, root: TrustedRoot) -> SigningClient {
        self.trusted_root = Some(root);
        self
    }

    /// The services used.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Signs an artifact by its SHA-256 digest (see [`crate::sha256_file`]).
    pub async fn sign_sha256(&self, token: &IdentityToken, sha256: &[u8; 32]) -> Result<Signed, SignError> {
        self.sign(token, Content::Digest(sha256)).await
    }

    /// Signs an in-toto statement as a DSSE envelope (payload type `application/vnd.in-toto+json`).
    pub async fn sign_in_toto(&self, token: &IdentityToken, statement: &[u8]) -> Result<Signed, SignError> {
        dsse::check_statement(statement).map_err(SignError::NotAStatement)?;
        self.sign(token, Content::InToto(statement)).await
    }

    /// Certifies a fresh ephemeral key for `token`'s identity: the start of a signing [`Session`],
    /// for callers that sign more than one thing with one certificate (a C2PA claim, its CAWG
    /// identity assertion and the provenance statement that names them).
    pub async fn certify(&self, token: &IdentityToken) -> Result<Session, SignError> {
        if let Some(claims) = token.claims()
            && token.is_expired()
        {
            tracing::warn!(exp = claims.exp, "the identity token has expired; the CA will likely refuse it");
        }
        // The ephemeral key: made for this signing, certified for ten minutes, then dropped with
        // the session.
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).map_err(|e| SignError::Key(e.to_string()))?;
        let issued = ca::request_certificate(&self.http, &self.services.ca, token, &key).await?;
        Ok(Session { client: self.clone(), key: Arc::new(key), issued })
    }

    async fn sign(&self, token: &IdentityToken, content: Content<'_>) -> Result<Signed, SignError> {
        self.certify(token).await?.sign(content).await
    }

    /// Enrolls a device: the CA certifies `key` as `device_id` on the operator's secret.
    /// Returns the device certificate chain, leaf first, DER.
    pub async fn enroll_device(
        &self,
        operator_secret: &str,
        device_id: &str,
        key: &dyn Signer,
    ) -> Result<Vec<Vec<u8>>, SignError> {
        Ok(ca::request_device_certificate(&self.http, &self.services.ca, operator_secret, device_id, key).await?.chain)
    }

    /// Revokes a device ID's enrolled key at the CA on the operator's secret, so another key
    /// may be enrolled for it: the CA's record of the revoked key.
    pub async fn revoke_device(&self, operator_secret: &str, device_id: &str) -> Result<serde_json::Value, SignError> {
        ca::revoke_device(&self.http, &self.services.ca, operator_secret, device_id).await
    }

    /// A session with a key and certificate held already (a device's), instead of a fresh
    /// ephemeral pair: signs, time-stamps and logs as any session does.
    pub fn session_with(&self, key: Arc<dyn Signer>, chain: Vec<Vec<u8>>) -> Result<Session, SignError> {
        let issued = ca::held(chain, key.as_ref()).map_err(SignError::Key)?;
        Ok(Session { client: self.clone(), key, issued })
    }
}

/// One ephemeral key and its certificate. Dropping the session drops the key.
#[derive(Debug)]
pub struct Session {
    client: SigningClient,
    key: Arc<dyn Signer>,
    issued: ca::Issued,
}

impl Session {
    /// Who the certificate names.
    pub fn identity(&self) -> &Identity {
        &self.issued.identity
    }

    /// The certificate chain, leaf first, DER.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.issued.chain
    }

    /// An ECDSA P-256 signature (ASN.1 DER) over SHA-256 of `data`, with the ephemeral key.
    pub fn sign_bytes(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key.sign(data).map_err(|e| SignError::Key(e.to_string()))
    }

    /// An RFC 3161 time stamp over SHA-256 of `data` from the deployment's TSA (DER
    /// `TimeStampResp`).
    pub async fn time_stamp(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        tsa::request_timestamp(&self.client.http, &self.client.services.tsa, data).await
    }

    /// Signs an artifact's SHA-256 digest, time-stamps and logs it: a whole bundle, and a log
    /// entry the log's digest index files under that digest.
    pub async fn sign_sha256(&self, sha256: &[u8; 32]) -> Result<Signed, SignError> {
        self.sign(Content::Digest(sha256)).await
    }

    /// Signs an in-toto statement as a DSSE envelope, time-stamps and logs it: a whole bundle.
    pub async fn sign_in_toto(&self, statement: &[u8]) -> Result<Signed, SignError> {
        dsse::check_statement(statement).map_err(SignError::NotAStatement)?;
        self.sign(Content::InToto(statement)).await
    }

    /// Asks the log to keep the statement `signed` signs (an in-toto bundle), so that later
    /// readers can fetch it by its log index or its subject's digest. A log without sig-share's
    /// statement store (Rekor v2) refuses: the bundle stays valid, only that lookup is lost.
    pub async fn keep_statement(&self, signed: &Signed) -> Result<(), SignError> {
        let envelope = signed
            .bundle
            .dsse_envelope
            .as_ref()
            .ok_or(SignError::NotAStatement("the bundle signs a digest, not a statement".into()))?;
        rekor::keep_statement(&self.client.http, &signed.log_url, envelope).await
    }

    async fn sign(&self, content: Content<'_>) -> Result<Signed, SignError> {
        let (key, issued) = (&self.key, &self.issued);
        let leaf = issued.chain[0].clone();

        let (signature, logged_digest, message_signature, dsse_envelope) = match content {
            Content::Digest(sha) => {
                let signature = key.sign_prehashed(sha).map_err(|e| SignError::Key(e.to_string()))?;
                let ms = MessageSignature {
                    message_digest: Some(MessageDigest { algorithm: "SHA2_256".into(), digest: sha.to_vec() }),
                    signature: signature.clone(),
                };
                (signature, *sha, Some(ms), None)
            }
            Content::InToto(statement) => {
                let pae = dsse::pae(IN_TOTO_PAYLOAD_TYPE, statement);
                let signature = key.sign(&pae).map_err(|e| SignError::Key(e.to_string()))?;
                let envelope = DsseEnvelope {
                    payload: statement.to_vec(),
                    payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
                    signatures: vec![DsseSignature { sig: signature.clone(), keyid: String::new() }],
                };
                (signature, sha256(&pae), None, Some(envelope))
            }
        };
        let stamp = self.time_stamp(&signature).await?;
        let client = &self.client;
        let entry = rekor::log_entry(&client.http, &client.services.tlog, &logged_digest, &signature, &leaf).await?;
        if let Some(root) = &client.trusted_root {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            sig_share_verify::tlog::verify_inclusion(&entry, root, now)
                .map_err(|e| SignError::Untrusted { service: Service::TransparencyLog, detail: e.to_string() })?;
        }
        let log_index = entry.log_index;
        tracing::debug!(log_index, subject = issued.identity.subject, "signed and logged");

        let bundle = Bundle {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                certificate: Some(RawBytes { raw_bytes: leaf }),
                x509_certificate_chain: None,
                public_key: None,
                tlog_entries: vec![entry],
                timestamp_verification_data: Some(TimestampVerificationData {
                    rfc3161_timestamps: vec![Rfc3161Timestamp { signed_timestamp: stamp }],
                }),
            },
            message_signature,
            dsse_envelope,
        };
        Ok(Signed {
            bundle,
            identity: issued.identity.clone(),
            log_index,
            log_url: client.services.tlog.clone(),
            chain: issued.chain.clone(),
        })
    }
}
