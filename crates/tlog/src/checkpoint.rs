//! C2SP tlog-checkpoint: the signed statement of a log's size and root.
//!
//! ```text
//! <origin>
//! <size in decimal>
//! <base64 root hash>
//! [extension lines]
//! ```

use crate::hash::Hash;
use crate::note::{Ed25519Signer, Note, NoteError, NoteVerifier, Verified};

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin: its URL prefix without the scheme, by convention the key name too.
    pub origin: String,
    /// The number of entries in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub root: Hash,
    /// Extension lines (not recommended; kept verbatim when present).
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The body is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The note around it was refused.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The checkpoint is for another log.
    #[error("checkpoint is for origin {got:?}, not {want:?}")]
    WrongOrigin { got: String, want: String },
}

impl Checkpoint {
    /// A checkpoint with no extensions.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint { origin: origin.into(), size, root, extensions: Vec::new() }
    }

    /// Parses a checkpoint body (the text of its note).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed("must end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(CheckpointError::Malformed("empty origin"))?;
        let size = lines.next().ok_or(CheckpointError::Malformed("missing size"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(CheckpointError::Malformed("size is not a decimal number without leading zeros"));
        }
        let size: u64 = size.parse().map_err(|_| CheckpointError::Malformed("size does not fit 64 bits"))?;
        let root = lines.next().ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root = Hash::from_base64(root).ok_or(CheckpointError::Malformed("root is not a base64 SHA-256 hash"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed("empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// The checkpoint body, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs the checkpoint with the log key into a note.
    pub fn sign(&self, signer: &Ed25519Signer) -> Note {
        let text = self.to_text();
        let mut note = Note::new(text).expect("a checkpoint body is valid note text");
        note.push_signature(signer.sign(note.text()));
        note
    }
}

/// A checkpoint whose log signature has been verified.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The whole note, with every signature line as received.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint and verifies the log's signature on it; the origin must be the
    /// log key's name, as tlog-checkpoint asks.
    pub fn verify(msg: &[u8], log_key: &dyn NoteVerifier) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(msg)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != log_key.name() {
            return Err(CheckpointError::WrongOrigin { got: checkpoint.origin, want: log_key.name().to_owned() });
        }
        note.verify(&[log_key])?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Verifies witness cosignatures on the checkpoint, returning those that verified (with their
    /// timestamps). Witnesses that did not sign are simply absent; a bad signature is an error.
    pub fn cosignatures<'v>(&self, witnesses: &[&'v dyn NoteVerifier]) -> Result<Vec<Verified<'v>>, CheckpointError> {
        match self.note.verify(witnesses) {
            Ok(v) => Ok(v),
            Err(NoteError::NoKnownSignature(_)) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }
}
