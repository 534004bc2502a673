//! C2SP tlog-cosignature/v1: a witness's timestamped Ed25519 signature on a checkpoint.
//!
//! The signature line's bytes are `key ID ‖ u64 timestamp ‖ Ed25519 signature` over
//! `"cosignature/v1\ntime <timestamp>\n" ‖ checkpoint text`. Signing and verification live with the
//! other Ed25519 note code in [`crate::note`]; this module owns the signed message.

/// The message a cosigner signs at time `t` (seconds since the epoch) over a checkpoint's text.
pub fn signed_message(t: u64, checkpoint_text: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {t}\n").into_bytes();
    msg.extend_from_slice(checkpoint_text);
    msg
}

#[cfg(test)]
mod tests {
    use crate::note::{Ed25519Signer, Note, NoteVerifier};

    #[test]
    fn a_cosignature_verifies_and_tampering_fails() {
        let text = "example.com/log/testdata\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n";
        let w = Ed25519Signer::from_seed("witness.example/w1", &[7; 32]).unwrap();
        let mut note = Note::new(text).unwrap();
        note.push_signature(w.cosign(1_700_000_000, text));
        let v = w.cosigner_verifier();
        assert!(v.is_cosigner());
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        let ok = parsed.verify(&[&v as &dyn NoteVerifier]).unwrap();
        assert_eq!(ok[0].timestamp, Some(1_700_000_000));
        // The timestamp is signed: change it and the signature breaks.
        let mut forged = parsed.clone();
        let mut sig = forged.signatures()[0].clone();
        sig.signature[7] ^= 1;
        forged = Note::parse(format!("{text}\n{}", sig.line()).as_bytes()).unwrap();
        assert!(forged.verify(&[&v as &dyn NoteVerifier]).is_err());
        // A plain log signature by the same key is not a cosignature.
        let plain = w.verifier();
        assert!(parsed.verify(&[&plain as &dyn NoteVerifier]).is_err());
    }

    #[test]
    fn verifies_a_cosignature_made_by_an_independent_implementation() {
        // Made with Python's `cryptography` from the spec text, over tessera-log's checkpoint.15.
        let vkey = "witness.example/w1+ad26ed28+BIkdka46TXFJ66wRoQyJkkzckQhc0VWd/oXRdyn4Vaq8";
        let note = "example.com/log/testdata\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n\n\u{2014} witness.example/w1 rSbtKAAAAABlU/EAxZAJUMSpztlSoCWY1NP7NfzslfMYL0YcgADdcV4RrPlb/Pb3s7s7+iqnArx5FXfIOSPFL1TgVIgr1+f3ZD2RCg==\n";
        let v = crate::note::Ed25519Verifier::from_vkey(vkey).unwrap();
        let ok = Note::parse(note.as_bytes()).unwrap().verify(&[&v as &dyn NoteVerifier]).unwrap();
        assert_eq!(ok[0].timestamp, Some(1_700_000_000));
    }
}
