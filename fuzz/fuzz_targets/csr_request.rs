//! Arbitrary bytes as the body of `POST /api/v2/signingCert`: `request::parse` with no bearer,
//! with a bearer, and with the body's own token as the bearer; for what parses, the key or CSR
//! is re-encoded and checked the way the CA checks it (`csr_signed_bytes`, key type, signature).
//!
//! Invariants: exactly one key form is ever accepted; the token is the body's or the bearer's,
//! never two different ones; a bearer changes only token errors; parsed keys and CSRs re-encode
//! to something that parses back to them (`public_key` checks the exact bytes).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sig_share_fuzz::check_request(data);
});
