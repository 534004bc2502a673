//! sig-share's signing client: an identity token and an artifact in, a sigstore bundle v0.3
//! out, with a ten-minute certificate, an RFC 3161 time stamp and a Rekor v2 log entry, made the
//! way sigstore-python 4.5.1 and sigstore-js make them so their verifiers accept it.
//!
//! ```no_run
//! # async fn f(config: &sig_share_verify::ClientTrustConfig) -> Result<(), sig_share_sign::SignError> {
//! use sig_share_sign::{Services, SigningClient, token::IdentityToken};
//! let services = Services::from_signing_config(&config.signing_config, sig_share_sign::unix_now())?;
//! let client = SigningClient::new(services)?.trusting(config.trusted_root.clone());
//! let digest = sig_share_sign::sha256_file("photo.jpg".as_ref(), |_, _| {}).expect("readable");
//! let signed = client.sign_sha256(&IdentityToken::new("eyJ…"), &digest).await?;
//! std::fs::write("photo.jpg.sigstore.json", signed.bundle_json()).expect("writable");
//! # Ok(()) }
//! ```
//!
//! - [`services`]: which CA, TSA and log to use, from a `SigningConfig` v0.2;
//! - [`token`]: identity tokens from the environment, the CI, a browser or the device flow;
//! - [`SigningClient`]: the signing itself (CA → signature → TSA → log → bundle).

mod ca;
mod client;
mod digest;
mod dsse;
mod error;
mod http;
mod rekor;
pub mod services;
pub mod token;
mod tsa;

pub use ca::Identity;
pub use client::{BUNDLE_MEDIA_TYPE, Session, Signed, SigningClient};
pub use digest::{sha256, sha256_file, sha256_reader};
pub use dsse::{IN_TOTO_PAYLOAD_TYPE, MAX_STATEMENT_BYTES, check_statement, pae};
pub use error::{Service, SignError};
pub use http::client as http_client;
pub use services::Services;

/// Now, in Unix seconds, for choosing services valid now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
