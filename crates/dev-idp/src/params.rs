//! Request parameters and the checks on their values: the urlencoded form parser, redirect
//! URIs, PKCE, email addresses.

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

/// The longest `state` or `nonce` kept: real clients send 20–64 characters, and each one is held
/// in memory with its code until the code expires.
pub(crate) const MAX_ECHOED: usize = 1024;
/// The longest redirect URI accepted.
pub(crate) const MAX_REDIRECT_URI: usize = 2048;
/// The longest email address (RFC 5321's path limit less the angle brackets).
pub(crate) const MAX_EMAIL: usize = 254;

/// The parameters of a query string or `application/x-www-form-urlencoded` body.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `input`. RFC 6749 §3.1: parameters without a value are treated as omitted, and
    /// none may be sent twice (which copy would count is exactly the ambiguity attacks use).
    pub(crate) fn parse(input: &[u8]) -> Result<Params, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(input) {
            if v.is_empty() {
                continue;
            }
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(format!("the parameter {:?} is sent more than once", truncate(&k, 40)));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if sent with a value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Whether `uri` is a loopback redirect URI a native app may use with any port (RFC 8252 §7.3):
/// `http` on 127.0.0.1, `[::1]` or `localhost`. The host is the one a browser would connect to
/// (so `http://127.0.0.1@evil.example/` is not loopback), and there is no fragment (RFC 6749
/// §3.1.2) nor credentials.
pub(crate) fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else { return false };
    url.scheme() == "http"
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
            Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
            None => false,
        }
}

/// `uri` with `pairs` appended to its query, as RFC 6749 §4.1.2 redirects carry them. `None` if
/// `uri` is not a URL (which a checked redirect URI always is).
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(url.into())
}

/// Whether `s` is an S256 code challenge: base64url of a SHA-256 digest, 43 characters.
pub(crate) fn is_s256_challenge(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `s` is a code verifier: 43 to 128 unreserved characters (RFC 7636 §4.1).
pub(crate) fn is_code_verifier(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The S256 code challenge of `verifier` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    B64URL.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

/// Checks a typed email address and returns it normalised (trimmed, domain lowercased).
///
/// The address ends up in `sub`, `email` and the certificate's rfc822Name SAN (an IA5String), so
/// only plain ASCII addresses are accepted: a dot-atom local part (RFC 5322 §3.2.3) and a domain
/// of LDH labels. Quoted local parts and internationalised addresses are refused rather than
/// half-supported.
pub(crate) fn normalize_email(input: &str) -> Result<String, String> {
    let email = input.trim();
    if email.is_empty() {
        return Err("type an email address".into());
    }
    if email.len() > MAX_EMAIL {
        return Err(format!("an email address has at most {MAX_EMAIL} characters"));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("an email address needs an @".into());
    };
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.split('.').all(|part| !part.is_empty() && part.bytes().all(atext));
    if !local_ok {
        return Err("the part before the @ may use only letters, digits, dots (not first, last or doubled) and !#$%&'*+/=?^_`{|}~-".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if domain.is_empty() || !domain.split('.').all(label_ok) {
        return Err("the part after the @ must be a domain name of letters, digits and hyphens".into());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// At most `max` characters of `s`, for error messages that quote input.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_treat_empty_as_absent_and_refuse_duplicates() {
        let p = Params::parse(b"a=1&b=&c=x+y%26z&client_secret=").expect("parse");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y&z"));
        assert_eq!(p.get("client_secret"), None);
        assert!(Params::parse(b"a=1&a=2").is_err());
        // An empty duplicate is an omitted parameter, not a second value.
        assert_eq!(Params::parse(b"a=1&a=").expect("parse").get("a"), Some("1"));
    }

    #[test]
    fn loopback_redirects() {
        for ok in [
            "http://127.0.0.1:53124/callback",
            "http://127.0.0.1/",
            "http://localhost:8080/auth/callback",
            "http://LOCALHOST:1/x?y=z",
            "http://[::1]:9/cb",
        ] {
            assert!(is_loopback_redirect(ok), "{ok} refused");
        }
        for bad in [
            "https://127.0.0.1:1/cb",
            "http://127.0.0.2:1/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.1@evil.example/cb",
            "http://user@127.0.0.1/cb",
            "http://localhost.evil.example/",
            "http://evil.example/http://127.0.0.1/",
            "http://127.0.0.1:1/cb#frag",
            "http://[::2]/cb",
            "/relative",
            "urn:ietf:wg:oauth:2.0:oob",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad} accepted");
        }
    }

    #[test]
    fn redirect_query_is_appended_and_encoded() {
        let u = with_query("http://127.0.0.1:5/cb?keep=1", &[("code", "a b"), ("state", "x&y=<z>")]).expect("url");
        assert_eq!(u, "http://127.0.0.1:5/cb?keep=1&code=a+b&state=x%26y%3D%3Cz%3E");
    }

    #[test]
    fn pkce() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(is_code_verifier(verifier));
        assert!(is_s256_challenge(&s256(verifier)));
        assert!(!is_code_verifier("short"));
        assert!(!is_code_verifier(&"a".repeat(129)));
        assert!(!is_code_verifier(&format!("{}!", "a".repeat(50))));
        assert!(!is_s256_challenge(&format!("{}=", "a".repeat(42))));
    }

    #[test]
    fn emails() {
        assert_eq!(normalize_email("  alice@Example.COM "), Ok("alice@example.com".into()));
        assert_eq!(normalize_email("A.b+tag@localhost"), Ok("A.b+tag@localhost".into()));
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a..b@example.com",
            ".a@example.com",
            "a b@example.com",
            "<script>alert(1)</script>@example.com",
            "alice@exa_mple.com",
            "alice@-example.com",
            "alice@example..com",
            "élise@example.com",
            "alice@bücher.example",
            "\"quoted\"@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
