//! The deployment's sigstore ClientTrustConfig: the trusted root (CA chain, certificate log,
//! transparency log, timestamp authority) and the signing config (where each service is), in
//! exactly the shape sigstore-python 4.5.1 and sigstore-js accept.
//!
//! Their parsers are strict, so the JSON follows `shared/research/interop-clients.md` §1d: the
//! trusted root under the `version=0.1` media type, uint64 values as strings, standard base64,
//! no fields they do not know, an `operator` on every service, `subject` on every authority.
//! Log IDs: the transparency log's is its C2SP checkpoint key ID (rekor-tiles' convention, which
//! sigstore-python matches note signatures by); the certificate log's is SHA-256 of its key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// The ClientTrustConfig media type.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/// The trusted root media type sigstore-python 4.5.1 requires (it refuses `trustedroot.v0.2+json`).
pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// The signing config media type.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// Where a server publishes its ClientTrustConfig.
pub const TRUST_CONFIG_PATH: &str = "/.well-known/sig-share/trust-config.json";

/// `ClientTrustConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTrustConfig {
    /// [`CLIENT_TRUST_CONFIG_MEDIA_TYPE`].
    pub media_type: String,
    /// What verifiers trust.
    pub trusted_root: TrustedRoot,
    /// Where signers go.
    pub signing_config: SigningConfig,
}

/// `TrustedRoot`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedRoot {
    /// [`TRUSTED_ROOT_MEDIA_TYPE`].
    pub media_type: String,
    /// Transparency logs.
    #[serde(default)]
    pub tlogs: Vec<TransparencyLog>,
    /// Certificate authorities.
    #[serde(default)]
    pub certificate_authorities: Vec<Authority>,
    /// Certificate transparency logs.
    #[serde(default)]
    pub ctlogs: Vec<TransparencyLog>,
    /// Timestamp authorities.
    #[serde(default)]
    pub timestamp_authorities: Vec<Authority>,
}

/// `TransparencyLogInstance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransparencyLog {
    /// The log's URL.
    pub base_url: String,
    /// Always `SHA2_256`.
    pub hash_algorithm: String,
    /// Its key.
    pub public_key: PublicKey,
    /// Its ID.
    pub log_id: LogId,
}

/// `PublicKey`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKey {
    /// base64 DER SubjectPublicKeyInfo.
    pub raw_bytes: String,
    /// e.g. `PKIX_ED25519`, `PKIX_ECDSA_P256_SHA_256`.
    pub key_details: String,
    /// When the key is valid.
    pub valid_for: ValidFor,
}

/// `LogId`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogId {
    /// base64.
    pub key_id: String,
}

/// `TimeRange`: RFC 3339 times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidFor {
    /// Start.
    pub start: String,
    /// End, if the authority or key was retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// `CertificateAuthority` (also used for timestamp authorities).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authority {
    /// Who.
    pub subject: Subject,
    /// Where.
    pub uri: String,
    /// The chain (for a CA: issuing certificate to root; for a TSA: leaf to root).
    pub cert_chain: CertChain,
    /// When.
    pub valid_for: ValidFor,
}

/// `DistinguishedName`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    /// O.
    pub organization: String,
    /// CN.
    pub common_name: String,
}

/// `X509CertificateChain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertChain {
    /// The certificates.
    pub certificates: Vec<RawBytes>,
}

/// `X509Certificate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawBytes {
    /// base64 DER.
    pub raw_bytes: String,
}

impl RawBytes {
    /// base64 of `der`.
    pub fn of(der: &[u8]) -> RawBytes {
        RawBytes { raw_bytes: BASE64.encode(der) }
    }
}

/// `SigningConfig` v0.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningConfig {
    /// [`SIGNING_CONFIG_MEDIA_TYPE`].
    pub media_type: String,
    /// Certificate authorities.
    pub ca_urls: Vec<Service>,
    /// Identity providers.
    pub oidc_urls: Vec<Service>,
    /// Transparency logs.
    pub rekor_tlog_urls: Vec<Service>,
    /// Timestamp authorities.
    pub tsa_urls: Vec<Service>,
    /// How many logs to use.
    pub rekor_tlog_config: Selector,
    /// How many TSAs to use.
    pub tsa_config: Selector,
}

/// `Service`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// The URL.
    pub url: String,
    /// The API version it speaks.
    pub major_api_version: u32,
    /// When.
    pub valid_for: ValidFor,
    /// Who runs it.
    pub operator: String,
}

/// `ServiceConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// `ANY`: sigstore-js uses a log or TSA only with `ANY`.
    pub selector: String,
}

impl Selector {
    /// `ANY`.
    pub fn any() -> Selector {
        Selector { selector: "ANY".into() }
    }
}

/// A DER SubjectPublicKeyInfo for a raw Ed25519 public key.
pub fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    der.extend_from_slice(key);
    der
}

/// RFC 3339 (`2026-11-25T06:04:32Z`) of a time.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    der::DateTime::from_system_time(t).map_or_else(|_| "1970-01-01T00:00:00Z".into(), |d| d.to_string())
}

/// A file that is not a ClientTrustConfig this version understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sigstore ClientTrustConfig: {0}")]
pub struct TrustConfigError(String);

impl ClientTrustConfig {
    /// Parses and checks the media types, so a pinned file is what it claims to be.
    pub fn from_json(text: &str) -> Result<ClientTrustConfig, TrustConfigError> {
        let c: ClientTrustConfig = serde_json::from_str(text).map_err(|e| TrustConfigError(e.to_string()))?;
        let check = |got: &str, want: &str, what: &str| {
            if got == want {
                Ok(())
            } else {
                Err(TrustConfigError(format!("{what} media type {got:?}, expected {want:?}")))
            }
        };
        check(&c.media_type, CLIENT_TRUST_CONFIG_MEDIA_TYPE, "the")?;
        check(&c.trusted_root.media_type, TRUSTED_ROOT_MEDIA_TYPE, "the trusted root's")?;
        check(&c.signing_config.media_type, SIGNING_CONFIG_MEDIA_TYPE, "the signing config's")?;
        Ok(c)
    }
}
