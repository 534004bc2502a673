//! `sig-share device`: a device (a camera, a phone, a recorder) and its long-lived key.
//! `enroll` makes the key and has the CA certify it on the operator's secret; `sig-share sign
//! --as-device DIR` then signs with it instead of a person's login.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use sig_share_sign::SigningClient;

/// The device's key in its directory (PKCS#8 PEM, owner-only).
const KEY_FILE: &str = "device.key";
/// Or, for a key in a PKCS#11 token, the key's URI (the key never leaves the token).
const PKCS11_FILE: &str = "device.pkcs11";
/// The device's certificate chain in its directory (PEM, leaf first).
const CHAIN_FILE: &str = "device.pem";

/// `sig-share device …`.
#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Make a device key and have the CA certify it (for a year) on the operator's secret.
    ///
    /// The CA binds the ID to this key: enrolling the ID again with another key is refused
    /// until `sig-share device revoke` frees it.
    Enroll(EnrollArgs),
    /// Revoke a device ID's enrolled key at the CA (a lost or replaced device), on the
    /// operator's secret, so a new key may be enrolled for the ID. Certificates already issued
    /// stay in the certificate log and valid until they expire.
    Revoke(RevokeArgs),
}

/// `sig-share device revoke`.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The device's ID.
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// A file holding the operator's enrollment secret.
    #[arg(long, value_name = "PATH")]
    pub operator_secret_file: PathBuf,
    /// The trust config naming the CA [default: the pinned one].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
}

/// `sig-share device enroll`.
#[derive(Args, Debug)]
pub struct EnrollArgs {
    /// The device's ID (its serial number, say): letters, digits, `.`, `_`, `-`.
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// A file holding the operator's enrollment secret (`serve --dev` writes one to
    /// DATA/device-operator.secret).
    #[arg(long, value_name = "PATH")]
    pub operator_secret_file: PathBuf,
    /// Where to keep the device's key and certificate [default: ./device-ID].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The trust config naming the CA [default: the pinned one].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// Use a P-256 key in a PKCS#11 token (a secure element's stand-in) instead of a key file,
    /// as an RFC 7512 URI (`pkcs11:token=T;object=K?module-path=…`); make it with
    /// `sig-share ca keygen URI`. The PIN comes from the URI's pin-source or $SIG_SHARE_PKCS11_PIN.
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
}

/// Runs `sig-share device …`.
pub fn run(command: DeviceCommand) -> anyhow::Result<ExitCode> {
    match command {
        DeviceCommand::Enroll(args) => enroll(&args),
        DeviceCommand::Revoke(args) => revoke(&args),
    }
}

fn revoke(args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let secret = operator_secret(&args.operator_secret_file)?;
    let (config, services) = crate::sign_cmd::load_trust(args.trust_config.as_deref())?;
    let client = SigningClient::new(services)?.trusting(config.trusted_root);
    let rt = tokio::runtime::Runtime::new()?;
    let record = rt.block_on(client.revoke_device(&secret, &args.id)).context("revoking the device")?;
    println!(
        "Revoked the key of {} (SHA-256 of its public key {})",
        args.id,
        record["revoked"]["keySha256"].as_str().unwrap_or("?")
    );
    println!("  a new key may now be enrolled with `sig-share device enroll --id {}`", args.id);
    Ok(ExitCode::SUCCESS)
}

/// The operator's secret from its file: one line of printable ASCII.
fn operator_secret(path: &Path) -> anyhow::Result<String> {
    let secret =
        std::fs::read_to_string(path).with_context(|| format!("reading the operator secret {}", path.display()))?;
    let secret = secret.trim();
    anyhow::ensure!(
        !secret.is_empty() && secret.chars().all(|c| c.is_ascii_graphic()),
        "the operator secret in {} must be one line of printable ASCII",
        path.display()
    );
    Ok(secret.to_owned())
}

fn enroll(args: &EnrollArgs) -> anyhow::Result<ExitCode> {
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("device-{}", args.id)));
    anyhow::ensure!(
        !dir.join(KEY_FILE).exists() && !dir.join(PKCS11_FILE).exists(),
        "{} already holds a device key: enroll into another --out",
        dir.display()
    );
    let secret = operator_secret(&args.operator_secret_file)?;
    let secret = secret.as_str();
    let (config, services) = crate::sign_cmd::load_trust(args.trust_config.as_deref())?;
    let (key, software): (Arc<dyn Signer>, Option<String>) = match &args.pkcs11 {
        Some(uri) => (crate::ca_cmd::open_token_key(uri, "the device key")?, None),
        None => {
            let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;
            let pem = key.to_pkcs8_pem();
            (Arc::new(key), Some(pem))
        }
    };
    anyhow::ensure!(key.algorithm() == KeyAlgorithm::EcdsaP256Sha256, "the device key must be ECDSA P-256");
    let client = SigningClient::new(services)?.trusting(config.trusted_root);
    let rt = tokio::runtime::Runtime::new()?;
    let chain = rt.block_on(client.enroll_device(secret, &args.id, key.as_ref())).context("enrolling the device")?;
    let key_place = match (&software, &args.pkcs11) {
        (Some(pem), _) => {
            crate::files::write_private(&dir.join(KEY_FILE), pem.as_bytes())?;
            format!("{} (keep it on the device)", dir.join(KEY_FILE).display())
        }
        (None, Some(uri)) => {
            crate::files::write_atomically(&dir.join(PKCS11_FILE), uri.as_bytes())?;
            format!("in the PKCS#11 token ({})", dir.join(PKCS11_FILE).display())
        }
        (None, None) => unreachable!("a key is either made here or named by --pkcs11"),
    };
    let pem: String = chain.iter().map(|der| crate::media_cmd::der_to_pem(der)).collect();
    crate::files::write_atomically(&dir.join(CHAIN_FILE), pem.as_bytes())?;
    let session = client.session_with(key, chain)?;
    let identity = session.identity();
    println!("Enrolled {} as {}", args.id, identity.subject);
    println!("  issuer      {}", identity.issuer.as_deref().unwrap_or("(none)"));
    println!("  key         {key_place}");
    println!("  certificate {}", dir.join(CHAIN_FILE).display());
    Ok(ExitCode::SUCCESS)
}

/// An enrolled device: its key (a key file's, or one in a PKCS#11 token) and its certificate
/// chain, leaf first, DER.
pub struct Device {
    pub key: Arc<dyn Signer>,
    pub chain: Vec<Vec<u8>>,
}

/// The device enrolled into `dir`.
pub fn load(dir: &Path) -> anyhow::Result<Device> {
    let key_path = dir.join(KEY_FILE);
    let uri_path = dir.join(PKCS11_FILE);
    let key: Arc<dyn Signer> = if uri_path.is_file() {
        let uri = std::fs::read_to_string(&uri_path).with_context(|| format!("reading {}", uri_path.display()))?;
        crate::ca_cmd::open_token_key(uri.trim(), "the device key")?
    } else {
        let key = std::fs::read_to_string(&key_path)
            .with_context(|| format!("reading {} (enroll with `sig-share device enroll`)", key_path.display()))?;
        Arc::new(SoftwareKey::from_pkcs8_pem(&key).with_context(|| format!("the key in {}", key_path.display()))?)
    };
    let chain_path = dir.join(CHAIN_FILE);
    let pem = std::fs::read_to_string(&chain_path).with_context(|| format!("reading {}", chain_path.display()))?;
    let chain = sig_share_pki::chain_from_pem(&pem)
        .with_context(|| format!("the certificates in {}", chain_path.display()))?
        .iter()
        .map(der::Encode::to_der)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Device { key, chain })
}
