//! Our cosignatures checked by code we did not write: Cloudflare's `signed_note` crate parses the
//! note and matches signature lines to keys, aws-lc-rs checks the Ed25519 signature, and the
//! cosignature/v1 verifier (which `signed_note` 0.2 does not have) is written here from the C2SP
//! text, independently of sig-share-tlog. It is first shown to accept real witnesses'
//! cosignatures (Armored Witness, from transparency-dev/distributor's README) and to refuse
//! altered ones, then our witness's.

mod common;

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{FakeLog, open};
use sha2::{Digest, Sha256};
use signed_note::{Note, NoteError, StandardVerifier, Verifier, VerifierList};

/// A C2SP tlog-cosignature/v1 verifier: key type 0x04, signature = u64 big-endian timestamp ‖
/// Ed25519 signature over "cosignature/v1\ntime <t>\n" ‖ the checkpoint body.
struct CosignatureV1 {
    name: String,
    id: u32,
    key: [u8; 32],
}

impl CosignatureV1 {
    /// From a vkey `name+<hex id>+<base64(0x04 ‖ key)>`, the ID recomputed.
    fn from_vkey(vkey: &str) -> CosignatureV1 {
        let mut parts = vkey.trim().splitn(3, '+');
        let (name, id, key) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let raw = B64.decode(key).unwrap();
        assert_eq!(raw.len(), 33);
        assert_eq!(raw[0], 0x04, "a cosignature/v1 key");
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(&raw);
        let want = u32::from_be_bytes(h.finalize()[..4].try_into().unwrap());
        assert_eq!(u32::from_str_radix(id, 16).unwrap(), want, "the key ID is the hash of name and key");
        CosignatureV1 { name: name.to_owned(), id: want, key: raw[1..].try_into().unwrap() }
    }
}

impl Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 8 + 64 {
            return false;
        }
        let t = u64::from_be_bytes(sig[..8].try_into().unwrap());
        let mut signed = format!("cosignature/v1\ntime {t}\n").into_bytes();
        signed.extend_from_slice(msg);
        UnparsedPublicKey::new(&ED25519, self.key).verify(&signed, &sig[8..]).is_ok()
    }
}

/// transparency-dev/distributor README's checkpoint, with two Armored Witness cosignatures.
const VECTOR_A: &str = "transparency.dev/armored-witness/firmware_transparency/ci/3\n59\nkOFMkeamIdrYFLx5zbWFhflak6dlEEDOU++fxYEZMBw=\n\n\
\u{2014} transparency.dev-aw-ftlog-ci-3 P2iVIt3Jsaha3E2i0MHdKZ6fgYJTgXO86nUsxKPVq6uTwRSclTSh/ELnDGbNL+XDyD3EkWIdL2AGGNmbN7IN2rB/7gE=\n\
\u{2014} ArmoredWitness-weathered-rain CnjfIAAAAABnGRrHjQi7IZQqVea4YnU/ADsv844r1ezGjvubUy1MMJm4as9bRiT70xNWQ67RCA76LMy7SdX4qJNIzL3eSS1BGFWqCw==\n\
\u{2014} ArmoredWitness-floral-sky x88LbQAAAABnGRrDEq4Tfy7IIVPqkdXbcufUkCzRRbE3fABZ/jvtg5aFHVMuMR8cV6dVqECDBiH1zRxhNaCQOXSwNLSeJs+NzWt1BA==\n";
const WEATHERED_RAIN: &str = "ArmoredWitness-weathered-rain+0a78df20+BGLblKp5JuiyrgRh6ev2nNJ5XAd+sc/mM2D2HW/b4d5S";
const FLORAL_SKY: &str = "ArmoredWitness-floral-sky+c7cf0b6d+BOkCmTmKTTnQMNqIigkj7PFnhogawSJD23PJ8M8qLYDm";

fn verify_with(note: &str, vkeys: &[&str]) -> Result<usize, NoteError> {
    let list: Vec<Box<dyn Verifier>> =
        vkeys.iter().map(|v| Box::new(CosignatureV1::from_vkey(v)) as Box<dyn Verifier>).collect();
    let n = Note::from_bytes(note.as_bytes())?;
    n.verify(&VerifierList::new(list)).map(|(ok, _)| ok.len())
}

#[test]
fn the_verifier_accepts_real_witnesses_and_refuses_changes() {
    assert_eq!(verify_with(VECTOR_A, &[WEATHERED_RAIN, FLORAL_SKY]).unwrap(), 2);
    let altered = VECTOR_A.replacen("\n59\n", "\n60\n", 1);
    assert!(matches!(verify_with(&altered, &[WEATHERED_RAIN]), Err(NoteError::InvalidSignature { .. })));
}

#[tokio::test]
async fn our_cosignatures_verify_with_signed_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FakeLog::new("example.com/log", 1);
    log.grow(12, "a");
    let w = open(dir.path(), &[&log]);
    let vkey = w.verifier().vkey();
    // The vkey file the witness writes is what a log operator puts in a policy.
    let mut cosigned = Vec::new();
    for (old, new) in [(0, 3), (3, 7), (7, 12), (12, 12)] {
        let sig_share_witness::Answer::Cosigned(line) = w.add_checkpoint(&log.request(old, new)).await else {
            panic!("not cosigned");
        };
        // As a client does (tlog-witness): the response appended to the checkpoint.
        let note = format!("{}{line}", log.checkpoint(new));
        assert_eq!(verify_with(&note, &[&vkey]).unwrap(), 1, "{note}");
        // The log's own signature, through signed_note's standard (0x01) verifier.
        let log_key = StandardVerifier::new(&log.vkey()).unwrap();
        let n = Note::from_bytes(note.as_bytes()).unwrap();
        let (ok, unknown) = n.verify(&VerifierList::new(vec![Box::new(log_key)])).unwrap();
        assert_eq!((ok.len(), unknown.len()), (1, 1));
        // Any change to the checkpoint breaks the cosignature.
        let wrong = note.replacen(&format!("\n{new}\n"), &format!("\n{}\n", new + 1), 1);
        assert!(verify_with(&wrong, &[&vkey]).is_err());
        cosigned.push(line);
    }
    // Timestamps: seconds, now-ish, in the signature's first eight bytes.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for line in cosigned {
        let raw = B64.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        let t = u64::from_be_bytes(raw[4..12].try_into().unwrap());
        assert!(t <= now && t + 60 > now, "timestamp {t}, now {now}");
    }
}
