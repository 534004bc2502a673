//! sig-share's transparency log: a C2SP tlog-tiles log with a Rekor v2 write API.
//!
//! - [`log`]: the submission pool, the sequencer and crash recovery (with the staged batch of
//!   `staging`); [`tiles`]: reading tiles back for proofs;
//! - [`storage`]: the two storage interfaces, with [`fs`] and [`state`] as the embedded backends
//!   and [`faults`] for failure-injection tests;
//! - [`format`]: what a log's entries are (tlog-tiles entries, or static-ct-api certificate
//!   leaves stamped at sequencing) and extra checkpoint signatures;
//! - [`rekor`]: the hashedrekord 0.0.2 request, its signature check and the entry body;
//!   [`statements`]: the in-toto statements that entries sign, kept whole and filed by subject;
//! - [`witnessing`]: asking the witnesses of a tlog-policy to cosign each checkpoint;
//! - [`http`]: the HTTP API; [`metrics`]: Prometheus metrics; [`check`]: the offline fsck.

pub mod check;
pub mod embedded;
pub mod faults;
pub mod format;
pub mod fs;
pub mod http;
pub mod log;
pub mod metrics;
pub mod rekor;
mod staging;
pub mod state;
pub mod statements;
pub mod storage;
pub mod tiles;
pub mod witnessing;

pub use crate::format::{CheckpointSigner, EntryFormat};
pub use crate::log::{Log, LogConfig, Logged, NewEntry, Stores, SubmitError};
