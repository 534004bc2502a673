//! Logged statements, kept whole.
//!
//! Rekor v2 logs a DSSE-signed in-toto statement as a hashedrekord over the envelope's PAE
//! encoding: the entry proves who signed which digest, not what the statement said. To let the
//! log alone tell a file's story (sig-share's provenance statements name each parent by digest
//! and log index), the log also keeps the statements themselves, content-addressed by that same
//! digest. A reader needs no trust in this store: it hashes what it gets and compares with the
//! logged entry.
//!
//! The store takes only statements that some entry already signs (the log is not a file host,
//! and its write path's limits bound this one), and files each such entry under the digests of
//! the statement's subjects, so a lookup by content finds the statements about those bytes.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sig_share_tlog::Hash;

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
    Storage(#[from] StorageError),
    #[error(transparent)]
    Tiles(#[from] TileReadError),
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
/// signs it, and files those entries under its subjects. Blocking: call off the async runtime.
pub fn accept(log: &Log, envelope: &[u8]) -> Result<Accepted, StatementError> {
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
    let key = object_key(&pae_sha256);
    if tiles.get(&key)?.is_none() {
        tiles.put(&key, &serde_json::to_vec(&canonical).expect("serialises"))?;
    }
    let published = log.latest();
    let mut filed = Vec::with_capacity(indices.len() * subjects.len());
    for &index in &indices {
        let body = crate::check::read_entry(tiles, log.config().format, index, published.size)?;
        let leaf = Hash::leaf(&body);
        filed.extend(subjects.iter().map(|s| Filed { key: subject_key(s), leaf, index }));
    }
    log.stores().state.file(&filed)?;
    Ok(Accepted { pae_sha256, indices })
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
