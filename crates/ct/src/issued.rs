//! The certificates issued to an identity: the certificate log's answer to "which certificates
//! name alice@example.com (on this issuer's word)?", each with its entry's inclusion proof, for
//! monitors and the log explorer. A person can see every certificate ever issued in their name,
//! and so notice one they did not ask for.
//!
//! Every certificate is filed, in the commit that logs it, under its identity
//! ([`chain::filing_key`], or [`chain::index_keys`] for usernames) and under its identity with
//! the OIDC issuer that vouched for it ([`chain::identity_issuer_key`]); the answer reads those
//! entries back from the data tiles. Certificates logged before the issuer key existed are found
//! by identity alone.
//!
//! The answer is checkable without trusting the server: [`IssuedCertificate::verify`] rebuilds
//! each entry's Merkle leaf from the certificate itself and proves it against a signed
//! checkpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use sig_share_log::EntryFormat;
use sig_share_log::log::Published;
use sig_share_log::rekor::InclusionProof;
use sig_share_pki::Tbs;
use sig_share_tlog::note::NoteVerifier;
use sig_share_tlog::static_ct::{self, SignedEntry, TileLeaf, TimestampedEntry};
use sig_share_tlog::{Hash, SignedCheckpoint, merkle};
use x509_cert::Certificate;

use crate::chain::{self, POISON_OID};
use crate::ctlog::CertificateLog;

/// The most certificates one answer holds; beyond, it says `truncated`.
pub const MAX_RESULTS: usize = 100;
/// The longest identity or issuer asked about. Identities are strings anyone can choose (an
/// email address, a URI); real ones are far shorter, and a bound keeps refusals cheap.
pub const MAX_QUERY_BYTES: usize = 1024;

/// `GET /api/v1/certificates`: the certificates issued to an identity.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CertificatesAnswer {
    /// The identity asked about, as certificates name it in their SAN.
    pub identity: String,
    /// The OIDC issuer asked about, if any: then only certificates naming it are listed.
    pub issuer: Option<String>,
    /// The size of the tree the proofs are against, as a decimal string.
    pub tree_size: String,
    /// The signed checkpoint of that tree.
    pub checkpoint: String,
    /// The certificates, oldest first.
    pub certificates: Vec<IssuedCertificate>,
    /// Whether more than [`MAX_RESULTS`] were found (the oldest are listed).
    pub truncated: bool,
}

/// What a certificate log entry holds.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// A precertificate (what a CA logs before issuing: the final certificate is the same but
    /// for the poison extension, replaced by the SCT list).
    Precert,
    /// A final certificate.
    X509,
}

/// One logged certificate. Integers are decimal strings, as in the transparency log's answers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCertificate {
    /// The entry's index in the certificate log (the SCT's `leaf_index`).
    pub log_index: String,
    /// `precert` or `x509`.
    pub entry_type: EntryType,
    /// The logged certificate or precertificate, base64 DER.
    pub certificate: String,
    /// For precertificates, the SHA-256 of the issuing CA's key that the entry names, base64.
    pub issuer_key_hash: Option<String>,
    /// The identity the certificate certifies (its SAN).
    pub identity: String,
    /// The OIDC issuer it names (Fulcio's issuer extension), if any.
    pub issuer: Option<String>,
    /// The serial number, lowercase hex.
    pub serial_number: String,
    /// Validity, RFC 3339 UTC.
    pub not_before: String,
    /// Validity, RFC 3339 UTC.
    pub not_after: String,
    /// When the log sequenced the entry (the SCT's time), milliseconds since the epoch.
    pub timestamp: String,
    /// The RFC 6962 `MerkleTreeLeaf`, base64, as `get-entries` gives it: the tree's leaf is
    /// `SHA-256(0x00 ‖ leafInput)`. [`IssuedCertificate::verify`] rebuilds it from the
    /// certificate rather than trusting it.
    pub leaf_input: String,
    /// The inclusion proof against the checkpoint, in the transparency log's shape.
    pub inclusion_proof: InclusionProof,
}

/// Whether an identity and issuer are worth looking up; the message says why not.
pub fn check_query(identity: &str, issuer: Option<&str>) -> Result<(), String> {
    for (what, value) in [("identity", Some(identity)), ("issuer", issuer)] {
        if let Some(v) = value
            && (v.is_empty() || v.len() > MAX_QUERY_BYTES)
        {
            return Err(format!("the {what} must be 1 to {MAX_QUERY_BYTES} bytes, not {}", v.len()));
        }
    }
    Ok(())
}

/// The certificates `ct` logged for `identity` (certified by `issuer`, if given), each proven
/// against the newest checkpoint. Blocking: it reads tiles.
pub fn certificates_of(
    ct: &CertificateLog,
    identity: &str,
    issuer: Option<&str>,
) -> Result<CertificatesAnswer, String> {
    let log = ct.log();
    let key = match issuer {
        Some(issuer) => chain::identity_issuer_key(issuer, identity),
        None => chain::identity_key(identity),
    };
    let mut indices = log.lookup(&key, MAX_RESULTS + 1).map_err(|e| e.to_string())?;
    // Taken after the lookup, which only returns entries an earlier checkpoint covers: every
    // index is then inside this tree, however many batches land in between.
    let published = log.latest();
    let truncated = indices.len() > MAX_RESULTS;
    indices.truncate(MAX_RESULTS);
    let tiles = log.stores().tiles.as_ref();
    let entries = sig_share_log::check::read_entries(tiles, EntryFormat::StaticCt, &indices, published.size)
        .map_err(|e| e.to_string())?;
    let mut certificates = Vec::with_capacity(indices.len());
    for (index, data) in indices.into_iter().zip(entries) {
        let found = issued_certificate(index, &data, &published, tiles).map_err(|e| format!("entry {index}: {e}"))?;
        // The answer says these certificates name this identity: list only those that do, in
        // case an index record and its entry ever disagree (a hashed long identity, say).
        if found.identity != identity || issuer.is_some_and(|i| found.issuer.as_deref() != Some(i)) {
            tracing::warn!(index, "a certificate filed under an identity does not certify it; left out");
            continue;
        }
        certificates.push(found);
    }
    Ok(CertificatesAnswer {
        identity: identity.to_owned(),
        issuer: issuer.map(str::to_owned),
        tree_size: published.size.to_string(),
        checkpoint: published.checkpoint.to_string(),
        certificates,
        truncated,
    })
}

/// The answer for the stored entry `data` at `index`, proven against `published`.
fn issued_certificate(
    index: u64,
    data: &[u8],
    published: &Published,
    tiles: &dyn sig_share_log::storage::ObjectStore,
) -> Result<IssuedCertificate, String> {
    let (leaf, _) = TileLeaf::parse(data).map_err(|e| e.to_string())?;
    let (entry_type, der, tbs, issuer_key_hash) = match &leaf.entry.entry {
        SignedEntry::Precert { issuer_key_hash, tbs_certificate } => {
            let der = leaf.pre_certificate.clone().ok_or("a precertificate entry without its precertificate")?;
            let tbs = Tbs::from_der(tbs_certificate).map_err(|e| e.to_string())?;
            (EntryType::Precert, der, tbs, Some(BASE64.encode(issuer_key_hash)))
        }
        SignedEntry::X509(der) => {
            let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
            (EntryType::X509, der.clone(), Tbs::of(&cert).map_err(|e| e.to_string())?, None)
        }
    };
    let shown = Shown::of(&tbs);
    let leaf_input = leaf.entry.merkle_tree_leaf().map_err(|e| e.to_string())?;
    let proof = published.inclusion_proof(index, tiles).map_err(|e| e.to_string())?;
    Ok(IssuedCertificate {
        log_index: index.to_string(),
        entry_type,
        certificate: BASE64.encode(der),
        issuer_key_hash,
        identity: shown.identity.unwrap_or_default(),
        issuer: shown.issuer,
        serial_number: shown.serial_number,
        not_before: shown.not_before,
        not_after: shown.not_after,
        timestamp: leaf.entry.timestamp.to_string(),
        leaf_input: BASE64.encode(leaf_input),
        inclusion_proof: InclusionProof::new(index, published.size, &published.root, &proof, &published.checkpoint),
    })
}

/// What the answer says about a certificate, derived from it alone.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    identity: Option<String>,
    issuer: Option<String>,
    serial_number: String,
    not_before: String,
    not_after: String,
}

impl Shown {
    fn of(tbs: &Tbs) -> Shown {
        Shown {
            identity: chain::certified_identity(tbs),
            issuer: chain::certified_issuer(tbs),
            serial_number: hex::encode(tbs.serial_number.as_bytes()),
            not_before: tbs.validity.not_before.to_date_time().to_string(),
            not_after: tbs.validity.not_after.to_date_time().to_string(),
        }
    }
}

/// Why an [`IssuedCertificate`] did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(String);

impl IssuedCertificate {
    /// Checks the entry offline, trusting nothing else the server said: the Merkle leaf is
    /// rebuilt from the certificate (RFC 6962 §3.2: a precertificate's TBS without its poison,
    /// under `issuerKeyHash`), with the logged time and `leaf_index` extension, and must equal
    /// `leafInput`; that leaf is included at the index under the proof's root; the checkpoint
    /// with that root and size is signed by `log_key`; and the identity, issuer, serial and
    /// validity shown are the certificate's. Returns the index.
    ///
    /// Whether the certificate chains to a trusted CA (and `issuerKeyHash` is that CA's) is the
    /// caller's check, as for any certificate.
    pub fn verify(&self, log_key: &dyn NoteVerifier) -> Result<u64, VerifyError> {
        let bad = |what: &str| VerifyError(what.to_owned());
        let index: u64 = self.log_index.parse().map_err(|_| bad("logIndex is not a number"))?;
        let p = &self.inclusion_proof;
        if p.log_index != self.log_index {
            return Err(bad("the proof is for another index"));
        }
        let der = BASE64.decode(&self.certificate).map_err(|_| bad("certificate is not base64"))?;
        let cert = Certificate::from_der(&der).map_err(|e| VerifyError(format!("certificate: {e}")))?;
        let mut tbs = Tbs::of(&cert).map_err(|e| VerifyError(format!("certificate: {e}")))?;
        let entry = match self.entry_type {
            EntryType::Precert => {
                if tbs.remove_extension(&POISON_OID) != 1 {
                    return Err(bad("a precertificate entry's certificate carries one poison extension"));
                }
                let hash = self.issuer_key_hash.as_deref().ok_or_else(|| bad("issuerKeyHash is missing"))?;
                let issuer_key_hash = BASE64
                    .decode(hash)
                    .ok()
                    .and_then(|h| <[u8; 32]>::try_from(h).ok())
                    .ok_or_else(|| bad("issuerKeyHash is not 32 bytes of base64"))?;
                let tbs_certificate = tbs.to_der().map_err(|e| VerifyError(e.to_string()))?;
                SignedEntry::Precert { issuer_key_hash, tbs_certificate }
            }
            EntryType::X509 => {
                if tbs.extensions().iter().any(|e| e.extn_id == POISON_OID) {
                    return Err(bad("a final certificate entry's certificate carries a poison extension"));
                }
                SignedEntry::X509(der)
            }
        };
        let shown = Shown {
            identity: Some(self.identity.clone()),
            issuer: self.issuer.clone(),
            serial_number: self.serial_number.clone(),
            not_before: self.not_before.clone(),
            not_after: self.not_after.clone(),
        };
        if shown != Shown::of(&tbs) {
            return Err(bad("the identity, issuer, serial or validity shown are not the certificate's"));
        }
        let timestamp: u64 = self.timestamp.parse().map_err(|_| bad("timestamp is not a number"))?;
        let extensions = static_ct::leaf_index_extensions(index).map_err(|e| VerifyError(e.to_string()))?;
        let rebuilt = TimestampedEntry { timestamp, entry, extensions }
            .merkle_tree_leaf()
            .map_err(|e| VerifyError(e.to_string()))?;
        if BASE64.decode(&self.leaf_input).ok().as_deref() != Some(rebuilt.as_slice()) {
            return Err(bad("leafInput is not the certificate's Merkle leaf"));
        }
        let size: u64 = p.tree_size.parse().map_err(|_| bad("treeSize is not a number"))?;
        let root = Hash::from_base64(&p.root_hash).ok_or_else(|| bad("rootHash is not a hash"))?;
        let hashes: Option<Vec<Hash>> = p.hashes.iter().map(|h| Hash::from_base64(h)).collect();
        let hashes = hashes.ok_or_else(|| bad("the proof's hashes are not hashes"))?;
        merkle::verify_inclusion(index, size, &Hash::leaf(&rebuilt), &hashes, &root)
            .map_err(|e| VerifyError(format!("inclusion proof: {e}")))?;
        let signed = SignedCheckpoint::verify(p.checkpoint.envelope.as_bytes(), log_key)
            .map_err(|e| VerifyError(format!("checkpoint: {e}")))?;
        if signed.checkpoint.size != size || signed.checkpoint.root != root {
            return Err(bad("the checkpoint's size or root differs from the proof's"));
        }
        Ok(index)
    }
}
