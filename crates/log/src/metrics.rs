//! Prometheus metrics for the log.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The log's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Entries waiting in the pool.
    pub pool_depth: Gauge,
    /// Entries in the tree.
    pub tree_size: Gauge,
    /// Entries per integrated batch.
    pub batch_size: Histogram,
    /// Seconds from submission to acknowledgement (sequenced, durable, published).
    pub time_to_integrate: Histogram,
    /// Seconds spent integrating one batch (build, stage, commit, publish).
    pub integrate_seconds: Histogram,
    /// Entries appended.
    pub appended: Counter,
    /// Submissions answered with an existing entry.
    pub duplicates: Counter,
    /// Submissions refused, by reason.
    pub rejected: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Batches that hit a storage error.
    pub storage_errors: Counter,
    /// Checkpoints the witnesses did not cosign to the quorum in time (so not published).
    pub unwitnessed: Counter,
    /// Seconds spent waiting for witnesses' cosignatures on one checkpoint.
    pub witness_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Metrics {
            registry: Registry::with_prefix("sigshare_log"),
            pool_depth: Gauge::default(),
            tree_size: Gauge::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 4.0, 10)),
            time_to_integrate: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            integrate_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            appended: Counter::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            storage_errors: Counter::default(),
            unwitnessed: Counter::default(),
            witness_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        };
        let mut m = m;
        let r = &mut m.registry;
        r.register("pool_depth", "Entries waiting in the submission pool", m.pool_depth.clone());
        r.register("tree_size", "Entries in the tree", m.tree_size.clone());
        r.register("batch_size", "Entries per integrated batch", m.batch_size.clone());
        r.register("time_to_integrate_seconds", "Time from submission to acknowledgement", m.time_to_integrate.clone());
        r.register("integrate_seconds", "Time to integrate one batch", m.integrate_seconds.clone());
        r.register("appended", "Entries appended", m.appended.clone());
        r.register("duplicates", "Submissions answered with an existing entry", m.duplicates.clone());
        r.register("rejected", "Submissions refused, by reason", m.rejected.clone());
        r.register("storage_errors", "Batches that hit a storage error", m.storage_errors.clone());
        r.register("unwitnessed", "Checkpoints not cosigned to the witness quorum in time", m.unwitnessed.clone());
        r.register(
            "witness_seconds",
            "Time to gather the witnesses' cosignatures on one checkpoint",
            m.witness_seconds.clone(),
        );
        m
    }
}

impl Metrics {
    /// Counts a refused submission.
    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&vec![("reason", reason)]).inc();
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        encode(&mut s, &self.registry).expect("writing to a String cannot fail");
        s
    }
}
