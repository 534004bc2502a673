//! Media provenance for sig-share, on the `c2pa` crate (only this crate depends on it, so the
//! rest of the workspace builds without its ten-minute compile):
//!
//! - [`format`]: which files can be signed, named and sniffed;
//! - [`statement`]: the provenance statement every signing of media logs;
//! - [`embed`]: a C2PA manifest claim-signed by a keyless [`Credential`], with a CAWG identity
//!   assertion and sig-share's assertion carrying the statement's log entry, embedded or sidecar;
//! - [`inspect`]: any C2PA file read into a [`Report`], failures in ingredients included;
//! - [`limits`]: structural caps checked before `c2pa` reads a file, and [`budget`] a time limit
//!   for its reading (off the browser, which runs the reader in a worker instead);
//! - [`creator`]: a person's identity assertion beside a device's claim, judged at its time;
//! - [`judge`]: every step's sig-share evidence checked and one verdict, with no I/O (the
//!   command line and the browser share it); [`logged`]: what a log says, checked likewise.

#[cfg(not(target_arch = "wasm32"))]
pub mod budget;
pub mod creator;
mod credential;
pub mod embed;
mod error;
pub mod format;
pub mod inspect;
pub mod judge;
pub mod limits;
pub mod logged;
mod settings;
pub mod statement;

#[cfg(not(target_arch = "wasm32"))]
pub use budget::read_within_budget;
pub use creator::CREATOR_ASSERTION;
pub use credential::Credential;
pub use embed::{Creator, Destination, EmbedRequest, Embedded, Intent, PROVENANCE_ASSERTION, SourceType, embed};
pub use error::MediaError;
pub use format::Format;
pub use inspect::{ReadError, Report, State, read, read_bytes, screen};
pub use settings::Anchors;
pub use statement::Statement;
