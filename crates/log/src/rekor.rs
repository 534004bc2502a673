//! Rekor v2's write API for hashedrekord 0.0.2, as rekor-tiles defines it: the request, the
//! signature check, the canonical entry body stored as the leaf, and the `TransparencyLogEntry`
//! answer.
//!
//! The stored body must be byte-for-byte what rekor-tiles writes (RFC 8785 JSON of the entry),
//! because sigstore-go rebuilds it from the bundle and hashes it rather than reading it.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::{Deserialize, Serialize};
use sig_share_tlog::Hash;
use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::spki::SubjectPublicKeyInfoRef;

/// The largest request body accepted.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Why a submission was refused; each is a client error (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not the JSON the API defines.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Another entry type, or DSSE (which Rekor v2 no longer accepts).
    #[error("unsupported entry type: {0}")]
    UnsupportedKind(String),
    /// A key type or `keyDetails` the log does not accept.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// `keyDetails` names a different key than the one given.
    #[error("keyDetails {key_details} does not match the {actual} key given")]
    KeyMismatch {
        /// What the request said.
        key_details: String,
        /// What the key is.
        actual: &'static str,
    },
    /// The digest's length is not the hash's.
    #[error("digest is {got} bytes, but {algorithm} digests are {want}")]
    DigestLength {
        /// The hash algorithm.
        algorithm: &'static str,
        /// The length given.
        got: usize,
        /// The length required.
        want: usize,
    },
    /// The signature does not verify over the digest with the key.
    #[error("signature does not verify over the digest with the given key")]
    BadSignature,
}

// Protojson accepts standard or URL-safe base64, padded or not.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_b64(field: &str, s: &str) -> Result<Vec<u8>, EntryError> {
    let v = LENIENT
        .decode(s)
        .or_else(|_| LENIENT_URL.decode(s))
        .map_err(|_| EntryError::Malformed(format!("{field} is not base64")))?;
    if v.is_empty() {
        return Err(EntryError::Malformed(format!("{field} is empty")));
    }
    Ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateEntryRequest {
    #[serde(rename = "hashedRekordRequestV002", alias = "hashed_rekord_request_v002")]
    hashed_rekord: Option<HashedRekordRequest>,
    #[serde(rename = "dsseRequestV002", alias = "dsse_request_v002")]
    dsse: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordRequest {
    digest: String,
    signature: SignatureRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureRequest {
    content: String,
    verifier: VerifierRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifierRequest {
    #[serde(rename = "publicKey", alias = "public_key")]
    public_key: Option<RawBytes>,
    #[serde(rename = "x509Certificate", alias = "x509_certificate")]
    x509_certificate: Option<RawBytes>,
    #[serde(rename = "keyDetails", alias = "key_details")]
    key_details: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBytes {
    #[serde(rename = "rawBytes", alias = "raw_bytes")]
    raw_bytes: String,
}

/// A verified hashedrekord entry, ready to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedRekord {
    /// The canonical entry body: the leaf data.
    pub body: Vec<u8>,
    /// The key the entry is filed under: `sha256:` (or sha384, sha512) and the artifact digest.
    pub key: Vec<u8>,
}

/// The key types hashedrekord 0.0.2 accepts, with the hash each signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Rsa(usize),
}

impl KeyKind {
    fn from_details(kd: &str) -> Result<KeyKind, EntryError> {
        Ok(match kd {
            "PKIX_ECDSA_P256_SHA_256" => KeyKind::EcdsaP256,
            "PKIX_ECDSA_P384_SHA_384" => KeyKind::EcdsaP384,
            "PKIX_ECDSA_P521_SHA_512" => KeyKind::EcdsaP521,
            "PKIX_RSA_PKCS1V15_2048_SHA256" => KeyKind::Rsa(2048),
            "PKIX_RSA_PKCS1V15_3072_SHA256" => KeyKind::Rsa(3072),
            "PKIX_RSA_PKCS1V15_4096_SHA256" => KeyKind::Rsa(4096),
            "PKIX_ED25519" | "PKIX_ED25519_PH" => {
                return Err(EntryError::UnsupportedKey(format!(
                    "{kd}: hashedrekord logs a digest, which pure Ed25519 cannot sign, and Ed25519ph is not supported"
                )));
            }
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(EntryError::UnsupportedKey(format!("keyDetails {shown:?} is not accepted")));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ECDSA P-256",
            KeyKind::EcdsaP384 => "ECDSA P-384",
            KeyKind::EcdsaP521 => "ECDSA P-521",
            KeyKind::Rsa(2048) => "RSA-2048",
            KeyKind::Rsa(3072) => "RSA-3072",
            KeyKind::Rsa(4096) => "RSA-4096",
            KeyKind::Rsa(_) => "RSA",
        }
    }

    /// (algorithm enum name, index prefix, digest algorithm, verification algorithm)
    fn hash(self) -> (&'static str, &'static str, &'static digest::Algorithm, &'static dyn VerificationAlgorithm) {
        match self {
            KeyKind::EcdsaP256 => ("SHA2_256", "sha256", &digest::SHA256, &sig::ECDSA_P256_SHA256_ASN1),
            KeyKind::EcdsaP384 => ("SHA2_384", "sha384", &digest::SHA384, &sig::ECDSA_P384_SHA384_ASN1),
            KeyKind::EcdsaP521 => ("SHA2_512", "sha512", &digest::SHA512, &sig::ECDSA_P521_SHA512_ASN1),
            KeyKind::Rsa(_) => ("SHA2_256", "sha256", &digest::SHA256, &sig::RSA_PKCS1_2048_8192_SHA256),
        }
    }
}

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// What the key in a SubjectPublicKeyInfo is.
fn key_kind(spki_der: &[u8]) -> Result<KeyKind, EntryError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| EntryError::Malformed(format!("public key is not a DER SubjectPublicKeyInfo: {e}")))?;
    match spki.algorithm.oid {
        EC_PUBLIC_KEY => match spki.algorithm.parameters_oid() {
            Ok(P256) => Ok(KeyKind::EcdsaP256),
            Ok(P384) => Ok(KeyKind::EcdsaP384),
            Ok(P521) => Ok(KeyKind::EcdsaP521),
            _ => Err(EntryError::UnsupportedKey("EC keys must be on P-256, P-384 or P-521".into())),
        },
        RSA_ENCRYPTION => {
            let key = aws_lc_rs::rsa::PublicEncryptingKey::from_der(spki_der)
                .map_err(|_| EntryError::Malformed("RSA public key does not parse".into()))?;
            Ok(KeyKind::Rsa(key.key_size_bits()))
        }
        ED25519 => Err(EntryError::UnsupportedKey(
            "Ed25519 keys: hashedrekord logs a digest, which pure Ed25519 cannot sign".into(),
        )),
        oid => Err(EntryError::UnsupportedKey(format!("public key algorithm {oid} is not accepted"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_parse_strictly() {
        let h = "ab".repeat(32);
        let key = parse_digest_key(&format!("sha256:{h}")).unwrap();
        assert_eq!(key, digest_key("sha256", &[0xab; 32]));
        assert_eq!(display_key(&key), format!("sha256:{h}"));
        assert_eq!(parse_digest_key(&format!("sha256:{}", h.to_uppercase())), Some(key));
        assert!(parse_digest_key(&format!("sha512:{}", "0".repeat(128))).is_some());
        for bad in [
            format!("sha256:{}", &h[1..]),
            format!("md5:{h}"),
            format!("sha256:{}g", &h[1..]),
            h.clone(),
            format!("sha256:{}é", &h[2..]),
        ] {
            assert_eq!(parse_digest_key(&bad), None, "{bad}");
        }
    }
}

/// Parses a `POST /api/v2/log/entries` body, checks the signature over the digest with the key
/// or certificate's key, and returns the entry to log.
pub fn verify_request(body: &[u8]) -> Result<HashedRekord, EntryError> {
    let req: CreateEntryRequest = serde_json::from_slice(body).map_err(|e| EntryError::Malformed(e.to_string()))?;
    let hr = match (req.hashed_rekord, req.dsse) {
        (Some(hr), None) => hr,
        (None, Some(_)) => {
            return Err(EntryError::UnsupportedKind(
                "dsseRequestV002: Rekor v2 logs DSSE envelopes as hashedrekord over SHA-256(PAE)".into(),
            ));
        }
        (Some(_), Some(_)) => return Err(EntryError::Malformed("more than one entry type given".into())),
        (None, None) => return Err(EntryError::UnsupportedKind("expected hashedRekordRequestV002".into())),
    };
    let digest_bytes = decode_b64("digest", &hr.digest)?;
    let signature = decode_b64("signature.content", &hr.signature.content)?;
    let v = hr.signature.verifier;
    let declared = KeyKind::from_details(&v.key_details)?;
    let (spki, verifier_json) = match (v.public_key, v.x509_certificate) {
        (Some(pk), None) => {
            let raw = decode_b64("publicKey.rawBytes", &pk.raw_bytes)?;
            // The body stores the key as given, and sigstore-go rebuilds it from its own DER
            // encoding: only canonical DER keeps the two identical.
            let canonical = SubjectPublicKeyInfoRef::from_der(&raw)
                .ok()
                .and_then(|k| x509_cert::der::Encode::to_der(&k).ok())
                .is_some_and(|der| der == raw);
            if !canonical {
                return Err(EntryError::Malformed(
                    "publicKey.rawBytes is not a canonical DER SubjectPublicKeyInfo".into(),
                ));
            }
            let json = format!(
                r#"{{"keyDetails":"{}","publicKey":{{"rawBytes":"{}"}}}}"#,
                v.key_details,
                STANDARD.encode(&raw)
            );
            (raw, json)
        }
        (None, Some(cert)) => {
            let raw = decode_b64("x509Certificate.rawBytes", &cert.raw_bytes)?;
            let parsed = Certificate::from_der(&raw)
                .map_err(|e| EntryError::Malformed(format!("x509Certificate is not a DER certificate: {e}")))?;
            let spki = x509_cert::der::Encode::to_der(parsed.tbs_certificate().subject_public_key_info())
                .map_err(|e| EntryError::Malformed(format!("certificate key: {e}")))?;
            let json = format!(
                r#"{{"keyDetails":"{}","x509Certificate":{{"rawBytes":"{}"}}}}"#,
                v.key_details,
                STANDARD.encode(&raw)
            );
            (spki, json)
        }
        _ => return Err(EntryError::Malformed("give exactly one of publicKey and x509Certificate".into())),
    };
    let actual = key_kind(&spki)?;
    if actual != declared {
        return Err(EntryError::KeyMismatch { key_details: v.key_details, actual: actual.name() });
    }
    let (alg_name, index_prefix, digest_alg, verify_alg) = actual.hash();
    if digest_bytes.len() != digest_alg.output_len() {
        return Err(EntryError::DigestLength {
            algorithm: alg_name,
            got: digest_bytes.len(),
            want: digest_alg.output_len(),
        });
    }
    let digest = digest::Digest::import_less_safe(&digest_bytes, digest_alg).map_err(|_| EntryError::BadSignature)?;
    UnparsedPublicKey::new(verify_alg, &spki)
        .verify_digest(&digest, &signature)
        .map_err(|_| EntryError::BadSignature)?;

    // RFC 8785 JSON with every key in sorted order; every value is base64 or an enum name, so
    // nothing needs escaping.
    let body = format!(
        r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"{alg_name}","digest":"{}"}},"signature":{{"content":"{}","verifier":{verifier_json}}}}}}}}}"#,
        STANDARD.encode(&digest_bytes),
        STANDARD.encode(&signature),
    );
    Ok(HashedRekord { body: body.into_bytes(), key: digest_key(index_prefix, &digest_bytes) })
}

/// A hashedrekord 0.0.2 request for a P-256 signature over an artifact with the SHA-256 `digest`,
/// verified by the public key `spki_der` (for clients, load generators and tests).
pub fn p256_request(digest: &[u8], signature: &[u8], spki_der: &[u8]) -> String {
    format!(
        r#"{{"hashedRekordRequestV002":{{"digest":"{}","signature":{{"content":"{}","verifier":{{"publicKey":{{"rawBytes":"{}"}},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}}}}}"#,
        STANDARD.encode(digest),
        STANDARD.encode(signature),
        STANDARD.encode(spki_der)
    )
}

/// The key an artifact digest is filed under: `<alg>:` then the raw digest.
pub fn digest_key(alg: &str, digest: &[u8]) -> Vec<u8> {
    [alg.as_bytes(), b":", digest].concat()
}

/// Parses `sha256:<hex>` (or sha384, sha512; either case) into the key it is filed under.
pub fn parse_digest_key(s: &str) -> Option<Vec<u8>> {
    let (alg, hex) = s.split_once(':')?;
    let len = match alg {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        _ => return None,
    };
    if hex.len() != 2 * len || !hex.is_ascii() {
        return None;
    }
    let digest: Option<Vec<u8>> = (0..len).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    Some(digest_key(alg, &digest?))
}

/// `sha256:<hex>` for a key made by [`digest_key`].
pub fn display_key(key: &[u8]) -> String {
    match key.iter().position(|&b| b == b':') {
        Some(i) => format!("{}:{}", String::from_utf8_lossy(&key[..i]), hex(&key[i + 1..])),
        None => hex(key),
    }
}

/// The key a hashedrekord entry body is filed under: its artifact digest.
pub fn key_of_body(body: &[u8]) -> Option<Vec<u8>> {
    // Only the fields needed, borrowed: `log check` calls this once per entry.
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        spec: Spec<'a>,
    }
    #[derive(Deserialize)]
    struct Spec<'a> {
        #[serde(rename = "hashedRekordV002", borrow)]
        hashed_rekord: HashedRekordBody<'a>,
    }
    #[derive(Deserialize)]
    struct HashedRekordBody<'a> {
        #[serde(borrow)]
        data: Data<'a>,
    }
    #[derive(Deserialize)]
    struct Data<'a> {
        algorithm: &'a str,
        digest: &'a str,
    }
    let data = serde_json::from_slice::<Body<'_>>(body).ok()?.spec.hashed_rekord.data;
    let prefix = match data.algorithm {
        "SHA2_256" => "sha256",
        "SHA2_384" => "sha384",
        "SHA2_512" => "sha512",
        _ => return None,
    };
    Some(digest_key(prefix, &STANDARD.decode(data.digest).ok()?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The log ID of an Ed25519 checkpoint key, as rekor-tiles and the C2SP key ID define it:
/// `SHA-256(origin ‖ "\n" ‖ 0x01 ‖ public key)`. Its first four bytes are the note key ID.
pub fn log_id(origin: &str, public_key: &[u8; 32]) -> [u8; 32] {
    let mut msg = Vec::with_capacity(origin.len() + 34);
    msg.extend_from_slice(origin.as_bytes());
    msg.push(b'\n');
    msg.push(sig_share_tlog::note::ALG_ED25519);
    msg.extend_from_slice(public_key);
    digest::digest(&digest::SHA256, &msg).as_ref().try_into().expect("SHA-256 is 32 bytes")
}

/// `dev.sigstore.rekor.v1.TransparencyLogEntry` in protojson form (int64 as strings). The
/// integrated time and inclusion promise of Rekor v1 are left out: v2 has neither.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogEntry {
    /// The entry's index, as a decimal string.
    pub log_index: String,
    /// The log's ID.
    pub log_id: LogId,
    /// `hashedrekord` / `0.0.2`.
    pub kind_version: KindVersion,
    /// The inclusion proof against a signed checkpoint.
    pub inclusion_proof: InclusionProof,
    /// The logged entry body, base64.
    pub canonicalized_body: String,
}

/// A log ID.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// The 32-byte key ID, base64.
    pub key_id: String,
}

/// An entry kind and version.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct KindVersion {
    /// The entry kind.
    pub kind: String,
    /// Its version.
    pub version: String,
}

/// An inclusion proof with its checkpoint.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The entry's index.
    pub log_index: String,
    /// The root the proof leads to.
    pub root_hash: String,
    /// The tree size of the checkpoint.
    pub tree_size: String,
    /// The proof hashes, leaf-most first.
    pub hashes: Vec<String>,
    /// The signed checkpoint.
    pub checkpoint: CheckpointEnvelope,
}

impl InclusionProof {
    /// The proof of entry `index` in the tree of `size` entries with `root`, and the checkpoint
    /// that signs that tree.
    pub fn new(index: u64, size: u64, root: &Hash, proof: &[Hash], checkpoint: &str) -> InclusionProof {
        InclusionProof {
            log_index: index.to_string(),
            root_hash: root.to_base64(),
            tree_size: size.to_string(),
            hashes: proof.iter().map(Hash::to_base64).collect(),
            checkpoint: CheckpointEnvelope { envelope: checkpoint.to_owned() },
        }
    }
}

/// A signed checkpoint note.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CheckpointEnvelope {
    /// The note text with its signatures.
    pub envelope: String,
}

/// Why a `TransparencyLogEntry` did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProofError {
    /// A field is not what the format says.
    #[error("malformed entry: {0}")]
    Malformed(&'static str),
    /// The checkpoint is not signed by the log, or disagrees with the proof.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The inclusion proof fails.
    #[error("inclusion proof: {0}")]
    Proof(#[from] sig_share_tlog::merkle::ProofError),
}

impl TransparencyLogEntry {
    /// Checks the entry offline: the checkpoint is signed by `log_key`, its size and root are the
    /// proof's, and the body's leaf hash is included at the index. Returns the index.
    pub fn verify(&self, log_key: &sig_share_tlog::Ed25519Verifier) -> Result<u64, EntryProofError> {
        use sig_share_tlog::merkle;
        let parse_u64 = |s: &str, what| s.parse::<u64>().map_err(|_| EntryProofError::Malformed(what));
        let index = parse_u64(&self.log_index, "logIndex")?;
        let p = &self.inclusion_proof;
        if parse_u64(&p.log_index, "inclusionProof.logIndex")? != index {
            return Err(EntryProofError::Malformed("the proof is for another index"));
        }
        let size = parse_u64(&p.tree_size, "treeSize")?;
        let root = Hash::from_base64(&p.root_hash).ok_or(EntryProofError::Malformed("rootHash"))?;
        let hashes: Option<Vec<Hash>> = p.hashes.iter().map(|h| Hash::from_base64(h)).collect();
        let hashes = hashes.ok_or(EntryProofError::Malformed("hashes"))?;
        let body =
            STANDARD.decode(&self.canonicalized_body).map_err(|_| EntryProofError::Malformed("canonicalizedBody"))?;
        let signed = sig_share_tlog::SignedCheckpoint::verify(p.checkpoint.envelope.as_bytes(), log_key)
            .map_err(|e| EntryProofError::Checkpoint(e.to_string()))?;
        if signed.checkpoint.size != size || signed.checkpoint.root != root {
            return Err(EntryProofError::Checkpoint("its size or root differs from the proof's".into()));
        }
        merkle::verify_inclusion(index, size, &Hash::leaf(&body), &hashes, &root)?;
        Ok(index)
    }

    /// Builds the answer for a hashedrekord entry.
    pub fn hashedrekord(
        log_id: &[u8; 32],
        index: u64,
        body: &[u8],
        size: u64,
        root: &Hash,
        proof: &[Hash],
        checkpoint: &str,
    ) -> TransparencyLogEntry {
        TransparencyLogEntry {
            log_index: index.to_string(),
            log_id: LogId { key_id: STANDARD.encode(log_id) },
            kind_version: KindVersion { kind: "hashedrekord".into(), version: "0.0.2".into() },
            inclusion_proof: InclusionProof::new(index, size, root, proof, checkpoint),
            canonicalized_body: STANDARD.encode(body),
        }
    }
}
