//! The provenance statement: what every signing of media puts in the transparency log, so the
//! log alone tells the story of a file even when its manifest is stripped. An in-toto Statement
//! v1 whose subject is the content that was signed (the bytes as they were before the manifest
//! went in, which is also what a platform that strips the manifest usually hands back) and whose
//! predicate names the actions, the source type, the parents (by digest and log index), the
//! device and the tool.
//!
//! The statement cannot name the C2PA claim's digest: the claim carries the statement's log
//! entry (the `dev.sig-share.provenance` assertion), so the claim is made after the statement is
//! logged. The binding runs the other way: the claim includes the entry, and the verifier
//! demands that one certificate signed both.

use serde::{Deserialize, Serialize};

/// The predicate type of a sig-share provenance statement.
pub const PREDICATE_TYPE: &str = "https://sig-share.dev/provenance/v0.1";
/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// An in-toto statement with a sig-share provenance predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Provenance,
}

/// The content a statement is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: Digests,
}

/// Digests by algorithm (only SHA-256 is written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digests {
    pub sha256: String,
}

/// What happened to the content, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The MIME type of the content.
    pub format: String,
    /// The C2PA actions taken (`c2pa.created`, `c2pa.cropped`, …).
    pub actions: Vec<String>,
    /// The IPTC digital source type, for a creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    /// The files this one was made from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Parent>,
    /// The capturing device, when a device signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The person who added their identity assertion to the device's claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// The software that signed.
    pub tool: String,
}

/// A parent of an edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parent {
    /// SHA-256 of the parent file as it was given (manifest included).
    pub digest: Digests,
    /// The parent's own provenance statement in the log, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

impl Statement {
    /// A statement about content `name` with SHA-256 `sha256`.
    pub fn new(name: &str, sha256: &[u8; 32], predicate: Provenance) -> Statement {
        Statement {
            statement_type: STATEMENT_TYPE.into(),
            subject: vec![Subject { name: name.into(), digest: Digests { sha256: hex::encode(sha256) } }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate,
        }
    }

    /// Reads a statement, refusing other statement or predicate types.
    pub fn from_json(bytes: &[u8]) -> Result<Statement, String> {
        let statement: Statement =
            serde_json::from_slice(bytes).map_err(|e| format!("not a sig-share provenance statement: {e}"))?;
        if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
            return Err(format!(
                "statement type {} / predicate type {} is not sig-share provenance",
                statement.statement_type, statement.predicate_type
            ));
        }
        if statement.subject.len() != 1 {
            return Err(format!("a provenance statement names one subject, this one {}", statement.subject.len()));
        }
        Ok(statement)
    }

    /// The statement as compact JSON, as it is signed.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement serialises")
    }

    /// The subject's SHA-256, hex.
    pub fn content_sha256(&self) -> &str {
        &self.subject[0].digest.sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_predicates() {
        let p = Provenance {
            format: "image/jpeg".into(),
            actions: vec!["c2pa.cropped".into()],
            digital_source_type: None,
            parents: vec![Parent { digest: Digests { sha256: "ab".repeat(32) }, log_index: Some(7) }],
            device: None,
            creator: None,
            tool: "sig-share 0.1.0".into(),
        };
        let s = Statement::new("photo.jpg", &[1; 32], p);
        let back = Statement::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.content_sha256(), "01".repeat(32));
        let text = String::from_utf8(s.to_json()).unwrap();
        assert!(text.contains("\"logIndex\":7") && !text.contains("digitalSourceType"), "{text}");
        let other = text.replace(PREDICATE_TYPE, "https://slsa.dev/provenance/v1");
        assert!(Statement::from_json(other.as_bytes()).unwrap_err().contains("not sig-share"));
        assert!(Statement::from_json(b"{}").is_err());
    }
}
