//! The embedded default: a certificate log in a data directory, laid out like the transparency
//! log's (see `sig_share_log::embedded`) plus its RFC 6962 key:
//!
//! ```text
//! DATA/
//!   log/            checkpoint, tile/<L>/…, tile/data/…, issuer/…: static-ct-api, servable as files
//!   log.pub         the Ed25519 checkpoint key (note verifier key)
//!   ct.pub          the RFC 6962 log key (PEM SubjectPublicKeyInfo): what SCTs verify with
//!   state/ct.key    its private key (PKCS#8 PEM, mode 0600)
//!   state/…         tree head, index, staging, the Ed25519 key
//! ```

use std::fs;
use std::path::Path;
use std::sync::Arc;

use sig_share_log::embedded::{DataDir, write_private};
use sig_share_log::{EntryFormat, Log, LogConfig};
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};

use crate::ctlog::{CertificateLog, TreeHeadSigner};

/// Opens (creating if needed) the certificate log in `dir`. `config.origin` names it;
/// `config.format` and its extra signers are set here.
pub fn open(dir: &Path, mut config: LogConfig, roots: Vec<Vec<u8>>) -> Result<CertificateLog, String> {
    let data = DataDir::new(dir);
    let key: Arc<dyn Signer> = Arc::new(load_or_create_key(dir)?);
    config.format = EntryFormat::StaticCt;
    config.extra_signers = vec![Arc::new(TreeHeadSigner::new(&config.origin, key.clone()))];
    let signer = data.signer(&config.origin)?;
    let stores = data.open_stores().map_err(|e| format!("opening {}: {e}", dir.display()))?;
    let log = Log::open(config, signer, stores).map_err(|e| format!("opening the certificate log: {e}"))?;
    CertificateLog::new(log, key, roots).map_err(|e| e.to_string())
}

/// The log's RFC 6962 key: `state/ct.key`, created (P-256) on first use, with `ct.pub` beside.
fn load_or_create_key(dir: &Path) -> Result<SoftwareKey, String> {
    let path = dir.join("state").join("ct.key");
    if path.exists() {
        let pem = fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        return SoftwareKey::from_pkcs8_pem(&pem).map_err(|e| format!("{}: {e}", path.display()));
    }
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).map_err(|e| e.to_string())?;
    fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    write_private(&path, key.to_pkcs8_pem().as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))?;
    let public = dir.join("ct.pub");
    fs::write(&public, public_key_pem(key.public_key_der()))
        .map_err(|e| format!("writing {}: {e}", public.display()))?;
    tracing::info!(key = %path.display(), "created a new certificate log key");
    Ok(key)
}

/// A DER SubjectPublicKeyInfo as PEM.
pub fn public_key_pem(spki_der: &[u8]) -> String {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, spki_der).expect("PEM of a key")
}
