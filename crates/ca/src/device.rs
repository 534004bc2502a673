//! The device path: a camera, phone or recorder gets a long-lived certificate for a key it holds
//! (in a secure element, a PKCS#11 token or a key file), authorised by its operator's enrollment
//! credential rather than a person's identity token. The certificate names the device
//! (`urn:sig-share:device:<id>`) and, in Fulcio's issuer extension, the enrollment authority, so
//! verifiers match devices with the same identity and issuer policy as people. Like every
//! certificate it is logged in the certificate log first and carries the SCT.
//!
//! Attestation (Android Key Attestation, TPM quotes) would replace the operator credential with
//! evidence from the device's hardware; the request has room for it, the CA does not check it yet.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
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

/// Device requests (enrollments and revocations) one client may make in a burst; the bucket
/// refills at this many per minute: one a second, enough to provision a fleet from a script.
pub const DEVICE_REQUESTS_PER_MINUTE: u32 = 60;
/// How many requests a wrong operator secret costs on top of its own: a client guessing is
/// stopped at its third guess in a minute, and then waits like any client over its rate.
pub const WRONG_SECRET_COST: u32 = 20;
/// The file in the CA's data directory recording every device ID's keys.
pub const DEVICES_FILE: &str = "devices.json";

/// Who may enroll devices: the holder of the operator's secret; which key each device ID is
/// bound to; how fast anyone may try.
#[derive(Clone)]
pub struct DeviceEnrollment {
    /// SHA-256 of the operator's secret: the secret itself is never kept.
    secret_sha256: [u8; 32],
    /// The enrollment authority's name, written as the certificate's issuer (a URL).
    issuer: String,
    /// Each device ID's enrolled keys (issue 14 #10b: one key per ID until it is revoked).
    registry: Arc<Registry>,
    /// Attempts per client address (one bucket for clients whose address is unknown).
    attempts: Arc<DefaultKeyedRateLimiter<Option<IpAddr>>>,
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
    /// The ID is enrolled with another key that was not revoked.
    #[error(
        "device {0:?} is enrolled with another key; revoke it first (`sig-share device revoke --id {0}`) to enroll a new one"
    )]
    AlreadyEnrolled(String),
    /// Revoking an ID that has no enrolled key.
    #[error("device {0:?} has no enrolled key to revoke")]
    NotEnrolled(String),
    /// Too many attempts from this client.
    #[error("too many device enrollment attempts; retry in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// The enrollment record could not be read or written: nothing is enrolled without it.
    #[error("the device registry is unavailable: {0}")]
    Registry(String),
}

/// One key enrolled for a device ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Enrollment {
    /// Hex SHA-256 of the key's DER SubjectPublicKeyInfo.
    pub key_sha256: String,
    /// When it was first enrolled (Unix seconds).
    pub enrolled: u64,
    /// When the operator revoked it (Unix seconds), freeing the ID for a new key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<u64>,
}

/// Every device ID's enrollments, oldest first (the last is the current one).
type Devices = BTreeMap<String, Vec<Enrollment>>;

/// The enrollment record: a JSON file in the CA's data directory, read and rewritten
/// (atomically) under a lock for each change, so a restart forgets nothing; or, for tests and
/// stacks without a data directory, memory.
#[derive(Debug)]
struct Registry {
    file: Option<PathBuf>,
    memory: Mutex<Devices>,
    /// Held across each read-check-write, so two requests for one ID cannot interleave.
    changing: Mutex<()>,
}

impl Registry {
    fn load(&self) -> Result<Devices, DeviceError> {
        let Some(path) = &self.file else {
            return Ok(self.memory.lock().map_err(|_| DeviceError::Registry("poisoned".into()))?.clone());
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| DeviceError::Registry(format!("{} does not parse: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Devices::new()),
            Err(e) => Err(DeviceError::Registry(format!("reading {}: {e}", path.display()))),
        }
    }

    fn save(&self, devices: &Devices) -> Result<(), DeviceError> {
        let Some(path) = &self.file else {
            *self.memory.lock().map_err(|_| DeviceError::Registry("poisoned".into()))? = devices.clone();
            return Ok(());
        };
        let text = serde_json::to_vec_pretty(devices).map_err(|e| DeviceError::Registry(e.to_string()))?;
        write_durably(path, &text).map_err(|e| DeviceError::Registry(format!("writing {}: {e}", path.display())))
    }

    /// Runs `change` on the record under the lock and saves what it returns, if anything.
    fn update<T>(&self, change: impl FnOnce(&mut Devices) -> Result<(T, bool), DeviceError>) -> Result<T, DeviceError> {
        let _changing = self.changing.lock().map_err(|_| DeviceError::Registry("poisoned".into()))?;
        let mut devices = self.load()?;
        let (out, changed) = change(&mut devices)?;
        if changed {
            self.save(&devices)?;
        }
        Ok(out)
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename: the record is
/// either the old one or the new one, never half of one.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

impl DeviceEnrollment {
    /// Enrollment by whoever holds `secret`, certificates naming `issuer` as their issuer.
    /// Enrollments are kept in memory until [`recorded_in`](Self::recorded_in) names a file.
    pub fn new(secret: &str, issuer: impl Into<String>) -> DeviceEnrollment {
        let per_minute = NonZeroU32::new(DEVICE_REQUESTS_PER_MINUTE).expect("a positive rate");
        DeviceEnrollment {
            secret_sha256: Sha256::digest(secret.as_bytes()).into(),
            issuer: issuer.into(),
            registry: Arc::new(Registry { file: None, memory: Mutex::default(), changing: Mutex::default() }),
            attempts: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }

    /// Keeps the enrollment record in `file` (the CA's `devices.json`), read at each change.
    pub fn recorded_in(mut self, file: PathBuf) -> DeviceEnrollment {
        self.registry = Arc::new(Registry { file: Some(file), memory: Mutex::default(), changing: Mutex::default() });
        self
    }

    /// Counts one request from `client` (`None`: address unknown, one shared bucket), or
    /// refuses it with how long to wait; `wrong_secret` counts [`WRONG_SECRET_COST`] more.
    pub fn admit(&self, client: Option<IpAddr>, wrong_secret: bool) -> Result<(), DeviceError> {
        // Forget idle clients now and then: the map holds one entry per address seen.
        if self.attempts.len() > 10_000 {
            self.attempts.retain_recent();
        }
        let cost = NonZeroU32::new(if wrong_secret { 1 + WRONG_SECRET_COST } else { 1 }).expect("positive");
        match self.attempts.check_key_n(&client, cost) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                Err(DeviceError::RateLimited(not_until.wait_time_from(DefaultClock::default().now())))
            }
            Err(_) => Err(DeviceError::RateLimited(Duration::from_secs(60))),
        }
    }

    /// Binds `device_id` to the key `spki_der` at `now` (Unix seconds), before its certificate
    /// is issued: a new ID, or one whose key was revoked, takes the key (recorded durably); the
    /// same key again is a renewal; another key is refused.
    pub fn claim(&self, device_id: &str, spki_der: &[u8], now: u64) -> Result<(), DeviceError> {
        let key_sha256: String = Sha256::digest(spki_der).iter().map(|b| format!("{b:02x}")).collect();
        self.registry.update(|devices| {
            let history = devices.entry(device_id.to_owned()).or_default();
            match history.last() {
                Some(current) if current.revoked.is_none() && current.key_sha256 == key_sha256 => Ok(((), false)),
                Some(current) if current.revoked.is_none() => Err(DeviceError::AlreadyEnrolled(device_id.to_owned())),
                _ => {
                    history.push(Enrollment { key_sha256, enrolled: now, revoked: None });
                    Ok(((), true))
                }
            }
        })
    }

    /// Revokes `device_id`'s current key at `now`, so a new key may be enrolled for it. Its
    /// certificates already issued stay in the certificate log and valid until they expire.
    pub fn revoke(&self, device_id: &str, now: u64) -> Result<Enrollment, DeviceError> {
        self.principal(device_id)?;
        self.registry.update(|devices| {
            let current = devices
                .get_mut(device_id)
                .and_then(|h| h.last_mut())
                .filter(|c| c.revoked.is_none())
                .ok_or_else(|| DeviceError::NotEnrolled(device_id.to_owned()))?;
            current.revoked = Some(now);
            Ok((current.clone(), true))
        })
    }

    /// The enrollments recorded for `device_id`, oldest first.
    pub fn enrollments(&self, device_id: &str) -> Result<Vec<Enrollment>, DeviceError> {
        Ok(self.registry.load()?.remove(device_id).unwrap_or_default())
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

/// `POST /api/v2/deviceCert/revoke`: the device ID whose key to revoke.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceRevokeRequest {
    /// The device's ID.
    pub device_id: String,
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
