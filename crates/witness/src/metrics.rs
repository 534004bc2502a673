//! Prometheus metrics for the witness (`GET /metrics`, prefix `sigshare_witness_`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;

/// The witness's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// add-checkpoint answers, by HTTP status.
    pub requests: Family<Labels, Counter>,
    /// Checkpoints cosigned.
    pub cosigned: Counter,
    /// Evidence of misbehaviour kept (new records), by kind.
    pub evidence_kept: Family<Labels, Counter>,
    /// Evidence not kept because a byte cap was reached.
    pub evidence_over_cap: Counter,
    /// Bytes of evidence kept.
    pub evidence_bytes: Gauge,
    /// Requests per group commit.
    pub batch_size: Histogram,
    /// Seconds one group commit took (checks, writes, the durable commit).
    pub commit_seconds: Histogram,
    /// Logs known.
    pub logs: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("sigshare_witness"),
            requests: Family::default(),
            cosigned: Counter::default(),
            evidence_kept: Family::default(),
            evidence_over_cap: Counter::default(),
            evidence_bytes: Gauge::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            logs: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register("requests", "add-checkpoint answers, by HTTP status", m.requests.clone());
        r.register("cosigned", "Checkpoints cosigned", m.cosigned.clone());
        r.register("evidence_kept", "Evidence of log misbehaviour kept, by kind", m.evidence_kept.clone());
        r.register("evidence_over_cap", "Evidence not kept: a byte cap was reached", m.evidence_over_cap.clone());
        r.register("evidence_bytes", "Bytes of evidence kept", m.evidence_bytes.clone());
        r.register("commit_batch_size", "Requests decided per durable commit", m.batch_size.clone());
        r.register("commit_seconds", "Time to decide and durably commit one batch", m.commit_seconds.clone());
        r.register("logs", "Logs this witness cosigns for", m.logs.clone());
        m
    }
}

impl Metrics {
    /// Counts an add-checkpoint answer.
    pub fn answered(&self, status: u16) {
        let label: &'static str = match status {
            200 => "200",
            400 => "400",
            403 => "403",
            404 => "404",
            409 => "409",
            413 => "413",
            422 => "422",
            429 => "429",
            503 => "503",
            _ => "other",
        };
        self.requests.get_or_create(&vec![("status", label)]).inc();
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        encode(&mut s, &self.registry).expect("writing to a String cannot fail");
        s
    }
}
