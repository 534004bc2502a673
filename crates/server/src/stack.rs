//! The whole stack in one process, from one data directory:
//!
//! ```text
//! DATA/
//!   tlog/                 the transparency log (see sig_share_log::embedded)
//!   ctlog/                the certificate log (see sig_share_ct::embedded)
//!   ca/ca.key, ca.pem     the CA's key (PKCS#8, 0600) and its self-signed root
//!   tsa/tsa.key, tsa.pem  the TSA's key and chain (leaf, root; the root key is not kept)
//!   trust-config.json     the ClientTrustConfig this server publishes
//!   trust-config.witness-policy  with --witness-policy: the C2SP tlog-policy verifiers require
//! ```
//!
//! Routes, all at the public URL's root because sigstore-python joins `/api/v2/signingCert` onto
//! the CA URL's host and drops any path: the transparency log (`/api/v2/log/entries`, tiles,
//! checkpoint), the CA (`/api/v2/signingCert`, `trustBundle`, `configuration`), the TSA
//! (`/api/v1/timestamp`), the certificate log under `/ctlog`, and the ClientTrustConfig at
//! [`TRUST_CONFIG_PATH`].
//!
//! What a log explorer reads (each answer carries its inclusion proofs and signed checkpoint):
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v2/checkpoint`, `GET /ctlog/checkpoint` | the logs' signed checkpoints |
//! | `GET /api/v1/log/entries/<index>` | a transparency log entry by index |
//! | `GET /api/v1/index/sha256:<hex>` | the transparency log entries for an artifact digest |
//! | `GET /ctlog/api/v1/certificates?identity=<SAN>[&issuer=<URL>]` | the certificates issued to an identity (people and devices alike), from the certificate log |

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use der::Encode;
use sha2::Digest;
use sig_share_ca::{CaService, CertificateAuthority, Config, HttpKeySource, TokenVerifier};
use sig_share_ct::CertificateLog;
use sig_share_log::embedded::{DataDir, write_private};
use sig_share_log::{Log, LogConfig, NewEntry};
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use sig_share_tsa::TimestampAuthority;
use x509_cert::Certificate;

use sig_share_verify::trust::ClientTrustConfig;

use crate::trust_config::TRUST_CONFIG_PATH;

/// How the stack runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The data directory.
    pub data: PathBuf,
    /// The URL clients reach this server at, without a trailing slash.
    pub public_url: String,
    /// The transparency and certificate logs' batch period.
    pub period: Duration,
    /// Trusted identity issuers.
    pub issuers: Config,
    /// Where signers get tokens (the signing config's `oidcUrls`), if anywhere.
    pub oidc_url: Option<String>,
    /// The CA's key when it is not a file in the data directory (a PKCS#11 token): its root
    /// certificate is then created for it in `ca/ca.pem`, and no `ca/ca.key` is written.
    pub ca_key: Option<Arc<dyn Signer>>,
    /// The witnesses whose quorum must cosign the transparency log's checkpoints before they
    /// are published (the certificate log is not witnessed: bundles rely on its SCTs).
    pub witnesses: Option<Arc<sig_share_log::witnessing::Witnesses>>,
}

/// A running stack's parts.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The transparency log.
    pub tlog: Log,
    /// The certificate log.
    pub ct: CertificateLog,
    /// The CA.
    pub ca: CertificateAuthority,
    /// The TSA.
    pub tsa: Arc<TimestampAuthority>,
    /// What this server publishes for clients to pin.
    pub trust_config: ClientTrustConfig,
    /// Where its files are.
    pub data: PathBuf,
}

/// The bare host of a URL: the checkpoint origin convention (sigstore-go requires the origin to
/// be the log URL's host without the port).
pub fn host_of(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map(|(_, r)| r).ok_or_else(|| format!("{url:?} is not a URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    Ok(host.to_owned())
}

/// The rate limits and quotas of every service in the stack (issue 14 #7; the limiter is
/// `sig_share_limits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The transparency log's write routes and statement store. Its statement quota's CA keys
    /// are set to this stack's CA.
    pub log: sig_share_log::http::LogLimits,
    /// The CA, per identity and per client address.
    pub ca: sig_share_ca::CaLimits,
    /// Timestamps per client address.
    pub timestamps: sig_share_limits::Limit,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { log: Default::default(), ca: Default::default(), timestamps: sig_share_tsa::http::default_limit() }
    }
}

/// Why the stack could not open: which part, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StackError(String);

impl Stack {
    /// Opens (creating on first use) every part in `options.data`.
    pub fn open(options: &Options) -> Result<Stack, StackError> {
        Stack::open_parts(options).map_err(StackError)
    }

    fn open_parts(options: &Options) -> Result<Stack, String> {
        let url = options.public_url.trim_end_matches('/').to_owned();
        let host = host_of(&url)?;
        fs::create_dir_all(&options.data).map_err(|e| format!("creating {}: {e}", options.data.display()))?;

        let (ca_key, ca_root) = load_or_create_ca(&options.data.join("ca"), options.ca_key.clone())?;
        let started = ca_root.tbs_certificate().validity().not_before.to_system_time();

        let mut tlog_config = LogConfig::new(host.clone());
        tlog_config.period = options.period;
        tlog_config.witnesses = options.witnesses.clone();
        let tlog_dir = DataDir::new(options.data.join("tlog"));
        let tlog_signer = tlog_dir.signer(&host)?;
        let stores = tlog_dir.open_stores().map_err(|e| format!("opening the transparency log: {e}"))?;
        let tlog =
            Log::open(tlog_config, tlog_signer, stores).map_err(|e| format!("opening the transparency log: {e}"))?;

        let mut ct_config = LogConfig::new(format!("{host}/ctlog"));
        ct_config.period = options.period;
        let root_der = ca_root.to_der().map_err(|e| e.to_string())?;
        let ct = sig_share_ct::embedded::open(&options.data.join("ctlog"), ct_config, vec![root_der])?;

        let ca = CertificateAuthority::new(ca_key, vec![ca_root], ct.clone()).map_err(|e| e.to_string())?;
        let tsa = Arc::new(load_or_create_tsa(&options.data.join("tsa"))?);

        let trust_config =
            crate::trust_config::build(&url, &host, started, &tlog, &ct, &ca, &tsa, options.oidc_url.as_deref())?;
        let text = serde_json::to_string_pretty(&trust_config).map_err(|e| e.to_string())? + "\n";
        let path = options.data.join("trust-config.json");
        fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        // The witness policy beside it, where `trust pin` puts it: a verifier given this trust
        // config requires the same quorum the log does. Without witnesses, none is left there.
        let policy_path = options.data.join("trust-config.witness-policy");
        match tlog.config().witnesses.as_ref() {
            Some(w) => fs::write(&policy_path, w.verifier_policy(&tlog.vkey()))
                .map_err(|e| format!("writing {}: {e}", policy_path.display()))?,
            None => match fs::remove_file(&policy_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("removing {}: {e}", policy_path.display()));
                }
                _ => {}
            },
        }
        Ok(Stack { tlog, ct, ca, tsa, trust_config, data: options.data.clone() })
    }

    /// Starts the logs' sequencers; abort the handles to stop them.
    ///
    /// A signing passes through both logs in turn: its certificate waits for the certificate
    /// log's batch, then its entry for the transparency log's. In phase, the entry would arrive
    /// just after the transparency log's beat and wait a whole period more; a fifth of a period
    /// behind, it is integrated in the batch right after its certificate's (sign p50 2.0 s ->
    /// well under 1.5 s at the default 1 s period; see BENCHMARKS.md).
    pub fn run_sequencers(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let behind = self.tlog.config().period / 5;
        vec![
            tokio::spawn(self.ct.log().clone().run_sequencer()),
            tokio::spawn(self.tlog.clone().run_sequencer_in_phase(behind)),
        ]
    }

    /// Gives a new transparency log its first entry: the CA's root certificate, signed by the CA
    /// key, as a hashedrekord. It anchors the deployment's CA in its log for monitors, and it
    /// keeps client entries off index 0: sigstore-js writes bundles as protobuf JSON, which
    /// leaves out a zero `logIndex` and an empty proof, and sigstore-python 4.5.1 refuses such
    /// bundles. Does nothing once the log has entries; needs the sequencers running.
    pub async fn log_genesis(&self) -> Result<(), StackError> {
        if self.tlog.latest().size > 0 {
            return Ok(());
        }
        let fail = |e: &dyn std::fmt::Display| StackError(format!("logging the CA root as the first entry: {e}"));
        let root = self.ca.chain().last().ok_or_else(|| fail(&"no CA root"))?.to_der().map_err(|e| fail(&e))?;
        let signer = self.ca.signer();
        let signature = signer.sign(&root).map_err(|e| fail(&e))?;
        let (digest, key_details) = match signer.algorithm() {
            KeyAlgorithm::EcdsaP256Sha256 => (sha2::Sha256::digest(&root).to_vec(), "PKIX_ECDSA_P256_SHA_256"),
            KeyAlgorithm::EcdsaP384Sha384 => (sha2::Sha384::digest(&root).to_vec(), "PKIX_ECDSA_P384_SHA_384"),
        };
        let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
        let request = serde_json::json!({"hashedRekordRequestV002": {
            "digest": b64(&digest),
            "signature": {"content": b64(&signature), "verifier": {
                "publicKey": {"rawBytes": b64(signer.public_key_der())}, "keyDetails": key_details}},
        }});
        let entry = sig_share_log::rekor::verify_request(request.to_string().as_bytes()).map_err(|e| fail(&e))?;
        let logged = self.tlog.submit(NewEntry::new(entry.body, entry.key)).await.map_err(|e| fail(&e))?;
        tracing::info!(index = logged.index, "logged the CA root certificate as the log's first entry");
        Ok(())
    }

    /// Every route of the stack, with `issuers` trusted for tokens, and devices enrolled on
    /// `devices`' operator credential if given.
    pub fn router(&self, issuers: Config, devices: Option<sig_share_ca::DeviceEnrollment>) -> Router {
        self.router_with_limits(issuers, devices, Limits::default())
    }

    /// [`Stack::router`] within `limits`.
    pub fn router_with_limits(
        &self,
        issuers: Config,
        devices: Option<sig_share_ca::DeviceEnrollment>,
        mut limits: Limits,
    ) -> Router {
        let verifier = TokenVerifier::new(issuers, HttpKeySource::default());
        // Each device ID's enrolled keys, kept beside the CA's key (issue 14 #10b).
        let record = self.data.join("ca").join(sig_share_ca::device::DEVICES_FILE);
        let devices = devices.map(|d| d.recorded_in(record));
        let service = CaService::build(verifier, self.ca.clone(), devices, limits.ca);
        let trust = Arc::new(serde_json::to_string_pretty(&self.trust_config).expect("serialisable") + "\n");
        // Statements signed with this CA's certificates are the certified ones.
        limits.log.statements.ca_keys = self
            .ca
            .chain()
            .iter()
            .filter_map(|c| c.tbs_certificate().subject_public_key_info().to_der().ok())
            .collect();
        sig_share_log::http::routes_with(self.tlog.clone(), limits.log)
            .merge(sig_share_ca::http::router(service))
            .merge(sig_share_tsa::http::router_with_limit(self.tsa.clone(), limits.timestamps))
            .nest("/ctlog", sig_share_ct::http::routes(self.ct.clone()))
            .route(
                TRUST_CONFIG_PATH,
                get(move || {
                    let trust = trust.clone();
                    // Public, and read by the badge on pages of other origins.
                    async move {
                        let headers =
                            [(header::CONTENT_TYPE, "application/json"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
                        (headers, trust.as_str().to_owned()).into_response()
                    }
                }),
            )
            .fallback(sig_share_log::http::not_found)
    }

    /// The published ClientTrustConfig's path in the data directory.
    pub fn trust_config_path(&self) -> PathBuf {
        self.data.join("trust-config.json")
    }
}

/// The CA's key and root: the key from `external` or `ca.key` (created on first use, P-256), and
/// a ten-year self-signed root for it in `ca.pem`, created on first use.
fn load_or_create_ca(dir: &Path, external: Option<Arc<dyn Signer>>) -> Result<(Arc<dyn Signer>, Certificate), String> {
    let (key_path, cert_path) = (dir.join("ca.key"), dir.join("ca.pem"));
    let key: Arc<dyn Signer> = match external {
        Some(key) => key,
        None if key_path.exists() => Arc::new(read_key(&key_path)?),
        None if cert_path.exists() => {
            return Err(format!(
                "{} has a CA certificate but no ca.key: its key lives elsewhere (a PKCS#11 token?); pass --ca-key",
                dir.display()
            ));
        }
        None => {
            let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).map_err(|e| e.to_string())?;
            fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            write_private(&key_path, key.to_pkcs8_pem().as_bytes())
                .map_err(|e| format!("writing {}: {e}", key_path.display()))?;
            tracing::info!(key = %key_path.display(), "created a new CA key");
            Arc::new(key)
        }
    };
    if cert_path.exists() {
        let pem = fs::read_to_string(&cert_path).map_err(|e| format!("reading {}: {e}", cert_path.display()))?;
        let mut chain = sig_share_pki::chain_from_pem(&pem).map_err(|e| format!("{}: {e}", cert_path.display()))?;
        let root = chain.remove(0);
        sig_share_pki::ensure_key_matches(&root, key.as_ref()).map_err(|_| {
            format!(
                "{} certifies another key than the CA key given; a data directory belongs to one CA",
                cert_path.display()
            )
        })?;
        return Ok((key, root));
    }
    let now = SystemTime::now();
    let name = "CN=sig-share CA,O=sig-share".parse().map_err(|e| format!("{e}"))?;
    let (from, to) = (now - Duration::from_secs(60), now + Duration::from_secs(10 * 365 * 86400));
    let root = sig_share_pki::self_signed_ca(key.as_ref(), name, from, to).map_err(|e| e.to_string())?;
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    fs::write(&cert_path, sig_share_pki::certificate_to_pem(&root))
        .map_err(|e| format!("writing {}: {e}", cert_path.display()))?;
    tracing::info!(certificate = %cert_path.display(), "created the CA's root certificate");
    Ok((key, root))
}

/// The TSA's key and chain: created on first use under a root whose key is discarded.
fn load_or_create_tsa(dir: &Path) -> Result<TimestampAuthority, String> {
    let (key_path, chain_path) = (dir.join("tsa.key"), dir.join("tsa.pem"));
    if key_path.exists() {
        let key = read_key(&key_path)?;
        let pem = fs::read_to_string(&chain_path).map_err(|e| format!("reading {}: {e}", chain_path.display()))?;
        let chain = sig_share_pki::chain_from_pem(&pem).map_err(|e| format!("{}: {e}", chain_path.display()))?;
        return TimestampAuthority::new(Arc::new(key), chain, sig_share_tsa::DEVELOPMENT_POLICY)
            .map_err(|e| e.to_string());
    }
    let now = SystemTime::now();
    let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).map_err(|e| e.to_string())?;
    let (from, to) = (now - Duration::from_secs(60), now + Duration::from_secs(10 * 365 * 86400));
    let root_name = "CN=sig-share TSA root,O=sig-share".parse().map_err(|e| format!("{e}"))?;
    let root = sig_share_pki::self_signed_ca(&root_key, root_name, from, to).map_err(|e| e.to_string())?;
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).map_err(|e| e.to_string())?;
    let pem = key.to_pkcs8_pem();
    let subject = "CN=sig-share TSA,O=sig-share".parse().map_err(|e| format!("{e}"))?;
    let tsa = TimestampAuthority::development(
        &root_key,
        root,
        Arc::new(key),
        subject,
        from,
        to,
        sig_share_tsa::DEVELOPMENT_POLICY,
    )
    .map_err(|e| e.to_string())?;
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    write_private(&key_path, pem.as_bytes()).map_err(|e| format!("writing {}: {e}", key_path.display()))?;
    fs::write(&chain_path, tsa.chain_pem()).map_err(|e| format!("writing {}: {e}", chain_path.display()))?;
    tracing::info!(key = %key_path.display(), "created a new TSA key and certificate chain");
    Ok(tsa)
}

fn read_key(path: &Path) -> Result<SoftwareKey, String> {
    let pem = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    SoftwareKey::from_pkcs8_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
}
