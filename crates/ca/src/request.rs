//! The two request forms real clients send to `POST /api/v2/signingCert`, reduced to one thing:
//! a public key whose holder has proven possession of it.
//!
//! - sigstore-python: `{"certificateSigningRequest": base64(PEM CSR)}` with the token as
//!   `Authorization: Bearer`; the CSR's own signature is the proof of possession.
//! - sigstore-js: `{"credentials": {"oidcIdentityToken"}, "publicKeyRequest": {"publicKey":
//!   {"algorithm", "content": PEM}, "proofOfPossession": base64 signature over the challenge}}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::{Decode, Encode};
use serde::Deserialize;
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// The largest request body.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The JSON body (proto3 JSON names).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningCertRequest {
    /// The token, unless it comes as a Bearer header.
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// A public key and a signature over the challenge.
    #[serde(default)]
    pub public_key_request: Option<PublicKeyRequest>,
    /// base64 of a PEM (or DER) PKCS#10 request.
    #[serde(default)]
    pub certificate_signing_request: Option<String>,
}

/// `credentials`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// The OIDC ID token.
    pub oidc_identity_token: String,
}

/// `publicKeyRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKeyRequest {
    /// The key.
    pub public_key: PublicKey,
    /// base64 signature over the challenge claim's value.
    pub proof_of_possession: String,
}

/// `publicKey`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKey {
    /// Informational (`ECDSA`, `ED25519`, `RSA_PSS`); the key itself says what it is.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// PEM SubjectPublicKeyInfo (or base64 DER).
    pub content: String,
}

/// Why a request was refused before its key was certified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not the JSON this API takes.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// No token, or two different ones.
    #[error("{0}")]
    Token(&'static str),
    /// Neither or both of publicKeyRequest and certificateSigningRequest.
    #[error("send exactly one of publicKeyRequest and certificateSigningRequest")]
    KeyForm,
    /// The key is not one the CA certifies.
    #[error("unsupported key type {0}: use ECDSA P-256, ECDSA P-384 or Ed25519")]
    UnsupportedKey(String),
    /// The key does not parse.
    #[error("the public key does not parse: {0}")]
    BadKey(String),
    /// The CSR does not parse.
    #[error("the certificate signing request does not parse: {0}")]
    BadCsr(String),
    /// The proof of possession does not verify.
    #[error("the proof of possession does not verify: {0}")]
    ProofOfPossession(String),
}

/// The key to certify, not yet proven, and how to prove it.
#[derive(Debug, Clone)]
pub enum KeyClaim {
    /// A key and a signature over the challenge.
    Signed {
        /// The key.
        spki: SubjectPublicKeyInfoOwned,
        /// The signature over the challenge claim's value.
        signature: Vec<u8>,
    },
    /// A CSR: its own signature proves possession.
    Csr(Box<CertReq>),
}

/// The token and the key claim of a request.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The identity token.
    pub token: String,
    /// The key and its proof.
    pub key: KeyClaim,
}

/// Parses a request body, with the `Authorization` header's bearer token if any.
pub fn parse(body: &[u8], bearer: Option<&str>) -> Result<Parsed, RequestError> {
    let req: SigningCertRequest = serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
    let token = match (req.credentials.map(|c| c.oidc_identity_token), bearer) {
        (Some(a), Some(b)) if a != b => {
            return Err(RequestError::Token("the body and the Authorization header carry different tokens"));
        }
        (Some(t), _) => t,
        (None, Some(t)) => t.to_owned(),
        (None, None) => {
            return Err(RequestError::Token(
                "no identity token: send it as credentials.oidcIdentityToken or an Authorization: Bearer header",
            ));
        }
    };
    let key = match (req.public_key_request, req.certificate_signing_request) {
        (Some(pk), None) => {
            let spki = parse_public_key(&pk.public_key.content)?;
            let signature = BASE64
                .decode(pk.proof_of_possession.trim())
                .map_err(|_| RequestError::ProofOfPossession("proofOfPossession is not base64".into()))?;
            KeyClaim::Signed { spki, signature }
        }
        (None, Some(csr)) => KeyClaim::Csr(Box::new(parse_csr(&csr)?)),
        _ => return Err(RequestError::KeyForm),
    };
    Ok(Parsed { token, key })
}

/// A public key given as PEM, or as base64 DER.
pub fn parse_public_key(content: &str) -> Result<SubjectPublicKeyInfoOwned, RequestError> {
    let der = pem_or_base64(content, "PUBLIC KEY").map_err(RequestError::BadKey)?;
    SubjectPublicKeyInfoOwned::from_der(&der).map_err(|e| RequestError::BadKey(e.to_string()))
}

/// A CSR as sent: base64 of its PEM (sigstore-python) or of its DER.
pub fn parse_csr(content: &str) -> Result<CertReq, RequestError> {
    let outer = BASE64.decode(content.trim()).map_err(|_| RequestError::BadCsr("not base64".into()))?;
    let der = match std::str::from_utf8(&outer) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
            pem_or_base64(text, "CERTIFICATE REQUEST").map_err(RequestError::BadCsr)?
        }
        _ => outer,
    };
    let csr = CertReq::from_der(&der).map_err(|e| RequestError::BadCsr(e.to_string()))?;
    // The signature is checked over the re-encoded request, so it must be the bytes that were
    // signed: der sorts an unsorted SET OF while decoding (found by fuzzing).
    if csr.to_der().map_err(|e| RequestError::BadCsr(e.to_string()))? != der {
        return Err(RequestError::BadCsr("it is not in canonical DER (e.g. an unsorted SET OF)".into()));
    }
    Ok(csr)
}

fn pem_or_base64(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        // The one PEM reader: any line length, CRLF (issue 14 #4); the DER is checked after.
        sig_share_pem::first(text, &[label]).map(|b| b.der).map_err(|e| e.to_string())
    } else {
        BASE64.decode(text).map_err(|_| "neither PEM nor base64 DER".to_string())
    }
}

/// The DER of a CSR's signed part, for checking its signature.
pub fn csr_signed_bytes(csr: &CertReq) -> Result<Vec<u8>, RequestError> {
    csr.info.to_der().map_err(|e| RequestError::BadCsr(e.to_string()))
}
