//! One monitoring run over the transparency log, its certificate log and the witnesses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sig_share_tlog::policy::Policy;
use sig_share_verify::trust::TrustedRoot;

use crate::entries::Watch;
use crate::event::{Event, Sink, reset_hint};
use crate::fetch::DEFAULT_TIMEOUT;
use crate::follow::{Follow, Format, LogTarget, Outcome, PROGRESS_EVERY};
use crate::state::StateDir;

/// What to monitor and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// The transparency log (Rekor v2 entries in tlog-tiles), if followed.
    pub tlog: Option<LogTarget>,
    /// The certificate log (static-ct-api), if followed.
    pub ctlog: Option<LogTarget>,
    /// What to report.
    pub watch: Watch,
    /// Witnesses whose views of the transparency log are compared with the monitor's.
    pub policy: Option<Policy>,
    /// The trusted root, to say whether a watched entry's certificate chains to a trusted CA.
    pub trusted_root: Option<TrustedRoot>,
    /// The state directory.
    pub state: PathBuf,
    /// How long each request may take.
    pub timeout: Duration,
    /// How often a long catch-up records its progress, so a run stopped halfway resumes there.
    pub progress_every: Duration,
}

impl Config {
    /// A configuration following nothing yet, with its state in `state`.
    pub fn new(state: impl Into<PathBuf>) -> Config {
        Config {
            tlog: None,
            ctlog: None,
            watch: Watch::default(),
            policy: None,
            trusted_root: None,
            state: state.into(),
            timeout: DEFAULT_TIMEOUT,
            progress_every: PROGRESS_EVERY,
        }
    }
}

/// Runs the monitor once: reports every finding to `sink` as it is made, and returns how it
/// went (see [`Outcome::exit_code`]). An alarm raised by an earlier run is reported first and
/// keeps the outcome at [`Outcome::Misbehaved`] until the state is reset by hand.
pub async fn run_once(config: &Config, sink: &mut dyn Sink) -> Outcome {
    let state = match StateDir::open(&config.state) {
        Ok(s) => s,
        Err(e) => {
            sink.event(&Event::error(None, e.to_string()));
            return Outcome::Failed;
        }
    };
    let mut outcome = Outcome::Consistent;
    match state.alarms() {
        Ok(alarms) if !alarms.is_empty() => {
            let first = &alarms[0];
            let summary = format!(
                "{} at {}: {}",
                first["event"].as_str().unwrap_or("alarm"),
                first["time"].as_str().unwrap_or("an unknown time"),
                first["reason"].as_str().unwrap_or("")
            );
            sink.event(&Event::Alarm {
                alarms: alarms.len(),
                first: summary,
                reset: reset_hint(&config.state.display().to_string()),
            });
            outcome = Outcome::Misbehaved;
        }
        Ok(_) => {}
        Err(e) => {
            sink.event(&Event::error(None, e.to_string()));
            return Outcome::Failed;
        }
    }
    if config.tlog.is_none() && config.ctlog.is_none() {
        sink.event(&Event::error(None, "no log to follow"));
        return Outcome::Failed.max(outcome);
    }
    let watch = Arc::new(config.watch.clone());
    for (name, format, target) in [("tlog", Format::Rekor, &config.tlog), ("ctlog", Format::StaticCt, &config.ctlog)] {
        let Some(target) = target else { continue };
        let is_tlog = format == Format::Rekor;
        let mut follow = Follow {
            name,
            format,
            target,
            state: &state,
            watch: &watch,
            trusted_root: config.trusted_root.as_ref(),
            policy: config.policy.as_ref().filter(|_| is_tlog),
            progress_every: config.progress_every,
            sink: &mut *sink,
        };
        let followed = follow.run().await;
        outcome = outcome.max(followed.outcome);
        if let (true, Some(policy), Some(verified)) = (is_tlog, &config.policy, &followed.verified) {
            outcome = outcome.max(follow.compare_witnesses(verified, policy, config.timeout).await);
        }
    }
    outcome
}
