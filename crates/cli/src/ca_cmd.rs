//! `sig-share ca`: the CA's key in a PKCS#11 token.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use sig_share_pkcs11::{Pkcs11Signer, Pkcs11Uri};
use sig_share_pki::{KeyAlgorithm, Signer};

/// The environment variable a PKCS#11 PIN is read from when the URI carries none.
pub const PIN_ENV: &str = "SIG_SHARE_PKCS11_PIN";

#[derive(Subcommand, Debug)]
pub enum CaCommand {
    /// Generate the CA's signing key inside a PKCS#11 token (non-extractable), for
    /// `sig-share serve --ca-key URI`. Prints the key's public half.
    Keygen(KeygenArgs),
}

/// Where to generate.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// An RFC 7512 URI naming the token and the new key's label, e.g.
    /// `pkcs11:token=ca;object=sig-share-ca?module-path=/usr/lib/softhsm/libsofthsm2.so`.
    /// The PIN comes from the URI's pin-source (or pin-value) or $SIG_SHARE_PKCS11_PIN.
    pub uri: String,
    /// A P-384 key instead of P-256.
    #[arg(long)]
    pub p384: bool,
}

pub fn run(cmd: CaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CaCommand::Keygen(args) => {
            let uri: Pkcs11Uri = args.uri.parse().context("the key URI")?;
            let alg = if args.p384 { KeyAlgorithm::EcdsaP384Sha384 } else { KeyAlgorithm::EcdsaP256Sha256 };
            let pin = env_pin(&uri);
            let key = Pkcs11Signer::generate_uri(&uri, pin.as_deref(), alg).context("generating the key")?;
            println!("{}", der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.public_key_der())?);
            eprintln!("generated {alg:?} key {:?} in token {:?}", key.key_label(), key.token_label());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The PIN from the environment, unless the URI carries one.
fn env_pin(uri: &Pkcs11Uri) -> Option<String> {
    if uri.has_pin() { None } else { std::env::var(PIN_ENV).ok() }
}

/// Opens a signing key named by a PKCS#11 URI; `what` names it in errors ("the CA key").
pub fn open_token_key(uri: &str, what: &str) -> anyhow::Result<Arc<dyn Signer>> {
    let parsed: Pkcs11Uri = uri.parse().with_context(|| format!("the PKCS#11 URI of {what}"))?;
    let pin = env_pin(&parsed);
    let key = Pkcs11Signer::open_uri(&parsed, pin.as_deref())
        .with_context(|| format!("opening {what} {parsed} (set {PIN_ENV} or add pin-source to the URI)"))?;
    Ok(Arc::new(key))
}
