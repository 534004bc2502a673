//! `sig-share sign` (a person or a CI signing a file) and `sig-share sign-bundle` (the
//! sigstore-conformance CLI protocol's signing verb).

use std::ffi::OsString;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use sig_share_sign::token::{self, BrowserLogin, IdentityToken, LoginPrompt, Oidc, TokenSource};
use sig_share_sign::{Services, Signed, SigningClient};
use sig_share_verify::trust::{ClientTrustConfig, SigningConfig, TrustedRoot};

/// `sig-share sign`.
#[derive(Args, Debug)]
#[command(after_long_help = SIGN_AFTER_HELP)]
pub struct SignArgs {
    /// The file to sign (any size: it is hashed once, streaming, and signed by its SHA-256).
    pub file: PathBuf,
    /// Where to write the sigstore bundle [default: FILE.sigstore.json].
    #[arg(long, value_name = "OUT")]
    pub bundle: Option<PathBuf>,
    /// The trust config naming the CA, TSA, log and identity provider [default: the pinned one,
    /// $SIG_SHARE_TRUST_CONFIG, else $XDG_CONFIG_HOME/sig-share/trust-config.json, else
    /// ~/.config/sig-share/trust-config.json; pin one with `sig-share trust pin URL`].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// An OIDC identity token (audience `sigstore`) to sign with instead of logging in. Visible
    /// to other local users in the process list: prefer $SIGSTORE_ID_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub identity_token: Option<String>,
    /// The OpenID Connect issuer to log in at [default: the trust config's identity provider].
    #[arg(long, value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// Log in with the device flow (a code to enter on any device) instead of a browser on this
    /// machine.
    #[arg(long)]
    pub device: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub media: crate::media_cmd::MediaArgs,
}

const SIGN_AFTER_HELP: &str = "\
The identity token comes from, in order: --identity-token, $SIGSTORE_ID_TOKEN, the CI's ambient
token (GitHub Actions with `permissions: id-token: write`), else a login at the identity provider:
in a browser on this machine (the URL is printed too), or with --device (or without a display)
through the device flow.

The bundle (sigstore bundle v0.3) holds the ten-minute certificate, the signature over the file's
SHA-256, an RFC 3161 time stamp and the transparency log entry with its inclusion proof; it is
written atomically. Verify it with `sig-share verify`, or sigstore-python / sigstore-js given the
same trust config.

Photos, video and sound (jpg, png, webp, gif, tif, heic, heif, avif, mp4, mov, m4a, wav, mp3) get
a C2PA manifest instead: a signed copy NAME.signed.EXT (or --output) carrying c2pa.created with the
--source-type, the claim signed with the ten-minute certificate and time-stamped, a CAWG identity
assertion naming you, and the log entry of a provenance statement about the file (its content
digest is logged too, for `sig-share lookup`). --sidecar leaves the file untouched and writes
FILE.c2pa and FILE.sigstore.json; --blob signs it as a plain file.

Exit status: 0 when the bundle (or signed copy) is written, 2 otherwise.";

/// `sig-share sign-bundle`, argument for argument the sigstore-conformance CLI protocol.
#[derive(Args, Debug)]
#[command(after_long_help = SIGN_BUNDLE_AFTER_HELP)]
pub struct SignBundleArgs {
    /// Sign with sigstore's public-good staging instance: refused, sig-share signs with the
    /// services of the signing config it is given.
    #[arg(long)]
    pub staging: bool,
    /// FILE is an in-toto statement, signed as a DSSE envelope (payload type
    /// application/vnd.in-toto+json) and logged as Rekor v2 logs DSSE: a hashedrekord over
    /// SHA-256 of the envelope's PAE.
    #[arg(long)]
    pub in_toto: bool,
    /// The OIDC identity token to sign with.
    #[arg(long, value_name = "TOKEN", required = true)]
    pub identity_token: String,
    /// Where to write the bundle.
    #[arg(long, value_name = "OUT", required = true)]
    pub bundle: PathBuf,
    /// A trusted_root.json: the log's answer is checked against it before the bundle is written
    /// [default: the pinned trust config's, when --signing-config is not given].
    #[arg(long, value_name = "TR")]
    pub trusted_root: Option<PathBuf>,
    /// A signing_config.json (v0.2) naming the services [default: the pinned trust config's].
    #[arg(long, value_name = "SC")]
    pub signing_config: Option<PathBuf>,
    /// The file to sign.
    pub file: PathBuf,
}

const SIGN_BUNDLE_AFTER_HELP: &str = "\
The conformance protocol's form is:
  sig-share sign-bundle [--staging] [--in-toto] --identity-token T --bundle OUT \\
      [--trusted-root TR] [--signing-config SC] FILE
Exit status: 0 when the bundle is written, 2 otherwise.";

/// What `sign --json` prints.
#[derive(Serialize)]
struct Summary<'a> {
    file: String,
    sha256: String,
    bundle: String,
    identity: &'a str,
    issuer: Option<&'a str>,
    log_index: u64,
    log_url: &'a str,
    token_source: &'static str,
}

/// The pinned (or given) trust config and the services it names.
pub(crate) fn load_services(args: &SignArgs) -> anyhow::Result<(ClientTrustConfig, Services)> {
    load_trust(args.trust_config.as_deref())
}

/// The trust config at `path` (default: the pinned one) and the services it names now.
pub(crate) fn load_trust(path: Option<&std::path::Path>) -> anyhow::Result<(ClientTrustConfig, Services)> {
    let trust_path = path.map(std::path::Path::to_path_buf).map_or_else(crate::trust_cmd::default_path, Ok)?;
    let config = read_trust_config(&trust_path)?;
    let services = Services::from_signing_config(&config.signing_config, sig_share_sign::unix_now())
        .with_context(|| format!("in {}", trust_path.display()))?;
    Ok((config, services))
}

pub fn run_sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    if crate::media_cmd::is_media(&args.file) && !args.media.blob {
        if args.bundle.is_some() {
            anyhow::bail!(
                "--bundle is for plain files; media gets a C2PA manifest (use --sidecar for FILE.c2pa + FILE.sigstore.json, or --blob to sign it as a plain file)"
            );
        }
        return crate::media_cmd::sign(&args, &args.media, None);
    }
    let (config, services) = load_services(&args)?;
    let bundle_path = args.bundle.clone().unwrap_or_else(|| default_bundle_path(&args.file));
    check_paths(&args.file, &bundle_path)?;

    // The file first: a missing file should fail before anyone is asked to log in.
    let digest = crate::artifact::sha256_file(&args.file)?;

    let rt = tokio::runtime::Runtime::new()?;
    let http = sig_share_sign::http_client()?;
    let (token, source) = rt.block_on(identity_token(&args, &services, &http))?;
    tracing::debug!(source = %source, identity = ?token.identity(), "identity token");
    let client = SigningClient::with_http(services, http).trusting(config.trusted_root);
    let signed = rt
        .block_on(client.sign_sha256(&token, &digest))
        .with_context(|| format!("signing {} (identity token from {})", args.file.display(), describe(source)))?;
    crate::files::write_atomically(&bundle_path, signed.bundle_json().as_bytes())?;

    let identity = &signed.identity;
    if args.json {
        let summary = Summary {
            file: args.file.display().to_string(),
            sha256: hex::encode(digest),
            bundle: bundle_path.display().to_string(),
            identity: &identity.subject,
            issuer: identity.issuer.as_deref(),
            log_index: signed.log_index,
            log_url: &signed.log_url,
            token_source: describe(source),
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_signed(&args.file, &bundle_path, &signed);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_sign_bundle(args: SignBundleArgs) -> anyhow::Result<ExitCode> {
    if args.staging {
        anyhow::bail!(
            "--staging signs with sigstore's public-good staging services, which sig-share does not use; \
             pass --signing-config (and --trusted-root) for the deployment to sign with"
        );
    }
    let (signing_config, trusted_root) = match &args.signing_config {
        Some(path) => {
            let text = read_text(path)?;
            let config = SigningConfig::from_json(&text).with_context(|| format!("in {}", path.display()))?;
            let root = args.trusted_root.as_deref().map(read_trusted_root).transpose()?;
            (config, root)
        }
        None => {
            let path = crate::trust_cmd::default_path()?;
            let pinned = read_trust_config(&path)?;
            let root = match &args.trusted_root {
                Some(p) => read_trusted_root(p)?,
                None => pinned.trusted_root,
            };
            (pinned.signing_config, Some(root))
        }
    };
    let services = Services::from_signing_config(&signing_config, sig_share_sign::unix_now())?;
    check_paths(&args.file, &args.bundle)?;
    let token = IdentityToken::new(args.identity_token.clone());
    let mut client = SigningClient::new(services)?;
    if let Some(root) = trusted_root {
        client = client.trusting(root);
    }
    let rt = tokio::runtime::Runtime::new()?;
    let signed = if args.in_toto {
        let statement = read_statement(&args.file)?;
        rt.block_on(client.sign_in_toto(&token, &statement))
    } else {
        let digest = crate::artifact::sha256_file(&args.file)?;
        rt.block_on(client.sign_sha256(&token, &digest))
    }
    .with_context(|| format!("signing {}", args.file.display()))?;
    crate::files::write_atomically(&args.bundle, signed.bundle_json().as_bytes())?;
    print_signed(&args.file, &args.bundle, &signed);
    Ok(ExitCode::SUCCESS)
}

/// Where the token came from, in the command's own terms.
pub(crate) fn describe(source: TokenSource) -> &'static str {
    match source {
        TokenSource::Explicit => "--identity-token",
        TokenSource::Environment => "$SIGSTORE_ID_TOKEN",
        TokenSource::Ambient(_) => "the CI's ambient credentials",
        TokenSource::DeviceFlow => "a device-flow login",
        TokenSource::Browser => "a browser login",
    }
}

fn print_signed(file: &Path, bundle: &Path, signed: &Signed) {
    let identity = &signed.identity;
    let issuer = identity.issuer.as_deref().map(|i| format!(" (issuer {i})")).unwrap_or_default();
    println!("Signed {} as {}{issuer}", file.display(), identity.subject);
    println!("  log entry  {} in {}", signed.log_index, signed.log_url);
    println!("  bundle     {}", bundle.display());
}

/// The token, from the first source that has one.
pub(crate) async fn identity_token(
    args: &SignArgs,
    services: &Services,
    http: &reqwest::Client,
) -> anyhow::Result<(IdentityToken, TokenSource)> {
    if let Some(t) = &args.identity_token {
        return Ok((IdentityToken::new(t.clone()), TokenSource::Explicit));
    }
    if let Some(t) = token::from_environment() {
        return Ok((t, TokenSource::Environment));
    }
    if let Some(found) = token::ambient(http).await? {
        return Ok(found);
    }
    let issuer = args.oidc_issuer.clone().or_else(|| services.oidc.clone()).context(
        "no identity token and no identity provider to log in at: pass --oidc-issuer URL, --identity-token, \
         or set SIGSTORE_ID_TOKEN",
    )?;
    let oidc = Oidc::discover(http, &issuer).await?;
    let no_browser = !token::browser_available();
    if args.device || (no_browser && oidc.supports_device_flow()) {
        if !args.device {
            eprintln!("No browser can be opened here: logging in with a code instead.");
        }
        let token = oidc.device_login(&show_prompt).await?;
        return Ok((token, TokenSource::DeviceFlow));
    }
    let options = BrowserLogin { open_browser: !no_browser, timeout: Duration::from_secs(300) };
    let token = oidc.browser_login(&options, &show_prompt).await?;
    Ok((token, TokenSource::Browser))
}

/// Login instructions go to stderr, so stdout stays the result.
fn show_prompt(prompt: LoginPrompt<'_>) {
    match prompt {
        LoginPrompt::Browser { url } => {
            eprintln!(
                "Log in in your browser to sign. If it does not open, open this URL on this machine:\n\n  {url}\n"
            );
        }
        LoginPrompt::Device { verification_uri, verification_uri_complete, user_code } => {
            eprintln!("To sign, open this URL on any device and enter the code {user_code}:\n\n  {verification_uri}\n");
            if let Some(complete) = verification_uri_complete {
                eprintln!("(or open {complete}, which has the code filled in)\n");
            }
            eprintln!("Waiting for the login…");
        }
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// A pinned trust config, with the witness policy pinned beside it when there is one: then
/// every verification under it requires the policy's quorum on the checkpoints it relies on.
pub(crate) fn read_trust_config(path: &Path) -> anyhow::Result<ClientTrustConfig> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the trust config {} (pin one with `sig-share trust pin URL`, or pass --trust-config)",
            path.display()
        )
    })?;
    let mut config = ClientTrustConfig::from_json(&text).with_context(|| format!("in {}", path.display()))?;
    let policy_path = crate::trust_cmd::witness_policy_path(path);
    match std::fs::read_to_string(&policy_path) {
        Ok(text) => {
            let policy = sig_share_verify::trust::WitnessPolicy::parse(&text)
                .with_context(|| format!("in the witness policy {}", policy_path.display()))?;
            config.trusted_root.witnesses = Some(policy);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading the witness policy {}", policy_path.display())),
    }
    Ok(config)
}

fn read_trusted_root(path: &Path) -> anyhow::Result<TrustedRoot> {
    TrustedRoot::from_json(&read_text(path)?).with_context(|| format!("in {}", path.display()))
}

fn read_statement(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > sig_share_sign::MAX_STATEMENT_BYTES as u64 {
        anyhow::bail!(
            "{} is {size} bytes; an in-toto statement names digests and is at most {} bytes",
            path.display(),
            sig_share_sign::MAX_STATEMENT_BYTES
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// `FILE.sigstore.json`, beside the file.
fn default_bundle_path(file: &Path) -> PathBuf {
    let mut name = OsString::from(file.as_os_str());
    name.push(".sigstore.json");
    PathBuf::from(name)
}

/// Never overwrite the artifact with its own bundle.
fn check_paths(file: &Path, bundle: &Path) -> anyhow::Result<()> {
    let same = match (std::fs::canonicalize(file), std::fs::canonicalize(bundle)) {
        (Ok(a), Ok(b)) => a == b,
        _ => file == bundle,
    };
    if same {
        anyhow::bail!("the bundle would overwrite {}: pass another --bundle path", file.display());
    }
    Ok(())
}
