//! sig-share's whole stack in one process: transparency log, certificate log, CA, TSA and the
//! ClientTrustConfig that lets sigstore clients use them.
//!
//! - [`stack`]: opening every part from one data directory, and the combined router;
//! - [`serve`]: how every server takes connections, within limits;
//! - [`site`]: the verification page and its WebAssembly verifier;
//! - [`trust_config`]: building this deployment's ClientTrustConfig (the model is
//!   `sig_share_verify::trust`).

pub mod serve;
pub mod site;
pub mod stack;
pub mod trust_config;

pub use stack::{Limits, Options, Stack, StackError};
