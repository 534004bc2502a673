//! Arbitrary bytes, the first picking the parser: a `POST /api/v1/statements` body through
//! `statements::accept` on a real log with one entry; a provenance statement through
//! `Statement::from_json`; a `POST /api/v2/log/entries` body through `rekor::verify_request`.
//!
//! Invariants: only the statement the log's entry signs is stored; a provenance statement
//! round-trips through its JSON; an accepted Rekor request's body is JSON filed under the key
//! the request returned.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sig_share_fuzz::{seeds, statement};

fuzz_target!(
    init: {
        seeds::write_if_asked("statement", statement::statement_seeds);
        statement::statement_fixture();
    },
    |data: &[u8]| {
        statement::check_statement(data);
    }
);
