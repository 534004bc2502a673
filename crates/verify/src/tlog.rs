//! A bundle's transparency log entry: its inclusion proof up to a checkpoint signed by a log the
//! trusted root names, and Rekor v1's inclusion promise.
//!
//! The log is found by the entry's log ID among the trusted root's `tlogs` (or their
//! `checkpointKeyId`); its checkpoint must carry a valid signature by that log's key under the
//! checkpoint's own origin (C2SP signed-note: the key ID covers name and key, so a signature
//! from the right key under another name does not count), its size and root must be the
//! proof's, and the entry's leaf must prove into that root at the entry's index. Cosignatures by
//! other keys are ignored, as signed-note asks.
//!
//! Ed25519 log keys (Rekor v2, C2SP logs) sign under the checkpoint's origin. ECDSA P-256 keys
//! (Rekor v1 shards) use signed-note's ECDSA type, whose key ID is the first four bytes of
//! SHA-256 of the key's DER SubjectPublicKeyInfo (so the log ID's prefix) and does not cover the
//! name: Rekor v1 signs as `rekor.sigstore.dev` under the origin `rekor.sigstore.dev - <tree>`,
//! so there the key ID and the signature decide, not the name.

use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use sig_share_tlog::merkle;
use sig_share_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, NoteVerifier};

use crate::bundle::TlogEntry;
use crate::crypto::{HashAlgorithm, PublicKey};
use crate::json::b64;
use crate::trust::{TransparencyLog, TrustedRoot};

/// The signed-note signature type of an Ed25519 log key.
const ED25519_NOTE_TYPE: u8 = 0x01;
/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw key follows.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// The DER SubjectPublicKeyInfo of a raw Ed25519 public key, as trusted roots carry log keys.
pub fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    [&ED25519_SPKI_PREFIX[..], key].concat()
}

/// Why a log entry's inclusion does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The entry carries no inclusion proof.
    #[error("the log entry has no inclusion proof")]
    NoProof,
    /// The proof carries no checkpoint.
    #[error("the inclusion proof has no checkpoint")]
    NoCheckpoint,
    /// No log in the trusted root has the entry's log ID.
    #[error("the entry's log (ID {0}) is not in the trusted root")]
    UnknownLog(String),
    /// The trusted log's key is one this version cannot check checkpoints with.
    #[error("the log's key type {0} is not supported for checkpoints yet")]
    UnsupportedKey(String),
    /// The checkpoint does not parse.
    #[error("the checkpoint is malformed: {0}")]
    Checkpoint(String),
    /// No valid signature by the log's key.
    #[error("the checkpoint is not signed by the trusted log {0:?}: {1}")]
    Signature(String, String),
    /// The trust config's witness policy covers this log, and the checkpoint's cosignatures do
    /// not meet its quorum.
    #[error("the checkpoint of {origin} is {summary}, short of the witness policy's quorum (missing: {})", .missing.join(", "))]
    Unwitnessed {
        /// The checkpoint's origin.
        origin: String,
        /// "witnessed by k of n".
        summary: String,
        /// The policy's names of the witnesses that did not cosign.
        missing: Vec<String>,
    },
    /// A cosignature on the checkpoint by a policy witness's key is forged or dated ahead.
    #[error("the checkpoint of {0} carries a bad cosignature: {1}")]
    Cosignature(String, String),
    /// Proof and checkpoint disagree.
    #[error(
        "the inclusion proof is for size {proof_size} and another root than the checkpoint's (size {checkpoint_size})"
    )]
    CheckpointMismatch {
        /// The proof's tree size.
        proof_size: u64,
        /// The checkpoint's.
        checkpoint_size: u64,
    },
    /// The proof does not lead from the entry to the root.
    #[error("the inclusion proof does not verify: {0}")]
    Proof(String),
}

/// What a verified inclusion established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The log's URL in the trusted root.
    pub log_url: String,
    /// The checkpoint's origin.
    pub origin: String,
    /// The entry's index in the checkpoint's tree.
    pub index: u64,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// "witnessed by k of n" when the trust config's witness policy covers the log.
    pub witnessed: Option<String>,
}

/// How far ahead of the verifier's clock a witness's cosignature may be dated.
pub const COSIGNATURE_SKEW_SECS: u64 = 3600;

/// Verifies that `entry` is in a log `root` trusts, under a checkpoint that log signed and, when
/// the root carries a witness policy covering the log, that its witnesses cosigned to the
/// quorum by `now` (Unix seconds).
pub fn verify_inclusion(entry: &TlogEntry, root: &TrustedRoot, now: i64) -> Result<Inclusion, InclusionError> {
    // The proof's index is the entry's position in its tree; the entry's own `logIndex` may
    // differ (Rekor v1 numbers entries across all its shards), so the proof's is what is proven.
    let proof = entry.inclusion_proof.as_ref().ok_or(InclusionError::NoProof)?;
    let log = find_log(root, &entry.log_id.key_id)?;
    let envelope = &proof.checkpoint.as_ref().ok_or(InclusionError::NoCheckpoint)?.envelope;
    let note = Note::parse(envelope.as_bytes()).map_err(|e| InclusionError::Checkpoint(e.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|e| InclusionError::Checkpoint(e.to_string()))?;

    let verifier = log_verifier(log, &checkpoint.origin, &note)?;
    note.verify(&[verifier.as_ref()])
        .map_err(|e| InclusionError::Signature(checkpoint.origin.clone(), e.to_string()))?;
    let witnessed = witnessed(root, &checkpoint, note, now)?;

    let root_hash =
        to_hash(&proof.root_hash).ok_or_else(|| InclusionError::Proof("the root is not 32 bytes".into()))?;
    if checkpoint.size != proof.tree_size || checkpoint.root != root_hash {
        return Err(InclusionError::CheckpointMismatch {
            proof_size: proof.tree_size,
            checkpoint_size: checkpoint.size,
        });
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| to_hash(h).ok_or_else(|| InclusionError::Proof("a proof hash is not 32 bytes".into())))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = Hash::leaf(&entry.canonicalized_body);
    merkle::verify_inclusion(proof.log_index, proof.tree_size, &leaf, &hashes, &root_hash)
        .map_err(|e| InclusionError::Proof(e.to_string()))?;
    Ok(Inclusion {
        log_url: log.base_url.clone(),
        origin: checkpoint.origin,
        index: proof.log_index,
        tree_size: proof.tree_size,
        witnessed,
    })
}

/// The witness policy's verdict on a checkpoint whose log signature verified: `None` when the
/// root has no policy for this log, "witnessed by k of n" when the quorum is met, an error
/// naming the missing witnesses otherwise.
pub fn witnessed(
    root: &TrustedRoot,
    checkpoint: &Checkpoint,
    note: Note,
    now: i64,
) -> Result<Option<String>, InclusionError> {
    let Some(policy) = root.witnesses.as_ref().filter(|p| p.covers(&checkpoint.origin)) else { return Ok(None) };
    let signed = sig_share_tlog::SignedCheckpoint { checkpoint: checkpoint.clone(), note };
    let now = u64::try_from(now).unwrap_or(0);
    let w = policy
        .policy()
        .check(&signed, now, COSIGNATURE_SKEW_SECS)
        .map_err(|e| InclusionError::Cosignature(checkpoint.origin.clone(), e.to_string()))?;
    if !w.quorum_met {
        return Err(InclusionError::Unwitnessed {
            origin: checkpoint.origin.clone(),
            summary: w.summary(),
            missing: w.missing,
        });
    }
    Ok(Some(w.summary()))
}

/// A checkpoint a trusted log signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCheckpoint {
    /// The log's URL in the trusted root.
    pub log_url: String,
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Every signature on the note: the signer's name and key ID, and whether it is the
    /// trusted log's own (verified) key; others (witnesses) are listed, not checked.
    pub signatures: Vec<(String, u32, bool)>,
    /// "witnessed by k of n" when the root's witness policy covers the log.
    pub witnessed: Option<String>,
}

/// Verifies a checkpoint (a signed note, as a log serves it) against the logs `root` trusts:
/// one of them must have signed it, and its witnesses to the quorum when the root's witness
/// policy covers that log (at `now`, Unix seconds).
pub fn verify_checkpoint(text: &str, root: &TrustedRoot, now: i64) -> Result<CheckedCheckpoint, InclusionError> {
    let note = Note::parse(text.as_bytes()).map_err(|e| InclusionError::Checkpoint(e.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|e| InclusionError::Checkpoint(e.to_string()))?;
    for log in &root.tlogs {
        let Ok(verifier) = log_verifier(log, &checkpoint.origin, &note) else { continue };
        if note.verify(&[verifier.as_ref()]).is_ok() {
            let signatures = note
                .signatures()
                .iter()
                .map(|s| (s.name.clone(), s.key_id, s.key_id == verifier.key_id() && s.name == verifier.name()))
                .collect();
            let witnessed = witnessed(root, &checkpoint, note, now)?;
            return Ok(CheckedCheckpoint {
                log_url: log.base_url.clone(),
                origin: checkpoint.origin,
                size: checkpoint.size,
                root: checkpoint.root,
                signatures,
                witnessed,
            });
        }
    }
    Err(InclusionError::Signature(checkpoint.origin, "no log in the trusted root signed it".into()))
}

/// The trusted log whose log ID (or checkpoint key ID) is `key_id`.
pub fn find_log<'r>(root: &'r TrustedRoot, key_id: &[u8]) -> Result<&'r TransparencyLog, InclusionError> {
    let matches = |id: &str| b64::decode(id).is_ok_and(|d| d == key_id);
    root.tlogs
        .iter()
        .find(|t| matches(&t.log_id.key_id) || t.checkpoint_key_id.as_ref().is_some_and(|c| matches(&c.key_id)))
        .ok_or_else(|| InclusionError::UnknownLog(hex(key_id)))
}

/// The note verifier of a trusted log's key for this checkpoint.
fn log_verifier(log: &TransparencyLog, origin: &str, note: &Note) -> Result<Box<dyn NoteVerifier>, InclusionError> {
    let spki = b64::decode(&log.public_key.raw_bytes).map_err(|e| InclusionError::UnsupportedKey(e.to_string()))?;
    if let Some(raw) = spki.strip_prefix(&ED25519_SPKI_PREFIX[..])
        && raw.len() == 32
    {
        let v = Ed25519Verifier::new(origin, ED25519_NOTE_TYPE, raw)
            .map_err(|e| InclusionError::Checkpoint(format!("origin {origin:?}: {e}")))?;
        return Ok(Box::new(v));
    }
    if log.public_key.key_details == "PKIX_ECDSA_P256_SHA_256" {
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
            .map_err(|e| InclusionError::UnsupportedKey(format!("PKIX_ECDSA_P256_SHA_256: {e}")))?;
        let digest = Sha256::digest(&spki);
        let key_id = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        // The name is whatever the log signs as; the key ID names the key.
        let name = note.signatures().iter().find(|s| s.key_id == key_id).map_or_else(String::new, |s| s.name.clone());
        return Ok(Box::new(EcdsaNoteVerifier { name, key_id, key: PublicKey::P256(key) }));
    }
    Err(InclusionError::UnsupportedKey(log.public_key.key_details.clone()))
}

/// signed-note's ECDSA (P-256, SHA-256, ASN.1 signatures) verifier.
struct EcdsaNoteVerifier {
    name: String,
    key_id: u32,
    key: PublicKey,
}

impl NoteVerifier for EcdsaNoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> Option<Option<u64>> {
        self.key.verify(text, signature, HashAlgorithm::Sha256).ok().map(|()| None)
    }
}

fn to_hash(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok().map(Hash)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a log entry's inclusion promise (Rekor v1's signed entry timestamp) does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromiseError {
    /// The entry carries no promise.
    #[error("the log entry has no inclusion promise")]
    NoPromise,
    /// No log in the trusted root has the entry's log ID.
    #[error("the entry's log (ID {0}) is not in the trusted root")]
    UnknownLog(String),
    /// The log's key is not one this version checks promises with.
    #[error("the log's key type {0} is not supported for inclusion promises")]
    UnsupportedKey(String),
    /// The signature does not verify.
    #[error("the inclusion promise is not signed by the trusted log")]
    Signature,
}

/// Verifies a Rekor v1 inclusion promise: the log's ECDSA signature over the RFC 8785 JSON of
/// `{body, integratedTime, logID, logIndex}`. Returns the integrated time it vouches for.
pub fn verify_promise(entry: &TlogEntry, root: &TrustedRoot) -> Result<u64, PromiseError> {
    let promise = entry.inclusion_promise.as_ref().ok_or(PromiseError::NoPromise)?;
    let log = find_log(root, &entry.log_id.key_id).map_err(|_| PromiseError::UnknownLog(hex(&entry.log_id.key_id)))?;
    if log.public_key.key_details != "PKIX_ECDSA_P256_SHA_256" {
        return Err(PromiseError::UnsupportedKey(log.public_key.key_details.clone()));
    }
    let spki = b64::decode(&log.public_key.raw_bytes).map_err(PromiseError::UnsupportedKey)?;
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
        .map_err(|e| PromiseError::UnsupportedKey(e.to_string()))?;
    // RFC 8785 by construction: the keys in sorted order, and no value needs escaping (base64,
    // hex and integers).
    let body = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &entry.canonicalized_body);
    let canonical = format!(
        r#"{{"body":"{body}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry.integrated_time,
        hex(&entry.log_id.key_id),
        entry.log_index
    );
    PublicKey::P256(key)
        .verify(canonical.as_bytes(), &promise.signed_entry_timestamp, HashAlgorithm::Sha256)
        .map_err(|_| PromiseError::Signature)?;
    Ok(entry.integrated_time)
}
