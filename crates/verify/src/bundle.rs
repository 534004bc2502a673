//! The sigstore bundle, v0.1 to v0.3: what was signed (a message signature or a DSSE envelope),
//! the verification material (a certificate, a chain or a public-key hint), the transparency log
//! entries with their proofs, and the RFC 3161 timestamps.
//!
//! Parsing checks the shape (exactly one content, exactly one kind of verification material,
//! well-formed base64 and integers) and keeps every byte string decoded; whether any of it is
//! true is the verifier's question. Defaults that proto3 JSON writers leave out (sigstore-js
//! omits a zero `logIndex` and an empty `hashes`) are read as their defaults.

use serde::{Deserialize, Serialize};

use crate::json::{b64, u64_string};

/// The media types a bundle may carry, oldest first.
pub const MEDIA_TYPES: [(&str, BundleVersion); 4] = [
    ("application/vnd.dev.sigstore.bundle+json;version=0.1", BundleVersion::V0_1),
    ("application/vnd.dev.sigstore.bundle+json;version=0.2", BundleVersion::V0_2),
    ("application/vnd.dev.sigstore.bundle+json;version=0.3", BundleVersion::V0_3),
    ("application/vnd.dev.sigstore.bundle.v0.3+json", BundleVersion::V0_3),
];

/// The bundle format version its media type names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BundleVersion {
    /// v0.1: tlog entries must carry an inclusion promise (SET).
    V0_1,
    /// v0.2: inclusion proofs carry checkpoints.
    V0_2,
    /// v0.3: keyless bundles carry the leaf certificate alone.
    V0_3,
}

/// Why a bundle was refused before verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not JSON, or not a bundle's shape.
    #[error("not a sigstore bundle: {0}")]
    Malformed(String),
    /// A media type this version does not read.
    #[error("unsupported bundle media type {0:?}")]
    MediaType(String),
    /// Neither or both of `messageSignature` and `dsseEnvelope`.
    #[error("a bundle signs either a message or a DSSE envelope, exactly one")]
    Content,
    /// Not exactly one of `certificate`, `x509CertificateChain` and `publicKey`, or an empty chain.
    #[error("a bundle's verification material is exactly one of certificate, x509CertificateChain, publicKey")]
    Material,
    /// A DSSE envelope with other than one signature.
    #[error("a DSSE envelope in a bundle carries exactly one signature, not {0}")]
    DsseSignatures(usize),
    /// A v0.3 bundle that carries a chain instead of the leaf.
    #[error("a v0.3 bundle carries its signing certificate as `certificate`, not a chain")]
    ChainInV03,
}

/// A parsed bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// The media type.
    pub media_type: String,
    /// Keys, certificates, log entries, timestamps.
    pub verification_material: VerificationMaterial,
    /// A signature over a message digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    /// A DSSE envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<DsseEnvelope>,
}

/// `VerificationMaterial`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// The signing certificate alone (v0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    /// A chain, leaf first (v0.1, v0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// A managed key, named by a hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// Transparency log entries.
    #[serde(default)]
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<TimestampVerificationData>,
}

/// DER bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    /// The bytes.
    #[serde(with = "b64")]
    pub raw_bytes: Vec<u8>,
}

/// `X509CertificateChain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChain {
    /// Leaf first.
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

/// `PublicKeyIdentifier`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// Which key; verifiers are given the key itself.
    #[serde(default)]
    pub hint: String,
}

/// `TransparencyLogEntry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    /// The entry's index.
    #[serde(default, with = "u64_string")]
    pub log_index: u64,
    /// The log's ID.
    pub log_id: LogId,
    /// The entry's kind and version (`hashedrekord` `0.0.2`, `dsse` `0.0.1`, …).
    pub kind_version: KindVersion,
    /// When the log says it integrated the entry (Rekor v1; 0 in Rekor v2).
    #[serde(default, with = "u64_string")]
    pub integrated_time: u64,
    /// Rekor v1's signed entry timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_promise: Option<InclusionPromise>,
    /// The inclusion proof and its checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProof>,
    /// The entry as the log stores it.
    #[serde(with = "b64")]
    pub canonicalized_body: Vec<u8>,
}

/// `LogId`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// The key ID.
    #[serde(with = "b64")]
    pub key_id: Vec<u8>,
}

/// `KindVersion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindVersion {
    /// The entry kind.
    pub kind: String,
    /// Its version.
    pub version: String,
}

/// `InclusionPromise`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    /// The log's signature over the entry.
    #[serde(with = "b64")]
    pub signed_entry_timestamp: Vec<u8>,
}

/// `InclusionProof`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The entry's index.
    #[serde(default, with = "u64_string")]
    pub log_index: u64,
    /// The root the proof leads to.
    #[serde(with = "b64")]
    pub root_hash: Vec<u8>,
    /// The tree size it is a proof in.
    #[serde(with = "u64_string")]
    pub tree_size: u64,
    /// The proof's hashes, leaf to root.
    #[serde(default, with = "b64_list")]
    pub hashes: Vec<Vec<u8>>,
    /// The signed checkpoint of that tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

/// `Checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The signed note, as text.
    pub envelope: String,
}

/// `TimestampVerificationData`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampVerificationData {
    /// RFC 3161 timestamps.
    #[serde(default)]
    pub rfc3161_timestamps: Vec<Rfc3161Timestamp>,
}

/// `RFC3161SignedTimestamp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rfc3161Timestamp {
    /// The DER TimeStampResp token (a CMS SignedData).
    #[serde(with = "b64")]
    pub signed_timestamp: Vec<u8>,
}

/// `MessageSignature`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    /// The digest signed (optional in the format: the verifier recomputes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<MessageDigest>,
    /// The signature.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

/// `HashOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDigest {
    /// `SHA2_256`, `SHA2_384`, `SHA2_512`.
    pub algorithm: String,
    /// The digest.
    #[serde(with = "b64")]
    pub digest: Vec<u8>,
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DsseEnvelope {
    /// The payload.
    #[serde(with = "b64")]
    pub payload: Vec<u8>,
    /// Its type, e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// The signatures (a bundle carries exactly one).
    #[serde(default)]
    pub signatures: Vec<DsseSignature>,
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsseSignature {
    /// The signature.
    #[serde(with = "b64")]
    pub sig: Vec<u8>,
    /// The key hint.
    #[serde(default)]
    pub keyid: String,
}

/// A list of base64 byte strings.
mod b64_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&base64::engine::general_purpose::STANDARD.encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts.iter().map(|t| crate::json::b64::decode(t).map_err(serde::de::Error::custom)).collect()
    }
}

impl Bundle {
    /// Parses a bundle and checks its shape.
    pub fn from_json(text: &[u8]) -> Result<Bundle, BundleError> {
        let bundle: Bundle = serde_json::from_slice(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
        let version = bundle.version()?;
        if bundle.message_signature.is_some() == bundle.dsse_envelope.is_some() {
            return Err(BundleError::Content);
        }
        if let Some(dsse) = &bundle.dsse_envelope
            && dsse.signatures.len() != 1
        {
            return Err(BundleError::DsseSignatures(dsse.signatures.len()));
        }
        let m = &bundle.verification_material;
        let kinds = [m.certificate.is_some(), m.x509_certificate_chain.is_some(), m.public_key.is_some()];
        let empty_chain = m.x509_certificate_chain.as_ref().is_some_and(|c| c.certificates.is_empty());
        if kinds.iter().filter(|k| **k).count() != 1 || empty_chain {
            return Err(BundleError::Material);
        }
        if version == BundleVersion::V0_3 && m.x509_certificate_chain.is_some() {
            return Err(BundleError::ChainInV03);
        }
        Ok(bundle)
    }

    /// The format version its media type names.
    pub fn version(&self) -> Result<BundleVersion, BundleError> {
        MEDIA_TYPES
            .iter()
            .find(|(t, _)| *t == self.media_type)
            .map(|(_, v)| *v)
            .ok_or_else(|| BundleError::MediaType(self.media_type.chars().take(100).collect()))
    }

    /// The signing certificate (DER), for keyless bundles.
    pub fn signing_certificate(&self) -> Option<&[u8]> {
        let m = &self.verification_material;
        match (&m.certificate, &m.x509_certificate_chain) {
            (Some(c), _) => Some(&c.raw_bytes),
            (None, Some(chain)) => chain.certificates.first().map(|c| c.raw_bytes.as_slice()),
            (None, None) => None,
        }
    }
}
