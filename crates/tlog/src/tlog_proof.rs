//! C2SP tlog-proof@v1: a self-contained, offline-verifiable proof that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional, unauthenticated)
//! index <n>
//! <base64 hash>             (the inclusion proof, leaf-most first)
//!
//! <signed checkpoint>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::hash::Hash;
use crate::merkle::{self, ProofError};
use crate::note::{Note, NoteVerifier};

const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// More hashes than any tree of `u64` leaves needs.
const MAX_PROOF_HASHES: usize = 64;

/// A parsed tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Application data carried along, not covered by any signature.
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: u64,
    /// The inclusion proof.
    pub proof: Vec<Hash>,
    /// The signed (and possibly cosigned) checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// Not in the tlog-proof format.
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    /// The checkpoint was refused.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl TlogProof {
    /// Formats the proof.
    pub fn to_text(&self) -> Vec<u8> {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a proof without verifying it.
    pub fn parse(data: &[u8]) -> Result<TlogProof, TlogProofError> {
        let text = std::str::from_utf8(data).map_err(|_| TlogProofError::Malformed("not UTF-8"))?;
        let (head, checkpoint) =
            text.split_once("\n\n").ok_or(TlogProofError::Malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(HEADER) {
            return Err(TlogProofError::Malformed("first line must be c2sp.org/tlog-proof@v1"));
        }
        let mut extra = None;
        if let Some(rest) = lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            extra = Some(BASE64.decode(rest).map_err(|_| TlogProofError::Malformed("extra is not base64"))?);
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0')))
            .and_then(|n| n.parse().ok())
            .ok_or(TlogProofError::Malformed("missing or invalid index line"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_HASHES {
                return Err(TlogProofError::Malformed("too many proof hashes"));
            }
            proof.push(Hash::from_base64(line).ok_or(TlogProofError::Malformed("proof line is not a base64 hash"))?);
        }
        Ok(TlogProof { extra, index, proof, checkpoint: checkpoint.as_bytes().to_vec() })
    }

    /// Verifies the checkpoint's log signature and the inclusion of `leaf` at `index`.
    /// Witness policy is the caller's: see [`SignedCheckpoint::cosignatures`].
    pub fn verify(&self, leaf: &Hash, log_key: &dyn NoteVerifier) -> Result<SignedCheckpoint, TlogProofError> {
        let signed = SignedCheckpoint::verify(&self.checkpoint, log_key)?;
        let cp = &signed.checkpoint;
        merkle::verify_inclusion(self.index, cp.size, leaf, &self.proof, &cp.root)?;
        Ok(signed)
    }

    /// Builds a proof from its parts.
    pub fn new(index: u64, proof: Vec<Hash>, checkpoint: &Note, extra: Option<Vec<u8>>) -> TlogProof {
        TlogProof { extra, index, proof, checkpoint: checkpoint.to_text().into_bytes() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Ed25519Verifier;

    const EXAMPLE: &str = "c2sp.org/tlog-proof@v1
index 3
Zx8UbF5HHooag6PCFM5LqQe486WIjRTMjNPOdbsS75Q=
T1X2GdkhUjV3iyufF9b0kVsWFxIU0VI4EpNml2Teci4=
g0ZoeYWtIV8Q8i+4CmgqPnBvH2il107lyCgTQsyB7H4=
5jLpqTgjsBDSEX6SgZiRnbTMdTuRd8bQ5tSsAOxe0Ks=

example.com/log/testdata
15
rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=

\u{2014} example.com/log/testdata M9e0luh4jTG+UMBqOUo9/q+yAEvx1ilBEniMvjf1zfcBOhg+CKubMt53MvIt/uEWP6zdkdIQzd/fmwlM/dlPWF74ewI=
";

    #[test]
    fn parses_verifies_and_round_trips() {
        let key = Ed25519Verifier::from_vkey(
            "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
        )
        .unwrap();
        let p = TlogProof::parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(p.index, 3);
        assert_eq!(p.to_text(), EXAMPLE.as_bytes());
        p.verify(&Hash::leaf(b"four"), &key).unwrap();
        assert!(matches!(p.verify(&Hash::leaf(b"five"), &key), Err(TlogProofError::Proof(_))));
        let with_extra = TlogProof { extra: Some(b"extra".to_vec()), ..p.clone() };
        assert_eq!(TlogProof::parse(&with_extra.to_text()).unwrap(), with_extra);
        let other =
            Ed25519Verifier::from_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        assert!(matches!(p.verify(&Hash::leaf(b"four"), &other), Err(TlogProofError::Checkpoint(_))));
    }

    #[test]
    fn refuses_malformed_proofs() {
        for bad in [
            EXAMPLE.replace("tlog-proof@v1", "tlog-proof@v2"),
            EXAMPLE.replace("index 3", "index 03"),
            EXAMPLE.replace("index 3", "index"),
            EXAMPLE.replace("Zx8UbF5HHooag6PCFM5LqQe486WIjRTMjNPOdbsS75Q=", "Zx8U"),
            EXAMPLE.replace("index 3\n", "index 3\nextra !!\n"),
            EXAMPLE.replace("\n\nexample", "\nexample"),
        ] {
            assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
