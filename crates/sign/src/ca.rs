//! The certificate request: Fulcio v2's `POST {ca}/api/v2/signingCert` with a PKCS#10 CSR and the
//! token as `Authorization: Bearer`, as sigstore-python sends it. The CSR's own signature is the
//! proof of possession, so the client never has to guess which claim the CA challenges (`email`
//! for email issuers, `sub` for the rest).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use const_oid::ObjectIdentifier;
use der::asn1::BitString;
use der::{Decode, Encode};
use serde::Deserialize;
use sig_share_pki::Signer;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::error::{Service, SignError};
use crate::http::{self, Answer};
use crate::token::IdentityToken;
use sig_share_pki::SoftwareKey;

/// How long the CA may take: it logs a precertificate before answering.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read: a chain is a few kilobytes.
const MAX_ANSWER: usize = 1024 * 1024;

/// The OIDC issuer, as a DER UTF8String (Fulcio's issuer v2 extension).
const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// The OIDC issuer as raw bytes (the deprecated v1 extension sigstore-python still reads).
const OID_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's username otherName SAN.
const OID_USERNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// Who a certificate says signed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// The SAN: an email address, a URI (CI workflows) or a username.
    pub subject: String,
    /// The OIDC issuer that vouched for it, from Fulcio's issuer extension.
    pub issuer: Option<String>,
}

/// A certificate chain from the CA, leaf first, as DER.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub chain: Vec<Vec<u8>>,
    pub identity: Identity,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertResponse {
    signed_certificate_embedded_sct: Option<Embedded>,
    signed_certificate_detached_sct: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Embedded {
    chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<String>,
}

/// A PKCS#10 request for `key`, empty subject, signed by it (base64 of its PEM, as Fulcio takes).
pub(crate) fn csr(key: &SoftwareKey) -> Result<String, SignError> {
    let bad = |e: &dyn std::fmt::Display| SignError::Key(format!("building the certificate request: {e}"));
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Default::default(),
        public_key: SubjectPublicKeyInfoOwned::from_der(key.public_key_der()).map_err(|e| bad(&e))?,
        attributes: Default::default(),
    };
    let signature = key.sign(&info.to_der().map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    let req = CertReq {
        info,
        algorithm: sig_share_pki::signature_algorithm(key.algorithm()),
        signature: BitString::from_bytes(&signature).map_err(|e| bad(&e))?,
    };
    let pem =
        der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &req.to_der().map_err(|e| bad(&e))?)
            .map_err(|e| bad(&e))?;
    Ok(BASE64.encode(pem))
}

/// Asks the CA at `ca` to certify `key` for the identity in `token`.
pub(crate) async fn request_certificate(
    http: &reqwest::Client,
    ca: &str,
    token: &IdentityToken,
    key: &SoftwareKey,
) -> Result<Issued, SignError> {
    let url = http::join(ca, "/api/v2/signingCert");
    let body = serde_json::json!({ "certificateSigningRequest": csr(key)? });
    let req = http
        .post(&url)
        .timeout(TIMEOUT)
        .bearer_auth(token.as_str())
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body);
    tracing::debug!(url, "requesting a signing certificate");
    let answer = http::send(Service::CertificateAuthority, &url, req, MAX_ANSWER).await?;
    if !(200..300).contains(&answer.status) {
        return Err(http::refused(Service::CertificateAuthority, &url, &answer, hint(&answer)));
    }
    let issued = parse_answer(&answer.body, key).map_err(|detail| SignError::BadAnswer {
        service: Service::CertificateAuthority,
        url: url.clone(),
        detail,
    })?;
    tracing::debug!(subject = issued.identity.subject, "certificate issued");
    Ok(issued)
}

/// Asks the CA at `ca` to certify a device's `key` as `device_id`, on the operator's secret.
pub(crate) async fn request_device_certificate(
    http: &reqwest::Client,
    ca: &str,
    operator_secret: &str,
    device_id: &str,
    key: &dyn Signer,
) -> Result<Issued, SignError> {
    let url = http::join(ca, "/api/v2/deviceCert");
    let proof = key.sign(device_id.as_bytes()).map_err(|e| SignError::Key(e.to_string()))?;
    let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.public_key_der())
        .map_err(|e| SignError::Key(e.to_string()))?;
    let body = serde_json::json!({
        "deviceId": device_id,
        "publicKey": { "algorithm": "ECDSA", "content": pem },
        "proofOfPossession": BASE64.encode(proof),
    });
    let req = http.post(&url).timeout(TIMEOUT).bearer_auth(operator_secret).json(&body);
    let answer = http::send(Service::CertificateAuthority, &url, req, MAX_ANSWER).await?;
    if !(200..300).contains(&answer.status) {
        let hint = match answer.status {
            401 => Some("the operator's secret was not accepted: check the file given with --operator-secret-file"),
            404 => Some("this CA does not enroll devices"),
            409 => Some(
                "this device ID is enrolled with another key: `sig-share device revoke --id ID` frees it for a new one",
            ),
            _ => hint(&answer),
        };
        return Err(http::refused(Service::CertificateAuthority, &url, &answer, hint));
    }
    parse_answer(&answer.body, key).map_err(|detail| SignError::BadAnswer {
        service: Service::CertificateAuthority,
        url: url.clone(),
        detail,
    })
}

/// A certificate chain held already (a device's), for `key`: checked to be the key's.
pub(crate) fn held(chain: Vec<Vec<u8>>, key: &dyn Signer) -> Result<Issued, String> {
    let leaf_der = chain.first().ok_or("an empty chain")?;
    let leaf = Certificate::from_der(leaf_der).map_err(|e| format!("the leaf certificate: {e}"))?;
    let spki = leaf.tbs_certificate().subject_public_key_info().to_der().map_err(|e| e.to_string())?;
    if spki != key.public_key_der() {
        return Err("the certificate is for another key".into());
    }
    Ok(Issued { identity: identity_of(&leaf)?, chain })
}

/// Asks the CA at `ca` to revoke `device_id`'s enrolled key on the operator's secret, so a new
/// key may be enrolled for it; the CA's record of the revoked key, as JSON.
pub(crate) async fn revoke_device(
    http: &reqwest::Client,
    ca: &str,
    operator_secret: &str,
    device_id: &str,
) -> Result<serde_json::Value, SignError> {
    let url = http::join(ca, "/api/v2/deviceCert/revoke");
    let body = serde_json::json!({ "deviceId": device_id });
    let req = http.post(&url).timeout(TIMEOUT).bearer_auth(operator_secret).json(&body);
    let answer = http::send(Service::CertificateAuthority, &url, req, MAX_ANSWER).await?;
    if !(200..300).contains(&answer.status) {
        let hint = match answer.status {
            401 => Some("the operator's secret was not accepted: check the file given with --operator-secret-file"),
            404 => Some("no key is enrolled for this device ID (or this CA does not enroll devices)"),
            _ => hint(&answer),
        };
        return Err(http::refused(Service::CertificateAuthority, &url, &answer, hint));
    }
    serde_json::from_slice(&answer.body).map_err(|e| SignError::BadAnswer {
        service: Service::CertificateAuthority,
        url: url.clone(),
        detail: e.to_string(),
    })
}

fn hint(answer: &Answer) -> Option<&'static str> {
    match answer.status {
        401 | 403 => Some(
            "the identity token was not accepted: get a fresh one (they expire within minutes) from an issuer this CA trusts, for audience `sigstore`",
        ),
        400 => Some("the request was malformed; if the token is the problem, get a fresh one"),
        429 | 503 => Some("the CA is busy or cannot reach what it needs; try again shortly"),
        _ => None,
    }
}

fn parse_answer(body: &[u8], key: &dyn Signer) -> Result<Issued, String> {
    let resp: SigningCertResponse =
        serde_json::from_slice(body).map_err(|e| format!("not a signingCert response: {e}"))?;
    let pems = match (resp.signed_certificate_embedded_sct, resp.signed_certificate_detached_sct) {
        (Some(e), _) => e.chain.certificates,
        (None, Some(_)) => {
            return Err("the certificate comes with a detached SCT, which a bundle cannot carry".into());
        }
        (None, None) => return Err("no signedCertificateEmbeddedSct".into()),
    };
    let mut chain = Vec::new();
    for pem in &pems {
        for cert in sig_share_pki::chain_from_pem(pem).map_err(|e| format!("the chain: {e}"))? {
            chain.push(cert.to_der().map_err(|e| e.to_string())?);
        }
    }
    held(chain, key)
}

/// The SAN and issuer of a Fulcio-style certificate.
pub(crate) fn identity_of(cert: &Certificate) -> Result<Identity, String> {
    let tbs = cert.tbs_certificate();
    let (_, san) = tbs
        .get_extension::<SubjectAltName>()
        .map_err(|e| format!("the certificate's SAN: {e}"))?
        .ok_or("the certificate has no subjectAltName")?;
    let subject = san
        .0
        .iter()
        .find_map(|name| match name {
            GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
            GeneralName::OtherName(o) if o.type_id == OID_USERNAME => {
                o.value.decode_as::<der::asn1::Utf8StringRef<'_>>().ok().map(|s| s.to_string())
            }
            _ => None,
        })
        .ok_or("the certificate's SAN names no email, URI or username")?;
    let exts = tbs.extensions().map(|e| e.as_slice()).unwrap_or_default();
    let issuer = exts
        .iter()
        .find(|e| e.extn_id == OID_ISSUER_V2)
        .and_then(|e| der::asn1::Utf8StringRef::from_der(e.extn_value.as_bytes()).ok().map(|s| s.to_string()))
        .or_else(|| {
            exts.iter()
                .find(|e| e.extn_id == OID_ISSUER_V1)
                .and_then(|e| std::str::from_utf8(e.extn_value.as_bytes()).ok().map(str::to_owned))
        });
    Ok(Identity { subject, issuer })
}
