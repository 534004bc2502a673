//! Prometheus metrics for the CA: what it issued, what it refused and why, how long issuing took.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::oidc::TokenError;
use crate::request::RequestError;
use crate::service::CaError;

/// The CA's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Certificates issued.
    pub issued: Counter,
    /// Requests refused, by reason.
    pub refused: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Seconds from request to certificate (including the wait for the certificate log).
    pub issue_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("sigshare_ca"),
            issued: Counter::default(),
            refused: Family::default(),
            issue_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
        };
        let r = &mut m.registry;
        r.register("issued", "Certificates issued", m.issued.clone());
        r.register("refused", "Signing-certificate requests refused, by reason", m.refused.clone());
        r.register("issue_seconds", "Time from request to certificate", m.issue_seconds.clone());
        m
    }
}

impl Metrics {
    /// Counts a refused request under a reason name fit for a label.
    pub fn refuse(&self, error: &CaError) {
        let reason = match error {
            CaError::Request(RequestError::ProofOfPossession(_)) => "proof_of_possession",
            CaError::Request(RequestError::UnsupportedKey(_)) => "unsupported_key",
            CaError::Request(_) => "malformed_request",
            CaError::Token(TokenError::UnknownIssuer(_)) => "unknown_issuer",
            CaError::Token(TokenError::Discovery { .. }) => "issuer_unavailable",
            CaError::Token(TokenError::Expired(_) | TokenError::NotYetValid(..)) => "token_time",
            CaError::Token(TokenError::BadSignature | TokenError::UnknownKey { .. }) => "token_signature",
            CaError::Token(TokenError::Audience(_)) => "token_audience",
            CaError::Token(_) => "token_invalid",
            CaError::Issue(_) => "issuing_failed",
            CaError::Device(_) => "device_enrollment",
            CaError::Limited(_) => "rate_limited",
        };
        self.refused.get_or_create(&vec![("reason", reason)]).inc();
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        encode(&mut s, &self.registry).expect("writing to a String cannot fail");
        s
    }
}
