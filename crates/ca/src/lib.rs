//! sig-share's certificate authority: an OpenID Connect identity token and a proof of possession
//! in, a ten-minute certificate out, logged in the certificate log first. It speaks Fulcio's v2
//! API, so sigstore clients use it unchanged.
//!
//! - [`config`]: the trusted issuers; [`oidc`]: token verification (discovery, JWKS, claims);
//! - [`principal`]: what a token certifies (SAN, challenge, Fulcio's extensions);
//! - [`request`]: the request forms (CSR, or key + proof of possession);
//! - [`issue`]: the certificate profile, the precertificate and the SCT;
//! - [`device`]: the device path (an operator's credential in, a device certificate out);
//! - [`service`]: all of it in order; [`http`]: the HTTP API; [`metrics`]: Prometheus metrics.

pub mod config;
pub mod device;
pub mod http;
pub mod issue;
pub mod metrics;
pub mod oidc;
pub mod principal;
pub mod request;
pub mod service;

pub use config::{Config, IssuerConfig, IssuerType};
pub use device::DeviceEnrollment;
pub use issue::CertificateAuthority;
pub use oidc::{HttpKeySource, TokenVerifier};
pub use service::{CaError, CaLimits, CaService};
