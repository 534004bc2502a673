//! Arbitrary bytes as a C2SP signed note, checkpoint and tlog-proof, as a verifier gets them
//! from a log or a witness: `Note::parse`, `Checkpoint::parse`, `SignedCheckpoint::verify`
//! against the log's key, cosignatures against two witnesses, `TlogProof::parse` and `verify`.
//!
//! Invariants: a note, a checkpoint and a tlog-proof re-encode to the bytes they came from; only
//! checkpoints the log signed verify, with the root of the tree they name; only cosignatures the
//! witnesses made verify, with their times; a witness key never passes as the log's; a
//! tlog-proof never proves a leaf the tree does not hold.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sig_share_fuzz::{seeds, tlog};

fuzz_target!(
    init: {
        seeds::write_if_asked("checkpoint", tlog::checkpoint_seeds);
    },
    |data: &[u8]| {
        tlog::check_checkpoint(data);
    }
);
