//! sig-share's RFC 3161 timestamp authority.
//!
//! Short-lived signing certificates are only verifiable later if something trusted says when the
//! signature was made; this TSA countersigns a signature's digest with the time. It speaks what
//! sigstore clients speak: RFC 3161 over HTTP as sigstore's timestamp-authority serves it, with
//! both its DER and JSON request forms.
//!
//! - [`asn1`]: the RFC 3161 / RFC 5035 types (`TimeStampReq`, `TSTInfo`, `TimeStampResp`, ESS).
//! - [`TimestampRequest`]: a request in either form, checked (hash algorithm, imprint length,
//!   nonce size, extensions).
//! - [`TimestampAuthority`]: checks its certificate chain once, then issues CMS-signed tokens.
//!   No I/O and no clock: `now` is a parameter.
//! - `http` (feature `http`, on by default): the axum routes. The rest of the crate does not
//!   depend on axum or an async runtime.

pub mod asn1;
mod authority;
#[cfg(feature = "http")]
pub mod http;
mod request;

pub use asn1::FailureInfo;
pub use authority::{
    ACCURACY, DEVELOPMENT_POLICY, Reply, RequestForm, TimestampAuthority, TsaError, issue_tsa_certificate,
    rejection_response,
};
#[cfg(feature = "http")]
pub use http::router;
pub use request::{HashAlgorithm, MAX_NONCE_LEN, Rejection, RequestError, TimestampRequest};
