//! What the fuzz targets share: two token verifiers with fixed key sets, a runtime to drive them,
//! and the invariants every result must hold, beyond not panicking.
//!
//! - [`unknown_key_verifier`] trusts one issuer whose keys (RSA, P-256, Ed25519, and an
//!   encryption key that must be skipped) are public here but whose private keys exist nowhere:
//!   every token it is given must be refused.
//! - [`signer_verifier`] trusts five issuers of every type, all with the key [`sign`] signs with,
//!   so the fuzzer gets past the signature and reaches the claim checks and the principal; what
//!   it accepts is checked against the rules the CA promises ([`check_accepted`]).

pub mod bundle;
pub mod media;
pub mod seeds;
pub mod statement;
pub mod tlog;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as B64URL};
use der::{Decode, Encode};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};
use sig_share_ca::config::{Config, IssuerConfig, IssuerType};
use sig_share_ca::oidc::{IssuerKeys, KeySource, MAX_TOKEN_BYTES, TokenError, TokenVerifier, VerifiedToken};
use sig_share_ca::principal::{Principal, San};
use sig_share_ca::request::{self, KeyClaim, Parsed, RequestError};
use sig_share_ca::service::ClientKey;
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// The verifiers' clock: fixed, so every run of an input takes the same path.
pub const NOW_SECS: u64 = 1_800_000_000;

/// The clock as the CA takes it.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// The one issuer [`unknown_key_verifier`] trusts (also the first of [`signer_verifier`]'s).
pub const TRUSTED_ISSUER: &str = "https://accounts.example.com";

/// Public keys whose private halves were thrown away when this file was written: `rsa-1`
/// (RS256), `ec-1` (ES256), `ed-1` (Ed25519, no `alg`), and `enc-1`, an encryption key the CA
/// must skip.
const UNKNOWN_JWKS: &str = r#"{"keys": [
 {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-1", "e": "AQAB", "n": "vGo1TadDJTr67x3jbcu0yTWBjyVgwxziLYbPrthnRWn5tG0SAysvFWqAH6Vf3TImUy4mSskm_VSL2getls6DkMjNOA-0e21Q2JtfmPjv0zgUzLPV5I9ieONEhzVjgqCyPGsYw3M9qpr-Xe7A-KTQTIEqAHv1mbkZltULaZTCV3NXqXSFvK6IyxUMDK1LxnUyMSLEiF102b6W-6GyclnKxvKl3V1jq_lN5_pZrkyq8fMsw8CSkicMaGE5bbsxQh4UFLlGkg0o2dH8StX54EmNiCSuWLnALGvikrsY9bIUxOx_mcWgEJw3ocK2Sm3O8qCt8tVFkStKDwPVqngEebJC5Q"},
 {"kty": "EC", "use": "sig", "alg": "ES256", "kid": "ec-1", "crv": "P-256", "x": "mI4xD0WpHZTZryhCc7Ke9NjSfX260_ncAGxJfo1DoKE", "y": "8XKzFfwW2U5rMNG1ycfsRtAq66KjOUFnN6Fo7QukqVg"},
 {"kty": "OKP", "use": "sig", "kid": "ed-1", "crv": "Ed25519", "x": "SnSwiHvprUzhZmKR-dxP-e1J2OT5_4c4_yQ3M-UDGMc"},
 {"kty": "RSA", "use": "enc", "kid": "enc-1", "e": "AQAB", "n": "vGo1TadDJTr67x3jbcu0yTWBjyVgwxziLYbPrthnRWn5tG0SAysvFWqAH6Vf3TImUy4mSskm_VSL2getls6DkMjNOA-0e21Q2JtfmPjv0zgUzLPV5I9ieONEhzVjgqCyPGsYw3M9qpr-Xe7A-KTQTIEqAHv1mbkZltULaZTCV3NXqXSFvK6IyxUMDK1LxnUyMSLEiF102b6W-6GyclnKxvKl3V1jq_lN5_pZrkyq8fMsw8CSkicMaGE5bbsxQh4UFLlGkg0o2dH8StX54EmNiCSuWLnALGvikrsY9bIUxOx_mcWgEJw3ocK2Sm3O8qCt8tVFkStKDwPVqngEebJC5Q"}
]}"#;

/// The Ed25519 key [`sign`] signs with (PKCS#8), made for the fuzzers and trusted nowhere else.
const SIGNER_PKCS8_B64: &str = "MC4CAQAwBQYDK2VwBCIEIFkn8ySP3cgmRBWwG+6nTZlP7uLD7SIEm8l8cp4aSR/i";
/// Its public half.
const SIGNER_JWKS: &str = r#"{"keys": [
 {"kty": "OKP", "use": "sig", "alg": "EdDSA", "kid": "signer-1", "crv": "Ed25519", "x": "Wfam5RYJ-_ZMtafAD42SemrFxVlFpLNiSvqvuOK7U4k"}
]}"#;
/// The signer's key ID.
pub const SIGNER_KID: &str = "signer-1";

/// Issuers [`signer_verifier`] trusts, one of each kind: `(iss to use, config)`.
pub fn signer_issuers() -> &'static [(&'static str, IssuerConfig)] {
    static ISSUERS: OnceLock<Vec<(&'static str, IssuerConfig)>> = OnceLock::new();
    ISSUERS.get_or_init(|| {
        let wildcard = IssuerConfig {
            url: None,
            wildcard_url: Some("https://oidc.*.example.com".into()),
            audience: "sig-share".into(),
            issuer_type: IssuerType::Uri,
            challenge_claim: None,
            subject_domain: Some("ci.example.com".into()),
        };
        let custom_challenge = IssuerConfig {
            challenge_claim: Some("preferred_username".into()),
            ..IssuerConfig::exact("https://custom.example.net", IssuerType::Uri)
        };
        vec![
            (TRUSTED_ISSUER, IssuerConfig::exact(TRUSTED_ISSUER, IssuerType::Email)),
            ("https://oidc.eu-1.example.com", wildcard),
            (
                "https://token.actions.githubusercontent.com",
                IssuerConfig::exact("https://token.actions.githubusercontent.com", IssuerType::GithubWorkflow),
            ),
            ("https://git.example.org", IssuerConfig::exact("https://git.example.org", IssuerType::Username)),
            ("https://custom.example.net", custom_challenge),
        ]
    })
}

/// A key source that serves one fixed key set, and checks the CA's promise that keys are only
/// ever asked for a configured issuer (so a token cannot make the CA fetch from a URL it names).
#[derive(Debug)]
pub struct FixedKeys {
    config: Config,
    keys: Arc<IssuerKeys>,
}

impl KeySource for FixedKeys {
    async fn keys(&self, issuer: &str, _refresh: bool) -> Result<Arc<IssuerKeys>, String> {
        assert!(self.config.issuer(issuer).is_some(), "keys were asked for the untrusted issuer {issuer:?}");
        Ok(self.keys.clone())
    }
}

fn verifier(config: Config, jwks: &str) -> TokenVerifier<FixedKeys> {
    config.validate().expect("a valid configuration");
    let set: JwkSet = serde_json::from_str(jwks).expect("a JWK set");
    let keys = Arc::new(IssuerKeys::from_jwks(&set));
    TokenVerifier::new(config.clone(), FixedKeys { config, keys })
}

/// One exact issuer, keys nobody holds: accepts nothing.
pub fn unknown_key_verifier() -> &'static TokenVerifier<FixedKeys> {
    static V: OnceLock<TokenVerifier<FixedKeys>> = OnceLock::new();
    V.get_or_init(|| {
        let config = Config { issuers: vec![IssuerConfig::exact(TRUSTED_ISSUER, IssuerType::Email)] };
        verifier(config, UNKNOWN_JWKS)
    })
}

/// Five issuers, all with the signer's key.
pub fn signer_verifier() -> &'static TokenVerifier<FixedKeys> {
    static V: OnceLock<TokenVerifier<FixedKeys>> = OnceLock::new();
    V.get_or_init(|| {
        let config = Config { issuers: signer_issuers().iter().map(|(_, c)| c.clone()).collect() };
        verifier(config, SIGNER_JWKS)
    })
}

/// The signer's EdDSA signature over `message`, base64url.
pub fn sign(message: &[u8]) -> String {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    let key = KEY.get_or_init(|| EncodingKey::from_ed_der(&BASE64.decode(SIGNER_PKCS8_B64).expect("base64")));
    jsonwebtoken::crypto::sign(message, key, Algorithm::EdDSA).expect("an Ed25519 signature")
}

/// `base64url(header).base64url(payload)`.
pub fn signing_input(header: &[u8], payload: &[u8]) -> String {
    format!("{}.{}", B64URL.encode(header), B64URL.encode(payload))
}

/// Runs `verify` to completion on a current-thread runtime built once.
pub fn verify(verifier: &TokenVerifier<FixedKeys>, token: &str) -> Result<VerifiedToken, TokenError> {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"));
    let result = rt.block_on(verifier.verify(token, now()));
    if debug() {
        eprintln!("verify -> {:?}", result.as_ref().map(|v| &v.claims));
    }
    result
}

/// `SIG_SHARE_FUZZ_DEBUG=1`: print what each check saw (for running a target on one input).
pub fn debug() -> bool {
    static D: OnceLock<bool> = OnceLock::new();
    *D.get_or_init(|| std::env::var_os("SIG_SHARE_FUZZ_DEBUG").is_some())
}

/// Invariants of any verification result.
pub fn check_any(token: &str, result: &Result<VerifiedToken, TokenError>) {
    if token.len() > MAX_TOKEN_BYTES {
        assert_eq!(result.as_ref().err(), Some(&TokenError::TooLarge(token.len())), "an oversized token");
    } else {
        assert!(!matches!(result, Err(TokenError::TooLarge(_))), "TooLarge for a {}-byte token", token.len());
    }
    if let Err(e) = result {
        let _ = e.to_string();
    }
}

/// Verifies `token` with the unknown-key verifier: it must be refused.
pub fn check_refused(token: &str) {
    let result = verify(unknown_key_verifier(), token);
    check_any(token, &result);
    if let Ok(v) = result {
        panic!("a token was accepted without its issuer's private key: {token:?} -> {:?}", v.claims);
    }
}

/// Verifies `token` with the signer's verifier; `signed` says whether its signature is the
/// signer's over its own first two parts (when not, it must be refused). Checks what is
/// accepted, then derives the principal. Returns whether it was accepted.
pub fn check_signed(token: &str, signed: bool) -> bool {
    let result = verify(signer_verifier(), token);
    check_any(token, &result);
    match result {
        Ok(v) => {
            assert!(signed, "a token whose signature is not the signer's was accepted: {token:?}");
            check_accepted(signer_verifier(), token, &v);
            true
        }
        Err(_) => false,
    }
}

/// What the CA promises of every token it accepts, checked from the token's own bytes.
pub fn check_accepted(verifier: &TokenVerifier<FixedKeys>, token: &str, v: &VerifiedToken) {
    assert!(token.len() <= MAX_TOKEN_BYTES);
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "an accepted token has three parts");
    let object = |part: &str| -> Map<String, Value> {
        serde_json::from_slice(&B64URL.decode(part).expect("accepted, so base64url")).expect("accepted, so JSON")
    };
    let header = object(parts[0]);
    let claims = object(parts[1]);
    assert_eq!(claims, v.claims, "the claims returned are the token's");
    assert_eq!(header.get("alg").and_then(Value::as_str), Some("EdDSA"), "the signer's key is EdDSA only");
    assert!(header.get("crit").is_none(), "crit must be refused");
    match header.get("kid") {
        None => {}
        Some(Value::String(k)) => assert_eq!(k, SIGNER_KID),
        Some(other) => panic!("a non-string kid was accepted: {other}"),
    }

    assert_eq!(claims.get("iss").and_then(Value::as_str), Some(v.iss.as_str()), "iss is the token's");
    assert_eq!(verifier.config().issuer(&v.iss), Some(&v.issuer), "the issuer is the one configured for iss");

    let audience = v.issuer.audience.as_str();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    assert!(aud_ok, "accepted with aud {:?}, not {audience:?}", claims.get("aud"));

    // Times as the CA reads them (integers, or floats truncated), compared without overflow.
    let now = u128::from(NOW_SECS);
    let skew = u128::from(verifier.skew.as_secs());
    let time = |name: &str| -> Option<u128> {
        claims.get(name).map(|t| {
            let secs = t.as_u64().or_else(|| t.as_f64().map(|f| f as u64));
            u128::from(secs.unwrap_or_else(|| panic!("accepted with a non-numeric {name}: {t}")))
        })
    };
    let exp = time("exp").expect("accepted without exp");
    assert!(exp + skew > now, "accepted though expired: exp {exp}, now {now}");
    let iat = time("iat").expect("accepted without iat");
    assert!(iat <= now + skew, "accepted though issued in the future: iat {iat}");
    if let Some(nbf) = time("nbf") {
        assert!(nbf <= now + skew, "accepted before nbf {nbf}");
    }
    if v.issuer.issuer_type == IssuerType::Email {
        let verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
            || claims.get("email_verified").and_then(Value::as_str) == Some("true");
        assert!(verified, "an email token accepted with email_verified {:?}", claims.get("email_verified"));
    }

    let principal = Principal::from_token(v);
    if debug() {
        eprintln!("principal -> {principal:?}");
    }
    if let Ok(p) = principal {
        check_principal(v, &p);
    }
}

fn check_principal(v: &VerifiedToken, p: &Principal) {
    let claim = |name: &str| v.claims.get(name).and_then(Value::as_str);
    assert_eq!(p.issuer, v.iss);
    assert_eq!(Some(p.subject.as_str()), claim("sub"), "the subject is the sub claim");
    assert!(!p.subject.is_empty());
    assert_eq!(Some(p.challenge.as_str()), claim(v.issuer.challenge_claim()), "the challenge is its claim");
    match (&p.san, v.issuer.issuer_type) {
        (San::Email(e), IssuerType::Email) => {
            assert_eq!(Some(e.as_str()), claim("email"));
            assert!(e.contains('@') && e.is_ascii() && !e.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
        (San::Uri(u), IssuerType::Uri) => {
            assert_eq!(u, &p.subject);
            assert!(u.contains(':') && u.is_ascii() && !u.contains(' '));
            if let Some(domain) = &v.issuer.subject_domain {
                // The host as a client reaching the URI reads it (WHATWG: lower-case,
                // percent-decoded, `\` ends the authority), the CA's rule since issue 14 #10a.
                let url = url::Url::parse(u).expect("accepted, so a URL");
                assert_eq!(url.host_str(), Some(domain.as_str()), "a URI subject off its required domain");
            }
        }
        (San::Username(u), IssuerType::Username) => {
            assert!(!p.subject.contains('!') && !p.subject.chars().any(char::is_whitespace));
            assert!(u.starts_with(&format!("{}!", p.subject)));
        }
        (San::Uri(u), IssuerType::GithubWorkflow) => {
            assert_eq!(Some(&u["https://github.com/".len()..]), claim("job_workflow_ref"));
        }
        (san, t) => panic!("a {t:?} issuer gave the SAN {san:?}"),
    }
}

// ---- requests -------------------------------------------------------------------------------

/// A parsed key: it re-encodes, to the DER it came from when that is known (`sent`) and to
/// something that parses back to the same key; classifying it and checking a signature with it
/// never panic.
pub fn check_key(spki: &SubjectPublicKeyInfoOwned, sent: Option<&[u8]>) {
    let encoded = spki.to_der().expect("a parsed key re-encodes");
    if let Some(sent) = sent {
        assert_eq!(encoded, sent, "a parsed key re-encodes to other bytes");
    }
    let again = SubjectPublicKeyInfoOwned::from_der(&encoded).expect("a re-encoded key parses");
    assert_eq!(&again, spki, "a re-encoded key parses to another key");
    let kind = ClientKey::of(spki);
    let alg = match kind {
        Ok(ClientKey::P384) => const_oid_ecdsa_sha384(),
        _ => const_oid_ecdsa_sha256(),
    };
    let _ = sig_share_pki::verify_signature(&encoded, b"challenge", &[0x30, 0x06, 2, 1, 1, 2, 1, 1], &alg);
}

fn const_oid_ecdsa_sha256() -> x509_cert::spki::AlgorithmIdentifierOwned {
    x509_cert::spki::AlgorithmIdentifierOwned { oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256, parameters: None }
}

fn const_oid_ecdsa_sha384() -> x509_cert::spki::AlgorithmIdentifierOwned {
    x509_cert::spki::AlgorithmIdentifierOwned { oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_384, parameters: None }
}

/// A parsed CSR: it re-encodes, to the DER it came from when that is known (`sent`), so the
/// bytes whose signature the CA checks ([`request::csr_signed_bytes`]) are the ones the client
/// signed; and to something that parses back to the same CSR. Checking its signature the way the
/// CA does never panics.
pub fn check_csr(csr: &CertReq, sent: Option<&[u8]>) {
    let encoded = csr.to_der().expect("a parsed CSR re-encodes");
    if let Some(sent) = sent {
        assert_eq!(encoded, sent, "a parsed CSR re-encodes to other bytes");
    }
    let again = CertReq::from_der(&encoded).expect("a re-encoded CSR parses");
    assert_eq!(&again, csr, "a re-encoded CSR parses to another CSR");
    let signed = request::csr_signed_bytes(csr).expect("the signed part of a parsed CSR encodes");
    assert_eq!(again.info.to_der().expect("encodes"), signed);
    let _ = ClientKey::of(&csr.info.public_key);
    let spki_der = csr.info.public_key.to_der().expect("a parsed key re-encodes");
    let _ = sig_share_pki::verify_signature(&spki_der, &signed, csr.signature.raw_bytes(), &csr.algorithm);
}

/// Invariants of `request::parse` on one body, with no bearer, the same token as a bearer, and
/// another bearer; checks what it parsed.
pub fn check_request(body: &[u8]) {
    const BEARER: &str = "bearer.token.value";
    let plain = request::parse(body, None);
    let with_bearer = request::parse(body, Some(BEARER));
    for r in [&plain, &with_bearer] {
        if let Err(e) = r {
            let _ = e.to_string();
        }
    }
    // What the body says, read independently (serde_json keeps the last of duplicate keys; the
    // CA's typed parse refuses duplicates, so whatever it accepts reads the same here).
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).filter(|v| !v.is_null());
    let body_token = field("credentials").and_then(|c| c.get("oidcIdentityToken")).and_then(Value::as_str);

    for (result, bearer) in [(&plain, None), (&with_bearer, Some(BEARER))] {
        let Ok(Parsed { token, key }) = result else { continue };
        assert!(json.as_ref().is_some_and(Value::is_object), "accepted a body that is not a JSON object");
        // Exactly one key form, and the one parsed.
        let (pk, csr) = (field("publicKeyRequest"), field("certificateSigningRequest"));
        assert!(pk.is_some() != csr.is_some(), "accepted a body with {} key forms", if pk.is_some() { 2 } else { 0 });
        match key {
            KeyClaim::Signed { spki, .. } => check_key(spki, None),
            KeyClaim::Csr(c) => check_csr(c, None),
        }
        // The token is the body's or the bearer's, and never two different ones.
        match (body_token, bearer) {
            (Some(b), Some(h)) => assert!(b == h && token == b, "two tokens, {b:?} and {h:?}, accepted as {token:?}"),
            (Some(b), None) => assert_eq!(token, b),
            (None, Some(h)) => assert_eq!(token, h),
            (None, None) => panic!("accepted without a token"),
        }
    }
    // A bearer changes only the token: every other answer is the same.
    if let (Err(a), Err(b)) = (&plain, &with_bearer)
        && !matches!(a, RequestError::Token(_))
        && !matches!(b, RequestError::Token(_))
    {
        assert_eq!(a, b, "the bearer changed a non-token error");
    }
    if let (Ok(p), Err(e)) = (&plain, &with_bearer) {
        assert!(matches!(e, RequestError::Token(_)), "a body parsed alone but not with another bearer: {e}");
        assert_ne!(p.token, BEARER);
    }
    if let (Err(e), Ok(_)) = (&plain, &with_bearer) {
        assert!(matches!(e, RequestError::Token(_)), "a bearer turned a refused body into an accepted one: {e}");
    }
    // The body's own token sent again as the bearer is the same request.
    if let Ok(p) = &plain {
        let again = request::parse(body, Some(&p.token)).expect("the same token as bearer is accepted");
        assert_eq!(again.token, p.token);
    }
}
