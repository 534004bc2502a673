//! sigstore's trust material: the ClientTrustConfig, its TrustedRoot (CA chains, certificate
//! logs, transparency logs, timestamp authorities, each with its validity) and its SigningConfig
//! (where each service is). One model for both sides: `sig-share serve` writes it, verifiers
//! read it (also public-good's `trusted_root.json` and the conformance suite's).
//!
//! Written, it must pass sigstore-python 4.5.1's strict parser (`shared/research/
//! interop-clients.md` §1d): the trusted root under the `version=0.1` media type, standard
//! base64, an `operator` on every service, `subject` on every authority. Read, unknown fields are
//! refused (trust material whose meaning we do not know is not trusted), optional ones
//! (`checkpointKeyId`, `operator`, `validFor.end`) are taken when present, and both trusted-root
//! media types are accepted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::x509::Cert;

/// The ClientTrustConfig media type.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/// The trusted root media type sigstore-python 4.5.1 requires (it refuses `trustedroot.v0.2+json`).
pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// The newer trusted root media type, accepted when reading.
pub const TRUSTED_ROOT_V02_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot.v0.2+json";
/// The signing config media type.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

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
    /// sig-share's extension, never serialized: the witnesses whose quorum must cosign every
    /// checkpoint of the logs they cover. sigstore's TrustedRoot has no field for it and
    /// sigstore-python refuses unknown fields, so it travels as a C2SP tlog-policy file pinned
    /// beside the trust config (see [`WitnessPolicy`]).
    #[serde(skip)]
    pub witnesses: Option<WitnessPolicy>,
}

/// A C2SP tlog-policy a verifier enforces: every checkpoint of a log it covers must carry
/// cosignatures meeting its quorum. It covers the logs its `log` lines name (by origin), or
/// every log when it names none.
#[derive(Clone, Debug)]
pub struct WitnessPolicy(std::sync::Arc<sig_share_tlog::policy::Policy>);

impl PartialEq for WitnessPolicy {
    fn eq(&self, other: &WitnessPolicy) -> bool {
        self.0.text() == other.0.text()
    }
}

impl Eq for WitnessPolicy {}

impl WitnessPolicy {
    /// Parses a tlog-policy file.
    pub fn parse(text: &str) -> Result<WitnessPolicy, TrustConfigError> {
        let policy = sig_share_tlog::policy::Policy::parse(text).map_err(|e| TrustConfigError(e.to_string()))?;
        Ok(WitnessPolicy(std::sync::Arc::new(policy)))
    }

    /// The policy.
    pub fn policy(&self) -> &sig_share_tlog::policy::Policy {
        &self.0
    }

    /// Whether checkpoints of the log with this origin must meet the quorum.
    pub fn covers(&self, origin: &str) -> bool {
        let logs = self.0.logs();
        logs.is_empty() || logs.iter().any(|l| sig_share_tlog::NoteVerifier::name(&l.key) == origin)
    }
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
    /// The note key ID its checkpoints are signed with, where it differs from `log_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_key_id: Option<LogId>,
    /// Who runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
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
    /// Where (absent in some published roots).
    #[serde(default)]
    pub uri: String,
    /// The chain (for a CA: issuing certificate to root; for a TSA: leaf to root).
    pub cert_chain: CertChain,
    /// When.
    pub valid_for: ValidFor,
    /// Who runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

impl Authority {
    /// The name verdicts and errors give the authority: its `uri` when the trusted root gives
    /// one, else its subject's common name. One rule for certificate and timestamp
    /// authorities alike; the URI is preferred because it names the service (public-good's
    /// Fulcio is `https://fulcio.sigstore.dev`, its CN just `sigstore`).
    pub fn name(&self) -> &str {
        if self.uri.is_empty() { &self.subject.common_name } else { &self.uri }
    }
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

/// Trust material (a ClientTrustConfig, trusted root or signing config) this version cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not usable sigstore trust material: {0}")]
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
        c.trusted_root.check_media_type()?;
        c.trusted_root.check_fields()?;
        c.trusted_root.check_chains()?;
        check(&c.signing_config.media_type, SIGNING_CONFIG_MEDIA_TYPE, "the signing config's")?;
        c.signing_config.check_fields()?;
        Ok(c)
    }
}

impl TrustedRoot {
    /// Parses a trusted root on its own (a `trusted_root.json`).
    pub fn from_json(text: &str) -> Result<TrustedRoot, TrustConfigError> {
        let root: TrustedRoot = serde_json::from_str(text).map_err(|e| TrustConfigError(e.to_string()))?;
        root.check_media_type()?;
        root.check_fields()?;
        root.check_chains()?;
        Ok(root)
    }

    /// Checks the chain each certificate authority and timestamp authority lists: every
    /// certificate parses, and each is signed by the next one in the list (the last, the root,
    /// is not checked against itself). [`TrustedRoot::from_json`] and
    /// [`ClientTrustConfig::from_json`] run this; a root built in code should too.
    ///
    /// Verification relies on it: a bundle's certificate path and a time stamp's TSA path do
    /// not check again the signatures between two certificates the trusted root lists next to
    /// each other (they are the trust anchors), only the links from the bundle's own
    /// certificates into the listed chain.
    pub fn check_chains(&self) -> Result<(), TrustConfigError> {
        let kinds = [
            ("certificate authority", &self.certificate_authorities),
            ("timestamp authority", &self.timestamp_authorities),
        ];
        for (kind, authorities) in kinds {
            for authority in authorities {
                check_chain(kind, authority)?;
            }
        }
        Ok(())
    }

    /// Checks every field verification reads later that the chains do not: each validity
    /// window's times, each log's key and IDs (base64).
    /// Trust material is anyone's JSON (`trust pin` fetches it from a server); what is wrong in
    /// it is refused when it is read, with its place named, never met half-way through a
    /// verification (issue 14 #5: a non-ASCII `validFor` once panicked every `verify`).
    pub fn check_fields(&self) -> Result<(), TrustConfigError> {
        for (kind, logs) in [("transparency log", &self.tlogs), ("certificate log", &self.ctlogs)] {
            for (i, log) in logs.iter().enumerate() {
                let name = if log.base_url.is_empty() { format!("#{i}") } else { format!("{:?}", log.base_url) };
                let refuse = |what: String| TrustConfigError(format!("{kind} {name} of the trusted root: {what}"));
                check_window(&log.public_key.valid_for).map_err(|e| refuse(format!("its key's validFor: {e}")))?;
                // The key's encoding follows its keyDetails: published roots list PKCS#1 RSA keys
                // beside SPKI ones. Here it must be DER of that shape; it is parsed for its
                // algorithm where it is used.
                let key = BASE64
                    .decode(&log.public_key.raw_bytes)
                    .map_err(|e| refuse(format!("its key is not base64: {e}")))?;
                key_der_shape(&log.public_key.key_details, &key).map_err(|e| refuse(format!("its key: {e}")))?;
                BASE64.decode(&log.log_id.key_id).map_err(|e| refuse(format!("its logId is not base64: {e}")))?;
                if let Some(id) = &log.checkpoint_key_id {
                    BASE64.decode(&id.key_id).map_err(|e| refuse(format!("its checkpointKeyId is not base64: {e}")))?;
                }
            }
        }
        let kinds = [
            ("certificate authority", &self.certificate_authorities),
            ("timestamp authority", &self.timestamp_authorities),
        ];
        for (kind, authorities) in kinds {
            for authority in authorities {
                check_window(&authority.valid_for).map_err(|e| {
                    TrustConfigError(format!("{kind} {} of the trusted root: its validFor: {e}", authority.name()))
                })?;
            }
        }
        Ok(())
    }

    fn check_media_type(&self) -> Result<(), TrustConfigError> {
        match self.media_type.as_str() {
            TRUSTED_ROOT_MEDIA_TYPE | TRUSTED_ROOT_V02_MEDIA_TYPE => Ok(()),
            other => {
                Err(TrustConfigError(format!("the trusted root's media type {other:?} is not one this version reads")))
            }
        }
    }
}

/// A validity window whose times parse.
/// Whether `key` is DER of the shape its `key_details` names: a SubjectPublicKeyInfo for the
/// `PKIX_` kinds (and any unnamed kind), one DER value (a PKCS#1 key) for the others.
fn key_der_shape(key_details: &str, key: &[u8]) -> Result<(), String> {
    use der::Decode as _;
    if key_details.starts_with("PKCS1_") {
        der::Any::from_der(key).map(|_| ()).map_err(|e| format!("not a DER value ({e})"))
    } else {
        spki::SubjectPublicKeyInfoRef::from_der(key)
            .map(|_| ())
            .map_err(|e| format!("not a DER SubjectPublicKeyInfo ({e})"))
    }
}

fn check_window(window: &ValidFor) -> Result<(), crate::time::TimeError> {
    window.contains(0).map(|_| ())
}

/// One authority's listed chain: each certificate parses and is signed by the next.
fn check_chain(kind: &str, authority: &Authority) -> Result<(), TrustConfigError> {
    let refuse = |what: String| TrustConfigError(format!("{kind} {} of the trusted root: {what}", authority.name()));
    let mut chain = Vec::with_capacity(authority.cert_chain.certificates.len());
    for (i, raw) in authority.cert_chain.certificates.iter().enumerate() {
        let der = BASE64.decode(&raw.raw_bytes).map_err(|e| refuse(format!("certificate {i} is not base64: {e}")))?;
        chain.push(Cert::parse(der).map_err(|e| refuse(format!("certificate {i} does not parse: {e}")))?);
    }
    for (i, pair) in chain.windows(2).enumerate() {
        pair[1].check_signed(&pair[0]).map_err(|reason| {
            refuse(format!(
                "certificate {i} ({}) is not signed by certificate {} ({}), the next in its chain: {reason}",
                pair[0].subject(),
                i + 1,
                pair[1].subject()
            ))
        })?;
    }
    Ok(())
}

impl SigningConfig {
    /// Parses a signing config on its own.
    pub fn from_json(text: &str) -> Result<SigningConfig, TrustConfigError> {
        let config: SigningConfig = serde_json::from_str(text).map_err(|e| TrustConfigError(e.to_string()))?;
        if config.media_type != SIGNING_CONFIG_MEDIA_TYPE {
            return Err(TrustConfigError(format!(
                "the signing config's media type {:?} is not v0.2",
                config.media_type
            )));
        }
        config.check_fields()?;
        Ok(config)
    }

    /// Checks what signing reads later: every service's URL is http(s) and its validity
    /// window's times parse (see [`TrustedRoot::check_fields`]).
    pub fn check_fields(&self) -> Result<(), TrustConfigError> {
        let kinds = [
            ("caUrls", &self.ca_urls),
            ("oidcUrls", &self.oidc_urls),
            ("rekorTlogUrls", &self.rekor_tlog_urls),
            ("tsaUrls", &self.tsa_urls),
        ];
        for (kind, services) in kinds {
            for service in services {
                let refuse =
                    |what: String| TrustConfigError(format!("the signing config's {kind} {:?}: {what}", service.url));
                if !(service.url.starts_with("https://") || service.url.starts_with("http://")) {
                    return Err(refuse("not an http(s) URL".into()));
                }
                check_window(&service.valid_for).map_err(|e| refuse(format!("its validFor: {e}")))?;
            }
        }
        Ok(())
    }
}
