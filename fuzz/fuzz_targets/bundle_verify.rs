//! Arbitrary bytes as a sigstore bundle (JSON), as `sig-share verify` and the verification page
//! read one: `Bundle::from_json`, then the whole verification (`verdict::verify` and
//! `verify_logged`) against the trusted root of a stack this project ran, for the artifact it
//! signed (see `fixtures/bundle/`).
//!
//! Invariants: a parsed bundle serialises and parses back to itself; a bundle that verifies,
//! however mutated, verifies the fixture's signer (identity and issuer) with a trusted time, a
//! log entry and an SCT; no bundle ever verifies for another artifact or another signer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sig_share_fuzz::{bundle, seeds};

fuzz_target!(
    init: {
        seeds::write_if_asked("bundle", bundle::bundle_seeds);
        bundle::bundle_fixture();
    },
    |data: &[u8]| {
        bundle::check_bundle(data);
    }
);
