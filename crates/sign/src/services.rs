//! Which services to sign with, chosen from a sigstore `SigningConfig` v0.2 as sigstore-python
//! 4.5.1 and sigstore-js choose: among the entries valid now and speaking an API version this
//! client implements, the highest version, then the first listed.

use sig_share_verify::trust::{Service as ServiceEntry, SigningConfig};

use crate::error::{Service, SignError};

/// The CA API versions implemented (Fulcio v2's REST API is `majorApiVersion` 1).
const CA_VERSIONS: &[u32] = &[1];
/// RFC 3161 over HTTP.
const TSA_VERSIONS: &[u32] = &[1];
/// Rekor v2 only: v1 needs a signed entry timestamp this client does not read back.
const TLOG_VERSIONS: &[u32] = &[2];
/// OpenID Connect.
const OIDC_VERSIONS: &[u32] = &[1];

/// Where to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    /// The CA's base URL (`POST {ca}/api/v2/signingCert`).
    pub ca: String,
    /// The TSA's full URL (posted to as given).
    pub tsa: String,
    /// The Rekor v2 log's base URL (`POST {tlog}/api/v2/log/entries`).
    pub tlog: String,
    /// The identity provider to log in at, if the config names one.
    pub oidc: Option<String>,
}

impl Services {
    /// Picks the services valid at `now` (Unix seconds) from `config`.
    pub fn from_signing_config(config: &SigningConfig, now: i64) -> Result<Services, SignError> {
        let ca = pick(&config.ca_urls, CA_VERSIONS, now, Service::CertificateAuthority)?;
        let tsa = pick(&config.tsa_urls, TSA_VERSIONS, now, Service::TimestampAuthority)?;
        let tlog = pick(&config.rekor_tlog_urls, TLOG_VERSIONS, now, Service::TransparencyLog)?;
        for (selector, service, candidates) in [
            (&config.rekor_tlog_config.selector, Service::TransparencyLog, &config.rekor_tlog_urls),
            (&config.tsa_config.selector, Service::TimestampAuthority, &config.tsa_urls),
        ] {
            let usable = candidates.iter().filter(|s| usable(s, now)).count();
            if selector == "ALL" && usable > 1 {
                return Err(SignError::NoService {
                    service,
                    detail: format!("the config asks for ALL {usable} of them, and this client uses one"),
                });
            }
        }
        let oidc = pick(&config.oidc_urls, OIDC_VERSIONS, now, Service::IdentityProvider).ok();
        Ok(Services { ca, tsa, tlog, oidc })
    }
}

fn usable(s: &ServiceEntry, now: i64) -> bool {
    s.valid_for.contains(now).unwrap_or(false)
}

fn pick(list: &[ServiceEntry], versions: &[u32], now: i64, service: Service) -> Result<String, SignError> {
    let valid: Vec<&ServiceEntry> = list.iter().filter(|s| usable(s, now)).collect();
    let best = valid
        .iter()
        .filter(|s| versions.contains(&s.major_api_version))
        .max_by_key(|s| s.major_api_version)
        .map(|best| best.major_api_version);
    // The first listed among those of the highest version: max_by_key would take the last.
    if let Some(version) = best
        && let Some(s) = valid.iter().find(|s| s.major_api_version == version)
    {
        return Ok(s.url.clone());
    }
    let detail = if list.is_empty() {
        "it lists none".to_owned()
    } else if valid.is_empty() {
        format!("none of the {} listed is valid now", list.len())
    } else {
        let seen: Vec<String> = valid.iter().map(|s| format!("{} (v{})", s.url, s.major_api_version)).collect();
        format!("this client speaks API version {versions:?}, the config offers {}", seen.join(", "))
    };
    Err(SignError::NoService { service, detail })
}

#[cfg(test)]
mod tests {
    use sig_share_verify::trust::{Selector, ValidFor};

    use super::*;

    fn entry(url: &str, version: u32, start: &str, end: Option<&str>) -> ServiceEntry {
        ServiceEntry {
            url: url.into(),
            major_api_version: version,
            valid_for: ValidFor { start: start.into(), end: end.map(Into::into) },
            operator: "test".into(),
        }
    }

    fn config() -> SigningConfig {
        SigningConfig {
            media_type: sig_share_verify::trust::SIGNING_CONFIG_MEDIA_TYPE.into(),
            ca_urls: vec![entry("https://ca", 1, "2020-01-01T00:00:00Z", None)],
            oidc_urls: vec![entry("https://oidc", 1, "2020-01-01T00:00:00Z", None)],
            rekor_tlog_urls: vec![
                entry("https://old-v2", 2, "2020-01-01T00:00:00Z", Some("2024-01-01T00:00:00Z")),
                entry("https://v1", 1, "2020-01-01T00:00:00Z", None),
                entry("https://v2-a", 2, "2024-01-01T00:00:00Z", None),
                entry("https://v2-b", 2, "2024-01-01T00:00:00Z", None),
            ],
            tsa_urls: vec![entry("https://tsa/api/v1/timestamp", 1, "2020-01-01T00:00:00Z", None)],
            rekor_tlog_config: Selector::any(),
            tsa_config: Selector::any(),
        }
    }

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    #[test]
    fn the_first_valid_entry_of_the_highest_supported_version_is_chosen() {
        let s = Services::from_signing_config(&config(), NOW).unwrap();
        assert_eq!(s.ca, "https://ca");
        assert_eq!(s.tsa, "https://tsa/api/v1/timestamp");
        assert_eq!(s.tlog, "https://v2-a");
        assert_eq!(s.oidc.as_deref(), Some("https://oidc"));
        // In 2022 only the old v2 log was valid.
        let s = Services::from_signing_config(&config(), 1_640_995_200).unwrap();
        assert_eq!(s.tlog, "https://old-v2");
    }

    #[test]
    fn missing_or_unsupported_services_say_what_is_wrong() {
        let mut c = config();
        c.rekor_tlog_urls.retain(|s| s.major_api_version == 1);
        let e = Services::from_signing_config(&c, NOW).unwrap_err().to_string();
        assert!(e.contains("transparency log") && e.contains("https://v1 (v1)"), "{e}");
        let mut c = config();
        c.tsa_urls.clear();
        let e = Services::from_signing_config(&c, NOW).unwrap_err().to_string();
        assert!(e.contains("timestamp authority") && e.contains("lists none"), "{e}");
        let mut c = config();
        c.ca_urls[0].valid_for.end = Some("2021-01-01T00:00:00Z".into());
        let e = Services::from_signing_config(&c, NOW).unwrap_err().to_string();
        assert!(e.contains("certificate authority") && e.contains("valid now"), "{e}");
        let mut c = config();
        c.rekor_tlog_config.selector = "ALL".into();
        let e = Services::from_signing_config(&c, NOW).unwrap_err().to_string();
        assert!(e.contains("ALL 3"), "{e}");
        // No identity provider is fine: the token may come from elsewhere.
        let mut c = config();
        c.oidc_urls.clear();
        assert_eq!(Services::from_signing_config(&c, NOW).unwrap().oidc, None);
    }
}
