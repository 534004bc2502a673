//! Building this deployment's ClientTrustConfig from its running parts.

use std::time::SystemTime;

use der::Encode;
use sig_share_ca::CertificateAuthority;
use sig_share_ct::CertificateLog;
use sig_share_log::Log;
use sig_share_tsa::TimestampAuthority;
use x509_cert::Certificate;

use sig_share_verify::tlog::ed25519_spki;
use sig_share_verify::trust::*;

/// Where a server publishes its ClientTrustConfig.
pub const TRUST_CONFIG_PATH: &str = "/.well-known/sig-share/trust-config.json";

/// RFC 3339 (`2026-11-25T06:04:32Z`) of a time.
pub fn rfc3339(t: SystemTime) -> String {
    der::DateTime::from_system_time(t).map_or_else(|_| "1970-01-01T00:00:00Z".into(), |d| d.to_string())
}

/// The ClientTrustConfig of a stack at `url` (whose bare host is `host`), valid from `started`.
#[allow(clippy::too_many_arguments)]
pub fn build(
    url: &str,
    host: &str,
    started: SystemTime,
    tlog: &Log,
    ct: &CertificateLog,
    ca: &CertificateAuthority,
    tsa: &TimestampAuthority,
    oidc_url: Option<&str>,
) -> Result<ClientTrustConfig, String> {
    let valid_for = ValidFor { start: rfc3339(started), end: None };
    let der = |c: &Certificate| c.to_der().map_err(|e| e.to_string());
    let authority = |chain: &[Certificate], uri: String, valid: SystemTime| -> Result<Authority, String> {
        let certificates = chain.iter().map(|c| der(c).map(|d| RawBytes::of(&d))).collect::<Result<_, _>>()?;
        Ok(Authority {
            subject: subject_of(&chain[chain.len() - 1]),
            uri,
            cert_chain: CertChain { certificates },
            valid_for: ValidFor { start: rfc3339(valid), end: None },
            operator: None,
        })
    };
    let tsa_start = tsa.chain()[0].tbs_certificate().validity().not_before.to_system_time();
    let ca_start = ca.chain()[0].tbs_certificate().validity().not_before.to_system_time();
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let trusted_root = TrustedRoot {
        media_type: TRUSTED_ROOT_MEDIA_TYPE.into(),
        tlogs: vec![TransparencyLog {
            base_url: url.to_owned(),
            hash_algorithm: "SHA2_256".into(),
            public_key: PublicKey {
                raw_bytes: b64(&ed25519_spki(&tlog.public_key())),
                key_details: "PKIX_ED25519".into(),
                valid_for: valid_for.clone(),
            },
            log_id: LogId { key_id: b64(&sig_share_log::rekor::log_id(&tlog.config().origin, &tlog.public_key())) },
            checkpoint_key_id: None,
            operator: None,
        }],
        certificate_authorities: vec![authority(ca.chain(), url.to_owned(), ca_start)?],
        ctlogs: vec![TransparencyLog {
            base_url: format!("{url}/ctlog"),
            hash_algorithm: "SHA2_256".into(),
            public_key: PublicKey {
                raw_bytes: b64(ct.public_key_der()),
                key_details: "PKIX_ECDSA_P256_SHA_256".into(),
                valid_for: valid_for.clone(),
            },
            log_id: LogId { key_id: b64(&ct.log_id()) },
            checkpoint_key_id: None,
            operator: None,
        }],
        timestamp_authorities: vec![authority(tsa.chain(), format!("{url}/api/v1/timestamp"), tsa_start)?],
        witnesses: None,
    };
    let service = |url: String, version: u32| Service {
        url,
        major_api_version: version,
        valid_for: valid_for.clone(),
        operator: host.to_owned(),
    };
    let signing_config = SigningConfig {
        media_type: SIGNING_CONFIG_MEDIA_TYPE.into(),
        ca_urls: vec![service(url.to_owned(), 1)],
        oidc_urls: oidc_url.map(|u| service(u.to_owned(), 1)).into_iter().collect(),
        rekor_tlog_urls: vec![service(url.to_owned(), 2)],
        tsa_urls: vec![service(format!("{url}/api/v1/timestamp"), 1)],
        rekor_tlog_config: Selector::any(),
        tsa_config: Selector::any(),
    };
    Ok(ClientTrustConfig { media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE.into(), trusted_root, signing_config })
}

/// The O and CN of a certificate's subject (sigstore-python requires both fields).
fn subject_of(cert: &Certificate) -> Subject {
    let mut out = Subject { organization: String::new(), common_name: String::new() };
    for atv in cert.tbs_certificate().subject().iter() {
        // UTF8String, PrintableString and IA5String all hold their text as-is.
        let value = String::from_utf8_lossy(atv.value.value()).into_owned();
        if atv.oid == const_oid::db::rfc4519::O {
            out.organization = value;
        } else if atv.oid == const_oid::db::rfc4519::CN {
            out.common_name = value;
        }
    }
    out
}
