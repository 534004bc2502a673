//! The CA as a service: a request in, a certificate chain out, every check in order.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use der::Encode;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::device::{DEVICE_LIFETIME, DeviceCertRequest, DeviceEnrollment, DeviceError};
use crate::issue::{CertificateAuthority, IssueError};
use crate::metrics::Metrics;
use crate::oidc::{HttpKeySource, KeySource, TokenError, TokenVerifier};
use crate::principal::Principal;
use crate::request::{self, KeyClaim, RequestError};
use sig_share_limits::{ClientAddr, Limit, Limiter, Rate, Refused};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why a signing-certificate request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaError {
    /// The request itself.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The identity token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Issuing.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// A device enrollment.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A rate limit.
    #[error(transparent)]
    Limited(#[from] Refused),
}

/// How many certificates the CA issues, per identity and per client address (issue 14 #7):
/// every certificate is permanent in the certificate log, so one token must not buy thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaLimits {
    /// Certificates per identity (the token's issuer and subject), counted only for requests
    /// that would otherwise be issued.
    pub per_identity: Limit,
    /// Certificate requests per client address, counted before any work.
    pub per_client: Limit,
}

impl Default for CaLimits {
    /// 600 an hour per identity (a burst of 600, then one every 6 s: a release signing hundreds
    /// of files one certificate each still fits), 1,800 an hour per client address (a NAT with
    /// many signers behind it).
    fn default() -> CaLimits {
        CaLimits { per_identity: Rate::per_hour(600).into(), per_client: Rate::per_hour(1_800).into() }
    }
}

/// The limiters of [`CaLimits`].
#[derive(Debug)]
struct Limiters {
    per_identity: Limiter<[u8; 32]>,
    per_client: Limiter<ClientAddr>,
}

impl Limiters {
    fn new(limits: CaLimits) -> Limiters {
        Limiters {
            per_identity: Limiter::new("ca_certificates_per_identity", limits.per_identity),
            per_client: Limiter::new("ca_requests_per_client", limits.per_client),
        }
    }
}

/// The key an identity is limited by: SHA-256 of issuer and subject (fixed size, so the
/// limiter's memory does not grow with long claims).
fn identity_key(principal: &Principal) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(principal.issuer.as_bytes());
    ctx.update(&[0]);
    ctx.update(principal.subject.as_bytes());
    ctx.finish().as_ref().try_into().expect("32 bytes")
}

/// The certificate authority service.
#[derive(Debug)]
pub struct CaService<K = HttpKeySource> {
    verifier: TokenVerifier<K>,
    ca: CertificateAuthority,
    metrics: Metrics,
    devices: Option<DeviceEnrollment>,
    limits: Limiters,
}

/// A key type the CA certifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKey {
    /// ECDSA P-256 (proofs with SHA-256).
    P256,
    /// ECDSA P-384 (proofs with SHA-384).
    P384,
    /// Ed25519.
    Ed25519,
}

impl ClientKey {
    /// The key type of a SubjectPublicKeyInfo, if the CA certifies it.
    pub fn of(spki: &SubjectPublicKeyInfoOwned) -> Result<ClientKey, RequestError> {
        let alg = &spki.algorithm;
        let curve = alg.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match (alg.oid, curve) {
            (EC_PUBLIC_KEY, Some(P256)) => Ok(ClientKey::P256),
            (EC_PUBLIC_KEY, Some(P384)) => Ok(ClientKey::P384),
            (ED25519, None) => Ok(ClientKey::Ed25519),
            (EC_PUBLIC_KEY, Some(c)) => Err(RequestError::UnsupportedKey(format!("EC curve {c}"))),
            (oid, _) => Err(RequestError::UnsupportedKey(
                const_oid::db::DB.by_oid(&oid).map_or_else(|| oid.to_string(), str::to_owned),
            )),
        }
    }
}

impl<K: KeySource> CaService<K> {
    /// A service verifying tokens with `verifier` and issuing with `ca`.
    pub fn new(verifier: TokenVerifier<K>, ca: CertificateAuthority) -> Arc<CaService<K>> {
        CaService::build(verifier, ca, None, CaLimits::default())
    }

    /// A service issuing within `limits`, enrolling devices if `devices` is given.
    pub fn build(
        verifier: TokenVerifier<K>,
        ca: CertificateAuthority,
        devices: Option<DeviceEnrollment>,
        limits: CaLimits,
    ) -> Arc<CaService<K>> {
        Arc::new(CaService { verifier, ca, metrics: Metrics::default(), devices, limits: Limiters::new(limits) })
    }

    /// Takes one request from `client`'s allowance: call before any work on its request.
    pub fn admit(&self, client: &ClientAddr) -> Result<(), CaError> {
        self.limits.per_client.check(client).map_err(|e| {
            let e = CaError::from(e);
            self.metrics.refuse(&e);
            e
        })
    }

    /// [`new`](Self::new), also enrolling devices on the operator's credential.
    pub fn with_devices(
        verifier: TokenVerifier<K>,
        ca: CertificateAuthority,
        devices: DeviceEnrollment,
    ) -> Arc<CaService<K>> {
        CaService::build(verifier, ca, Some(devices), CaLimits::default())
    }

    /// Handles a device enrollment at `now`: the operator's credential, the device ID, the key
    /// and its signature over the ID; then a device certificate, logged like every other.
    /// `client` is the requester's address (`None` if unknown), for the rate limit.
    pub async fn device_cert(
        &self,
        body: &[u8],
        bearer: Option<&str>,
        client: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<Vec<Certificate>, CaError> {
        let result = self.enroll(body, bearer, client, now).await;
        match &result {
            Ok(_) => {
                self.metrics.issued.inc();
            }
            Err(e) => self.metrics.refuse(e),
        }
        result
    }

    async fn enroll(
        &self,
        body: &[u8],
        bearer: Option<&str>,
        client: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<Vec<Certificate>, CaError> {
        let devices = self.authorised_devices(bearer, client)?;
        let (request, proof) = DeviceCertRequest::parse(body)?;
        let principal = devices.principal(&request.device_id)?;
        let spki = request::parse_public_key(&request.public_key.content)?;
        let kind = ClientKey::of(&spki)?;
        verify_proof(&spki, kind, principal.challenge.as_bytes(), &proof)
            .map_err(|_| RequestError::ProofOfPossession("the signature over the device ID does not verify".into()))?;
        // Recorded before the certificate is issued: a failure to record issues nothing, and
        // a second key for the ID is refused while the first is not revoked (issue 14 #10b).
        let spki_der = spki.to_der().map_err(|e| RequestError::BadKey(e.to_string()))?;
        devices.claim(&request.device_id, &spki_der, unix(now))?;
        let chain = self.ca.issue_for(&principal, &spki, now, DEVICE_LIFETIME).await?;
        tracing::info!(device = %request.device_id, "enrolled a device");
        Ok(chain)
    }

    /// Revokes a device ID's current key on the operator's credential (`POST
    /// /api/v2/deviceCert/revoke`), so a new key may be enrolled for it; rate-limited like
    /// enrollment.
    pub fn revoke_device(
        &self,
        body: &[u8],
        bearer: Option<&str>,
        client: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<(String, crate::device::Enrollment), CaError> {
        let devices = self.authorised_devices(bearer, client)?;
        let request: crate::device::DeviceRevokeRequest =
            serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
        let revoked = devices.revoke(&request.device_id, unix(now))?;
        tracing::info!(device = %request.device_id, "revoked a device's key");
        Ok((request.device_id, revoked))
    }

    /// The device enrollment, once `client` is within its rate and `bearer` is the operator's
    /// secret (a wrong one costs more of the client's rate).
    fn authorised_devices(&self, bearer: Option<&str>, client: Option<IpAddr>) -> Result<&DeviceEnrollment, CaError> {
        let devices = self.devices.as_ref().ok_or(DeviceError::Disabled)?;
        // A guess (a secret given, and wrong) costs more of the client's rate than a request.
        let guess = bearer.is_some() && !devices.authorises(bearer);
        devices.admit(client, guess)?;
        if guess {
            tracing::warn!(client = ?client, "a device request with a wrong operator secret");
        }
        if !devices.authorises(bearer) {
            return Err(DeviceError::Unauthorised.into());
        }
        Ok(devices)
    }

    /// The token verifier (its issuer configuration).
    pub fn verifier(&self) -> &TokenVerifier<K> {
        &self.verifier
    }

    /// The issuing CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Handles a request body (and bearer token) at `now`: parse, verify the token, derive the
    /// principal, check the key type and the proof of possession, issue.
    pub async fn signing_cert(
        &self,
        body: &[u8],
        bearer: Option<&str>,
        now: SystemTime,
    ) -> Result<Vec<Certificate>, CaError> {
        let started = std::time::Instant::now();
        let result = self.check_and_issue(body, bearer, now).await;
        match &result {
            Ok(_) => {
                self.metrics.issued.inc();
                self.metrics.issue_seconds.observe(started.elapsed().as_secs_f64());
            }
            Err(e) => self.metrics.refuse(e),
        }
        result
    }

    async fn check_and_issue(
        &self,
        body: &[u8],
        bearer: Option<&str>,
        now: SystemTime,
    ) -> Result<Vec<Certificate>, CaError> {
        let parsed = request::parse(body, bearer)?;
        let token = self.verifier.verify(&parsed.token, now).await?;
        let principal = Principal::from_token(&token)?;
        let spki = match parsed.key {
            KeyClaim::Signed { spki, signature } => {
                let kind = ClientKey::of(&spki)?;
                verify_proof(&spki, kind, principal.challenge.as_bytes(), &signature)?;
                spki
            }
            KeyClaim::Csr(csr) => {
                let spki = csr.info.public_key.clone();
                ClientKey::of(&spki)?;
                let signed = request::csr_signed_bytes(&csr)?;
                let spki_der = spki.to_der().map_err(|e| RequestError::BadCsr(e.to_string()))?;
                sig_share_pki::verify_signature(&spki_der, &signed, csr.signature.raw_bytes(), &csr.algorithm)
                    .map_err(|e| {
                        RequestError::ProofOfPossession(format!("the CSR's signature does not match its key: {e}"))
                    })?;
                spki
            }
        };
        // Last, so only a request that would be issued counts, and only once its token verified:
        // nobody spends another identity's allowance.
        self.limits.per_identity.check(&identity_key(&principal))?;
        Ok(self.ca.issue(&principal, &spki, now).await?)
    }
}

/// Checks a proof of possession: the client's signature over the challenge, with the hash that
/// goes with its key (SHA-256 for P-256, SHA-384 for P-384; Ed25519 signs the bytes).
fn verify_proof(
    spki: &SubjectPublicKeyInfoOwned,
    kind: ClientKey,
    challenge: &[u8],
    signature: &[u8],
) -> Result<(), RequestError> {
    let alg = match kind {
        ClientKey::P256 => const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        ClientKey::P384 => const_oid::db::rfc5912::ECDSA_WITH_SHA_384,
        ClientKey::Ed25519 => ED25519,
    };
    let alg = x509_cert::spki::AlgorithmIdentifierOwned { oid: alg, parameters: None };
    let spki_der = spki.to_der().map_err(|e| RequestError::BadKey(e.to_string()))?;
    sig_share_pki::verify_signature(&spki_der, challenge, signature, &alg).map_err(|_| {
        RequestError::ProofOfPossession("the signature over the token's challenge claim does not verify".into())
    })
}
/// Unix seconds of `t` (0 before 1970).
fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
