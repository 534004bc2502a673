//! The wire format of C2SP tlog-witness v1.0.0, both sides: the `add-checkpoint` request a log
//! sends and the witness parses, and the `text/x.tlog.size` body of a 409.
//!
//! ```text
//! old <size>
//! <base64 consistency-proof hash>      (0 to 63 lines)
//!
//! <checkpoint note>
//! ```

use crate::hash::Hash;

/// The most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// The content type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The largest request a witness reads: 63 proof lines and a note with many signatures.
pub const MAX_REQUEST_SIZE: usize = 64 * 1024;

/// An `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: Vec<u8>,
}

/// Why a request body was refused (a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The body breaks the format.
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(&'static str),
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(h.to_base64().as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body. The checkpoint is returned unparsed: the witness verifies it.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WireError> {
        let malformed = WireError::Malformed;
        if body.len() > MAX_REQUEST_SIZE {
            return Err(malformed("the body is too large"));
        }
        let mut rest = body;
        let mut next_line = || -> Result<&[u8], WireError> {
            let end = rest.iter().position(|&b| b == b'\n').ok_or(malformed("a line does not end in a newline"))?;
            let line = &rest[..end];
            rest = &rest[end + 1..];
            Ok(line)
        };
        let old = next_line()?.strip_prefix(b"old ").ok_or(malformed("the first line is not `old <size>`"))?;
        let old_size = decimal(old).ok_or(malformed("the old size is not a decimal without leading zeros"))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(malformed("more than 63 consistency proof lines"));
            }
            let hash = std::str::from_utf8(line).ok().and_then(Hash::from_base64);
            proof.push(hash.ok_or(malformed("a proof line is not a base64 SHA-256 hash"))?);
        }
        Ok(AddCheckpoint { old_size, proof, checkpoint: rest.to_vec() })
    }
}

/// The body of a 409: the size the witness last cosigned.
pub fn encode_size(size: u64) -> String {
    format!("{size}\n")
}

/// Reads the body of a 409.
pub fn parse_size(body: &[u8]) -> Option<u64> {
    decimal(body.strip_suffix(b"\n")?)
}

/// An ASCII decimal with no leading zeros ("0" for zero), as the spec writes sizes.
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example request of the spec text (tlog-witness v1.0.0), byte for byte.
    const SPEC_EXAMPLE: &str = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

    #[test]
    fn parses_the_spec_example_and_encodes_it_back() {
        let req = AddCheckpoint::parse(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(req.old_size, 20852014);
        assert_eq!(req.proof.len(), 4);
        assert_eq!(req.proof[0].to_base64(), "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=");
        let note = crate::note::Note::parse(&req.checkpoint).unwrap();
        assert_eq!(note.signatures().len(), 2);
        assert_eq!(req.encode(), SPEC_EXAMPLE.as_bytes());
    }

    #[test]
    fn refuses_what_the_spec_forbids() {
        let cp = "example.com/x\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n";
        let h = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
        for body in [
            format!("old 01\n\n{cp}"),
            format!("old -1\n\n{cp}"),
            format!("old\n\n{cp}"),
            format!("new 1\n\n{cp}"),
            format!("old 1\n{}\n{cp}", "not base64\n"),
            format!("old 1\n{}\n{cp}", h.repeat(64)),
            "old 1\n".to_owned(),
            format!("old 18446744073709551616\n\n{cp}"),
        ] {
            assert!(AddCheckpoint::parse(body.as_bytes()).is_err(), "{body:?}");
        }
        assert!(AddCheckpoint::parse(format!("old 1\n{}\n{cp}", h.repeat(63)).as_bytes()).is_ok());
        assert!(AddCheckpoint::parse(format!("old 0\n\n{cp}").as_bytes()).is_ok());
    }

    #[test]
    fn size_bodies() {
        assert_eq!(parse_size(encode_size(42).as_bytes()), Some(42));
        assert_eq!(parse_size(b"0\n"), Some(0));
        assert_eq!(parse_size(b"042\n"), None);
        assert_eq!(parse_size(b"42"), None);
    }
}
