//! A [`sig_share_pki::Signer`] whose EC private key lives in a PKCS#11 token: a hardware security
//! module, a smart card, or SoftHSM2 in tests.
//!
//! The CA's signing key (and later a camera's device key) must be usable without ever being a file
//! the service can read. [`Pkcs11Signer`] finds the key by its label in a token, keeps a logged-in
//! session, and signs by sending the token a digest it computed itself (`CKM_ECDSA` over SHA-256
//! for P-256, SHA-384 for P-384), turning the token's raw `r‖s` into the DER `ECDSA-Sig-Value`
//! X.509 and sigstore carry. [`Pkcs11Signer::generate`] provisions such a key, non-extractable.
//!
//! Keys can be named by the parameters or by an RFC 7512 URI ([`Pkcs11Uri`]):
//! `pkcs11:token=ca;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin`.
//!
//! The module is loaded with [`cryptoki`], which `dlopen`s it at run time: nothing links against a
//! vendor library at build time, and a host without the module only fails when a signer is opened.

mod ecdsa;
mod module;
mod signer;
mod uri;

use std::path::PathBuf;

pub use signer::{DEFAULT_MAX_SESSIONS, Pkcs11Signer};
pub use uri::Pkcs11Uri;

// Re-exported so callers (tests, provisioning tools) name the same cryptoki as this crate.
pub use cryptoki;

/// Everything that can go wrong opening, provisioning or naming a key in a token.
///
/// Signing itself reports through [`sig_share_pki::PkiError::Signing`], as the [`sig_share_pki::Signer`]
/// trait requires.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// The module could not be loaded or initialised: a missing file, a library that is not a
    /// PKCS#11 module, or a module that refused `C_Initialize`.
    #[error("PKCS#11 module {}: {reason}", module.display())]
    Module { module: PathBuf, reason: String },
    /// No token carries this label. `found` lists the labels of the tokens the module does have,
    /// so a typo or a token initialised under another name is obvious.
    #[error("no PKCS#11 token labelled {label:?}{}; tokens found: {}", describe_constraints(.constraints), list(.found))]
    TokenNotFound { label: String, constraints: Vec<String>, found: Vec<String> },
    /// Several tokens match: signing with whichever came first could use the wrong key.
    #[error("{count} PKCS#11 tokens are labelled {label:?}; name one by serial (RFC 7512 `serial=`): {}", list(.serials))]
    AmbiguousToken { label: String, count: usize, serials: Vec<String> },
    /// The token refused the user PIN.
    #[error("wrong PIN for PKCS#11 token {token:?}")]
    WrongPin { token: String },
    /// The token refuses every login until its security officer resets the PIN.
    #[error("the user PIN of PKCS#11 token {token:?} is locked")]
    PinLocked { token: String },
    /// No private key with this label in the token. `found` lists the private keys' labels.
    #[error("no private key labelled {label:?}{} in PKCS#11 token {token:?}; private keys found: {}",
        if *.id_constrained { " with the given id" } else { "" }, list(.found))]
    KeyNotFound { token: String, label: String, id_constrained: bool, found: Vec<String> },
    /// Several private keys carry the label: refusing rather than guessing.
    #[error("{count} private keys are labelled {label:?} in PKCS#11 token {token:?}; name one by id (RFC 7512 `id=`)")]
    AmbiguousKey { token: String, label: String, count: usize },
    /// [`Pkcs11Signer::generate`] found an object with the label already: a second key under the
    /// same name would make every later `open` ambiguous.
    #[error("PKCS#11 token {token:?} already holds an object labelled {label:?}")]
    KeyExists { token: String, label: String },
    /// The key is not one sig-share signs with (not EC, not P-256 or P-384, not allowed to sign,
    /// or needing the PIN for every signature).
    #[error("unsupported key {label:?}: {reason}")]
    UnsupportedKey { label: String, reason: String },
    /// The public half of the key could not be found or read, so there is no certificate key.
    #[error("no public key for private key {label:?} in PKCS#11 token {token:?}: {reason}")]
    PublicKey { token: String, label: String, reason: String },
    /// The public key found for the private key does not verify its signature: the token pairs the
    /// wrong objects, and certificates issued with it would not verify.
    #[error("the public key found for {label:?} does not match the private key: {reason}")]
    KeyMismatch { label: String, reason: String },
    /// A PKCS#11 URI that is malformed, ambiguous or asks for something this crate cannot honour.
    #[error("PKCS#11 URI: {0}")]
    Uri(String),
    /// Neither the URI nor the caller supplied a PIN, or both did.
    #[error("PIN: {0}")]
    Pin(String),
    /// Any other failure of a PKCS#11 call, with the operation that failed.
    #[error("PKCS#11 {operation}: {source}")]
    Token {
        operation: &'static str,
        #[source]
        source: cryptoki::error::Error,
    },
}

impl Pkcs11Error {
    /// Wraps a cryptoki error with the operation it came from.
    pub(crate) fn token(operation: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Self {
        move |source| Self::Token { operation, source }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
    }
}

fn describe_constraints(items: &[String]) -> String {
    if items.is_empty() { String::new() } else { format!(" ({})", items.join(", ")) }
}
