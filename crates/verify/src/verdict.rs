//! The whole verification of a bundle: every check in order, one verdict.
//!
//! The order follows sigstore's verifiers (sigstore-go, sigstore-python), fail-closed:
//!
//! 1. the signer: a certificate (keyless) or a managed key, as the policy expects;
//! 2. the signature over the artifact (by its digest) or the DSSE envelope, whose in-toto
//!    subject must name the artifact: a changed file is reported as such, first;
//! 3. the trusted times: every RFC 3161 time stamp must verify against a trusted TSA, and every
//!    Rekor v1 inclusion promise against its log; at least one time is required;
//! 4. the certificate: valid at every trusted time, chained to a trusted CA then, with a valid
//!    SCT from a trusted certificate log;
//! 5. the log: at least one entry, each recording exactly this signature, signer and content,
//!    proven in a trusted log (inclusion proof under a signed checkpoint; v0.1 bundles may rest
//!    on the promise), the log's key valid at the entry's time;
//! 6. the policy: the identity and issuer, or the key.
//!
//! Nothing here reads a clock: `now` is passed in (an integrated time after it is refused).

use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, BundleVersion, DsseEnvelope};
use crate::certificate::{self, CertificateError, SigningCertificate};
use crate::crypto::{CryptoError, HashAlgorithm, PublicKey};
use crate::entry::{self, Content, EntryError, Signed};
use crate::policy::Policy;
use crate::sct::{self, SctError};
use crate::time::format_rfc3339;
use crate::timestamp::{self, TimestampError};
use crate::tlog::{self, InclusionError, PromiseError};
use crate::trust::TrustedRoot;

/// The artifact a bundle is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Artifact<'a> {
    /// Its SHA-256 digest (enough for ECDSA signatures and DSSE subjects).
    pub sha256: [u8; 32],
    /// Its bytes, when the caller has them: Ed25519 signs messages, not digests.
    pub bytes: Option<&'a [u8]>,
}

impl<'a> Artifact<'a> {
    /// An artifact from its bytes.
    pub fn from_bytes(bytes: &'a [u8]) -> Artifact<'a> {
        Artifact { sha256: Sha256::digest(bytes).into(), bytes: Some(bytes) }
    }

    /// An artifact known only by its SHA-256 digest.
    pub fn from_sha256(sha256: [u8; 32]) -> Artifact<'static> {
        Artifact { sha256, bytes: None }
    }
}

/// Why a bundle does not verify. Each names the check that failed and why, for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bundle's shape.
    #[error("{0}")]
    Bundle(#[from] crate::bundle::BundleError),
    /// The signing certificate.
    #[error("signing certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The certificate's SCTs.
    #[error("certificate transparency: {0}")]
    Sct(#[from] SctError),
    /// A time stamp.
    #[error("time stamp: {0}")]
    Timestamp(#[from] TimestampError),
    /// A log entry's inclusion.
    #[error("transparency log: {0}")]
    Inclusion(#[from] InclusionError),
    /// A log entry's inclusion promise.
    #[error("transparency log: {0}")]
    Promise(#[from] PromiseError),
    /// A log entry's body.
    #[error("transparency log: {0}")]
    Entry(#[from] EntryError),
    /// No log entry at all.
    #[error("the bundle has no transparency log entry: its signing was never made public")]
    NoLogEntry,
    /// An entry that proves nothing the bundle's version requires.
    #[error("transparency log: {0}")]
    EntryEvidence(String),
    /// The log's key was not valid at the entry's time.
    #[error("transparency log: the log's key was not valid at {0}")]
    LogKeyNotValid(String),
    /// No trusted time.
    #[error(
        "the bundle has no trusted time (no RFC 3161 time stamp and no Rekor v1 inclusion promise), so the short-lived certificate cannot be checked"
    )]
    NoTrustedTime,
    /// A log's integrated time after the verifier's now.
    #[error("the log's integrated time {0} is in the future")]
    TimeInFuture(String),
    /// The signer is not what the policy asks for.
    #[error("{0}")]
    Material(String),
    /// The signature.
    #[error("the signature does not verify over {what}: {reason}")]
    Signature {
        /// The artifact, or the DSSE envelope.
        what: &'static str,
        /// Why.
        reason: CryptoError,
    },
    /// The bundle's recorded digest is not the artifact's.
    #[error("the bundle signs a different artifact (its digest is {bundle}, the artifact's is {artifact})")]
    ArtifactMismatch {
        /// The digest in the bundle (hex).
        bundle: String,
        /// The artifact's (hex).
        artifact: String,
    },
    /// The DSSE statement does not name the artifact.
    #[error("the signed in-toto statement does not name this artifact (sha256 {0}) among its subjects")]
    SubjectMismatch(String),
    /// The identity differs.
    #[error("signed by {actual}, not by {expected}")]
    Identity {
        /// The certificate's identity.
        actual: String,
        /// The policy's.
        expected: String,
    },
    /// The issuer differs.
    #[error("identity vouched for by {actual}, not by {expected}")]
    Issuer {
        /// The certificate's issuer.
        actual: String,
        /// The policy's.
        expected: String,
    },
}

/// Who signed, as established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A keyless signature by an identity.
    Identity {
        /// The certificate's SAN.
        identity: String,
        /// The OIDC issuer that vouched for it.
        issuer: String,
        /// The CA that issued the certificate.
        authority: String,
        /// The certificate's validity, Unix seconds.
        not_before: i64,
        /// End of validity.
        not_after: i64,
        /// The Fulcio extensions (dotted OID, value).
        extensions: Vec<(String, String)>,
    },
    /// A managed key.
    Key {
        /// Its type.
        kind: &'static str,
    },
}

/// A time the bundle proves the signing happened by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedTime {
    /// Unix seconds.
    pub time: i64,
    /// Who vouches: the TSA, or the log.
    pub source: TimeSource,
}

/// Who vouched for a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSource {
    /// An RFC 3161 time stamp from this TSA.
    Timestamp(String),
    /// A Rekor v1 inclusion promise from this log.
    Log(String),
    /// The signing certificate's SCT from this certificate log: when a ten-minute certificate
    /// was issued, and so when its ephemeral key signed. Only [`verify_logged`] accepts it.
    CertificateLog(String),
}

/// A log entry as proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvidence {
    /// The log's URL.
    pub log_url: String,
    /// The entry's index in the log.
    pub index: u64,
    /// The size of the tree the proof is in (0 when only a promise was checked).
    pub tree_size: u64,
    /// The checkpoint's origin (empty when only a promise was checked).
    pub origin: String,
    /// The entry's kind and version.
    pub kind: String,
    /// "witnessed by k of n" when the trust config's witness policy covers the log.
    pub witnessed: Option<String>,
}

/// Everything a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who signed.
    pub signer: Signer,
    /// When, by whose word.
    pub times: Vec<TrustedTime>,
    /// Where it is logged.
    pub log_entries: Vec<LogEvidence>,
    /// The DSSE payload type, for envelopes.
    pub payload_type: Option<String>,
    /// How many SCTs verified.
    pub scts: usize,
}

/// Verifies `bundle` for `artifact` under `policy`, trusting only `root`, at `now` (Unix secs).
pub fn verify(
    bundle: &Bundle,
    artifact: &Artifact<'_>,
    policy: &Policy,
    root: &TrustedRoot,
    now: i64,
) -> Result<Verified, VerifyError> {
    verify_with(bundle, artifact, policy, root, now, false)
}

/// Verifies what a log entry alone says: a keyless signature over `artifact` logged with an
/// inclusion proof, as a log's digest index returns it (lookup by content), with no time stamp
/// to go with it. The signing time is then the certificate's SCT, the certificate log's word on
/// when the ten-minute certificate was issued: its key is ephemeral, so that is when it signed.
/// Weaker than a time stamp (it trusts the CA and its clients to discard keys), so bundles never
/// get it; everything else is checked as [`verify`] checks it.
pub fn verify_logged(
    bundle: &Bundle,
    artifact: &Artifact<'_>,
    policy: &Policy,
    root: &TrustedRoot,
    now: i64,
) -> Result<Verified, VerifyError> {
    verify_with(bundle, artifact, policy, root, now, true)
}

fn verify_with(
    bundle: &Bundle,
    artifact: &Artifact<'_>,
    policy: &Policy,
    root: &TrustedRoot,
    now: i64,
    issuance_time: bool,
) -> Result<Verified, VerifyError> {
    let version = bundle.version()?;
    // 1. The signer.
    let (leaf, key, signer_der) = signer(bundle, policy)?;
    let signature = signature_bytes(bundle);

    // 2. The signature, over what the caller holds: a tampered artifact or signature is named
    // as such before anything else is looked at.
    let payload_type = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(sig), _) => {
            if let Some(d) = &sig.message_digest {
                let same = HashAlgorithm::from_sigstore(&d.algorithm) == Some(HashAlgorithm::Sha256)
                    && d.digest == artifact.sha256;
                if !same {
                    return Err(VerifyError::ArtifactMismatch {
                        bundle: hex(&d.digest),
                        artifact: hex(&artifact.sha256),
                    });
                }
            }
            let checked = match (&key, artifact.bytes) {
                (PublicKey::Ed25519(_), Some(bytes)) => key.verify(bytes, &sig.signature, HashAlgorithm::Sha256),
                (PublicKey::Ed25519(_), None) => Err(CryptoError::Mismatch {
                    algorithm: "a signature checked by digest (give the file, not sha256:…)".into(),
                    key: "Ed25519",
                }),
                _ => key.verify_prehash(&artifact.sha256, &sig.signature),
            };
            checked.map_err(|reason| VerifyError::Signature { what: "the artifact", reason })?;
            None
        }
        (None, Some(env)) => {
            let hash = match key {
                PublicKey::P384(_) => HashAlgorithm::Sha384,
                _ => HashAlgorithm::Sha256,
            };
            key.verify(&entry::pae(&env.payload_type, &env.payload), signature, hash)
                .map_err(|reason| VerifyError::Signature { what: "the DSSE envelope", reason })?;
            check_subject(env, &artifact.sha256)?;
            Some(env.payload_type.clone())
        }
        (None, None) => return Err(crate::bundle::BundleError::Content.into()),
    };

    // 3. Trusted times: every time stamp, and every Rekor v1 inclusion promise.
    let mut times = Vec::new();
    if let Some(data) = &bundle.verification_material.timestamp_verification_data {
        for stamp in &data.rfc3161_timestamps {
            let t = timestamp::verify_timestamp(&stamp.signed_timestamp, signature, root)?;
            times.push(TrustedTime { time: t.time, source: TimeSource::Timestamp(t.authority) });
        }
    }
    let entries = &bundle.verification_material.tlog_entries;
    if entries.is_empty() {
        return Err(VerifyError::NoLogEntry);
    }
    let stamped: Vec<i64> = times.iter().map(|t| t.time).collect();
    let mut promised = Vec::with_capacity(entries.len());
    for e in entries {
        if e.inclusion_promise.is_some() {
            let t = i64::try_from(tlog::verify_promise(e, root)?)
                .map_err(|_| VerifyError::EntryEvidence("the integrated time is out of range".into()))?;
            if t > now {
                return Err(VerifyError::TimeInFuture(format_rfc3339(t)));
            }
            let url = tlog::find_log(root, &e.log_id.key_id)?.base_url.clone();
            times.push(TrustedTime { time: t, source: TimeSource::Log(url) });
            promised.push(Some(t));
        } else if version == BundleVersion::V0_1 {
            return Err(VerifyError::EntryEvidence("a v0.1 bundle's entry must carry an inclusion promise".into()));
        } else {
            promised.push(None);
        }
    }
    if times.is_empty()
        && issuance_time
        && let Some(leaf) = &leaf
    {
        times.push(issued_at(leaf, root)?);
    }
    if times.is_empty() {
        return Err(VerifyError::NoTrustedTime);
    }

    // 4. The certificate at every trusted time, and its SCTs.
    let mut scts = 0;
    let signer = match &leaf {
        Some(leaf) => {
            let mut authority = String::new();
            for t in &times {
                if t.time < leaf.not_before || t.time > leaf.not_after {
                    return Err(CertificateError::NotValidAt {
                        time: format_rfc3339(t.time),
                        not_before: format_rfc3339(leaf.not_before),
                        not_after: format_rfc3339(leaf.not_after),
                    }
                    .into());
                }
                let path = certificate::verify_path(leaf, root, t.time)?;
                if scts == 0 {
                    let issuer = path.chain.first().ok_or(CertificateError::UntrustedIssuer)?;
                    scts = sct::verify_embedded_scts(leaf, issuer, root)?.len();
                }
                authority = path.authority;
            }
            Signer::Identity {
                identity: leaf.san.clone(),
                issuer: leaf.oidc_issuer.clone().unwrap_or_default(),
                authority,
                not_before: leaf.not_before,
                not_after: leaf.not_after,
                extensions: leaf.extensions.clone(),
            }
        }
        None => Signer::Key { kind: key.kind() },
    };

    // 5. The log entries: each records this signing, and is proven in a trusted log whose key
    // was valid when the entry was made.
    let content = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (_, Some(env)) => Content::Dsse(env),
        _ => Content::Message { sha256: &artifact.sha256 },
    };
    let signed = Signed { signature, signer: &signer_der, content };
    let mut log_entries = Vec::new();
    for (e, promised) in entries.iter().zip(promised) {
        entry::check_entry(e, &signed)?;
        let kind = format!("{} {}", e.kind_version.kind, e.kind_version.version);
        let log = tlog::find_log(root, &e.log_id.key_id)?;
        let evidence = match &e.inclusion_proof {
            Some(_) => {
                let inc = tlog::verify_inclusion(e, root, now)?;
                LogEvidence {
                    log_url: inc.log_url,
                    index: inc.index,
                    tree_size: inc.tree_size,
                    origin: inc.origin,
                    kind,
                    witnessed: inc.witnessed,
                }
            }
            // v0.1 bundles may rest on the promise alone (checked above), unless a witness
            // policy covers every log: a promise carries no checkpoint to count cosignatures on.
            None if version == BundleVersion::V0_1
                && !root.witnesses.as_ref().is_some_and(|p| p.policy().logs().is_empty()) =>
            {
                LogEvidence {
                    log_url: log.base_url.clone(),
                    index: e.log_index,
                    tree_size: 0,
                    origin: String::new(),
                    kind,
                    witnessed: None,
                }
            }
            None => return Err(InclusionError::NoProof.into()),
        };
        for t in stamped.iter().chain(&promised) {
            if !log.public_key.valid_for.contains(*t).map_err(|e| VerifyError::EntryEvidence(e.to_string()))? {
                return Err(VerifyError::LogKeyNotValid(format_rfc3339(*t)));
            }
        }
        log_entries.push(evidence);
    }

    // 6. The policy.
    if let (Policy::Identity { identity, issuer }, Signer::Identity { identity: actual, issuer: actual_issuer, .. }) =
        (policy, &signer)
    {
        if !identity.matches(actual) {
            return Err(VerifyError::Identity { actual: actual.clone(), expected: identity.to_string() });
        }
        if !issuer.matches(actual_issuer) {
            let actual = if actual_issuer.is_empty() { "no issuer".to_owned() } else { actual_issuer.clone() };
            return Err(VerifyError::Issuer { actual, expected: issuer.to_string() });
        }
    }
    Ok(Verified { signer, times, log_entries, payload_type, scts })
}

/// When `leaf` was issued, by the word of the earliest certificate log whose SCT it carries.
fn issued_at(leaf: &SigningCertificate, root: &TrustedRoot) -> Result<TrustedTime, VerifyError> {
    let path = certificate::verify_path(leaf, root, leaf.not_before)?;
    let issuer = path.chain.first().ok_or(CertificateError::UntrustedIssuer)?;
    let scts = sct::verify_embedded_scts(leaf, issuer, root)?;
    let first = scts.iter().min_by_key(|s| s.timestamp_ms).ok_or(VerifyError::NoTrustedTime)?;
    let time = i64::try_from(first.timestamp_ms / 1000)
        .map_err(|_| VerifyError::EntryEvidence("the SCT's time is out of range".into()))?;
    let log = root
        .ctlogs
        .iter()
        .find(|log| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &log.log_id.key_id)
                .is_ok_and(|id| id == first.log_id)
        })
        .map_or_else(String::new, |log| log.base_url.clone());
    Ok(TrustedTime { time, source: TimeSource::CertificateLog(log) })
}

/// The signing certificate (parsed) or the policy's key, the key to check signatures with, and
/// the signer's DER as log entries record it.
fn signer(bundle: &Bundle, policy: &Policy) -> Result<(Option<SigningCertificate>, PublicKey, Vec<u8>), VerifyError> {
    match (bundle.signing_certificate(), policy) {
        (Some(der), Policy::Identity { .. }) => {
            let leaf = certificate::parse_signing_certificate(der)?;
            let key = leaf.public_key.clone();
            Ok((Some(leaf), key, der.to_vec()))
        }
        (Some(_), Policy::Key { .. }) => Err(VerifyError::Material(
            "the bundle is signed with a certificate (keyless) but a key was given: verify with an identity and issuer"
                .into(),
        )),
        (None, Policy::Key { key, spki }) => Ok((None, key.clone(), spki.clone())),
        (None, Policy::Identity { .. }) => Err(VerifyError::Material(
            "the bundle is signed with a managed key, not a certificate: verify with the key".into(),
        )),
    }
}

fn signature_bytes(bundle: &Bundle) -> &[u8] {
    match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(sig), _) => &sig.signature,
        (None, Some(env)) => env.signatures.first().map_or(&[][..], |s| &s.sig),
        (None, None) => &[],
    }
}

/// An in-toto statement's subjects must include the artifact (by SHA-256).
fn check_subject(env: &DsseEnvelope, sha256: &[u8; 32]) -> Result<(), VerifyError> {
    let want = hex(sha256);
    let statement: serde_json::Value = serde_json::from_slice(&env.payload)
        .map_err(|e| VerifyError::Material(format!("the DSSE payload is not an in-toto statement: {e}")))?;
    let named = statement
        .get("subject")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| s.pointer("/digest/sha256").and_then(|d| d.as_str()))
        .any(|d| d.eq_ignore_ascii_case(&want));
    if named { Ok(()) } else { Err(VerifyError::SubjectMismatch(want)) }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
