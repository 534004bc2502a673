//! `sig-share monitor`: follow the transparency log and its certificate log, check every new
//! entry and tile against their signed checkpoints, compare views with witnesses, and report
//! entries and certificates naming watched identities, issuers and devices (crates/monitor).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use sig_share_monitor::{Config, Event, LogKey, LogTarget, Outcome, Sink, Watch, trust};
use sig_share_tlog::Ed25519Verifier;
use sig_share_tlog::policy::{MAX_POLICY_SIZE, Policy};
use sig_share_verify::trust::ClientTrustConfig;
use tokio::sync::mpsc;

/// How long one webhook POST may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Events waiting to be posted; beyond, they are dropped (and counted).
const WEBHOOK_QUEUE: usize = 10_000;
/// Failed posts in a row after which a run stops posting.
const WEBHOOK_FAILURES: u32 = 3;

/// `sig-share monitor`.
#[derive(Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct MonitorArgs {
    /// The transparency log's URL (its tiles under URL/api/v2/), or file:DIR for a copy of its
    /// tile store [default: the trust config's].
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    /// The log's checkpoint key: a note verifier key (origin+keyid+base64), or a file holding one
    /// (`log serve` writes DATA/log.pub) [default: the trust config's key for the log].
    #[arg(long, value_name = "VKEY")]
    pub vkey: Option<String>,
    /// The certificate log's static-ct-api URL, or file:DIR [default: the trust config's].
    #[arg(long, value_name = "URL")]
    pub ctlog: Option<String>,
    /// The certificate log's ECDSA P-256 key: a PEM file, or its DER SubjectPublicKeyInfo in
    /// base64 [default: the trust config's key for it].
    #[arg(long, value_name = "KEY")]
    pub ctlog_key: Option<String>,
    /// Do not follow the certificate log.
    #[arg(long, conflicts_with_all = ["ctlog", "ctlog_key"])]
    pub no_ctlog: bool,
    /// Where the monitor keeps what it verified (the last checkpoint of each log and the tree's
    /// edge), its alarms and their evidence. One directory per monitored deployment.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Report entries and certificates naming this identity (a certificate's SAN, exactly: an
    /// email address, a URI). Repeat for more.
    #[arg(long = "identity", value_name = "ID")]
    pub identities: Vec<String>,
    /// Report entries and certificates vouched for by this OIDC issuer. Repeat for more.
    #[arg(long = "issuer", value_name = "URL")]
    pub issuers: Vec<String>,
    /// Report entries and certificates of this device (urn:sig-share:device:ID). Repeat for more.
    #[arg(long = "device", value_name = "ID")]
    pub devices: Vec<String>,
    /// A C2SP tlog-policy file: each witness's latest checkpoint of the log (GET
    /// <url>/<hex SHA-256(origin)>/checkpoint) is compared with the monitor's, and the log's own
    /// checkpoint's cosignatures are counted [default: the policy pinned beside the trust config].
    #[arg(long, value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
    /// Run once and exit (the default).
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,
    /// Run again every DUR (e.g. 5m, 1h) until stopped.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,
    /// One JSON object per line on stdout: {"event": "...", ...}.
    #[arg(long)]
    pub json: bool,
    /// POST each event as JSON to this URL (10 s timeout; a failing webhook is a warning).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// A ClientTrustConfig file [default: the pinned one, if any].
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// How long each request may take.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

const AFTER_HELP: &str = "\
Each run verifies the log's newest checkpoint (its signature, its consistency with the last one
verified), reads every new entry from the entry bundles, recomputes each leaf hash and every hash
tile, and checks the tree's root against the checkpoint; it does the same for the certificate log
(static-ct-api). What was verified is kept in --state, written atomically, so the next run starts
where this one stopped and never reads a verified entry again. Entries (and certificates) naming a
watched identity, issuer or device are reported, with whether the certificate chains to a CA of the
trusted root. With --witness-policy, each witness's view of the log is compared with the monitor's.

Events, one per line (--json: one JSON object per line, {\"event\": \"...\", ...}):
  checkpoint     a log's checkpoint verified, and how many new entries were checked
  entry          a transparency log entry naming something watched
  certificate    a certificate issued (certificate log) naming something watched
  witness        a witness's checkpoint, consistent with the monitor's
  split_view     ALARM: two checkpoints signed by the log's key that cannot both be true
  tree_mismatch  ALARM: the entries or tiles served do not hash to the tree the log signed
  alarm          an alarm raised by an earlier run is still raised
  warning        not right, but no proof of anything (a witness's bad checkpoint, a failed webhook)
  error          could not check (the log unreachable, its checkpoint unsigned)
Entry and certificate events come before the checkpoint event of the tree they are in. Progress of
a long catch-up goes to stderr.

An alarm is recorded in --state (alarm.json, with the signed checkpoints it rests on in evidence/)
before it is reported, and stays raised on every later run until you delete alarm.json by hand.

Exit status: 0 consistent, 1 the log misbehaved (an alarm is raised, now or by an earlier run),
2 the monitor could not run (network, bad arguments, a checkpoint not signed by the log's key).";

/// Runs `sig-share monitor`.
pub fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let config = configure(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        loop {
            let outcome = run_one(&config, &args).await;
            let Some(interval) = args.interval else { return Ok(ExitCode::from(outcome.exit_code())) };
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::from(outcome.exit_code())),
            }
        }
    })
}

/// One run, its events printed (and posted).
async fn run_one(config: &Config, args: &MonitorArgs) -> Outcome {
    let (webhook, poster) = match &args.webhook {
        Some(url) => {
            let (tx, rx) = mpsc::channel(WEBHOOK_QUEUE);
            (Some(tx), Some(tokio::spawn(post_events(url.clone(), rx, args.json))))
        }
        None => (None, None),
    };
    let mut output = Output { json: args.json, webhook, dropped: 0, started: Instant::now() };
    let outcome = sig_share_monitor::run_once(config, &mut output).await;
    let dropped = output.dropped;
    drop(output);
    if let Some(poster) = poster {
        let _ = poster.await;
    }
    if dropped > 0 {
        print(
            args.json,
            &Event::warning(None, format!("{dropped} events were not posted: the webhook's queue was full")),
        );
    }
    outcome
}

/// Events to stdout, and to the webhook's queue.
struct Output {
    json: bool,
    webhook: Option<mpsc::Sender<String>>,
    dropped: u64,
    started: Instant,
}

fn print(json: bool, event: &Event) {
    if json {
        println!("{}", event.to_json());
    } else {
        println!("{event}");
    }
}

impl Sink for Output {
    fn event(&mut self, event: &Event) {
        print(self.json, event);
        if let Some(tx) = &self.webhook
            && tx.try_send(event.to_json()).is_err()
        {
            self.dropped += 1;
        }
    }

    fn progress(&mut self, log: &str, done: u64, total: u64) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        eprintln!("{log}: {done} of {total} new entries checked ({:.0} entries/s)", done as f64 / secs);
    }
}

/// Posts each event as JSON, one after another; after a few failures in a row, gives up for the
/// run (said once), so a dead webhook neither stops nor slows the monitor for long.
async fn post_events(url: String, mut events: mpsc::Receiver<String>, json: bool) {
    let client =
        match reqwest::Client::builder().timeout(WEBHOOK_TIMEOUT).redirect(reqwest::redirect::Policy::none()).build() {
            Ok(c) => c,
            Err(e) => {
                print(json, &Event::warning(None, format!("the webhook cannot be used: {e}")));
                return;
            }
        };
    let (mut failures, mut skipped) = (0u32, 0u64);
    while let Some(body) = events.recv().await {
        if failures >= WEBHOOK_FAILURES {
            skipped += 1;
            continue;
        }
        let sent = client.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await;
        let failure = match sent {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the webhook {url} answered {}", r.status())),
            Err(e) => Some(format!("the webhook {url} could not be reached: {e}")),
        };
        match failure {
            None => failures = 0,
            Some(message) => {
                failures += 1;
                print(json, &Event::warning(None, message));
            }
        }
    }
    if skipped > 0 {
        print(
            json,
            &Event::warning(
                None,
                format!("{skipped} events were not posted after {WEBHOOK_FAILURES} failures in a row"),
            ),
        );
    }
}

/// The monitor's configuration from the arguments and the trust config.
fn configure(args: &MonitorArgs) -> anyhow::Result<Config> {
    let trust = read_trust(args.trust_config.as_deref())?;
    let root = trust.as_ref().map(|t| &t.trusted_root);
    let no_root = || {
        anyhow::anyhow!(
            "no trust config is pinned: pin one with `sig-share trust pin URL`, or name the log with --log and --vkey"
        )
    };

    let tlog_url = match &args.log {
        Some(url) => url.clone(),
        None => root.and_then(|r| r.tlogs.first()).map(|l| l.base_url.clone()).ok_or_else(no_root)?,
    };
    let tlog_key = match &args.vkey {
        Some(vkey) => LogKey::Vkey(read_vkey(vkey)?),
        None => trust::tlog_key(root.ok_or_else(no_root)?, Some(&tlog_url)).map_err(|e| anyhow::anyhow!("{e}"))?.1,
    };
    let tlog =
        LogTarget { source: trust::tlog_source(&tlog_url, args.timeout).map_err(anyhow::Error::msg)?, key: tlog_key };

    // The trust config's certificate log goes with its transparency log: not with another one.
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    let ctlog_url = if args.no_ctlog {
        None
    } else {
        args.ctlog.clone().or_else(|| {
            root.filter(|r| r.tlogs.iter().any(|t| same(&t.base_url, &tlog_url)))
                .and_then(|r| r.ctlogs.first())
                .map(|l| l.base_url.clone())
        })
    };
    let ctlog = match ctlog_url {
        None => {
            if !args.no_ctlog {
                eprintln!(
                    "note: no certificate log is named (no --ctlog, none in a trust config for this log): it is not followed"
                );
            }
            None
        }
        Some(url) => {
            let key = match &args.ctlog_key {
                Some(key) => LogKey::Rfc6962 { spki: read_spki(key)? },
                None => {
                    let root = root.context("give the certificate log's key with --ctlog-key")?;
                    trust::ctlog_key(root, Some(&url)).map_err(anyhow::Error::msg)?.1
                }
            };
            Some(LogTarget { source: trust::ctlog_source(&url, args.timeout).map_err(anyhow::Error::msg)?, key })
        }
    };

    let policy = match &args.witness_policy {
        Some(path) => Some(read_policy(path)?),
        // The policy pinned beside the trust config, as every verifier of this CLI applies it.
        None => root.and_then(|r| r.witnesses.as_ref()).map(|w| w.policy().clone()),
    };
    let mut config = Config::new(&args.state);
    config.tlog = Some(tlog);
    config.ctlog = ctlog;
    config.watch =
        Watch { identities: args.identities.clone(), issuers: args.issuers.clone(), devices: args.devices.clone() };
    config.policy = policy;
    config.trusted_root = root.cloned();
    config.timeout = args.timeout;
    Ok(config)
}

/// The trust config named, or the pinned one if there is one.
fn read_trust(named: Option<&Path>) -> anyhow::Result<Option<ClientTrustConfig>> {
    let path = match named {
        Some(p) => p.to_path_buf(),
        None => match crate::trust_cmd::default_path() {
            Ok(p) if p.exists() => p,
            _ => return Ok(None),
        },
    };
    crate::sign_cmd::read_trust_config(&path).map(Some)
}

/// A log's vkey, given as itself or as a file holding it.
fn read_vkey(arg: &str) -> anyhow::Result<Ed25519Verifier> {
    let text = if Path::new(arg).is_file() {
        let meta = std::fs::metadata(arg)?;
        anyhow::ensure!(meta.len() <= 4096, "{arg} is too large to hold a vkey");
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_owned()
    };
    let key = Ed25519Verifier::from_vkey(text.trim()).with_context(|| format!("--vkey {:?}", text.trim()))?;
    if key.is_cosigner() {
        bail!("--vkey is a witness's cosignature key (type 0x04), not a log's checkpoint key");
    }
    Ok(key)
}

/// The certificate log's key, from a PEM file or base64 DER.
fn read_spki(arg: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    if Path::new(arg).is_file() {
        let meta = std::fs::metadata(arg)?;
        anyhow::ensure!(meta.len() <= 64 * 1024, "{arg} is too large to hold a public key");
        let text = std::fs::read(arg).with_context(|| format!("reading {arg}"))?;
        return Ok(sig_share_pem::first(&text, &["PUBLIC KEY"]).with_context(|| format!("in {arg}"))?.der);
    }
    base64::engine::general_purpose::STANDARD
        .decode(arg.trim())
        .context("--ctlog-key is neither a PEM file nor base64 DER")
}

fn read_policy(path: &Path) -> anyhow::Result<Policy> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(meta.len() <= MAX_POLICY_SIZE as u64, "{} is larger than a policy may be", path.display());
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Policy::parse(&text).with_context(|| format!("in {}", path.display()))
}
