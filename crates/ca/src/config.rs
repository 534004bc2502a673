//! Which OpenID Connect issuers the CA trusts, and what each one's tokens certify.
//!
//! ```json
//! {
//!   "issuers": [
//!     { "url": "https://accounts.google.com", "type": "email" },
//!     { "url": "https://token.actions.githubusercontent.com", "type": "github-workflow" },
//!     { "wildcard_url": "https://oidc.*.example.com", "type": "uri", "audience": "sig-share" }
//!   ]
//! }
//! ```
//!
//! A wildcard matches exactly one DNS label per `*` and is anchored at both ends, so
//! `https://oidc.*.example.com` never matches `https://oidc.evil.com/.example.com` (the class of
//! bug behind Fulcio's GHSA-59jp-pj84-45mr).

use serde::{Deserialize, Serialize};

/// The audience sigstore clients request by default.
pub const DEFAULT_AUDIENCE: &str = "sigstore";

/// What an issuer's tokens certify, and so what goes in the certificate's SAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    /// A verified email address (`email`, with `email_verified: true`): an rfc822Name SAN.
    Email,
    /// The token's `sub` is a URI: a URI SAN.
    Uri,
    /// The token's `sub` is a user name at the issuer: an otherName SAN `sub!issuer-host`.
    Username,
    /// A GitHub Actions workflow token: a URI SAN naming the workflow, and the CI extensions.
    GithubWorkflow,
}

/// One trusted issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact issuer URL (`iss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An issuer URL pattern where each `*` stands for one DNS label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wildcard_url: Option<String>,
    /// The `aud` tokens must carry.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// What the tokens certify.
    #[serde(rename = "type")]
    pub issuer_type: IssuerType,
    /// The claim the proof of possession signs; by default `email` for email issuers and `sub`
    /// for the others, as Fulcio does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_claim: Option<String>,
    /// For `uri` issuers: the host every subject URI must be on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_domain: Option<String>,
}

fn default_audience() -> String {
    DEFAULT_AUDIENCE.to_owned()
}

/// The CA's issuer configuration.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Trusted issuers.
    pub issuers: Vec<IssuerConfig>,
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("issuer configuration: {0}")]
pub struct ConfigError(pub String);

impl IssuerConfig {
    /// An exact issuer.
    pub fn exact(url: impl Into<String>, issuer_type: IssuerType) -> IssuerConfig {
        IssuerConfig {
            url: Some(url.into()),
            wildcard_url: None,
            audience: default_audience(),
            issuer_type,
            challenge_claim: None,
            subject_domain: None,
        }
    }

    /// The claim the proof of possession signs.
    pub fn challenge_claim(&self) -> &str {
        match (&self.challenge_claim, self.issuer_type) {
            (Some(c), _) => c,
            (None, IssuerType::Email) => "email",
            (None, _) => "sub",
        }
    }

    /// Whether tokens from `iss` are this issuer's.
    pub fn matches(&self, iss: &str) -> bool {
        match (&self.url, &self.wildcard_url) {
            (Some(url), _) => url == iss,
            (None, Some(pattern)) => wildcard_matches(pattern, iss),
            (None, None) => false,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = match (&self.url, &self.wildcard_url) {
            (Some(u), None) | (None, Some(u)) => u,
            _ => return Err(ConfigError("each issuer needs exactly one of url and wildcard_url".into())),
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError(format!("issuer {url:?} is not an http(s) URL")));
        }
        if url.starts_with("http://") && !is_loopback_url(url) {
            return Err(ConfigError(format!("issuer {url:?}: plain http is allowed only on loopback")));
        }
        if let Some(p) = &self.wildcard_url {
            let host = p.split("://").nth(1).unwrap_or_default();
            if host.starts_with('*') || !host.contains('.') {
                return Err(ConfigError(format!("wildcard {p:?} must not start with * or cover a whole domain")));
            }
        }
        if self.audience.is_empty() {
            return Err(ConfigError(format!("issuer {url:?} has an empty audience")));
        }
        Ok(())
    }
}

impl Config {
    /// Parses and checks a JSON configuration.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let config: Config = serde_json::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every issuer.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.issuers.iter().try_for_each(IssuerConfig::validate)
    }

    /// The issuer `iss` belongs to: exact matches win over wildcards.
    pub fn issuer(&self, iss: &str) -> Option<&IssuerConfig> {
        self.issuers
            .iter()
            .find(|i| i.url.as_deref() == Some(iss))
            .or_else(|| self.issuers.iter().find(|i| i.matches(iss)))
    }
}

/// Whether `url` is on a loopback host, where plain http is fine for development. The host is
/// the one a client connects to, as the WHATWG URL parser (reqwest's) reads it: userinfo
/// (`http://127.0.0.1:1@issuer.example`), `\`, `?` and `#` cannot pass another host off as
/// loopback (issue 14 #10a).
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url).as_ref().map(url::Url::host) {
        Ok(Some(url::Host::Domain(name))) => name.eq_ignore_ascii_case("localhost"),
        Ok(Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        Ok(Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

/// Anchored match where each `*` is one non-empty DNS label (`[A-Za-z0-9-]+`).
fn wildcard_matches(pattern: &str, s: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = s.strip_prefix(first) else { return false };
    for literal in parts {
        let label_len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'-').count();
        if label_len == 0 {
            return false;
        }
        rest = &rest[label_len..];
        let Some(r) = rest.strip_prefix(literal) else { return false };
        rest = r;
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_anchored_and_match_one_label() {
        let p = "https://oidc.*.example.com";
        assert!(wildcard_matches(p, "https://oidc.eu-1.example.com"));
        assert!(!wildcard_matches(p, "https://oidc.a.b.example.com"));
        assert!(!wildcard_matches(p, "https://oidc..example.com"));
        assert!(!wildcard_matches(p, "https://oidc.evil.com/.example.com"));
        assert!(!wildcard_matches(p, "https://oidc.x.example.com.evil.com"));
        assert!(!wildcard_matches(p, "xhttps://oidc.x.example.com"));
    }

    #[test]
    fn configuration_is_checked() {
        let ok = r#"{"issuers":[{"url":"https://accounts.example.com","type":"email"},
                     {"wildcard_url":"https://oidc.*.example.com","type":"uri","audience":"x"}]}"#;
        let c = Config::from_json(ok).unwrap();
        assert_eq!(c.issuers[0].audience, "sigstore");
        assert_eq!(c.issuers[0].challenge_claim(), "email");
        assert_eq!(c.issuers[1].challenge_claim(), "sub");
        assert_eq!(c.issuer("https://oidc.a.example.com").unwrap().audience, "x");
        assert!(c.issuer("https://accounts.example.com.evil").is_none());
        for bad in [
            r#"{"issuers":[{"type":"email"}]}"#,
            r#"{"issuers":[{"url":"http://accounts.example.com","type":"email"}]}"#,
            r#"{"issuers":[{"wildcard_url":"https://*.com","type":"email"}]}"#,
            r#"{"issuers":[{"url":"https://a.example","type":"fax"}]}"#,
            r#"{"issuers":[{"url":"https://a.example","type":"email","extra":1}]}"#,
        ] {
            assert!(Config::from_json(bad).is_err(), "{bad}");
        }
        assert!(Config::from_json(r#"{"issuers":[{"url":"http://127.0.0.1:8080/oidc","type":"email"}]}"#).is_ok());
    }

    /// Issue 14 #10a: the host is what a client connects to, not the text before the last ':'
    /// (`http://127.0.0.1:1@issuer.example` goes to issuer.example, user `127.0.0.1`).
    #[test]
    fn loopback_is_the_host_a_client_connects_to() {
        for url in [
            "http://127.0.0.1:8080/oidc",
            "http://127.0.0.1",
            "http://localhost:80/",
            "http://LOCALHOST/x",
            "http://[::1]:8080/",
            "http://127.0.0.2:1/",
            "http://user:pw@127.0.0.1:8080/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://127.0.0.1:1@issuer.example",
            "http://127.0.0.1:1@issuer.example/.well-known/openid-configuration",
            "http://localhost@evil.example/",
            "http://[::1]@evil.example/",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example:8080/",
            "http://evil.example\\@127.0.0.1/",
            "http://evil.example#@127.0.0.1/",
            "http://evil.example?@127.0.0.1/",
            "http://issuer.example/127.0.0.1:80",
            "127.0.0.1:8080",
            "",
            "http://",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
        let config = r#"{"issuers":[{"url":"http://127.0.0.1:1@issuer.example","type":"email"}]}"#;
        assert!(Config::from_json(config).is_err());
    }
}
