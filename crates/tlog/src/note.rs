//! C2SP signed-note: text signed by any number of keys, each signature on its own line.
//!
//! ```text
//! <text ending in a newline>
//!
//! — <key name> <base64(key ID ‖ signature)>
//! ```
//!
//! Key IDs are `SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]`. Verifiers look signatures up by
//! (name, key ID), ignore signatures from keys they do not know, and fail if a key they know
//! signed badly.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of a plain Ed25519 note signature.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of an ECDSA note signature.
pub const ALG_ECDSA: u8 = 0x02;
/// Signature type byte of a timestamped Ed25519 witness cosignature (tlog-cosignature/v1).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Signature type byte of an RFC 6962 signed tree head.
pub const ALG_RFC6962_STH: u8 = 0x05;
/// Signature type byte of an ML-DSA-44 subtree cosignature.
pub const ALG_MLDSA44: u8 = 0x06;

/// The most signature lines a note may carry; the spec asks verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;
/// The largest note accepted, text and signatures together.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// Why a note, a key or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not in the signed-note format.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A key string is not in the `name+hex+base64` format or has the wrong type or length.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key name is empty or contains spaces, plus signs or control characters.
    #[error("invalid key name {0:?}")]
    InvalidName(String),
    /// A known key's signature did not verify.
    #[error("signature by {name} (key ID {key_id:08x}) does not verify")]
    BadSignature { name: String, key_id: u32 },
    /// No signature from any of the expected keys.
    #[error("note has no signature from a known key (expected one of: {0})")]
    NoKnownSignature(String),
}

/// One signature line of a note.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The first four bytes of the key's hash, big-endian.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSignature({} {:08x}, {} bytes)", self.name, self.key_id, self.signature.len())
    }
}

impl NoteSignature {
    /// The signature line, with its trailing newline.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, BASE64.encode(raw))
    }
}

/// A parsed note: its text and its signatures, verified or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` (which must end in a newline) and no signatures yet.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_text(&text)?;
        Ok(Note { text, signatures: Vec::new() })
    }

    /// Parses a signed note without verifying anything.
    pub fn parse(msg: &[u8]) -> Result<Note, NoteError> {
        if msg.len() > MAX_NOTE_SIZE {
            return Err(NoteError::Malformed("note is larger than 1 MiB"));
        }
        let msg = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        let split = msg.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
        check_text(text)?;
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("signature block must be non-empty and end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(NoteError::Malformed("signature line must start with an em dash"))?;
            let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed("signature line has no signature"))?;
            check_name(name)?;
            let raw = BASE64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(NoteError::Malformed("signature is too short"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes(raw[..4].try_into().expect("4 bytes")),
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Note { text: text.to_owned(), signatures })
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature line, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line.
    pub fn push_signature(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }

    /// The note as bytes: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        s.push_str(&self.text);
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// Checks the signatures from the given keys: each one present must verify, unknown ones are
    /// ignored, and at least one known key must have signed. Returns the verified signatures,
    /// paired with the verifier that accepted each.
    pub fn verify<'v>(&self, verifiers: &[&'v dyn NoteVerifier]) -> Result<Vec<Verified<'v>>, NoteError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers.iter().find(|v| v.name() == sig.name && v.key_id() == sig.key_id) else {
                continue;
            };
            match v.verify(self.text.as_bytes(), &sig.signature) {
                Some(timestamp) => verified.push(Verified { verifier: *v, timestamp }),
                None => return Err(NoteError::BadSignature { name: sig.name.clone(), key_id: sig.key_id }),
            }
        }
        if verified.is_empty() {
            let names: Vec<String> = verifiers.iter().map(|v| format!("{}+{:08x}", v.name(), v.key_id())).collect();
            return Err(NoteError::NoKnownSignature(names.join(", ")));
        }
        Ok(verified)
    }
}

/// A signature that verified.
#[derive(Clone, Copy)]
pub struct Verified<'v> {
    /// The key that verified it.
    pub verifier: &'v dyn NoteVerifier,
    /// For cosignatures, the time the witness signed (seconds since the epoch).
    pub timestamp: Option<u64>,
}

impl fmt::Debug for Verified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verified({}+{:08x}, {:?})", self.verifier.name(), self.verifier.key_id(), self.timestamp)
    }
}

/// A public key that can check note signatures.
pub trait NoteVerifier: Send + Sync {
    /// The key name signatures carry.
    fn name(&self) -> &str;
    /// The key ID signatures carry.
    fn key_id(&self) -> u32;
    /// Checks `signature` over the note `text`; `Some` on success, with the cosignature time if any.
    fn verify(&self, text: &[u8], signature: &[u8]) -> Option<Option<u64>>;
}

/// The key ID of a key of type `alg` named `name`: `SHA-256(name ‖ "\n" ‖ alg ‖ key)[:4]`.
pub fn key_id(name: &str, alg: u8, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Checks a key name: non-empty UTF-8 with no whitespace, `+` or control characters.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control()) {
        return Err(NoteError::InvalidName(name.chars().take(64).collect()));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end in a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("text contains control characters"));
    }
    Ok(())
}

/// An Ed25519 (type 0x01) or cosignature (type 0x04) verifier key, parsed from a vkey string
/// `name+<hex key ID>+<base64(type ‖ public key)>`.
#[derive(Clone)]
pub struct Ed25519Verifier {
    name: String,
    key_id: u32,
    alg: u8,
    key: VerifyingKey,
}

impl fmt::Debug for Ed25519Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey())
    }
}

impl Ed25519Verifier {
    /// Parses a vkey of type 0x01 (log signature) or 0x04 (witness cosignature).
    pub fn from_vkey(vkey: &str) -> Result<Ed25519Verifier, NoteError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey("expected name+keyid+key"));
        };
        check_name(name)?;
        if hex.len() != 8 {
            return Err(NoteError::MalformedKey("key ID must be 8 hex digits"));
        }
        let id = u32::from_str_radix(hex, 16).map_err(|_| NoteError::MalformedKey("key ID is not hex"))?;
        let raw = BASE64.decode(b64).map_err(|_| NoteError::MalformedKey("key is not base64"))?;
        let (&alg, key) = raw.split_first().ok_or(NoteError::MalformedKey("empty key"))?;
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::MalformedKey("not an Ed25519 or cosignature/v1 key"));
        }
        let v = Ed25519Verifier::new(name, alg, key)?;
        if v.key_id != id {
            return Err(NoteError::MalformedKey("key ID does not match the key"));
        }
        Ok(v)
    }

    /// A verifier from a raw 32-byte Ed25519 public key.
    pub fn new(name: &str, alg: u8, key: &[u8]) -> Result<Ed25519Verifier, NoteError> {
        check_name(name)?;
        let bytes: [u8; 32] = key.try_into().map_err(|_| NoteError::MalformedKey("Ed25519 keys are 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| NoteError::MalformedKey("not an Ed25519 point"))?;
        Ok(Ed25519Verifier { name: name.to_owned(), key_id: key_id(name, alg, &bytes), alg, key })
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(raw))
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether this is a witness (cosignature/v1) key.
    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> Option<Option<u64>> {
        match self.alg {
            ALG_ED25519 => {
                let sig = ed25519_dalek::Signature::from_slice(signature).ok()?;
                self.key.verify_strict(text, &sig).ok()?;
                Some(None)
            }
            _ => {
                // tlog-cosignature/v1: an 8-byte big-endian timestamp, then the signature over
                // "cosignature/v1\ntime <t>\n" followed by the checkpoint text.
                if signature.len() != 8 + 64 {
                    return None;
                }
                let t = u64::from_be_bytes(signature[..8].try_into().ok()?);
                let sig = ed25519_dalek::Signature::from_slice(&signature[8..]).ok()?;
                let msg = crate::cosignature::signed_message(t, text);
                self.key.verify_strict(&msg, &sig).ok()?;
                Some(Some(t))
            }
        }
    }
}

/// An Ed25519 note signer, the log's checkpoint key.
#[derive(Clone)]
pub struct Ed25519Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        write!(f, "Ed25519Signer({}+{:08x})", self.name, self.key_id)
    }
}

impl Ed25519Signer {
    /// A signer from a 32-byte seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Ed25519Signer, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(Ed25519Signer { name: name.to_owned(), key_id, key })
    }

    /// Parses Go's signer key format `PRIVATE+KEY+name+<hex key ID>+<base64(0x01 ‖ seed)>`.
    pub fn from_skey(skey: &str) -> Result<Ed25519Signer, NoteError> {
        let rest = skey.trim().strip_prefix("PRIVATE+KEY+").ok_or(NoteError::MalformedKey("expected PRIVATE+KEY+…"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey("expected PRIVATE+KEY+name+keyid+key"));
        };
        let id = u32::from_str_radix(hex, 16).map_err(|_| NoteError::MalformedKey("key ID is not hex"))?;
        let raw = BASE64.decode(b64).map_err(|_| NoteError::MalformedKey("key is not base64"))?;
        match raw.split_first() {
            Some((&ALG_ED25519, seed)) if seed.len() == 32 => {
                let s = Ed25519Signer::from_seed(name, seed.try_into().expect("32 bytes"))?;
                if s.key_id != id || hex.len() != 8 {
                    return Err(NoteError::MalformedKey("key ID does not match the key"));
                }
                Ok(s)
            }
            _ => Err(NoteError::MalformedKey("not an Ed25519 private key")),
        }
    }

    /// The signer key string in Go's format. It holds the private key: keep it out of logs.
    pub fn skey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(raw))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier::new(&self.name, ALG_ED25519, self.key.verifying_key().as_bytes()).expect("valid name and key")
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signs a note's text.
    pub fn sign(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }

    /// Signs with the cosignature/v1 construction at time `t` (for witnesses and tests).
    pub fn cosign(&self, t: u64, text: &str) -> NoteSignature {
        let msg = crate::cosignature::signed_message(t, text.as_bytes());
        let mut sig = t.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.key.sign(&msg).to_bytes());
        let key_id = key_id(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key().as_bytes());
        NoteSignature { name: self.name.clone(), key_id, signature: sig }
    }

    /// The verifier for this key used as a witness (type 0x04).
    pub fn cosigner_verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier::new(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key().as_bytes())
            .expect("valid name and key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The key pair from golang.org/x/mod/sumdb/note's tests.
    const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn go_note_known_answer() {
        let signer = Ed25519Signer::from_skey(SKEY).unwrap();
        assert_eq!(signer.verifier().vkey(), VKEY);
        assert_eq!(signer.skey(), SKEY);
        let mut n = Note::new(
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
        )
        .unwrap();
        n.push_signature(signer.sign(n.text()));
        let want = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        assert_eq!(n.to_text(), want);
        let parsed = Note::parse(want.as_bytes()).unwrap();
        let v = Ed25519Verifier::from_vkey(VKEY).unwrap();
        assert_eq!(parsed.verify(&[&v]).unwrap().len(), 1);
    }

    #[test]
    fn unknown_signers_are_ignored_and_bad_known_ones_fail() {
        let a = Ed25519Signer::from_seed("a.example/log", &[1; 32]).unwrap();
        let b = Ed25519Signer::from_seed("b.example/log", &[2; 32]).unwrap();
        let mut n = Note::new("hello\n").unwrap();
        n.push_signature(b.sign("hello\n"));
        n.push_signature(a.sign("hello\n"));
        let parsed = Note::parse(n.to_text().as_bytes()).unwrap();
        let va = a.verifier();
        assert_eq!(parsed.verify(&[&va]).unwrap().len(), 1);
        let mut forged = n.clone();
        forged.signatures[1].signature[0] ^= 1;
        assert!(matches!(forged.verify(&[&va]), Err(NoteError::BadSignature { .. })));
        let vb = b.verifier();
        let only_b =
            Note::parse(Note { text: "hello\n".into(), signatures: vec![b.sign("hello\n")] }.to_text().as_bytes())
                .unwrap();
        assert!(matches!(only_b.verify(&[&va]), Err(NoteError::NoKnownSignature(_))));
        assert!(only_b.verify(&[&va, &vb]).is_ok());
    }

    #[test]
    fn accepts_many_signatures() {
        let mut n = Note::new("x\n").unwrap();
        let signers: Vec<_> =
            (0..20u8).map(|i| Ed25519Signer::from_seed(&format!("w{i}"), &[i; 32]).unwrap()).collect();
        for s in &signers {
            n.push_signature(s.cosign(1_700_000_000 + u64::from(s.key_id() % 7), "x\n"));
        }
        let parsed = Note::parse(n.to_text().as_bytes()).unwrap();
        let vs: Vec<Ed25519Verifier> = signers.iter().map(|s| s.cosigner_verifier()).collect();
        let refs: Vec<&dyn NoteVerifier> = vs.iter().map(|v| v as &dyn NoteVerifier).collect();
        let ok = parsed.verify(&refs).unwrap();
        assert_eq!(ok.len(), 20);
        assert!(ok.iter().all(|v| v.timestamp.is_some()));
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            &b""[..],
            b"no blank line\n",
            b"text\n\n",
            b"text\n\n\xe2\x80\x94 name AAAAAAA=",
            b"text\n\n- name AAAAAAAA\n",
            b"text\n\n\xe2\x80\x94 name !!!\n",
            b"text\n\n\xe2\x80\x94 name AAAA\n",
            b"text\n\n\xe2\x80\x94 na+me AAAAAAAA\n",
            b"te\x01xt\n\n\xe2\x80\x94 name AAAAAAAA\n",
            b"\xff\n\n\xe2\x80\x94 name AAAAAAAA\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{:?} accepted", String::from_utf8_lossy(bad));
        }
        assert!(
            Ed25519Verifier::from_vkey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err()
        );
        assert!(
            Ed25519Verifier::from_vkey("PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err()
        );
        assert!(
            Ed25519Signer::from_skey("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
                .is_err()
        );
    }
}
