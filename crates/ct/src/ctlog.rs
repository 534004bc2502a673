//! The certificate log: chains in, SCTs out, on the transparency log's engine.

use std::fmt;
use std::sync::Arc;

use sig_share_log::check::read_entry;
use sig_share_log::{CheckpointSigner, EntryFormat, Log, NewEntry, SubmitError};
use sig_share_pki::Signer;
use sig_share_tlog::checkpoint::Checkpoint;
use sig_share_tlog::note::{NoteSignature, NoteVerifier};
use sig_share_tlog::static_ct::{self, DigitallySigned, Sct, TileLeaf, TimestampedEntry};

use crate::chain::{self, ChainError, Signatures};

/// Why a chain was not logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtError {
    /// The chain was refused.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The log did not take the entry.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// Signing or storage failed.
    #[error("{0}")]
    Internal(String),
}

/// A certificate log.
#[derive(Clone)]
pub struct CertificateLog {
    log: Log,
    key: Arc<dyn Signer>,
    log_id: [u8; 32],
    roots: Arc<Vec<Vec<u8>>>,
}

impl fmt::Debug for CertificateLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateLog({}, id {})", self.log.config().origin, hex::encode(self.log_id))
    }
}

/// Signs checkpoints with the RFC 6962 tree head signature static-ct-api requires.
#[derive(Debug)]
pub struct TreeHeadSigner {
    name: String,
    key: Arc<dyn Signer>,
    log_id: [u8; 32],
}

impl TreeHeadSigner {
    /// A signer for the log named `origin` with the ECDSA `key`.
    pub fn new(origin: &str, key: Arc<dyn Signer>) -> TreeHeadSigner {
        let log_id = static_ct::log_id(key.public_key_der());
        TreeHeadSigner { name: origin.to_owned(), key, log_id }
    }
}

impl CheckpointSigner for TreeHeadSigner {
    fn sign(&self, checkpoint: &Checkpoint, timestamp_ms: u64) -> Result<NoteSignature, String> {
        let data = static_ct::tree_head_signed_data(timestamp_ms, checkpoint.size, &checkpoint.root);
        let sig = self.key.sign(&data).map_err(|e| e.to_string())?;
        let body = static_ct::rfc6962_note_signature(timestamp_ms, &DigitallySigned::ecdsa_sha256(sig))
            .map_err(|e| e.to_string())?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: static_ct::rfc6962_key_id(&self.name, &self.log_id),
            signature: body,
        })
    }
}

/// Checks the RFC 6962 tree head signature of a certificate log's checkpoints: what a client
/// that knows the log only from a trusted root (its ECDSA key, as `ctlogs` lists it, not its
/// Ed25519 note key) verifies checkpoints with, e.g. those proving
/// [`crate::issued::IssuedCertificate`]s.
#[derive(Debug, Clone)]
pub struct TreeHeadVerifier {
    name: String,
    key_id: u32,
    spki_der: Vec<u8>,
}

impl TreeHeadVerifier {
    /// A verifier for the log named `origin` (its checkpoints' first line) with the ECDSA P-256
    /// key `spki_der` (DER SubjectPublicKeyInfo).
    pub fn new(origin: &str, spki_der: &[u8]) -> TreeHeadVerifier {
        let key_id = static_ct::rfc6962_key_id(origin, &static_ct::log_id(spki_der));
        TreeHeadVerifier { name: origin.to_owned(), key_id, spki_der: spki_der.to_vec() }
    }
}

impl NoteVerifier for TreeHeadVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature is `timestamp ‖ DigitallySigned` over RFC 6962's tree head of the
    /// checkpoint's own size and root (static-ct-api).
    fn verify(&self, text: &[u8], signature: &[u8]) -> Option<Option<u64>> {
        let checkpoint = Checkpoint::parse(std::str::from_utf8(text).ok()?).ok()?;
        let (timestamp, signed) = signature.split_first_chunk::<8>()?;
        let signed = DigitallySigned::parse(signed).ok()?;
        if (signed.hash_algorithm, signed.signature_algorithm) != (4, 3) {
            return None;
        }
        let data = static_ct::tree_head_signed_data(u64::from_be_bytes(*timestamp), checkpoint.size, &checkpoint.root);
        let alg = sig_share_pki::signature_algorithm(sig_share_pki::KeyAlgorithm::EcdsaP256Sha256);
        sig_share_pki::verify_signature(&self.spki_der, &data, &signed.signature, &alg).ok()?;
        Some(None)
    }
}

impl CertificateLog {
    /// A certificate log over `log` (which must use [`EntryFormat::StaticCt`] and carry a
    /// [`TreeHeadSigner`] for `key`), accepting chains that end at one of `roots` (DER).
    pub fn new(log: Log, key: Arc<dyn Signer>, roots: Vec<Vec<u8>>) -> Result<CertificateLog, CtError> {
        if log.config().format != EntryFormat::StaticCt {
            return Err(CtError::Internal("a certificate log needs a log of static-ct-api entries".into()));
        }
        let log_id = static_ct::log_id(key.public_key_der());
        let ct = CertificateLog { log, key, log_id, roots: Arc::new(roots) };
        for root in ct.roots.iter() {
            ct.publish_issuer(root)?;
        }
        Ok(ct)
    }

    /// The RFC 6962 log ID: SHA-256 of the log key's SubjectPublicKeyInfo.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// The log key's DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public_key_der()
    }

    /// The roots it accepts (DER).
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.roots
    }

    /// The underlying log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Logs a chain (leaf first, DER) and returns its SCT once the entry is sequenced and
    /// published. Resubmitting a logged chain returns the same SCT.
    pub async fn add_chain(&self, chain: &[Vec<u8>], precert: bool) -> Result<Sct, CtError> {
        self.submit(chain::accept(chain, &self.roots, precert, Signatures::Verify)?).await
    }

    /// [`CertificateLog::add_chain`] for a precertificate chain the caller has just signed
    /// itself, in this process (the CA): the signatures are not checked again, which saves one
    /// ECDSA verification per certificate. Everything else (poison, roots) is.
    pub async fn add_own_precert(&self, chain: &[Vec<u8>]) -> Result<Sct, CtError> {
        self.submit(chain::accept(chain, &self.roots, true, Signatures::Trusted)?).await
    }

    async fn submit(&self, accepted: chain::Accepted) -> Result<Sct, CtError> {
        for issuer in &accepted.issuers {
            if !self.roots.contains(issuer) {
                self.publish_issuer(issuer)?;
            }
        }
        let mut data = Vec::new();
        accepted.leaf.encode(&mut data).map_err(|e| CtError::Internal(e.to_string()))?;
        let logged = self.log.submit(NewEntry::new(data, accepted.key).with_index_keys(accepted.index_keys)).await?;
        let timestamp = if logged.duplicate || logged.published.timestamp_ms == 0 {
            self.stored_timestamp(logged.index, logged.published.size).await?
        } else {
            logged.published.timestamp_ms
        };
        self.sign_sct(accepted.leaf.entry, timestamp, logged.index)
    }

    /// The SCT for `entry` stamped at `timestamp` and `index`.
    fn sign_sct(&self, mut entry: TimestampedEntry, timestamp: u64, index: u64) -> Result<Sct, CtError> {
        entry.timestamp = timestamp;
        entry.extensions = static_ct::leaf_index_extensions(index).map_err(|e| CtError::Internal(e.to_string()))?;
        let data = entry.sct_signed_data().map_err(|e| CtError::Internal(e.to_string()))?;
        let sig = self.key.sign(&data).map_err(|e| CtError::Internal(e.to_string()))?;
        Ok(Sct {
            log_id: self.log_id,
            timestamp,
            extensions: entry.extensions,
            signature: DigitallySigned::ecdsa_sha256(sig),
        })
    }

    /// The timestamp of a logged entry, read back from its data tile.
    async fn stored_timestamp(&self, index: u64, size: u64) -> Result<u64, CtError> {
        let log = self.log.clone();
        let read = tokio::task::spawn_blocking(move || {
            read_entry(log.stores().tiles.as_ref(), EntryFormat::StaticCt, index, size)
        })
        .await
        .map_err(|e| CtError::Internal(e.to_string()))?;
        let bytes = read.map_err(|e| {
            tracing::error!(error = %e, index, "reading a logged certificate back failed");
            CtError::Internal("the logged entry could not be read back".into())
        })?;
        let (leaf, _) = TileLeaf::parse(&bytes).map_err(|e| CtError::Internal(e.to_string()))?;
        Ok(leaf.entry.timestamp)
    }

    /// Publishes an issuer at `issuer/<hex SHA-256>`, as static-ct-api requires for every
    /// issuer a data tile refers to.
    fn publish_issuer(&self, der: &[u8]) -> Result<(), CtError> {
        let key = issuer_path(der);
        let tiles = &self.log.stores().tiles;
        let present = tiles.get(&key).map_err(|e| CtError::Internal(e.to_string()))?;
        if present.as_deref() != Some(der) {
            tiles.put(&key, der).map_err(|e| CtError::Internal(e.to_string()))?;
        }
        Ok(())
    }
}

/// Where an issuer is published: `issuer/<lowercase hex SHA-256 of its DER>`.
pub fn issuer_path(der: &[u8]) -> String {
    use sha2::Digest;
    format!("issuer/{}", hex::encode(sha2::Sha256::digest(der)))
}
