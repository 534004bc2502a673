//! What can go wrong while signing, each saying which service and what to do next.

use std::fmt;

/// The services a signing talks to, named in errors so the user knows whom to blame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The certificate authority (Fulcio v2 API).
    CertificateAuthority,
    /// The RFC 3161 timestamp authority.
    TimestampAuthority,
    /// The Rekor v2 transparency log.
    TransparencyLog,
    /// The OpenID Connect identity provider.
    IdentityProvider,
    /// The CI system's token endpoint (GitHub Actions).
    CiTokenService,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::CertificateAuthority => "certificate authority",
            Service::TimestampAuthority => "timestamp authority",
            Service::TransparencyLog => "transparency log",
            Service::IdentityProvider => "identity provider",
            Service::CiTokenService => "CI token service",
        })
    }
}

/// Why a signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The signing config names no service of a kind this client can use now.
    #[error("the signing config has no usable {service}: {detail}; pin a current trust config or pass another one")]
    NoService {
        /// Which kind.
        service: Service,
        /// What was wrong with the ones it lists.
        detail: String,
    },
    /// The service could not be reached (connection refused, DNS, timeout).
    #[error("could not reach the {service} at {url}: {detail}; check that it is running and the URL is right")]
    Unreachable {
        /// Which service.
        service: Service,
        /// The URL requested.
        url: String,
        /// What failed, with its causes.
        detail: String,
    },
    /// The service answered with an error status.
    #[error("the {service} at {url} refused the request: HTTP {status}: {message}{}", hint_suffix(.hint))]
    Refused {
        /// Which service.
        service: Service,
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's own message (its JSON `message`, or the start of its answer).
        message: String,
        /// What to do about it, when known.
        hint: Option<&'static str>,
    },
    /// The service answered success with something that is not what the protocol says.
    #[error("the {service} at {url} gave an answer that cannot be used: {detail}; report this to its operator")]
    BadAnswer {
        /// Which service.
        service: Service,
        /// The URL requested.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The answers do not verify against the trusted root.
    #[error(
        "the {service}'s answer does not verify against the trusted root: {detail}; re-pin the trust config if the deployment changed its keys"
    )]
    Untrusted {
        /// Which service.
        service: Service,
        /// What failed.
        detail: String,
    },
    /// Logging in at the identity provider produced no token.
    #[error("logging in at {issuer} failed: {detail}")]
    Login {
        /// The issuer.
        issuer: String,
        /// What happened, and what to do.
        detail: String,
    },
    /// The in-toto statement to sign is not one.
    #[error("not an in-toto statement: {0}; --in-toto signs a JSON in-toto Statement (v0.1 or v1)")]
    NotAStatement(String),
    /// The ephemeral key could not be made or used (the system's crypto failed).
    #[error("the signing key failed: {0}")]
    Key(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not set up HTTPS: {0}")]
    Client(String),
}

fn hint_suffix(hint: &Option<&'static str>) -> String {
    hint.map(|h| format!("; {h}")).unwrap_or_default()
}
