//! Logged statements, kept whole.
//!
//! Rekor v2 logs a DSSE-signed in-toto statement as a hashedrekord over the envelope's PAE
//! encoding: the entry proves who signed which digest, not what the statement said. To let the
//! log alone tell a file's story (sig-share's provenance statements name each parent by digest
//! and log index), the log also keeps the statements themselves, content-addressed by that same
//! digest. A reader needs no trust in this store: it hashes what it gets and compares with the
//! logged entry.
//!
//! The store takes only statements that some entry already signs (the log is not a file host),
//! and files each such entry under the digests of the statement's subjects, so a lookup by
//! content finds the statements about those bytes.
//!
//! It is bounded ([`StatementQuota`], issue 14 #7): the total bytes kept, and the statements kept
//! per signer. A signer is the identity in a certificate issued by the deployment's CA (its
//! subject alternative name and OIDC issuer), or otherwise the entry's key. Statements no
//! entry certified by that CA signs (raw keys, certificates of other CAs) are kept apart, within
//! a smaller share of the total: anyone can log entries with throwaway keys, and such a flood
//! must not fill the store that certified signers' statements need. They are kept rather than
//! refused because a log serving on its own (`log serve`) has no CA, and Rekor's clients sign
//! with keys too; their share is what bounds them, with each key's own count.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sig_share_limits::Refused;
use sig_share_tlog::Hash;
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};

use crate::log::Log;
use crate::rekor::digest_key;
use crate::storage::{Filed, StorageError};
use crate::tiles::TileReadError;

/// The most bytes of one envelope sent to the store.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;
/// The most subjects one statement is filed under.
pub const MAX_SUBJECTS: usize = 16;
/// The most entries one statement's digest is looked up for when filing.
const MAX_SIGNERS: usize = 16;

/// A statement as the store keeps and serves it: a DSSE envelope without its signatures (those
/// are in the log entries that sign it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredStatement {
    pub payload_type: String,
    /// The payload, base64.
    pub payload: String,
}

impl StoredStatement {
    /// SHA-256 of the envelope's PAE encoding: what a hashedrekord entry for it signs.
    pub fn pae_sha256(&self, payload: &[u8]) -> [u8; 32] {
        let pae = [
            format!("DSSEv1 {} {} {} ", self.payload_type.len(), self.payload_type, payload.len()).as_bytes(),
            payload,
        ]
        .concat();
        digest::digest(&digest::SHA256, &pae).as_ref().try_into().expect("32 bytes")
    }
}

/// Why a statement was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the envelope is {0} bytes; the most is {MAX_ENVELOPE_BYTES}")]
    TooLarge(usize),
    #[error("not a DSSE envelope: {0}")]
    Malformed(String),
    #[error("not an in-toto statement: {0}")]
    NotInToto(String),
    #[error("no entry in this log signs this statement (sha256:{0} over its DSSE encoding): log its signature first")]
    NotLogged(String),
    #[error(transparent)]
    Quota(#[from] Refused),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Tiles(#[from] TileReadError),
}

/// How much the statement store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementQuota {
    /// The most bytes of statements kept in all.
    pub max_bytes: u64,
    /// Of those, the most kept for signers the deployment's CA did not certify.
    pub max_uncertified_bytes: u64,
    /// The most statements kept per signer (each at most [`MAX_ENVELOPE_BYTES`]).
    pub per_signer: u32,
    /// The deployment's CA keys (DER SubjectPublicKeyInfo): a statement signed by an entry
    /// whose certificate one of them signed counts as certified. Empty: none is.
    pub ca_keys: Vec<Vec<u8>>,
}

impl Default for StatementQuota {
    /// 16 GiB in all, 1 GiB of it uncertified, 10,000 statements per signer: at the 64 KiB
    /// most per envelope, one signer fills at most 640 MiB.
    fn default() -> StatementQuota {
        StatementQuota { max_bytes: 16 << 30, max_uncertified_bytes: 1 << 30, per_signer: 10_000, ca_keys: Vec::new() }
    }
}

/// What the store holds, kept beside the statements and updated with each one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Statements kept.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The bytes of those no certified entry signs.
    pub uncertified_bytes: u64,
}

/// The object the usage is kept in (not a tile path, so never served).
const USAGE_KEY: &str = "statements-usage.json";

/// How long a client refused by a quota of stored statements is told to wait: stored statements
/// are never deleted, so only an operator raising the quota helps.
const FULL_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The statement store's bounds and its running usage.
#[derive(Debug, Default)]
pub struct StatementStore {
    quota: StatementQuota,
    /// Loaded from [`USAGE_KEY`] on first use; one writer at a time.
    usage: Mutex<Option<Usage>>,
}

impl StatementStore {
    /// A store within `quota`.
    pub fn new(quota: StatementQuota) -> StatementStore {
        StatementStore { quota, usage: Mutex::new(None) }
    }

    /// The quota.
    pub fn quota(&self) -> &StatementQuota {
        &self.quota
    }

    /// What the store of `log` holds. Blocking.
    pub fn usage(&self, log: &Log) -> Result<Usage, StatementError> {
        let mut guard = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(*load_usage(&mut guard, log)?)
    }
}

fn load_usage<'a>(slot: &'a mut Option<Usage>, log: &Log) -> Result<&'a mut Usage, StatementError> {
    if slot.is_none() {
        let usage = match log.stores().tiles.get(USAGE_KEY)? {
            Some(data) => {
                serde_json::from_slice(&data).map_err(|e| StorageError::Corrupt(format!("{USAGE_KEY}: {e}")))?
            }
            None => Usage::default(),
        };
        *slot = Some(usage);
    }
    Ok(slot.as_mut().expect("just filled"))
}

/// Who signed an entry, for the per-signer quota.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signer {
    /// A certificate from the deployment's CA: SHA-256 of its identity (SAN and OIDC issuer).
    Certified([u8; 32]),
    /// Anything else: SHA-256 of the key (or of the certificate).
    Uncertified([u8; 32]),
}

impl Signer {
    fn id(&self) -> &[u8; 32] {
        match self {
            Signer::Certified(id) | Signer::Uncertified(id) => id,
        }
    }
}

/// The key an entry is filed under for its signer's statement count.
fn signer_key(signer: &Signer) -> Vec<u8> {
    [b"statement-signer:".as_slice(), signer.id()].concat()
}

const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// Fulcio's OIDC issuer extensions (v1 and v2).
const FULCIO_ISSUER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const FULCIO_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// The signer of a hashedrekord entry body, judged against the CA keys.
fn signer_of(body: &[u8], ca_keys: &[Vec<u8>]) -> Option<Signer> {
    #[derive(Deserialize)]
    struct Body {
        spec: Spec,
    }
    #[derive(Deserialize)]
    struct Spec {
        #[serde(rename = "hashedRekordV002")]
        hashed_rekord: HashedRekordBody,
    }
    #[derive(Deserialize)]
    struct HashedRekordBody {
        signature: SignatureBody,
    }
    #[derive(Deserialize)]
    struct SignatureBody {
        verifier: Verifier,
    }
    #[derive(Deserialize)]
    struct Verifier {
        #[serde(rename = "publicKey")]
        public_key: Option<Raw>,
        #[serde(rename = "x509Certificate")]
        certificate: Option<Raw>,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "rawBytes")]
        raw_bytes: String,
    }
    let verifier = serde_json::from_slice::<Body>(body).ok()?.spec.hashed_rekord.signature.verifier;
    let sha = |parts: &[&[u8]]| -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        parts.iter().for_each(|p| ctx.update(p));
        ctx.finish().as_ref().try_into().expect("32 bytes")
    };
    if let Some(cert) = verifier.certificate {
        let der = STANDARD.decode(cert.raw_bytes).ok()?;
        if let Ok(parsed) = Certificate::from_der(&der)
            && certified_by(&parsed, ca_keys)
        {
            let ext = |oid: ObjectIdentifier| {
                parsed
                    .tbs_certificate()
                    .extensions()
                    .into_iter()
                    .flatten()
                    .find(|e| e.extn_id == oid)
                    .map(|e| e.extn_value.as_bytes().to_vec())
                    .unwrap_or_default()
            };
            let issuer = [ext(FULCIO_ISSUER_V2), ext(FULCIO_ISSUER)].concat();
            return Some(Signer::Certified(sha(&[b"identity\0", &ext(SUBJECT_ALT_NAME), b"\0", &issuer])));
        }
        return Some(Signer::Uncertified(sha(&[b"certificate\0", &der])));
    }
    let key = STANDARD.decode(verifier.public_key?.raw_bytes).ok()?;
    Some(Signer::Uncertified(sha(&[b"key\0", &key])))
}

/// Whether one of `ca_keys` signed `cert` (ECDSA, as sig-share's CA signs).
fn certified_by(cert: &Certificate, ca_keys: &[Vec<u8>]) -> bool {
    const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    let algs: [&'static sig::EcdsaVerificationAlgorithm; 2] = match cert.signature_algorithm().oid {
        ECDSA_SHA256 => [&sig::ECDSA_P256_SHA256_ASN1, &sig::ECDSA_P384_SHA256_ASN1],
        ECDSA_SHA384 => [&sig::ECDSA_P384_SHA384_ASN1, &sig::ECDSA_P256_SHA384_ASN1],
        _ => return false,
    };
    let (Ok(tbs), Some(signature)) = (cert.tbs_certificate().to_der(), cert.signature().as_bytes()) else {
        return false;
    };
    ca_keys.iter().any(|key| {
        let Ok(spki) = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(key) else { return false };
        let Some(point) = spki.subject_public_key.as_bytes() else { return false };
        algs.iter().any(|alg| UnparsedPublicKey::new(*alg, point).verify(&tbs, signature).is_ok())
    })
}

/// The key an entry is filed under for the statement subject with this SHA-256.
pub fn subject_key(sha256: &[u8]) -> Vec<u8> {
    [b"subject:".as_slice(), &digest_key("sha256", sha256)].concat()
}

/// The object a statement is kept in, by the SHA-256 of its PAE encoding.
fn object_key(pae_sha256: &[u8]) -> String {
    let hex: String = pae_sha256.iter().map(|b| format!("{b:02x}")).collect();
    format!("statements/{hex}")
}

#[derive(Deserialize)]
struct InToto {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<InTotoSubject>,
}

#[derive(Deserialize)]
struct InTotoSubject {
    #[serde(default)]
    digest: std::collections::BTreeMap<String, String>,
}

/// The SHA-256 subjects of an in-toto statement.
fn subjects(payload: &[u8]) -> Result<Vec<[u8; 32]>, StatementError> {
    let statement: InToto = serde_json::from_slice(payload).map_err(|e| StatementError::NotInToto(e.to_string()))?;
    if !statement.statement_type.starts_with("https://in-toto.io/Statement/") {
        return Err(StatementError::NotInToto(format!("_type is {:?}", statement.statement_type)));
    }
    let digests: Vec<[u8; 32]> = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.get("sha256"))
        .filter_map(|hex| {
            (hex.len() == 64 && hex.is_ascii())
                .then(|| {
                    (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()
                })
                .flatten()
                .and_then(|d| d.try_into().ok())
        })
        .collect();
    if digests.is_empty() {
        return Err(StatementError::NotInToto("no subject has a sha256 digest".into()));
    }
    if digests.len() > MAX_SUBJECTS {
        return Err(StatementError::NotInToto(format!("{} subjects; the most is {MAX_SUBJECTS}", digests.len())));
    }
    Ok(digests)
}

/// A statement stored: its digest and the entries that sign it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub pae_sha256: [u8; 32],
    pub indices: Vec<u64>,
}

/// Stores the statement in a DSSE envelope (JSON, signatures ignored) if an entry of `log`
/// signs it and `store`'s quota has room, and files those entries under its subjects.
/// Blocking: call off the async runtime.
pub fn accept(log: &Log, store: &StatementStore, envelope: &[u8]) -> Result<Accepted, StatementError> {
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(StatementError::TooLarge(envelope.len()));
    }
    let stored: StoredStatement =
        serde_json::from_slice(envelope).map_err(|e| StatementError::Malformed(e.to_string()))?;
    if stored.payload_type != "application/vnd.in-toto+json" {
        return Err(StatementError::NotInToto(format!("payloadType is {:?}", stored.payload_type)));
    }
    let payload = STANDARD.decode(&stored.payload).map_err(|e| StatementError::Malformed(format!("payload: {e}")))?;
    let pae_sha256 = stored.pae_sha256(&payload);
    let subjects = subjects(&payload)?;
    let indices = log.lookup(&digest_key("sha256", &pae_sha256), MAX_SIGNERS)?;
    if indices.is_empty() {
        return Err(StatementError::NotLogged(pae_sha256.iter().map(|b| format!("{b:02x}")).collect()));
    }
    // Kept in canonical form (no signatures, standard base64), written once: the key names the
    // content, so a second writer writes the same bytes.
    let canonical = StoredStatement { payload_type: stored.payload_type, payload: STANDARD.encode(&payload) };
    let tiles = log.stores().tiles.as_ref();
    let published = log.latest();
    let mut filed = Vec::with_capacity(indices.len() * subjects.len() + 1);
    // The signer charged: the first certified one, else the first entry's.
    let mut charged: Option<(Signer, Filed)> = None;
    for &index in &indices {
        let body = crate::check::read_entry(tiles, log.config().format, index, published.size)?;
        let leaf = Hash::leaf(&body);
        filed.extend(subjects.iter().map(|s| Filed { key: subject_key(s), leaf, index }));
        if let Some(signer) = signer_of(&body, &store.quota.ca_keys)
            && (charged.is_none()
                || matches!((&charged, &signer), (Some((Signer::Uncertified(_), _)), Signer::Certified(_))))
        {
            let record = Filed { key: signer_key(&signer), leaf, index };
            charged = Some((signer, record));
        }
    }
    let key = object_key(&pae_sha256);
    let data = serde_json::to_vec(&canonical).expect("serialises");
    {
        // One writer at a time, so the usage read, checked and written back stays exact.
        let mut guard = store.usage.lock().unwrap_or_else(PoisonError::into_inner);
        let usage = load_usage(&mut guard, log)?;
        if tiles.get(&key)?.is_none() {
            let certified = matches!(charged, Some((Signer::Certified(_), _)));
            charge(log, store, usage, charged.as_ref(), certified, data.len() as u64)?;
            tiles.put(&key, &data)?;
            usage.count += 1;
            usage.bytes += data.len() as u64;
            if !certified {
                usage.uncertified_bytes += data.len() as u64;
            }
            // After the statement: a crash in between leaves the usage a statement short, never
            // counting one that is not there.
            tiles.put(USAGE_KEY, &serde_json::to_vec(&*usage).expect("serialises"))?;
            filed.extend(charged.map(|(_, record)| record));
        }
    }
    log.stores().state.file(&filed)?;
    Ok(Accepted { pae_sha256, indices })
}

/// Checks that a new statement of `len` bytes fits: in the total, in the uncertified share
/// unless `certified`, and in its signer's count.
fn charge(
    log: &Log,
    store: &StatementStore,
    usage: &Usage,
    charged: Option<&(Signer, Filed)>,
    certified: bool,
    len: u64,
) -> Result<(), StatementError> {
    let q = &store.quota;
    // The limit is named in the message, as the rate limits name theirs: the flag to raise.
    let full = |limit: &'static str, message: String| -> Result<(), StatementError> {
        Err(Refused::new(limit, FULL_RETRY_AFTER, format!("{message} ({limit})")).into())
    };
    if usage.bytes + len > q.max_bytes {
        return full(
            "statement_bytes",
            format!("the statement store is full ({} of {} bytes)", usage.bytes, q.max_bytes),
        );
    }
    if !certified && usage.uncertified_bytes + len > q.max_uncertified_bytes {
        return full(
            "statement_uncertified_bytes",
            format!(
                "the store's share for statements signed without a certificate from this deployment's CA is full \
                 ({} of {} bytes); sign with a certificate from it",
                usage.uncertified_bytes, q.max_uncertified_bytes
            ),
        );
    }
    if let Some((signer, _)) = charged {
        let kept = log.stores().state.lookup(&signer_key(signer), q.per_signer as usize + 1)?.len();
        if kept >= q.per_signer as usize {
            return full(
                "statements_per_signer",
                format!("this signer already has {kept} statements kept, the most this log keeps per signer"),
            );
        }
    }
    Ok(())
}

/// The statement an entry (its body) signs, if the store has it. Blocking.
pub fn for_entry(log: &Log, body: &[u8]) -> Result<Option<StoredStatement>, StatementError> {
    let Some(key) = crate::rekor::key_of_body(body) else { return Ok(None) };
    let Some(digest) = key.strip_prefix(b"sha256:".as_slice()) else { return Ok(None) };
    let Some(data) = log.stores().tiles.get(&object_key(digest))? else { return Ok(None) };
    serde_json::from_slice(&data)
        .map(Some)
        .map_err(|e| StatementError::Storage(StorageError::Corrupt(format!("stored statement: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_read_strictly() {
        let statement = |subject: &str| {
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":{subject},"predicateType":"x","predicate":{{}}}}"#
            )
        };
        let one = statement(&format!(r#"[{{"name":"a","digest":{{"sha256":"{}"}}}}]"#, "ab".repeat(32)));
        assert_eq!(subjects(one.as_bytes()).unwrap(), vec![[0xab; 32]]);
        for bad in [
            statement(r#"[{"name":"a","digest":{"sha1":"00"}}]"#),
            statement(&format!(r#"[{{"digest":{{"sha256":"{}"}}}}]"#, "zz".repeat(32))),
            statement("[]"),
            one.replace("in-toto.io/Statement", "example.com/Statement"),
            "[]".into(),
        ] {
            assert!(subjects(bad.as_bytes()).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_SUBJECTS)
            .map(|i| format!(r#"{{"digest":{{"sha256":"{}"}}}}"#, format!("{i:02x}").repeat(32)))
            .collect();
        assert!(subjects(statement(&format!("[{}]", many.join(","))).as_bytes()).is_err());
    }

    #[test]
    fn pae_digest_is_dsse_v1() {
        let s = StoredStatement { payload_type: "http://example.com/HelloWorld".into(), payload: String::new() };
        // DSSE's own example: PAE("http://example.com/HelloWorld", "hello world").
        let expected = digest::digest(&digest::SHA256, b"DSSEv1 29 http://example.com/HelloWorld 11 hello world");
        assert_eq!(s.pae_sha256(b"hello world").as_slice(), expected.as_ref());
    }
}
