//! Arbitrary bytes as a media file someone asks sig-share to read: `[name][flags][sidecar
//! length][sidecar][asset]`, the name picking one of the formats sig-share signs (or SVG, PDF,
//! `.c2pa`, no extension), the flags whether the sidecar manifest store is given. Reaches
//! `sig_share_media::read_bytes`: format detection, `c2pa`'s parsers and validation, the report.
//!
//! Invariants: without trust anchors nothing is `Trusted`; a green report lists no failure; the
//! report serialises. Run with a small `-max_len`: `c2pa` has slow paths on large inputs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sig_share_fuzz::media;

fuzz_target!(|data: &[u8]| {
    media::check_media(data);
});
