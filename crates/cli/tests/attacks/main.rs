//! The adversarial suite: each attack on sig-share as an outsider would run it against a real
//! stack (`sig-share serve`, the command line, the files it writes), with the answer expected
//! (a verdict, a status code, a bound). SECURITY.md's table lists every attack and its test.
//! Attacks on one library's parsers live beside that library (`crates/*/tests/attacks.rs`,
//! `crates/*/tests/hostile.rs`) and are listed in the same table.

#[path = "../common/mod.rs"]
mod common;

/// What a web page could make a visitor's browser do to a stack.
mod browser;
/// Connection floods: idle sockets, slow headers, slow bodies.
mod flood;
/// Forged, spliced and hijacked histories: what `provenance`, `verify` and `edit` must refuse.
mod history;
/// Hostile media within time and memory budgets.
mod media;
/// Quotas and rate limits per client and per identity.
mod quota;
/// Squatting of the log's shared indexes (by digest, by subject).
mod squat;
/// Hostile PEM and trust material.
mod trust_material;
