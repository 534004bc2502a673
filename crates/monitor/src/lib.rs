//! sig-share's monitor: it follows a transparency log and its certificate log from their
//! published tiles, and raises the alarm when either misbehaves.
//!
//! Each run ([`run_once`]), for each log:
//!
//! - verifies the log's newest checkpoint's signature, and its consistency with the last one
//!   verified, which is kept durably in the state directory ([`state`]);
//! - reads every new entry from the entry bundles, recomputes its leaf hash, rebuilds every
//!   hash tile and the tree's root, and compares each with what the log serves and signed
//!   ([`follow`]): a rewritten entry bundle, a rewritten tile and a second history signed with
//!   the log's key are each caught and told apart;
//! - reads who each new entry's certificate names, and reports those naming a watched identity,
//!   OIDC issuer or device ([`entries`]): in the transparency log, what was signed; in the
//!   certificate log, every certificate issued, even if nothing was ever signed with it;
//! - with a witness policy, compares the log's checkpoint with each witness's latest
//!   ([`witness`]): a log showing the witnesses one history and the monitor another is caught.
//!
//! Findings are [`event::Event`]s, reported as they are made; alarms are recorded in the state
//! before they are reported, and stay raised on later runs until a person resets them. What is
//! fetched is read within limits and timeouts ([`fetch`]), never trusted until it hashes to a
//! signed checkpoint, and memory stays bounded whatever the log's size.

pub mod entries;
pub mod event;
pub mod fetch;
pub mod follow;
pub mod monitor;
pub mod state;
pub mod trust;
pub mod witness;

pub use entries::Watch;
pub use event::{Event, Sink};
pub use fetch::Source;
pub use follow::{LogKey, LogTarget, Outcome};
pub use monitor::{Config, run_once};
