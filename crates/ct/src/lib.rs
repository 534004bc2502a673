//! sig-share's certificate log: every certificate the CA issues is first logged here as a
//! precertificate, and the log's Signed Certificate Timestamp is embedded in the certificate.
//!
//! It speaks RFC 6962 for submission (`add-pre-chain`, `add-chain`, SCTs with the static-ct-api
//! `leaf_index` extension) and C2SP static-ct-api for monitoring (checkpoints with an RFC 6962
//! tree head signature, hash and data tiles, issuers), on the transparency log's engine
//! (`sig-share-log` with [`sig_share_log::EntryFormat::StaticCt`]).
//!
//! - [`chain`]: what is accepted, and the pending leaf made from it;
//! - [`ctlog`]: the log itself and its RFC 6962 checkpoint signer;
//! - [`issued`]: the certificates issued to an identity, with their entries' proofs;
//! - [`http`]: the HTTP API; [`embedded`]: a certificate log in a data directory.

pub mod chain;
pub mod ctlog;
pub mod embedded;
pub mod http;
pub mod issued;
mod verify;

pub use ctlog::{CertificateLog, CtError, TreeHeadSigner, TreeHeadVerifier};
