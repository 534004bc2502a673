//! A transparency-log witness: [C2SP tlog-witness v1.0.0](https://c2sp.org/tlog-witness) over
//! HTTP, cosigning with [C2SP tlog-cosignature](https://c2sp.org/tlog-cosignature) v1 (Ed25519,
//! timestamped).
//!
//! A witness cosigns a log's checkpoint only if it is consistent with every checkpoint of that log
//! it cosigned before. A log that shows two histories (a split view) must therefore get the
//! witnesses to sign both, which they refuse; verifiers that demand a quorum of cosignatures
//! (tlog-policy) are then safe from the split unless the witnesses collude.
//!
//! - [`logs`]: the logs it knows (`--log VKEY`, the witness network's `logs/v0` lists);
//! - [`key`]: its key, made on first start;
//! - [`witness`]: the checks, the decision and the group-committed state;
//! - [`state`]: the latest cosigned checkpoint per origin, in redb;
//! - [`evidence`]: refused requests that prove misbehaviour, kept as files;
//! - [`http`]: the routes; [`metrics`]: Prometheus.
//!
//! What it trusts: its key file (whoever holds it can cosign anything) and its state directory
//! (whoever can roll it back can make it cosign a fork). Nothing a client sends is trusted
//! beyond the log signatures it verifies.

pub mod evidence;
pub mod http;
pub mod key;
pub mod logs;
pub mod metrics;
pub mod state;
pub mod witness;

pub use logs::{KnownLog, Logs};
pub use witness::{Answer, Options, Witness};
