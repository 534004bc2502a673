//! The flags that give a log witnesses: `serve` and `log serve` take the same two.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sig_share_log::witnessing::Witnesses;
use sig_share_tlog::policy::Policy;

/// Witnesses that cosign the transparency log's checkpoints.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Witnesses")]
pub struct WitnessPolicyArgs {
    /// A C2SP tlog-policy file: the witnesses (`witness NAME VKEY URL`, the URL being the
    /// witness's submission prefix) and the quorum (`group NAME K MEMBER...`, `quorum NAME`)
    /// that must cosign each checkpoint before the log publishes it. Without a quorum the log
    /// keeps entries durable but unpublished and answers writers 503 until the witnesses return.
    /// Verifiers that pin this server get the policy beside its trust config and require it.
    #[arg(long, value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
    /// How long one checkpoint waits for the witnesses' cosignatures before it is left
    /// unpublished (and asked again the next period).
    #[arg(long, value_name = "TIME", default_value = "2s", value_parser = humantime::parse_duration)]
    pub witness_timeout: Duration,
}

impl Default for WitnessPolicyArgs {
    fn default() -> Self {
        WitnessPolicyArgs { witness_policy: None, witness_timeout: Duration::from_secs(2) }
    }
}

impl WitnessPolicyArgs {
    /// The witnesses to ask, if a policy was given. Call within the Tokio runtime.
    pub fn witnesses(&self) -> anyhow::Result<Option<Arc<Witnesses>>> {
        let Some(path) = &self.witness_policy else { return Ok(None) };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the witness policy {}", path.display()))?;
        let policy = Policy::parse(&text).with_context(|| format!("in {}", path.display()))?;
        anyhow::ensure!(
            policy.requires_witnesses(),
            "{} says `quorum none`: leave out --witness-policy to run without witnesses",
            path.display()
        );
        let witnesses = Witnesses::new(policy, self.witness_timeout)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("in {}", path.display()))?;
        Ok(Some(Arc::new(witnesses)))
    }
}

/// "W1, W2, W3 (quorum: see the policy)" for the start-up banner.
pub fn describe(w: &Witnesses) -> String {
    let names: Vec<&str> = w.policy().witnesses().iter().map(|w| w.name.as_str()).collect();
    format!("{} asked for every checkpoint; published only at the policy's quorum", names.join(", "))
}
