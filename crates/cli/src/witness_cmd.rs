//! `sig-share witness serve` and `sig-share witness evidence`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use sig_share_limits::Limit;
use sig_share_witness::http::HttpLimits;
use sig_share_witness::{Logs, Options, Witness, evidence, key};

use crate::listen::{ConnectionArgs, Listen, shutdown};

#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Serve a witness: C2SP tlog-witness v1.0.0 (`POST /add-checkpoint`), cosigning each log's
    /// checkpoint only if it is consistent with every one cosigned before; `GET
    /// /<hex SHA-256(origin)>/checkpoint` returns the latest cosigned; `/metrics`, `/healthz`.
    ///
    /// The key is made on first start in DIR/witness.key (mode 0600; the witness refuses to
    /// start if others may read it), its cosignature/v1 vkey written to DIR/witness.pub and
    /// printed. The state (the latest cosigned checkpoint of each log) is DIR/witness.db; refused
    /// requests that prove a log misbehaved are kept in DIR/evidence.
    Serve(Box<ServeArgs>),
    /// List the evidence of log misbehaviour a witness kept: checkpoints a log signed that
    /// contradict one the witness cosigned (same size, other root; or a consistency proof that
    /// does not verify). Works while the witness runs.
    ///
    /// Exit status: 0 none kept, 1 some kept, 2 could not read.
    Evidence(EvidenceArgs),
}

/// Where and how to run the witness.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The data directory: the key, the state and the evidence (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7380")]
    pub listen: SocketAddr,
    /// The URL logs reach the witness at, its submission prefix (default: http://<listen>).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The witness's name, its key's name, fixed when the key is made (default: the public URL's
    /// host and path, as witnesses name themselves, e.g. witness.example.com/w1).
    #[arg(long)]
    pub name: Option<String>,
    /// A log to cosign for, by its checkpoint key (an Ed25519 vkey, name+id+base64); its origin is
    /// the key's name. Repeat for more logs; two keys of one name are both trusted for it.
    #[arg(long = "log", value_name = "VKEY")]
    pub logs: Vec<String>,
    /// A list of logs in the witness network's `logs/v0` format (vkey, origin, bastion, qpd and
    /// contact lines); a log's `qpd` limits its requests (twice it, in bursts of about a minute's
    /// share). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub log_list: Vec<PathBuf>,
    /// Print the witness's name, vkey and URL as JSON on standard output at start.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connections: ConnectionArgs,
    #[command(flatten)]
    pub limits: WitnessLimitArgs,
}

/// The witness's limits and quotas.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Rate limits and quotas")]
pub struct WitnessLimitArgs {
    /// add-checkpoint requests each client address may make.
    #[arg(long, value_name = "RATE", default_value = "6000/min")]
    pub limit_add_checkpoint: Limit,
    /// add-checkpoint requests each log may make when its list entry gives no qpd (and for
    /// --log logs).
    #[arg(long, value_name = "RATE", default_value = "off")]
    pub limit_per_log: Limit,
    /// Checkpoint reads each client address may make.
    #[arg(long, value_name = "RATE", default_value = "6000/min")]
    pub limit_reads: Limit,
    /// The most bytes of evidence kept in all (suffixes KiB, MiB, GiB); beyond, new evidence is
    /// counted and logged, not kept.
    #[arg(long, value_name = "BYTES", default_value = "256MiB", value_parser = crate::limits_args::parse_bytes)]
    pub evidence_max_bytes: u64,
    /// The most bytes of evidence kept for one log.
    #[arg(long, value_name = "BYTES", default_value = "4MiB", value_parser = crate::limits_args::parse_bytes)]
    pub evidence_per_log_bytes: u64,
}

/// What to list.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    /// The witness's data directory.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Print the records as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: WitnessCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WitnessCommand::Serve(args) => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(serve(*args))?;
            Ok(ExitCode::SUCCESS)
        }
        WitnessCommand::Evidence(args) => evidence_cmd(&args),
    }
}

/// A witness's default name: its public URL's host and path, without scheme, port or a trailing
/// slash.
pub fn default_name(public_url: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(public_url).with_context(|| format!("--public-url {public_url:?} is not a URL"))?;
    let host = url.host_str().context("the public URL has no host")?;
    Ok(format!("{host}{}", url.path().trim_end_matches('/')))
}

/// The logs named by --log and --log-list.
fn read_logs(args: &ServeArgs) -> anyhow::Result<Logs> {
    let mut logs = Logs::new();
    for vkey in &args.logs {
        logs.add_vkey(vkey)?;
    }
    for file in &args.log_list {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        logs.add_list(&text).with_context(|| format!("{}", file.display()))?;
    }
    if logs.is_empty() {
        anyhow::bail!("no logs to witness: name them with --log VKEY or --log-list FILE");
    }
    Ok(logs)
}

#[derive(Serialize)]
struct Started<'a> {
    name: &'a str,
    vkey: String,
    url: &'a str,
    add_checkpoint: String,
    logs: usize,
    data: String,
    key_file: String,
    pub_file: String,
    key_created: bool,
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let limits = args.connections.limits()?;
    let at = Listen {
        data: args.data.clone(),
        listen: args.listen,
        public_url: args.public_url.clone(),
        connections: args.connections.clone(),
    };
    let public_url = at.public_url(args.name.is_some())?;
    let logs = read_logs(&args)?;
    let default = default_name(&public_url)?;
    let key = key::load_or_create(&args.data, args.name.as_deref(), &default)?;
    let options = Options {
        evidence_max_bytes: args.limits.evidence_max_bytes,
        evidence_per_log_bytes: args.limits.evidence_per_log_bytes.min(args.limits.evidence_max_bytes),
        per_log: args.limits.limit_per_log,
        ..Options::default()
    };
    let n_logs = logs.len();
    let witness = Witness::open(&args.data, logs, key.signer, options)
        .with_context(|| format!("opening the witness in {}", args.data.display()))?;
    let listener = at.bind().await?;
    let started = Started {
        name: witness.name(),
        vkey: key.verifier.vkey(),
        url: &public_url,
        add_checkpoint: format!("{public_url}/add-checkpoint"),
        logs: n_logs,
        data: args.data.display().to_string(),
        key_file: args.data.join(key::KEY_FILE).display().to_string(),
        pub_file: args.data.join(key::PUB_FILE).display().to_string(),
        key_created: key.created,
    };
    if args.json {
        println!("{}", serde_json::to_string(&started)?);
    }
    eprintln!("sig-share witness serving {public_url}/add-checkpoint");
    eprintln!("  name       {}", started.name);
    eprintln!("  vkey       {}{}", started.vkey, if key.created { " (new key)" } else { "" });
    eprintln!("  logs       {n_logs}");
    eprintln!("  data       {} (key in {})", started.data, started.key_file);
    let router = sig_share_witness::http::router(
        witness,
        HttpLimits { add_per_client: args.limits.limit_add_checkpoint, reads_per_client: args.limits.limit_reads },
    );
    crate::listen::serve(listener, router, &public_url, &limits, shutdown()).await
}

#[derive(Serialize)]
struct EvidenceOutput {
    count: usize,
    records: Vec<evidence::Evidence>,
    unreadable: Vec<String>,
}

fn evidence_cmd(args: &EvidenceArgs) -> anyhow::Result<ExitCode> {
    let (records, unreadable) = evidence::list(&args.data)
        .with_context(|| format!("reading {}", args.data.join(evidence::EVIDENCE_DIR).display()))?;
    let code = if records.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    if args.json {
        let out = EvidenceOutput { count: records.len(), records, unreadable };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(code);
    }
    if records.is_empty() {
        println!("no evidence kept in {}", args.data.display());
    }
    for e in &records {
        let sizes = |note: &str| note.lines().nth(1).unwrap_or("?").to_owned();
        let what = match e.kind {
            evidence::Kind::ConflictingRoot => "same size, another root",
            evidence::Kind::InconsistentProof => "consistency proof does not verify",
        };
        println!(
            "{}  {}  {what}: cosigned size {}, refused size {} (old {}), {}",
            e.id,
            e.origin,
            sizes(&e.cosigned),
            sizes(&e.submitted),
            e.old_size,
            sig_share_verify::time::format_rfc3339(i64::try_from(e.time).unwrap_or(i64::MAX))
        );
    }
    for u in &unreadable {
        eprintln!("unreadable: {u}");
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        assert_eq!(default_name("https://witness.example.com/w1/").unwrap(), "witness.example.com/w1");
        assert_eq!(default_name("http://127.0.0.1:7380").unwrap(), "127.0.0.1");
    }
}
