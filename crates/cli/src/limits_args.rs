//! The rate-limit and quota flags of `serve` and `log serve` (issue 14 #7). A RATE is `N/s`,
//! `N/min`, `N/h` or `N/day` (a client may use all N at once, then they refill evenly), or `off`.
//! Refused requests get `429 Too Many Requests` with `Retry-After` and a JSON body, and are
//! counted in `/metrics` as `sigshare_limits_refused_total{limit}`.

use clap::Args;
use sig_share_limits::Limit;
use sig_share_log::http::LogLimits;
use sig_share_log::statements::StatementQuota;

/// The transparency log's limits.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Rate limits and quotas")]
pub struct LogLimitArgs {
    /// Entries each client address may submit (`POST /api/v2/log/entries`).
    #[arg(long, value_name = "RATE", default_value = "6000/min")]
    pub limit_log_writes: Limit,
    /// Statements each client address may submit (`POST /api/v1/statements`).
    #[arg(long, value_name = "RATE", default_value = "600/min")]
    pub limit_statements: Limit,
    /// The most bytes of statements the log keeps in all (suffixes KiB, MiB, GiB, TiB).
    #[arg(long, value_name = "BYTES", default_value = "16GiB", value_parser = parse_bytes)]
    pub statements_max_bytes: u64,
    /// Of those, the most kept for statements that no entry certified by this deployment's CA
    /// signs (raw keys, other CAs; for `log serve`, which has no CA, every statement).
    #[arg(long, value_name = "BYTES", default_value = "1GiB", value_parser = parse_bytes)]
    pub statements_max_uncertified_bytes: u64,
    /// The most statements kept per signer (a certified identity, or a key).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub statements_per_signer: u32,
}

impl LogLimitArgs {
    /// The limits to serve the log with.
    pub fn limits(&self) -> LogLimits {
        LogLimits {
            writes_per_client: self.limit_log_writes,
            statements_per_client: self.limit_statements,
            statements: StatementQuota {
                max_bytes: self.statements_max_bytes,
                max_uncertified_bytes: self.statements_max_uncertified_bytes.min(self.statements_max_bytes),
                per_signer: self.statements_per_signer,
                ca_keys: Vec::new(),
            },
        }
    }
}

/// Every service's limits, for `serve`.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Rate limits and quotas")]
pub struct StackLimitArgs {
    #[command(flatten)]
    pub log: LogLimitArgs,
    /// Certificates the CA issues per identity (OIDC issuer and subject).
    #[arg(long, value_name = "RATE", default_value = "600/h")]
    pub limit_ca_per_identity: Limit,
    /// Certificate requests each client address may make.
    #[arg(long, value_name = "RATE", default_value = "1800/h")]
    pub limit_ca_per_client: Limit,
    /// Timestamps each client address may ask for.
    #[arg(long, value_name = "RATE", default_value = "6000/min")]
    pub limit_timestamps: Limit,
    /// With --dev: the most login codes (authorization and device codes, each) one client
    /// address may hold outstanding.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub dev_idp_codes_per_client: u32,
}

impl StackLimitArgs {
    /// The limits to serve the stack with.
    pub fn limits(&self) -> sig_share_server::Limits {
        sig_share_server::Limits {
            log: self.log.limits(),
            ca: sig_share_ca::CaLimits {
                per_identity: self.limit_ca_per_identity,
                per_client: self.limit_ca_per_client,
            },
            timestamps: self.limit_timestamps,
        }
    }
}

impl Default for StackLimitArgs {
    /// The flags' defaults, from their one home: the `default_value`s above.
    fn default() -> StackLimitArgs {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            limits: StackLimitArgs,
        }
        <Defaults as clap::Parser>::parse_from(["sig-share"]).limits
    }
}

/// A byte count: digits, then optionally B, KiB, MiB, GiB or TiB.
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.replace('_', "").parse().map_err(|_| format!("{s:?} is not a size: write e.g. 512MiB"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        other => return Err(format!("unknown unit {other:?}: use B, KiB, MiB, GiB or TiB")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("16GiB"), Ok(16 << 30));
        assert_eq!(parse_bytes("1_000"), Ok(1000));
        assert_eq!(parse_bytes("64 KiB"), Ok(64 << 10));
        assert!(parse_bytes("1GB").is_err());
        assert!(parse_bytes("GiB").is_err());
        assert!(parse_bytes("99999999999TiB").is_err());
    }
}
