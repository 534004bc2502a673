//! From a verified token to what the certificate says: the subject alternative name, the
//! challenge the proof of possession signs, and Fulcio's extensions.

use der::asn1::ObjectIdentifier;

use crate::config::IssuerType;
use crate::oidc::{TokenError, VerifiedToken};

/// The identity a certificate certifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    /// An rfc822Name.
    Email(String),
    /// A uniformResourceIdentifier.
    Uri(String),
    /// An otherName of type `1.3.6.1.4.1.57264.1.7` (Fulcio's username SAN): `user!host`.
    Username(String),
}

impl San {
    /// The identity as a string, as verifiers match it.
    pub fn value(&self) -> &str {
        match self {
            San::Email(s) | San::Uri(s) | San::Username(s) => s,
        }
    }
}

/// Fulcio's certificate extensions (`1.3.6.1.4.1.57264.1.x`).
pub mod oids {
    use der::asn1::ObjectIdentifier as Oid;

    /// Issuer (v1): the raw URL bytes, read by sigstore-python.
    pub const ISSUER_V1: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.1");
    /// GitHub workflow trigger (v1, raw).
    pub const GITHUB_WORKFLOW_TRIGGER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.2");
    /// GitHub workflow SHA (v1, raw).
    pub const GITHUB_WORKFLOW_SHA: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.3");
    /// GitHub workflow name (v1, raw).
    pub const GITHUB_WORKFLOW_NAME: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.4");
    /// GitHub workflow repository (v1, raw).
    pub const GITHUB_WORKFLOW_REPOSITORY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.5");
    /// GitHub workflow ref (v1, raw).
    pub const GITHUB_WORKFLOW_REF: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.6");
    /// The otherName type of a username SAN.
    pub const OTHERNAME_USERNAME: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.7");
    /// Issuer (v2): a DER UTF8String.
    pub const ISSUER_V2: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.8");
    /// Build signer URI.
    pub const BUILD_SIGNER_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.9");
    /// Build signer digest.
    pub const BUILD_SIGNER_DIGEST: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.10");
    /// Runner environment.
    pub const RUNNER_ENVIRONMENT: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.11");
    /// Source repository URI.
    pub const SOURCE_REPOSITORY_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.12");
    /// Source repository digest.
    pub const SOURCE_REPOSITORY_DIGEST: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.13");
    /// Source repository ref.
    pub const SOURCE_REPOSITORY_REF: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.14");
    /// Source repository identifier.
    pub const SOURCE_REPOSITORY_IDENTIFIER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.15");
    /// Source repository owner URI.
    pub const SOURCE_REPOSITORY_OWNER_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.16");
    /// Source repository owner identifier.
    pub const SOURCE_REPOSITORY_OWNER_IDENTIFIER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.17");
    /// Build config URI.
    pub const BUILD_CONFIG_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.18");
    /// Build config digest.
    pub const BUILD_CONFIG_DIGEST: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.19");
    /// Build trigger.
    pub const BUILD_TRIGGER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.20");
    /// Run invocation URI.
    pub const RUN_INVOCATION_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.21");
    /// Source repository visibility at signing.
    pub const SOURCE_REPOSITORY_VISIBILITY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.22");
    /// Deployment environment.
    pub const DEPLOYMENT_ENVIRONMENT: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.23");
    /// Token subject: the raw `sub`.
    pub const TOKEN_SUBJECT: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.24");
}

/// How an extension value is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The raw bytes of the string (Fulcio's deprecated v1 extensions).
    Raw,
    /// A DER UTF8String (the v2 extensions).
    Utf8String,
}

/// Everything the certificate will say about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The SAN.
    pub san: San,
    /// The token issuer.
    pub issuer: String,
    /// The token subject.
    pub subject: String,
    /// The bytes the proof of possession must sign.
    pub challenge: String,
    /// Extensions in the order they go into the certificate.
    pub extensions: Vec<(ObjectIdentifier, Encoding, String)>,
}

/// The longest claim value copied into a certificate.
const MAX_CLAIM_CHARS: usize = 1024;

impl Principal {
    /// What a verified token certifies.
    pub fn from_token(token: &VerifiedToken) -> Result<Principal, TokenError> {
        let claim = |name: &'static str| -> Result<String, TokenError> {
            match token.claim(name) {
                Some(v) if !v.is_empty() && v.chars().count() <= MAX_CLAIM_CHARS => Ok(v.to_owned()),
                _ => Err(TokenError::MissingClaim(name)),
            }
        };
        let subject = claim("sub")?;
        let issuer = token.iss.clone();
        let challenge_claim = token.issuer.challenge_claim();
        let challenge = match challenge_claim {
            "email" => claim("email")?,
            "sub" => subject.clone(),
            other => token.claim(other).map(str::to_owned).ok_or(TokenError::MissingClaim("challenge claim"))?,
        };
        let mut extensions = vec![(oids::ISSUER_V1, Encoding::Raw, issuer.clone())];
        let san = match token.issuer.issuer_type {
            IssuerType::Email => {
                let email = claim("email")?;
                if !is_plausible_email(&email) {
                    return Err(TokenError::BadSubject(format!("{email:?} is not an email address")));
                }
                San::Email(email)
            }
            IssuerType::Uri => {
                if !is_uri(&subject) {
                    return Err(TokenError::BadSubject("the subject is not an absolute URI".into()));
                }
                if let Some(domain) = &token.issuer.subject_domain {
                    if uri_host(&subject).as_deref() != Some(domain.as_str()) {
                        return Err(TokenError::BadSubject(format!("the subject URI is not on {domain}")));
                    }
                    // Certified only as the CA reads it, so that no verifier reads another host
                    // into the certificate's spelling of it.
                    if !is_canonical_uri(&subject) {
                        return Err(TokenError::BadSubject(format!(
                            "the subject URI on {domain} must be written in canonical form (lower-case host, no \
                             userinfo, no escapes or dot segments a parser would rewrite)"
                        )));
                    }
                }
                San::Uri(subject.clone())
            }
            IssuerType::Username => {
                if subject.contains('!') || subject.chars().any(char::is_whitespace) {
                    return Err(TokenError::BadSubject("a username holds no '!' or spaces".into()));
                }
                let host = uri_host(&issuer).unwrap_or_else(|| issuer.clone());
                San::Username(format!("{subject}!{host}"))
            }
            IssuerType::GithubWorkflow => {
                let server = "https://github.com";
                let workflow_ref = claim("job_workflow_ref")?;
                let repo = claim("repository")?;
                // The legacy v1 extensions first, as Fulcio orders them.
                for (oid, name) in [
                    (oids::GITHUB_WORKFLOW_TRIGGER, "event_name"),
                    (oids::GITHUB_WORKFLOW_SHA, "sha"),
                    (oids::GITHUB_WORKFLOW_NAME, "workflow"),
                    (oids::GITHUB_WORKFLOW_REPOSITORY, "repository"),
                    (oids::GITHUB_WORKFLOW_REF, "ref"),
                ] {
                    extensions.push((oid, Encoding::Raw, claim(name)?));
                }
                extensions.push((oids::ISSUER_V2, Encoding::Utf8String, issuer.clone()));
                let run =
                    format!("{server}/{repo}/actions/runs/{}/attempts/{}", claim("run_id")?, claim("run_attempt")?);
                let mut v2 = vec![
                    (oids::BUILD_SIGNER_URI, format!("{server}/{workflow_ref}")),
                    (oids::BUILD_SIGNER_DIGEST, claim("job_workflow_sha")?),
                    (oids::RUNNER_ENVIRONMENT, claim("runner_environment")?),
                    (oids::SOURCE_REPOSITORY_URI, format!("{server}/{repo}")),
                    (oids::SOURCE_REPOSITORY_DIGEST, claim("sha")?),
                    (oids::SOURCE_REPOSITORY_REF, claim("ref")?),
                    (oids::SOURCE_REPOSITORY_IDENTIFIER, claim("repository_id")?),
                    (oids::SOURCE_REPOSITORY_OWNER_URI, format!("{server}/{}", claim("repository_owner")?)),
                    (oids::SOURCE_REPOSITORY_OWNER_IDENTIFIER, claim("repository_owner_id")?),
                    (oids::BUILD_CONFIG_URI, format!("{server}/{}", claim("workflow_ref")?)),
                    (oids::BUILD_CONFIG_DIGEST, claim("workflow_sha")?),
                    (oids::BUILD_TRIGGER, claim("event_name")?),
                    (oids::RUN_INVOCATION_URI, run),
                    (oids::SOURCE_REPOSITORY_VISIBILITY, claim("repository_visibility")?),
                ];
                if let Ok(env) = claim("environment") {
                    v2.push((oids::DEPLOYMENT_ENVIRONMENT, env));
                }
                extensions.extend(v2.into_iter().map(|(oid, v)| (oid, Encoding::Utf8String, v)));
                extensions.push((oids::TOKEN_SUBJECT, Encoding::Utf8String, subject.clone()));
                return Ok(Principal {
                    san: San::Uri(format!("{server}/{workflow_ref}")),
                    issuer,
                    subject,
                    challenge,
                    extensions,
                });
            }
        };
        extensions.push((oids::ISSUER_V2, Encoding::Utf8String, issuer.clone()));
        extensions.push((oids::TOKEN_SUBJECT, Encoding::Utf8String, subject.clone()));
        Ok(Principal { san, issuer, subject, challenge, extensions })
    }
}

fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.is_ascii()
        && !s.chars().any(|c| c.is_ascii_control() || c.is_whitespace())
}

fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else { return false };
    !scheme.is_empty()
        && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && s.is_ascii()
        && !s.chars().any(|c| c.is_ascii_control() || c == ' ')
}

/// The host of a URI as a client reaching it reads it (the WHATWG parser: userinfo, `\`, `?`
/// and `#` cannot pass one host off as another; issue 14 #10a), lower-case, without brackets.
/// Whether `uri` is spelled as a WHATWG URL parser serialises it (an empty path aside), with no
/// userinfo: then every parser that accepts it reads the same host.
fn is_canonical_uri(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else { return false };
    let serialised = url.as_str();
    url.username().is_empty()
        && url.password().is_none()
        && (serialised == uri || (url.path() == "/" && serialised.strip_suffix('/') == Some(uri)))
}

fn uri_host(uri: &str) -> Option<String> {
    let host = url::Url::parse(uri).ok()?.host_str()?.to_owned();
    Some(host.trim_start_matches('[').trim_end_matches(']').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IssuerConfig;
    use serde_json::json;

    fn token(t: IssuerType, claims: serde_json::Value) -> VerifiedToken {
        VerifiedToken {
            issuer: IssuerConfig::exact("https://issuer.example", t),
            iss: "https://issuer.example".into(),
            claims: claims.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn email_tokens_certify_the_email_and_challenge_it() {
        let p =
            Principal::from_token(&token(IssuerType::Email, json!({"sub": "123", "email": "a@b.example"}))).unwrap();
        assert_eq!(p.san, San::Email("a@b.example".into()));
        assert_eq!(p.challenge, "a@b.example");
        let oids: Vec<_> = p.extensions.iter().map(|e| e.0).collect();
        assert_eq!(oids, [oids::ISSUER_V1, oids::ISSUER_V2, oids::TOKEN_SUBJECT]);
        assert!(Principal::from_token(&token(IssuerType::Email, json!({"sub": "1", "email": "nope"}))).is_err());
        assert!(Principal::from_token(&token(IssuerType::Email, json!({"sub": "1"}))).is_err());
    }

    #[test]
    fn uri_and_username_subjects() {
        let p = Principal::from_token(&token(IssuerType::Uri, json!({"sub": "spiffe://x/y"}))).unwrap();
        assert_eq!((p.san, p.challenge.as_str()), (San::Uri("spiffe://x/y".into()), "spiffe://x/y"));
        assert!(Principal::from_token(&token(IssuerType::Uri, json!({"sub": "not a uri"}))).is_err());
        let p = Principal::from_token(&token(IssuerType::Username, json!({"sub": "alice"}))).unwrap();
        assert_eq!(p.san, San::Username("alice!issuer.example".into()));
    }

    #[test]
    fn github_workflow_tokens_fill_the_ci_extensions() {
        let claims = json!({
            "sub": "repo:o/r:ref:refs/heads/main", "job_workflow_ref": "o/r/.github/workflows/x.yml@refs/heads/main",
            "job_workflow_sha": "abc", "runner_environment": "github-hosted", "repository": "o/r",
            "sha": "abc", "ref": "refs/heads/main", "repository_id": "1", "repository_owner": "o",
            "repository_owner_id": "2", "workflow_ref": "o/r/.github/workflows/x.yml@refs/heads/main",
            "workflow_sha": "abc", "event_name": "push", "run_id": "9", "run_attempt": "1",
            "repository_visibility": "public", "workflow": "x"
        });
        let p = Principal::from_token(&token(IssuerType::GithubWorkflow, claims)).unwrap();
        assert_eq!(p.san, San::Uri("https://github.com/o/r/.github/workflows/x.yml@refs/heads/main".into()));
        let get = |oid| p.extensions.iter().find(|e| e.0 == oid).map(|e| e.2.as_str());
        assert_eq!(get(oids::RUN_INVOCATION_URI), Some("https://github.com/o/r/actions/runs/9/attempts/1"));
        assert_eq!(get(oids::SOURCE_REPOSITORY_OWNER_URI), Some("https://github.com/o"));
        assert_eq!(get(oids::DEPLOYMENT_ENVIRONMENT), None);
        assert_eq!(p.challenge, "repo:o/r:ref:refs/heads/main");
    }

    /// A subject restricted to a domain is certified only as the CA reads it: a host in another
    /// case, a percent-encoded dot, a backslash that WHATWG parsers read as a path separator (and
    /// naive ones as userinfo, putting the host elsewhere), or userinfo would otherwise go into
    /// the certificate spelled so that verifiers matching identities as strings or patterns
    /// could read another host into it (found by the `token` fuzz target's invariant).
    #[test]
    fn domain_restricted_subjects_are_certified_only_in_canonical_form() {
        let on = |sub: &str| {
            let mut t = token(IssuerType::Uri, json!({ "sub": sub }));
            t.issuer.subject_domain = Some("ci.example.com".into());
            Principal::from_token(&t)
        };
        for good in ["https://ci.example.com/p/1", "https://ci.example.com", "https://ci.example.com:8443/a?b=c"] {
            assert_eq!(on(good).unwrap().san, San::Uri(good.into()), "{good}");
        }
        for bad in [
            "https://CI.EXAMPLE.COM/p",
            "https://ci.example.cOm/p/1",
            "https://ci%2Eexample.com/p/1",
            "https://ci.example.com\\@evil.example/p",
            "https://u@ci.example.com/p",
            "https://ci.example.com/a/../b",
            "https://evil.example/p",
        ] {
            assert!(matches!(on(bad), Err(TokenError::BadSubject(_))), "{bad}: {:?}", on(bad).map(|p| p.san));
        }
    }

    /// Issue 14 #10a: the subject-domain check reads the host as a client would.
    #[test]
    fn uri_hosts_are_the_hosts_clients_reach() {
        assert_eq!(uri_host("https://good.example/p").as_deref(), Some("good.example"));
        assert_eq!(uri_host("https://u:p@Good.Example:8443/p").as_deref(), Some("good.example"));
        assert_eq!(uri_host("https://good.example@evil.example/").as_deref(), Some("evil.example"));
        assert_eq!(uri_host("https://evil.example\\@good.example/").as_deref(), Some("evil.example"));
        assert_eq!(uri_host("https://evil.example#@good.example/").as_deref(), Some("evil.example"));
        assert_eq!(uri_host("https://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(uri_host("not a uri"), None);
    }
}
