//! Who must have signed: the identity policy a verification is held to.
//!
//! A bundle proves that *someone* with a certificate from a trusted CA signed; without a policy
//! that is anyone who can log in anywhere (cosign#2056). So a policy is not optional: the caller
//! names the identity and its issuer, exactly or by regular expression, or the managed key.
//! Regular expressions must match the whole value (`^…$` is implied), so `.*@example\.com`
//! cannot be satisfied by `evil@example.com.attacker.net`.

use crate::crypto::PublicKey;

/// How one value (an identity or an issuer) must look.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Exactly this string.
    Exact(String),
    /// A regular expression the whole value must match.
    Regex(regex_lite::Regex),
}

/// A regular expression that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad regular expression {pattern:?}: {reason}")]
pub struct PatternError {
    /// The pattern.
    pub pattern: String,
    /// Why.
    pub reason: String,
}

impl Matcher {
    /// A matcher for the whole of a value by regular expression.
    pub fn regex(pattern: &str) -> Result<Matcher, PatternError> {
        regex_lite::Regex::new(&format!("^(?:{pattern})$"))
            .map(Matcher::Regex)
            .map_err(|e| PatternError { pattern: pattern.to_owned(), reason: e.to_string() })
    }

    /// Whether `value` satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(want) => want == value,
            Matcher::Regex(re) => re.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "{s:?}"),
            Matcher::Regex(re) => {
                let p = re.as_str();
                let inner = p.strip_prefix("^(?:").and_then(|p| p.strip_suffix(")$")).unwrap_or(p);
                write!(f, "/{inner}/")
            }
        }
    }
}

/// What the signer must be.
#[derive(Debug, Clone)]
pub enum Policy {
    /// A keyless signature by this identity (the certificate's SAN), vouched for by this OIDC
    /// issuer (the certificate's Fulcio issuer extension).
    Identity {
        /// The identity: an email, a URI (CI workflows), a username.
        identity: Matcher,
        /// The OIDC issuer URL.
        issuer: Matcher,
    },
    /// A signature by this managed key (no certificate).
    Key {
        /// The key.
        key: PublicKey,
        /// Its DER SubjectPublicKeyInfo as given (log entries record the signer by it).
        spki: Vec<u8>,
    },
}

impl Policy {
    /// A managed-key policy from a PEM `PUBLIC KEY`.
    pub fn key_from_pem(text: &str) -> Result<Policy, crate::crypto::CryptoError> {
        let spki = crate::crypto::public_key_der(text)?;
        Ok(Policy::Key { key: PublicKey::from_spki_der(&spki)?, spki })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_expressions_match_whole_values() {
        let m = Matcher::regex(r".*@example\.com").unwrap();
        assert!(m.matches("alice@example.com"));
        assert!(!m.matches("alice@example.com.attacker.net"));
        assert!(!m.matches("xalice@example.comx"));
        let alt = Matcher::regex("a|b").unwrap();
        assert!(alt.matches("a") && alt.matches("b") && !alt.matches("ab"));
        assert_eq!(alt.to_string(), "/a|b/");
        assert!(Matcher::regex("(").is_err());
        assert!(!Matcher::Exact("a".into()).matches("A"));
    }
}
