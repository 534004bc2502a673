//! Arbitrary bytes as an identity token, through `TokenVerifier::verify` with a fixed key set.
//!
//! The first byte picks how the rest becomes a token:
//! - 0: the bytes as the token (lossy UTF-8), verified by a CA that trusts keys nobody holds;
//! - 1: `header \0 payload \0 signature`, each base64url-encoded and joined with dots, so the
//!   fuzzer mutates the JSON rather than base64; same verifier;
//! - 2: `header \0 payload`, signed with the fuzzers' own Ed25519 key, verified by a CA that
//!   trusts that key, so the claim checks and the principal are reached; what is accepted is
//!   checked against the CA's rules. The same token must still be refused by the first CA;
//! - 3: the bytes padded past `MAX_TOKEN_BYTES`: always `TooLarge`.
//!
//! Invariants: the first CA accepts nothing; a token over `MAX_TOKEN_BYTES` is always refused
//! with `TooLarge` and no other is; keys are only asked for configured issuers.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use libfuzzer_sys::fuzz_target;
use sig_share_ca::oidc::MAX_TOKEN_BYTES;
use sig_share_fuzz::{check_refused, check_signed, sign, signing_input};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => check_refused(&String::from_utf8_lossy(rest)),
        1 => {
            let mut parts = rest.splitn(3, |&b| b == 0);
            let (h, p, s) =
                (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let token = format!("{}.{}", signing_input(h, p), B64URL.encode(s));
            check_refused(&token);
        }
        2 => {
            let (h, p) = match rest.iter().position(|&b| b == 0) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let input = signing_input(h, p);
            let token = format!("{input}.{}", sign(input.as_bytes()));
            check_refused(&token);
            check_signed(&token, true);
        }
        _ => {
            let mut token = String::from_utf8_lossy(rest).into_owned();
            let pad = (MAX_TOKEN_BYTES + 1).saturating_sub(token.len());
            token.push_str(&"A".repeat(pad));
            check_refused(&token);
        }
    }
});
