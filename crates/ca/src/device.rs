//! The device path: a camera, phone or recorder gets a long-lived certificate for a key it holds
//! (in a secure element, a PKCS#11 token or a key file), authorised by its operator's enrollment
//! credential rather than a person's identity token. The certificate names the device
//! (`urn:sig-share:device:<id>`) and, in Fulcio's issuer extension, the enrollment authority, so
//! verifiers match devices with the same identity and issuer policy as people. Like every
//! certificate it is logged in the certificate log first and carries the SCT.
//!
//! Attestation (Android Key Attestation, TPM quotes) would replace the operator credential with
//! evidence from the device's hardware; the request has room for it, the CA does not check it yet.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::principal::{Encoding, Principal, San, oids};
use crate::request::{PublicKey, RequestError};

/// How long a device certificate lives: devices sign for years, and what they signed stays
/// verifiable through its time stamps after the certificate expires.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The URN prefix that names a device in its certificate's SAN.
pub const DEVICE_URN_PREFIX: &str = "urn:sig-share:device:";

/// The longest device ID.
pub const MAX_DEVICE_ID: usize = 64;

/// Who may enroll devices: the holder of the operator's secret.
#[derive(Clone)]
pub struct DeviceEnrollment {
    /// SHA-256 of the operator's secret: the secret itself is never kept.
    secret_sha256: [u8; 32],
    /// The enrollment authority's name, written as the certificate's issuer (a URL).
    issuer: String,
}

impl std::fmt::Debug for DeviceEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceEnrollment").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// Why a device enrollment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// This CA enrolls no devices.
    #[error("this CA does not enroll devices")]
    Disabled,
    /// No operator credential, or the wrong one.
    #[error("device enrollment needs the operator's credential as 'Authorization: Bearer <secret>'")]
    Unauthorised,
    /// The device ID is not one a URN can carry.
    #[error("the device ID must be 1 to {MAX_DEVICE_ID} characters of A-Z a-z 0-9 . _ -, got {0:?}")]
    BadId(String),
}

impl DeviceEnrollment {
    /// Enrollment by whoever holds `secret`, certificates naming `issuer` as their issuer.
    pub fn new(secret: &str, issuer: impl Into<String>) -> DeviceEnrollment {
        DeviceEnrollment { secret_sha256: Sha256::digest(secret.as_bytes()).into(), issuer: issuer.into() }
    }

    /// The enrollment authority named in device certificates.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether `bearer` is the operator's secret. Compares digests, so the time taken says
    /// nothing about how much of the secret was right.
    pub fn authorises(&self, bearer: Option<&str>) -> bool {
        bearer.is_some_and(|b| <[u8; 32]>::from(Sha256::digest(b.as_bytes())) == self.secret_sha256)
    }

    /// What a device certificate for `device_id` says.
    pub fn principal(&self, device_id: &str) -> Result<Principal, DeviceError> {
        let valid = !device_id.is_empty()
            && device_id.len() <= MAX_DEVICE_ID
            && device_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(DeviceError::BadId(device_id.chars().take(80).collect()));
        }
        Ok(Principal {
            san: San::Uri(format!("{DEVICE_URN_PREFIX}{device_id}")),
            issuer: self.issuer.clone(),
            subject: device_id.to_owned(),
            challenge: device_id.to_owned(),
            extensions: vec![
                (oids::ISSUER_V1, Encoding::Raw, self.issuer.clone()),
                (oids::ISSUER_V2, Encoding::Utf8String, self.issuer.clone()),
            ],
        })
    }
}

/// `POST /api/v2/deviceCert`: the device's ID, its public key, and its signature over the ID.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceCertRequest {
    /// The device's ID (a serial number, say): letters, digits, `.`, `_`, `-`.
    pub device_id: String,
    /// The device's key.
    pub public_key: PublicKey,
    /// base64 of the device key's signature over the device ID's bytes.
    pub proof_of_possession: String,
}

impl DeviceCertRequest {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<(DeviceCertRequest, Vec<u8>), RequestError> {
        let request: DeviceCertRequest =
            serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
        let proof = STANDARD
            .decode(request.proof_of_possession.trim())
            .map_err(|e| RequestError::Malformed(format!("proofOfPossession is not base64: {e}")))?;
        Ok((request, proof))
    }
}
