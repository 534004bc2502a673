//! `request::parse_public_key` and `request::parse_csr` on arbitrary strings.
//!
//! The first byte picks how the rest is presented, so the fuzzer also works on the DER itself:
//! - 0: the bytes as text, to both parsers;
//! - 1: the bytes as the DER of a PEM `PUBLIC KEY`; 2: as base64 DER, to `parse_public_key`;
//! - 3: the bytes as the DER of a CSR, PEM-armoured then base64'd (sigstore-python's form);
//!   4: as base64 DER, to `parse_csr`.
//!
//! Invariants: what parses re-encodes to something that parses back to it, and in modes 1-4 to
//! exactly the DER it came from (for a CSR, that is what makes `csr_signed_bytes` the bytes the
//! client signed); classifying the key and checking a signature with it never panic.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::pem::{LineEnding, encode_string};
use libfuzzer_sys::fuzz_target;
use sig_share_ca::request::{parse_csr, parse_public_key};
use sig_share_fuzz::{check_csr, check_key};

/// `der`: the DER the text carries, when the target made the text from it.
fn key(text: &str, der: Option<&[u8]>) {
    if let Ok(spki) = parse_public_key(text) {
        check_key(&spki, der);
    }
}

fn csr(text: &str, der: Option<&[u8]>) {
    if let Ok(csr) = parse_csr(text) {
        check_csr(&csr, der);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 5 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            key(&text, None);
            csr(&text, None);
        }
        1 => {
            if let Ok(pem) = encode_string("PUBLIC KEY", LineEnding::LF, rest) {
                key(&pem, Some(rest));
            }
        }
        2 => key(&BASE64.encode(rest), Some(rest)),
        3 => {
            if let Ok(pem) = encode_string("CERTIFICATE REQUEST", LineEnding::LF, rest) {
                csr(&BASE64.encode(pem), Some(rest));
            }
        }
        _ => csr(&BASE64.encode(rest), Some(rest)),
    }
});
