//! sig-share's verifier: everything needed to check a sigstore bundle with nothing but a pinned
//! trusted root. Pure: no network, no clock, no disk of its own (callers pass bytes and times
//! in), so it tests fast and builds for `wasm32-unknown-unknown` for the web page.
//!
//! - [`trust`]: the ClientTrustConfig, TrustedRoot and SigningConfig models (sigstore's JSON);
//! - [`bundle`]: the bundle model, v0.1 to v0.3 and both media-type spellings;
//! - [`tlog`]: a log entry's inclusion proof up to a checkpoint signed by a trusted log.
//!
//! Verification itself (certificate path at signing time, SCTs, timestamps, inclusion proofs
//! against signed checkpoints, signatures, the identity policy) builds on these models.

pub mod bundle;
pub mod certificate;
pub mod crypto;
pub mod entry;
pub mod json;
pub mod policy;
pub mod sct;
pub mod time;
pub mod timestamp;
pub mod tlog;
pub mod trust;
pub mod verdict;
mod x509;

pub use bundle::{Bundle, BundleError};
pub use trust::{ClientTrustConfig, TrustConfigError, TrustedRoot};
